"""The verifier at scale (planner/verify.py): the model written on whole arrays, checks as arrays.

A national plan has hundreds of thousands of rows, so the verifier writes its model family by
family as sparse matrices (`Exprs`, summed by `total`) and builds a Check with its sentence only
for a check that fails or that the summary names. These tests pin down what that must keep:
the arithmetic of writing each expression term by term, exactly which rows fail among many and
in which order they are listed, the first of equally broken rules as the largest violation,
prices matched whatever the order of the `shadow_prices` table, and supply options by the dozen
(figures by hand in the comments).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import planner
from planner.verify import (
    MAX_LISTED,
    Exprs,
    VerificationError,
    formulate,
    plus,
    total,
    verified,
    verify,
)
from tests.conftest import Data, instance, item, write
from tests.test_verify import tampered

# --- the arithmetic ---------------------------------------------------------------------------


def test_a_sum_adds_each_column_in_the_order_met_and_constants_from_zero() -> None:
    # x0 and x1: 0.1 x0, then 0.2 x0 + 3, then x1 - 1.5. Written term by term, x0's coefficient
    # is (0 + 0.1) + 0.2 = 0.30000000000000004 (not 0.3), x1's 1, the constant 0 + 3 - 1.5.
    x = Exprs.columns([0, 0, 1])
    parts = Exprs.concat(
        [
            x.take([0]).scale(0.1),
            plus(x.take([1]).scale(0.2), Exprs.constants([3.0])),
            plus(x.take([2]), Exprs.constants([-1.5])),
        ]
    )
    whole = total(1, [(parts, np.zeros(3))])
    assert whole.terms(0) == {0: 0.1 + 0.2, 1: 1.0}
    assert whole.terms(0)[0] == 0.30000000000000004
    assert whole.constant.tolist() == [1.5]
    # at x0 = 10, x1 = 4: 1.5 + fsum(3.0000000000000004, 4)
    assert whole.values(np.array([10.0, 4.0])) == [1.5 + math.fsum([0.30000000000000004 * 10, 4.0])]


def test_sums_by_group_keep_each_groups_order() -> None:
    # Five pieces into two sums: sum 0 gets 2 x0 and 5 x1, sum 1 gets 1 x2, 7 x0 and 1; in the
    # order given, whatever the pieces between them.
    pieces = Exprs.concat(
        [
            Exprs.columns([0]).scale(2.0),
            Exprs.columns([2]),
            Exprs.columns([1]).scale(5.0),
            Exprs.columns([0]).scale(7.0),
            Exprs.constants([1.0]),
        ]
    )
    sums = total(2, [(pieces, [0, 1, 0, 1, 1])])
    assert list(sums.terms(0).items()) == [(0, 2.0), (1, 5.0)]
    assert list(sums.terms(1).items()) == [(2, 1.0), (0, 7.0)]
    assert sums.constant.tolist() == [0.0, 1.0]


# --- many rows, a few broken -------------------------------------------------------------------

PROGRAMMES = 60


def programmes() -> Data:
    """60 programmes a00..a59 at £10 a patient for 0.01 QALY each, at most 100 patients a
    year, over 2021-2022, with £60,000 a year: exactly enough for all of them at capacity.
    Plan: every programme at 100 both years, 120 QALY (no discounting); 122 rows (60 x 2
    capacities, 2 envelopes)."""
    return instance(
        horizon=2,
        envelope={"amounts": {2021: 60_000, 2022: 60_000}},
        interventions={
            f"a{k:02d}": item(10, 0.01, name=f"Programme {k}", max_units=100)
            for k in range(PROGRAMMES)
        },
    )


def test_among_many_rows_exactly_the_broken_ones_are_listed_furthest_first(
    tmp_path: Path, solver: str
) -> None:
    checked = planner.check_instance(write(tmp_path, programmes()))
    model = planner.build(checked)
    plan = planner.make_plan(model, planner.solve(model, solver))  # type: ignore[arg-type]
    assert plan.summary["objective"] == pytest.approx(120)
    assert plan.summary["rules_checked"] == 122
    # 2022 in the table: a07 and a41 at 110 (10 over, each 10 / (1e-6 x 110) = 90,909 times its
    # tolerance), a23 at 103 (3 / (1e-6 x 103) = 29,126 times); 23 patients more at £10 is
    # £230 over the 2022 envelope (230 / (1e-6 x 60,000) = 3,833 times)
    broken = plan
    for name, units in (("a07", 110.0), ("a41", 110.0), ("a23", 103.0)):
        broken = tampered(broken, "allocation", {"intervention": name, "year": 2022}, units=units)
    verification = verify(checked, broken)
    failed = verification.failed
    assert [c.message for c in failed[:4]] == [
        "capacity a07 2022: Programme 7 (patients) is 110 patient, more than the most allowed "
        "100 patient, by 10 patient (capacity__a07__2022)",
        "capacity a41 2022: Programme 41 (patients) is 110 patient, more than the most allowed "
        "100 patient, by 10 patient (capacity__a41__2022)",
        "capacity a23 2022: Programme 23 (patients) is 103 patient, more than the most allowed "
        "100 patient, by 3 patient (capacity__a23__2022)",
        "envelope 2022: spend £60,230 exceeds the envelope £60,000 plus savings carried in £0 "
        "by £230 (envelope__2022)",
    ]
    # then the wrong figures: spend on each (£1,000 stated, £1,100 or £1,030 implied), the
    # total spend (£120,000 against £120,230), the health gain and objective (120 against
    # 120.23) and the dual objective (still 120)
    assert {c.rule for c in failed[4:]} == {
        "spend on a07 in 2022",
        "spend on a41 in 2022",
        "spend on a23 in 2022",
        "total spend",
        "discounted health gain",
        "objective",
        "dual objective",
    }
    assert (
        "reported: spend on a41 in 2022: the plan states £1,000, its decisions give £1,100 "
        "(off by £100)"
    ) in [c.message for c in failed]
    # of two rules broken equally, the first in the model's order is the largest violation
    largest = verification.largest
    assert largest is not None
    assert (largest.rule, largest.amount, largest.unit) == ("capacity__a07__2022", 10.0, "patient")
    assert verification.summary()["largest_violation_rule"] == "capacity__a07__2022"
    # every check built one by one says the same as the arrays did
    checks = verification.checks
    assert sorted(c.rule for c in checks if c.failed) == sorted(c.rule for c in failed)
    kinds = [c.family for c in checks]
    # 120 units below none, 122 rows, 120 spends plus total spend and health gain reported
    assert (kinds.count("variable_bounds"), kinds.count("capacity"), kinds.count("envelope")) == (
        120,
        120,
        2,
    )
    assert kinds.count("reported") == 122
    # at most ten are listed in the error, then how many more
    with pytest.raises(VerificationError) as caught:
        verified(checked, broken)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("the plan for 't' failed verification and is not shown: 11 checks")
    assert len(lines) == 1 + MAX_LISTED + 1
    assert lines[-1] == "  ... and 1 more"
    assert lines[1] == "  " + failed[0].message


def test_prices_in_another_order_give_the_same_dual_objective(tmp_path: Path, solver: str) -> None:
    # The plan lists prices in the model's order; listed backwards, and with a price of 0 for a
    # row the verifier does not write, each row still finds its price by family, subject and
    # year: the same dual objective (120) and the same checks, the extra row reported unmatched.
    checked = planner.check_instance(write(tmp_path, programmes()))
    model = planner.build(checked)
    plan = planner.make_plan(model, planner.solve(model, solver))  # type: ignore[arg-type]
    in_order = verify(checked, plan)
    prices = plan.shadow_prices
    extra = prices.iloc[[0]].assign(subject="elsewhere", constraint="extra__2021", dual=0.0)
    backwards = pd.concat([prices.iloc[::-1], extra], ignore_index=True)
    reordered = verify(checked, plan.with_tables(shadow_prices=backwards))
    assert reordered.dual_objective == in_order.dual_objective
    assert reordered.dual_objective == pytest.approx(120, rel=1e-9)
    assert in_order.unmatched == []
    assert reordered.unmatched == ["not recomputed: extra__2021"]
    assert [(c.rule, c.amount, c.tolerance) for c in reordered.checks] == [
        (c.rule, c.amount, c.tolerance) for c in in_order.checks
    ]


# --- supply options by the dozen ----------------------------------------------------------------

CLINICS = 30


def clinics() -> Data:
    """30 clinics, each up to 100 contacts a year at 0.01 QALY, made by the consortium (£4 a
    contact plus £100 a year, up to 200) or bought from the trust (£6), one or the other, over
    2021-2022, with £15,000 a year: making all 30 at 100 costs 30 x £500 = £15,000, buying
    any costs £100 more. Plan: all made, 60 QALY. Rows: 2 envelopes, then each year 30
    capacities, 60 option capacities (both options have a yes/no: the choice is exclusive)
    and 30 exclusive choices: 2 + 2 x 120 = 242."""
    options = {
        "make": {"provider": "consortium", "mode": "make", "unit_price": 4, "fixed_cost": 100,
                 "capacity": 200},
        "buy": {"provider": "trust", "mode": "buy", "unit_price": 6},
    }  # fmt: skip
    return instance(
        horizon=2,
        envelope={"amounts": {2021: 15_000, 2022: 15_000}},
        partners={"consortium": {"name": "Consortium"}, "trust": {"name": "Trust"}},
        interventions={
            f"clinic_{k:02d}": item(
                5,
                0.01,
                name=f"Clinic {k}",
                unit="contact",
                max_units=100,
                supply={"choice": "exclusive", "options": options},
            )
            for k in range(CLINICS)
        },
    )


def test_supply_options_by_the_dozen_verify_and_an_unchosen_one_is_caught(
    tmp_path: Path, solver: str
) -> None:
    checked = planner.check_instance(write(tmp_path, clinics()))
    model = planner.build(checked)
    plan = planner.make_plan(model, planner.solve(model, solver))  # type: ignore[arg-type]
    assert plan.summary["objective"] == pytest.approx(60)
    assert plan.summary["rules_checked"] == plan.summary["constraints"] == 242
    f = formulate(checked)
    families = [row.family for row in f.rows]
    assert {name: families.count(name) for name in set(families)} == {
        "envelope": 2,
        "capacity": 60,
        "option_capacity": 120,
        "exclusive_choice": 60,
    }
    # each clinic's units are its two options' units, each 1 x the column
    assert all(len(f.units.terms(k)) == 2 for k in range(len(f.units)))
    assert set(plan.supply.loc[plan.supply["chosen"], "option"]) == {"make"}
    # clinic 17's making marked not chosen in 2022: its 100 contacts break "none unless chosen",
    # and it costs £400 without the fixed cost, not the £500 the plan states
    broken = tampered(
        plan, "supply", {"intervention": "clinic_17", "option": "make", "year": 2022}, chosen=False
    )
    failed = {c.rule: c.message for c in verify(checked, broken).failed}
    assert failed["option_capacity__clinic_17__make__2022"] == (
        "option_capacity clinic_17.make 2022: units of Clinic 17 through make, less 100 if "
        "chosen is 100 contact, more than the most allowed 0 contact, by 100 contact "
        "(option_capacity__clinic_17__make__2022)"
    )
    assert failed["cost of clinic_17.make in 2022"] == (
        "reported: cost of clinic_17.make in 2022: the plan states £500, its decisions give £400 "
        "(off by £100)"
    )
    assert not [rule for rule in failed if "clinic_16" in rule or "2021" in rule]
