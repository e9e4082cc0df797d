"""Sensitivity: the envelope frontier and a floor's trade-off with their breakpoints, the ranges
over which shadow prices hold, and how far unit costs and health gains can move before the plan
changes, on instances solved by hand; every solving test runs on HiGHS and CBC.

The two-intervention LP used throughout (`two_services`): a costs £10 and gains 0.1 QALY a unit
(at most 50), b costs £20 and gains 0.1 (at most 10), with an envelope of £600. Money buys a first
(0.01 QALY a £) until a is full at £500, then b (0.005 a £) until b is full at £700: a = 50,
b = 5, 5.5 QALY.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.sensitivity import (
    FRONTIER_BREAK_COLUMNS,
    FRONTIER_COLUMNS,
    INTERVENTION_RANGE_COLUMNS,
    PRICE_RANGE_COLUMNS,
    TRADEOFF_BREAK_COLUMNS,
    TRADEOFF_COLUMNS,
    ArgumentError,
    envelope_frontier,
    floor_tradeoff,
    ranges,
)
from tests.conftest import Data, approx, instance, item, one, outcome, write
from tests.test_docs import EVERY_FAMILY, code, read, table_rows


def two_services(**fields: Any) -> Data:
    data = {
        "envelope": {"amounts": {2021: 600}},
        "interventions": {"a": item(10, 0.1, max_units=50), "b": item(20, 0.1, max_units=10)},
    }
    return instance(**(data | fields))


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(r) for r in frame.to_dict("records")]


# --- the envelope frontier -------------------------------------------------------------------


def test_frontier_breakpoints_are_where_the_mix_changes(tmp_path: Path, solver: str) -> None:
    # £420-£780: 0.01 QALY a £ up to £500 (scale 5/6), 0.005 up to £700 (7/6), then flat
    frontier = envelope_frontier(write(tmp_path, two_services()), solver=solver)  # type: ignore[arg-type]
    points = frontier.points
    assert list(points.columns) == [
        "scale", "envelope", "objective", "objective_unit", "health_gain", "spend", "status",
        "breakpoint",
    ]  # fmt: skip
    assert len(points) == 15  # 13 grid points (every 5%) and 2 breakpoints
    assert (points["status"] == "optimal").all()
    assert one(points, scale=0.7)["objective"] == approx(4.2)
    assert one(points, scale=1.0)["objective"] == approx(5.5)
    assert one(points, scale=1.3)["objective"] == approx(6.0)
    assert one(points, scale=1.3)["spend"] == approx(700)  # £80 left unspent
    assert points["health_gain"].tolist() == approx(points["objective"].tolist())
    flagged = points[points["breakpoint"]]
    assert flagged["envelope"].tolist() == approx([500, 700])
    assert flagged["scale"].tolist() == approx([5 / 6, 7 / 6])

    first, second = rows(frontier.breakpoints)
    assert (first["kind"], second["kind"]) == ("mix changes", "mix changes")
    assert (first["envelope"], first["objective"]) == (approx(500), approx(5.0))
    assert (second["envelope"], second["objective"]) == (approx(700), approx(6.0))
    # slopes per £100,000 of envelope: 0.01 and 0.005 QALY a £, then nothing
    assert (first["slope_before"], first["slope_after"]) == (approx(1000), approx(500))
    assert (second["slope_before"], second["slope_after"]) == (approx(500), approx(0))
    assert first["slope_unit"] == "QALY per £100,000 of envelope"
    assert (first["enters"], first["leaves"]) == ("b 2021", "")
    assert (first["limits_reached"], first["limits_released"]) == ("capacity a 2021", "")
    assert (second["enters"], second["limits_reached"]) == ("", "capacity b 2021")
    assert second["limits_released"] == "envelope 2021"  # money is left over from here
    assert (first["jump"], first["choices"]) == (0, "")


def test_no_plan_below_the_smallest_envelope(tmp_path: Path, solver: str) -> None:
    # at least 46 units of a (£460): no plan below 460 / 600 of the envelope
    data = two_services()
    data["interventions"]["a"]["min_units"] = 46
    frontier = envelope_frontier(write(tmp_path, data), solver=solver)  # type: ignore[arg-type]
    points = frontier.points
    below = points[points["scale"] < 460 / 600]
    assert below["scale"].tolist() == approx([0.7, 0.75])
    assert (below["status"] == "infeasible").all()
    assert below["objective"].isna().all() and below["spend"].isna().all()
    start = one(frontier.breakpoints, kind="first plan")
    assert (start["envelope"], start["objective"]) == (approx(460), approx(4.6))
    assert pd.isna(start["slope_before"]) and start["slope_after"] == approx(1000)
    assert points[points["breakpoint"]]["scale"].tolist() == approx([460 / 600, 5 / 6, 7 / 6])


def test_frontier_of_a_milp_jumps_where_a_choice_becomes_affordable(
    tmp_path: Path, solver: str
) -> None:
    # a: all 100 units (£1,000, 10 QALY) or none; b: 0.05 QALY for £20 (0.0025 a £).
    # Below £1,000 only b: E / 400 QALY; from £1,000 a and then b: 10 + (E - 1,000) / 400
    data = instance(
        envelope={"amounts": {2021: 1000}},
        interventions={
            "a": item(10, 0.1, max_units=100, indivisible=True),
            "b": item(20, 0.05, max_units=1000),
        },
    )
    frontier = envelope_frontier(write(tmp_path, data), solver=solver)  # type: ignore[arg-type]
    points = frontier.points
    assert one(points, scale=0.7)["objective"] == approx(1.75)
    assert one(points, scale=0.95)["objective"] == approx(2.375)
    assert one(points, scale=1.0)["objective"] == approx(10)
    assert one(points, scale=1.3)["objective"] == approx(10.75)
    assert points["breakpoint"].tolist() == [p == 1.0 for p in points["scale"]]
    (jump,) = rows(frontier.breakpoints)
    assert (jump["kind"], jump["envelope"], jump["objective"]) == (
        "choices change",
        approx(1000),
        approx(10),
    )
    assert jump["jump"] == approx(7.5)  # from 2.5 QALY just below £1,000 to 10
    assert (jump["slope_before"], jump["slope_after"]) == (approx(250), approx(250))
    assert (jump["choices"], jump["enters"]) == ("on: a 2021", "a 2021")


def test_frontier_of_the_diabetes_plan_passes_through_it(solver: str) -> None:
    # the plan's own point, and the slope through it is the envelope's shadow price: every
    # year's envelope is worth 9.71 QALY per £100,000, so scaling them together is too
    plan = planner.solve_instance(planner.DEFAULT_INSTANCE, solver=solver)  # type: ignore[arg-type]
    frontier = envelope_frontier(planner.DEFAULT_INSTANCE, 0.95, 1.05, solver, steps=2)  # type: ignore[arg-type]
    assert one(frontier.points, scale=1.0)["objective"] == approx(plan.summary["objective"])
    breaks = frontier.breakpoints
    before = breaks[breaks["scale"] < 1.0].iloc[-1]
    after = breaks[breaks["scale"] > 1.0].iloc[0]
    assert before["slope_after"] == approx(after["slope_before"])
    envelope = plan.shadow_prices[plan.shadow_prices["family"] == "envelope"]
    assert envelope["value_of_relaxing"].tolist() == approx([before["slope_after"]] * 3)
    assert before["slope_after"] == pytest.approx(9.70991, abs=1e-5)


def test_frontier_is_the_same_on_both_solvers_and_run_to_run(tmp_path: Path) -> None:
    path = write(tmp_path, two_services())
    highs = envelope_frontier(path, solver="highs")
    assert highs.points.equals(envelope_frontier(path, solver="cbc").points)
    again = envelope_frontier(planner.check_instance(path), solver="highs")
    assert highs.points.equals(again.points) and highs.breakpoints.equals(again.breakpoints)


# --- a floor's trade-off ---------------------------------------------------------------------


def floor_instance() -> Data:
    # A&E: 100 a year; education cuts it by 0.1 a place (£10, 0.01 QALY); b gains 0.1 a unit
    # (£10, at most 100). With A&E at most L, education needs 10 (100 - L) places and b gets
    # the rest of £1,000: 10 - 0.9 (100 - L) QALY, for 90 <= L <= 100.
    return instance(
        envelope={"amounts": {2021: 1000}},
        outcomes={"ae": outcome(100)},
        interventions={
            "education": item(10, 0.01, effects={"ae": -0.1}),
            "b": item(10, 0.1, max_units=100),
        },
        floors={"ae_cap": {"outcome": "ae", "bound": "upper", "value": 95}},
    )


def test_floor_tradeoff_slope_is_the_floors_shadow_price(tmp_path: Path, solver: str) -> None:
    path = write(tmp_path, floor_instance())
    curve = floor_tradeoff(path, "ae_cap", solver=solver)  # type: ignore[arg-type]
    points = curve.points
    assert points["level"].min() == approx(85.5) and points["level"].max() == approx(104.5)
    assert (points[points["level"] < 90]["status"] == "infeasible").all()
    assert one(points, level=95)["objective"] == approx(5.5)
    assert one(points, level=104.5)["objective"] == approx(10)
    start, end = rows(curve.breakpoints)
    assert (start["kind"], start["level"], start["objective"]) == ("first plan", approx(90),
                                                                    approx(1.0))  # fmt: skip
    assert (end["kind"], end["level"], end["objective"]) == ("mix changes", approx(100),
                                                              approx(10))  # fmt: skip
    assert (end["slope_before"], end["slope_after"]) == (approx(0.9), approx(0))
    assert end["slope_unit"] == "QALY per event"
    assert (end["leaves"], end["limits_released"]) == (
        "education 2021",
        "outcome_floor ae_cap 2021",
    )
    # the piece through today's level (95) has the floor's shadow price as its slope
    plan = planner.solve_instance(path, solver=solver)  # type: ignore[arg-type]
    dual = one(plan.shadow_prices, constraint="floor__ae_cap__2021")["dual"]
    assert dual == approx(0.9) and start["slope_after"] == approx(dual)


def test_floor_and_range_arguments_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, floor_instance())
    with pytest.raises(ArgumentError, match="'t' has no floor 'ae'; its floors are: ae_cap"):
        floor_tradeoff(path, "ae")
    with pytest.raises(ArgumentError, match=r"from a lower to a higher value \(got 1.2 to 0.8\)"):
        envelope_frontier(path, 1.2, 0.8)
    no_envelope = write(tmp_path, instance(interventions={"a": item(1, 1, max_units=1)}), "x.yaml")
    with pytest.raises(ArgumentError, match="'t' has no envelope, so there is no envelope"):
        envelope_frontier(no_envelope)


# --- ranges ----------------------------------------------------------------------------------


def test_shadow_price_ranges_by_hand(tmp_path: Path, solver: str) -> None:
    path = write(tmp_path, two_services())
    found = ranges(path, solver=solver)  # type: ignore[arg-type]
    prices = found.prices
    envelope = one(prices, constraint="envelope__2021")
    # £1 more buys 1/20 of b (0.005 QALY) until b is full at £700; £1 less, until a alone fills
    # the envelope at £500
    assert (envelope["rhs"], envelope["dual"], envelope["value_of_relaxing"]) == (
        approx(600),
        approx(0.005),
        approx(500),
    )
    assert (envelope["lower_rhs"], envelope["upper_rhs"]) == (approx(500), approx(700))
    assert (envelope["objective_at_lower"], envelope["objective_at_upper"]) == (
        approx(5.0),
        approx(6.0),
    )
    assert envelope["explanation"] == (
        "relaxing it by £100,000 is worth 500 QALY; this price holds while the bound stays "
        "between £500 and £700 (now £600)"
    )
    # one more place of a is worth 0.1 - 10 x 0.005 = 0.05 QALY, from 40 (b full) to 60 (b out)
    cap_a = one(prices, constraint="capacity__a__2021")
    assert (cap_a["dual"], cap_a["lower_rhs"], cap_a["upper_rhs"]) == (
        approx(0.05),
        approx(40),
        approx(60),
    )
    # b's capacity has no price from 5 (b's units) up
    cap_b = one(prices, constraint="capacity__b__2021")
    assert (cap_b["dual"], cap_b["lower_rhs"]) == (0, approx(5))
    assert pd.isna(cap_b["upper_rhs"])
    assert cap_b["explanation"] == (
        "no price: the price stays 0 while the bound stays from 5 patient up (now 10 patient)"
    )
    # the same duals as the plan's shadow prices
    plan = planner.solve_instance(path, solver=solver)  # type: ignore[arg-type]
    assert prices["dual"].tolist() == approx(plan.shadow_prices["dual"].tolist())


def two_years() -> Data:
    # as two_services, over two years with £600 and then £450 (shared savings: no carry), and
    # gains discounted 10% in 2022. 2021: a = 50, b = 5; 2022: a = 45 uses it all.
    return instance(
        horizon=2,
        discount_rate=0.1,
        envelope={"amounts": {2021: 600, 2022: 450}},
        partners={"p": {"name": "p"}},
        savings={"rule": "share", "shares": {"p": 1.0}},
        interventions={
            "a": item(10, 0.1, max_units=50, delivered_by="p"),
            "b": item(20, 0.1, max_units=10, delivered_by="p"),
        },
    )


def none(value: Any) -> bool:
    """No end: an empty cell."""
    return value is None or bool(pd.isna(value))


def test_cost_and_gain_ranges_by_hand(tmp_path: Path, solver: str) -> None:
    found = ranges(write(tmp_path, two_years()), solver=solver)  # type: ignore[arg-type]
    table = found.interventions
    assert list(table.columns) == [
        "intervention", "option", "name", "year", "parameter", "unit", "value", "lower", "upper",
        "units", "below_lower", "above_upper", "explanation",
    ]  # fmt: skip

    def row(iid: str, parameter: str, year: int | None) -> dict[str, Any]:
        match = table[
            (table["intervention"] == iid)
            & (table["parameter"] == parameter)
            & table["year"].map(lambda y: y == year if year is not None else pd.isna(y))
        ]
        assert len(match) == 1
        return dict(match.iloc[0])

    # a's cost in 2021: at £12 its 50 places take all £600 (b leaves); at £8 they take £400
    # and b fills up, with money left over. What changes is seen 0.1% beyond each end.
    cost = row("a", "unit_cost", 2021)
    assert (cost["lower"], cost["upper"], cost["units"]) == (approx(8), approx(12), approx(50))
    assert cost["below_lower"] == "reaches: capacity b 2021; releases: envelope 2021"
    assert cost["above_upper"] == "leaves: b 2021; releases: capacity a 2021"
    assert cost["explanation"] == (
        "x's unit cost (£10.00 per patient in 2021) can rise to £12.00 or fall to £8.00 before "
        "the plan changes what it funds or which limits it reaches"
    )
    # in 2022 a buys 450 / c places: full below £9, and b is better above £20
    cost = row("a", "unit_cost", 2022)
    assert (cost["lower"], cost["upper"], cost["units"]) == (approx(9), approx(20), approx(45))
    assert cost["below_lower"] == "enters: b 2022; reaches: capacity a 2022"
    assert cost["above_upper"] == "enters: b 2022; reaches: capacity b 2022"
    # every year together: the first change either way
    cost = row("a", "unit_cost", None)
    assert (cost["lower"], cost["upper"], cost["units"]) == (approx(9), approx(12), approx(95))
    assert cost["explanation"].startswith("x's unit cost (£10.00 per patient in every plan year)")
    # b's cost: it enters 2022 below £10 (a's 0.01 QALY a £); it stays in 2021 at any price
    cost = row("b", "unit_cost", 2022)
    assert (cost["lower"], cost["units"]) == (approx(10), 0) and none(cost["upper"])
    assert cost["explanation"].endswith(
        "can rise by any amount (no change up to £20,480) or fall to £10.00 before the plan "
        "changes what it funds or which limits it reaches"
    )
    assert none(row("b", "unit_cost", 2021)["upper"])
    # gains leave the plan exactly as it is until a's 0.1 / £10 or b's 0.1 / £20 changes rank
    gain = row("a", "health_gain", 2021)
    assert gain["lower"] == approx(0.05) and none(gain["upper"])
    assert gain["below_lower"] == "reaches: capacity b 2021; releases: capacity a 2021"
    gain = row("b", "health_gain", 2021)
    assert (gain["lower"], gain["upper"]) == (approx(0), approx(0.2))
    gain = row("b", "health_gain", 2022)  # out of the plan in 2022: enters above 0.2
    assert none(gain["lower"]) and gain["upper"] == approx(0.2)
    assert gain["above_upper"] == "enters: b 2022; reaches: capacity b 2022"
    assert gain["explanation"] == (
        "x's health gain (0.1 QALY per patient in 2022) can rise to 0.2 or fall by any amount "
        "before the plan changes at all"
    )


def test_cost_ranges_under_least_spend(tmp_path: Path, solver: str) -> None:
    # A&E must fall from 100 to 90: a cuts it by 0.1 for £10 (£100 an attendance), b by 0.2 for
    # £30 (£150). The cheapest plan buys 100 of a (£1,000). a stays cheaper up to £15; b
    # becomes cheaper below £20. Health gain does not move a least-spend plan.
    data = instance(
        objective={"kind": "min_spend"},
        outcomes={"ae": outcome(100)},
        interventions={
            "a": item(10, 0.01, effects={"ae": -0.1}),
            "b": item(30, 0.01, effects={"ae": -0.2}),
        },
        floors={"ae_cap": {"outcome": "ae", "bound": "upper", "value": 90}},
    )
    path = write(tmp_path, data)
    found = ranges(path, solver=solver)  # type: ignore[arg-type]
    # each attendance the floor allows saves 10 places of a (£100), down to no places at 100;
    # each one fewer costs £100, down to an A&E level of 0
    floor = one(found.prices, constraint="floor__ae_cap__2021")
    assert (floor["dual"], floor["value_of_relaxing"]) == (approx(-100), approx(100))
    assert (floor["lower_rhs"], floor["upper_rhs"]) == (approx(0), approx(100))
    assert (floor["objective_at_lower"], floor["objective_at_upper"]) == (approx(10000), approx(0))
    assert floor["explanation"] == (
        "relaxing it by one event is worth £100.00; this price holds while the bound stays "
        "between 0 event and 100 event (now 90 event)"
    )
    plan = planner.solve_instance(path, solver=solver)  # type: ignore[arg-type]
    assert found.prices["dual"].tolist() == approx(plan.shadow_prices["dual"].tolist())
    table = found.interventions
    a_cost = one(table, intervention="a", parameter="unit_cost")
    assert (a_cost["lower"], a_cost["upper"]) == (0, approx(15))
    assert a_cost["above_upper"] == "enters: b 2021; leaves: a 2021"
    b_cost = one(table, intervention="b", parameter="unit_cost")
    assert b_cost["lower"] == approx(20) and none(b_cost["upper"])
    a_gain = one(table, intervention="a", parameter="health_gain")
    assert none(a_gain["lower"]) and none(a_gain["upper"])
    assert a_gain["explanation"] == "x's health gain does not change the plan: the objective " \
        "is the least spend"  # fmt: skip


def test_ranges_of_a_milp_hold_its_choices(tmp_path: Path, solver: str) -> None:
    # a's 100 units (£1,000) are funded and fixed, b gets £200: the envelope cannot fall below
    # £1,000 with that choice; above it, each £ buys b (0.0025 QALY) until b is full (1,000
    # units, £20,000)
    data = instance(
        envelope={"amounts": {2021: 1200}},
        interventions={
            "a": item(10, 0.1, max_units=100, indivisible=True),
            "b": item(20, 0.05, max_units=1000),
        },
    )
    found = ranges(write(tmp_path, data), solver=solver)  # type: ignore[arg-type]
    envelope = one(found.prices, constraint="envelope__2021")
    assert (envelope["dual"], envelope["lower_rhs"], envelope["upper_rhs"]) == (
        approx(0.0025),
        approx(1000),
        approx(21000),
    )
    assert one(found.interventions, intervention="a", parameter="unit_cost")[
        "explanation"
    ].endswith("; the yes/no choices are held as the plan makes them")


def test_ranges_need_a_plan(tmp_path: Path) -> None:
    data = two_services(envelope={"amounts": {2021: 400}})
    data["interventions"]["a"]["min_units"] = 46  # £460 > £400
    with pytest.raises(planner.NoPlanError, match="infeasible"):
        ranges(write(tmp_path, data))


# --- the command -----------------------------------------------------------------------------


def test_planner_frontier_prints_and_writes_the_tables(tmp_path: Path) -> None:
    path = write(tmp_path, floor_instance())
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["frontier", str(path), "--floor", "ae_cap", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Envelope frontier" in result.output and "Floor trade-off" in result.output
    assert "Shadow prices and the range over which each holds" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".planner-output", "floor.csv", "floor_breakpoints.csv", "frontier.csv", "frontier.xlsx",
        "frontier_breakpoints.csv", "intervention_ranges.csv", "price_ranges.csv", "summary.csv",
    ]  # fmt: skip
    floor = pd.read_csv(out / "floor_breakpoints.csv")
    assert floor["level"].tolist() == approx([90, 100])
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    again = runner.invoke(app, ["frontier", str(path), "--floor", "ae_cap", "--out", str(out)])
    assert again.exit_code == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first  # byte-identical


def test_planner_frontier_refuses_bad_arguments_and_folders(tmp_path: Path) -> None:
    path = write(tmp_path, floor_instance())
    runner = CliRunner()
    result = runner.invoke(app, ["frontier", str(path), "--floor", "nope"])
    assert result.exit_code == 2
    assert "has no floor 'nope'; its floors are: ae_cap" in result.output
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    result = runner.invoke(app, ["frontier", str(path), "--out", str(tmp_path / "mine")])
    assert result.exit_code == 2
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_every_family_gives_the_same_tables_on_both_solvers(tmp_path: Path) -> None:
    # the instance of test_docs with a row of every family: a MILP with options, a shared
    # service, set-up costs, tranches and an indivisible programme
    path = tmp_path / "every_family.yaml"
    path.write_text(EVERY_FAMILY, encoding="utf-8")
    found = {solver: ranges(path, solver=solver) for solver in ("highs", "cbc")}
    assert found["highs"].prices.equals(found["cbc"].prices)
    assert found["highs"].interventions.equals(found["cbc"].interventions)
    curves = {solver: envelope_frontier(path, solver=solver) for solver in ("highs", "cbc")}
    assert curves["highs"].points.equals(curves["cbc"].points)
    assert curves["highs"].breakpoints.equals(curves["cbc"].breakpoints)
    plan = planner.solve_instance(path)
    assert len(found["highs"].prices) == len(plan.shadow_prices)
    assert found["highs"].prices["dual"].tolist() == approx(plan.shadow_prices["dual"].tolist())


# --- the docs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("marker", "columns"),
    [
        ("### frontier\n", FRONTIER_COLUMNS),
        ("### frontier_breakpoints\n", FRONTIER_BREAK_COLUMNS),
        ("### floor\n", TRADEOFF_COLUMNS),
        ("### floor_breakpoints\n", TRADEOFF_BREAK_COLUMNS),
        ("## price_ranges\n", PRICE_RANGE_COLUMNS),
        ("## intervention_ranges\n", INTERVENTION_RANGE_COLUMNS),
    ],
)
def test_docs_list_exactly_the_columns(marker: str, columns: list[str]) -> None:
    assert [code(row[0]) for row in table_rows(read("sensitivity.md"), marker)] == columns


def test_docs_list_exactly_the_summary_fields(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["frontier", str(write(tmp_path, two_services())), "--out",
                                      str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    fields = pd.read_csv(out / "summary.csv")["field"].tolist()
    documented: list[str] = []
    for row in table_rows(read("sensitivity.md"), "## summary (planner frontier)"):
        documented += re.findall(r"`([^`]+)`", row[0])
    assert documented == fields
