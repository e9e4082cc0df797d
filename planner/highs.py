"""HiGHS in-process, handed PuLP's model and read back in batches.

`FastHiGHS` is `pulp.HiGHS` with its two per-element Python loops replaced, and nothing else:
PuLP stays the modelling layer, the options, the columns, rows, bounds and coefficients handed to
HiGHS are the same, in the same order, and the values, reduced costs, slacks and duals written
back are the same numbers. `pulp.HiGHS` wraps every variable of every row in a Python
`LpVariable` while building the matrix, and sets each value and dual through a Python property;
here the rows are read from PuLP's (Rust) model directly and the solution is written back with
its batch setters. At 1e5-1e6 columns that handoff costs as much as HiGHS's own run
(bench/README.md); tests/test_bench.py checks the two classes agree to the last bit. The matrix
goes over as C arrays and the solution comes back in chunks, so neither holds a Python number
per entry (at 1e6 columns that was a gigabyte on top of HiGHS's own arrays).
"""

from __future__ import annotations

import contextlib
import ctypes
from array import array
from math import isfinite
from typing import Any

import numpy as np
import pulp
from pulp import constants
from pulp.apis.core import clocks

CHUNK = 1 << 16  # rows whose slacks and duals are written back at a time
TRIM_ROWS = 100_000  # from this many rows the heap is trimmed before HiGHS runs (see below)


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's malloc_trim; elsewhere
    nothing). A build frees much small memory that the heap keeps (about 10% of the model's,
    hundreds of MB at 1e6 columns); HiGHS's arrays would otherwise come on top of it."""
    with contextlib.suppress(AttributeError, OSError, TypeError):  # not glibc, or Windows
        ctypes.CDLL(None).malloc_trim(0)


def _sides(rows: list[Any]) -> tuple[array[float], bytearray]:
    """Each row's constant (minus its right-hand side) and whether its sense is <=."""
    le = pulp._rustcore.Sense.LessEqual
    return array("d", (-row.rhs for row in rows)), bytearray(row.sense == le for row in rows)


_NO_SIDES: tuple[Any, array[float], bytearray] = (None, array("d"), bytearray())


def status_words(highs: Any) -> str | None:
    """HiGHS's model status in its own words (None if it cannot say)."""
    try:
        return str(highs.modelStatusToString(highs.getModelStatus()))
    except Exception:
        return None


def reported_gap(highs: Any) -> float | None:
    """The relative gap HiGHS reports for the MILP it ran last (None unless finite)."""
    try:
        gap = float(highs.getInfo().mip_gap)
    except Exception:
        return None
    return gap if isfinite(gap) else None


class FastHiGHS(pulp.HiGHS):
    """pulp.HiGHS whose model handoff and solution read-back run in batches (same results)."""

    _sides = _NO_SIDES  # (problem, constants, <= or not) of the rows last handed over
    release = False  # let HiGHS's model go once its answer is read (planner.solve sets it)
    words: str | None = None  # with release: the status in HiGHS's words, read before that
    gap: float | None = None  # with release: a MILP's relative gap as HiGHS reported it

    def actualSolve(self, lp: pulp.LpProblem, **kwargs: Any) -> pulp.LpSolveStats:
        """pulp.HiGHS.actualSolve. With `release`, HiGHS's model (its copy of the matrix, its
        factors) goes as soon as the solution, best bound, status words and gap are read, before
        the statistics and planner's Solution are made: at 1e6 columns it holds 1.5 GB."""
        if not self.release:
            stats: pulp.LpSolveStats = super().actualSolve(lp, **kwargs)
            return stats
        start = clocks()
        self.createAndConfigureSolver(lp)
        self.buildSolverModel(lp)
        self.callSolver(lp)  # type: ignore[no-untyped-call]
        status, has_solution = self.findSolutionValues(lp)
        bound = self.findBestBound(lp)
        self.words = status_words(lp.solverModel)
        self.gap = reported_gap(lp.solverModel) if self.mip else None
        lp.solverModel = None
        return self.buildStats(lp, status, has_solution, start=start, best_bound=bound)

    def buildSolverModel(self, lp: pulp.LpProblem) -> None:
        if self.optionsDict.get("warmStart", False):  # planner never asks for one
            super().buildSolverModel(lp)
            return
        import highspy  # after pulp, which loads highspy's extension first

        inf = highspy.kHighsInf
        highs: Any = lp.solverModel
        core = lp.toRustModel()
        ids = core.used_variable_ids()
        columns = core.list_variables_by_ids(ids)
        col = {identity: j for j, identity in enumerate(ids)}
        n = len(columns)
        cost = np.zeros(n)
        objective = core.get_objective()
        if objective is not None:
            for var, coefficient in objective.items():
                j = col.get(var.id())
                if j is not None:
                    cost[j] = coefficient
        lower = np.fromiter((v.lb for v in columns), dtype=np.float64, count=n)
        upper = np.fromiter((v.ub for v in columns), dtype=np.float64, count=n)
        empty = np.zeros(0, dtype=np.int32)
        highs.addCols(n, cost, lower, upper, 0, empty, empty, np.zeros(0))
        if self.mip:
            integer_category = pulp._rustcore.Category.Integer
            integer = np.fromiter(
                (j for j, v in enumerate(columns) if v.category == integer_category),
                dtype=np.int32,
            )
            if len(integer):
                highs.changeColsIntegrality(
                    len(integer),
                    integer,
                    np.full(len(integer), highspy.HighsVarType.kInteger),
                )
        if lp.sense == constants.LpMaximize:
            highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
        highs.changeObjectiveOffset(objective.constant if objective is not None else 0.0)

        rows = core.list_constraints()
        # C arrays, not lists: a list holds a Python int or float per entry (32 bytes, not 4-8)
        starts, indices, coefficients = array("i"), array("i"), array("d")
        row_lower, row_upper = array("d"), array("d")
        le, ge = pulp._rustcore.Sense.LessEqual, pulp._rustcore.Sense.GreaterEqual
        constants_, is_le = array("d"), bytearray()  # for the read-back
        for row in rows:
            starts.append(len(indices))
            for var, coefficient in row.items():
                if coefficient != 0:
                    indices.append(col[var.id()])
                    coefficients.append(coefficient)
            constant = -row.rhs
            bound = -(0.0 if constant == 0.0 else constant)  # as LpConstraint.getLb/getUb
            sense = row.sense
            row_lower.append(-inf if sense == le else bound)
            row_upper.append(inf if sense == ge else bound)
            constants_.append(constant)
            is_le.append(sense == le)
        self._sides = (lp, constants_, is_le)
        count = len(rows)
        del rows
        highs.addRows(
            count,
            np.frombuffer(row_lower, dtype=np.float64),
            np.frombuffer(row_upper, dtype=np.float64),
            len(indices),
            np.frombuffer(starts, dtype=np.int32),
            np.frombuffer(indices, dtype=np.int32),
            np.frombuffer(coefficients, dtype=np.float64),
        )
        del starts, indices, coefficients, row_lower, row_upper
        if count >= TRIM_ROWS:
            release_free_memory()

    def buildStats(
        self,
        lp: pulp.LpProblem,
        status: int,
        has_solution: bool,
        *,
        start: tuple[float, float],
        best_bound: float | None = None,
    ) -> pulp.LpSolveStats:
        """pulp's statistics of the solve, with the rows and columns counted by PuLP's model
        itself: pulp counts them as len(lp.constraints()), a Python object per row (the same
        counts; at 1e6 columns half a gigabyte and seconds, 2 ms a solve at 1e3)."""
        core = lp.toRustModel()
        columns, rows = core.num_variables, core.num_constraints
        lp.numVariables = lambda: columns  # type: ignore[method-assign]
        lp.numConstraints = lambda: rows  # type: ignore[method-assign]
        try:
            return super().buildStats(lp, status, has_solution, start=start, best_bound=best_bound)
        finally:
            del lp.numVariables, lp.numConstraints

    def findSolutionValues(self, lp: pulp.LpProblem) -> tuple[Any, bool]:
        import highspy

        highs: Any = lp.solverModel
        status = highs.getModelStatus()
        obj_value = highs.getObjectiveValue()
        solution = highs.getSolution()  # its vectors as arrays: a list costs 32 bytes a number
        col_value, col_dual = np.array(solution.col_value), np.array(solution.col_dual)
        row_value, row_dual = np.array(solution.row_value), np.array(solution.row_dual)
        del solution
        core = lp.toRustModel()
        ids = core.used_variable_ids() if len(col_value) else []  # none: HiGHS gave no values
        if len(ids) != len(col_value):
            raise ValueError(f"HiGHS returned {len(col_value)} columns for {len(ids)} variables")
        for first in range(0, len(ids), CHUNK):  # in chunks: a pair is about 100 bytes
            part, end = ids[first : first + CHUNK], first + CHUNK
            core.set_variable_values(list(zip(part, col_value[first:end].tolist(), strict=True)))
            core.set_variable_djs(list(zip(part, col_dual[first:end].tolist(), strict=True)))
        del col_value, col_dual
        # each row's constant and sense, as handed over (read again if the handoff was PuLP's);
        # row i of PuLP's model is row i of HiGHS's. As pulp.HiGHS, row by row: constant (-0.0
        # made 0.0) + value, negated for a <= row; here on whole arrays, the same numbers
        handed, constants_, le = self._sides
        if handed is not lp:
            constants_, le = _sides(core.list_constraints())
        self._sides = _NO_SIDES
        if not len(row_value):  # HiGHS gave no row values (as for a number past what it takes)
            constants_, le, row_dual = array("d"), bytearray(), row_value
        constant = np.frombuffer(constants_, dtype=np.float64)
        slack = np.where(constant == 0.0, 0.0, constant) + row_value
        slack = np.where(np.frombuffer(le, dtype=np.bool_), -slack, slack)
        del constant
        for first in range(0, len(row_value), CHUNK):
            end = first + CHUNK
            index = range(first, min(end, len(row_value)))
            core.set_constraint_slacks(list(zip(index, slack[first:end].tolist(), strict=True)))
            core.set_constraint_pis(list(zip(index, row_dual[first:end].tolist(), strict=True)))

        S = constants.LpSolveStatus
        M = highspy.HighsModelStatus
        status_dict = {
            M.kNotset: S.NotSolved,
            M.kLoadError: S.Undefined,
            M.kModelError: S.Undefined,
            M.kPresolveError: S.Undefined,
            M.kSolveError: S.Undefined,
            M.kPostsolveError: S.Undefined,
            M.kModelEmpty: S.NotSolved,
            M.kOptimal: S.Optimal,
            M.kInfeasible: S.Infeasible,
            M.kUnboundedOrInfeasible: S.Undefined,
            M.kUnbounded: S.Unbounded,
            M.kObjectiveBound: S.GapLimit,
            M.kObjectiveTarget: S.GapLimit,
            M.kInterrupt: S.Interrupted,
            M.kTimeLimit: S.TimeLimit,
            M.kIterationLimit: S.IterationLimit,
            M.kSolutionLimit: S.SolutionLimit,
            M.kMemoryLimit: S.MemoryLimit,
            M.kUnknown: S.Undefined,
        }
        stopped_early = (
            M.kObjectiveBound,
            M.kObjectiveTarget,
            M.kInterrupt,
            M.kTimeLimit,
            M.kIterationLimit,
            M.kSolutionLimit,
            M.kMemoryLimit,
        )
        has_solution = status == M.kOptimal or (status in stopped_early and isfinite(obj_value))
        return status_dict.get(status, S.Undefined), has_solution
