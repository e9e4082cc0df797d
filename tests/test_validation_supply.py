"""Make-or-buy, shared services, all-or-nothing and shared tariffs: every problem, word for word.

The companion of test_validation_messages.py (whose guard lists check_supply and
check_indivisible as tested here), written the same way: the instance is YAML text after the
four HEAD lines (plan years 2021-2022), so its own fields start on line 5 and the line numbers
in the messages are the ones in the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import planner
from tests.conftest import instance, item, outcome, write
from tests.test_validation_messages import Check, one_problem, shown

# --- references and who is paid ------------------------------------------------------------------


def test_check_references_supply_options_shared_services_and_tariff_shares(check: Check) -> None:
    error = check(
        "partners:\n"  # 5
        "  gp: {name: GP}\n"
        "shared_services:\n"
        "  hub: {name: Hub, provider: council, capacity: 100}\n"
        "envelope: {baseline: 1000}\n"
        "interventions:\n"  # 10
        "  a:\n"
        "    name: A\n"
        "    unit: patient\n"
        "    unit_cost: 1\n"
        "    delivered_by: gp\n"  # 15
        "    max_units: 10\n"
        "    supply:\n"
        "      options:\n"
        "        own: {mode: make, unit_price: 1, provider: pharmacy}\n"
        "        hubbed: {mode: buy, unit_price: 1, shared: hbu}\n"  # 20
        "outcomes:\n"
        "  ae: {name: AE, unit: attendance, baseline: 10, tariff: 100,"
        " paid_to: {gp: 0.5, trust: 0.5}}\n"
    )
    # the typo 'hbu' also leaves 'hub' unused (check_supply)
    assert shown(error) == [
        "instance.yaml:8: shared_services.hub: no supply option draws on it\n"
        "    fix: write shared: hub on the options that use it (check the spelling), or remove it",
        "instance.yaml:8: shared_services.hub.provider: partner 'council' is not defined\n"
        "    fix: use one of: gp",
        "instance.yaml:19: interventions.a.supply.options.own.provider: partner 'pharmacy' is "
        "not defined\n"
        "    fix: use one of: gp",
        "instance.yaml:20: interventions.a.supply.options.hubbed.shared: shared service 'hbu' "
        "is not defined\n"
        "    fix: use one of: hub",
        "instance.yaml:22: outcomes.ae.paid_to.trust: partner 'trust' is not defined\n"
        "    fix: use one of: gp",
    ]


def test_check_paid_to_tariff_shares_add_up_to_one(check: Check) -> None:
    error = check(
        "partners: {t1: {name: T1}, t2: {name: T2}}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 0, max_units: 1}\n"
        "outcomes:\n"
        "  ae: {name: AE, unit: attendance, baseline: 10, tariff: 100,"
        " paid_to: {t1: 0.5, t2: 0.3}}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:9: outcomes.ae.paid_to: shares add up to 0.8, not 1\n"
        "    fix: give each partner's share of the events as fractions adding up to 1"
    )


def test_tariff_share_above_one_is_reported_once_with_the_share_hint(check: Check) -> None:
    error = check(
        "partners: {t1: {name: T1}}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 0, max_units: 1}\n"
        "outcomes:\n"
        "  ae: {name: AE, unit: attendance, baseline: 10, tariff: 100, paid_to: {t1: 1.5}}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:9: outcomes.ae.paid_to.t1: must be at most 1.0 (got 1.5)\n"
        "    fix: use a value at most 1.0; shares are fractions: write 0.02 for 2%"
    )


def test_check_paid_to_with_supply_needs_todays_provider_only_for_todays_units(
    check: Check,
) -> None:
    # new has no units today: nobody is paid today, its option names the plan years' provider.
    # old has 3 units today at £5: someone is paid for them today.
    error = check(
        "partners: {gp: {name: GP}}\n"  # 5
        "envelope: {baseline: 1000}\n"
        "interventions:\n"
        "  new:\n"
        "    name: New\n"
        "    unit: patient\n"  # 10
        "    unit_cost: 5\n"
        "    max_units: 10\n"
        "    supply: {options: {own: {mode: make, unit_price: 4, provider: gp}}}\n"
        "  old:\n"
        "    name: Old\n"  # 15
        "    unit: patient\n"
        "    unit_cost: 5\n"
        "    baseline_units: 3\n"
        "    max_units: 10\n"
        "    supply: {options: {own: {mode: make, unit_price: 4, provider: gp}}}\n"  # 20
    )
    assert one_problem(error) == (
        "instance.yaml:14: interventions.old.delivered_by: is missing: today's units are paid "
        "for but no partner receives the money (the supply options name the providers of the "
        "plan years only)\n"
        "    fix: name the partner that delivers it today (or shares by partner)"
    )


# --- check_supply --------------------------------------------------------------------------------


NEVER = "the option could never be used"


@pytest.mark.parametrize(
    ("limit", "option", "line", "where", "message", "fix"),
    [
        (
            "max_units: 10",
            "own: {mode: make, unit_price: 4}",
            15,
            "interventions.a.supply.options.own.provider",
            "is missing: the option is paid for but no partner receives the money",
            "write provider: <the partner paid for its units> (one of: acute, gp), or shared: "
            "<the shared service it draws on>",
        ),
        (
            "max_units: 10",
            "own: {mode: make, unit_price: 4, provider: gp, capacity: 5, min_volume: 8}",
            15,
            "interventions.a.supply.options.own.min_volume",
            f"min_volume 8 is above capacity 5: {NEVER}",
            "lower min_volume or raise capacity",
        ),
        (
            "max_units: 10",
            "own: {mode: make, unit_price: 4, provider: gp, capacity: 50, min_volume: 12}",
            15,
            "interventions.a.supply.options.own.min_volume",
            f"min_volume 12 is above the intervention's max_units 10: {NEVER}",
            "lower min_volume or raise the intervention's max_units",
        ),
        (
            "max_units: 10",
            "own: {mode: make, unit_price: 4, provider: gp, first_year: 2023}",
            15,
            "interventions.a.supply.options.own.first_year",
            "2023 is after the last plan year 2022: the option is never available in the plan",
            "use a plan year (2021-2022), or leave first_year out for the first plan year",
        ),
        (
            "max_units: 10",
            "own: {mode: make, unit_price: 4, provider: gp, first_year: 2022, last_year: 2021}",
            15,
            "interventions.a.supply.options.own.last_year",
            "2021 is before first_year 2022 starts: the option is never available in the plan",
            "use a plan year (2021-2022) no earlier than first_year, or leave last_year out for "
            "the last plan year",
        ),
        (
            "max_units: 10",
            "own: {mode: make, unit_price: 4, provider: gp, last_year: 2020}",
            15,
            "interventions.a.supply.options.own.last_year",
            "2020 is before the plan starts: the option is never available in the plan",
            "use a plan year (2021-2022) no earlier than first_year, or leave last_year out for "
            "the last plan year",
        ),
        (
            "max_units: 10",
            "own: {mode: make, unit_price: 4, provider: gp, available: false}",
            14,
            "interventions.a.supply.options",
            "has no option on offer (every option is available: false), so the intervention "
            "could never be provided in the plan years",
            "set available: true on at least one option (to stop the intervention, set "
            "max_units: 0 instead)",
        ),
        (
            "health_gain: 0",
            "own: {mode: make, unit_price: 4, provider: gp, fixed_cost: 100, setup_cost: 50}",
            15,
            "interventions.a.supply.options.own",
            "needs a yes/no choice each plan year (a fixed cost, a setup cost) but nothing "
            "bounds its units: no capacity, no max_units on the intervention, no capacity on a "
            "shared service",
            "give the option a capacity (or the intervention max_units) so 'units only if "
            "chosen' can be stated",
        ),
        (
            "full_cost: 3",
            "own: {mode: make, unit_price: 4, provider: gp}",
            12,
            "interventions.a.full_cost",
            "is given together with supply options: a net cost per unit other than the price is "
            "not supported for make-or-buy, the plan years cost what the options cost",
            "remove full_cost (write full_cost: null in the instance if the pathway model gives "
            "it) and state the costs on the options: unit_price, fixed_cost, setup_cost",
        ),
    ],
)
def test_check_supply(
    check: Check, limit: str, option: str, line: int, where: str, message: str, fix: str
) -> None:
    error = check(
        "partners: {gp: {name: GP}, acute: {name: Acute}}\n"  # 5
        "envelope: {baseline: 1000}\n"
        "interventions:\n"
        "  a:\n"
        "    name: A\n"
        "    unit: patient\n"  # 10
        "    unit_cost: 5\n"
        f"    {limit}\n"
        "    supply:\n"
        "      options:\n"
        f"        {option}\n"  # 15
    )
    assert one_problem(error) == f"instance.yaml:{line}: {where}: {message}\n    fix: {fix}"


def test_check_supply_shared_services_and_in_house(check: Check) -> None:
    # own: one of three exclusive options, so it is chosen yes/no, but nothing bounds it (hub is
    # bounded by its shared service, private by its capacity); hub: paid through its host, not
    # acute; private: bought, but only make options may be used; lab: opens too late, unused.
    error = check(
        "partners: {gp: {name: GP}, acute: {name: Acute}, council: {name: Council}}\n"  # 5
        "shared_services:\n"
        "  hub: {name: Hub, provider: council, fixed_cost: 100, capacity: 50}\n"
        "  lab: {name: Lab, provider: council, first_year: 2024}\n"
        "envelope: {baseline: 10000}\n"
        "interventions:\n"  # 10
        "  a:\n"
        "    name: A\n"
        "    unit: patient\n"
        "    unit_cost: 5\n"
        "    supply:\n"  # 15
        "      in_house_only: true\n"
        "      options:\n"
        "        own: {mode: make, unit_price: 4, provider: gp}\n"
        "        hub: {mode: make, unit_price: 3, shared: hub, provider: acute}\n"
        "        private: {mode: buy, unit_price: 2, provider: acute, capacity: 20}\n"  # 20
    )
    assert shown(error) == [
        "instance.yaml:8: shared_services.lab: no supply option draws on it\n"
        "    fix: write shared: lab on the options that use it (check the spelling), or remove it",
        "instance.yaml:8: shared_services.lab.first_year: 2024 is after the last plan year "
        "2022: the service never opens in the plan\n"
        "    fix: use a plan year (2021-2022), or leave first_year out for the first plan year",
        "instance.yaml:18: interventions.a.supply.options.own: needs a yes/no choice each plan "
        "year (one of 3 exclusive options) but nothing bounds its units: no capacity, no "
        "max_units on the intervention, no capacity on a shared service\n"
        "    fix: give the option a capacity (or the intervention max_units) so 'units only if "
        "chosen' can be stated",
        "instance.yaml:19: interventions.a.supply.options.hub.provider: is 'acute', but the "
        "option draws on shared service 'hub', hosted and paid through 'council'\n"
        "    fix: write provider: council, or leave provider out (the host is then paid)",
        "instance.yaml:20: interventions.a.supply.options.private.mode: is buy, but the supply "
        "is in_house_only: only make options may be used\n"
        "    fix: set available: false on this option, or in_house_only: false",
    ]


def test_check_supply_minimum_units_before_any_option_can_supply(check: Check) -> None:
    # both options supply from 2022 only (new by its own first_year, hubbed by its shared
    # service's), so the 4 units a year required cannot be bought in 2021
    error = check(
        "partners: {gp: {name: GP}}\n"  # 5
        "shared_services:\n"
        "  hub: {name: Hub, provider: gp, first_year: 2022, capacity: 100}\n"
        "interventions:\n"
        "  a:\n"
        "    name: A\n"  # 10
        "    unit: patient\n"
        "    unit_cost: 5\n"
        "    min_units: 4\n"
        "    max_units: 10\n"
        "    supply:\n"  # 15
        "      options:\n"
        "        new: {mode: buy, unit_price: 4, provider: gp, first_year: 2022}\n"
        "        hubbed: {mode: make, unit_price: 3, shared: hub}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:13: interventions.a.min_units: min_units 4 cannot be met in 2021: no "
        "supply option on offer can supply then (the options' first_year and last_year, or "
        "their shared services' first_year)\n"
        "    fix: leave min_units out, or let an option supply in every plan year"
    )


# --- check_bounded with supply options -----------------------------------------------------------


@pytest.mark.parametrize(
    ("envelope", "which"),
    [
        ("", "supply options own, free have"),
        ("envelope: {baseline: 1000}", "supply option free has"),
    ],
)
def test_check_bounded_reads_the_options_prices_not_unit_cost(
    check: Check, envelope: str, which: str
) -> None:
    # unit_cost is today's price: with an envelope it no longer limits the plan years. own is
    # limited by its price only within an envelope, bought by its capacity; free by nothing.
    error = check(
        f"{envelope}\n"  # 5
        "interventions:\n"
        "  a:\n"
        "    name: A\n"
        "    unit: patient\n"
        "    unit_cost: 5\n"  # 10
        "    health_gain: 1\n"
        "    supply:\n"
        "      choice: split\n"
        "      options:\n"
        "        own: {mode: make, unit_price: 4}\n"  # 15
        "        bought: {mode: buy, unit_price: 0, capacity: 5}\n"
        "        free: {mode: buy, unit_price: 0}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:7: interventions.a: adds health gain but nothing limits its units (no "
        f"max_units, no resource use, no shared need, and {which} no capacity and no price "
        "against an envelope): the plan would be unbounded\n"
        "    fix: give max_units (capacity or need), or every supply option a capacity or a "
        "unit_price within an envelope"
    )


def test_check_bounded_counts_a_shared_services_capacity(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        instance(
            shared_services={"hub": {"name": "Hub", "provider": "gp", "capacity": 10}},
            partners={"gp": {"name": "GP"}},
            interventions={
                "a": item(
                    5,
                    1.0,
                    supply={"options": {"x": {"mode": "make", "unit_price": 0, "shared": "hub"}}},
                ),
            },
        ),
    )
    assert planner.check_instance(path).interventions["a"].offered()["x"].shared == "hub"


# --- check_indivisible ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "line", "where", "message", "fix"),
    [
        (
            "health_gain: 1",
            10,
            "interventions.a.indivisible",
            "is true but max_units is not given: an all-or-nothing intervention runs at "
            "max_units or not at all",
            "give max_units above 0: the units a year of the whole programme",
        ),
        (
            "max_units: 0",
            10,
            "interventions.a.indivisible",
            "is true but max_units is 0: an all-or-nothing intervention runs at max_units or "
            "not at all",
            "give max_units above 0: the units a year of the whole programme",
        ),
        (
            "max_units: 10\n    tranches: [{units: 5, health_gain: 2}, {health_gain: 1}]",
            13,
            "interventions.a.tranches",
            "cannot be combined with indivisible: all or nothing buys every tranche or none",
            "remove tranches and give a single health_gain, the average over the programme",
        ),
        (
            "max_units: 10\n    min_units: 4",
            13,
            "interventions.a.min_units",
            "min_units 4 is neither 0 nor max_units 10: an indivisible intervention runs at "
            "max_units or not at all",
            "write min_units: 10 to run it every plan year, or 0 (or leave it out) to let the "
            "plan choose",
        ),
    ],
)
def test_check_indivisible(
    check: Check, lines: str, line: int, where: str, message: str, fix: str
) -> None:
    error = check(
        "envelope: {baseline: 1000}\n"  # 5
        "interventions:\n"
        "  a:\n"
        "    name: A\n"
        "    unit: patient\n"
        "    indivisible: true\n"  # 10
        "    unit_cost: 5\n"
        f"    {lines}\n"
    )
    assert one_problem(error) == f"instance.yaml:{line}: {where}: {message}\n    fix: {fix}"


def test_indivisible_minimum_above_maximum_is_reported_once(check: Check) -> None:
    error = check(
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 0, indivisible: true, min_units: 12,"
        " max_units: 10}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:6: interventions.a.min_units: min_units 12 is above max_units 10\n"
        "    fix: lower min_units or raise max_units"
    )


# --- a valid plan with every new feature ---------------------------------------------------------


def test_valid_make_or_buy_plan_has_no_problems(tmp_path: Path) -> None:
    options = {
        # exclusive between own and hub (private is not on offer): each is chosen yes/no, own
        # bounded by its capacity, hub by its shared service's; both bounded by max_units
        "own": {
            "mode": "make",
            "unit_price": 40,
            "provider": "gp",
            "fixed_cost": 2000,
            "capacity": 300,
        },
        "hub": {
            "mode": "make",
            "unit_price": 30,
            "shared": "hub",
            "min_volume": 50,
            "setup_cost": 800,
        },
        "private": {"mode": "buy", "unit_price": 45, "provider": "t1", "available": False},
    }
    data = instance(
        horizon=3,
        partners={p: {"name": p.upper()} for p in ("gp", "t1", "t2", "council")},
        envelope={"baseline": 100_000, "reduction": 0.02},
        shared_services={
            "hub": {
                "name": "Hub",
                "provider": "council",
                "fixed_cost": 1000,
                "setup_cost": 500,
                "capacity": 400,
                "first_year": 2022,
            },
        },
        interventions={
            # paid today at £50 to the GPs; from 2021 through the options
            "education": item(
                50,
                0.1,
                baseline_units=100,
                delivered_by="gp",
                max_units=500,
                min_units=10,
                supply={"choice": "exclusive", "options": options},
            ),
            # a new service: nobody is paid today, so no delivered_by
            "screening": item(
                0,
                0.2,
                supply={
                    "choice": "split",
                    "in_house_only": True,
                    "options": {
                        "clinic": {
                            "mode": "make",
                            "unit_price": 20,
                            "provider": "council",
                            "first_year": 2022,
                        },
                        "pharmacy": {
                            "mode": "make",
                            "unit_price": 25,
                            "provider": "gp",
                            "capacity": 100,
                        },
                    },
                },
            ),
            "programme": item(10, 0.5, indivisible=True, max_units=200, delivered_by="t2"),
            "required": item(
                10,
                0.5,
                indivisible=True,
                min_units=50,
                max_units=50,
                delivered_by={"t1": 0.5, "t2": 0.5},
            ),
        },
        outcomes={"ae": outcome(1000, tariff=150, paid_to={"t1": 0.6, "t2": 0.4})},
        scenarios={
            "outsourced": {
                "interventions": {
                    "education": {"supply": {"options": {"private": {"available": True}}}}
                },
            },
        },
    )
    path = write(tmp_path, data)
    checked = planner.check_instance(path)
    assert set(checked.interventions["education"].offered()) == {"own", "hub"}
    assert checked.option_provider(checked.interventions["education"].offered()["hub"]) == (
        "council"
    )
    assert checked.outcomes["ae"].payee_shares() == {"t1": 0.6, "t2": 0.4}
    outsourced = planner.check_instance(path, scenario="outsourced")
    assert set(outsourced.interventions["education"].offered()) == {"own", "hub", "private"}
