"""The `planner` command: solve an instance, or check it.

Exit codes: 0 a plan (or a clean check); 2 bad input or an unsafe output folder; 3 infeasible;
4 unbounded; 5 stopped at a limit before proving optimality; 6 solver error.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from planner.errors import InputError, NoPlanError, PlannerError, Problem, display_path

EXIT_INPUT = 2
EXIT_STATUS = {"infeasible": 3, "unbounded": 4, "time_limit": 5, "error": 6}

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Allocate a shrinking joint pathway budget across interventions, partners and years.",
)
console = Console(width=None if sys.stdout.isatty() else 120)
errors = Console(stderr=True)


class SolverChoice(StrEnum):
    highs = "highs"
    cbc = "cbc"


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
        errors.print(f"[bold red]No plan[/bold red]: {exc}", highlight=False, soft_wrap=True)
        return typer.Exit(EXIT_STATUS.get(exc.status, 6))
    errors.print(str(exc), highlight=False, markup=False, soft_wrap=True)
    return typer.Exit(EXIT_INPUT)


@app.command()
def solve(
    instance: Annotated[
        Path | None, typer.Argument(help="Instance file (default: the bundled diabetes instance).")
    ] = None,
    scenario: Annotated[str | None, typer.Option(help="Named scenario to apply.")] = None,
    solver: Annotated[SolverChoice, typer.Option(help="Solver to use.")] = SolverChoice.highs,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: results/<instance>[-<scenario>]).")
    ] = None,
    time_limit: Annotated[float | None, typer.Option(help="Solver time limit in seconds.")] = None,
) -> None:
    """Solve an instance: print the plan and write its tables as CSV and plan.xlsx."""
    from planner import build, load, make_plan, validate
    from planner import solve as run_solver
    from planner.report import print_plan, write_outputs

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
        raise _fail(exc) from None
    names = ", ".join(p.name for p in written if not p.name.startswith("."))
    console.print(f"\nWrote {names} to {display_path(folder)}", soft_wrap=True)


@app.command()
def compare(
    instance: Annotated[
        Path | None, typer.Argument(help="Instance file (default: the bundled diabetes instance).")
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option(help="Scenario to compare with the base (repeat; default: every scenario)."),
    ] = None,
    base: Annotated[
        str | None, typer.Option(help="Scenario to apply before analysing make-or-buy decisions.")
    ] = None,
    solver: Annotated[SolverChoice, typer.Option(help="Solver to use.")] = SolverChoice.highs,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default: results/<instance>-compare).")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option(help="Solver time limit in seconds, per solve.")
    ] = None,
) -> None:
    """Compare plans: each make-or-buy option forced against free choice, and the scenarios."""
    from planner.compare import compare as run_compare
    from planner.report import print_comparison, write_tables

    try:
        path = instance if instance is not None else default_instance()
        comparison = run_compare(path, scenario, base, solver.value, time_limit)
        print_comparison(comparison, console)
        name = comparison.summary["instance"]
        folder = out or Path("results") / f"{name}-compare"
        written = write_tables(
            comparison.tables(), folder, "compare.xlsx", comparison.summary["currency"], [path]
        )
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


def main() -> None:
    """Entry point of the `planner` console script."""
    app()
