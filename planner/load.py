"""Load: read an instance and its pathway model, merge them, apply a scenario.

YAML is read safely, duplicate keys are errors, and every field keeps the file and line it came
from so that validation can point at it. An Excel workbook (.xlsx) holds a whole instance, its
pathway model merged in, and is read by planner/excel.py; its fields keep their sheet and cell.
Nothing here knows about PuLP or (for YAML) the schema's types.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from planner.errors import Cell, FieldPath, InputError, Problem, display_path

Origin = tuple[str, int | Cell]  # (file as shown to the user, line in YAML or cell in a workbook)
WORKBOOKS = (".xlsx", ".xlsm")  # read by planner/excel.py
SPREADSHEETS = (".xls", ".ods", ".csv", ".numbers")  # not read: the user is told to save as .xlsx

MODEL_KEYS = (
    "pathway",
    "title",
    "description",
    "health_unit",
    "interventions",
    "outcomes",
    "sources",
    "uncertainty",
)
MERGED_SECTIONS = ("interventions", "outcomes", "uncertainty")


@dataclass
class Document:
    """A merged instance: plain data plus where each field was written."""

    data: dict[str, Any]
    origins: dict[FieldPath, Origin] = field(default_factory=dict)
    instance_file: Path = Path()
    model_file: Path | None = None
    scenario: str | None = None

    def origin(self, path: FieldPath) -> Origin:
        """The file and line that wrote `path`, or the nearest enclosing field that has one."""
        for cut in range(len(path), -1, -1):
            if path[:cut] in self.origins:
                return self.origins[path[:cut]]
        return (display_path(self.instance_file), 0)

    def problem(self, path: FieldPath, message: str, fix: str) -> Problem:
        file, where = self.origin(path)
        if isinstance(where, Cell):
            return Problem(file=file, path=path, message=message, fix=fix, cell=where)
        return Problem(file=file, path=path, message=message, fix=fix, line=where or None)


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[FieldPath, Origin]]:
    """Read one YAML file into plain data and a map from field path to (file, line)."""
    shown = display_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(
            [Problem(shown, (), f"cannot be read ({reason})", "check the path")]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(shown, (), f"is not UTF-8 text (byte {exc.start})", "save the file as UTF-8")]
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        fix = "correct the YAML syntax here (indentation, a missing ':' or an unclosed quote)"
        raise InputError([Problem(shown, (), f"is not valid YAML: {reason}", fix, line)]) from None
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        raise InputError([Problem(shown, (), "is empty", "write the instance fields, see docs/")])
    if not isinstance(node, yaml.MappingNode):
        line = node.start_mark.line + 1
        fix = "the top level must be 'field: value' lines, see docs/"
        raise InputError([Problem(shown, (), "is not a mapping of fields", fix, line)])
    origins: dict[FieldPath, Origin] = {}
    problems: list[Problem] = []
    data = _construct(node, (), shown, origins, problems)
    if problems:
        raise InputError(problems)
    return data, origins


def _construct(
    node: yaml.Node,
    path: FieldPath,
    file: str,
    origins: dict[FieldPath, Origin],
    problems: list[Problem],
) -> Any:
    origins.setdefault(path, (file, node.start_mark.line + 1))
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader("").construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                key = str(key)
            line = key_node.start_mark.line + 1
            if key in out:
                message = f"'{key}' is written twice"
                fix = "keep one entry per name (names must be unique)"
                problems.append(Problem(file, (*path, key), message, fix, line))
                continue
            origins[(*path, key)] = (file, line)
            out[key] = _construct(value_node, (*path, key), file, origins, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, (*path, index), file, origins, problems)
            for index, item in enumerate(node.value)
        ]
    return yaml.SafeLoader("").construct_object(node, deep=True)


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else is replaced; `null` removes a key."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = deep_merge(base.get(key), value)
    return merged


def read_instance(path: Path) -> tuple[dict[str, Any], dict[FieldPath, Origin]]:
    """Read an instance file: an Excel workbook by its suffix (.xlsx, .xlsm), else YAML."""
    suffix = path.suffix.lower()
    if suffix in WORKBOOKS:
        from planner.excel import read_workbook

        return read_workbook(path)
    if suffix in SPREADSHEETS:
        fix = "save it as an Excel workbook (.xlsx), or write the instance in YAML"
        raise InputError(
            [
                Problem(
                    display_path(path), (), f"is a {suffix} file, which planner does not read", fix
                )
            ]
        )
    return read_yaml(path)


def load(instance_path: str | Path, scenario: str | None = None) -> Document:
    """Read an instance (YAML, or an Excel workbook), merge its pathway model under it and
    apply `scenario` if named."""
    path = Path(instance_path)
    data, origins = read_instance(path)
    shown = display_path(path)
    document = Document(data={}, instance_file=path, scenario=scenario)
    problems: list[Problem] = []

    model_ref = data.get("model")
    merged: dict[str, Any] = {}
    if model_ref is not None:
        if not isinstance(model_ref, str):
            line = typing.cast(int, origins.get(("model",), (shown, 0))[1])
            fix = "give the pathway model's path relative to this file"
            raise InputError([Problem(shown, ("model",), "must be a file path", fix, line)])
        model_path = (path.parent / model_ref).resolve()
        document.model_file = model_path
        model, model_origins = read_yaml(model_path)
        model_shown = display_path(model_path)
        for key in model:
            if key not in MODEL_KEYS:
                allowed = ", ".join(MODEL_KEYS)
                fix = f"remove it or check the spelling; a pathway model has: {allowed}"
                line = typing.cast(int, model_origins[(key,)][1])
                problems.append(
                    Problem(model_shown, (key,), "is not a pathway-model field", fix, line)
                )
        origins_merged = dict(model_origins)
        merged = {
            "pathway": {k: model[k] for k in ("pathway", "title", "description") if k in model},
        }
        for key in ("health_unit", "sources", *MERGED_SECTIONS):
            if key in model:
                merged[key] = model[key]
        origins_merged[("pathway",)] = (model_shown, 1)
        for key in ("pathway", "title", "description"):
            if (key,) in model_origins:
                origins_merged[("pathway", key)] = model_origins[(key,)]
        if "sources" in model:
            merged["pathway"]["sources"] = merged.pop("sources")
            for p, o in model_origins.items():
                if p[:1] == ("sources",):
                    origins_merged[("pathway", *p)] = o
        origins_merged.update(origins)
        origins = origins_merged
    merged = deep_merge(merged, {k: v for k, v in data.items() if k != "model"})
    merged["model"] = model_ref

    if scenario is not None:
        scenarios = data.get("scenarios") or {}
        if not isinstance(scenarios, dict) or scenario not in scenarios:
            known = (
                ", ".join(sorted(scenarios))
                if isinstance(scenarios, dict) and scenarios
                else "none"
            )
            fix = f"use one of the scenarios this instance defines ({known})"
            where = origins.get(("scenarios",), (shown, 0))[1]
            message = f"has no scenario '{scenario}'"
            problems.append(
                Problem(shown, ("scenarios",), message, fix, cell=where)
                if isinstance(where, Cell)
                else Problem(shown, ("scenarios",), message, fix, where or None)
            )
        else:
            overrides = scenarios[scenario]
            if isinstance(overrides, dict):
                for p, o in list(origins.items()):
                    if p[:2] == ("scenarios", scenario) and len(p) > 2:
                        origins[p[2:]] = o
                patch = {k: v for k, v in overrides.items() if k != "description"}
                merged = deep_merge(merged, patch)
    if problems:
        raise InputError(problems)
    document.data = merged
    document.origins = origins
    return document
