"""Yes/no choices (a MILP) on known answers: indivisible programmes, make-or-buy with a fixed
cost, a minimum contract volume, set-up costs, shared services and several payees.

Every solving test runs on HiGHS and on CBC (the `solver` fixture). Each instance is small enough
to solve by hand; the comments give the enumeration.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Data, Solve, approx, instance, item, one, outcome, price

PARTNERS = {p: {"name": p} for p in ("consortium", "trust", "charity")}


def option(provider: str, mode: str, unit_price: float, **fields: Any) -> Data:
    return {"provider": provider, "mode": mode, "unit_price": unit_price, **fields}


def supply(*pairs: tuple[str, Data], choice: str = "exclusive") -> Data:
    return {"choice": choice, "options": dict(pairs)}


# --- indivisible programmes: a knapsack ----------------------------------------------------------


def knapsack() -> Data:
    """Four all-or-nothing programmes at £10 a unit and a £1,050 envelope, plus self-care (£1 for
    0.002 QALY, divisible). By enumeration the best is b + d: 600 + 400 = £1,000 for 3.5 + 2.2 =
    5.7 QALY, and £50 of self-care, 0.1: 5.8 (a: 5.0 + 0.1; c + d: 5.2 + 0.3 = 5.5; b + c costs
    £1,100). The LP relaxation would take c whole and 11/12 of b: 6.208."""
    programmes = {"a": (100, 0.05), "b": (60, 3.5 / 60), "c": (50, 0.06), "d": (40, 0.055)}
    interventions = {
        name: item(10, gain, max_units=size, indivisible=True)
        for name, (size, gain) in programmes.items()
    }
    interventions["self_care"] = item(1, 0.002, max_units=10_000)
    return instance(envelope={"amounts": {2021: 1050}}, interventions=interventions)


def test_indivisible_programmes_solve_the_knapsack(solve: Solve) -> None:
    plan = solve(knapsack())
    assert plan.summary["objective"] == approx(5.8)
    funded = {row.intervention: row.units for row in plan.allocation.itertuples()}
    assert funded == approx({"a": 0, "b": 60, "c": 0, "d": 40, "self_care": 50})
    assert plan.summary["problem"] == "MILP"
    assert plan.summary["yes_no_choices"] == 4
    assert plan.summary["mip_gap"] == approx(0)


def test_milp_prices_come_from_the_lp_with_the_choices_fixed(solve: Solve) -> None:
    # with b and d fixed, the next £1 buys self-care at 0.002 QALY: 200 QALY per £100k
    plan = solve(knapsack())
    assert plan.summary["prices_from"] == (
        "the LP with every yes/no choice fixed at its optimal value"
    )
    assert price(plan, "envelope__2021")["value_of_relaxing"] == approx(200)
    assert price(plan, "indivisible__b__2021")["sense"] == "=="


def test_an_lp_says_its_prices_are_the_lps(solve: Solve) -> None:
    plan = solve(instance(envelope={"amounts": {2021: 100}}, interventions={"a": item(1, 1)}))
    assert (plan.summary["problem"], plan.summary["yes_no_choices"]) == ("LP", 0)
    assert plan.summary["prices_from"] == "the LP"
    assert plan.summary["mip_gap"] == ""


# --- make or buy with a fixed cost ---------------------------------------------------------------


def fixed_cost_choice(buy_price: float = 8.0, make_price: float = 5.0) -> Data:
    """£1,200 buys clinic contacts (0.01 QALY each, at most 200). Make: £5 a contact plus £400 a
    year; buy: £8 a contact. Make: (1,200 - 400) / 5 = 160 contacts, 1.6 QALY; buy: 150, 1.5."""
    clinic = item(
        7,
        0.01,
        max_units=200,
        supply=supply(
            ("make", option("consortium", "make", make_price, fixed_cost=400)),
            ("buy", option("trust", "buy", buy_price)),
        ),
    )
    return instance(
        envelope={"amounts": {2021: 1200}}, partners=PARTNERS, interventions={"clinic": clinic}
    )


def test_fixed_cost_choice_makes_when_volume_pays_for_the_fixed_cost(solve: Solve) -> None:
    plan = solve(fixed_cost_choice())
    assert plan.summary["objective"] == approx(1.6)
    make = one(plan.supply, option="make", year=2021)
    buy = one(plan.supply, option="buy", year=2021)
    assert (bool(make["chosen"]), bool(buy["chosen"])) == (True, False)
    assert (make["units"], make["fixed_cost"], make["cost"]) == approx((160, 400, 1200))
    row = one(plan.allocation, intervention="clinic", year=2021)
    assert (row["spend"], row["unit_cost"], row["delivered_by"]) == (
        approx(1200),
        approx(7.5),
        "consortium",
    )
    income = one(plan.partners, partner="consortium", year=2021)["income"]
    assert income == approx(1200)  # the fixed cost is paid to the provider too


def test_a_cheaper_buy_price_flips_the_choice(solve: Solve) -> None:
    # at £7 a contact buying gets 171.4 contacts (1.714 QALY) against making's 160
    plan = solve(fixed_cost_choice(buy_price=7.0))
    assert plan.summary["objective"] == approx(1200 / 7 * 0.01)
    assert bool(one(plan.supply, option="buy", year=2021)["chosen"])
    assert one(plan.supply, option="make", year=2021)["fixed_cost"] == 0


# --- a minimum contract volume -------------------------------------------------------------------


def minimum_volume(charity_price: float = 6.0) -> Data:
    """Meet a need of 100 contacts at least spend. The charity is cheaper (£6) but only takes a
    contract of at least 120; the trust charges £7. Charity: 120 x 6 = £720; trust: £700. The LP
    relaxation would buy 100 from the charity for £600."""
    clinic = item(
        7,
        max_units=150,
        min_units=100,
        supply=supply(
            ("charity", option("charity", "buy", charity_price, min_volume=120, capacity=150)),
            ("trust", option("trust", "buy", 7)),
            choice="split",
        ),
    )
    return instance(objective={"kind": "min_spend"}, partners=PARTNERS,
                    interventions={"clinic": clinic})  # fmt: skip


def test_minimum_volume_contract_can_cost_more_than_it_saves(solve: Solve) -> None:
    plan = solve(minimum_volume())
    assert plan.summary["objective"] == approx(700)
    assert one(plan.supply, option="trust", year=2021)["units"] == approx(100)
    assert not one(plan.supply, option="charity", year=2021)["chosen"]


def test_minimum_volume_contract_wins_below_its_break_even(solve: Solve) -> None:
    # at £5.50 the charity's 120 contacts cost £660 < £700
    plan = solve(minimum_volume(charity_price=5.5))
    assert plan.summary["objective"] == approx(660)
    assert one(plan.supply, option="charity", year=2021)["units"] == approx(120)
    assert one(plan.allocation, intervention="clinic", year=2021)["units"] == approx(120)


# --- set-up costs, availability over years, shared services, several payees ----------------------


def test_setup_cost_is_paid_once_in_the_year_an_option_starts(solve: Solve) -> None:
    # 3 years, 100 contacts needed each year; make: £5 + £300 set-up; buy: £7. Make over three
    # years: 1,500 + 300 = 1,800 < 2,100, so make starts in 2021 and pays the set-up once.
    clinic = item(
        7,
        max_units=100,
        min_units=100,
        supply=supply(
            ("make", option("consortium", "make", 5, setup_cost=300)),
            ("buy", option("trust", "buy", 7)),
        ),
    )
    data = instance(horizon=3, objective={"kind": "min_spend"}, partners=PARTNERS,
                    interventions={"clinic": clinic})  # fmt: skip
    plan = solve(data)
    assert plan.summary["objective"] == approx(1800)
    make = plan.supply[plan.supply["option"] == "make"]
    assert list(make["setup_cost"]) == approx([300, 0, 0])
    assert list(make["chosen"]) == [True, True, True]


def test_an_option_starts_in_its_first_year_and_pays_its_set_up_then(solve: Solve) -> None:
    # the cheaper charity is only available from 2022 and costs £150 to set up: the trust
    # supplies 2021, the charity 2022-2023 (500 + 2 x 400 + 150 = 1,450 against 1,500)
    clinic = item(
        5,
        max_units=100,
        min_units=100,
        supply=supply(
            ("charity", option("charity", "buy", 4, setup_cost=150, first_year=2022)),
            ("trust", option("trust", "buy", 5)),
        ),
    )
    data = instance(horizon=3, objective={"kind": "min_spend"}, partners=PARTNERS,
                    interventions={"clinic": clinic})  # fmt: skip
    plan = solve(data)
    assert plan.summary["objective"] == approx(1450)
    charity = plan.supply[plan.supply["option"] == "charity"]
    assert list(charity["available"]) == [False, True, True]
    assert list(charity["units"]) == approx([0, 100, 100])
    assert list(charity["setup_cost"]) == approx([0, 150, 0])


def shared_support(fixed: float) -> Data:
    """Two consortia of 100 people each need business intelligence. Each can run its own team
    (£300 a year plus £1 a head) or use a hub one of them hosts (£1 a head plus the hub's fixed
    cost, paid once). Own teams: 2 x 400 = £800; hub: 200 + fixed."""

    def bi(name: str) -> Data:
        return item(
            0,
            unit="head",
            min_units=100,
            max_units=100,
            supply=supply(
                ("own", option(name, "make", 1, fixed_cost=300)),
                ("hub", option(None, "make", 1, shared="hub")),  # type: ignore[arg-type]
            ),
        )

    partners = {"north": {"name": "North"}, "south": {"name": "South"}}
    data = instance(
        objective={"kind": "min_spend"},
        partners=partners,
        interventions={"bi_north": bi("north"), "bi_south": bi("south")},
        shared_services={"hub": {"name": "BI hub", "provider": "north", "fixed_cost": fixed}},
    )
    for each in data["interventions"].values():
        del each["supply"]["options"]["hub"]["provider"]
    return data


def test_a_shared_service_pays_its_fixed_cost_once_for_all_users(solve: Solve) -> None:
    plan = solve(shared_support(fixed=450))
    assert plan.summary["objective"] == approx(650)
    hub = one(plan.shared_services, service="hub", year=2021)
    assert (bool(hub["open"]), hub["units"], hub["cost"]) == (True, approx(200), approx(450))
    assert hub["users"] == "bi_north, bi_south"
    # the host is paid the hub's fixed cost and both consortia's per-head prices
    assert one(plan.partners, partner="north", year=2021)["income"] == approx(650)
    assert one(plan.partners, partner="south", year=2021)["income"] == approx(0)


def test_an_expensive_shared_service_stays_closed(solve: Solve) -> None:
    plan = solve(shared_support(fixed=700))
    assert plan.summary["objective"] == approx(800)
    assert not one(plan.shared_services, service="hub", year=2021)["open"]


def test_several_acute_trusts_share_an_outcomes_tariff(solve: Solve) -> None:
    # 100 admissions at £1,000, 60% to trust_a and 40% to trust_b; education cuts 0.1 each
    data = instance(
        partners={"trust_a": {"name": "A"}, "trust_b": {"name": "B"}, "charity": {"name": "C"}},
        envelope={"amounts": {2021: 200_000}},
        interventions={
            "education": item(
                50, 0.01, max_units=200, delivered_by="charity", effects={"admissions": -0.1}
            )
        },
        outcomes={
            "admissions": outcome(100, tariff=1000, paid_to={"trust_a": 0.6, "trust_b": 0.4})
        },
    )
    plan = solve(data)
    # 200 educated: admissions 80, tariff 80,000 split 48,000 / 32,000
    assert one(plan.partners, partner="trust_a", year=2021)["income"] == approx(48_000)
    assert one(plan.partners, partner="trust_b", year=2021)["income"] == approx(32_000)
    assert one(plan.partners, partner="trust_a", year=2021)["baseline_income"] == approx(60_000)


def test_rows_of_an_unchosen_option_are_not_reported_as_binding(solve: Solve) -> None:
    # buying at £4 with a £700 fixed cost loses (125 contacts, 1.25 QALY) to making (160, 1.6),
    # but with the choice fixed at "no", one contact bought would be worth 0.01 - 4 x 0.002 QALY
    # (the envelope's price): a price of supply without the fixed cost, not of a binding rule
    data = fixed_cost_choice(buy_price=4.0)
    data["interventions"]["clinic"]["supply"]["options"]["buy"]["fixed_cost"] = 700
    plan = solve(data)
    assert plan.summary["objective"] == approx(1.6)
    row = price(plan, "option_capacity__clinic__buy__2021")
    assert row["value_of_relaxing"] == approx(0.01 - 4 * 0.002)
    assert not row["binding"]
    assert row["explanation"].startswith("the option or shared service is not chosen this year")
