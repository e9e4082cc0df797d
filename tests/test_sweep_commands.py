"""`planner compare`, `planner frontier` and `planner risk` over workers and a Dask cluster:
their independent solves (compare's cases and break-even searches, a MILP frontier's grid points
and the ranges, risk's scenario models) are sweeps (planner/sweep.py), and the files they write
are byte-identical whichever way the work is split.

The instances are small and solved by hand:

- `split_clinic` (an LP with a make-or-buy decision): £1,200 buys clinic contacts, 0.01 QALY
  each, at most 200. Make: £5 a contact, at most 100; buy: £8. Free choice: 100 made (£500) and
  £700 / 8 = 87.5 bought, 1.875 QALY. Forced to make: 100 contacts, 1.0; forced to buy: 150,
  1.5. Making is used while it is cheaper than buying: it leaves the plan above £8. Buying is
  used at any price (the money left after the 100 made buys nothing else): the search doubles
  the price from £16 up to 1,024 x £8 = £8,192. At least 50 contacts are needed; scenario
  `least` (only the objective changes: the same rows and columns) spends the least on them,
  50 made for £250.
- `lumpy` (a MILP, test_sensitivity's): a is all 100 units (£1,000, 10 QALY) or none; b is
  0.05 QALY for £20. Below £1,000 only b: E / 400 QALY; from £1,000, a and then b:
  10 + (E - 1,000) / 400.
- `tests.test_risk.UNCERTAIN`: each patient (£5, 0.01 QALY) avoids e admissions, e drawn
  between 1 and 3, each £100 of the acute trust's income. With a CVaR limit of £30,000 at
  alpha 0.9 over 6 draws the tail is 0.6 of a draw: the worst draw, so the plan buys
  30,000 / (100 x the largest e drawn) patients.
"""

from __future__ import annotations

import filecmp
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import planner
from planner.build import build
from planner.cli import app
from planner.compare import compare
from planner.risk import RiskSettings, plan_under_risk
from planner.sensitivity import _items, _Ranging, envelope_frontier, ranges
from planner.solve import SolverName, solve
from planner.uncertainty import sample
from tests.conftest import Data, approx, instance, item, one, write
from tests.test_risk import UNCERTAIN

runner = CliRunner()
INSTANCES = Path(__file__).resolve().parent.parent / "instances"


def split_clinic() -> Data:
    clinic = item(7, 0.01, max_units=200, min_units=50, supply={"choice": "split", "options": {
        "make": {"provider": "consortium", "mode": "make", "unit_price": 5, "capacity": 100},
        "buy": {"provider": "trust", "mode": "buy", "unit_price": 8}}})  # fmt: skip
    partners = {p: {"name": p} for p in ("consortium", "trust")}
    least = {"objective": {"kind": "min_spend"}}
    return instance(
        envelope={"amounts": {2021: 1200}},
        partners=partners,
        interventions={"clinic": clinic},
        scenarios={"least": least},
    )


def lumpy() -> Data:
    return instance(
        envelope={"amounts": {2021: 1000}},
        interventions={
            "a": item(10, 0.1, max_units=100, indivisible=True),
            "b": item(20, 0.05, max_units=1000),
        },
    )


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert (mismatch, errors) == ([], [])


def files(tmp_path: Path, command: str, name: str, *options: str, small: bool = False) -> Path:
    """Run `planner COMMAND` on its bundled instance (or its small one) into tmp_path / name;
    the folder."""
    path, chosen = COMMANDS[command]
    if small:
        data, chosen = SMALL[command]
        path = write(tmp_path, data, f"{command}.yaml")
    out = tmp_path / name
    args = [command, str(path), "--out", str(out), "--quiet", *chosen, *options]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


# the fewest solves that split: compare's base and two scenarios of the cardiology LP (one of
# them min_spend, solved cold), the diabetes MILP's frontier at three grid points with its
# ranges, and its risk-aware plan over four draws
COMMANDS: dict[str, tuple[Path, tuple[str, ...]]] = {
    "compare": (INSTANCES / "cardiology_lewisham.yaml",
                ("--scenario", "min_spend", "--scenario", "faster_cut")),
    "frontier": (planner.DEFAULT_INSTANCE, ("--steps", "2")),
    "risk": (planner.DEFAULT_INSTANCE, ("--draws", "4")),
}  # fmt: skip
SMALL: dict[str, tuple[Data | str, tuple[str, ...]]] = {
    "compare": (split_clinic(), ()),
    "frontier": (lumpy(), ("--steps", "4")),
    "risk": (UNCERTAIN, ("--draws", "6", "--cvar", "acute=30000", "--alpha", "0.9")),
}


# --- the solves, by hand ----------------------------------------------------------------------


def test_compare_spread_over_two_workers_gives_the_hand_solution(
    tmp_path: Path, solver: SolverName
) -> None:
    # on HiGHS each solve starts from the free plan's basis (sweep.Warm); CBC solves cold
    told: list[tuple[str, int, int]] = []
    path = write(tmp_path, split_clinic())
    result = compare(path, solver=solver, workers=2, progress=lambda *step: told.append(step))
    decision = {str(r["option"]): r for _, r in result.decisions.iterrows()}
    assert decision["free choice"]["objective"] == approx(1.875)
    assert decision["free choice"]["option_name"] == "make 2021; buy 2021"
    assert (decision["make"]["objective"], decision["make"]["value_lost"]) == approx((1.0, 0.875))
    assert (decision["buy"]["objective"], decision["buy"]["value_lost"]) == approx((1.5, 0.375))
    assert decision["make"]["break_even_price"] == pytest.approx(8, abs=1e-3)
    assert decision["make"]["break_even"] == "leaves the plan above £8.00 a unit"
    assert pd.isna(decision["buy"]["break_even_price"])
    assert decision["buy"]["break_even"] == "stays in at any price up to £8,192"
    # the min_spend scenario turns the objective round: solved cold, 50 made for £250
    least = one(result.cases, case="least")
    assert (least["status"], least["spend"], least["health_gain"]) == ("optimal", 250, approx(0.5))
    # free choice, each option forced and searched, the scenario: 6 probes
    assert told[-1] == ("solving cases and break-even prices", 6, 6)
    serial = compare(path, solver=solver)
    for name, table in serial.tables().items():
        assert table.equals(result.tables()[name]), name


def test_frontier_grid_points_and_ranges_are_sweeps(tmp_path: Path, solver: SolverName) -> None:
    # serial here; the diabetes MILP's grid and ranges are split in the files test below
    told: list[tuple[str, int, int]] = []
    path = write(tmp_path, lumpy())
    spread = envelope_frontier(path, solver=solver, steps=4, progress=lambda *s: told.append(s))
    points = spread.points
    assert points["scale"].tolist() == approx([0.7, 0.85, 1.0, 1.15, 1.3])
    assert points["objective"].tolist() == approx([1.75, 2.125, 10, 10.375, 10.75])
    (jump,) = spread.breakpoints.to_dict("records")
    assert (jump["envelope"], jump["jump"], jump["choices"]) == (approx(1000), approx(7.5),
                                                                 "on: a 2021")  # fmt: skip
    assert told[-1] == ("envelope frontier: the MILP at each grid point", 5, 5)
    # the ranges of the plan (a and 0 b): each row and each number ranged on its own
    told.clear()
    found = ranges(path, solver=solver, progress=lambda *s: told.append(s))
    assert told[-1] == ("price and intervention ranges", 4 + 4, 8)  # 4 rows, 2 x 2 numbers
    # with a on, its 100 units take the whole £1,000: any rise in a's cost has no plan, any fall
    # leaves money for b, which enters; b stays out at any price from £0 up
    cost_a = one(found.interventions, intervention="a", parameter="unit_cost", year=2021)
    assert (cost_a["lower"], cost_a["upper"], cost_a["below_lower"]) == (10, 10, "enters: b 2021")
    assert cost_a["above_upper"] == "no plan (infeasible)"
    cost_b = one(found.interventions, intervention="b", parameter="unit_cost", year=2021)
    assert (cost_b["lower"], pd.isna(cost_b["upper"])) == (0, True)


def test_risk_scenarios_read_into_data_give_the_hand_plan(
    tmp_path: Path, solver: SolverName
) -> None:
    # serial here; the diabetes scenarios are built over two workers in the files test below
    told: list[tuple[str, int, int]] = []
    base = planner.validate(planner.load(write(tmp_path, UNCERTAIN)))
    drawn = sample(base, 6, 3)
    settings = RiskSettings(cvar={"acute": 30_000}, alpha=0.9)
    plan = plan_under_risk(base, drawn, settings, solver, progress=lambda *s: told.append(s))
    worst = max(-d.interventions["upstream"].effects["admissions"] for d in drawn)
    row = one(plan.allocation, intervention="upstream", year=2021)
    assert row["units"] == approx(30_000 / (100 * worst))
    assert one(plan.partners, plan="risk_aware", partner="acute")["cvar"] == approx(30_000)
    assert told[-1] == ("building the scenarios' models", 6, 6)


def test_a_range_does_not_depend_on_the_ranges_solved_before_it() -> None:
    # Uganda's LP has ties (interventions with the same gain a shilling), so the solution just
    # beyond a range's end is one of several; HiGHS kept state between solves that made it
    # depend on the solves before (the first 12 numbers ranged forwards and backwards gave
    # different "what changes" texts). Each solve now starts afresh from the plan's basis.
    base = planner.validate(planner.load(INSTANCES / "uganda_hbp_base.yaml"))
    model = build(base)
    solution = solve(model)
    task = _Ranging(base, {}, solution.objective or 0.0, len(model.registry))
    first = _items(base, model, {})[:12]
    state = task.setup()
    forwards = [task(state, item) for item in first]
    state = task.setup()
    backwards = [task(state, item) for item in reversed(first)]
    assert forwards == backwards[::-1]
    assert {row["intervention"] for row in forwards} >= {"i001", "i003", "i005"}


# --- the commands' files ------------------------------------------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
def test_two_workers_write_the_same_bytes_as_a_serial_run(tmp_path: Path, command: str) -> None:
    serial = files(tmp_path, command, "serial")
    same_files(serial, files(tmp_path, command, "two", "--workers", "2"))


def test_a_local_dask_cluster_writes_the_same_bytes_for_every_command(tmp_path: Path) -> None:
    # one cluster for the three commands (its start-up is the cost), on the small instances
    distributed = pytest.importorskip("distributed")
    serial = {c: files(tmp_path, c, f"{c}-serial", small=True) for c in SMALL}
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        on_dask = {
            c: files(tmp_path, c, f"{c}-dask", "--scheduler", address, small=True) for c in SMALL
        }
    for command in SMALL:
        same_files(serial[command], on_dask[command])


@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_workers_is_a_clean_error(tmp_path: Path, command: str) -> None:
    path, _ = COMMANDS[command]
    result = runner.invoke(app, [command, str(path), "--workers", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--workers'" in result.output
    assert "greater than or equal to 1" in result.output
    assert "Traceback" not in result.output
