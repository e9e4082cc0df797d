"""The `planner` command: solve an instance, or check it.

Exit codes: 0 a plan (or a clean check); 2 bad input or an unsafe output folder; 3 infeasible;
4 unbounded; 5 stopped at a limit before proving optimality; 6 solver error.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from planner.errors import InputError, NoPlanError, PlannerError, Problem, display_path

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd
    from rich.progress import Progress, TaskID

    from planner.load import Document
    from planner.schema import Instance

EXIT_INPUT = 2
EXIT_STATUS = {"infeasible": 3, "unbounded": 4, "time_limit": 5, "error": 6}

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Allocate a shrinking joint pathway budget across interventions, partners and years.",
)
# markup off: text from the input ([/x] in a title, a path) prints as written; planner's own
# styling asks for markup=True and escapes what it quotes
console = Console(width=None if sys.stdout.isatty() else 120, markup=False)
errors = Console(stderr=True, markup=False)


class SolverChoice(StrEnum):
    highs = "highs"
    cbc = "cbc"


InstanceArgument = Annotated[
    Path | None, typer.Argument(help="Instance file (default: the bundled diabetes instance).")
]
ScenarioOption = Annotated[str | None, typer.Option(help="Named scenario to apply.")]
SolverOption = Annotated[SolverChoice, typer.Option(help="Solver to use.")]
TimeLimitOption = Annotated[float | None, typer.Option(help="Solver time limit in seconds.")]
WorkersOption = Annotated[
    int, typer.Option(min=1, help="Local processes to spread the independent solves over.")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        help="Run the solves on the Dask cluster whose scheduler is at this address "
        "(tcp://host:8786); needs pip install planner[dask]."
    ),
]
QuietOption = Annotated[bool, typer.Option(help="No progress bar.")]
PerSolveTimeLimit = Annotated[
    float | None, typer.Option(help="Solver time limit in seconds, per solve.")
]


def default_instance() -> Path:
    """The bundled default instance: ./instances in the working folder, else the source tree."""
    name = Path("instances") / "diabetes_lewisham.yaml"
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (base / name).is_file():
            return base / name
    fix = "run planner from the project folder, or name an instance file: planner solve FILE"
    raise InputError([Problem(str(name), (), "the bundled default instance is not here", fix)])


def _fail(exc: PlannerError) -> typer.Exit:
    if isinstance(exc, NoPlanError):
        text = f"[bold red]No plan[/bold red]: {escape(str(exc))}"
        errors.print(text, highlight=False, markup=True, soft_wrap=True)
        return typer.Exit(EXIT_STATUS.get(exc.status, 6))
    errors.print(str(exc), highlight=False, markup=False, soft_wrap=True)
    return typer.Exit(EXIT_INPUT)


@app.command()
def solve(
    instance: InstanceArgument = None,
    scenario: ScenarioOption = None,
    solver: SolverOption = SolverChoice.highs,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: results/<instance>[-<scenario>]).")
    ] = None,
    time_limit: TimeLimitOption = None,
) -> None:
    """Solve an instance: print the plan and write its tables as CSV and plan.xlsx."""
    from planner import build, load, make_plan, validate
    from planner import solve as run_solver
    from planner.report import print_plan, write_outputs

    model = None
    try:
        path = instance if instance is not None else default_instance()
        document = load(path, scenario)
        model = build(validate(document))
        plan = make_plan(model, run_solver(model, solver.value, time_limit), scenario)
        print_plan(plan, console)
        folder = out or Path("results") / (
            model.instance.name + (f"-{scenario}" if scenario else "")
        )
        inputs = [document.instance_file] + ([document.model_file] if document.model_file else [])
        written = write_outputs(plan, folder, inputs)
    except PlannerError as exc:
        failure = _fail(exc)
        if isinstance(exc, NoPlanError) and exc.status == "infeasible" and model is not None:
            _explain_infeasible(model.instance, path, scenario, solver.value, time_limit)
        raise failure from None
    names = ", ".join(p.name for p in written if not p.name.startswith("."))
    console.print(f"\nWrote {names} to {display_path(folder)}", soft_wrap=True)
    _exit_unless_proven(plan.summary)


def _explain_infeasible(
    instance: Instance, path: Path, scenario: str | None, solver: str, time_limit: float | None
) -> None:
    """A short diagnosis of an infeasible plan on stderr: the smallest relaxation, the
    alternatives and the conflicting rules (planner diagnose gives it in full)."""
    from planner.diagnose import brief, diagnose

    try:
        found = diagnose(instance, scenario, solver, time_limit=time_limit)  # type: ignore[arg-type]
    except PlannerError as exc:
        errors.print(f"Could not diagnose: {exc}", highlight=False, markup=False, soft_wrap=True)
        return
    lines = brief(found, display_path(path))
    errors.print("\n".join(lines), highlight=False, markup=False, soft_wrap=True)


@app.command()
def diagnose(
    instance: InstanceArgument = None,
    scenario: ScenarioOption = None,
    solver: SolverOption = SolverChoice.highs,
    relax: Annotated[
        list[str] | None,
        typer.Option(
            help="Rule family the board may relax (repeat; default: envelope, outcome_floor, "
            "partner_risk_limit, partner_gain_cap, minimum_units, group_need; also capacity, "
            "resource, ramp_up, ramp_down, ramp_up_share, ramp_down_share)."
        ),
    ] = None,
    time_limit: PerSolveTimeLimit = None,
) -> None:
    """Say why an instance has no plan: the smallest relaxation that makes one, the
    alternatives, and an irreducible set of conflicting rules. Exits 0 once diagnosed (or when
    a plan exists)."""
    from planner.diagnose import check_families, print_diagnosis
    from planner.diagnose import diagnose as run_diagnose

    try:
        families = check_families(relax)
    except ValueError as exc:
        errors.print(f"--relax: {exc}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT) from None
    try:
        path = instance if instance is not None else default_instance()
        found = run_diagnose(path, scenario, solver.value, families=families, time_limit=time_limit)
        status = found.summary["status"]
        if status not in ("optimal", "infeasible"):  # unbounded, stopped: nothing to diagnose
            raise NoPlanError(status, found.summary["message"])
    except PlannerError as exc:
        raise _fail(exc) from None
    print_diagnosis(found, console)


@app.command()
def compare(
    instance: InstanceArgument = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(help="Scenario to compare with the base (repeat; default: every scenario)."),
    ] = None,
    base: Annotated[
        str | None, typer.Option(help="Scenario to apply before analysing make-or-buy decisions.")
    ] = None,
    solver: SolverOption = SolverChoice.highs,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: results/<instance>-compare).")
    ] = None,
    time_limit: PerSolveTimeLimit = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
) -> None:
    """Compare plans: each make-or-buy option forced against free choice, and the scenarios."""
    from planner.compare import compare as run_compare
    from planner.report import print_comparison, write_tables

    try:
        path = instance if instance is not None else default_instance()
        bar, advance = _draw_progress(quiet)
        with bar:
            comparison = run_compare(
                path,
                scenario,
                base,
                solver.value,
                time_limit,
                workers=workers,
                scheduler=scheduler,
                progress=advance,
            )
        print_comparison(comparison, console)
        name = comparison.summary["instance"]
        folder = out or Path("results") / f"{name}-compare"
        facts = {k: comparison.summary[k] for k in ("instance", "title", "base", "solver",
                 "objective_kind", "objective_unit", "decisions", "scenarios")}  # fmt: skip
        written = write_tables(
            comparison.tables(), folder, "compare.xlsx", comparison.summary["currency"],
            _inputs(path), facts,
        )  # fmt: skip
    except PlannerError as exc:
        raise _fail(exc) from None
    names = ", ".join(p.name for p in written if not p.name.startswith("."))
    console.print(f"\nWrote {names} to {display_path(folder)}", soft_wrap=True)


@app.command()
def check(
    instance: Annotated[Path, typer.Argument(help="Instance file to validate.")],
    scenario: Annotated[
        str | None,
        typer.Option(help="Check only this scenario (default: the base and every scenario)."),
    ] = None,
) -> None:
    """Validate an instance (and its scenarios) without solving."""
    from planner import load, validate

    try:
        base = load(instance)
        names = [scenario] if scenario else [None, *sorted(base.data.get("scenarios") or {})]
        problems = []
        for name in names:
            try:
                validate(base if name is None else load(instance, name))
            except InputError as exc:
                label = "base instance" if name is None else f"scenario '{name}'"
                problems.append(f"{label}: {exc}")
    except PlannerError as exc:
        raise _fail(exc) from None
    if problems:
        errors.print("\n".join(problems), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_INPUT)
    count = len(names) - 1
    checked = "base instance" + (f" and {count} scenario{'s' * (count != 1)}" if count else "")
    if scenario:
        checked = f"scenario '{scenario}'"
    console.print(f"{display_path(instance)}: {checked} valid", soft_wrap=True)


@app.command()
def report(
    instance: InstanceArgument = None,
    scenario: ScenarioOption = None,
    solver: SolverOption = SolverChoice.highs,
    out: Annotated[
        Path | None,
        typer.Option(
            help="HTML file to write; the Markdown version goes beside it as .md "
            "(default: results/<instance>[-<scenario>]-report.html)."
        ),
    ] = None,
    time_limit: TimeLimitOption = None,
    frontier: Annotated[
        bool, typer.Option(help="Include the envelope frontier (70%-130% of the envelope).")
    ] = True,
    draws: Annotated[
        int,
        typer.Option(
            min=0, help="Draws of the uncertain numbers for an uncertainty section (0: none)."
        ),
    ] = 0,
    seed: Annotated[
        int | None,
        typer.Option(min=0, help="Seed of the draws (default: the instance's uncertainty.seed)."),
    ] = None,
) -> None:
    """Write the business-case report: one self-contained HTML file and a Markdown twin."""
    from planner import build, load, make_plan, validate
    from planner import solve as run_solver
    from planner.document import build_report, report_paths, write_report
    from planner.uncertainty import analyse

    try:
        path = instance if instance is not None else default_instance()
        document = load(path, scenario)
        checked = validate(document)
        inputs = [document.instance_file] + ([document.model_file] if document.model_file else [])
        target = out or Path("results") / (
            checked.name + (f"-{scenario}" if scenario else "") + "-report.html"
        )
        report_paths(target, inputs)  # refuse an unsafe --out before any solving
        model = build(checked)
        plan = make_plan(model, run_solver(model, solver.value, time_limit), scenario)
        points, note = (
            _frontier_points(checked, solver.value)
            if frontier
            else (None, "left out with --no-frontier")
        )
        spread = None
        if draws:
            _need_uncertainty(checked, document)
            bar, advance = _draw_progress()
            with bar:
                spread = analyse(
                    checked, draws, seed, solver.value, True, time_limit, scenario, document,
                    advance,
                )  # fmt: skip
        report_ = build_report(plan, checked, inputs, points, note, spread)
        written = write_report(report_, target, inputs)
    except PlannerError as exc:
        raise _fail(exc) from None
    names = " and ".join(p.name for p in written)
    console.print(f"Wrote {names} to {display_path(written[0].parent)}", soft_wrap=True)
    _exit_unless_proven(plan.summary)


def _exit_unless_proven(summary: dict[str, object]) -> None:
    """Exit 5 after writing a plan that is not proven optimal (stopped at a time limit): the
    files are whole and verified, and carry the warning."""
    from planner.result import not_proven_optimal

    if warning := not_proven_optimal(summary):
        errors.print(warning, highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_STATUS["time_limit"])


def _frontier_points(instance: Instance, solver: str) -> tuple[pd.DataFrame | None, str]:
    """The envelope frontier's points for the report, or None and the reason it is left out."""
    import importlib

    if instance.envelope is None:
        return None, "the instance has no envelope to vary"
    try:  # planner.sensitivity is optional here: the report stands without its frontier
        envelope_frontier = importlib.import_module("planner.sensitivity").envelope_frontier
    except (ImportError, AttributeError):
        return None, "this version of planner has no envelope frontier (planner.sensitivity)"
    try:
        computed = envelope_frontier(instance, solver=solver)
    except PlannerError as exc:
        return None, f"it could not be computed ({exc})"
    return computed.points, ""


def _inputs(path: Path) -> list[Path]:
    """The instance file and the pathway model it names (for the workbook's `about` sheet)."""
    from planner import load

    document = load(path)
    return [document.instance_file] + ([document.model_file] if document.model_file else [])


@app.command()
def template(
    out: Annotated[Path, typer.Option(help="Workbook to write (.xlsx).")],
    from_: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Instance to write into the workbook (YAML or a workbook; its pathway model is "
            "merged in). Default: an empty template.",
        ),
    ] = None,
    replace: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
) -> None:
    """Write an Excel workbook with one sheet per input table, to fill in and solve with
    `planner solve plan.xlsx`."""
    from planner.excel import write_template

    try:
        written = write_template(out, from_, replace)
    except PlannerError as exc:
        raise _fail(exc) from None
    what = f"{display_path(from_)} as a workbook" if from_ else "an empty template"
    console.print(f"Wrote {what} to {display_path(written)}", soft_wrap=True)


@app.command()
def frontier(
    instance: InstanceArgument = None,
    scenario: ScenarioOption = None,
    floor: Annotated[
        str | None, typer.Option(help="Floor whose trade-off curve to trace (a floor's id).")
    ] = None,
    low: Annotated[float, typer.Option(help="Lowest envelope, as a share of the plan's.")] = 0.7,
    high: Annotated[float, typer.Option(help="Highest envelope, as a share of the plan's.")] = 1.3,
    floor_low: Annotated[
        float | None, typer.Option(help="Lowest level of --floor (default: 10% below it).")
    ] = None,
    floor_high: Annotated[
        float | None, typer.Option(help="Highest level of --floor (default: 10% above it).")
    ] = None,
    steps: Annotated[int, typer.Option(help="Grid steps between --low and --high.")] = 12,
    solver: SolverOption = SolverChoice.highs,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/<instance>[-<scenario>]-frontier)."),
    ] = None,
    time_limit: PerSolveTimeLimit = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
) -> None:
    """Sensitivity: the envelope frontier with its breakpoints (and a floor's trade-off), and
    how far each price, cost and health gain holds; written as CSV and frontier.xlsx."""
    from planner import load, validate
    from planner.report import write_tables
    from planner.sensitivity import (
        envelope_frontier,
        floor_tradeoff,
        print_sensitivity,
        ranges,
        tables,
    )
    from planner.sweep import processes

    try:
        path = instance if instance is not None else default_instance()
        document = load(path, scenario)
        checked = validate(document)
        inputs = [document.instance_file] + ([document.model_file] if document.model_file else [])
        bar, advance = _draw_progress(quiet)
        spread: dict[str, Any] = {"workers": workers, "scheduler": scheduler, "progress": advance}
        with bar, processes(workers):  # its two or three sweeps start the processes once
            curve = envelope_frontier(
                checked, low, high, solver.value, steps=steps, time_limit=time_limit, **spread
            )
            trade = None
            if floor:
                trade = floor_tradeoff(
                    checked,
                    floor,
                    floor_low,
                    floor_high,
                    solver.value,
                    time_limit=time_limit,
                    **spread,
                )
            try:
                found = ranges(checked, None, solver.value, time_limit, **spread)
                status, note = "optimal", ""
            except NoPlanError as exc:
                found, status, note = None, exc.status, str(exc)
        facts = {
            "instance": checked.name,
            "title": checked.title or checked.name,
            "scenario": scenario or "",
            "solver": solver.value,
            "status": status,
            "objective_kind": checked.objective.kind,
            "low": low,
            "high": high,
            "floor": floor or "",
            "message": note,
        }
        print_sensitivity(checked, curve, trade, found, console)
        if note:
            console.print(f"No ranges: {note}", soft_wrap=True, highlight=False)
        folder = out or Path("results") / (
            checked.name + (f"-{scenario}" if scenario else "") + "-frontier"
        )
        written = write_tables(
            tables(curve, trade, found, facts),
            folder,
            "frontier.xlsx",
            checked.currency,
            inputs,
            facts,
        )
    except PlannerError as exc:
        raise _fail(exc) from None
    names = ", ".join(p.name for p in written if not p.name.startswith("."))
    console.print(f"\nWrote {names} to {display_path(folder)}", soft_wrap=True)


def _need_uncertainty(instance: Instance, document: Document) -> None:
    """InputError unless the instance has uncertain numbers to draw."""
    if instance.uncertainty is None or not instance.uncertainty.parameters:
        raise InputError(
            [
                document.problem(
                    ("uncertainty",),
                    "is missing: the instance has no uncertain numbers to draw",
                    "add an uncertainty section with parameters (see docs/uncertainty.md)",
                )
            ]
        )


def _draw_progress(quiet: bool = False) -> tuple[Progress, Callable[[str, int, int], None]]:
    """A progress bar with the time remaining (on a terminal), and the callback that moves it:
    one bar per stage of planner.uncertainty.analyse."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=errors,
        transient=True,
        disable=quiet or not errors.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def advance(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done)

    return bar, advance


@app.command()
def uncertainty(
    instance: InstanceArgument = None,
    scenario: ScenarioOption = None,
    draws: Annotated[int, typer.Option(min=1, help="Draws of the uncertain numbers.")] = 200,
    seed: Annotated[
        int | None,
        typer.Option(min=0, help="Seed of the draws (default: the instance's uncertainty.seed)."),
    ] = None,
    reoptimise: Annotated[
        bool, typer.Option(help="Also solve each draw for its own best plan.")
    ] = True,
    solver: SolverOption = SolverChoice.highs,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/<instance>[-<scenario>]-uncertainty)."),
    ] = None,
    time_limit: PerSolveTimeLimit = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
) -> None:
    """Uncertainty: the plan under seeded draws of its uncertain numbers (floors met, health
    gain, each partner's income) and, re-optimised, how the best mix moves; written as CSV and
    uncertainty.xlsx."""
    from planner import load, validate
    from planner.report import write_tables
    from planner.uncertainty import analyse, print_uncertainty

    try:
        path = instance if instance is not None else default_instance()
        document = load(path, scenario)
        checked = validate(document)
        _need_uncertainty(checked, document)
        inputs = [document.instance_file] + ([document.model_file] if document.model_file else [])
        bar, advance = _draw_progress(quiet)
        with bar:
            result = analyse(
                checked, draws, seed, solver.value, reoptimise, time_limit, scenario, document,
                advance, workers, scheduler,
            )  # fmt: skip
        print_uncertainty(result, console)
        s = result.summary
        facts = {k: s[k] for k in ("instance", "title", "scenario", "solver", "seed", "draws",
                 "reoptimised", "objective_kind", "objective_unit")}  # fmt: skip
        facts |= {"objective": s["deterministic_objective"], "problem": s["problem"]}
        folder = out or Path("results") / (
            checked.name + (f"-{scenario}" if scenario else "") + "-uncertainty"
        )
        written = write_tables(
            result.tables(), folder, "uncertainty.xlsx", checked.currency, inputs, facts
        )
    except PlannerError as exc:
        raise _fail(exc) from None
    names = ", ".join(p.name for p in written if not p.name.startswith("."))
    console.print(f"\nWrote {names} to {display_path(folder)}", soft_wrap=True)


class ModeChoice(StrEnum):
    expectation = "expectation"
    every = "every"


@app.command()
def risk(
    instance: InstanceArgument = None,
    scenario: ScenarioOption = None,
    draws: Annotated[
        int, typer.Option(min=1, help="Draws of the uncertain numbers (equally likely).")
    ] = 200,
    seed: Annotated[
        int | None,
        typer.Option(min=0, help="Seed of the draws (default: the instance's uncertainty.seed)."),
    ] = None,
    cvar: Annotated[
        list[str] | None,
        typer.Option(
            help="PARTNER=AMOUNT: most CVaR of the partner's loss in any year, in money or as a "
            "share of its baseline income (acute_trust=500000, acute_trust=10%); repeat."
        ),
    ] = None,
    alpha: Annotated[
        float, typer.Option(help="CVaR level: 0.95 is the mean of the worst 5% of draws.")
    ] = 0.95,
    floors: Annotated[
        ModeChoice, typer.Option(help="Outcome floors on average, or in every draw.")
    ] = ModeChoice.expectation,
    floor: Annotated[
        list[str] | None,
        typer.Option(help="FLOOR=MODE for one floor (admissions_2016=every); repeat."),
    ] = None,
    limits: Annotated[
        ModeChoice, typer.Option(help="Partners' stated loss limits and gain caps: where held.")
    ] = ModeChoice.every,
    envelope: Annotated[
        ModeChoice, typer.Option(help="The envelope on average, or in every draw.")
    ] = ModeChoice.every,
    solver: SolverOption = SolverChoice.highs,
    out: Annotated[
        Path | None,
        typer.Option(help="Output folder (default: results/<instance>[-<scenario>]-risk)."),
    ] = None,
    time_limit: TimeLimitOption = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
) -> None:
    """Risk-aware planning: one plan for every draw of the uncertain numbers, maximising the
    expected objective within CVaR limits on partners' losses, beside the deterministic plan;
    written as CSV and risk.xlsx (docs/risk.md)."""
    from planner import load, validate
    from planner.report import write_tables
    from planner.risk import (
        RiskSettings,
        check_settings,
        parse_cvar,
        parse_floor_modes,
        plan_under_risk,
        print_risk,
    )
    from planner.uncertainty import sample

    try:
        path = instance if instance is not None else default_instance()
        document = load(path, scenario)
        checked = validate(document)
        settings = RiskSettings(
            cvar=parse_cvar(cvar or []),
            alpha=alpha,
            floors=floors.value,
            floor_modes=parse_floor_modes(floor or []),
            limits=limits.value,
            envelope=envelope.value,
        )
        check_settings(settings, checked)
        inputs = [document.instance_file] + ([document.model_file] if document.model_file else [])
        drawn = sample(checked, draws, seed, document=document)
        used = checked.uncertainty.seed if seed is None and checked.uncertainty else seed or 0
        labels = [f"draw{k}" for k in range(draws)]
        bar, advance = _draw_progress(quiet)
        with bar:
            plan = plan_under_risk(
                checked,
                drawn,
                settings,
                solver.value,
                time_limit,
                labels,
                workers=workers,
                scheduler=scheduler,
                progress=advance,
            )
        print_risk(plan, console)
        if checked.uncertainty is None or not checked.uncertainty.parameters:
            console.print(
                "The instance has no uncertainty section: every draw is the instance, so the "
                "risk-aware plan is the deterministic one.",
                soft_wrap=True,
            )
        s = plan.summary
        facts = {k: s[k] for k in ("instance", "title", "solver", "status", "objective_kind",
                 "objective_unit", "problem")}  # fmt: skip
        facts |= {"expected_objective": s["objective"], "scenario": scenario or "",
                  "seed": used, "draws": draws, "alpha": alpha, "floors": s["floors"],
                  "floor_modes": s["floor_modes"], "limits": s["limits"],
                  "envelope_mode": s["envelope"], "cvar_limits": s["cvar_limits"]}  # fmt: skip
        folder = out or Path("results") / (
            checked.name + (f"-{scenario}" if scenario else "") + "-risk"
        )
        written = write_tables(plan.tables(), folder, "risk.xlsx", checked.currency, inputs, facts)
    except PlannerError as exc:
        raise _fail(exc) from None
    names = ", ".join(p.name for p in written if not p.name.startswith("."))
    console.print(f"\nWrote {names} to {display_path(folder)}", soft_wrap=True)


def main() -> None:
    """Entry point of the `planner` console script."""
    app()
