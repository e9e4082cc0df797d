"""Uncertainty: distributions on a plan's numbers, seeded draws, and what they do to the plan.

An instance's `uncertainty` section gives some of its numbers (an effect, a health gain, a unit
cost, a baseline) a distribution; the number written at the field is the point value, which the
deterministic plan uses. `sample` draws instances from those distributions; `analyse` (a) holds
the deterministic plan fixed and reads each draw's outcomes, health gain, spend and partners'
income, and (b) solves each draw again to show how the best mix moves. The parameters and their
problems are read by planner/distributions.py. docs/uncertainty.md gives the rules: kinds and
their numbers, truncation to a field's domain, relative multipliers, seeds.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, TypeAdapter, ValidationError

from planner import sweep
from planner.build import Model, build
from planner.distributions import Parameter, resolve
from planner.errors import FieldPath, InputError, PlannerError, Problem, dotted
from planner.load import Document
from planner.result import (
    TOLERANCE,
    Plan,
    clean,
    difference,
    floor_slack,
    health_in_year,
    make_plan,
    named_tables,
    net_change,
)
from planner.schema import Instance, Strict
from planner.solve import Solution, SolverName, Status, solve
from planner.sweep import Linear, Warm
from planner.table import missing

if TYPE_CHECKING:
    from rich.console import Console


def _set(data: Any, path: FieldPath, value: float) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


# --- draws -----------------------------------------------------------------------------------


def stream(seed: int, draw: int, pid: str) -> np.random.Generator:
    """The random stream of one parameter in one draw: PCG64 seeded from (seed, draw, a CRC-32
    of the parameter's id), so a draw's numbers do not depend on how many draws are made, on
    which worker makes them, or on the other parameters."""
    key = np.random.SeedSequence(entropy=seed, spawn_key=(draw, zlib.crc32(pid.encode())))
    return np.random.Generator(np.random.PCG64(key))


def draw_values(parameters: Sequence[Parameter], seed: int, draw: int) -> dict[str, float]:
    """X of each parameter in one draw, by parameter id."""
    return {p.pid: p.draw(stream(seed, draw, p.pid)) for p in parameters}


def sample(
    instance: Instance,
    draws: int,
    seed: int | None = None,
    *,
    document: Document | None = None,
) -> list[Instance]:
    """`draws` instances with every uncertain number drawn from its distribution (seed: the
    section's unless given); each is rebuilt through the schema, its uncertainty section
    removed. A zero-width distribution gives exactly the point value; without an uncertainty
    section every draw is the instance. InputError if a draw breaks a rule of the instance
    (tranches whose gain rises, min above max...): the first such draw is named."""
    if draws < 0:
        raise ValueError(f"draws must be 0 or more (got {draws})")
    document = document or Document(data={}, instance_file=Path(instance.name))
    parameters, found = resolve(instance, document)
    if found:
        raise InputError(found)
    if instance.uncertainty is None:
        return [instance] * draws
    seed = instance.uncertainty.seed if seed is None else seed
    base = _certain(instance)
    return [draw_instance(base, parameters, seed, k, document) for k in range(draws)]


@dataclass(frozen=True)
class Certain:
    """What every draw starts from: the instance with its uncertainty section removed, as data
    and as the Instance validated from that data (once)."""

    data: dict[str, Any]
    instance: Instance


def _certain(instance: Instance) -> Certain:
    """The instance, its uncertainty section removed, as data and validated from that data."""
    data = instance.model_dump()
    data["uncertainty"] = None
    return Certain(data, Instance.model_validate(_copy(data)))


def draw_instance(
    base: Certain,
    parameters: Sequence[Parameter],
    seed: int,
    k: int,
    document: Document,
) -> Instance:
    """Draw `k` of the instance `base` (uncertainty removed): every uncertain number from its
    own stream, then checked by the schema and the instance's rules."""
    x = [parameter.draw(stream(seed, k, parameter.pid)) for parameter in parameters]
    return instance_at(base, parameters, x, document, seed, k)


def instance_at(
    base: Certain,
    parameters: Sequence[Parameter],
    x: Sequence[float],
    document: Document,
    seed: int,
    k: int,
) -> Instance:
    """The instance `base` with each parameter at its value in `x`, checked by the schema and
    the instance's rules (errors name it as draw `k` of `seed`).

    Only what the draw changes goes through the schema again: each drawn number in the model
    that holds it, then every model on the way up to the instance, from its fields (a model
    left unchanged is passed on as it is, as pydantic passes on a model given where one is
    due). The instance is equal to the one validated from the whole of the data (`_rebuild`;
    tests/test_draw_validation.py), and every rule then runs on it. A draw the schema or a
    rule refuses is rebuilt from the whole data, so that its error is exactly `_rebuild`'s."""
    changes = _changes(parameters, x)
    try:
        drawn: Instance | None = _revalidated(base.instance, _tree(changes))
    except ValidationError:
        drawn = None
    if drawn is not None and not _rule_problems(drawn, document):
        return drawn
    return _rebuild(_changed_data(base.data, changes), document, seed, k)


Changes = dict[str | int, Any]  # a tree of field paths: part -> its subtree, or the new number


def _changes(parameters: Sequence[Parameter], x: Sequence[float]) -> list[tuple[FieldPath, float]]:
    """The numbers a draw sets: each field path with its number, parameter by parameter."""
    return [(path, n) for p, v in zip(parameters, x, strict=True) for path, n in p.values(v)]


def _tree(changes: Sequence[tuple[FieldPath, float]]) -> Changes:
    """The changes as a tree of their paths, each leaf the new number."""
    tree: Changes = {}
    for path, number in changes:
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = number
    return tree


def _revalidated(node: Any, changes: Changes) -> Any:
    """`node` (a model, mapping or list) with the changes made. A model's changed fields are
    validated as the model validates them, each alone where the model has no validators of its
    own (its other fields are as they were validated), else the whole model from its fields;
    models left unchanged pass as they are. A mapping or list is copied with its changed
    entries (the model holding it validates them). ValidationError as the schema's."""
    if isinstance(node, BaseModel):
        kind = type(node)
        changed = {
            str(part): _revalidated(getattr(node, str(part)), change)
            if isinstance(change, dict)
            else change
            for part, change in changes.items()
        }
        if _plain(kind):
            checked = {name: _field(kind, name).validate_python(v) for name, v in changed.items()}
            return node.model_copy(update=checked)
        given = {name: getattr(node, name) for name in kind.model_fields}
        return kind.model_validate(given | changed)
    copied: Any = dict(node) if isinstance(node, dict) else list(node)
    for part, change in changes.items():
        copied[part] = _revalidated(node[part], change) if isinstance(change, dict) else change
    return copied


@cache
def _plain(kind: type[BaseModel]) -> bool:
    """Whether a model validates each field on its own: no validators of its own (model or
    field validators, which may read other fields) and no post-init step but the schema's
    (Strict's, which reads no field)."""
    found = kind.__pydantic_decorators__
    own = (found.validators, found.field_validators, found.root_validators, found.model_validators)
    return not any(own) and kind.model_post_init in (
        BaseModel.model_post_init,
        Strict.model_post_init,
    )


@cache
def _field(kind: type[BaseModel], name: str) -> TypeAdapter[Any]:
    """A validator of one field of a model, as the model validates it (its type, every
    constraint of its FieldInfo, and the model's configuration)."""
    info = kind.model_fields[name]
    annotation: Any = Annotated[info.annotation, info]
    return TypeAdapter(annotation, config=kind.model_config)


def _changed_data(data: dict[str, Any], changes: Sequence[tuple[FieldPath, float]]) -> Any:
    """A copy of `data` with the changes made."""
    copied = _copy(data)
    for path, number in changes:
        _set(copied, path, number)
    return copied


def _copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_copy(v) for v in data]
    return data


def _rule_problems(instance: Instance, document: Document) -> list[Problem]:
    """What the instance's rules find in a draw: every check but the uncertainty section's
    (removed) and the floors' reachability (a floor out of reach in a draw is an outcome, not
    an input error)."""
    from planner.validate import CHECKS, check_floor_reachable, check_uncertainty

    skip = (check_floor_reachable, check_uncertainty)
    return [p for check in CHECKS if check not in skip for p in check(instance, document)]


def _rebuild(data: dict[str, Any], document: Document, seed: int, k: int) -> Instance:
    """A drawn instance from the whole of its data, through the schema and the instance's rules
    (`_rule_problems`); InputError naming the draw and the seed."""
    fix = (
        "; or make the numbers move together (one parameter with fields and relative: true), "
        "or narrow their distributions"
    )
    try:
        instance = Instance.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = tuple(p for p in error["loc"] if isinstance(p, str | int))
        message = f"draw {k} (seed {seed}) breaks the schema: {error['msg']}"
        raise InputError(
            [document.problem(path, message, "narrow the distribution" + fix)]
        ) from None
    found = _rule_problems(instance, document)
    if found:
        raise InputError(
            [
                document.problem(
                    p.path, f"draw {k} (seed {seed}) breaks a rule: {p.message}", p.fix + fix
                )
                for p in found
            ]
        )
    return instance


# --- the plan under uncertainty, and the best plan of each draw -----------------------------

Progress = Callable[[str, int, int], None]  # (stage, draws done, draws in all)
STATS = ("mean", "sd", "p5", "p50", "p95", "min", "max")
PARAMETER_COLUMNS = [
    "parameter", "fields", "point_values", "distribution", "relative", "low", "high", "mode",
    "mean", "se", "sigma", "drawn_mean", "drawn_sd", "drawn_min", "drawn_max", "source",
]  # fmt: skip
DISTRIBUTION_COLUMNS = [
    "analysis", "measure", "unit", "draws", "deterministic", *STATS,
]  # fmt: skip
FLOOR_COLUMNS = [
    "floor", "outcome", "year", "bound_type", "bound", "unit", "plan_level", "plan_slack",
    "p_met", "level_mean", "level_sd", "level_p5", "level_p50", "level_p95",
]  # fmt: skip
PARTNER_COLUMNS = [
    "partner", "name", "year", "baseline_income", "max_loss", "plan_net_change", "p_loss",
    "p_beyond_limit", "p_beyond_gain_cap", "net_change_mean", "net_change_sd", "net_change_p5",
    "net_change_p50", "net_change_p95", "income_change_mean",
]  # fmt: skip
ENVELOPE_COLUMNS = [
    "year", "envelope", "plan_spend", "p_within", "spend_mean", "spend_sd", "spend_p5",
    "spend_p50", "spend_p95", "rule",
]  # fmt: skip
RULE_COLUMNS = [
    "family", "constraint", "subject", "year", "rule", "unit", "p_held", "mean_shortfall",
    "worst_shortfall",
]  # fmt: skip
MIX_COLUMNS = [
    "intervention", "name", "year", "unit", "baseline_units", "plan_units", "p_funded", "p_grown",
    "p_cut", "units_mean", "units_sd", "units_p5", "units_p50", "units_p95", "plan_spend",
    "spend_mean", "spend_p5", "spend_p95",
]  # fmt: skip
CHOICE_COLUMNS = [
    "intervention", "option", "name", "provider", "mode", "year", "plan_chosen", "p_chosen",
    "units_mean",
]  # fmt: skip
DRAW_COLUMNS = ["analysis", "draw", "measure", "subject", "year", "value"]
OPTIMUM_STATUSES = ("optimal", "infeasible", "unbounded", "time_limit", "error")


@dataclass(frozen=True)
class UncertaintyResult:
    """What the draws did: (a) to the deterministic plan held fixed, (b) to the best plan.

    Tables (docs/uncertainty.md lists their columns): `parameters` (each distribution and its
    drawn moments), `distributions` (health gain, objective and spend: deterministic, mean, sd,
    percentiles), `floors`, `partners`, `envelope` and `rules` (the fixed plan in every draw),
    `mix` and `choices` (the re-optimised plans; empty without re-optimisation) and `draws`
    (one row per draw and measure, for charts).
    """

    summary: dict[str, Any]
    parameters: pd.DataFrame
    distributions: pd.DataFrame
    floors: pd.DataFrame
    partners: pd.DataFrame
    envelope: pd.DataFrame
    rules: pd.DataFrame
    mix: pd.DataFrame
    choices: pd.DataFrame
    draws: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, the summary as a two-column table first."""
        return named_tables(self)


@dataclass(frozen=True)
class Evaluation:
    """The deterministic plan's units and choices read in one drawn instance."""

    objective: float
    health: float  # discounted
    health_undiscounted: float
    spend: dict[int, float]
    envelope_met: dict[int, bool]
    overspend: dict[int, float]  # spend beyond the envelope (cumulative where savings carry)
    levels: dict[tuple[str, int], tuple[float, float, bool]]  # floor, year -> level, slack, met
    partners: dict[tuple[str, int], tuple[float, float, bool, bool]]  # income and net change,
    # loss beyond the limit, gain beyond the cap
    rules: dict[tuple[str, tuple[str | int, ...]], float]  # shortfall of each named rule

    def all_met(self, families: Sequence[str]) -> bool:
        """Whether every row of these families holds."""
        return all(s <= 0 for (family, _), s in self.rules.items() if family in families)


@dataclass(frozen=True)
class Optimum:
    """The best plan of one drawn instance (None fields where it has none)."""

    status: str
    objective: float | None = None
    health: float | None = None
    spend: float | None = None
    units: dict[tuple[str, int], float] | None = None
    spend_by: dict[tuple[str, int], float] | None = None
    chosen: dict[tuple[str, str, int], bool] | None = None
    option_units: dict[tuple[str, str, int], float] | None = None


def _value(expression: Any) -> float:
    if isinstance(expression, int | float):
        return clean(float(expression))
    return clean(float(expression.value() or 0.0))


def _within(shortfall: float, bound: float) -> bool:
    """A rule holds when it is short by no more than planner's tolerance of its bound."""
    return shortfall <= TOLERANCE * max(1.0, abs(bound))


def evaluate(values: dict[str, float], drawn: Instance) -> Evaluation:
    """The plan whose variables have `values` (by name) read in `drawn`: outcome levels against
    floors, discounted health gain, spend against the envelope (cumulative where savings are
    carried forward: a plan may carry less), each partner's income against its limits, and the
    shortfall of every named rule. The drawn model must have the plan's variables."""
    return _evaluate_model(values, build(drawn))


def _evaluate_model(values: dict[str, float], model: Model) -> Evaluation:
    """evaluate() on the drawn instance's built model (its variables take the plan's values)."""
    drawn = model.instance
    variables = {v.name: v for v in model.problem.variables()}
    if set(variables) != set(values):
        changed = sorted(set(variables) ^ set(values))[:3]
        raise PlannerError(
            "a draw changes the model's variables (" + ", ".join(changed) + "), so the plan "
            "cannot be read in it; an uncertain number must not decide the model's structure"
        )
    for name, variable in variables.items():
        variable.varValue = values[name]
    instance, years = drawn, model.years
    health_by_year = {y: health_in_year(model, y) for y in years}
    spend = {y: _value(model.spend[y]) for y in years}
    envelope_met: dict[int, bool] = {}
    overspend: dict[int, float] = {}
    if model.envelope is not None:
        spent = allowed = 0.0
        for y in years:
            spent = spent + spend[y] if model.carry else spend[y]
            allowed = allowed + model.envelope[y] if model.carry else model.envelope[y]
            overspend[y] = max(0.0, difference(spent, allowed))
            envelope_met[y] = _within(overspend[y], allowed)
    levels: dict[tuple[str, int], tuple[float, float, bool]] = {}
    for fid, floor in instance.floors.items():
        bound = instance.floor_bound(fid)
        for year in [floor.year] if floor.year is not None else years:
            level = _value(model.level[(floor.outcome, year)])
            slack = floor_slack(floor.bound == "upper", bound, level)
            levels[(fid, year)] = (level, slack, _within(max(0.0, -slack), bound))
    partners: dict[tuple[str, int], tuple[float, float, bool, bool]] = {}
    for pid, partner in instance.partners.items():
        base = model.baseline_income[pid]
        base_external = model.baseline_external_cost[pid]
        loss, gain = partner.limits(base)
        for year in years:
            income = _value(model.income[(pid, year)])
            external = _value(model.external_cost[(pid, year)])
            net = net_change(income, external, base, base_external)
            beyond_loss = loss is not None and not _within(max(0.0, -net - loss), loss)
            beyond_gain = gain is not None and not _within(max(0.0, net - gain), gain)
            partners[(pid, year)] = (difference(income, base), net, beyond_loss, beyond_gain)
    rules: dict[tuple[str, tuple[str | int, ...]], float] = {}
    for key, (rule, row) in model.registry.items():
        if rule.family == "envelope" and rule.year is not None:
            short = overspend[rule.year]
            rules[key] = 0.0 if envelope_met[rule.year] else short
            continue
        gap = float(row.value() or 0.0)  # left-hand side minus right-hand side
        short = (
            max(0.0, gap)
            if rule.sense == "<="
            else (max(0.0, -gap) if rule.sense == ">=" else abs(gap))
        )
        rules[key] = 0.0 if _within(short, rule.rhs) else clean(short)
    return Evaluation(
        objective=_value(model.problem.objective),
        health=clean(sum(instance.discount(y) * health_by_year[y] for y in years)),
        health_undiscounted=clean(sum(health_by_year.values())),
        spend=spend,
        envelope_met=envelope_met,
        overspend=overspend,
        levels=levels,
        partners=partners,
        rules=rules,
    )


def reoptimise(
    drawn: Instance, solver: SolverName = "highs", time_limit: float | None = None
) -> Optimum:
    """The best plan of a drawn instance, solved as `planner solve` would; its status if none."""
    model = build(drawn)
    return _best(model, solve(model, solver, time_limit))


def _best(model: Model, solution: Solution) -> Optimum:
    """The best plan of a drawn instance's model from its solution; its status if none."""
    if solution.status is not Status.OPTIMAL:
        return Optimum(status=solution.status.value)
    plan = make_plan(model, solution)
    return _optimum(plan)


def _optimum(plan: Plan) -> Optimum:
    """A draw's best plan: its summary figures, and its units, spend and choices by
    (intervention, year) and (intervention, option, year), read from the tables' columns."""
    allocation, supply = plan.allocation, plan.supply
    made = [
        (str(i), int(y))
        for i, y in zip(
            allocation["intervention"].tolist(), allocation["year"].tolist(), strict=True
        )
    ]
    offered = [
        (str(i), str(o), int(y))
        for i, o, y in zip(
            supply["intervention"].tolist(),
            supply["option"].tolist(),
            supply["year"].tolist(),
            strict=True,
        )
    ]
    return Optimum(
        status="optimal",
        objective=float(plan.summary["objective"]),
        health=float(plan.summary["health_gain_discounted"]),
        spend=float(plan.summary["total_spend"]),
        units=dict(zip(made, map(float, allocation["units"].tolist()), strict=True)),
        spend_by=dict(zip(made, map(float, allocation["spend"].tolist()), strict=True)),
        chosen=dict(zip(offered, map(bool, supply["chosen"].tolist()), strict=True)),
        option_units=dict(zip(offered, map(float, supply["units"].tolist()), strict=True)),
    )


def analyse(
    instance: Instance,
    draws: int = 200,
    seed: int | None = None,
    solver: SolverName = "highs",
    reoptimise_draws: bool = True,
    time_limit: float | None = None,
    scenario: str | None = None,
    document: Document | None = None,
    progress: Progress | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> UncertaintyResult:
    """The deterministic plan under `draws` seeded draws of the instance's uncertain numbers,
    and (unless reoptimise_draws is False) the best plan of each draw. NoPlanError if the
    deterministic instance has no plan; InputError for a bad uncertainty section or draw.

    The draws are a sweep (planner/sweep.py): each is drawn, built once, evaluated and
    re-optimised warm from the deterministic plan, serially, over `workers` local processes or
    on the Dask cluster at `scheduler`, with the same results whichever way."""
    if draws < 1:
        raise ValueError(f"draws must be at least 1 (got {draws})")
    document = document or Document(data={}, instance_file=Path(instance.name))
    parameters, found = resolve(instance, document)
    if found:
        raise InputError(found)
    seed = (
        (instance.uncertainty.seed if instance.uncertainty is not None else 0)
        if seed is None
        else seed
    )
    model = build(instance)
    solution = solve(model, solver, time_limit)
    plan = make_plan(model, solution, scenario)
    xs = [draw_values(parameters, seed, k) for k in range(draws)]
    drawn = np.array([[x[p.pid] for p in parameters] for x in xs]).reshape(draws, -1)
    span = (tuple(drawn.min(axis=0)), tuple(drawn.max(axis=0)))
    task = _Draws(
        instance, document, tuple(parameters), seed, solution.values, solver, time_limit,
        reoptimise_draws, span if instance.uncertainty is not None else None, draws,
    )  # fmt: skip
    stage = "evaluating and re-optimising draws" if reoptimise_draws else "evaluating the plan"
    moved = sweep.staged(progress, stage)
    done = sweep.run(task, range(draws), workers=workers, scheduler=scheduler, progress=moved)
    evaluations = [evaluation for evaluation, _ in done]
    optima = [optimum for _, optimum in done if optimum is not None]
    run = _Run(
        instance, plan, solution, model, parameters, xs, evaluations, optima, seed, scenario,
        reoptimise_draws,
    )  # fmt: skip
    return UncertaintyResult(
        summary=_summary(run),
        parameters=_parameter_table(run),
        distributions=_distribution_table(run),
        floors=_floor_table(run),
        partners=_partner_table(run),
        envelope=_envelope_table(run),
        rules=_rule_table(run),
        mix=_mix_table(run),
        choices=_choice_table(run),
        draws=_draw_table(run),
    )


def stats(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, standard deviation (n - 1), 5th, 50th and 95th percentiles (linear), least and
    greatest; a constant sample gives its value exactly and sd 0; an empty one None."""
    if not values:
        return dict.fromkeys(STATS)
    a = np.asarray(values, dtype=float)
    constant = bool(a.min() == a.max())
    return {
        "mean": float(a[0]) if constant else float(a.mean()),
        "sd": 0.0 if constant or len(a) < 2 else float(a.std(ddof=1)),
        "p5": float(np.percentile(a, 5)),
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "min": float(a.min()),
        "max": float(a.max()),
    }


def _share(flags: Sequence[bool]) -> float | None:
    """The share of True among `flags` (None if there are none)."""
    return sum(flags) / len(flags) if flags else None


def _prefixed(prefix: str, values: dict[str, float | None], keys: Sequence[str]) -> dict[str, Any]:
    return {f"{prefix}_{k}": values[k] for k in keys}


SPREAD = ("mean", "sd", "p5", "p50", "p95")


@dataclass(frozen=True)
class _DrawState:
    """A sweep process's set-up: the certain instance the draws start from, the warm solver
    and, where the draws move one model in place, that model (planner/sweep.py Linear)."""

    base: Certain | None
    warm: Warm
    linear: Linear | None


@dataclass(frozen=True)
class _Draws:
    """The draws as a sweep task (planner/sweep.py): one draw is drawn, built once, the plan
    read in it and, when asked, re-optimised. It travels to worker processes whole."""

    instance: Instance
    document: Document
    parameters: tuple[Parameter, ...]
    seed: int
    values: dict[str, float]
    solver: SolverName
    time_limit: float | None
    reoptimise: bool
    span: tuple[tuple[float, ...], tuple[float, ...]] | None  # the draws' least and greatest
    # values of each parameter, when the draws are to move one model in place
    draws: int

    def setup(self) -> _DrawState:
        """The certain instance to draw from, and a warm solver whose base is the instance; where
        the draws' numbers are affine in the parameters, the model that each draw moves."""
        base = _certain(self.instance) if self.instance.uncertainty is not None else None
        warm = Warm(self.solver, self.time_limit)
        if base is not None and self.span is not None:
            centre = [p.point for p in self.parameters]
            solver = warm if self.reoptimise else None
            budget = self.draws // 2  # fitting must cost at most half the builds it saves
            linear = Linear(self._maker(base), centre, *self.span, solver, budget)
            if linear.refusal is None:
                return _DrawState(base, warm, linear)
        if self.reoptimise:
            model = build(self.instance)
            if not model.choices:  # a MILP's draws are solved cold (planner/sweep.py)
                warm.solve(model)
        return _DrawState(base, warm, None)

    def _maker(self, base: Certain) -> Callable[[npt.NDArray[np.float64]], Model]:
        """The model at parameter values x (each parameter's fields set from its value)."""

        def make(x: npt.NDArray[np.float64]) -> Model:
            return build(
                instance_at(base, self.parameters, x.tolist(), self.document, self.seed, -1)
            )

        return make

    def __call__(self, state: _DrawState, k: int) -> tuple[Evaluation, Optimum | None]:
        x = [p.draw(stream(self.seed, k, p.pid)) for p in self.parameters]
        drawn = (
            self.instance
            if state.base is None
            else instance_at(state.base, self.parameters, x, self.document, self.seed, k)
        )
        if state.linear is None:
            model = build(drawn)
            evaluation = _evaluate_model(self.values, model)
            return evaluation, _best(model, state.warm.solve(model)) if self.reoptimise else None
        state.linear.move(x, drawn)
        model = state.linear.model
        evaluation = _evaluate_model(self.values, model)
        return evaluation, _best(model, state.linear.solve()) if self.reoptimise else None


@dataclass(frozen=True)
class _Run:
    """Everything the tables are made from."""

    instance: Instance
    plan: Plan
    solution: Solution
    model: Model
    parameters: list[Parameter]
    xs: list[dict[str, float]]
    evaluations: list[Evaluation]
    optima: list[Optimum]
    seed: int
    scenario: str | None
    reoptimised: bool

    @property
    def best(self) -> list[Optimum]:
        """The draws' optimal plans."""
        return [o for o in self.optima if o.status == "optimal"]


def _parameter_table(run: _Run) -> pd.DataFrame:
    rows = []
    for p in run.parameters:
        spec = p.spec
        drawn = stats([x[p.pid] for x in run.xs])
        rows.append(
            {
                "parameter": p.pid,
                "fields": ", ".join(dotted(t.path) for t in p.targets),
                "point_values": ", ".join(f"{t.point:g}" for t in p.targets),
                "distribution": spec.distribution,
                "relative": spec.relative,
                "low": spec.low,
                "high": spec.high,
                "mode": p.mode if spec.distribution == "triangular" else None,
                "mean": p.mean if spec.distribution in ("normal", "lognormal", "beta") else None,
                "se": spec.se,
                "sigma": spec.sigma,
                **_prefixed("drawn", drawn, ("mean", "sd", "min", "max")),
                "source": spec.source or "",
            }
        )
    return pd.DataFrame(rows, columns=PARAMETER_COLUMNS)


def _distribution_table(run: _Run) -> pd.DataFrame:
    s, evaluations, best = run.plan.summary, run.evaluations, run.best
    health_unit = run.instance.health_unit
    measures: list[tuple[str, str, list[float], list[float | None] | None]] = [
        ("health_gain_discounted", health_unit, [e.health for e in evaluations],
         [o.health for o in best]),
        ("health_gain_undiscounted", health_unit, [e.health_undiscounted for e in evaluations],
         None),
        ("objective", s["objective_unit"], [e.objective for e in evaluations],
         [o.objective for o in best]),
        ("total_spend", run.instance.currency_symbol, [sum(e.spend.values()) for e in evaluations],
         [o.spend for o in best]),
    ]  # fmt: skip
    rows = []
    for measure, unit, fixed, _ in measures:
        rows.append(_distribution_row("plan", measure, unit, s[measure], fixed))
    if run.reoptimised:
        for measure, unit, _, optimal in measures:
            if optimal is not None:
                values = [v for v in optimal if v is not None]
                rows.append(_distribution_row("reoptimised", measure, unit, s[measure], values))
    return pd.DataFrame(rows, columns=DISTRIBUTION_COLUMNS)


def _distribution_row(
    analysis: str, measure: str, unit: str, deterministic: Any, values: list[float]
) -> dict[str, Any]:
    head = {"analysis": analysis, "measure": measure, "unit": unit, "draws": len(values)}
    return head | {"deterministic": deterministic} | stats(values)


def _floor_table(run: _Run) -> pd.DataFrame:
    rows = []
    outcomes = run.plan.outcomes
    for r in outcomes[outcomes["floor"] != ""].to_dict("records"):
        key = (str(r["floor"]), int(r["year"]))
        levels = stats([e.levels[key][0] for e in run.evaluations])
        rows.append(
            {
                "floor": key[0],
                "outcome": r["outcome"],
                "year": key[1],
                "bound_type": r["bound_type"],
                "bound": r["bound"],
                "unit": r["unit"],
                "plan_level": r["level"],
                "plan_slack": r["slack"],
                "p_met": _share([e.levels[key][2] for e in run.evaluations]),
                **_prefixed("level", levels, SPREAD),
            }
        )
    return pd.DataFrame(rows, columns=FLOOR_COLUMNS)


def _partner_table(run: _Run) -> pd.DataFrame:
    rows = []
    for r in run.plan.partners.to_dict("records"):
        key = (str(r["partner"]), int(r["year"]))
        drawn = [e.partners[key] for e in run.evaluations]
        rows.append(
            {
                "partner": key[0],
                "name": r["name"],
                "year": key[1],
                "baseline_income": r["baseline_income"],
                "max_loss": r["max_loss"],
                "plan_net_change": r["net_change"],
                "p_loss": _share([d[1] < -TOLERANCE for d in drawn]),
                "p_beyond_limit": _share([d[2] for d in drawn]),
                "p_beyond_gain_cap": _share([d[3] for d in drawn]),
                **_prefixed("net_change", stats([d[1] for d in drawn]), SPREAD),
                "income_change_mean": stats([d[0] for d in drawn])["mean"],
            }
        )
    return pd.DataFrame(rows, columns=PARTNER_COLUMNS)


def _envelope_table(run: _Run) -> pd.DataFrame:
    model, rows = run.model, []
    if model.envelope is not None:
        words = (
            "spend to date within the envelope to date (savings carried forward)"
            if model.carry
            else "spend within the year's envelope"
        )
        for year in model.years:
            rows.append(
                {
                    "year": year,
                    "envelope": model.envelope[year],
                    "plan_spend": _value(model.spend[year]),
                    "p_within": _share([e.envelope_met[year] for e in run.evaluations]),
                    **_prefixed("spend", stats([e.spend[year] for e in run.evaluations]), SPREAD),
                    "rule": words,
                }
            )
    return pd.DataFrame(rows, columns=ENVELOPE_COLUMNS)


def _rule_table(run: _Run) -> pd.DataFrame:
    rows = []
    for key, (rule, _) in run.model.registry.items():
        short = [e.rules[key] for e in run.evaluations]
        rows.append(
            {
                "family": rule.family,
                "constraint": rule.name,
                "subject": rule.subject,
                "year": rule.year,
                "rule": rule.rule,
                "unit": rule.unit,
                "p_held": _share([v <= 0 for v in short]),
                "mean_shortfall": clean(float(np.mean(short))),
                "worst_shortfall": max(short),
            }
        )
    frame = pd.DataFrame(rows, columns=RULE_COLUMNS)
    frame["year"] = frame["year"].astype("Int64")
    return frame


def _mix_table(run: _Run) -> pd.DataFrame:
    rows = []
    best = run.best
    for r in run.plan.allocation.to_dict("records") if run.reoptimised else []:
        key = (str(r["intervention"]), int(r["year"]))
        base = float(r["baseline_units"])
        tol = TOLERANCE * max(1.0, abs(base))
        units = [o.units[key] for o in best if o.units is not None]
        spend = stats([o.spend_by[key] for o in best if o.spend_by is not None])
        rows.append(
            {
                "intervention": key[0],
                "name": r["name"],
                "year": key[1],
                "unit": r["unit"],
                "baseline_units": base,
                "plan_units": r["units"],
                "p_funded": _share([v > TOLERANCE for v in units]),
                "p_grown": _share([v > base + tol for v in units]),
                "p_cut": _share([v < base - tol for v in units]),
                **_prefixed("units", stats(units), SPREAD),
                "plan_spend": r["spend"],
                **_prefixed("spend", spend, ("mean", "p5", "p95")),
            }
        )
    return pd.DataFrame(rows, columns=MIX_COLUMNS)


def _choice_table(run: _Run) -> pd.DataFrame:
    rows = []
    best = run.best
    for r in run.plan.supply.to_dict("records") if run.reoptimised else []:
        key = (str(r["intervention"]), str(r["option"]), int(r["year"]))
        rows.append(
            {
                "intervention": key[0],
                "option": key[1],
                "name": r["name"],
                "provider": r["provider"],
                "mode": r["mode"],
                "year": key[2],
                "plan_chosen": bool(r["chosen"]),
                "p_chosen": _share([bool(o.chosen and o.chosen[key]) for o in best]),
                "units_mean": stats([o.option_units[key] for o in best if o.option_units])["mean"],
            }
        )
    return pd.DataFrame(rows, columns=CHOICE_COLUMNS)


def _draw_table(run: _Run) -> pd.DataFrame:
    rows: list[tuple[str, int, str, str, int | None, float]] = []
    for k, (x, e) in enumerate(zip(run.xs, run.evaluations, strict=True)):
        rows += [("parameter", k, "parameter", pid, None, v) for pid, v in x.items()]
        rows += [("plan", k, "health_gain", "", None, e.health)]
        rows += [("plan", k, "objective", "", None, e.objective)]
        rows += [("plan", k, "spend", "", y, v) for y, v in e.spend.items()]
        rows += [("plan", k, "floor_level", f, y, v[0]) for (f, y), v in e.levels.items()]
        rows += [("plan", k, "floor_met", f, y, float(v[2])) for (f, y), v in e.levels.items()]
        rows += [("plan", k, "net_change", p, y, v[1]) for (p, y), v in e.partners.items()]
    for k, o in enumerate(run.optima):
        rows += [("reoptimised", k, "optimal", "", None, float(o.status == "optimal"))]
        if o.units is not None:
            rows += [("reoptimised", k, "health_gain", "", None, o.health or 0.0)]
            rows += [("reoptimised", k, "objective", "", None, o.objective or 0.0)]
            rows += [("reoptimised", k, "units", i, y, v) for (i, y), v in o.units.items()]
    frame = pd.DataFrame(rows, columns=DRAW_COLUMNS)
    frame["year"] = frame["year"].astype("Int64")
    return frame


def _summary(run: _Run) -> dict[str, Any]:
    s, evaluations = run.plan.summary, run.evaluations
    counts = {status: sum(o.status == status for o in run.optima) for status in OPTIMUM_STATUSES}
    plan_choices = {
        (str(r["intervention"]), str(r["option"]), int(r["year"])): bool(r["chosen"])
        for r in run.plan.supply.to_dict("records")
    }
    health = stats([e.health for e in evaluations])
    optimum = stats([o.objective for o in run.best if o.objective is not None])
    again = run.reoptimised
    summary: dict[str, Any] = {
        "instance": run.instance.name,
        "title": run.instance.title or run.instance.name,
        "scenario": run.scenario or "",
        "solver": run.solution.solver,
        "seed": run.seed,
        "draws": len(evaluations),
        "parameters": len(run.parameters),
        "objective_kind": run.instance.objective.kind,
        "objective_unit": s["objective_unit"],
        "health_unit": run.instance.health_unit,
        "currency": run.instance.currency,
        "problem": s["problem"],
        "deterministic_objective": s["objective"],
        "deterministic_health_gain": s["health_gain_discounted"],
        "deterministic_status": s["status"],  # time_limit: not proven optimal
        "p_all_floors_met": _share([e.all_met(("outcome_floor",)) for e in evaluations]),
        "p_all_limits_met": _share(
            [e.all_met(("partner_risk_limit", "partner_gain_cap")) for e in evaluations]
        ),
        "p_envelope_met": _share([all(e.envelope_met.values()) for e in evaluations]),
        "p_all_rules_met": _share([all(v <= 0 for v in e.rules.values()) for e in evaluations]),
        "health_gain_mean": health["mean"],
        "health_gain_p5": health["p5"],
        "health_gain_p95": health["p95"],
        "reoptimised": again,
        **{f"reoptimised_{k}": counts[k] if again else "" for k in OPTIMUM_STATUSES},
        "p_same_choices": _share([o.chosen == plan_choices for o in run.best])
        if again and plan_choices
        else "",
        "optimum_mean": optimum["mean"] if again else "",
        "optimum_p5": optimum["p5"] if again else "",
        "optimum_p95": optimum["p95"] if again else "",
    }
    return {k: "" if v is None else v for k, v in summary.items()}


# --- terminal --------------------------------------------------------------------------------


def _pct(value: Any) -> str:
    """A probability as a percentage (empty where there is none)."""
    if value == "" or missing(value):
        return ""
    return (
        f"{100 * float(value):.0f}%"
        if 0.005 < float(value) < 0.995 or value in (0, 1)
        else (f"{100 * float(value):.1f}%")
    )


def print_uncertainty(result: UncertaintyResult, console: Console | None = None) -> None:
    """The key tables: parameters, health gain, floors, partners, envelope, rules that may
    break, and (re-optimised) how the mix and the make-or-buy choices move."""
    from rich.console import Console
    from rich.markup import escape

    from planner.report import money, number, terminal_table

    console = console or Console()
    s = result.summary
    currency = s["currency"]
    scenario = f" — scenario {s['scenario']}" if s["scenario"] else ""
    console.print(
        f"\n[bold]{escape(s['title'] + scenario)}[/bold]  ({s['draws']} draws, seed "
        f"{s['seed']}, solver {s['solver']}, {s['parameters']} uncertain parameters)",
        soft_wrap=True,
        markup=True,
    )
    table = terminal_table(
        "Uncertain numbers", ["parameter", "distribution", "point", "spread", "drawn mean"]
    )
    for r in result.parameters.to_dict("records"):
        kind = r["distribution"] + (" (x value)" if r["relative"] else "")
        if r["distribution"] in ("range", "triangular"):
            spread = f"{number(r['low'])} to {number(r['high'])}"
        elif not missing(r["sigma"]):
            spread = f"sigma {number(r['sigma'])}"
        else:
            spread = f"se {number(r['se'])}"
        point = "1" if r["relative"] else str(r["point_values"])
        table.add_row(str(r["parameter"]), kind, point, spread, number(r["drawn_mean"]))
    console.print(table)

    table = terminal_table(
        "The plan under uncertainty, and the best plan of each draw",
        ["measure", "deterministic", "mean", "5%", "median", "95%"],
    )
    for r in result.distributions.to_dict("records"):
        spent = r["measure"] == "total_spend"
        label = f"{r['measure'].replace('_', ' ')} ({r['unit']})" + (
            ", re-optimised" if r["analysis"] == "reoptimised" else ""
        )
        cells = [r[c] for c in ("deterministic", "mean", "p5", "p50", "p95")]
        table.add_row(label, *(money(v, currency) if spent else number(v) for v in cells))
    console.print(table)
    console.print(
        f"The plan meets every floor in {_pct(s['p_all_floors_met'])} of draws, every partner "
        f"limit in {_pct(s['p_all_limits_met'])}, the envelope in {_pct(s['p_envelope_met'])} "
        f"and every rule in {_pct(s['p_all_rules_met'])}.",
        soft_wrap=True,
    )
    if len(result.floors):
        table = terminal_table(
            "Floors: the plan's outcome levels across the draws",
            ["floor", "year", "bound", "plan", "P(met)", "5%", "95%"],
        )
        for r in result.floors.to_dict("records"):
            sign = "≤" if r["bound_type"] == "upper" else "≥"
            table.add_row(str(r["floor"]), str(r["year"]), f"{sign} {number(r['bound'])}",
                          number(r["plan_level"]), _pct(r["p_met"]), number(r["level_p5"]),
                          number(r["level_p95"]))  # fmt: skip
        console.print(table)
    if len(result.partners):
        table = terminal_table(
            "Partners: net change in income against baseline across the draws",
            ["partner", "year", "plan", "mean", "5%", "95%", "max loss", "P(beyond limit)"],
        )
        for r in result.partners.to_dict("records"):
            table.add_row(str(r["partner"]), str(r["year"]),
                          *(money(r[c], currency) for c in ("plan_net_change", "net_change_mean",
                                                            "net_change_p5", "net_change_p95",
                                                            "max_loss")),
                          _pct(r["p_beyond_limit"]))  # fmt: skip
        console.print(table)
    if len(result.envelope):
        table = terminal_table(
            "Envelope: the plan's spend across the draws",
            ["year", "envelope", "plan", "mean", "95%", "P(within)"],
        )
        for r in result.envelope.to_dict("records"):
            table.add_row(str(r["year"]),
                          *(money(r[c], currency) for c in ("envelope", "plan_spend", "spend_mean",
                                                            "spend_p95")),
                          _pct(r["p_within"]))  # fmt: skip
        console.print(table)
    shown = ("outcome_floor", "partner_risk_limit", "envelope")
    broken = result.rules[(result.rules["p_held"] < 1) & ~result.rules["family"].isin(shown)]
    if len(broken):
        table = terminal_table(
            "Other rules the plan may break", ["rule", "P(held)", "worst shortfall"]
        )
        for r in broken.to_dict("records"):
            table.add_row(str(r["rule"]), _pct(r["p_held"]),
                          f"{number(r['worst_shortfall'])} {r['unit']}")  # fmt: skip
        console.print(table)
    if not s["reoptimised"]:
        return
    counts = ", ".join(
        f"{s[f'reoptimised_{k}']} {k.replace('_', ' ')}"
        for k in OPTIMUM_STATUSES
        if s[f"reoptimised_{k}"]
    )
    console.print(f"\nRe-optimised each draw: {counts}.", soft_wrap=True)
    table = terminal_table(
        "The best mix across the draws (units a year; shares of the draws with a plan)",
        ["intervention", "year", "baseline", "plan", "P(grown)", "P(cut)", "mean", "5%", "95%"],
    )
    for r in result.mix.to_dict("records"):
        table.add_row(
            str(r["intervention"]),
            str(r["year"]),
            *(number(r[c]) for c in ("baseline_units", "plan_units")),
            *(_pct(r[c]) for c in ("p_grown", "p_cut")),
            *(number(r[c]) for c in ("units_mean", "units_p5", "units_p95")),
        )
    console.print(table)
    if len(result.choices):
        offered = result.choices[(result.choices["p_chosen"] > 0) | result.choices["plan_chosen"]]
        table = terminal_table(
            "Make or buy: how often each option is chosen",
            ["intervention", "option", "provider", "year", "in the plan", "P(chosen)"],
        )
        for r in offered.to_dict("records"):
            table.add_row(str(r["intervention"]), str(r["option"]),
                          f"{r['provider']} ({r['mode']})", str(r["year"]),
                          "yes" if r["plan_chosen"] else "", _pct(r["p_chosen"]))  # fmt: skip
        console.print(table)
        if s["p_same_choices"] != "":
            console.print(
                f"Every choice as in the plan in {_pct(s['p_same_choices'])} of the draws with "
                "a plan.",
                soft_wrap=True,
            )
