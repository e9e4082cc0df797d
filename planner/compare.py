"""Compare: plans side by side, for make-or-buy decisions and for named scenarios.

A make-or-buy decision is an intervention with two or more supply options on offer. For each, the
plan with only one option on offer (for every option) stands beside the plan with free choice:
health gain (or spend), each partner's income, which floors and limits bind, the value of the
choice (what forcing that option gives up against free choice) and each option's break-even unit
price: the price at which it would enter the free plan (if it is not in it) or leave it (if it
is), everything else unchanged. Scenarios are compared with the same measures.

The cases (free choice, each option forced, each scenario) and the break-even searches (each a
bisection, sequential within itself) are independent of one another, so they are one sweep
(planner/sweep.py): serial, over local processes or on a Dask cluster, with the same results
whichever way. An LP's solves start from the basis of the instance's own plan (sweep.Warm); a
MILP's are solved cold, as `planner solve` solves them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from planner import sweep
from planner.build import Model, build
from planner.errors import NoPlanError
from planner.load import load
from planner.result import (
    Plan,
    difference,
    make_plan,
    named_tables,
    not_proven_optimal,
    objective_unit,
)
from planner.schema import Instance
from planner.solve import Solution, SolverName, Status, solve
from planner.sweep import Linear, Vector, Warm
from planner.validate import validate

TOLERANCE = 1e-6
PRICE_PRECISION = 1e-4  # break-even prices are found to this share of the current price (or £1)
PRICE_CEILING = 1024  # a chosen option is searched up to this many times its current price

CASE_COLUMNS = [
    "case", "description", "status", "objective_kind", "objective", "objective_unit",
    "health_gain", "health_gain_change", "spend", "spend_change", "unspent", "binding_floors",
    "binding_limits", "message",
]  # fmt: skip
DECISION_COLUMNS = [
    "decision", "intervention_name", "option", "option_name", "provider", "mode", "unit_price",
    "in_free_plan", "status", "objective", "objective_unit", "health_gain", "spend",
    "value_lost", "break_even_price", "break_even", "binding_floors", "binding_limits",
]  # fmt: skip
PARTNER_COLUMNS = [
    "comparison", "case", "partner", "name", "income", "income_change", "worst_net_change",
    "max_loss", "least_headroom",
]  # fmt: skip
FREE = "free choice"
STAGE = "solving cases and break-even prices"  # the progress bar's label

Progress = Callable[[str, int, int], None]  # (stage, solves and searches done, in all)


@dataclass(frozen=True)
class Case:
    """One plan of a comparison, or why there is none."""

    label: str
    plan: Plan | None
    status: str
    message: str = ""
    description: str = ""


@dataclass(frozen=True)
class BreakEven:
    """The unit price at which an option enters or leaves the free plan (None: no such price)."""

    price: float | None
    note: str


@dataclass(frozen=True)
class Comparison:
    """The tables of a comparison, with the summary of what was compared."""

    summary: dict[str, Any]
    decisions: pd.DataFrame
    cases: pd.DataFrame
    partners: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, the summary as a two-column table first."""
        return named_tables(self)


# --- running one case ------------------------------------------------------------------------


def _solve(
    model: Model,
    solver: SolverName,
    time_limit: float | None,
    warm: Warm | None,
    prices: bool = True,
) -> Solution:
    """planner.solve, or the same solve started from `warm`'s base (an LP of its structure)."""
    if warm is None:
        return solve(model, solver, time_limit, prices)
    return warm.solve(model, prices)


def run_case(
    instance: Instance,
    label: str,
    solver: SolverName = "highs",
    time_limit: float | None = None,
    description: str = "",
    warm: Warm | None = None,
) -> Case:
    """Build and solve `instance` (with `warm`: started from its base, which must use the same
    solver and time limit); its plan, or the reason there is none."""
    model = build(instance)
    try:
        plan = make_plan(model, _solve(model, solver, time_limit, warm))
    except NoPlanError as exc:
        return Case(label, None, exc.status, str(exc), description)
    # a MILP stopped at its time limit has a plan, not proven optimal: status time_limit
    return Case(label, plan, str(plan.summary["status"]), not_proven_optimal(plan.summary),
                description)  # fmt: skip


def decisions(instance: Instance) -> list[str]:
    """Interventions with a make-or-buy decision: two or more supply options on offer."""
    return [iid for iid, item in instance.interventions.items() if len(item.offered()) > 1]


def with_option(instance: Instance, iid: str, oid: str, **changes: Any) -> Instance:
    """A copy of `instance` with fields of one supply option changed."""
    item = instance.interventions[iid]
    assert item.supply is not None
    option = item.supply.options[oid].model_copy(update=changes)
    supply = item.supply.model_copy(update={"options": {**item.supply.options, oid: option}})
    interventions = {**instance.interventions, iid: item.model_copy(update={"supply": supply})}
    return instance.model_copy(update={"interventions": interventions})


def forced(instance: Instance, iid: str, oid: str) -> Instance:
    """A copy of `instance` where `oid` is the only option of `iid` on offer from its first year;
    before that the other options stay on offer, so a late-starting option is bridged by them
    rather than leaving the service with no supplier."""
    item = instance.interventions[iid]
    years = instance.supply_years(item.offered()[oid])
    start = years[0] if years else instance.plan_years[-1] + 1
    for other, option in item.offered().items():
        if other == oid:
            continue
        if any(y < start for y in instance.supply_years(option)):
            last = min(option.last_year or start - 1, start - 1)
            instance = with_option(instance, iid, other, last_year=last)
        else:
            instance = with_option(instance, iid, other, available=False)
    return instance


def option_used(
    instance: Instance,
    iid: str,
    oid: str,
    solver: SolverName,
    time_limit: float | None,
    warm: Warm | None = None,
) -> bool | Status:
    """Whether the optimal plan of `instance` buys any units through the option (the status
    when there is no plan)."""
    model = build(instance)
    return _uses(model, _solve(model, solver, time_limit, warm, prices=False), iid, oid)


def _uses(model: Model, solution: Solution, iid: str, oid: str) -> bool | Status:
    """Whether the solved model buys any units through option `oid` of `iid` (the status when
    there is no plan)."""
    if solution.status is not Status.OPTIMAL:
        return solution.status
    return any(
        (units.varValue or 0.0) > TOLERANCE
        for (i, o, _), units in model.options.items()
        if (i, o) == (iid, oid)
    )


def _priced(
    instance: Instance, iid: str, oid: str, warm: Warm, lowest: float, highest: float
) -> Linear | None:
    """The model of `instance` moved in place along option `oid`'s unit price over [lowest,
    highest] (sweep.Linear: its numbers are affine in the price), or None where it is not."""

    def make(x: Vector) -> Model:
        return build(with_option(instance, iid, oid, unit_price=float(x[0])))

    moved = Linear(make, [highest], [lowest], [highest], warm)
    return moved if moved.refusal is None else None


def break_even(
    instance: Instance,
    iid: str,
    oid: str,
    solver: SolverName = "highs",
    time_limit: float | None = None,
    warm: Warm | None = None,
) -> BreakEven:
    """The unit price at which option `oid` enters the free plan (if it is out of it at today's
    price) or leaves it (if it is in), found by bisection to PRICE_PRECISION. It assumes the
    option's use changes once as its price moves, which holds unless a higher price also eases a
    binding risk limit of its provider more than it tightens the envelope. Each step is solved
    as `option_used` solves it (with `warm`: from its base); a price above the smallest step of
    the bisection moves one model (a price of 0 has no cost terms: it is built)."""
    now = instance.interventions[iid].offered()[oid].unit_price
    money = instance.currency_symbol
    precision = PRICE_PRECISION * max(now, 1.0)
    lowest, highest = precision / 4, PRICE_CEILING * max(now, 1.0)
    moved = _priced(instance, iid, oid, warm or Warm(solver, time_limit), lowest, highest)

    def used(price: float) -> bool | Status:
        changed = with_option(instance, iid, oid, unit_price=price)
        if moved is None or not lowest <= price <= highest:
            return option_used(changed, iid, oid, solver, time_limit, warm)
        moved.move([price], changed)
        return _uses(moved.model, moved.solve(prices=False), iid, oid)

    def no_plan(status: Status, price: float) -> BreakEven:
        return BreakEven(None, f"no plan ({status.value}) at {money}{price:,.2f}")

    in_plan = used(now)
    if isinstance(in_plan, Status):
        return no_plan(in_plan, now)
    if in_plan:
        low, high = now, max(2 * now, 1.0)
        while True:
            state = used(high)
            if isinstance(state, Status):
                return no_plan(state, high)
            if not state:
                break
            if high >= PRICE_CEILING * max(now, 1.0):
                return BreakEven(None, f"stays in at any price up to {money}{high:,.0f}")
            low, high = high, high * 2
    else:
        state = used(0.0)
        if isinstance(state, Status):
            return no_plan(state, 0.0)
        if not state:
            return BreakEven(None, f"stays out even at {money}0")
        low, high = 0.0, now
    # the option is used at `low` and not at `high`: narrow the bracket
    while high - low > precision:
        middle = (low + high) / 2
        state = used(middle)
        if isinstance(state, Status):
            return no_plan(state, middle)
        low, high = (middle, high) if state else (low, middle)
    price = (low + high) / 2
    words = "leaves the plan above" if in_plan else "enters the plan below"
    return BreakEven(price, f"{words} {money}{price:,.2f} a unit")


# --- the comparisons -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Solve:
    """A case to solve: `instance` under `label`."""

    label: str
    instance: Instance
    description: str = ""


@dataclass(frozen=True)
class _Search:
    """A break-even search: option `oid` of decision `iid`, on the task's instance."""

    iid: str
    oid: str


@dataclass(frozen=True)
class _Cases:
    """A comparison's solves as a sweep task (planner/sweep.py): each probe a case or a
    break-even search. The state of a process is a warm solver whose base is `instance`'s plan
    (an LP's; a MILP's probes are solved cold). It travels to worker processes whole."""

    instance: Instance
    solver: SolverName
    time_limit: float | None

    def setup(self) -> Warm:
        """A warm solver, its base the instance's plan when the instance is an LP (on HiGHS:
        CBC has no warm start)."""
        warm = Warm(self.solver, self.time_limit)
        if self.solver == "highs":
            model = build(self.instance)
            if not model.choices:
                warm.solve(model)
        return warm

    def __call__(self, warm: Warm, probe: _Solve | _Search) -> Case | BreakEven:
        if isinstance(probe, _Search):
            return break_even(
                self.instance, probe.iid, probe.oid, self.solver, self.time_limit, warm
            )
        return run_case(
            probe.instance, probe.label, self.solver, self.time_limit, probe.description, warm
        )


def _decision_rows(
    instance: Instance, iid: str, free: Case, cases: list[Case], evens: list[BreakEven]
) -> list[dict[str, Any]]:
    """Rows for one decision: free choice, then each option forced (`cases`, in the order the
    options are offered), with value lost and break-even price (`evens`)."""
    maximise = instance.objective.kind != "min_spend"
    in_free = _options_in_plan(free.plan, iid)
    rows = [_decision_row(instance, iid, None, free, free, maximise, in_free, None)]
    offered = instance.interventions[iid].offered()
    for oid, case, even in zip(offered, cases, evens, strict=True):
        rows.append(_decision_row(instance, iid, oid, case, free, maximise, in_free, even))
    return rows


def compare(
    path: str | Path,
    scenarios: Iterable[str] | None = None,
    base: str | None = None,
    solver: SolverName = "highs",
    time_limit: float | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Every make-or-buy decision of the instance (with `base` applied), and the base instance
    beside each named scenario (default: all of them). The solves run serially, over `workers`
    local processes or on the Dask cluster at `scheduler`, with the same results whichever way;
    `progress(stage, done, total)` is told as cases and searches finish."""
    document = load(path, base)
    instance = validate(document)
    written: dict[str, Any] = document.data.get("scenarios") or {}
    names = list(scenarios) if scenarios is not None else sorted(written)
    base_label = base or "base"
    others = []
    for name in names:  # every scenario is loaded and checked before anything is solved
        if name != base_label:
            described = str((written.get(name) or {}).get("description", ""))
            others.append(_Solve(name, validate(load(path, name)), described))
    probes: list[_Solve | _Search] = [_Solve(FREE, instance, instance.description or "")]
    for iid in decisions(instance):
        for oid in instance.interventions[iid].offered():
            probes += [_Solve(oid, forced(instance, iid, oid)), _Search(iid, oid)]
    probes += others

    task = _Cases(instance, solver, time_limit)
    moved = sweep.staged(progress, STAGE)
    done = iter(sweep.run(task, probes, workers=workers, scheduler=scheduler, progress=moved))
    free = _case(next(done))
    decision_rows: list[dict[str, Any]] = []
    partner_rows: list[dict[str, Any]] = []
    for iid in decisions(instance):
        cases: list[Case] = []
        evens: list[BreakEven] = []
        for _ in instance.interventions[iid].offered():
            cases.append(_case(next(done)))
            evens.append(_even(next(done)))
        decision_rows += _decision_rows(instance, iid, free, cases, evens)
        for case in [free, *cases]:
            partner_rows += _partner_rows(f"decision {iid}", case)

    written_as = f"the instance with scenario {base}" if base else "the instance as written"
    compared = [Case(base_label, free.plan, free.status, free.message, written_as)]
    compared += [_case(outcome) for outcome in done]
    reference = compared[0]
    case_rows = [_case_row(case, reference) for case in compared]
    for case in compared:
        partner_rows += _partner_rows("scenarios", case)
    summary = {
        "instance": instance.name,
        "title": instance.title or instance.name,
        "base": base or "",
        "solver": solver,
        "objective_kind": instance.objective.kind,
        "objective_unit": objective_unit(instance),
        "health_unit": instance.health_unit,
        "currency": instance.currency,
        "decisions": ", ".join(decisions(instance)),
        "scenarios": ", ".join(names),
        "break_even_precision": f"{PRICE_PRECISION:g} of the current price (or of 1)",
    }
    return Comparison(
        summary=summary,
        decisions=pd.DataFrame(decision_rows, columns=DECISION_COLUMNS),
        cases=pd.DataFrame(case_rows, columns=CASE_COLUMNS),
        partners=pd.DataFrame(partner_rows, columns=PARTNER_COLUMNS),
    )


def _case(outcome: Case | BreakEven) -> Case:
    assert isinstance(outcome, Case)
    return outcome


def _even(outcome: Case | BreakEven) -> BreakEven:
    assert isinstance(outcome, BreakEven)
    return outcome


# --- rows ------------------------------------------------------------------------------------


def _options_in_plan(plan: Plan | None, iid: str) -> dict[str, list[int]]:
    """Option -> the plan years it supplies (or is chosen) in `plan`."""
    if plan is None:
        return {}
    rows = plan.supply[(plan.supply["intervention"] == iid) & plan.supply["chosen"]]
    years: dict[str, list[int]] = {}
    for row in rows.itertuples():
        years.setdefault(str(row.option), []).append(int(row.year))  # type: ignore[arg-type]
    return years


def _value_lost(case: Case, free: Case, maximise: bool) -> float | None:
    """What forcing gives up against free choice, in the objective's unit (never negative)."""
    if case.plan is None or free.plan is None:
        return None
    gap = difference(free.plan.summary["objective"], case.plan.summary["objective"])
    return max(0.0, gap if maximise else -gap)


def _binding(plan: Plan | None) -> tuple[str, str]:
    """Floors and partner limits at their bound in any year, as comma-separated ids."""
    if plan is None:
        return "", ""
    floors = plan.outcomes[plan.outcomes["binding"].astype(bool)]["floor"]
    limits = plan.partners[plan.partners["binding"].astype(bool)]["partner"]
    return ", ".join(dict.fromkeys(floors)), ", ".join(dict.fromkeys(limits))


def _decision_row(
    instance: Instance,
    iid: str,
    oid: str | None,
    case: Case,
    free: Case,
    maximise: bool,
    in_free: dict[str, list[int]],
    even: BreakEven | None,
) -> dict[str, Any]:
    item = instance.interventions[iid]
    plan = case.plan
    floors, limits = _binding(plan)
    row: dict[str, Any] = {
        "decision": iid,
        "intervention_name": item.name,
        "status": case.status,
        "objective": plan.summary["objective"] if plan else None,
        "objective_unit": objective_unit(instance),
        "health_gain": plan.summary["health_gain_discounted"] if plan else None,
        "spend": plan.summary["total_spend"] if plan else None,
        "binding_floors": floors,
        "binding_limits": limits,
    }
    if oid is None:
        chosen = "; ".join(f"{o} {_years_text(ys)}" for o, ys in in_free.items())
        return row | {"option": FREE, "option_name": chosen or "none", "provider": "",
                      "mode": "", "unit_price": None, "in_free_plan": None, "value_lost": 0.0,
                      "break_even_price": None, "break_even": ""}  # fmt: skip
    option = item.offered()[oid]
    return row | {
        "option": oid,
        "option_name": option.name or oid,
        "provider": instance.option_provider(option) or "",
        "mode": option.mode,
        "unit_price": option.unit_price,
        "in_free_plan": oid in in_free,
        "value_lost": _value_lost(case, free, maximise),
        "break_even_price": even.price if even else None,
        "break_even": even.note if even else "",
    }


def _years_text(years: list[int]) -> str:
    """2014-2016, or 2014, 2016."""
    if len(years) > 1 and years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ", ".join(map(str, years))


def _case_row(case: Case, reference: Case) -> dict[str, Any]:
    """A scenario beside the base: health gain and spend (comparable whatever each optimises),
    and the changes from the base."""
    plan, base = case.plan, reference.plan
    floors, limits = _binding(plan)

    def change(field: str) -> float | None:
        if plan is None or base is None:
            return None
        return difference(plan.summary[field], base.summary[field])

    unspent = plan.summary["unspent"] if plan else None
    return {
        "case": case.label,
        "description": case.description,
        "status": case.status,
        "objective_kind": plan.summary["objective_kind"] if plan else "",
        "objective": plan.summary["objective"] if plan else None,
        "objective_unit": plan.summary["objective_unit"] if plan else "",
        "health_gain": plan.summary["health_gain_discounted"] if plan else None,
        "health_gain_change": change("health_gain_discounted"),
        "spend": plan.summary["total_spend"] if plan else None,
        "spend_change": change("total_spend"),
        "unspent": unspent if unspent != "" else None,
        "binding_floors": floors,
        "binding_limits": limits,
        "message": case.message,
    }


def _partner_rows(comparison: str, case: Case) -> list[dict[str, Any]]:
    """Each partner's income over the plan years in one case (nothing when there is no plan)."""
    if case.plan is None:
        return []
    rows = []
    for pid, frame in case.plan.partners.groupby("partner", sort=False):
        headroom = frame["headroom"].dropna()
        rows.append(
            {
                "comparison": comparison,
                "case": case.label,
                "partner": pid,
                "name": frame["name"].iloc[0],
                "income": float(frame["income"].sum()),
                "income_change": float(frame["income_change"].sum()),
                "worst_net_change": float(frame["net_change"].min()),
                "max_loss": frame["max_loss"].iloc[0],
                "least_headroom": float(headroom.min()) if len(headroom) else None,
            }
        )
    return rows


__all__ = [
    "BreakEven",
    "Case",
    "Comparison",
    "break_even",
    "compare",
    "decisions",
    "forced",
    "run_case",
    "with_option",
]
