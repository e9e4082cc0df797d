"""Result: a solution with a plan as tidy tables with a stable, documented schema.

An optimal solution becomes a Plan, and so does a MILP's best plan found before its time limit
(status time_limit, `proven_optimal` no); anything else raises NoPlanError. Every KPI is computed
here once, and reports read only these tables (docs/results.md lists their columns). The
tables are made as planner.table.Tables (plain Python values), and each is a pandas DataFrame as
an attribute of the Plan when first read: `planner solve` never imports pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pulp

from planner.build import Model
from planner.errors import NoPlanError
from planner.schema import Instance
from planner.solve import Solution, Status
from planner.table import Table
from planner.verify import RELATIVE, verified

if TYPE_CHECKING:
    import pandas as pd

TOLERANCE = 1e-6  # a row is binding when its slack is within this share of its bound (or absolute)

ALLOCATION_COLUMNS = [
    "intervention", "name", "year", "unit", "units", "baseline_units", "change_units",
    "unit_cost", "spend", "baseline_spend", "change_spend", "health_gain", "delivered_by",
]  # fmt: skip
OUTCOME_COLUMNS = [
    "outcome", "name", "year", "unit", "level", "baseline", "change", "floor", "bound_type",
    "bound", "slack", "binding",
]  # fmt: skip
PARTNER_COLUMNS = [
    "partner", "name", "year", "income", "baseline_income", "income_change", "external_cost",
    "baseline_external_cost", "net_change", "max_loss", "headroom", "binding",
]  # fmt: skip
SHADOW_PRICE_COLUMNS = [
    "family", "constraint", "subject", "year", "rule", "sense", "unit", "dual", "per",
    "value_of_relaxing", "objective_unit", "binding", "explanation",
]  # fmt: skip
REDUCED_COST_COLUMNS = [
    "intervention", "name", "year", "units", "reduced_cost", "improvement_needed_per_unit",
    "improvement_unit", "explanation",
]  # fmt: skip
SUPPLY_COLUMNS = [
    "intervention", "option", "name", "provider", "mode", "year", "available", "chosen", "units",
    "unit_price", "fixed_cost", "setup_cost", "cost", "shared_service",
]  # fmt: skip
SHARED_SERVICE_COLUMNS = [
    "service", "name", "provider", "year", "open", "units", "fixed_cost", "setup_cost", "cost",
    "users",
]  # fmt: skip
OBJECTIVE_WORDS = {
    "health_gain": "discounted health gain",
    "min_spend": "discounted spend",
    "net_benefit": "discounted net health benefit",
}


def summary_table(summary: Mapping[str, Any]) -> Table:
    """A summary as a two-column table: field, value."""
    return Table.of_columns(("field", "value"), (list(summary), list(summary.values())))


def named_tables(result: Any) -> dict[str, pd.DataFrame]:
    """The tables of a result dataclass (a `summary` dict, then DataFrame fields), by field name
    in field order, the summary first as a two-column table: what every command writes."""
    return {
        item.name: summary_table(result.summary).frame()
        if item.name == "summary"
        else getattr(result, item.name)
        for item in fields(result)
    }


@dataclass(frozen=True)
class Plan:
    """A plan and its explanation: optimal, or (summary `proven_optimal` no) the best plan a
    MILP found before its time limit. `data` holds its tables by name (allocation, outcomes,
    partners, shadow_prices, reduced_costs, supply, shared_services); each is a DataFrame as
    the attribute of its name (plan.allocation...), made when first read."""

    summary: dict[str, Any]
    data: dict[str, Table]

    def tables(self) -> dict[str, Table]:
        """Every table by name, the summary as a two-column table first."""
        return {"summary": summary_table(self.summary), **self.data}

    def with_tables(self, **frames: pd.DataFrame) -> Plan:
        """A copy with the named tables replaced by these DataFrames: an edited plan, to check
        with planner.verify."""
        if unknown := sorted(set(frames) - set(self.data)):
            raise TypeError(
                f"a plan has no table {', '.join(unknown)}; its tables: {list(self.data)}"
            )
        replaced = {name: Table.of_frame(frame) for name, frame in frames.items()}
        return Plan(self.summary, {**self.data, **replaced})

    @cached_property
    def allocation(self) -> pd.DataFrame:
        """Units and spend by intervention and year."""
        return self.data["allocation"].frame()

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """Each outcome's level by year, against each of its floors."""
        return self.data["outcomes"].frame()

    @cached_property
    def partners(self) -> pd.DataFrame:
        """Each partner's income by year against its baseline and its risk limit."""
        return self.data["partners"].frame()

    @cached_property
    def shadow_prices(self) -> pd.DataFrame:
        """Each rule's dual, and what relaxing it is worth in the objective's unit."""
        return self.data["shadow_prices"].frame()

    @cached_property
    def reduced_costs(self) -> pd.DataFrame:
        """What each unfunded intervention would need to enter the plan."""
        return self.data["reduced_costs"].frame()

    @cached_property
    def supply(self) -> pd.DataFrame:
        """Every supply option in every plan year: on offer, chosen, units and cost."""
        return self.data["supply"].frame()

    @cached_property
    def shared_services(self) -> pd.DataFrame:
        """Each shared service in each year it can open: open or not, units, cost, users."""
        return self.data["shared_services"].frame()


def clean(value: float) -> float:
    """Solver noise below 1e-9 is zero, and -0.0 is 0.0, so output files are stable."""
    return 0.0 if abs(value) < 1e-9 else float(value)


def difference(a: float, b: float, *sizes: float) -> float:
    """a - b, zero when within verify's tolerance (RELATIVE, a millionth) of the largest of 1,
    |a|, |b| and `sizes` (the figures a and b were made from): subtracting two large figures
    leaves their rounding noise, not a change (an envelope of £9,797,412.799999999 less a spend
    of £9,797,412.80 leaves nothing unspent). verify.py checks the envelope (every rule) with the
    same share, so `unspent` and `verified` agree on what is noise."""
    gap = float(a) - float(b)
    size = max(1.0, abs(a), abs(b), *(abs(s) for s in sizes))
    return 0.0 if abs(gap) <= RELATIVE * size else gap


def floor_slack(upper: bool, bound: float, level: float) -> float:
    """How far an outcome's level is inside its floor's bound (negative: beyond it); noise is
    made 0."""
    return difference(bound, level) if upper else difference(level, bound)


def net_change(income: float, external: float, base: float, base_external: float) -> float:
    """A partner's net change against its baseline: income less the costs it bears elsewhere,
    against the same at baseline (noise relative to all four figures made 0)."""
    now, then = income - external, base - base_external
    return difference(now, then, income, external, base, base_external)


def _value(expression: pulp.LpAffineExpression | pulp.LpVariable | float) -> float:
    if isinstance(expression, int | float):
        return clean(float(expression))
    return clean(float(expression.value() or 0.0))


def _binding(slack: float, bound: float) -> bool:
    return abs(slack) <= TOLERANCE * max(1.0, abs(bound))


def tranche_health(model: Model, iid: str, units: float) -> float:
    """Health gain of `units` of an intervention, filling its tranches in order (concave benefit).

    Read from the total units rather than the tranche variables, so it does not depend on how a
    solver split units between tranches when health gain is not the objective.
    """
    item = model.instance.interventions[iid]
    if not item.tranches:
        return units * item.health_gain
    gain, left = 0.0, units
    for tranche in item.tranches:
        take = left if tranche.units is None else min(left, tranche.units)
        gain += take * tranche.health_gain
        left -= take
    return gain


def health_in_year(model: Model, year: int) -> float:
    """Undiscounted health gain of a year: interventions' gain plus outcome changes' gain."""
    instance = model.instance
    units = {(iid, year): _value(model.units[(iid, year)]) for iid in instance.interventions}
    level = {(oid, year): _value(model.level[(oid, year)]) for oid in instance.outcomes}
    return _health_in_year(model, year, units, level)


@dataclass(frozen=True)
class Values:
    """Units of each intervention and level of each outcome by year, read from the solved model
    once (each table reads them)."""

    units: dict[tuple[str, int], float]
    level: dict[tuple[str, int], float]

    @classmethod
    def read(cls, model: Model) -> Values:
        """The values of a solved model."""
        return cls(
            {key: _value(expression) for key, expression in model.units.items()},
            {key: _value(expression) for key, expression in model.level.items()},
        )


def _health_in_year(
    model: Model,
    year: int,
    units: Mapping[tuple[str, int], float],
    level: Mapping[tuple[str, int], float],
) -> float:
    instance = model.instance
    direct = sum(tranche_health(model, iid, units[(iid, year)]) for iid in instance.interventions)
    through_outcomes = sum(
        o.health_gain_per_event * (level[(oid, year)] - o.baseline)
        for oid, o in instance.outcomes.items()
    )
    return clean(direct + through_outcomes)


def objective_unit(instance: Instance) -> str:
    """The objective's unit: the currency symbol for min_spend, else the health unit."""
    kind = instance.objective.kind
    if kind == "min_spend":
        return instance.currency_symbol
    return instance.health_unit + (" (net)" if kind == "net_benefit" else "")


def make_plan(model: Model, solution: Solution, scenario: str | None = None) -> Plan:
    """The plan of a solution that has one (an optimum, or a MILP's best plan found before its
    time limit), verified against its instance (planner/verify.py); NoPlanError when there is
    no plan, VerificationError for a plan that fails a check."""
    if not solution.has_plan:
        raise NoPlanError(solution.status.value, no_plan_message(model, solution))
    values = Values.read(model)
    tables = {
        "allocation": _allocation(model, values),
        "outcomes": _outcomes(model, values),
        "partners": _partners(model),
        "shadow_prices": _shadow_prices(model, solution),
        "reduced_costs": _reduced_costs(model, solution, values),
        "supply": _supply(model),
        "shared_services": _shared_services(model),
    }
    plan = Plan(_summary(model, solution, scenario, values), tables)
    plan.summary.update(verified(model.instance, plan).summary())
    return plan


def no_plan_message(model: Model, solution: Solution) -> str:
    """Why there is no plan, in words a planner can act on."""
    name = model.instance.name
    advice = {
        Status.INFEASIBLE: "no allocation meets every floor, risk limit, capacity and the envelope "
        "together; relax a floor or a risk limit, or add money to the envelope",
        Status.UNBOUNDED: "the objective can grow without limit; an intervention adds health "
        "gain with nothing limiting it: give it max_units or a unit_cost within an envelope",
        Status.TIME_LIMIT: "the solver stopped at its time limit without a plan; allow more time",
        Status.ERROR: "the solver failed",
        Status.OPTIMAL: "the solver handed back no plan",
    }[solution.status]
    if solution.message and solution.status in (Status.TIME_LIMIT, Status.ERROR):
        advice = solution.message  # what happened and what to try, in the solver's case
    return f"No plan for '{name}': {solution.status.value}: {advice}."


def _summary(
    model: Model, solution: Solution, scenario: str | None, values: Values
) -> dict[str, Any]:
    instance = model.instance
    years = model.years
    by_year = {y: _health_in_year(model, y, values.units, values.level) for y in years}
    core = model.problem.toRustModel()  # counts without wrapping every row and column
    health = sum(instance.discount(y) * by_year[y] for y in years)
    spend = sum(_value(model.spend[y]) for y in years)
    envelope = sum(model.envelope.values()) if model.envelope else None
    return {
        "instance": instance.name,
        "title": instance.title or instance.name,
        "scenario": scenario or "",
        "status": solution.status.value,
        "proven_optimal": solution.proven_optimal,
        "solver": solution.solver,
        "objective_kind": instance.objective.kind,
        "objective_words": OBJECTIVE_WORDS[instance.objective.kind],
        "objective": clean(solution.objective or 0.0),
        "objective_unit": objective_unit(model.instance),
        "health_unit": instance.health_unit,
        "currency": instance.currency,
        "health_gain_discounted": clean(health),
        "health_gain_undiscounted": clean(sum(by_year[y] for y in years)),
        "total_spend": clean(spend),
        "total_envelope": envelope if envelope is not None else "",
        "unspent": difference(envelope, spend) if envelope is not None else "",
        "first_year": years[0],
        "last_year": years[-1],
        "discount_rate": instance.discount_rate,
        "threshold": instance.objective.threshold or "",
        "population": instance.population or "",
        "problem": "MILP" if solution.choices else "LP",
        "yes_no_choices": solution.choices,
        "mip_gap": _figure(solution.gap, solution),
        "best_bound": _figure(solution.best_bound, solution),
        "prices_from": solution.prices_from,
        "variables": core.num_variables,
        "constraints": core.num_constraints,
    }


def not_proven_optimal(summary: Mapping[str, Any]) -> str:
    """The warning a plan not proven optimal carries wherever it is shown; empty for a plan
    proven optimal."""
    if summary.get("proven_optimal", True):
        return ""
    gap, bound = summary.get("mip_gap"), summary.get("best_bound")
    if isinstance(gap, int | float) and isinstance(bound, int | float):
        unit = summary.get("objective_unit", "")
        better = "higher" if summary.get("objective_kind") != "min_spend" else "lower"
        how_far = (
            f"no plan can be {better} than {bound:,.6g} {unit}, so this one is within "
            f"{gap:.2%} of the best possible"
        )
    else:
        how_far = "the solver gave no bound, so how far it may be from the best is unknown"
    return (
        f"NOT PROVEN OPTIMAL: {summary.get('solver', 'the solver')} stopped at its time limit "
        f"and this is the best plan it found. It meets every rule, but {how_far}. Allow more "
        "time (--time-limit) to prove a plan optimal."
    )


def _figure(value: float | None, solution: Solution) -> float | str:
    """A MILP's gap or bound: the number, `unknown` when the solver gave none, empty for an LP."""
    if value is not None:
        return clean(value)
    return "unknown" if solution.choices else ""


def _allocation(model: Model, values: Values) -> Table:
    """Units and spend by intervention and year. Where supply options are given, spend is what
    the options used cost (units at their prices, fixed and set-up costs) and unit_cost is the
    average per unit; shared services' own costs are in the shared_services table."""
    instance = model.instance
    through = _options_by_intervention(model)
    rows = []
    for iid, item in instance.interventions.items():
        today = _shares_text(item.partner_shares())
        for year in model.years:
            units = values.units[(iid, year)]
            if item.supply is None:
                unit_cost: float | None = item.unit_cost
                spend = clean(units * item.unit_cost)
                delivered = today
            else:
                used = _supplied_by(model, iid, through.get((iid, year), []))
                spend = clean(sum(cost for _, _, cost in used.values()))
                unit_cost = clean(spend / units) if units > TOLERANCE else None
                by_provider: dict[str, float] = {}
                for who, amount, _ in used.values():
                    by_provider[who] = by_provider.get(who, 0.0) + amount
                delivered = _shares_text(
                    {who: u / units for who, u in by_provider.items()} if units > TOLERANCE else {}
                )
            baseline_spend = item.baseline_units * item.unit_cost
            rows.append(
                (
                    iid,
                    item.name,
                    year,
                    item.unit,
                    units,
                    item.baseline_units,
                    difference(units, item.baseline_units),
                    unit_cost,
                    spend,
                    baseline_spend,
                    difference(spend, baseline_spend),
                    clean(tranche_health(model, iid, units)),
                    delivered,
                )
            )
    return Table.of_rows(ALLOCATION_COLUMNS, rows)


def _shares_text(shares: dict[str, float]) -> str:
    """`acute_trust 60%, third_sector 40%`, or the one partner's id."""
    return ", ".join(f"{p} {s:.0%}" if abs(s - 1) > TOLERANCE else p for p, s in shares.items())


def _options_by_intervention(model: Model) -> dict[tuple[str, int], list[tuple[str, str, int]]]:
    """The keys of `model.options` by intervention and year, in the model's order."""
    by: dict[tuple[str, int], list[tuple[str, str, int]]] = {}
    for key in model.options:
        by.setdefault((key[0], key[2]), []).append(key)
    return by


def _supplied_by(
    model: Model, iid: str, keys: list[tuple[str, str, int]]
) -> dict[str, tuple[str, float, float]]:
    """Options used by an intervention in a year (`keys`: its options that year, from
    `_options_by_intervention`): option -> (provider, units, cost)."""
    used = {}
    for key in keys:
        oid = key[1]
        amount, cost = _value(model.options[key]), _value(model.option_cost[key])
        if amount > TOLERANCE or cost > TOLERANCE:
            option = model.instance.interventions[iid].offered()[oid]
            used[oid] = (model.instance.option_provider(option) or "", amount, cost)
    return used


def _supply(model: Model) -> Table:
    """Every supply option in every plan year: on offer or not, chosen or not, units and cost."""
    instance = model.instance
    rows = []
    for iid, item in instance.interventions.items():
        if item.supply is None:
            continue
        for oid, option in item.supply.options.items():
            for year in model.years:
                units_var = model.options.get((iid, oid, year))
                on = model.chosen.get((iid, oid, year))
                units = _value(units_var) if units_var is not None else 0.0
                chosen = _value(on) > 0.5 if on is not None else units > TOLERANCE
                start = model.starts.get((iid, oid), {}).get(year)
                rows.append(
                    {
                        "intervention": iid,
                        "option": oid,
                        "name": option.name or oid,
                        "provider": instance.option_provider(option) or "",
                        "mode": option.mode,
                        "year": year,
                        "available": units_var is not None,
                        "chosen": chosen,
                        "units": units,
                        "unit_price": option.unit_price,
                        "fixed_cost": option.fixed_cost if on is not None and chosen else 0.0,
                        "setup_cost": option.setup_cost * _value(start) if start else 0.0,
                        "cost": _value(model.option_cost[(iid, oid, year)])
                        if units_var is not None
                        else 0.0,
                        "shared_service": option.shared or "",
                    }
                )
    return Table.of_rows(SUPPLY_COLUMNS, rows)


def _shared_services(model: Model) -> Table:
    """Each shared service in each year it can open: open or not, units drawn, cost, users."""
    instance = model.instance
    drawing: dict[tuple[str, int], list[tuple[str, pulp.LpVariable]]] = {}
    for (iid, oid, y), units in model.options.items():
        shared = instance.interventions[iid].offered()[oid].shared
        if shared is not None:
            drawing.setdefault((shared, y), []).append((iid, units))
    rows = []
    for (sid, year), on in model.opened.items():
        service = instance.shared_services[sid]
        drawn = {iid: _value(units) for iid, units in drawing.get((sid, year), [])}
        is_open = _value(on) > 0.5
        start = model.starts.get((sid,), {}).get(year)
        rows.append(
            {
                "service": sid,
                "name": service.name,
                "provider": service.provider,
                "year": year,
                "open": is_open,
                "units": clean(sum(drawn.values())),
                "fixed_cost": service.fixed_cost if is_open else 0.0,
                "setup_cost": service.setup_cost * _value(start) if start else 0.0,
                "cost": _value(model.service_cost[(sid, year)]),
                "users": ", ".join(iid for iid, units in drawn.items() if units > TOLERANCE),
            }
        )
    return Table.of_rows(SHARED_SERVICE_COLUMNS, rows)


def _outcomes(model: Model, values: Values) -> Table:
    instance = model.instance
    floors_of: dict[str, list[tuple[str, Any]]] = {}  # each outcome's floors, in order
    for fid, f in instance.floors.items():
        floors_of.setdefault(f.outcome, []).append((fid, f))
    rows: list[tuple[Any, ...]] = []
    for oid, outcome in instance.outcomes.items():
        for year in model.years:
            level = values.level[(oid, year)]
            row = (
                oid,
                outcome.name,
                year,
                outcome.unit,
                level,
                outcome.baseline,
                difference(level, outcome.baseline),
            )
            floors = [(fid, f) for fid, f in floors_of.get(oid, []) if f.year in (None, year)]
            if not floors:
                rows.append((*row, "", "", None, None, False))
            for fid, floor in floors:
                bound = instance.floor_bound(fid)
                slack = floor_slack(floor.bound == "upper", bound, level)
                rows.append((*row, fid, floor.bound, bound, slack, _binding(slack, bound)))
    return Table.of_rows(OUTCOME_COLUMNS, rows)


def _partners(model: Model) -> Table:
    instance = model.instance
    rows = []
    for pid, partner in instance.partners.items():
        base = model.baseline_income[pid]
        base_external = model.baseline_external_cost[pid]
        loss, _ = partner.limits(base)
        for year in model.years:
            income = _value(model.income[(pid, year)])
            external = _value(model.external_cost[(pid, year)])
            net = net_change(income, external, base, base_external)
            headroom = difference(net, -loss) if loss is not None else None
            rows.append(
                (
                    pid,
                    partner.name,
                    year,
                    income,
                    base,
                    difference(income, base),
                    external,
                    base_external,
                    net,
                    loss,
                    headroom,
                    headroom is not None and _binding(headroom, loss or 0.0),
                )
            )
    return Table.of_rows(PARTNER_COLUMNS, rows)


def _shadow_prices(model: Model, solution: Solution) -> Table:
    unit = objective_unit(model.instance)
    keys = list(model.registry)
    rules = list(model.registry.rules())
    duals = _cleaned(np.fromiter((solution.duals[key] for key in keys), float, len(keys)))
    per = [rule.per for rule in rules]
    lowered = np.array([rule.sense == ">=" for rule in rules], dtype=bool)
    # relaxing a <= row raises its bound, a >= row lowers it (an == row: raising it);
    # value in the objective's sense
    change = np.where(lowered, -duals, duals)
    values = _cleaned((change if model.maximise else -change) * _floats(per)).tolist()
    binding = [False] * len(rules)
    explanations = [NOT_BINDING] * len(rules)
    for r in np.flatnonzero(values).tolist():
        rule, value = rules[r], values[r]
        off = choice_is_off(model, rule.family, rule.key)
        binding[r] = not off
        explanations[r] = (
            NOT_CHOSEN
            if off
            else explain_price(
                model, rule.family, rule.subject, rule.year, rule.unit, rule.per, value, unit
            )
        )
    columns = (
        [rule.family for rule in rules],
        [rule.name for rule in rules],
        [rule.subject for rule in rules],
        [rule.year for rule in rules],
        [rule.rule for rule in rules],
        [rule.sense for rule in rules],
        [rule.unit for rule in rules],
        duals.tolist(),
        per,
        values,
        [unit] * len(rules),
        binding,
        explanations,
    )
    return Table.of_columns(SHADOW_PRICE_COLUMNS, columns)


def _cleaned(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """`clean` of each value."""
    return np.where(np.abs(values) < 1e-9, 0.0, values)


def _floats(values: list[float]) -> npt.NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


NOT_BINDING = "not binding: relaxing it would not improve the plan"
NOT_CHOSEN = (
    "the option or shared service is not chosen this year: the price is what supply through it "
    "would be worth without its fixed and set-up costs; planner compare gives the value of "
    "choosing it"
)


def choice_is_off(model: Model, family: str, key: tuple[str | int, ...]) -> bool:
    """Whether a supply row belongs to an option or shared service switched off in the plan."""
    if family in ("option_capacity", "minimum_volume", "shared_use"):
        on = model.chosen.get(key)  # type: ignore[arg-type]
    elif family == "shared_capacity":
        on = model.opened.get(key)  # type: ignore[arg-type]
    else:
        return False
    return on is not None and _value(on) < 0.5


def explain_price(
    model: Model,
    family: str,
    subject: str,
    year: int | None,
    unit: str,
    per: float,
    value: float,
    objective_unit: str,
) -> str:
    """One sentence a board member can read."""
    if value == 0:
        return NOT_BINDING
    if model.maximise:
        amount = f"add {value:,.4g} {objective_unit}"
    else:
        amount = f"save {model.money()}{value:,.2f}"
    step = f"{model.money()}{per:,.0f}" if per != 1 else f"one {unit}"
    instance = model.instance
    if family == "envelope":
        return f"an extra {step} of envelope in {year} would {amount}"
    if family == "outcome_floor":
        floor = instance.floors[subject]
        outcome = instance.outcomes[floor.outcome].name
        direction = "one more" if floor.bound == "upper" else "one fewer"
        return (
            f"allowing {direction} {unit} of {outcome} in {year} would {amount}; "
            f"tightening the floor by one costs about the same"
        )
    if family == "partner_risk_limit":
        who = instance.partners[subject].name
        return f"letting {who} lose {step} more in {year} would {amount}"
    if family == "partner_gain_cap":
        who = instance.partners[subject].name
        return f"letting {who} gain {step} more in {year} would {amount}"
    if family in ("indivisible", "supply_balance"):  # == rows: the price of one more unit
        return (
            f"one more {unit} in {year} would change the objective by {value:,.4g} {objective_unit}"
        )
    if family == "option_capacity":
        return f"one more {unit} of this option's capacity in {year} would {amount}"
    return f"relaxing this rule by {step} in {year} would {amount}"


def _reduced_costs(model: Model, solution: Solution, values: Values) -> Table:
    instance = model.instance
    unit = objective_unit(model.instance)
    improvement_unit = (
        f"{instance.currency} per unit (cost must fall by)"
        if instance.objective.kind == "min_spend"
        else f"{instance.health_unit} per unit (gain must rise by)"
    )
    rows = []
    for iid, item in instance.interventions.items():
        for year in model.years:
            units = values.units[(iid, year)]
            if units > TOLERANCE:
                continue
            variables = model.unit_variables[(iid, year)]
            if not variables:  # no supply option available this year
                continue
            # the cheapest way in: the first tranche, or the best supply option
            costs = [solution.reduced_costs.get(v.name, 0.0) for v in variables]
            reduced = clean(max(costs) if model.maximise else min(costs))
            harm = -reduced if model.maximise else reduced  # objective worsening per unit forced in
            needed = clean(max(0.0, harm) / instance.discount(year))
            rows.append(
                {
                    "intervention": iid,
                    "name": item.name,
                    "year": year,
                    "units": units,
                    "reduced_cost": reduced,
                    "improvement_needed_per_unit": needed,
                    "improvement_unit": improvement_unit,
                    "explanation": (
                        f"each unit forced in would worsen the plan by {harm:,.4g} {unit}; "
                        f"it enters if its {'gain rises' if model.maximise else 'cost falls'} "
                        f"by {needed:,.4g} per {item.unit}"
                        if harm > 0
                        else "unfunded, but funding it would not worsen the plan (a tie)"
                    ),
                }
            )
    return Table.of_rows(REDUCED_COST_COLUMNS, rows)
