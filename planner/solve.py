"""Solve: run HiGHS (in-process) or CBC on a built model and normalise what comes back.

Whichever solver ran, the status is one of Status, and every dual and reduced cost is stated as
the change in the objective (in its own sense) per +1 of the row's right-hand side or of the
variable. PuLP hands CBC a maximisation negated and does not flip its duals back, so they are
flipped here.

A model with yes/no choices is a MILP: it is solved to proven optimality (relative gap 0), then
the choices are fixed at their optimal values and the LP that remains is solved again, because
only that LP has meaningful prices. The solution says so.

A time limit covers the whole solve. A MILP's search gets 90% of it and the LP that prices the
plan the time left (at least the other 10%). A MILP stopped at its limit with a plan that meets
every rule (an incumbent) gives that plan, with status `time_limit`, the best bound proved and
the gap: a plan, but not proven optimal. An LP stopped at its limit, or a MILP stopped before it
found any plan, gives no plan. `_outcome` is the one place that decides the status and whether a
plan exists. CBC runs as a separate process: if it has not finished 5 s (plus 10% of the limit)
after its time limit, it is stopped and the solve is an error.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import pulp
import pulp.apis.coin

from planner.build import Key, Model
from planner.highs import FastHiGHS, reported_gap, status_words

# planner/sweep.py: while set, HiGHS runs go to this (mip, time limit) -> backend, a pulp.HiGHS
# that keeps one model and re-solves it warm, instead of a fresh pulp.HiGHS
WARM_HIGHS: contextvars.ContextVar[Any] = contextvars.ContextVar("warm_highs", default=None)

SolverName = Literal["highs", "cbc"]
SOLVERS: tuple[SolverName, ...] = ("highs", "cbc")
NAMES: dict[str, str] = {"highs": "HiGHS", "cbc": "CBC"}

MILP_SHARE = 0.9  # share of a MILP's time limit for the search; pricing gets the rest (or more)
WATCHDOG_GRACE = 5.0  # seconds CBC may run past its time limit (and 10% of it) before it stops


class Status(StrEnum):
    """Outcome of a solve, the same whichever solver ran."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    ERROR = "error"


S = pulp.LpSolveStatus
_FINISHED = {
    S.Optimal: Status.OPTIMAL,
    # we ask for a relative gap of 0, so stopping "within the gap tolerance" is proven optimal
    S.GapLimit: Status.OPTIMAL,
    S.Infeasible: Status.INFEASIBLE,
    S.Unbounded: Status.UNBOUNDED,
}
# stopped by a limit (CBC says only "Stopped" for its node and solution limits)
_LIMITS = {S.TimeLimit, S.NodeLimit, S.IterationLimit, S.SolutionLimit, S.Stopped}
TRY = (
    "try the other solver (--solver highs or --solver cbc), state money in thousands so the "
    "numbers are less far apart, or set a --time-limit"
)


@dataclass(frozen=True)
class Solution:
    """What a solver returned, normalised: status, objective, values, duals, reduced costs.

    `values` are filled exactly when there is a plan (`has_plan`): an optimum, or a MILP's best
    plan found before a time limit (`status` time_limit: not proven optimal). `gap` is the
    relative gap |objective - best_bound| / |objective| the MILP solver proved (None for an LP,
    or when the solver gave no bound), `best_bound` that bound in the objective's unit.
    """

    status: Status
    solver: SolverName
    objective: float | None
    values: dict[str, float]
    duals: dict[tuple[str, Key], float]
    reduced_costs: dict[str, float]
    message: str = ""
    choices: int = 0  # yes/no variables: 0 for an LP
    gap: float | None = None
    best_bound: float | None = None

    @property
    def has_plan(self) -> bool:
        """Whether there is a plan: an optimum, or a MILP's best plan found before its limit."""
        return self.status in (Status.OPTIMAL, Status.TIME_LIMIT) and bool(self.values)

    @property
    def proven_optimal(self) -> bool:
        """Whether the solver proved the plan optimal."""
        return self.status is Status.OPTIMAL

    @property
    def prices_from(self) -> str:
        """Where the duals and reduced costs come from, in words."""
        if not self.choices:
            return "the LP"
        if self.status is Status.TIME_LIMIT:
            return "the LP with every yes/no choice fixed at its value in the best plan found"
        return "the LP with every yes/no choice fixed at its optimal value"


@dataclass(frozen=True)
class _Run:
    """One solver run: why it stopped (None when it failed to run), whether it handed back a
    point, the best bound it proved (a MILP's, in the objective's unit) and, in words, what the
    solver said or what went wrong."""

    stopped: pulp.LpSolveStatus | None
    has_solution: bool
    bound: float | None = None
    words: str = ""
    gap: float | None = None  # the relative gap HiGHS reports for a MILP


class _Clock:
    """The time limit of a whole solve: the MILP's share, then the time left for pricing."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.start = time.monotonic()

    def first(self, share: float) -> float | None:
        return None if self.limit is None else self.limit * share

    def left(self) -> float | None:
        """Time left until the limit, but at least the share kept for pricing."""
        if self.limit is None:
            return None
        spent = time.monotonic() - self.start
        return max(self.limit - spent, self.limit * (1 - MILP_SHARE))


def solve(
    model: Model,
    solver: SolverName = "highs",
    time_limit: float | None = None,
    prices: bool = True,
) -> Solution:
    """Solve `model` with `solver` within `time_limit` seconds (the whole solve); the normalised
    solution (without prices if prices=False)."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; use one of {', '.join(SOLVERS)}")
    choices = model.choices
    clock = _Clock(time_limit)
    run = _run(model, solver, clock.first(MILP_SHARE if choices and prices else 1.0), bool(choices))
    status, plan, message = _outcome(run, solver, bool(choices))
    if not plan:
        return Solution(status, solver, None, {}, {}, {}, message, len(choices))
    objective = _objective_value(model)
    if choices and prices:
        failed = _price_with_choices_fixed(model, solver, clock, choices)
        if failed is not None:
            return failed
        fixed = _objective_value(model)
        better = (fixed - objective) * (1.0 if model.maximise else -1.0)
        tolerance = 1e-6 * max(1.0, abs(objective))
        # an optimum is the optimum of the LP with its choices fixed; a plan found before a
        # limit may be improved there (its other decisions were not optimised), never worsened
        if better < -tolerance or (status is Status.OPTIMAL and better > tolerance):
            message = f"{solver}: the LP with the choices fixed disagrees with the MILP's plan"
            return Solution(Status.ERROR, solver, None, {}, {}, {}, message)
        if status is Status.TIME_LIMIT:
            objective = fixed
    variables = model.problem.toRustModel().list_variables()  # PuLP's own, without wrappers
    names = [v.name for v in variables]
    values = {name: float(v.value or 0.0) for name, v in zip(names, variables, strict=True)}
    flip = -1.0 if solver == "cbc" and model.maximise else 1.0
    have_prices = prices or not choices
    reduced = (
        {name: flip * float(v.dj or 0.0) for name, v in zip(names, variables, strict=True)}
        if have_prices
        else {}
    )
    duals = {key: flip * dual for key, dual in model.registry.duals()} if have_prices else {}
    gap, bound = _gap(model, status, objective, run) if choices else (None, None)
    return Solution(
        status, solver, objective, values, duals, reduced, message, len(choices), gap, bound
    )


def _outcome(run: _Run, solver: SolverName, mip: bool) -> tuple[Status, bool, str]:
    """The status of a run, whether it gives a plan, and what to say: the one place that
    decides both."""
    name = NAMES[solver]
    if run.stopped is None:
        return Status.ERROR, False, f"{name} failed: {run.words}; {TRY}"
    finished = _FINISHED.get(run.stopped)
    if finished is Status.OPTIMAL and not run.has_solution:
        words = f"{name} reported an optimum but handed back no solution"
        return Status.ERROR, False, f"{words}; {TRY}"
    if finished is not None:
        return finished, finished is Status.OPTIMAL, ""
    if run.stopped in _LIMITS:
        if mip and run.has_solution:
            message = (
                f"{name} stopped at its time limit before proving the plan optimal: this is the "
                "best plan it found; allow more time (--time-limit) to prove it optimal"
            )
        elif mip:
            message = (
                f"{name} stopped at its time limit before finding any plan that meets every "
                "rule; allow more time (--time-limit)"
            )
        else:
            message = (
                f"{name} stopped at its time limit before solving the LP, and an LP stopped "
                "early has no plan proven to meet every rule; allow more time (--time-limit)"
            )
        return Status.TIME_LIMIT, mip and run.has_solution, message
    said = f" ({run.words})" if run.words else ""
    message = f"{name} stopped without an answer{said}: numerical trouble or an unknown status"
    return Status.ERROR, False, f"{message}; {TRY}"


def _run(model: Model, solver: SolverName, time_limit: float | None, mip: bool) -> _Run:
    """Run the solver once; what it said, never an exception."""
    files: contextlib.AbstractContextManager[str] = contextlib.nullcontext("")
    if solver == "cbc":  # CBC works through files; HiGHS runs in-process, with none
        try:
            files = tempfile.TemporaryDirectory(prefix="planner-solve-", ignore_cleanup_errors=True)
        except OSError as exc:
            return _Run(None, False, words=f"no temporary folder for its files ({exc})")
    with files as folder:
        warm = WARM_HIGHS.get() if solver == "highs" else None
        if warm is not None:
            backend: Any = warm(mip, time_limit)
        elif solver == "highs":
            backend = FastHiGHS(msg=False, timeLimit=time_limit, mip=mip, gapRel=0.0)
            backend.release = True  # all is read back: its model and factors go (memory)
        else:
            watchdog = None if time_limit is None else time_limit * 1.1 + WATCHDOG_GRACE
            backend = _WatchedCBC(
                watchdog, msg=False, timeLimit=time_limit, mip=mip, gapRel=0.0,
                logPath=str(Path(folder) / "cbc.log"),  # its best bound is read from the log
            )  # fmt: skip
            backend.tmpDir = folder  # its files go, whatever happens
        try:
            with quiet_stdout():
                stats = model.problem.solve(backend)
        except Exception as exc:  # a crashed, killed or missing solver is an outcome
            if isinstance(backend, _WatchedCBC) and backend.killed:
                words = (
                    f"it was still running {backend.watchdog:g} s after it started, past its "
                    f"time limit of {time_limit:g} s, and was stopped"
                )
            else:
                words = " ".join(str(exc).split()) or type(exc).__name__
            return _Run(None, False, words=words)
    bound = stats.best_bound if mip else None
    if bound is not None and (not math.isfinite(bound) or abs(bound) >= 1e49):
        bound = None  # no bound proved yet
    if bound is not None and solver == "cbc" and model.problem.objective is not None:
        bound += float(model.problem.objective.constant)  # CBC's log leaves the constant out
    if isinstance(backend, FastHiGHS) and backend.release:  # what HiGHS said, read in time
        said = backend.words if backend.words is not None else str(stats.status_str)
        gap = backend.gap
    else:
        said, gap = _words(model, solver, stats), _highs_gap(model, solver, mip)
    return _Run(stats.status, bool(stats.has_solution), bound, said, gap)


def _highs_gap(model: Model, solver: SolverName, mip: bool) -> float | None:
    """The relative gap HiGHS reports for the MILP it just ran; None for CBC or an LP."""
    highs: Any = model.problem.solverModel if solver == "highs" and mip else None
    return reported_gap(highs) if highs is not None else None


def _words(model: Model, solver: SolverName, stats: Any) -> str:
    """What the solver said about why it stopped, as it said it."""
    if solver == "cbc":
        return str(stats.solver_status or stats.status_str)
    words = status_words(model.problem.solverModel)
    return words if words is not None else str(stats.status_str)


def _price_with_choices_fixed(
    model: Model, solver: SolverName, clock: _Clock, choices: list[pulp.LpVariable]
) -> Solution | None:
    """Fix every yes/no variable at its value in the plan and solve the LP left, for its
    prices; the bounds are put back afterwards. None when the LP solved.

    A choice that supplies nothing (an option chosen with no units, a shared service no chosen
    option draws on) is fixed at 0 when the plan allows it: when money is not short, a solver may
    leave such a choice on at no cost to the objective, and its fixed cost would then be reported
    as spent. If the plan needs it on (to keep a provider within its risk limit), it stays on.
    """
    saved = [(v, v.lowBound, v.upBound) for v in choices]
    rounded = {v.name: float(round(v.varValue or 0.0)) for v in choices}
    cleaned = _without_idle_choices(model, rounded)
    status, message = Status.ERROR, ""
    try:
        for values in [cleaned, rounded] if cleaned != rounded else [rounded]:
            for v in choices:
                v.lowBound = v.upBound = values[v.name]
            run = _run(model, solver, clock.left(), False)
            status, plan, message = _outcome(run, solver, False)
            if plan:
                return None
        if status is Status.TIME_LIMIT:
            message = (
                f"{solver}: a plan was found, but the LP that prices it did not finish within "
                "the time limit; allow more time (--time-limit)"
            )
            return Solution(Status.TIME_LIMIT, solver, None, {}, {}, {}, message, len(choices))
        message = f"{solver}: the LP with the yes/no choices fixed has no solution ({message})"
        return Solution(Status.ERROR, solver, None, {}, {}, {}, message, len(choices))
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


def _gap(
    model: Model, status: Status, objective: float, run: _Run
) -> tuple[float | None, float | None]:
    """The relative gap the MILP solver proved and its best bound. At an optimum HiGHS reports
    its gap and CBC stops only once the gap is closed to the tolerance we ask for, 0. Before a
    limit: |objective - bound| / |objective| (1 when the objective is 0 and the bound is not);
    None when the solver gave no bound, or one on the wrong side of the plan (CBC stopped during
    its root cuts logs a meaningless bound, and even says its gap is 0)."""
    bound = run.bound
    if status is Status.OPTIMAL:
        gap = max(0.0, run.gap) if run.gap is not None else 0.0
        return gap, bound if bound is not None else objective
    if bound is None:
        return None, None
    distance = (bound - objective) * (1.0 if model.maximise else -1.0)
    if distance < -1e-6 * max(1.0, abs(objective)):
        return None, None
    distance = max(0.0, distance)
    if objective == 0:
        return (0.0 if distance == 0 else 1.0), bound
    return distance / abs(objective), bound


def _objective_value(model: Model) -> float:
    objective = model.problem.objective
    return float(objective.value() or 0.0) if objective is not None else 0.0


# --- a watchdog on CBC -----------------------------------------------------------------------
# PuLP's COIN_CMD waits for the CBC process without a timeout, so a CBC that hangs would hang
# planner. PuLP starts it through the `subprocess` module it imported; planner gives that module
# (for pulp.apis.coin only) a Popen whose wait() without a timeout gives up after the watchdog
# time set for the calling thread, killing the process. With no watchdog set it is Popen.

_watch = threading.local()


class _WatchedPopen(subprocess.Popen[bytes]):
    """Popen whose wait() stops the process once the thread's watchdog time has passed."""

    def wait(self, timeout: float | None = None) -> int:
        seconds = getattr(_watch, "seconds", None)
        if timeout is not None or seconds is None:
            return super().wait(timeout)
        try:
            return super().wait(seconds)
        except subprocess.TimeoutExpired:
            self.kill()
            _watch.killed = True
            return super().wait()


_coin_subprocess = types.ModuleType("subprocess")
vars(_coin_subprocess).update(vars(subprocess))
vars(_coin_subprocess)["Popen"] = _WatchedPopen
vars(pulp.apis.coin)["subprocess"] = _coin_subprocess


class _WatchedCBC(pulp.COIN_CMD):
    """COIN_CMD that stops CBC `watchdog` seconds after it started (no limit: None)."""

    def __init__(self, watchdog: float | None = None, **options: Any) -> None:
        super().__init__(**options)  # type: ignore[no-untyped-call]
        self.watchdog = watchdog
        self.killed = False

    def solve_CBC(self, lp: Any, use_mps: bool = True) -> Any:
        _watch.seconds, _watch.killed = self.watchdog, False
        try:
            return super().solve_CBC(lp, use_mps)
        finally:
            self.killed = bool(_watch.killed)
            _watch.seconds, _watch.killed = None, False


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
