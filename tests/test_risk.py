"""Risk-aware planning on known answers: CVaR limits, floors on average or in every scenario,
the envelope with money carried per scenario, zero-width distributions, and determinism.

Every solving test runs on HiGHS and on CBC (the `solver` fixture). Each small case is solved by
hand in its docstring or comments.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.errors import InputError, NoPlanError
from planner.report import write_tables
from planner.risk import (
    ALLOCATION_COLUMNS,
    FLOOR_COLUMNS,
    PARTNER_COLUMNS,
    SCENARIO_COLUMNS,
    SHADOW_PRICE_COLUMNS,
    RiskPlan,
    RiskSettings,
    cvar,
    parse_cvar,
    parse_floor_modes,
    plan_under_risk,
)
from planner.schema import Instance
from tests.conftest import approx, instance, item, one, outcome, write

DIABETES = planner.DEFAULT_INSTANCE
DOCS = Path(__file__).resolve().parent.parent / "docs"


def validated(data: dict[str, Any]) -> Instance:
    return Instance.model_validate(data)


# --- the CVaR of a sample -----------------------------------------------------------------------


def test_cvar_is_the_mean_of_the_worst_share_with_the_boundary_scenario_in_part() -> None:
    losses = [100.0, 400.0, 200.0, 300.0]
    assert cvar(losses, 0.0) == approx(250)  # the mean
    assert cvar(losses, 0.5) == approx(350)  # the worst two: (400 + 300) / 2
    assert cvar(losses, 0.75) == approx(400)  # the worst one
    assert cvar(losses, 0.6) == approx((400 + 0.6 * 300) / 1.6)  # 1.6 scenarios' worth: 362.5
    assert cvar(losses, 0.95) == approx(400)  # less than one scenario's worth: the worst


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.5, 0.6, 0.75, 0.9, 0.99])
def test_cvar_equals_the_rockafellar_uryasev_minimum(alpha: float) -> None:
    losses = [-50.0, 10.0, 10.0, 35.5, 80.0, 120.0, 7.0]
    tail = (1 - alpha) * len(losses)
    by_eta = min(eta + sum(max(0.0, x - eta) for x in losses) / tail for eta in losses)
    assert cvar(losses, alpha) == approx(by_eta)


# --- one intervention that moves income away from the acute trust -------------------------------


def shifting(effects: float, max_loss: float | None = None) -> dict[str, Any]:
    """Upstream care (0.01 QALY a patient, at most 1,000, no envelope) avoids `-effects`
    admissions a patient; each admission pays the acute trust £100. The trust loses
    100 x |effect| x patients a year."""
    acute: dict[str, Any] = {"name": "Acute trust"}
    if max_loss is not None:
        acute["max_loss"] = max_loss
    return instance(
        partners={"acute": acute, "gp": {"name": "GP practices"}},
        interventions={
            "upstream": item(
                5, 0.01, max_units=1000, delivered_by="gp", effects={"admissions": effects}
            )
        },
        outcomes={"admissions": outcome(1000, tariff=100, paid_to="acute")},
    )


def two_scenarios(max_loss: float | None = None) -> tuple[Instance, list[Instance]]:
    """Base: 2 admissions avoided a patient (the trust loses £200 a patient); scenario 1: 1
    (£100), scenario 2: 3 (£300). Equally likely, so the mean is the base."""
    base = validated(shifting(-2, max_loss))
    return base, [validated(shifting(-1, max_loss)), validated(shifting(-3, max_loss))]


def test_cvar_limit_holds_the_worse_scenario_at_alpha_one_half(solver: str) -> None:
    """Two scenarios at alpha 0.5: the tail is one scenario's worth, so CVaR is the worse loss,
    300 x. CVaR <= £30,000 gives x* = 100 patients (1 QALY). The deterministic plan, with the
    same £30,000 as a limit on the base (mean) loss 200 x, buys 150 (1.5 QALY): its CVaR is
    £45,000. The price of risk-aversion is 0.5 QALY.

    Prices: one more £ of CVaR buys 1/300 patient, 0.01/300 QALY: 3.333 QALY per £100k. The
    tail row of scenario 2 carries the same price, scenario 1's none (its loss is not in the
    tail): with u_s >= loss_s - eta priced mu_s, mu_1 + mu_2 = lambda (eta free) and
    100 mu_1 + 300 mu_2 = 0.01 (x), so mu_1 = 0 and mu_2 = lambda = 0.01/300."""
    base, scenarios = two_scenarios(max_loss=30_000)
    settings = RiskSettings(cvar={"acute": 30_000}, alpha=0.5, limits="expectation")
    plan = plan_under_risk(base, scenarios, settings, solver)  # type: ignore[arg-type]
    s = plan.summary
    assert s["objective"] == approx(1.0)
    assert s["deterministic_objective"] == approx(1.5)
    assert s["price_of_risk_aversion"] == approx(0.5)
    row = one(plan.allocation, intervention="upstream", year=2021)
    assert (row["units"], row["deterministic_units"]) == approx((100, 150))
    risk = one(plan.partners, plan="risk_aware", partner="acute")
    assert (risk["expected_loss"], risk["cvar"], risk["worst_loss"]) == approx(
        (20_000, 30_000, 30_000)
    )
    assert risk["within_cvar_limit"]
    assert risk["p_within_max_loss"] == approx(1.0)  # £10,000 and £30,000, both within £30,000
    det = one(plan.partners, plan="deterministic", partner="acute")
    assert (det["expected_loss"], det["cvar"], det["worst_loss"]) == approx(
        (30_000, 45_000, 45_000)
    )
    assert not det["within_cvar_limit"]
    assert det["p_within_max_loss"] == approx(0.5)  # £15,000 within, £45,000 not
    prices = plan.shadow_prices.set_index("constraint")
    assert prices.loc["cvar_limit__acute__2021", "value_of_relaxing"] == approx(1e5 * 0.01 / 300)
    assert prices.loc["cvar_tail__acute__2021__s2", "value_of_relaxing"] == approx(1e5 * 0.01 / 300)
    assert prices.loc["cvar_tail__acute__2021__s1", "value_of_relaxing"] == approx(0)
    # the stated £30,000 limit holds on the mean loss (200 x = £20,000): not binding
    assert prices.loc["risk_limit__acute__2021__mean", "value_of_relaxing"] == approx(0)
    assert prices.loc["risk_limit__acute__2021__mean", "family"] == (
        "partner_risk_limit_expectation"
    )


def test_a_stated_limit_on_the_mean_is_the_deterministic_plan_and_in_every_scenario_the_worst(
    solver: str,
) -> None:
    """The stated £30,000 on average: 200 x <= 30,000, x = 150, the deterministic plan. In every
    scenario: 300 x <= 30,000, x = 100; only scenario 2's row binds, at 0.01/300 QALY a £."""
    base, scenarios = two_scenarios(max_loss=30_000)
    on_average = plan_under_risk(base, scenarios, RiskSettings(limits="expectation"), solver)  # type: ignore[arg-type]
    assert on_average.summary["objective"] == approx(1.5)
    assert on_average.summary["price_of_risk_aversion"] == approx(0)
    every = plan_under_risk(base, scenarios, RiskSettings(limits="every"), solver)  # type: ignore[arg-type]
    assert every.summary["objective"] == approx(1.0)
    prices = every.shadow_prices.set_index("constraint")
    assert prices.loc["risk_limit__acute__2021__s2", "value_of_relaxing"] == approx(10 / 3)
    assert prices.loc["risk_limit__acute__2021__s2", "family"] == (
        "partner_risk_limit_every_scenario"
    )
    assert prices.loc["risk_limit__acute__2021__s1", "value_of_relaxing"] == approx(0)


@pytest.mark.parametrize(
    ("alpha", "per_patient"),
    [(0.0, 250.0), (0.5, 350.0), (0.6, 362.5), (0.75, 400.0)],
)
def test_cvar_limit_over_four_scenarios(solver: str, alpha: float, per_patient: float) -> None:
    """Losses of £100, £200, £300 and £400 a patient. CVaR per patient: alpha 0 the mean, 250;
    0.5 the worst two, 350; 0.6 the worst 1.6 scenarios, (400 + 0.6 x 300) / 1.6 = 362.5;
    0.75 the worst, 400. With CVaR <= £35,000: x = 35,000 / that, and one more £100k of CVaR
    is worth 0.01 x 100,000 / that QALY."""
    base = validated(shifting(-2.5))
    scenarios = [validated(shifting(-k)) for k in (1, 2, 3, 4)]
    settings = RiskSettings(cvar={"acute": 35_000}, alpha=alpha)
    plan = plan_under_risk(base, scenarios, settings, solver)  # type: ignore[arg-type]
    units = 35_000 / per_patient
    assert one(plan.allocation, intervention="upstream")["units"] == approx(units)
    assert plan.summary["objective"] == approx(0.01 * units)
    acute = one(plan.partners, plan="risk_aware", partner="acute")
    assert acute["cvar"] == approx(35_000)
    assert acute["expected_loss"] == approx(250 * units)
    price = one(plan.shadow_prices, constraint="cvar_limit__acute__2021")["value_of_relaxing"]
    assert price == approx(0.01 * 1e5 / per_patient)
    # the deterministic plan has no limit: capped by admissions >= 0 at the base effect, 400
    assert plan.summary["deterministic_objective"] == approx(4.0)


def test_a_cvar_limit_as_a_share_of_baseline_income(solver: str) -> None:
    """The trust's baseline income is 1,000 admissions x £100 = £100,000; 30% is £30,000."""
    base, scenarios = two_scenarios()
    settings = RiskSettings(cvar={"acute": "30%"}, alpha=0.5)
    plan = plan_under_risk(base, scenarios, settings, solver)  # type: ignore[arg-type]
    assert plan.summary["cvar_limits"] == "acute=£30,000"
    assert plan.summary["objective"] == approx(1.0)


# --- floors: on average or in every scenario ----------------------------------------------------


def floor_case(effect: float) -> Instance:
    """£2,000 buys £10 places of education (0.01 QALY each) or of a clinic (no QALYs) that
    avoids `-effect` admissions a place; admissions (1,000 today) must be at most 900."""
    return validated(
        instance(
            envelope={"amounts": {2021: 2000}},
            interventions={
                "education": item(10, 0.01, max_units=1000),
                "clinic": item(10, 0.0, max_units=1000, effects={"admissions": effect}),
            },
            outcomes={"admissions": outcome(1000)},
            floors={"cap": {"outcome": "admissions", "bound": "upper", "value": 900}},
        )
    )


def test_floors_on_average_and_in_every_scenario(solver: str) -> None:
    """The clinic avoids 1 admission a place in scenario 1 and 3 in scenario 2 (2 at base).
    On average: 1,000 - 2 c <= 900, c = 50, education 150, 1.5 QALY (the deterministic plan);
    the floor is met only in scenario 2 (950 and 850 admissions). In every scenario: scenario 1
    needs c = 100, education 100, 1 QALY; met in both. Prices: on average one more admission
    allowed frees half a clinic place, 0.005 QALY; in every scenario scenario 1's row frees a
    whole place, 0.01 QALY; the envelope is worth 0.01 / £10 = 100 QALY per £100k."""
    base, scenarios = floor_case(-2), [floor_case(-1), floor_case(-3)]
    mean = plan_under_risk(base, scenarios, RiskSettings(floors="expectation"), solver)  # type: ignore[arg-type]
    assert mean.summary["objective"] == approx(1.5)
    assert mean.summary["price_of_risk_aversion"] == approx(0)
    assert one(mean.allocation, intervention="clinic")["units"] == approx(50)
    floor = one(mean.floors, plan="risk_aware")
    assert (floor["mode"], floor["expected_level"], floor["worst_level"]) == (
        "expectation", approx(900), approx(950)
    )  # fmt: skip
    assert floor["p_met"] == approx(0.5)
    prices = mean.shadow_prices.set_index("constraint")
    assert prices.loc["floor__cap__2021__mean", "value_of_relaxing"] == approx(0.005)
    assert prices.loc["floor__cap__2021__mean", "family"] == "outcome_floor_expectation"
    assert prices.loc["envelope__2021", "value_of_relaxing"] == approx(100)
    assert prices.loc["envelope__2021", "family"] == "envelope"  # the same in both: stated once

    every = plan_under_risk(base, scenarios, RiskSettings(floors="every"), solver)  # type: ignore[arg-type]
    assert every.summary["objective"] == approx(1.0)
    assert every.summary["deterministic_objective"] == approx(1.5)
    assert every.summary["price_of_risk_aversion"] == approx(0.5)
    assert one(every.allocation, intervention="clinic")["units"] == approx(100)
    assert one(every.floors, plan="risk_aware")["p_met"] == approx(1.0)
    assert one(every.floors, plan="deterministic")["p_met"] == approx(0.5)
    prices = every.shadow_prices.set_index("constraint")
    assert prices.loc["floor__cap__2021__s1", "value_of_relaxing"] == approx(0.01)
    assert prices.loc["floor__cap__2021__s2", "value_of_relaxing"] == approx(0)
    assert prices.loc["floor__cap__2021__s1", "scenario"] == "s1"
    assert prices.loc["envelope__2021", "value_of_relaxing"] == approx(100)

    # one floor in every scenario, the rest on average: the same as above
    override = RiskSettings(floors="expectation", floor_modes={"cap": "every"})
    assert plan_under_risk(base, scenarios, override, solver).summary["objective"] == approx(1.0)  # type: ignore[arg-type]


# --- the envelope: money carried per scenario -----------------------------------------------------


def carry_case(unit_cost: float) -> Instance:
    """Two years of £1,000, savings carried forward; one service at `unit_cost` a place, 0.01
    QALY each, no discounting."""
    return validated(
        instance(
            horizon=2,
            envelope={"amounts": {2021: 1000, 2022: 1000}},
            interventions={"service": item(unit_cost, 0.01, max_units=1000)},
        )
    )


def test_envelope_in_every_scenario_carries_each_scenarios_own_savings(solver: str) -> None:
    """Places cost £8 or £12 (£10 at base). In every scenario: the £12 scenario allows
    12 (x1 + x2) <= 2,000 with x1 <= 1,000 / 12 (nothing to carry in year 1): 166.67 places,
    1.6667 QALY. On average (£10): 200 places, 2 QALY, the deterministic plan, which overspends
    in the £12 scenario by £400. A £100k more envelope in either year of the £12 scenario buys
    100,000 / 12 places: 83.33 QALY; the £8 scenario's rows are slack."""
    base, scenarios = carry_case(10), [carry_case(8), carry_case(12)]
    every = plan_under_risk(base, scenarios, RiskSettings(envelope="every"), solver)  # type: ignore[arg-type]
    assert every.summary["objective"] == approx(2000 / 12 * 0.01)
    total = every.allocation.groupby("intervention")["units"].sum()["service"]
    assert total == approx(2000 / 12)
    prices = every.shadow_prices.set_index("constraint")
    for year in (2021, 2022):
        assert prices.loc[f"envelope__{year}__s2", "value_of_relaxing"] == approx(1e5 / 12 * 0.01)
        assert prices.loc[f"envelope__{year}__s1", "value_of_relaxing"] == approx(0)
        assert prices.loc[f"envelope__{year}__s2", "family"] == "envelope_every_scenario"
    scenarios_table = every.scenarios.set_index(["scenario", "plan"])
    assert scenarios_table.loc[("s2", "risk_aware"), "envelope_met"]
    assert scenarios_table.loc[("s2", "risk_aware"), "spend"] == approx(2000)
    assert scenarios_table.loc[("s1", "risk_aware"), "spend"] == approx(2000 / 12 * 8)
    assert not scenarios_table.loc[("s2", "deterministic"), "envelope_met"]
    assert scenarios_table.loc[("s2", "deterministic"), "spend"] == approx(2400)
    assert scenarios_table.loc[("s1", "deterministic"), "envelope_met"]

    mean = plan_under_risk(base, scenarios, RiskSettings(envelope="expectation"), solver)  # type: ignore[arg-type]
    assert mean.summary["objective"] == approx(2.0)
    assert mean.summary["price_of_risk_aversion"] == approx(0)


# --- zero-width distributions: the deterministic plan --------------------------------------------


def test_zero_width_scenarios_give_the_deterministic_plan(solver: str) -> None:
    """Three copies of the diabetes instance (a MILP): every rule is the same in each, so the
    model is the deterministic one; plan, partners, floors and prices all match it."""
    base = planner.check_instance(DIABETES)
    deterministic = planner.solve_instance(DIABETES, solver=solver)  # type: ignore[arg-type]
    plan = plan_under_risk(base, [base, base.model_copy(), base.model_copy()], None, solver)  # type: ignore[arg-type]
    s = plan.summary
    assert s["problem"] == "MILP"
    assert s["objective"] == approx(deterministic.summary["objective"])
    assert s["deterministic_objective"] == approx(deterministic.summary["objective"])
    assert s["expected_health_gain"] == approx(deterministic.summary["health_gain_discounted"])
    assert s["price_of_risk_aversion"] == approx(0)
    for row in deterministic.allocation.itertuples():
        mine = one(plan.allocation, intervention=row.intervention, year=row.year)
        assert (mine["units"], mine["deterministic_units"]) == approx((row.units, row.units))
    for row in deterministic.partners.itertuples():
        for name in ("risk_aware", "deterministic"):
            mine = one(plan.partners, plan=name, partner=row.partner, year=row.year)
            loss = -row.net_change
            assert (mine["expected_loss"], mine["cvar"], mine["worst_loss"]) == approx(
                (loss, loss, loss)
            )
    assert (plan.floors["p_met"] == 1.0).all()
    assert set(plan.shadow_prices["family"]) <= {r for r in deterministic.shadow_prices["family"]}
    mine = plan.shadow_prices.set_index("constraint")["value_of_relaxing"]
    theirs = deterministic.shadow_prices.set_index("constraint")["value_of_relaxing"]
    assert sorted(mine.index) == sorted(theirs.index)
    assert mine[theirs.index].tolist() == approx(theirs.tolist())
    binding = plan.shadow_prices.set_index("constraint")["binding"]
    assert binding[theirs.index].tolist() == deterministic.shadow_prices["binding"].tolist()


@pytest.mark.parametrize("scenario", ["min_spend", "net_benefit_20k"])
def test_zero_width_scenarios_under_the_other_objectives(solver: str, scenario: str) -> None:
    """Expected discounted spend (minimised) and expected net benefit: with every draw the
    instance, the deterministic optimum."""
    base = planner.check_instance(DIABETES, scenario)
    deterministic = planner.solve_instance(DIABETES, scenario, solver=solver)  # type: ignore[arg-type]
    plan = plan_under_risk(base, [base] * 2, None, solver)  # type: ignore[arg-type]
    assert plan.summary["objective_kind"] == base.objective.kind
    assert plan.summary["objective"] == approx(deterministic.summary["objective"])
    assert plan.summary["deterministic_objective"] == approx(deterministic.summary["objective"])
    assert plan.summary["price_of_risk_aversion"] == pytest.approx(0, abs=1e-6 * 2e7)


def test_zero_width_cvar_limit_is_the_deterministic_loss_limit(solver: str) -> None:
    """With every scenario the same, the CVaR of a loss is the loss: a CVaR limit of £500,000 on
    the acute trust is the deterministic plan with max_loss £500,000 (below its 10%, £525,674),
    and the CVaR row's price is that risk limit's price."""
    base = planner.check_instance(DIABETES)
    settings = RiskSettings(cvar={"acute_trust": 500_000})
    plan = plan_under_risk(base, [base] * 3, settings, solver)  # type: ignore[arg-type]
    trust = base.partners["acute_trust"].model_copy(update={"max_loss_share": None,
                                                            "max_loss": 500_000})  # fmt: skip
    limited = base.model_copy(update={"partners": {**base.partners, "acute_trust": trust}})
    model = planner.build(limited)
    deterministic = planner.make_plan(model, planner.solve(model, solver))  # type: ignore[arg-type]
    assert plan.summary["objective"] == approx(deterministic.summary["objective"])
    assert plan.summary["objective"] < 641.19
    for row in deterministic.allocation.itertuples():
        mine = one(plan.allocation, intervention=row.intervention, year=row.year)
        assert mine["units"] == approx(row.units)
    for year in (2014, 2015, 2016):
        cvar_price = one(plan.shadow_prices, constraint=f"cvar_limit__acute_trust__{year}")
        limit_price = one(
            deterministic.shadow_prices, constraint=f"risk_limit__acute_trust__{year}"
        )
        assert cvar_price["value_of_relaxing"] == approx(limit_price["value_of_relaxing"])
    assert one(plan.partners, plan="risk_aware", partner="acute_trust", year=2015)[
        "cvar"
    ] == approx(500_000)


# --- the diabetes pathway with hand-made scenarios ----------------------------------------------


def education_scaled(base: Instance, factor: float) -> Instance:
    """Structured education's health gain (both tranches) and its effects on A&E attendances and
    admissions at `factor` times the instance's."""
    item_ = base.interventions["structured_education"]
    tranches = [t.model_copy(update={"health_gain": t.health_gain * factor})
                for t in item_.tranches or []]  # fmt: skip
    effects = dict(item_.effects)
    for oid in ("ae_attendances", "emergency_admissions"):
        value = effects[oid]
        assert isinstance(value, float)
        effects[oid] = value * factor
    changed = item_.model_copy(update={"tranches": tranches, "effects": effects})
    return base.model_copy(
        update={"interventions": {**base.interventions, "structured_education": changed}}
    )


def by_year(partners: pd.DataFrame, plan: str, partner: str) -> pd.DataFrame:
    """One plan's rows of one partner, by year."""
    rows = partners[(partners["plan"] == plan) & (partners["partner"] == partner)]
    return rows.set_index("year")


ON_AVERAGE = {"floors": "expectation", "limits": "expectation", "envelope": "expectation"}


def test_diabetes_education_at_half_and_one_and_a_half_times(solver: str) -> None:
    """Education's gain and effects at 50%, 100% and 150%, every rule on average (its mean is
    the instance's, every row linear in the effects): without a CVaR limit the plan is the
    deterministic one, 641.191 QALY. Each extra place (education buys 1,800, 1,500, 1,965 against
    800 today) avoids 0.011 A&E attendances (£148) and 0.008 admissions (£2,700): £23.228 of
    the acute trust's income; at 150% half as much again. So the deterministic plan's worst
    (alpha 0.95 of three scenarios: the worst) loss is 309,974.842 + 0.5 x 23.228 x 1,000 =
    £321,588.842 in 2014 and 518,804.242 + 0.5 x 23.228 x 700 = £526,934.042 in 2015. A CVaR
    limit of £600,000 does not bind: the same plan. £500,000 binds in 2015: fewer QALYs."""
    base = planner.check_instance(DIABETES)
    scenarios = [education_scaled(base, f) for f in (0.5, 1.0, 1.5)]
    free = plan_under_risk(base, scenarios, RiskSettings(**ON_AVERAGE), solver)  # type: ignore[arg-type]
    assert free.summary["objective"] == pytest.approx(641.191, abs=5e-4)
    assert free.summary["deterministic_objective"] == pytest.approx(641.191, abs=5e-4)
    assert free.summary["price_of_risk_aversion"] == pytest.approx(0, abs=1e-6)
    det = by_year(free.partners, "deterministic", "acute_trust")
    assert det.loc[2014, "cvar"] == approx(321_588.842)
    assert det.loc[2015, "cvar"] == approx(526_934.042)
    assert det.loc[2014, "expected_loss"] == approx(309_974.842)

    loose = RiskSettings(**ON_AVERAGE, cvar={"acute_trust": 600_000})
    same = plan_under_risk(base, scenarios, loose, solver)  # type: ignore[arg-type]
    assert same.summary["objective"] == pytest.approx(free.summary["objective"], abs=1e-6)
    assert same.summary["price_of_risk_aversion"] == pytest.approx(0, abs=1e-6)

    tight = RiskSettings(**ON_AVERAGE, cvar={"acute_trust": 500_000})
    bound = plan_under_risk(base, scenarios, tight, solver)  # type: ignore[arg-type]
    s = bound.summary
    assert s["expected_health_gain"] < s["deterministic_health_gain"] - 0.05
    assert s["price_of_risk_aversion"] == approx(s["deterministic_objective"] - s["objective"])
    assert s["price_of_risk_aversion"] > 0.05
    trust = by_year(bound.partners, "risk_aware", "acute_trust")
    assert trust.loc[2015, "cvar"] == approx(500_000)
    assert (trust["cvar"] <= 500_000 * (1 + 1e-7)).all()
    assert trust["within_cvar_limit"].all()
    price = one(bound.shadow_prices, constraint="cvar_limit__acute_trust__2015")
    assert price["value_of_relaxing"] > 0


def test_diabetes_default_settings_hold_the_envelope_in_every_scenario(solver: str) -> None:
    """With the effects at 50% the admissions saved are fewer and their tariffs still paid: the
    envelope in every scenario costs health against the deterministic plan, and the risk-aware
    plan stays within the envelope in every scenario."""
    base = planner.check_instance(DIABETES)
    scenarios = [education_scaled(base, f) for f in (0.5, 1.0, 1.5)]
    plan = plan_under_risk(base, scenarios, None, solver)  # type: ignore[arg-type]
    assert plan.summary["objective"] < plan.summary["deterministic_objective"] - 1
    risk_aware = plan.scenarios[plan.scenarios["plan"] == "risk_aware"]
    assert risk_aware["envelope_met"].all() and risk_aware["limits_met"].all()
    det = plan.scenarios[plan.scenarios["plan"] == "deterministic"].set_index("scenario")
    assert not det.loc["s1", "envelope_met"]  # education saves half the tariffs: overspent
    assert "envelope_every_scenario" in set(plan.shadow_prices["family"])


# --- seeded determinism --------------------------------------------------------------------------


def test_the_same_scenarios_give_identical_tables_and_files(tmp_path: Path) -> None:
    base = planner.check_instance(DIABETES)
    scenarios = [education_scaled(base, f) for f in (0.5, 1.0, 1.5)]
    settings = RiskSettings(cvar={"acute_trust": 500_000})
    plans = [plan_under_risk(base, scenarios, settings, "highs") for _ in range(2)]
    for name, table in plans[0].tables().items():
        assert table.equals(plans[1].tables()[name]), name
    folders = []
    for n, plan in enumerate(plans):
        folder = tmp_path / f"run{n}"
        write_tables(plan.tables(), folder, "risk.xlsx", "GBP", [DIABETES], {"instance": "x"})
        folders.append(folder)
    names = sorted(p.name for p in folders[0].iterdir())
    assert names == sorted(p.name for p in folders[1].iterdir())
    assert "risk.xlsx" in names and "partners.csv" in names
    for name in names:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name


# --- the tables' shape, and bad input ------------------------------------------------------------


def test_tables_have_their_documented_columns() -> None:
    base, scenarios = two_scenarios(max_loss=30_000)
    plan = plan_under_risk(base, scenarios, RiskSettings(cvar={"acute": 30_000}, alpha=0.5))
    assert list(plan.allocation.columns) == ALLOCATION_COLUMNS
    assert list(plan.partners.columns) == PARTNER_COLUMNS
    assert list(plan.floors.columns) == FLOOR_COLUMNS
    assert list(plan.scenarios.columns) == SCENARIO_COLUMNS
    assert list(plan.shadow_prices.columns) == SHADOW_PRICE_COLUMNS
    assert isinstance(plan, RiskPlan)


def documented(section: str) -> list[str]:
    text = (DOCS / "risk.md").read_text(encoding="utf-8")
    lines = text[text.index(section) :].splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith("|"))
    names = []
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        cell = line.strip().strip("|").split("|")[0]
        names.append(cell.strip().strip("`"))
    return names


@pytest.mark.parametrize(
    ("section", "columns"),
    [
        ("### allocation\n", ALLOCATION_COLUMNS),
        ("### partners\n", PARTNER_COLUMNS),
        ("### floors\n", FLOOR_COLUMNS),
        ("### scenarios\n", SCENARIO_COLUMNS),
        ("### shadow_prices\n", SHADOW_PRICE_COLUMNS),
    ],
)
def test_columns_are_documented_in_order(section: str, columns: list[str]) -> None:
    assert documented(section) == columns


def test_summary_fields_are_documented_in_order() -> None:
    base, scenarios = two_scenarios()
    plan = plan_under_risk(base, scenarios, RiskSettings(cvar={"acute": 30_000}, alpha=0.5))
    assert documented("### summary\n") == list(plan.summary)


def test_bad_settings_are_named_with_a_fix() -> None:
    base, scenarios = two_scenarios()
    settings = RiskSettings(cvar={"hospital": 1000}, alpha=1.0, floor_modes={"nope": "every"})
    with pytest.raises(InputError) as caught:
        plan_under_risk(base, scenarios, settings)
    text = str(caught.value)
    assert "3 problems" in text
    assert "--cvar: hospital: is not a partner of the instance" in text
    assert "fix: name one of the instance's partners: acute, gp" in text
    assert "--alpha" in text and "below 1" in text
    assert "--floor: nope: is not a floor of the instance" in text


def test_cvar_and_floor_options_are_parsed_or_named() -> None:
    assert parse_cvar(["acute=£500,000", "gp=10%", "la = 0"]) == {
        "acute": 500_000.0, "gp": "10%", "la": 0.0
    }  # fmt: skip
    with pytest.raises(InputError) as caught:
        parse_cvar(["acute", "gp=lots", "la=-5"])
    text = str(caught.value)
    assert "3 problems" in text and "is not PARTNER=AMOUNT" in text and "'lots'" in text
    assert parse_floor_modes(["cap=every", "other=expectation"]) == {
        "cap": "every", "other": "expectation"
    }  # fmt: skip
    with pytest.raises(InputError, match="is not FLOOR=MODE"):
        parse_floor_modes(["cap=sometimes"])


def test_a_scenario_that_changes_the_models_shape_is_refused() -> None:
    """Tranche sizes are bounds on shared decisions: a scenario cannot move them."""

    def with_tranche(size: float) -> Instance:
        data = instance(interventions={"a": item(1, 0, max_units=100, tranches=[
            {"units": size, "health_gain": 0.02}, {"health_gain": 0.01}])})  # fmt: skip
        del data["interventions"]["a"]["health_gain"]
        return validated(data)

    with pytest.raises(InputError) as caught:
        plan_under_risk(with_tranche(10), [with_tranche(10), with_tranche(20)])
    text = str(caught.value)
    assert "s2: (top level): has different decision variables from the base instance" in text
    assert "units__a__2021__tranche1" in text and "fix:" in text


def test_no_risk_aware_plan_says_which_rules_held_where() -> None:
    base, scenarios = floor_case(-2), [floor_case(-1), floor_case(-3)]
    cap = {"outcome": "admissions", "bound": "upper", "value": 600}  # c = 400 > 200 places
    tight = [s.model_copy(update={"floors": {"cap": base.floors["cap"].model_copy(update=cap)}})
             for s in scenarios]  # fmt: skip
    with pytest.raises(NoPlanError) as caught:
        plan_under_risk(base, tight, RiskSettings(floors="every"))
    assert caught.value.status == "infeasible"
    message = str(caught.value)
    assert "No risk-aware plan for 't' over 2 scenarios: infeasible" in message
    assert (
        "in every scenario: capacities, ramps, make-or-buy and outcome limits, the envelope, "
        "partners' stated limits, the floors" in message
    )
    assert "--envelope expectation" in message


# --- the command ----------------------------------------------------------------------------------


UNCERTAIN = """\
name: shifting
baseline_year: 2020
horizon: 1
discount_rate: 0.0
partners:
  acute: {name: Acute trust, max_loss: 40000}
  gp: {name: GP practices}
interventions:
  upstream:
    name: Upstream care
    unit: patient
    unit_cost: 5
    health_gain: 0.01
    max_units: 1000
    delivered_by: gp
    effects: {admissions: -2}
outcomes:
  admissions: {name: Admissions, unit: admission, baseline: 1000, tariff: 100, paid_to: acute}
uncertainty:
  seed: 7
  parameters:
    avoided:
      field: interventions.upstream.effects.admissions
      distribution: range
      low: -3
      high: -1
"""


def test_planner_risk_writes_identical_files_for_the_same_seed(tmp_path: Path) -> None:
    path = write(tmp_path, UNCERTAIN, "shifting.yaml")
    outs = []
    for n in range(2):
        out = tmp_path / f"risk{n}"
        run = CliRunner().invoke(
            app, ["risk", str(path), "--draws", "20", "--seed", "3", "--cvar", "acute=30000",
                  "--alpha", "0.9", "--limits", "expectation", "--out", str(out)],
        )  # fmt: skip
        assert run.exit_code == 0, run.output
        outs.append(out)
    assert "risk-aware over 20 equally likely scenarios" in run.output
    names = sorted(p.name for p in outs[0].iterdir() if not p.name.startswith("."))
    assert names == sorted(
        ["summary.csv", "allocation.csv", "partners.csv", "floors.csv", "scenarios.csv",
         "shadow_prices.csv", "risk.xlsx"]
    )  # fmt: skip
    for name in names:
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    partners = pd.read_csv(outs[0] / "partners.csv")
    acute = partners[(partners["plan"] == "risk_aware") & (partners["partner"] == "acute")]
    assert acute["cvar"].iloc[0] == pytest.approx(30_000)
    summary = dict(pd.read_csv(outs[0] / "summary.csv").itertuples(index=False))
    assert summary["scenarios"] == "20" and summary["alpha"] == "0.9"


def test_planner_risk_draws_depend_on_the_seed(tmp_path: Path) -> None:
    path = write(tmp_path, UNCERTAIN, "shifting.yaml")
    objectives = []
    for seed in ("3", "4"):
        out = tmp_path / f"seed{seed}"
        run = CliRunner().invoke(app, ["risk", str(path), "--draws", "20", "--seed", seed,
                                       "--cvar", "acute=30000", "--out", str(out)])  # fmt: skip
        assert run.exit_code == 0, run.output
        summary = dict(pd.read_csv(out / "summary.csv").itertuples(index=False))
        objectives.append(summary["objective"])
    assert objectives[0] != objectives[1]


def test_planner_risk_names_bad_options_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, UNCERTAIN, "shifting.yaml")
    run = CliRunner().invoke(app, ["risk", str(path), "--cvar", "trust=5", "--out",
                                   str(tmp_path / "out")])  # fmt: skip
    assert run.exit_code == 2
    assert "--cvar: trust: is not a partner of the instance" in run.output
    assert not (tmp_path / "out").exists()


def test_planner_risk_exits_3_when_no_plan_meets_the_limits(tmp_path: Path) -> None:
    """At most 500 patients, and admissions at most 300 in every draw: reachable at the base (2
    avoided a patient: 0 left), not in a draw where a patient avoids fewer than 1.4."""
    text = UNCERTAIN.replace("max_units: 1000", "max_units: 500")
    text += "floors:\n  cap: {outcome: admissions, bound: upper, value: 300}\n"
    path = write(tmp_path, text, "shifting.yaml")
    run = CliRunner().invoke(app, ["risk", str(path), "--draws", "5", "--floors", "every",
                                   "--out", str(tmp_path / "out")])  # fmt: skip
    assert run.exit_code == 3, run.output
    assert "No risk-aware plan" in run.output
    assert not (tmp_path / "out").exists()


def test_every_combination_of_modes_runs_on_the_small_cases(solver: str) -> None:
    base, scenarios = floor_case(-2), [floor_case(-1), floor_case(-3)]
    for floors, limits, envelope in itertools.product(("expectation", "every"), repeat=3):
        settings = RiskSettings(floors=floors, limits=limits, envelope=envelope)  # type: ignore[arg-type]
        plan = plan_under_risk(base, scenarios, settings, solver)  # type: ignore[arg-type]
        assert plan.summary["objective"] == approx(1.5 if floors == "expectation" else 1.0)
