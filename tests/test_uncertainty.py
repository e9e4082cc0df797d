"""`planner uncertainty`: seeded draws of uncertain numbers, the plan held fixed under them, and
the best plan of each draw.

Known answers: each kind of distribution's mean, standard deviation and bounds, computed by hand
and checked on many seeded draws with a tolerance justified by the number of draws; a floor met
exactly when a uniform draw is below 0.3; zero-width distributions giving the deterministic plan
to the last digit (both solvers, the bundled diabetes instance); identical files for the same
seed.
"""

from __future__ import annotations

import copy
import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import planner
from planner.cli import app
from planner.load import Document
from planner.uncertainty import Parameter, analyse, resolve, sample, stats, stream
from tests.conftest import Data, instance, item, outcome, write

ROOT = Path(__file__).resolve().parent.parent
DIABETES = ROOT / "instances" / "diabetes_lewisham.yaml"
runner = CliRunner()


def with_uncertainty(data: Data, seed: int = 11, **parameters: dict[str, Any]) -> Data:
    return {**copy.deepcopy(data), "uncertainty": {"seed": seed, "parameters": parameters}}


def one_intervention(unit_cost: float = 0.0, **fields: Any) -> Data:
    """One plan year; 100 units of `a` (min = max = 100), 1 QALY each, no budget."""
    return instance(
        interventions={"a": item(unit_cost, 1.0, min_units=100, max_units=100, **fields)},
    )


def parameters_of(tmp_path: Path, data: Data) -> list[Parameter]:
    checked = planner.check_instance(write(tmp_path, data))
    found, problems = resolve(checked, Document(data={}))
    assert problems == []
    return found


def draws_of(parameter: Parameter, n: int, seed: int = 11) -> np.ndarray:
    return np.array([parameter.draw(stream(seed, k, parameter.pid)) for k in range(n)])


# --- each kind of distribution ---------------------------------------------------------------

N = 20_000  # draws per moment test: the sample mean's standard error is sd / sqrt(N) = 0.0071 sd


def within(value: float, expected: float, standard_error: float) -> bool:
    """Within 4 standard errors: a correct sampler fails this once in about 16,000 seeds."""
    return abs(value - expected) <= 4 * standard_error


@pytest.mark.parametrize(
    ("spec", "point", "mean", "sd", "kurtosis", "low", "high"),
    [
        # uniform on [0.5, 1.5]: mean 1, sd 1 / sqrt(12) = 0.288675, kurtosis 1.8
        ({"distribution": "range", "low": 0.5, "high": 1.5}, 1.0,
         1.0, 1 / math.sqrt(12), 1.8, 0.5, 1.5),
        # triangular(0.5, mode 1, 1): mean (0.5 + 1 + 1) / 3 = 0.833333; variance (a^2 + b^2 +
        # c^2 - ab - ac - bc) / 18 = (0.25 + 1 + 1 - 0.5 - 0.5 - 1) / 18 = 0.0138889, sd 0.117851
        ({"distribution": "triangular", "low": 0.5, "high": 1.0}, 1.0,
         2.5 / 3, math.sqrt(0.25 / 18), 2.4, 0.5, 1.0),
        # normal, mean 10, se 2 on a unit cost (>= 0): 5 sd from the bound, truncation negligible
        ({"distribution": "normal", "se": 2}, 10.0, 10.0, 2.0, 3.0, 0.0, math.inf),
        # normal, mean 1, se 2, truncated at 0: alpha = -0.5, phi(alpha) = 0.352065,
        # 1 - Phi(alpha) = 0.691462, lambda = 0.509160: mean 1 + 2 lambda = 2.018321; variance
        # 4 (1 + alpha lambda - lambda^2) = 4 x 0.486176, sd 1.394526 (kurtosis ~3.4)
        ({"distribution": "normal", "se": 2}, 1.0, 2.018321, 1.394526, 3.4, 0.0, math.inf),
        # lognormal, mean 100, se 30: sd 30; sigma^2 = ln(1 + 0.09), kurtosis
        # exp(4s^2) + 2 exp(3s^2) + 3 exp(2s^2) - 3 = 4.5 (rounded up)
        ({"distribution": "lognormal", "se": 30}, 100.0, 100.0, 30.0, 4.5, 0.0, math.inf),
        # beta, mean 0.3, se 0.1: k = 0.21 / 0.01 - 1 = 20, a = 6, b = 14; sd 0.1 exactly
        ({"distribution": "beta", "se": 0.1}, 0.3, 0.3, 0.1, 3.0, 0.0, 1.0),
    ],
)  # fmt: skip
def test_each_kind_draws_its_mean_sd_and_bounds(
    tmp_path: Path,
    spec: dict[str, Any],
    point: float,
    mean: float,
    sd: float,
    kurtosis: float,
    low: float,
    high: float,
) -> None:
    field = "interventions.a.unit_cost"
    data = one_intervention(unit_cost=point)
    if spec["distribution"] == "beta":  # a share: the share of the discount rate, say
        data["discount_rate"] = point
        field = "discount_rate"
    (parameter,) = parameters_of(tmp_path, with_uncertainty(data, p={"field": field, **spec}))
    x = draws_of(parameter, N)
    assert within(float(x.mean()), mean, sd / math.sqrt(N))
    # the sample sd's standard error is about sd sqrt((kurtosis - 1) / (4 N))
    assert within(float(x.std(ddof=1)), sd, sd * math.sqrt((kurtosis - 1) / (4 * N)))
    assert x.min() >= low and x.max() <= high


def test_relative_lognormal_keeps_the_sign_and_moves_fields_together(tmp_path: Path) -> None:
    data = one_intervention(effects={"o": -0.03, "p": 0.5})
    data["outcomes"] = {"o": outcome(100), "p": outcome(100)}
    both = {"fields": ["interventions.a.effects.o", "interventions.a.effects.p"],
            "relative": True, "distribution": "lognormal", "sigma": 0.354}  # fmt: skip
    (parameter,) = parameters_of(tmp_path, with_uncertainty(data, both=both))
    x = draws_of(parameter, N)
    # multiplier with mean 1 (the point is the mean): sd sqrt(exp(sigma^2) - 1) = 0.365390
    sd = math.sqrt(math.exp(0.354**2) - 1)
    assert within(float(x.mean()), 1.0, sd / math.sqrt(N))
    assert x.min() > 0
    drawn = sample(planner.check_instance(write(tmp_path, with_uncertainty(data, both=both))), 50)
    for k, one in enumerate(drawn):
        effects = one.interventions["a"].effects
        assert effects["o"] == pytest.approx(-0.03 * x[k], rel=1e-15)
        assert effects["p"] == pytest.approx(0.5 * x[k], rel=1e-15)
        assert one.uncertainty is None


def test_stats_of_a_constant_sample_are_exact() -> None:
    assert stats([0.1] * 3) == {"mean": 0.1, "sd": 0.0, "p5": 0.1, "p50": 0.1, "p95": 0.1,
                                "min": 0.1, "max": 0.1}  # fmt: skip
    assert stats([]) == dict.fromkeys(("mean", "sd", "p5", "p50", "p95", "min", "max"))


# --- seeds -----------------------------------------------------------------------------------


def test_draws_are_seeded_and_do_not_depend_on_how_many_are_made(tmp_path: Path) -> None:
    gain = {"field": "interventions.a.health_gain", "distribution": "range", "low": 0.5,
            "high": 1.5}  # fmt: skip
    checked = planner.check_instance(write(tmp_path, with_uncertainty(one_intervention(), g=gain)))
    first = [d.interventions["a"].health_gain for d in sample(checked, 5)]
    assert [d.interventions["a"].health_gain for d in sample(checked, 3)] == first[:3]
    assert [d.interventions["a"].health_gain for d in sample(checked, 5, seed=11)] == first
    other = [d.interventions["a"].health_gain for d in sample(checked, 5, seed=12)]
    assert other != first
    # another parameter leaves this one's draws as they were (one stream per parameter)
    cost = {"field": "interventions.a.unit_cost", "distribution": "range", "low": 0, "high": 1}
    both = planner.check_instance(
        write(tmp_path, with_uncertainty(one_intervention(), cost=cost, g=gain), "both.yaml")
    )
    assert [d.interventions["a"].health_gain for d in sample(both, 5)] == first


def test_without_an_uncertainty_section_every_draw_is_the_instance(tmp_path: Path) -> None:
    checked = planner.check_instance(write(tmp_path, one_intervention()))
    assert sample(checked, 3) == [checked] * 3


# --- a small case by hand --------------------------------------------------------------------


def floor_case() -> Data:
    """100 units of `a` (fixed) move outcome o by e per unit from its baseline of 100, and o must
    stay at most 30: the floor holds when 100 + 100 e <= 30, e <= -0.7. e is uniform on [-1, 0]
    (point -0.8, where the plan is feasible), so the floor holds when the uniform draw u of
    e = -1 + u is at most 0.3: P(met) = 0.3. The trust is paid £10 an event: its income changes
    by 10 x 100 e = 1,000 e, mean -500; it may lose £1,000, which no draw exceeds. Health gain
    is 100 units x a gain uniform on [0.5, 1.5]: mean 100."""
    data = instance(
        partners={"trust": {"name": "Trust", "max_loss": 1000}},
        interventions={
            "a": item(0, 1.0, min_units=100, max_units=100, effects={"o": -0.8}),
        },
        outcomes={"o": outcome(100, tariff=10, paid_to="trust")},
        floors={"cap": {"outcome": "o", "bound": "upper", "value": 30}},
    )
    return with_uncertainty(
        data,
        seed=5,
        effect={"field": "interventions.a.effects.o", "distribution": "range", "low": -1.0,
                "high": 0.0},
        gain={"field": "interventions.a.health_gain", "distribution": "range", "low": 0.5,
              "high": 1.5},
    )  # fmt: skip


def test_a_floor_met_when_a_uniform_draw_is_below_0_3(tmp_path: Path, solver: str) -> None:
    n = 400
    checked = planner.check_instance(write(tmp_path, floor_case()))
    result = analyse(checked, n, solver=solver)  # type: ignore[arg-type]
    draws = result.draws
    effect = draws[(draws["measure"] == "parameter") & (draws["subject"] == "effect")]["value"]
    gain = draws[(draws["measure"] == "parameter") & (draws["subject"] == "gain")]["value"]
    met = effect.to_numpy() <= -0.7
    floor = result.floors.iloc[0]
    assert (floor["floor"], floor["plan_level"], floor["bound"]) == ("cap", 20, 30)
    # exactly the draws with e <= -0.7, and about 0.3 of them: sd sqrt(0.3 x 0.7 / 400) = 0.0229
    assert floor["p_met"] == met.mean()
    assert within(floor["p_met"], 0.3, math.sqrt(0.21 / n))
    assert result.summary["p_all_floors_met"] == met.mean()
    # levels 100 + 100 e: their mean is 100 + 100 x the draws' mean e (about 50)
    assert floor["level_mean"] == pytest.approx(100 + 100 * effect.mean(), rel=1e-12)
    assert within(floor["level_mean"], 50, 100 / math.sqrt(12 * n))
    # health gain 100 g: mean 100 within 4 x 100 x 0.288675 / sqrt(400) = 5.8
    health = result.distributions.set_index(["analysis", "measure"])
    plan_health = health.loc[("plan", "health_gain_discounted")]
    assert plan_health["deterministic"] == 100
    assert plan_health["mean"] == pytest.approx(100 * gain.mean(), rel=1e-12)
    assert within(plan_health["mean"], 100, 100 / math.sqrt(12 * n))
    # the trust: income change 1,000 e (mean -500); never beyond its £1,000 limit
    trust = result.partners.set_index("partner").loc["trust"]
    assert (trust["plan_net_change"], trust["max_loss"]) == (-800, 1000)
    assert trust["net_change_mean"] == pytest.approx(1000 * effect.mean(), rel=1e-12)
    assert within(trust["net_change_mean"], -500, 1000 / math.sqrt(12 * n))
    assert (trust["p_beyond_limit"], trust["p_loss"]) == (0, 1)
    # re-optimised: the units are fixed, so a draw has a plan exactly when the floor holds
    assert result.summary["reoptimised_optimal"] == met.sum()
    assert result.summary["reoptimised_infeasible"] == n - met.sum()
    mix = result.mix.iloc[0]
    assert (mix["p_funded"], mix["units_mean"], mix["units_sd"]) == (1, 100, 0)
    reopt = health.loc[("reoptimised", "health_gain_discounted")]
    assert reopt["draws"] == met.sum()
    assert reopt["mean"] == pytest.approx(100 * gain.to_numpy()[met].mean(), rel=1e-12)


# --- zero width: the deterministic plan, exactly ----------------------------------------------


def zero_width(parameters: dict[str, Any]) -> dict[str, Any]:
    """Each distribution narrowed to its point value."""
    narrowed = {}
    for pid, spec in parameters.items():
        spec = dict(spec)
        if spec["distribution"] in ("range", "triangular"):
            point = 1.0 if spec.get("relative") else spec.get("mode")
            if point is None:
                raise AssertionError(f"give {pid} a mode to narrow it")
            spec["low"] = spec["high"] = point
        elif "sigma" in spec:
            spec["sigma"] = 0
        else:
            spec["se"] = 0
        narrowed[pid] = spec
    return narrowed


def test_zero_width_distributions_give_the_deterministic_plan_exactly(solver: str) -> None:
    document = planner.load(DIABETES)
    section = document.data["uncertainty"]
    # absolute triangulars without a stated mode: their point values
    modes = {"amputation_health_loss": -0.5, "education_cost": 120, "gp_clinic_price": 40}
    for pid, mode in modes.items():
        section["parameters"][pid]["mode"] = mode
    section["parameters"] = zero_width(section["parameters"])
    checked = planner.validate(document)
    assert len(checked.uncertainty.parameters) == 19  # type: ignore[union-attr]
    reference = planner.check_instance(DIABETES)
    for drawn in sample(checked, 3):
        assert drawn == reference.model_copy(update={"uncertainty": None})
    plan = planner.solve_instance(DIABETES, solver=solver)  # type: ignore[arg-type]
    result = analyse(checked, 3, solver=solver)  # type: ignore[arg-type]
    s = result.summary
    assert s["deterministic_objective"] == plan.summary["objective"]
    assert s["deterministic_objective"] == pytest.approx(641.190981, rel=1e-6)
    for key in ("p_all_floors_met", "p_all_limits_met", "p_envelope_met", "p_all_rules_met",
                "p_same_choices"):  # fmt: skip
        assert s[key] == 1, key
    assert s["reoptimised_optimal"] == 3
    assert s["health_gain_mean"] == plan.summary["health_gain_discounted"]
    draws = result.draws
    plan_rows = draws[draws["analysis"] == "plan"]
    for _, row in plan_rows[plan_rows["measure"] == "health_gain"].iterrows():
        assert row["value"] == plan.summary["health_gain_discounted"]
    levels = {(r.floor, r.year): r.level for r in plan.outcomes.itertuples() if r.floor}
    for _, row in plan_rows[plan_rows["measure"] == "floor_level"].iterrows():
        assert row["value"] == levels[(row["subject"], row["year"])]
    net = {(r.partner, r.year): r.net_change for r in plan.partners.itertuples()}
    for _, row in plan_rows[plan_rows["measure"] == "net_change"].iterrows():
        assert row["value"] == net[(row["subject"], row["year"])]
    units = {(r.intervention, r.year): r.units for r in plan.allocation.itertuples()}
    reopt = draws[(draws["analysis"] == "reoptimised") & (draws["measure"] == "units")]
    assert len(reopt) == 3 * len(units)
    for _, row in reopt.iterrows():
        assert row["value"] == units[(row["subject"], row["year"])]
    objective = draws[(draws["analysis"] == "reoptimised") & (draws["measure"] == "objective")]
    assert list(objective["value"]) == [plan.summary["objective"]] * 3
    for table in (result.floors, result.partners, result.envelope):
        assert set(table[[c for c in table if c.startswith("p_") and "gain" not in c]]
                   .stack().unique()) <= {0.0, 1.0}  # fmt: skip
    assert (result.floors["p_met"] == 1).all()
    assert (result.floors["level_mean"] == result.floors["plan_level"]).all()
    assert (result.floors["level_sd"] == 0).all()
    assert (result.partners["p_beyond_limit"] == 0).all()
    assert (result.partners["net_change_mean"] == result.partners["plan_net_change"]).all()
    assert (result.envelope["spend_mean"] == result.envelope["plan_spend"]).all()
    assert (result.rules["p_held"] == 1).all()
    assert (result.mix["units_mean"] == result.mix["plan_units"]).all()
    assert (result.choices["p_chosen"] == result.choices["plan_chosen"].astype(float)).all()
    spread = result.distributions
    assert (spread["mean"] == spread["deterministic"]).all() and (spread["sd"] == 0).all()


# --- the command -----------------------------------------------------------------------------


def files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_the_same_seed_writes_byte_identical_files(tmp_path: Path, solver: str) -> None:
    path = write(tmp_path, floor_case())
    common = ["uncertainty", str(path), "--draws", "30", "--solver", solver]
    for name in ("one", "two"):
        result = runner.invoke(app, [*common, "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert files(tmp_path / "one") == files(tmp_path / "two")
    assert set(files(tmp_path / "one")) == {
        ".planner-output", "choices.csv", "distributions.csv", "draws.csv", "envelope.csv",
        "floors.csv", "mix.csv", "parameters.csv", "partners.csv", "rules.csv", "summary.csv",
        "uncertainty.xlsx",
    }  # fmt: skip
    result = runner.invoke(app, [*common, "--seed", "6", "--out", str(tmp_path / "three")])
    assert result.exit_code == 0, result.output
    assert files(tmp_path / "three")["draws.csv"] != files(tmp_path / "one")["draws.csv"]


def test_diabetes_runs_with_20_draws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["uncertainty", str(DIABETES), "--draws", "20", "--out", "u"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Lewisham-like diabetes pathway, 2014-2016  (20 draws, seed 2014, solver highs, " \
        "19 uncertain parameters)" in out  # fmt: skip
    assert "Make or buy: how often each option is chosen" in out
    summary = dict(line.split(",", 1) for line in (tmp_path / "u" / "summary.csv").read_text()
                   .splitlines()[1:])  # fmt: skip
    assert float(summary["deterministic_objective"]) == pytest.approx(641.190981, rel=1e-6)
    counts = [int(summary[f"reoptimised_{k}"]) for k in ("optimal", "infeasible", "unbounded",
                                                       "time_limit", "error")]  # fmt: skip
    assert sum(counts) == 20 and counts[0] > 0
    # DESMOND's expected gain is 5/6 of the trial's (the other gains have mean 1), so the plan's
    # mean health gain lies below the deterministic 641.2. With seed 2014's 20 draws it is 582.4
    # (a regression figure, not a hand-computed one: it moves if the draws or the readings do)
    assert float(summary["health_gain_mean"]) == pytest.approx(582.4191573, rel=1e-6)


def test_an_instance_without_uncertain_numbers_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, one_intervention())
    result = runner.invoke(app, ["uncertainty", str(path), "--out", str(tmp_path / "u")])
    assert result.exit_code == 2
    assert "uncertainty: is missing: the instance has no uncertain numbers to draw" in (
        result.output
    )
    assert not (tmp_path / "u").exists()


def test_no_deterministic_plan_exits_3(tmp_path: Path) -> None:
    data = floor_case()
    data["partners"]["trust"]["max_loss"] = 700  # the plan costs the trust 800 at the point
    result = runner.invoke(app, ["uncertainty", str(write(tmp_path, data)), "--draws", "5",
                                 "--out", str(tmp_path / "u")])  # fmt: skip
    assert result.exit_code == 3
    assert "No plan" in result.output


def test_no_reoptimise_writes_empty_mix_and_choices(tmp_path: Path) -> None:
    out = tmp_path / "u"
    result = runner.invoke(app, ["uncertainty", str(write(tmp_path, floor_case())), "--draws",
                                 "10", "--no-reoptimise", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "mix.csv").read_text().count("\n") == 1  # the header only
    assert "Re-optimised" not in result.output
    assert "reoptimised,False" in (out / "summary.csv").read_text()


def min_units_drawn_above_max() -> Data:
    """min_units uniform on [50, 150] (seed 3) against max_units 120: u = (x - 50) / 100, so a
    draw is refused when u > 0.7."""
    data = one_intervention()
    data["interventions"]["a"]["max_units"] = 120
    return with_uncertainty(
        data,
        seed=3,
        low={"field": "interventions.a.min_units", "distribution": "range", "low": 50, "high": 150},
    )


def test_a_draw_that_breaks_a_rule_is_named(tmp_path: Path) -> None:
    # a draw of min_units above max_units 120 is no instance
    data = min_units_drawn_above_max()
    checked = planner.check_instance(write(tmp_path, data))
    with pytest.raises(planner.InputError) as caught:
        sample(checked, 20)
    (problem,) = caught.value.problems
    assert problem.path == ("interventions", "a", "min_units")
    assert problem.message.startswith("draw ")
    assert "(seed 3) breaks a rule: min_units " in problem.message
    assert problem.message.endswith("is above max_units 120")
    assert problem.fix == (
        "lower min_units or raise max_units; or make the numbers move together (one parameter "
        "with fields and relative: true), or narrow their distributions"
    )


def test_the_model_and_the_instance_merge_their_uncertainty(tmp_path: Path) -> None:
    model = {"interventions": {"a": item(0, 1.0)},
             "uncertainty": {"seed": 1, "parameters": {
                 "gain": {"field": "interventions.a.health_gain", "distribution": "range",
                          "low": 0.5, "high": 1.5},
                 "cost": {"field": "interventions.a.unit_cost", "distribution": "range",
                          "low": 0, "high": 1}}}}  # fmt: skip
    write(tmp_path, model, "models/m.yaml")
    local = instance(model="../models/m.yaml", interventions={"a": {"max_units": 10}},
                     uncertainty={"seed": 9, "parameters": {"cost": None}})  # fmt: skip
    checked = planner.check_instance(write(tmp_path, local, "instances/i.yaml"))
    assert checked.uncertainty is not None
    assert checked.uncertainty.seed == 9
    assert list(checked.uncertainty.parameters) == ["gain"]


# --- the report and the docs -----------------------------------------------------------------


def test_the_report_shows_how_sure_the_plan_is(tmp_path: Path) -> None:
    from planner.document import build_report

    path = write(tmp_path, floor_case())
    checked = planner.check_instance(path)
    plan = planner.solve_instance(path)
    result = analyse(checked, 40)
    report = build_report(plan, checked, [path], uncertainty=result)
    markdown, page = report.markdown(), report.html()
    p_met = float(result.floors.iloc[0]["p_met"])
    assert "## How sure is the plan: uncertainty" in markdown
    assert f"It meets every floor in {100 * p_met:.0f}% of draws" in markdown
    # after the plan's three charts (spend, partners, outcomes)
    assert "**Figure 4. Health gain across the draws (QALY, discounted).**" in markdown
    assert "**Figure 5. The chance that the plan meets each floor.**" in markdown
    assert f"| cap | 2021 | ≤ 30 | 20 | {100 * p_met:.0f}% |" in markdown
    assert "| effect | interventions.a.effects.o | range | -1 to 0 |" in markdown
    assert page.count("<svg") == markdown.count("**Figure ") == 5
    again = build_report(plan, checked, [path], uncertainty=analyse(checked, 40))
    assert again.html() == page  # the same seed, the same bytes
    plain = build_report(plan, checked, [path]).markdown()
    assert "planner report --draws 200 adds" in plain


def test_report_command_with_draws(tmp_path: Path) -> None:
    path = write(tmp_path, floor_case())
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(path), "--draws", "10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "How sure is the plan" in out.read_text()
    result = runner.invoke(
        app, ["report", str(write(tmp_path, one_intervention(), "plain.yaml")), "--draws", "5",
              "--out", str(tmp_path / "p.html")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no uncertain numbers to draw" in result.output


def documented(text: str, marker: str) -> list[str]:
    from tests.test_docs import code, table_rows

    return [code(row[0]) for row in table_rows(text, marker)]


def test_every_table_and_summary_field_is_documented_in_order(tmp_path: Path) -> None:
    import planner.uncertainty as u

    text = (ROOT / "docs" / "uncertainty.md").read_text()
    columns = {
        "parameters": u.PARAMETER_COLUMNS, "distributions": u.DISTRIBUTION_COLUMNS,
        "floors": u.FLOOR_COLUMNS, "partners": u.PARTNER_COLUMNS,
        "envelope": u.ENVELOPE_COLUMNS, "rules": u.RULE_COLUMNS, "mix": u.MIX_COLUMNS,
        "choices": u.CHOICE_COLUMNS, "draws": u.DRAW_COLUMNS,
    }  # fmt: skip
    result = analyse(planner.check_instance(write(tmp_path, floor_case())), 5)
    for name, table in result.tables().items():
        if name == "summary":
            assert documented(text, "## uncertainty: summary\n") == list(result.summary)
        else:
            assert documented(text, f"## uncertainty: {name}\n") == columns[name] == list(table)
        assert f"`{name}.csv`" in text
