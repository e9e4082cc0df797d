"""Excel round trip: the template, instances written as workbooks and solved from them, every
problem in a workbook named by sheet, row, column and cell, and the output workbook's `about`.

Solving tests run on HiGHS and CBC (the `solver` fixture). The small plan is solved by hand: see
SMALL.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import shutil
import types
import typing
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.errors import Cell, parse_path
from planner.excel import (
    KEY,
    SETTING_COLUMNS,
    SETTINGS,
    SHEETS,
    read_workbook,
    sheet_rows,
    write_template,
)
from planner.schema import Instance
from tests.conftest import allocation, approx

ROOT = Path(__file__).resolve().parent.parent
EXPECTED: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(
    (ROOT / "tests" / "expected" / "instances.yaml").read_text()
)
runner = CliRunner()
SHEET_NAMES = [
    "settings", "envelope_amounts", "partners", "savings_shares", "interventions", "delivered_by",
    "tranches", "effects", "resource_use", "supply_options", "shared_services", "outcomes",
    "paid_to", "external_costs", "refused_outcomes", "floors", "groups", "complements",
    "resources", "uncertainty", "scenarios", "sources", "pathway_sources",
]  # fmt: skip

# One plan year and £10,000. Education buys 0.04 QALY for £100 (0.0004 a £), the clinic 0.01 for
# £50 (0.0002 a £): education to its 60 places (£6,000, 2.4 QALY), then the clinic with the
# £4,000 left, 80 contacts (0.8 QALY). Objective 3.2 QALY; a further £1 buys clinic time, so the
# envelope is worth 0.0002 x 100,000 = 20 QALY per £100k.
SMALL = """\
name: small
baseline_year: 2020
horizon: 1
discount_rate: 0
envelope: {amounts: {2021: 10000}}
partners:
  gp: {name: GP practices}
  trust: {name: Trust}
interventions:
  education: {name: Education, unit: place, unit_cost: 100, health_gain: 0.04, max_units: 60,
              delivered_by: gp}
  clinic: {name: Clinic, unit: contact, unit_cost: 50, health_gain: 0.01, max_units: 500,
           delivered_by: trust}
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's folder as the working directory, so files show by their plain names."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def small_workbook(folder: Path) -> Path:
    """SMALL written as a workbook, plan.xlsx, in `folder`."""
    (folder / "small.yaml").write_text(SMALL)
    return write_template(folder / "plan.xlsx", folder / "small.yaml")


def edit(path: Path, cells: dict[tuple[str, str], Any]) -> None:
    """Set cells, {(sheet, "D5"): value}, and save the workbook (openpyxl, like a user's tool)."""
    book = openpyxl.load_workbook(path)
    for (sheet, ref), value in cells.items():
        if sheet not in book.sheetnames:
            book.create_sheet(sheet)
        book[sheet][ref] = value
    book.save(path)


def problems(path: Path | str, scenario: str | None = None) -> str:
    with pytest.raises(planner.InputError) as caught:
        planner.check_instance(path, scenario)
    return str(caught.value)


def about_sheet(path: Path | str) -> dict[str, Any]:
    """A workbook's `about` sheet as field -> value."""
    sheet = openpyxl.load_workbook(path)["about"]
    return {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}


def header(path: Path, sheet: str) -> list[str]:
    book = openpyxl.load_workbook(path)
    return [str(c.value) for c in book[sheet][1]]


def same(a: Any, b: Any, path: str = "") -> None:
    """Equal data, numbers to 1e-15 relative (a workbook keeps 16 significant digits), and the
    entries of each section in the same order (the order of the result tables)."""
    if isinstance(a, dict):
        a = {k: v for k, v in a.items() if v != {}}  # an empty mapping is its default: no rows
        assert isinstance(b, dict) and sorted(map(str, a)) == sorted(map(str, b)), path
        if path.count(".") == 1:  # a section: interventions, partners, ...
            assert list(a) == list(b), path
        for key in a:
            same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{index}]")
    elif isinstance(a, float | int) and not isinstance(a, bool):
        assert b == pytest.approx(a, rel=1e-15, abs=0), path
    else:
        assert a == b, path


# --- the template ----------------------------------------------------------------------------


def test_empty_template_has_a_sheet_per_table_with_units_notes_and_drop_downs(
    folder: Path,
) -> None:
    result = runner.invoke(app, ["template", "--out", "plan.xlsx"])
    assert result.exit_code == 0, result.output
    assert result.output == "Wrote an empty template to plan.xlsx\n"
    book = openpyxl.load_workbook("plan.xlsx")
    assert book.sheetnames == ["_guide", *SHEET_NAMES]
    interventions = book["interventions"]
    assert [c.value for c in interventions[1]][:5] == [
        "id", "name\n(text)", "unit\n(text)", "unit_cost\n(currency per unit)",
        "full_cost\n(currency per unit)",
    ]  # fmt: skip
    assert interventions.max_row == 1  # headers only
    assert interventions["D1"].comment.text == (
        "price per unit paid out of the envelope (today's price where supply options are "
        "given)\nunit: currency per unit\nrequired"
    )
    assert interventions.freeze_panes == "B2"
    assert header(folder / "plan.xlsx", "effects") == [
        "intervention\n(id)", "outcome\n(id)", "per_unit\n(outcome units per unit)",
        "lag\n(years)",
    ]  # fmt: skip
    lists = {
        (str(v.sqref), v.formula1) for v in book["supply_options"].data_validations.dataValidation
    }
    assert lists == {("E2:E1048576", '"make,buy"'), ("M2:M1048576", '"TRUE,FALSE"')}
    floors = {v.formula1 for v in book["floors"].data_validations.dataValidation}
    assert floors == {'"upper,lower"'}
    settings = book["settings"]
    assert [row[0] for row in settings.iter_rows(min_row=2, values_only=True)] == list(
        SETTING_COLUMNS
    )
    assert list(settings.iter_rows(min_row=10, max_row=10, values_only=True)) == [
        ("discount_rate", None, "share a year",
         "annual discount rate for health gain and money (first plan year undiscounted); "
         "default 0.035"),
    ]  # fmt: skip
    kinds = {(str(v.sqref), v.formula1) for v in settings.data_validations.dataValidation}
    assert ("B11", '"health_gain,min_spend,net_benefit"') in kinds


def test_an_empty_template_says_what_to_fill_in(folder: Path) -> None:
    write_template("plan.xlsx")
    assert problems("plan.xlsx") == (
        "4 problems in the input:\n"
        "plan.xlsx: sheet settings, row 2, column value (B2): name: is missing\n"
        "    fix: add it: short name of the plan (text)\n"
        "plan.xlsx: sheet settings, row 8, column value (B8): baseline_year: is missing\n"
        "    fix: add it: the observed year the baseline figures describe (year)\n"
        "plan.xlsx: sheet settings, row 9, column value (B9): horizon: is missing\n"
        "    fix: add it: number of plan years after the baseline (years)\n"
        "plan.xlsx: sheet interventions: interventions: is missing\n"
        "    fix: add it: what the pathway can fund"
    )


def test_template_filled_by_hand_solves_to_the_hand_computed_plan(
    folder: Path, solver: str
) -> None:
    """Write the empty template, fill it as a user would, solve: the plan of SMALL."""
    write_template("plan.xlsx")
    book = openpyxl.load_workbook("plan.xlsx")
    settings = {row[0].value: row[1] for row in book["settings"].iter_rows(min_row=2)}
    settings["name"].value = "small"
    settings["baseline_year"].value = 2020
    settings["horizon"].value = 1
    settings["discount_rate"].value = 0
    book["envelope_amounts"].append([2021, 10000])
    book["partners"].append(["gp", "GP practices"])
    book["partners"].append(["trust", "Trust"])
    columns = header(folder / "plan.xlsx", "interventions")
    names = [c.split("\n")[0] for c in columns]
    for values in (
        {"id": "education", "name": "Education", "unit": "place", "unit_cost": 100,
         "health_gain": 0.04, "max_units": 60, "delivered_by": "gp"},
        {},  # an empty row between entries is skipped
        {"id": "clinic", "name": "Clinic", "unit": "contact", "unit_cost": "50",  # text number
         "health_gain": 0.01, "max_units": 500, "delivered_by": "trust"},
    ):  # fmt: skip
        book["interventions"].append([values.get(name) for name in names])
    book.save("plan.xlsx")

    plan = planner.solve_instance("plan.xlsx", solver=solver)  # type: ignore[arg-type]
    assert plan.summary["objective"] == approx(3.2)
    assert allocation(plan) == approx({("education", 2021): 60, ("clinic", 2021): 80})
    envelope = plan.shadow_prices.set_index("constraint").loc["envelope__2021"]
    assert envelope["value_of_relaxing"] == approx(20)
    (folder / "small.yaml").write_text(SMALL)
    from_yaml = planner.solve_instance("small.yaml", solver=solver)  # type: ignore[arg-type]
    assert allocation(from_yaml) == approx(allocation(plan))


# --- instances as workbooks: the same data, the same plans ----------------------------------


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "instances").glob("*.yaml")))
def test_every_instance_round_trips_through_a_workbook(folder: Path, name: str) -> None:
    source = ROOT / "instances" / f"{name}.yaml"
    write_template("plan.xlsx", source)
    data, _ = read_workbook(Path("plan.xlsx"))
    expected = planner.load(source).data
    del expected["model"]
    same(expected, data)


CASES = [
    ("diabetes_lewisham", None),
    ("diabetes_lewisham", "half_education_gain"),  # a scenario that replaces the tranches
    ("diabetes_lewisham", "incumbent_protected"),  # a scenario that removes a field (null)
    ("commissioning_support_lewisham", None),
    ("commissioning_support_lewisham", "csu_at_sourced_minimum"),
    ("cardiology_lewisham", None),
    ("cardiology_lewisham", "hf_nurse_half_effect"),
    ("uganda_hbp_base", None),  # the published optimum (tests/validation), 16-digit numbers
]


@pytest.mark.parametrize(("name", "scenario"), CASES)
def test_a_workbook_solves_to_the_same_plan_as_its_yaml(
    folder: Path, name: str, scenario: str | None, solver: str
) -> None:
    source = ROOT / "instances" / f"{name}.yaml"
    runner.invoke(app, ["template", "--from", str(source), "--out", "plan.xlsx"])
    kind = solver  # the fixture's value, typed for solve_instance
    plan = planner.solve_instance("plan.xlsx", scenario, kind)  # type: ignore[arg-type]
    reference = planner.solve_instance(source, scenario, kind)  # type: ignore[arg-type]
    expected = EXPECTED[name][scenario or "base"]["objective"]
    assert plan.summary["objective"] == pytest.approx(expected, rel=1e-6)
    assert plan.summary["objective"] == approx(reference.summary["objective"])
    assert allocation(plan) == approx(allocation(reference))
    assert chosen_options(plan) == chosen_options(reference)


def chosen_options(plan: planner.Plan) -> list[tuple[str, str, int]]:
    """(intervention, option, year) of every supply option the plan uses."""
    used = plan.supply[plan.supply["chosen"].astype(bool)]
    return [(r.intervention, r.option, int(r.year)) for r in used.itertuples()]


def test_solve_check_and_compare_read_a_workbook(folder: Path) -> None:
    source = ROOT / "instances" / "diabetes_lewisham.yaml"
    result = runner.invoke(app, ["template", "--from", str(source), "--out", "plan.xlsx"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["solve", "plan.xlsx", "--out", "out"])
    assert result.exit_code == 0, result.output
    assert "Objective (discounted health gain): 641.191 QALY" in result.output
    result = runner.invoke(app, ["check", "plan.xlsx"])
    assert result.exit_code == 0, result.output
    assert result.output == "plan.xlsx: base instance and 10 scenarios valid\n"
    result = runner.invoke(app, ["compare", "plan.xlsx", "--scenario", "min_spend", "--out", "c"])
    assert result.exit_code == 0, result.output
    with (folder / "c" / "decisions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    # README: each clinic supplier forced against free choice, by enumeration
    assert {r["option"]: float(r["objective"]) for r in rows} == pytest.approx(
        {"free choice": 641.191, "incumbent": 627.500, "gp_practices": 641.191,
         "acute_outreach": 575.133, "third_sector": 633.667},
        rel=1e-6,
    )  # fmt: skip
    about = about_sheet(folder / "c" / "compare.xlsx")
    assert (about["instance"], about["scenarios"], about["decisions"]) == (
        "plan.xlsx", "min_spend", "community_clinic",
    )  # fmt: skip
    assert about["instance_sha256"] == hashlib.sha256(Path("plan.xlsx").read_bytes()).hexdigest()
    assert "model" not in about  # a workbook holds its pathway model


# --- every field of the schema has a cell -----------------------------------------------------


def schema_paths(annotation: Any, path: tuple[Any, ...] = ()) -> set[tuple[Any, ...]]:
    """Every field of the schema as a path, KEY standing for any name or list position."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return schema_paths(typing.get_args(annotation)[0], path)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return set().union(*(schema_paths(m, path) for m in members))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return set().union(
            *(schema_paths(f.annotation, (*path, n)) for n, f in annotation.model_fields.items())
        )
    if origin in (dict, list):
        return schema_paths(typing.get_args(annotation)[-1], (*path, KEY))
    return {path}


def sheet_paths() -> set[tuple[Any, ...]]:
    """The field paths the workbook's cells give, KEY standing for a key or list position."""
    found = {path for path, _, _ in SETTINGS}
    for sheet in SHEETS:
        if sheet.layout in ("sources", "scenarios"):
            found.add((*sheet.place, KEY))
        else:
            for column in sheet.values:
                found.add((*sheet.place, *column.path))
                if sheet.layout in ("list", "effects"):
                    found.add((*sheet.place, KEY, *column.path))
            if sheet.layout == "effects":
                found.add(sheet.place)
    for sheet in SHEETS:  # a column that holds a single partner (or a list of ids)
        for column in sheet.values:
            if column.kind in ("id", "ids", "id_or_ids") and column.path:
                found.add((*sheet.place, *column.path, KEY))
    return found


def test_every_field_of_the_schema_has_a_cell() -> None:
    given = sheet_paths()
    missing = sorted(map(str, schema_paths(Instance) - given))
    assert missing == ["('model',)"]  # a workbook holds its pathway model merged in
    assert set(SHEET_NAMES) == {s.name for s in SHEETS}


EVERYTHING: dict[str, Any] = {
    "name": "everything",
    "title": "Every field of the schema",
    "description": "=a formula-looking description, with a trailing line\n",
    "currency": "EUR",
    "health_unit": "DALY averted",
    "population": 5000,
    "baseline_year": 2020,
    "horizon": 2,
    "discount_rate": 0.03,
    "objective": {"kind": "net_benefit", "threshold": 500},
    "envelope": {"amounts": {2021: 60000, 2022: 58000}},
    "savings": {"rule": "share", "shares": {"gp": 0.25, "trust": 0.75}},
    "pathway": {"pathway": "demo", "title": "Demo pathway", "description": "for the test",
                "sources": {"trial": "A trial, 2010", "costs": "Unit costs, 2013"}},
    "sources": ["Local activity data", "+44 local survey"],
    "refused_outcomes": {"readmissions": {"responsible": "trust"}},
    "partners": {
        "gp": {"name": "GP practices", "baseline_income": 20000, "max_loss": 5000,
               "max_gain_share": 2.0, "notes": "@practice"},
        "trust": {"name": "Trust", "max_loss_share": 0.5, "max_gain": 90000},
        "council": {"name": "Council"},
    },
    "resources": {"nurses": {"name": "Nurse hours", "unit": "hour", "capacity": 900,
                             "source": "rota"}},
    "shared_services": {"lab": {"name": "Shared lab", "provider": "council", "fixed_cost": 200,
                                "setup_cost": 100, "capacity": 150, "first_year": 2021,
                                "source": "quote", "notes": "hosted"}},
    "interventions": {
        "education": {
            "name": "Education", "unit": "place", "unit_cost": 100, "full_cost": 80,
            "tranches": [{"units": 50, "health_gain": 0.04}, {"health_gain": 0.01}],
            "effects": {"admissions": [{"per_unit": -0.05}, {"per_unit": -0.02, "lag": 1}],
                        "informed": 1},
            "delivered_by": {"gp": 0.5, "council": 0.5}, "resource_use": {"nurses": 2},
            "baseline_units": 40, "min_units": 10, "max_units": 200,
            "ramp": {"max_increase": 120, "max_decrease": 30, "max_increase_share": 3,
                     "max_decrease_share": 0.5},
            "source": "-3 dB", "notes": "\ttabbed",
        },
        "clinic": {
            "name": "Clinic", "unit": "contact", "unit_cost": 60, "health_gain": 0.005,
            "effects": {"admissions": {"per_unit": -0.01, "lag": 1}},
            "delivered_by": "trust", "baseline_units": 300, "max_units": 600,
            "supply": {"choice": "split", "in_house_only": False, "options": {
                "own": {"name": "Run by the practices", "provider": "gp", "mode": "make",
                        "unit_price": 40, "fixed_cost": 500, "setup_cost": 250,
                        "capacity": 400, "min_volume": 50, "first_year": 2021,
                        "last_year": 2022, "available": True, "source": "costing",
                        "notes": "TUPE"},
                "lab": {"mode": "buy", "unit_price": 30, "shared": "lab"},
                "old": {"mode": "buy", "provider": "trust", "unit_price": 60,
                        "available": False},
            }},
        },
        "phone": {"name": "Phone follow-up", "unit": "contact", "unit_cost": 10,
                  "health_gain": 0.001, "delivered_by": "gp", "max_units": 400},
        "programme": {"name": "Programme", "unit": "cohort", "unit_cost": 1000,
                      "health_gain": 0.2, "indivisible": True, "max_units": 2,
                      "delivered_by": "council"},
    },
    "outcomes": {
        "admissions": {"name": "Admissions", "unit": "admission", "baseline": 40,
                       "maximum": 400, "tariff": 500, "paid_to": {"trust": 0.9, "gp": 0.1},
                       "health_gain_per_event": -0.05, "external_costs": {"council": 100},
                       "source": "HES", "notes": "emergency only"},
        "readmissions": {"name": "Readmissions", "unit": "readmission", "baseline": 5,
                         "tariff": 400, "paid_to": "trust"},
        "informed": {"name": "Informed patients", "unit": "patient", "baseline": 100},
    },
    "floors": {
        "admissions_cap": {"outcome": "admissions", "bound": "upper", "relative": 1.0,
                           "description": "no more admissions than today"},
        "informed_2022": {"outcome": "informed", "bound": "lower", "value": 100, "year": 2022},
    },
    "groups": {"reviews": {"members": ["clinic", "phone"], "rule": "meet_need", "need": 350,
                           "description": "every review happens somewhere"}},
    "complements": {
        "follow_up": {"intervention": ["phone", "programme"], "requires": "clinic", "ratio": 2,
                      "description": "calls follow clinic visits"},
    },
    "uncertainty": {
        "seed": 7,
        "parameters": {
            "gains": {"fields": ["interventions.education.tranches[0].health_gain",
                                 "interventions.education.tranches[1].health_gain"],
                      "relative": True, "distribution": "triangular", "low": 0.5, "high": 1.5,
                      "mode": 1.0, "source": "=trial", "notes": "both tranches"},
            "price": {"field": "interventions.clinic.unit_cost", "distribution": "normal",
                      "mean": 60, "se": 5},
            "share": {"field": "outcomes.admissions.paid_to.trust", "distribution": "beta",
                      "se": 0.01},
            "spread": {"field": "interventions.phone.health_gain", "distribution": "lognormal",
                       "relative": True, "sigma": 0.3},
            "range": {"field": "outcomes.admissions.baseline", "distribution": "range",
                      "low": 30, "high": 50},
            "scale": {"field": "interventions.phone.unit_cost", "distribution": "lognormal",
                      "se": 2},
        },
    },
    "scenarios": {
        "leaner": {
            "description": "a tighter budget, less education gain",
            "envelope": {"amounts": {2022: 50000}},
            "interventions": {"education": {"tranches": [{"units": 50, "health_gain": 0.03},
                                                         {"health_gain": 0.0}]}},
            "partners": {"gp": {"max_loss": None}},
            "groups": {"reviews": {"members": ["clinic"]}},
            "objective": {"kind": "health_gain", "threshold": None},
        },
    },
}  # fmt: skip


def test_an_instance_using_every_field_round_trips_and_solves_the_same(
    folder: Path, solver: str
) -> None:
    (folder / "everything.yaml").write_text(yaml.safe_dump(EVERYTHING, sort_keys=False))
    write_template("everything.xlsx", "everything.yaml")
    data, _ = read_workbook(Path("everything.xlsx"))
    expected = planner.load("everything.yaml").data
    del expected["model"]
    same(expected, data)
    rows, _ = sheet_rows(expected)
    assert [name for name, content in rows.items() if not content] == []  # every sheet used
    for scenario in (None, "leaner"):
        plan = planner.solve_instance("everything.xlsx", scenario, solver)  # type: ignore[arg-type]
        reference = planner.solve_instance("everything.yaml", scenario, solver)  # type: ignore[arg-type]
        assert plan.summary["objective"] == approx(reference.summary["objective"])
        assert allocation(plan) == approx(allocation(reference))


# --- problems, each at its cell --------------------------------------------------------------


def test_unreadable_cells_are_all_reported_with_sheet_row_column_and_cell(folder: Path) -> None:
    import datetime

    path = small_workbook(folder)
    edit(path, {
        ("settings", "B8"): "2013/14",  # baseline_year: text that is not a number
        ("interventions", "D2"): "£1,200",
        ("interventions", "F3"): "12%",
        ("interventions", "K3"): datetime.datetime(2015, 3, 1),
        ("interventions", "J2"): "=B2*2",  # a formula no spreadsheet has calculated
        ("interventions", "H2"): "yes please",  # indivisible
        ("interventions", "T1"): "colour",
        ("interventions", "T2"): "red",
        ("partners", "B4"): "Council",  # a row with no id
        ("partners", "A5"): "gp",  # gp again
        ("partners", "B5"): "GP again",
        ("effects", "A2"): "educaton",
        ("effects", "B2"): "ae",
        ("effects", "C2"): -0.5,
        ("Notes", "A1"): "my working",
    })  # fmt: skip
    columns = (
        "id, name, unit, unit_cost, full_cost, health_gain, delivered_by, indivisible, "
        "baseline_units, min_units, max_units, ramp.max_increase, ramp.max_decrease, "
        "ramp.max_increase_share, ramp.max_decrease_share, supply.choice, supply.in_house_only, "
        "source, notes"
    )
    sheets = ", ".join(SHEET_NAMES)
    assert problems("plan.xlsx") == (
        "11 problems in the input:\n"
        "plan.xlsx: sheet settings, row 8, column value (B8): baseline_year: must be a whole "
        "number (got the text '2013/14')\n"
        "    fix: enter a whole number such as 2016 (unit: year)\n"
        "plan.xlsx: sheet partners, row 4, column id (A4): has no id\n"
        "    fix: write the id in column id: the row's name: letters, digits and underscores, "
        "starting with a letter\n"
        "plan.xlsx: sheet partners, row 5, column id (A5): gp is written twice (first in row 2)\n"
        "    fix: keep one row for each id\n"
        "plan.xlsx: sheet interventions, row 1, column colour (T1): 'colour' is not a column of "
        "this sheet\n"
        f"    fix: columns of sheet interventions: {columns}\n"
        "plan.xlsx: sheet interventions, row 2, column unit_cost (D2): "
        "interventions.education.unit_cost: must be a number (got the text '£1,200')\n"
        "    fix: enter the number alone, such as 1200 or 0.05: no currency symbol, spaces or "
        "thousands separators (format the cell to show them) (unit: currency per unit)\n"
        "plan.xlsx: sheet interventions, row 2, column indivisible (H2): "
        "interventions.education.indivisible: must be TRUE or FALSE (got 'yes please')\n"
        "    fix: write TRUE or FALSE\n"
        "plan.xlsx: sheet interventions, row 2, column min_units (J2): "
        "interventions.education.min_units: holds a formula (=B2*2) with no saved result: the "
        "workbook was not recalculated by a spreadsheet program since the formula was written\n"
        "    fix: open and save the workbook in Excel or LibreOffice, or replace the formula by "
        "its value (planner never calculates formulas)\n"
        "plan.xlsx: sheet interventions, row 3, column health_gain (F3): "
        "interventions.clinic.health_gain: must be a number (got the text '12%')\n"
        "    fix: enter the number 0.12 for 12% (typing 12% into a cell that is not formatted "
        "as Text stores it as a number too) (unit: health unit per unit)\n"
        "plan.xlsx: sheet interventions, row 3, column max_units (K3): "
        "interventions.clinic.max_units: holds a date or time (2015-03-01T00:00:00), not a "
        "number\n"
        "    fix: the spreadsheet turned what was typed into a date: format the cell as Number "
        "and type the value again\n"
        "plan.xlsx: sheet effects, row 2, column intervention (A2): intervention 'educaton' is "
        "not on sheet interventions\n"
        "    fix: use an id from column id of sheet interventions (education, clinic), or add "
        "its row there\n"
        "plan.xlsx: sheet Notes: is not a sheet planner reads\n"
        f"    fix: rename it to one of: {sheets}; or start its name with _ to keep it as notes"
    )
    result = runner.invoke(app, ["solve", "plan.xlsx"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.output.startswith("11 problems in the input:\n")
    assert not (folder / "results").exists()


def test_merged_cells_and_formulas_without_a_saved_result(folder: Path) -> None:
    path = small_workbook(folder)
    book = openpyxl.load_workbook(path)
    book["interventions"].merge_cells("B2:C2")
    book["interventions"]["K3"] = "=SUM(K2:K2)"  # openpyxl saves a formula without its result
    book.save(path)
    assert problems("plan.xlsx") == (
        "2 problems in the input:\n"
        "plan.xlsx: sheet interventions, row 2, column name (B2): cells B2:C2 are merged\n"
        "    fix: unmerge them and write the value in each cell (planner reads one value per "
        "cell)\n"
        "plan.xlsx: sheet interventions, row 3, column max_units (K3): "
        "interventions.clinic.max_units: holds a formula (=SUM(K2:K2)) with no saved result: the "
        "workbook was not recalculated by a spreadsheet program since the formula was written\n"
        "    fix: open and save the workbook in Excel or LibreOffice, or replace the formula by "
        "its value (planner never calculates formulas)"
    )


def test_a_formula_is_read_by_its_saved_result_and_an_error_result_is_refused(
    folder: Path, solver: str
) -> None:
    """A spreadsheet program saves a formula with its result: xlsxwriter can write both."""
    source = openpyxl.load_workbook(small_workbook(folder))

    def copy(name: str, formulas: dict[str, tuple[str, Any]]) -> Path:
        book = xlsxwriter.Workbook(str(folder / name))
        for sheet_name in source.sheetnames:
            sheet = book.add_worksheet(sheet_name)
            for row in source[sheet_name].iter_rows():
                for c in row:
                    if c.value is not None:
                        sheet.write(c.row - 1, c.column - 1, c.value)
        for ref, (formula, result) in formulas.items():
            sheet_name, cell = ref.split("!")
            book.get_worksheet_by_name(sheet_name).write_formula(cell, formula, None, result)
        book.close()
        return folder / name

    # the envelope as =5000*2, saved as 10000; the education gain as =0.08/2, saved as 0.04
    path = copy("saved.xlsx", {"envelope_amounts!B2": ("=5000*2", 10000),
                               "interventions!F2": ("=0.08/2", 0.04)})  # fmt: skip
    plan = planner.solve_instance(path, solver=solver)  # type: ignore[arg-type]
    assert plan.summary["objective"] == approx(3.2)
    path = copy("errors.xlsx", {"envelope_amounts!B2": ("=1/0", "#DIV/0!")})
    assert problems(path) == (
        "1 problem in the input:\n"
        "errors.xlsx: sheet envelope_amounts, row 2, column amount (B2): "
        "envelope.amounts[2021]: holds the spreadsheet error #DIV/0! (from the formula =1/0)\n"
        "    fix: correct the formula or the value so that the cell shows a number or text"
    )


def test_validation_problems_name_the_cell(folder: Path) -> None:
    path = small_workbook(folder)
    edit(path, {
        ("interventions", "D2"): -100,
        ("interventions", "B3"): None,  # the clinic's name
        ("interventions", "G3"): "hospital",  # not a partner (reported once the types are right)
    })  # fmt: skip
    assert problems("plan.xlsx") == (
        "2 problems in the input:\n"
        "plan.xlsx: sheet interventions, row 2, column unit_cost (D2): "
        "interventions.education.unit_cost: must be at least 0.0 (got -100)\n"
        "    fix: use a value at least 0.0\n"
        "plan.xlsx: sheet interventions, row 3, column name (B3): interventions.clinic.name: is "
        "missing\n"
        "    fix: add it: readable name (text)"
    )
    edit(path, {("interventions", "D2"): 100, ("interventions", "B3"): "Clinic"})
    assert problems("plan.xlsx") == (
        "1 problem in the input:\n"
        "plan.xlsx: sheet interventions, row 3, column delivered_by (G3): "
        "interventions.clinic.delivered_by: partner 'hospital' is not defined\n"
        "    fix: use one of: gp, trust"
    )


def test_shares_and_a_single_partner_for_the_same_intervention(folder: Path, solver: str) -> None:
    path = small_workbook(folder)
    book = openpyxl.load_workbook(path)
    book["delivered_by"].append(["education", "gp", 0.5])
    book["delivered_by"].append(["education", "trust", 0.5])
    book["delivered_by"].append(["physio", "trust", 1])
    book.save(path)
    twice = (
        "is given twice (first at sheet interventions, row 2, column delivered_by (G2))\n"
        "    fix: give one partner in column delivered_by of sheet interventions, or shares by "
        "partner on sheet delivered_by, not both\n"
    )
    assert problems("plan.xlsx") == (
        "3 problems in the input:\n"
        "plan.xlsx: sheet delivered_by, row 2, column share (C2): "
        f"interventions.education.delivered_by.gp: {twice}"
        "plan.xlsx: sheet delivered_by, row 3, column share (C3): "
        f"interventions.education.delivered_by.trust: {twice}"
        "plan.xlsx: sheet delivered_by, row 4, column intervention (A4): intervention 'physio' "
        "is not on sheet interventions\n"
        "    fix: use an id from column id of sheet interventions (education, clinic), or add "
        "its row there"
    )
    book = openpyxl.load_workbook(path)
    book["interventions"]["G2"] = None
    book["delivered_by"].delete_rows(4)
    book.save(path)
    # education's £6,000 is split half and half; the clinic's £4,000 goes to the trust
    plan = planner.solve_instance(path, solver=solver)  # type: ignore[arg-type]
    income = {row.partner: row.income for row in plan.partners.itertuples()}
    assert income == approx({"gp": 3000, "trust": 7000})


def test_a_missing_key_column_and_a_missing_required_column(folder: Path) -> None:
    path = small_workbook(folder)
    book = openpyxl.load_workbook(path)
    book["interventions"]["A1"] = "name_id"  # no id column: its rows cannot be read
    book["partners"]["B1"] = "title"
    book["effects"].append(["education", "admissions", -0.1])  # not checked against the ids
    book.save(path)
    assert problems("plan.xlsx") == (
        "4 problems in the input:\n"
        "plan.xlsx: sheet partners, row 1: has no column name\n"
        "    fix: add a column named name in row 1: readable name\n"
        "plan.xlsx: sheet partners, row 1, column title (B1): 'title' is not a column of this "
        "sheet\n"
        "    fix: columns of sheet partners: id, name, baseline_income, max_loss, "
        "max_loss_share, max_gain, max_gain_share, notes\n"
        "plan.xlsx: sheet interventions, row 1: has no column id\n"
        "    fix: add a column named id in row 1: the row's name: letters, digits and "
        "underscores, starting with a letter\n"
        "plan.xlsx: sheet interventions, row 1, column name_id (A1): 'name_id' is not a column "
        "of this sheet\n"
        "    fix: columns of sheet interventions: id, name, unit, unit_cost, "
        "full_cost, health_gain, delivered_by, indivisible, baseline_units, min_units, "
        "max_units, ramp.max_increase, ramp.max_decrease, ramp.max_increase_share, "
        "ramp.max_decrease_share, supply.choice, supply.in_house_only, source, notes"
    )


def test_files_that_are_not_workbooks(folder: Path) -> None:
    (folder / "plan.xlsx").write_text("name: not a workbook\n")
    (folder / "plan.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    assert problems("plan.xlsx") == (
        "1 problem in the input:\n"
        "plan.xlsx: (top level): is not a readable Excel workbook (BadZipFile: File is not a "
        "zip file)\n"
        "    fix: open it in Excel or LibreOffice and save it as an Excel workbook (.xlsx)"
    )
    assert problems("plan.xls") == (
        "1 problem in the input:\n"
        "plan.xls: (top level): is a .xls file, which planner does not read\n"
        "    fix: save it as an Excel workbook (.xlsx), or write the instance in YAML"
    )
    assert problems("missing.xlsx") == (
        "1 problem in the input:\n"
        "missing.xlsx: (top level): cannot be read (No such file or directory)\n"
        "    fix: check the path"
    )


def test_scenarios_are_rows_of_field_paths(folder: Path, solver: str) -> None:
    path = small_workbook(folder)
    book = openpyxl.load_workbook(path)
    for row in (
        ["richer", "description", "more money"],
        ["richer", "envelope.amounts[2021]", 12000],
        ["no_cap", "interventions.education.max_units", "null"],
        ["no_cap", "interventions.education.tranches[0].units", 80],
        ["no_cap", "interventions.education.tranches[0].health_gain", 0.04],
        ["no_cap", "interventions.education.tranches[1].health_gain", 0.015],
        ["no_cap", "interventions.education.health_gain", 0],
    ):
        book["scenarios"].append(row)
    book.save(path)
    # richer: £2,000 more buys 40 more clinic contacts: 3.2 + 0.4
    plan = planner.solve_instance(path, "richer", solver)  # type: ignore[arg-type]
    assert plan.summary["objective"] == approx(3.6)
    # no_cap: 80 places at 0.04, then places at 0.015 a £100 (0.00015 a £) lose to the clinic
    # (0.0002 a £): 80 x £100 = £8,000 (3.2), the clinic 40 contacts (0.4): 3.6
    plan = planner.solve_instance(path, "no_cap", solver)  # type: ignore[arg-type]
    assert plan.summary["objective"] == approx(3.6)
    assert allocation(plan) == approx({("education", 2021): 80, ("clinic", 2021): 40})


def test_scenario_problems(folder: Path) -> None:
    path = small_workbook(folder)
    book = openpyxl.load_workbook(path)
    for row in (
        ["odd", "interventions..unit_cost", 5],
        ["odd", "interventions.education.unit_cost", None],
        ["odd", "interventions.education.tranches[1].health_gain", 0.01],
        ["odd", "interventions.education.unit_cost", 7],
        ["odd", "envelope.amounts[2021]", "£9,000"],
    ):
        book["scenarios"].append(row)
    book.save(path)
    assert problems("plan.xlsx") == (
        "5 problems in the input:\n"
        "plan.xlsx: sheet scenarios, row 2, column field (B2): 'interventions..unit_cost' is not "
        "a field path\n"
        "    fix: write the field as error messages show it: names joined by dots, list "
        "positions in brackets (interventions.education.tranches[0].units)\n"
        "plan.xlsx: sheet scenarios, row 3, column value (C3): "
        "scenarios.odd.interventions.education.unit_cost: has no value\n"
        "    fix: write the value, or null to remove the field in the scenario\n"
        "plan.xlsx: sheet scenarios, row 4, column field (B4): "
        "scenarios.odd.interventions.education.tranches: is a list, so its positions must run "
        "0, 1, 2, ... (0 is missing)\n"
        "    fix: give every position from 0\n"
        "plan.xlsx: sheet scenarios, row 5, column field (B5): "
        "scenarios.odd.interventions.education.unit_cost: is written twice for scenario odd "
        "(first in row 3)\n"
        "    fix: keep one row per scenario and field\n"
        "plan.xlsx: sheet scenarios, row 6, column value (C6): "
        "scenarios.odd.envelope.amounts[2021]: must be a number (got the text '£9,000')\n"
        "    fix: enter the number alone, such as 1200 or 0.05: no currency symbol, spaces or "
        "thousands separators (format the cell to show them)"
    )


def test_field_paths_are_read_as_error_messages_write_them() -> None:
    assert parse_path("interventions.a.tranches[0].units") == (
        "interventions", "a", "tranches", 0, "units",
    )  # fmt: skip
    assert parse_path("envelope.amounts[2015]") == ("envelope", "amounts", 2015)
    assert parse_path("envelope.amounts.2015") == ("envelope", "amounts", 2015)
    assert parse_path("a..b") is None
    assert parse_path("a b") is None


# --- text is never a formula -----------------------------------------------------------------


FORMULA_LIKE = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\tTab", "\rReturn"]


def test_text_that_looks_like_a_formula_stays_text_in_every_workbook(
    folder: Path,
) -> None:
    data = yaml.safe_load(SMALL)
    for index, text in enumerate(FORMULA_LIKE[:3]):
        data["partners"][f"p{index}"] = {"name": text, "notes": FORMULA_LIKE[index + 3]}
    data["interventions"]["education"]["name"] = FORMULA_LIKE[0]
    (folder / "plan.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    write_template("plan.xlsx", "plan.yaml")
    book = openpyxl.load_workbook("plan.xlsx")
    cells = [c for row in book["partners"].iter_rows(min_row=4) for c in (row[1], row[7])]
    assert [c.value for c in cells][:5] == [
        FORMULA_LIKE[0], FORMULA_LIKE[3], FORMULA_LIKE[1], FORMULA_LIKE[4], FORMULA_LIKE[2],
    ]  # fmt: skip
    assert cells[5].value == "_x000D_Return"  # a carriage return as the XML writes it
    assert {c.data_type for c in cells} == {"s"}  # strings, not formulas
    read, _ = read_workbook(Path("plan.xlsx"))
    assert {k: v for k, v in read["partners"].items() if k.startswith("p")} == {
        f"p{i}": {"name": FORMULA_LIKE[i], "notes": FORMULA_LIKE[i + 3]} for i in range(3)
    }

    result = runner.invoke(app, ["solve", "plan.xlsx", "--out", "out"])
    assert result.exit_code == 0, result.output
    out = openpyxl.load_workbook("out/plan.xlsx")
    cell = out["allocation"]["B2"]
    assert (cell.value, cell.data_type) == (FORMULA_LIKE[0], "s")
    # a CSV opened in a spreadsheet: the text starts with an apostrophe, so it is never run
    with (folder / "out" / "allocation.csv").open() as handle:
        names = [row["name"] for row in csv.DictReader(handle)]
    assert names == ["'" + FORMULA_LIKE[0], "Clinic"]


# --- the output workbook's about sheet, and determinism --------------------------------------


def test_the_about_sheet_records_inputs_solver_status_and_versions(
    folder: Path, solver: str
) -> None:
    source = ROOT / "instances" / "diabetes_lewisham.yaml"
    model = ROOT / "models" / "diabetes.yaml"
    shutil.copy(source, folder / "plan.yaml")
    (folder / "models").mkdir()
    shutil.copy(model, folder / "models" / "diabetes.yaml")
    (folder / "plan.yaml").write_text(
        source.read_text().replace("model: ../models/diabetes.yaml", "model: models/diabetes.yaml")
    )
    result = runner.invoke(app, ["solve", "plan.yaml", "--solver", solver, "--out", "out"])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook("out/plan.xlsx")["about"]
    about = {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    digest = hashlib.sha256((folder / "plan.yaml").read_bytes()).hexdigest()
    assert about == {
        "planner_version": planner.__version__,
        "instance": "plan.yaml",
        "instance_sha256": digest,
        "model": "models/diabetes.yaml",
        "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
        "instance_name": "diabetes_lewisham",
        "title": "Lewisham-like diabetes pathway, 2014-2016",
        "scenario": None,
        "solver": solver,
        "status": "optimal",
        "proven_optimal": True,
        "objective_kind": "health_gain",
        "objective": about["objective"],
        "objective_unit": "QALY",
        "problem": "MILP",
        "mip_gap": about["mip_gap"],
        "best_bound": about["best_bound"],
        "verified": True,
        "largest_violation": about["largest_violation"],
        "largest_violation_unit": about["largest_violation_unit"],
        "largest_violation_rule": about["largest_violation_rule"],
        "pulp_version": importlib.metadata.version("pulp"),
        "highspy_version": importlib.metadata.version("highspy"),
        "cbcbox_version": importlib.metadata.version("cbcbox"),
        "python_version": about["python_version"],
    }
    assert about["objective"] == pytest.approx(641.190981, rel=1e-6)
    assert about["mip_gap"] == pytest.approx(0, abs=1e-6)
    assert about["best_bound"] == pytest.approx(641.190981, rel=1e-6)
    assert about["largest_violation"] < 1e-3  # pounds: solver rounding
    assert [c.value for c in sheet[1]] == ["field", "value", "meaning"]
    assert sheet.auto_filter.ref == "A1:C26"


def test_workbooks_are_byte_identical_between_runs(folder: Path) -> None:
    source = ROOT / "instances" / "commissioning_support_lewisham.yaml"
    for name in ("one", "two"):
        write_template(f"{name}.xlsx", source)
        assert runner.invoke(app, ["solve", f"{name}.xlsx", "--out", name]).exit_code == 0
    assert (folder / "one.xlsx").read_bytes() == (folder / "two.xlsx").read_bytes()
    # the output workbooks differ only by the instance file's name in `about`: write both
    # from the same workbook
    assert runner.invoke(app, ["solve", "one.xlsx", "--out", "again"]).exit_code == 0
    assert (folder / "one" / "plan.xlsx").read_bytes() == (
        folder / "again" / "plan.xlsx"
    ).read_bytes()


# --- writing safely --------------------------------------------------------------------------


def test_template_never_writes_over_a_file_or_its_input(folder: Path) -> None:
    (folder / "plan.xlsx").write_bytes(b"my filled-in workbook")
    result = runner.invoke(app, ["template", "--out", "plan.xlsx"])
    assert result.exit_code == 2
    assert result.output == (
        "plan.xlsx already exists; choose another --out, or replace it (--replace)\n"
    )
    assert (folder / "plan.xlsx").read_bytes() == b"my filled-in workbook"
    result = runner.invoke(app, ["template", "--out", "plan.xlsx", "--replace"])
    assert result.exit_code == 0
    result = runner.invoke(app, ["template", "--from", "plan.xlsx", "--out", "plan.xlsx"])
    assert result.exit_code == 2
    assert result.output == "refusing to write plan.xlsx: it is an input; choose another --out\n"
    result = runner.invoke(app, ["template", "--out", "plan.xls"])
    assert result.exit_code == 2
    assert result.output == "plan.xls: a workbook's name must end in .xlsx\n"
    assert sorted(p.name for p in folder.iterdir()) == ["plan.xlsx"]  # no leftovers


def test_template_from_an_invalid_instance_writes_nothing(folder: Path) -> None:
    (folder / "bad.yaml").write_text(SMALL.replace("unit_cost: 100", "unit_cost: -100"))
    result = runner.invoke(app, ["template", "--from", "bad.yaml", "--out", "plan.xlsx"])
    assert result.exit_code == 2
    assert result.output == (
        "1 problem in the input:\n"
        "bad.yaml:10: interventions.education.unit_cost: must be at least 0.0 (got -100)\n"
        "    fix: use a value at least 0.0\n"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["bad.yaml"]


def test_cell_locations_read_as_a_user_would_say_them() -> None:
    assert str(Cell(4, "interventions", 5, 4, "unit_cost")) == (
        "sheet interventions, row 5, column unit_cost (D5)"
    )
    assert str(Cell(4, "interventions", 1, 28)) == "sheet interventions, row 1, column AB (AB1)"
    assert str(Cell(0, "settings")) == "sheet settings"


def test_docs_list_every_sheet_with_its_columns_and_every_setting() -> None:
    text = (ROOT / "docs" / "excel.md").read_text()
    lines = text[text.index("| sheet | one row per | columns |") :].splitlines()[2:]
    rows = [line.strip("|").split("|") for line in lines[: lines.index("")]]
    documented = [
        (name.strip().strip("`"), row.strip(), [c.strip().strip("`") for c in cols.split(",")])
        for name, row, cols in rows
    ]
    assert documented == [(s.name, s.row, [c.name for c in s.columns]) for s in SHEETS]
    for name in SETTING_COLUMNS:
        assert f"`{name}`" in text
