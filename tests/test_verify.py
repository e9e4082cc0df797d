"""Every plan is verified independently of the model that made it (planner/verify.py).

Each bundled instance and scenario, and an instance with every constraint family under every
objective, verifies on HiGHS and on CBC: every rule recomputed from the inputs holds, the
verifier writes exactly the model's rows, and the dual objective from the plan's prices equals
the objective. Deliberately corrupted solutions, tables, objectives and prices are caught, and
the error names the rule, the year and how far off it is in business units (figures by hand in
the comments).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.verify import NOT_RULES, VerificationError, formulate, summary_line, verify
from tests.conftest import Data, instance, item, write
from tests.test_docs import EVERY_FAMILY
from tests.test_instances import EXPECTED, ROOT, cases

ROW_CHECKS = (*NOT_RULES, "variable_bounds")


def solved(data: Data, tmp_path: Path, solver: str) -> tuple[planner.Model, planner.Solution]:
    model = planner.build(planner.check_instance(write(tmp_path, data)))
    return model, planner.solve(model, solver)  # type: ignore[arg-type]


def rows_checked(verification: Any) -> set[str]:
    return {c.rule for c in verification.checks if c.family not in ROW_CHECKS}


# --- every plan verifies -----------------------------------------------------------------------


OPTIMAL = [(name, s) for name, s in cases() if EXPECTED[name][s]["status"] == "optimal"]


@pytest.mark.parametrize(("name", "scenario"), OPTIMAL)
def test_every_bundled_plan_verifies(name: str, scenario: str, solver: str) -> None:
    path = ROOT / "instances" / f"{name}.yaml"
    checked = planner.check_instance(path, None if scenario == "base" else scenario)
    model = planner.build(checked)
    plan = planner.make_plan(model, planner.solve(model, solver))  # type: ignore[arg-type]
    s = plan.summary
    assert s["verified"] is True
    assert s["rules_checked"] == s["constraints"]
    assert s["dual_objective"] == pytest.approx(s["objective"], rel=1e-6)
    verification = verify(checked, plan)
    assert verification.ok
    assert verification.unmatched == []
    # the verifier writes exactly the model's rows, named as the model names them
    assert rows_checked(verification) == set(plan.shadow_prices["constraint"])
    # solver rounding only: far inside the tolerance of 1e-6 of each rule's magnitude
    assert max(c.ratio for c in verification.checks) < 0.1


OBJECTIVES: dict[str, dict[str, Any]] = {
    "health_gain": {},
    "min_spend": {"objective": {"kind": "min_spend"}},
    "net_benefit": {"objective": {"kind": "net_benefit", "threshold": 20_000}},
    "shared_savings": {"savings": {"rule": "share", "shares": {"hospital": 0.5, "charity": 0.5}}},
}


@pytest.mark.parametrize("variant", OBJECTIVES)
def test_every_family_verifies_under_every_objective(
    variant: str, solver: str, tmp_path: Path
) -> None:
    data = yaml.safe_load(EVERY_FAMILY) | OBJECTIVES[variant]
    model, solution = solved(data, tmp_path, solver)
    plan = planner.make_plan(model, solution)
    verification = verify(model.instance, plan)
    assert verification.ok and verification.unmatched == []
    families = {rule.family for rule, _ in model.registry.values()}
    assert len(families) == 25  # every family of build.FAMILIES has rows here
    assert {row.family for row in formulate(model.instance).rows} == families
    assert rows_checked(verification) == set(plan.shadow_prices["constraint"])
    assert verification.dual_objective == pytest.approx(plan.summary["objective"], rel=1e-6)
    assert plan.summary["problem"] == "MILP"  # duality on the LP with the choices fixed


# --- corrupted solutions are caught ------------------------------------------------------------


def education(envelope: float = 12_000) -> Data:
    """Education at £120 for 0.012 QALY a place, within a £12,000 envelope: 100 places,
    1.2 QALY; an extra £1 of envelope buys 0.0001 QALY (dual of envelope__2021)."""
    return instance(
        envelope={"amounts": {2021: envelope}},
        interventions={"education": item(120, 0.012, name="Education", unit="place")},
    )


def test_one_unit_too_many_is_caught_with_the_rule_year_and_pounds(
    tmp_path: Path, solver: str
) -> None:
    # One more place than the solver chose: spend £12,120 against £12,000, £120 over; the
    # plan would claim 1.212 QALY where the solver's objective is 1.2.
    model, solution = solved(education(), tmp_path, solver)
    model.unit_variables[("education", 2021)][0].varValue += 1
    with pytest.raises(VerificationError) as caught:
        planner.make_plan(model, solution)
    assert caught.value.status == "error"
    message = str(caught.value)
    assert message.startswith("the plan for 't' failed verification and is not shown: ")
    assert (
        "  envelope 2021: spend £12,120 exceeds the envelope £12,000 plus savings carried in "
        "£0 by £120 (envelope__2021)"
    ) in message.splitlines()
    assert (
        "  objective: the plan states 1.2 QALY, its decisions give 1.212 QALY"
    ) in message.splitlines()
    failed = caught.value.verification.failed
    envelope = next(c for c in failed if c.family == "envelope")
    assert (envelope.rule, envelope.year, envelope.unit) == ("envelope__2021", 2021, "£")
    assert envelope.amount == pytest.approx(120)
    # the tables are made from the same corrupted values, so they agree with each other; the
    # objective the solver stated does not, nor does the dual objective from its prices
    assert failed[0] is envelope  # broken rules are listed before wrong figures
    assert sorted(c.family for c in failed[1:]) == ["duality", "objective"]


def test_a_corrupted_objective_is_caught(tmp_path: Path, solver: str) -> None:
    model, solution = solved(education(), tmp_path, solver)
    wrong = dataclasses.replace(solution, objective=(solution.objective or 0.0) + 1)
    with pytest.raises(VerificationError) as caught:
        planner.make_plan(model, wrong)
    [check] = caught.value.verification.failed
    assert check.family == "objective"
    assert check.message == "objective: the plan states 2.2 QALY, its decisions give 1.2 QALY"
    assert check.amount == pytest.approx(1)


def test_a_price_of_the_wrong_sign_is_caught_by_duality(tmp_path: Path, solver: str) -> None:
    # The envelope's dual is 0.0001 QALY per £; flipped to -0.0001, the dual objective is
    # 12,000 x -0.0001 = -1.2 QALY, not 1.2; each place would then gain 0.012 + 120 x 0.0001 =
    # 0.024 QALY at the stated prices, and carrying £1 into 2022 0.0001: neither has a limit.
    model, solution = solved(education(), tmp_path, solver)
    key = ("envelope", (2021,))
    assert solution.duals[key] == pytest.approx(0.0001)
    wrong = dataclasses.replace(solution, duals={**solution.duals, key: -0.0001})
    with pytest.raises(VerificationError) as caught:
        planner.make_plan(model, wrong)
    messages = {c.rule: c.message for c in caught.value.verification.failed}
    assert set(messages) == {
        "envelope__2021",
        "units__education__2021",
        "carry__2021",
        "dual objective",
    }
    assert messages["envelope__2021"] == (
        "duality: the shadow price of envelope__2021 is -0.0001, of the wrong sign for a <= row"
    )
    assert messages["units__education__2021"].startswith(
        "duality: each unit more of units__education__2021 would improve the objective by "
        "0.024 QALY at the stated prices"
    )
    assert messages["dual objective"] == (
        "duality: the dual objective from the plan's shadow prices is -1.2 QALY, the objective "
        "1.2 QALY"
    )


def carry() -> Data:
    """tests/test_families.py's carry-forward case: a (£1,000, 1 QALY, at most 100) and b
    (£1,000, 0.5 QALY); £300k then £50k; discount 25%. Plan: a 100 and 100, b 150 and 0, £50k
    carried into 2022. Objective 100 + 75 + 0.8 x 100 = 255."""
    return instance(
        horizon=2,
        discount_rate=0.25,
        envelope={"amounts": {2021: 300_000, 2022: 50_000}},
        interventions={"a": item(1000, 1, max_units=100), "b": item(1000, 0.5)},
    )


def tampered(plan: planner.Plan, table: str, match: dict[str, Any], **values: Any) -> planner.Plan:
    """A copy of `plan` with the row of `table` matching `match` changed."""
    frame = getattr(plan, table).copy()
    mask = True
    for column, value in match.items():
        mask = mask & (frame[column] == value)
    for column, value in values.items():
        frame.loc[mask, column] = value
    return plan.with_tables(**{table: frame})


def test_spending_a_carried_pound_twice_is_caught_in_the_later_year(
    tmp_path: Path, solver: str
) -> None:
    # One more unit of b in 2021 costs £1,000: only £49,000 is left to carry, and 2022 spends
    # £100,000 against £50,000 + £49,000, £1,000 over. 2021 itself is within its envelope.
    model, solution = solved(carry(), tmp_path, solver)
    plan = planner.make_plan(model, solution)
    assert plan.summary["objective"] == pytest.approx(255)
    broken = tampered(plan, "allocation", {"intervention": "b", "year": 2021}, units=151.0)
    failed = {c.rule: c for c in verify(model.instance, broken).failed}
    assert failed["envelope__2022"].message == (
        "envelope 2022: spend £100,000 exceeds the envelope £50,000 plus savings carried in "
        "£49,000 by £1,000 (envelope__2022)"
    )
    assert "envelope__2021" not in failed
    assert failed["objective"].message == (
        "objective: the plan states 255 QALY, its decisions give 255.5 QALY"
    )


def test_a_broken_floor_is_named_in_events(tmp_path: Path, solver: str) -> None:
    # Education (£100) avoids 0.5 A&E attendances a place; attendances (baseline 400) must fall
    # to 360: at least 80 places. With £10,000 the plan buys 100 places (350 attendances). Cut
    # to 70 places in the table: 365 attendances, 5 over the floor of 360.
    data = instance(
        envelope={"amounts": {2021: 10_000}},
        interventions={"education": item(100, 0.01, effects={"ae": -0.5})},
        outcomes={"ae": {"name": "A&E attendances", "unit": "attendance", "baseline": 400}},
        floors={"ae_cap": {"outcome": "ae", "bound": "upper", "value": 360}},
    )
    model, solution = solved(data, tmp_path, solver)
    plan = planner.make_plan(model, solution)
    broken = tampered(plan, "allocation", {"intervention": "education"}, units=70.0)
    failed = {c.rule: c for c in verify(model.instance, broken).failed}
    floor = failed["floor__ae_cap__2021"]
    assert floor.message == (
        "outcome_floor ae_cap 2021: A&E attendances is 365 attendance, more than the most "
        "allowed 360 attendance, by 5 attendance (floor__ae_cap__2021)"
    )
    assert (floor.family, floor.year, floor.unit, floor.amount) == (
        "outcome_floor",
        2021,
        "attendance",
        pytest.approx(5),
    )
    # the outcomes table still says 350: the reported level is caught too
    assert failed["level of ae in 2021"].message == (
        "reported: level of ae in 2021: the plan states 350 attendance, its decisions give 365 "
        "attendance (off by 15 attendance)"
    )


def test_an_unchosen_option_that_supplies_is_caught(tmp_path: Path, solver: str) -> None:
    # A clinic (at most 160 contacts, 0.01 QALY each) made by the consortium (£4 a contact plus
    # £100 a year) or bought from the trust (£6); £900. Make: 160 contacts for £740; buy: 150.
    # The plan makes it. Marked not chosen in the supply table, its 160 contacts break the
    # option's "none unless chosen" row, and its cost (£640 without the fixed cost) is not the
    # £740 the plan states.
    options = {
        "make": {
            "provider": "consortium",
            "mode": "make",
            "unit_price": 4,
            "fixed_cost": 100,
            "capacity": 200,
        },
        "buy": {"provider": "trust", "mode": "buy", "unit_price": 6},
    }
    data = instance(
        envelope={"amounts": {2021: 900}},
        partners={"consortium": {"name": "Consortium"}, "trust": {"name": "Trust"}},
        interventions={
            "clinic": item(
                5,
                0.01,
                name="Clinic",
                unit="contact",
                max_units=160,
                supply={"choice": "exclusive", "options": options},
            )
        },
    )
    model, solution = solved(data, tmp_path, solver)
    plan = planner.make_plan(model, solution)
    assert plan.summary["objective"] == pytest.approx(1.6)
    broken = tampered(plan, "supply", {"option": "make", "year": 2021}, chosen=False)
    failed = {c.rule: c.message for c in verify(model.instance, broken).failed}
    assert failed["option_capacity__clinic__make__2021"] == (
        "option_capacity clinic.make 2021: units of Clinic through make, less 160 if chosen is "
        "160 contact, more than the most allowed 0 contact, by 160 contact "
        "(option_capacity__clinic__make__2021)"
    )
    assert failed["cost of clinic.make in 2021"] == (
        "reported: cost of clinic.make in 2021: the plan states £740, its decisions give £640 "
        "(off by £100)"
    )


def test_part_of_an_indivisible_programme_is_caught(tmp_path: Path, solver: str) -> None:
    # A programme of 60 places at £10 (0.05 QALY each) within £1,000: funded whole. Reported
    # with 40 places, it is neither none nor all 60: 20 short.
    data = instance(
        envelope={"amounts": {2021: 1000}},
        interventions={"b": item(10, 0.05, name="Programme b", max_units=60, indivisible=True)},
    )
    model, solution = solved(data, tmp_path, solver)
    plan = planner.make_plan(model, solution)
    broken = tampered(plan, "allocation", {"intervention": "b"}, units=40.0)
    failed = {c.rule: c.message for c in verify(model.instance, broken).failed}
    assert failed["indivisible__b__2021"] == (
        "indivisible b 2021: Programme b has 40 patient, neither none nor all 60 patient, by 20 "
        "patient (indivisible__b__2021)"
    )


def test_a_plan_table_with_a_row_missing_is_caught(tmp_path: Path, solver: str) -> None:
    model, solution = solved(education(), tmp_path, solver)
    plan = planner.make_plan(model, solution)
    broken = plan.with_tables(allocation=plan.allocation.iloc[0:0])
    messages = [c.message for c in verify(model.instance, broken).failed]
    assert "reported: the allocation table has no row for education 2021" in messages


# --- what the user sees ------------------------------------------------------------------------


def test_the_summary_and_console_say_verified(tmp_path: Path) -> None:
    path = write(tmp_path, education())
    plan = planner.solve_instance(path)
    s = plan.summary
    assert list(s)[-6:] == [
        "verified",
        "rules_checked",
        "largest_violation",
        "largest_violation_unit",
        "largest_violation_rule",
        "dual_objective",
    ]
    assert s["rules_checked"] == 1  # envelope__2021
    assert s["dual_objective"] == pytest.approx(1.2)
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["solve", str(path), "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert summary_line(s) in run.output
    assert summary_line(s).startswith("Verified: 1 rule recomputed from the inputs; ")
    assert summary_line(s).endswith("; dual objective 1.2 QALY, equal to the objective.")


def test_a_plan_that_fails_verification_exits_6_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    solve = planner.solve

    def corrupted(model: planner.Model, *args: Any, **kwargs: Any) -> planner.Solution:
        solution = solve(model, *args, **kwargs)
        model.unit_variables[("education", 2021)][0].varValue += 1
        return solution

    monkeypatch.setattr(planner, "solve", corrupted)
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["solve", str(write(tmp_path, education())), "--out", str(out)])
    assert run.exit_code == 6
    assert "No plan: the plan for 't' failed verification and is not shown" in run.output
    assert "envelope 2021: spend £12,120 exceeds the envelope £12,000" in run.output
    assert "Traceback" not in run.output
    assert not out.exists()
