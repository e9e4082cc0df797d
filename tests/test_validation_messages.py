"""Every validation problem, word for word, with the file and line it points at.

One test per semantic check in planner.validate.CHECKS (a guard test fails when a check is added
without one) and per kind of schema error. A Problem prints as

    file:line: field.path: message
        fix: how to fix it

and an InputError lists every problem found, under "N problem(s) in the input:". The instance is
written as text so that its line numbers are the ones in the test; the working directory is the
test's folder so the file shows as `instance.yaml`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import planner
from planner.validate import CHECKS
from tests.conftest import HEAD, Check


def head_without(field: str) -> str:
    """HEAD with `field` left out (an empty line instead), so line 5 can give it."""
    return "".join(
        "\n" if line.startswith(f"{field}:") else line + "\n" for line in HEAD.splitlines()
    )


def shown(error: planner.InputError) -> list[str]:
    return [str(problem) for problem in error.problems]


def one_problem(error: planner.InputError) -> str:
    problems = shown(error)
    assert len(problems) == 1, problems
    assert str(error) == "1 problem in the input:\n" + problems[0]
    return problems[0]


def test_every_semantic_check_has_a_test() -> None:
    tested = {
        "check_references",
        "check_years",
        "check_envelope",
        "check_intervention_ranges",
        "check_group_units",
        "check_partner_limits",
        "check_savings",
        "check_objective",
        "check_floors",
        "check_paid_to",
        "check_bounded",
        "check_ramp_from_zero",
        "check_floor_reachable",
        "check_listed_once",
        # make-or-buy and all-or-nothing: tests/test_validation_supply.py
        "check_supply",
        "check_indivisible",
        # uncertain numbers and their distributions: tests/test_validation_uncertainty.py
        "check_uncertainty",
    }
    assert {check.__name__ for check in CHECKS} == tested


# --- semantic checks -----------------------------------------------------------------------------


def test_check_listed_once(check: Check) -> None:
    # found by tests/test_fuzz_files.py: a member listed twice counted its units twice
    error = check(
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 1, max_units: 1}\n"  # 6
        "  b: {name: B, unit: patient, unit_cost: 1, max_units: 1}\n"
        "groups:\n"
        "  g: {members: [a, b, a], rule: meet_need, need: 1}\n"  # 9
        "complements:\n"
        "  c: {intervention: [b, b], requires: [a, a]}\n"  # 11
    )
    assert shown(error) == [
        "instance.yaml:9: groups.g.members: lists a more than once: its units would be counted "
        "twice\n    fix: list each intervention once",
        "instance.yaml:11: complements.c.intervention: lists b more than once: its units would "
        "be counted twice\n    fix: list each intervention once",
        "instance.yaml:11: complements.c.requires: lists a more than once: its units would be "
        "counted twice\n    fix: list each intervention once",
    ]


def test_check_references_lists_every_undefined_name_at_once(check: Check) -> None:
    error = check(
        "partners:\n"  # 5
        "  gp: {name: GP}\n"
        "interventions:\n"
        "  a:\n"
        "    name: A\n"
        "    unit: patient\n"  # 10
        "    unit_cost: 0\n"
        "    max_units: 10\n"
        "    effects: {ae: -1}\n"
        "    delivered_by: acute\n"
        "    resource_use: {nurse: 1}\n"  # 15
        "outcomes:\n"
        "  adm: {name: Adm, unit: admission, baseline: 10, paid_to: council,"
        " external_costs: {social: 5}}\n"
        "refused_outcomes:\n"
        "  amp: {responsible: trust}\n"
        "floors:\n"  # 20
        "  f: {outcome: ae, bound: upper, value: 5}\n"
        "groups:\n"
        "  g: {members: [a, b], rule: meet_need, need: 1}\n"
        "complements:\n"
        "  c: {intervention: z, requires: a}\n"  # 25
        "savings: {rule: share, shares: {gp: 0.5, lab: 0.5}}\n"
    )
    assert shown(error) == [
        "instance.yaml:13: interventions.a.effects.ae: outcome 'ae' is not defined\n"
        "    fix: use one of: adm",
        "instance.yaml:14: interventions.a.delivered_by: partner 'acute' is not defined\n"
        "    fix: use one of: gp",
        "instance.yaml:15: interventions.a.resource_use.nurse: resource 'nurse' is not defined\n"
        "    fix: use one of: none defined",
        "instance.yaml:17: outcomes.adm.external_costs.social: partner 'social' is not defined\n"
        "    fix: use one of: gp",
        "instance.yaml:17: outcomes.adm.paid_to: partner 'council' is not defined\n"
        "    fix: use one of: gp",
        "instance.yaml:19: refused_outcomes.amp: outcome 'amp' is not defined\n"
        "    fix: use one of: adm",
        "instance.yaml:19: refused_outcomes.amp.responsible: partner 'trust' is not defined\n"
        "    fix: use one of: gp",
        "instance.yaml:21: floors.f.outcome: outcome 'ae' is not defined\n    fix: use one of: adm",
        "instance.yaml:23: groups.g.members[1]: intervention 'b' is not defined\n"
        "    fix: use one of: a",
        "instance.yaml:25: complements.c.intervention: intervention 'z' is not defined\n"
        "    fix: use one of: a",
        "instance.yaml:26: savings.shares.lab: partner 'lab' is not defined\n"
        "    fix: use one of: gp",
    ]
    assert str(error).startswith("11 problems in the input:\ninstance.yaml:13: ")


def test_check_references_partner_shares(check: Check) -> None:
    error = check(
        "partners:\n"
        "  gp: {name: GP}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 0, delivered_by: {gp: 0.5, trust: 0.5}}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:8: interventions.a.delivered_by.trust: partner 'trust' is not defined\n"
        "    fix: use one of: gp"
    )


def test_check_years(check: Check) -> None:
    error = check(
        "envelope:\n"
        "  amounts: {2021: 100, 2023: 100}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 1, health_gain: 1}\n"
        "outcomes:\n"
        "  ae: {name: AE, unit: attendance, baseline: 10}\n"  # 10
        "floors:\n"
        "  f: {outcome: ae, bound: upper, value: 20, year: 2030}\n"
    )
    assert shown(error) == [
        "instance.yaml:6: envelope.amounts: must give one amount for each plan year 2021-2022 "
        "(missing 2022; not plan years: 2023)\n"
        "    fix: give exactly one amount per plan year",
        "instance.yaml:12: floors.f.year: 2030 is not a plan year (plan years: 2021-2022)\n"
        "    fix: use a plan year, or leave year out for every year",
    ]


def test_check_years_one_plan_year(check: Check) -> None:
    error = check(
        "envelope: {amounts: {2022: 100}}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 1, health_gain: 1}\n",
        head="name: t\nbaseline_year: 2020\nhorizon: 1\n\n",
    )
    assert one_problem(error) == (
        "instance.yaml:5: envelope.amounts: must give one amount for each plan year 2021 "
        "(missing 2021; not plan years: 2022)\n"
        "    fix: give exactly one amount per plan year"
    )


@pytest.mark.parametrize(
    ("envelope", "message", "fix"),
    [
        (
            "{baseline: 100, amounts: {2021: 100, 2022: 100}}",
            "gives both amounts per year and a baseline/reduction",
            "keep either amounts, or baseline with reduction",
        ),
        (
            "{reduction: 0.02}",
            "gives no baseline and no amounts",
            "give baseline (and reduction), or amounts per plan year",
        ),
    ],
)
def test_check_envelope(check: Check, envelope: str, message: str, fix: str) -> None:
    error = check(
        f"envelope: {envelope}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 1, health_gain: 1}\n"
    )
    assert one_problem(error) == f"instance.yaml:5: envelope: {message}\n    fix: {fix}"


def test_check_intervention_ranges(check: Check) -> None:
    error = check(
        "interventions:\n"
        "  a:\n"
        "    name: A\n"
        "    unit: patient\n"
        "    unit_cost: 1\n"
        "    health_gain: 1\n"  # 10
        "    min_units: 5\n"
        "    max_units: 2\n"
        "    tranches:\n"
        "    - {units: 1, health_gain: 1}\n"
        "    - {health_gain: 2}\n"  # 15
        "    - {health_gain: 0.5}\n"
    )
    assert shown(error) == [
        "instance.yaml:10: interventions.a.health_gain: is given together with tranches\n"
        "    fix: put the health gain in the tranches and remove health_gain",
        "instance.yaml:11: interventions.a.min_units: min_units 5 is above max_units 2\n"
        "    fix: lower min_units or raise max_units",
        "instance.yaml:15: interventions.a.tranches[1].health_gain: rises from 1 to 2: tranches "
        "express diminishing returns, so the gain per unit must not rise\n"
        "    fix: order the tranches from the highest gain per unit to the lowest",
        "instance.yaml:15: interventions.a.tranches[1].units: only the last tranche may be "
        "unlimited\n"
        "    fix: give this tranche's size in units",
    ]
    assert str(error).startswith("4 problems in the input:\n")


def test_check_group_units(check: Check) -> None:
    error = check(
        "envelope: {baseline: 1000}\n"
        "interventions:\n"
        "  o: {name: O, unit: attendance, unit_cost: 1}\n"
        "  k: {name: K, unit: contact, unit_cost: 1}\n"
        "groups:\n"
        "  reviews: {members: [o, k], rule: meet_need, need: 10}\n"  # 10
    )
    assert one_problem(error) == (
        "instance.yaml:10: groups.reviews.members: adds units that differ: o (attendance), "
        "k (contact)\n"
        "    fix: group only interventions counted in the same unit"
    )


def test_check_partner_limits(check: Check) -> None:
    error = check(
        "partners:\n"
        "  acute: {name: Acute, max_loss: 10, max_loss_share: 0.1, max_gain: 5,"
        " max_gain_share: 0.2}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 0, max_units: 1}\n"
    )
    assert shown(error) == [
        "instance.yaml:6: partners.acute.max_gain_share: is given together with max_gain\n"
        "    fix: keep one of max_gain (money) and max_gain_share (share of baseline income)",
        "instance.yaml:6: partners.acute.max_loss_share: is given together with max_loss\n"
        "    fix: keep one of max_loss (money) and max_loss_share (share of baseline income)",
    ]


@pytest.mark.parametrize(
    ("savings", "message", "fix"),
    [
        (
            "{rule: share, shares: {gp: 0.5, acute: 0.3}}",
            "add up to 0.8, not 1",
            "give each partner's share of the savings as fractions adding up to 1",
        ),
        (
            "{shares: {gp: 1}}",
            "are given but savings are carried forward",
            "set rule: share, or remove shares",
        ),
    ],
)
def test_check_savings(check: Check, savings: str, message: str, fix: str) -> None:
    error = check(
        f"savings: {savings}\n"
        "partners:\n"
        "  gp: {name: GP}\n"
        "  acute: {name: Acute}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 0, max_units: 1}\n"
    )
    assert one_problem(error) == f"instance.yaml:5: savings.shares: {message}\n    fix: {fix}"


@pytest.mark.parametrize(
    ("objective", "message", "fix"),
    [
        (
            "{kind: net_benefit}",
            "is missing: net benefit needs a cost-effectiveness threshold",
            "give it in USD per DALY (e.g. 20000)",
        ),
        (
            "{threshold: 20000}",
            "is only used by the net_benefit objective (this one is health_gain)",
            "remove threshold, or set kind: net_benefit",
        ),
    ],
)
def test_check_objective(check: Check, objective: str, message: str, fix: str) -> None:
    error = check(
        f"objective: {objective}\n"
        "currency: USD\n"
        "health_unit: DALY\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 0, max_units: 1}\n"
    )
    assert one_problem(error) == f"instance.yaml:5: objective.threshold: {message}\n    fix: {fix}"


@pytest.mark.parametrize(
    ("floor", "where", "message", "fix"),
    [
        (
            "{outcome: ae, bound: upper}",
            "floors.f",
            "needs exactly one of value and relative",
            "give value (a level) or relative (a multiple of baseline, 0.97 for 3% below)",
        ),
        (
            "{outcome: ae, bound: upper, value: 9, relative: 0.9}",
            "floors.f",
            "needs exactly one of value and relative",
            "give value (a level) or relative (a multiple of baseline, 0.97 for 3% below)",
        ),
        (
            "{outcome: ae, bound: upper, relative: 97}",
            "floors.f.relative",
            "97 times the baseline cannot be meant",
            "relative is a multiple of baseline: write 0.97 for 97% of baseline",
        ),
    ],
)
def test_check_floors(check: Check, floor: str, where: str, message: str, fix: str) -> None:
    error = check(
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 0, max_units: 1}\n"
        "outcomes:\n"
        "  ae: {name: AE, unit: attendance, baseline: 10}\n"
        "floors:\n"
        f"  f: {floor}\n"  # 10
    )
    assert one_problem(error) == f"instance.yaml:10: {where}: {message}\n    fix: {fix}"


def test_check_paid_to(check: Check) -> None:
    error = check(
        "partners:\n"
        "  gp: {name: GP}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 1, max_units: 1}\n"
        "  b: {name: B, unit: patient, unit_cost: 1, max_units: 1, delivered_by: {gp: 0.5}}\n"
        "outcomes:\n"  # 10
        "  ae: {name: AE, unit: attendance, baseline: 10, tariff: 100}\n"
    )
    assert shown(error) == [
        "instance.yaml:8: interventions.a.delivered_by: is missing: the units are paid for but "
        "no partner receives the money\n"
        "    fix: name the partner that delivers it (or shares by partner)",
        "instance.yaml:9: interventions.b.delivered_by: shares add up to 0.5, not 1\n"
        "    fix: give each partner's share of the units as fractions adding up to 1",
        "instance.yaml:11: outcomes.ae.paid_to: is missing: the tariff is paid but no partner "
        "receives it\n"
        "    fix: name the partner paid the tariff (or shares by partner)",
    ]


def test_check_paid_to_needs_no_partner_when_none_are_declared(tmp_path: Path) -> None:
    # Without partners, nobody's income is tracked: an unassigned cost or tariff is fine.
    path = tmp_path / "instance.yaml"
    path.write_text(
        HEAD + "interventions:\n  a: {name: A, unit: patient, unit_cost: 1, max_units: 1}\n"
        "outcomes:\n  ae: {name: AE, unit: attendance, baseline: 10, tariff: 100}\n",
        encoding="utf-8",
    )
    assert planner.check_instance(path).interventions["a"].unit_cost == 1


UNBOUNDED = (
    "adds health gain but nothing limits its units (no cost against an envelope, no max_units, "
    "no resource use, no shared need): the plan would be unbounded\n"
    "    fix: give max_units (capacity or need), or a unit_cost within an envelope"
)


def test_check_bounded(check: Check) -> None:
    error = check(
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 10, health_gain: 1}\n"
        "  b: {name: B, unit: patient, unit_cost: 0, tranches: [{units: 5, health_gain: 1},"
        " {health_gain: 0}]}\n"
        "  c: {name: C, unit: patient, unit_cost: 0, health_gain: -1}\n"
    )
    # a: a cost but no envelope; b: its first tranche gains; c gains nothing, so needs no limit.
    assert shown(error) == [
        f"instance.yaml:6: interventions.a: {UNBOUNDED}",
        f"instance.yaml:7: interventions.b: {UNBOUNDED}",
    ]


@pytest.mark.parametrize(
    ("limit", "use"),
    [
        ("envelope: {baseline: 100}", ""),
        ("objective: {kind: min_spend}", ""),
        (
            "resources: {nurse: {name: Nurse, unit: hour, capacity: 10}}",
            ", resource_use: {nurse: 1}",
        ),
        ("groups: {g: {members: [a], rule: share_need, need: 10}}", ""),
    ],
)
def test_check_bounded_accepts_any_limit(tmp_path: Path, limit: str, use: str) -> None:
    path = tmp_path / "instance.yaml"
    path.write_text(
        f"{HEAD}{limit}\ninterventions:\n"
        f"  a: {{name: A, unit: patient, unit_cost: 10, health_gain: 1{use}}}\n",
        encoding="utf-8",
    )
    planner.check_instance(path)


def test_check_floor_reachable(check: Check) -> None:
    # cap: in 2021, e (at most 100, one fewer each) brings A&E down to 900 at best (p acts only
    # from 2022, a year after it is bought). least: 1,050 in 2021 needs p, which cannot act yet.
    error = check(
        "interventions:\n"
        "  e: {name: E, unit: patient, unit_cost: 0, max_units: 100, effects: {ae: -1}}\n"
        "  p: {name: P, unit: patient, unit_cost: 0, max_units: 10,"
        " effects: {ae: {per_unit: 1, lag: 1}}}\n"
        "outcomes:\n"
        "  ae: {name: AE, unit: attendance, baseline: 1000}\n"
        "floors:\n"  # 10
        "  cap: {outcome: ae, bound: upper, value: 850}\n"
        "  least: {outcome: ae, bound: lower, relative: 1.05, year: 2021}\n"
    )
    assert shown(error) == [
        "instance.yaml:11: floors.cap: needs ae at most 850 in 2021, but no less than 900 is "
        "reachable within the interventions' min and max units\n"
        "    fix: raise the cap, or let the interventions that reduce it grow (max_units)",
        "instance.yaml:12: floors.least: needs ae at least 1,050 in 2021, but at most 1,000 is "
        "reachable within the interventions' max_units\n"
        "    fix: lower the floor, or raise max_units of interventions that raise it",
    ]


def test_check_floor_reachable_counts_minimum_units(check: Check) -> None:
    # d adds 2 attendances a unit and must run at least 60 units: A&E at least 1,120 > 1,100.
    error = check(
        "interventions:\n"
        "  d: {name: D, unit: patient, unit_cost: 0, min_units: 60, max_units: 100,"
        " effects: {ae: 2}}\n"
        "outcomes:\n"
        "  ae: {name: AE, unit: attendance, baseline: 1000}\n"
        "floors:\n"
        "  cap: {outcome: ae, bound: upper, value: 1100, year: 2022}\n"  # 10
    )
    assert one_problem(error) == (
        "instance.yaml:10: floors.cap: needs ae at most 1,100 in 2022, but no less than 1,120 "
        "is reachable within the interventions' min and max units\n"
        "    fix: raise the cap, or let the interventions that reduce it grow (max_units)"
    )


def test_semantic_problems_from_several_checks_are_reported_together(check: Check) -> None:
    error = check(
        "envelope: {reduction: 0.02}\n"
        "objective: {kind: net_benefit}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 1, min_units: 3, max_units: 2}\n"
    )
    assert [p.split("\n")[0] for p in shown(error)] == [
        "instance.yaml:5: envelope: gives no baseline and no amounts",
        "instance.yaml:6: objective.threshold: is missing: net benefit needs a "
        "cost-effectiveness threshold",
        "instance.yaml:8: interventions.a.min_units: min_units 3 is above max_units 2",
    ]
    assert str(error).startswith("3 problems in the input:\n")


# --- schema errors -------------------------------------------------------------------------------

VALID_ITEM = "  a: {name: A, unit: patient, unit_cost: 1, max_units: 1}\n"


def test_unknown_key_lists_the_allowed_fields(check: Check) -> None:
    error = check(
        "envelope: {baseline: 100, reductions: 0.02}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_costs: 1, unit_cost: 1, max_units: 1}\n"
    )
    assert shown(error) == [
        "instance.yaml:5: envelope.reductions: 'reductions' is not a known field\n"
        "    fix: check the spelling; allowed here: baseline, reduction, amounts",
        "instance.yaml:7: interventions.a.unit_costs: 'unit_costs' is not a known field\n"
        "    fix: check the spelling; allowed here: name, unit, unit_cost, full_cost, "
        "health_gain, tranches, effects, delivered_by, supply, indivisible, resource_use, "
        "baseline_units, min_units, max_units, ramp, source, notes",
    ]


def test_unknown_top_level_key_and_a_missing_one(check: Check) -> None:
    error = check(
        "interventions:\n" + VALID_ITEM,
        head="name: t\nbaseline_year: 2020\nhorizen: 2\n\n",
    )
    allowed = ", ".join(planner.Instance.model_fields)
    assert shown(error) == [
        "instance.yaml:1: horizon: is missing\n"
        "    fix: add it: number of plan years after the baseline (years)",
        "instance.yaml:3: horizen: 'horizen' is not a known field\n"
        f"    fix: check the spelling; allowed here: {allowed}",
    ]
    assert allowed.startswith("name, title, description, model, pathway, currency, health_unit,")


def test_missing_field(check: Check) -> None:
    error = check("interventions:\n  a: {name: A, unit_cost: 1, max_units: 1}\n")
    assert one_problem(error) == (
        "instance.yaml:6: interventions.a.unit: is missing\n"
        "    fix: add it: what one unit is (patient-year, contact, attendance, case) (text)"
    )


def test_negative_cost(check: Check) -> None:
    error = check(
        "interventions:\n"
        "  a:\n"
        "    name: A\n"
        "    unit: patient\n"
        "    unit_cost: -5\n"
        "    max_units: 1\n"
    )
    assert one_problem(error) == (
        "instance.yaml:9: interventions.a.unit_cost: must be at least 0.0 (got -5)\n"
        "    fix: use a value at least 0.0"
    )


def test_numbers_a_solver_cannot_take_are_refused(check: Check) -> None:
    # from 1e15 on, HiGHS refuses a matrix entry and CBC's numbers go wrong: such a number came
    # back as an unbounded plan or a solver error, not as a problem in the input
    error = check(
        "interventions:\n"
        "  a:\n"
        "    name: A\n"
        "    unit: patient\n"
        "    unit_cost: 1.0e+30\n"
        "    health_gain: -2.5e+15\n"
        "    max_units: 1000000000000000\n"
    )
    fix = (
        "    fix: a solver cannot take numbers this large: check for extra digits, or state "
        "money in thousands or millions (and every amount with it)"
    )
    assert shown(error) == [
        f"instance.yaml:9: interventions.a.unit_cost: must be smaller than 1e+15 in size "
        f"(got 1e+30)\n{fix}",
        f"instance.yaml:10: interventions.a.health_gain: must be smaller than 1e+15 in size "
        f"(got -2500000000000000.0)\n{fix}",
        f"instance.yaml:11: interventions.a.max_units: must be smaller than 1e+15 in size "
        f"(got 1000000000000000)\n{fix}",
    ]


@pytest.mark.parametrize(
    ("line", "where", "limit", "got"),
    [
        ("envelope: {baseline: 100, reduction: 2}", "envelope.reduction", "1.0", "2"),
        ("discount_rate: 3.5", "discount_rate", "1.0", "3.5"),
        ("partners: {gp: {name: GP, max_loss_share: 15}}", "partners.gp.max_loss_share", "1.0",
         "15"),
    ],
)  # fmt: skip
def test_share_above_one_hints_at_fractions(
    check: Check, line: str, where: str, limit: str, got: str
) -> None:
    error = check(line + "\ninterventions:\n" + VALID_ITEM, head=head_without("discount_rate"))
    assert one_problem(error) == (
        f"instance.yaml:5: {where}: must be at most {limit} (got {got})\n"
        f"    fix: use a value at most {limit}; shares are fractions: write 0.02 for 2%"
    )


@pytest.mark.parametrize(
    ("line", "where", "message", "fix"),
    [
        (
            "baseline_year: 2020a",
            "baseline_year",
            "must be a whole number (got '2020a')",
            "write a whole number such as 2016, no symbols or commas (unit: year)",
        ),
        (
            "horizon: 2.5",
            "horizon",
            "must be a whole number (got 2.5)",
            "write a whole number such as 2016, no symbols or commas (unit: years)",
        ),
        (
            "title: 12",
            "title",
            "has the wrong type (got 12)",
            "write string",
        ),
        (
            "population: many",
            "population",
            "must be a whole number (got 'many')",
            "write a whole number such as 2016, no symbols or commas (unit: persons)",
        ),
        (
            "objective: {kind: max_health}",
            "objective.kind",
            "must be one of 'health_gain', 'min_spend' or 'net_benefit' (got 'max_health')",
            "use one of the listed words",
        ),
        (
            "currency: £",
            "currency",
            "must be one of 'GBP', 'USD' or 'EUR' (got '£')",
            "use one of the listed words",
        ),
        (
            "partners: [gp, acute]",
            "partners",
            "must be a set of 'field: value' lines (got ['gp', 'acute'])",
            "indent the fields under it",
        ),
        (
            "envelope: 1000000",
            "envelope",
            "must be a set of 'field: value' lines (got 1000000)",
            "indent the fields under it",
        ),
        (
            "groups: {g: {members: a, rule: meet_need, need: 1}}",
            "groups.g.members",
            "must be a list (got 'a')",
            "write it as [a, b] or '- a' lines",
        ),
        (
            "groups: {g: {members: [], rule: meet_need, need: 1}}",
            "groups.g.members",
            "must not be empty",
            "give at least one entry",
        ),
        (
            "envelope: {baseline: .inf}",
            "envelope.baseline",
            "must be a finite number (got inf)",
            "write a real number",
        ),
        (
            "horizon: 0",
            "horizon",
            "must be at least 1 (got 0)",
            "use a value at least 1",
        ),
        (
            "objective: {kind: net_benefit, threshold: 0}",
            "objective.threshold",
            "must be more than 0.0 (got 0)",
            "use a value more than 0.0",
        ),
    ],
)
def test_wrong_type_or_value(check: Check, line: str, where: str, message: str, fix: str) -> None:
    field = line.split(":")[0]
    head = head_without(field) if field in HEAD else head_without("discount_rate")
    error = check(line + "\ninterventions:\n" + VALID_ITEM, head=head)
    assert one_problem(error) == f"instance.yaml:5: {where}: {message}\n    fix: {fix}"


def test_wrong_number_text_names_the_unit(check: Check) -> None:
    error = check(
        "interventions:\n  a: {name: A, unit: patient, unit_cost: '£100', max_units: 1}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:6: interventions.a.unit_cost: must be a number (got '£100')\n"
        "    fix: write a number such as 1200 or 0.05, no symbols or commas "
        "(unit: currency per unit)"
    )


def test_no_interventions(check: Check) -> None:
    error = check("interventions: {}\n")
    assert one_problem(error) == (
        "instance.yaml:5: interventions: must not be empty\n    fix: give at least one entry"
    )


def test_bad_name_pattern(check: Check) -> None:
    error = check(
        "interventions:\n  2nd_line: {name: A, unit: patient, unit_cost: 1, max_units: 1}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:6: interventions.2nd_line: '2nd_line' is not a valid name\n"
        "    fix: use letters, digits and underscores, starting with a letter (e.g. self_care)"
    )


def test_several_schema_problems_are_reported_at_once(check: Check) -> None:
    error = check(
        "envelope: {baseline: -1}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: -5, max_units: 1}\n"
        "  b: {name: B, unit: patient, unit_cost: 1, max_unit: 1}\n"
    )
    assert [p.split("\n")[0] for p in shown(error)] == [
        "instance.yaml:5: envelope.baseline: must be at least 0.0 (got -1)",
        "instance.yaml:7: interventions.a.unit_cost: must be at least 0.0 (got -5)",
        "instance.yaml:8: interventions.b.max_unit: 'max_unit' is not a known field",
    ]
    assert str(error).startswith("3 problems in the input:\ninstance.yaml:5: envelope.baseline")


# --- bugs: these fail until planner/validate.py is fixed -----------------------------------------


def test_schema_error_under_a_capitalised_name_keeps_the_name(check: Check) -> None:
    # Names may start with a capital (the Id pattern allows it), but _is_union_tag drops every
    # path part that starts with one, taking it for a pydantic union tag: the problem reads
    # "interventions.unit_cost" at the line of "interventions:" instead.
    error = check(
        "interventions:\n"
        "  Education:\n"
        "    name: A\n"
        "    unit: patient\n"
        "    unit_cost: -5\n"
        "    max_units: 1\n"
    )
    assert one_problem(error) == (
        "instance.yaml:9: interventions.Education.unit_cost: must be at least 0.0 (got -5)\n"
        "    fix: use a value at least 0.0"
    )


def test_schema_error_under_a_name_like_a_type_keeps_the_name(check: Check) -> None:
    # The same for names the pattern allows but _is_union_tag drops: float, int, str.
    error = check(
        "interventions:\n  float: {name: A, unit: patient, unit_cost: -5, max_units: 1}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:6: interventions.float.unit_cost: must be at least 0.0 (got -5)\n"
        "    fix: use a value at least 0.0"
    )


def test_wrong_effect_is_reported_once(check: Check) -> None:
    # An effect is a number, a {per_unit, lag} mapping or a list of them. A mapping with a bad
    # per_unit is one mistake, but pydantic reports a failure for each union member and all three
    # are shown ("must be a number", "must be a list", and the real one).
    error = check(
        "outcomes: {ae: {name: AE, unit: attendance, baseline: 10}}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 1, max_units: 1, effects: {ae: {per_unit: x}}}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:7: interventions.a.effects.ae.per_unit: must be a number (got 'x')\n"
        "    fix: write a number such as 1200 or 0.05, no symbols or commas "
        "(unit: outcome units per unit)"
    )


def test_wrong_delivery_share_is_reported_once_with_the_share_hint(check: Check) -> None:
    # delivered_by is a partner name or shares by partner. A share of 1.5 is one mistake; today it
    # also shows "interventions.a.delivered_by.constrained-str: has the wrong type ... fix: write
    # string" (a pydantic union tag in the path), and the share gets no "0.02 for 2%" hint.
    error = check(
        "partners: {gp: {name: GP}}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 1, max_units: 1, delivered_by: {gp: 1.5}}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:7: interventions.a.delivered_by.gp: must be at most 1.0 (got 1.5)\n"
        "    fix: use a value at most 1.0; shares are fractions: write 0.02 for 2%"
    )


def test_bad_partner_name_is_reported_once(check: Check) -> None:
    # delivered_by: a name or shares by partner. A bad name is one mistake; today the dict
    # branch of the union is reported first ("must be a set of 'field: value' lines",
    # misleading) and the real problem carries the union tag in its path:
    # "interventions.a.delivered_by.constrained-str".
    error = check(
        "interventions:\n  a: {name: A, unit: patient, unit_cost: 1, max_units: 1,"
        " delivered_by: A&E trust}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:6: interventions.a.delivered_by: 'A&E trust' is not a valid name\n"
        "    fix: use letters, digits and underscores, starting with a letter (e.g. self_care)"
    )


def test_savings_share_above_one_hints_at_fractions(check: Check) -> None:
    # savings.shares holds shares (unit "share by partner"), but _field_at finds no unit for a
    # dict entry, so the "0.02 for 2%" hint is missing.
    error = check(
        "savings: {rule: share, shares: {gp: 1.5}}\npartners: {gp: {name: GP}}\n"
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 1, max_units: 1, delivered_by: gp}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:5: savings.shares.gp: must be at most 1.0 (got 1.5)\n"
        "    fix: use a value at most 1.0; shares are fractions: write 0.02 for 2%"
    )


def test_check_ramp_from_zero(check: Check) -> None:
    error = check(
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 1, max_units: 10,"
        " ramp: {max_increase_share: 0.2}}\n"
    )
    assert one_problem(error) == (
        "instance.yaml:6: interventions.a.ramp.max_increase_share: limits growth to a share of "
        "last year's units, but there are no baseline units, so the service could never start\n"
        "    fix: give baseline_units, or limit growth in units with max_increase"
    )


def test_check_bounded_sees_gain_through_a_rising_outcome(check: Check) -> None:
    # a is free and gains nothing itself, but each unit adds an informed patient worth 0.01 QALY
    # and the outcome has no natural maximum: unbounded. b's outcome falls, so zero stops it.
    error = check(
        "interventions:\n"
        "  a: {name: A, unit: patient, unit_cost: 0, effects: {informed: 1}}\n"
        "  b: {name: B, unit: patient, unit_cost: 0, effects: {harm: -1}}\n"
        "outcomes:\n"
        "  informed: {name: Informed, unit: patient, baseline: 10, health_gain_per_event: 0.01}\n"
        "  harm: {name: Harm, unit: event, baseline: 10, health_gain_per_event: -1}\n"
    )
    assert one_problem(error) == f"instance.yaml:6: interventions.a: {UNBOUNDED}"
