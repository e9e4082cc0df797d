"""Every file in instances/, and each of its scenarios, solves to its stored expected result.

The same answer is required from HiGHS and CBC; no instance or scenario may be left without an
expected result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import planner

ROOT = Path(__file__).resolve().parent.parent
EXPECTED: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(
    (ROOT / "tests" / "expected" / "instances.yaml").read_text()
)


def cases() -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / "instances").glob("*.yaml")):
        scenarios = yaml.safe_load(path.read_text()).get("scenarios") or {}
        found += [(path.stem, name) for name in ["base", *sorted(scenarios)]]
    return found


def test_every_instance_and_scenario_has_an_expected_result() -> None:
    stored = {(name, scenario) for name, runs in EXPECTED.items() for scenario in runs}
    assert stored == set(cases())


@pytest.mark.parametrize(("name", "scenario"), cases())
def test_instance_solves_to_its_expected_result(name: str, scenario: str, solver: str) -> None:
    expected = EXPECTED[name][scenario]
    path = ROOT / "instances" / f"{name}.yaml"
    chosen = None if scenario == "base" else scenario
    if expected["status"] != "optimal":
        with pytest.raises(planner.NoPlanError) as caught:
            planner.solve_instance(path, chosen, solver)  # type: ignore[arg-type]
        assert caught.value.status == expected["status"]
        return
    plan = planner.solve_instance(path, chosen, solver)  # type: ignore[arg-type]
    assert plan.summary["status"] == "optimal"
    assert plan.summary["objective"] == pytest.approx(expected["objective"], rel=1e-6)
    # a plan never breaks its own floors or risk limits, beyond solver tolerance (1e-6 relative
    # to the row's scale: the bound, or the partner's baseline income)
    floors = plan.outcomes.dropna(subset=["slack"])
    assert (floors["slack"] >= -1e-6 * floors["bound"].abs().clip(lower=1)).all()
    limits = plan.partners.dropna(subset=["headroom"])
    assert (limits["headroom"] >= -1e-6 * limits["baseline_income"].clip(lower=1)).all()


def test_every_scenario_passes_validation() -> None:
    for name, scenario in cases():
        path = ROOT / "instances" / f"{name}.yaml"
        planner.check_instance(path, None if scenario == "base" else scenario)
