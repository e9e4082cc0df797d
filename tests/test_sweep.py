"""Sweeps (planner/sweep.py): warm re-solves from the base basis give what a cold solve gives,
in any order; a probe of another structure is solved cold; a MILP probe is priced as planner
solve prices it; --workers 2 and a local Dask cluster write the same bytes as a serial run.

The LP (hand-solved): £1,000 envelope in 2021; a costs £10 and gains g QALY a unit (at most
60), b costs £20 and gains 0.05 (at most 100). b gains 0.0025 QALY a pound. While g / 10 is
above that, a is bought to its cap (£600) and b with the £400 left (20 units): objective
60 g + 1.0, the envelope's price 0.0025 QALY a pound and a's cap worth g - 10 x 0.0025 a unit.
"""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from planner.build import build
from planner.cli import app
from planner.errors import InputError, PlannerError
from planner.highs import _sides
from planner.load import load
from planner.schema import Instance
from planner.solve import Solution, SolverName, solve
from planner.sweep import Linear, Warm, _sides_of, _WarmHiGHS, chunks, processes, run
from planner.uncertainty import analyse
from planner.validate import validate
from tests.conftest import Data, approx, instance, item, write
from tests.test_choices import fixed_cost_choice

runner = CliRunner()


def two_items(gain: float = 0.04, envelope: float = 1000, b_cost: float = 20, **extra: Any) -> Data:
    return instance(
        envelope={"amounts": {2021: envelope}},
        interventions={
            "a": item(10, gain, max_units=60),
            "b": item(b_cost, 0.05, max_units=100),
            **extra,
        },
    )


def model_of(data: Data) -> Any:
    return build(Instance.model_validate(data))


# probe -> (objective, units of a, units of b, envelope price, a's cap price), by hand
PROBES: list[tuple[Data, tuple[float, float, float, float, float]]] = [
    (two_items(0.04), (3.4, 60, 20, 0.0025, 0.015)),
    (two_items(0.03), (2.8, 60, 20, 0.0025, 0.005)),
    (two_items(0.06), (4.6, 60, 20, 0.0025, 0.035)),
    # a at 0.002 a pound is below b's 0.0025: b takes the money (50 units), a's cap is slack
    (two_items(0.02), (2.5, 0, 50, 0.0025, 0.0)),
    # £1,500: a to its cap, b 45 units
    (two_items(0.04, envelope=1500), (4.65, 60, 45, 0.0025, 0.015)),
    # b at £25: 16 units with the £400 left; a pound buys 0.002, so a's cap is worth 0.02
    (two_items(0.04, b_cost=25), (3.2, 60, 16, 0.002, 0.02)),
]


def check(solution: Solution, expected: tuple[float, float, float, float, float]) -> None:
    objective, a, b, envelope, cap = expected
    assert solution.status == "optimal"
    assert solution.objective == approx(objective)
    assert solution.values["units__a__2021"] == approx(a)
    assert solution.values["units__b__2021"] == approx(b)
    assert solution.duals[("envelope", (2021,))] == approx(envelope)
    assert solution.duals[("capacity", ("a", 2021))] == approx(cap)


def test_warm_resolves_match_cold_solves_and_the_hand_solution(solver: str) -> None:
    name: SolverName = solver  # type: ignore[assignment]
    warm = Warm(name)
    check(warm.solve(model_of(two_items(0.04))), PROBES[0][1])  # the base
    for data, expected in PROBES:
        solution = warm.solve(model_of(data))
        check(solution, expected)
        cold = solve(model_of(data), name)
        assert solution.values == approx(cold.values)
        assert solution.reduced_costs == approx(cold.reduced_costs)
        assert {k: v for k, v in solution.duals.items()} == approx(cold.duals)
    # HiGHS re-solves every probe on the loaded model; CBC has no warm start
    assert (warm.warm, warm.cold) == ((len(PROBES), 0) if solver == "highs" else (0, 0))


def test_probes_in_any_order_give_identical_answers() -> None:
    def answers(order: list[int]) -> dict[int, Solution]:
        warm = Warm("highs")
        warm.solve(model_of(two_items(0.04)))
        return {k: warm.solve(model_of(PROBES[k][0])) for k in order}

    forward = answers(list(range(len(PROBES))))
    backward = answers(list(reversed(range(len(PROBES)))))
    shuffled = answers([3, 0, 5, 1, 4, 2])
    for k in forward:
        assert forward[k] == backward[k] == shuffled[k]  # bit for bit


def test_a_probe_of_another_structure_is_solved_cold(solver: str) -> None:
    name: SolverName = solver  # type: ignore[assignment]
    warm = Warm(name)
    warm.solve(model_of(two_items(0.04)))
    # a third intervention, c: £5 for 0.03 QALY (0.006 a pound), at most 40: c first (£200),
    # then a to its cap (£600), then b with £200 (10 units): 1.2 + 2.4 + 0.5 = 4.1
    wider = two_items(0.04, c=item(5, 0.03, max_units=40))
    solution = warm.solve(model_of(wider))
    assert solution.objective == approx(4.1)
    assert solution.values["units__c__2021"] == approx(40)
    assert warm.cold == (1 if solver == "highs" else 0)
    # the loaded model is untouched: a probe of the base's structure is still warm and right
    check(warm.solve(model_of(PROBES[1][0])), PROBES[1][1])


def test_a_probe_that_flips_the_objective_sense_is_solved_cold(solver: str) -> None:
    # the base maximises health; the probe minimises spend with a at least 30 units and b at
    # least 10: 30 x £10 + 10 x £20 = £500 (the loaded maximising model would spend all £1,000)
    name: SolverName = solver  # type: ignore[assignment]
    base = two_items(0.04)
    base["interventions"]["a"]["min_units"] = 30
    base["interventions"]["b"]["min_units"] = 10
    warm = Warm(name)
    check(warm.solve(model_of(base)), PROBES[0][1])  # the minimums do not bind
    cheapest = {**base, "objective": {"kind": "min_spend"}}
    solution = warm.solve(model_of(cheapest))
    assert solution.objective == approx(500)
    assert solution.values["units__a__2021"] == approx(30)
    assert solution.values["units__b__2021"] == approx(10)
    assert solution.objective == approx(solve(model_of(cheapest), name).objective)
    assert warm.cold == (1 if solver == "highs" else 0)


def test_a_milp_probe_is_priced_with_its_choices_fixed(solver: str) -> None:
    # make: £5 a contact + £400 a year; buy: £8 (test_choices.fixed_cost_choice). At £6.50 a
    # contact making gives (1,200 - 400) / 6.5 = 123.1 contacts against buying's 150: buy, 1.5
    name: SolverName = solver  # type: ignore[assignment]
    warm = Warm(name)
    assert warm.solve(model_of(fixed_cost_choice())).objective == approx(1.6)
    probe = model_of(fixed_cost_choice(make_price=6.5))
    solution = warm.solve(probe)
    assert solution.objective == approx(1.5)
    assert solution.choices == 2
    assert solution.values["choose__clinic__make__2021"] == approx(0)
    # prices of the LP with the choice fixed: the envelope buys 0.01 / 8 QALY a pound
    assert solution.duals[("envelope", (2021,))] == approx(0.01 / 8)
    cold = solve(model_of(fixed_cost_choice(make_price=6.5)), name)
    assert solution == cold  # a MILP probe is solved as planner solve solves it


def test_chunks_cover_the_probes_in_order() -> None:
    assert chunks(10, 4) == [range(0, 3), range(3, 6), range(6, 9), range(9, 10)]
    assert chunks(3, 8) == [range(0, 1), range(1, 2), range(2, 3)]
    assert chunks(0, 4) == []


class Squares:
    """A task for run(): the state is set up once per process."""

    def setup(self) -> int:
        return 100

    def __call__(self, state: int, probe: int, /) -> int:
        if probe < 0:
            raise InputError([])
        return state + probe * probe


def test_run_keeps_probe_order_and_raises_the_first_error_in_order() -> None:
    assert run(Squares(), [3, 1, 2]) == [109, 101, 104]
    assert run(Squares(), list(range(9)), workers=2) == [100 + k * k for k in range(9)]
    with pytest.raises(InputError):
        run(Squares(), [1, 2, -1, 3], workers=2)


class Where:
    """A task for run() that says which process solved each probe, and its set-up."""

    def __init__(self, base: int) -> None:
        self.base = base

    def setup(self) -> tuple[int, int]:
        return self.base, os.getpid()

    def __call__(self, state: tuple[int, int], probe: int, /) -> tuple[int, int]:
        return state[0] + probe, state[1]


def test_sweeps_inside_processes_share_one_pool_and_give_the_same_results() -> None:
    probes = list(range(8))
    with processes(2):
        sweeps = [run(Where(base), probes, workers=2) for base in (10, 20, 30)]
        other = run(Where(40), probes, workers=3)  # another size: a pool of its own
    for base, found in zip((10, 20, 30), sweeps, strict=True):
        assert [value for value, _ in found] == [base + k for k in probes]  # its own set-up
    assert [value for value, _ in other] == [40 + k for k in probes]
    # three sweeps, two processes in all (a pool each would have started three or more)
    shared = {pid for found in sweeps for _, pid in found}
    assert os.getpid() not in shared and 1 <= len(shared) <= 2
    assert not shared & {pid for _, pid in other}
    alone = run(Where(10), probes, workers=2)  # outside the block: a pool of its own again
    assert [value for value, _ in alone] == [value for value, _ in sweeps[0]]
    assert not shared & {pid for _, pid in alone}


# --- the uncertainty command over workers and a Dask cluster ------------------------------------


def uncertain() -> Data:
    """The two-item LP with a's gain uncertain, between 0.015 and 0.06: in draws below 0.025 b
    takes the money, so the best mix moves."""
    data = two_items(0.04)
    data["uncertainty"] = {
        "seed": 3,
        "parameters": {
            "gain": {
                "field": "interventions.a.health_gain",
                "distribution": "range",
                "low": 0.015,
                "high": 0.06,
            }
        },
    }
    return data


def test_draws_are_the_same_serial_and_on_two_workers(tmp_path: Path) -> None:
    checked = Instance.model_validate(uncertain())
    serial = analyse(checked, 12)
    spread = analyse(checked, 12, workers=2)
    for name, table in serial.tables().items():
        assert table.equals(spread.tables()[name]), name
    # by hand: each draw's optimum is 60 g + 1.0 while g >= 0.025, else 2.5
    rows = serial.draws
    gains = rows[(rows["analysis"] == "parameter")]["value"].tolist()
    optima = rows[(rows["analysis"] == "reoptimised") & (rows["measure"] == "objective")]
    expected = [60 * g + 1.0 if g >= 0.025 else 2.5 for g in gains]
    assert optima["value"].tolist() == approx(expected)
    assert any(g < 0.025 for g in gains) and any(g > 0.025 for g in gains)


def uncertainty_files(tmp_path: Path, name: str, *options: str) -> Path:
    path = write(tmp_path, uncertain())
    out = tmp_path / name
    args = ["uncertainty", str(path), "--draws", "12", "--out", str(out), "--quiet", *options]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return out


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_workers_write_the_same_bytes_as_a_serial_run(tmp_path: Path) -> None:
    serial = uncertainty_files(tmp_path, "serial")
    same_files(serial, uncertainty_files(tmp_path, "two", "--workers", "2"))


def test_a_local_dask_cluster_writes_the_same_bytes(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    serial = uncertainty_files(tmp_path, "serial")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        on_dask = uncertainty_files(tmp_path, "dask", "--scheduler", cluster.scheduler_address)
    same_files(serial, on_dask)


# --- one model moved in place (sweep.Linear) -------------------------------------------------
# Parameters x = (a's gain, the envelope, b's cost): the objective's coefficients, the envelope
# row's right-hand side and a coefficient of its row, each affine in one of them.

CENTRE, LOW, HIGH = (0.04, 1000.0, 20.0), (0.02, 1000.0, 20.0), (0.06, 1500.0, 25.0)
PROBE_X = [
    (0.04, 1000, 20),
    (0.03, 1000, 20),
    (0.06, 1000, 20),
    (0.02, 1000, 20),
    (0.04, 1500, 20),
    (0.04, 1000, 25),
]  # fmt: skip  (PROBES' parameters, in order)


def terms(expression: Any) -> dict[str, float]:
    """An expression's or row's coefficients by variable name, and its constant ("")."""
    return {v.name: c for v, c in expression.items()} | {"": expression.constant}


def two_items_at(x: Any) -> Any:
    gain, envelope, b_cost = (float(v) for v in x)
    return model_of(two_items(gain, envelope=envelope, b_cost=b_cost))


def test_a_moved_model_solves_each_probe_as_built_and_by_hand() -> None:
    linear = Linear(two_items_at, CENTRE, LOW, HIGH, Warm("highs"))
    assert linear.refusal is None
    # each parameter's ends and middle, all-low and all-high, but not the centre again (gain's
    # middle, envelope's and b's cost's low); no pair moves the same number, so no joint term
    assert linear.builds == 3 * 3 + 2 - 3
    for x, (_, expected) in zip(PROBE_X, PROBES, strict=True):
        data = two_items(x[0], envelope=x[1], b_cost=x[2])
        linear.move(x, Instance.model_validate(data))
        check(linear.solve(), expected)
        moved, built = linear.model, model_of(data)  # every number, as a build gives it
        # (to rounding: a moved number is the base's plus slope x step, not the product built)
        pairs = [(moved.problem.objective, built.problem.objective)]
        pairs += zip(moved.problem.constraints(), built.problem.constraints(), strict=True)
        pairs += [(moved.spend[2021], built.spend[2021])]
        for one, other in pairs:
            assert terms(one).keys() == terms(other).keys()
            assert terms(one) == pytest.approx(terms(other), rel=1e-12, abs=1e-15)
        assert [r.rhs for r, _ in moved.registry.values()] == pytest.approx(
            [r.rhs for r, _ in built.registry.values()], rel=1e-12
        )
    assert linear.warm is not None and linear.warm.warm == len(PROBES)


def test_a_moved_model_on_a_warm_loaded_with_another_structure_solves_as_built() -> None:
    # the Warm's base is another model (a third item): the moved model cannot be pushed into
    # what HiGHS holds, so each probe is solved from PuLP's model, which must then hold every
    # moved number, not only those a warm solve reads back
    warm = Warm("highs")
    warm.solve(model_of(two_items(c=item(30, 0.01, max_units=5))))
    linear = Linear(two_items_at, CENTRE, LOW, HIGH, warm)
    for x, (_, expected) in zip(PROBE_X, PROBES, strict=True):
        linear.move(x, Instance.model_validate(two_items(x[0], envelope=x[1], b_cost=x[2])))
        check(linear.solve(), expected)
    assert warm.cold == len(PROBES)


def test_row_sides_read_from_highs_bounds_are_those_of_pulps_rows() -> None:
    # a moved model's read-back takes each row's constant and sense from the bounds HiGHS was
    # given, not from PuLP's rows: the same (<=, >= and == rows, zero right-hand sides among
    # them), but for the sign of a zero, which the slacks ignore
    path = Path(__file__).resolve().parent.parent / "instances" / "diabetes_lewisham.yaml"
    problem = build(validate(load(path))).problem
    first, second = problem.variables()[:2]
    problem += (first - 2 * second == 0, "equal_zero")  # the bundled plans have no == rows
    problem += (first + second == 3.5, "equal_some")
    constants, le = _sides_of(_WarmHiGHS(None)._numbers(problem))
    expected, expected_le = _sides(problem.toRustModel().list_constraints())
    assert le == expected_le and 0 < sum(le) < len(le)
    assert list(constants) == list(expected) and 0.0 in expected and -3.5 in expected
    assert {c.sense for c in problem.constraints()} == {-1, 0, 1}  # >=, ==, <=


def test_a_model_whose_numbers_are_not_affine_is_refused() -> None:
    def squared(x: Any) -> Any:
        return model_of(two_items(float(x[0]) ** 2))

    linear = Linear(squared, (0.2,), (0.15,), (0.25,))
    assert linear.refusal == (
        "the numbers are not affine in each parameter (with products of pairs) at [0.15]"
    )
    with pytest.raises(PlannerError, match="cannot move the model: the numbers are not affine"):
        linear.move((0.2,), Instance.model_validate(two_items(0.04)))


def test_a_change_of_structure_and_a_fit_over_budget_are_refused() -> None:
    zero_gain = Linear(two_items_at, CENTRE, (0.0, 1000, 20), HIGH)
    assert zero_gain.refusal == "the model's structure changes at [0.0, 1000.0, 20.0]"
    over = Linear(two_items_at, CENTRE, LOW, HIGH, budget=4)
    assert over.refusal == "fitting would take more than 4 builds"


def test_draws_moved_in_place_give_what_building_each_gives() -> None:
    from planner.uncertainty import _Draws, draw_values, resolve

    path = Path(__file__).resolve().parent.parent / "instances" / "diabetes_lewisham.yaml"
    document = load(path)
    diabetes = validate(document)
    parameters, _ = resolve(diabetes, document)
    model = build(diabetes)
    plan = solve(model, "highs")
    xs = [[draw_values(parameters, 2014, k)[p.pid] for p in parameters] for k in range(300)]
    span = (
        tuple(min(c) for c in zip(*xs, strict=True)),
        tuple(max(c) for c in zip(*xs, strict=True)),
    )
    tasks = [
        _Draws(
            diabetes,
            document,
            tuple(parameters),
            2014,
            plan.values,
            "highs",
            None,
            True,
            span if moving else None,
            300,
        )
        for moving in (True, False)
    ]
    moved, built = (task.setup() for task in tasks)
    assert moved.linear is not None and moved.linear.refusal is None and built.linear is None
    for k in (1, 2, 3):
        (e1, o1), (e2, o2) = tasks[0](moved, k), tasks[1](built, k)
        assert e1.objective == approx(e2.objective) and e1.spend == approx(e2.spend)
        assert e1.rules.keys() == e2.rules.keys()
        assert [e1.rules[key] for key in e1.rules] == approx([e2.rules[key] for key in e1.rules])
        assert o1 is not None and o2 is not None and o1.status == o2.status
        assert o1.objective == approx(o2.objective) and o1.units == approx(o2.units)


def test_draws_solved_by_cbc_print_nothing_from_highs(tmp_path: Path) -> None:
    # the fit reads the model's numbers through a scratch HiGHS: the first HiGHS of a process
    # prints a banner on the process's own stdout, which CliRunner would not see
    command = "import sys; from planner.cli import main; sys.argv[0] = 'planner'; main()"
    path = Path(__file__).resolve().parent.parent / "instances" / "diabetes_lewisham.yaml"
    args = ["uncertainty", str(path), "--solver", "cbc", "--draws", "4", "--quiet", "--out", "out"]
    done = subprocess.run(
        [sys.executable, "-c", command, *args], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "(4 draws, seed 2014, solver cbc, 19 uncertain parameters)" in done.stdout
    assert "HiGHS" not in done.stdout
