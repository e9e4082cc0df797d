"""Start-up: imports planner defers (planner/deferred.py) stay deferred, and still work."""

from __future__ import annotations

import subprocess
import sys


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
