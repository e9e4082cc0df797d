"""Bad instance workbooks, generated (hypothesis): every case is a valid instance or a clean error.

Each case starts from `planner template --from` output for the tests' small instances (SMALL,
TINY, and EVERYTHING, which fills every sheet), read once into a grid of cell values. One
mutation is applied to the grid and the workbook is written again (xlsxwriter: fast, and a
formula can be written without a saved result), then read as `planner check` reads it.
Mutations, one strategy each: text in a number cell ("£1,000", "12%", "abc", "NaN", "1e400"),
a date, a boolean in a number cell, a formula without a saved result, an empty required cell,
huge and negative numbers, a row written twice, a broken reference, a sheet deleted or renamed,
a header renamed or cleared, an unknown sheet or column, a row copied into the wrong sheet; and
files that are no workbook (zip garbage, an empty file, a CSV or YAML file named .xlsx, a
truncated workbook).

Asserted for every case: a valid instance or an InputError, never another exception; every
problem names the workbook and a sheet, and a cell (row and column, "C4") where it is about a
cell (tests/fuzzing.clean_problems). Where the mutation is known to be an error, a problem
names its sheet and row (and the cell where there is one): no silent default.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.excel import SETTING_COLUMNS, SHEETS, header_name, write_template
from tests.fuzzing import Found, cases, check_everything, clean_problems, lists_every_problem
from tests.test_cli import TINY
from tests.test_excel import EVERYTHING, SMALL

Grid = dict[str, list[list[Any]]]  # sheet -> rows of cell values (row 1 first)
runner = CliRunner()
SPECS = {sheet.name: sheet for sheet in SHEETS}
BASES = {"small": SMALL, "tiny": TINY, "everything": yaml.safe_dump(EVERYTHING, sort_keys=False)}


class Formula(str):
    """A cell holding this formula, with no saved result."""


def read_grid(path: Path) -> Grid:
    book = openpyxl.load_workbook(path)
    grid = {
        name: [list(row) for row in book[name].iter_rows(values_only=True)]
        for name in book.sheetnames
        if not name.startswith("_")
    }
    book.close()
    return grid


@pytest.fixture(scope="module")
def grids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Grid]:
    """Each base instance's workbook, as written by `planner template --from`, as a grid."""
    root = tmp_path_factory.mktemp("grids")
    found = {}
    for name, text in BASES.items():
        (root / f"{name}.yaml").write_text(text)
        found[name] = read_grid(write_template(root / f"{name}.xlsx", root / f"{name}.yaml"))
    return found


def write_grid(grid: Grid, target: Path | io.BytesIO) -> None:
    book = xlsxwriter.Workbook(target if isinstance(target, io.BytesIO) else str(target))
    book.set_properties({"created": dt.datetime(2000, 1, 1)})  # the same bytes on every run
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in grid.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, Formula):
                    sheet.write_formula(r, c, str(value), None, "")
                elif isinstance(value, bool):
                    sheet.write_boolean(r, c, value)
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                elif isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value, dates)
                else:
                    sheet.write_string(r, c, str(value))
    book.close()


# --- a case -----------------------------------------------------------------------------------


class Case:
    """A mutated grid (or raw bytes), and where a problem must be: a sheet, and a row and column
    (1-based; None: anywhere on the sheet); `expect` None: the mutant may be valid."""

    def __init__(
        self,
        kind: str,
        grid: Grid | None = None,
        raw: bytes | None = None,
        expect: tuple[str, int | None, int | None] | None = None,
    ) -> None:
        self.kind, self.grid, self.raw, self.expect = kind, grid, raw, expect

    def __repr__(self) -> str:
        return f"Case({self.kind!r}, expect={self.expect!r})"


def columns(grid: Grid, sheet: str) -> list[str]:
    return [header_name(h) if h is not None else "" for h in (grid[sheet] or [[]])[0]]


def kind_at(grid: Grid, sheet: str, r: int, c: int) -> str:
    """What the cell holds by the sheet's spec ("any" where the row's field decides)."""
    name = columns(grid, sheet)[c]
    spec = SPECS[sheet]
    if sheet == "settings" and name == "value":
        column = SETTING_COLUMNS.get(str(grid[sheet][r][0] or "").strip())
        return column.kind if column is not None else "any"
    found = next((col for col in spec.columns if col.name == name), None)
    return found.kind if found is not None else "any"


def data_cells(grid: Grid, sheet: str | None = None) -> Iterator[tuple[str, int, int, Any]]:
    """(sheet, row index, column index, value) of every filled cell below the header."""
    for name, rows in grid.items():
        if sheet is not None and name != sheet:
            continue
        for r, row in enumerate(rows[1:], start=1):
            for c, value in enumerate(row):
                if value is not None:
                    yield name, r, c, value


def copy_grid(grid: Grid) -> Grid:
    return {name: [list(row) for row in rows] for name, rows in grid.items()}


def _set(grid: Grid, sheet: str, r: int, c: int, value: Any) -> None:
    rows = grid[sheet]
    while len(rows) <= r:
        rows.append([])
    while len(rows[r]) <= c:
        rows[r].append(None)
    rows[r][c] = value


# --- the mutations, one strategy each ----------------------------------------------------------


def _cell(draw: st.DrawFn, grid: Grid, kinds: tuple[str, ...]) -> tuple[str, int, int, Any]:
    cells = [
        (s, r, c, v)
        for s, r, c, v in data_cells(grid)
        if s not in ("scenarios",) and kind_at(grid, s, r, c) in kinds
    ]
    return draw(st.sampled_from(cells))


TEXTS = ["£1,000", "12%", "abc", "1 200", "NaN", "inf", "-inf", "1e400", "1,5", "#N/A", "12 £"]


@st.composite
def text_in_number_cell(draw: st.DrawFn, grid: Grid) -> Case:
    sheet, r, c, _ = _cell(draw, grid, ("number", "integer"))
    mutant = copy_grid(grid)
    _set(mutant, sheet, r, c, draw(st.sampled_from(TEXTS)))
    return Case("text in a number cell", mutant, expect=(sheet, r + 1, c + 1))


@st.composite
def date_in_cell(draw: st.DrawFn, grid: Grid) -> Case:
    sheet, r, c, _ = _cell(draw, grid, ("number", "integer", "text", "id", "choice", "ids"))
    mutant = copy_grid(grid)
    _set(mutant, sheet, r, c, dt.datetime(2016, 3, 1))
    return Case("date", mutant, expect=(sheet, r + 1, c + 1))


@st.composite
def bool_in_number_cell(draw: st.DrawFn, grid: Grid) -> Case:
    sheet, r, c, _ = _cell(draw, grid, ("number", "integer"))
    mutant = copy_grid(grid)
    _set(mutant, sheet, r, c, draw(st.booleans()))
    return Case("boolean in a number cell", mutant, expect=(sheet, r + 1, c + 1))


@st.composite
def formula_without_result(draw: st.DrawFn, grid: Grid) -> Case:
    sheet, r, c, _ = draw(st.sampled_from(list(data_cells(grid))))
    mutant = copy_grid(grid)
    _set(mutant, sheet, r, c, Formula(draw(st.sampled_from(["=1+1", "=SUM(A1:A3)", "=B2*2"]))))
    return Case("formula", mutant, expect=(sheet, r + 1, c + 1))


@st.composite
def empty_required_cell(draw: st.DrawFn, grid: Grid) -> Case:
    cells = []
    for s, r, c, _ in data_cells(grid):
        name = columns(grid, s)[c]
        spec = SPECS.get(s)
        column = next((col for col in spec.columns if col.name == name), None) if spec else None
        others = any(v is not None for i, v in enumerate(grid[s][r]) if i != c)
        if column is not None and column.required and others and s != "sources":
            cells.append((s, r, c))
    sheet, r, c = draw(st.sampled_from(cells))
    mutant = copy_grid(grid)
    _set(mutant, sheet, r, c, draw(st.sampled_from([None, " "])))
    if sheet == "settings" and columns(grid, sheet)[c] == "value":  # empty: the default
        field = str(grid[sheet][r][0]).strip()
        required = field in ("name", "baseline_year", "horizon")
        return Case("empty setting", mutant, expect=(sheet, r + 1, None) if required else None)
    if sheet == "settings":  # the field's name: a problem only where a value is given
        given = grid[sheet][r][columns(grid, sheet).index("value")] is not None
        return Case("empty setting name", mutant, expect=(sheet, r + 1, None) if given else None)
    return Case("empty required cell", mutant, expect=(sheet, r + 1, None))


@st.composite
def extreme_number(draw: st.DrawFn, grid: Grid) -> Case:
    sheet, r, c, _ = _cell(draw, grid, ("number", "integer"))
    mutant = copy_grid(grid)
    _set(mutant, sheet, r, c, draw(st.sampled_from([1e308, -1e308, 1e18, -1, -0.5, 0])))
    return Case("extreme number", mutant)


@st.composite
def row_twice(draw: st.DrawFn, grid: Grid) -> Case:
    sheets = [s for s in grid if s in SPECS and SPECS[s].layout == "table" and len(grid[s]) > 1]
    sheet = draw(st.sampled_from(sheets))
    mutant = copy_grid(grid)
    row = list(draw(st.sampled_from(grid[sheet][1:])))
    mutant[sheet].append(row)
    return Case("row twice", mutant, expect=(sheet, len(mutant[sheet]), None))


REFERENCE_COLUMNS = {
    ("delivered_by", "intervention"), ("delivered_by", "partner"), ("tranches", "intervention"),
    ("effects", "intervention"), ("effects", "outcome"), ("resource_use", "intervention"),
    ("resource_use", "resource"), ("supply_options", "intervention"),
    ("supply_options", "provider"), ("supply_options", "shared"),
    ("shared_services", "provider"), ("paid_to", "outcome"), ("paid_to", "partner"),
    ("external_costs", "outcome"), ("external_costs", "partner"), ("refused_outcomes", "outcome"),
    ("refused_outcomes", "responsible"), ("floors", "outcome"), ("groups", "members"),
    ("complements", "intervention"), ("complements", "requires"), ("savings_shares", "partner"),
    ("interventions", "delivered_by"), ("outcomes", "paid_to"),
}  # fmt: skip


@st.composite
def broken_reference(draw: st.DrawFn, grid: Grid) -> Case:
    cells = [(s, r, c) for s, r, c, v in data_cells(grid)
             if (s, columns(grid, s)[c]) in REFERENCE_COLUMNS and isinstance(v, str)]  # fmt: skip
    sheet, r, c = draw(st.sampled_from(cells))
    mutant = copy_grid(grid)
    _set(mutant, sheet, r, c, draw(st.sampled_from(["zz_missing", "nowhere"])))
    return Case("broken reference", mutant, expect=(sheet, r + 1, None))


@st.composite
def sheet_deleted_or_renamed(draw: st.DrawFn, grid: Grid) -> Case:
    sheet = draw(st.sampled_from([s for s in grid if len(grid[s]) > 1]))
    how = draw(st.sampled_from(["delete", sheet.title(), sheet + "s", sheet[:-1], "Sheet1"]))
    mutant = {}
    for name, rows in grid.items():
        if name != sheet:
            mutant[name] = rows
        elif how != "delete" and how not in grid:
            mutant[how] = rows
    if how == "delete" or how in grid:
        return Case("sheet deleted", mutant)
    return Case("sheet renamed", mutant, expect=(how, None, None))


@st.composite
def header_renamed_or_cleared(draw: st.DrawFn, grid: Grid) -> Case:
    filled = [(s, c) for s in grid if len(grid[s]) > 1 for c, h in enumerate(grid[s][0])
              if h is not None and any(len(row) > c and row[c] is not None
                                       for row in grid[s][1:])]  # fmt: skip
    sheet, c = draw(st.sampled_from(filled))
    name = columns(grid, sheet)[c]
    new = draw(st.sampled_from([None, name.upper() + "x", name + "_", "Unit Cost", "zz"]))
    mutant = copy_grid(grid)
    _set(mutant, sheet, 0, c, new)
    return Case("header", mutant, expect=(sheet, None, None))


@st.composite
def unknown_sheet_or_column(draw: st.DrawFn, grid: Grid) -> Case:
    mutant = copy_grid(grid)
    if draw(st.booleans()):
        name = draw(st.sampled_from(["notes", "Sheet2", "interventions2", "_notes"]))
        mutant[name] = [["anything"], [1]]
        return Case("unknown sheet", mutant, expect=None if name[0] == "_" else (name, None, None))
    sheet = draw(st.sampled_from([s for s in grid if grid[s]]))
    c = len(mutant[sheet][0])
    _set(mutant, sheet, 0, c, draw(st.sampled_from(["zz_extra", "comment", "unit cost"])))
    if len(mutant[sheet]) > 1:
        _set(mutant, sheet, 1, c, 5)
    return Case("unknown column", mutant, expect=(sheet, 1, c + 1))


@st.composite
def row_in_wrong_sheet(draw: st.DrawFn, grid: Grid) -> Case:
    source = draw(st.sampled_from([s for s in grid if len(grid[s]) > 1]))
    target = draw(st.sampled_from([s for s in grid if s != source and grid[s]]))
    mutant = copy_grid(grid)
    mutant[target].append(list(draw(st.sampled_from(grid[source][1:]))))
    return Case("row in the wrong sheet", mutant)


@st.composite
def not_a_workbook(draw: st.DrawFn, grid: Grid) -> Case:
    kinds = {
        "empty": b"",
        "csv": b"id,name,unit,unit_cost\neducation,Education,place,100\n",
        "yaml": SMALL.encode(),
        "zip garbage": b"PK\x03\x04" + bytes(range(256)) * 4,
        "random": bytes((i * 37 + 11) % 256 for i in range(2000)),
        "empty zip": _zip({}),
        "zip of text": _zip({"[Content_Types].xml": b"<not xml", "xl/workbook.xml": b"??"}),
    }
    kind = draw(st.sampled_from([*kinds, "truncated"]))
    if kind == "truncated":
        buffer = io.BytesIO()
        write_grid(grid, buffer)
        whole = buffer.getvalue()
        raw = whole[: draw(st.integers(1, len(whole) - 1))]
    else:
        raw = kinds[kind]
    return Case(f"not a workbook: {kind}", raw=raw, expect=("", None, None))


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


MUTATIONS = [
    text_in_number_cell, date_in_cell, bool_in_number_cell, formula_without_result,
    empty_required_cell, extreme_number, row_twice, broken_reference, sheet_deleted_or_renamed,
    header_renamed_or_cleared, unknown_sheet_or_column, row_in_wrong_sheet, not_a_workbook,
]  # fmt: skip


# --- running a case ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("fuzz_workbooks")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        yield root


def write_case(folder: Path, case: Case) -> Path:
    path = folder / "plan.xlsx"
    if case.raw is not None:
        path.write_bytes(case.raw)
    else:
        assert case.grid is not None
        write_grid(case.grid, path)
    return path


def at_place(found: list[Found], expect: tuple[str, int | None, int | None]) -> bool:
    sheet, row, col = expect
    for f in found:
        cell = f.problem.cell
        if sheet == "":  # the file as a whole
            if f.problem.path == () and cell is None:
                return True
            continue
        if cell is None or cell.sheet != sheet:
            continue
        if (row is None or cell.row == row) and (col is None or cell.col in (col, None)):
            return True
    return False


def run_case(folder: Path, case: Case) -> list[Found]:
    path = write_case(folder, case)
    found = check_everything(path)
    shown = [f"{f.scenario or 'base'}: {f.problem}" for f in found]
    clean_problems([f.problem for f in found], [path])
    for f in found:  # a workbook's problems name a sheet, unless about the whole file
        assert f.problem.cell is not None or f.problem.path == (), str(f.problem)
    if case.expect is not None:
        assert found, f"loaded clean: {case}"
        assert at_place(found, case.expect), f"{case}: {shown}"
    return found


def mutation(grids: dict[str, Grid], base: str) -> Any:
    return st.one_of([m(grids[base]) for m in MUTATIONS])


# --- the properties ------------------------------------------------------------------------


@cases(260)
@given(data=st.data())
def test_mutated_workbooks_give_a_valid_instance_or_a_clean_error(
    folder: Path, grids: dict[str, Grid], data: st.DataObject
) -> None:
    base = data.draw(st.sampled_from(list(grids)), label="base")
    case = data.draw(mutation(grids, base), label="case")
    run_case(folder, case)


@cases(25)
@given(data=st.data())
def test_planner_check_on_a_workbook_exits_2_without_a_traceback(
    folder: Path, grids: dict[str, Grid], data: st.DataObject
) -> None:
    base = data.draw(st.sampled_from(["small", "tiny"]), label="base")
    case = data.draw(mutation(grids, base), label="case")
    found = run_case(folder, case)
    lists_every_problem(runner.invoke(app, ["check", "plan.xlsx"]), found)


def test_an_unchanged_grid_is_valid(folder: Path, grids: dict[str, Grid]) -> None:
    """The writer of the cases is faithful: every base, written back unchanged, is valid."""
    for name, grid in grids.items():
        assert run_case(folder, Case("unchanged", grid)) == [], name


def test_text_in_a_number_cell_names_the_cell(folder: Path, grids: dict[str, Grid]) -> None:
    mutant = copy_grid(grids["small"])
    col = columns(mutant, "interventions").index("unit_cost")
    _set(mutant, "interventions", 1, col, "£1,000")
    path = write_case(folder, Case("text", mutant))
    with pytest.raises(planner.InputError) as caught:
        planner.check_instance(path)
    assert str(caught.value) == (
        "1 problem in the input:\n"
        "plan.xlsx: sheet interventions, row 2, column unit_cost (D2): "
        "interventions.education.unit_cost: must be a number (got the text '£1,000')\n"
        "    fix: enter the number alone, such as 1200 or 0.05: no currency symbol, spaces or "
        "thousands separators (format the cell to show them) (unit: currency per unit)"
    )
