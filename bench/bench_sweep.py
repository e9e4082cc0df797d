"""Sweep throughput: re-solve a generated instance with new effect sizes, many times.

The draws are those of `national(variables, uncertainty=True)`'s uncertainty section (DESMOND's
gain, heart-failure nurses' and foot protection's effects, tariffs, the outpatient price). Each
method runs in a fresh subprocess (`--repeat` times; the best kept) and prints solves a second,
by wall clock and by CPU time (the process's, which another job on the machine disturbs less):

- raw: highspy alone on bench/matrix.py's matrix: the drawn numbers are formulated before the
  clock starts, then each draw changes the affected costs, bounds and coefficients in place and
  re-solves from the base basis;
- moved: what `planner uncertainty` does with an LP whose numbers are affine in the parameters
  (planner.sweep.Linear): each draw validated (uncertainty.instance_at), the base model's
  numbers moved to the draw's and re-solved warm; the fit runs before the clock, as raw's
  formulation does;
- draws: `planner uncertainty`'s whole draw on the moved model (uncertainty._Draws): as moved,
  plus the deterministic plan read in the draw and the re-optimised plan made (make_plan, with
  verify.py's check); not compared with raw, which does neither;
- sweep: planner's sweep (planner/sweep.py), serial: each draw drawn, built by build.py and
  re-solved warm from the base basis;
- rebuild: the old path: each draw drawn, built and solved cold by planner.solve;
- workers: planner's sweep over 2 local processes (process start-up included).

moved and raw also report where a draw's time goes (milliseconds a draw): validation, moving,
the solve, and HiGHS's run inside it. The goal (issue 6): moved's throughput at least half of
raw's. Run:
    python bench/bench_sweep.py [--variables 1000] [--draws 200] [--repeat 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
GOAL = 0.5


def drawn_data(variables: int, draws: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The generated instance (its uncertainty removed) and each draw's data, by planner's
    own draw rules (planner.uncertainty: seeded streams, relative multipliers)."""
    import copy

    from generate import national

    from planner.load import Document
    from planner.schema import Instance
    from planner.uncertainty import resolve, stream

    data = national(variables, uncertainty=True)
    instance = Instance.model_validate(data)
    parameters, problems = resolve(instance, Document(data=data))
    if problems:
        raise SystemExit("the generated uncertainty section is invalid:\n" + str(problems[0]))
    seed = instance.uncertainty.seed if instance.uncertainty is not None else 0
    base = copy.deepcopy(data)
    base.pop("uncertainty", None)
    out = []
    for k in range(draws):
        one = copy.deepcopy(base)
        for p in parameters:
            for path, value in p.values(p.draw(stream(seed, k, p.pid))):
                node: Any = one
                for part in path[:-1]:
                    node = node[part]
                node[path[-1]] = value
        out.append(one)
    return base, out


@dataclass(frozen=True)
class Probe:
    """A bench sweep task: probe k is draw k's data, validated, built and solved."""

    base: dict[str, Any]
    draws: tuple[dict[str, Any], ...]
    warm: bool

    def setup(self) -> Any:
        from planner.build import build
        from planner.schema import Instance
        from planner.sweep import Warm

        warm = Warm("highs")
        if self.warm:
            warm.solve(build(Instance.model_validate(self.base)))
        return warm

    def __call__(self, warm: Any, k: int, /) -> float:
        from planner.build import build
        from planner.schema import Instance
        from planner.solve import solve

        model = build(Instance.model_validate(self.draws[k]))
        solution = warm.solve(model) if self.warm else solve(model, "highs")
        return float(solution.objective or 0.0)


@dataclass(frozen=True)
class Moved:
    """planner's sweep moving one model in place (planner.sweep.Linear, as planner uncertainty
    does): draw k validated (schema and rules, uncertainty.instance_at), the model's numbers
    moved to draw k's parameter values, and re-solved warm with the moved numbers handed
    straight to HiGHS."""

    variables: int
    draws: int

    def setup(self) -> Any:
        import numpy as np
        from generate import national

        from planner.build import build
        from planner.load import Document
        from planner.schema import Instance
        from planner.sweep import Linear, Warm
        from planner.uncertainty import _certain, instance_at, resolve, stream

        data = national(self.variables, uncertainty=True)
        instance = Instance.model_validate(data)
        document = Document(data=data)
        parameters, _ = resolve(instance, document)
        base = _certain(instance)
        xs = np.array([[p.draw(stream(0, k, p.pid)) for p in parameters]
                       for k in range(self.draws)])  # fmt: skip

        def at(x: Any, k: int) -> Any:
            return instance_at(base, parameters, x.tolist(), document, 0, k)

        def make(x: Any) -> Any:
            return build(at(x, -1))

        centre = [p.point for p in parameters]
        linear = Linear(make, centre, xs.min(axis=0), xs.max(axis=0), Warm("highs"))
        if linear.refusal is not None:
            raise SystemExit(f"the generated instance cannot be moved: {linear.refusal}")
        return linear, xs, at

    def __call__(self, state: Any, k: int, /) -> float:
        linear, xs, at = state
        linear.move(xs[k], at(xs[k], k))
        return float(linear.solve().objective or 0.0)


class Clock:
    """Wall and CPU seconds of named stages, added up."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def add(self, stage: str, wall: float, cpu: float) -> None:
        self.wall[stage] = self.wall.get(stage, 0.0) + wall
        self.cpu[stage] = self.cpu.get(stage, 0.0) + cpu

    def per_draw(self, draws: int) -> dict[str, float]:
        """Milliseconds a draw, wall clock, by stage."""
        return {stage: 1000 * seconds / draws for stage, seconds in self.wall.items()}


def timed_highs_runs(clock: Clock) -> None:
    """Time HiGHS's warm runs inside planner (this process only): sweep's warm path runs
    HiGHS inside `quiet_stdout`, which is wrapped here to add its time to the clock."""
    import contextlib
    from collections.abc import Iterator

    import planner.sweep  # noqa: F401  (the module, which `planner.sweep` may not name)

    sweep_module = sys.modules["planner.sweep"]
    quiet = sweep_module.quiet_stdout

    @contextlib.contextmanager
    def timed() -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        with quiet():
            yield
        clock.add("highs_run", time.perf_counter() - wall, time.process_time() - cpu)

    sweep_module.quiet_stdout = timed  # type: ignore[attr-defined]


def moved(variables: int, draws: int) -> tuple[Clock, list[float], dict[str, Any]]:
    """Every draw moved in place (Moved), stage by stage: validation, moving, the solve."""
    task = Moved(variables, draws)
    start = time.perf_counter()
    state = task.setup()  # the base and the fit, before the clock starts (as raw's)
    extra = {"fit_seconds": time.perf_counter() - start, "fit_builds": state[0].builds}
    linear, xs, at = state
    clock = Clock()
    timed_highs_runs(clock)
    objectives = []
    for k in range(draws):
        wall, cpu = time.perf_counter(), time.process_time()
        drawn = at(xs[k], k)
        middle, middle_cpu = time.perf_counter(), time.process_time()
        clock.add("validate", middle - wall, middle_cpu - cpu)
        linear.move(xs[k], drawn)
        moved_at, moved_cpu = time.perf_counter(), time.process_time()
        clock.add("move", moved_at - middle, moved_cpu - middle_cpu)
        objectives.append(float(linear.solve().objective or 0.0))
        clock.add("solve", time.perf_counter() - moved_at, time.process_time() - moved_cpu)
    return clock, objectives, extra


def whole_draws(variables: int, draws: int) -> tuple[Clock, list[float], dict[str, Any]]:
    """`planner uncertainty`'s draws (uncertainty._Draws, as analyse runs them): validated,
    moved (if the fit is accepted for this many draws), the plan read in them, re-optimised
    and made into a plan."""
    import numpy as np
    from generate import national

    from planner.build import build
    from planner.load import Document
    from planner.schema import Instance
    from planner.solve import solve
    from planner.uncertainty import _Draws, draw_values, resolve

    data = national(variables, uncertainty=True)
    instance = Instance.model_validate(data)
    document = Document(data=data)
    parameters, _ = resolve(instance, document)
    solution = solve(build(instance), "highs")
    xs = np.array([[draw_values(parameters, 0, k)[p.pid] for p in parameters]
                   for k in range(draws)])  # fmt: skip
    span = (tuple(xs.min(axis=0)), tuple(xs.max(axis=0)))
    task = _Draws(instance, document, tuple(parameters), 0, solution.values, "highs", None,
                  True, span, draws)  # fmt: skip
    start = time.perf_counter()
    state = task.setup()
    extra = {"fit_seconds": time.perf_counter() - start, "moved": state.linear is not None}
    clock = Clock()
    objectives = []
    wall, cpu = time.perf_counter(), time.process_time()
    for k in range(draws):
        _, optimum = task(state, k)
        objectives.append(float(optimum.objective or 0.0) if optimum is not None else 0.0)
    clock.add("draw", time.perf_counter() - wall, time.process_time() - cpu)
    return clock, objectives, extra


def raw(base: dict[str, Any], draws: list[dict[str, Any]]) -> tuple[Clock, list[float]]:
    """Every draw on one highspy model changed in place: the clock (the whole, and HiGHS's
    runs) and the objectives."""
    import highspy
    import numpy as np
    from matrix import formulate, solve_highs

    loaded = formulate(base)
    h, _ = solve_highs(loaded)
    basis = h.getBasis()
    matrices = [formulate(d) for d in draws]  # the numbers, before the clock starts
    objectives = []
    clock = Clock()
    start, start_cpu = time.perf_counter(), time.process_time()
    current = loaded
    for m in matrices:
        cols = np.flatnonzero(m.c != current.c).astype(np.int32)
        if len(cols):
            h.changeColsCost(len(cols), cols, m.c[cols])
        rows = np.flatnonzero(
            (m.row_lower != current.row_lower) | (m.row_upper != current.row_upper)
        ).astype(np.int32)
        if len(rows):
            h.changeRowsBounds(len(rows), rows, m.row_lower[rows], m.row_upper[rows])
        cols = np.flatnonzero(
            (m.col_lower != current.col_lower) | (m.col_upper != current.col_upper)
        ).astype(np.int32)
        if len(cols):
            h.changeColsBounds(len(cols), cols, m.col_lower[cols], m.col_upper[cols])
        assert np.array_equal(m.a.indptr, current.a.indptr)  # the same pattern: numbers only
        changed = np.flatnonzero(m.a.data != current.a.data)
        row_of = np.repeat(np.arange(m.a.shape[0]), np.diff(m.a.indptr))
        for k in changed.tolist():
            h.changeCoeff(int(row_of[k]), int(m.a.indices[k]), float(m.a.data[k]))
        if m.offset != current.offset:
            h.changeObjectiveOffset(m.offset)
        h.clearSolver()
        h.setBasis(basis)
        wall, cpu = time.perf_counter(), time.process_time()
        h.run()
        clock.add("highs_run", time.perf_counter() - wall, time.process_time() - cpu)
        optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        objectives.append(h.getInfo().objective_function_value if optimal else 0.0)
        current = m
    clock.add("draw", time.perf_counter() - start, time.process_time() - start_cpu)
    return clock, objectives


def measure(method: str, variables: int, draws: int) -> dict[str, Any]:
    """One method's seconds (wall and CPU), solves a second and stages, in this process."""
    base, data = drawn_data(variables, draws)
    extra: dict[str, Any] = {}
    if method == "raw":
        clock, objectives = raw(base, data)
    elif method == "moved":
        clock, objectives, extra = moved(variables, draws)
        clock.add("draw", sum(clock.wall[s] for s in ("validate", "move", "solve")),
                  sum(clock.cpu[s] for s in ("validate", "move", "solve")))  # fmt: skip
    elif method == "draws":
        clock, objectives, extra = whole_draws(variables, draws)
    else:
        from planner.sweep import run

        task = Probe(base, tuple(data), warm=method != "rebuild")
        workers = 2 if method == "workers" else 1
        clock = Clock()
        wall, cpu = time.perf_counter(), time.process_time()
        objectives = run(task, range(draws), workers=workers)
        clock.add("draw", time.perf_counter() - wall, time.process_time() - cpu)
    seconds, cpu_seconds = clock.wall.pop("draw"), clock.cpu.pop("draw")
    return {"method": method, "seconds": seconds, "per_second": draws / seconds,
            "cpu_seconds": cpu_seconds, "per_cpu_second": draws / cpu_seconds,
            "stages_ms": clock.per_draw(draws), "objective_sum": float(sum(objectives)),
            **extra}  # fmt: skip


METHODS = ("raw", "moved", "draws", "sweep", "rebuild", "workers")
NAMES = {
    "raw": "raw highspy, warm, in place",
    "moved": "planner, model moved in place",
    "draws": "planner uncertainty's whole draw",
    "sweep": "planner sweep, rebuilt, warm",
    "rebuild": "planner, rebuilt and cold (old)",
    "workers": "planner sweep, --workers 2",
}


def run_method(method: str, variables: int, draws: int) -> dict[str, Any]:
    """One method in a fresh subprocess."""
    command = [sys.executable, __file__, "--method", method,
               "--variables", str(variables), "--draws", str(draws)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{method} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variables", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1, help="runs per method; the best kept")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument("--method", help=argparse.SUPPRESS)  # one method, in a subprocess
    args = parser.parse_args(argv)
    if args.method:
        print(json.dumps(measure(args.method, args.variables, args.draws)))
        return 0
    methods = ["raw", *(m for m in args.methods if m != "raw")]
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for _ in range(args.repeat):  # the methods in turn, so each repeat sees the same weather
        for method in methods:
            runs[method].append(run_method(method, args.variables, args.draws))
    found = {m: min(r, key=lambda one: one["seconds"]) for m, r in runs.items()}
    cpu = {m: min(one["cpu_seconds"] for one in r) for m, r in runs.items()}
    rate, cpu_rate = found["raw"]["per_second"], args.draws / cpu["raw"]
    print(f"{args.draws} re-solves of a {args.variables:,}-variable instance, new effect sizes; "
          f"best of {args.repeat}")  # fmt: skip
    print(f"{'method':<34}{'solves/s':>10}{'x raw':>8}{'CPU /s':>9}{'x raw':>8}   goal")
    for method, result in found.items():
        ratio, cpu_ratio = result["per_second"] / rate, args.draws / cpu[method] / cpu_rate
        goal = f">= {GOAL} {'met' if ratio >= GOAL else 'NOT met'}" if method == "moved" else ""
        cpu_rates = f"{args.draws / cpu[method]:>9.1f}{cpu_ratio:>8.3f}"
        if method == "workers":  # their CPU is in their own processes, not counted here
            cpu_rates = " " * 17
        print(f"{NAMES[method]:<34}{result['per_second']:>10.1f}{ratio:>8.3f}{cpu_rates}   {goal}")
    for method in ("raw", "moved"):
        if method in found:
            stages = ", ".join(f"{s} {v:.1f}" for s, v in found[method]["stages_ms"].items())
            print(f"{method}: ms a draw (wall): {1000 / found[method]['per_second']:.1f}; "
                  f"{stages}")  # fmt: skip
    if "moved" in found:
        fit = found["moved"]
        print(f"moving the model needed a fit of {fit['fit_builds']} builds "
              f"({fit['fit_seconds']:.1f} s, once per process, not in its rate)")  # fmt: skip
    if "draws" in found:
        how = "moved" if found["draws"]["moved"] else "built (the fit is not worth it)"
        print(f"planner uncertainty's draws: each {how}")
    sums = {m: round(r["objective_sum"], 4) for m, r in found.items()}
    print(f"sum of the {args.draws} optima, per method (they must agree): {sums}")
    if len(set(sums.values())) > 1:
        raise SystemExit("the methods' optima disagree")
    if args.json is not None:
        figures = {"variables": args.variables, "draws": args.draws, "repeat": args.repeat,
                   "runs": runs}  # fmt: skip
        partial = args.json.with_name(args.json.name + ".partial")
        partial.write_text(json.dumps(figures, indent=1, sort_keys=True) + "\n")
        partial.replace(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
