"""Build + solve benchmark: planner (PuLP, HiGHS in-process) against raw highspy, same LP.

For each size (LP columns) the instance comes from bench/generate.py (seeded) and each method
runs in a FRESH subprocess, so each peak memory (ru_maxrss) is that method's alone:

- raw:     bench/matrix.formulate + one passModel + run + reading back values and duals
           (getSolution), from the instance dict;
- planner: planner.build + planner.solve on HiGHS (values, duals and reduced costs read back),
           from the validated instance; then make_plan (tables + independent verification) is
           timed on its own, and so is validate (schema + checks) before the build;
- load:    (unless --no-load) the instance written as YAML, then planner.load + validate: the
           start of `planner solve`, timed apart because YAML parsing is not modelling.

Both optima must agree to 1e-6 relative, or the run stops with an error. With --time-limit,
where HiGHS stops at the limit in both methods there is no optimum to compare; the line then
prints the most the complete build + solve ratio can be (`bound`), since both methods hand HiGHS
the same LP (tests/test_bench.py) and a complete run would add the same time to each. Times
are wall-clock (time.perf_counter), the best of --repeat runs; memory is the process's peak
resident set in MB, including Python and the instance dict each process starts from (the
`floor` column: peak after generating the data, before either method runs). Goals from issue 6
are printed beside each ratio; nothing here asserts them.

    python bench/bench_build.py                       # 1e3 1e4 1e5 1e6
    python bench/bench_build.py --sizes 1000 10000 --repeat 3 --json bench/results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SIZES = (1_000, 10_000, 100_000, 1_000_000)
REL = 1e-6
GOALS = {  # size -> (time ratio goal, memory ratio goal or None), issue 6
    1_000: (3.0, None),
    10_000: (None, None),
    100_000: (1.5, None),
    1_000_000: (1.5, 2.0),
}


def _peak_mb() -> float:
    """Peak resident set of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb() -> float:
    """Resident set of this process now, in MB (0 where /proc is not there)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def _quiet() -> None:
    """Send file descriptor 1 (HiGHS's banner) to /dev/null; results go to a file."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)


def worker(method: str, size: int, seed: int, limit: float | None = None) -> dict[str, Any]:
    """Run one method on one instance in this process; its times and peak memory. With a
    time `limit` HiGHS may stop early: then there is no optimum to compare (objective None)."""
    sys.path.insert(0, str(ROOT))
    _quiet()
    out: dict[str, Any] = {"method": method, "size": size}
    if method != "raw":
        import planner  # imports pulp, which must load highspy's extension first

        out["import_mb"] = _peak_mb()
    from bench.generate import national

    start = time.perf_counter()
    data = national(size, seed)
    out["generate_s"] = time.perf_counter() - start
    out["floor_mb"] = _peak_mb()
    out["rss_data_mb"] = rss_mb()
    if method == "raw":
        import highspy

        from bench.matrix import formulate, optimum, to_highs

        start = time.perf_counter()
        m = formulate(data)
        out["formulate_s"] = time.perf_counter() - start
        out["rss_built_mb"] = rss_mb()
        h = to_highs(m)
        if limit is not None:
            h.setOptionValue("time_limit", float(limit))
        out["handoff_s"] = time.perf_counter() - start - out["formulate_s"]
        ran = time.perf_counter()
        h.run()
        out["highs_s"] = time.perf_counter() - ran
        out["iterations"] = int(h.getInfo().simplex_iteration_count)
        stopped = h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
        objective = None if stopped else optimum(h)
        solution = h.getSolution()
        values, duals = list(solution.col_value), list(solution.row_dual)
        reduced = list(solution.col_dual)
        out["total_s"] = time.perf_counter() - start
        out["solve_s"] = out["total_s"] - out["formulate_s"]
        out["rows"], out["columns"] = m.shape
        out["nonzeros"] = int(m.a.nnz)
        out["objective"] = objective
        out["peak_mb"] = _peak_mb()
        del values, duals, reduced
        return out
    from planner.load import Document

    if method == "load":
        import yaml

        from bench.generate import dump

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "national.yaml"
            path.write_text(dump(data), encoding="utf-8")
            out["yaml_mb"] = path.stat().st_size / 1e6
            del data
            start = time.perf_counter()
            document = planner.load(path)
            out["load_s"] = time.perf_counter() - start
            start = time.perf_counter()
            planner.validate(document)
            out["validate_s"] = time.perf_counter() - start
        out["peak_mb"] = _peak_mb()
        del yaml
        return out
    phases = _time_pulp_phases()
    start = time.perf_counter()
    instance = planner.validate(Document(data=data, instance_file=Path("national.yaml")))
    out["validate_s"] = time.perf_counter() - start
    out["rss_validated_mb"] = rss_mb()
    start = time.perf_counter()
    model = planner.build(instance)
    out["build_s"] = time.perf_counter() - start
    out["rss_built_mb"] = rss_mb()
    solution = planner.solve(model, "highs", limit)
    out["rss_solved_mb"] = rss_mb()
    out["total_s"] = time.perf_counter() - start
    out["solve_s"] = out["total_s"] - out["build_s"]
    out.update(phases)
    out["peak_mb"] = _peak_mb()
    out["rows"] = model.problem.numConstraints()
    out["columns"] = len(model.problem.variables())
    out["objective"] = solution.objective
    if solution.objective is None:
        if solution.status is planner.Status.TIME_LIMIT:
            return out
        raise SystemExit(f"planner found no plan: {solution.status} {solution.message}")
    start = time.perf_counter()
    planner.make_plan(model, solution)
    out["make_plan_s"] = time.perf_counter() - start
    out["peak_after_plan_mb"] = _peak_mb()
    return out


def _time_pulp_phases() -> dict[str, float]:
    """Time PuLP's three steps inside planner.solve (handing the model to HiGHS, HiGHS's run,
    reading values and duals back into PuLP's variables and rows), and the resident memory
    after each: the returned dict fills in as they run. Only this benchmark's process is
    patched."""
    from planner.highs import FastHiGHS  # the class planner.solve runs

    phases: dict[str, float] = {"handoff_s": 0.0, "highs_s": 0.0, "pulp_readback_s": 0.0}
    # and HiGHS's simplex iterations: the same count in both methods means the same solve
    for method, key in (("buildSolverModel", "handoff_s"), ("callSolver", "highs_s"),
                        ("findSolutionValues", "pulp_readback_s")):  # fmt: skip
        original = getattr(FastHiGHS, method)

        def timed(self: Any, lp: Any, _original: Any = original, _key: str = key) -> Any:
            start = time.perf_counter()
            try:
                return _original(self, lp)
            finally:
                phases[_key] += time.perf_counter() - start
                phases[_key.replace("_s", "_rss_mb")] = rss_mb()  # resident after the step
                if _key == "highs_s":
                    phases["iterations"] = lp.solverModel.getInfo().simplex_iteration_count

        setattr(FastHiGHS, method, timed)
    return phases


def run(method: str, size: int, seed: int, limit: float | None = None) -> dict[str, Any]:
    """`worker` in a fresh Python process."""
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "result.json"
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", method,
                   "--sizes", str(size), "--seed", str(seed), "--result", str(result)]  # fmt: skip
        command += [] if limit is None else ["--time-limit", str(limit)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{method} at {size:,} failed:\n{done.stderr}")
        return dict(json.loads(result.read_text()))


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the least total (or load) time; memory is the most any run used."""
    key = "total_s" if "total_s" in runs[0] else "load_s"
    chosen = dict(min(runs, key=lambda r: r[key]))
    chosen["peak_mb"] = max(r["peak_mb"] for r in runs)
    return chosen


def measure(
    sizes: list[int], seed: int, repeat: int, load: bool, limit: float | None = None
) -> list[dict[str, Any]]:
    """Every size: raw, planner (and load) each `repeat` times; the optima checked (unless a
    time limit stopped HiGHS)."""
    rows = []
    for size in sizes:
        raw = best([run("raw", size, seed, limit) for _ in range(repeat)])
        plan = best([run("planner", size, seed, limit) for _ in range(repeat)])
        stopped = raw["objective"] is None or plan["objective"] is None
        gap = (
            None
            if stopped
            else abs(plan["objective"] - raw["objective"]) / max(1.0, abs(raw["objective"]))
        )
        if gap is not None and gap > REL:
            raise SystemExit(
                f"optima disagree at {size:,}: planner {plan['objective']!r}, raw "
                f"{raw['objective']!r} (relative {gap:.2e} > {REL:g})"
            )
        if (plan["rows"], plan["columns"]) != (raw["rows"], raw["columns"]):
            raise SystemExit(f"LP shapes differ at {size:,}: planner {plan}, raw {raw}")
        row: dict[str, Any] = {"size": size, "raw": raw, "planner": plan, "gap": gap}
        if load:
            row["load"] = run("load", size, seed)
        rows.append(row)
        print(line(row), flush=True)
    return rows


HEADER = (
    f"{'size':>9} {'rows':>9} {'raw s':>8} {'planner s':>9} {'ratio':>6} {'goal':>5}"
    f" {'HiGHS raw':>9} {'HiGHS pl.':>9} {'rest raw':>8} {'rest pl.':>8}"
    f" {'raw MB':>7} {'plan MB':>7} {'ratio':>6} {'goal':>5}"
)
STAGES = (
    f"{'size':>9} {'formulate':>9} {'passModel':>9} {'build':>8} {'handoff':>8} {'readback':>8}"
    f" {'validate':>8} {'load':>8} {'make_plan':>9} {'floor MB':>8} {'plan+ MB':>8}"
    f" {'iter. raw':>9} {'iter. pl.':>9}"
)


def line(row: dict[str, Any]) -> str:
    """One comparison line: build+solve wall time of each method, their ratio and the goal, the
    time inside HiGHS's run and the rest, peak memory, its ratio and the goal."""
    raw, plan = row["raw"], row["planner"]
    time_goal, memory_goal = GOALS.get(row["size"], (None, None))
    return (
        f"{row['size']:>9,} {raw['rows']:>9,} {raw['total_s']:>8.3f} {plan['total_s']:>9.3f}"
        f" {plan['total_s'] / raw['total_s']:>5.2f}x {_goal(time_goal)}"
        f" {raw['highs_s']:>9.3f} {plan['highs_s']:>9.3f}"
        f" {raw['total_s'] - raw['highs_s']:>8.3f} {plan['total_s'] - plan['highs_s']:>8.3f}"
        f" {raw['peak_mb']:>7.0f} {plan['peak_mb']:>7.0f}"
        f" {plan['peak_mb'] / raw['peak_mb']:>5.2f}x {_goal(memory_goal)}" + _stopped(row)
    )


def bound(row: dict[str, Any]) -> float | None:
    """When HiGHS stopped at the time limit in both methods: the most planner's complete
    build + solve can be against raw's. Both hand HiGHS the same LP in the same order (the same
    iterations where a run completes), so a complete run adds the same time T to each; with
    planner's rest above raw's, (rest planner + T) / (rest raw + T) falls as T grows, and T is
    at least the time both ran before stopping."""
    raw, plan = row["raw"], row["planner"]
    if raw["objective"] is not None or plan["objective"] is not None:
        return None
    ran = min(raw["highs_s"], plan["highs_s"])
    rest_raw, rest_plan = raw["total_s"] - raw["highs_s"], plan["total_s"] - plan["highs_s"]
    return max(rest_plan + ran, rest_raw + ran) / (rest_raw + ran)


def _stopped(row: dict[str, Any]) -> str:
    if row["gap"] is not None:
        return ""
    most = bound(row)
    if most is None:
        return "  HiGHS stopped at the time limit in one method: not compared"
    return f"  HiGHS stopped at the time limit in both: complete ratio at most {most:.2f}x"


def stages(row: dict[str, Any]) -> str:
    """One line of stages: raw's formulate and passModel; planner's build, PuLP's handoff to
    HiGHS and read-back (inside planner.solve), validate, YAML load, make_plan; memory; HiGHS's
    simplex iterations in each method."""
    raw, plan = row["raw"], row["planner"]
    loaded = row.get("load", {}).get("load_s")
    return (
        f"{row['size']:>9,} {raw['formulate_s']:>9.3f} {raw['handoff_s']:>9.3f}"
        f" {plan['build_s']:>8.3f} {plan['handoff_s']:>8.3f} {plan['pulp_readback_s']:>8.3f}"
        f" {plan['validate_s']:>8.3f} {_s(loaded, 8)}"
        f" {_s(plan.get('make_plan_s'), 9)} {raw['floor_mb']:>8.0f}"
        f" {plan.get('peak_after_plan_mb', plan['peak_mb']):>8.0f}"
        f" {raw.get('iterations', ''):>9} {plan.get('iterations', ''):>9}"
    )


def _s(seconds: float | None, width: int) -> str:
    return f"{'' if seconds is None else f'{seconds:.3f}':>{width}}"


def _goal(goal: float | None) -> str:
    return f"{'' if goal is None else f'{goal:g}x':>5}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="runs per method; best time kept")
    parser.add_argument("--no-load", action="store_true", help="skip timing YAML load")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument(
        "--time-limit",
        type=float,
        help="seconds for each HiGHS run (both methods); a run stopped by it is not compared",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = worker(args.worker, args.sizes[0], args.seed, args.time_limit)
        args.result.write_text(json.dumps(result))
        return 0
    about = f"python {platform.python_version()}, {os.cpu_count()} cores, seed {args.seed}"
    print(f"{about}, best of {args.repeat}; seconds, peak RSS in MB", flush=True)
    print(HEADER, flush=True)
    rows = measure(args.sizes, args.seed, args.repeat, not args.no_load, args.time_limit)
    print("\nstages (seconds; floor: peak after generating the data; plan+: planner's peak "
          "after make_plan)", flush=True)  # fmt: skip
    print(STAGES)
    for row in rows:
        print(stages(row))
    if args.json is not None:
        figures = {"seed": args.seed, "repeat": args.repeat, "cores": os.cpu_count(),
                   "python": platform.python_version(), "rows": rows}  # fmt: skip
        partial = args.json.with_name(args.json.name + ".partial")
        partial.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
        partial.replace(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
