"""Sensitivity: how far the numbers behind a plan can move before its prices or its mix change,
and how the objective responds to the envelope and to the level of a floor.

- `ranges`: for every named row, the right-hand sides over which its shadow price holds; for every
  intervention (every plan year, and all years together), how far its unit cost (or a supply
  option's price) and its health gain can move before the plan changes.
- `envelope_frontier`: the objective against the envelope, every year scaled together, with the
  breakpoints where the mix changes.
- `floor_tradeoff`: the objective against the level of one floor, with its breakpoints.

The solver named solves the plan, and every MILP; the LP work (ranging, parametric searches) is
done by HiGHS in-process on the same LP (for a MILP, the LP with every yes/no choice fixed),
because it can be re-solved warm thousands of times a second and the quantities computed here
(optimal values, the range of a given price, where an optimal solution stops being optimal) do not
depend on which solver computes them. The definitions are in docs/sensitivity.md.

The independent solves are sweeps (planner/sweep.py), serial, over local processes or on a Dask
cluster with the same results whichever way: a MILP curve's grid points (its switches are then
found between them, in order), and the ranges, each row's and each intervention's on its own
from the plan's optimal basis.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from planner import sweep
from planner.build import MONEY_SCALE, Key, Model, Rule, build
from planner.errors import NoPlanError, PlannerError
from planner.load import load
from planner.result import (
    clean,
    no_plan_message,
    objective_unit,
    summary_table,
    tranche_health,
)
from planner.schema import Envelope, Instance
from planner.solve import SolverName, Status, quiet_stdout, solve
from planner.sweep import Warm
from planner.validate import validate

Vector = npt.NDArray[np.float64]
Progress = Callable[[str, int, int], None]  # (stage, solves or searches done, in all)
INF = math.inf
TOLERANCE = 1e-8  # funded: units above this; tight: slack within this share of the bound
VALUE_TOLERANCE = 1e-9  # objective values agree to this share (or absolutely, near zero)
KINK_TOLERANCE = 1e-7  # a breakpoint is kept where the objective leaves a line by this share
COST_PRECISION = 1e-9  # cost ranges are found to this share of the cost (or of 1)
COST_CEILING = 1024.0  # a cost is searched up to this many times its value (or 1)
GAIN_CEILING = 1e4  # a gain is searched up to this many times its size (or 0.001)
PRICE_REACH = 1e3  # a row's price range is searched this many times its size (or 1) either way
FEASIBILITY_TOLERANCE = 1e-9  # HiGHS's primal and dual feasibility tolerances here
MAX_PROBES = 20_000  # a parametric search that needs more solves than this has gone wrong

CHOICE_FAMILIES = {"exclusive_choice", "start_if_new", "start_only_if_on", "start_only_if_new"}
SWITCHED_FAMILIES = {"option_capacity", "minimum_volume", "shared_use", "shared_capacity"}

FRONTIER_COLUMNS = [
    "scale", "envelope", "objective", "objective_unit", "health_gain", "spend", "status",
    "breakpoint",
]  # fmt: skip
FRONTIER_BREAK_COLUMNS = [
    "scale", "envelope", "objective", "health_gain", "kind", "slope_before", "slope_after",
    "slope_unit", "jump", "enters", "leaves", "limits_reached", "limits_released", "choices",
]  # fmt: skip
TRADEOFF_COLUMNS = [
    "floor", "level", "objective", "objective_unit", "health_gain", "spend", "status",
    "breakpoint",
]  # fmt: skip
TRADEOFF_BREAK_COLUMNS = [
    "floor", "level", "objective", "health_gain", "kind", "slope_before", "slope_after",
    "slope_unit", "jump", "enters", "leaves", "limits_reached", "limits_released", "choices",
]  # fmt: skip
PRICE_RANGE_COLUMNS = [
    "family", "constraint", "subject", "year", "rule", "sense", "unit", "rhs", "dual", "per",
    "value_of_relaxing", "objective_unit", "lower_rhs", "upper_rhs", "objective_at_lower",
    "objective_at_upper", "explanation",
]  # fmt: skip
INTERVENTION_RANGE_COLUMNS = [
    "intervention", "option", "name", "year", "parameter", "unit", "value", "lower", "upper",
    "units", "below_lower", "above_upper", "explanation",
]  # fmt: skip


@dataclass(frozen=True)
class Frontier:
    """The objective against the envelope (every year scaled together): `points` on a grid plus
    every breakpoint, and `breakpoints`, where the mix changes (columns in docs/sensitivity.md)."""

    points: pd.DataFrame
    breakpoints: pd.DataFrame


@dataclass(frozen=True)
class Tradeoff:
    """The objective against the level of one floor: `points` and `breakpoints`, as Frontier."""

    points: pd.DataFrame
    breakpoints: pd.DataFrame


@dataclass(frozen=True)
class Ranges:
    """`prices`: each row's shadow price and the right-hand sides over which it holds;
    `interventions`: how far each unit cost, option price and health gain can move before the
    plan changes."""

    prices: pd.DataFrame
    interventions: pd.DataFrame


# --- the LP as data --------------------------------------------------------------------------


@dataclass
class _LP:
    """A model's LP as arrays: columns (variables), rows (the registry's, in order), matrix
    entries, bounds and objective. Yes/no variables are continuous here (fixed, for a MILP)."""

    columns: list[str]
    col_lower: Vector
    col_upper: Vector
    cost: Vector
    offset: float
    rows: list[tuple[str, Key]]
    row_lower: Vector
    row_upper: Vector
    entries: dict[tuple[int, int], float]
    maximise: bool

    @property
    def sign(self) -> float:
        """+1 when maximising, -1 when minimising: sign x objective is to be made larger."""
        return 1.0 if self.maximise else -1.0


@dataclass
class _Direction:
    """How an LP moves per unit of a parameter: row bounds, costs, offset and matrix entries."""

    rhs: Vector  # change of each row's finite bound(s)
    cost: Vector
    offset: float
    entries: dict[tuple[int, int], float]

    @property
    def rhs_only(self) -> bool:
        return not self.entries and not self.cost.any()

    def on_columns(self, columns: set[int]) -> _Direction:
        """The same change restricted to `columns` (costs and entries only)."""
        cost = np.where([j in columns for j in range(len(self.cost))], self.cost, 0.0)
        entries = {(i, j): v for (i, j), v in self.entries.items() if j in columns}
        return _Direction(np.zeros_like(self.rhs), cost, 0.0, entries)


def _extract(model: Model, fixed: Mapping[str, float] | None = None) -> _LP:
    """The LP of a built model; variables named in `fixed` have both bounds at that value."""
    variables = model.problem.variables()
    columns = [v.name for v in variables]
    index = {name: j for j, name in enumerate(columns)}
    lower = np.array([-INF if v.lowBound is None else float(v.lowBound) for v in variables])
    upper = np.array([INF if v.upBound is None else float(v.upBound) for v in variables])
    for name, value in (fixed or {}).items():
        lower[index[name]] = upper[index[name]] = value
    cost = np.zeros(len(columns))
    objective = model.problem.objective
    offset = 0.0
    if objective is not None:
        for var, coefficient in objective.items():
            cost[index[var.name]] += coefficient
        offset = float(objective.constant)
    rows = list(model.registry)
    row_lower = np.full(len(rows), -INF)
    row_upper = np.full(len(rows), INF)
    entries: dict[tuple[int, int], float] = {}
    for i, key in enumerate(rows):
        _, constraint = model.registry[key]
        for var, coefficient in constraint.items():
            if coefficient:
                entries[(i, index[var.name])] = float(coefficient)
        low, up = constraint.getLb(), constraint.getUb()
        row_lower[i] = -INF if low is None else float(low)
        row_upper[i] = INF if up is None else float(up)
    if len(rows) != model.problem.numConstraints():
        raise RuntimeError("every row of the model must be in its registry")
    return _LP(
        columns, lower, upper, cost, offset, rows, row_lower, row_upper, entries, model.maximise
    )


def _fixed(lp: _LP, values: Mapping[str, float]) -> _LP:
    """A copy of `lp` with the named columns fixed at the given values."""
    index = {name: j for j, name in enumerate(lp.columns)}
    lower, upper = lp.col_lower.copy(), lp.col_upper.copy()
    for name, value in values.items():
        lower[index[name]] = upper[index[name]] = value
    return _LP(
        lp.columns,
        lower,
        upper,
        lp.cost,
        lp.offset,
        lp.rows,
        lp.row_lower,
        lp.row_upper,
        lp.entries,
        lp.maximise,
    )


def _difference(base: _LP, moved: _LP) -> _Direction:
    """moved - base: the change of the LP per unit of a parameter that moved by 1 between them
    (exact when the parameter enters the LP linearly, as every parameter here does). Both must
    have the same rows and columns, and a row's open side must stay open."""
    if base.columns != moved.columns or base.rows != moved.rows:
        raise RuntimeError("the parameter changed the model's rows or columns")
    open_low, open_up = np.isinf(base.row_lower), np.isinf(base.row_upper)
    if not (
        np.array_equal(open_low, np.isinf(moved.row_lower))
        and np.array_equal(open_up, np.isinf(moved.row_upper))
    ):
        raise RuntimeError("the parameter opened or closed a side of a row")
    zeros = np.zeros(len(base.rows))
    lower = np.subtract(moved.row_lower, base.row_lower, out=zeros.copy(), where=~open_low)
    upper = np.subtract(moved.row_upper, base.row_upper, out=zeros.copy(), where=~open_up)
    both = ~open_low & ~open_up
    if not np.allclose(lower[both], upper[both], rtol=1e-12, atol=1e-9):
        raise RuntimeError("the parameter moved the two sides of a row differently")
    rhs = np.where(open_up, lower, upper)
    size = np.abs(np.where(open_up, base.row_lower, base.row_upper))
    rhs[np.abs(rhs) <= 1e-12 * np.maximum(1.0, size)] = 0.0  # rounding, not a change
    cost = moved.cost - base.cost
    cost[np.abs(cost) <= 1e-12 * np.maximum(1.0, np.abs(base.cost))] = 0.0
    entries = {}
    for key in base.entries.keys() | moved.entries.keys():
        change = moved.entries.get(key, 0.0) - base.entries.get(key, 0.0)
        if abs(change) > 1e-12 * max(1.0, abs(base.entries.get(key, 0.0))):
            entries[key] = change
    return _Direction(rhs, cost, moved.offset - base.offset, entries)


# --- HiGHS in-process ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    """One solve: status, objective (with its constant), column values, row activities, duals
    (change in the objective per +1 of each row's bound, in the objective's own sense)."""

    status: str
    objective: float = math.nan
    x: Vector = field(default_factory=lambda: np.zeros(0))
    activity: Vector = field(default_factory=lambda: np.zeros(0))
    duals: Vector = field(default_factory=lambda: np.zeros(0))

    @property
    def optimal(self) -> bool:
        return self.status == Status.OPTIMAL.value


class _Highs:
    """An LP held by HiGHS, changed in place and re-solved."""

    def __init__(self, lp: _LP) -> None:
        import highspy  # after pulp (imported by planner.build), as PuLP asks

        self.highspy: Any = highspy
        with quiet_stdout():
            self.h: Any = self.highspy.Highs()
        self.h.setOptionValue("output_flag", False)
        # tighter than HiGHS's 1e-7: breakpoints and ranges are read off these solutions
        self.h.setOptionValue("primal_feasibility_tolerance", FEASIBILITY_TOLERANCE)
        self.h.setOptionValue("dual_feasibility_tolerance", FEASIBILITY_TOLERANCE)
        self.lp = lp
        n, m = len(lp.columns), len(lp.rows)
        empty_i, empty_f = np.zeros(0, dtype=np.int32), np.zeros(0)
        self.h.addCols(n, lp.cost, lp.col_lower, lp.col_upper, 0, empty_i, empty_i, empty_f)
        ordered = sorted(lp.entries.items())
        starts = np.searchsorted(
            np.array([i for (i, _), _ in ordered], dtype=np.int64), np.arange(m)
        ).astype(np.int32)
        indices = np.array([j for (_, j), _ in ordered], dtype=np.int32)
        values = np.array([v for _, v in ordered], dtype=np.float64)
        if m:
            self.h.addRows(m, lp.row_lower, lp.row_upper, len(values), starts, indices, values)
        sense = highspy.ObjSense.kMaximize if lp.maximise else highspy.ObjSense.kMinimize
        self.h.changeObjectiveSense(sense)
        self.h.changeObjectiveOffset(lp.offset)
        self.basis: Any = None

    def run(self) -> _Outcome:
        """Solve from the remembered basis (or cold), so a result depends only on the data:
        nothing of the previous solve is kept (HiGHS would otherwise carry some of its state
        into the next solve, and a range could differ with the solves made before it)."""
        self.h.clearSolver()
        if self.basis is not None:
            self.h.setBasis(self.basis)
        self.h.run()
        status = self._status()
        if status == "unknown":  # presolve could not tell infeasible from unbounded
            self.h.setOptionValue("presolve", "off")
            self.h.clearSolver()
            self.h.run()
            status = self._status()
            outcome = self._outcome(status)
            self.h.setOptionValue("presolve", "choose")
            return outcome
        return self._outcome(status)

    def _outcome(self, status: str) -> _Outcome:
        if status != Status.OPTIMAL.value:
            return _Outcome(status if status != "unknown" else Status.ERROR.value)
        solution = self.h.getSolution()
        return _Outcome(
            status,
            float(self.h.getInfo().objective_function_value),
            np.array(solution.col_value, dtype=np.float64),
            np.array(solution.row_value, dtype=np.float64),
            np.array(solution.row_dual, dtype=np.float64),
        )

    def remember_basis(self) -> None:
        """Start every later solve from the current optimal basis."""
        self.basis = self.h.getBasis()

    def _status(self) -> str:
        statuses = self.highspy.HighsModelStatus
        status = self.h.getModelStatus()
        if status == statuses.kOptimal:
            return Status.OPTIMAL.value
        if status == statuses.kInfeasible:
            return Status.INFEASIBLE.value
        if status == statuses.kUnbounded:
            return Status.UNBOUNDED.value
        if status == statuses.kUnboundedOrInfeasible:
            return "unknown"
        return Status.ERROR.value


class _Path:
    """An LP moving along a direction: LP(t) = LP(0) + t x direction, solved by HiGHS. Paths
    may share one HiGHS model (`highs`); `reset` puts the data of t = 0 back."""

    def __init__(self, lp: _LP, direction: _Direction, highs: _Highs | None = None) -> None:
        self.lp = lp
        self.direction = direction
        self.rows = np.flatnonzero(direction.rhs).astype(np.int32)
        self.costs = np.flatnonzero(direction.cost).astype(np.int32)
        self.t = 0.0
        self.solves = 0
        if highs is None:
            highs = _Highs(lp)
            start = highs.run()
            if start.optimal:
                highs.remember_basis()
        self.highs = highs

    def bounds(self, t: float) -> tuple[Vector, Vector]:
        """Row bounds at t."""
        lp, rhs = self.lp, self.direction.rhs
        lower = lp.row_lower + np.where(np.isinf(lp.row_lower), 0.0, t * rhs)
        upper = lp.row_upper + np.where(np.isinf(lp.row_upper), 0.0, t * rhs)
        return lower, upper

    def apply(self, t: float) -> None:
        """Put the data of t into the HiGHS model."""
        h, d, lp = self.highs.h, self.direction, self.lp
        if len(self.rows):
            lower, upper = self.bounds(t)
            h.changeRowsBounds(len(self.rows), self.rows, lower[self.rows], upper[self.rows])
        if len(self.costs):
            h.changeColsCost(
                len(self.costs), self.costs, lp.cost[self.costs] + t * d.cost[self.costs]
            )
        for (i, j), change in d.entries.items():
            h.changeCoeff(i, j, lp.entries.get((i, j), 0.0) + t * change)
        if d.offset:
            h.changeObjectiveOffset(lp.offset + t * d.offset)
        self.t = t

    def reset(self) -> None:
        self.apply(0.0)

    def at(self, t: float) -> _Outcome:
        """Solve the LP at t."""
        self.solves += 1
        if self.solves > MAX_PROBES:
            raise RuntimeError("a parametric search did not converge")
        self.apply(t)
        return self.highs.run()

    def slope(self, outcome: _Outcome) -> float:
        """d objective / dt at an optimum, for a direction without matrix changes: a
        supergradient (maximising over rows) or subgradient (over costs) of the optimal value."""
        d = self.direction
        return float(outcome.duals @ d.rhs + outcome.x @ d.cost + d.offset)


def _feasible_range(
    lp: _LP, direction: _Direction, low: float, high: float, integer: Iterable[int] = ()
) -> tuple[float, float] | None:
    """The smallest and largest t in [low, high] at which LP(t) has a feasible solution, found
    exactly by minimising and maximising t over (x, t); None when there is none. For an LP
    moving only its right-hand sides every t between the two is feasible too. With `integer`
    columns this is the MILP's range (which may have gaps)."""
    highs = _Highs(lp)
    h = highs.h
    n = len(lp.columns)
    whole = np.array(sorted(integer), dtype=np.int32)
    if len(whole):
        kinds = np.full(len(whole), highs.highspy.HighsVarType.kInteger, dtype=np.uint8)
        h.changeColsIntegrality(len(whole), whole, kinds)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", 0.0)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.zeros(n))
    h.changeObjectiveOffset(0.0)
    rows = np.flatnonzero(direction.rhs).astype(np.int32)
    h.addCols(
        1,
        np.array([1.0]),
        np.array([low]),
        np.array([high]),
        len(rows),
        np.zeros(1, dtype=np.int32),
        rows,
        -direction.rhs[rows],
    )
    ends = []
    for sense in (highs.highspy.ObjSense.kMinimize, highs.highspy.ObjSense.kMaximize):
        h.changeObjectiveSense(sense)
        outcome = highs.run()
        if outcome.status == Status.INFEASIBLE.value:
            return None
        if not outcome.optimal:
            raise RuntimeError(f"HiGHS could not find the feasible range ({outcome.status})")
        ends.append(float(outcome.x[n]))
    return ends[0], ends[1]


# --- reading a solution in business terms ----------------------------------------------------


@dataclass(frozen=True)
class _Mix:
    """What a plan funds and which limits it reaches: intervention-years with units, and the
    rows (other than `==` rows) at their bound."""

    funded: frozenset[tuple[str, int]]
    tight: frozenset[int]
    full: frozenset[tuple[str, int, int]] = frozenset()  # (intervention, tranche, year) filled


Linear = tuple[npt.NDArray[np.intp], Vector, float]


def _linear(expression: Any, index: Mapping[str, int]) -> Linear:
    """An expression as (column indices, coefficients, constant)."""
    pairs = [(index[var.name], float(c)) for var, c in expression.items()]
    return (
        np.array([j for j, _ in pairs], dtype=np.intp),
        np.array([c for _, c in pairs], dtype=np.float64),
        float(expression.constant),
    )


def _at(linear: Linear, x: Vector) -> float:
    columns, coefficients, constant = linear
    return float(coefficients @ x[columns] + constant)


class _Reader:
    """Reads a solution of a model's LP as the plan tables would: units, discounted health gain
    (tranches filled in order), spend, and the mix."""

    def __init__(self, model: Model, lp: _LP) -> None:
        index = {name: j for j, name in enumerate(lp.columns)}
        self.model = model
        self.lp = lp
        self.unit_columns = {
            key: np.array([index[v.name] for v in variables], dtype=np.intp)
            for key, variables in model.unit_variables.items()
        }
        self.spend = {year: _linear(e, index) for year, e in model.spend.items()}
        self.level = {key: _linear(e, index) for key, e in model.level.items()}
        self.rules: list[Rule] = [model.registry[key][0] for key in lp.rows]
        self.carry = {year: index[v.name] for year, v in model.carry.items()}
        # rows about yes/no choices are described by the choices, not as limits
        self.switch: dict[int, int] = {}
        self.choice_rows: set[int] = set()
        for i, rule in enumerate(self.rules):
            if rule.family in CHOICE_FAMILIES:
                self.choice_rows.add(i)
            on = (model.opened if rule.family == "shared_capacity" else model.chosen).get(
                rule.key  # type: ignore[arg-type]
            )
            if rule.family in SWITCHED_FAMILIES and on is not None:
                self.switch[i] = index[on.name]
        self.tranches = [
            (iid, j + 1, year, index[v.name])
            for (iid, year), variables in model.unit_variables.items()
            if model.instance.interventions[iid].tranches
            for j, v in enumerate(variables)
            if v.upBound is not None and math.isfinite(v.upBound)
        ]
        self.choice_label = {v.name: f"{i}.{o} {y}" for (i, o, y), v in model.chosen.items()}
        self.choice_label |= {v.name: f"{s} {y}" for (s, y), v in model.opened.items()}
        self.choice_label |= {v.name: f"{i} {y}" for (i, y), v in model.funded.items()}

    def units(self, x: Vector) -> dict[tuple[str, int], float]:
        return {key: float(x[cols].sum()) for key, cols in self.unit_columns.items()}

    def health(self, x: Vector) -> float:
        """Discounted health gain: units' own gain (tranches in order) plus outcome changes."""
        instance = self.model.instance
        units = self.units(x)
        total = 0.0
        for year in self.model.years:
            gain = sum(
                tranche_health(self.model, iid, max(0.0, units[(iid, year)]))
                for iid in instance.interventions
            )
            gain += sum(
                o.health_gain_per_event * (_at(self.level[(oid, year)], x) - o.baseline)
                for oid, o in instance.outcomes.items()
            )
            total += instance.discount(year) * gain
        return clean(total)

    def total_spend(self, x: Vector) -> float:
        return clean(sum(_at(linear, x) for linear in self.spend.values()))

    def mix(self, outcome: _Outcome, lower: Vector, upper: Vector) -> _Mix:
        funded = frozenset(k for k, u in self.units(outcome.x).items() if u > TOLERANCE)
        tight = []
        for i, rule in enumerate(self.rules):
            if rule.sense == "==" or i in self.choice_rows:
                continue
            if i in self.switch and outcome.x[self.switch[i]] < 0.5:
                continue  # the row of an option or shared service not chosen
            value = outcome.activity[i]
            if rule.family == "envelope" and rule.year in self.carry:
                carried = outcome.x[self.carry[rule.year]]
                if carried > TOLERANCE * max(1.0, abs(upper[i])):
                    continue  # money is left over and carried: the envelope is not exhausted
            for bound in (lower[i], upper[i]):
                if math.isfinite(bound) and abs(value - bound) <= TOLERANCE * max(1.0, abs(bound)):
                    tight.append(i)
                    break
        full = frozenset(
            (iid, j, year)
            for iid, j, year, col in self.tranches
            if outcome.x[col]
            >= self.lp.col_upper[col] - TOLERANCE * max(1.0, self.lp.col_upper[col])
        )
        return _Mix(funded, frozenset(tight), full)

    def changes(self, before: _Mix | None, after: _Mix | None) -> dict[str, str]:
        """What enters and leaves the plan, and the limits reached and released, in words."""
        empty = _Mix(frozenset(), frozenset())
        old, new = before or empty, after or empty
        return {
            "enters": _funded_text(new.funded - old.funded),
            "leaves": _funded_text(old.funded - new.funded),
            "limits_reached": _join(
                self._rows_text(new.tight - old.tight), _tranches_text(new.full - old.full)
            ),
            "limits_released": _join(
                self._rows_text(old.tight - new.tight), _tranches_text(old.full - new.full)
            ),
        }

    def choices_text(self, before: Mapping[str, float], after: Mapping[str, float]) -> str:
        """Yes/no choices switched on and off between two sets of fixed values."""
        on = sorted(self.choice_label[n] for n, v in after.items() if v > 0.5 >= before.get(n, 0))
        off = sorted(self.choice_label[n] for n, v in before.items() if v > 0.5 >= after.get(n, 0))
        parts = ([f"on: {', '.join(on)}"] if on else []) + (
            [f"off: {', '.join(off)}"] if off else []
        )
        return "; ".join(parts)

    def _rows_text(self, rows: Iterable[int]) -> str:
        grouped: dict[str, list[int]] = {}
        for i in sorted(rows):
            rule = self.rules[i]
            label = rule.family + (f" {rule.subject}" if rule.subject != rule.family else "")
            grouped.setdefault(label, [])
            if rule.year is not None:
                grouped[label].append(rule.year)
        return ", ".join(f"{label} {_years_text(ys)}".strip() for label, ys in grouped.items())


def _join(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


def _tranches_text(full: Iterable[tuple[str, int, int]]) -> str:
    grouped: dict[tuple[str, int], list[int]] = {}
    for iid, j, year in sorted(full):
        grouped.setdefault((iid, j), []).append(year)
    return ", ".join(f"tranche {j} of {iid} {_years_text(ys)}" for (iid, j), ys in grouped.items())


def _funded_text(funded: Iterable[tuple[str, int]]) -> str:
    grouped: dict[str, list[int]] = {}
    for iid, year in sorted(funded):
        grouped.setdefault(iid, []).append(year)
    return ", ".join(f"{iid} {_years_text(ys)}" for iid, ys in grouped.items())


def _years_text(years: list[int]) -> str:
    """2014-2016, or 2014, 2016."""
    years = sorted(set(years))
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ", ".join(map(str, years))


def _figures(value: float, digits: int, scale: float | None = None) -> float:
    """`value` rounded to `digits` significant figures of `scale` (default: of itself), so that
    an end found to within solver tolerance reads as the number it is."""
    size = abs(value) if scale is None else abs(scale)
    if value == 0 or size == 0 or not math.isfinite(value):
        return clean(value)
    decimals = digits - 1 - math.floor(math.log10(size))
    return clean(round(value, decimals))


# --- breakpoints of a parametric LP ----------------------------------------------------------


@dataclass(frozen=True)
class _Probe:
    t: float
    value: float
    slope: float
    outcome: _Outcome


def _probe(path: _Path, t: float) -> _Probe:
    outcome = path.at(t)
    if outcome.status == Status.UNBOUNDED.value:
        raise NoPlanError(
            outcome.status,
            "the objective can grow without limit; an intervention adds health gain with "
            "nothing limiting it: give it max_units or a unit_cost within an envelope",
        )
    if not outcome.optimal:
        raise RuntimeError(
            f"the LP has no optimum at a point of its feasible range ({outcome.status})"
        )
    return _Probe(t, outcome.objective, path.slope(outcome), outcome)


def _probe_inside(path: _Path, t: float, towards: float) -> _Probe:
    """A probe at t, or as near it towards `towards` as HiGHS finds an optimum: an end of a
    feasible range found exactly can be infeasible within HiGHS's tolerance."""
    for k in range(8):
        at = t + (towards - t) * (1e-12 * 10**k if k else 0.0)
        if path.at(at).optimal:
            return _probe(path, at)
    return _probe(path, t)


def _close(a: float, b: float, share: float = VALUE_TOLERANCE) -> bool:
    return abs(a - b) <= share * max(1.0, abs(a), abs(b))


def _kinks(path: _Path, a: float, b: float) -> list[_Probe]:
    """The exact breakpoints of the optimal value of a right-hand-side path on [a, b], where it
    is feasible throughout: probes at a, b and every breakpoint, linear in between.

    The optimal value is concave (maximising) in t, and each probe's slope is a supergradient.
    The lines through two probes meet at t*: if the value at t* is on them, t* is the only
    breakpoint between the probes; otherwise t* splits the interval (Eisner and Severance).
    """
    sign = path.lp.sign
    first = _probe_inside(path, a, b)
    if b <= a:
        return [first]
    last = _probe_inside(path, b, a)
    a, b = first.t, last.t
    found = {a: first, b: last}
    nearly = 1e-9 * (b - a)
    stack = [(first, last)]
    while stack:
        left, right = stack.pop()
        if right.t - left.t <= nearly:
            continue
        gl, gr, sl, sr = (
            sign * left.value,
            sign * right.value,
            sign * left.slope,
            sign * right.slope,
        )
        if sl - sr <= 1e-12 * max(1.0, abs(sl), abs(sr)):
            continue  # the same slope at both ends: linear in between
        t = (gr - gl + sl * left.t - sr * right.t) / (sl - sr)
        if t <= left.t + nearly or t >= right.t - nearly:
            continue  # one probe's line passes through the other probe: linear in between
        middle = _probe(path, t)
        found[t] = middle
        if _close(sign * middle.value, gl + sl * (t - left.t)):
            continue  # on both lines: the only breakpoint of the interval
        stack += [(left, middle), (middle, right)]
    return _straighten(sorted(found.values(), key=lambda p: p.t))


def _straighten(probes: list[_Probe]) -> list[_Probe]:
    """Drop interior probes where the objective does not bend (within KINK_TOLERANCE)."""
    kept = list(probes)
    changed = True
    while changed and len(kept) > 2:
        changed = False
        for k in range(1, len(kept) - 1):
            before, here, after = kept[k - 1], kept[k], kept[k + 1]
            share = (here.t - before.t) / (after.t - before.t)
            chord = before.value + share * (after.value - before.value)
            if _close(here.value, chord, KINK_TOLERANCE):
                del kept[k]
                changed = True
                break
    return kept


def _chord(left: _Probe, right: _Probe) -> float:
    return (right.value - left.value) / (right.t - left.t) if right.t > left.t else left.slope


# --- a curve: the objective along a parameter, LP or MILP ------------------------------------

Config = tuple[tuple[str, float], ...]  # the yes/no choices, fixed; () for an LP


@dataclass
class _Run:
    """A stretch of the parameter over which one set of choices is optimal (the whole feasible
    range for an LP), with its exact breakpoints and the mix on each linear piece."""

    config: Config
    path: _Path
    probes: list[_Probe]
    mixes: list[_Mix]


@dataclass(frozen=True)
class _Break:
    p: float
    kind: str
    value: float
    slope_before: float | None
    slope_after: float | None
    jump: float
    before: _Mix | None
    after: _Mix | None
    choices: str = ""


@dataclass
class _Curve:
    reader: _Reader
    p0: float
    runs: list[_Run]
    breaks: list[_Break]

    def evaluate(self, p: float) -> tuple[str, _Outcome | None]:
        """Status and the best solution at parameter p (none where there is no plan)."""
        best: _Outcome | None = None
        for run in self.runs:
            start, end = run.probes[0].t + self.p0, run.probes[-1].t + self.p0
            slack = 1e-9 * max(1.0, abs(p))
            if start - slack <= p <= end + slack:
                outcome = run.path.at(min(max(p, start), end) - self.p0)
                if outcome.optimal and (
                    best is None or run.path.lp.sign * (outcome.objective - best.objective) > 0
                ):
                    best = outcome
        if best is None:
            return Status.INFEASIBLE.value, None
        return Status.OPTIMAL.value, best


def _trace(
    make: Callable[[float], Instance],
    p0: float,
    low: float,
    high: float,
    grid: list[float],
    solver: SolverName,
    time_limit: float | None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> _Curve:
    """The objective along a parameter p that moves only right-hand sides: `make(p)` is the
    instance at p. An LP is traced exactly over its feasible range. A MILP is solved at each grid
    point (a sweep: serially, over `workers` processes or on the Dask cluster at `scheduler`);
    where the optimal choices differ between neighbours the switch is found by bisection and
    then exactly from the two LPs with the choices fixed; each stretch of constant choices is
    traced exactly as an LP."""
    at_p0 = make(p0)
    model = build(at_p0)
    base = _extract(model)
    direction = _difference(base, _extract(build(make(p0 + 1.0))))
    if not direction.rhs_only:
        raise RuntimeError("a curve moves right-hand sides only")
    reader = _Reader(model, base)
    paths: dict[Config, _Path] = {}

    def path_of(config: Config) -> _Path:
        if config not in paths:
            paths[config] = _Path(_fixed(base, dict(config)), direction)
        return paths[config]

    stretches: list[tuple[Config, float, float]] = []
    if not model.choices:
        feasible = _feasible_range(base, direction, low - p0, high - p0)
        if feasible is not None:
            stretches = [((), feasible[0] + p0, feasible[1] + p0)]
    else:
        points = sorted(set(grid))
        task = _Grid(at_p0, p0, direction.rhs, solver, time_limit)
        found = sweep.run(task, points, workers=workers, scheduler=scheduler, progress=progress)
        at_grid = dict(zip(points, found, strict=True))
        stretches = _milp_stretches(
            model, direction, path_of, p0, low, high, at_grid, solver, time_limit
        )
    runs = []
    for config, start, end in stretches:
        path = path_of(config)
        probes = _kinks(path, start - p0, end - p0)
        mixes = []
        pieces = list(itertools.pairwise(probes)) or [(probes[0], probes[0])]
        for left, right in pieces:
            middle = path.at((left.t + right.t) / 2)
            mixes.append(reader.mix(middle, *path.bounds(path.t)))
        runs.append(_Run(config, path, probes, mixes))
    return _Curve(reader, p0, runs, _breaks(reader, runs, p0, low, high))


class _Moving:
    """A MILP whose right-hand sides move with a parameter p: the model built at p0, its rows'
    constants set for any p and solved as planner solve solves it (sweep.Warm solves a MILP
    cold), then put back."""

    def __init__(self, model: Model, p0: float, rhs: Vector, warm: Warm) -> None:
        self.model = model
        self.p0 = p0
        self.rhs = rhs
        self.warm = warm
        self.rows = [constraint for _, constraint in model.registry.values()]
        self.constants = [float(row.constant) for row in self.rows]
        self.moving = np.flatnonzero(rhs)

    def optimum(self, p: float) -> tuple[float, Config] | None:
        """The optimum at p and its choices (None: no plan); NoPlanError for any status but
        optimal and infeasible."""
        model, rows, constants = self.model, self.rows, self.constants
        for i in self.moving:  # PuLP keeps constants on the left: constant = -(right-hand side)
            rows[i].constant = constants[i] - (p - self.p0) * self.rhs[i]
        solution = self.warm.solve(model)
        if solution.status is Status.INFEASIBLE:
            return None
        if solution.status is Status.OPTIMAL and solution.objective is not None:
            config = tuple(sorted((v.name, float(round(v.varValue or 0.0))) for v in model.choices))
            return solution.objective, config
        raise NoPlanError(solution.status.value, no_plan_message(model, solution))

    def restore(self) -> None:
        """The constants of p0 back."""
        for i in self.moving:
            self.rows[i].constant = self.constants[i]


@dataclass(frozen=True)
class _Grid:
    """A MILP curve's grid points as a sweep task (planner/sweep.py): each point is the model of
    `instance` (the curve at p0) with its right-hand sides moved by (p - p0) x `rhs`."""

    instance: Instance
    p0: float
    rhs: Vector
    solver: SolverName
    time_limit: float | None

    def setup(self) -> _Moving:
        """The model at p0, built once per process."""
        return _Moving(build(self.instance), self.p0, self.rhs, Warm(self.solver, self.time_limit))

    def __call__(self, state: _Moving, p: float) -> tuple[float, Config] | None:
        return state.optimum(p)


def _milp_stretches(
    model: Model,
    direction: _Direction,
    path_of: Callable[[Config], _Path],
    p0: float,
    low: float,
    high: float,
    at_grid: Mapping[float, tuple[float, Config] | None],
    solver: SolverName,
    time_limit: float | None,
) -> list[tuple[Config, float, float]]:
    """Stretches of constant optimal choices of a MILP along p, from switch point to switch
    point (where there is a plan).

    `at_grid` is the MILP's optimum at each grid point (None: no plan). Choices are sticky:
    where the choices already in use are still optimal (their LP gives the MILP's optimum), they
    are kept, so ties do not show as switches. Between neighbours with different choices, the
    switch is found exactly from the two LPs with the choices fixed, then checked by solving the
    MILP half-way to each side; a third set of choices found there splits the stretch."""
    moving = _Moving(model, p0, direction.rhs, Warm(solver, time_limit))
    base = _extract(model)
    index = {name: j for j, name in enumerate(base.columns)}
    integer = [index[v.name] for v in model.choices]
    optima: dict[float, tuple[float, Config] | None] = dict(at_grid)

    def optimum(p: float) -> tuple[float, Config] | None:
        if p not in optima:
            optima[p] = moving.optimum(p)
        return optima[p]

    def state(p: float, prefer: Iterable[Config | None]) -> Config | None:
        best = optimum(p)
        if best is None:
            return None
        for config in prefer:
            if config is not None:
                outcome = path_of(config).at(p - p0)
                if outcome.optimal and _close(outcome.objective, best[0], KINK_TOLERANCE):
                    return config
        return best[1]

    try:
        points: list[tuple[float, Config | None]] = []
        for p in sorted(at_grid):
            points.append((p, state(p, [points[-1][1]] if points else [])))
        width = 1e-6 * (high - low)
        work = [(a, sa, b, sb) for (a, sa), (b, sb) in itertools.pairwise(points)]
        switches: list[tuple[float, Config | None, Config | None]] = []
        while work:
            a, before, b, after = work.pop()
            if before == after:
                continue
            if before is None or after is None:  # where the MILP first or last has a plan
                feasible = _feasible_range(base, direction, a - p0, b - p0, integer)
                edge = b if feasible is None else p0 + feasible[0 if before is None else 1]
                inside = edge + (1e-7 if before is None else -1e-7) * (high - low)
                there = state(min(max(inside, a), b), [after if before is None else before])
                if (there != after if before is None else there != before) and a < edge < b:
                    work += [(a, before, edge, there), (edge, there, b, after)]
                    continue
            at = _switch_point(path_of, before, after, a, b, p0)
            split = None
            for left, right, expect, other in ((a, at, before, after), (at, b, after, before)):
                if split is None and right - left > width:
                    middle = (left + right) / 2
                    found = state(middle, [expect, other])
                    if found != expect:
                        split = (middle, found)
            if split is None:
                switches.append((at, before, after))
            else:
                middle, found = split
                work += [(a, before, middle, found), (middle, found, b, after)]
    finally:
        moving.restore()
    switches.sort(key=lambda s: s[0])
    edges = [low, *(at for at, _, _ in switches), high]
    states = [points[0][1], *(after for _, _, after in switches)]
    return [
        (config, start, end)
        for config, start, end in zip(states, edges, edges[1:], strict=False)
        if config is not None
    ]


def _switch_point(
    path_of: Callable[[Config], _Path],
    before: Config | None,
    after: Config | None,
    a: float,
    b: float,
    p0: float,
) -> float:
    """Where in [a, b] the optimal choices change from `before` (optimal at a) to `after`
    (optimal at b), from the LPs with the choices fixed: where `after` becomes feasible, where
    `before` stops being feasible, or the first point where `after` is at least as good (found
    by bisection on the gap between the two, then exactly on its last linear piece)."""
    if before is None or after is None:
        config = after if before is None else before
        assert config is not None
        path = path_of(config)
        feasible = _feasible_range(path.lp, path.direction, a - p0, b - p0)
        if feasible is None:
            return b if before is None else a
        return (feasible[0] if before is None else feasible[1]) + p0
    old, new = path_of(before), path_of(after)
    old_range = _feasible_range(old.lp, old.direction, a - p0, b - p0)
    new_range = _feasible_range(new.lp, new.direction, a - p0, b - p0)
    if old_range is None or new_range is None:
        return b if new_range is None else a
    start, end = max(old_range[0], new_range[0]), min(old_range[1], new_range[1])
    if start > end:
        return old_range[1] + p0
    sign = old.lp.sign

    def gap(t: float) -> float:
        return sign * (_probe(new, t).value - _probe(old, t).value)

    low_gap, high_gap = gap(start), gap(end)
    if low_gap >= 0 or _close(low_gap, 0.0, KINK_TOLERANCE):
        return start + p0
    if high_gap < 0 and not _close(high_gap, 0.0, KINK_TOLERANCE):
        return end + p0  # `before` stops being feasible first: the objective jumps
    lo, hi = start, end
    while hi - lo > 1e-9 * max(1.0, b - a):
        middle = (lo + hi) / 2
        value = gap(middle)
        if value >= 0:
            hi, high_gap = middle, value
        else:
            lo, low_gap = middle, value
    return lo + (hi - lo) * (-low_gap) / (high_gap - low_gap) + p0


def _breaks(
    reader: _Reader,
    runs: list[_Run],
    p0: float,
    low: float,
    high: float,
) -> list[_Break]:
    """Every breakpoint of a traced curve: where a plan first or last exists, where the mix
    changes inside a run, and where the choices switch between runs."""
    breaks: list[_Break] = []
    near = 1e-9 * max(1.0, high - low)
    for k, run in enumerate(runs):
        probes = run.probes
        start, end = probes[0], probes[-1]
        previous = runs[k - 1] if k else None
        joined = previous is not None and abs(previous.probes[-1].t - start.t) <= near
        if joined and previous is not None:
            last = previous.probes[-1]
            breaks.append(
                _Break(
                    start.t + p0,
                    "choices change",
                    max(last.value, start.value)
                    if run.path.lp.maximise
                    else min(last.value, start.value),
                    _chord(previous.probes[-2], last) if len(previous.probes) > 1 else None,
                    _chord(start, probes[1]) if len(probes) > 1 else None,
                    clean(start.value - last.value),
                    previous.mixes[-1],
                    run.mixes[0],
                    reader.choices_text(dict(previous.config), dict(run.config)),
                )
            )
        elif start.t + p0 > low + near:
            after = _chord(start, probes[1]) if len(probes) > 1 else None
            breaks.append(
                _Break(
                    start.t + p0, "first plan", start.value, None, after, 0.0, None, run.mixes[0]
                )
            )
        for j in range(1, len(probes) - 1):
            here = probes[j]
            breaks.append(
                _Break(
                    here.t + p0,
                    "mix changes",
                    here.value,
                    _chord(probes[j - 1], here),
                    _chord(here, probes[j + 1]),
                    0.0,
                    run.mixes[j - 1],
                    run.mixes[j],
                )
            )
        following = runs[k + 1] if k + 1 < len(runs) else None
        if (following is None or abs(following.probes[0].t - end.t) > near) and (
            end.t + p0 < high - near
        ):
            before = _chord(probes[-2], end) if len(probes) > 1 else None
            breaks.append(
                _Break(end.t + p0, "last plan", end.value, before, None, 0.0, run.mixes[-1], None)
            )
    return breaks


# --- the envelope frontier and the floor trade-off -------------------------------------------


class ArgumentError(PlannerError):
    """A sensitivity argument that cannot be used: a range the wrong way round, an unknown
    floor."""


def _instance(instance: Instance | str | Path, scenario: str | None) -> Instance:
    """The validated instance: given, or loaded from a file with `scenario` applied."""
    if isinstance(instance, Instance):
        if scenario is not None:
            raise ValueError("a scenario is applied when loading a file: pass the file's path")
        return instance
    return validate(load(instance, scenario))


def _grid(low: float, high: float, steps: int, current: float) -> list[float]:
    """`steps` equal steps from low to high, and the current value when it lies between."""
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ArgumentError(
            f"the range must run from a lower to a higher value (got {low:g} to "
            f"{high:g}); give a low below the high"
        )
    if steps < 1:
        raise ArgumentError(f"steps must be at least 1 (got {steps})")
    points = {round(low + (high - low) * k / steps, 12) for k in range(steps + 1)}
    if low <= current <= high:
        points.add(current)
    return sorted(points)


def envelope_frontier(
    instance: Instance | str | Path,
    low: float = 0.7,
    high: float = 1.3,
    solver: SolverName = "highs",
    *,
    scenario: str | None = None,
    steps: int = 12,
    time_limit: float | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Frontier:
    """The objective against the envelope, every plan year's envelope scaled by the same factor
    from `low` to `high` (1 is the plan's envelope): points on a grid of `steps` steps plus every
    breakpoint, and the breakpoints with the mix on either side. A point where no plan exists has
    its status and no values. Breakpoints of an LP are exact; a MILP's are exact within each
    stretch of constant choices, and its choice switches are found between grid points. A MILP's
    grid points are solved serially, over `workers` local processes or on the Dask cluster at
    `scheduler`, with the same results; `progress(stage, done, total)` is told as they finish."""
    inst = _instance(instance, scenario)
    amounts = inst.envelope_by_year()
    if amounts is None:
        raise ArgumentError(
            f"'{inst.name}' has no envelope, so there is no envelope frontier; "
            "give the instance an envelope"
        )
    if low < 0:
        raise ArgumentError(f"the envelope cannot be scaled below 0 (got low {low:g})")
    total = sum(amounts.values())

    def make(scale: float) -> Instance:
        scaled = {year: scale * amount for year, amount in amounts.items()}
        return inst.model_copy(update={"envelope": Envelope(amounts=scaled)})

    grid = _grid(low, high, steps, 1.0)
    curve = _trace(
        make, 1.0, low, high, grid, solver, time_limit, workers=workers, scheduler=scheduler,
        progress=sweep.staged(progress, "envelope frontier: the MILP at each grid point"),
    )  # fmt: skip
    per = MONEY_SCALE / total if total else math.nan
    unit = objective_unit(inst)
    slope_unit = f"{unit} per {inst.currency_symbol}{MONEY_SCALE:,.0f} of envelope"
    points, breaks = _tables(curve, grid, per, slope_unit)
    points.insert(1, "envelope", [clean(s * total) for s in points["p"]])
    points = points.rename(columns={"p": "scale"})
    points.insert(3, "objective_unit", unit)
    breaks.insert(1, "envelope", [clean(s * total) for s in breaks["p"]])
    breaks = breaks.rename(columns={"p": "scale"})
    return Frontier(points[FRONTIER_COLUMNS], breaks[FRONTIER_BREAK_COLUMNS])


def floor_tradeoff(
    instance: Instance | str | Path,
    floor: str,
    low: float | None = None,
    high: float | None = None,
    solver: SolverName = "highs",
    *,
    scenario: str | None = None,
    steps: int = 10,
    time_limit: float | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Tradeoff:
    """The objective against the level of `floor` (its bound, in the outcome's unit, in every
    year it applies), from `low` to `high` (default: 10% either side of its level): points and
    breakpoints as for the envelope frontier, a MILP's grid points spread as there. Each
    piece's slope is the sum of the floor's shadow prices over the years it applies."""
    inst = _instance(instance, scenario)
    if floor not in inst.floors:
        known = ", ".join(inst.floors) or "none"
        raise ArgumentError(f"'{inst.name}' has no floor '{floor}'; its floors are: {known}")
    level = inst.floor_bound(floor)
    low = 0.9 * level if low is None else low
    high = (1.1 * level if level else 1.0) if high is None else high
    if low < 0:
        raise ArgumentError(f"a floor's level cannot be below 0 (got low {low:g})")

    def make(value: float) -> Instance:
        moved = inst.floors[floor].model_copy(update={"value": value, "relative": None})
        return inst.model_copy(update={"floors": {**inst.floors, floor: moved}})

    grid = _grid(low, high, steps, level)
    curve = _trace(
        make, level, low, high, grid, solver, time_limit, workers=workers, scheduler=scheduler,
        progress=sweep.staged(progress, f"floor trade-off ({floor}): the MILP at each grid point"),
    )  # fmt: skip
    unit = objective_unit(inst)
    events = inst.outcomes[inst.floors[floor].outcome].unit
    points, breaks = _tables(curve, grid, 1.0, f"{unit} per {events}")
    points = points.rename(columns={"p": "level"})
    points.insert(0, "floor", floor)
    points.insert(3, "objective_unit", unit)
    breaks = breaks.rename(columns={"p": "level"})
    breaks.insert(0, "floor", floor)
    return Tradeoff(points[TRADEOFF_COLUMNS], breaks[TRADEOFF_BREAK_COLUMNS])


def _tables(
    curve: _Curve, grid: list[float], per: float, slope_unit: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Points (grid and breakpoints, by parameter `p`) and breakpoints of a traced curve; slopes
    are stated per `per` units of the parameter."""
    breaks = sorted(curve.breaks, key=lambda b: b.p)
    at_break = {round(b.p, 12) for b in breaks}
    values = sorted({round(p, 12) for p in grid} | at_break)
    rows = []
    for p in values:
        status, outcome = curve.evaluate(p)
        rows.append(
            {
                "p": p,
                "objective": clean(outcome.objective) if outcome else None,
                "health_gain": curve.reader.health(outcome.x) if outcome else None,
                "spend": curve.reader.total_spend(outcome.x) if outcome else None,
                "status": status,
                "breakpoint": p in at_break,
            }
        )
    points = pd.DataFrame(
        rows, columns=["p", "objective", "health_gain", "spend", "status", "breakpoint"]
    )

    def slope(value: float | None) -> float | None:
        return None if value is None else clean(value * per)

    break_rows = []
    for b in breaks:
        _, outcome = curve.evaluate(round(b.p, 12))
        break_rows.append(
            {
                "p": round(b.p, 12),
                "objective": clean(b.value),
                "health_gain": curve.reader.health(outcome.x) if outcome else None,
                "kind": b.kind,
                "slope_before": slope(b.slope_before),
                "slope_after": slope(b.slope_after),
                "slope_unit": slope_unit,
                "jump": clean(b.jump),
                **(
                    curve.reader.changes(b.before, b.after)
                    if b.before and b.after
                    else dict.fromkeys(
                        ("enters", "leaves", "limits_reached", "limits_released"), ""
                    )
                ),
                "choices": b.choices,
            }
        )
    columns = [
        "p",
        "objective",
        "health_gain",
        "kind",
        "slope_before",
        "slope_after",
        "slope_unit",
        "jump",
        "enters",
        "leaves",
        "limits_reached",
        "limits_released",
        "choices",
    ]
    return points, pd.DataFrame(break_rows, columns=columns)


# --- ranges ----------------------------------------------------------------------------------


def ranges(
    instance: Instance | str | Path,
    scenario: str | None = None,
    solver: SolverName = "highs",
    time_limit: float | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Ranges:
    """For every named row, the right-hand sides over which its shadow price holds; for every
    intervention (each plan year, and every year together), how far its unit cost (or each
    chosen supply option's price) and its health gain can move before the plan changes. For a
    MILP, everything holds the yes/no choices as the plan makes them. NoPlanError when there is
    no plan. Each row and each intervention's number is ranged on its own from the plan's
    optimal basis: serially, over `workers` local processes or on the Dask cluster at
    `scheduler`, with the same results; `progress(stage, done, total)` is told as they finish."""
    inst = _instance(instance, scenario)
    model = build(inst)
    solution = solve(model, solver, time_limit)
    if solution.status is not Status.OPTIMAL:
        raise NoPlanError(solution.status.value, no_plan_message(model, solution))
    fixed = {v.name: float(round(v.varValue or 0.0)) for v in model.choices}
    # partners' baseline income stated as computed, so a price change moves only the plan years
    partners = {
        pid: partner.model_copy(update={"baseline_income": model.baseline_income[pid]})
        for pid, partner in inst.partners.items()
    }
    frozen = inst.model_copy(update={"partners": partners})
    probes: list[int | _Item] = [*range(len(model.registry)), *_items(frozen, model, fixed)]
    task = _Ranging(frozen, fixed, solution.objective or 0.0, len(model.registry))
    stage = sweep.staged(progress, "price and intervention ranges")
    found = sweep.run(task, probes, workers=workers, scheduler=scheduler, progress=stage)
    prices = [row for probe, row in zip(probes, found, strict=True) if isinstance(probe, int)]
    items = [row for probe, row in zip(probes, found, strict=True) if not isinstance(probe, int)]
    frame = pd.DataFrame(items, columns=INTERVENTION_RANGE_COLUMNS)
    frame["year"] = pd.Series([r["year"] for r in items], dtype=object)  # empty: every year
    return Ranges(pd.DataFrame(prices, columns=PRICE_RANGE_COLUMNS), frame)


@dataclass(frozen=True)
class _Item:
    """One intervention number to range: its health gain, unit cost or an option's price, in
    one plan year or (several `years`) in all of them together."""

    iid: str
    option: str  # "" for the intervention's own gain or cost
    parameter: str  # health_gain, unit_cost or unit_price
    years: tuple[int, ...]


def _items(instance: Instance, model: Model, fixed: Mapping[str, float]) -> list[_Item]:
    """Every intervention number to range, in the table's order: each intervention's health
    gain, then its unit cost, or the price of each option the plan uses; each year, then every
    year together."""
    years = model.years
    found: list[_Item] = []

    def spans(used: list[int]) -> list[tuple[int, ...]]:
        return [(y,) for y in used] + ([tuple(used)] if len(used) > 1 else [])

    for iid, item in instance.interventions.items():
        found += [_Item(iid, "", "health_gain", span) for span in spans(years)]
        if item.supply is None:
            found += [_Item(iid, "", "unit_cost", span) for span in spans(years)]
            continue
        for oid in item.offered():
            used = [
                y
                for y in years
                if (iid, oid, y) in model.options
                and fixed.get(getattr(model.chosen.get((iid, oid, y)), "name", ""), 1.0) > 0.5
            ]
            found += [_Item(iid, oid, "unit_price", span) for span in spans(used)]
    return found


class _Ranged:
    """A process's set-up for ranges: the plan's LP held by HiGHS at its optimal basis, and
    (made when an intervention is first ranged) what reads its solutions and the directions in
    which the health gains and costs move it."""

    def __init__(self, instance: Instance, fixed: Mapping[str, float], objective: float) -> None:
        self.instance = instance
        self.fixed = fixed
        self.model = model = build(instance)
        self.lp = lp = _extract(model, fixed)
        self.highs = _Highs(lp)
        self.base = base = self.highs.run()
        if not base.optimal or not _close(base.objective, objective, 1e-6):
            raise RuntimeError("HiGHS does not reproduce the plan's LP")
        self.highs.remember_basis()
        self.magnitude = np.zeros(len(lp.rows))
        for (i, j), coefficient in lp.entries.items():
            self.magnitude[i] += abs(coefficient * base.x[j])
        self.index = {name: j for j, name in enumerate(lp.columns)}
        self.units: dict[tuple[str, int], float] = {}
        self._moves: tuple[_Reader, _Mix, _Direction, _Direction] | None = None

    def moves(self) -> tuple[_Reader, _Mix, _Direction, _Direction]:
        """The reader, the plan's mix, and the LP's change per +1 of every health gain and of
        every unit cost and price."""
        if self._moves is None:
            instance, lp, fixed = self.instance, self.lp, self.fixed
            reader = _Reader(self.model, lp)
            mix = reader.mix(self.base, lp.row_lower, lp.row_upper)
            gains = _difference(lp, _extract(build(_shifted(instance, gain=1.0)), fixed))
            costs = _difference(lp, _extract(build(_shifted(instance, cost=1.0)), fixed))
            self._moves = reader, mix, gains, costs
            self.units = reader.units(self.base.x)
        return self._moves


@dataclass(frozen=True)
class _Ranging:
    """The ranges as a sweep task (planner/sweep.py): a probe is a row (its index) or an
    intervention number (_Item), each ranged from the plan's optimal basis. `instance` has the
    partners' baseline income stated, `fixed` the plan's yes/no choices, `objective` its
    optimum and `rows` the number of rows of its model."""

    instance: Instance
    fixed: dict[str, float]
    objective: float
    rows: int

    def setup(self) -> _Ranged:
        """The plan's LP in HiGHS, once per process."""
        ranged = _Ranged(self.instance, self.fixed, self.objective)
        if len(ranged.lp.rows) != self.rows:
            raise RuntimeError("the plan's LP has other rows than its model")
        return ranged

    def __call__(self, state: _Ranged, probe: int | _Item) -> dict[str, Any]:
        if isinstance(probe, int):
            return _price_range(state, probe)
        return _item_range(state, probe)


def _price_range(state: _Ranged, i: int) -> dict[str, Any]:
    """Row i's price and the right-hand sides over which it holds: the interval where the
    objective equals its value now plus dual x (rhs - rhs now)."""
    model, lp, base = state.model, state.lp, state.base
    instance = model.instance
    unit = objective_unit(instance)
    rule, _ = model.registry[lp.rows[i]]
    dual = clean(float(base.duals[i]))
    rhs = rule.rhs
    direction = _Direction(np.zeros(len(lp.rows)), np.zeros(len(lp.columns)), 0.0, {})
    direction.rhs[i] = 1.0
    path = _Path(lp, direction, state.highs)
    reach = PRICE_REACH * max(1.0, abs(rhs), float(state.magnitude[i]))
    ends = [_price_end(path, base, float(base.duals[i]), toward, reach) for toward in (-1, 1)]
    path.reset()
    lower, upper = (None if e is None else _figures(rhs + e, 9, max(1.0, abs(rhs))) for e in ends)
    change = -dual if rule.sense == ">=" else dual
    value = clean((change if model.maximise else -change) * rule.per)
    return {
        "family": rule.family,
        "constraint": rule.name,
        "subject": rule.subject,
        "year": rule.year,
        "rule": rule.rule,
        "sense": rule.sense,
        "unit": rule.unit,
        "rhs": clean(rhs),
        "dual": dual,
        "per": rule.per,
        "value_of_relaxing": value,
        "objective_unit": unit,
        "lower_rhs": lower,
        "upper_rhs": upper,
        "objective_at_lower": None
        if lower is None
        else clean(base.objective + dual * (lower - rhs)),
        "objective_at_upper": None
        if upper is None
        else clean(base.objective + dual * (upper - rhs)),
        "explanation": _price_text(instance, rule, rhs, value, lower, upper, unit),
    }


def _price_end(path: _Path, base: _Outcome, dual: float, toward: int, reach: float) -> float | None:
    """How far one row's right-hand side can move towards `toward` with the objective on the
    line base + dual x t (None: as far as `reach`). The optimal value is concave (convex when
    minimising) in t: from a probe off the line, its supporting line meets the base line at the
    next candidate end; a candidate on the line is the end."""
    lp = path.lp

    def on_line(outcome: _Outcome, t: float) -> bool:
        return outcome.optimal and _close(outcome.objective, base.objective + dual * t)

    t = toward * reach
    outcome = path.at(t)
    if outcome.status == Status.INFEASIBLE.value:
        feasible = _feasible_range(lp, path.direction, min(0.0, t), max(0.0, t))
        if feasible is None:
            raise RuntimeError("the plan's own right-hand side has no plan")
        edge = feasible[0] if toward < 0 else feasible[1]
        for k in range(8):  # the exact edge may be infeasible within HiGHS's tolerance
            t = edge - toward * (1e-9 * 10**k) * max(1.0, abs(edge)) * (k > 0)
            outcome = path.at(t)
            if outcome.optimal:
                break
        if on_line(outcome, t):
            return edge
    elif on_line(outcome, t):
        return None
    for _ in range(1000):
        if not outcome.optimal:
            raise RuntimeError(f"HiGHS could not range a row ({outcome.status})")
        slope = path.slope(outcome)
        if _close(slope, dual, VALUE_TOLERANCE):
            return t
        meet = (outcome.objective - slope * t - base.objective) / (dual - slope)
        if toward * meet <= 0:
            return 0.0
        outcome, t = path.at(meet), meet
        if on_line(outcome, t):
            return t
    raise RuntimeError("a price range did not converge")


def _amount(instance: Instance, unit: str, value: float) -> str:
    """A right-hand side in its unit: money in whole pounds, anything else to 6 figures."""
    if unit == instance.currency_symbol:
        sign = "-" if value < 0 else ""
        return f"{sign}{unit}{abs(value):,.0f}"
    return f"{value:,.6g} {unit}"


def _span(instance: Instance, unit: str, lower: float | None, upper: float | None) -> str:
    if lower is None and upper is None:
        return "at any level"
    if lower is None:
        return f"up to {_amount(instance, unit, upper or 0.0)}"
    if upper is None:
        return f"from {_amount(instance, unit, lower)} up"
    return f"between {_amount(instance, unit, lower)} and {_amount(instance, unit, upper)}"


def _price_text(
    instance: Instance,
    rule: Rule,
    rhs: float,
    value: float,
    lower: float | None,
    upper: float | None,
    objective_unit: str,
) -> str:
    """The price and its range in one sentence."""
    span = _span(instance, rule.unit, lower, upper)
    now = _amount(instance, rule.unit, rhs)
    if value == 0:
        return f"no price: the price stays 0 while the bound stays {span} (now {now})"
    step = f"{instance.currency_symbol}{rule.per:,.0f}" if rule.per != 1 else f"one {rule.unit}"
    shown = value if rule.sense == "==" else abs(value)
    if instance.objective.kind == "min_spend":
        sign = "-" if shown < 0 else ""
        worth = f"{sign}{instance.currency_symbol}{abs(shown):,.2f}"
    else:
        worth = f"{shown:,.4g} {objective_unit}"
    verb = "raising it by" if rule.sense == "==" else "relaxing it by"
    effect = "changes the objective by" if rule.sense == "==" else "is worth"
    return (
        f"{verb} {step} {effect} {worth}; this price holds while the bound stays {span} (now {now})"
    )


def _shifted(instance: Instance, gain: float = 0.0, cost: float = 0.0) -> Instance:
    """Every intervention's health gain (every tranche's) raised by `gain`, and its unit cost
    (every supply option's price, where it has options) by `cost`."""
    interventions = {}
    for iid, item in instance.interventions.items():
        changes: dict[str, Any] = {"health_gain": item.health_gain + gain}
        if item.tranches:
            changes["tranches"] = [
                t.model_copy(update={"health_gain": t.health_gain + gain}) for t in item.tranches
            ]
        if item.supply is None:
            changes["unit_cost"] = item.unit_cost + cost
        else:
            options = {
                oid: o.model_copy(update={"unit_price": o.unit_price + cost})
                for oid, o in item.supply.options.items()
            }
            changes["supply"] = item.supply.model_copy(update={"options": options})
        interventions[iid] = item.model_copy(update=changes)
    return instance.model_copy(update={"interventions": interventions})


def _item_range(state: _Ranged, probe: _Item) -> dict[str, Any]:
    """How far one health gain, unit cost or chosen option's price can move, in one plan year
    or every year together, before the plan changes: its row of the intervention ranges."""
    instance, model, lp, base = state.instance, state.model, state.lp, state.base
    reader, mix, gains, costs = state.moves()
    iid, oid, span = probe.iid, probe.option, probe.years
    item = instance.interventions[iid]
    money, health = instance.currency_symbol, instance.health_unit
    year = span[0] if len(span) == 1 else None
    if probe.parameter == "health_gain":
        columns = {int(j) for y in span for j in reader.unit_columns[(iid, y)]}
        path = _Path(lp, gains.on_columns(columns), state.highs)
        value = item.tranches[0].health_gain if item.tranches else item.health_gain
        found = _gain_range(path, reader, base, mix, value)
        unit = f"{health} per {item.unit}"
        words = _gain_text(
            item.name, item.unit, health, value, found, year, bool(item.tranches),
            instance.objective.kind,
        )  # fmt: skip
    elif probe.parameter == "unit_cost":
        columns = {int(j) for y in span for j in reader.unit_columns[(iid, y)]}
        path = _Path(lp, costs.on_columns(columns), state.highs)
        value = item.unit_cost
        found = _cost_range(path, reader, mix, value)
        unit = f"{money} per {item.unit}"
        words = _cost_text(f"{item.name}'s unit cost", item.unit, money, value, found, year)
    else:
        option = item.offered()[oid]
        columns = {state.index[model.options[(iid, oid, y)].name] for y in span}
        path = _Path(lp, costs.on_columns(columns), state.highs)
        value = option.unit_price
        found = _cost_range(path, reader, mix, value)
        unit = f"{money} per {item.unit}"
        what = f"{item.name} from {option.name or oid}: its price"
        words = _cost_text(what, item.unit, money, value, found, year)
    held = "; the yes/no choices are held as the plan makes them" if state.fixed else ""
    lower, upper, below, above = found
    amount = sum(u for (i, y), u in state.units.items() if i == iid and year in (None, y))
    return {
        "intervention": iid,
        "option": oid,
        "name": item.name,
        "year": year,
        "parameter": probe.parameter,
        "unit": unit,
        "value": value,
        "lower": lower,
        "upper": upper,
        "units": clean(amount),
        "below_lower": below,
        "above_upper": above,
        "explanation": words + held,
    }


def _change_text(reader: _Reader, before: _Mix, outcome: _Outcome, path: _Path) -> str:
    """What differs between the plan's mix and the solution just beyond a range's end."""
    if not outcome.optimal:
        return f"no plan ({outcome.status})"
    changes = reader.changes(before, reader.mix(outcome, *path.bounds(path.t)))
    words = {
        "enters": "enters",
        "leaves": "leaves",
        "limits_reached": "reaches",
        "limits_released": "releases",
    }
    text = "; ".join(f"{words[k]}: {v}" for k, v in changes.items() if v)
    return text or "the units change"


def _gain_range(
    path: _Path, reader: _Reader, base: _Outcome, mix: _Mix, value: float
) -> tuple[float | None, float | None, str, str]:
    """The health gains (per unit, undiscounted) over which the plan stays optimal, exactly,
    and what changes beyond each end; None where there is no end (up to GAIN_CEILING times)."""
    if not path.direction.cost.any():
        return None, None, "", ""
    scale = max(abs(value), 1e-3)
    found: list[tuple[float | None, str]] = []
    for toward in (-1.0, 1.0):
        end, beyond = _gain_end(path, base.x, toward, GAIN_CEILING * scale)
        text = "" if beyond is None else _change_text(reader, mix, beyond, path)
        found.append((None if end is None else _figures(value + end, 10), text))
    path.reset()
    return found[0][0], found[1][0], found[0][1], found[1][1]


def _gain_end(
    path: _Path, x0: Vector, toward: float, reach: float
) -> tuple[float | None, _Outcome | None]:
    """The farthest t towards `toward` at which x0 stays optimal (None if it is optimal as far as
    `reach`), and the optimum just beyond. The objective changes along the path, so the optimal
    value is convex in t and x0's value is a line under it: the next vertex's line meets x0's
    line where x0 stops being optimal, unless a third vertex is better there (then repeat)."""
    lp, d = path.lp, path.direction
    sign = lp.sign

    def line(x: Vector, t: float) -> float:
        return float((lp.cost + t * d.cost) @ x) + lp.offset + t * d.offset

    def stays(outcome: _Outcome, t: float) -> bool:
        mine = line(x0, t)
        return outcome.optimal and (
            sign * (outcome.objective - mine) <= KINK_TOLERANCE * max(1.0, abs(mine))
        )

    t = toward * reach
    outcome = path.at(t)
    if stays(outcome, t):
        return None, None
    last = 0.0  # x0 is optimal here
    while not outcome.optimal:  # unbounded at t: find an optimum off x0's line, or the edge
        middle = (last + t) / 2
        found = path.at(middle)
        if abs(t - last) <= 1e-9 * reach:
            return last, outcome
        if stays(found, middle):
            last = middle
        elif found.optimal:
            outcome, t = found, middle
        else:
            t, outcome = middle, found
    for _ in range(1000):
        x1 = outcome.x
        denominator = float(d.cost @ (x0 - x1))
        if denominator == 0:
            raise RuntimeError("a gain range did not converge")
        meet = max(0.0, toward * float(lp.cost @ (x1 - x0)) / denominator) * toward
        found = path.at(meet)
        if stays(found, meet):
            beyond = path.at(meet + (t - meet) * 1e-3)  # just past the end, towards the probe
            moved = not beyond.optimal or not np.allclose(beyond.x, x0)
            return meet, beyond if moved else outcome
        if not found.optimal:
            raise RuntimeError("a gain range met no optimum between two optima")
        outcome, t = found, meet
    raise RuntimeError("a gain range did not converge")


def _cost_range(
    path: _Path, reader: _Reader, mix: _Mix, value: float
) -> tuple[float | None, float | None, str, str]:
    """The prices over which the plan keeps its mix (what it funds, and the limits it reaches),
    found by re-solving: steps doubling away from the price until the mix changes, then
    bisection to COST_PRECISION of the price. A price cannot fall below 0; a rise with no change
    up to COST_CEILING times the price has no end (None). Assumes the prices with the plan's mix
    form an interval."""
    scale = max(abs(value), 1.0)

    def same(t: float) -> bool:
        outcome = path.at(t)
        return outcome.optimal and reader.mix(outcome, *path.bounds(t)) == mix

    found: list[tuple[float | None, str]] = []
    for toward in (-1.0, 1.0):
        limit = value if toward < 0 else COST_CEILING * scale
        steps = [s for s in (scale * 2.0**k / 64 for k in range(40)) if s < limit] + [limit]
        last, high = 0.0, None
        for step in steps if limit > 0 else []:
            if not same(toward * step):
                high = step
                break
            last = step
        if high is None:
            found.append((0.0 if toward < 0 else None, ""))
            continue
        while high - last > COST_PRECISION * scale:
            middle = (last + high) / 2
            if same(toward * middle):
                last = middle
            else:
                high = middle
        end = (last + high) / 2
        # what changes, seen a little beyond the end (0.1% of the price, not below 0), so that
        # a service entering from zero shows
        outcome = path.at(toward * max(high, min(limit, end + 1e-3 * scale)))
        text = _change_text(reader, mix, outcome, path)
        found.append((_figures(value + toward * end, 7, scale), text))
    path.reset()
    return found[0][0], found[1][0], found[0][1], found[1][1]


def _when(year: int | None) -> str:
    return f"in {year}" if year is not None else "in every plan year"


def _cost_text(
    what: str,
    unit: str,
    money: str,
    value: float,
    found: tuple[float | None, float | None, str, str],
    year: int | None,
) -> str:
    lower, upper, _, _ = found
    rise = (
        f"rise to {money}{upper:,.2f}"
        if upper is not None
        else f"rise by any amount (no change up to {money}{COST_CEILING * max(value, 1.0):,.0f})"
    )
    fall = f"fall to {money}{lower or 0.0:,.2f}"
    return (
        f"{what} ({money}{value:,.2f} per {unit} {_when(year)}) can {rise} or {fall} before the "
        "plan changes what it funds or which limits it reaches"
    )


def _gain_text(
    name: str,
    unit: str,
    health: str,
    value: float,
    found: tuple[float | None, float | None, str, str],
    year: int | None,
    tranches: bool,
    kind: str,
) -> str:
    lower, upper, _, _ = found
    what = f"{name}'s health gain" + (" (every tranche together; the first shown)" * tranches)
    if lower is None and upper is None and kind == "min_spend":
        return f"{what} does not change the plan: the objective is the least spend"
    rise = f"rise to {upper:,.6g}" if upper is not None else "rise by any amount"
    fall = f"fall to {lower:,.6g}" if lower is not None else "fall by any amount"
    return (
        f"{what} ({value:,.6g} {health} per {unit} {_when(year)}) can {rise} or {fall} before "
        "the plan changes at all"
    )


# --- for people: terminal tables, and the files ----------------------------------------------


def tables(
    frontier: Frontier,
    tradeoff: Tradeoff | None,
    found: Ranges | None,
    facts: Mapping[str, Any],
) -> dict[str, pd.DataFrame]:
    """Every sensitivity table by name, the summary (`facts`) first as a two-column table; the
    floor and range tables are empty (with their columns) when not computed."""
    summary = summary_table(facts).frame()
    empty = pd.DataFrame(columns=TRADEOFF_COLUMNS)
    return {
        "summary": summary,
        "frontier": frontier.points,
        "frontier_breakpoints": frontier.breakpoints,
        "floor": tradeoff.points if tradeoff else empty,
        "floor_breakpoints": tradeoff.breakpoints
        if tradeoff
        else pd.DataFrame(columns=TRADEOFF_BREAK_COLUMNS),
        "price_ranges": found.prices if found else pd.DataFrame(columns=PRICE_RANGE_COLUMNS),
        "intervention_ranges": found.interventions
        if found
        else pd.DataFrame(columns=INTERVENTION_RANGE_COLUMNS),
    }


def print_sensitivity(
    instance: Instance,
    frontier: Frontier,
    tradeoff: Tradeoff | None,
    found: Ranges | None,
    console: Any,
) -> None:
    """The frontier, the floor trade-off and the ranges as readable tables."""
    from rich.markup import escape
    from rich.table import Table

    from planner.report import money, number, terminal_table

    currency, symbol = instance.currency, instance.currency_symbol

    def table(title: str, columns: list[str]) -> Table:
        return terminal_table(title, columns, wrap_first=True)

    def value(x: Any, unit: str) -> str:
        if x is None or (isinstance(x, float) and math.isnan(x)):
            return ""
        return money(x, currency) if unit == symbol else number(x, 6)

    unit = objective_unit(instance)
    title = escape(instance.title or instance.name)
    console.print(f"\n[bold]{title}[/bold]: sensitivity", markup=True)
    points = table(
        f"Envelope frontier: {unit} against the envelope, every year scaled together "
        "(◆ breakpoint)",
        [
            "scale",
            "envelope",
            f"objective ({unit})",
            f"health gain ({instance.health_unit})",
            "spend",
            "status",
        ],
    )
    for r in frontier.points.itertuples():
        points.add_row(
            f"{r.scale:.2%}" + (" ◆" if r.breakpoint else ""),
            money(r.envelope, currency),
            value(r.objective, unit),
            value(r.health_gain, instance.health_unit),
            money(r.spend, currency),
            str(r.status),
        )
    console.print(points)
    _print_breaks(console, table, frontier.breakpoints, "scale", currency, unit)
    if tradeoff is not None:
        floor = str(tradeoff.points["floor"].iloc[0]) if len(tradeoff.points) else ""
        trade = table(
            f"Floor trade-off: {unit} against the level of {floor} (◆ breakpoint)",
            [
                "level",
                f"objective ({unit})",
                f"health gain ({instance.health_unit})",
                "spend",
                "status",
            ],
        )
        for r in tradeoff.points.itertuples():
            trade.add_row(
                f"{r.level:,.6g}" + (" ◆" if r.breakpoint else ""),
                value(r.objective, unit),
                value(r.health_gain, instance.health_unit),
                money(r.spend, currency),
                str(r.status),
            )
        console.print(trade)
        _print_breaks(console, table, tradeoff.breakpoints, "level", currency, unit)
    if found is None:
        return
    priced = found.prices[found.prices["value_of_relaxing"] != 0]
    prices = table(
        "Shadow prices and the range over which each holds",
        ["rule", "subject", "year", "worth", "bound now", "holds from", "to"],
    )
    for r in priced.itertuples():
        step = money(r.per, currency) if r.per != 1 else f"1 {r.unit}"
        prices.add_row(
            str(r.family),
            str(r.subject),
            str(r.year),
            f"{value(r.value_of_relaxing, unit)} {unit} per {step}",
            value(r.rhs, str(r.unit)),
            value(r.lower_rhs, str(r.unit)),
            value(r.upper_rhs, str(r.unit)) or "no limit",
        )
    console.print(prices)
    every = found.interventions[found.interventions["year"].isna()]
    shown = every if len(every) else found.interventions
    moves = table(
        "How far each number can move before the plan changes (every plan year together)",
        ["intervention", "option", "number", "now", "down to", "up to", "below that", "above that"],
    )
    for r in shown.itertuples():
        money_like = str(r.parameter) != "health_gain"

        def shown_value(x: Any, money_like: bool = money_like) -> str:
            if x is None or (isinstance(x, float) and math.isnan(x)):
                return "no limit"
            return f"{symbol}{x:,.2f}" if money_like else number(x, 6)

        moves.add_row(
            str(r.intervention),
            str(r.option),
            str(r.parameter),
            shown_value(r.value),
            shown_value(r.lower),
            shown_value(r.upper),
            str(r.below_lower),
            str(r.above_upper),
        )
    console.print(moves)


def _print_breaks(
    console: Any,
    table: Callable[[str, list[str]], Any],
    breaks: pd.DataFrame,
    key: str,
    currency: str,
    unit: str,
) -> None:
    if not len(breaks):
        return
    from planner.report import money, number

    slope_unit = str(breaks["slope_unit"].iloc[0])
    out = table(
        f"Breakpoints: where the mix changes (slopes in {slope_unit})",
        [key, unit, "slope before", "after", "what changes"],
    )
    for r in breaks.to_dict("records"):
        place = f"{r[key]:.4%}" if key == "scale" else f"{r[key]:,.8g}"
        if key == "scale":
            place += f" ({money(r['envelope'], currency)})"
        parts = [str(r["kind"])]
        for label, field_name in (
            ("enters", "enters"),
            ("leaves", "leaves"),
            ("reaches", "limits_reached"),
            ("releases", "limits_released"),
            ("choices", "choices"),
        ):
            if r[field_name]:
                parts.append(f"{label}: {r[field_name]}")
        if r["jump"]:
            parts.append(f"jump {number(r['jump'], 6)}")
        out.add_row(
            place,
            number(r["objective"], 6),
            number(r["slope_before"], 6),
            number(r["slope_after"], 6),
            "; ".join(parts),
        )
    console.print(out)
