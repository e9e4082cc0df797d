"""Text from the input prints as written on every command: rich markup in a title, unit, name,
description or path ([/x] would crash, [bold] would restyle, [link=...] would vanish) is never
read as markup, while planner's own styling (bold titles, a bold "yes") stays."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from planner.cli import _draw_progress, app
from planner.report import bold, terminal_table

runner = CliRunner()

TITLE = "[/x] Tiny [bold]plan [link=http://e]"
HEALTH = "QALY[/q] [bold]"
FLOOR_WORDS = "A&E [/f] capped [bold]"

# A two-year plan whose every free-text field holds markup. Base: education (£100, 0.04 QALY,
# 1 nurse hour) and the clinic, made (£70) or bought (£75); in the scenario `impossible` the A&E
# cap needs 1,600 education places a year (4,000 - 0.5 x 1,600 = 3,200) but 1,000 nurse hours
# allow 1,000: no plan.
MARKED = f"""\
name: marked
title: "{TITLE}"
description: "[/x] what the plan [bold]is for"
health_unit: "{HEALTH}"
baseline_year: 2020
horizon: 2
discount_rate: 0
envelope: {{baseline: 1000000, reduction: 0.1}}
partners:
  hospital: {{name: "Hospital [/p] [link=http://e]", max_loss_share: 0.5}}
  gp: {{name: "GP [bold]practices", notes: "[/n] notes"}}
interventions:
  education:
    name: "Education [/x]"
    unit: "participant[/y] [bold]"
    unit_cost: 100
    health_gain: 0.04
    max_units: 2000
    delivered_by: gp
    effects: {{ae: -0.5}}
    resource_use: {{nurse_hours: 1}}
    source: "[/x] trial [link=http://e]"
  clinic:
    name: "Clinic [bold]c[/bold] [/x]"
    unit: contact
    unit_cost: 80
    health_gain: 0.002
    delivered_by: gp
    baseline_units: 5000
    max_units: 6000
    supply:
      options:
        make: {{name: "make [/o] [link=http://e]", provider: gp, mode: make, unit_price: 70}}
        buy: {{name: "buy [bold]", provider: hospital, mode: buy, unit_price: 75}}
outcomes:
  ae: {{name: "A&E [/x]", unit: "attendance [/u]", baseline: 4000, tariff: 150, paid_to: hospital}}
resources:
  nurse_hours: {{name: "Nurse [/r] hours", unit: "hour[/y]", capacity: 1500}}
floors:
  ae_cap: {{outcome: ae, bound: upper, relative: 0.9, description: "{FLOOR_WORDS}"}}
uncertainty:
  seed: 1
  parameters:
    gain:
      field: interventions.education.health_gain
      distribution: range
      low: 0.03
      high: 0.05
      source: "[/x] a trial [bold]"
scenarios:
  impossible:
    description: "[/s] no plan [link=http://e]"
    floors: {{ae_cap: {{relative: 0.8}}}}
    resources: {{nurse_hours: {{capacity: 1000}}}}
"""


@pytest.fixture
def marked(tmp_path: Path) -> Path:
    """The instance, in a folder whose name holds markup too (paths are printed)."""
    folder = tmp_path / "in [bold]put"
    folder.mkdir()
    path = folder / "marked.yaml"
    path.write_text(MARKED, encoding="utf-8")
    return path


def run(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert "Traceback" not in result.output and "MarkupError" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output
    return result.output


def test_solve_prints_title_units_and_output_folder_as_written(
    marked: Path, tmp_path: Path, solver: str
) -> None:
    out = tmp_path / "o[bold]x [/x]"
    output = run(["solve", str(marked), "--solver", solver, "--out", str(out)])
    assert f"\n{TITLE}  (2021-2022, solver {solver}, optimal, MILP" in output
    assert f"Objective (discounted health gain): 132.429 {HEALTH}\n" in output
    assert "participant[/y] [bold]" in output  # the allocation's unit column
    assert re.search(rf"1 hour\[/y\] +0\.03929 {re.escape(HEALTH)}", output)  # a shadow price
    assert "o[bold]x [/x]\n" in output  # Wrote ... to <folder>
    assert (out / "plan.xlsx").is_file()


def test_compare_prints_intervention_names_as_written(
    marked: Path, tmp_path: Path, solver: str
) -> None:
    output = run(["compare", str(marked), "--solver", solver, "--out", str(tmp_path / "c")])
    assert f"\n{TITLE}  (solver {solver})" in output
    assert "Make or buy: Clinic [bold]c[/bold] [/x] (clinic); free choice: make 2021-2022" in output


def test_risk_prints_title_and_health_unit_as_written(
    marked: Path, tmp_path: Path, solver: str
) -> None:
    args = ["risk", str(marked), "--draws", "3", "--solver", solver, "--out", str(tmp_path / "r")]
    output = run(args)
    assert f"\n{TITLE}  (risk-aware over 3 equally likely scenarios" in output
    assert "Expected discounted health gain: risk-aware " in output
    assert f" {HEALTH}; the deterministic plan on the same scenarios " in output


def test_frontier_prints_title_and_column_units_as_written(
    marked: Path, tmp_path: Path, solver: str
) -> None:
    args = ["frontier", str(marked), "--steps", "2", "--solver", solver]
    output = run([*args, "--out", str(tmp_path / "f")])
    assert f"\n{TITLE}: sensitivity\n" in output
    assert f"objective ({HEALTH})" in output  # a column header
    assert f"Envelope frontier: {HEALTH} against the envelope" in output  # a table title


def test_uncertainty_prints_title_and_measures_as_written(
    marked: Path, tmp_path: Path, solver: str
) -> None:
    args = ["uncertainty", str(marked), "--draws", "3", "--solver", solver]
    output = run([*args, "--out", str(tmp_path / "u")])
    assert f"\n{TITLE}  (3 draws, seed 1, solver {solver}, 1 uncertain parameters)" in output
    assert f"health gain discounted ({HEALTH})" in output  # a table cell


def test_diagnose_prints_rules_in_the_inputs_words(marked: Path, solver: str) -> None:
    output = run(["diagnose", str(marked), "--scenario", "impossible", "--solver", solver])
    assert f"\n{TITLE} — scenario impossible  (diagnosis with {solver}" in output
    assert f"relax floor ae_cap ({FLOOR_WORDS}) by 300 attendance [/u]s in 2021" in output
    assert "Nurse [/r] hours: at most 1,000 hour[/y] in 2022" in output


def test_solve_without_a_plan_explains_in_the_inputs_words(
    marked: Path, tmp_path: Path, solver: str
) -> None:
    out = tmp_path / "none"
    args = ["solve", str(marked), "--scenario", "impossible", "--solver", solver, "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 3, result.output
    assert "No plan: No plan for 'marked': infeasible" in result.output
    assert f"relax floor ae_cap ({FLOOR_WORDS}) by 300 attendance [/u]s in 2021" in result.output


def test_check_report_and_template_print_paths_as_written(marked: Path, tmp_path: Path) -> None:
    output = run(["check", str(marked)])
    assert "in [bold]put" in output and "marked.yaml: base instance and 1 scenario valid" in output
    report = tmp_path / "rep[/x] [bold]" / "r.html"
    output = run(["report", str(marked), "--no-frontier", "--out", str(report)])
    assert "Wrote r.html and r.md to " in output and "rep[/x] [bold]\n" in output
    book = tmp_path / "t[/x].xlsx"
    output = run(["template", "--from", str(marked), "--out", str(book)])
    assert "marked.yaml as a workbook to " in output and "t[/x].xlsx\n" in output


def test_an_error_quoting_the_input_prints_it_as_written(marked: Path) -> None:
    text = marked.read_text(encoding="utf-8").replace(
        "    delivered_by: gp\n    effects", '    delivered_by: "[/x]gp [bold]"\n    effects', 1
    )
    marked.write_text(text, encoding="utf-8")
    for command in (["check"], ["solve", "--out", str(marked.parent / "out")]):
        result = runner.invoke(app, [*command, str(marked)])
        assert result.exit_code == 2, result.output
        assert (
            "marked.yaml:19: interventions.education.delivered_by: '[/x]gp [bold]' is not a "
            "valid name\n" in result.output
        )


def test_terminal_table_prints_text_literally_and_keeps_its_own_bold() -> None:
    table = terminal_table("[/x] title [bold]", ["[/h] head", "unit [link=http://e]"])
    table.add_row("[bold]a[/bold] [/x]", bold("yes"))
    console = Console(
        file=io.StringIO(), width=60, record=True, force_terminal=True, color_system="standard"
    )
    console.print(table)
    plain = console.export_text(clear=False)
    assert "[/x] title [bold]" in plain
    assert "[/h] head" in plain and "unit [link=http://e]" in plain
    assert "[bold]a[/bold] [/x]" in plain
    styled = console.export_text(styles=True)
    assert "\x1b[1myes\x1b[0m" in styled  # planner's own bold survives
    assert "\x1b[1m[/x] title [bold]" in styled  # and so does the bold title


def test_progress_stage_labels_print_literally() -> None:
    bar, advance = _draw_progress(quiet=True)
    advance("[/x] scenario [bold]", 1, 2)
    shown = bar.columns[0].render(bar.tasks[0])  # type: ignore[union-attr]
    assert str(shown) == "[/x] scenario [bold]"
