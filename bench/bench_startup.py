"""Start-up benchmark: `planner solve` on the default instance as a whole process, against the
goal of issue 6 (under 1 second of wall time), beside `python -c pass` and importing the CLI.

Each figure is the median (and the least) of --repeat fresh processes; the commands take turns,
so load from other work on the machine falls on each alike. Two ways Python may start:

- bytecode cached, as after `pip install` (PYTHONPYCACHEPREFIX set to a temporary folder, filled
  by one run of each command first, so nothing is written into the source tree);
- compiled every run (PYTHONDONTWRITEBYTECODE=1, which some environments set): planner's own
  modules, about 10,000 lines on the solve path, are compiled from source in every process.

`planner solve` runs from a temporary folder holding only a link to this tree's instances/ (so
the bundled instance is found as from the project folder, whether planner was installed with
`pip install .`, as the README's quick start does, or editable), writes to a temporary --out
folder and prints to a pipe, so rich draws no colour. Run it with the Python of the install to
measure: the report says whether planner came from an installed copy or this source tree.
CPU time (user + system, the process and its threads) is printed too; on a busy machine it moves
less than the wall time. The load average before and after is printed. The goal is printed
beside the figures; nothing is asserted.

--stages adds where the time of `planner solve` goes: the same command run in-process by a
fresh worker (bytecode cached), each stage's wall time measured by wrapping the functions the
command calls (only the worker's process is patched): importing planner, importing its CLI,
typer's parsing, load, validate, build, solve, make_plan, print_plan, write_outputs.

    python bench/bench_startup.py                       # 10 runs of each command
    python bench/bench_startup.py --repeat 20 --modes cached --stages --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.0  # seconds of wall time for `planner solve` on the default instance (issue 6)
MODES = ("cached", "compiled")


def _cli() -> list[str]:
    """The `planner` console script next to this Python, or the same entry point through -c."""
    script = Path(sys.executable).with_name("planner")
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "import sys; from planner.cli import main; sys.exit(main())"]


def _work_folder(root: Path) -> Path:
    """An empty folder but for a link to the bundled instances: `planner solve` run there finds
    its default instance as in the project folder, and writes nothing into the tree."""
    work = root / "work"
    work.mkdir()
    (work / "instances").symlink_to(ROOT / "instances", target_is_directory=True)
    return work


def installed() -> str:
    """Where this Python imports planner from: 'source tree' (an editable install: an import
    hook in site-packages points at this tree, about 20 ms of every start) or 'installed copy'
    (`pip install .`, as the README's quick start does)."""
    import importlib.util

    spec = importlib.util.find_spec("planner")
    origin = Path(spec.origin).resolve() if spec is not None and spec.origin else None
    return "source tree" if origin is not None and origin.is_relative_to(ROOT) else "installed copy"


def _environment(mode: str, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env.pop("PYTHONPYCACHEPREFIX", None)
    if mode == "cached":
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and exit code of one fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if process.stderr is not None:
        process.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def measure(repeat: int, modes: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """{mode: {command: {median, least, cpu}}} over `repeat` fresh processes of each command."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        root = Path(folder)
        work, cache, out = _work_folder(root), root / "pycache", root / "out"
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import planner.cli": [sys.executable, "-c", "import planner.cli"],
            "planner solve": [*_cli(), "solve", "--out", str(out)],
        }
        for mode in modes:
            env = _environment(mode, cache)
            for name, command in commands.items():  # fills the cache; the solve must work
                _, _, code = _run(command, env, work)
                if code != 0:
                    raise SystemExit(f"{name} exited {code} ({mode}); run it by hand to see why")
            walls: dict[str, list[float]] = {name: [] for name in commands}
            cpus: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(repeat):
                for name, command in commands.items():
                    wall, cpu, _ = _run(command, env, work)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
            results[mode] = {
                name: {
                    "median": statistics.median(walls[name]),
                    "least": min(walls[name]),
                    "cpu": statistics.median(cpus[name]),
                }
                for name in commands
            }
        shutil.rmtree(out, ignore_errors=True)
    return results


STAGES_WORKER = """
import contextlib, io, json, sys, time
marks = [("start", time.perf_counter())]
import planner
marks.append(("import planner", time.perf_counter()))
import planner.cli as cli
import planner.report as report
marks.append(("import planner.cli", time.perf_counter()))

def timed(module, name):
    function = getattr(module, name)
    def run(*args, **kwargs):
        marks.append(("before " + name, time.perf_counter()))
        value = function(*args, **kwargs)
        marks.append((name, time.perf_counter()))
        return value
    setattr(module, name, run)

for name in ("load", "validate", "build", "solve", "make_plan"):
    timed(planner, name)
for name in ("print_plan", "write_outputs"):
    timed(report, name)
sys.argv = ["planner", "solve", "--out", sys.argv[1]]
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    cli.main()
marks.append(("exit", time.perf_counter()))
names = {"before load": "typer: build the commands, parse", "solve": "solve (HiGHS)"}
between = "the rest (between stages, exit)"
stages = {}
for (_, before), (name, after) in zip(marks, marks[1:]):
    label = names.get(name, between if name.startswith("before ") or name == "exit" else name)
    stages[label] = stages.get(label, 0.0) + after - before
print(json.dumps(stages))
"""


def stages(repeat: int) -> dict[str, float]:
    """Median seconds of each stage of `planner solve`, over `repeat` fresh in-process runs."""
    found: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as folder:
        root = Path(folder)
        work = _work_folder(root)
        env = _environment("cached", root / "pycache")
        command = [sys.executable, "-c", STAGES_WORKER, str(root / "out")]
        for run in range(repeat + 1):
            done = subprocess.run(
                command, env=env, cwd=work, capture_output=True, text=True, check=True
            )
            if run == 0:
                continue  # filled the bytecode cache
            for name, seconds in json.loads(done.stdout.splitlines()[-1]).items():
                found.setdefault(name, []).append(seconds)
    return {name: statistics.median(times) for name, times in found.items()}


def report(results: dict[str, dict[str, dict[str, float]]], repeat: int) -> str:
    """The figures as a table, with the goal."""
    modes = list(results)
    names = list(next(iter(results.values())))
    lines = [
        f"planner solve, default instance: {repeat} fresh processes of each command "
        f"(Python {platform.python_version()}, {os.cpu_count()} CPUs, planner from the "
        f"{installed()})",
        "wall seconds: median and least; cpu: median of user + system",
        "",
        f"{'':22}" + "".join(f"{mode:>30}" for mode in modes),
        f"{'':22}" + "".join(f"{'median':>10}{'least':>10}{'cpu':>10}" for _ in modes),
    ]
    for name in names:
        row = "".join(
            f"{r['median']:10.3f}{r['least']:10.3f}{r['cpu']:10.3f}"
            for r in (results[mode][name] for mode in modes)
        )
        lines.append(f"{name:22}{row}")
    lines.append("")
    for mode in modes:
        median = results[mode]["planner solve"]["median"]
        verdict = "met" if median < GOAL else "NOT met"
        lines.append(
            f"goal: planner solve under {GOAL:.1f} s of wall time; {mode}: median "
            f"{median:.3f} s: {verdict}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="fresh processes of each command")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--stages", action="store_true", help="also time each stage")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    before = os.getloadavg()[0]
    results = measure(args.repeat, args.modes)
    parts = stages(args.repeat) if args.stages else {}
    after = os.getloadavg()[0]
    print(report(results, args.repeat))
    if parts:
        print(f"\nplanner solve in-process, bytecode cached: median of {args.repeat} runs, seconds")
        for name, seconds in parts.items():
            print(f"  {name:34}{seconds:8.3f}")
        print(f"  {'sum':34}{sum(parts.values()):8.3f}   (not counting Python's own start)")
    print(f"load average (1 min) before {before:.2f}, after {after:.2f}")
    if args.json:
        facts = {"repeat": args.repeat, "load_before": before, "load_after": after,
                 "installed": installed()}  # fmt: skip
        figures = {**facts, "results": results, "stages": parts}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
