"""Sweep throughput: re-solve a generated instance with new effect sizes, many times.

The draws are those of `national(variables, uncertainty=True)`'s uncertainty section (DESMOND's
gain, heart-failure nurses' and foot protection's effects, tariffs, the outpatient price). Each
method runs in a fresh subprocess and prints solves a second:

- sweep: planner's sweep (planner/sweep.py), serial: each draw drawn, built by build.py and
  re-solved warm from the base basis;
- rebuild: the old path: each draw drawn, built and solved cold by planner.solve;
- workers: planner's sweep over 2 local processes (process start-up included);
- raw: highspy alone on bench/matrix.py's matrix: the drawn numbers are formulated before the
  clock starts, then each draw changes the affected costs, bounds and coefficients in place and
  re-solves from the base basis.

The goal (issue 6): sweep throughput at least half of raw. Run:
    python bench/bench_sweep.py [--variables 1000] [--draws 200]
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
    does): draw k's data validated (schema and rules), the model's numbers moved to draw k's
    parameter values, and re-solved warm with the moved numbers handed straight to HiGHS."""

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


def raw(base: dict[str, Any], draws: list[dict[str, Any]]) -> tuple[float, list[float]]:
    """Seconds for every draw on one highspy model changed in place, and the objectives."""
    import highspy
    import numpy as np
    from matrix import formulate, solve_highs

    loaded = formulate(base)
    h, _ = solve_highs(loaded)
    basis = h.getBasis()
    matrices = [formulate(d) for d in draws]  # the numbers, before the clock starts
    objectives = []
    start = time.perf_counter()
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
        h.run()
        optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        objectives.append(h.getInfo().objective_function_value if optimal else 0.0)
        current = m
    return time.perf_counter() - start, objectives


def measure(method: str, variables: int, draws: int) -> dict[str, Any]:
    """One method's seconds and solves a second, in this process."""
    base, data = drawn_data(variables, draws)
    extra: dict[str, Any] = {}
    if method == "raw":
        seconds, objectives = raw(base, data)
    elif method == "moved":
        task = Moved(variables, draws)
        start = time.perf_counter()
        state = task.setup()  # the base and the fit, before the clock starts (as raw's)
        extra = {"fit_seconds": time.perf_counter() - start, "fit_builds": state[0].builds}
        start = time.perf_counter()
        objectives = [task(state, k) for k in range(draws)]
        seconds = time.perf_counter() - start
    else:
        from planner.sweep import run

        task = Probe(base, tuple(data), warm=method != "rebuild")
        workers = 2 if method == "workers" else 1
        start = time.perf_counter()
        objectives = run(task, range(draws), workers=workers)
        seconds = time.perf_counter() - start
    return {"method": method, "seconds": seconds, "per_second": draws / seconds,
            "objective_sum": float(sum(objectives)), **extra}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variables", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--method", help=argparse.SUPPRESS)  # one method, in a subprocess
    args = parser.parse_args(argv)
    if args.method:
        print(json.dumps(measure(args.method, args.variables, args.draws)))
        return 0
    found = {}
    for method in ("raw", "moved", "sweep", "rebuild", "workers"):
        command = [sys.executable, __file__, "--method", method,
                   "--variables", str(args.variables), "--draws", str(args.draws)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        found[method] = json.loads(done.stdout.strip().splitlines()[-1])
    rate = found["raw"]["per_second"]
    print(f"{args.draws} re-solves of a {args.variables:,}-variable instance, new effect sizes")
    print(f"{'method':<34}{'solves/s':>10}{'x raw':>8}   goal")
    names = {
        "raw": "raw highspy, warm, in place",
        "moved": "planner, model moved in place",
        "sweep": "planner sweep, rebuilt, warm",
        "rebuild": "planner, rebuilt and cold (old)",
        "workers": "planner sweep, --workers 2",
    }
    for method, result in found.items():
        ratio = result["per_second"] / rate
        goal = f">= {GOAL} {'met' if ratio >= GOAL else 'NOT met'}" if method == "moved" else ""
        print(f"{names[method]:<34}{result['per_second']:>10.1f}{ratio:>8.3f}   {goal}")
    fit = found["moved"]
    print(f"moving the model needed a fit of {fit['fit_builds']} builds "
          f"({fit['fit_seconds']:.1f} s, once per process, not in its rate)")  # fmt: skip
    sums = {m: round(r["objective_sum"], 4) for m, r in found.items()}
    print(f"sum of the {args.draws} optima, per method (they must agree): {sums}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
