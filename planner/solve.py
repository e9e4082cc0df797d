"""Solve: run HiGHS (in-process) or CBC on a built model and normalise what comes back.

Whichever solver ran, the status is one of Status, and every dual and reduced cost is stated as
the change in the objective (in its own sense) per +1 of the row's right-hand side or of the
variable. PuLP hands CBC a maximisation negated and does not flip its duals back, so they are
flipped here.

A model with yes/no choices is a MILP: it is solved to proven optimality (relative gap 0), then
the choices are fixed at their optimal values and the LP that remains is solved again, because
only that LP has meaningful prices. The solution says so.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import pulp

from planner.build import Key, Model

SolverName = Literal["highs", "cbc"]
SOLVERS: tuple[SolverName, ...] = ("highs", "cbc")


class Status(StrEnum):
    """Outcome of a solve, the same whichever solver ran."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    ERROR = "error"


_STATUS = {
    pulp.LpSolveStatus.Optimal: Status.OPTIMAL,
    pulp.LpSolveStatus.Infeasible: Status.INFEASIBLE,
    pulp.LpSolveStatus.Unbounded: Status.UNBOUNDED,
    pulp.LpSolveStatus.TimeLimit: Status.TIME_LIMIT,
    pulp.LpSolveStatus.NodeLimit: Status.TIME_LIMIT,
    pulp.LpSolveStatus.IterationLimit: Status.TIME_LIMIT,
    # we ask for a relative gap of 0, so stopping "within the gap tolerance" is proven optimal
    pulp.LpSolveStatus.GapLimit: Status.OPTIMAL,
    pulp.LpSolveStatus.SolutionLimit: Status.TIME_LIMIT,
}


@dataclass(frozen=True)
class Solution:
    """What a solver returned, normalised: status, objective, values, duals, reduced costs."""

    status: Status
    solver: SolverName
    objective: float | None
    values: dict[str, float]
    duals: dict[tuple[str, Key], float]
    reduced_costs: dict[str, float]
    message: str = ""
    choices: int = 0  # yes/no variables: 0 for an LP
    gap: float | None = None  # relative gap proven by the MILP solver (None for an LP)

    @property
    def prices_from(self) -> str:
        """Where the duals and reduced costs come from, in words."""
        if not self.choices:
            return "the LP"
        return "the LP with every yes/no choice fixed at its optimal value"


def solve(
    model: Model,
    solver: SolverName = "highs",
    time_limit: float | None = None,
    prices: bool = True,
) -> Solution:
    """Solve `model` with `solver`; the normalised solution (without prices if prices=False)."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)}")
    choices = model.choices
    failed = _run(model, solver, time_limit, mip=bool(choices))
    if failed is not None:
        return failed
    gap = _gap(model, solver) if choices else None
    objective = _objective_value(model)
    if choices and prices:
        fixed = _price_with_choices_fixed(model, solver, time_limit, choices)
        if fixed is not None:
            return fixed
        if abs(_objective_value(model) - objective) > 1e-6 * max(1.0, abs(objective)):
            message = f"{solver}: the LP with the choices fixed disagrees with the MILP optimum"
            return Solution(Status.ERROR, solver, None, {}, {}, {}, message)
    values = {v.name: float(v.varValue or 0.0) for v in model.problem.variables()}
    flip = -1.0 if solver == "cbc" and model.maximise else 1.0
    have_prices = prices or not choices
    reduced = (
        {v.name: flip * float(v.dj or 0.0) for v in model.problem.variables()}
        if have_prices
        else {}
    )
    duals = (
        {key: flip * float(row.pi or 0.0) for key, (_, row) in model.registry.items()}
        if have_prices
        else {}
    )
    return Solution(
        Status.OPTIMAL, solver, objective, values, duals, reduced, "", len(choices), gap
    )


def _run(model: Model, solver: SolverName, time_limit: float | None, mip: bool) -> Solution | None:
    """Run the solver; None when it proved an optimum, else the Solution that says what happened."""
    backend = (
        pulp.HiGHS(msg=False, timeLimit=time_limit, mip=mip, gapRel=0.0)
        if solver == "highs"
        else pulp.COIN_CMD(msg=False, timeLimit=time_limit, mip=mip, gapRel=0.0)  # type: ignore[no-untyped-call]
    )
    try:
        with quiet_stdout():
            stats = model.problem.solve(backend)
    except Exception as exc:  # a crashed or missing solver is an outcome, not a traceback
        return Solution(Status.ERROR, solver, None, {}, {}, {}, f"{solver} failed: {exc}")
    status = _STATUS.get(stats.status, Status.ERROR)
    if status is Status.OPTIMAL and not stats.has_solution:
        status = Status.ERROR
    if status is not Status.OPTIMAL:
        return Solution(status, solver, None, {}, {}, {}, f"{solver} stopped: {stats.status.name}")
    return None


def _price_with_choices_fixed(
    model: Model, solver: SolverName, time_limit: float | None, choices: list[pulp.LpVariable]
) -> Solution | None:
    """Fix every yes/no variable at its optimal value and solve the LP left, for its prices;
    the bounds are put back afterwards. None when the LP solved.

    A choice that supplies nothing (an option chosen with no units, a shared service no chosen
    option draws on) is fixed at 0 when the plan allows it: when money is not short, a solver may
    leave such a choice on at no cost to the objective, and its fixed cost would then be reported
    as spent. If the plan needs it on (to keep a provider within its risk limit), it stays on.
    """
    saved = [(v, v.lowBound, v.upBound) for v in choices]
    rounded = {v.name: float(round(v.varValue or 0.0)) for v in choices}
    cleaned = _without_idle_choices(model, rounded)
    failed: Solution | None = None
    try:
        for values in [cleaned, rounded] if cleaned != rounded else [rounded]:
            for v in choices:
                v.lowBound = v.upBound = values[v.name]
            failed = _run(model, solver, time_limit, mip=False)
            if failed is None:
                return None
        reason = failed.message if failed is not None else ""
        message = f"{solver}: the LP with the yes/no choices fixed has no solution ({reason})"
        return Solution(Status.ERROR, solver, None, {}, {}, {}, message)
    finally:
        for v, low, up in saved:
            v.lowBound, v.upBound = low, up


def _without_idle_choices(model: Model, values: dict[str, float]) -> dict[str, float]:
    """`values` with options chosen but supplying no units, and shared services no chosen option
    draws on, switched off."""
    cleaned = dict(values)
    drawn: set[tuple[str, int]] = set()
    for (iid, oid, year), on in model.chosen.items():
        if (model.options[(iid, oid, year)].varValue or 0.0) <= 1e-9:
            cleaned[on.name] = 0.0
        elif cleaned[on.name] and (
            shared := model.instance.interventions[iid].offered()[oid].shared
        ):
            drawn.add((shared, year))
    for key, on in model.opened.items():
        if key not in drawn:
            cleaned[on.name] = 0.0
    return cleaned


def _gap(model: Model, solver: SolverName) -> float:
    """The relative gap the MILP solver proved: HiGHS reports it; CBC only stops as optimal once
    the gap is closed to the tolerance we ask for, which is 0."""
    highs = model.problem.solverModel if solver == "highs" else None
    return max(0.0, float(highs.getInfo().mip_gap)) if highs is not None else 0.0


def _objective_value(model: Model) -> float:
    objective = model.problem.objective
    return float(objective.value() or 0.0) if objective is not None else 0.0


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence what solver libraries print straight to file descriptor 1 (the HiGHS banner)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
