"""Risk-aware planning: one plan that has to work across many equally likely scenarios.

Each scenario is an Instance with drawn numbers (unit costs, health gains, effects, tariffs...).
The decisions (units of every intervention, tranche and supply option, every yes/no choice) are
taken once, before the numbers are known, and shared by all scenarios; money carried between
years is the only thing that may differ by scenario (it is whatever is left). The plan maximises
the expected objective, the average over the scenarios (sample average approximation), under:

- every rule of the deterministic model, stated in every scenario (capacities, groups, ramps,
  make-or-buy, outcome limits), except that floors, the envelope and partners' stated limits can
  be required on average instead (`RiskSettings`);
- partner risk limits on the loss distribution: the conditional value at risk of a partner's loss
  in a year at most an amount, written linearly over the scenarios (Rockafellar and Uryasev).

A rule whose numbers are the same in every scenario is stated once, exactly as in the
deterministic model: with zero-width distributions the model is the deterministic one. The
maths is in docs/risk.md.

The risk-aware plan is one solve. What is independent is each scenario's model: built and read
into data (`Scenario`) by a sweep (planner/sweep.py), serially, over local processes or on a
Dask cluster with the same results whichever way; the master is assembled from that data.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import pandas as pd
import pulp
from rich.console import Console
from rich.markup import escape

from planner import sweep
from planner.build import MONEY_SCALE, Key, Model, Rule, affine, build, objective, row_name
from planner.errors import InputError, NoPlanError, Problem
from planner.result import (
    NOT_CHOSEN,
    OBJECTIVE_WORDS,
    choice_is_off,
    clean,
    difference,
    explain_price,
    named_tables,
    no_plan_message,
    objective_unit,
    tranche_health,
)
from planner.schema import Instance
from planner.solve import Solution, SolverName, Status, solve

Mode = Literal["expectation", "every"]
MODES: tuple[Mode, ...] = ("expectation", "every")
TOLERANCE = 1e-6  # a rule is met when it is within this share of its bound (or absolute)
SAME = 1e-12  # two numbers of a rule are the same when within this share of the larger
EVERY = "_every_scenario"  # family suffix of a rule stated in each scenario separately
MEAN = "_expectation"  # family suffix of a rule stated on the average over the scenarios
CVAR_LIMIT = "cvar_risk_limit"
CVAR_TAIL = "cvar_tail"
PLANS = ("risk_aware", "deterministic")
STAGE = "building the scenarios' models"  # the progress bar's label

Progress = Callable[[str, int, int], None]  # (stage, scenarios done, in all)

SUMMARY_FIELDS = [
    "instance", "title", "solver", "status", "scenarios", "alpha", "floors", "floor_modes",
    "limits", "envelope", "cvar_limits", "objective_kind", "objective_words", "objective_unit",
    "objective", "expected_health_gain", "deterministic_status", "deterministic_objective",
    "deterministic_health_gain", "price_of_risk_aversion", "problem", "yes_no_choices",
    "prices_from", "variables", "constraints", "currency", "message",
]  # fmt: skip
ALLOCATION_COLUMNS = [
    "intervention", "name", "year", "unit", "baseline_units", "units", "deterministic_units",
    "difference",
]  # fmt: skip
PARTNER_COLUMNS = [
    "plan", "partner", "name", "year", "expected_loss", "cvar", "worst_loss", "alpha",
    "cvar_limit", "within_cvar_limit", "max_loss", "p_within_max_loss",
]  # fmt: skip
FLOOR_COLUMNS = [
    "plan", "floor", "outcome", "name", "year", "bound_type", "mode", "expected_bound",
    "expected_level", "worst_level", "p_met",
]  # fmt: skip
SCENARIO_COLUMNS = [
    "scenario", "plan", "objective", "health_gain", "spend", "envelope", "envelope_met",
    "floors_met", "limits_met",
]  # fmt: skip
SHADOW_PRICE_COLUMNS = [
    "family", "constraint", "subject", "year", "scenario", "rule", "sense", "unit", "dual",
    "per", "value_of_relaxing", "objective_unit", "binding", "explanation",
]  # fmt: skip


@dataclass(frozen=True)
class RiskSettings:
    """How the plan must hold up across the scenarios.

    `cvar`: partner -> most conditional value at risk of its loss in any plan year, in money or
    as a share of its baseline income written "10%". `alpha`: the CVaR's level (0.95: the average
    of the worst 5% of scenarios). `floors`: outcome floors on average (`expectation`) or in
    `every` scenario, with `floor_modes` overriding it floor by floor. `limits`: partners' stated
    loss limits and gain caps, and `envelope`: the envelope, likewise.
    """

    cvar: Mapping[str, float | str] = field(default_factory=dict)
    alpha: float = 0.95
    floors: Mode = "expectation"
    floor_modes: Mapping[str, Mode] = field(default_factory=dict)
    limits: Mode = "every"
    envelope: Mode = "every"

    def mode(self, family: str, key: Key) -> Mode:
        """Where a rule of the deterministic model must hold: on average or in every scenario."""
        if family == "envelope":
            return self.envelope
        if family == "outcome_floor":
            return self.floor_modes.get(str(key[0]), self.floors)
        if family in ("partner_risk_limit", "partner_gain_cap"):
            return self.limits
        return "every"


@dataclass(frozen=True)
class RiskPlan:
    """The risk-aware plan beside the deterministic plan, both judged on the same scenarios."""

    summary: dict[str, Any]
    allocation: pd.DataFrame
    partners: pd.DataFrame
    floors: pd.DataFrame
    scenarios: pd.DataFrame
    shadow_prices: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, the summary as a two-column table first."""
        return named_tables(self)


@dataclass(frozen=True)
class Affine:
    """A linear expression of a scenario's model as data: (variable name, coefficient) pairs in
    PuLP's order, and the constant."""

    terms: tuple[tuple[str, float], ...]
    constant: float


def _affine(expression: pulp.LpAffineExpression) -> Affine:
    # names interned: a chunk of scenarios pickles each name once
    terms = tuple((sys.intern(v.name), float(c)) for v, c in expression.items())
    return Affine(terms, float(expression.constant))


@dataclass(frozen=True)
class _Row:
    """One row of a scenario's model: its meaning, coefficients by variable name and the
    right-hand side left once PuLP has moved the constants."""

    rule: Rule
    terms: dict[str, float]
    rhs: float


@dataclass(frozen=True)
class Scenario:
    """A scenario's model as data: what the risk model and the judging of a plan read from it
    (its rows, objective, units, outcome levels, spend, economic cost, each partner's net
    position: income minus outside costs, and the baselines), variables by name."""

    instance: Instance
    rows: dict[tuple[str, Key], _Row]
    objective: Affine
    units: dict[tuple[str, int], Affine]
    level: dict[tuple[str, int], Affine]
    spend: dict[int, Affine]
    economic_cost: dict[int, Affine]
    net: dict[tuple[str, int], Affine]
    baseline_income: dict[str, float]
    baseline_external_cost: dict[str, float]
    envelope: dict[int, float] | None

    @property
    def years(self) -> list[int]:
        return self.instance.plan_years


def scenario(model: Model) -> Scenario:
    """A built scenario model read into data."""
    net = {key: _affine(model.income[key] - model.external_cost[key]) for key in model.income}
    return Scenario(
        instance=model.instance,
        rows=_rows(model),
        objective=_affine(objective(model)),
        units={key: _affine(e) for key, e in model.units.items()},
        level={key: _affine(e) for key, e in model.level.items()},
        spend={year: _affine(e) for year, e in model.spend.items()},
        economic_cost={year: _affine(e) for year, e in model.economic_cost.items()},
        net=net,
        baseline_income=dict(model.baseline_income),
        baseline_external_cost=dict(model.baseline_external_cost),
        envelope=dict(model.envelope) if model.envelope is not None else None,
    )


@dataclass
class RiskModel:
    """The model over all scenarios: `master` holds the shared decisions, every rule and the
    expected objective; `scenarios` are the drawn instances' own models as data (same variable
    names), `labels` their names; `cvar_limits` the money limit of each partner's CVaR rows."""

    master: Model
    reference: Model
    scenarios: list[Scenario]
    labels: list[str]
    settings: RiskSettings
    cvar_limits: dict[str, float]


# --- the conditional value at risk of a sample -------------------------------------------------


def cvar(losses: Sequence[float], alpha: float) -> float:
    """The alpha-CVaR of equally likely losses: the mean of the worst (1 - alpha) share of them,
    the boundary scenario counted in part. Equals min over eta of
    eta + sum(max(0, loss - eta)) / ((1 - alpha) S) (Rockafellar and Uryasev)."""
    if not losses:
        raise ValueError("cvar of no losses")
    if not 0 <= alpha < 1:
        raise ValueError(f"alpha must be at least 0 and below 1 (got {alpha})")
    ordered = sorted(losses, reverse=True)
    tail = (1 - alpha) * len(ordered)  # scenarios' worth of probability in the tail
    whole = min(len(ordered), math.floor(tail + 1e-9))
    total = sum(ordered[:whole])
    if whole < len(ordered) and tail - whole > 1e-9:
        total += (tail - whole) * ordered[whole]
    return total / tail


# --- settings ---------------------------------------------------------------------------------


def parse_cvar(texts: Iterable[str]) -> dict[str, float | str]:
    """`PARTNER=AMOUNT` options as a mapping: `acute_trust=500000`, `acute_trust=£500,000` or
    `acute_trust=10%` (of its baseline income). InputError names each bad one."""
    limits: dict[str, float | str] = {}
    problems = []
    for text in texts:
        name, sep, amount = (part.strip() for part in text.partition("="))
        cleaned = re.sub(r"^[£$€]|,", "", amount)
        fix = "write PARTNER=AMOUNT, such as acute_trust=500000 or acute_trust=10%"
        if not sep or not name:
            problems.append(Problem("--cvar", (text,), "is not PARTNER=AMOUNT", fix))
            continue
        try:
            value = float(cleaned.removesuffix("%"))
        except ValueError:
            problems.append(Problem("--cvar", (name,), f"{amount!r} is not an amount", fix))
            continue
        if not math.isfinite(value) or value < 0:
            problems.append(Problem("--cvar", (name,), f"{amount!r} is negative", fix))
            continue
        if name in limits:
            problems.append(Problem("--cvar", (name,), "is given twice", "give one limit each"))
            continue
        limits[name] = f"{value:g}%" if cleaned.endswith("%") else value
    if problems:
        raise InputError(problems)
    return limits


def parse_floor_modes(texts: Iterable[str]) -> dict[str, Mode]:
    """`FLOOR=MODE` options (`admissions_2016=every`) as a mapping; InputError names each bad
    one."""
    modes: dict[str, Mode] = {}
    problems = []
    for text in texts:
        name, sep, mode = (part.strip() for part in text.partition("="))
        if not sep or not name or mode not in MODES:
            fix = "write FLOOR=expectation or FLOOR=every, such as admissions_2016=every"
            problems.append(Problem("--floor", (text,), "is not FLOOR=MODE", fix))
            continue
        modes[name] = "every" if mode == "every" else "expectation"
    if problems:
        raise InputError(problems)
    return modes


def check_settings(settings: RiskSettings, instance: Instance) -> None:
    """Every partner and floor named exists, every mode is known, alpha is in [0, 1) and every
    limit is an amount; InputError lists every problem with its fix."""
    problems = []
    partners = ", ".join(instance.partners) or "(none)"
    for pid, limit in settings.cvar.items():
        if pid not in instance.partners:
            fix = f"name one of the instance's partners: {partners}"
            problems.append(Problem("--cvar", (pid,), "is not a partner of the instance", fix))
        if not _limit_value_ok(limit):
            fix = "give an amount of money at least 0, or a share such as 10%"
            problems.append(Problem("--cvar", (pid,), f"{limit!r} is not a limit", fix))
    floors = ", ".join(instance.floors) or "(none)"
    for fid, mode in settings.floor_modes.items():
        if fid not in instance.floors:
            fix = f"name one of the instance's floors: {floors}"
            problems.append(Problem("--floor", (fid,), "is not a floor of the instance", fix))
        if mode not in MODES:
            problems.append(Problem("--floor", (fid,), f"unknown mode {mode!r}", "use " + _or()))
    for option, mode in (("--floors", settings.floors), ("--limits", settings.limits),
                         ("--envelope", settings.envelope)):  # fmt: skip
        if mode not in MODES:
            problems.append(Problem(option, (), f"unknown mode {mode!r}", "use " + _or()))
    if not (isinstance(settings.alpha, int | float) and 0 <= settings.alpha < 1):
        fix = "use a level such as 0.95 (the mean of the worst 5% of scenarios); 0 is the mean"
        problems.append(Problem("--alpha", (), f"must be at least 0 and below 1 (got "
                                f"{settings.alpha})", fix))  # fmt: skip
    if problems:
        raise InputError(problems)


def _or() -> str:
    return " or ".join(MODES)


def _limit_value_ok(limit: float | str) -> bool:
    if isinstance(limit, str):
        try:
            value = float(limit.removesuffix("%"))
        except ValueError:
            return False
        return limit.endswith("%") and math.isfinite(value) and value >= 0
    return isinstance(limit, int | float) and math.isfinite(limit) and limit >= 0


def cvar_amount(limit: float | str, baseline_income: float) -> float:
    """A CVaR limit in money: the amount, or the share of baseline income ("10%")."""
    if isinstance(limit, str):
        return float(limit.removesuffix("%")) / 100 * baseline_income
    return float(limit)


# --- the model --------------------------------------------------------------------------------


def _rows(model: Model) -> dict[tuple[str, Key], _Row]:
    """Every registered row of a model, by (family, key)."""
    rows = {}
    for key, (rule, constraint) in model.registry.items():
        terms: dict[str, float] = {}
        for variable, coefficient in constraint.items():
            terms[variable.name] = terms.get(variable.name, 0.0) + float(coefficient)
        rows[key] = _Row(rule, terms, -float(constraint.constant))
    return rows


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= SAME * max(1.0, abs(a), abs(b))


def _same(a: _Row, b: _Row) -> bool:
    """Whether two rows state the same rule with the same numbers."""
    return (
        a.rule.sense == b.rule.sense
        and a.terms.keys() == b.terms.keys()
        and all(_close(v, b.terms[k]) for k, v in a.terms.items())
        and _close(a.rhs, b.rhs)
    )


def _variables(model: Model) -> dict[str, tuple[float | None, float | None, str]]:
    return {v.name: (v.lowBound, v.upBound, str(v.cat)) for v in model.problem.variables()}


def _structure_problem(base: Model, drawn: Model, label: str) -> Problem | None:
    """Why a scenario cannot share the base's decisions, or None when it can."""
    fix = (
        "draw only numbers that keep the model's shape (costs, gains, effects, tariffs, "
        "envelope, limits); tranche sizes, supply options on offer and which costs are zero "
        "must be the same in every scenario"
    )
    if drawn.instance.objective.kind != base.instance.objective.kind:
        return Problem(label, ("objective", "kind"), "differs from the base instance's", fix)
    if drawn.instance.plan_years != base.instance.plan_years:
        return Problem(label, ("horizon",), "differs from the base instance's plan years", fix)
    mine, theirs = _variables(base), _variables(drawn)
    if mine != theirs:
        odd = sorted(set(mine) ^ set(theirs)) or sorted(n for n in mine if mine[n] != theirs.get(n))
        message = f"has different decision variables from the base instance ({', '.join(odd[:3])})"
        return Problem(label, (), message, fix)
    if base.registry.keys() != drawn.registry.keys():
        odd = sorted(f"{f} {k}" for f, k in set(base.registry) ^ set(drawn.registry))
        message = f"states different rules from the base instance ({', '.join(odd[:3])})"
        return Problem(label, (), message, fix)
    return None


def _map(expression: Affine, variables: Mapping[str, pulp.LpVariable]) -> pulp.LpAffineExpression:
    """A scenario model's expression written on the master's variables (matched by name)."""
    terms: dict[str, float] = {}
    for name, coefficient in expression.terms:
        terms[name] = terms.get(name, 0.0) + coefficient
    return affine(((variables[n], c) for n, c in terms.items()), expression.constant)


def _mean(
    expressions: Sequence[Affine], variables: Mapping[str, pulp.LpVariable]
) -> pulp.LpAffineExpression:
    """The average of expressions of the scenario models, on the master's variables."""
    terms: dict[str, float] = {}
    constant = 0.0
    share = 1.0 / len(expressions)
    for expression in expressions:
        for name, coefficient in expression.terms:
            terms[name] = terms.get(name, 0.0) + share * coefficient
        constant += share * expression.constant
    return affine(((variables[n], c) for n, c in terms.items()), constant)


def _register(master: Model, rule: Rule, lhs: pulp.LpAffineExpression, rhs: float) -> None:
    """Add the row `lhs <sense> rhs` to the master, named and registered by `rule`."""
    if rule.sense == "<=":
        row = lhs <= rhs
    elif rule.sense == ">=":
        row = lhs >= rhs
    else:
        row = lhs == rhs
    master.registry[(rule.family, rule.key)] = (rule, master.problem.addConstraint(row, rule.name))


def _row_expression(row: _Row, variables: Mapping[str, pulp.LpVariable]) -> pulp.LpAffineExpression:
    """A row's left-hand side on the master's variables (matched by name)."""
    return affine((variables[n], c) for n, c in row.terms.items())


@dataclass(frozen=True)
class _Scenarios:
    """The scenarios' models as a sweep task (planner/sweep.py): a probe is a scenario (label,
    instance), built, read into data and checked against the model of `base`, which each
    process builds once."""

    base: Instance

    def setup(self) -> Model:
        return build(self.base)

    def __call__(
        self, reference: Model, probe: tuple[str, Instance]
    ) -> tuple[Scenario, Problem | None]:
        label, instance = probe
        model = build(instance)
        return scenario(model), _structure_problem(reference, model, label)


def build_risk_model(
    base: Instance,
    scenarios: Sequence[Instance],
    settings: RiskSettings | None = None,
    labels: Sequence[str] | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> RiskModel:
    """The sample-average model of `base` over equally likely `scenarios`: shared decisions, the
    expected objective, every rule where `settings` says it must hold, and the CVaR limits. The
    scenarios' models are built serially, over `workers` local processes or on the Dask cluster
    at `scheduler`, with the same model whichever way; `progress(stage, done, total)` is told as
    they are built."""
    settings = settings or RiskSettings()
    check_settings(settings, base)
    if not scenarios:
        fix = "give at least one scenario (planner risk --draws 100)"
        raise InputError([Problem("scenarios", (), "there are none", fix)])
    names = list(labels) if labels is not None else [f"s{n}" for n in range(1, len(scenarios) + 1)]
    if len(names) != len(scenarios) or len(set(names)) != len(names):
        raise ValueError("give one distinct label per scenario")
    reference = build(base)
    master = build(base, families=[])

    probes = list(zip(names, scenarios, strict=True))
    built = sweep.staged(progress, STAGE)
    done = sweep.run(_Scenarios(base), probes, workers=workers, scheduler=scheduler, progress=built)
    models = [model for model, _ in done]
    found = [problem for _, problem in done if problem is not None]
    if found:
        raise InputError(found)

    variables = {v.name: v for v in master.problem.variables()}
    count = len(models)
    rows = [m.rows for m in models]
    keys = list(rows[0])
    same = {key: all(_same(r[key], rows[0][key]) for r in rows[1:]) for key in keys}
    envelope_keys = [key for key in keys if key[0] == "envelope"]
    envelope_same = all(same[key] for key in envelope_keys)
    # money carried between years is left over, not decided: one carry per scenario when the
    # envelope differs by scenario and must hold in each
    carries = [variables] * count
    if not envelope_same and settings.envelope == "every" and master.carry:
        carries = []
        for label in names:
            own = dict(variables)
            for year, carry in master.carry.items():
                own[carry.name] = master.problem.add_variable(
                    row_name("carry", year, label), 0, None
                )
            carries.append(own)

    for key in keys:
        family, rule_key = key
        first = rows[0][key]
        if same[key] and (family != "envelope" or envelope_same):
            _register(master, first.rule, _row_expression(first, variables), first.rhs)
            continue
        mode = settings.mode(family, rule_key)
        stated = reference.registry[key][0]
        if mode == "every":
            for row, label, own in zip((r[key] for r in rows), names, carries, strict=True):
                rule = _variant(row.rule, family + EVERY, (*rule_key, label), f"__{label}",
                                f" (scenario {label})", row.rule.rhs)  # fmt: skip
                _register(master, rule, _row_expression(row, own), row.rhs)
        else:
            mean = _Row(stated, {}, sum(r[key].rhs for r in rows) / count)
            for r in rows:
                for name, coefficient in r[key].terms.items():
                    mean.terms[name] = mean.terms.get(name, 0.0) + coefficient / count
            rule = _variant(stated, family + MEAN, rule_key, "__mean",
                            " (on average over the scenarios)",
                            sum(r[key].rule.rhs for r in rows) / count)  # fmt: skip
            _register(master, rule, _row_expression(mean, variables), mean.rhs)

    limits = _add_cvar_limits(master, models, names, settings)
    master.problem.setObjective(_mean([m.objective for m in models], variables))
    return RiskModel(master, reference, models, names, settings, limits)


def _variant(rule: Rule, family: str, key: Key, suffix: str, words: str, rhs: float) -> Rule:
    return Rule(family, key, rule.name + suffix, rule.sense, rule.rule + words, rule.subject,
                rule.year, rule.unit, rule.per, rhs)  # fmt: skip


def _add_cvar_limits(
    master: Model, models: list[Scenario], labels: list[str], settings: RiskSettings
) -> dict[str, float]:
    """For each partner p with a limit X and each year t: eta + sum_s u_s / ((1 - alpha) S) <= X
    with u_s >= loss_s - eta, u_s >= 0 and loss_s = baseline net - net position in scenario s."""
    money = master.money()
    variables = {v.name: v for v in master.problem.variables()}
    alpha = settings.alpha
    weight = 1.0 / ((1 - alpha) * len(models))
    limits = {}
    for pid, given in settings.cvar.items():
        partner = master.instance.partners[pid]
        limit = cvar_amount(given, master.baseline_income[pid])
        limits[pid] = limit
        for year in master.years:
            eta = master.problem.add_variable(row_name("cvar_eta", pid, year), None, None)
            excess = []
            for model, label in zip(models, labels, strict=True):
                u = master.problem.add_variable(row_name("cvar_excess", pid, year, label), 0, None)
                excess.append(u)
                net = _map(model.net[(pid, year)], variables)
                baseline = model.baseline_income[pid] - model.baseline_external_cost[pid]
                words = (
                    f"{partner.name}'s loss in {year} beyond the CVaR threshold, scenario {label}"
                )
                rule = Rule(CVAR_TAIL, (pid, year, label), row_name("cvar_tail", pid, year, label),
                            ">=", words, pid, year, money, MONEY_SCALE, baseline)  # fmt: skip
                _register(master, rule, affine([(u, 1.0), (eta, 1.0)]) + net, baseline)
            words = (
                f"{partner.name}: {alpha:.0%} CVaR of its loss in {year} at most "
                f"{money}{limit:,.0f}"
            )
            rule = Rule(CVAR_LIMIT, (pid, year), row_name("cvar_limit", pid, year), "<=", words,
                        pid, year, money, MONEY_SCALE, limit)  # fmt: skip
            _register(master, rule, affine([(eta, 1.0)] + [(u, weight) for u in excess]), limit)
    return limits


# --- judging a plan on the scenarios ----------------------------------------------------------


@dataclass(frozen=True)
class Judged:
    """A plan's numbers in one scenario."""

    objective: float
    health: float  # discounted
    spend: float  # over the plan years, undiscounted
    envelope: float | None
    envelope_met: bool
    levels: dict[tuple[str, int], float]
    losses: dict[tuple[str, int], float]
    floors_met: dict[tuple[str, int], bool]
    limits_met: bool


def _value(expression: pulp.LpAffineExpression, values: Mapping[str, float]) -> float:
    total = float(expression.constant)
    for variable, coefficient in expression.items():
        total += float(coefficient) * values.get(variable.name, 0.0)
    return total


def _at(expression: Affine, values: Mapping[str, float]) -> float:
    """An expression's value at the variables' values (a missing variable is 0), summed as
    _value sums a PuLP expression."""
    total = expression.constant
    for name, coefficient in expression.terms:
        total += coefficient * values.get(name, 0.0)
    return total


def _met(slack: float, bound: float) -> bool:
    return slack >= -TOLERANCE * max(1.0, abs(bound))


def judge(model: Scenario | Model, values: Mapping[str, float]) -> Judged:
    """The plan with these variable values, in the scenario of `model` (a model, or one read
    into data): its objective (health counted by filling tranches in order), spend against the
    envelope (carrying savings where the instance does), outcome levels, each partner's loss and
    whether floors and stated limits are met."""
    if isinstance(model, Model):
        model = scenario(model)
    instance = model.instance
    years = model.years
    units = {key: _at(e, values) for key, e in model.units.items()}
    levels = {key: _at(e, values) for key, e in model.level.items()}
    spend = {year: _at(model.spend[year], values) for year in years}
    total = 0.0
    health_total = 0.0
    read = cast(Model, model)  # tranche_health reads only the instance
    for year in years:
        health = sum(
            tranche_health(read, iid, units[(iid, year)]) for iid in instance.interventions
        )
        health += sum(
            o.health_gain_per_event * (levels[(oid, year)] - o.baseline)
            for oid, o in instance.outcomes.items()
        )
        kind = instance.objective.kind
        if kind == "health_gain":
            term = health
        elif kind == "min_spend":
            term = spend[year]
        else:
            cost = _at(model.economic_cost[year], values)
            term = health - cost / (instance.objective.threshold or 1.0)
        total += instance.discount(year) * term
        health_total += instance.discount(year) * health
    envelope = model.envelope
    met = True
    if envelope is not None:
        carried = instance.savings.rule == "carry_forward"
        room = 0.0
        for year in years:
            room = (room if carried else 0.0) + envelope[year] - spend[year]
            met = met and _met(room, envelope[year])
    losses = {}
    limits_met = True
    for pid, partner in instance.partners.items():
        baseline = model.baseline_income[pid] - model.baseline_external_cost[pid]
        loss_limit, gain_cap = partner.limits(model.baseline_income[pid])
        for year in years:
            net = _at(model.net[(pid, year)], values)
            losses[(pid, year)] = baseline - net
            if loss_limit is not None:
                limits_met = limits_met and _met(loss_limit - (baseline - net), loss_limit)
            if gain_cap is not None:
                limits_met = limits_met and _met(gain_cap - (net - baseline), gain_cap)
    floors_met = {}
    for fid, floor in instance.floors.items():
        bound = instance.floor_bound(fid)
        for year in [floor.year] if floor.year is not None else years:
            level = levels[(floor.outcome, year)]
            slack = bound - level if floor.bound == "upper" else level - bound
            floors_met[(fid, year)] = _met(slack, bound)
    return Judged(
        objective=total,
        health=health_total,
        spend=sum(spend.values()),
        envelope=sum(envelope.values()) if envelope is not None else None,
        envelope_met=met,
        levels=levels,
        losses=losses,
        floors_met=floors_met,
        limits_met=limits_met,
    )


# --- planning ---------------------------------------------------------------------------------


def plan_under_risk(
    base: Instance,
    scenarios: Sequence[Instance],
    settings: RiskSettings | None = None,
    solver: SolverName = "highs",
    time_limit: float | None = None,
    labels: Sequence[str] | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> RiskPlan:
    """The plan that maximises the expected objective over equally likely `scenarios` under
    `settings`, beside the deterministic plan of `base`, both judged on the same scenarios.
    NoPlanError when no risk-aware plan exists; a deterministic plan that does not exist is
    reported as such. The scenarios' models are built as build_risk_model builds them (over
    `workers` processes or at `scheduler`), with the same plan whichever way."""
    settings = settings or RiskSettings()
    risk = build_risk_model(
        base, scenarios, settings, labels, workers=workers, scheduler=scheduler, progress=progress
    )
    master = risk.master
    solution = solve(master, solver, time_limit)
    if solution.status is not Status.OPTIMAL:
        raise NoPlanError(solution.status.value, _no_plan(risk, solution))
    values = dict(solution.values)

    reference = risk.reference
    deterministic = solve(reference, solver, time_limit, prices=False)
    det_values = dict(deterministic.values) if deterministic.status is Status.OPTIMAL else None
    judged = {"risk_aware": [judge(m, values) for m in risk.scenarios]}
    if det_values is not None:
        judged["deterministic"] = [judge(m, det_values) for m in risk.scenarios]
    message = "" if det_values is not None else no_plan_message(reference, deterministic)
    return RiskPlan(
        summary=_summary(risk, solution, deterministic, judged, message),
        allocation=_allocation(master, values, det_values),
        partners=_partners(risk, judged),
        floors=_floors(risk, judged),
        scenarios=_scenario_table(risk, judged),
        shadow_prices=_shadow_prices(master, solution),
    )


def _no_plan(risk: RiskModel, solution: Solution) -> str:
    """Why there is no risk-aware plan, naming where each kind of rule had to hold."""
    name = risk.master.instance.name
    count = len(risk.scenarios)
    if solution.status is not Status.INFEASIBLE:
        return no_plan_message(risk.master, solution).replace(
            f"No plan for '{name}'", f"No risk-aware plan for '{name}' over {count} scenarios"
        )
    settings = risk.settings
    every = ["capacities, ramps, make-or-buy and outcome limits"]
    mean: list[str] = []
    kinds = [("the envelope", settings.envelope, "--envelope"),
             ("partners' stated limits", settings.limits, "--limits"),
             ("the floors", settings.floors, "--floors")]  # fmt: skip
    for words, mode, _ in kinds:
        (every if mode == "every" else mean).append(words)
    every += [f"floor {f}" for f, m in settings.floor_modes.items() if m == "every"]
    mean += [f"floor {f}" for f, m in settings.floor_modes.items() if m == "expectation"]
    if risk.cvar_limits:
        mean.append("the CVaR limits")
    together = "; ".join(
        [f"in every scenario: {', '.join(every)}"]
        + ([f"over the scenarios: {', '.join(mean)}"] if mean else [])
    )
    advice = [f"{option} expectation" for _, mode, option in kinds if mode == "every"]
    fix = "loosen a CVaR limit, " if risk.cvar_limits else ""
    fix += f"state rules on average ({', '.join(advice)}), " if advice else ""
    return (
        f"No risk-aware plan for '{name}' over {count} scenarios: infeasible: no single plan "
        f"meets these rules together ({together}); {fix}or use planner diagnose on the "
        "scenario that is hardest to meet."
    )


def _mean_of(values: Iterable[float]) -> float:
    items = list(values)
    return clean(sum(items) / len(items))


def _summary(
    risk: RiskModel,
    solution: Solution,
    deterministic: Solution,
    judged: dict[str, list[Judged]],
    message: str,
) -> dict[str, Any]:
    master = risk.master
    instance = master.instance
    settings = risk.settings
    expected = _mean_of(j.objective for j in judged["risk_aware"])
    det = judged.get("deterministic")
    det_objective = _mean_of(j.objective for j in det) if det else None
    price = None
    if det_objective is not None:
        price = (
            difference(det_objective, expected)
            if master.maximise
            else difference(expected, det_objective)
        )
    money = instance.currency_symbol
    summary = {
        "instance": instance.name,
        "title": instance.title or instance.name,
        "solver": solution.solver,
        "status": solution.status.value,
        "scenarios": len(risk.scenarios),
        "alpha": settings.alpha,
        "floors": settings.floors,
        "floor_modes": ", ".join(f"{f}={m}" for f, m in settings.floor_modes.items()),
        "limits": settings.limits,
        "envelope": settings.envelope,
        "cvar_limits": ", ".join(f"{p}={money}{x:,.0f}" for p, x in risk.cvar_limits.items()),
        "objective_kind": instance.objective.kind,
        "objective_words": OBJECTIVE_WORDS[instance.objective.kind],
        "objective_unit": objective_unit(instance),
        "objective": clean(solution.objective or 0.0),
        "expected_health_gain": _mean_of(j.health for j in judged["risk_aware"]),
        "deterministic_status": deterministic.status.value,
        "deterministic_objective": det_objective,
        "deterministic_health_gain": _mean_of(j.health for j in det) if det else None,
        "price_of_risk_aversion": price,
        "problem": "MILP" if solution.choices else "LP",
        "yes_no_choices": solution.choices,
        "prices_from": solution.prices_from,
        "variables": master.problem.numVariables(),
        "constraints": master.problem.numConstraints(),
        "currency": instance.currency,
        "message": message,
    }
    return {name: summary[name] for name in SUMMARY_FIELDS}


def _allocation(
    master: Model, values: Mapping[str, float], det_values: Mapping[str, float] | None
) -> pd.DataFrame:
    rows = []
    for (iid, year), expression in master.units.items():
        item = master.instance.interventions[iid]
        units = clean(_value(expression, values))
        det = clean(_value(expression, det_values)) if det_values is not None else None
        rows.append(
            {
                "intervention": iid,
                "name": item.name,
                "year": year,
                "unit": item.unit,
                "baseline_units": item.baseline_units,
                "units": units,
                "deterministic_units": det,
                "difference": difference(units, det) if det is not None else None,
            }
        )
    return pd.DataFrame(rows, columns=ALLOCATION_COLUMNS)


def _partners(risk: RiskModel, judged: dict[str, list[Judged]]) -> pd.DataFrame:
    master = risk.master
    alpha = risk.settings.alpha
    rows = []
    for plan, outcomes in judged.items():
        for pid, partner in master.instance.partners.items():
            max_loss, _ = partner.limits(master.baseline_income[pid])
            limit = risk.cvar_limits.get(pid)
            for year in master.years:
                losses = [j.losses[(pid, year)] for j in outcomes]
                tail = clean(cvar(losses, alpha))
                within = []
                for j, model in zip(outcomes, risk.scenarios, strict=True):
                    stated, _ = model.instance.partners[pid].limits(model.baseline_income[pid])
                    if stated is not None:
                        within.append(float(_met(stated - j.losses[(pid, year)], stated)))
                rows.append(
                    {
                        "plan": plan,
                        "partner": pid,
                        "name": partner.name,
                        "year": year,
                        "expected_loss": _mean_of(losses),
                        "cvar": tail,
                        "worst_loss": clean(max(losses)),
                        "alpha": alpha,
                        "cvar_limit": limit,
                        "within_cvar_limit": _met(limit - tail, limit)
                        if limit is not None
                        else None,
                        "max_loss": max_loss,
                        "p_within_max_loss": _mean_of(within) if within else None,
                    }
                )
    return pd.DataFrame(rows, columns=PARTNER_COLUMNS)


def _floors(risk: RiskModel, judged: dict[str, list[Judged]]) -> pd.DataFrame:
    master = risk.master
    instance = master.instance
    rows = []
    for plan, outcomes in judged.items():
        for fid, floor in instance.floors.items():
            outcome = instance.outcomes[floor.outcome]
            for year in [floor.year] if floor.year is not None else master.years:
                levels = [j.levels[(floor.outcome, year)] for j in outcomes]
                bounds = [m.instance.floor_bound(fid) for m in risk.scenarios]
                worst = max(levels) if floor.bound == "upper" else min(levels)
                rows.append(
                    {
                        "plan": plan,
                        "floor": fid,
                        "outcome": floor.outcome,
                        "name": outcome.name,
                        "year": year,
                        "bound_type": floor.bound,
                        "mode": risk.settings.mode("outcome_floor", (fid, year)),
                        "expected_bound": _mean_of(bounds),
                        "expected_level": _mean_of(levels),
                        "worst_level": clean(worst),
                        "p_met": _mean_of(float(j.floors_met[(fid, year)]) for j in outcomes),
                    }
                )
    return pd.DataFrame(rows, columns=FLOOR_COLUMNS)


def _scenario_table(risk: RiskModel, judged: dict[str, list[Judged]]) -> pd.DataFrame:
    rows = []
    for index, label in enumerate(risk.labels):
        for plan, outcomes in judged.items():
            j = outcomes[index]
            rows.append(
                {
                    "scenario": label,
                    "plan": plan,
                    "objective": clean(j.objective),
                    "health_gain": clean(j.health),
                    "spend": clean(j.spend),
                    "envelope": j.envelope,
                    "envelope_met": j.envelope_met,
                    "floors_met": all(j.floors_met.values()),
                    "limits_met": j.limits_met,
                }
            )
    return pd.DataFrame(rows, columns=SCENARIO_COLUMNS)


def _shadow_prices(master: Model, solution: Solution) -> pd.DataFrame:
    unit = objective_unit(master.instance)
    money = master.money()
    rows = []
    for key, (rule, _) in master.registry.items():
        dual = clean(solution.duals[key])
        change = -dual if rule.sense == ">=" else dual
        value = clean((change if master.maximise else -change) * rule.per)
        family, scenario, own = rule.family, "", rule.key
        if family.endswith(EVERY):
            family, scenario, own = family.removesuffix(EVERY), str(rule.key[-1]), rule.key[:-1]
        elif family.endswith(MEAN):
            family, scenario = family.removesuffix(MEAN), "mean"
        elif family == CVAR_TAIL:
            scenario = str(rule.key[-1])
        off = choice_is_off(master, family, own)  # an option or service the plan leaves off
        if value == 0:
            words = "not binding: relaxing it would not improve the plan"
        elif off:
            words = NOT_CHOSEN
        elif rule.family == CVAR_LIMIT:
            who = master.instance.partners[rule.subject].name
            amount = _amount(master, value, unit)
            words = (
                f"letting the CVaR of {who}'s loss in {rule.year} be {money}{rule.per:,.0f} "
                f"higher would {amount}"
            )
        elif rule.family == CVAR_TAIL:
            who = master.instance.partners[rule.subject].name
            amount = _amount(master, value, unit)
            words = (
                f"scenario {scenario} is in the tail of {who}'s loss in {rule.year}: a loss "
                f"{money}{rule.per:,.0f} smaller there would {amount}"
            )
        else:
            words = explain_price(master, family, rule.subject, rule.year, rule.unit, rule.per,
                             value, unit)  # fmt: skip
            if scenario == "mean":
                words += " (the rule on average over the scenarios)"
            elif scenario:
                words += f" (the rule in scenario {scenario} alone)"
        rows.append(
            {
                "family": rule.family,
                "constraint": rule.name,
                "subject": rule.subject,
                "year": rule.year,
                "scenario": scenario,
                "rule": rule.rule,
                "sense": rule.sense,
                "unit": rule.unit,
                "dual": dual,
                "per": rule.per,
                "value_of_relaxing": value,
                "objective_unit": unit,
                "binding": value != 0 and not off,
                "explanation": words,
            }
        )
    return pd.DataFrame(rows, columns=SHADOW_PRICE_COLUMNS)


def _amount(master: Model, value: float, unit: str) -> str:
    if master.maximise:
        return f"add {value:,.4g} {unit}"
    return f"save {master.money()}{value:,.2f}"


# --- terminal ---------------------------------------------------------------------------------


def print_risk(plan: RiskPlan, console: Console | None = None) -> None:
    """The risk-aware plan beside the deterministic one: objective, allocation, partners' loss
    distributions, floors and the prices that bind."""
    from planner.report import money, number, terminal_table

    console = console or Console()
    s = plan.summary
    currency = s["currency"]
    unit = s["objective_unit"]

    def shown(value: Any) -> str:
        if value is None:
            return "no plan"
        if s["objective_kind"] == "min_spend":
            return money(value, currency)
        return f"{number(value, 6)} {unit}"

    console.print(
        f"\n[bold]{escape(s['title'])}[/bold]  (risk-aware over {s['scenarios']} equally "
        f"likely scenarios, solver {s['solver']}, {s['status']}, {s['problem']})",
        markup=True,
    )
    limits = (
        f"; CVaR limits at alpha {s['alpha']:g}: {s['cvar_limits']}" if s["cvar_limits"] else ""
    )
    overrides = f" ({s['floor_modes']})" if s["floor_modes"] else ""
    console.print(
        f"Floors: {s['floors']}{overrides}; partners' stated limits: {s['limits']}; "
        f"envelope: {s['envelope']}{limits}",
        soft_wrap=True,
        markup=False,
    )
    price = s["price_of_risk_aversion"]
    console.print(
        f"Expected {escape(s['objective_words'])}: risk-aware "
        f"[bold]{escape(shown(s['objective']))}[/bold]; the deterministic plan on the same "
        f"scenarios {escape(shown(s['deterministic_objective']))}"
        + (f"; price of risk-aversion {escape(shown(price))}" if price is not None else ""),
        soft_wrap=True,
        markup=True,
    )
    if s["message"]:
        console.print(
            f"Deterministic plan: {s['message']}", soft_wrap=True, highlight=False, markup=False
        )

    table = terminal_table(
        "Allocation: units a year",
        ["intervention", "year", "baseline", "risk-aware", "deterministic", "difference"],
    )
    for _, row in plan.allocation.iterrows():
        r: Any = row
        det = 0.0 if pd.isna(r["deterministic_units"]) else float(r["deterministic_units"])
        if max(abs(r["units"]), abs(det)) <= TOLERANCE:
            continue
        table.add_row(str(r["intervention"]), str(r["year"]), number(r["baseline_units"]),
                      number(r["units"]), number(r["deterministic_units"]),
                      number(r["difference"]))  # fmt: skip
    console.print(table)

    partners = _by_plan(plan.partners, ["partner", "year"])
    table = terminal_table(
        f"Partners' loss a year across the scenarios (CVaR at alpha {s['alpha']:g}): "
        "risk-aware | deterministic",
        ["partner", "year", "max loss", "CVaR limit", "expected", "CVaR", "P(within max)",
         "expected", "CVaR", "P(within max)"],
    )  # fmt: skip
    for (pid, year), pair in partners.items():
        first = next(iter(pair.values()))
        cells = [str(pid), str(year), money(first["max_loss"], currency),
                 money(first["cvar_limit"], currency)]  # fmt: skip
        for name in PLANS:
            r = pair.get(name)
            cells += (
                [money(r["expected_loss"], currency), money(r["cvar"], currency),
                 _share(r["p_within_max_loss"])]
                if r is not None else ["", "", ""]
            )  # fmt: skip
        table.add_row(*cells)
    console.print(table)

    if len(plan.floors):
        table = terminal_table(
            "Floors across the scenarios: risk-aware | deterministic",
            ["floor", "year", "mode", "bound", "expected level", "P(met)", "expected level",
             "P(met)"],
        )  # fmt: skip
        for (fid, year), pair in _by_plan(plan.floors, ["floor", "year"]).items():
            first = next(iter(pair.values()))
            cells = [str(fid), str(year), str(first["mode"]), number(first["expected_bound"])]
            for name in PLANS:
                r = pair.get(name)
                cells += (
                    [number(r["expected_level"]), _share(r["p_met"])] if r is not None else ["", ""]
                )
            table.add_row(*cells)
        console.print(table)

    binding = plan.shadow_prices[plan.shadow_prices["binding"].astype(bool)]
    binding = binding[binding["family"] != CVAR_TAIL]
    if len(binding):
        # a rule stated in each scenario is shown once: in how many scenarios it binds, and
        # what relaxing it in all of them at once is worth (the sum of its prices)
        grouped: dict[tuple[Any, ...], list[Any]] = {}
        for _, r in binding.iterrows():
            each = str(r["family"]).endswith(EVERY)
            family = str(r["family"]).removesuffix(EVERY)
            key = (family, r["subject"], r["year"], each)
            grouped.setdefault(key, []).append(r)
        table = terminal_table(
            "Rules that bind", ["rule", "subject", "year", "where", "relaxed by", "worth"]
        )
        for (family, subject, year, each), rows in grouped.items():
            first = rows[0]
            step = money(first["per"], currency) if first["per"] != 1 else f"1 {first['unit']}"
            where = (
                f"{len(rows)} of {s['scenarios']} scenarios"
                if each
                else ("on average" if first["scenario"] == "mean" else "")
            )
            worth = sum(float(r["value_of_relaxing"]) for r in rows)
            table.add_row(str(family), str(subject), str(year), where, step,
                          f"{number(worth)} {first['objective_unit']}")  # fmt: skip
        console.print(table)
        console.print(
            f"Prices come from {s['prices_from']}, per unit of the expected objective; a rule "
            "stated in each scenario is worth the sum of its scenarios' prices.",
            markup=False,
        )


def _by_plan(frame: pd.DataFrame, keys: list[str]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows grouped by `keys` (in order), each group's rows by plan."""
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for _, row in frame.iterrows():
        grouped.setdefault(tuple(row[k] for k in keys), {})[str(row["plan"])] = row
    return grouped


def _share(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{value:.0%}"
