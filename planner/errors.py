"""Errors a user can act on: every problem names its file, line, field and fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FieldPath = tuple[str | int, ...]


def dotted(path: FieldPath) -> str:
    """`("interventions", "education", "unit_cost")` -> `interventions.education.unit_cost`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, and how to fix it."""

    file: str
    path: FieldPath
    message: str
    fix: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {dotted(self.path)}: {self.message}\n    fix: {self.fix}"


class PlannerError(Exception):
    """Base class of the errors planner raises on purpose."""


class InputError(PlannerError):
    """The input files have problems; all of them are listed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, dotted(p.path)))
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in the input:"
        super().__init__("\n".join([header, *(str(p) for p in self.problems)]))


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
