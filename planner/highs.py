"""HiGHS in-process, handed PuLP's model and read back in batches.

`FastHiGHS` is `pulp.HiGHS` with its two per-element Python loops replaced, and nothing else:
PuLP stays the modelling layer, the options, the columns, rows, bounds and coefficients handed to
HiGHS are the same, in the same order, and the values, reduced costs, slacks and duals written
back are the same numbers. `pulp.HiGHS` wraps every variable of every row in a Python
`LpVariable` while building the matrix, and sets each value and dual through a Python property;
here the rows are read from PuLP's (Rust) model directly and the solution is written back with
its batch setters. At 1e5-1e6 columns that handoff costs as much as HiGHS's own run
(bench/README.md); tests/test_bench.py checks the two classes agree to the last bit.
"""

from __future__ import annotations

from math import isfinite
from typing import Any

import numpy as np
import pulp
from pulp import constants


class FastHiGHS(pulp.HiGHS):
    """pulp.HiGHS whose model handoff and solution read-back run in batches (same results)."""

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
        starts: list[int] = []
        indices: list[int] = []
        coefficients: list[float] = []
        row_lower: list[float] = []
        row_upper: list[float] = []
        le, ge = pulp._rustcore.Sense.LessEqual, pulp._rustcore.Sense.GreaterEqual
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
        highs.addRows(
            len(rows),
            np.array(row_lower, dtype=np.float64),
            np.array(row_upper, dtype=np.float64),
            len(indices),
            np.array(starts, dtype=np.int32),
            np.array(indices, dtype=np.int32),
            np.array(coefficients, dtype=np.float64),
        )

    def findSolutionValues(self, lp: pulp.LpProblem) -> tuple[Any, bool]:
        import highspy

        highs: Any = lp.solverModel
        status = highs.getModelStatus()
        obj_value = highs.getObjectiveValue()
        solution = highs.getSolution()
        core = lp.toRustModel()
        ids = core.used_variable_ids()
        core.set_variable_values(list(zip(ids, solution.col_value, strict=True)))
        core.set_variable_djs(list(zip(ids, solution.col_dual, strict=True)))
        row_values, row_duals = solution.row_value, solution.row_dual
        le = pulp._rustcore.Sense.LessEqual
        slacks, pis = [], []
        for row in core.list_constraints():
            index = row.id()  # its row in HiGHS, as pulp.HiGHS reads it
            constant = -row.rhs
            slack = (0.0 if constant == 0.0 else constant) + row_values[index]
            slacks.append((index, -slack if row.sense == le else slack))
            pis.append((index, row_duals[index]))
        core.set_constraint_slacks(slacks)
        core.set_constraint_pis(pis)

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
