"""Verify: every plan re-checked against its instance, independently of the model that made it.

The verifier uses neither PuLP, nor a solver, nor `planner.build`. It writes the planning model
again from the instance and docs/formulation.md, as its own sparse matrix (numpy); reads the
plan's decisions from the plan's tables (units per intervention and year, units and choices per
supply option, shared services open); and recomputes every row of every constraint family in
business units. Money carried between years is not a decision the plan reports: the envelope is
checked with every unspent pound carried forward, the most the rule allows. It then recomputes
the objective, checks that the figures the plan reports (outcome levels, partner income and
outside costs, spend, health gain, option and service costs) are what its decisions imply, and
checks strong duality on the LP the prices come from: the dual objective, built from the plan's
shadow prices and the right-hand sides the verifier computes itself, must equal the objective.

A check fails when it is off by more than 1e-6 of its own magnitude: for a row, the largest of
1, its right-hand side and each term of its left-hand side. docs/verification.md lists every
check and shows what a failure looks like.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from planner.errors import NoPlanError
from planner.schema import CURRENCY_SYMBOL, Instance

if TYPE_CHECKING:
    import pandas as pd

    from planner.result import Plan

RELATIVE = 1e-6  # a check fails when off by more than this share of its magnitude
DUAL_CLEANED = 1e-9  # result.py reports duals smaller than this as 0
MAX_LISTED = 10  # failed checks listed in an error message
NOT_RULES = ("reported", "objective", "duality")  # checks that are not rules of the plan
Sense = Literal["<=", ">=", "=="]
Key = tuple[str | int, ...]

PREFIX = {  # row-name prefixes that differ from the family's name (docs/constraints.md)
    "outcome_floor": "floor",
    "outcome_nonnegative": "nonnegative",
    "outcome_maximum": "maximum",
    "partner_risk_limit": "risk_limit",
    "partner_gain_cap": "gain_cap",
    "minimum_units": "minimum",
    "group_need": "group",
}


class VerificationError(NoPlanError):
    """A plan failed a check when recomputed from its inputs, so it is not shown. Its status is
    `error` (exit code 6): the fault is in planner or the solver, not in the input."""

    def __init__(self, verification: Verification, name: str) -> None:
        self.verification = verification
        failed = verification.failed
        count = len(failed)
        lines = [
            f"the plan for '{name}' failed verification and is not shown: {count} "
            f"check{'s' if count != 1 else ''} failed when recomputed from the inputs. This is "
            "a fault in planner or the solver, not in the input: please report it with the "
            "input files"
        ]
        lines += [f"  {check.message}" for check in failed[:MAX_LISTED]]
        if count > MAX_LISTED:
            lines.append(f"  ... and {count - MAX_LISTED} more")
        super().__init__("error", "\n".join(lines))


@dataclass(frozen=True)
class Check:
    """One recomputed rule or figure: how far it is off, in its own unit, against its tolerance.

    `family` is a row family of the model (docs/constraints.md), or `variable_bounds`,
    `reported`, `objective` or `duality`. `rule` is the row's name (as in `shadow_prices`) or a
    short label; `amount` is how far the check is off (0 or less when it holds), in `unit`.
    """

    family: str
    rule: str
    year: int | None
    amount: float
    unit: str
    tolerance: float
    message: str

    @property
    def failed(self) -> bool:
        return self.amount > self.tolerance

    @property
    def ratio(self) -> float:
        """How far off, as a multiple of the tolerance (0 when it holds)."""
        return max(0.0, self.amount) / self.tolerance


@dataclass(frozen=True)
class Verification:
    """Every check of a plan. `rules` counts the model's rows recomputed; `objective` is the
    objective recomputed; `dual_objective` the dual objective (None, with `duality_note` saying
    why, when it cannot be formed); `unmatched` lists rows found on one side only (the plan's
    `shadow_prices` or the verifier's model)."""

    checks: list[Check]
    rules: int
    objective: float
    dual_objective: float | None
    duality_note: str = ""
    unmatched: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        """Checks that failed: broken rules first, then wrong figures, each the furthest off (as
        a multiple of its tolerance) first."""
        failed = (c for c in self.checks if c.failed)
        return sorted(failed, key=lambda c: (c.family in NOT_RULES, -c.ratio))

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def largest(self) -> Check | None:
        """The rule (a model row or a variable bound) violated by the largest multiple of its
        tolerance; None when no rule is violated at all."""
        rules = [c for c in self.checks if c.family not in NOT_RULES and c.amount > 0]
        return max(rules, key=lambda c: c.ratio, default=None)

    def summary(self) -> dict[str, Any]:
        """The plan summary's verification fields, in the order of docs/results.md."""
        worst = self.largest
        return {
            "verified": self.ok,
            "rules_checked": self.rules,
            "largest_violation": _tidy(worst.amount) if worst is not None else 0.0,
            "largest_violation_unit": worst.unit if worst is not None else "",
            "largest_violation_rule": worst.rule if worst is not None else "",
            "dual_objective": _tidy(self.dual_objective, 10)
            if self.dual_objective is not None
            else "",
        }


def _tidy(value: float, digits: int = 3) -> float:
    """A figure to `digits` significant digits, and -0.0 as 0.0, so output files stay stable."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    return float(f"{value:.{digits}g}") + 0.0


def verified(instance: Instance, plan: Plan) -> Verification:
    """Verify `plan` against `instance`; VerificationError when any check fails."""
    verification = verify(instance, plan)
    if not verification.ok:
        raise VerificationError(verification, instance.name)
    return verification


# --- the model, written again ----------------------------------------------------------------


class Lin:
    """An affine expression over the verifier's columns: coefficient by column, plus a constant."""

    __slots__ = ("constant", "terms")

    def __init__(self, terms: dict[int, float] | None = None, constant: float = 0.0) -> None:
        self.terms: dict[int, float] = terms or {}
        self.constant = float(constant)

    def __add__(self, other: Lin | float) -> Lin:
        return total([self, other])

    def __radd__(self, other: float) -> Lin:
        return total([self, other])

    def __mul__(self, factor: float) -> Lin:
        return Lin({j: a * factor for j, a in self.terms.items()}, self.constant * factor)

    __rmul__ = __mul__

    def __neg__(self) -> Lin:
        return self * -1.0

    def __sub__(self, other: Lin | float) -> Lin:
        return total([self, -other])

    def __rsub__(self, other: float) -> Lin:
        return total([other, -self])

    def value(self, values: np.ndarray) -> float:
        """The expression's value at the column values `values`."""
        return self.constant + math.fsum(a * float(values[j]) for j, a in self.terms.items())


def total(parts: Iterable[Lin | float]) -> Lin:
    """The sum of affine expressions (and constants)."""
    terms: dict[int, float] = {}
    constant = 0.0
    for part in parts:
        if isinstance(part, Lin):
            for j, a in part.terms.items():
                terms[j] = terms.get(j, 0.0) + a
            constant += part.constant
        else:
            constant += part
    return Lin(terms, constant)


@dataclass(frozen=True)
class Row:
    """One rule as the verifier writes it, `lhs <sense> rhs`, with the left-hand side in words."""

    family: str
    subject: str
    year: int
    sense: Sense
    lhs: Lin
    rhs: float
    unit: str
    what: str

    @property
    def name(self) -> str:
        """The row's name in the plan: prefix and business key joined by double underscores."""
        key = [] if self.family == "envelope" else self.subject.split(".")
        return "__".join([PREFIX.get(self.family, self.family), *key, str(self.year)])


@dataclass
class Formulation:
    """The model of an instance: columns (with bounds), rows, the objective, and the figures the
    plan reports, each an affine expression in the columns.

    Columns are keyed ("units", i, t), ("tranche", i, t, j), ("option", i, o, t),
    ("choose", i, o, t), ("open", s, t), ("fund", i, t), ("start", i, o, t) or ("start", s, t),
    and ("carry", t). Yes/no columns are fixed at the plan's values in the LP that is priced.
    """

    instance: Instance
    keys: list[Key] = field(default_factory=list)
    index: dict[Key, int] = field(default_factory=dict)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    yes_no: list[bool] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    units: dict[tuple[str, int], Lin] = field(default_factory=dict)
    level: dict[tuple[str, int], Lin] = field(default_factory=dict)
    health: dict[int, Lin] = field(default_factory=dict)
    spend: dict[int, Lin] = field(default_factory=dict)
    economic_cost: dict[int, Lin] = field(default_factory=dict)
    income: dict[tuple[str, int], Lin] = field(default_factory=dict)
    external_cost: dict[tuple[str, int], Lin] = field(default_factory=dict)
    baseline_income: dict[str, float] = field(default_factory=dict)
    baseline_external_cost: dict[str, float] = field(default_factory=dict)
    option_cost: dict[tuple[str, str, int], Lin] = field(default_factory=dict)
    service_cost: dict[tuple[str, int], Lin] = field(default_factory=dict)
    options: dict[tuple[str, str, int], Lin] = field(default_factory=dict)
    chosen: dict[tuple[str, str, int], Lin] = field(default_factory=dict)
    opened: dict[tuple[str, int], Lin] = field(default_factory=dict)
    funded: dict[tuple[str, int], Lin] = field(default_factory=dict)
    series: dict[Key, dict[int, Lin]] = field(default_factory=dict)  # yes/no of a set-up series
    starts: dict[Key, dict[int, Lin]] = field(default_factory=dict)
    carry: dict[int, Lin] = field(default_factory=dict)
    envelope: dict[int, float] | None = None
    objective: Lin = field(default_factory=Lin)

    def column(
        self, key: Key, lower: float = 0.0, upper: float = math.inf, *, yes_no: bool = False
    ) -> Lin:
        """A new column with its bounds, as an expression."""
        self.index[key] = len(self.keys)
        self.keys.append(key)
        self.lower.append(lower)
        self.upper.append(upper)
        self.yes_no.append(yes_no)
        return Lin({self.index[key]: 1.0})

    def add(
        self,
        family: str,
        subject: str,
        year: int,
        sense: Sense,
        lhs: Lin,
        rhs: float,
        unit: str,
        what: str,
    ) -> None:
        """Add the row `lhs <sense> rhs`."""
        self.rows.append(Row(family, subject, year, sense, lhs, float(rhs), unit, what))


def column_name(key: Key) -> str:
    """A column's name as the model names its variable (formulation §3 and §8.2):
    units__<intervention>__<year>[__tranche<j>], units__<intervention>__<option>__<year>,
    choose__..., open__..., fund__..., start__..., carry__<year>."""
    kind, *rest = key
    if kind == "tranche":
        iid, year, j = rest
        return f"units__{iid}__{year}__tranche{int(j) + 1}"
    return "__".join(["units" if kind == "option" else str(kind), *map(str, rest)])


def needs_choice(instance: Instance, iid: str, oid: str) -> bool:
    """formulation.md §8.1: an option has a yes/no when the choice is exclusive between several
    options on offer, or when it has a fixed or set-up cost, a minimum volume or a shared
    service."""
    item = instance.interventions[iid]
    option = item.offered()[oid]
    exclusive = item.supply is not None and item.supply.choice == "exclusive"
    return (
        (exclusive and len(item.offered()) > 1)
        or option.fixed_cost > 0
        or option.setup_cost > 0
        or bool(option.min_volume)
        or option.shared is not None
    )


def formulate(instance: Instance) -> Formulation:
    """The planning model of docs/formulation.md, written from the instance alone."""
    f = Formulation(instance, envelope=instance.envelope_by_year())
    _choice_columns(f)
    _units_and_levels(f)
    _money(f)
    _rows(f)
    _objective(f)
    return f


def _choice_columns(f: Formulation) -> None:
    """Units through each option on offer in the years it can supply, the yes/no choices they
    need, shared services open, programmes funded, the starts of series with a set-up cost, and
    what each option and shared service costs (formulation §8.2-8.3)."""
    instance = f.instance
    for iid, item in instance.interventions.items():
        for oid, option in item.offered().items():
            series: dict[int, Lin] = {}
            for year in instance.supply_years(option):
                f.options[(iid, oid, year)] = f.column(("option", iid, oid, year))
                if needs_choice(instance, iid, oid):
                    series[year] = f.column(("choose", iid, oid, year), 0, 1, yes_no=True)
                    f.chosen[(iid, oid, year)] = series[year]
            if option.setup_cost and series:
                f.starts[(iid, oid)] = _starts(f, series, (iid, oid))
    drawn_on = {o.shared for i in instance.interventions.values() for o in i.offered().values()}
    for sid, service in instance.shared_services.items():
        if sid not in drawn_on:
            continue
        series = {
            year: f.column(("open", sid, year), 0, 1, yes_no=True)
            for year in instance.option_years(service.first_year)
        }
        f.opened.update({(sid, year): on for year, on in series.items()})
        if service.setup_cost and series:
            f.starts[(sid,)] = _starts(f, series, (sid,))
    for iid, item in instance.interventions.items():
        if item.indivisible:
            for year in instance.plan_years:
                f.funded[(iid, year)] = f.column(("fund", iid, year), 0, 1, yes_no=True)
    for (iid, oid, year), units in f.options.items():
        option = instance.interventions[iid].offered()[oid]
        parts: list[Lin | float] = [option.unit_price * units]
        if (on := f.chosen.get((iid, oid, year))) is not None:
            parts.append(option.fixed_cost * on)
        if (start := f.starts.get((iid, oid), {}).get(year)) is not None:
            parts.append(option.setup_cost * start)
        f.option_cost[(iid, oid, year)] = total(parts)
    for (sid, year), on in f.opened.items():
        service = instance.shared_services[sid]
        parts = [service.fixed_cost * on]
        if (start := f.starts.get((sid,), {}).get(year)) is not None:
            parts.append(service.setup_cost * start)
        f.service_cost[(sid, year)] = total(parts)


def _starts(f: Formulation, series: dict[int, Lin], key: Key) -> dict[int, Lin]:
    """A series' start in each year: its yes/no in its first year, then a [0, 1] column."""
    f.series[key] = series
    years = sorted(series)
    starts = {years[0]: series[years[0]]}
    for year in years[1:]:
        starts[year] = f.column(("start", *key, year), 0, 1)
    return starts


def _units_and_levels(f: Formulation) -> None:
    """Units of each intervention and year (a column, its tranches, or its options), outcome
    levels with lags (formulation §4.1) and health gain (§4.3)."""
    instance = f.instance
    years = instance.plan_years
    own: dict[int, list[Lin | float]] = {year: [] for year in years}
    for iid, item in instance.interventions.items():
        for year in years:
            if item.tranches:
                blocks = [
                    f.column(("tranche", iid, year, j), 0, math.inf if t.units is None else t.units)
                    for j, t in enumerate(item.tranches)
                ]
                f.units[(iid, year)] = total(blocks)
                own[year] += [t.health_gain * z for t, z in zip(item.tranches, blocks, strict=True)]
            else:
                if item.supply is not None:
                    units = total(u for (i, _, y), u in f.options.items() if i == iid and y == year)
                else:
                    units = f.column(("units", iid, year))
                f.units[(iid, year)] = units
                own[year].append(item.health_gain * units)
    effects_on: dict[str, list[tuple[str, Any]]] = {}  # by outcome, in the interventions' order
    for iid, item in instance.interventions.items():
        for oid in item.effects:
            effects_on.setdefault(oid, []).append((iid, item))
    for oid, outcome in instance.outcomes.items():
        for t, year in enumerate(years, start=1):
            parts: list[Lin | float] = [outcome.baseline]
            for iid, item in effects_on.get(oid, []):
                for effect in item.effect_list(oid):
                    if t - effect.lag >= 1:
                        source = f.units[(iid, years[t - effect.lag - 1])]
                        parts.append(effect.per_unit * (source - item.baseline_units))
            f.level[(oid, year)] = level = total(parts)
            if outcome.health_gain_per_event:
                gain = outcome.health_gain_per_event * (level - outcome.baseline)
                own[year].append(gain)
    f.health = {year: total(parts) for year, parts in own.items()}


def _money(f: Formulation) -> None:
    """Spend (formulation §4.2, §8.3), economic cost (§4.3), and each partner's income and
    outside costs, at baseline and in each plan year (§4.4)."""
    instance = f.instance
    refused = instance.refused_outcomes
    for year in instance.plan_years:
        plain = [
            (item, f.units[(iid, year)])
            for iid, item in instance.interventions.items()
            if item.supply is None
        ]
        supplied = [c for (_, _, y), c in f.option_cost.items() if y == year]
        supplied += [c for (_, y), c in f.service_cost.items() if y == year]
        tariffs = [(oid, o.tariff * f.level[(oid, year)]) for oid, o in instance.outcomes.items()]
        f.spend[year] = total(
            [item.unit_cost * u for item, u in plain]
            + supplied
            + [paid for oid, paid in tariffs if oid not in refused]
        )
        f.economic_cost[year] = total(
            [
                (item.unit_cost if item.full_cost is None else item.full_cost) * u
                for item, u in plain
            ]
            + supplied
            + [paid for _, paid in tariffs]
        )
    if f.envelope is not None and instance.savings.rule == "carry_forward":
        f.carry = {year: f.column(("carry", year)) for year in instance.plan_years}
    # who is paid for what, by partner in the order of interventions and outcomes (an index
    # only: a partner's sums and parts are the same as scanning everything for it)
    delivers: dict[str, list[tuple[str, Any]]] = {}
    for iid, item in instance.interventions.items():
        for who in item.partner_shares():
            delivers.setdefault(who, []).append((iid, item))
    paid_or_bears: dict[str, list[tuple[str, Any]]] = {}
    outside: dict[str, list[tuple[str, Any]]] = {}
    for oid, o in instance.outcomes.items():
        payees = set(o.payee_shares())
        if oid in refused:
            payees.add(refused[oid].responsible)
        for who in sorted(payees):
            paid_or_bears.setdefault(who, []).append((oid, o))
        for who in o.external_costs:
            outside.setdefault(who, []).append((oid, o))
    for pid, partner in instance.partners.items():
        computed = math.fsum(
            item.unit_cost * item.partner_shares().get(pid, 0.0) * item.baseline_units
            for _, item in delivers.get(pid, [])
        ) + math.fsum(
            o.tariff * o.payee_shares().get(pid, 0.0) * o.baseline
            for _, o in paid_or_bears.get(pid, [])
        )
        stated = partner.baseline_income
        f.baseline_income[pid] = computed if stated is None else stated
        f.baseline_external_cost[pid] = math.fsum(
            o.external_costs.get(pid, 0.0) * o.baseline for _, o in outside.get(pid, [])
        )
        share = instance.savings.shares.get(pid, 0.0) if instance.savings.rule == "share" else 0.0
        for year in instance.plan_years:
            parts: list[Lin | float] = []
            for iid, item in delivers.get(pid, []):
                if item.supply is None and item.partner_shares().get(pid):
                    parts.append(item.partner_shares()[pid] * item.unit_cost * f.units[(iid, year)])
            for (iid, oid, y), cost in f.option_cost.items():
                option = instance.interventions[iid].offered()[oid]
                if y == year and instance.option_provider(option) == pid:
                    parts.append(cost)
            for (sid, y), cost in f.service_cost.items():
                if y == year and instance.shared_services[sid].provider == pid:
                    parts.append(cost)
            for oid, o in paid_or_bears.get(pid, []):
                paid = o.payee_shares().get(pid, 0.0)
                borne = 1.0 if oid in refused and refused[oid].responsible == pid else 0.0
                if o.tariff and (paid or borne):
                    parts.append((paid - borne) * o.tariff * f.level[(oid, year)])
            if share and f.envelope is not None:
                parts.append(share * (f.envelope[year] - f.spend[year]))
            f.income[(pid, year)] = total(parts)
            f.external_cost[(pid, year)] = total(
                o.external_costs[pid] * f.level[(oid, year)] for oid, o in outside.get(pid, [])
            )


def _objective(f: Formulation) -> None:
    """Discounted health gain, spend, or net benefit (formulation §5)."""
    instance = f.instance
    kind = instance.objective.kind
    threshold = instance.objective.threshold or 1.0
    terms: list[Lin | float] = []
    for year in instance.plan_years:
        if kind == "health_gain":
            term = f.health[year]
        elif kind == "min_spend":
            term = f.spend[year]
        else:
            term = f.health[year] - (1.0 / threshold) * f.economic_cost[year]
        terms.append(instance.discount(year) * term)
    f.objective = total(terms)


def _rows(f: Formulation) -> None:
    """Every row of every constraint family (formulation §6 and §8.4)."""
    instance = f.instance
    years = instance.plan_years
    money = instance.currency_symbol
    if f.envelope is not None:
        for index, year in enumerate(years):
            lhs = f.spend[year]
            if f.carry:
                lhs = lhs + f.carry[year] - (f.carry[years[index - 1]] if index else 0.0)
            f.add("envelope", "envelope", year, "<=", lhs, f.envelope[year], money, "spend")
    for fid, floor in instance.floors.items():
        outcome = instance.outcomes[floor.outcome]
        sense: Sense = "<=" if floor.bound == "upper" else ">="
        for year in [floor.year] if floor.year is not None else years:
            f.add(
                "outcome_floor",
                fid,
                year,
                sense,
                f.level[(floor.outcome, year)],
                instance.floor_bound(fid),
                outcome.unit,
                outcome.name,
            )
    moved = {oid for item in instance.interventions.values() for oid in item.effects}
    for oid, outcome in instance.outcomes.items():
        if oid not in moved:
            continue
        for year in years:
            level = f.level[(oid, year)]
            f.add("outcome_nonnegative", oid, year, ">=", level, 0.0, outcome.unit, outcome.name)
            if outcome.maximum is not None:
                f.add(
                    "outcome_maximum",
                    oid,
                    year,
                    "<=",
                    level,
                    outcome.maximum,
                    outcome.unit,
                    outcome.name,
                )
    for pid, partner in instance.partners.items():
        base_net = f.baseline_income[pid] - f.baseline_external_cost[pid]
        loss, gain = partner.limits(f.baseline_income[pid])
        for year in years:
            net = f.income[(pid, year)] - f.external_cost[(pid, year)]
            what = f"{partner.name}'s net position"
            if loss is not None:
                f.add("partner_risk_limit", pid, year, ">=", net, base_net - loss, money, what)
            if gain is not None:
                f.add("partner_gain_cap", pid, year, "<=", net, base_net + gain, money, what)
    for iid, item in instance.interventions.items():
        for year in years:
            units = f.units[(iid, year)]
            what = f"{item.name} ({item.unit}s)"
            if item.max_units is not None:
                f.add("capacity", iid, year, "<=", units, item.max_units, item.unit, what)
            if item.min_units:
                f.add("minimum_units", iid, year, ">=", units, item.min_units, item.unit, what)
    for gid, group in instance.groups.items():
        unit = instance.interventions[group.members[0]].unit
        sense = ">=" if group.rule == "meet_need" else "<="
        for year in years:
            units = total(f.units[(m, year)] for m in group.members)
            f.add(
                "group_need",
                gid,
                year,
                sense,
                units,
                group.need,
                unit,
                f"units of {', '.join(group.members)}",
            )
    for cid, complement in instance.complements.items():
        dependent, required = complement.sides()
        unit = instance.interventions[dependent[0]].unit
        for year in years:
            lhs = total(f.units[(a, year)] for a in dependent) - complement.ratio * total(
                f.units[(b, year)] for b in required
            )
            what = (
                f"units of {', '.join(dependent)} less {complement.ratio:g} x {', '.join(required)}"
            )
            f.add("complement", cid, year, "<=", lhs, 0.0, unit, what)
    for rid, resource in instance.resources.items():
        users = {
            iid: item.resource_use[rid]
            for iid, item in instance.interventions.items()
            if item.resource_use.get(rid)
        }
        for year in years if users else []:
            used = total(use * f.units[(iid, year)] for iid, use in users.items())
            f.add(
                "resource",
                rid,
                year,
                "<=",
                used,
                resource.capacity,
                resource.unit,
                f"{resource.name} used",
            )
    _ramp_rows(f)
    _supply_rows(f)


def _ramp_rows(f: Formulation) -> None:
    """Growth and cuts from the year before (the baseline units before the first plan year)."""
    years = f.instance.plan_years
    for iid, item in f.instance.interventions.items():
        ramp = item.ramp
        if ramp is None:
            continue
        for index, year in enumerate(years):
            now = f.units[(iid, year)]
            before = (
                f.units[(iid, years[index - 1])] if index else Lin(constant=item.baseline_units)
            )
            name = item.name
            if ramp.max_increase is not None:
                f.add(
                    "ramp_up",
                    iid,
                    year,
                    "<=",
                    now - before,
                    ramp.max_increase,
                    item.unit,
                    f"growth of {name} from the year before",
                )
            if ramp.max_decrease is not None:
                f.add(
                    "ramp_down",
                    iid,
                    year,
                    "<=",
                    before - now,
                    ramp.max_decrease,
                    item.unit,
                    f"cut of {name} from the year before",
                )
            if ramp.max_increase_share is not None:
                share = ramp.max_increase_share
                f.add(
                    "ramp_up_share",
                    iid,
                    year,
                    "<=",
                    now - (1 + share) * before,
                    0.0,
                    item.unit,
                    f"growth of {name} beyond {share:.0%} of the year before",
                )
            if ramp.max_decrease_share is not None:
                share = ramp.max_decrease_share
                f.add(
                    "ramp_down_share",
                    iid,
                    year,
                    "<=",
                    (1 - share) * before - now,
                    0.0,
                    item.unit,
                    f"cut of {name} beyond {share:.0%} of the year before",
                )


def _supply_rows(f: Formulation) -> None:
    """Make-or-buy rows, shared capacities, set-up starts and indivisible programmes (§8.4)."""
    instance = f.instance
    for (iid, oid, year), units in f.options.items():
        item = instance.interventions[iid]
        option = item.offered()[oid]
        on = f.chosen.get((iid, oid, year))
        subject = f"{iid}.{oid}"
        what = f"units of {item.name} through {option.name or oid}"
        if on is not None:
            service = instance.shared_services.get(option.shared or "")
            given = [option.capacity, item.max_units, service.capacity if service else None]
            bounds = [b for b in given if b is not None]
            if bounds:
                f.add(
                    "option_capacity",
                    subject,
                    year,
                    "<=",
                    units - min(bounds) * on,
                    0.0,
                    item.unit,
                    f"{what}, less {min(bounds):,.6g} if chosen",
                )
            if option.min_volume:
                f.add(
                    "minimum_volume",
                    subject,
                    year,
                    ">=",
                    units - option.min_volume * on,
                    0.0,
                    item.unit,
                    f"{what}, less {option.min_volume:,.6g} if chosen",
                )
            if option.shared is not None:
                f.add(
                    "shared_use",
                    subject,
                    year,
                    "<=",
                    on - f.opened[(option.shared, year)],
                    0.0,
                    "option",
                    "chosen, less the shared service open",
                )
        elif option.capacity is not None:
            f.add("option_capacity", subject, year, "<=", units, option.capacity, item.unit, what)
    for iid, item in instance.interventions.items():
        if item.supply is None:
            continue
        for year in instance.plan_years:
            ons = [on for (i, _, y), on in f.chosen.items() if i == iid and y == year]
            if item.supply.choice == "exclusive" and len(ons) > 1:
                f.add(
                    "exclusive_choice",
                    iid,
                    year,
                    "<=",
                    total(ons),
                    1.0,
                    "option",
                    f"options of {item.name} chosen",
                )
            if item.tranches:
                supplied = total(u for (i, _, y), u in f.options.items() if i == iid and y == year)
                f.add(
                    "supply_balance",
                    iid,
                    year,
                    "==",
                    supplied - f.units[(iid, year)],
                    0.0,
                    item.unit,
                    f"units of {item.name} supplied less units used",
                )
    for (sid, year), on in f.opened.items():
        service = instance.shared_services[sid]
        if service.capacity is None:
            continue
        drawn = total(
            u
            for (iid, oid, y), u in f.options.items()
            if y == year and instance.interventions[iid].offered()[oid].shared == sid
        )
        f.add(
            "shared_capacity",
            sid,
            year,
            "<=",
            drawn - service.capacity * on,
            0.0,
            "unit",
            f"units drawn on {service.name}, less {service.capacity:,.6g} if open",
        )
    for key, starts in f.starts.items():
        series = f.series[key]
        subject = ".".join(map(str, key))
        for previous, year in itertools.pairwise(sorted(starts)):
            now, before, start = series[year], series[previous], starts[year]
            what = f"start of {subject}"
            f.add("start_if_new", subject, year, ">=", start - now + before, 0.0, "start", what)
            f.add("start_only_if_on", subject, year, "<=", start - now, 0.0, "start", what)
            f.add("start_only_if_new", subject, year, "<=", start + before, 1.0, "start", what)
    for (iid, year), fund in f.funded.items():
        item = instance.interventions[iid]
        size = item.max_units or 0.0
        f.add(
            "indivisible",
            iid,
            year,
            "==",
            f.units[(iid, year)] - size * fund,
            0.0,
            item.unit,
            f"{item.name} ({item.unit}s) less {size:,.6g} if funded",
        )


# --- the plan's decisions ---------------------------------------------------------------------


def plan_values(f: Formulation, plan: Plan) -> tuple[np.ndarray, list[Check]]:
    """The column values the plan's tables give, and checks on what the tables must hold.

    Units come from `allocation` (tranches filled in order), option units and choices from
    `supply`, services open from `shared_services`; a programme is funded when it has units;
    a series starts in a year it is used and was not the year before; every unspent pound is
    carried forward.
    """
    instance = f.instance
    values = np.zeros(len(f.keys))
    checks: list[Check] = []
    allocation = {
        (str(i), int(y)): float(u)
        for i, y, u in _table(plan.allocation, "intervention", "year", "units")
    }
    offered = _table(plan.supply, "intervention", "option", "year", "units", "chosen", "available")
    supply = {(str(i), str(o), int(y)): (float(u), bool(c)) for i, o, y, u, c, a in offered if a}
    opened = {
        (str(s), int(y)): bool(on)
        for s, y, on in _table(plan.shared_services, "service", "year", "open")
    }
    for iid, item in instance.interventions.items():
        for year in instance.plan_years:
            units = allocation.get((iid, year))
            if units is None:
                checks.append(_missing("allocation", f"{iid} {year}", year))
                units = 0.0
            label = f"units__{iid}__{year}"
            words = f"variable_bounds {iid} {year}: {item.name} has {units:,.6g} {item.unit}s"
            checks.append(
                Check(
                    "variable_bounds",
                    label,
                    year,
                    -units,
                    item.unit,
                    RELATIVE,
                    f"{words}, fewer than none",
                )
            )
            if item.tranches:
                left = units
                for j, tranche in enumerate(item.tranches):
                    take = max(0.0, left if tranche.units is None else min(left, tranche.units))
                    values[f.index[("tranche", iid, year, j)]] = take
                    left -= take
                size = math.fsum(t.units or 0.0 for t in item.tranches)
                checks.append(
                    Check(
                        "variable_bounds",
                        label,
                        year,
                        left,
                        item.unit,
                        RELATIVE * max(1.0, size),
                        f"{words}, {_number(left)} more than its tranches hold",
                    )
                )
            elif ("units", iid, year) in f.index:
                values[f.index[("units", iid, year)]] = units
            if (iid, year) in f.funded:
                size = item.max_units or 1.0
                values[f.index[("fund", iid, year)]] = min(1.0, max(0.0, round(units / size)))
    for iid, oid, year in f.options:
        found = supply.get((iid, oid, year))
        if found is None:
            checks.append(_missing("supply", f"{iid} {oid} {year}", year))
            found = (0.0, False)
        values[f.index[("option", iid, oid, year)]] = found[0]
        if (iid, oid, year) in f.chosen:
            values[f.index[("choose", iid, oid, year)]] = float(found[1])
        unit = instance.interventions[iid].unit
        checks.append(
            Check(
                "variable_bounds",
                f"units__{iid}__{oid}__{year}",
                year,
                -found[0],
                unit,
                RELATIVE,
                f"variable_bounds {iid}.{oid} {year}: "
                f"{_number(found[0])} {unit}s through the option, fewer than none",
            )
        )
    for iid, oid, year, units, _, available in offered:
        if not available and abs(units) > 0:
            checks.append(
                Check(
                    "variable_bounds",
                    f"units__{iid}__{oid}__{year}",
                    int(year),
                    abs(units),
                    instance.interventions[str(iid)].unit,
                    RELATIVE,
                    f"variable_bounds {iid}.{oid} {year}: {_number(units)} units "
                    "through an option not on offer that year",
                )
            )
    for sid, year in f.opened:
        is_open = opened.get((sid, year))
        if is_open is None:
            checks.append(_missing("shared_services", f"{sid} {year}", year))
        values[f.index[("open", sid, year)]] = float(bool(is_open))
    for key, starts in f.starts.items():
        series = f.series[key]
        for previous, year in itertools.pairwise(sorted(starts)):
            now, before = series[year].value(values), series[previous].value(values)
            values[f.index[("start", *key, year)]] = now * (1.0 - before)
    if f.carry and f.envelope is not None:
        carried = 0.0
        for year in instance.plan_years:
            carried = max(0.0, carried + f.envelope[year] - f.spend[year].value(values))
            values[f.index[("carry", year)]] = carried
    return values, checks


def _table(frame: pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    """A table's columns, row by row, as plain Python values (years as int)."""
    lists = [
        [int(v) for v in frame[c].tolist()] if c == "year" else frame[c].tolist() for c in columns
    ]
    return list(zip(*lists, strict=True))


def _missing(table: str, what: str, year: int) -> Check:
    return Check(
        "reported",
        f"{table} {what}",
        year,
        1.0,
        "row",
        0.5,
        f"reported: the {table} table has no row for {what}",
    )


# --- the checks -------------------------------------------------------------------------------


def verify(instance: Instance, plan: Plan) -> Verification:
    """Every check of `plan` against `instance`: rules, variable bounds, reported figures,
    objective and (on the LP the prices come from) strong duality. Never raises for a failed
    check: see `verified`."""
    f = formulate(instance)
    values, checks = plan_values(f, plan)
    m = len(f.rows)
    rows = np.repeat(np.arange(m), [len(r.lhs.terms) for r in f.rows])
    cols = np.fromiter((j for r in f.rows for j in r.lhs.terms), dtype=np.int64, count=len(rows))
    coefs = np.fromiter(
        (a for r in f.rows for a in r.lhs.terms.values()), dtype=float, count=len(rows)
    )
    constant = np.array([r.lhs.constant for r in f.rows])
    rhs = np.array([r.rhs for r in f.rows])
    products = coefs * values[cols]
    lhs = constant + np.bincount(rows, weights=products, minlength=m)
    magnitude = np.maximum.reduce([np.ones(m), np.abs(rhs), np.abs(constant)])
    np.maximum.at(magnitude, rows, np.abs(products))
    for r, row in enumerate(f.rows):
        checks.append(_row_check(f, row, float(lhs[r]), float(magnitude[r]), values))
    checks += _reported(f, plan, values)
    objective = f.objective.value(values)
    unit = _objective_unit(instance)
    stated = float(plan.summary["objective"])
    checks.append(
        Check(
            "objective",
            "objective",
            None,
            abs(objective - stated),
            unit,
            RELATIVE * max(1.0, abs(objective)),
            f"objective: the plan states {_number(stated)} {unit}, its decisions give "
            f"{_number(objective)} {unit}",
        )
    )
    # strong duality, on the LP with every yes/no fixed at the plan's value
    priced = _table(plan.shadow_prices, "family", "subject", "year", "constraint", "dual")
    prices = {
        (str(fam), str(sub), int(y)): (str(name), float(dual)) for fam, sub, y, name, dual in priced
    }
    ours = {(row.family, row.subject, row.year): row for row in f.rows}
    unmatched = [f"not in the plan: {row.name}" for k, row in ours.items() if k not in prices]
    unmatched += [f"not recomputed: {name}" for k, (name, _) in prices.items() if k not in ours]
    unknown = [name for k, (name, dual) in prices.items() if k not in ours and dual != 0]
    if unknown:
        note = f"the plan prices rows the verifier does not know: {', '.join(unknown[:5])}"
        return Verification(checks, m, objective, None, note, unmatched)
    duals = np.array(
        [prices.get((row.family, row.subject, row.year), ("", 0.0))[1] for row in f.rows]
    )
    dual_objective, dual_checks = _duality(
        f, objective, values, rows, cols, coefs, rhs - constant, magnitude, duals
    )
    checks += dual_checks
    return Verification(checks, m, objective, dual_objective, "", unmatched)


def _row_check(f: Formulation, row: Row, lhs: float, magnitude: float, values: np.ndarray) -> Check:
    """A row's violation in its own unit, and the sentence that says it."""
    if row.sense == "<=":
        amount = lhs - row.rhs
    elif row.sense == ">=":
        amount = row.rhs - lhs
    else:
        amount = abs(lhs - row.rhs)
    symbol = f.instance.currency_symbol
    head = f"{row.family} {'' if row.family == 'envelope' else row.subject + ' '}{row.year}"
    if row.family == "envelope":
        spend = f.spend[row.year].value(values)
        years = f.instance.plan_years
        index = years.index(row.year)
        carried_in = f.carry[years[index - 1]].value(values) if f.carry and index else 0.0
        words = f"{head}: spend {_amount(spend, symbol, symbol)} exceeds the envelope " + (
            f"{_amount(row.rhs, symbol, symbol)} plus savings carried in "
            f"{_amount(carried_in, symbol, symbol)}"
            if f.carry
            else _amount(row.rhs, symbol, symbol)
        )
        message = f"{words} by {_amount(amount, symbol, symbol)} ({row.name})"
    elif row.family == "indivisible":
        item = f.instance.interventions[row.subject]
        units = f.units[(row.subject, row.year)].value(values)
        message = (
            f"{head}: {item.name} has {_amount(units, row.unit, symbol)}, neither none nor all "
            f"{_amount(item.max_units or 0.0, row.unit, symbol)}, by "
            f"{_amount(amount, row.unit, symbol)} ({row.name})"
        )
    else:
        relation = {
            "<=": "more than the most allowed",
            ">=": "less than the least allowed",
            "==": "not the required",
        }[row.sense]
        message = (
            f"{head}: {row.what} is {_amount(lhs, row.unit, symbol)}, {relation} "
            f"{_amount(row.rhs, row.unit, symbol)}, by {_amount(amount, row.unit, symbol)} "
            f"({row.name})"
        )
    return Check(row.family, row.name, row.year, amount, row.unit, RELATIVE * magnitude, message)


def _reported(f: Formulation, plan: Plan, values: np.ndarray) -> list[Check]:
    """The figures the plan reports against what its decisions imply."""
    instance = f.instance
    symbol = instance.currency_symbol
    checks: list[Check] = []

    def compare(what: str, year: int | None, stated: Any, exact: float, unit: str) -> None:
        off = abs(float(stated) - exact)
        words = (
            f"reported: {what}: the plan states {_amount(float(stated), unit, symbol)}, its "
            f"decisions give {_amount(exact, unit, symbol)} (off by {_amount(off, unit, symbol)})"
        )
        tolerance = RELATIVE * max(1.0, abs(exact))
        checks.append(Check("reported", what, year, off, unit, tolerance, words))

    option_costs: dict[tuple[str, int], list[float]] = {}
    for (iid, _, year), cost in f.option_cost.items():
        option_costs.setdefault((iid, year), []).append(cost.value(values))
    for iid, year, units, spend in _table(
        plan.allocation, "intervention", "year", "units", "spend"
    ):
        if (iid, year) not in f.units:
            continue
        item = instance.interventions[iid]
        if item.supply is not None and not item.tranches:
            exact = f.units[(iid, year)].value(values)
            compare(f"units of {iid} in {year}", year, units, exact, item.unit)
        if item.supply is None:
            exact = item.unit_cost * float(units)
        else:
            exact = math.fsum(option_costs.get((iid, year), []))
        compare(f"spend on {iid} in {year}", year, spend, exact, symbol)
    seen: set[tuple[str, int]] = set()
    for oid, year, level in _table(plan.outcomes, "outcome", "year", "level"):
        if (oid, year) in f.level and (oid, year) not in seen:
            seen.add((oid, year))
            exact = f.level[(oid, year)].value(values)
            compare(f"level of {oid} in {year}", year, level, exact, instance.outcomes[oid].unit)
    partners = _table(
        plan.partners, "partner", "year", "income", "external_cost", "baseline_income"
    )
    for pid, year, income, external, base in partners:
        if (pid, year) not in f.income:
            continue
        compare(
            f"income of {pid} in {year}", year, income, f.income[(pid, year)].value(values), symbol
        )
        compare(
            f"outside costs of {pid} in {year}",
            year,
            external,
            f.external_cost[(pid, year)].value(values),
            symbol,
        )
        compare(f"baseline income of {pid}", year, base, f.baseline_income[pid], symbol)
    for iid, oid, year, cost in _table(plan.supply, "intervention", "option", "year", "cost"):
        if (iid, oid, year) in f.option_cost:
            compare(
                f"cost of {iid}.{oid} in {year}",
                year,
                cost,
                f.option_cost[(iid, oid, year)].value(values),
                symbol,
            )
    for sid, year, cost in _table(plan.shared_services, "service", "year", "cost"):
        if (sid, year) in f.service_cost:
            compare(
                f"cost of {sid} in {year}",
                year,
                cost,
                f.service_cost[(sid, year)].value(values),
                symbol,
            )
    years = instance.plan_years
    spend = math.fsum(f.spend[y].value(values) for y in years)
    compare("total spend", None, plan.summary["total_spend"], spend, symbol)
    health = math.fsum(instance.discount(y) * f.health[y].value(values) for y in years)
    compare(
        "discounted health gain",
        None,
        plan.summary["health_gain_discounted"],
        health,
        instance.health_unit,
    )
    return checks


def _duality(
    f: Formulation,
    objective: float,
    values: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    coefs: np.ndarray,
    b: np.ndarray,
    magnitude: np.ndarray,
    duals: np.ndarray,
) -> tuple[float, list[Check]]:
    """The dual objective of the LP the prices come from (every yes/no fixed at the plan's
    value), from the plan's duals and the verifier's own right-hand sides, and its checks.

    With y the duals (change in the objective per +1 of a right-hand side) and d = c - A'y the
    reduced costs, the dual objective is b'y + sum_j d_j x_j(bound) + the objective's constant,
    each column at the bound its reduced cost points to. It equals the objective exactly when the
    duals are a valid certificate of optimality. Duals have the sign their row's sense allows
    (constraints.md), and a column with no upper bound has a reduced cost that does not pay.
    """
    instance = f.instance
    maximise = instance.objective.kind != "min_spend"
    unit = _objective_unit(instance)
    n = len(f.keys)
    c = np.zeros(n)
    for j, a in f.objective.terms.items():
        c[j] = a
    weighted = coefs * duals[rows]
    reduced = c - np.bincount(cols, weights=weighted, minlength=n)
    scale = np.abs(c) + np.bincount(cols, weights=np.abs(weighted), minlength=n)
    cleaned = DUAL_CLEANED * np.bincount(cols, weights=np.abs(coefs), minlength=n)
    lower = np.array(f.lower)
    upper = np.array(f.upper)
    fixed = np.array(f.yes_no, dtype=bool)
    lower[fixed] = upper[fixed] = values[fixed]
    improving = reduced > 0 if maximise else reduced < 0  # pushes the column up
    bound = np.where(improving, upper, lower)
    checks: list[Check] = []
    tolerance = RELATIVE * max(1.0, abs(objective))
    for column in np.flatnonzero(np.isinf(bound)).tolist():
        excess = abs(float(reduced[column]))
        allowed = RELATIVE * float(scale[column]) + float(cleaned[column])
        key = column_name(f.keys[column])
        checks.append(
            Check(
                "duality",
                key,
                None,
                excess,
                f"{unit} per unit",
                max(allowed, 1e-300),
                f"duality: each unit more of {key} would improve the objective by "
                f"{_number(excess)} {unit} at the stated prices, with nothing to stop "
                "it: the prices are not a certificate of optimality",
            )
        )
    bound[np.isinf(bound)] = 0.0
    terms = np.concatenate([b * duals, reduced * bound])
    dual_objective = math.fsum(terms.tolist()) + f.objective.constant
    for r, row in enumerate(f.rows):
        y = float(duals[r])
        wrong = {"<=": -y, ">=": y, "==": 0.0}[row.sense] * (1 if maximise else -1)
        if wrong > 0:
            checks.append(
                Check(
                    "duality",
                    row.name,
                    row.year,
                    wrong * float(magnitude[r]),
                    unit,
                    tolerance,
                    f"duality: the shadow price of {row.name} is {y:.6g}, of the "
                    f"wrong sign for a {row.sense} row",
                )
            )
    gap = abs(dual_objective - objective)
    allowance = DUAL_CLEANED * float(np.sum(magnitude[duals == 0]))
    largest = max([1.0, abs(objective), *np.abs(terms).tolist()])
    checks.append(
        Check(
            "duality",
            "dual objective",
            None,
            gap,
            unit,
            RELATIVE * largest + allowance,
            f"duality: the dual objective from the plan's shadow prices is "
            f"{_number(dual_objective)} {unit}, the objective {_number(objective)} "
            f"{unit}",
        )
    )
    return dual_objective, checks


# --- numbers in words -------------------------------------------------------------------------


def _objective_unit(instance: Instance) -> str:
    kind = instance.objective.kind
    if kind == "min_spend":
        return instance.currency_symbol
    return instance.health_unit + (" (net)" if kind == "net_benefit" else "")


def _number(value: float) -> str:
    """1,234,567 / 12,345.7 / 0.0123 / 1.2e-09."""
    size = abs(value)
    if size >= 1e5:
        return f"{value:,.0f}"
    if size >= 1e-3 or size == 0:
        return f"{value:,.6g}"
    return f"{value:.3g}"


def _amount(value: float, unit: str, symbol: str) -> str:
    """Money as £1,234 (£12.34 below £1,000, and whole pounds without pence); anything else as
    a number and its unit."""
    if unit != symbol:
        return f"{_number(value)} {unit}"
    sign, size = ("-" if value < 0 else ""), abs(value)
    if size >= 1000 or size == 0 or (size >= 0.01 and round(size, 2) == round(size)):
        return f"{sign}{symbol}{size:,.0f}"
    if size >= 0.01:
        return f"{sign}{symbol}{size:,.2f}"
    return f"{sign}{symbol}{size:.3g}"


def summary_line(summary: dict[str, Any]) -> str:
    """The verification fields of a plan summary in one sentence."""
    symbol = CURRENCY_SYMBOL.get(str(summary.get("currency")), "")
    rule, unit = summary["largest_violation_rule"], summary["largest_violation_unit"]
    worst = (
        f"largest violation {_amount(summary['largest_violation'], unit, symbol)} ({rule})"
        if rule
        else "no rule violated at all"
    )
    dual = summary["dual_objective"]
    duality = (
        f"dual objective {_amount(dual, summary['objective_unit'], symbol)}, equal to the objective"
        if dual != ""
        else "duality not checked"
    )
    count = summary["rules_checked"]
    rules = f"{count:,} rule{'' if count == 1 else 's'} recomputed from the inputs"
    return f"Verified: {rules}; {worst}; {duality}."
