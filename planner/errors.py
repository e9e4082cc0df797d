"""Errors a user can act on: each problem names its file, line or cell, field and fix."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FieldPath = tuple[str | int, ...]


def dotted(path: FieldPath) -> str:
    """`("interventions", "education", "unit_cost")` -> `interventions.education.unit_cost`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*|\d+)((?:\[\d+\])*)")


def parse_path(text: str) -> FieldPath | None:
    """`interventions.a.tranches[0].health_gain` -> ("interventions", "a", "tranches", 0,
    "health_gain"), dotted's inverse: the form error messages, scenario overrides and the
    workbook's field references use; a part of digits only (a year) is a whole number. None
    when the text is not a field path."""
    path: list[str | int] = []
    for part in text.strip().split("."):
        match = PART.fullmatch(part)
        if match is None:
            return None
        name, positions = match.groups()
        path.append(int(name) if name.isdigit() else name)
        path += [int(p) for p in re.findall(r"\d+", positions)]
    return tuple(path)


def column_letter(col: int) -> str:
    """Excel's letters for a 1-based column number: 1 -> A, 27 -> AA."""
    letters = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True)
class Cell:
    """Where in a workbook something was written: a sheet, and within it a row and a column.

    `sheet_index` orders problems as the sheets are ordered; `column` is the column's name in
    the header row and `col` its 1-based number. Shown as "sheet interventions, row 5, column
    unit_cost (D5)", leaving out what is not known.
    """

    sheet_index: int
    sheet: str
    row: int | None = None
    col: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        parts = [f"sheet {self.sheet}"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.col is not None:
            name = f"column {self.column}" if self.column else f"column {column_letter(self.col)}"
            if self.row is not None:
                name += f" ({column_letter(self.col)}{self.row})"
            parts.append(name)
        return ", ".join(parts)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, and how to fix it: in a YAML file at a line, in a
    workbook at a cell."""

    file: str
    path: FieldPath
    message: str
    fix: str
    line: int | None = None
    cell: Cell | None = None

    def __str__(self) -> str:
        if self.cell is not None:  # a workbook: the field is left out where the cell says it all
            field = f": {dotted(self.path)}" if self.path else ""
            return f"{self.file}: {self.cell}{field}: {self.message}\n    fix: {self.fix}"
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {dotted(self.path)}: {self.message}\n    fix: {self.fix}"


class PlannerError(Exception):
    """Base class of the errors planner raises on purpose."""


class InputError(PlannerError):
    """The input files have problems; all of them are listed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=_order)
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in the input:"
        super().__init__("\n".join([header, *(str(p) for p in self.problems)]))


def _order(problem: Problem) -> tuple[str, int, tuple[int, int, int], str]:
    """By file, then line (YAML) or sheet, row and column (workbook), then field."""
    cell = problem.cell
    place = (cell.sheet_index, cell.row or 0, cell.col or 0) if cell is not None else (0, 0, 0)
    return (problem.file, problem.line or 0, place, dotted(problem.path))


class NoPlanError(PlannerError):
    """The solver did not prove an optimal plan; nothing is presented as a plan."""

    def __init__(self, status: str, message: str) -> None:
        self.status = status
        super().__init__(message)


def display_path(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
