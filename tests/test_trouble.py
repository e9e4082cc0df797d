"""Solver trouble gives a clear outcome (issue 7, part 4).

- A MILP stopped by its time limit with a plan in hand gives that plan, verified, with status
  `time_limit`, its gap and best bound, and NOT PROVEN OPTIMAL on every output; `planner solve`
  writes the files and exits 5. An LP stopped by its limit, or a MILP stopped before it found any
  plan, has no plan: a clear message, exit 5, nothing written.
- A solver that crashes, is missing, is killed, writes no or a garbled solution, or reports
  numerical trouble gives status `error` with what happened and what to try: exit 6, never a
  traceback, nothing written.
- An output that cannot be written is a clean message naming the path, with nothing half-written.

The hard instance is a multi-dimensional knapsack of 100 indivisible programmes and 11 capacity
rows (Chu-Beasley style, seed 7). Measured on the development machine without a time limit: HiGHS
had not finished after 300 s; CBC proved the optimum, 233.14 QALY, after 112 s. With a 1 s limit
both stop with a plan (HiGHS 232.24, bound 237.21; CBC 230.78, bound 237.24).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pulp
import pytest
from typer.testing import CliRunner

import planner
from planner import NoPlanError
from planner.cli import app
from planner.solve import S, Status, _outcome, _Run
from tests.conftest import Data, instance, item, write
from tests.test_excel import about_sheet

solve_module = importlib.import_module("planner.solve")  # planner.solve is also the function
runner = CliRunner()
OPTIMUM = 233.14  # the hard instance's optimum, proved by CBC in 112 s


def hard(seed: int = 7, n: int = 100, m: int = 10) -> Data:
    """A multi-dimensional knapsack of indivisible programmes: spend and m resources, each
    with a quarter of what funding every programme would take."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 1000, size=(m + 1, n))
    capacity = (0.25 * a.sum(axis=1)).round()
    gain = (a.sum(axis=0) / (m + 1) + 500 * rng.random(n)).round()
    programmes = {
        f"p{i:03d}": item(
            float(a[0, i]), float(gain[i]) / 100, name=f"P{i}", unit="programme",
            indivisible=True, max_units=1,
            resource_use={f"r{j}": float(a[j + 1, i]) for j in range(m)},
        )
        for i in range(n)
    }  # fmt: skip
    resources = {
        f"r{j}": {"name": f"R{j}", "unit": "hour", "capacity": float(capacity[j + 1])}
        for j in range(m)
    }
    return instance(
        name="hard",
        envelope={"amounts": {2021: float(capacity[0])}},
        resources=resources,
        interventions=programmes,
    )


def small_lp() -> Data:
    """Two programmes against £1,000: all of `a` (£10, 1 QALY each, up to 60) then `b`."""
    return instance(
        envelope={"amounts": {2021: 1000.0}},
        interventions={
            "a": item(10, 1.0, max_units=60),
            "b": item(20, 1.0, max_units=100),
        },
    )


def check_plan_holds(data: Data, plan: planner.Plan) -> np.ndarray:
    """Every capacity row and the envelope recomputed from the data with numpy; the units."""
    names = list(data["interventions"])
    x = np.array([float(plan.allocation.set_index("intervention").loc[n, "units"]) for n in names])
    assert set(np.round(x, 6)) <= {0.0, 1.0}  # all or nothing
    cost = np.array([data["interventions"][n]["unit_cost"] for n in names])
    assert cost @ x <= data["envelope"]["amounts"][2021] + 1e-6
    for rid, resource in data["resources"].items():
        use = np.array([data["interventions"][n]["resource_use"][rid] for n in names])
        assert use @ x <= resource["capacity"] + 1e-6
    gain = np.array([data["interventions"][n]["health_gain"] for n in names])
    assert plan.summary["objective"] == pytest.approx(gain @ x, rel=1e-9)
    return x


# --- a MILP stopped at its time limit with a plan -------------------------------------------


def test_a_milp_stopped_at_its_time_limit_gives_its_best_plan_verified(
    tmp_path: Path, solver: str
) -> None:
    data = hard()
    plan = planner.solve_instance(write(tmp_path, data), solver=solver, time_limit=1)  # type: ignore[arg-type]
    s = plan.summary
    assert s["status"] == "time_limit"
    assert s["proven_optimal"] is False
    assert s["verified"] is True and s["largest_violation"] == pytest.approx(0, abs=1e-6)
    assert s["prices_from"] == (
        "the LP with every yes/no choice fixed at its value in the best plan found"
    )
    check_plan_holds(data, plan)
    assert 0 < s["objective"] <= OPTIMUM + 1e-6
    if solver == "highs" or s["mip_gap"] != "unknown":  # CBC stopped in its root cuts: no bound
        assert s["best_bound"] >= OPTIMUM - 1e-6
        assert s["mip_gap"] == pytest.approx((s["best_bound"] - s["objective"]) / s["objective"])
        assert s["mip_gap"] > 0
    else:
        assert s["best_bound"] == "unknown"
    assert s["dual_objective"] == pytest.approx(s["objective"], rel=1e-6)


def test_the_time_limit_covers_the_pricing_lp_too(
    tmp_path: Path, solver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MILP search gets 90% of the limit, the LP that prices the plan the time left (never
    less than the other 10%): it never runs without a limit."""
    limits: list[tuple[float | None, bool]] = []
    run = solve_module._run

    def recording(model: Any, name: Any, time_limit: float | None, mip: bool) -> _Run:
        limits.append((time_limit, mip))
        return run(model, name, time_limit, mip)

    monkeypatch.setattr(solve_module, "_run", recording)
    planner.solve_instance(write(tmp_path, hard()), solver=solver, time_limit=1)  # type: ignore[arg-type]
    assert limits[0] == (pytest.approx(0.9), True)
    assert len(limits) == 2 and limits[1][1] is False
    assert limits[1][0] is not None and 0.1 - 1e-9 <= limits[1][0] <= 0.1 + 0.05


def test_planner_solve_writes_a_time_limited_plan_labelled_and_exits_5(
    tmp_path: Path, solver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, hard())
    result = runner.invoke(
        app, ["solve", str(path), "--solver", solver, "--time-limit", "1", "--out", "out"]
    )
    assert result.exit_code == 5, result.output
    assert "NOT PROVEN OPTIMAL" in result.stdout  # the console, near the top
    assert result.stdout.index("NOT PROVEN OPTIMAL") < result.stdout.index("Allocation")
    assert "NOT PROVEN OPTIMAL" in result.stderr
    summary = dict(
        line.split(",", 1) for line in (tmp_path / "out" / "summary.csv").read_text().splitlines()
    )
    assert summary["status"] == "time_limit"
    assert summary["proven_optimal"] == "False"
    assert summary["verified"] == "True"
    assert summary["mip_gap"] != ""
    about = about_sheet(tmp_path / "out" / "plan.xlsx")
    assert about["status"] == "time_limit"
    assert about["proven_optimal"] is False
    assert about["verified"] is True
    assert about["largest_violation"] == pytest.approx(0, abs=1e-6)
    assert about["objective"] == pytest.approx(float(summary["objective"]))


def test_the_report_of_a_time_limited_plan_warns_at_the_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, hard())
    args = ["report", str(path), "--time-limit", "1", "--no-frontier", "--out", "r.html"]
    result = runner.invoke(app, args)
    assert result.exit_code == 5, result.output
    html = (tmp_path / "r.html").read_text()
    markdown = (tmp_path / "r.md").read_text()
    assert '<p class="warning"><strong>NOT PROVEN OPTIMAL: highs stopped' in html
    assert html.index("NOT PROVEN OPTIMAL") < html.index('<h2 id="findings"')
    assert "> **NOT PROVEN OPTIMAL: highs stopped" in markdown
    assert markdown.index("NOT PROVEN OPTIMAL") < markdown.index("## Findings")


def test_a_compared_case_stopped_at_its_limit_is_labelled(tmp_path: Path, solver: str) -> None:
    from planner.compare import run_case

    checked = planner.check_instance(write(tmp_path, hard()))
    case = run_case(checked, "base", solver, time_limit=1)  # type: ignore[arg-type]
    assert case.plan is not None
    assert case.status == "time_limit"
    assert case.message.startswith(f"NOT PROVEN OPTIMAL: {solver} stopped at its time limit")


# --- stopped with no plan --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "mip", "status", "plan", "words"),
    [
        (_Run(S.Optimal, True), False, Status.OPTIMAL, True, ""),
        (_Run(S.GapLimit, True), True, Status.OPTIMAL, True, ""),
        (_Run(S.Optimal, False), True, Status.ERROR, False, "handed back no solution"),
        (_Run(S.Infeasible, False), False, Status.INFEASIBLE, False, ""),
        (_Run(S.Unbounded, False), True, Status.UNBOUNDED, False, ""),
        (_Run(S.TimeLimit, True), True, Status.TIME_LIMIT, True, "best plan it found"),
        (_Run(S.NodeLimit, True), True, Status.TIME_LIMIT, True, "best plan it found"),
        (_Run(S.Stopped, True), True, Status.TIME_LIMIT, True, "best plan it found"),
        (_Run(S.TimeLimit, False), True, Status.TIME_LIMIT, False, "before finding any plan"),
        (_Run(S.TimeLimit, True), False, Status.TIME_LIMIT, False, "an LP stopped early"),
        (_Run(S.IterationLimit, True), False, Status.TIME_LIMIT, False, "an LP stopped early"),
        (_Run(S.Undefined, False, words="Solve error"), False, Status.ERROR, False,
         "(Solve error): numerical trouble"),
        (_Run(S.Interrupted, True, words="Stopped on difficulties"), True, Status.ERROR, False,
         "numerical trouble"),
        (_Run(S.MemoryLimit, True), True, Status.ERROR, False, "numerical trouble"),
        (_Run(None, False, words="boom"), True, Status.ERROR, False, "HiGHS failed: boom"),
    ],
)  # fmt: skip
def test_one_place_decides_the_status_and_whether_there_is_a_plan(
    run: _Run, mip: bool, status: Status, plan: bool, words: str
) -> None:
    found, has_plan, message = _outcome(run, "highs", mip)
    assert (found, has_plan) == (status, plan)
    assert words in message
    if status is Status.ERROR:
        assert "try the other solver" in message and "thousands" in message


def fake_run(stopped: pulp.LpSolveStatus, has_solution: bool) -> Any:
    def run(model: Any, solver: Any, time_limit: float | None, mip: bool) -> _Run:
        if has_solution:  # leave the variables at some values, as a stopped solver does
            for v in model.problem.variables():
                v.varValue = 0.0
        return _Run(stopped, has_solution)

    return run


@pytest.mark.parametrize(
    ("data", "has_solution", "words"),
    [
        (small_lp(), True, "an LP stopped early has no plan proven to meet every rule"),
        (hard(), False, "before finding any plan that meets every rule"),
    ],
    ids=["lp", "milp-without-a-plan"],
)
def test_stopped_without_a_plan_exits_5_and_writes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    data: Data,
    has_solution: bool,
    words: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, data)
    monkeypatch.setattr(solve_module, "_run", fake_run(S.TimeLimit, has_solution))
    with pytest.raises(NoPlanError) as caught:
        planner.solve_instance(path, time_limit=1)
    assert caught.value.status == "time_limit"
    assert words in str(caught.value)
    result = runner.invoke(app, ["solve", str(path), "--time-limit", "1", "--out", "out"])
    assert result.exit_code == 5
    assert "No plan" in result.stderr and words in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


# --- crashes, missing solvers, numerical trouble -----------------------------------------------


FAKE_CBC = {
    "exits-1": "echo 'CBC: something went wrong' >&2\nexit 1",
    "segfaults": "kill -SEGV $$",
    "no-solution-file": "exit 0",
    "garbage-solution": (
        'while [ $# -gt 0 ]; do\n  if [ "$1" = "-solution" ]; then printf '
        "'\\377\\376 not a solution\\n%%%%\\n' > \"$2\"; fi\n  shift\ndone\nexit 0"
    ),
    "numerical-trouble": (
        'while [ $# -gt 0 ]; do\n  if [ "$1" = "-solution" ]; then printf '
        "'Stopped on difficulties - objective value 0\\n' > \"$2\"; fi\n  shift\ndone\nexit 0"
    ),
}


def fake_cbc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """A shell script where PuLP looks for cbcbox's CBC binary."""
    import cbcbox  # type: ignore[import-untyped]

    script = tmp_path / "bin" / "cbc"
    script.parent.mkdir(exist_ok=True)
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setattr(cbcbox, "cbc_bin_path", lambda: str(script))
    return script


def solve_fails_cleanly(
    tmp_path: Path, path: Path, solver: str, words: str, time_limit: str | None = None
) -> None:
    """Through the Python API and through `planner solve`: status error, exit 6, a message with
    `words` and what to try, no traceback, no output folder."""
    limit = float(time_limit) if time_limit else None
    with pytest.raises(NoPlanError) as caught:
        planner.solve_instance(path, solver=solver, time_limit=limit)  # type: ignore[arg-type]
    assert caught.value.status == "error"
    message = str(caught.value)
    assert words in message, message
    assert "try the other solver" in message
    args = ["solve", str(path), "--solver", solver, "--out", "out"]
    result = runner.invoke(app, args + (["--time-limit", time_limit] if time_limit else []))
    assert result.exit_code == 6, result.output
    assert words in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # an exit code, not an exception
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("case", "words"), [
    ("exits-1", "CBC failed: Pulp: Error while trying to execute"),
    ("segfaults", "CBC failed: Pulp: Error while trying to execute"),
    ("no-solution-file", "CBC failed: Pulp: Error while executing"),
    ("garbage-solution", "CBC failed"),
    ("numerical-trouble", "CBC stopped without an answer"),
])  # fmt: skip
@pytest.mark.parametrize("data", [small_lp(), hard(n=12, m=2)], ids=["lp", "milp"])
def test_a_broken_cbc_is_an_error_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str, words: str, data: Data
) -> None:
    monkeypatch.chdir(tmp_path)
    fake_cbc(tmp_path, monkeypatch, FAKE_CBC[case])
    solve_fails_cleanly(tmp_path, write(tmp_path, data), "cbc", words)


def test_a_missing_cbc_is_an_error_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cbcbox

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cbcbox, "cbc_bin_path", lambda: str(tmp_path / "no-such-cbc"))
    monkeypatch.setenv("PATH", str(tmp_path))  # and no cbc on the PATH either
    solve_fails_cleanly(tmp_path, write(tmp_path, small_lp()), "cbc", "CBC failed: Pulp: cannot")


def test_a_hanging_cbc_is_stopped_after_its_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PuLP waits for CBC without a timeout: the watchdog kills it at the limit plus 10% plus
    the grace (here 0.5 s, to keep the test short), and the solve is an error."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(solve_module, "WATCHDOG_GRACE", 0.5)
    fake_cbc(tmp_path, monkeypatch, "exec sleep 600")
    path = write(tmp_path, small_lp())
    solve_fails_cleanly(tmp_path, path, "cbc", "was still running 1.6 s after it started", "1")


def test_highs_failing_is_an_error_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import highspy

    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, small_lp())
    monkeypatch.setattr(highspy.Highs, "run", lambda self: highspy.HighsStatus.kError)
    solve_fails_cleanly(tmp_path, path, "highs", "HiGHS stopped without an answer (Not Set)")

    def crash(self: Any) -> Any:
        raise RuntimeError("HiGHS ran out of memory")

    monkeypatch.setattr(highspy.Highs, "run", crash)
    solve_fails_cleanly(tmp_path, path, "highs", "HiGHS failed: HiGHS ran out of memory")


def test_highs_reporting_numerical_trouble_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import highspy

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        highspy.Highs, "getModelStatus", lambda self: highspy.HighsModelStatus.kSolveError
    )
    path = write(tmp_path, small_lp())
    solve_fails_cleanly(tmp_path, path, "highs", "HiGHS stopped without an answer (Solve error)")


def test_highs_handing_back_no_row_values_is_read_as_it_said() -> None:
    # a price of 1e30 a unit in the envelope's row (validation refuses such a number; here it
    # is put into the model) is past what HiGHS takes: it calls the LP unbounded and hands back
    # column values but no row values, which FastHiGHS's read-back took for a crash ("operands
    # could not be broadcast together with shapes (3,) (0,)"); now no row is written
    model = planner.build(planner.validate(planner.Document(data=small_lp())))
    _, envelope = model.registry[("envelope", (2021,))]
    envelope.set_coefficient(model.problem.variables()[0], 1e30)
    solution = planner.solve(model, "highs")
    assert (solution.status, solution.has_plan, solution.message) == (Status.UNBOUNDED, False, "")
    assert [(c.pi, c.slack) for c in model.problem.constraints()] == [(None, None)] * 3


def test_the_lp_solves_after_trouble(tmp_path: Path, solver: str) -> None:
    """The known answer once the solver works: £1,000 buys 60 of a (£600) and 20 of b."""
    plan = planner.solve_instance(write(tmp_path, small_lp()), solver=solver)  # type: ignore[arg-type]
    assert plan.summary["objective"] == pytest.approx(80)
    assert plan.summary["proven_optimal"] is True
    assert plan.summary["mip_gap"] == "" and plan.summary["best_bound"] == ""


# --- outputs that cannot be written ----------------------------------------------------------


def folder_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_an_output_under_a_file_is_a_clean_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, small_lp())
    (tmp_path / "taken").write_text("a file where a folder should be\n")
    result = runner.invoke(app, ["solve", str(path), "--out", "taken/out"])
    assert result.exit_code == 2
    assert "cannot write the outputs to taken/out" in result.stderr
    assert "Traceback" not in result.output
    assert (tmp_path / "taken").read_text() == "a file where a folder should be\n"
    result = runner.invoke(app, ["report", str(path), "--no-frontier", "--out", "taken/r.html"])
    assert result.exit_code == 2
    assert "cannot write the report to taken/r.html" in result.stderr


def test_a_folder_that_refuses_writing_is_a_clean_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only folder (simulated: the tests may run as root, who may write anywhere)."""
    import tempfile

    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, small_lp())

    mkdtemp = tempfile.mkdtemp

    def refuse(suffix: Any = None, prefix: Any = None, dir: Any = None) -> str:
        if dir is not None and Path(dir).name == "locked":
            raise PermissionError(13, "Permission denied", dir)
        return mkdtemp(suffix, prefix, dir)

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    result = runner.invoke(app, ["solve", str(path), "--out", "locked/out"])
    assert result.exit_code == 2
    assert "cannot write the outputs to locked/out: Permission denied (locked)" in result.stderr
    assert not (tmp_path / "locked" / "out").exists()


def test_a_write_failing_halfway_leaves_the_old_outputs_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planner.report

    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, small_lp())
    assert runner.invoke(app, ["solve", str(path), "--out", "out"]).exit_code == 0
    before = folder_digest(tmp_path / "out")

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device", str(tmp_path / "out.tmp" / "plan.xlsx"))

    monkeypatch.setattr(planner.report, "_write_workbook", full)
    result = runner.invoke(app, ["solve", str(path), "--out", "out"])
    assert result.exit_code == 2
    assert "cannot write the outputs to out: No space left on device" in result.stderr
    assert folder_digest(tmp_path / "out") == before
    assert sorted(os.listdir(tmp_path)) == ["instance.yaml", "out"]  # no staging folder left


def test_the_about_sheet_says_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, small_lp())
    assert runner.invoke(app, ["solve", str(path), "--out", "out"]).exit_code == 0
    about = about_sheet(tmp_path / "out" / "plan.xlsx")
    assert about["status"] == "optimal"
    assert about["proven_optimal"] is True
    assert about["verified"] is True
    assert about["largest_violation"] == pytest.approx(0, abs=1e-6)
    assert about["mip_gap"] is None and about["best_bound"] is None  # an LP
