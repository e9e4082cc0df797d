"""Diagnose: when no plan exists, say why in business terms.

Two answers, both found with the solvers planner already uses (no commercial IIS finder):

1. **The smallest relaxation** (an elastic programme). Each row a board can relax (by default the
   envelope, outcome floors, partners' risk limits and gain caps, minimum units and group needs;
   on request capacities, resources and ramps) gets a non-negative slack measured in *points*:
   one point is £100,000 on a money rule and 1% of the bound on any other rule. The programme
   minimises the weighted points, so its answer reads "add £6,216 to the 2016 envelope" or
   "relax floor ae_2016 by 3 attendances". Each group of rules alone (only the envelope, only
   the floors, ...) gives an alternative, or says that it cannot make a plan by itself.
2. **A conflicting set** (an irreducible infeasible subset, IIS): rules that together admit no
   plan, and from which no rule can be dropped without a plan appearing. Found by a deletion
   filter over the registry's rows in a fixed order (drop a row; if still infeasible keep it
   dropped, else put it back), taking runs of rows at once where they can all go: the same set
   the one-at-a-time filter finds, with fewer solves. Variable bounds (units never negative,
   tranche sizes, no borrowing from later years) are not rows; a second filter over them names
   those the conflict also needs. Yes/no choices stay yes/no: on a MILP every test and every
   relaxation is solved as a MILP.

The diagnosis rebuilds the model from the instance: the caller's model is never changed. The
answer depends only on the instance (and the weights), not on which solver ran: ties between
equally small relaxations are broken by a tiny preference for later years, then for rows built
first, and the conflict set depends only on which subsets are feasible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pulp
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from planner.build import MONEY_SCALE, Key, Model, Rule, affine, build
from planner.errors import NoPlanError
from planner.load import load
from planner.report import money, number, terminal_table
from planner.result import clean, named_tables, no_plan_message
from planner.schema import Instance
from planner.solve import SolverName, Status, solve
from planner.validate import validate

RELAXABLE: tuple[str, ...] = (
    "envelope", "outcome_floor", "partner_risk_limit", "partner_gain_cap", "minimum_units",
    "group_need",
)  # fmt: skip
OPTIONAL: tuple[str, ...] = (
    "capacity", "resource", "ramp_up", "ramp_down", "ramp_up_share", "ramp_down_share",
)  # fmt: skip
MONEY_FAMILIES = frozenset({"envelope", "partner_risk_limit", "partner_gain_cap"})
POINT_MONEY = MONEY_SCALE  # one point of relaxation on a money rule: £100,000
POINT_SHARE = 0.01  # one point on any other rule: 1% of its bound
TIE_BREAK = 1e-5  # preference between rows that relax equally well, per rank
# The elastic objective counts hundredths of a point: at one unit a point, CBC's LP (scaled,
# with an absolute dual tolerance) stopped 0.02% short of the optimum on bcf_target_2016.
OBJECTIVE_SCALE = 100.0
TOLERANCE = 1e-6  # a slack below this many points is no relaxation

# Groups of families that give the alternatives ("only the envelope", ...), in report order.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("the envelope", ("envelope",)),
    ("outcome floors", ("outcome_floor",)),
    ("partners' risk limits", ("partner_risk_limit", "partner_gain_cap")),
    ("minimum units and needs", ("minimum_units", "group_need")),
    ("capacities", ("capacity",)),
    ("resources", ("resource",)),
    ("ramps", ("ramp_up", "ramp_down", "ramp_up_share", "ramp_down_share")),
)

RELAXATION_COLUMNS = [
    "family", "constraint", "subject", "year", "rule", "unit", "bound", "relaxed_by",
    "relaxed_bound", "points", "action",
]  # fmt: skip
ALTERNATIVE_COLUMNS = ["alternative", "possible", "total_points", *RELAXATION_COLUMNS]
SUMMARY_FIELDS = [
    "instance", "title", "scenario", "status", "message", "solver", "problem", "currency",
    "objective", "rows", "relaxable_families", "relaxable_rows", "point", "relaxation_possible",
    "relaxation_points", "conflict_rules", "conflict_bounds", "feasibility_tests",
]  # fmt: skip
CONFLICT_COLUMNS = [
    "kind", "family", "constraint", "subject", "year", "rule", "sense", "unit", "relaxable",
]  # fmt: skip


@dataclass(frozen=True)
class Diagnosis:
    """Why an instance has no plan: the smallest relaxation, the alternatives, a conflicting set.

    `summary["status"]` is the status of the plan itself: "infeasible" (diagnosed), "optimal"
    (a plan exists: nothing to diagnose; the tables are empty), or another status with its
    message (unbounded, time limit, error: no diagnosis).
    """

    summary: dict[str, Any]
    relaxation: pd.DataFrame
    alternatives: pd.DataFrame
    conflict: pd.DataFrame

    @property
    def infeasible(self) -> bool:
        return bool(self.summary["status"] == Status.INFEASIBLE.value)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, the summary as a two-column table first."""
        return named_tables(self)


def diagnose(
    source: Instance | str | Path,
    scenario: str | None = None,
    solver: SolverName = "highs",
    *,
    families: Iterable[str] | None = None,
    weights: Mapping[str, float] | None = None,
    time_limit: float | None = None,
) -> Diagnosis:
    """Diagnose an instance file (with `scenario` applied) or a validated Instance (then
    `scenario` is only its label).

    `families` are the rule families the board may relax (default RELAXABLE; any of RELAXABLE
    and OPTIONAL). `weights` multiply the default cost of a point, by family or by row name
    (`floor__ae_2016__2016`); a row's name wins over its family. A solver that stops short
    (time limit, error) on any solve raises NoPlanError with that status.
    """
    chosen = check_families(families)
    instance = source if isinstance(source, Instance) else validate(load(source, scenario))
    model = build(instance)
    check_weights(weights, model)
    first = solve(model, solver, time_limit, prices=False)
    summary: dict[str, Any] = dict.fromkeys(SUMMARY_FIELDS, "")
    summary.update(
        {
            "instance": instance.name,
            "title": instance.title or instance.name,
            "scenario": scenario or "",
            "status": first.status.value,
            "message": "a plan exists: nothing to diagnose"
            if first.status is Status.OPTIMAL
            else no_plan_message(model, first),
            "solver": solver,
            "problem": "MILP" if model.choices else "LP",
            "currency": instance.currency,
            "rows": len(model.registry),
            "relaxable_families": ", ".join(chosen),
            "point": f"{money(POINT_MONEY, instance.currency)} on a money rule, "
            f"{POINT_SHARE:.0%} of the bound on any other",
        }
    )
    if first.status is not Status.INFEASIBLE:
        if first.status is Status.OPTIMAL:
            summary["objective"] = first.objective
        empty = [_frame([], c) for c in (RELAXATION_COLUMNS, ALTERNATIVE_COLUMNS, CONFLICT_COLUMNS)]
        return Diagnosis(summary, *empty)

    elastic = Elastic(instance, solver, time_limit)
    weighting = {row.index: _weight(row.rule, weights) for row in elastic.rows}
    relaxable = [row for row in elastic.rows if row.rule.family in chosen]
    best = elastic.relax(relaxable, weighting)
    relaxation = _relaxation_rows(elastic.model, best or [], weighting)
    alternatives: list[dict[str, Any]] = []
    for words, group in GROUPS:
        members = [row for row in relaxable if row.rule.family in group]
        if not members:
            continue
        found = elastic.relax(members, weighting)
        alternatives += _alternative_rows(elastic.model, words, found, weighting)
    rules, bounds = elastic.conflict({row.index for row in relaxable})
    conflict = [_conflict_row(row.rule, row.rule.family in chosen) for row in rules]
    conflict += [_bound_row(bound) for bound in bounds]
    summary.update(
        {
            "relaxable_rows": len(relaxable),
            "relaxation_possible": best is not None,
            "relaxation_points": sum(r["points"] for r in relaxation) if best is not None else "",
            "conflict_rules": len(rules),
            "conflict_bounds": len(bounds),
            "feasibility_tests": elastic.tests,
        }
    )
    return Diagnosis(
        summary,
        _frame(relaxation, RELAXATION_COLUMNS),
        _frame(alternatives, ALTERNATIVE_COLUMNS),
        _frame(conflict, CONFLICT_COLUMNS),
    )


def check_families(families: Iterable[str] | None) -> list[str]:
    """The families to relax, in the order of RELAXABLE then OPTIONAL; ValueError names any
    that cannot be relaxed."""
    if families is None:
        return list(RELAXABLE)
    given = list(families)
    allowed = (*RELAXABLE, *OPTIONAL)
    unknown = [f for f in given if f not in allowed]
    if unknown:
        raise ValueError(
            f"cannot relax {', '.join(map(repr, unknown))}; use any of {', '.join(allowed)}"
        )
    return [f for f in allowed if f in given]


def check_weights(weights: Mapping[str, float] | None, model: Model) -> None:
    """ValueError unless every key is a relaxable family or a row name and every weight > 0."""
    names = {rule.name for rule in model.registry.rules()}
    for key, value in (weights or {}).items():
        if key not in (*RELAXABLE, *OPTIONAL) and key not in names:
            raise ValueError(f"weight for {key!r}: not a relaxable rule family nor a row name")
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"weight for {key!r} must be a number above 0 (got {value!r})")


# --- the elastic model ---------------------------------------------------------------------


@dataclass
class ElasticRow:
    """A registry row with the slack(s) that can relax it: one for `<=` and `>=`, two for `==`.
    A slack counts points; `per_point` is how many units of the row's right-hand side one
    point is. The relaxers are the slacks themselves, except for the envelope under shared
    savings: money added there is also shared out when unspent, as a bigger envelope would be."""

    index: int
    key: tuple[str, Key]
    rule: Rule
    slacks: list[Any]  # drop the row (the deletion filter)
    per_point: float
    relaxers: list[Any] = field(default_factory=list)  # relax it (the elastic programme)
    rank: int = 0


@dataclass
class Bound:
    """A finite bound of a continuous variable that a conflict may need, in words."""

    variable: Any
    side: str  # "lower" or "upper"
    value: float
    family: str
    subject: str
    year: int
    words: str
    unit: str


@dataclass
class Elastic:
    """The instance's model with a slack on every row, each fixed at 0 until freed.

    Freeing a row's slack (upper bound None) makes the row vacuous: that is how a row is dropped
    in the deletion filter, and how a relaxable row is relaxed in the elastic programme.
    """

    instance: Instance
    solver: SolverName
    time_limit: float | None
    model: Model = field(init=False)
    rows: list[ElasticRow] = field(init=False)
    bounds: list[Bound] = field(init=False)
    tests: int = 0

    def __post_init__(self) -> None:
        self.model = build(self.instance)
        problem = self.model.problem
        self.rows = []
        for index, (key, (rule, row)) in enumerate(self.model.registry.items()):
            per = per_point(self.model, rule)
            signs = {"<=": [-1.0], ">=": [1.0], "==": [1.0, -1.0]}[rule.sense]
            slacks = []
            for side, sign in enumerate(signs):
                slack = problem.add_variable(f"elastic__{index}__{side}", 0, 0)
                row.set_coefficient(slack, sign * per)
                slacks.append(slack)
            self.rows.append(ElasticRow(index, key, rule, slacks, per, slacks))
        self._share_added_money()
        # ties: later years first, then build order
        ordered = sorted(self.rows, key=lambda r: (-(r.rule.year or 0), r.index))
        for rank, elastic_row in enumerate(ordered):
            elastic_row.rank = rank
        self.bounds = _bounds(self.model)
        problem.sense = pulp.LpMinimize

    def _share_added_money(self) -> None:
        """Under shared savings each partner's income holds its share of the envelope left
        unspent, so money added to a year's envelope raises it too: the envelope's relaxer
        enters that partner's risk limit and gain cap rows with coefficient share x £ a point."""
        instance, registry = self.instance, self.model.registry
        if instance.savings.rule != "share" or self.model.envelope is None:
            return
        for row in self.rows:
            if row.rule.family != "envelope":
                continue
            (_, envelope_row), year = registry[row.key], int(row.rule.year or 0)
            relaxer = self.model.problem.add_variable(f"elastic__{row.index}__shared", 0, 0)
            envelope_row.set_coefficient(relaxer, -row.per_point)
            for pid, share in instance.savings.shares.items():
                for family in ("partner_risk_limit", "partner_gain_cap"):
                    if (family, (pid, year)) in registry and share:
                        limit_row = registry[(family, (pid, year))][1]
                        limit_row.set_coefficient(relaxer, share * row.per_point)
            row.relaxers = [relaxer]

    def _apply(self, free: set[int], loose: Sequence[Bound] = (), relaxing: bool = False) -> None:
        """Drop the rows in `free` (relax them if `relaxing`), lift the `loose` bounds; every
        other slack is held at 0 and every other bound is as built."""
        for row in self.rows:
            for slack in [*row.slacks, *row.relaxers]:
                slack.upBound = 0
            if row.index in free:
                for slack in row.relaxers if relaxing else row.slacks:
                    slack.upBound = None
        loosened = {(id(b.variable), b.side) for b in loose}
        for b in self.bounds:
            value = None if (id(b.variable), b.side) in loosened else b.value
            if b.side == "lower":
                b.variable.lowBound = value
            else:
                b.variable.upBound = value

    def _run(self) -> Status:
        self.tests += 1
        solution = solve(self.model, self.solver, self.time_limit, prices=False)
        if solution.status not in (Status.OPTIMAL, Status.INFEASIBLE):
            raise NoPlanError(
                solution.status.value,
                f"could not diagnose '{self.instance.name}': {solution.message or 'no answer'}; "
                "allow more time (--time-limit) or try the other solver",
            )
        return solution.status

    def feasible(self, free: set[int], loose: Sequence[Bound] = ()) -> bool:
        """Whether a plan exists with the rows in `free` dropped and the `loose` bounds lifted."""
        self._apply(free, loose)
        self.model.problem.setObjective(pulp.lpSum([]))
        return self._run() is Status.OPTIMAL

    def relax(
        self, rows: Sequence[ElasticRow], weighting: Mapping[int, float]
    ) -> list[tuple[ElasticRow, float]] | None:
        """The smallest weighted relaxation of `rows` that makes a plan: (row, points) for each
        row relaxed; None if relaxing them cannot make a plan."""
        self._apply({row.index for row in rows}, relaxing=True)
        step = min(TIE_BREAK, 0.01 / max(1, len(self.rows)))
        pairs = [
            (slack, OBJECTIVE_SCALE * weighting[row.index] * (1 + step * row.rank))
            for row in rows
            for slack in row.relaxers
        ]
        self.model.problem.setObjective(affine(pairs))
        if self._run() is Status.INFEASIBLE:
            return None
        found = []
        for row in rows:
            points = sum(float(s.varValue or 0.0) for s in row.relaxers)
            if points > TOLERANCE:
                found.append((row, points))
        return found

    def conflict(self, relaxable: set[int]) -> tuple[list[ElasticRow], list[Bound]]:
        """An irreducible conflicting set: its rows, then the variable bounds it needs.

        Rows the board cannot relax are examined first, so where several conflicts exist the
        one found is named, as far as possible, in rules the board sets.
        """
        order = [r for r in self.rows if r.index not in relaxable]
        order += [r for r in self.rows if r.index in relaxable]
        rows = deletion_filter(order, lambda dropped: not self.feasible({r.index for r in dropped}))
        kept = {r.index for r in rows}
        others = {r.index for r in self.rows} - kept
        bounds = deletion_filter(self.bounds, lambda lifted: not self.feasible(others, lifted))
        self._apply(set())
        return sorted(rows, key=lambda r: r.index), bounds


def deletion_filter[T](
    items: Sequence[T], infeasible_without: Callable[[list[T]], bool]
) -> list[T]:
    """The items a deletion filter keeps, examining them in order: an item is dropped when the
    conflict stays infeasible without it (and without those dropped before), else kept.

    Runs of items are tried at once, doubling after each run dropped and halving after a run
    that cannot go. Dropping a run of the next items keeps the conflict infeasible only if
    dropping them one by one would, so the result is the one-at-a-time filter's, in about
    2 x (items kept) x log2(items / items kept) tests instead of one per item.
    """
    dropped: list[T] = []
    kept: list[T] = []
    start, size = 0, 1
    known: int | None = None  # dropping items[start:known] too is known to let a plan exist
    while start < len(items):
        if known is not None:
            if known - start == 1:  # everything before it could go, this one cannot
                kept.append(items[start])
                start, size, known = start + 1, 1, None
                continue
            size = (known - start) // 2
        block = list(items[start : start + size])
        if infeasible_without(dropped + block):
            dropped += block
            start += len(block)
            size = size * 2 if known is None else size
        elif len(block) == 1:
            kept.append(block[0])
            start, size, known = start + 1, 1, None
        else:
            known = start + len(block)
    return kept


def _bounds(model: Model) -> list[Bound]:
    """Finite bounds of the continuous variables: units never negative (and tranche sizes),
    money carried never negative. Yes/no variables and start indicators are left out: they
    stay as they are in every test."""
    bounds: list[Bound] = []
    by_option = {v.name: (iid, oid) for (iid, oid, _), v in model.options.items()}
    for (iid, year), variables in model.unit_variables.items():
        item = model.instance.interventions[iid]
        for j, variable in enumerate(variables):
            if variable.name in by_option:
                oid = by_option[variable.name][1]
                what, subject = f"units of {iid} from {oid} in {year}", f"{iid}.{oid}"
            elif item.tranches:
                what, subject = f"units of {iid} in tranche {j + 1} in {year}", iid
            else:
                what, subject = f"units of {iid} in {year}", iid
            bounds.append(
                Bound(
                    variable,
                    "lower",
                    0.0,
                    "units_nonnegative",
                    subject,
                    year,
                    f"{what} cannot be negative",
                    item.unit,
                )
            )
            if item.tranches and variable.upBound is not None:
                size = float(variable.upBound)
                words = f"{what}: at most {size:,.6g} (the tranche's size)"
                bounds.append(
                    Bound(variable, "upper", size, "tranche_size", subject, year, words, item.unit)
                )
    for year, variable in model.carry.items():
        words = f"money carried out of {year} cannot be negative (no borrowing from later years)"
        bounds.append(
            Bound(variable, "lower", 0.0, "carry_nonnegative", "carry", year, words, model.money())
        )
    return bounds


# --- points, bounds and words --------------------------------------------------------------


def business_bound(model: Model, rule: Rule) -> float | None:
    """The bound a row states, in its own unit (None where it has none): the envelope, a floor,
    a partner's most loss or gain, a minimum, a need, a capacity, a ramp."""
    instance, family, subject = model.instance, rule.family, rule.subject
    if family == "envelope" and model.envelope is not None and rule.year is not None:
        return model.envelope[rule.year]
    if family == "outcome_floor":
        return instance.floor_bound(subject)
    if family in ("partner_risk_limit", "partner_gain_cap"):
        loss, gain = instance.partners[subject].limits(model.baseline_income[subject])
        return loss if family == "partner_risk_limit" else gain
    if family == "group_need":
        return instance.groups[subject].need
    if family == "resource":
        return instance.resources[subject].capacity
    if family == "outcome_maximum":
        return instance.outcomes[subject].maximum
    item = instance.interventions.get(subject)
    if item is None:
        return None
    ramp = item.ramp
    values = {
        "minimum_units": item.min_units,
        "capacity": item.max_units,
        "ramp_up": ramp.max_increase if ramp else None,
        "ramp_down": ramp.max_decrease if ramp else None,
    }
    value = values.get(family)
    return float(value) if value is not None else None


def per_point(model: Model, rule: Rule) -> float:
    """Units of a row's right-hand side in one point: £100,000 for money, else 1% of its bound
    (or of the outcome's or intervention's baseline where the bound is 0 or absent; else 1)."""
    if rule.family in MONEY_FAMILIES:
        return POINT_MONEY
    scale = abs(business_bound(model, rule) or 0.0)
    if not scale:
        instance = model.instance
        outcome = instance.outcomes.get(rule.subject)
        if rule.family == "outcome_floor":
            outcome = instance.outcomes[instance.floors[rule.subject].outcome]
        item = instance.interventions.get(rule.subject)
        reference = outcome.baseline if outcome else item.baseline_units if item else 0.0
        scale = abs(reference)
    return POINT_SHARE * scale if scale else 1.0


def _weight(rule: Rule, weights: Mapping[str, float] | None) -> float:
    weights = weights or {}
    return float(weights.get(rule.name, weights.get(rule.family, 1.0)))


def _plural(unit: str, amount: float) -> str:
    if abs(amount) == 1 or unit.endswith("s"):
        return unit
    return unit + "s"


def level(value: float) -> str:
    """A relaxed bound, precise enough to differ from the bound: 1,127.4, 12,513.35, 800."""
    if abs(value) < 1000:
        return number(value)
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _amount(model: Model, rule: Rule, amount: float) -> str:
    """An amount in the row's unit: money in whole pounds, else a count with its unit."""
    if rule.family in MONEY_FAMILIES:
        return money(amount, model.instance.currency)
    return f"{number(amount)} {_plural(rule.unit, amount)}"


def action(model: Model, rule: Rule, amount: float) -> tuple[float | None, float | None, str]:
    """(bound, relaxed bound, the change in words) for relaxing `rule` by `amount` of its unit."""
    bound = business_bound(model, rule)
    family, subject, year = rule.family, rule.subject, rule.year
    size = _amount(model, rule, amount)

    def to(value: float | None) -> str:
        if value is None:
            return ""
        return money(value, model.instance.currency) if family in MONEY_FAMILIES else level(value)

    tighter = rule.sense == ">="
    relaxed = None if bound is None else bound - amount if tighter else bound + amount
    if family in ("partner_risk_limit", "partner_gain_cap"):
        relaxed = None if bound is None else bound + amount
    if family == "envelope":
        words = f"add {size} to the {year} envelope (to {to(relaxed)})"
    elif family == "outcome_floor":
        side = "at least" if tighter else "at most"
        words = f"relax floor {subject} ({rule.rule}) by {size} in {year}: {side} {to(relaxed)}"
    elif family == "partner_risk_limit":
        words = f"let {subject} lose {size} more in {year} (a loss of up to {to(relaxed)})"
    elif family == "partner_gain_cap":
        words = f"let {subject} gain {size} more in {year} (a gain of up to {to(relaxed)})"
    elif family == "minimum_units":
        words = f"lower the minimum of {subject} by {size} in {year}, to {to(relaxed)}"
    elif family == "group_need":
        verb = "lower the need" if tighter else "raise the shared need"
        words = f"{verb} {subject} by {size} in {year}, to {to(relaxed)}"
    elif family == "capacity":
        words = f"raise the capacity of {subject} by {size} in {year}, to {to(relaxed)}"
    elif family == "resource":
        words = f"add {size} of {subject} in {year}, to {to(relaxed)}"
    elif family in ("ramp_up", "ramp_up_share"):
        words = f"let {subject} grow by {size} more into {year}"
    elif family in ("ramp_down", "ramp_down_share"):
        words = f"let {subject} shrink by {size} more into {year}"
    else:
        words = f"relax {rule.name} ({rule.rule}) by {size}"
    return bound, relaxed, words


# --- tables --------------------------------------------------------------------------------


def _relaxation_rows(
    model: Model, found: list[tuple[ElasticRow, float]], weighting: Mapping[int, float]
) -> list[dict[str, Any]]:
    rows = []
    for row, points in found:
        rule = row.rule
        amount = points * row.per_point
        bound, relaxed, words = action(model, rule, amount)
        rows.append(
            {
                "family": rule.family,
                "constraint": rule.name,
                "subject": rule.subject,
                "year": rule.year,
                "rule": rule.rule,
                "unit": rule.unit,
                "bound": bound,
                "relaxed_by": clean(amount),
                "relaxed_bound": relaxed,
                "points": clean(points * weighting[row.index]),
                "action": words,
            }
        )
    return rows


def _alternative_rows(
    model: Model,
    words: str,
    found: list[tuple[ElasticRow, float]] | None,
    weighting: Mapping[int, float],
) -> list[dict[str, Any]]:
    if found is None:
        return [
            {
                "alternative": words,
                "possible": False,
                "action": f"no relaxation of {words} alone makes a plan",
            }
        ]
    rows = _relaxation_rows(model, found, weighting)
    total = clean(sum(r["points"] for r in rows))
    return [
        {
            "alternative": words,
            "possible": True,
            "total_points": total,
            **{column: r[column] for column in ALTERNATIVE_COLUMNS[3:]},
        }
        for r in rows
    ]


def _conflict_row(rule: Rule, relaxable: bool) -> dict[str, Any]:
    return {
        "kind": "rule",
        "family": rule.family,
        "constraint": rule.name,
        "subject": rule.subject,
        "year": rule.year,
        "rule": rule.rule,
        "sense": rule.sense,
        "unit": rule.unit,
        "relaxable": relaxable,
    }


def _bound_row(bound: Bound) -> dict[str, Any]:
    return {
        "kind": "bound",
        "family": bound.family,
        "constraint": bound.variable.name,
        "subject": bound.subject,
        "year": bound.year,
        "rule": bound.words,
        "sense": ">=" if bound.side == "lower" else "<=",
        "unit": bound.unit,
        "relaxable": False,
    }


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    if "year" in frame:
        frame["year"] = frame["year"].astype("Int64")
    return frame


# --- text ----------------------------------------------------------------------------------


def command(diagnosis: Diagnosis, path: str) -> str:
    """The `planner diagnose` command line that gives this diagnosis in full."""
    scenario = diagnosis.summary["scenario"]
    solver = diagnosis.summary["solver"]
    return (
        f"planner diagnose {path}"
        + (f" --scenario {scenario}" if scenario else "")
        + (f" --solver {solver}" if solver != "highs" else "")
    )


def brief(diagnosis: Diagnosis, path: str | None = None, limit: int = 6) -> list[str]:
    """A few lines for `planner solve`: the smallest relaxation, each alternative in one line,
    and the conflicting rules, folded by family and subject."""
    if not diagnosis.infeasible:
        return [str(diagnosis.summary.get("message", ""))]
    lines = []
    relaxation = diagnosis.relaxation
    if diagnosis.summary["relaxation_possible"]:
        count = len(relaxation)
        lines.append(
            f"Smallest relaxation that makes a plan ({count} change{'s' * (count != 1)}, "
            f"{number(diagnosis.summary['relaxation_points'])} points):"
        )
        lines += [f"  {a}" for a in relaxation["action"].head(limit)]
        if count > limit:
            lines.append(f"  ... and {count - limit} more")
    else:
        lines.append(
            "No relaxation of the rules a board sets "
            f"({diagnosis.summary['relaxable_families']}) makes a plan."
        )
    if len(diagnosis.alternatives):
        lines.append("Or relaxing only:")
        for words, rows in diagnosis.alternatives.groupby("alternative", sort=False):
            lines.append(f"  {words}: {_alternative_words(rows)}")
    lines.append(f"Conflicting rules (irreducible): {conflict_words(diagnosis.conflict)}")
    if path is not None:
        lines.append(f"Full diagnosis: {command(diagnosis, path)}")
    return lines


def _alternative_words(rows: pd.DataFrame) -> str:
    if not bool(rows.iloc[0]["possible"]):
        return "cannot make a plan alone"
    if len(rows) <= 2:
        return "; ".join(rows["action"])
    return f"{len(rows)} changes, {number(rows.iloc[0]['total_points'])} points"


FAMILY_WORDS = {
    "envelope": "envelope",
    "outcome_floor": "floors",
    "partner_risk_limit": "risk limits",
    "partner_gain_cap": "gain caps",
    "minimum_units": "minimums",
    "group_need": "needs",
    "capacity": "capacities",
    "resource": "resources",
}


def conflict_words(conflict: pd.DataFrame) -> str:
    """The conflict in one line: the rules the board may relax by family (the envelope by year,
    the others by subject), then how many other rules and variable bounds, by family."""
    rules = conflict[conflict["kind"] == "rule"]
    parts = []
    relaxable = rules[rules["relaxable"].astype(bool)]
    for family, rows in relaxable.groupby("family", sort=False):
        column = "year" if family == "envelope" else "subject"
        names = ", ".join(dict.fromkeys(str(v) for v in rows[column].dropna()))
        parts.append(f"{FAMILY_WORDS.get(str(family), str(family))} {names}")
    others = rules[~rules["relaxable"].astype(bool)]
    bounds = int((conflict["kind"] == "bound").sum())
    tail = []
    if len(others):
        families = ", ".join(dict.fromkeys(others["family"]))
        tail.append(f"{len(others)} other rule{'s' * (len(others) != 1)} ({families})")
    if bounds:
        tail.append(f"{bounds} variable bound{'s' * (bounds != 1)}")
    if tail:
        parts.append(("and " if parts else "") + " and ".join(tail))
    return "; ".join(parts) if parts else "none found"


def print_diagnosis(diagnosis: Diagnosis, console: Console | None = None) -> None:
    """The whole diagnosis as tables: relaxation, alternatives, conflicting set, notes."""
    console = console or Console()
    s = diagnosis.summary
    title = s["title"] + (f" — scenario {s['scenario']}" if s["scenario"] else "")
    console.print(
        f"\n[bold]{escape(title)}[/bold]  (diagnosis with {s['solver']}, {s['problem']}: "
        f"{s['status']})",
        soft_wrap=True,
        markup=True,
    )
    if not diagnosis.infeasible:
        console.print(str(s.get("message", "")), soft_wrap=True, highlight=False, markup=False)
        return
    console.print(str(s["message"]), soft_wrap=True, highlight=False, markup=False)
    point = f"a point is {s['point']}"
    if s["relaxation_possible"]:
        table = _table(
            f"Smallest relaxation that makes a plan: {number(s['relaxation_points'])} points "
            f"({point})",
            ["change", "relaxed by", "points"],
            right={1, 2},
        )
        for _, r in diagnosis.relaxation.iterrows():
            table.add_row(str(r["action"]), _relaxed_by(r, s["currency"]), number(r["points"]))
        console.print(table)
    else:
        console.print(
            f"No relaxation of {s['relaxable_families']} makes a plan: the conflict below "
            "lies in rules the board cannot relax here.",
            soft_wrap=True,
            markup=False,
        )
    if len(diagnosis.alternatives):
        table = _table(
            "Alternatives: the smallest relaxation of one kind of rule alone",
            ["relaxing only", "change", "points"],
            right={2},
        )
        for words, rows in diagnosis.alternatives.groupby("alternative", sort=False):
            if not bool(rows.iloc[0]["possible"]):
                table.add_row(str(words), "cannot make a plan alone", "")
                continue
            changes = "\n".join(rows["action"])
            table.add_row(str(words), changes, number(rows.iloc[0]["total_points"]))
        console.print(table)
    conflict = diagnosis.conflict
    table = _table(
        f"Conflicting rules: {_count(s['conflict_rules'], 'rule')} and "
        f"{_count(s['conflict_bounds'], 'variable bound')} that together admit no plan; drop "
        "any one and a plan exists",
        ["rule", "subject", "year", "in words", "board sets"],
        right={2},
    )
    for _, r in conflict.iterrows():
        year = "" if pd.isna(r["year"]) else str(r["year"])
        table.add_row(
            str(r["family"]),
            str(r["subject"]),
            year,
            str(r["rule"]),
            "yes" if r["relaxable"] else "",
        )
    console.print(table)
    notes = [
        f"Points weigh relaxations against each other: {point}.",
        "Only the variable bounds the conflict needs are listed; yes/no choices stay yes/no.",
    ]
    if s["problem"] == "MILP":
        notes.append(
            "The plan has yes/no choices: every relaxation and every test was solved as a MILP."
        )
    notes.append(f"Feasibility tests for the conflict: {s['feasibility_tests']}.")
    for note in notes:
        console.print(note, soft_wrap=True, highlight=False, markup=False)


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' * (count != 1)}"


def _relaxed_by(row: pd.Series, currency: str) -> str:
    if row["family"] in MONEY_FAMILIES:
        return money(row["relaxed_by"], currency)
    return f"{number(row['relaxed_by'])} {_plural(str(row['unit']), float(row['relaxed_by']))}"


def _table(title: str, columns: Iterable[str], right: set[int]) -> Table:
    """A board table, printed literally; the columns at the indices in `right` are
    right-justified (numbers)."""
    return terminal_table(title, columns, right=right, wrap_first=True)
