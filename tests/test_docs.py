"""The docs cannot drift from the code: field reference, constraint catalogue, result schema.

docs/fields.md is generated from the schema; docs/constraints.md must list exactly the
constraint families that build.py registers (each with its row-name prefix and its price step);
docs/results.md must list exactly the columns of every result table, in order, for `planner solve`
and for `planner compare`, and every file either command writes.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import planner
from planner import compare, result
from planner.build import FAMILIES, MONEY_SCALE, Model
from planner.cli import EXIT_STATUS, app
from planner.solve import Status

BUILD = importlib.import_module("planner.build")  # the module; planner.build is the function
DOCS = Path(__file__).resolve().parent.parent / "docs"

# A small instance in which every constraint family has at least one row: two plan years (so
# set-up costs have start rows), an exclusive make-or-buy choice with fixed and set-up costs, a
# minimum volume, a capacity, a first year and a capacitated shared service, a tranche
# intervention supplied through an option, and an indivisible programme.
EVERY_FAMILY = """\
name: every_family
baseline_year: 2020
horizon: 2
discount_rate: 0.0
envelope: {baseline: 100000, reduction: 0.05}
partners:
  hospital: {name: Hospital, max_loss_share: 0.5, max_gain: 50000}
  gp: {name: GP practices, max_loss: 20000}
  council: {name: Council, max_gain_share: 1.0}
  charity: {name: Charity}
refused_outcomes:
  readmissions: {responsible: hospital}
interventions:
  education:
    name: Education
    unit: place
    unit_cost: 10
    delivered_by: {gp: 0.5, council: 0.5}
    tranches: [{units: 100, health_gain: 0.04}, {health_gain: 0.01}]
    effects: {admissions: {per_unit: -0.1, lag: 1}, informed: 1}
    resource_use: {nurse_hours: 1}
    baseline_units: 100
    max_units: 400
    ramp: {max_increase: 200, max_decrease: 50}
  clinic:
    name: Clinic
    unit: place
    unit_cost: 20
    health_gain: 0.02
    delivered_by: gp
    baseline_units: 100
    min_units: 50
    max_units: 300
    resource_use: {nurse_hours: 0.5}
    ramp: {max_increase_share: 0.5, max_decrease_share: 0.5}
  outpatient:
    name: Outpatients
    unit: place
    unit_cost: 50
    health_gain: 0.01
    delivered_by: hospital
    baseline_units: 200
    max_units: 400
  diagnostics:
    name: Diagnostics
    unit: test
    unit_cost: 5
    health_gain: 0.01
    delivered_by: gp
    baseline_units: 40
    max_units: 100
    supply:
      choice: exclusive
      options:
        in_house: {mode: make, provider: gp, unit_price: 2, fixed_cost: 100, setup_cost: 50,
                   capacity: 80}
        contract: {mode: buy, provider: charity, unit_price: 4, min_volume: 20, first_year: 2022}
        hub: {mode: make, unit_price: 1, shared: lab}
  coaching:
    name: Coaching
    unit: session
    unit_cost: 8
    tranches: [{units: 50, health_gain: 0.03}, {health_gain: 0.005}]
    max_units: 100
    supply: {choice: split, options: {nurses: {mode: make, provider: gp, unit_price: 8}}}
  screening:
    name: Screening programme
    unit: screen
    unit_cost: 10
    health_gain: 0.02
    delivered_by: charity
    max_units: 100
    indivisible: true
outcomes:
  admissions:
    name: Admissions
    unit: admission
    baseline: 50
    maximum: 500
    tariff: 1000
    paid_to: hospital
    health_gain_per_event: -0.05
    external_costs: {council: 200}
  readmissions: {name: Readmissions, unit: readmission, baseline: 10, tariff: 500,
                 paid_to: hospital}
  informed: {name: Informed patients, unit: patient, baseline: 1000}
resources:
  nurse_hours: {name: Nurse hours, unit: hour, capacity: 500}
shared_services:
  lab: {name: Shared lab, provider: charity, fixed_cost: 200, setup_cost: 100, capacity: 60}
floors:
  admissions_cap: {outcome: admissions, bound: upper, relative: 1.0}
  informed_floor: {outcome: informed, bound: lower, value: 1000, year: 2022}
groups:
  reviews: {members: [clinic, outpatient], rule: meet_need, need: 250}
  places: {members: [education, clinic], rule: share_need, need: 600}
complements:
  followup: {intervention: clinic, requires: education, ratio: 2}
"""


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def table_rows(text: str, marker: str) -> list[list[str]]:
    """Cells of the body rows of the first table at or after `marker`."""
    lines = text[text.index(marker) :].splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[first + 2 :]:  # skip the header and the |---| line
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def code(cell: str) -> str:
    """The first `code span` of a table cell."""
    found = re.search(r"`([^`]+)`", cell)
    assert found, f"no code span in {cell!r}"
    return found.group(1)


@pytest.fixture(scope="module")
def every_family(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs") / "every_family.yaml"
    path.write_text(EVERY_FAMILY, encoding="utf-8")
    return path


# --- fields.md -------------------------------------------------------------------------------


def test_field_reference_is_generated_from_the_schema() -> None:
    spec = importlib.util.spec_from_file_location("make_fields", DOCS / "make_fields.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert read("fields.md") == module.render(), "run: python docs/make_fields.py"


# --- constraints.md --------------------------------------------------------------------------


def test_every_family_function_is_exercised_by_the_small_instance(
    every_family: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each function in FAMILIES adds rows here, so the catalogue test below sees them all."""
    rows_added: dict[str, int] = {}

    def counting(add: Callable[[Model], None]) -> Callable[..., None]:
        def run(model: Model) -> None:
            before = len(model.registry)
            add(model)
            rows_added[add.__name__] = len(model.registry) - before

        return run

    monkeypatch.setattr(BUILD, "FAMILIES", [counting(add) for add in FAMILIES])
    planner.build(planner.check_instance(every_family))
    assert rows_added, "build() no longer calls FAMILIES"
    assert [name for name, count in rows_added.items() if count == 0] == []


def test_constraint_catalogue_lists_exactly_the_registered_families(every_family: Path) -> None:
    model = planner.build(planner.check_instance(every_family))
    registered: dict[str, tuple[set[str], set[float]]] = {}
    for rule, _ in model.registry.values():
        prefixes, pers = registered.setdefault(rule.family, (set(), set()))
        prefixes.add(rule.name.split("__")[0])
        pers.add(rule.per)
    rows = table_rows(read("constraints.md"), "| family (function) |")
    catalogue = {code(row[0]): row for row in rows}
    assert sorted(catalogue) == sorted(registered)
    for family, (prefixes, pers) in registered.items():
        row = catalogue[family]
        for prefix in prefixes:
            assert f"`{prefix}__<" in row[3], f"{family}: row name {prefix}__... not documented"
        money = pers == {MONEY_SCALE}
        assert money or pers == {1.0}, f"{family}: unexpected price step {pers}"
        assert (f"per {MONEY_SCALE:,.0f}" in row[4]) == money, f"{family}: price step {pers}"


def test_statuses_and_exit_codes_are_documented() -> None:
    rows = {code(row[0]): row for row in table_rows(read("constraints.md"), "| status |")}
    assert sorted(rows) == sorted(status.value for status in Status)
    for status, row in rows.items():
        expected = 0 if status == Status.OPTIMAL else EXIT_STATUS[status]
        assert row[-1] == str(expected), f"{status}: exit code {expected}"


# --- results.md ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("allocation", result.ALLOCATION_COLUMNS),
        ("outcomes", result.OUTCOME_COLUMNS),
        ("partners", result.PARTNER_COLUMNS),
        ("shadow_prices", result.SHADOW_PRICE_COLUMNS),
        ("reduced_costs", result.REDUCED_COST_COLUMNS),
        ("supply", result.SUPPLY_COLUMNS),
        ("shared_services", result.SHARED_SERVICE_COLUMNS),
    ],
)
def test_result_columns_are_documented_in_order(table: str, columns: list[str]) -> None:
    documented = [code(row[0]) for row in table_rows(read("results.md"), f"## {table}\n")]
    assert documented == columns


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("decisions", compare.DECISION_COLUMNS),
        ("cases", compare.CASE_COLUMNS),
        ("partners", compare.PARTNER_COLUMNS),
    ],
)
def test_compare_columns_are_documented_in_order(table: str, columns: list[str]) -> None:
    documented = [code(row[0]) for row in table_rows(read("results.md"), f"## compare: {table}\n")]
    assert documented == columns


def test_summary_fields_and_output_files_are_documented(every_family: Path) -> None:
    plan = planner.solve_instance(every_family)
    text = read("results.md")
    documented = [code(row[0]) for row in table_rows(text, "## summary\n")]
    assert documented == list(plan.summary)
    for name in plan.tables():
        assert f"`{name}.csv`" in text


def test_compare_summary_fields_and_output_files_are_documented(
    every_family: Path, tmp_path: Path
) -> None:
    out = tmp_path / "compare"
    run = CliRunner().invoke(app, ["compare", str(every_family), "--out", str(out)])
    assert run.exit_code == 0, run.output
    text = read("results.md")
    part = text[text.index("# planner compare\n") :]
    summary = (out / "summary.csv").read_text(encoding="utf-8").splitlines()[1:]
    fields = [line.split(",", 1)[0] for line in summary]
    assert [code(row[0]) for row in table_rows(part, "## compare: summary\n")] == fields
    written = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert "compare.xlsx" in written
    for name in written:
        assert f"`{name}`" in part, f"{name} is not documented under planner compare"
