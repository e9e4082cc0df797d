"""Load: read an instance and its pathway model, merge them, apply a scenario.

YAML is read safely, duplicate keys are errors, and every field keeps the file and line it came
from so that validation can point at it. An Excel workbook (.xlsx) holds a whole instance, its
pathway model merged in, and is read by planner/excel.py; its fields keep their sheet and cell.
Nothing here knows about PuLP or (for YAML) the schema's types.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from planner.errors import Cell, FieldPath, InputError, Problem, display_path

Origin = tuple[str, int | Cell]  # (file as shown to the user, line in YAML or cell in a workbook)
WORKBOOKS = (".xlsx", ".xlsm")  # read by planner/excel.py
SPREADSHEETS = (".xls", ".ods", ".csv", ".numbers")  # not read: the user is told to save as .xlsx

MAX_BYTES = 200_000_000  # a file larger than this is refused before parsing (1e6 variables: 90 MB)
MAX_DEPTH = 64  # planner's deepest field is under 10 levels down; deeper nesting is refused
MAX_ALIAS_VALUES = 10_000  # values that aliases (*name) may copy in one file: bombs refused
YAML_TAG = "tag:yaml.org,2002:"
SCALAR_TAGS = {YAML_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp")}
VALUE_TAG = YAML_TAG + "value"
NOT_UTF8_FIX = "save the file as UTF-8 text"


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


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.0f} MB" if size >= 1_000_000 else f"{size:,} bytes"


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[FieldPath, Origin]]:
    """Read one YAML file into plain data and a map from field path to (file, line).

    The file must be UTF-8 text of at most MAX_BYTES. Only plain values are read: a tag other
    than YAML's own scalar, list and mapping tags (`!!python/...`, `!!binary`, `!custom`) is
    refused, as is a merge key (`<<`), nesting deeper than MAX_DEPTH, an alias that contains
    itself, and aliases copying more than MAX_ALIAS_VALUES values (a "billion laughs" file).
    """
    shown = display_path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(
            [Problem(shown, (), f"cannot be read ({reason})", "check the path")]
        ) from None
    if len(raw) > MAX_BYTES:
        message = f"is larger than {_megabytes(MAX_BYTES)}, the most planner reads"
        fix = (
            "check that this is the instance file; a national instance of 1,000,000 "
            "variables is about 90 MB"
        )
        raise InputError([Problem(shown, (), message, fix)])
    text = _decode(raw, shown)
    if not text.strip():
        raise InputError([Problem(shown, (), "is empty", "write the instance fields, see docs/")])
    try:
        node = compose(text)
    except _TooDeep as exc:
        message = f"nests lists or mappings more than {MAX_DEPTH} levels deep"
        fix = "planner's fields are never this deep: check the brackets and the indentation"
        raise InputError([Problem(shown, (), message, fix, exc.line)]) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1
        message = f"holds the character U+{exc.character:04X}, which YAML text cannot hold"
        fix = "remove it; if the file is not plain text, give the instance's YAML file instead"
        raise InputError([Problem(shown, (), message, fix, line)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        fix = "correct the YAML syntax here (indentation, a missing ':' or an unclosed quote)"
        raise InputError([Problem(shown, (), f"is not valid YAML: {reason}", fix, at)]) from None
    except RecursionError:  # PyYAML's own composer, without libyaml
        message = f"nests lists or mappings more than {MAX_DEPTH} levels deep"
        fix = "planner's fields are never this deep: check the brackets and the indentation"
        raise InputError([Problem(shown, (), message, fix)]) from None
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")):
        raise InputError([Problem(shown, (), "is empty", "write the instance fields, see docs/")])
    if not isinstance(node, yaml.MappingNode):
        line = node.start_mark.line + 1
        fix = "the top level must be 'field: value' lines, see docs/"
        raise InputError([Problem(shown, (), "is not a mapping of fields", fix, line)])
    reader = _Composer(shown)
    data = reader.construct(node, ())
    if reader.problems:
        raise InputError(reader.problems)
    return data, reader.origins


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


def compose(text: str) -> yaml.Node | None:
    """The YAML document's node tree, as `yaml.compose` with the safe loader gives it.

    With libyaml (PyYAML's C parser) the events are read by libyaml and the tree is built here,
    without recursion, so nesting deeper than MAX_DEPTH is refused at once (libyaml's own
    composer recurses without limit, and crashes on nesting 100,000 deep); this is some 50 times
    faster than PyYAML's Python parser. Text with a character YAML does not allow, and text
    libyaml finds invalid, is read again by the Python parser, whose verdict and message stand.
    """
    if not getattr(yaml, "__with_libyaml__", False) or yaml.reader.Reader.NON_PRINTABLE.search(
        text
    ):
        return yaml.compose(text, Loader=yaml.SafeLoader)
    try:
        return _compose_events(text)
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):  # libyaml's own limit (PyYAML 6.0.4 and later)
            mark = getattr(exc, "problem_mark", None)
            raise _TooDeep(mark.line + 1 if mark is not None else 1) from None
        return yaml.compose(text, Loader=yaml.SafeLoader)


def _compose_events(text: str) -> yaml.Node | None:
    resolver: Any = yaml.SafeLoader("")  # resolves plain scalars' tags as PyYAML does
    anchors: dict[str, yaml.Node] = {}
    stack: list[list[Any]] = []  # [collection node, key waiting for its value]
    root: yaml.Node | None = None
    documents = 0
    events: Iterator[Any] = yaml.parse(text, Loader=yaml.CSafeLoader)
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise yaml.YAMLError("a second document")  # the Python parser says so
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            stack.pop()[0].end_mark = event.end_mark
            continue
        if not isinstance(event, yaml.NodeEvent):  # stream start and end, document end
            continue
        anchor, e = event.anchor, typing.cast(Any, event)  # e: its fields, by the event's kind
        node: yaml.Node
        if isinstance(event, yaml.AliasEvent):
            if anchor not in anchors:
                raise yaml.YAMLError("an undefined alias")
            node = anchors[anchor]
            anchor = None
        elif isinstance(event, yaml.ScalarEvent):
            tag = e.tag
            if tag is None or tag == "!":
                tag = resolver.resolve(yaml.ScalarNode, e.value, e.implicit)
            node = yaml.ScalarNode(tag, e.value, e.start_mark, e.end_mark, style=e.style)
        else:
            kind: Any = (
                yaml.SequenceNode
                if isinstance(event, yaml.SequenceStartEvent)
                else yaml.MappingNode
            )
            tag = e.tag
            if tag is None or tag == "!":
                tag = resolver.resolve(kind, None, e.implicit)
            node = kind(tag, [], e.start_mark, None, flow_style=e.flow_style)
        if anchor is not None:
            if anchor in anchors:
                raise yaml.YAMLError("a duplicate anchor")
            anchors[anchor] = node
        if not stack:
            root = node
        elif isinstance(stack[-1][0], yaml.SequenceNode):
            stack[-1][0].value.append(node)
        elif stack[-1][1] is None:
            stack[-1][1] = node
        else:
            stack[-1][0].value.append((stack[-1][1], node))
            stack[-1][1] = None
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([node, None])
            if len(stack) > MAX_DEPTH:
                raise _TooDeep(e.start_mark.line + 1)
    return root


def _decode(raw: bytes, shown: str) -> str:
    """UTF-8 text (a byte-order mark dropped), or InputError saying what the bytes are."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        message = "is UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8"
        raise InputError([Problem(shown, (), message, NOT_UTF8_FIX)])
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        message = (
            f"holds a NUL byte (byte {nul}): it is not a text file, or it is UTF-16 text "
            "without a byte-order mark"
        )
        raise InputError([Problem(shown, (), message, NOT_UTF8_FIX, line)])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"is not UTF-8 text (byte {exc.start})"
        raise InputError([Problem(shown, (), message, NOT_UTF8_FIX, line)]) from None


class _Composer:
    """Builds plain data from YAML nodes, with the line of every field and a problem for each
    value planner does not read (module docstring of read_yaml)."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.origins: dict[FieldPath, Origin] = {}
        self.problems: list[Problem] = []
        self.scalars = yaml.SafeLoader("")  # constructs plain scalars only
        self.seen: set[int] = set()  # nodes built once: met again, they are an alias's copy
        self.copied = 0  # values copied by aliases
        self.open: set[int] = set()  # nodes being built (an alias to one contains itself)

    def problem(self, node: yaml.Node, path: FieldPath, message: str, fix: str) -> None:
        self.problems.append(Problem(self.file, path, message, fix, node.start_mark.line + 1))

    def construct(self, node: yaml.Node, path: FieldPath) -> Any:
        self.origins.setdefault(path, (self.file, node.start_mark.line + 1))
        if id(node) in self.open:
            fix = "an alias (*name) must not stand inside the entry it names (&name)"
            return self.problem(node, path, "refers to itself through an alias", fix)
        if id(node) in self.seen:
            self.copied += 1
            if self.copied == MAX_ALIAS_VALUES + 1:
                message = f"aliases (*name) copy more than {MAX_ALIAS_VALUES:,} values"
                fix = "write the entries out, or use fewer aliases (is it a 'billion laughs' file?)"
                self.problem(node, path, message, fix)
            if self.copied > MAX_ALIAS_VALUES:
                return None
        self.seen.add(id(node))
        if len(path) > MAX_DEPTH:
            if len(path) == MAX_DEPTH + 1:
                message = f"is nested more than {MAX_DEPTH} levels deep"
                self.problem(node, path, message, "planner's fields are never this deep")
            return None
        if not _plain(node):
            return self._tagged(node, path)
        if isinstance(node, yaml.MappingNode):
            self.open.add(id(node))
            try:
                return self._mapping(node, path)
            finally:
                self.open.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            self.open.add(id(node))
            try:
                return [self.construct(item, (*path, i)) for i, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == YAML_TAG + "merge":
                fix = "write the fields out in full (an alias *name alone copies a whole entry)"
                self.problem(
                    key_node, path, "has a merge key (<<), which planner does not read", fix
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                what = "a list" if isinstance(key_node, yaml.SequenceNode) else "a mapping"
                fix = "write a plain name before the ':'"
                self.problem(key_node, path, f"has {what} as a key, not a name", fix)
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in out:
                message = f"'{key}' is written twice"
                fix = "keep one entry per name (names must be unique)"
                self.problems.append(Problem(self.file, (*path, key), message, fix, line))
                continue
            self.origins[(*path, key)] = (self.file, line)
            out[key] = self.construct(value_node, (*path, key))
        return out

    def _key(self, node: yaml.ScalarNode, path: FieldPath) -> str | int | None:
        """A key as a name: a whole number stays a number (a year); any other key is the text
        as written (`yes`, `1.5`, `~` and dates are names, not a boolean, number, null or date)."""
        if node.tag == VALUE_TAG:
            return str(node.value)
        if not _plain(node):
            self._tagged(node, path)
            return None
        if node.tag == YAML_TAG + "int":
            value = self._scalar(node, path)
            return value if isinstance(value, int) else None
        return str(node.value)

    def _scalar(self, node: yaml.Node, path: FieldPath) -> Any:
        try:
            value = self.scalars.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, KeyError, OverflowError) as exc:
            kind = node.tag.rsplit(":", 1)[-1]
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            message = f"cannot be read as a YAML {kind} ({reason})"
            fix = "write the value plainly, in quotes if it is text"
            return self.problem(node, path, message, fix)
        if isinstance(value, str) and (bad := next((c for c in value if _unwritable(c)), None)):
            message = f"holds the character U+{ord(bad):04X}, which is not text"
            fix = "remove the escape that writes it (such as \\0 or \\ud800)"
            return self.problem(node, path, message, fix)
        return value

    def _tagged(self, node: yaml.Node, path: FieldPath) -> Any:
        if node.tag == VALUE_TAG and isinstance(node, yaml.ScalarNode):
            return str(node.value)  # a lone "=": YAML 1.1 tags it, planner reads it as text
        tag = "!!" + node.tag.removeprefix(YAML_TAG) if node.tag.startswith(YAML_TAG) else node.tag
        message = f"has the YAML tag {tag}, which planner does not read"
        fix = "remove the tag and write a plain value (planner reads numbers, text, lists and "
        fix += "'field: value' lines only)"
        return self.problem(node, path, message, fix)


def _plain(node: yaml.Node) -> bool:
    """A node with YAML's own tag for its kind: a mapping, a list, or a plain scalar."""
    if isinstance(node, yaml.MappingNode):
        return bool(node.tag == YAML_TAG + "map")
    if isinstance(node, yaml.SequenceNode):
        return bool(node.tag == YAML_TAG + "seq")
    return node.tag in SCALAR_TAGS


def _unwritable(char: str) -> bool:
    """A NUL or a lone surrogate: no file planner writes can hold it."""
    return char == "\x00" or "\ud800" <= char <= "\udfff"


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
