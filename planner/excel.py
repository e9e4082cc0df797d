"""Excel: an instance as a workbook, one sheet per input table, and back.

`write_template` writes a workbook with a sheet for each table of the schema: empty, or holding an
instance with its pathway model merged in. `read_workbook` reads one into the same plain data and
field origins that `load.read_yaml` gives for YAML, so the same validation runs on both and every
problem names its sheet, row, column and cell.

Reading takes values only. A formula is never calculated: the result a spreadsheet program saved
with it is read, and a formula without one is an error. Writing never makes a formula: text is
written as text, whatever it starts with.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import io
import os
import re
import tempfile
import types
import typing
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import xlsxwriter
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from planner.errors import (
    Cell,
    FieldPath,
    InputError,
    PlannerError,
    Problem,
    display_path,
    dotted,
    parse_path,
)
from planner.schema import (
    CURRENCY_SYMBOL,
    Complement,
    Effect,
    Envelope,
    Floor,
    Group,
    Instance,
    Intervention,
    Objective,
    Outcome,
    Partner,
    PathwayInfo,
    Ramp,
    RefusedOutcome,
    Resource,
    Savings,
    SharedService,
    Supply,
    SupplyOption,
    Tranche,
    UncertainParameter,
    Uncertainty,
)

Origin = tuple[str, int | Cell]  # as load.Origin: (file as shown, line or cell)
Kind = Literal["id", "ids", "id_or_ids", "text", "number", "integer", "bool", "choice", "any"]
MAX_TEXT = 32767  # the most characters an Excel cell holds
LAST_ROW = 1_048_575  # Excel's last row, 0-based: drop-down lists cover whole columns
FIXED_DATE = dt.datetime(2000, 1, 1)  # workbook metadata date: the same bytes on every run
NULL = "null"  # a scenario's value that removes a field (YAML's null)


class WorkbookError(PlannerError):
    """A workbook that cannot be written safely."""


# --- columns and sheets --------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its header, what its cells hold, and where a value goes from the
    row's place (`path`; empty: the value is the place itself)."""

    name: str
    kind: Kind
    unit: str = ""
    description: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    path: FieldPath = ()


class _Key:
    def __repr__(self) -> str:
        return "KEY"


KEY: Any = _Key()  # in a sheet's place: where the next key column's value goes
Layout = Literal["table", "list", "effects", "sources", "settings", "scenarios"]


@dataclass(frozen=True)
class Sheet:
    """One input table: what a row is, its key and value columns, and where rows go.

    `place` is the field path of a row, with KEY where each key column's value goes in turn.
    `parent` names the sheet whose ids the first key must be.
    """

    name: str
    row: str
    meaning: str
    place: FieldPath
    keys: tuple[Column, ...]
    values: tuple[Column, ...]
    layout: Layout = "table"
    parent: str | None = None

    @property
    def columns(self) -> tuple[Column, ...]:
        return (*self.keys, *self.values)


def _members(annotation: Any) -> Iterator[Any]:
    """Optional, Union and Annotated expanded to their members; a constrained str is "Id"."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = get_args(annotation)
        if base is str and any(getattr(m, "pattern", None) for m in meta):
            yield "Id"
        else:
            yield from _members(base)
    elif origin in (typing.Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _members(arg)
    elif annotation is not type(None):
        yield annotation


def kind_of(annotation: Any) -> tuple[Kind, tuple[str, ...]]:
    """What a cell holding a value of this schema type holds: its kind and any allowed words."""
    members = list(_members(annotation))
    for member in members:
        if get_origin(member) is list and list(_members(get_args(member)[0])) in (["Id"], [str]):
            return ("id_or_ids" if "Id" in members else "ids"), ()
    for member in members:
        if get_origin(member) is Literal:
            return "choice", tuple(str(a) for a in get_args(member))
    for python, kind in ((float, "number"), (int, "integer"), (bool, "bool")):
        if python in members:
            return typing.cast(Kind, kind), ()
    if "Id" in members:
        return "id", ()
    return ("text", ()) if str in members else ("any", ())


def schema_column(
    model: type[BaseModel], name: str, header: str | None = None, path: FieldPath | None = None
) -> Column:
    """The column of field `name` of `model`: kind, unit, description and default from the
    schema (a nested field, `header` ramp.max_increase say, is never required)."""
    info = model.model_fields[name]
    kind, choices = kind_of(info.annotation)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    default = None if info.default is PydanticUndefined else info.default
    return Column(
        name=header or name,
        kind=kind,
        unit=str(extra.get("unit", "")),
        description=info.description or "",
        required=info.is_required() and header is None,
        choices=choices,
        default=None if isinstance(default, dict | list | BaseModel) else default,
        path=(name,) if path is None else path,
    )


def _fields(model: type[BaseModel], *skip: str, prefix: str = "") -> tuple[Column, ...]:
    return tuple(
        schema_column(model, n, f"{prefix}.{n}", (prefix, n)) if prefix else schema_column(model, n)
        for n in model.model_fields
        if n not in skip
    )


def _key(name: str, description: str, kind: Kind = "id", unit: str = "id") -> Column:
    return Column(name, kind, unit, description, required=True)


def _value(name: str, kind: Kind, unit: str, description: str) -> Column:
    return Column(name, kind, unit, description, required=True)


ID = _key("id", "the row's name: letters, digits and underscores, starting with a letter", unit="")
INTERVENTION = _key("intervention", "id of an intervention on sheet interventions")
OUTCOME = _key("outcome", "id of an outcome on sheet outcomes")
PARTNER = _key("partner", "id of a partner on sheet partners")
SHARE = _value("share", "number", "share", "share of the whole, as a fraction (0.5 for half)")
SOURCE_COLUMNS = (
    Column("key", "text", "", "the source's key (leave every key empty for a plain list)"),
    _value("source", "text", "text", "the source"),
)

SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "settings", "setting",
        "the plan's own settings, one per row: name, years, discounting, objective, the envelope's "
        "baseline and reduction, the savings rule, the pathway model's name and title",
        (), (Column("field", "text", "", "the setting's name", True),),
        (Column("value", "any", "", "the setting's value; empty for its default", True),
         Column("unit", "text", "", "unit of the value (not read)"),
         Column("meaning", "text", "", "what the setting means (not read)")),
        layout="settings",
    ),
    Sheet(
        "envelope_amounts", "plan year",
        "the envelope for each plan year, instead of a baseline and reduction on sheet settings",
        ("envelope", "amounts", KEY), (_key("year", "a plan year", "integer", "year"),),
        (_value("amount", "number", "currency", "the envelope in that year"),),
    ),
    Sheet(
        "partners", "partner", "organisations that receive pathway money, and their risk limits",
        ("partners", KEY), (ID,), _fields(Partner),
    ),
    Sheet(
        "savings_shares", "partner",
        "with savings.rule share (sheet settings): each partner's share of money left unspent",
        ("savings", "shares", KEY), (PARTNER,), (SHARE,),
    ),
    Sheet(
        "interventions", "intervention",
        "what the pathway can fund, in units a year (delivered_by: one partner; shares by partner "
        "on sheet delivered_by)",
        ("interventions", KEY), (ID,),
        (*_fields(Intervention, "tranches", "effects", "supply", "resource_use", "ramp", "source",
                  "notes"),
         *_fields(Ramp, prefix="ramp"),
         *_fields(Supply, "options", prefix="supply"),
         *_fields(Intervention, *(n for n in Intervention.model_fields
                                  if n not in ("source", "notes")))),
    ),
    Sheet(
        "delivered_by", "intervention and partner",
        "shares of an intervention's units by partner, where several deliver it",
        ("interventions", KEY, "delivered_by", KEY), (INTERVENTION, PARTNER), (SHARE,),
        parent="interventions",
    ),
    Sheet(
        "tranches", "tranche",
        "diminishing returns: blocks of an intervention's units with falling health gain, in "
        "order (they replace its health_gain)",
        ("interventions", KEY, "tranches"), (INTERVENTION,), _fields(Tranche),
        layout="list", parent="interventions",
    ),
    Sheet(
        "effects", "effect",
        "change in an outcome per unit of an intervention, lag years after the units are bought "
        "(several rows for one intervention and outcome: one per lag)",
        ("interventions", KEY, "effects", KEY), (INTERVENTION, OUTCOME), _fields(Effect),
        layout="effects", parent="interventions",
    ),
    Sheet(
        "resource_use", "intervention and resource",
        "use of a resource (sheet resources) per unit of an intervention",
        ("interventions", KEY, "resource_use", KEY),
        (INTERVENTION, _key("resource", "id of a resource on sheet resources")),
        (_value("per_unit", "number", "resource units per unit", "use per unit"),),
        parent="interventions",
    ),
    Sheet(
        "supply_options", "make-or-buy option",
        "ways to provide an intervention in the plan years, made in-house or bought (how they "
        "combine: columns supply.choice and supply.in_house_only of sheet interventions)",
        ("interventions", KEY, "supply", "options", KEY),
        (INTERVENTION, _key("option", "the option's id, unique within its intervention")),
        _fields(SupplyOption), parent="interventions",
    ),
    Sheet(
        "shared_services", "shared service",
        "services one partner hosts for several supply options, with one fixed cost",
        ("shared_services", KEY), (ID,), _fields(SharedService),
    ),
    Sheet(
        "outcomes", "outcome",
        "what moves when interventions move: level = baseline + effects x change in units "
        "(paid_to: one partner; shares by partner on sheet paid_to)",
        ("outcomes", KEY), (ID,), _fields(Outcome, "external_costs"),
    ),
    Sheet(
        "paid_to", "outcome and partner",
        "shares of an outcome's tariff by partner, where several are paid",
        ("outcomes", KEY, "paid_to", KEY), (OUTCOME, PARTNER), (SHARE,), parent="outcomes",
    ),
    Sheet(
        "external_costs", "outcome and partner",
        "cost per event of an outcome to a partner, outside the envelope (such as social care)",
        ("outcomes", KEY, "external_costs", KEY), (OUTCOME, PARTNER),
        (_value("cost_per_event", "number", "currency per event", "cost to the partner"),),
        parent="outcomes",
    ),
    Sheet(
        "refused_outcomes", "outcome",
        "poor outcomes the commissioner will not pay for, and the partner that bears their tariff",
        ("refused_outcomes", KEY), (OUTCOME,), _fields(RefusedOutcome),
    ),
    Sheet(
        "floors", "floor",
        "bounds on outcomes: a level (value) or a multiple of baseline (relative), in one year "
        "or every year",
        ("floors", KEY), (ID,), _fields(Floor),
    ),
    Sheet(
        "groups", "group",
        "interventions that together meet a need, or share one (members: ids separated by commas)",
        ("groups", KEY), (ID,), _fields(Group),
    ),
    Sheet(
        "complements", "complement",
        "interventions that only make sense alongside others: units of intervention <= ratio x "
        "units of requires (several ids: separated by commas)",
        ("complements", KEY), (ID,), _fields(Complement),
    ),
    Sheet(
        "resources", "resource", "workforce and other capacities that interventions use",
        ("resources", KEY), (ID,), _fields(Resource),
    ),
    Sheet(
        "uncertainty", "uncertain number",
        "uncertain numbers for planner uncertainty: the field (or fields, separated by commas, "
        "that move together), the distribution and its numbers, see docs/uncertainty.md (the "
        "seed: uncertainty.seed on sheet settings)",
        ("uncertainty", "parameters", KEY), (ID,), _fields(UncertainParameter),
    ),
    Sheet(
        "scenarios", "scenario and field",
        "named overrides of any field: the field written as in error messages "
        "(interventions.education.health_gain, envelope.amounts[2015], "
        "interventions.education.tranches[0].units); the value null removes the field",
        ("scenarios", KEY), (_key("scenario", "the scenario's name"),),
        (_value("field", "text", "field path", "the field the scenario changes"),
         _value("value", "any", "", f"its value in the scenario; {NULL} removes it")),
        layout="scenarios",
    ),
    Sheet(
        "sources", "source", "sources of the local figures (with keys: a named list)",
        ("sources",), (), SOURCE_COLUMNS, layout="sources",
    ),
    Sheet(
        "pathway_sources", "source",
        "sources of the pathway model's evidence (with keys: a named list)",
        ("pathway", "sources"), (), SOURCE_COLUMNS, layout="sources",
    ),
)  # fmt: skip
SHEET_INDEX = {sheet.name: index for index, sheet in enumerate(SHEETS)}

SETTINGS: tuple[tuple[FieldPath, type[BaseModel], str], ...] = (
    (("name",), Instance, "name"),
    (("title",), Instance, "title"),
    (("description",), Instance, "description"),
    (("currency",), Instance, "currency"),
    (("health_unit",), Instance, "health_unit"),
    (("population",), Instance, "population"),
    (("baseline_year",), Instance, "baseline_year"),
    (("horizon",), Instance, "horizon"),
    (("discount_rate",), Instance, "discount_rate"),
    (("objective", "kind"), Objective, "kind"),
    (("objective", "threshold"), Objective, "threshold"),
    (("envelope", "baseline"), Envelope, "baseline"),
    (("envelope", "reduction"), Envelope, "reduction"),
    (("savings", "rule"), Savings, "rule"),
    (("pathway", "pathway"), PathwayInfo, "pathway"),
    (("pathway", "title"), PathwayInfo, "title"),
    (("pathway", "description"), PathwayInfo, "description"),
    (("uncertainty", "seed"), Uncertainty, "seed"),
)
SETTING_COLUMNS = {
    dotted(path): schema_column(model, name, dotted(path) if len(path) > 1 else None, path)
    for path, model, name in SETTINGS
}
ON_SHEETS = {  # fields of an instance that are not settings: where a workbook holds them
    **{s.name: f"sheet {s.name}" for s in SHEETS if s.place[:1] == (s.name,)},
    "pathway": "sheet settings (pathway.pathway, pathway.title, pathway.description) and sheet "
    "pathway_sources",
    "envelope": "sheet settings (envelope.baseline, envelope.reduction) or sheet envelope_amounts",
    "savings": "sheet settings (savings.rule) and sheet savings_shares",
    "objective": "sheet settings (objective.kind, objective.threshold)",
    "uncertainty": "sheet settings (uncertainty.seed) and sheet uncertainty",
}


# --- reading cells -------------------------------------------------------------------------


class _Bad(Exception):
    """A cell that cannot be read: what is wrong and how to fix it."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


BAD: Any = _Bad  # stands in a row for a value that could not be read (a problem says why)
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
WHOLE_NUMBER = re.compile(r"[+-]?\d+")
WORDS = {"true": True, "yes": True, "false": False, "no": False}


def convert(value: Any, kind: Kind, unit: str = "") -> Any:
    """A cell's value as the instance holds it; _Bad where reading it would be a guess.

    Empty text is no value. Text that is a plain number is that number; text with a currency
    symbol, a separator or a percent sign is refused, as is a date anywhere. Numbers in a text
    column are the digits shown; ids are stripped of spaces; in an id list, ids are separated by
    commas.
    """
    if isinstance(value, str) and not value.strip():
        return None
    if value is None or kind == "any":
        return value
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        shown = str(value) if isinstance(value, dt.timedelta) else value.isoformat()
        what = {"integer": "whole number", "number": "number"}.get(kind, "text")
        raise _Bad(
            f"holds a date or time ({shown}), not a {what}",
            "the spreadsheet turned what was typed into a date: format the cell as "
            f"{'Number' if kind in ('number', 'integer') else 'Text'} and type the value again",
        )
    if kind in ("number", "integer"):
        return _number(value, kind == "integer", unit)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in WORDS:
            return WORDS[value.strip().lower()]
        raise _Bad(f"must be TRUE or FALSE (got {value!r})", "write TRUE or FALSE")
    if kind in ("ids", "id_or_ids"):
        names = [n.strip() for n in _text(value).split(",") if n.strip()]
        return names[0] if kind == "id_or_ids" and len(names) == 1 else names
    return _text(value).strip() if kind in ("id", "choice") else _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any, whole: bool, unit: str) -> Any:
    if isinstance(value, bool):
        raise _Bad(f"is {_text(value)}, not a number", "enter a number")
    if isinstance(value, int | float):
        return int(value) if whole and float(value).is_integer() else value
    text = str(value).strip()
    if PLAIN_NUMBER.fullmatch(text):
        number = float(text)
        exact = whole or WHOLE_NUMBER.fullmatch(text)
        return int(number) if exact and number.is_integer() else number
    example = "2016" if whole else "1200 or 0.05"
    percent = text.removesuffix("%").strip()
    if text.endswith("%") and PLAIN_NUMBER.fullmatch(percent):
        fix = (
            f"enter the number {float(percent) / 100:g} for {text} (typing {text} into a cell "
            "that is not formatted as Text stores it as a number too)"
        )
    elif any(c in text for c in ",£$€ "):
        fix = (
            f"enter the number alone, such as {example}: no currency symbol, spaces or "
            "thousands separators (format the cell to show them)"
        )
    else:
        fix = f"enter a {'whole ' if whole else ''}number such as {example}"
    raise _Bad(
        f"must be a {'whole ' if whole else ''}number (got the text {text!r})",
        fix + (f" (unit: {unit})" if unit else ""),
    )


def header_name(value: Any) -> str:
    """A header cell's column name: its first line, less a unit in brackets after the name."""
    lines = _text(value).strip().splitlines()
    return re.split(r"[(\[]", lines[0], maxsplit=1)[0].strip() if lines else ""


# --- reading sheets ------------------------------------------------------------------------


@dataclass
class _Reader:
    """Builds an instance's plain data from the sheets, with the cell behind every field."""

    file: str
    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[FieldPath, Origin] = field(default_factory=dict)
    written: dict[FieldPath, Cell] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    ids: dict[str, list[str]] = field(default_factory=dict)
    unread: set[str] = field(default_factory=set)  # sheets whose rows could not be read

    def problem(self, cell: Cell, message: str, fix: str, path: FieldPath = ()) -> None:
        self.problems.append(Problem(self.file, path, message, fix, cell=cell))

    def mark(self, path: FieldPath, cell: Cell, first: bool = False) -> None:
        """Say that `path` was written at `cell` (with `first`: unless it was already said)."""
        if first:
            self.origins.setdefault(path, (self.file, cell))
        else:
            self.origins[path] = (self.file, cell)

    def put(self, path: FieldPath, value: Any, cell: Cell) -> None:
        """Set the field at `path`; one given twice (say as a partner and as shares) is a
        problem."""
        node: dict[Any, Any] = self.data
        for cut in range(1, len(path)):
            child = node.setdefault(path[cut - 1], {})
            if not isinstance(child, dict):
                return self._twice(path, path[:cut], cell)
            self.mark(path[:cut], cell, first=True)
            node = child
        if path[-1] in node:
            return self._twice(path, path, cell)
        node[path[-1]] = value
        self.written[path] = cell
        self.mark(path, cell)
        return None

    def _twice(self, path: FieldPath, other: FieldPath, cell: Cell) -> None:
        first = self.written.get(other) or next(
            (c for p, c in self.written.items() if p[: len(path)] == path), None
        )
        shares = next((part for part in path if part in ("delivered_by", "paid_to")), None)
        fix = (
            f"give one partner in column {shares} of sheet {path[0]}, or shares by partner on "
            f"sheet {shares}, not both"
            if shares is not None and path[0] != "scenarios"
            else "give it once: a value, or the fields under it, not both"
        )
        where = f" (first at {first})" if first is not None else ""
        self.problem(cell, f"is given twice{where}", fix, path)


@dataclass
class _Table:
    """One sheet being read: where its columns are, and its rows as read."""

    spec: Sheet
    col_of: dict[str, int]
    rows: list[tuple[int, dict[str, Any]]]

    def cell(self, row: int, name: str | None = None) -> Cell:
        """The cell of column `name` in `row` (the row alone when the sheet has no such
        column)."""
        col = self.col_of.get(name) if name is not None else None
        return Cell(SHEET_INDEX[self.spec.name], self.spec.name, row, col, name if col else None)


def read_workbook(path: Path) -> tuple[dict[str, Any], dict[FieldPath, Origin]]:
    """Read a workbook into plain data and a map from field path to (file, cell).

    Every sheet, header and cell is checked and all problems are raised together (InputError).
    Sheets whose names start with "_" are notes: they are not read.
    """
    import openpyxl  # a runtime dependency, imported here: reading YAML does not need it

    shown = display_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(
            [Problem(shown, (), f"cannot be read ({reason})", "check the path")]
        ) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns of the extensions it drops
            formulas = openpyxl.load_workbook(io.BytesIO(raw), data_only=False)
            values = (  # the saved results of formulas: a second reading, only where needed
                openpyxl.load_workbook(io.BytesIO(raw), data_only=True)
                if _has_formulas(formulas)
                else formulas
            )
    except Exception as exc:  # a damaged or foreign file: say so, never a traceback
        reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
        raise InputError(
            [
                Problem(
                    shown,
                    (),
                    f"is not a readable Excel workbook ({reason})",
                    "open it in Excel or LibreOffice and save it as an Excel workbook (.xlsx)",
                )
            ]
        ) from None
    reader = _Reader(shown)
    reader.origins[()] = (shown, Cell(0, "settings"))  # a missing setting: sheet settings
    for sheet in SHEETS:  # a section with nothing in it (no interventions, say): its sheet
        if sheet.place[:1] == (sheet.name,):
            reader.origins[(sheet.name,)] = (shown, Cell(SHEET_INDEX[sheet.name], sheet.name))
    known = [s.name for s in SHEETS]
    for position, name in enumerate(values.sheetnames):
        if name not in known and not name.startswith("_"):
            close = difflib.get_close_matches(name.lower(), known, 1, CLOSE)
            reader.problem(
                Cell(len(SHEETS) + position, name),
                "is not a sheet planner reads",
                (f"did you mean {close[0]}? " if close else "")
                + f"rename it to one of: {', '.join(known)}; or start its name with _ to keep "
                "it as notes",
            )
    for sheet in SHEETS:  # in this order, so a sheet's parent is read before it
        if sheet.name in values.sheetnames and hasattr(values[sheet.name], "iter_rows"):
            table = _read_table(reader, sheet, values[sheet.name], formulas[sheet.name])
            if table is not None:
                PLACE[sheet.layout](reader, table)
    if reader.problems:
        raise InputError(reader.problems)
    return reader.data, reader.origins


def _has_formulas(book: Any) -> bool:
    """Whether any cell of the workbook (read with data_only=False) holds a formula."""
    return any(
        cell.data_type == "f"
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
    )


def _read_table(reader: _Reader, spec: Sheet, values: Any, formulas: Any) -> _Table | None:
    """The sheet's rows as column name -> value (BAD where a problem was reported); None when
    the sheet has no rows, or a header that does not let them be read."""
    index = SHEET_INDEX[spec.name]
    written = {(c.row, c.column): c.value for r in formulas.iter_rows() for c in r
               if c.data_type == "f"}  # fmt: skip
    grid: dict[int, dict[int, Any]] = {}
    for cells in values.iter_rows():
        for c in cells:
            formula = written.get((c.row, c.column))
            if c.value is not None or formula is not None:
                value = _cell_value(c, formula)
                if value is not None:
                    grid.setdefault(c.row, {})[c.column] = value
    header = grid.pop(1, {})
    known = {c.name: c for c in spec.columns}
    col_of: dict[str, int] = {}
    used = {col for cells in grid.values() for col in cells}
    for col, value in sorted(header.items()):
        name = header_name(value) if not isinstance(value, _Bad) else ""
        cell = Cell(index, spec.name, 1, col, name or None)
        if isinstance(value, _Bad):
            reader.problem(cell, value.message, value.fix)
        elif name in col_of:
            reader.problem(cell, f"column {name} is given twice", "keep one column per name")
        elif name in known:
            col_of[name] = col
        elif name or col in used:
            close = difflib.get_close_matches(name, list(known), 1, CLOSE)
            reader.problem(
                cell,
                f"'{name}' is not a column of this sheet" if name else "the column has no name",
                (f"did you mean {close[0]}? " if close else "")
                + f"columns of sheet {spec.name}: {', '.join(known)}",
            )
    for col in sorted(used - set(header)):
        reader.problem(
            Cell(index, spec.name, 1, col),
            "the column has values but no name in row 1",
            f"name it in row 1 (columns of sheet {spec.name}: {', '.join(known)}), or clear it",
        )
    table = _Table(spec, col_of, [])
    names = {col: name for name, col in col_of.items()}
    for merged in sorted(values.merged_cells.ranges, key=lambda r: (r.min_row, r.min_col)):
        reader.problem(
            Cell(index, spec.name, merged.min_row, merged.min_col, names.get(merged.min_col)),
            f"cells {merged.coord} are merged",
            "unmerge them and write the value in each cell (planner reads one value per cell)",
        )
    if not grid:
        return None
    missing = [c for c in spec.columns if c.required and c.name not in col_of]
    for column in missing:
        reader.problem(
            Cell(index, spec.name, 1),
            f"has no column {column.name}",
            f"add a column named {column.name} in row 1: {column.description}",
        )
    if any(c in spec.keys for c in missing):
        reader.unread.add(spec.name)  # its ids are unknown: sheets naming them are not checked
        return None
    for number, cells in sorted(grid.items()):
        row: dict[str, Any] = {names[col]: value for col, value in cells.items() if col in names}
        for name, value in row.items():
            column = known[name]
            try:
                if isinstance(value, _Bad):
                    raise value
                row[name] = convert(value, column.kind, column.unit)
            except _Bad as bad:
                path = _row_path(spec, row, column)
                reader.problem(table.cell(number, name), bad.message, bad.fix, path)
                row[name] = BAD
        if row:
            table.rows.append((number, row))
    return table


CLOSE = 0.75  # how alike a name must be to be suggested for a misspelt one


def _row_path(spec: Sheet, row: dict[str, Any], column: Column) -> FieldPath:
    """The field a cell of a table row gives, where its keys are readable; else ()."""
    keys = tuple(row.get(c.name) for c in spec.keys)
    if spec.layout not in ("table", "effects") or column in spec.keys:
        return ()
    if not keys or not all(isinstance(k, str | int) and not isinstance(k, bool) for k in keys):
        return ()
    keys = tuple(k.strip() if isinstance(k, str) else k for k in keys)
    return (*_fill(spec.place, keys), *column.path)


def _cell_value(cell: Any, formula: Any) -> Any:
    """A cell's value (a formula's saved result), None for blank text, or _Bad for a formula
    with no saved result or a spreadsheet error."""
    text = getattr(formula, "text", formula)
    if formula is not None and cell.value is None:
        return _Bad(
            f"holds a formula ({text}) with no saved result: the workbook was not recalculated "
            "by a spreadsheet program since the formula was written",
            "open and save the workbook in Excel or LibreOffice, or replace the formula by its "
            "value (planner never calculates formulas)",
        )
    if cell.data_type == "e":
        return _Bad(
            f"holds the spreadsheet error {cell.value}"
            + (f" (from the formula {text})" if formula is not None else ""),
            "correct the formula or the value so that the cell shows a number or text",
        )
    if isinstance(cell.value, str):
        text = CONTROL.sub(lambda m: chr(int(m.group(1), 16)), cell.value)
        return text if text.strip() else None
    return cell.value


# a control character (carriage return, say) as the workbook's XML writes it, and openpyxl
# leaves it: "_x000D_"
CONTROL = re.compile(r"_x(00[01][0-9A-Fa-f])_")


def _keys(reader: _Reader, table: _Table, number: int, row: dict[str, Any]) -> tuple[Any, ...]:
    """The row's key values; () with a problem when one is missing, unreadable or unknown."""
    spec = table.spec
    keys = tuple(row.get(c.name) for c in spec.keys)
    for column, value in zip(spec.keys, keys, strict=True):
        if value is None:
            reader.problem(
                table.cell(number, column.name),
                f"has no {column.name}",
                f"write the {column.name} in column {column.name}: {column.description}",
            )
    if any(value is None or value is BAD for value in keys):
        return ()
    parent = spec.parent
    if (
        parent is not None
        and parent not in reader.unread
        and keys[0] not in reader.ids.get(parent, [])
    ):
        listed = ", ".join(reader.ids.get(parent, [])) or "none"
        reader.problem(
            table.cell(number, spec.keys[0].name),
            f"{spec.keys[0].name} '{keys[0]}' is not on sheet {parent}",
            f"use an id from column id of sheet {parent} ({listed}), or add its row there",
        )
        return ()
    return keys


def _fill(pattern: FieldPath, keys: tuple[Any, ...]) -> FieldPath:
    given = iter(keys)
    return tuple(next(given) if part is KEY else part for part in pattern)


def _place_table(reader: _Reader, table: _Table) -> None:
    """Rows of a table: one entry (or one value) per row, keyed by its key columns."""
    spec = table.spec
    seen: dict[tuple[Any, ...], int] = {}
    lists: dict[FieldPath, list[tuple[int, dict[str, Any]]]] = {}
    for number, row in table.rows:
        keys = _keys(reader, table, number, row)
        if not keys:
            continue
        base = _fill(spec.place, keys)
        positions = [i for i, part in enumerate(spec.place) if part is KEY]
        for key, at in zip(spec.keys, positions, strict=True):
            for cut in range(1, at + 2):
                reader.mark(base[:cut], table.cell(number, key.name), first=True)
        if spec.layout in ("list", "effects"):
            lists.setdefault(base, []).append((number, row))
            continue
        if keys in seen:
            reader.problem(
                table.cell(number, spec.keys[-1].name),
                f"{', '.join(map(str, keys))} is written twice (first in row {seen[keys]})",
                "keep one row for each " + " and ".join(c.name for c in spec.keys),
            )
            continue
        seen[keys] = number
        if spec.name in ("interventions", "outcomes"):
            reader.ids.setdefault(spec.name, []).append(keys[0])
        if any(row.get(c.name) is BAD for c in spec.values):
            continue
        key_cell = table.cell(number, spec.keys[-1].name)
        if all(c.path for c in spec.values):  # a row of fields is an entry, even if empty
            reader.put(base, {}, key_cell)
        for column in spec.values:
            value, target = row.get(column.name), (*base, *column.path)
            cell = table.cell(number, column.name)
            if value is not None:
                reader.put(target, value, cell)
            elif column.path:
                reader.mark(target, cell, first=True)  # "is missing" points at the empty cell
            else:
                reader.problem(cell, f"has no {column.name}", f"write the {column.description}")
    for base, items in lists.items():
        _place_list(reader, table, base, items)


def _place_list(
    reader: _Reader, table: _Table, base: FieldPath, items: list[tuple[int, dict[str, Any]]]
) -> None:
    """Tranches, in row order; effects: one number, or per_unit and lag, or a list of them
    where several rows name the same intervention and outcome."""
    columns = table.spec.values
    if any(row.get(c.name) is BAD for _, row in items for c in columns):
        return
    entries = [{c.path[0]: row[c.name] for c in columns if row.get(c.name) is not None}
               for _, row in items]  # fmt: skip
    value: Any = entries
    places = [(*base, index) for index in range(len(items))]
    if table.spec.layout == "effects" and len(items) == 1:
        value, places = entries[0], [base]
        if set(entries[0]) == {"per_unit"}:
            value = entries[0]["per_unit"]
    reader.put(base, value, table.cell(items[0][0], table.spec.keys[-1].name))
    for at, (number, _) in zip(places, items, strict=True):
        reader.mark(at, table.cell(number, table.spec.keys[-1].name))
        for column in columns:
            reader.mark((*at, *column.path), table.cell(number, column.name))


def _place_settings(reader: _Reader, table: _Table) -> None:
    """Rows of field and value; an empty value leaves the setting at its default."""
    seen: dict[str, int] = {}
    for number, row in table.rows:
        name, value = row.get("field"), row.get("value")
        name_cell, value_cell = table.cell(number, "field"), table.cell(number, "value")
        if name is BAD or value is BAD:
            continue
        if name is None:
            if value is not None:
                reader.problem(name_cell, "has a value but no field", "name the setting")
            continue
        name = name.strip()
        column = SETTING_COLUMNS.get(name)
        if column is None:
            close = difflib.get_close_matches(name, list(SETTING_COLUMNS), 1, CLOSE)
            top = name.split(".")[0]
            if close:
                fix = f"did you mean {close[0]}?"
            elif top in ON_SHEETS:
                fix = f"a workbook gives {top} on {ON_SHEETS[top]}"
            elif top == "model":
                fix = (
                    "a workbook holds the whole instance: write the pathway model's "
                    "interventions and outcomes on their sheets (planner template --from "
                    "INSTANCE writes them merged in)"
                )
            else:
                fix = f"use one of: {', '.join(SETTING_COLUMNS)}"
            reader.problem(name_cell, f"'{name}' is not a setting", fix)
            continue
        if name in seen:
            reader.problem(
                name_cell,
                f"{name} is written twice (first in row {seen[name]})",
                "keep one row for each setting",
            )
            continue
        seen[name] = number
        try:
            value = convert(value, column.kind, column.unit)
        except _Bad as bad:
            reader.problem(value_cell, bad.message, bad.fix, column.path)
            continue
        if value is None:
            reader.mark(column.path, value_cell, first=True)
        else:
            reader.put(column.path, value, value_cell)


def _place_sources(reader: _Reader, table: _Table) -> None:
    """A plain list of sources, or (every row with a key) a named list."""
    place = table.spec.place
    rows = [(n, r) for n, r in table.rows if BAD not in (r.get("key"), r.get("source"))]
    for number, row in rows:
        if row.get("source") is None:
            reader.problem(table.cell(number, "source"), "has no source", "write the source")
    rows = [(n, r) for n, r in rows if r.get("source") is not None]
    keyed = [(n, r) for n, r in rows if r.get("key") is not None]
    if not rows:
        return
    if keyed and len(keyed) != len(rows):
        number = next(n for n, r in rows if r.get("key") is None)
        reader.problem(
            table.cell(number, "key"),
            "has no key while other sources have one",
            "give every source a key, or none (a plain list)",
        )
    elif keyed:
        for number, row in keyed:
            reader.put((*place, str(row["key"]).strip()), row["source"], table.cell(number, "key"))
    else:
        reader.put(place, [row["source"] for _, row in rows], table.cell(rows[0][0], "source"))
        for index, (number, _) in enumerate(rows):
            reader.mark((*place, index), table.cell(number, "source"))


# --- scenarios -----------------------------------------------------------------------------


def annotation_at(path: FieldPath) -> Any:
    """The schema type of the field at `path` in an instance; None where there is no field."""
    annotation: Any = Instance
    for part in path:
        following = None
        for member in _members(annotation):
            origin = get_origin(member)
            if isinstance(member, type) and issubclass(member, BaseModel):
                if isinstance(part, str) and part in member.model_fields:
                    following = member.model_fields[part].annotation
            elif origin is dict:
                following = get_args(member)[1]
            elif origin is list and isinstance(part, int):
                following = get_args(member)[0]
            if following is not None:
                break
        if following is None:
            return None
        annotation = following
    return annotation


def _place_scenarios(reader: _Reader, table: _Table) -> None:
    """Rows of scenario, field and value, built into each scenario's nested overrides."""
    seen: dict[tuple[str, FieldPath], int] = {}
    for number, row in table.rows:
        keys = _keys(reader, table, number, row)
        text, value = row.get("field"), row.get("value")
        if not keys or text is BAD or value is BAD:
            continue
        name, field_cell = keys[0], table.cell(number, "field")
        path = parse_path(str(text)) if text is not None else None
        if path is None:
            reader.problem(
                field_cell,
                "has no field" if text is None else f"'{text}' is not a field path",
                "write the field as error messages show it: names joined by dots, list "
                "positions in brackets (interventions.education.tranches[0].units)",
            )
            continue
        where: FieldPath = ("scenarios", name, *path)
        if (name, path) in seen:
            reader.problem(
                field_cell,
                f"is written twice for scenario {name} (first in row {seen[(name, path)]})",
                "keep one row per scenario and field",
                where,
            )
            continue
        seen[(name, path)] = number
        value_cell = table.cell(number, "value")
        if value is None:
            reader.problem(
                value_cell,
                "has no value",
                f"write the value, or {NULL} to remove the field in the scenario",
                where,
            )
            continue
        if isinstance(value, str) and value.strip() == NULL:
            value = None
        else:
            kind = "text" if path == ("description",) else kind_of(annotation_at(path))[0]
            try:
                value = convert(value, kind)
            except _Bad as bad:
                reader.problem(value_cell, bad.message, bad.fix, where)
                continue
        for cut in range(3, len(where)):
            reader.mark(where[:cut], field_cell, first=True)
        reader.put(where, value, value_cell)
    for name, overrides in (reader.data.get("scenarios") or {}).items():
        reader.data["scenarios"][name] = _lists(reader, overrides, (), name)


def _lists(reader: _Reader, node: Any, path: FieldPath, scenario: str) -> Any:
    """Positions 0, 1, ... where the schema has a list become that list."""
    if not isinstance(node, dict):
        return node
    built = {k: _lists(reader, v, (*path, k), scenario) for k, v in node.items()}
    members = list(_members(annotation_at(path)))
    if not any(get_origin(m) is list for m in members) or not all(
        isinstance(k, int) for k in built
    ):
        return built
    missing = [i for i in range(len(built)) if i not in built]
    if missing:
        where: FieldPath = ("scenarios", scenario, *path)
        origin = reader.origins.get(where, (reader.file, Cell(SHEET_INDEX["scenarios"], "x")))
        reader.problem(
            typing.cast(Cell, origin[1]),
            f"is a list, so its positions must run 0, 1, 2, ... ({missing[0]} is missing)",
            "give every position from 0",
            where,
        )
        return built
    return [built[i] for i in range(len(built))]


PLACE = {
    "table": _place_table,
    "list": _place_table,
    "effects": _place_table,
    "settings": _place_settings,
    "sources": _place_sources,
    "scenarios": _place_scenarios,
}


# --- writing -------------------------------------------------------------------------------


def _match(node: Any, pattern: FieldPath, keys: tuple[Any, ...] = ()) -> Iterator[Any]:
    """(keys, value) for each place of `node` that `pattern` matches; KEY matches any key."""
    if not pattern:
        yield keys, node
    elif isinstance(node, dict):
        head, rest = pattern[0], pattern[1:]
        if head is KEY:
            for key, child in node.items():
                yield from _match(child, rest, (*keys, key))
        elif head in node:
            yield from _match(node[head], rest, keys)


def _get(node: Any, path: FieldPath) -> Any:
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _leaves(node: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any]]:
    """Every value in the data with its path; a list of plain values is one value."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _leaves(child, (*path, key))
    elif isinstance(node, list) and any(isinstance(v, dict | list) for v in node):
        for index, child in enumerate(node):
            yield from _leaves(child, (*path, index))
    else:
        yield path, node


def _fits(value: Any, column: Column) -> bool:
    """Whether a cell of `column` can hold `value`."""
    if isinstance(value, list):
        return column.kind in ("ids", "id_or_ids") and all(isinstance(v, str) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


SheetRows = list[list[Any]]


def sheet_rows(data: dict[str, Any]) -> tuple[dict[str, SheetRows], list[Problem]]:
    """The rows of every sheet for an instance's plain data (its pathway model merged in), and
    a problem for each value no cell can hold."""
    rows: dict[str, SheetRows] = {sheet.name: [] for sheet in SHEETS}
    done: set[FieldPath] = set()
    problems: list[Problem] = []
    for path, _, _ in SETTINGS:
        column, value = SETTING_COLUMNS[dotted(path)], _get(data, path)
        fits = _fits(value, column)
        done.update([path] if fits else [])
        row = [dotted(path), value if fits else None, column.unit, _meaning(column)]
        rows["settings"].append(row)
    for name, overrides in (data.get("scenarios") or {}).items():
        for path, value in _flatten(overrides):
            if value == [] or (isinstance(value, str) and value.strip() == NULL):
                problems.append(_unwritable(("scenarios", name, *path), repr(value)))
            else:
                rows["scenarios"].append([name, dotted(path), NULL if value is None else value])
    for sheet in SHEETS:
        if sheet.layout == "sources":
            given = _get(data, sheet.place)
            pairs = given.items() if isinstance(given, dict) else [(None, s) for s in given or []]
            rows[sheet.name] += [[key, text] for key, text in pairs]
            done.add(sheet.place)
            continue
        if sheet.layout in ("settings", "scenarios"):
            continue
        for keys, node in _match(data, sheet.place):
            base = _fill(sheet.place, keys)
            if sheet.layout in ("list", "effects"):
                many = isinstance(node, list)
                for index, entry in enumerate(node if many else [node]):
                    at = (*base, index) if many else base
                    entry = entry if isinstance(entry, dict) else {"per_unit": entry}
                    rows[sheet.name].append([*keys, *(entry.get(c.path[0]) for c in sheet.values)])
                    done.update([at, *((*at, c.path[0]) for c in sheet.values)])
                continue
            row = list(keys)
            for column in sheet.values:
                value = node if not column.path else _get(node, column.path)
                fits = _fits(value, column)
                row.append(value if fits else None)
                done.update([(*base, *column.path)] if fits else [])
            rows[sheet.name].append(row)
    for path, value in _leaves({k: v for k, v in data.items() if k not in ("scenarios", "model")}):
        if value is not None and not any(path[:cut] in done for cut in range(len(path) + 1)):
            problems.append(_unwritable(path, repr(value)))
    return rows, problems


def _unwritable(path: FieldPath, what: str) -> Problem:
    shown = what if len(what) <= 60 else what[:57] + "..."
    return Problem("", path, f"holds {shown}, which no cell of a planner workbook can hold",
                   "keep this instance in YAML, or write the value another way")  # fmt: skip


def _flatten(node: Any, path: FieldPath = ()) -> Iterator[tuple[FieldPath, Any]]:
    """A scenario's overrides as (field path, value); an empty mapping changes nothing."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _flatten(child, (*path, key))
    elif isinstance(node, list) and node:
        for index, child in enumerate(node):
            yield from _flatten(child, (*path, index))
    else:
        yield path, node


def _meaning(column: Column) -> str:
    said = "required" if column.required else ""
    if column.default is not None and not column.required:
        said = f"default {column.default}"
    return "; ".join(part for part in (column.description, said) if part)


def write_template(
    out: str | Path, instance: str | Path | None = None, replace: bool = False
) -> Path:
    """Write a workbook with a sheet per input table: empty, or holding `instance` (YAML or a
    workbook; its pathway model merged in; validated first, scenarios included as written).

    The file is written whole or not at all. An existing file is replaced only with `replace`;
    an input file never.
    """
    from planner.load import load
    from planner.validate import validate

    target = Path(out)
    if target.suffix.lower() != ".xlsx":
        raise WorkbookError(f"{display_path(target)}: a workbook's name must end in .xlsx")
    data: dict[str, Any] | None = None
    provenance = "an empty template"
    rows, _ = sheet_rows({})
    if instance is not None:
        document = load(instance)
        inputs = [document.instance_file, *([document.model_file] if document.model_file else [])]
        if any(source.resolve() == target.resolve() for source in inputs):
            raise WorkbookError(
                f"refusing to write {display_path(target)}: it is an input; choose another --out"
            )
        validate(document)
        data = document.data
        rows, problems = sheet_rows(data)
        if problems:
            raise InputError([document.problem(p.path, p.message, p.fix) for p in problems])
        digests = ", ".join(
            f"{display_path(p)} (sha256 {hashlib.sha256(p.read_bytes()).hexdigest()})"
            for p in inputs
        )
        provenance = digests
    if target.is_dir() or (target.exists() and not replace):
        raise WorkbookError(
            f"{display_path(target)} already exists; choose another --out"
            + ("" if target.is_dir() else ", or replace it (--replace)")
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    staging = Path(name)
    try:
        _write(rows, staging, data, provenance)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o666 & ~umask)
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return target


def _unit_shown(unit: str, data: dict[str, Any] | None) -> str:
    """A schema unit in the instance's words: the currency's symbol, the health unit's name."""
    if data is None:
        return unit
    symbol = CURRENCY_SYMBOL.get(str(data.get("currency", "GBP")), "currency")
    unit = re.sub(r"\bcurrency\b", symbol, unit)
    return re.sub(r"\bhealth unit\b", str(data.get("health_unit", "QALY")), unit)


def _write(
    rows: dict[str, SheetRows], path: Path, data: dict[str, Any] | None, provenance: str
) -> None:
    options = {"strings_to_formulas": False, "strings_to_urls": False,
               "strings_to_numbers": False, "nan_inf_to_errors": False}  # fmt: skip
    workbook = xlsxwriter.Workbook(str(path), options)
    workbook.set_properties(
        {
            "title": f"planner instance {data.get('name')}" if data else "planner template",
            "author": "planner",
            "comments": f"written by planner from {provenance}; see docs/excel.md",
            "created": FIXED_DATE,
        }
    )
    header = workbook.add_format(
        {"bold": True, "bottom": 1, "text_wrap": True, "valign": "top", "bg_color": "#F2F2F2"}
    )
    _write_guide(workbook, header)
    for sheet in SHEETS:
        worksheet = workbook.add_worksheet(sheet.name)
        worksheet.set_comments_author("planner")
        content = rows[sheet.name]
        for col, column in enumerate(sheet.columns):
            unit = _unit_shown(column.unit, data)
            worksheet.write_string(0, col, column.name + (f"\n({unit})" if unit else ""), header)
            note = "\n".join(
                part
                for part in (
                    column.description,
                    f"unit: {unit}" if unit else "",
                    _meaning(column).removeprefix(column.description).lstrip("; "),
                )
                if part
            )
            worksheet.write_comment(0, col, note, {"x_scale": 2, "y_scale": 1.5})
            longest = max([len(column.name), len(unit)]
                          + [min(len(_shown(r[col])), 50) for r in content])  # fmt: skip
            worksheet.set_column(col, col, max(10, longest + 2))
            choices = column.choices or (("TRUE", "FALSE") if column.kind == "bool" else ())
            if choices:
                _dropdown(worksheet, 1, col, LAST_ROW, choices)
        for row, values in enumerate(content, start=1):
            if sheet.layout == "settings":
                column = SETTING_COLUMNS[values[0]]
                values = [values[0], values[1], _unit_shown(values[2], data), values[3]]
                choices = column.choices or (("TRUE", "FALSE") if column.kind == "bool" else ())
                if choices:
                    _dropdown(worksheet, row, 1, row, choices)
            for col, value in enumerate(values):
                _write_value(worksheet, row, col, value, Cell(0, sheet.name, row + 1, col + 1))
        worksheet.set_row(0, 30)
        worksheet.freeze_panes(1, len(sheet.keys))
        worksheet.autofilter(0, 0, max(len(content), 1), len(sheet.columns) - 1)
    workbook.close()


def _dropdown(sheet: Any, first: int, col: int, last: int, words: tuple[str, ...]) -> None:
    sheet.data_validation(
        first,
        col,
        last,
        col,
        {
            "validate": "list",
            "source": list(words),
            "error_title": "Not a listed value",
            "error_message": "Choose one of: " + ", ".join(words),
        },
    )


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else _text(value)


def _write_value(sheet: Any, row: int, col: int, value: Any, where: Cell) -> None:
    """A number, TRUE/FALSE or text; text is written as text (never a formula), whatever it
    starts with."""
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    else:
        text = _shown(value)
        if len(text) > MAX_TEXT:
            raise WorkbookError(
                f"{where}: the text is {len(text):,} characters long, more than a cell holds "
                f"({MAX_TEXT:,}); shorten it"
            )
        sheet.write_string(row, col, text)


GUIDE = (
    "Row 1 of each sheet names its columns (the unit in brackets is not read; hover over a name "
    "for its meaning). One row per entry from row 2; empty rows are skipped; an empty cell "
    "leaves the field out (its default applies). Columns may come in any order.",
    "Enter numbers as numbers: no currency symbols or thousands separators in text, shares as "
    "fractions (0.02 for 2%, or type 2% into a number cell). A formula's saved result is read; "
    "formulas are never calculated by planner.",
    "Sheets whose names start with _ are notes and are not read. Every problem is reported with "
    "its sheet, row, column and cell. See docs/excel.md.",
)


def _write_guide(workbook: Any, header: Any) -> None:
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    sheet = workbook.add_worksheet("_guide")
    for col, name in enumerate(("sheet", "one row per", "what it holds")):
        sheet.write_string(0, col, name, header)
    lines = [*(("(all)", "", text) for text in GUIDE), *((s.name, s.row, s.meaning)
                                                         for s in SHEETS)]  # fmt: skip
    for row, values in enumerate(lines, start=1):
        for col, value in enumerate(values):
            sheet.write_string(row, col, value, wrap)
    sheet.set_column(0, 0, 18)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, 2, 100)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(lines), 2)
