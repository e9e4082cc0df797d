"""`planner compare`: each make-or-buy option forced against free choice, the value of the choice,
break-even prices that really flip the decision, and scenarios side by side.

The instances are the hand-solved ones of test_choices.py; every test runs on HiGHS and CBC.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.compare import break_even, compare, option_used, with_option
from tests.conftest import Data, approx, instance, item, one, write
from tests.test_choices import fixed_cost_choice, minimum_volume


def rows(comparison: planner.compare.Comparison, decision: str) -> dict[str, dict]:
    frame = comparison.decisions[comparison.decisions["decision"] == decision]
    return {str(r["option"]): r.to_dict() for _, r in frame.iterrows()}


def test_fixed_cost_decision_side_by_side(tmp_path: Path, solver: str) -> None:
    # make: 160 contacts, 1.6 QALY; buy: 150, 1.5 (test_choices.fixed_cost_choice)
    result = compare(write(tmp_path, fixed_cost_choice()), solver=solver)  # type: ignore[arg-type]
    table = rows(result, "clinic")
    assert list(table) == ["free choice", "make", "buy"]
    free, make, buy = table["free choice"], table["make"], table["buy"]
    assert (free["objective"], free["option_name"]) == (approx(1.6), "make 2021")
    assert (make["objective"], make["value_lost"], make["in_free_plan"]) == (
        approx(1.6),
        approx(0),
        True,
    )
    assert (buy["objective"], buy["value_lost"], buy["in_free_plan"]) == (
        approx(1.5),
        approx(0.1),
        False,
    )
    assert (buy["provider"], buy["mode"], buy["unit_price"]) == ("trust", "buy", 8)
    # buying wins below 1,200 / 160 = £7.50 a contact; making loses above 800 / 150 = £5.33
    assert buy["break_even_price"] == pytest.approx(7.5, abs=1e-3)
    assert buy["break_even"] == "enters the plan below £7.50 a unit"
    assert make["break_even_price"] == pytest.approx(800 / 150, abs=1e-3)
    assert make["break_even"] == "leaves the plan above £5.33 a unit"
    partners = result.partners[result.partners["comparison"] == "decision clinic"]
    trust = one(partners, case="buy", partner="trust")
    assert (trust["income"], trust["income_change"]) == (approx(1200), approx(1200))


@pytest.mark.parametrize(
    ("data", "iid", "oid"),
    [
        (fixed_cost_choice(), "clinic", "buy"),
        (fixed_cost_choice(), "clinic", "make"),
        (minimum_volume(), "clinic", "charity"),
        (minimum_volume(), "clinic", "trust"),
    ],
)
def test_break_even_price_flips_the_decision_when_applied(
    data: Data, iid: str, oid: str, solver: str
) -> None:
    base = planner.validate(planner.load(write_tmp(data)))
    used_now = option_used(base, iid, oid, solver, None)  # type: ignore[arg-type]
    found = break_even(base, iid, oid, solver)  # type: ignore[arg-type]
    assert found.price is not None
    below = with_option(base, iid, oid, unit_price=found.price * (1 - 1e-3))
    above = with_option(base, iid, oid, unit_price=found.price * (1 + 1e-3))
    assert option_used(below, iid, oid, solver, None) is True  # type: ignore[arg-type]
    assert option_used(above, iid, oid, solver, None) is False  # type: ignore[arg-type]
    # and it is on the right side of today's price
    now = base.interventions[iid].offered()[oid].unit_price
    assert (found.price > now) == used_now


def test_forcing_a_late_starting_option_bridges_the_years_before_it(solver: str) -> None:
    # the charity supplies from 2022 only: forced, the trust supplies 2021 and the charity
    # 2022-2023 (500 + 150 set-up + 2 x 400 = 1,450), which is also free choice
    clinic = item(5, max_units=100, min_units=100, supply={"options": {
        "charity": {"provider": "charity", "mode": "buy", "unit_price": 4, "setup_cost": 150,
                    "first_year": 2022},
        "trust": {"provider": "trust", "mode": "buy", "unit_price": 5}}})  # fmt: skip
    partners = {p: {"name": p} for p in ("trust", "charity")}
    data = instance(horizon=3, objective={"kind": "min_spend"}, partners=partners,
                    interventions={"clinic": clinic})  # fmt: skip
    result = compare(write_tmp(data), solver=solver)  # type: ignore[arg-type]
    table = rows(result, "clinic")
    assert table["charity"]["objective"] == approx(1450)
    assert table["charity"]["value_lost"] == approx(0)
    assert table["trust"]["objective"] == approx(1500)
    assert table["trust"]["value_lost"] == approx(50)
    assert table["free choice"]["option_name"] == "charity 2022-2023; trust 2021"


def write_tmp(data: Data) -> Path:
    import tempfile

    return write(Path(tempfile.mkdtemp()), data)


def test_minimum_volume_break_even_is_where_the_contract_costs_the_same(solver: str) -> None:
    # the charity's 120 contacts cost the trust's £700 at 700 / 120 = £5.83
    base = planner.validate(planner.load(write_tmp(minimum_volume())))
    found = break_even(base, "clinic", "charity", solver)  # type: ignore[arg-type]
    assert found.price == pytest.approx(700 / 120, abs=1e-3)


def test_a_break_even_search_moves_one_model_and_finds_what_building_finds(
    solver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # buying enters below £7.50 (test_fixed_cost_decision_side_by_side): the search builds the
    # model at £0 (no cost terms: another structure) and, to fit the price's slopes, at £8,192
    # (1,024 x today's £8: the base), at £0.0002 and half-way; every bisection step is moved
    base = planner.validate(planner.load(write_tmp(fixed_cost_choice())))
    built: list[float] = []
    real = planner.compare.build

    def counted(instance: planner.Instance, **kwargs: Any) -> Any:
        built.append(instance.interventions["clinic"].offered()["buy"].unit_price)
        return real(instance, **kwargs)

    monkeypatch.setattr(planner.compare, "build", counted)
    moved = break_even(base, "clinic", "buy", solver)  # type: ignore[arg-type]
    assert sorted(built) == approx([0.0, 0.0002, (0.0002 + 8192) / 2, 8192])
    built.clear()
    monkeypatch.setattr(planner.compare, "_priced", lambda *args: None)
    each_built = break_even(base, "clinic", "buy", solver)  # type: ignore[arg-type]
    assert len(built) == 16  # £8, £0 and 14 halvings of £8 down to £0.0008
    assert moved == each_built
    assert moved.price == pytest.approx(7.5, abs=1e-3)


def test_an_option_kept_out_by_its_fixed_cost_has_no_break_even_price(solver: str) -> None:
    data = fixed_cost_choice()
    data["interventions"]["clinic"]["supply"]["options"]["make"]["fixed_cost"] = 5000
    base = planner.validate(planner.load(write_tmp(data)))
    found = break_even(base, "clinic", "make", solver)  # type: ignore[arg-type]
    assert found.price is None
    assert found.note == "stays out even at £0"


def test_the_only_feasible_option_stays_at_any_price(solver: str) -> None:
    # the trust's capacity (50) cannot meet the need of 100: the charity is needed at any price
    data = minimum_volume()
    data["interventions"]["clinic"]["supply"]["options"]["trust"]["capacity"] = 50
    base = planner.validate(planner.load(write_tmp(data)))
    found = break_even(base, "clinic", "charity", solver)  # type: ignore[arg-type]
    assert found.price is None
    assert found.note == "stays in at any price up to £6,144"


def scenarios_instance() -> Data:
    return instance(
        envelope={"amounts": {2021: 1000}},
        interventions={"a": item(10, 0.1, max_units=80), "b": item(5, 0.01)},
        scenarios={
            "richer": {"description": "more money", "envelope": {"amounts": {2021: 1200}}},
            "capped": {"interventions": {"a": {"max_units": 0}, "b": {"max_units": 10}}},
        },
    )


def test_scenarios_side_by_side(tmp_path: Path, solver: str) -> None:
    # base: 80 a (8) + 40 b (0.4) = 8.4; richer: + 40 more b = 8.8; capped: 10 b = 0.1, £50
    result = compare(write(tmp_path, scenarios_instance()), solver=solver)  # type: ignore[arg-type]
    cases = {str(r["case"]): r for _, r in result.cases.iterrows()}
    assert list(cases) == ["base", "capped", "richer"]
    assert cases["richer"]["health_gain"] == approx(8.8)
    assert cases["richer"]["health_gain_change"] == approx(0.4)
    assert cases["richer"]["description"] == "more money"
    assert cases["capped"]["spend_change"] == approx(-950)
    assert result.decisions.empty


def test_named_scenarios_only_and_no_plan_is_a_row(tmp_path: Path, solver: str) -> None:
    data = scenarios_instance()
    data["scenarios"]["impossible"] = {"interventions": {"a": {"min_units": 200, "max_units": 300}}}
    path = write(tmp_path, data)
    result = compare(path, scenarios=["impossible"], solver=solver)  # type: ignore[arg-type]
    impossible = one(result.cases, case="impossible")
    assert impossible["status"] == "infeasible"
    assert impossible["message"].startswith("No plan for 't': infeasible")
    assert list(result.cases["case"]) == ["base", "impossible"]


def test_cli_compare_prints_the_board_table_and_writes_every_format(tmp_path: Path) -> None:
    path = write(tmp_path, fixed_cost_choice())
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["compare", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Make or buy: x (clinic); free choice: make 2021" in result.output
    assert "enters below £7.50" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [".planner-output", "cases.csv", "compare.xlsx", "decisions.csv",
                     "partners.csv", "summary.csv"]  # fmt: skip
    first = (out / "decisions.csv").read_bytes()
    again = CliRunner().invoke(app, ["compare", str(path), "--out", str(out)])
    assert again.exit_code == 0
    assert (out / "decisions.csv").read_bytes() == first


def test_cli_compare_unknown_scenario_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, scenarios_instance())
    result = CliRunner().invoke(app, ["compare", str(path), "--scenario", "nope"])
    assert result.exit_code == 2
    assert "nope" in result.output
