"""Bad instance files, generated (hypothesis): every case is a valid instance or a clean error.

Each case starts from a real instance (the tests' small instances TINY, SMALL and EVERYTHING,
which uses every field of the schema, and the bundled instances/*.yaml with their pathway
models), parses it to data, applies one mutation, writes it back as YAML (or as bytes) and
reads it as `planner check` does (tests/fuzzing.py: the base and every scenario). Mutations,
one strategy each: a field deleted, an unknown field added at any level, a value of the wrong
type (text, list, mapping, boolean for a number and so on), null, NaN and infinities, negative
and huge numbers, a broken reference (a partner, outcome, resource, service or intervention
that does not exist), a key written twice, an id listed twice, a YAML tag (`!!python/...`,
`!!binary`, `!custom`), an alias bomb, the wrong encoding (UTF-16 with and without a BOM,
Latin-1, invalid UTF-8, NUL bytes), and a file that is empty, blank, a scalar or a list.

Asserted for every case: the outcome is a valid instance or an InputError, never another
exception; every problem names the file and its place (the field path and a line the file
has: tests/fuzzing.clean_problems). Where the mutation is known to be an error (a required
field deleted, an unknown field, a wrong type, NaN, a negative money amount, a broken
reference, a key or id given twice, a tag, a bomb) a problem names that field: there is no
silent default. A valid mutant of a small instance is solved: a plan, or a clean NoPlanError.
A subset goes through the command line (`planner check`, `planner solve --out`): exit code 0,
2 for bad input (3-6 for no plan), never a traceback, and nothing written on bad input.
"""

from __future__ import annotations

import copy
import math
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.errors import FieldPath, dotted
from planner.excel import annotation_at, kind_of
from planner.load import MAX_BYTES
from planner.solve import SOLVERS
from tests.fuzzing import Found, cases, check_everything, clean_problems, lists_every_problem
from tests.test_cli import TINY
from tests.test_excel import EVERYTHING, SMALL

ROOT = Path(__file__).resolve().parent.parent
Data = dict[str, Any]
runner = CliRunner()

SMALL_BASES: dict[str, Data] = {
    "everything": EVERYTHING,
    "tiny": yaml.safe_load(TINY),
    "small": yaml.safe_load(SMALL),
}
BUNDLED = ["cardiology_lewisham", "commissioning_support_lewisham", "diabetes_lewisham",
           "uganda_hbp_base"]  # fmt: skip
BUNDLED_DATA: dict[str, Data] = {
    name: yaml.safe_load((ROOT / "instances" / f"{name}.yaml").read_text()) for name in BUNDLED
}


# --- a case: mutated data (or bytes) and what it must give ----------------------------------


class Case:
    """One mutant: data to write as YAML (or `raw` bytes as they are), and the field a problem
    must name (`expect`, in `scenario`; None: the mutant may be valid), saying `message`."""

    def __init__(
        self,
        kind: str,
        data: Any = None,
        raw: bytes | None = None,
        expect: FieldPath | None = None,
        scenario: str | None = None,
        message: str = "",
        notes: list[str] | None = None,
    ) -> None:
        self.kind, self.data, self.raw, self.expect = kind, data, raw, expect
        self.scenario, self.message, self.notes = scenario, message, notes or []

    def __repr__(self) -> str:  # hypothesis shows this for a failing case: the mutant's text
        text = self.raw if self.raw is not None else dump(self.data).encode()
        shown = text[:3000].decode("utf-8", "replace")
        return f"Case({self.kind!r}, expect={self.expect!r}, {self.notes}):\n{shown}"


class Pairs(list[tuple[Any, Any]]):
    """A mapping written with a key twice (YAML allows writing it; planner must refuse it)."""


class Dumper(yaml.CSafeDumper):
    pass


Dumper.add_representer(
    Pairs, lambda dumper, pairs: dumper.represent_mapping("tag:yaml.org,2002:map", list(pairs))
)
MARK = "ZZ_MARK_ZZ"  # replaced in the YAML text by a tagged value or an alias bomb


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=100)


# --- walking the data with its schema -------------------------------------------------------


def walk(node: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any]]:
    """Every (path, value) below `node`, parents before children."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key), value
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*path, index), value
            yield from walk(value, (*path, index))


def get(node: Any, path: FieldPath) -> Any:
    for part in path:
        node = node[part]
    return node


def put(node: Any, path: FieldPath, value: Any) -> None:
    get(node, path[:-1])[path[-1]] = value


def in_scenario(path: FieldPath) -> bool:
    return path[:1] == ("scenarios",)


def parent_field(path: FieldPath) -> Any:
    """The pydantic field at `path` when its parent is a model (None in a mapping or list)."""
    if not path or not isinstance(path[-1], str):
        return None
    for member in _members(annotation_at(path[:-1])):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member.model_fields.get(path[-1])
    return None


def _members(annotation: Any) -> Iterator[Any]:
    args = getattr(annotation, "__args__", None)
    if args is None or getattr(annotation, "__origin__", None) in (dict, list):
        yield annotation
        return
    for arg in args:
        yield from _members(arg)


def allowed_kinds(path: FieldPath) -> set[str]:
    """The kinds of value the schema takes at `path` (text, number, bool, list, mapping);
    everything where the schema does not say (scenario overrides, say)."""
    annotation = annotation_at(path)
    if annotation is None or annotation is Any:
        return set(WRONG)
    kinds: set[str] = set()
    for member in _flat(annotation):
        origin = get_origin(member)
        if member is bool:
            kinds.add("bool")
        elif member in (int, float):
            kinds.add("number")
        elif member is str or origin is Literal:
            kinds.add("text")
        elif origin is list:
            kinds.add("list")
        elif origin is dict or (isinstance(member, type) and issubclass(member, BaseModel)):
            kinds.add("mapping")
        else:
            return set(WRONG)
    return kinds


def _flat(annotation: Any) -> Iterator[Any]:
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _flat(get_args(annotation)[0])
    elif origin in (Union, UnionType):
        for arg in get_args(annotation):
            if arg is not type(None):
                yield from _flat(arg)
    else:
        yield annotation


def is_number(path: FieldPath) -> bool:
    annotation = annotation_at(path)
    return annotation is not None and kind_of(annotation)[0] in ("number", "integer")


def never_negative(path: FieldPath) -> bool:
    """The field's type or its model field bounds it below at zero or more."""
    found: list[Any] = []

    def scan(item: Any, depth: int = 0) -> None:
        if depth > 6:
            return
        found.append(item)
        for inner in getattr(item, "metadata", None) or []:
            scan(inner, depth + 1)
        for inner in getattr(item, "__metadata__", ()) or ():
            scan(inner, depth + 1)
        for inner in getattr(item, "__args__", ()) or ():
            scan(inner, depth + 1)

    scan(annotation_at(path))
    scan(parent_field(path))
    bounds = [getattr(m, a, None) for m in found for a in ("ge", "gt")]
    return any(isinstance(b, int | float) and b >= 0 for b in bounds)


def required(path: FieldPath, model: Data | None) -> bool:
    """Deleting `path` from the instance leaves a required field missing (the pathway model,
    where there is one, does not give it either)."""
    info = parent_field(path)
    if info is None or not info.is_required():
        return False
    return model is None or not _has(model, path)


def _has(node: Any, path: FieldPath) -> bool:
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


# the fields that name another entry: (path pattern, what it names); "*" any key, "#" any index
REFERENCES = [
    (("interventions", "*", "delivered_by"), "value"),
    (("interventions", "*", "delivered_by", "*"), "key"),
    (("interventions", "*", "effects", "*"), "key"),
    (("interventions", "*", "resource_use", "*"), "key"),
    (("interventions", "*", "supply", "options", "*", "provider"), "value"),
    (("interventions", "*", "supply", "options", "*", "shared"), "value"),
    (("shared_services", "*", "provider"), "value"),
    (("outcomes", "*", "paid_to"), "value"),
    (("outcomes", "*", "paid_to", "*"), "key"),
    (("outcomes", "*", "external_costs", "*"), "key"),
    (("refused_outcomes", "*"), "key"),
    (("refused_outcomes", "*", "responsible"), "value"),
    (("floors", "*", "outcome"), "value"),
    (("groups", "*", "members", "#"), "value"),
    (("complements", "*", "intervention"), "value"),
    (("complements", "*", "intervention", "#"), "value"),
    (("complements", "*", "requires"), "value"),
    (("complements", "*", "requires", "#"), "value"),
    (("savings", "shares", "*"), "key"),
    (("uncertainty", "parameters", "*", "field"), "value"),
    (("uncertainty", "parameters", "*", "fields", "#"), "value"),
]
ID_LISTS = [
    ("groups", "*", "members"),
    ("complements", "*", "intervention"),
    ("complements", "*", "requires"),
    ("uncertainty", "parameters", "*", "fields"),
]


def matches(path: FieldPath, pattern: tuple[str, ...]) -> bool:
    return len(path) == len(pattern) and all(
        (p == "*" and isinstance(x, str)) or (p == "#" and isinstance(x, int)) or p == x
        for x, p in zip(path, pattern, strict=True)
    )


# --- the mutations, one strategy each ----------------------------------------------------------


@st.composite
def delete_field(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    paths = [p for p, _ in walk(data) if isinstance(p[-1], str)]
    path = draw(st.sampled_from(paths))
    mutant = copy.deepcopy(data)
    del get(mutant, path[:-1])[path[-1]]
    expect = path if not in_scenario(path) and required(path, model) else None
    return Case("delete", mutant, expect=expect, message="is missing")


UNKNOWN_KEYS = ["zz_unknown", "unit_costs", "Name", "maxunits", "healthgain", "extra"]


@st.composite
def unknown_field(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    mappings = [()] + [p for p, v in walk(data) if isinstance(v, dict)]
    path = draw(st.sampled_from(mappings))
    key = draw(st.sampled_from([k for k in UNKNOWN_KEYS if k not in get(data, path)]))
    mutant = copy.deepcopy(data)
    get(mutant, path)[key] = {}
    if path == ("scenarios",):  # a new, empty scenario: valid
        return Case("unknown", mutant)
    if in_scenario(path):  # an override: wrong when the scenario is checked
        return Case("unknown", mutant, expect=(*path[2:], key), scenario=str(path[1]))
    return Case("unknown", mutant, expect=(*path, key))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return {dict: "mapping", list: "list", str: "text"}.get(type(value), "other")


WRONG = {
    "text": st.sampled_from(["abc", "£1,000", "12%", "1 200", "twelve", "0x10", "-"]),
    "number": st.sampled_from([0, 7, 2.5, -3, 2016]),
    "bool": st.booleans(),
    "list": st.sampled_from([[1], ["a", "b"], [{"x": 1}], []]),
    "mapping": st.sampled_from([{"a": 1}, {"x": {"y": 2}}]),
}


@st.composite
def wrong_type(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    path, value = draw(st.sampled_from(list(walk(data))))
    allowed = allowed_kinds(path) if not in_scenario(path) else {_kind(value)}
    kinds = [k for k in WRONG if k not in allowed and k != _kind(value)]
    if not kinds:  # the field takes anything: text where there was a number, say
        kinds = [k for k in WRONG if k != _kind(value)]
        allowed = set(WRONG)
    kind = draw(st.sampled_from(kinds))
    new = draw(WRONG[kind])
    mutant = copy.deepcopy(data)
    put(mutant, path, new)
    known = kind not in allowed and not in_scenario(path)
    return Case(f"wrong type {kind}", mutant, expect=path if known else None)


@st.composite
def null_value(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    path, _ = draw(st.sampled_from(list(walk(data))))
    mutant = copy.deepcopy(data)
    put(mutant, path, None)
    return Case("null", mutant)


def number_paths(data: Data) -> list[FieldPath]:
    return [
        p for p, v in walk(data) if _kind(v) == "number" and not in_scenario(p) and is_number(p)
    ]


@st.composite
def not_finite(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    path = draw(st.sampled_from(number_paths(data)))
    value = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    mutant = copy.deepcopy(data)
    put(mutant, path, value)
    return Case("not finite", mutant, expect=path, message="finite number")


@st.composite
def extreme_number(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    path = draw(st.sampled_from(number_paths(data)))
    value = draw(st.sampled_from([1e308, -1e308, 1e18, -1e18, -1, -0.5, 1e-300, 0]))
    mutant = copy.deepcopy(data)
    put(mutant, path, value)
    expect = path if value < 0 and never_negative(path) else None
    return Case("extreme number", mutant, expect=expect)


def reference_sites(data: Data) -> list[tuple[FieldPath, str]]:
    return [
        (p, how)
        for p, v in walk(data)
        for pattern, how in REFERENCES
        if matches(p, pattern) and (how == "key" or isinstance(v, str))
    ]


@st.composite
def broken_reference(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    path, how = draw(st.sampled_from(reference_sites(data)))
    missing = draw(st.sampled_from(["zz_missing", "nowhere", "Acute_trust"]))
    mutant = copy.deepcopy(data)
    if how == "value":
        put(mutant, path, missing)
        return Case("broken reference", mutant, expect=path)
    parent = get(mutant, path[:-1])
    parent[missing] = parent.pop(path[-1])
    return Case("broken reference", mutant, expect=(*path[:-1], missing))


@st.composite
def duplicate_key(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    mappings = [()] + [p for p, v in walk(data) if isinstance(v, dict) and v]
    path = draw(st.sampled_from(mappings))
    mutant = copy.deepcopy(data)
    node = get(mutant, path)
    key = draw(st.sampled_from(list(node)))
    items = list(node.items())
    at = draw(st.integers(0, len(items)))
    again = draw(st.sampled_from([node[key], None, 1]))
    pairs = Pairs([*items[:at], (key, again), *items[at:]])
    if path:
        put(mutant, path, pairs)
    else:
        mutant = pairs
    return Case("duplicate key", mutant, expect=(*path, key), message="is written twice")


@st.composite
def duplicate_id(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    lists = [p for p, v in walk(data) if isinstance(v, list) and v and not in_scenario(p)
             and any(matches(p, pattern) for pattern in ID_LISTS)]  # fmt: skip
    path = draw(st.sampled_from(lists))
    mutant = copy.deepcopy(data)
    items = get(mutant, path)
    items.insert(draw(st.integers(0, len(items))), draw(st.sampled_from(items)))
    message = "" if path[0] == "uncertainty" else "more than once"  # there: "also made uncertain"
    return Case("duplicate id", mutant, expect=path, message=message)


TAGS = [
    '!!python/object/apply:os.system ["touch PWNED"]',
    "!!python/name:os.system",
    "!!python/object:builtins.dict {a: 1}",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!custom value",
    "!!str {a: 1}",
    "!!float abc",
    "!!timestamp 2020-13-45",
]


@st.composite
def tagged_value(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    path, _ = draw(st.sampled_from(list(walk(data))))
    mutant = copy.deepcopy(data)
    put(mutant, path, MARK)
    tag = draw(st.sampled_from(TAGS))
    raw = dump(mutant).replace(MARK, tag, 1).encode()
    return Case("tag", raw=raw, expect=path, notes=[tag])


BOMB = (
    "[&a0 [x, x, x, x, x, x, x, x, x, x], "
    + ", ".join(f"&a{k} [" + ", ".join([f"*a{k - 1}"] * 10) + "]" for k in range(1, 9))
    + "]"
)


@st.composite
def alias_bomb(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    path, _ = draw(st.sampled_from(list(walk(data))))
    mutant = copy.deepcopy(data)
    put(mutant, path, MARK)
    raw = dump(mutant).replace(MARK, BOMB, 1).encode()
    return Case("alias bomb", raw=raw, expect=None, message="aliases (*name) copy more than")


@st.composite
def wrong_encoding(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    mutant = copy.deepcopy(data)
    mutant["title"] = "Café — £ plan"
    text = dump(mutant)
    how = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "latin-1", "cp1252",
                                "invalid byte", "nul"]))  # fmt: skip
    if how in ("latin-1", "cp1252"):
        raw = text.replace("—", "-").encode(how)
    elif how.startswith("utf-16"):
        raw = text.encode(how)
    else:
        body = text.encode()
        at = draw(st.integers(0, len(body)))
        bad = b"\x00" if how == "nul" else draw(st.sampled_from([b"\xff", b"\xc3", b"\x80"]))
        raw = body[:at] + bad + body[at:]
        if how != "nul":  # a valid sequence may have been completed: decide by decoding
            try:
                raw.decode("utf-8")
                return Case("encoding", raw=raw)
            except UnicodeDecodeError:
                pass
    return Case(f"encoding {how}", raw=raw, expect=(), message="")


SHAPES = [b"", b"   \n\t\n", b"\n\n# nothing\n", b"---\n", b"42\n", b"just text\n", b"- a\n- b\n",
          b"[1, 2]\n", b"'quoted'\n", b"~\n", b"\xef\xbb\xbf", b"{}\n"]  # fmt: skip


@st.composite
def wrong_shape(draw: st.DrawFn, data: Data, model: Data | None) -> Case:
    return Case("shape", raw=draw(st.sampled_from(SHAPES)), expect=())


MUTATIONS = {
    "delete_field": delete_field,
    "unknown_field": unknown_field,
    "wrong_type": wrong_type,
    "null_value": null_value,
    "not_finite": not_finite,
    "extreme_number": extreme_number,
    "broken_reference": broken_reference,
    "duplicate_key": duplicate_key,
    "duplicate_id": duplicate_id,
    "tagged_value": tagged_value,
    "alias_bomb": alias_bomb,
    "wrong_encoding": wrong_encoding,
    "wrong_shape": wrong_shape,
}


def mutation(data: Data, model: Data | None = None, only: list[str] | None = None) -> Any:
    """Any one mutation of `data` (or only those named)."""
    names = [n for n in only or MUTATIONS if n != "duplicate_id" or _has_id_list(data)]
    return st.one_of([MUTATIONS[n](data, model) for n in names])


def _has_id_list(data: Data) -> bool:
    return any(
        isinstance(v, list) and v and any(matches(p, pattern) for pattern in ID_LISTS)
        for p, v in walk(data)
    )


# --- running a case ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder holding instances/ and models/ (the bundled models), as the working directory."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "models", root / "models")
    (root / "instances").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        yield root


def write_case(folder: Path, case: Case, name: str = "instance.yaml") -> Path:
    path = folder / "instances" / name
    path.write_bytes(case.raw if case.raw is not None else dump(case.data).encode())
    return path


def inputs(path: Path) -> list[Path]:
    """The instance and every pathway model file there is (a problem may name either)."""
    return [path, *sorted((path.parent.parent / "models").glob("*.yaml"))]


def names_field(found: list[Found], case: Case) -> bool:
    """A problem (in the case's scenario, or the base) names the expected field (or a field
    inside it, or the entry holding it)."""
    assert case.expect is not None
    want = case.expect
    for f in found:
        if f.scenario not in (case.scenario, None):
            continue
        have = f.problem.path
        inside = have[: len(want)] == want
        holding = len(have) >= max(1, len(want) - 1) and want[: len(have)] == have
        if (inside or holding) and case.message in f.problem.message:
            return True
    return False


def run_case(folder: Path, case: Case, model: Data | None = None) -> list[Found]:
    """Check the case as `planner check` does and assert the properties; the problems."""
    path = write_case(folder, case)
    found = check_everything(path)
    shown = [f"{f.scenario or 'base'}: {f.problem}" for f in found]
    context = f"{case.kind} {case.notes}: expected {dotted(case.expect or ())!r}; got {shown}"
    clean_problems([f.problem for f in found], inputs(path))
    if case.expect is not None:
        assert found, f"loaded clean: {context}"
        assert names_field(found, case), context
    assert not (folder / "PWNED").exists()
    return found


# --- the properties ------------------------------------------------------------------------


@cases(1400)
@given(st.sampled_from(list(SMALL_BASES)).flatmap(
    lambda name: st.tuples(st.just(name), mutation(SMALL_BASES[name]))))  # fmt: skip
def test_mutated_small_instances_give_a_valid_instance_or_a_clean_error(
    folder: Path, named: tuple[str, Case]
) -> None:
    run_case(folder, named[1])


@cases(400)
@given(st.sampled_from(list(SMALL_BASES)).flatmap(
    lambda name: mutation(SMALL_BASES[name], only=["not_finite", "broken_reference",
                                                   "duplicate_key", "unknown_field",
                                                   "delete_field", "tagged_value"])))  # fmt: skip
def test_known_errors_are_never_loaded_clean(folder: Path, case: Case) -> None:
    if case.expect is None:  # a deletion of an optional field, a new empty scenario
        run_case(folder, case)
        return
    assert run_case(folder, case)


@cases(40)
@given(st.sampled_from(BUNDLED).flatmap(
    lambda name: st.tuples(st.just(name), mutation(
        BUNDLED_DATA[name], _model(name), only=[n for n in MUTATIONS if n not in
                                                ("alias_bomb", "wrong_shape")]))))  # fmt: skip
def test_mutated_bundled_instances_give_a_valid_instance_or_a_clean_error(
    folder: Path, named: tuple[str, Case]
) -> None:
    name, case = named
    path = write_case(folder, case)
    try:
        planner.check_instance(path)  # the base only: every scenario of a bundled file is slow
        found: list[Found] = []
    except planner.InputError as exc:
        found = [Found(None, p) for p in exc.problems]
    clean_problems([f.problem for f in found], inputs(path))
    if case.expect is not None and case.scenario is None:
        assert found and names_field(found, case), f"{name} {case.kind}: {case.expect}"


def _model(name: str) -> Data | None:
    """The bundled pathway model of an instance, as the data its fields merge into."""
    ref = BUNDLED_DATA[name].get("model")
    if ref is None:
        return None
    return yaml.safe_load((ROOT / "instances" / ref).resolve().read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("solver", SOLVERS)
@cases(40)
@given(case=st.sampled_from(["tiny", "small", "everything"]).flatmap(
    lambda name: mutation(SMALL_BASES[name], only=["extreme_number", "null_value",
                                                   "delete_field"])))  # fmt: skip
def test_a_valid_mutant_solves_to_a_plan_or_says_why_not(
    folder: Path, solver: str, case: Case
) -> None:
    if run_case(folder, case):
        return
    path = folder / "instances" / "instance.yaml"
    try:
        plan = planner.solve_instance(path, solver=solver)  # type: ignore[arg-type]
    except planner.NoPlanError as exc:
        assert exc.status in ("infeasible", "unbounded", "time_limit", "error"), exc
        assert str(exc).strip()
    else:
        assert plan.summary["status"] == "optimal"
        assert math.isfinite(plan.summary["objective"])


@cases(100)
@given(case=st.sampled_from(list(SMALL_BASES)).flatmap(lambda name: mutation(SMALL_BASES[name])))
def test_planner_check_exits_2_listing_every_problem_without_a_traceback(
    folder: Path, case: Case
) -> None:
    found = run_case(folder, case)
    lists_every_problem(runner.invoke(app, ["check", "instances/instance.yaml"]), found)


@cases(50)
@given(case=st.sampled_from(["tiny", "small"]).flatmap(lambda name: mutation(SMALL_BASES[name])))
def test_planner_solve_writes_nothing_on_bad_input(folder: Path, case: Case) -> None:
    found = run_case(folder, case)
    out = folder / "out"
    shutil.rmtree(out, ignore_errors=True)
    result = runner.invoke(app, ["solve", "instances/instance.yaml", "--out", "out"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    base_found = [f for f in found if f.scenario is None]
    if base_found:
        assert result.exit_code == 2, result.output
        assert not out.exists()
        for f in base_found:
            assert str(f.problem) in result.output
    else:
        assert result.exit_code in (0, 3, 4, 5, 6), result.output
        assert out.is_dir() == (result.exit_code == 0)


def _read_with(compose: Any, text: str) -> Any:
    """(data, origins) or the problems' text, reading `text` with the given composer."""
    load_module = sys.modules["planner.load"]
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(load_module, "compose", compose)
            path = Path("instances") / "twice.yaml"
            path.write_text(text, encoding="utf-8")
            return load_module.read_yaml(path)
    except planner.InputError as exc:
        return str(exc)


@cases(120)
@given(case=st.sampled_from(list(SMALL_BASES)).flatmap(
    lambda name: mutation(SMALL_BASES[name], only=["duplicate_key", "tagged_value", "alias_bomb",
                                                   "wrong_type", "unknown_field"])))  # fmt: skip
def test_libyaml_and_the_python_parser_read_a_file_alike(folder: Path, case: Case) -> None:
    """planner reads YAML through libyaml (fast) and falls back on PyYAML's Python parser: both
    give the same data, lines and problems."""
    text = (case.raw or dump(case.data).encode()).decode()
    fast = _read_with(sys.modules["planner.load"].compose, text)
    slow = _read_with(lambda t: yaml.compose(t, Loader=yaml.SafeLoader), text)
    assert fast == slow


# --- plain tests: the limits, with their exact messages ----------------------------------------


def problems_of(path: Path) -> str:
    with pytest.raises(planner.InputError) as caught:
        planner.check_instance(path)
    return str(caught.value)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(folder: Path) -> None:
    path = folder / "instances" / "huge.yaml"
    with path.open("wb") as handle:  # sparse: no disk used, and never parsed
        handle.truncate(MAX_BYTES + 1)
    assert problems_of(path) == (
        "1 problem in the input:\n"
        "instances/huge.yaml: (top level): is larger than 200 MB, the most planner reads\n"
        "    fix: check that this is the instance file; a national instance of 1,000,000 "
        "variables is about 90 MB"
    )


def test_a_large_valid_file_is_read(folder: Path) -> None:
    data = yaml.safe_load(TINY)
    data["description"] = "x" * 2_000_000  # 2 MB of text in one field
    data["interventions"].update(
        {f"i{k}": {"name": f"I{k}", "unit": "u", "unit_cost": 1.0, "max_units": 1.0,
                   "delivered_by": "gp"} for k in range(2000)}
    )  # fmt: skip
    path = folder / "instances" / "large.yaml"
    path.write_text(yaml.safe_dump(data))
    instance = planner.check_instance(path)
    assert len(instance.interventions) == 2002 and len(instance.description or "") == 2_000_000


def test_a_billion_laughs_file_is_refused(folder: Path) -> None:
    path = folder / "instances" / "bomb.yaml"
    path.write_text(f"name: t\nbaseline_year: 2020\nhorizon: 1\ntitle: {BOMB}\n")
    text = problems_of(path)  # refused by counting the copies, not by expanding them
    assert text == (
        "1 problem in the input:\n"
        "instances/bomb.yaml:4: title[3][7][9][0][1]: aliases (*name) copy more than 10,000 "
        "values\n"
        "    fix: write the entries out, or use fewer aliases (is it a 'billion laughs' file?)"
    )


def test_aliases_that_copy_a_few_entries_are_read(folder: Path) -> None:
    path = folder / "instances" / "aliases.yaml"
    path.write_text(
        "name: t\nbaseline_year: 2020\nhorizon: 1\nenvelope: {baseline: 100}\n"
        "interventions:\n"
        "  a: &same {name: A, unit: u, unit_cost: 1, max_units: 3, health_gain: 1}\n"
        "  b: *same\n"
    )
    instance = planner.check_instance(path)
    assert instance.interventions["b"].max_units == 3


def test_an_alias_inside_itself_is_refused(folder: Path) -> None:
    path = folder / "instances" / "loop.yaml"
    path.write_text("name: t\nbaseline_year: 2020\nhorizon: 1\nsources: &s [a, *s]\n")
    assert problems_of(path) == (
        "1 problem in the input:\n"
        "instances/loop.yaml:4: sources[1]: refers to itself through an alias\n"
        "    fix: an alias (*name) must not stand inside the entry it names (&name)"
    )


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ('!!python/object/apply:os.system ["touch PWNED"]', "!!python/object/apply:os.system"),
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!str {a: 1}", "!!str"),
        ("!custom value", "!custom"),
    ],
)
def test_yaml_tags_are_refused_and_never_run(folder: Path, value: str, tag: str) -> None:
    path = folder / "instances" / "tagged.yaml"
    path.write_text(f"name: t\nbaseline_year: 2020\nhorizon: 1\ntitle: {value}\n")
    assert problems_of(path) == (
        "1 problem in the input:\n"
        f"instances/tagged.yaml:4: title: has the YAML tag {tag}, which planner does not read\n"
        "    fix: remove the tag and write a plain value (planner reads numbers, text, lists and "
        "'field: value' lines only)"
    )
    assert not (folder / "PWNED").exists()


def test_deep_nesting_is_refused(folder: Path) -> None:
    path = folder / "instances" / "deep.yaml"
    path.write_text("name: " + "[" * 3000 + "]" * 3000 + "\n")
    assert problems_of(path) == (
        "1 problem in the input:\n"
        "instances/deep.yaml:1: (top level): nests lists or mappings more than 64 levels deep\n"
        "    fix: planner's fields are never this deep: check the brackets and the indentation"
    )


def test_the_suite_can_fail_a_silent_default() -> None:
    """The property is not vacuous: a case whose expected field no problem names fails it."""
    case = Case("unknown", expect=("interventions", "a", "zz_unknown"))
    other = planner.Problem("instance.yaml", ("horizon",), "is missing", "add it", 3)
    assert not names_field([Found(None, other)], case)
    assert re.match(r"^instance\.yaml:3: horizon: ", str(other))


# --- outputs never overwrite an input ----------------------------------------------------------

MODEL = """\
pathway: tiny
interventions:
  education: {name: Structured education, unit: participant, unit_cost: 100, health_gain: 0.04,
              max_units: 2000, effects: {ae: -0.5}}
  clinic: {name: Community clinic, unit: contact, unit_cost: 80, health_gain: 0.002,
           baseline_units: 500, max_units: 1000}
outcomes:
  ae: {name: A&E attendances, unit: attendance, baseline: 4000, tariff: 150}
"""
WITH_MODEL = """\
name: guarded
model: ../models/tiny.yaml
baseline_year: 2020
horizon: 2
discount_rate: 0
envelope: {baseline: 700000, reduction: 0.01}
partners:
  hospital: {name: Hospital, max_loss_share: 0.5}
  gp: {name: GP practices}
interventions:
  education: {delivered_by: gp}
  clinic: {delivered_by: gp}
outcomes:
  ae: {paid_to: hospital}
uncertainty:
  parameters:
    price: {field: interventions.education.unit_cost, distribution: range, low: 90, high: 110}
"""
COMMANDS = {  # each command that writes, with options that keep it quick
    "solve": ["solve"],
    "compare": ["compare"],
    "report": ["report", "--no-frontier"],
    "frontier": ["frontier", "--steps", "2"],
    "uncertainty": ["uncertainty", "--draws", "2", "--no-reoptimise"],
    "risk": ["risk", "--draws", "2"],
}


@pytest.fixture
def guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instance under plans/ with its pathway model under models/, as the working folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "tiny.yaml").write_text(MODEL)
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "guarded.yaml").write_text(WITH_MODEL)
    return tmp_path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("out", ["plans/guarded.yaml", "models/tiny.yaml", "plans", "models", "."])
def test_no_command_writes_over_an_input(guarded: Path, command: str, out: str) -> None:
    before = snapshot(guarded)
    result = runner.invoke(app, [*COMMANDS[command], "plans/guarded.yaml", "--out", out])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    assert snapshot(guarded) == before, result.output  # nothing written, nothing replaced
    said = " ".join(result.output.split())
    assert out.rstrip("/") in said or "refusing" in said, said


@pytest.mark.parametrize("out", ["plans/guarded.xlsx", "plans/copy.xlsx"])
def test_template_never_writes_over_the_workbook_it_reads(guarded: Path, out: str) -> None:
    made = runner.invoke(app, ["template", "--out", "plans/guarded.xlsx", "--from",
                               "plans/guarded.yaml"])  # fmt: skip
    assert made.exit_code == 0, made.output
    (guarded / "plans" / "copy.xlsx").write_bytes((guarded / "plans" / "guarded.xlsx").read_bytes())
    before = snapshot(guarded)
    result = runner.invoke(
        app, ["template", "--out", out, "--from", "plans/guarded.xlsx", "--replace"]
    )
    if out == "plans/copy.xlsx":  # another file, replaced on request
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert "refusing to write plans/guarded.xlsx: it is an input" in " ".join(result.output.split())
    assert snapshot(guarded) == before
