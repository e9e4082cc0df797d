"""Cross-checks on a few hundred small random instances (a fixed list of seeds).

Each instance is solved by planner (PuLP, on HiGHS and on CBC) and by an independent formulation
written here straight from the instance data as numpy matrices, without PuLP or planner.build,
and solved by scipy (`linprog`, or `milp` when there are yes/no choices): HiGHS inside scipy, a
different code path from highspy through PuLP. The checks:

- planner's optimum equals scipy's (relative 1e-6), or both say there is no plan;
- HiGHS and CBC agree;
- money in £k instead of £ (every money field and the envelope divided by 1,000) leaves the
  health objectives unchanged and divides the least spend by 1,000;
- listing interventions, outcomes, partners and supply options in another order changes
  nothing;
- every plan planner returns (after scaling and reordering too) is optimal in the independent
  formulation: with its decisions fixed, scipy finds it feasible and worth the optimum. Plans
  are compared this way rather than number by number because an instance may have several
  optimal plans, and two solvers may return different ones.

Every plan planner makes is also verified by planner/verify.py (make_plan runs it), so these
instances exercise the verifier's rules and its duality check too.
"""

from __future__ import annotations

import copy
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

import planner
from tests.conftest import Data

SEEDS = list(range(300))
BASELINE_YEAR = 2020
REL = 1e-6
FIXED_REL = 1e-5  # with a plan's decisions fixed, rows are loosened by 1e-7 of their size
Key = tuple[Any, ...]


# --- random instances ---------------------------------------------------------------------------


def generate(seed: int) -> Data:
    """A small valid instance: 2-6 interventions, 1-3 outcomes with lags 0-1, 1-3 years, partners
    with loss limits and gain caps, floors, groups, ramps, tranches, outside costs, shared
    savings, each objective; one in five has a make-or-buy choice with a fixed cost (a MILP),
    some with a set-up cost or a minimum volume; some have all-or-nothing programmes,
    complements, a resource or a refused outcome (see _add_more_rules).
    The baseline (every intervention at its baseline units) meets every floor, limit, group and
    ramp, so most instances have a plan; a tight envelope or a change of supplier may leave none.
    """
    rng = random.Random(seed)

    def u(low: float, high: float) -> float:
        return round(rng.uniform(low, high), 3)

    partners = [f"p{n}" for n in range(rng.randint(1, 3))]
    outcome_ids = [f"k{n}" for n in range(rng.randint(1, 3))]
    interventions: Data = {}
    for n in range(rng.randint(2, 6)):
        base = rng.choice([0.0, u(10, 300)])
        item: Data = {
            "name": f"intervention {n}",
            "unit": "place",
            "unit_cost": u(10, 500),
            "delivered_by": rng.choice(partners),
            "baseline_units": base,
        }
        if rng.random() < 0.25:
            gain = u(0.001, 0.05)
            item["tranches"] = [
                {"units": u(20, 200), "health_gain": gain},
                {"health_gain": round(gain * u(0.1, 0.9), 6)},
            ]
        else:
            item["health_gain"] = u(0.001, 0.05)
        if rng.random() < 0.7:
            item["max_units"] = round(base + u(50, 500), 3)
        if rng.random() < 0.2 and base > 0:
            item["min_units"] = round(base * u(0, 0.8), 3)
        effects: Data = {}
        for k in outcome_ids:
            if rng.random() < 0.5:
                per = u(-0.5, 0.2)
                effects[k] = {"per_unit": per, "lag": 1} if rng.random() < 0.3 else per
        if effects:
            item["effects"] = effects
        ramp: Data = {}
        if rng.random() < 0.3:
            for name, low, high, p in [
                ("max_increase", 10, 200, 0.5),
                ("max_decrease", 10, 200, 0.5),
                ("max_increase_share", 0.1, 0.5, 0.4 if base > 0 else 0),
                ("max_decrease_share", 0.1, 0.5, 0.4),
            ]:
                if rng.random() < p:
                    ramp[name] = u(low, high)
        if ramp:
            item["ramp"] = ramp
        interventions[f"i{n}"] = item
    plain = [iid for iid, item in interventions.items() if "tranches" not in item]
    if rng.random() < 0.2 and plain:
        item = interventions[rng.choice(plain)]
        price = item["unit_cost"]
        item["supply"] = {
            "choice": "exclusive",
            "options": {
                "make": {
                    "mode": "make",
                    "provider": rng.choice(partners),
                    "unit_price": round(price * u(0.5, 0.9), 3),
                    "fixed_cost": u(100, 5000),
                    "capacity": u(100, 600),
                },
                "buy": {
                    "mode": "buy",
                    "provider": rng.choice(partners),
                    "unit_price": round(price * u(0.9, 1.3), 3),
                    "capacity": u(100, 600),
                },
            },
        }
    outcomes: Data = {}
    for k in outcome_ids:
        level = u(100, 2000)
        outcome: Data = {
            "name": k,
            "unit": "event",
            "baseline": level,
            "paid_to": rng.choice(partners),
        }
        if rng.random() < 0.6:
            outcome["tariff"] = u(50, 2000)
        if rng.random() < 0.5:
            outcome["health_gain_per_event"] = u(-0.05, 0)
        if rng.random() < 0.2:
            outcome["maximum"] = round(level * u(1.0, 1.5), 3)
        if rng.random() < 0.2:
            outcome["external_costs"] = {rng.choice(partners): u(10, 500)}
        outcomes[k] = outcome
    spend = sum(i["unit_cost"] * i["baseline_units"] for i in interventions.values())
    spend += sum(o.get("tariff", 0) * o["baseline"] for o in outcomes.values())
    horizon = rng.randint(1, 3)
    data: Data = {
        "name": f"random_{seed}",
        "baseline_year": BASELINE_YEAR,
        "horizon": horizon,
        "discount_rate": rng.choice([0.0, 0.035, 0.1]),
        "envelope": {
            "baseline": round(spend * u(0.95, 1.3) + u(1000, 20000), 2),
            "reduction": u(0, 0.05),
        },
        "partners": {p: {"name": p} for p in partners},
        "interventions": interventions,
        "outcomes": outcomes,
    }
    for p in partners:
        if rng.random() < 0.6:
            data["partners"][p]["max_loss_share"] = u(0.05, 0.5)
        if rng.random() < 0.2:
            data["partners"][p]["max_gain_share"] = u(0.2, 1.0)
    if rng.random() < 0.25:
        shares = (
            {partners[0]: 1.0} if len(partners) == 1 else {partners[0]: 0.25, partners[1]: 0.75}
        )
        data["savings"] = {"rule": "share", "shares": shares}
    choice = rng.random()
    if choice < 0.2:
        data["objective"] = {"kind": "min_spend"}
    elif choice < 0.4:
        data["objective"] = {"kind": "net_benefit", "threshold": u(5000, 50000)}
    floors: Data = {}
    for k in outcome_ids:
        if rng.random() < 0.4:
            upper = rng.random() < 0.6
            ratio = u(1.0, 1.2) if upper else u(0.8, 1.0)
            floor: Data = {"outcome": k, "bound": "upper" if upper else "lower"}
            if rng.random() < 0.5:
                floor["relative"] = ratio
            else:
                floor["value"] = round(outcomes[k]["baseline"] * ratio, 3)
            if rng.random() < 0.3:
                floor["year"] = BASELINE_YEAR + rng.randint(1, horizon)
            floors[f"floor_{k}"] = floor
    if floors:
        data["floors"] = floors
    groups: Data = {}
    ids = list(interventions)
    if rng.random() < 0.3:
        members = rng.sample(ids, 2)
        need = sum(interventions[m]["baseline_units"] for m in members) * u(0.5, 1.0)
        groups["meet"] = {"members": members, "rule": "meet_need", "need": round(need, 3)}
    if rng.random() < 0.15:
        members = rng.sample(ids, 2)
        need = sum(interventions[m]["baseline_units"] for m in members) * u(1.0, 1.5) + u(0, 100)
        groups["share"] = {"members": members, "rule": "share_need", "need": round(need, 3)}
    if groups:
        data["groups"] = groups
    _add_more_rules(data, random.Random(f"more-{seed}"))
    return data


def _add_more_rules(data: Data, rng: random.Random) -> None:
    """Set-up costs and minimum volumes on supply options, all-or-nothing programmes,
    complements, a resource and a refused outcome, drawn from a second stream so that the
    features above stay as they were for each seed. Each is added so that the baseline still
    meets it."""
    items = data["interventions"]
    partners = list(data["partners"])

    def u(low: float, high: float) -> float:
        return round(rng.uniform(low, high), 3)

    for item in items.values():
        options = item.get("supply", {}).get("options", {})
        if "make" in options and rng.random() < 0.5:
            options["make"]["setup_cost"] = u(100, 3000)
        if "buy" in options and rng.random() < 0.4:
            most = min(options["buy"]["capacity"], item.get("max_units", math.inf))
            options["buy"]["min_volume"] = round(min(u(40, 250), most), 3)
    plain = [i for i, item in items.items() if "tranches" not in item and "supply" not in item]
    for iid in plain:
        item = items[iid]
        if rng.random() < 0.12 and "ramp" not in item and not item.get("min_units"):
            item["indivisible"] = True
            item["max_units"] = round(item["baseline_units"] + u(20, 300), 3)
    ids = list(items)
    if rng.random() < 0.25:
        a, b = rng.sample(ids, 2)
        base_a, base_b = items[a]["baseline_units"], items[b]["baseline_units"]
        if base_b > 0 or base_a == 0:
            ratio = max(u(0.5, 3), 1.1 * base_a / base_b if base_b else 0.0)
            data["complements"] = {
                "needs": {"intervention": a, "requires": b, "ratio": round(ratio, 3)}
            }
    if rng.random() < 0.25:
        users = {iid: u(0.1, 2) for iid in rng.sample(ids, min(len(ids), rng.randint(1, 3)))}
        base_use = sum(use * items[iid]["baseline_units"] for iid, use in users.items())
        data["resources"] = {
            "staff": {
                "name": "staff",
                "unit": "hour",
                "capacity": round(base_use * u(1.0, 1.5) + u(0, 50), 3),
            }
        }
        for iid, use in users.items():
            items[iid]["resource_use"] = {"staff": use}
    paid = [k for k, outcome in data["outcomes"].items() if outcome.get("tariff")]
    if paid and rng.random() < 0.2:
        data["refused_outcomes"] = {rng.choice(paid): {"responsible": rng.choice(partners)}}


MONEY = {  # money fields, by where they sit
    "intervention": ("unit_cost", "full_cost"),
    "option": ("unit_price", "fixed_cost", "setup_cost"),
    "outcome": ("tariff",),
    "partner": ("baseline_income", "max_loss", "max_gain"),
}


def in_thousands(data: Data) -> Data:
    """The same instance with every money field in thousands (the threshold too: £k per QALY)."""
    scaled = copy.deepcopy(data)

    def divide(fields: dict[str, Any], names: tuple[str, ...]) -> None:
        for name in names:
            if fields.get(name) is not None:
                fields[name] = fields[name] / 1000

    for item in scaled["interventions"].values():
        divide(item, MONEY["intervention"])
        for option in (item.get("supply") or {}).get("options", {}).values():
            divide(option, MONEY["option"])
    for outcome in scaled["outcomes"].values():
        divide(outcome, MONEY["outcome"])
        outcome["external_costs"] = {
            p: c / 1000 for p, c in outcome.get("external_costs", {}).items()
        }
    for partner in scaled["partners"].values():
        divide(partner, MONEY["partner"])
    divide(scaled["envelope"], ("baseline",))
    if scaled.get("objective", {}).get("threshold"):
        scaled["objective"]["threshold"] /= 1000
    return scaled


def reordered(data: Data) -> Data:
    """The same instance with interventions, outcomes, partners and supply options listed in
    reverse order."""
    turned = copy.deepcopy(data)
    for section in ("interventions", "outcomes", "partners"):
        turned[section] = dict(reversed(list(turned[section].items())))
    for item in turned["interventions"].values():
        if "supply" in item:
            item["supply"]["options"] = dict(reversed(list(item["supply"]["options"].items())))
    return turned


# --- the independent formulation ---------------------------------------------------------------


@dataclass
class Expr:
    """An affine expression over the programme's variables: a dense coefficient vector and a
    constant."""

    a: np.ndarray
    k: float = 0.0

    def __add__(self, other: Expr | float) -> Expr:
        if isinstance(other, Expr):
            return Expr(self.a + other.a, self.k + other.k)
        return Expr(self.a, self.k + other)

    def __sub__(self, other: Expr | float) -> Expr:
        return self + (other * -1.0)

    def __mul__(self, factor: float) -> Expr:
        return Expr(self.a * factor, self.k * factor)


@dataclass
class Programme:
    """max (or min) c.x + constant subject to lo <= A x <= hi, bounds and integrality."""

    index: dict[Key, int] = field(default_factory=dict)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    integer: list[bool] = field(default_factory=list)
    rows: list[tuple[Expr, float, float]] = field(default_factory=list)
    objective: Expr | None = None
    maximise: bool = True

    def var(
        self, key: Key, lower: float = 0.0, upper: float = math.inf, integer: bool = False
    ) -> None:
        self.index[key] = len(self.lower)
        self.lower.append(lower)
        self.upper.append(upper)
        self.integer.append(integer)

    def zero(self) -> Expr:
        return Expr(np.zeros(len(self.lower)))

    def x(self, key: Key) -> Expr:
        e = self.zero()
        e.a[self.index[key]] = 1.0
        return e

    def row(self, e: Expr, lo: float = -math.inf, hi: float = math.inf) -> None:
        self.rows.append((e, lo, hi))


def needs_choice(item: Data, option: Data) -> bool:
    exclusive = item["supply"].get("choice", "exclusive") == "exclusive"
    costly = any(option.get(name, 0) > 0 for name in ("fixed_cost", "setup_cost", "min_volume"))
    return (exclusive and len(item["supply"]["options"]) > 1) or costly


def formulate(data: Data) -> Programme:
    """The planning model of docs/formulation.md for the generator's features, from the data."""
    years = [BASELINE_YEAR + t for t in range(1, data["horizon"] + 1)]
    items, outcomes, partners = data["interventions"], data["outcomes"], data["partners"]
    share_rule = data.get("savings", {}).get("rule") == "share"
    P = Programme(maximise=data.get("objective", {}).get("kind", "health_gain") != "min_spend")
    for iid, item in items.items():
        for t in years:
            if "tranches" in item:
                for j, tranche in enumerate(item["tranches"]):
                    P.var(("z", iid, t, j), 0.0, tranche.get("units", math.inf))
            elif "supply" in item:
                for oid, option in item["supply"]["options"].items():
                    P.var(("o", iid, oid, t))
                    if needs_choice(item, option):
                        P.var(("y", iid, oid, t), 0.0, 1.0, integer=True)
                    if option.get("setup_cost") and t > years[0]:
                        P.var(("s", iid, oid, t), 0.0, 1.0)  # starts in t (in the first year: y)
            else:
                P.var(("x", iid, t))
                if item.get("indivisible"):
                    P.var(("f", iid, t), 0.0, 1.0, integer=True)
    if not share_rule:
        for t in years:
            P.var(("w", t))

    def units(iid: str, t: int) -> Expr:
        e = P.zero()
        for key, j in P.index.items():
            if key[0] in ("z", "x", "o") and key[1] == iid and key[-1 if key[0] != "z" else 2] == t:
                e.a[j] = 1.0
        return e

    def effects(item: Data, k: str) -> list[tuple[float, int]]:
        raw = item.get("effects", {}).get(k)
        if raw is None:
            return []
        return (
            [(raw, 0)] if isinstance(raw, float | int) else [(raw["per_unit"], raw.get("lag", 0))]
        )

    level: dict[tuple[str, int], Expr] = {}
    for k, outcome in outcomes.items():
        for n, t in enumerate(years, start=1):
            e = P.zero() + outcome["baseline"]
            for iid, item in items.items():
                for per, lag in effects(item, k):
                    if n - lag >= 1:
                        e = e + (units(iid, years[n - lag - 1]) - item["baseline_units"]) * per
            level[(k, t)] = e
    option_cost: dict[tuple[str, str, int], Expr] = {}
    for iid, item in items.items():
        for oid, option in item.get("supply", {}).get("options", {}).items():
            for t in years:
                e = P.x(("o", iid, oid, t)) * option["unit_price"]
                if ("y", iid, oid, t) in P.index:
                    e = e + P.x(("y", iid, oid, t)) * option.get("fixed_cost", 0.0)
                if option.get("setup_cost"):
                    start = ("s", iid, oid, t) if t > years[0] else ("y", iid, oid, t)
                    e = e + P.x(start) * option["setup_cost"]
                option_cost[(iid, oid, t)] = e
    envelope = {
        t: data["envelope"]["baseline"] * (1 - data["envelope"]["reduction"]) ** n
        for n, t in enumerate(years, start=1)
    }
    refused = data.get("refused_outcomes", {})
    spend, health, refused_tariffs = {}, {}, {}
    for t in years:
        e = P.zero()
        h = P.zero()
        for iid, item in items.items():
            if "supply" in item:
                for oid in item["supply"]["options"]:
                    e = e + option_cost[(iid, oid, t)]
            else:
                e = e + units(iid, t) * item["unit_cost"]
            if "tranches" in item:
                for j, tranche in enumerate(item["tranches"]):
                    h = h + P.x(("z", iid, t, j)) * tranche["health_gain"]
            else:
                h = h + units(iid, t) * item["health_gain"]
        r = P.zero()
        for k, outcome in outcomes.items():
            if k in refused:  # paid by the responsible partner, not out of the envelope
                r = r + level[(k, t)] * outcome.get("tariff", 0.0)
            else:
                e = e + level[(k, t)] * outcome.get("tariff", 0.0)
            h = h + (level[(k, t)] - outcome["baseline"]) * outcome.get(
                "health_gain_per_event", 0.0
            )
        spend[t], health[t], refused_tariffs[t] = e, h, r
    # envelope, with money carried forward, or shared savings
    for n, t in enumerate(years):
        e = spend[t]
        if not share_rule:
            e = e + P.x(("w", t)) - (P.x(("w", years[n - 1])) if n else 0.0)
        P.row(e, hi=envelope[t])
    for floor in data.get("floors", {}).values():
        outcome = outcomes[floor["outcome"]]
        bound = floor["value"] if "value" in floor else floor["relative"] * outcome["baseline"]
        for t in [floor["year"]] if "year" in floor else years:
            if floor["bound"] == "upper":
                P.row(level[(floor["outcome"], t)], hi=bound)
            else:
                P.row(level[(floor["outcome"], t)], lo=bound)
    for k, outcome in outcomes.items():
        for t in years:
            P.row(level[(k, t)], lo=0.0, hi=outcome.get("maximum", math.inf))
    shares = data.get("savings", {}).get("shares", {})
    for p, partner in partners.items():
        base_income = sum(
            i["unit_cost"] * i["baseline_units"] for i in items.values() if i["delivered_by"] == p
        )
        base_income += sum(
            o.get("tariff", 0.0) * o["baseline"] for o in outcomes.values() if o["paid_to"] == p
        )
        base_external = sum(
            o.get("external_costs", {}).get(p, 0.0) * o["baseline"] for o in outcomes.values()
        )
        for t in years:
            net = P.zero()
            for iid, item in items.items():
                if "supply" in item:
                    for oid, option in item["supply"]["options"].items():
                        if option["provider"] == p:
                            net = net + option_cost[(iid, oid, t)]
                elif item["delivered_by"] == p:
                    net = net + units(iid, t) * item["unit_cost"]
            for k, outcome in outcomes.items():
                if outcome["paid_to"] == p:
                    net = net + level[(k, t)] * outcome.get("tariff", 0.0)
                if refused.get(k, {}).get("responsible") == p:
                    net = net - level[(k, t)] * outcome.get("tariff", 0.0)
                net = net - level[(k, t)] * outcome.get("external_costs", {}).get(p, 0.0)
            if share_rule:
                net = net + (spend[t] * -1.0 + envelope[t]) * shares.get(p, 0.0)
            change = net - (base_income - base_external)
            loss = partner.get("max_loss_share")
            gain = partner.get("max_gain_share")
            P.row(
                change,
                lo=-loss * base_income if loss is not None else -math.inf,
                hi=gain * base_income if gain is not None else math.inf,
            )
    for iid, item in items.items():
        for n, t in enumerate(years):
            x = units(iid, t)
            P.row(x, lo=item.get("min_units", -math.inf), hi=item.get("max_units", math.inf))
            before = units(iid, years[n - 1]) if n else P.zero() + item["baseline_units"]
            ramp = item.get("ramp", {})
            if "max_increase" in ramp:
                P.row(x - before, hi=ramp["max_increase"])
            if "max_decrease" in ramp:
                P.row(before - x, hi=ramp["max_decrease"])
            if "max_increase_share" in ramp:
                P.row(x - before * (1 + ramp["max_increase_share"]), hi=0.0)
            if "max_decrease_share" in ramp:
                P.row(before * (1 - ramp["max_decrease_share"]) - x, hi=0.0)
            if item.get("indivisible"):  # all max_units or none
                P.row(x - P.x(("f", iid, t)) * item["max_units"], lo=0.0, hi=0.0)
            for oid, option in item.get("supply", {}).get("options", {}).items():
                o = P.x(("o", iid, oid, t))
                if ("y", iid, oid, t) in P.index:
                    y = P.x(("y", iid, oid, t))
                    cap = min(option["capacity"], item.get("max_units", math.inf))
                    P.row(o - y * cap, hi=0.0)
                    P.row(o - y * option.get("min_volume", 0.0), lo=0.0)
                else:
                    P.row(o, hi=option["capacity"])
                if ("s", iid, oid, t) in P.index:  # starts exactly when used now, not before
                    start, before = P.x(("s", iid, oid, t)), P.x(("y", iid, oid, years[n - 1]))
                    P.row(start - y + before, lo=0.0)
                    P.row(start - y, hi=0.0)
                    P.row(start + before, hi=1.0)
            ys = [P.x(key) for key in P.index if key[0] == "y" and key[1] == iid and key[3] == t]
            if len(ys) > 1:
                P.row(sum(ys[1:], ys[0]), hi=1.0)
    for complement in data.get("complements", {}).values():
        for t in years:
            a, b = units(complement["intervention"], t), units(complement["requires"], t)
            P.row(a - b * complement["ratio"], hi=0.0)
    for resource_id, resource in data.get("resources", {}).items():
        for t in years:
            used = P.zero()
            for iid, item in items.items():
                used = used + units(iid, t) * item.get("resource_use", {}).get(resource_id, 0.0)
            P.row(used, hi=resource["capacity"])
    for group in data.get("groups", {}).values():
        for t in years:
            total = sum((units(m, t) for m in group["members"]), P.zero())
            if group["rule"] == "meet_need":
                P.row(total, lo=group["need"])
            else:
                P.row(total, hi=group["need"])
    kind = data.get("objective", {}).get("kind", "health_gain")
    discount = {t: (1 + data["discount_rate"]) ** -n for n, t in enumerate(years)}
    objective = P.zero()
    for t in years:
        if kind == "health_gain":
            term = health[t]
        elif kind == "min_spend":
            term = spend[t]
        else:
            cost = spend[t] + refused_tariffs[t]  # every payment, refused outcomes too
            term = health[t] - cost * (1 / data["objective"]["threshold"])
        objective = objective + term * discount[t]
    P.objective = objective
    return P


def optimum(P: Programme, fixed: dict[Key, float] | None = None, sums: Any = ()) -> float | None:
    """The optimal objective of the programme (None if infeasible), with the variables in
    `fixed` held at their values and each (keys, value) in `sums` adding sum(keys) == value;
    rows are then loosened by 1e-7 of their size at those values, for the solvers' rounding."""
    assert P.objective is not None
    n = len(P.lower)
    lower, upper = np.array(P.lower), np.array(P.upper)
    rows = list(P.rows)
    held = np.zeros(n)  # the size of each held value, to scale the loosening
    for keys, value in sums:
        e = P.zero()
        for key in keys:
            e.a[P.index[key]] = 1.0
            held[P.index[key]] = abs(value)
        rows.append((e, value, value))
    for key, value in (fixed or {}).items():
        lower[P.index[key]] = upper[P.index[key]] = held[P.index[key]] = value
    slack = 1e-7 if fixed or sums else 0.0
    A = np.array([e.a for e, _, _ in rows]).reshape(len(rows), n)
    lo = np.array([low - e.k for e, low, _ in rows])
    hi = np.array([high - e.k for e, _, high in rows])
    size = 1 + np.abs(A) @ np.abs(held) + np.abs([e.k for e, _, _ in rows])
    lo, hi = lo - slack * size, hi + slack * size
    sign = -1.0 if P.maximise else 1.0
    c = sign * P.objective.a
    integer = np.array(P.integer) & ~(lower == upper)
    if integer.any():
        result = milp(
            c,
            constraints=LinearConstraint(A, lo, hi),
            integrality=integer.astype(int),
            bounds=Bounds(lower, upper),
            options={"mip_rel_gap": 0},
        )
        status, value = result.status, result.fun
    else:
        up = [(A[r], hi[r]) for r in range(len(rows)) if math.isfinite(hi[r])]
        up += [(-A[r], -lo[r]) for r in range(len(rows)) if math.isfinite(lo[r])]
        result = linprog(
            c,
            A_ub=np.array([a for a, _ in up]).reshape(len(up), n),
            b_ub=np.array([b for _, b in up]),
            bounds=list(zip(lower, upper, strict=True)),
            method="highs",
        )
        status, value = result.status, result.fun
    assert status in (0, 2), f"scipy status {status}: {result.message}"
    return None if status == 2 else sign * float(value) + P.objective.k


def plan_optimum(P: Programme, data: Data, plan: planner.Plan) -> float | None:
    """The programme's optimum with the plan's decisions fixed: units, option units and choices
    (tranches filled as the programme likes, money carried as it likes)."""
    fixed: dict[Key, float] = {}
    sums = []
    allocation = {
        (r.intervention, int(r.year)): float(r.units) for r in plan.allocation.itertuples()
    }
    for (iid, t), units in allocation.items():
        if ("x", iid, t) in P.index:
            fixed[("x", iid, t)] = units
        elif "tranches" in data["interventions"][iid]:
            sums.append(([k for k in P.index if k[0] == "z" and k[1] == iid and k[2] == t], units))
    for r in plan.supply.itertuples():
        fixed[("o", r.intervention, r.option, int(r.year))] = float(r.units)
        if ("y", r.intervention, r.option, int(r.year)) in P.index:
            fixed[("y", r.intervention, r.option, int(r.year))] = float(bool(r.chosen))
    return optimum(P, fixed, sums)


# --- the checks -------------------------------------------------------------------------------


def run(instance: planner.Instance, solver: str) -> planner.Plan | None:
    """planner's plan for `instance` (None when there is none: infeasible)."""
    model = planner.build(instance)
    try:
        return planner.make_plan(model, planner.solve(model, solver))  # type: ignore[arg-type]
    except planner.NoPlanError as exc:
        assert exc.status == "infeasible", str(exc)
        return None


def checked(tmp_path: Path, data: Data) -> planner.Instance:
    """`data` written as YAML and read back through planner's loader and validation."""
    path = tmp_path / "instance.yaml"
    path.write_text(yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False), encoding="utf-8")
    return planner.check_instance(path)


def close(a: float, b: float, rel: float = REL) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


@pytest.mark.parametrize("seed", SEEDS)
def test_planner_agrees_with_an_independent_formulation(tmp_path: Path, seed: int) -> None:
    data = generate(seed)
    instance = checked(tmp_path, data)  # the generator's instances are valid
    P = formulate(data)
    best = optimum(P)
    plans = {solver: run(instance, solver) for solver in ("highs", "cbc")}
    if best is None:
        assert plans == {"highs": None, "cbc": None}
        return
    for solver, plan in plans.items():
        assert plan is not None, f"{solver} found no plan; scipy's optimum is {best}"
        assert close(plan.summary["objective"], best), (solver, plan.summary["objective"], best)
        assert plan.summary["verified"] is True
        assert plan.summary["problem"] == ("MILP" if any(P.integer) else "LP")
        found = plan_optimum(P, data, plan)
        assert found is not None and close(found, best, FIXED_REL), (solver, found, best)
    # money in thousands (even seeds) or another order (odd seeds): the same optimum (the least
    # spend in thousands), and the plan is optimal for the instance as given
    if seed % 2 == 0:
        variant = run(planner.Instance.model_validate(in_thousands(data)), "highs")
        kind = instance.objective.kind
        factor = 1000.0 if kind == "min_spend" else 1.0
    else:
        variant = run(planner.Instance.model_validate(reordered(data)), "highs")
        factor = 1.0
    assert variant is not None
    assert close(variant.summary["objective"] * factor, best)
    found = plan_optimum(P, data, variant)
    assert found is not None and close(found, best, FIXED_REL)


def test_the_random_instances_cover_what_they_claim() -> None:
    # across the seeds: MILPs, every objective, shared savings, lags, tranches, ramps, groups
    # and floors all occur, and most instances have a plan
    instances = [generate(seed) for seed in SEEDS]
    kinds = {d.get("objective", {}).get("kind", "health_gain") for d in instances}
    assert kinds == {"health_gain", "min_spend", "net_benefit"}
    items = [i for d in instances for i in d["interventions"].values()]
    assert sum("supply" in i for i in items) >= 30
    assert sum("tranches" in i for i in items) >= 100
    assert sum("ramp" in i for i in items) >= 100
    assert sum(isinstance(e, dict) for i in items for e in i.get("effects", {}).values()) >= 50
    assert sum("savings" in d for d in instances) >= 30
    assert sum("groups" in d for d in instances) >= 50
    assert sum("floors" in d for d in instances) >= 100
    options = [o for i in items for o in i.get("supply", {}).get("options", {}).values()]
    assert sum("setup_cost" in o for o in options) >= 10
    assert sum("min_volume" in o for o in options) >= 10
    assert sum(bool(i.get("indivisible")) for i in items) >= 50
    for section in ("complements", "resources", "refused_outcomes"):
        assert sum(section in d for d in instances) >= 40, section
    feasible = sum(optimum(formulate(d)) is not None for d in instances)
    assert feasible >= 0.6 * len(SEEDS)
