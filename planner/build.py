"""Build: the linear programme of a validated instance.

Variables are units of each intervention in each plan year (split into tranches where returns
diminish) and money carried into the next year. Every constraint family is one function below,
called in the order of FAMILIES (the model's table of contents); every row is named by one helper
and held in the registry with its business meaning, so each shadow price can be explained.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

import pulp

from planner.schema import Instance

Sense = Literal["<=", ">="]
Key = tuple[str | int, ...]
MONEY_SCALE = 100_000.0  # shadow prices on money rows are reported per £100k


@dataclass(frozen=True)
class Rule:
    """What one named row means: its family, business key, the rule in words and its units."""

    family: str
    key: Key
    name: str
    sense: Sense
    rule: str
    subject: str
    year: int | None
    unit: str  # unit of the right-hand side
    per: float = 1.0  # shadow prices are reported per this many units of the right-hand side


@dataclass
class Model:
    """A built planning LP and everything needed to read its solution in business terms."""

    instance: Instance
    problem: pulp.LpProblem
    units: dict[tuple[str, int], pulp.LpAffineExpression]
    unit_variables: dict[tuple[str, int], list[pulp.LpVariable]]
    carry: dict[int, pulp.LpVariable]
    level: dict[tuple[str, int], pulp.LpAffineExpression]
    spend: dict[int, pulp.LpAffineExpression]
    economic_cost: dict[int, pulp.LpAffineExpression]
    health: dict[int, pulp.LpAffineExpression]
    income: dict[tuple[str, int], pulp.LpAffineExpression]
    external_cost: dict[tuple[str, int], pulp.LpAffineExpression]
    baseline_income: dict[str, float]
    baseline_external_cost: dict[str, float]
    envelope: dict[int, float] | None
    registry: dict[tuple[str, Key], tuple[Rule, pulp.LpConstraint]] = field(default_factory=dict)

    @property
    def maximise(self) -> bool:
        return self.instance.objective.kind != "min_spend"

    @property
    def years(self) -> list[int]:
        return self.instance.plan_years

    def add(self, rule: Rule, lhs: pulp.LpAffineExpression, rhs: float) -> None:
        """Add a row `lhs <sense> rhs` under its rule's name and register it."""
        row = lhs <= rhs if rule.sense == "<=" else lhs >= rhs
        self.registry[(rule.family, rule.key)] = (rule, self.problem.addConstraint(row, rule.name))

    def money(self) -> str:
        return self.instance.currency_symbol


def row_name(family: str, *key: str | int) -> str:
    """The one way rows are named: family and business key joined by double underscores."""
    return "__".join([family, *(str(part) for part in key)])


def affine(
    pairs: Iterable[tuple[pulp.LpVariable, float]], constant: float = 0.0
) -> pulp.LpAffineExpression:
    """Sum of coefficient x variable terms (zero coefficients dropped) plus a constant."""
    terms = [(var, coef) for var, coef in pairs if coef != 0]
    expression = pulp.lpSum_vars_coefs(terms) if terms else pulp.lpSum([])
    return expression + constant


# --- variables and expressions ---------------------------------------------------------------


def build(instance: Instance) -> Model:
    """The LP of `instance`: variables, expressions, every constraint family, the objective."""
    sense = pulp.LpMinimize if instance.objective.kind == "min_spend" else pulp.LpMaximize
    problem = pulp.LpProblem(instance.name, sense)
    years = instance.plan_years

    unit_variables: dict[tuple[str, int], list[pulp.LpVariable]] = {}
    units: dict[tuple[str, int], pulp.LpAffineExpression] = {}
    health_terms: dict[int, list[tuple[pulp.LpVariable, float]]] = {year: [] for year in years}
    for iid, item in instance.interventions.items():
        for year in years:
            if item.tranches:
                variables = [
                    problem.add_variable(
                        row_name("units", iid, year, f"tranche{j + 1}"), 0, t.units
                    )
                    for j, t in enumerate(item.tranches)
                ]
                gains = [t.health_gain for t in item.tranches]
            else:
                variables = [problem.add_variable(row_name("units", iid, year), 0, None)]
                gains = [item.health_gain]
            unit_variables[(iid, year)] = variables
            units[(iid, year)] = affine((v, 1.0) for v in variables)
            health_terms[year].extend(zip(variables, gains, strict=True))

    # outcome levels: baseline + effect x (units bought `lag` years earlier - baseline units)
    level: dict[tuple[str, int], pulp.LpAffineExpression] = {}
    for oid, outcome in instance.outcomes.items():
        for t, year in enumerate(years, start=1):
            pairs: list[tuple[pulp.LpVariable, float]] = []
            constant = outcome.baseline
            for iid, item in instance.interventions.items():
                for effect in item.effect_list(oid):
                    if t - effect.lag < 1:
                        continue
                    source_year = years[t - effect.lag - 1]
                    pairs += [(v, effect.per_unit) for v in unit_variables[(iid, source_year)]]
                    constant -= effect.per_unit * item.baseline_units
            level[(oid, year)] = affine(pairs, constant)

    refused = set(instance.refused_outcomes)
    spend: dict[int, pulp.LpAffineExpression] = {}
    economic_cost: dict[int, pulp.LpAffineExpression] = {}
    health: dict[int, pulp.LpAffineExpression] = {}
    for year in years:
        spend[year] = _total(instance, units, level, year, lambda i: i.unit_cost, refused)
        economic_cost[year] = _total(
            instance,
            units,
            level,
            year,
            lambda i: i.full_cost if i.full_cost is not None else i.unit_cost,
        )
        outcome_health = pulp.lpSum(
            o.health_gain_per_event * (level[(oid, year)] - o.baseline)
            for oid, o in instance.outcomes.items()
            if o.health_gain_per_event
        )
        health[year] = affine(health_terms[year]) + outcome_health

    envelope = instance.envelope_by_year()
    carry = {
        year: problem.add_variable(row_name("carry", year), 0, None)
        for year in years
        if envelope is not None and instance.savings.rule == "carry_forward"
    }
    income, external_cost, baseline_income, baseline_external = _partner_money(
        instance, units, level, spend, envelope
    )
    model = Model(
        instance=instance,
        problem=problem,
        units=units,
        unit_variables=unit_variables,
        carry=carry,
        level=level,
        spend=spend,
        economic_cost=economic_cost,
        health=health,
        income=income,
        external_cost=external_cost,
        baseline_income=baseline_income,
        baseline_external_cost=baseline_external,
        envelope=envelope,
    )
    for add_family in FAMILIES:
        add_family(model)
    problem.setObjective(objective(model))
    return model


def _total(
    instance: Instance,
    units: dict[tuple[str, int], pulp.LpAffineExpression],
    level: dict[tuple[str, int], pulp.LpAffineExpression],
    year: int,
    price: Callable[..., float],
    unpaid: set[str] = frozenset(),  # type: ignore[assignment]
) -> pulp.LpAffineExpression:
    """Cost of a year: price x units of every intervention + tariff x level of paid outcomes."""
    return pulp.lpSum(
        [price(item) * units[(iid, year)] for iid, item in instance.interventions.items()]
        + [
            outcome.tariff * level[(oid, year)]
            for oid, outcome in instance.outcomes.items()
            if outcome.tariff and oid not in unpaid
        ]
    )


def _partner_money(
    instance: Instance,
    units: dict[tuple[str, int], pulp.LpAffineExpression],
    level: dict[tuple[str, int], pulp.LpAffineExpression],
    spend: dict[int, pulp.LpAffineExpression],
    envelope: dict[int, float] | None,
) -> tuple[
    dict[tuple[str, int], pulp.LpAffineExpression],
    dict[tuple[str, int], pulp.LpAffineExpression],
    dict[str, float],
    dict[str, float],
]:
    """Each partner's income and outside costs per year, and both at baseline.

    Income = price x units it delivers + tariffs paid to it - tariffs of refused outcomes it is
    responsible for + its share of unspent envelope when savings are shared. Baseline income is
    the stated figure, or baseline units and levels at today's prices (before any refusal).
    """
    income: dict[tuple[str, int], pulp.LpAffineExpression] = {}
    external: dict[tuple[str, int], pulp.LpAffineExpression] = {}
    baseline_income: dict[str, float] = {}
    baseline_external: dict[str, float] = {}
    for pid, partner in instance.partners.items():
        delivered = {
            iid: item.unit_cost * share
            for iid, item in instance.interventions.items()
            for who, share in item.partner_shares().items()
            if who == pid
        }
        tariffs = {oid: o.tariff for oid, o in instance.outcomes.items() if o.paid_to == pid}
        borne = {
            oid: instance.outcomes[oid].tariff
            for oid, r in instance.refused_outcomes.items()
            if r.responsible == pid
        }
        outside = {
            oid: o.external_costs[pid]
            for oid, o in instance.outcomes.items()
            if pid in o.external_costs
        }
        computed = sum(
            price * instance.interventions[iid].baseline_units for iid, price in delivered.items()
        ) + sum(tariff * instance.outcomes[oid].baseline for oid, tariff in tariffs.items())
        baseline_income[pid] = (
            partner.baseline_income if partner.baseline_income is not None else computed
        )
        baseline_external[pid] = float(
            sum(cost * instance.outcomes[oid].baseline for oid, cost in outside.items())
        )
        share = instance.savings.shares.get(pid, 0.0) if instance.savings.rule == "share" else 0.0
        for year in instance.plan_years:
            expression = pulp.lpSum(
                [price * units[(iid, year)] for iid, price in delivered.items()]
                + [tariff * level[(oid, year)] for oid, tariff in tariffs.items()]
                + [-tariff * level[(oid, year)] for oid, tariff in borne.items()]
            )
            if share and envelope is not None:
                expression = expression + share * (envelope[year] - spend[year])
            income[(pid, year)] = expression
            external[(pid, year)] = pulp.lpSum(
                [cost * level[(oid, year)] for oid, cost in outside.items()]
            )
    return income, external, baseline_income, baseline_external


def objective(model: Model) -> pulp.LpAffineExpression:
    """Discounted health gain, spend, or net benefit (health gain - cost / threshold)."""
    instance = model.instance
    kind = instance.objective.kind
    total = pulp.lpSum([])
    for year in model.years:
        if kind == "health_gain":
            term = model.health[year]
        elif kind == "min_spend":
            term = model.spend[year]
        else:
            threshold = instance.objective.threshold or 1.0
            term = model.health[year] - (1.0 / threshold) * model.economic_cost[year]
        total = total + instance.discount(year) * term
    return total


# --- constraint families ---------------------------------------------------------------------


def add_envelope(model: Model) -> None:
    """Spend in year t <= envelope[t] + money carried in - money carried out.

    With shared savings nothing is carried: spend[t] <= envelope[t], and what is left is paid
    to the partners by their shares.
    """
    if model.envelope is None:
        return
    money = model.money()
    for index, year in enumerate(model.years):
        lhs = model.spend[year]
        if model.carry:
            lhs = lhs + model.carry[year]
            if index > 0:
                lhs = lhs - model.carry[model.years[index - 1]]
        rule = Rule(
            "envelope",
            (year,),
            row_name("envelope", year),
            "<=",
            f"spend in {year} within the envelope"
            + (" plus savings carried in" if model.carry else ""),
            "envelope",
            year,
            money,
            MONEY_SCALE,
        )
        model.add(rule, lhs, model.envelope[year])


def add_outcome_floors(model: Model) -> None:
    """Level of outcome k in year t at most (upper) or at least (lower) the floor's bound."""
    for fid, floor in model.instance.floors.items():
        outcome = model.instance.outcomes[floor.outcome]
        bound = model.instance.floor_bound(fid)
        for year in [floor.year] if floor.year is not None else model.years:
            words = "at most" if floor.bound == "upper" else "at least"
            rule = Rule(
                "outcome_floor",
                (fid, year),
                row_name("floor", fid, year),
                "<=" if floor.bound == "upper" else ">=",
                floor.description or f"{outcome.name} {words} {bound:,.6g} in {year}",
                fid,
                year,
                outcome.unit,
            )
            model.add(rule, model.level[(floor.outcome, year)], bound)


def add_outcome_limits(model: Model) -> None:
    """Every outcome that interventions move stays a count: level >= 0, and <= its maximum if given.

    Effects are linear, so without these rows a cheap intervention could push a count below zero
    (or informed patients above the register).
    """
    moved = {oid for item in model.instance.interventions.values() for oid in item.effects}
    for oid, outcome in model.instance.outcomes.items():
        if oid not in moved:
            continue
        for year in model.years:
            rule = Rule(
                "outcome_nonnegative",
                (oid, year),
                row_name("nonnegative", oid, year),
                ">=",
                f"{outcome.name} cannot fall below zero in {year}",
                oid,
                year,
                outcome.unit,
            )
            model.add(rule, model.level[(oid, year)], 0.0)
            if outcome.maximum is not None:
                rule = Rule(
                    "outcome_maximum",
                    (oid, year),
                    row_name("maximum", oid, year),
                    "<=",
                    f"{outcome.name} at most {outcome.maximum:,.6g} in {year} (natural maximum)",
                    oid,
                    year,
                    outcome.unit,
                )
                model.add(rule, model.level[(oid, year)], outcome.maximum)


def add_partner_risk_limits(model: Model) -> None:
    """Net position (income - outside costs) in year t >= baseline - most loss (<= + most gain)."""
    money = model.money()
    for pid, partner in model.instance.partners.items():
        base_income = model.baseline_income[pid]
        baseline_net = base_income - model.baseline_external_cost[pid]
        loss, gain = partner.limits(base_income)
        for year in model.years:
            net = model.income[(pid, year)] - model.external_cost[(pid, year)]
            if loss is not None:
                rule = Rule(
                    "partner_risk_limit",
                    (pid, year),
                    row_name("risk_limit", pid, year),
                    ">=",
                    f"{partner.name} loses at most {money}{loss:,.0f} in {year}",
                    pid,
                    year,
                    money,
                    MONEY_SCALE,
                )
                model.add(rule, net, baseline_net - loss)
            if gain is not None:
                rule = Rule(
                    "partner_gain_cap",
                    (pid, year),
                    row_name("gain_cap", pid, year),
                    "<=",
                    f"{partner.name} gains at most {money}{gain:,.0f} in {year}",
                    pid,
                    year,
                    money,
                    MONEY_SCALE,
                )
                model.add(rule, net, baseline_net + gain)


def add_capacity(model: Model) -> None:
    """Units of intervention i in year t between its minimum and its maximum (capacity or need)."""
    for iid, item in model.instance.interventions.items():
        for year in model.years:
            if item.max_units is not None:
                rule = Rule(
                    "capacity",
                    (iid, year),
                    row_name("capacity", iid, year),
                    "<=",
                    f"{item.name}: at most {item.max_units:,.6g} {item.unit} in {year}",
                    iid,
                    year,
                    item.unit,
                )
                model.add(rule, model.units[(iid, year)], item.max_units)
            if item.min_units:
                rule = Rule(
                    "minimum_units",
                    (iid, year),
                    row_name("minimum", iid, year),
                    ">=",
                    f"{item.name}: at least {item.min_units:,.6g} {item.unit} in {year}",
                    iid,
                    year,
                    item.unit,
                )
                model.add(rule, model.units[(iid, year)], item.min_units)


def add_group_needs(model: Model) -> None:
    """A group's units together at least the need (meet_need) or at most it (share_need)."""
    for gid, group in model.instance.groups.items():
        unit = model.instance.interventions[group.members[0]].unit
        for year in model.years:
            total = pulp.lpSum(model.units[(m, year)] for m in group.members)
            words = "together at least" if group.rule == "meet_need" else "together at most"
            rule = Rule(
                "group_need",
                (gid, year),
                row_name("group", gid, year),
                ">=" if group.rule == "meet_need" else "<=",
                group.description
                or f"{', '.join(group.members)} {words} {group.need:,.6g} {unit} in {year}",
                gid,
                year,
                unit,
            )
            model.add(rule, total, group.need)


def add_complements(model: Model) -> None:
    """Units of A at most ratio x units of B in every year (A only as far as B)."""
    for cid, complement in model.instance.complements.items():
        dependent, required = complement.sides()
        unit = model.instance.interventions[dependent[0]].unit
        for year in model.years:
            lhs = pulp.lpSum(
                model.units[(a, year)] for a in dependent
            ) - complement.ratio * pulp.lpSum(model.units[(b, year)] for b in required)
            rule = Rule(
                "complement",
                (cid, year),
                row_name("complement", cid, year),
                "<=",
                complement.description
                or f"{', '.join(dependent)} at most {complement.ratio:g} x "
                f"{', '.join(required)} in {year}",
                cid,
                year,
                unit,
            )
            model.add(rule, lhs, 0.0)


def add_resources(model: Model) -> None:
    """Sum of use per unit x units within each resource's capacity, every year."""
    for rid, resource in model.instance.resources.items():
        users = {
            iid: item.resource_use[rid]
            for iid, item in model.instance.interventions.items()
            if item.resource_use.get(rid)
        }
        if not users:
            continue
        for year in model.years:
            rule = Rule(
                "resource",
                (rid, year),
                row_name("resource", rid, year),
                "<=",
                f"{resource.name}: at most {resource.capacity:,.6g} {resource.unit} in {year}",
                rid,
                year,
                resource.unit,
            )
            used = pulp.lpSum(use * model.units[(iid, year)] for iid, use in users.items())
            model.add(rule, used, resource.capacity)


def add_ramps(model: Model) -> None:
    """Units grow or shrink from the previous year (baseline before year 1) by at most the ramp.

    Absolute: x[t] - x[t-1] <= up and x[t-1] - x[t] <= down. As shares of the previous year:
    x[t] - (1 + up) x[t-1] <= 0 and (1 - down) x[t-1] - x[t] <= 0.
    """
    for iid, item in model.instance.interventions.items():
        ramp = item.ramp
        if ramp is None:
            continue
        unit = item.unit
        for index, year in enumerate(model.years):
            now = model.units[(iid, year)]
            before = (
                model.units[(iid, model.years[index - 1])]
                if index
                else pulp.LpAffineExpression.from_constant(item.baseline_units)
            )
            rows: list[tuple[str, float | None, pulp.LpAffineExpression, float, str]] = [
                ("ramp_up", ramp.max_increase, now - before, ramp.max_increase or 0.0,
                 f"grows by at most {ramp.max_increase or 0:,.6g} {unit}"),
                ("ramp_down", ramp.max_decrease, before - now, ramp.max_decrease or 0.0,
                 f"shrinks by at most {ramp.max_decrease or 0:,.6g} {unit}"),
                ("ramp_up_share", ramp.max_increase_share,
                 now - (1 + (ramp.max_increase_share or 0.0)) * before, 0.0,
                 f"grows by at most {ramp.max_increase_share or 0:.0%}"),
                ("ramp_down_share", ramp.max_decrease_share,
                 (1 - (ramp.max_decrease_share or 0.0)) * before - now, 0.0,
                 f"shrinks by at most {ramp.max_decrease_share or 0:.0%}"),
            ]  # fmt: skip
            for family, given, lhs, bound, words in rows:
                if given is None:
                    continue
                rule = Rule(
                    family,
                    (iid, year),
                    row_name(family, iid, year),
                    "<=",
                    f"{item.name} {words} into {year}",
                    iid,
                    year,
                    unit,
                )
                model.add(rule, lhs, bound)


FAMILIES: list[Callable[[Model], None]] = [
    add_envelope,
    add_outcome_floors,
    add_outcome_limits,
    add_partner_risk_limits,
    add_capacity,
    add_group_needs,
    add_complements,
    add_resources,
    add_ramps,
]
