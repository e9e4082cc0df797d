"""Where planner's memory goes on a national instance: resident memory after each stage, then
what each part of the built model holds.

    python bench/memory.py --variables 100000            # stages, then the parts
    python bench/memory.py --variables 100000 --parts    # the parts only (no solve)

The parts are measured in a second, fresh process, so the stages' heap does not blur them.

Stages (one process, resident MB after each, and the peak so far): the instance dict, the
validated Instance, build, the handoff to HiGHS, HiGHS's run, the read-back into PuLP, the
Solution. Parts: after a build, each part is dropped in turn and the C heap's free pages handed
back (malloc_trim), so the fall in resident memory is roughly what the part held: the registry,
the Model's expressions (units, levels, spend, income...) and its variables' handles, the
objective, PuLP's own model (its rows and variables), the validated Instance. A part that shares
memory pages with parts still alive frees less than it held, so the parts are a ranking, not an
exact sum. Linux only (/proc and glibc); nothing here is asserted.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from bench.bench_build import rss_mb  # noqa: E402  (after the path: the repository's bench)

EXPRESSIONS = ("units", "unit_variables", "level", "spend", "economic_cost", "health", "income",
               "external_cost", "option_cost", "service_cost")  # fmt: skip


class Marks:
    """Prints resident memory after each stage, the change since the last and the peak."""

    def __init__(self, trim: bool) -> None:
        self.trim = trim
        self.last = rss_mb()
        self.clock = time.perf_counter()

    def __call__(self, what: str) -> None:
        gc.collect()
        if self.trim:
            ctypes.CDLL(None).malloc_trim(0)
        now, peak = rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        seconds = time.perf_counter() - self.clock
        peaks = "" if self.trim else f"  peak {peak:8.0f}"  # parts: no peak to speak of
        print(f"{what:34} {now:8.0f} MB ({now - self.last:+7.0f}){peaks}  {seconds:6.1f} s",
              file=sys.stderr, flush=True)  # fmt: skip
        self.last, self.clock = now, time.perf_counter()


def stages(variables: int, seed: int) -> None:
    """Resident memory after each stage of build + solve (HiGHS), as `planner solve` runs them."""
    import planner  # before bench.matrix: PuLP loads highspy's extension first
    from bench.generate import national
    from planner.highs import FastHiGHS
    from planner.load import Document

    mark = Marks(trim=False)
    mark("import planner")
    data = national(variables, seed)
    mark("instance dict")
    instance = planner.validate(Document(data=data, instance_file=Path("national.yaml")))
    mark("validated Instance")
    model = planner.build(instance)
    mark("build")
    for method, what in (("buildSolverModel", "handoff to HiGHS"), ("callSolver", "HiGHS's run"),
                         ("findSolutionValues", "read-back into PuLP")):  # fmt: skip
        original = getattr(FastHiGHS, method)

        def marked(self: Any, lp: Any, _original: Any = original, _what: str = what) -> Any:
            result = _original(self, lp)
            mark(_what)
            return result

        setattr(FastHiGHS, method, marked)
    solution = planner.solve(model, "highs")
    mark(f"Solution ({solution.status})")


def parts(variables: int, seed: int) -> None:
    """What each part of a built model holds, by dropping them in turn."""
    import planner
    from bench.generate import national
    from planner.load import Document

    data = national(variables, seed)
    instance = planner.validate(Document(data=data, instance_file=Path("national.yaml")))
    del data
    mark = Marks(trim=True)
    mark("validated Instance")
    model: Any = planner.build(instance)
    mark(f"build ({len(model.registry):,} rows)")
    model.registry = None
    mark("  registry")
    for name in EXPRESSIONS:
        setattr(model, name, {})
    mark("  expressions, variables' handles")
    model.problem.objective = None
    mark("  objective")
    problem = model.problem
    del model
    mark("  the rest of the Model")
    del problem
    mark("  PuLP's model (rows, variables)")
    del instance
    mark("  validated Instance")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--variables", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", action="store_true", help="the parts only, no solve")
    args = parser.parse_args(argv)
    if args.parts:
        parts(args.variables, args.seed)
        return 0
    stages(args.variables, args.seed)
    print(file=sys.stderr, flush=True)
    command = [sys.executable, __file__, "--parts", "--variables", str(args.variables),
               "--seed", str(args.seed)]  # fmt: skip
    return subprocess.run(command).returncode  # a fresh process: a clean heap


if __name__ == "__main__":
    raise SystemExit(main())
