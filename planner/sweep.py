"""Sweep: many solves of one model structure with new numbers, warm-started, on one or many
processes or on a Dask cluster, with results that do not depend on how the work is split.

A probe (an uncertainty draw, a break-even price, a scenario that only changes numbers) is an
instance like any other: build.py builds its model, so its numbers have one definition. `Warm`
solves a sequence of such models on ONE HiGHS model: PuLP's own loading code
(`pulp.HiGHS.buildSolverModel`) puts the probe's numbers into a scratch HiGHS model, only the
costs, bounds, row bounds and matrix entries that differ are pushed into the loaded one, and the
solve starts from the basis saved at the base (the first model solved), never from the previous
probe's. So probe k's answer depends only on the base and on probe k. A probe with other columns,
rows or matrix pattern is solved cold, as planner.solve always did (`Warm.cold` counts them).
planner.solve drives every solve, so statuses, dual signs and the MILP rule (choices fixed, then
priced) are the same as `planner solve`'s. CBC has no warm start: each probe is built and solved.

`run` maps a task over probes: serially, over local processes (`workers`) or on a Dask cluster
(`scheduler`), in contiguous chunks; each process sets the task up once (builds and solves the
base) and solves its chunks warm. Results come back in probe order. A command that runs several
sweeps (`planner frontier --floor`) runs them inside `processes`, so its worker processes start
(and import planner) once. docs/speed.md says more.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
import pulp

from planner.build import Model
from planner.errors import PlannerError
from planner.expressions import Expressions
from planner.highs import FastHiGHS
from planner.solve import WARM_HIGHS, Solution, SolverName, quiet_stdout, solve

if TYPE_CHECKING:
    from pulp import LpProblem

    from planner.schema import Instance

P = TypeVar("P")
R = TypeVar("R")
S = TypeVar("S")
Vector = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]  # (probes done, probes in all)
Staged = Callable[[str, int, int], None]  # (stage, probes done, probes in all): a command's bar


def staged(progress: Staged | None, stage: str) -> Progress | None:
    """A sweep's progress callback that tells a command's `progress` under `stage`."""
    if progress is None:
        return None
    told = progress

    def moved(done: int, total: int) -> None:
        told(stage, done, total)

    return moved


CHUNKS_PER_WORKER = 4  # more chunks than workers: balance, and a progress bar that moves


# --- one HiGHS model, re-solved warm ---------------------------------------------------------


@dataclass(frozen=True)
class _Numbers:
    """A problem as PuLP hands it to HiGHS: names (for the structure), arrays (for the numbers)."""

    columns: tuple[str, ...]
    rows: tuple[str, ...]
    cost: Vector
    col_lower: Vector
    col_upper: Vector
    row_lower: Vector
    row_upper: Vector
    start: npt.NDArray[np.int64]
    index: npt.NDArray[np.int64]
    value: Vector
    offset: float
    integer: npt.NDArray[np.int64]
    column_wise: bool  # the matrix's format: start indexes columns (else rows)
    maximise: bool  # the objective's sense

    def same_structure(self, other: _Numbers) -> bool:
        """The same objective sense, columns, rows and matrix pattern (the numbers may differ)."""
        if self.maximise != other.maximise or self.column_wise != other.column_wise:
            return False
        ours = (self.columns, self.rows, self.start, self.index)
        theirs = (other.columns, other.rows, other.start, other.index)
        if all(a is b for a, b in zip(ours, theirs, strict=True)):
            return True  # made one from the other (`_from_vector`): 80 us less at 1e3 columns
        return (
            self.columns == other.columns
            and self.rows == other.rows
            and np.array_equal(self.start, other.start)
            and np.array_equal(self.index, other.index)
        )


def _changed(a: Vector, b: Vector) -> npt.NDArray[np.int32]:
    """Positions where two arrays differ (bit for bit: -0.0 and 0.0 alike, inf equal to inf)."""
    return np.flatnonzero(a != b).astype(np.int32)


@dataclass
class _Loaded:
    """One HiGHS model kept loaded: its numbers now, and the base basis to start from."""

    highs: Any
    numbers: _Numbers
    basis: Any = None


def _sides_of(n: _Numbers) -> tuple[array[float], bytearray]:
    """Each row's constant and whether its sense is <=, from the bounds HiGHS was given: a <=
    row has no lower bound, and every row's finite bound is minus its constant (a zero's sign
    aside, which the read-back ignores). The same as FastHiGHS notes from PuLP's rows."""
    le = n.row_lower == -math.inf
    constant = -np.where(le, n.row_upper, n.row_lower)
    return array("d", constant.tobytes()), bytearray(le.tobytes())


class _WarmHiGHS(FastHiGHS):
    """planner's HiGHS backend (FastHiGHS) that keeps its HiGHS models (one for MILPs, one for
    LPs: a MILP's pricing LP) and re-solves them with new numbers, LPs from the base basis."""

    def __init__(self, time_limit: float | None) -> None:
        super().__init__(msg=False, timeLimit=time_limit, mip=True, gapRel=0.0)
        self.loaded: dict[bool, _Loaded] = {}
        self.learning = True  # the base basis may be saved (only while the base is solved)
        self.warm = 0
        self.cold = 0
        self.given: _Numbers | None = None  # the next LP's numbers, known without loading it

    def use(self, mip: bool, time_limit: float | None) -> pulp.LpSolver:
        """Itself, set to solve as a MILP or as an LP within a time limit (what planner.solve's
        run asks for)."""
        self.mip = mip
        self.timeLimit = time_limit
        return self

    def holds(self, numbers: _Numbers) -> bool:
        """Whether the LP HiGHS holds has the structure of `numbers` (so they can be pushed)."""
        loaded = self.loaded.get(False)
        return loaded is not None and numbers.same_structure(loaded.numbers)

    def _numbers(self, lp: LpProblem) -> _Numbers:
        """The numbers PuLP would hand HiGHS, read back from a scratch model PuLP loaded."""
        import highspy

        module: Any = highspy
        with quiet_stdout():  # the first Highs of a process prints HiGHS's banner
            scratch = module.Highs()
        scratch.setOptionValue("output_flag", False)
        lp.solverModel = scratch
        self.buildSolverModel(lp)  # the loading of a cold solve: the same order and numbers
        data = scratch.getLp()
        matrix = data.a_matrix_
        integer = (
            np.flatnonzero(np.array(data.integrality_, dtype=np.int64) != 0)
            if len(data.integrality_)
            else np.zeros(0, dtype=np.int64)
        )
        return _Numbers(
            columns=tuple(v.name for v in lp.exported_variables()),
            rows=tuple(c.name for c in lp.constraints()),
            cost=np.array(data.col_cost_, dtype=np.float64),
            col_lower=np.array(data.col_lower_, dtype=np.float64),
            col_upper=np.array(data.col_upper_, dtype=np.float64),
            row_lower=np.array(data.row_lower_, dtype=np.float64),
            row_upper=np.array(data.row_upper_, dtype=np.float64),
            start=np.array(matrix.start_, dtype=np.int64),
            index=np.array(matrix.index_, dtype=np.int64),
            value=np.array(matrix.value_, dtype=np.float64),
            offset=float(data.offset_),
            integer=integer,
            column_wise=matrix.format_ == highspy.MatrixFormat.kColwise,
            maximise=data.sense_ == highspy.ObjSense.kMaximize,
        )

    def actualSolve(self, lp: LpProblem, **kwargs: Any) -> pulp.LpSolveStats:
        start = pulp.apis.core.clocks()
        numbers, self.given = self.given or self._numbers(lp), None
        loaded = self.loaded.get(self.mip)
        if loaded is None:  # the first of its kind: loaded and solved cold, as planner.solve does
            if not self.learning:
                self.cold += 1
            stats: pulp.LpSolveStats = super().actualSolve(lp, **kwargs)
            loaded = self.loaded[self.mip] = _Loaded(lp.solverModel, numbers)
            self._remember(loaded)
            return stats
        if not numbers.same_structure(loaded.numbers):
            self.cold += 1
            stats = super().actualSolve(lp, **kwargs)  # another structure: a fresh model, cold
            return stats
        self._push(loaded, numbers)
        self._sides = (lp, *_sides_of(numbers))  # what the read-back needs, without PuLP's rows
        h = loaded.highs
        h.clearSolver()  # nothing carried over from the previous probe
        limit = self.timeLimit
        h.setOptionValue("time_limit", float(limit) if limit is not None else math.inf)
        if loaded.basis is not None:
            h.setBasis(loaded.basis)
        self.warm += 1
        lp.solverModel = h
        with quiet_stdout():
            h.run()
        self._remember(loaded)
        status, has_solution = self.findSolutionValues(lp)
        return self.buildStats(
            lp, status, has_solution, start=start, best_bound=self.findBestBound(lp)
        )

    def _remember(self, loaded: _Loaded) -> None:
        """Keep the base basis: the base's LP solved to optimality (for a MILP, the LP with its
        choices fixed, which planner.solve solves right after the MILP). Never a probe's."""
        import highspy

        h = loaded.highs
        if not self.learning or len(loaded.numbers.integer) or loaded.basis is not None:
            return
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            basis = h.getBasis()
            if basis.valid:
                loaded.basis = basis

    def _push(self, loaded: _Loaded, numbers: _Numbers) -> None:
        """Change the loaded model's numbers to `numbers` (same structure)."""
        h, old = loaded.highs, loaded.numbers
        cols = _changed(numbers.cost, old.cost)
        if len(cols):
            h.changeColsCost(len(cols), cols, numbers.cost[cols])
        cols = np.union1d(
            _changed(numbers.col_lower, old.col_lower), _changed(numbers.col_upper, old.col_upper)
        ).astype(np.int32)
        if len(cols):
            h.changeColsBounds(len(cols), cols, numbers.col_lower[cols], numbers.col_upper[cols])
        rows = np.union1d(
            _changed(numbers.row_lower, old.row_lower), _changed(numbers.row_upper, old.row_upper)
        ).astype(np.int32)
        if len(rows):
            h.changeRowsBounds(len(rows), rows, numbers.row_lower[rows], numbers.row_upper[rows])
        entries = np.flatnonzero(numbers.value != old.value)
        if len(entries):  # one call an entry (HiGHS has no batch), its numbers read at once
            major = (np.searchsorted(numbers.start, entries, side="right") - 1).tolist()
            minor = numbers.index[entries].tolist()
            rows, cols = (minor, major) if numbers.column_wise else (major, minor)
            change = h.changeCoeff
            for row, col, value in zip(rows, cols, numbers.value[entries].tolist(), strict=True):
                change(row, col, value)
        if numbers.offset != old.offset:
            h.changeObjectiveOffset(numbers.offset)
        loaded.numbers = numbers


class Warm:
    """Solves models of one structure with new numbers, each from the base's saved basis.

    The first model solved is the base. Every later solve goes through planner.solve, so its
    result is normalised exactly as `planner solve`'s; with CBC every model is solved cold.
    """

    def __init__(self, solver: SolverName = "highs", time_limit: float | None = None) -> None:
        self.solver: SolverName = solver
        self.time_limit = time_limit
        self._backend = _WarmHiGHS(time_limit) if solver == "highs" else None

    def solve(self, model: Model, prices: bool = True) -> Solution:
        """Solve `model` (the base if it is the first), values written into its variables."""
        if self._backend is None or model.choices:
            return solve(model, self.solver, self.time_limit, prices)
        token = WARM_HIGHS.set(self._backend.use)
        try:
            return solve(model, self.solver, self.time_limit, prices)
        finally:
            WARM_HIGHS.reset(token)
            self._backend.learning = False  # the base is solved: its basis is the start of all

    def base(self, model: Model) -> None:
        """Solve `model` as the base, unless a base is solved already (or there is no warm
        start: CBC)."""
        if self._backend is not None and self._backend.learning:
            self.solve(model)

    @property
    def warm(self) -> int:
        """Solves started from the base basis (or, for a MILP, on the loaded model)."""
        return self._backend.warm if self._backend is not None else 0

    @property
    def cold(self) -> int:
        """Probes whose structure differed from the base's, so solved cold."""
        return self._backend.cold if self._backend is not None else 0


# --- one model moved in place: numbers affine in a few parameters ----------------------------

RTOL = 1e-9  # how far a number may lie from the plane through the probe builds, per its size
Figure = tuple[Any, ...]  # where a number of a Model (outside the solver's arrays) lives


def _figures(model: Model) -> tuple[tuple[Figure, ...], Vector]:
    """A model's numbers besides what the solver gets: the coefficients and constants of its
    named expressions (spend, levels, income...), its scalar figures (baseline income, the
    envelope) and its rules' right-hand sides, with where each lives."""
    keys: list[Figure] = []
    values: list[float] = []
    for spec in fields(model):
        table = getattr(model, spec.name)
        if isinstance(table, Expressions):  # each term (by its variable) and the constant
            for key in table:
                span, at = table.span(key), table.position(key)
                ids = table.ids[span].tolist()
                keys += [(spec.name, key, v, i) for i, v in enumerate(ids, start=span.start)]
                values += table.coefficients[span].tolist()
                keys.append((spec.name, key, None, at))
                values.append(float(table.constants[at]))
        elif isinstance(table, dict):
            for key, item in table.items():
                if isinstance(item, int | float):
                    keys.append((spec.name, key))
                    values.append(float(item))
    for key, (rule, _) in model.registry.items():
        keys += [("registry", key, "rhs"), ("registry", key, "per")]
        values += [rule.rhs, rule.per]
    return tuple(keys), np.array(values, dtype=np.float64)


def _solver_vector(n: _Numbers) -> Vector:
    """The numbers HiGHS gets, as one vector: costs, column bounds, row bounds, matrix
    entries and the objective's constant (`_cuts` says where each part ends)."""
    return np.concatenate(
        [n.cost, n.col_lower, n.col_upper, n.row_lower, n.row_upper, n.value, [n.offset]]
    )


def _cuts(n: _Numbers) -> list[int]:
    """Where each part of `_solver_vector` ends (the last is where the offset sits)."""
    sizes = [len(n.columns)] * 3 + [len(n.rows)] * 2 + [len(n.value)]
    return np.cumsum(sizes).tolist()


def _from_vector(n: _Numbers, vector: Vector) -> _Numbers:
    """`n` with the numbers of a `_solver_vector` (copied: the loaded model keeps them)."""
    cut = _cuts(n)
    cost, col_lower, col_upper, row_lower, row_upper, value, rest = np.split(vector.copy(), cut)
    return replace(
        n, cost=cost, col_lower=col_lower, col_upper=col_upper, row_lower=row_lower,
        row_upper=row_upper, value=value, offset=float(rest[0]),
    )  # fmt: skip


class _Refused(Exception):
    """Why a model cannot be moved in place (Linear's fit stops at the first reason)."""


class Linear:
    """Probes of one model whose numbers are affine in a few parameters, each moved into the
    base model in place instead of being built (docs/speed.md).

    `make(x)` builds the model at parameter values `x` (through build.py: the one definition
    of every number). Linear builds it at `centre` (the base), at each parameter's `low`,
    midpoint and `high` with the others at the centre, at the corner of each pair of
    parameters that move the same numbers, and at the all-low and all-high corners. Every
    number of every build must lie on the plane through the base and the slopes (within RTOL
    of its size) and the structure must not change; otherwise `refusal` says why, and the
    caller builds each probe instead (so too if the fit would take more than `budget` builds).
    `move(x, instance)` sets the base model's numbers to
    base + slope * (x - centre), only where they differ from the model's current ones, and its
    instance to `instance`; `solve` solves it, an LP warm from the base basis with the moved
    numbers handed straight to HiGHS. A probe's numbers depend only on the base and on x.
    """

    def __init__(
        self,
        make: Callable[[Vector], Model],
        centre: Sequence[float],
        low: Sequence[float],
        high: Sequence[float],
        warm: Warm | None = None,
        budget: int | None = None,
    ) -> None:
        self.centre = np.array(centre, dtype=np.float64)
        self.budget = budget  # the most builds the fit may take (it must save more than it costs)
        self.warm = warm
        self.refusal: str | None = None
        self.builds = 0
        scratch = _WarmHiGHS(None)
        self._model = make(self.centre)
        self._keys, figures = _figures(self._model)
        self._numbers = scratch._numbers(self._model.problem)
        self._base = np.concatenate([_solver_vector(self._numbers), figures])
        by_name = self._model.problem.variablesDict()
        self._variables = [by_name[c] for c in self._numbers.columns]
        self._rows = self._model.problem.constraints()
        n = self._numbers
        outer = np.searchsorted(n.start, np.arange(len(n.value)), side="right") - 1
        pairs = zip(outer.tolist(), n.index.tolist(), strict=True)
        self._entries = [(m, k) if not n.column_wise else (k, m) for m, k in pairs]  # (row, col)
        self._current = self._base.copy()  # the numbers moved to
        self._written = self._base.copy()  # the numbers in the PuLP model
        self._cut = _cuts(n)
        self._objective = np.zeros(len(self._base), dtype=bool)  # what planner.solve reads of
        self._objective[: self._cut[0]] = True  # a model HiGHS solved: the objective's costs
        self._objective[self._cut[5]] = True  # and its constant (values come from HiGHS)
        self._fit(make, scratch, np.array(low, dtype=np.float64), np.array(high, dtype=np.float64))
        if warm is not None and self.refusal is None and not self._model.choices:
            warm.base(self._model)  # where every probe starts, unless the Warm has its base

    def _at(
        self, make: Callable[[Vector], Model], scratch: _WarmHiGHS, changes: dict[int, float]
    ) -> tuple[Vector, Vector]:
        """Where the model was built (the centre with `changes`) and the numbers it gave;
        _Refused if it cannot be built or compared, or the fit is over budget."""
        x = self.centre.copy()
        for j, value in changes.items():
            x[j] = value
        if np.array_equal(x, self.centre):
            return x, self._base  # built already
        if self.budget is not None and self.builds >= self.budget:
            raise _Refused(f"fitting would take more than {self.budget} builds")
        self.builds += 1
        try:
            model = make(x)
        except PlannerError as exc:
            raise _Refused(f"the model cannot be built at {x.tolist()}: {exc}") from None
        keys, figures = _figures(model)
        numbers = scratch._numbers(model.problem)
        if keys != self._keys or not numbers.same_structure(self._numbers):
            raise _Refused(f"the model's structure changes at {x.tolist()}")
        found = np.concatenate([_solver_vector(numbers), figures])
        infinite = ~np.isfinite(self._base)
        if not np.array_equal(found[infinite], self._base[infinite]):
            raise _Refused(f"an infinite bound moves at {x.tolist()}")
        return x, found

    def _fit(
        self, make: Callable[[Vector], Model], scratch: _WarmHiGHS, low: Vector, high: Vector
    ) -> None:
        """The slopes and the pairs' joint terms from builds, then the checks."""
        base, centre, n = self._base, self.centre, len(self.centre)
        finite = np.isfinite(base)
        self._terms: list[tuple[int, ...]] = [(j,) for j in range(n)]
        columns = np.zeros((len(base), n))  # one per term, in step with self._terms
        checks: list[tuple[Vector, Vector]] = []  # (where built, what it gave)
        try:
            for j in range(n):  # each parameter alone: its slope, and a line through 3 points
                if high[j] != low[j]:
                    ends = [
                        self._at(make, scratch, {j: v})
                        for v in (low[j], high[j], (low[j] + high[j]) / 2)
                    ]
                    rise = ends[1][1][finite] - ends[0][1][finite]
                    columns[finite, j] = rise / (high[j] - low[j])
                    checks += ends
            moves = [set(np.flatnonzero(columns[:, j]).tolist()) for j in range(n)]
            for j in range(n):  # a pair moving the same numbers: their joint (product) term
                for k in range(j + 1, n):
                    if moves[j] & moves[k]:
                        x, found = self._at(make, scratch, {j: high[j], k: high[k]})
                        gap = self._gap(columns, x, found)
                        gap[self._close(gap, found)] = 0.0
                        if gap.any():
                            self._terms.append((j, k))
                            step = (high[j] - centre[j]) * (high[k] - centre[k])
                            columns = np.column_stack([columns, gap / step])
                            checks.append(self._at(make, scratch, {j: low[j], k: low[k]}))
            if n > 1:
                checks += [self._at(make, scratch, dict(enumerate(bound))) for bound in (low, high)]
        except _Refused as exc:
            self.refusal = str(exc)
            return
        self._moved = np.flatnonzero(np.any(columns != 0, axis=1))
        self._columns = columns[self._moved]
        for x, found in checks:
            if not self._close(self._gap(columns, x, found), found).all():
                self.refusal = (
                    "the numbers are not affine in each parameter (with products of pairs) "
                    f"at {x.tolist()}"
                )
                return

    def _factors(self, x: Vector) -> Vector:
        """Each term's (parameter's or pair's) steps from the centre to `x`, multiplied."""
        step = x - self.centre
        return np.array([np.prod(step[list(term)]) for term in self._terms])

    def _gap(self, columns: Vector, x: Vector, found: Vector) -> Vector:
        """What the build at `x` gave minus what the fitted terms say (0 at infinite bounds,
        which never move)."""
        finite = np.isfinite(self._base)
        gap = np.zeros(len(found))
        fitted = self._base[finite] + columns[finite] @ self._factors(x)
        gap[finite] = found[finite] - fitted
        return gap

    def _close(self, gap: Vector, found: Vector) -> npt.NDArray[np.bool_]:
        """Whether a gap is within RTOL of the number's size (at the base or where built)."""
        scale = np.maximum(np.abs(found), np.abs(self._base))
        return np.isinf(scale) | (np.abs(gap) <= RTOL * scale)

    def _predict(self, x: Vector) -> Vector:
        """The moved numbers at `x`: the base plus each term (parameter or pair) times its
        steps from the centre."""
        moved: Vector = self._base[self._moved] + self._columns @ self._factors(x)
        return moved

    def solve(self, prices: bool = True) -> Solution:
        """The moved model solved by the Warm given at the start (an LP warm from the base
        basis, its moved numbers handed straight to HiGHS; a MILP, or an LP of a structure
        other than the one HiGHS holds, from PuLP's model, cold, as planner solve)."""
        if self.warm is None:
            raise PlannerError("this Linear was made without a Warm to solve with")
        backend = self.warm._backend
        model = self._model
        if backend is not None and not model.choices and backend.holds(self._numbers):
            # pushed into the LP HiGHS holds; planner reads the plan's value from PuLP's objective
            backend.given = _from_vector(self._numbers, self._current[: self._cut[5] + 1])
            self._sync(everything=False)
        else:
            self._sync(everything=True)  # solved from PuLP's model: all of it moved
        return self.warm.solve(model, prices)

    @property
    def model(self) -> Model:
        """The base model with every number moved to the last `move`'s (PuLP's copy brought up
        to date here: a probe that only solves does not pay for writing what it never reads)."""
        self._sync(everything=True)
        return self._model

    def move(self, x: Sequence[float], instance: Instance) -> None:
        """Move the model's numbers to those at parameter values `x`, and its instance to
        `instance` (the probe's, validated by the caller)."""
        if self.refusal is not None:
            raise PlannerError(f"cannot move the model: {self.refusal}")
        self._current[self._moved] = self._predict(np.array(x, dtype=np.float64))
        self._model.instance = instance

    def _sync(self, everything: bool) -> None:
        """Write the moved numbers that PuLP does not hold yet (or only the objective's)."""
        stale = self._moved[self._current[self._moved] != self._written[self._moved]]
        if not everything:
            stale = stale[self._objective[stale]]
        self._write(stale, self._current[stale])
        self._written[stale] = self._current[stale]

    def _write(self, positions: npt.NDArray[np.int64], values: Vector) -> None:
        """Put numbers, by their place in the vector, into the PuLP model."""
        # where each part of the vector ends (the offset sits at `entries`, figures follow)
        costs, lowers, uppers, _, bounds, entries = self._cut
        rows = len(self._rows)
        problem = self._model.problem
        objective: Any = problem.objective  # a copy of PuLP's: put back whole once changed
        objective_moved = False
        for at, value in zip(positions.tolist(), values.tolist(), strict=True):
            if at < costs:
                objective[self._variables[at]] = value
                objective_moved = True
            elif at < lowers:
                self._variables[at - costs].lowBound = value
            elif at < uppers:
                self._variables[at - lowers].upBound = value
            elif at < bounds:  # a row's finite bound (only those move): its rhs
                self._rows[(at - uppers) % rows].changeRHS(value)
            elif at < entries:
                row, col = self._entries[at - bounds]
                self._rows[row][self._variables[col]] = value
            elif at == entries:
                objective.constant = value
                objective_moved = True
            else:
                self._write_figure(self._keys[at - entries - 1], value)
        if objective_moved:
            problem.objective = objective

    def _write_figure(self, key: Figure, value: float) -> None:
        """Put one of `_figures`'s numbers into the model."""
        model = self._model
        if key[0] == "registry":
            rule, row = model.registry[key[1]]
            moved = replace(rule, rhs=value) if key[2] == "rhs" else replace(rule, per=value)
            model.registry[key[1]] = (moved, row)
        elif len(key) == 2:
            getattr(model, key[0])[key[1]] = value
        elif key[2] is None:  # an expression's constant, by its position
            getattr(model, key[0]).constants[key[3]] = value
        else:  # a term's coefficient, by its position
            getattr(model, key[0]).coefficients[key[3]] = value


# --- running a task over probes --------------------------------------------------------------


class Task(Protocol[S, P, R]):  # type: ignore[misc]
    """A sweep: `setup` once per process (build and solve the base), then one call per probe.
    It must pickle (it travels to worker processes) and a probe's result may depend only on
    the task and the probe."""

    def setup(self) -> S: ...

    def __call__(self, state: S, probe: P, /) -> R: ...


_STATES: dict[str, Any] = {}  # per process: the set-up state of the task being run


@dataclass(frozen=True)
class _Failure:
    """An error raised on a worker, carried back intact (PlannerError subclasses take other
    arguments than their message, so plain pickling would lose them)."""

    kind: type[BaseException]
    state: dict[str, Any]
    args: tuple[Any, ...]

    def error(self) -> BaseException:
        exc = self.kind.__new__(self.kind)
        exc.__dict__.update(self.state)
        exc.args = self.args
        return exc


@dataclass(frozen=True)
class _Chunk[P]:
    token: str
    first: int
    probes: tuple[P, ...]


def _solve_chunk[P, R](task: Task[Any, P, R], chunk: _Chunk[P]) -> list[R] | _Failure:
    """A chunk of probes on this process: the task set up once per process, then each probe."""
    try:
        if chunk.token not in _STATES:
            _STATES.clear()
            _STATES[chunk.token] = task.setup()
        state = _STATES[chunk.token]
        return [task(state, probe) for probe in chunk.probes]
    except PlannerError as exc:
        return _Failure(type(exc), dict(exc.__dict__), exc.args)


def chunks(count: int, parts: int) -> list[range]:
    """`count` probes in at most `parts` contiguous chunks of near-equal size, in order."""
    parts = max(1, min(parts, count))
    size = math.ceil(count / parts) if count else 0
    return [range(i, min(i + size, count)) for i in range(0, count, size)] if count else []


def run[P, R](
    task: Task[Any, P, R],
    probes: Sequence[P],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> list[R]:
    """`task` on every probe, results in probe order: serially (workers 1), over `workers` local
    processes, or on the Dask cluster at `scheduler`. The results are the same whichever way
    (each probe starts from the base, never from another probe). The first error in probe
    order is raised, as a serial run would."""
    if workers < 1:
        raise ValueError(f"workers must be 1 or more (got {workers})")
    total = len(probes)
    if scheduler is None and (workers == 1 or total <= 1):
        state = task.setup()
        results = []
        for k, probe in enumerate(probes):
            results.append(task(state, probe))
            if progress is not None:
                progress(k + 1, total)
        return results
    token = uuid.uuid4().hex
    parts = chunks(total, workers * CHUNKS_PER_WORKER)
    work = [_Chunk(token, r.start, tuple(probes[i] for i in r)) for r in parts]
    if scheduler is not None:
        outcomes = _on_dask(task, work, scheduler, total, progress)
    else:
        outcomes = _on_processes(task, work, workers, total, progress)
    gathered: list[R] = []
    for outcome in outcomes:
        if isinstance(outcome, _Failure):
            raise outcome.error()
        gathered += outcome
    return gathered


class _Processes:
    """Local worker processes, started when a sweep first needs them (spawned: HiGHS's threads
    do not survive a fork)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool: ProcessPoolExecutor | None = None

    def executor(self) -> Executor:
        if self.pool is None:
            import multiprocessing

            context = multiprocessing.get_context("spawn")
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


_PROCESSES: ContextVar[_Processes | None] = ContextVar("planner_processes", default=None)


@contextlib.contextmanager
def processes(workers: int) -> Iterator[None]:
    """Every local sweep of `workers` processes inside the block runs on one pool, started
    when the first needs it: each process starts and imports planner once, not once a sweep.
    The results are the same (each sweep's set-up is still per sweep and per process)."""
    shared = _Processes(workers)
    token = _PROCESSES.set(shared)
    try:
        yield
    finally:
        _PROCESSES.reset(token)
        shared.close()


def _on_processes[P, R](
    task: Task[Any, P, R],
    work: list[_Chunk[P]],
    workers: int,
    total: int,
    progress: Progress | None,
) -> list[list[R] | _Failure]:
    """The chunks over local processes: the block's (`processes`) if it has as many, else a
    pool of their own for this sweep."""
    shared = _PROCESSES.get()
    if shared is not None and shared.workers == workers:
        return _on_pool(shared.executor(), task, work, total, progress)
    own = _Processes(min(workers, len(work)))
    try:
        return _on_pool(own.executor(), task, work, total, progress)
    finally:
        own.close()


def _on_pool[P, R](
    pool: Executor,
    task: Task[Any, P, R],
    work: list[_Chunk[P]],
    total: int,
    progress: Progress | None,
) -> list[list[R] | _Failure]:
    """The chunks on `pool`, gathered as they finish."""
    futures = {pool.submit(_solve_chunk, task, chunk): i for i, chunk in enumerate(work)}
    finished = ((futures[f], f.result()) for f in as_completed(futures))
    return _gather(finished, work, total, progress)


def _on_dask[P, R](
    task: Task[Any, P, R],
    work: list[_Chunk[P]],
    scheduler: str,
    total: int,
    progress: Progress | None,
) -> list[list[R] | _Failure]:
    """The chunks on the Dask cluster whose scheduler is at `scheduler`."""
    try:
        import distributed
    except ImportError:
        raise PlannerError(
            "--scheduler needs Dask's distributed package, which is not installed: "
            'pip install "planner[dask]" (or leave out --scheduler to run here)'
        ) from None
    try:
        dask: Any = distributed
        client = dask.Client(scheduler, timeout=30)
    except (OSError, TimeoutError, ValueError) as exc:
        raise PlannerError(
            f"cannot reach the Dask scheduler at {scheduler}: {exc}; check the address "
            "(tcp://host:8786) and that the scheduler is running"
        ) from None
    try:
        futures = [
            client.submit(_solve_chunk, task, chunk, key=f"planner-{chunk.token}-{i}", pure=False)
            for i, chunk in enumerate(work)
        ]
        index = {future.key: i for i, future in enumerate(futures)}
        finished = ((index[f.key], f.result()) for f in dask.as_completed(futures))
        return _gather(finished, work, total, progress)
    finally:
        client.close()


def _gather[P, R](
    finished: Iterable[tuple[int, list[R] | _Failure]],
    work: list[_Chunk[P]],
    total: int,
    progress: Progress | None,
) -> list[list[R] | _Failure]:
    """Each chunk's outcome, in chunk order, from (chunk, outcome) pairs as they finish; the
    progress reported as each arrives."""
    outcomes: list[list[R] | _Failure | None] = [None] * len(work)
    done = 0
    for i, outcome in finished:
        outcomes[i] = outcome
        done += len(work[i].probes)
        if progress is not None:
            progress(done, total)
    return [o for o in outcomes if o is not None]


__all__ = ["Task", "Warm", "chunks", "processes", "run"]
