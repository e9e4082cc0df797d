"""Solve: run HiGHS (in-process) or CBC on a built model and normalise what comes back.

Whichever solver ran, the status is one of Status, and every dual and reduced cost is stated as
the change in the objective (in its own sense) per +1 of the row's right-hand side or of the
variable. PuLP hands CBC a maximisation negated and does not flip its duals back, so they are
flipped here.
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
    pulp.LpSolveStatus.GapLimit: Status.TIME_LIMIT,
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


def solve(model: Model, solver: SolverName = "highs", time_limit: float | None = None) -> Solution:
    """Solve `model` with `solver` and return the normalised solution."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)}")
    backend = (
        pulp.HiGHS(msg=False, timeLimit=time_limit)
        if solver == "highs"
        else pulp.COIN_CMD(msg=False, timeLimit=time_limit)  # type: ignore[no-untyped-call]
    )
    try:
        with _quiet_stdout():
            stats = model.problem.solve(backend)
    except Exception as exc:  # a crashed or missing solver is an outcome, not a traceback
        return Solution(Status.ERROR, solver, None, {}, {}, {}, f"{solver} failed: {exc}")
    status = _STATUS.get(stats.status, Status.ERROR)
    if status is Status.OPTIMAL and not stats.has_solution:
        status = Status.ERROR
    if status is not Status.OPTIMAL:
        return Solution(status, solver, None, {}, {}, {}, f"{solver} stopped: {stats.status.name}")
    flip = -1.0 if solver == "cbc" and model.maximise else 1.0
    variables = model.problem.variables()
    values = {v.name: float(v.varValue or 0.0) for v in variables}
    reduced = {v.name: flip * float(v.dj or 0.0) for v in variables}
    duals = {key: flip * float(row.pi or 0.0) for key, (_, row) in model.registry.items()}
    objective = model.problem.objective
    value = float(objective.value() or 0.0) if objective is not None else 0.0
    return Solution(status, solver, value, values, duals, reduced)


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
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
