"""Known answers, one constraint family at a time.

Each test is a tiny instance whose optimum is worked out by hand in its comment: the objective,
the allocation (a unique optimum, so both solvers must agree on it), the dual and
value_of_relaxing of the binding row of the family under test, binding flags, slacks, partner
money and reduced costs. Every test runs on HiGHS and on CBC (the `solver` fixture).

Conventions checked throughout (planner/result.py): `dual` = d objective / d right-hand side in
the objective's own sense; `value_of_relaxing` = improvement of the objective per `per` units of
relaxation, with money rows per 100,000; years are 2021 (and 2022, 2023) after a 2020 baseline.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import planner
from tests.conftest import (
    Solve,
    allocation,
    approx,
    instance,
    item,
    one,
    outcome,
    price,
    write,
)

MONEY = 100_000.0


def assert_price(
    plan: planner.Plan, constraint: str, dual: float, value: float, binding: bool = True
) -> None:
    """The shadow-price row of `constraint`: its dual, value of relaxing and binding flag."""
    row = price(plan, constraint)
    assert (row["dual"], row["value_of_relaxing"]) == (approx(dual), approx(value)), constraint
    assert bool(row["binding"]) is binding, constraint


def assert_allocation(plan: planner.Plan, expected: dict[tuple[str, int], float]) -> None:
    assert allocation(plan) == approx(expected)


# --- envelope ----------------------------------------------------------------------------------


def test_envelope_buys_the_best_gain_per_pound(solve: Solve) -> None:
    # a: 1 QALY for £100 (0.01/£); b: 1 QALY for £200 (0.005/£). £100,000 all goes to a:
    # 1,000 units, 1,000 QALYs. An extra £ buys 0.01 QALY: dual 0.01, 1,000 QALYs per £100k.
    # b is unfunded: forcing a unit in costs £200 = 2 QALYs of a for 1 QALY, so its reduced
    # cost is -1 and its gain must rise by 1 QALY a unit for it to enter.
    plan = solve(
        instance(
            envelope={"baseline": 100_000},
            interventions={"a": item(100, 1), "b": item(200, 1)},
        )
    )
    assert plan.summary["objective"] == approx(1000)
    assert_allocation(plan, {("a", 2021): 1000, ("b", 2021): 0})
    assert_price(plan, "envelope__2021", 0.01, 1000)
    row = price(plan, "envelope__2021")
    assert (row["per"], row["unit"], row["objective_unit"]) == (MONEY, "£", "QALY")
    assert row["explanation"] == "an extra £100,000 of envelope in 2021 would add 1,000 QALY"
    assert plan.summary["total_spend"] == approx(100_000)
    assert plan.summary["unspent"] == approx(0)
    reduced = one(plan.reduced_costs, intervention="b", year=2021)
    assert reduced["reduced_cost"] == approx(-1)
    assert reduced["improvement_needed_per_unit"] == approx(1)
    assert reduced["improvement_unit"] == "QALY per unit (gain must rise by)"
    assert list(plan.reduced_costs["intervention"]) == ["b"]  # funded a has no row


def test_envelope_shrinks_by_compound_reduction(solve: Solve) -> None:
    # £100,000 less 2% a year: £98,000 in 2021 and £96,040 in 2022; a (£100, 1 QALY) takes it
    # all: 980 and 960.4 units. Discount 25%: 2022 counts 0.8. Objective 980 + 0.8 x 960.4 =
    # 1,748.32. Carrying money to 2022 would earn only 0.8 of its 2021 value, so none is
    # carried: duals 0.01 and 0.008 QALY per £ = 1,000 and 800 per £100k.
    plan = solve(
        instance(
            horizon=2,
            discount_rate=0.25,
            envelope={"baseline": 100_000, "reduction": 0.02},
            interventions={"a": item(100, 1)},
        )
    )
    assert plan.summary["objective"] == approx(1748.32)
    assert_allocation(plan, {("a", 2021): 980, ("a", 2022): 960.4})
    assert_price(plan, "envelope__2021", 0.01, 1000)
    assert_price(plan, "envelope__2022", 0.008, 800)
    assert plan.summary["total_envelope"] == approx(194_040)
    assert plan.summary["health_gain_undiscounted"] == approx(1940.4)
    assert plan.summary["health_gain_discounted"] == approx(1748.32)


def carry_instance(b_gain: float) -> dict:
    """a: £1,000 for 1 QALY, at most 100 a year; b: £1,000 for `b_gain`; £300k then £50k."""
    return instance(
        horizon=2,
        discount_rate=0.25,
        envelope={"amounts": {2021: 300_000, 2022: 50_000}},
        interventions={"a": item(1000, 1, max_units=100), "b": item(1000, b_gain)},
    )


def test_carry_forward_moves_money_to_a_better_later_year(tmp_path: Path, solver: str) -> None:
    # 2021: a fills its 100 units (£100k); £200k is left. b in 2021 gives 0.5 QALY per £1,000;
    # carried to 2022 the money buys a at 1 x 0.8 (discounted) = 0.8 per £1,000: better. 2022
    # has £50k for a's 100 units (£100k), so £50k is carried and the other £150k buys b in 2021.
    # a = 100, 100; b = 150, 0. Objective 100 + 75 + 0.8 x 100 = 255.
    # Prices: the marginal £ in either year ends up in b in 2021 (an extra £ in 2022 frees £1
    # of carry): 0.5 / 1,000 = 0.0005 per £, 50 per £100k in both years. Capacity of a is worth
    # 1 - 0.5 = 0.5 in 2021 and 0.8 - 0.5 = 0.3 in 2022. b in 2022 is worth 0.4 per £1,000
    # against 0.5: reduced cost 0.8 x 0.5 - 1,000 x 0.0005 = -0.1, needs 0.1 / 0.8 = 0.125 more.
    path = write(tmp_path, carry_instance(0.5))
    model = planner.build(planner.check_instance(path))
    solution = planner.solve(model, solver)  # type: ignore[arg-type]
    plan = planner.make_plan(model, solution)
    assert plan.summary["objective"] == approx(255)
    assert_allocation(plan, {("a", 2021): 100, ("a", 2022): 100, ("b", 2021): 150, ("b", 2022): 0})
    assert solution.values["carry__2021"] == approx(50_000)
    assert solution.values["carry__2022"] == approx(0)
    spend = plan.allocation.groupby("year")["spend"].sum()
    assert spend.to_dict() == approx({2021: 250_000, 2022: 100_000})
    assert_price(plan, "envelope__2021", 0.0005, 50)
    assert_price(plan, "envelope__2022", 0.0005, 50)
    assert_price(plan, "capacity__a__2021", 0.5, 0.5)
    assert_price(plan, "capacity__a__2022", 0.3, 0.3)
    reduced = one(plan.reduced_costs, intervention="b", year=2022)
    assert reduced["reduced_cost"] == approx(-0.1)
    assert reduced["improvement_needed_per_unit"] == approx(0.125)


def test_no_carry_when_this_years_use_beats_the_discounted_later_one(
    tmp_path: Path, solver: str
) -> None:
    # As above but b gives 0.9 per £1,000 in 2021, more than the 0.8 that carried money earns
    # in 2022: nothing is carried. 2021: a = 100, b = 200; 2022: £50k buys a = 50.
    # Objective 100 + 180 + 0.8 x 50 = 320. Duals 0.9/1,000 (90 per £100k) and 0.8/1,000 (80);
    # a's capacity binds only in 2021, worth 1 - 0.9 = 0.1.
    path = write(tmp_path, carry_instance(0.9))
    model = planner.build(planner.check_instance(path))
    solution = planner.solve(model, solver)  # type: ignore[arg-type]
    plan = planner.make_plan(model, solution)
    assert plan.summary["objective"] == approx(320)
    assert_allocation(plan, {("a", 2021): 100, ("a", 2022): 50, ("b", 2021): 200, ("b", 2022): 0})
    assert solution.values["carry__2021"] == approx(0)
    assert_price(plan, "envelope__2021", 0.0009, 90)
    assert_price(plan, "envelope__2022", 0.0008, 80)
    assert_price(plan, "capacity__a__2021", 0.1, 0.1)
    assert_price(plan, "capacity__a__2022", 0, 0, binding=False)


def test_shared_savings_add_to_partner_income(solve: Solve) -> None:
    # a (£100, 1 QALY, at most 600, delivered by gp) spends £60,000 of £100,000. The £40,000
    # left is shared 25% gp / 75% acute: gp income 60,000 + 10,000 = 70,000; acute 30,000.
    # Baseline incomes are 0 (no baseline units, no tariffs). The envelope has slack (dual 0,
    # not binding; with shared savings nothing is carried); a's capacity is worth 1 QALY a unit.
    plan = solve(
        instance(
            envelope={"amounts": {2021: 100_000}},
            savings={"rule": "share", "shares": {"gp": 0.25, "acute": 0.75}},
            partners={"gp": {"name": "GP"}, "acute": {"name": "Acute"}},
            interventions={"a": item(100, 1, max_units=600, delivered_by="gp")},
        )
    )
    assert plan.summary["objective"] == approx(600)
    assert_allocation(plan, {("a", 2021): 600})
    assert plan.summary["unspent"] == approx(40_000)
    gp = one(plan.partners, partner="gp", year=2021)
    acute = one(plan.partners, partner="acute", year=2021)
    assert (gp["income"], gp["income_change"]) == (approx(70_000), approx(70_000))
    assert (acute["income"], acute["income_change"]) == (approx(30_000), approx(30_000))
    assert plan.partners["income"].sum() == approx(100_000)  # with shared savings: the envelope
    assert_price(plan, "envelope__2021", 0, 0, binding=False)
    assert_price(plan, "capacity__a__2021", 1, 1)


# --- outcome floors ----------------------------------------------------------------------------


def floor_instance(**fields: object) -> dict:
    """a: £100 for 1 QALY; b: £100 for 0.5 QALY and 2 fewer A&E attendances (baseline 1,000)."""
    data = instance(
        envelope={"amounts": {2021: 10_000}},
        outcomes={"ae": outcome(1000, name="A&E attendances", unit="attendance")},
        interventions={"a": item(100, 1), "b": item(100, 0.5, effects={"ae": -2})},
    )
    data.update(fields)
    return data


def test_upper_floor_relative_to_baseline(solve: Solve) -> None:
    # A&E at most 0.9 x 1,000 = 900 needs 100 fewer: b >= 50. £10,000 buys 100 units: b = 50,
    # a = 50, objective 50 + 25 = 75. Allowing one more attendance frees half a unit of b for a:
    # +0.5 x (1 - 0.5) = 0.25 QALY, so the dual of the <= row is 0.25. Envelope: 0.01 per £.
    plan = solve(
        floor_instance(floors={"ae_cap": {"outcome": "ae", "bound": "upper", "relative": 0.9}})
    )
    assert plan.summary["objective"] == approx(75)
    assert_allocation(plan, {("a", 2021): 50, ("b", 2021): 50})
    assert_price(plan, "floor__ae_cap__2021", 0.25, 0.25)
    assert_price(plan, "envelope__2021", 0.01, 1000)
    row = one(plan.outcomes, outcome="ae", year=2021)
    assert (row["level"], row["bound"], row["slack"]) == (approx(900), approx(900), approx(0))
    assert (row["floor"], row["bound_type"], bool(row["binding"])) == ("ae_cap", "upper", True)
    assert price(plan, "floor__ae_cap__2021")["explanation"] == (
        "allowing one more attendance of A&E attendances in 2021 would add 0.25 QALY; "
        "tightening the floor by one costs about the same"
    )


def test_lower_floor_absolute(solve: Solve) -> None:
    # Informed patients at least 150 (baseline 100): c (£100, 0.2 QALY, +1 informed) >= 50.
    # a = 50, c = 50: objective 50 + 10 = 60. Raising the floor by one moves £100 from a to c:
    # -1 + 0.2 = -0.8, so the dual of the >= row is -0.8 and relaxing (lowering) it gains 0.8.
    plan = solve(
        instance(
            envelope={"amounts": {2021: 10_000}},
            outcomes={"informed": outcome(100)},
            interventions={"a": item(100, 1), "c": item(100, 0.2, effects={"informed": 1})},
            floors={"info": {"outcome": "informed", "bound": "lower", "value": 150}},
        )
    )
    assert plan.summary["objective"] == approx(60)
    assert_allocation(plan, {("a", 2021): 50, ("c", 2021): 50})
    assert_price(plan, "floor__info__2021", -0.8, 0.8)
    row = one(plan.outcomes, outcome="informed", year=2021)
    assert (row["level"], row["slack"], bool(row["binding"])) == (approx(150), approx(0), True)
    assert row["bound_type"] == "lower"


def test_floor_in_one_year_only_and_slack_of_a_loose_floor(solve: Solve) -> None:
    # Two years, 2022 discounted to 0.8; £10,000 a year. The cap of 900 applies in 2022 only:
    # 2021 is all a (100 QALYs, A&E 1,000); 2022 as in the relative test: a = b = 50, 75 x 0.8.
    # Objective 100 + 60 = 160; the 2022 cap's dual is 0.8 x 0.25 = 0.2 and it has no 2021 row.
    # A loose cap of 1,200 every year has slack 200 (2021) and 300 (2022), dual 0.
    plan = solve(
        floor_instance(
            horizon=2,
            discount_rate=0.25,
            envelope={"amounts": {2021: 10_000, 2022: 10_000}},
            floors={
                "cap_2022": {"outcome": "ae", "bound": "upper", "value": 900, "year": 2022},
                "loose": {"outcome": "ae", "bound": "upper", "value": 1200},
            },
        )
    )
    assert plan.summary["objective"] == approx(160)
    assert_allocation(plan, {("a", 2021): 100, ("a", 2022): 50, ("b", 2021): 0, ("b", 2022): 50})
    assert_price(plan, "floor__cap_2022__2022", 0.2, 0.2)
    assert "floor__cap_2022__2021" not in set(plan.shadow_prices["constraint"])
    assert_price(plan, "floor__loose__2021", 0, 0, binding=False)
    assert_price(plan, "floor__loose__2022", 0, 0, binding=False)
    rows = plan.outcomes.set_index(["year", "floor"])
    assert list(rows.index) == [(2021, "loose"), (2022, "cap_2022"), (2022, "loose")]
    assert rows.loc[(2021, "loose"), "level"] == approx(1000)
    assert rows.loc[(2021, "loose"), "slack"] == approx(200)
    assert rows.loc[(2022, "loose"), "slack"] == approx(300)
    assert rows.loc[(2022, "cap_2022"), "slack"] == approx(0)
    assert not rows.loc[(2021, "loose"), "binding"]
    assert rows.loc[(2022, "cap_2022"), "binding"]


# --- lags ----------------------------------------------------------------------------------------


def test_effect_with_a_lag_shows_from_year_two(solve: Solve) -> None:
    # p (£100, at most 60) avoids one admission a year after it is bought; each admission
    # avoided is worth 0.5 QALY. a: £100 for 0.3 QALY. £10,000 a year, 2022 discounted to 0.8.
    # p in 2021 earns 0.8 x 0.5 = 0.4 > 0.3: p = 60, a = 40. p in 2022 earns nothing within the
    # horizon: a = 100. Admissions: 100 in 2021 (no effect yet), 100 - 60 = 40 in 2022.
    # Objective 0.3 x 40 + 0.8 x (0.3 x 100 + 0.5 x 60) = 12 + 48 = 60.
    # Duals: envelope 0.3/100 = 0.003 (300 per £100k) and 0.0024 (240); p's capacity in 2021
    # 0.4 - 0.3 = 0.1. p in 2022: reduced cost -100 x 0.0024 = -0.24, i.e. 0.24 / 0.8 = 0.3
    # QALY a unit more to enter.
    plan = solve(
        instance(
            horizon=2,
            discount_rate=0.25,
            envelope={"amounts": {2021: 10_000, 2022: 10_000}},
            outcomes={"adm": outcome(100, health_gain_per_event=-0.5)},
            interventions={
                "p": item(100, 0, max_units=60, effects={"adm": {"per_unit": -1, "lag": 1}}),
                "a": item(100, 0.3),
            },
        )
    )
    assert plan.summary["objective"] == approx(60)
    assert_allocation(plan, {("p", 2021): 60, ("p", 2022): 0, ("a", 2021): 40, ("a", 2022): 100})
    levels = plan.outcomes.set_index("year")["level"].to_dict()
    assert levels == approx({2021: 100, 2022: 40})
    assert_price(plan, "envelope__2021", 0.003, 300)
    assert_price(plan, "envelope__2022", 0.0024, 240)
    assert_price(plan, "capacity__p__2021", 0.1, 0.1)
    reduced = one(plan.reduced_costs, intervention="p", year=2022)
    assert reduced["reduced_cost"] == approx(-0.24)
    assert reduced["improvement_needed_per_unit"] == approx(0.3)


# --- partners: risk limits, gain caps, external costs, refused outcomes -------------------------


def partner_instance(acute: dict, gp: dict, envelope: float = 100_000, **e: object) -> dict:
    """A&E (1,000 a year, £100 tariff paid to acute); education e (£50, 0.1 QALY, one fewer
    attendance a unit, delivered by gp). Only a partner limit stops e: each unit saves money."""
    return instance(
        envelope={"amounts": {2021: envelope}},
        partners={"acute": {"name": "Acute", **acute}, "gp": {"name": "GP", **gp}},
        outcomes={"ae": outcome(1000, tariff=100, paid_to="acute")},
        interventions={"e": item(50, 0.1, delivered_by="gp", effects={"ae": -1}, **e)},
    )


def test_partner_max_loss(solve: Solve) -> None:
    # Acute's baseline income is 1,000 x £100 = £100,000; it may lose £20,000: A&E >= 800, so
    # e <= 200, objective 20. Spend 50 x 200 + 100 x 800 = £90,000 < £100,000 (envelope slack).
    # Raising the limit row's right-hand side by £1 cuts e by 0.01: dual -0.001, and letting
    # acute lose £100,000 more is worth 100 QALYs. gp earns 50 x 200 = £10,000.
    plan = solve(partner_instance({"max_loss": 20_000}, {}))
    assert plan.summary["objective"] == approx(20)
    assert_allocation(plan, {("e", 2021): 200})
    assert_price(plan, "risk_limit__acute__2021", -0.001, 100)
    assert_price(plan, "envelope__2021", 0, 0, binding=False)
    assert price(plan, "risk_limit__acute__2021")["explanation"] == (
        "letting Acute lose £100,000 more in 2021 would add 100 QALY"
    )
    acute = one(plan.partners, partner="acute", year=2021)
    assert acute["income"] == approx(80_000)
    assert acute["baseline_income"] == approx(100_000)
    assert acute["income_change"] == approx(-20_000)
    assert acute["net_change"] == approx(-20_000)
    assert acute["max_loss"] == approx(20_000)
    assert acute["headroom"] == approx(0)
    assert bool(acute["binding"]) is True
    gp = one(plan.partners, partner="gp", year=2021)
    assert (gp["income"], gp["income_change"]) == (approx(10_000), approx(10_000))
    assert bool(gp["binding"]) is False


def test_partner_max_loss_share(solve: Solve) -> None:
    # 10% of £100,000 = £10,000: A&E >= 900, e <= 100, objective 10; same price per £ as above.
    plan = solve(partner_instance({"max_loss_share": 0.1}, {}))
    assert plan.summary["objective"] == approx(10)
    assert_allocation(plan, {("e", 2021): 100})
    assert_price(plan, "risk_limit__acute__2021", -0.001, 100)
    acute = one(plan.partners, partner="acute", year=2021)
    assert (acute["max_loss"], acute["headroom"]) == (approx(10_000), approx(0))
    assert acute["income_change"] == approx(-10_000)


def test_partner_max_loss_not_binding_has_headroom(solve: Solve) -> None:
    # With a limit of £50,000 and gp's gain capped at £10,000 (e <= 200), acute loses only
    # £20,000: headroom 50,000 - 20,000 = 30,000, not binding, dual 0.
    plan = solve(partner_instance({"max_loss": 50_000}, {"max_gain": 10_000}))
    assert_allocation(plan, {("e", 2021): 200})
    acute = one(plan.partners, partner="acute", year=2021)
    assert (acute["net_change"], acute["headroom"]) == (approx(-20_000), approx(30_000))
    assert bool(acute["binding"]) is False
    assert_price(plan, "risk_limit__acute__2021", 0, 0, binding=False)


def test_partner_gain_cap(solve: Solve) -> None:
    # gp may gain at most £5,000: 50 e <= 5,000, e = 100, objective 10. Each £ more of gain
    # buys 1/50 of a unit: dual 0.1 / 50 = 0.002, 200 QALYs per £100k.
    plan = solve(partner_instance({}, {"max_gain": 5_000}))
    assert plan.summary["objective"] == approx(10)
    assert_allocation(plan, {("e", 2021): 100})
    assert_price(plan, "gain_cap__gp__2021", 0.002, 200)
    assert price(plan, "gain_cap__gp__2021")["explanation"] == (
        "letting GP gain £100,000 more in 2021 would add 200 QALY"
    )
    gp = one(plan.partners, partner="gp", year=2021)
    assert (gp["income"], gp["net_change"]) == (approx(5_000), approx(5_000))


def test_partner_gain_cap_as_share_from_baseline_units(solve: Solve) -> None:
    # 100 units of e today: gp's baseline income 50 x 100 = £5,000; it may gain 50%, so e <= 150.
    # A&E = 1,000 - (150 - 100) = 950, acute's income 95,000 (baseline 100,000). Health gain
    # counts every unit: 0.1 x 150 = 15. Spend 7,500 + 95,000 within £200,000. Dual 0.002.
    plan = solve(partner_instance({}, {"max_gain_share": 0.5}, 200_000, baseline_units=100))
    assert plan.summary["objective"] == approx(15)
    assert_allocation(plan, {("e", 2021): 150})
    assert_price(plan, "gain_cap__gp__2021", 0.002, 200)
    gp = one(plan.partners, partner="gp", year=2021)
    assert (gp["baseline_income"], gp["income"]) == (approx(5_000), approx(7_500))
    acute = one(plan.partners, partner="acute", year=2021)
    assert (acute["income"], acute["income_change"]) == (approx(95_000), approx(-5_000))
    assert one(plan.outcomes, outcome="ae")["level"] == approx(950)


def test_external_costs_count_in_a_partners_net_position(solve: Solve) -> None:
    # Each admission (100 a year) costs the council £500 outside the envelope. Reablement r
    # (£1,000 a unit, paid to the council, one admission fewer, 0.1 QALY) raises the council's
    # net position by 1,000 + 500 = £1,500 a unit. Its gain is capped at £30,000: r = 20,
    # objective 2. Income 20,000; outside cost 500 x 80 = 40,000 (baseline 50,000); net change
    # 20,000 + 10,000 = 30,000. Dual 0.1 / 1,500 per £: 6.667 QALYs per £100k.
    plan = solve(
        instance(
            envelope={"amounts": {2021: 100_000}},
            partners={"council": {"name": "Council", "max_gain": 30_000}},
            outcomes={"adm": outcome(100, external_costs={"council": 500})},
            interventions={
                "r": item(1000, 0.1, delivered_by="council", effects={"adm": -1}),
            },
        )
    )
    assert plan.summary["objective"] == approx(2)
    assert_allocation(plan, {("r", 2021): 20})
    assert_price(plan, "gain_cap__council__2021", 0.1 / 1500, 0.1 / 1500 * MONEY)
    council = one(plan.partners, partner="council", year=2021)
    assert council["income"] == approx(20_000)
    assert council["income_change"] == approx(20_000)
    assert council["external_cost"] == approx(40_000)
    assert council["baseline_external_cost"] == approx(50_000)
    assert council["net_change"] == approx(30_000)


def refused_instance(refuse: bool) -> dict:
    """Amputations: 10 a year at a £10,000 tariff paid to acute, -2 QALY each; foot care f
    (£1,000, 0.01 fewer amputations a unit, by gp); £100,000."""
    data = instance(
        envelope={"amounts": {2021: 100_000}},
        partners={"acute": {"name": "Acute"}, "gp": {"name": "GP"}},
        outcomes={"amp": outcome(10, tariff=10_000, paid_to="acute", health_gain_per_event=-2)},
        interventions={"f": item(1000, 0, delivered_by="gp", effects={"amp": -0.01})},
    )
    if refuse:
        data["refused_outcomes"] = {"amp": {"responsible": "gp"}}
    return data


def test_refused_outcome_is_borne_by_the_responsible_partner(solve: Solve) -> None:
    # The envelope no longer pays the £100,000 of amputation tariffs, so it buys f = 100 units:
    # 9 amputations, objective -2 x (9 - 10) = 2; spend is f alone (£100,000). Acute is still
    # paid 9 x £10,000 = 90,000 (baseline 100,000); gp, responsible, loses tariff x level:
    # 100 x 1,000 - 90,000 = 10,000 (baseline 0). Envelope: 0.02 QALY per £1,000 = 2 per £100k.
    plan = solve(refused_instance(True))
    assert plan.summary["objective"] == approx(2)
    assert_allocation(plan, {("f", 2021): 100})
    assert plan.summary["total_spend"] == approx(100_000)
    assert one(plan.outcomes, outcome="amp")["level"] == approx(9)
    gp = one(plan.partners, partner="gp", year=2021)
    assert (gp["income"], gp["baseline_income"]) == (approx(10_000), approx(0))
    acute = one(plan.partners, partner="acute", year=2021)
    assert (acute["income"], acute["income_change"]) == (approx(90_000), approx(-10_000))
    assert plan.partners["income"].sum() == approx(100_000)  # incomes add up to the spend
    assert_price(plan, "envelope__2021", 2e-5, 2)


def test_paid_outcome_uses_the_envelope(solve: Solve) -> None:
    # The same without refusal: the tariffs already take the whole £100,000 and each unit of
    # f costs 1,000 - 100 = £900 net, so nothing can be bought; spend is the £100,000 of tariffs.
    plan = solve(refused_instance(False))
    assert plan.summary["objective"] == approx(0)
    assert_allocation(plan, {("f", 2021): 0})
    assert plan.summary["total_spend"] == approx(100_000)


# --- capacity, needs, complements, resources ---------------------------------------------------


def test_capacity_and_minimum_units(solve: Solve) -> None:
    # £10,000 buys 100 units at £100. a (1 QALY) at most 30; b (0.5) at least 20; c (0.8) the
    # rest, 50. Objective 30 + 10 + 40 = 80. Marginal £ goes to c: 0.008 (800 per £100k).
    # a's capacity: 1 - 0.8 = 0.2 a unit; b's minimum (>=): one more unit of b costs
    # 0.8 - 0.5 = 0.3, dual -0.3, value of relaxing 0.3.
    plan = solve(
        instance(
            envelope={"amounts": {2021: 10_000}},
            interventions={
                "a": item(100, 1, max_units=30),
                "b": item(100, 0.5, min_units=20),
                "c": item(100, 0.8),
            },
        )
    )
    assert plan.summary["objective"] == approx(80)
    assert_allocation(plan, {("a", 2021): 30, ("b", 2021): 20, ("c", 2021): 50})
    assert_price(plan, "envelope__2021", 0.008, 800)
    assert_price(plan, "capacity__a__2021", 0.2, 0.2)
    assert_price(plan, "minimum__b__2021", -0.3, 0.3)
    assert price(plan, "capacity__a__2021")["explanation"] == (
        "relaxing this rule by one patient in 2021 would add 0.2 QALY"
    )


def test_group_meet_need(solve: Solve) -> None:
    # 100 reviews a year by outpatients o (£150) or community clinic k (£100), both 0.1 QALY;
    # a: £100 for 1 QALY; £20,000. The need is met by k = 100 (£10,000), a = 100 with the rest.
    # Objective 10 + 100 = 110. One more review moves £100 from a to k: -1 + 0.1 = -0.9.
    # o forced in: +0.1, takes one k out (-0.1, frees £100) and costs £150: net £50 = -0.5 QALY
    # of a: reduced cost -0.5.
    plan = solve(
        instance(
            envelope={"amounts": {2021: 20_000}},
            interventions={"o": item(150, 0.1), "k": item(100, 0.1), "a": item(100, 1)},
            groups={"reviews": {"members": ["o", "k"], "rule": "meet_need", "need": 100}},
        )
    )
    assert plan.summary["objective"] == approx(110)
    assert_allocation(plan, {("o", 2021): 0, ("k", 2021): 100, ("a", 2021): 100})
    assert_price(plan, "group__reviews__2021", -0.9, 0.9)
    assert_price(plan, "envelope__2021", 0.01, 1000)
    reduced = one(plan.reduced_costs, intervention="o", year=2021)
    assert (reduced["reduced_cost"], reduced["improvement_needed_per_unit"]) == (
        approx(-0.5),
        approx(0.5),
    )


def test_group_share_need(solve: Solve) -> None:
    # Substitutes sharing a need of 100: s1 (£100, 1 QALY), s2 (£50, 0.6 QALY); £8,000.
    # Vertices: (80, 0) -> 80; (0, 100) -> 60; s1 + s2 = 100 and 100 s1 + 50 s2 = 8,000 gives
    # (60, 40) -> 84. Duals: 1 = 100 y + g, 0.6 = 50 y + g: y = 0.008 (800 per £100k), g = 0.2.
    plan = solve(
        instance(
            envelope={"amounts": {2021: 8_000}},
            interventions={"s1": item(100, 1), "s2": item(50, 0.6)},
            groups={"need": {"members": ["s1", "s2"], "rule": "share_need", "need": 100}},
        )
    )
    assert plan.summary["objective"] == approx(84)
    assert_allocation(plan, {("s1", 2021): 60, ("s2", 2021): 40})
    assert_price(plan, "group__need__2021", 0.2, 0.2)
    assert_price(plan, "envelope__2021", 0.008, 800)


def test_complement_ratio(solve: Solve) -> None:
    # a (£100, 1 QALY) needs b (£100, 0.2 QALY) alongside: a <= 2 b. £30,000 = 300 units:
    # a = 200, b = 100, objective 220. Duals: 1 = 100 y + c, 0.2 = 100 y - 2 c: c = 0.8 / 3,
    # y = (1 - c) / 100 = 0.0073333 (733.33 per £100k).
    plan = solve(
        instance(
            envelope={"amounts": {2021: 30_000}},
            interventions={"a": item(100, 1), "b": item(100, 0.2)},
            complements={"a_needs_b": {"intervention": "a", "requires": "b", "ratio": 2}},
        )
    )
    assert plan.summary["objective"] == approx(220)
    assert_allocation(plan, {("a", 2021): 200, ("b", 2021): 100})
    assert_price(plan, "complement__a_needs_b__2021", 0.8 / 3, 0.8 / 3)
    assert_price(plan, "envelope__2021", (1 - 0.8 / 3) / 100, (1 - 0.8 / 3) * 1000)


def test_complement_lists_on_both_sides(solve: Solve) -> None:
    # a1 + a2 <= 1 x (b1 + b2). a1 (£100, 1 QALY) is the best, b2 (£100, 0.3) the better
    # required one; a2 (0.9) and b1 (0.1) lose to them. £20,000: a1 = b2 = 100, objective 130.
    plan = solve(
        instance(
            envelope={"amounts": {2021: 20_000}},
            interventions={
                "a1": item(100, 1),
                "a2": item(100, 0.9),
                "b1": item(100, 0.1),
                "b2": item(100, 0.3),
            },
            complements={"c": {"intervention": ["a1", "a2"], "requires": ["b1", "b2"]}},
        )
    )
    assert plan.summary["objective"] == approx(130)
    assert_allocation(
        plan, {("a1", 2021): 100, ("a2", 2021): 0, ("b1", 2021): 0, ("b2", 2021): 100}
    )


def test_resource_capacity(solve: Solve) -> None:
    # 1,000 nurse hours; a (£100, 1 QALY, 10 hours), b (£100, 0.6 QALY, 2 hours); £20,000.
    # Vertices: (100, 0) -> 100; (0, 200) -> 120; a + b = 200 with 10 a + 2 b = 1,000 gives
    # (75, 125) -> 150. Duals: 1 = 100 y + 10 r, 0.6 = 100 y + 2 r: r = 0.05 QALY per hour,
    # y = 0.005 (500 per £100k).
    plan = solve(
        instance(
            envelope={"amounts": {2021: 20_000}},
            resources={"nurse": {"name": "Nurse time", "unit": "hour", "capacity": 1000}},
            interventions={
                "a": item(100, 1, resource_use={"nurse": 10}),
                "b": item(100, 0.6, resource_use={"nurse": 2}),
            },
        )
    )
    assert plan.summary["objective"] == approx(150)
    assert_allocation(plan, {("a", 2021): 75, ("b", 2021): 125})
    assert_price(plan, "resource__nurse__2021", 0.05, 0.05)
    assert_price(plan, "envelope__2021", 0.005, 500)
    assert price(plan, "resource__nurse__2021")["unit"] == "hour"


# --- ramps ---------------------------------------------------------------------------------------


def ramp_instance(ramp: dict, a_gain: float, b_gain: float, amounts: tuple[float, float]) -> dict:
    """a (100 units today, £100) with `ramp`; b (£100) takes the rest; 2022 discounted to 0.8."""
    return instance(
        horizon=2,
        discount_rate=0.25,
        envelope={"amounts": {2021: amounts[0], 2022: amounts[1]}},
        interventions={
            "a": item(100, a_gain, baseline_units=100, ramp=ramp),
            "b": item(100, b_gain),
        },
    )


def test_ramp_up_absolute(solve: Solve) -> None:
    # a (1 QALY) grows by at most 50 a year from 100: 150, then 200. b (0.1) takes the rest of
    # £20,000 and £30,000: 50 and 100. Objective 150 + 5 + 0.8 x (200 + 10) = 323.
    # 2022 row: one more unit of a in 2022 instead of b: 0.8 x 0.9 = 0.72. 2021 row: one more in
    # 2021 (0.9) also lifts 2022's ceiling (0.72): 1.62. Envelope: 0.001 and 0.0008 per £.
    plan = solve(ramp_instance({"max_increase": 50}, 1, 0.1, (20_000, 30_000)))
    assert plan.summary["objective"] == approx(323)
    assert_allocation(plan, {("a", 2021): 150, ("a", 2022): 200, ("b", 2021): 50, ("b", 2022): 100})
    assert_price(plan, "ramp_up__a__2021", 1.62, 1.62)
    assert_price(plan, "ramp_up__a__2022", 0.72, 0.72)
    assert_price(plan, "envelope__2021", 0.001, 100)
    assert_price(plan, "envelope__2022", 0.0008, 80)


def test_ramp_down_absolute(solve: Solve) -> None:
    # a (0.1 QALY) shrinks by at most 30 a year from 100: 70, then 40; b (1 QALY) takes the rest
    # of £20,000 a year: 130 and 160. Objective 7 + 130 + 0.8 x (4 + 160) = 268.2.
    # Cutting a by one more in 2022 gives 0.8 x 0.9 = 0.72; in 2021, 0.9 + 0.72 = 1.62.
    plan = solve(ramp_instance({"max_decrease": 30}, 0.1, 1, (20_000, 20_000)))
    assert plan.summary["objective"] == approx(268.2)
    assert_allocation(plan, {("a", 2021): 70, ("a", 2022): 40, ("b", 2021): 130, ("b", 2022): 160})
    assert_price(plan, "ramp_down__a__2021", 1.62, 1.62)
    assert_price(plan, "ramp_down__a__2022", 0.72, 0.72)
    assert_price(plan, "envelope__2021", 0.01, 1000)


def test_ramp_up_share(solve: Solve) -> None:
    # a grows by at most 50% a year: 150, then 225; b takes the rest of £20,000 and £30,000:
    # 50 and 75. Objective 150 + 5 + 0.8 x (225 + 7.5) = 341.
    # Rows: a2 - 1.5 a1 <= 0 (dual 0.8 x 0.9 = 0.72); a1 - 150 <= 0: one more unit in 2021
    # (0.9) lifts 2022's ceiling by 1.5 (1.5 x 0.72 = 1.08): 1.98.
    plan = solve(ramp_instance({"max_increase_share": 0.5}, 1, 0.1, (20_000, 30_000)))
    assert plan.summary["objective"] == approx(341)
    assert_allocation(plan, {("a", 2021): 150, ("a", 2022): 225, ("b", 2021): 50, ("b", 2022): 75})
    assert_price(plan, "ramp_up_share__a__2021", 1.98, 1.98)
    assert_price(plan, "ramp_up_share__a__2022", 0.72, 0.72)


def test_ramp_down_share(solve: Solve) -> None:
    # a shrinks by at most 20% a year: 80, then 64; b takes the rest of £20,000 a year: 120 and
    # 136. Objective 8 + 120 + 0.8 x (6.4 + 136) = 241.92.
    # Rows: 0.8 a1 - a2 <= 0 (dual 0.72); 80 - a1 <= 0: one unit less in 2021 (0.9) also lets
    # 2022 fall by 0.8 (0.8 x 0.72 = 0.576): 1.476.
    plan = solve(ramp_instance({"max_decrease_share": 0.2}, 0.1, 1, (20_000, 20_000)))
    assert plan.summary["objective"] == approx(241.92)
    assert_allocation(plan, {("a", 2021): 80, ("a", 2022): 64, ("b", 2021): 120, ("b", 2022): 136})
    assert_price(plan, "ramp_down_share__a__2021", 1.476, 1.476)
    assert_price(plan, "ramp_down_share__a__2022", 0.72, 0.72)


# --- tranches (diminishing returns) -------------------------------------------------------------


def test_tranches_fill_in_order(tmp_path: Path, solver: str) -> None:
    # a: £100 a unit; the first 50 units give 2 QALYs each, the next 50 give 1, then 0.5.
    # b: £100 for 1.5. £10,000 = 100 units: a's first tranche (2) beats b (1.5), which beats
    # a's second tranche (1): a = 50, b = 50, objective 100 + 75 = 175; the marginal £ buys b:
    # 0.015 (1,500 per £100k). a's health gain in the allocation table is 50 x 2 = 100.
    path = write(
        tmp_path,
        instance(
            envelope={"amounts": {2021: 10_000}},
            interventions={
                "a": item(
                    100,
                    0,
                    tranches=[
                        {"units": 50, "health_gain": 2},
                        {"units": 50, "health_gain": 1},
                        {"health_gain": 0.5},
                    ],
                ),
                "b": item(100, 1.5),
            },
        ),
    )
    model = planner.build(planner.check_instance(path))
    solution = planner.solve(model, solver)  # type: ignore[arg-type]
    plan = planner.make_plan(model, solution)
    assert plan.summary["objective"] == approx(175)
    assert_allocation(plan, {("a", 2021): 50, ("b", 2021): 50})
    tranches = [solution.values[v.name] for v in model.unit_variables[("a", 2021)]]
    assert tranches == approx([50, 0, 0])
    assert one(plan.allocation, intervention="a")["health_gain"] == approx(100)
    assert_price(plan, "envelope__2021", 0.015, 1500)


def test_second_tranche_fills_after_the_first(solve: Solve) -> None:
    # Only a, £7,000 = 70 units: the first tranche's 50 at 2, then 20 of the second at 1:
    # 120 QALYs (any other split of 70 units gives less). Marginal £ buys the second tranche:
    # 1 / 100 = 0.01.
    plan = solve(
        instance(
            envelope={"amounts": {2021: 7_000}},
            interventions={
                "a": item(
                    100,
                    0,
                    tranches=[{"units": 50, "health_gain": 2}, {"health_gain": 1}],
                )
            },
        )
    )
    assert plan.summary["objective"] == approx(120)
    assert_allocation(plan, {("a", 2021): 70})
    assert one(plan.allocation, intervention="a")["health_gain"] == approx(120)
    assert_price(plan, "envelope__2021", 0.01, 1000)


# --- discounting and reduced costs ------------------------------------------------------------


def test_discounting_over_three_years(solve: Solve) -> None:
    # 25% a year: weights 1, 0.8, 0.64. a (£100, 1 QALY) gets £10,000 a year: 100 units a year.
    # Objective 100 + 80 + 64 = 244 (undiscounted 300). Envelope duals 0.01, 0.008, 0.0064.
    # b (£100, 0.5) is unfunded: reduced costs -0.5, -0.4, -0.32, each 0.5 QALY a unit short
    # once the year's discount is taken out.
    plan = solve(
        instance(
            horizon=3,
            discount_rate=0.25,
            envelope={"amounts": {2021: 10_000, 2022: 10_000, 2023: 10_000}},
            interventions={"a": item(100, 1), "b": item(100, 0.5)},
        )
    )
    assert plan.summary["objective"] == approx(244)
    assert plan.summary["health_gain_undiscounted"] == approx(300)
    for year, weight in ((2021, 1), (2022, 0.8), (2023, 0.64)):
        assert_price(plan, f"envelope__{year}", 0.01 * weight, 1000 * weight)
        reduced = one(plan.reduced_costs, intervention="b", year=year)
        assert reduced["reduced_cost"] == approx(-0.5 * weight)
        assert reduced["improvement_needed_per_unit"] == approx(0.5)


def test_default_discount_rate_is_3_5_percent(solve: Solve) -> None:
    # No discount_rate given: 3.5%. 100 QALYs in 2021 and 100 in 2022: 100 + 100 / 1.035.
    data = instance(
        horizon=2,
        envelope={"amounts": {2021: 10_000, 2022: 10_000}},
        interventions={"a": item(100, 1)},
    )
    del data["discount_rate"]
    plan = solve(data)
    assert plan.summary["discount_rate"] == 0.035
    assert plan.summary["objective"] == approx(100 + 100 / 1.035)
    assert_price(plan, "envelope__2022", 0.01 / 1.035, 1000 / 1.035)


@pytest.mark.parametrize("kind", ["health_gain", "net_benefit"])
def test_shadow_price_table_columns_and_units(solve: Solve, kind: str) -> None:
    # The table's stable schema: money rows per £100,000, other rows per one unit.
    objective = {"kind": kind} | ({"threshold": 1000} if kind == "net_benefit" else {})
    plan = solve(
        instance(
            objective=objective,
            envelope={"amounts": {2021: 10_000}},
            interventions={"a": item(100, 1, max_units=50)},
        )
    )
    assert list(plan.shadow_prices.columns) == [
        "family", "constraint", "subject", "year", "rule", "sense", "unit", "dual", "per",
        "value_of_relaxing", "objective_unit", "binding", "explanation",
    ]  # fmt: skip
    envelope = price(plan, "envelope__2021")
    capacity = price(plan, "capacity__a__2021")
    assert (envelope["family"], envelope["per"], envelope["sense"]) == ("envelope", MONEY, "<=")
    assert (capacity["family"], capacity["per"], capacity["unit"]) == ("capacity", 1.0, "patient")
    # a = 50 (capacity binds, £5,000 spent): gain 1 a unit, or 1 - 100 / 1,000 = 0.9 net.
    assert capacity["dual"] == approx(1 if kind == "health_gain" else 0.9)
    assert_price(plan, "envelope__2021", 0, 0, binding=False)


def test_effects_listed_with_several_lags(solve: Solve) -> None:
    # p (£100, at most 10 a year) avoids one admission in its year and half of one the next;
    # each admission avoided is worth 1 QALY. £1,000 a year buys p = 10 both years.
    # Admissions: 100 - 10 = 90 in 2021; 100 - 10 - 0.5 x 10 = 85 in 2022. Objective 10 + 15.
    plan = solve(
        instance(
            horizon=2,
            envelope={"amounts": {2021: 1_000, 2022: 1_000}},
            outcomes={"adm": outcome(100, health_gain_per_event=-1)},
            interventions={
                "p": item(
                    100,
                    0,
                    max_units=10,
                    effects={"adm": [{"per_unit": -1}, {"per_unit": -0.5, "lag": 1}]},
                )
            },
        )
    )
    assert plan.summary["objective"] == approx(25)
    assert_allocation(plan, {("p", 2021): 10, ("p", 2022): 10})
    assert plan.outcomes.set_index("year")["level"].to_dict() == approx({2021: 90, 2022: 85})


def test_income_split_by_delivery_shares(solve: Solve) -> None:
    # a (£100, 1 QALY) is delivered 25% by gp and 75% by the community trust; £10,000 buys 100
    # units: gp is paid 2,500 and community 7,500.
    plan = solve(
        instance(
            envelope={"amounts": {2021: 10_000}},
            partners={"gp": {"name": "GP"}, "community": {"name": "Community"}},
            interventions={"a": item(100, 1, delivered_by={"gp": 0.25, "community": 0.75})},
        )
    )
    assert_allocation(plan, {("a", 2021): 100})
    incomes = plan.partners.set_index("partner")["income"].to_dict()
    assert incomes == approx({"gp": 2_500, "community": 7_500})
    assert one(plan.allocation, intervention="a")["delivered_by"] == "gp 25%, community 75%"


def test_outcome_count_cannot_fall_below_zero(solve: Solve) -> None:
    # e costs £50 and saves a £100 tariff on each A&E attendance avoided (baseline 100), and
    # gains 0.1 QALY. Without a floor at zero it would be unbounded; with it, e stops at 100
    # units (A&E = 0), spending £5,000 on e and nothing on A&E: within the £20,000 envelope, so
    # the only binding rule is the zero. Objective 10 QALY. Relaxing the zero by one attendance
    # (allowing -1) lets one more unit in: +0.1 QALY, and its £50 net saving is worth nothing
    # because money is not scarce. value_of_relaxing = 0.1 per attendance.
    data = instance(
        envelope={"amounts": {2021: 20_000}},
        outcomes={"ae": outcome(100, tariff=100)},
        interventions={"e": item(50, 0.1, effects={"ae": -1})},
    )
    plan = solve(data)
    assert plan.summary["objective"] == approx(10)
    assert allocation(plan) == approx({("e", 2021): 100})
    row = price(plan, "nonnegative__ae__2021")
    assert (row["dual"], row["value_of_relaxing"], bool(row["binding"])) == (
        approx(-0.1),
        approx(0.1),
        True,
    )


def test_outcome_natural_maximum(solve: Solve) -> None:
    # Each free unit of s informs one more patient worth 0.01 QALY; 900 of 1,000 on the register
    # are informed today, so s stops at 100 (objective 1 QALY). The register row prices one more
    # patient of room at 0.01 QALY.
    data = instance(
        outcomes={"informed": outcome(900, maximum=1000, health_gain_per_event=0.01)},
        interventions={"s": item(0, 0, effects={"informed": 1})},
    )
    plan = solve(data)
    assert plan.summary["objective"] == approx(1)
    assert allocation(plan) == approx({("s", 2021): 100})
    row = price(plan, "maximum__informed__2021")
    assert (row["dual"], row["value_of_relaxing"]) == (approx(0.01), approx(0.01))
