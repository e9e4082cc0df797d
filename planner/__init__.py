"""planner: allocate a shrinking joint pathway budget with explained linear programmes.

The pipeline, one module per stage: load -> validate -> build -> solve -> result -> report.

    import planner
    plan = planner.solve_instance("instances/diabetes_lewisham.yaml")
    plan.allocation, plan.outcomes, plan.partners, plan.shadow_prices, plan.summary
"""

from __future__ import annotations

from pathlib import Path

import planner.deferred  # first: defers imports PuLP makes but planner rarely uses

# isort: split
with planner.deferred.loading():  # garbage collected once, after the pipeline's modules load
    from planner.build import Model, build
    from planner.errors import InputError, NoPlanError, PlannerError, Problem
    from planner.load import Document, load
    from planner.result import Plan, make_plan
    from planner.schema import Instance
    from planner.solve import Solution, SolverName, Status, solve
    from planner.validate import validate

__version__ = "0.1.0"

DEFAULT_INSTANCE = Path(__file__).resolve().parent.parent / "instances" / "diabetes_lewisham.yaml"


def check_instance(path: str | Path, scenario: str | None = None) -> Instance:
    """Load and validate an instance (and scenario); InputError lists every problem."""
    return validate(load(path, scenario))


def solve_instance(
    path: str | Path,
    scenario: str | None = None,
    solver: SolverName = "highs",
    time_limit: float | None = None,
) -> Plan:
    """Load, validate, build and solve an instance; the optimal plan, or NoPlanError."""
    instance = check_instance(path, scenario)
    model = build(instance)
    return make_plan(model, solve(model, solver, time_limit), scenario)


__all__ = [
    "DEFAULT_INSTANCE",
    "Document",
    "InputError",
    "Instance",
    "Model",
    "NoPlanError",
    "Plan",
    "PlannerError",
    "Problem",
    "Solution",
    "SolverName",
    "Status",
    "build",
    "check_instance",
    "load",
    "make_plan",
    "solve",
    "solve_instance",
    "validate",
]
