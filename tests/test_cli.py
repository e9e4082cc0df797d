"""The `planner` command: exit codes, messages without tracebacks, safe and deterministic files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app

runner = CliRunner()

TINY = """\
name: tiny
baseline_year: 2020
horizon: 2
discount_rate: 0
envelope: {baseline: 1000000, reduction: 0.1}
partners:
  hospital: {name: Hospital, max_loss_share: 0.5}
  gp: {name: GP practices}
interventions:
  education:
    name: Structured education
    unit: participant
    unit_cost: 100
    health_gain: 0.04
    max_units: 2000
    delivered_by: gp
    effects: {ae: -0.5}
  clinic:
    name: Community clinic
    unit: contact
    unit_cost: 80
    health_gain: 0.002
    delivered_by: gp
    baseline_units: 5000
outcomes:
  ae: {name: A&E attendances, unit: attendance, baseline: 4000, tariff: 150, paid_to: hospital}
floors:
  ae_cap: {outcome: ae, bound: upper, relative: 0.9}
scenarios:
  tight:
    description: the hospital may lose nothing, and the envelope still falls
    partners: {hospital: {max_loss_share: 0}}
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_solve_prints_money_and_writes_every_table(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["solve", str(tiny), "--out", str(out)])
    assert result.exit_code == 0, result.output
    # envelope 900,000 then 810,000: spend fills both years
    assert "£900,000" in result.output or "£1,710,000" in result.output
    assert "Objective (discounted health gain):" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".planner-output", "allocation.csv", "outcomes.csv", "partners.csv", "plan.xlsx",
        "reduced_costs.csv", "shadow_prices.csv", "shared_services.csv", "summary.csv",
        "supply.csv",
    ]  # fmt: skip


def test_two_runs_write_byte_identical_files(tiny: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        assert runner.invoke(app, ["solve", str(tiny), "--out", str(out)]).exit_code == 0
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name


def test_rerun_replaces_its_own_folder(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(tiny), "--out", str(out)]).exit_code == 0
    (out / "allocation.csv").write_text("stale")
    assert runner.invoke(app, ["solve", str(tiny), "--out", str(out)]).exit_code == 0
    assert (out / "allocation.csv").read_text().startswith("intervention,name,year")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no leftovers


def test_refuses_a_folder_it_did_not_write(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my own work")
    result = runner.invoke(app, ["solve", str(tiny), "--out", str(out)])
    assert result.exit_code == 2
    assert "already holds files planner did not write" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


def test_refuses_to_write_over_its_input(tiny: Path) -> None:
    result = runner.invoke(app, ["solve", str(tiny), "--out", str(tiny.parent)])
    assert result.exit_code == 2
    assert "holds the input" in result.output


def test_infeasible_scenario_exits_3_with_advice_and_writes_nothing(
    tiny: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["solve", str(tiny), "--scenario", "tight", "--out", str(out)])
    assert result.exit_code == 3
    assert "No plan" in result.output and "infeasible" in result.output
    assert "relax a floor or a risk limit, or add money to the envelope" in result.output
    assert not out.exists()


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_solver_option(tiny: Path, tmp_path: Path, solver: str) -> None:
    out = tmp_path / solver
    result = runner.invoke(app, ["solve", str(tiny), "--solver", solver, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"solver {solver}, optimal" in result.output


def test_check_reports_base_and_scenarios(tiny: Path) -> None:
    result = runner.invoke(app, ["check", str(tiny)])
    assert result.exit_code == 0
    assert "base instance and 1 scenario valid" in result.output


def test_check_lists_every_problem_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        TINY.replace("unit_cost: 100", "unit_cost: -100").replace("horizon: 2", "horizon: two")
    )
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "2 problems in the input:" in result.output
    assert "bad.yaml:3: horizon: must be a whole number (got 'two')" in result.output
    assert "interventions.education.unit_cost: must be at least 0.0 (got -100)" in result.output


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot be read (No such file or directory)" in result.output


def test_default_instance_is_the_bundled_diabetes_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)
    shutil.copytree(repo / "instances", tmp_path / "instances")
    shutil.copytree(repo / "models", tmp_path / "models")
    result = runner.invoke(app, ["solve"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results" / "diabetes_lewisham" / "plan.xlsx").is_file()


def test_workbook_holds_every_table_with_its_values(tiny: Path, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(tiny), "--out", str(out)]).exit_code == 0
    book = openpyxl.load_workbook(out / "plan.xlsx")
    assert book.sheetnames == [
        "summary", "allocation", "outcomes", "partners", "shadow_prices", "reduced_costs",
        "supply", "shared_services", "about",
    ]  # fmt: skip
    for name in book.sheetnames[:-1]:  # every table; `about` (tests/test_excel.py) has no CSV
        csv_rows = (out / f"{name}.csv").read_text().splitlines()
        sheet = book[name]
        assert sheet.max_row == len(csv_rows)  # header + one row per CSV line
        assert [c.value for c in sheet[1]] == csv_rows[0].split(",")
    summary = {row[0].value: row[1].value for row in book["summary"].iter_rows(min_row=2)}
    assert summary["status"] == "optimal"
    assert summary["total_envelope"] == pytest.approx(1_710_000)
    spend = book["allocation"]["I2"]  # unit_cost column, money format
    assert spend.number_format.startswith('"£"')


def test_text_never_becomes_a_formula(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "plan.yaml"
    path.write_text(TINY.replace("name: Structured education", "name: '=HYPERLINK(\"x\")'"))
    out = tmp_path / "out"
    assert runner.invoke(app, ["solve", str(path), "--out", str(out)]).exit_code == 0
    cell = openpyxl.load_workbook(out / "plan.xlsx")["allocation"]["B2"]
    assert cell.value == '=HYPERLINK("x")'
    assert cell.data_type == "s"  # a string, not a formula


def test_missing_default_instance_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("planner.cli.__file__", str(tmp_path / "elsewhere" / "planner" / "cli.py"))
    result = runner.invoke(app, ["solve"])
    assert result.exit_code == 2
    assert result.output == (
        "1 problem in the input:\n"
        "instances/diabetes_lewisham.yaml: (top level): the bundled default instance is not here\n"
        "    fix: run planner from the project folder, or name an instance file: "
        "planner solve FILE\n"
    )
