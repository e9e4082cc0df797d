"""Shared by the bad-input suites (tests/test_fuzz_files.py, tests/test_fuzz_workbooks.py).

The hypothesis profiles: `ci` (the default) draws the same cases on every run (derandomize),
keeps no example database and sets no deadline; `thorough` (HYPOTHESIS_PROFILE=thorough) draws
ten times as many, at random. Each test states its own number of cases with `cases(n)`.

`check_everything` runs what `planner check` runs (load and validate the base and every
scenario) and `clean_problems` asserts that each problem of an InputError names a file that was
given and the place in it: for YAML a line the file has, for a workbook a sheet it has, with the
row and column of a cell inside the sheet.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from hypothesis import settings
from typer.testing import Result

import planner
from planner.errors import Problem, display_path, dotted

settings.register_profile("ci", derandomize=True, deadline=None, database=None, print_blob=True)
settings.register_profile("thorough", derandomize=False, deadline=None, database=None)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)
SCALE = 10 if PROFILE == "thorough" else 1

# Whole-file problems: these alone may name no field (and no line or cell).
WHOLE_FILE = (
    "is empty",
    "cannot be read",
    "is not UTF-8 text",
    "is UTF-16 text",
    "holds a NUL byte",
    "holds the character",
    "is not valid YAML",
    "is not a mapping of fields",
    "is larger than",
    "is not a readable Excel workbook",
    "is a ",
)


def cases(n: int) -> settings:
    """Settings for a test of `n` generated cases (ten times as many with `thorough`)."""
    return settings(max_examples=n * SCALE)


@dataclass(frozen=True)
class Found:
    """A problem found by `check_everything`, with the scenario it was found in (None: base)."""

    scenario: str | None
    problem: Problem


def check_everything(path: Path) -> list[Found]:
    """What `planner check` does: the base instance and each scenario loaded and validated;
    every problem found. Any exception other than InputError escapes (the test fails)."""
    try:
        base = planner.load(path)
    except planner.InputError as exc:
        return [Found(None, p) for p in exc.problems]
    found: list[Found] = []
    names = [None, *sorted(base.data.get("scenarios") or {})]
    for name in names:
        try:
            planner.validate(base if name is None else planner.load(path, name))
        except planner.InputError as exc:
            found += [Found(name, p) for p in exc.problems]
    return found


def clean_problems(problems: Iterable[Problem], files: Iterable[Path]) -> None:
    """Every problem names one of `files` (as shown to the user) and its place: a field path
    with a YAML line the file has, or a workbook sheet (and a cell inside it); only whole-file
    problems may name no field. Its text reads "file:line: field: message" or "file: sheet
    ..., row ..., column ... (C4): field: message", and it says how to fix it."""
    shown = {display_path(f): f for f in files}
    for problem in problems:
        text = str(problem)
        assert problem.file in shown, f"names a file that was not given: {text}"
        assert problem.fix.strip() and problem.message.strip(), text
        assert "Traceback" not in text and "<unicode string>" not in text, text
        path = shown[problem.file]
        if problem.cell is not None:
            _clean_cell(problem, path)
        elif problem.line is not None:
            lines = path.read_bytes().count(b"\n") + 1
            assert 1 <= problem.line <= lines, f"line {problem.line} of {lines}: {text}"
            assert text.startswith(f"{problem.file}:{problem.line}: {dotted(problem.path)}: ")
        else:
            assert problem.path == () and problem.message.startswith(WHOLE_FILE), (
                f"a problem without a line or cell: {text}"
            )


def lists_every_problem(result: Result, found: list[Found]) -> None:
    """`planner check`'s output: no traceback, exit 2 listing every problem found (0 if none)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert result.exit_code == (2 if found else 0), result.output
    for f in found:
        assert str(f.problem) in result.output


def _clean_cell(problem: Problem, path: Path) -> None:
    cell = problem.cell
    assert cell is not None
    text = str(problem)
    assert text.startswith(f"{problem.file}: sheet {cell.sheet}"), text
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        if cell.sheet not in book.sheetnames:  # a sheet that is missing: named, not in the file
            assert cell.row is None, text
            return
        if cell.row is not None:
            assert cell.row >= 1, text
        if cell.col is not None:
            assert cell.row is not None and cell.col >= 1, text
            assert f"({cell_ref(cell.col, cell.row)})" in text, text
    finally:
        book.close()


def cell_ref(col: int, row: int) -> str:
    """`cell_ref(3, 4)` -> "C4"."""
    from planner.errors import column_letter

    return f"{column_letter(col)}{row}"
