"""The faster build of issue 6 makes the same expressions as before (docs/speed.md).

`affine` makes its expression with PuLP's from_list instead of lpSum_vars_coefs, a year's
economic cost is a copy of its spend where the two are the same sum, and a model reads its plan
years once. None of it may change a coefficient, a constant or the order of the terms; the
bundled instances' `planner solve` outputs are byte-identical before and after (checked outside
the tests), and these tests pin the rules down on small cases worked by hand.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pulp
import pytest

import planner
from planner.build import Rule, affine
from tests.conftest import instance, item, outcome, write


def terms(expression: pulp.LpAffineExpression) -> list[tuple[str, float]]:
    """An expression's terms as (variable name, coefficient), in its order."""
    return [(variable.name, coefficient) for variable, coefficient in expression.items()]


def test_affine_adds_a_recurring_variable_and_drops_zero_coefficients() -> None:
    problem = pulp.LpProblem("p", pulp.LpMaximize)
    x, y, z = (problem.add_variable(name, 0, None) for name in ("x", "y", "z"))
    # x: 2 + 0.5 = 2.5 (first seen first); y's 0 is dropped; z: -1; a constant of -0.0 is 0.0
    pairs = [(x, 2.0), (y, 0.0), (z, -1.0), (x, 0.5)]
    expression = affine(pairs, -0.0)
    assert terms(expression) == [("x", 2.5), ("z", -1.0)]
    assert math.copysign(1.0, expression.constant) == 1.0 and expression.constant == 0.0
    assert expression.sense is None
    # the same terms, in the same order, as the batch path it replaced
    before = pulp.lpSum_vars_coefs([(v, c) for v, c in pairs if c != 0])
    assert terms(expression) == terms(before)
    # terms that cancel stay, at 0.0, as lpSum_vars_coefs keeps them: 0.1 + 0.2 - 0.3
    cancel = [(x, 0.1), (x, 0.2), (x, -0.3)]
    assert terms(affine(cancel)) == terms(pulp.lpSum_vars_coefs(cancel)) == [("x", 0.1 + 0.2 - 0.3)]
    assert terms(affine([], 7.5)) == [] and affine([], 7.5).constant == 7.5


def money(**fields: Any) -> dict[str, Any]:
    """Education e (£10 a patient, by gp) and admissions (30 a year, £100 tariff paid to acute),
    0.05 fewer admissions a patient educated; one plan year, 2021."""
    e = item(10, 0.1, delivered_by="gp", effects={"adm": -0.05}, **fields.pop("e", {}))
    data = instance(
        envelope={"amounts": {2021: 10_000}},
        partners={"acute": {"name": "Acute"}, "gp": {"name": "GP"}},
        outcomes={"adm": outcome(30, tariff=100, paid_to="acute")},
        interventions={"e": e},
    )
    return {**data, **fields}


def built(tmp_path: Path, data: dict[str, Any]) -> planner.Model:
    return planner.build(planner.check_instance(write(tmp_path, data)))


def test_economic_cost_is_a_copy_of_spend_when_every_payment_is_enveloped(tmp_path: Path) -> None:
    # spend = 10 e + 100 x (30 - 0.05 e) = 5 e + 3,000; no full cost and no refused outcome, so
    # the economic cost is the same sum: an equal expression, but its own object
    model = built(tmp_path, money())
    spend, cost = model.spend[2021], model.economic_cost[2021]
    assert terms(spend) == terms(cost) == [("units__e__2021", 5.0)]
    assert spend.constant == cost.constant == 3_000.0
    assert cost is not spend
    cost.constant = 0.0  # editing one leaves the other alone
    assert spend.constant == 3_000.0


def test_economic_cost_adds_full_cost_and_refused_tariffs_to_spend(tmp_path: Path) -> None:
    # full cost £12: 2 a patient more than paid, so 5 e + 2 e = 7 e + 3,000 against spend 5 e
    # + 3,000
    model = built(tmp_path, money(e={"full_cost": 12}))
    assert terms(model.spend[2021]) == [("units__e__2021", 5.0)]
    assert terms(model.economic_cost[2021]) == [("units__e__2021", 7.0)]
    assert model.economic_cost[2021].constant == 3_000.0
    # admissions refused: the envelope pays 10 e alone; the economic cost still counts the
    # tariff: 10 e - 5 e + 3,000
    refused = built(tmp_path, money(refused_outcomes={"adm": {"responsible": "gp"}}))
    assert terms(refused.spend[2021]) == [("units__e__2021", 10.0)]
    assert refused.spend[2021].constant == 0.0
    assert terms(refused.economic_cost[2021]) == [("units__e__2021", 5.0)]
    assert refused.economic_cost[2021].constant == 3_000.0


def test_a_model_reads_its_plan_years_once(tmp_path: Path) -> None:
    data = money(horizon=3, envelope={"baseline": 10_000, "reduction": 0.02})
    model = built(tmp_path, data)
    assert model.years == [2021, 2022, 2023]
    assert model.years is model.years
    # every row's key holds one of those three year numbers, not a number of its own
    years = {id(year) for year in model.years}
    keyed = [key[-1] for _, key in model.registry if isinstance(key[-1], int)]
    assert len(keyed) == len(model.registry) and {id(year) for year in keyed} <= years


def test_a_rules_per_reads_back_as_a_float(tmp_path: Path) -> None:
    model = built(tmp_path, money())
    registry = model.registry
    assert registry[("envelope", (2021,))][0].per == 100_000.0
    assert registry[("outcome_nonnegative", ("adm", 2021))][0].per == 1.0
    # a rule written with a per of 1 (an int) reads back as 1.0, as the per-row column held it
    extra = model.problem.addConstraint(model.units[("e", 2021)] >= 1, "extra__x")
    rule = Rule("extra", ("x",), "extra__x", ">=", "at least one", "x", None, "patient", 1, 1.0)
    registry[("extra", ("x",))] = (rule, extra)
    again = registry[("extra", ("x",))][0]
    assert again == rule and type(again.per) is float


def test_rows_go_into_pulp_as_its_add_constraint_puts_them(tmp_path: Path) -> None:
    # Model.add hands a row to PuLP's Rust model itself, checking its numbers are finite with
    # one sum instead of PuLP's loop over them (the LP files and every output are byte-identical
    # before and after, checked outside the tests): each row named and placed as registered,
    # and PuLP's own refusal of a number that is not finite
    model = built(tmp_path, money())
    problem = model.problem
    rows = problem.constraints()
    registered = [(rule.name, row.id) for rule, row in model.registry.values()]
    assert registered == [(row.name, i) for i, row in enumerate(rows)]

    first, second = problem.variables()[:2]
    model.add("extra", ("big",), "<=", "huge but finite", 1e308 * first + 1e308 * second, -1e308,
              subject="e", year=2021, unit="patient")  # fmt: skip
    row = problem.constraints()[-1]  # the sum passes 1e308: PuLP checked each number, took it
    assert (row.name, row.constant, row.sense) == ("extra__big", 1e308, pulp.LpConstraintLE)
    assert [(v.name, c) for v, c in row.items()] == [(first.name, 1e308), (second.name, 1e308)]
    for bad in (math.inf, math.nan):
        with pytest.raises(pulp.PulpError, match="Invalid coefficient value"):
            model.add("extra", ("bad",), "<=", "not finite", affine([(first, bad)]), 1.0,
                      subject="e", year=2021, unit="patient")  # fmt: skip
        with pytest.raises(pulp.PulpError, match="Invalid constraint RHS value"):
            model.add("extra", ("bad",), "<=", "not finite", 1.0 * first, bad,
                      subject="e", year=2021, unit="patient")  # fmt: skip
