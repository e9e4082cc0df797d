"""Shared helpers for the known-answer tests: write a tiny instance, solve it on both solvers.

Every solving test takes the `solver` fixture, so it runs once on HiGHS and once on CBC: the
same answer on both is part of what is tested.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import planner
from planner.solve import SOLVERS

Data = dict[str, Any]


def instance(**fields: Any) -> Data:
    """A minimal instance as a dict: one plan year (2021), no discounting; `fields` override it."""
    data: Data = {
        "name": "t",
        "baseline_year": 2020,
        "horizon": 1,
        "discount_rate": 0.0,
        "interventions": {},
    }
    data.update(copy.deepcopy(fields))
    return data


def item(unit_cost: float, health_gain: float = 0.0, **fields: Any) -> Data:
    """An intervention counted in patients."""
    return {
        "name": fields.pop("name", "x"),
        "unit": fields.pop("unit", "patient"),
        "unit_cost": unit_cost,
        "health_gain": health_gain,
        **fields,
    }


def outcome(baseline: float, **fields: Any) -> Data:
    """An outcome counted in events."""
    return {"name": fields.pop("name", "o"), "unit": fields.pop("unit", "event"),
            "baseline": baseline, **fields}  # fmt: skip


def write(directory: Path, data: Data | str, name: str = "instance.yaml") -> Path:
    """Write an instance (a dict, or YAML text as written) into `directory`; its path."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(params=SOLVERS)
def solver(request: pytest.FixtureRequest) -> str:
    """Each solving test runs on HiGHS and on CBC."""
    return str(request.param)


Solve = Callable[..., planner.Plan]


@pytest.fixture
def solve(tmp_path: Path, solver: str) -> Solve:
    """`solve(data, scenario=None)`: write `data` and solve it with this test's solver."""

    def run(data: Data | str, scenario: str | None = None) -> planner.Plan:
        return planner.solve_instance(write(tmp_path, data), scenario=scenario, solver=solver)  # type: ignore[arg-type]

    return run


# --- reading the plan tables -----------------------------------------------------------------


def one(frame: pd.DataFrame, **match: Any) -> pd.Series:
    """The single row of `frame` whose columns equal `match`."""
    mask = pd.Series(True, index=frame.index)
    for column, value in match.items():
        mask &= frame[column] == value
    rows = frame[mask]
    assert len(rows) == 1, f"expected one row matching {match}, found {len(rows)}"
    return rows.iloc[0]


def units(plan: planner.Plan, intervention: str, year: int) -> float:
    return float(one(plan.allocation, intervention=intervention, year=year)["units"])


def allocation(plan: planner.Plan) -> dict[tuple[str, int], float]:
    """(intervention, year) -> units, for the whole plan."""
    return {
        (row.intervention, int(row.year)): float(row.units) for row in plan.allocation.itertuples()
    }


def price(plan: planner.Plan, constraint: str) -> pd.Series:
    """The shadow_prices row of a constraint, by its name."""
    return one(plan.shadow_prices, constraint=constraint)


def approx(expected: Any) -> Any:
    """Values solved by two solvers agree to 1e-6 relative (1e-7 absolute near zero)."""
    return pytest.approx(expected, rel=1e-6, abs=1e-7)


# --- validation messages (tests/test_validation_*.py) -------------------------------------

Check = Callable[..., planner.InputError]  # check(body, head=HEAD) -> the InputError raised

# Four lines every instance of those tests starts with: its own fields start on line 5.
HEAD = "name: t\nbaseline_year: 2020\nhorizon: 2\ndiscount_rate: 0\n"


@pytest.fixture
def check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Check:
    """`check(text)`: the InputError raised when validating `text` (HEAD + text)."""
    monkeypatch.chdir(tmp_path)

    def run(body: str, head: str = HEAD) -> planner.InputError:
        (tmp_path / "instance.yaml").write_text(head + body, encoding="utf-8")
        with pytest.raises(planner.InputError) as caught:
            planner.check_instance("instance.yaml")
        return caught.value

    return run
