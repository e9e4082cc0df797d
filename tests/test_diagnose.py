"""Infeasibility diagnosis on known answers: the smallest relaxation, its alternatives and an
irreducible conflicting set, for small instances solved by hand and for the bundled scenarios
that have no plan (their comments in instances/diabetes_lewisham.yaml say why).

Every solving test runs on HiGHS and on CBC (the `solver` fixture): the diagnosis must not
depend on which one ran. Points: £100,000 on a money rule, 1% of the bound on any other.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.diagnose import (
    ALTERNATIVE_COLUMNS,
    CONFLICT_COLUMNS,
    RELAXATION_COLUMNS,
    SUMMARY_FIELDS,
    Diagnosis,
    deletion_filter,
    diagnose,
)
from tests.conftest import Data, approx, instance, item, one, outcome, write

ROOT = Path(__file__).resolve().parent.parent
DIABETES = ROOT / "instances" / "diabetes_lewisham.yaml"
runner = CliRunner()


def run(tmp_path: Path, data: Data, solver: str, **options: Any) -> Diagnosis:
    return diagnose(write(tmp_path, data), solver=solver, **options)  # type: ignore[arg-type]


def alternative(found: Diagnosis, words: str) -> pd.DataFrame:
    return found.alternatives[found.alternatives["alternative"] == words]


def conflict_names(found: Diagnosis) -> list[str]:
    return list(found.conflict["constraint"])


# --- a floor the envelope cannot pay for ---------------------------------------------------


def short_of_money() -> Data:
    """A&E at most 900 from 2,000 needs 1,100 units of e (£10 each, one attendance fewer
    each): £11,000 against an envelope of £10,000, 100 units short. Either add £1,000 (0.01
    points) or let A&E be 100 higher (100 / 9 = 11.11 points: a point is 1% of 900)."""
    return instance(
        envelope={"amounts": {2021: 10_000}},
        outcomes={"ae": outcome(2000, unit="attendance")},
        interventions={"e": item(10, 0.01, max_units=2000, effects={"ae": -1})},
        floors={"ae_cap": {"outcome": "ae", "bound": "upper", "value": 900}},
    )


def test_the_smallest_relaxation_adds_the_missing_money(tmp_path: Path, solver: str) -> None:
    found = run(tmp_path, short_of_money(), solver)
    assert found.infeasible and found.summary["relaxation_possible"]
    assert list(found.relaxation.columns) == RELAXATION_COLUMNS
    row = one(found.relaxation, constraint="envelope__2021")
    assert (row["relaxed_by"], row["bound"], row["relaxed_bound"]) == approx((1000, 10_000, 11_000))
    assert row["points"] == approx(0.01)
    assert row["action"] == "add £1,000 to the 2021 envelope (to £11,000)"
    assert len(found.relaxation) == 1
    assert found.summary["relaxation_points"] == approx(0.01)


def test_each_kind_of_rule_alone_is_an_alternative(tmp_path: Path, solver: str) -> None:
    found = run(tmp_path, short_of_money(), solver)
    assert list(found.alternatives.columns) == ALTERNATIVE_COLUMNS
    # no partners, groups or minimums here: only the envelope and the floors can be relaxed
    assert list(found.alternatives["alternative"]) == ["the envelope", "outcome floors"]
    money = one(found.alternatives, alternative="the envelope")
    assert (money["relaxed_by"], money["total_points"]) == approx((1000, 0.01))
    floor = one(found.alternatives, alternative="outcome floors")
    assert (floor["relaxed_by"], floor["points"]) == approx((100, 100 / 9))
    assert floor["action"] == (
        "relax floor ae_cap (o at most 900 in 2021) by 100 attendances in 2021: at most 1,000"
    )


def test_weights_make_money_dearer_than_the_floor(tmp_path: Path, solver: str) -> None:
    # £1,000 at 2,000 times the weight: 20 points, against 11.11 for 100 more attendances
    found = run(tmp_path, short_of_money(), solver, weights={"envelope": 2000})
    row = one(found.relaxation, constraint="floor__ae_cap__2021")
    assert (row["relaxed_by"], row["relaxed_bound"], row["points"]) == approx((100, 1000, 100 / 9))
    # a row's own weight wins over its family's
    found = run(tmp_path, short_of_money(), solver, weights={"envelope": 2000, "envelope__2021": 1})
    assert list(found.relaxation["constraint"]) == ["envelope__2021"]


def test_the_conflict_is_the_floor_and_the_envelope(tmp_path: Path, solver: str) -> None:
    # 10 x + carry <= 10,000 and 2,000 - x <= 900 conflict whatever the sign of x, but only
    # while the money carried out of 2021 cannot be negative (borrowed from a later year)
    found = run(tmp_path, short_of_money(), solver)
    assert list(found.conflict.columns) == CONFLICT_COLUMNS
    assert conflict_names(found) == ["envelope__2021", "floor__ae_cap__2021", "carry__2021"]
    assert list(found.conflict["kind"]) == ["rule", "rule", "bound"]
    assert list(found.conflict["rule"]) == [
        "spend in 2021 within the envelope plus savings carried in",
        "o at most 900 in 2021",
        "money carried out of 2021 cannot be negative (no borrowing from later years)",
    ]
    assert list(found.conflict["relaxable"]) == [True, True, False]
    assert (found.summary["conflict_rules"], found.summary["conflict_bounds"]) == (2, 1)


# --- a shared need against a floor, with a variable bound ------------------------------------


def shared_need() -> Data:
    """a and b share a need of at most 100 units; o (baseline 0, +1 per unit of a) must be at
    least 150. Only because b cannot be negative is a at most 100: the conflict is the two rows
    and that bound. Relax the floor by 50 (50 / 1.5 = 33.3 points) or the need by 50 (50
    points); money (£1 a unit against £1m) is no part of it."""
    return instance(
        envelope={"amounts": {2021: 1_000_000}},
        outcomes={"o": outcome(0, unit="patient")},
        interventions={"a": item(1, 0.01, effects={"o": 1}), "b": item(1, 0.02)},
        groups={"g": {"members": ["a", "b"], "rule": "share_need", "need": 100}},
        floors={"o_floor": {"outcome": "o", "bound": "lower", "value": 150}},
    )


def test_a_two_row_conflict_names_its_rules_and_the_bound_it_needs(
    tmp_path: Path, solver: str
) -> None:
    found = run(tmp_path, shared_need(), solver)
    rules = found.conflict[found.conflict["kind"] == "rule"]
    assert list(rules["constraint"]) == ["floor__o_floor__2021", "group__g__2021"]
    assert list(rules["rule"]) == [
        "o at least 150 in 2021",
        "a, b together at most 100 patient in 2021",
    ]
    bounds = found.conflict[found.conflict["kind"] == "bound"]
    assert list(bounds["constraint"]) == ["units__b__2021"]
    assert list(bounds["rule"]) == ["units of b in 2021 cannot be negative"]
    assert list(bounds["sense"]) == [">="]


def test_the_floor_is_the_cheaper_relaxation_of_the_shared_need(
    tmp_path: Path, solver: str
) -> None:
    found = run(tmp_path, shared_need(), solver)
    row = one(found.relaxation, constraint="floor__o_floor__2021")
    assert (row["relaxed_by"], row["relaxed_bound"], row["points"]) == approx((50, 100, 100 / 3))
    assert row["action"] == (
        "relax floor o_floor (o at least 150 in 2021) by 50 patients in 2021: at least 100"
    )
    need = one(found.alternatives, alternative="minimum units and needs")
    assert (need["relaxed_by"], need["points"]) == approx((50, 50))
    assert need["action"] == "raise the shared need g by 50 patients in 2021, to 150"
    assert not bool(one(found.alternatives, alternative="the envelope")["possible"])
    assert one(found.alternatives, alternative="the envelope")["action"] == (
        "no relaxation of the envelope alone makes a plan"
    )


# --- a partner's risk limit against a floor --------------------------------------------------


def risk_limit_conflict() -> Data:
    """The hospital is paid £100 an A&E attendance and may lose at most £10,000 (100 fewer);
    the floor wants A&E at most 800 from 1,000 (200 fewer). Letting it lose £10,000 more costs
    0.1 points; relaxing the floor by 100 attendances 100 / 8 = 12.5."""
    return instance(
        envelope={"amounts": {2021: 1_000_000}},
        partners={"acute": {"name": "Acute", "max_loss": 10_000}, "gp": {"name": "GP"}},
        outcomes={"ae": outcome(1000, unit="attendance", tariff=100, paid_to="acute")},
        interventions={
            "e": item(50, 0.1, max_units=1000, delivered_by="gp", effects={"ae": -1}),
        },
        floors={"cap": {"outcome": "ae", "bound": "upper", "value": 800}},
    )


def test_a_risk_limit_conflict_lets_the_partner_lose_more(tmp_path: Path, solver: str) -> None:
    found = run(tmp_path, risk_limit_conflict(), solver)
    row = one(found.relaxation, constraint="risk_limit__acute__2021")
    assert (row["relaxed_by"], row["bound"], row["relaxed_bound"]) == approx(
        (10_000, 10_000, 20_000)
    )
    assert row["action"] == "let acute lose £10,000 more in 2021 (a loss of up to £20,000)"
    floor = one(found.alternatives, alternative="outcome floors")
    assert (floor["relaxed_by"], floor["points"]) == approx((100, 12.5))
    assert not bool(one(found.alternatives, alternative="the envelope")["possible"])
    assert conflict_names(found) == ["floor__cap__2021", "risk_limit__acute__2021"]
    assert list(found.conflict["rule"]) == [
        "o at most 800 in 2021",
        "Acute loses at most £10,000 in 2021",
    ]


def test_a_family_left_out_is_not_relaxed(tmp_path: Path, solver: str) -> None:
    found = run(tmp_path, risk_limit_conflict(), solver, families=["envelope", "outcome_floor"])
    assert list(found.relaxation["constraint"]) == ["floor__cap__2021"]
    assert list(found.alternatives["alternative"]) == ["the envelope", "outcome floors"]
    # the conflict is the same; the risk limit is now a rule the board does not relax
    assert list(found.conflict["relaxable"]) == [True, False]


# --- a MILP: an all-or-nothing programme -----------------------------------------------------


def all_or_nothing() -> Data:
    """A&E at most 950 from 1,000 needs 50 units of p, but p runs all 100 units (£1,000) or
    none, and the envelope is £900. The LP relaxation has a plan (50 units, £500); the MILP has
    none. Add £100, or relax the floor by 50 attendances (50 / 9.5 = 5.26 points)."""
    return instance(
        envelope={"amounts": {2021: 900}},
        outcomes={"ae": outcome(1000, unit="attendance")},
        interventions={"p": item(10, 0.01, max_units=100, indivisible=True, effects={"ae": -1})},
        floors={"cap": {"outcome": "ae", "bound": "upper", "value": 950}},
    )


def test_a_milp_is_diagnosed_as_a_milp(tmp_path: Path, solver: str) -> None:
    found = run(tmp_path, all_or_nothing(), solver)
    assert found.summary["problem"] == "MILP"
    row = one(found.relaxation, constraint="envelope__2021")
    assert (row["relaxed_by"], row["relaxed_bound"]) == approx((100, 1000))
    floor = one(found.alternatives, alternative="outcome floors")
    assert (floor["relaxed_by"], floor["relaxed_bound"]) == approx((50, 1000))
    # with the yes/no kept, all three rows are needed: drop the envelope and p runs, drop the
    # floor and it need not, drop all-or-nothing and 50 to 90 units will do; and no money may
    # be borrowed from a later year
    assert conflict_names(found) == [
        "envelope__2021",
        "floor__cap__2021",
        "indivisible__p__2021",
        "carry__2021",
    ]
    assert list(found.conflict["relaxable"]) == [True, True, False, False]


# --- no diagnosis where there is nothing to diagnose -----------------------------------------


def test_a_plan_that_exists_is_not_diagnosed(tmp_path: Path, solver: str) -> None:
    data = short_of_money()
    data["envelope"] = {"amounts": {2021: 11_000}}
    found = run(tmp_path, data, solver)
    assert not found.infeasible
    assert found.summary["status"] == "optimal"
    assert found.summary["message"] == "a plan exists: nothing to diagnose"
    assert found.summary["objective"] == approx(11)
    assert found.relaxation.empty and found.alternatives.empty and found.conflict.empty


def test_unbounded_is_not_infeasible(solver: str) -> None:
    data = instance(interventions={"a": item(0, 1)})  # schema only: a free gain, nothing limits it
    found = diagnose(planner.Instance.model_validate(data), solver=solver)  # type: ignore[arg-type]
    assert found.summary["status"] == "unbounded"
    assert found.summary["message"].startswith("No plan for 't': unbounded:")
    assert found.conflict.empty


def test_bad_families_and_weights_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, short_of_money())
    with pytest.raises(ValueError, match=r"^cannot relax 'outcome_maximum'; use any of envelope,"):
        diagnose(path, families=["outcome_maximum"])
    with pytest.raises(ValueError, match=r"^weight for 'nope': not a relaxable rule family"):
        diagnose(path, weights={"nope": 1})
    with pytest.raises(ValueError, match=r"^weight for 'envelope' must be a number above 0"):
        diagnose(path, weights={"envelope": 0})


# --- the deletion filter ---------------------------------------------------------------------


def test_the_deletion_filter_keeps_what_one_at_a_time_keeps_in_fewer_tests() -> None:
    # 20 rows and two conflicts, {3, 7} and {12, 15, 18}. One at a time: 0-11 go (the later
    # conflict remains), 12 stays, 13 and 14 go, 15 stays, 16 and 17 go, 18 stays, 19 goes.
    conflicts = [{3, 7}, {12, 15, 18}]
    calls = []

    def infeasible_without(dropped: list[int]) -> bool:
        calls.append(len(dropped))
        left = set(range(20)) - set(dropped)
        return any(c <= left for c in conflicts)

    assert deletion_filter(list(range(20)), infeasible_without) == [12, 15, 18]
    assert len(calls) < 20


# --- the bundled scenarios with no plan ------------------------------------------------------


@cache
def bundled(scenario: str, solver: str) -> Diagnosis:
    return diagnose(DIABETES, scenario, solver)  # type: ignore[arg-type]


def rule_rows(found: Diagnosis) -> set[tuple[str, str, int]]:
    rules = found.conflict[found.conflict["kind"] == "rule"]
    return {(r.family, r.subject, int(r.year)) for r in rules.itertuples()}


ENOUGH = 1 + 1e-6  # a relaxation is found to solver precision (CBC writes 8 digits)


def relaxed(scenario: str, frame: pd.DataFrame, factor: float, solver: str) -> str:
    """The status of the scenario with each row of `frame` relaxed by `factor` x its amount."""
    model = planner.build(planner.check_instance(DIABETES, scenario))
    for row in frame.itertuples():
        rule, constraint = next(v for v in model.registry.values() if v[0].name == row.constraint)
        rhs, change = -constraint.constant, row.relaxed_by * factor
        constraint.changeRHS(rhs - change if rule.sense == ">=" else rhs + change)
    return planner.solve(model, solver, prices=False).status.value  # type: ignore[arg-type]


def with_envelope(scenario: str, extra: dict[int, float]) -> planner.Instance:
    base = planner.check_instance(DIABETES, scenario)
    amounts = base.envelope_by_year() or {}
    amounts = {year: amount + extra.get(year, 0.0) for year, amount in amounts.items()}
    assert base.envelope is not None
    envelope = base.envelope.model_copy(
        update={"amounts": amounts, "baseline": None, "reduction": None}
    )
    return base.model_copy(update={"envelope": envelope})


def status(instance: planner.Instance, solver: str) -> str:
    return planner.solve(planner.build(instance), solver, prices=False).status.value  # type: ignore[arg-type]


def test_faster_cut_needs_6216_pounds_more_in_2016(solver: str) -> None:
    # The scenario says: "the envelope can fall at most about 2.98% a year". The least extra
    # money is £6,216.39, in 2016 (money carried forward makes an earlier year as good; ties go
    # to the later year). 3% a year gives £19,765,011 over 2014-2016; with £6,216.39 more the
    # same total comes from a 2.98459% cut: just above it there is no plan, just below one.
    found = bundled("faster_cut", solver)
    money = one(found.alternatives, alternative="the envelope")
    assert (money["constraint"], money["relaxed_by"]) == ("envelope__2016", approx(6216.38894))
    assert money["action"] == "add £6,216 to the 2016 envelope (to £6,394,927)"
    assert status(with_envelope("faster_cut", {2016: 6216.39}), solver) == "optimal"
    assert status(with_envelope("faster_cut", {2016: 6210.0}), solver) == "infeasible"
    total = 6_790_000 + 6_586_300 + 6_388_711 + 6216.39
    low, high = 0.02, 0.03
    for _ in range(50):
        rate = (low + high) / 2
        low, high = (
            (rate, high) if 7e6 * sum((1 - rate) ** t for t in (1, 2, 3)) > total else (low, rate)
        )
    assert round(low * 100, 2) == 2.98
    base = planner.check_instance(DIABETES, "faster_cut")
    assert base.envelope is not None
    for rate, expected in ((low - 2e-6, "optimal"), (low + 2e-6, "infeasible")):
        envelope = base.envelope.model_copy(update={"reduction": rate})
        assert status(base.model_copy(update={"envelope": envelope}), solver) == expected


def test_faster_cut_relaxations_are_each_the_least_that_makes_a_plan(solver: str) -> None:
    # Points: 0.397 of 11.27 admissions (1% of 1,127) is 0.0352, less than the £6,216 of
    # money (0.0622 points), so the board's cheapest step is the 2016 admissions target.
    found = bundled("faster_cut", solver)
    row = one(found.relaxation, constraint="floor__admissions_2016__2016")
    assert row["relaxed_by"] == pytest.approx(0.39698, abs=1e-5)
    assert row["points"] == pytest.approx(0.39698 / 11.27, abs=1e-5)
    assert len(found.relaxation) == 1
    risk = alternative(found, "partners' risk limits")
    assert list(risk["constraint"]) == ["risk_limit__community_pharmacy__2016"]
    for words, rows in [
        ("best", found.relaxation),
        *found.alternatives.groupby("alternative", sort=False),
    ]:
        if words != "best" and not bool(rows.iloc[0]["possible"]):
            continue
        assert relaxed("faster_cut", rows, ENOUGH, solver) == "optimal", words
        assert relaxed("faster_cut", rows, 0.999, solver) == "infeasible", words


def test_faster_cut_conflict_holds_money_targets_and_minimums(solver: str) -> None:
    found = bundled("faster_cut", solver)
    rules = rule_rows(found)
    assert {("envelope", "envelope", y) for y in (2014, 2015, 2016)} <= rules
    for floor in ("admissions_2015", "admissions_2016", "ae_2016"):  # the three reduction targets
        assert any(f == "outcome_floor" and s == floor for f, s, _ in rules), floor
    for subject in ("specialist_reviews", "retinal_screening", "gp_review"):
        assert any(s == subject for _, s, _ in rules), subject
    assert (found.summary["conflict_rules"], found.summary["conflict_bounds"]) == (40, 5)


def test_the_conflict_does_not_depend_on_the_solver() -> None:
    for scenario in ("faster_cut", "bcf_target_2016", "shared_savings", "sheet_admissions_floor"):
        highs, cbc = bundled(scenario, "highs"), bundled(scenario, "cbc")
        assert conflict_names(highs) == conflict_names(cbc), scenario
        assert list(highs.relaxation["constraint"]) == list(cbc.relaxation["constraint"])
        assert list(highs.relaxation["action"]) == list(cbc.relaxation["action"])
        assert list(highs.alternatives["action"]) == list(cbc.alternatives["action"])


def test_bcf_target_runs_into_the_register(solver: str) -> None:
    # The scenario says: only allocations that reach 97% by 2016 would make more people
    # "informed" than the 13,400 on the register. So no money and no risk limit helps; the
    # target itself must give, to 1,120.87 admissions (97.47% of 1,150), and the conflict holds
    # the target and the register's natural maximum.
    found = bundled("bcf_target_2016", solver)
    for words in ("the envelope", "partners' risk limits", "minimum units and needs"):
        assert not bool(one(found.alternatives, alternative=words)["possible"]), words
    row = one(found.relaxation, constraint="floor__admissions_2016__2016")
    assert row["relaxed_bound"] == pytest.approx(1120.871, abs=1e-3)
    assert len(found.relaxation) == 1
    assert relaxed("bcf_target_2016", found.relaxation, ENOUGH, solver) == "optimal"
    assert relaxed("bcf_target_2016", found.relaxation, 0.999, solver) == "infeasible"
    rules = rule_rows(found)
    assert ("outcome_floor", "admissions_2016", 2016) in rules
    assert ("outcome_maximum", "informed_patients", 2016) in rules


def test_shared_savings_is_short_in_2016_alone(solver: str) -> None:
    # The scenario says: with savings paid out, 2016 must live within its own £6,588,344, and
    # holding A&E and admissions at today's level is possible but bending them down by 2016 is
    # not. The conflict is all 2016 and holds the 2016 target, not "no rise". The least money
    # is £42,519.63 in 2016, of which the partners get their shares back if it is unspent (the
    # base plan carried about £138,000 into 2016; this is less).
    found = bundled("shared_savings", solver)
    rules = rule_rows(found)
    assert {year for _, _, year in rules} == {2016}
    assert ("envelope", "envelope", 2016) in rules
    assert ("outcome_floor", "admissions_2016", 2016) in rules
    assert not any(s in ("admissions_no_rise", "ae_no_rise") for _, s, _ in rules)
    money = one(found.alternatives, alternative="the envelope")
    assert (money["constraint"], money["relaxed_by"]) == ("envelope__2016", approx(42519.633))
    assert status(with_envelope("shared_savings", {2016: 42519.64}), solver) == "optimal"
    assert status(with_envelope("shared_savings", {2016: 42500.0}), solver) == "infeasible"


def test_the_sheet_admissions_floor_breaks_in_2014(solver: str) -> None:
    # The scenario says: in 2014 the envelope is already £134,740 lower while hospital
    # outpatients can shrink by only a quarter. The conflict is all 2014: the envelope, the
    # 97% floor, the outpatients' 25% ramp. It also says the services "could physically cut
    # admissions that far": they cannot. No amount of money makes a plan: like bcf_target_2016,
    # admissions cannot fall below 1,120.87 (97.47%) within the register's limit, so the
    # smallest relaxation is the floor itself, in every year.
    found = bundled("sheet_admissions_floor", solver)
    rules = rule_rows(found)
    assert {year for _, _, year in rules} == {2014}
    for rule in [
        ("envelope", "envelope", 2014),
        ("outcome_floor", "admissions_no_rise", 2014),
        ("ramp_down_share", "hospital_outpatient", 2014),
    ]:
        assert rule in rules
    assert not bool(one(found.alternatives, alternative="the envelope")["possible"])
    assert list(found.relaxation["constraint"]) == [
        f"floor__admissions_no_rise__{year}" for year in (2014, 2015, 2016)
    ]
    assert relaxed("sheet_admissions_floor", found.relaxation, ENOUGH, solver) == "optimal"


def test_the_conflict_is_irreducible(solver: str) -> None:
    # Checked apart from the filter: every rule and bound of the conflict, with every other
    # row lifted out of the way, admits no plan; without any one of them a plan exists.
    found = bundled("shared_savings", solver)
    model = planner.build(planner.check_instance(DIABETES, "shared_savings"))
    keep = set(found.conflict["constraint"])
    rows = {rule.name: (rule, row) for rule, row in model.registry.values()}
    variables = {v.name: v for v in model.problem.variables()}

    def lift(name: str) -> None:
        if name in variables:
            variables[name].lowBound = None
            return
        rule, row = rows[name]
        assert rule.sense != "=="
        row.changeRHS(-1e12 if rule.sense == ">=" else 1e12)

    saved = {name: -row.constant for name, (_, row) in rows.items()}
    for name in rows:
        if name not in keep:
            lift(name)
    assert planner.solve(model, solver, prices=False).status.value == "infeasible"  # type: ignore[arg-type]
    for name in sorted(keep):
        lift(name)
        assert planner.solve(model, solver, prices=False).status.value == "optimal", name  # type: ignore[arg-type]
        if name in variables:
            variables[name].lowBound = 0
        else:
            rows[name][1].changeRHS(saved[name])


# --- the command line ------------------------------------------------------------------------


TIGHT = """\
name: tight
baseline_year: 2020
horizon: 1
discount_rate: 0
envelope: {amounts: {2021: 10000}}
interventions:
  e: {name: Education, unit: place, unit_cost: 10, health_gain: 0.01, max_units: 2000,
      effects: {ae: -1}}
outcomes:
  ae: {name: A&E attendances, unit: attendance, baseline: 2000}
floors:
  ae_cap: {outcome: ae, bound: upper, value: 900, description: A&E attendances at most 900}
scenarios:
  funded:
    envelope: {amounts: {2021: 11000}}
"""


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_solve_prints_a_short_diagnosis_and_writes_nothing(tmp_path: Path, solver: str) -> None:
    path = write(tmp_path, TIGHT, "tight.yaml")
    out = tmp_path / "out"
    result = runner.invoke(app, ["solve", str(path), "--solver", solver, "--out", str(out)])
    assert result.exit_code == 3
    assert not out.exists()
    assert result.stdout == ""
    text = result.stderr
    assert text.startswith("No plan: No plan for 'tight': infeasible:")
    assert (
        "Smallest relaxation that makes a plan (1 change, 0.01 points):\n"
        "  add £1,000 to the 2021 envelope (to £11,000)\n" in text
    )
    assert "  the envelope: add £1,000 to the 2021 envelope (to £11,000)\n" in text
    assert (
        "  outcome floors: relax floor ae_cap (A&E attendances at most 900) by 100 "
        "attendances in 2021: at most 1,000\n" in text
    )
    assert (
        "Conflicting rules (irreducible): envelope 2021; floors ae_cap; and 1 variable "
        "bound\n" in text
    )
    suffix = "" if solver == "highs" else " --solver cbc"
    assert text.rstrip().endswith(f"tight.yaml{suffix}")
    assert len(text.strip().splitlines()) <= 8


def test_diagnose_prints_the_tables(tmp_path: Path) -> None:
    path = write(tmp_path, TIGHT, "tight.yaml")
    result = runner.invoke(app, ["diagnose", str(path)])
    assert result.exit_code == 0, result.output
    text = re.sub(r"\s+", " ", result.stdout)
    assert "Smallest relaxation that makes a plan: 0.01 points" in text
    assert "add £1,000 to the 2021 envelope (to £11,000) £1,000 0.01" in text
    assert "the envelope add £1,000 to the 2021 envelope (to £11,000) 0.01" in text
    assert "outcome floors relax floor ae_cap (A&E attendances at most 900) by 100" in text
    assert "Conflicting rules: 2 rules and 1 variable bound that together" in text
    assert (
        "envelope envelope 2021 spend in 2021 within the envelope plus savings carried in "
        "yes" in text
    )
    assert "outcome_floor ae_cap 2021 A&E attendances at most 900 yes" in text


def test_diagnose_says_when_a_plan_exists(tmp_path: Path) -> None:
    path = write(tmp_path, TIGHT, "tight.yaml")
    result = runner.invoke(app, ["diagnose", str(path), "--scenario", "funded"])
    assert result.exit_code == 0, result.output
    assert "a plan exists: nothing to diagnose" in result.stdout


def test_diagnose_refuses_bad_input(tmp_path: Path) -> None:
    path = write(tmp_path, TIGHT, "tight.yaml")
    result = runner.invoke(app, ["diagnose", str(path), "--relax", "outcome_maximum"])
    assert result.exit_code == 2
    assert result.stderr.startswith("--relax: cannot relax 'outcome_maximum'; use any of")
    result = runner.invoke(app, ["diagnose", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["diagnose", str(path), "--scenario", "nope"])
    assert result.exit_code == 2
    assert "nope" in result.stderr


def test_diagnose_relaxes_what_it_is_told(tmp_path: Path) -> None:
    path = write(tmp_path, TIGHT, "tight.yaml")
    result = runner.invoke(app, ["diagnose", str(path), "--relax", "outcome_floor"])
    assert result.exit_code == 0, result.output
    text = re.sub(r"\s+", " ", result.stdout)
    assert "Smallest relaxation that makes a plan: 11.11 points" in text
    alternatives = text.split("Alternatives:")[1].split("Conflicting rules")[0]
    assert alternatives.split("─ ")[-1] == (
        "outcome floors relax floor ae_cap (A&E attendances at most 900) by 100 attendances in "
        "2021: at most 1,000 11.11 "
    )
    assert (
        "envelope envelope 2021 spend in 2021 within the envelope plus savings carried in "
        "outcome_floor" in text
    )


# --- the documentation -----------------------------------------------------------------------


def documented(section: str) -> list[str]:
    """The first column of the table under `### section` in docs/diagnosis.md."""
    text = (ROOT / "docs" / "diagnosis.md").read_text(encoding="utf-8")
    body = text.split(f"\n### {section}\n", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in body.splitlines() if line.startswith("| `")]
    return [re.match(r"\| `([^`]+)`", line).group(1) for line in rows]  # type: ignore[union-attr]


def test_the_tables_are_documented_in_order(tmp_path: Path) -> None:
    assert documented("relaxation") == RELAXATION_COLUMNS
    assert documented("alternatives") == ALTERNATIVE_COLUMNS
    assert documented("conflict") == CONFLICT_COLUMNS
    found = run(tmp_path, short_of_money(), "highs")
    assert documented("summary") == list(found.summary) == SUMMARY_FIELDS
