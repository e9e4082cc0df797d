"""Start-up: imports planner defers (planner/deferred.py) stay deferred, and still work;
`planner solve` never loads pandas; planner's modules load with garbage collection paused, and
it is on again afterwards."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from planner.deferred import loading


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip()


def test_importing_planner_and_its_cli_does_not_import_the_log_parser() -> None:
    found = _run(
        "import sys, planner.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('orloge', 'cpsat_logutils')"
        " and type(sys.modules[m]).__name__ != '_StandIn'))"
    )
    assert found == "[]"


def test_the_deferred_parser_is_the_real_one_at_first_use() -> None:
    found = _run(
        "import sys, planner; from pulp.core import lp_stats; "
        "f = lp_stats.orloge.get_info_solver; import orloge; "
        "print(f is orloge.get_info_solver, sys.modules['orloge'] is orloge, "
        "f.__module__.split('.')[0], 'cpsat_logutils' in sys.modules)"
    )
    assert found == "True True orloge True"


def test_the_cli_loads_no_workbook_library_until_it_writes_one() -> None:
    found = _run(
        "import sys, planner.cli, planner.report; "
        "print(sorted(m for m in ('xlsxwriter', 'openpyxl', 'planner.excel') if m in sys.modules))"
    )
    assert found == "[]"


def test_planner_solve_makes_prints_and_writes_a_plan_without_pandas(tmp_path: Path) -> None:
    # pandas takes a third of a second to import: a plan's tables are Tables until a DataFrame
    # is asked for, and the uncertainty section is checked without loading the analysis
    found = _run(
        "import sys; from planner.cli import main; "
        f"sys.argv = ['planner', 'solve', '--out', {str(tmp_path / 'out')!r}]\n"
        "try: main()\n"
        "except SystemExit as exit: print(exit.code, file=sys.stderr)\n"
        "print(sorted(m for m in ('pandas', 'planner.uncertainty', 'planner.sweep') "
        "if m in sys.modules))"
    )
    assert found.splitlines()[-1] == "[]"
    assert (tmp_path / "out" / "allocation.csv").read_text().startswith("intervention,name,year,")


def test_loading_pauses_collection_and_restores_it() -> None:
    assert gc.isenabled()
    with loading():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with loading():
            assert not gc.isenabled()
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()


def test_importing_planner_leaves_collection_on_and_collects_cycles() -> None:
    found = _run(
        "import gc, weakref, planner\n"
        "class Node: pass\n"
        "a, b = Node(), Node(); a.other, b.other = b, a; alive = weakref.ref(a); del a, b\n"
        "print(gc.isenabled(), gc.collect() > 0, alive() is None)"
    )
    assert found == "True True True"
