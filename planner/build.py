"""Build: the linear programme of a validated instance.

Variables are units of each intervention in each plan year (split into tranches where returns
diminish) and money carried into the next year. Every constraint family is one function below,
called in the order of FAMILIES (the model's table of contents); every row is named by one helper
and held in the registry with its business meaning, so each shadow price can be explained.
"""

from __future__ import annotations

import itertools
import math
from array import array
from collections.abc import (
    Callable,
    ItemsView,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
    Sequence,
    ValuesView,
)
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import pulp

from planner.expressions import Expressions, Variables
from planner.schema import Effect, Instance, Intervention

Sense = Literal["<=", ">=", "=="]
Key = tuple[str | int, ...]
MONEY_SCALE = 100_000.0  # shadow prices on money rows are reported per £100k


@dataclass(frozen=True)
class Rule:
    """What one named row means: its family, business key, the rule in words and its units."""

    family: str
    key: Key
    name: str
    sense: Sense
    rule: str
    subject: str
    year: int | None
    unit: str  # unit of the right-hand side
    per: float = 1.0  # shadow prices are reported per this many units of the right-hand side
    rhs: float = 0.0  # the right-hand side as the rule states it (before PuLP moves constants)


RowKey = tuple[str, Key]  # (family, business key): a row of the registry
NO_YEAR = -(2**63)  # a rule without a year, in the registry's column of years


class Registry(MutableMapping[RowKey, tuple[Rule, pulp.LpConstraint]]):
    """The model's rows by (family, business key) in the order written, each with its Rule and
    its PuLP constraint: a dict's behaviour, stored column-wise.

    A row costs about 130 bytes here (its key's parts, its words as UTF-8, a few numbers and
    a code for what its family's rows share) instead of a Rule object, a tuple and a handle
    (about 700 bytes: 2.2 GB at 3 million rows). The Rule and the constraint handle are made
    when a row is read: each read gives an equal Rule and a new handle on the same row of the
    problem; the keys are made once, on the first pass over them (a solve's duals are keyed by
    them). Writing a key that is there replaces its Rule and row in place, as a dict does; a
    Rule must sit under its own key.
    """

    def __init__(self, problem: pulp.LpProblem) -> None:
        self._problem = problem
        # what many rows share: (family, name prefix, sense, unit, per), each row a code into it
        self._kinds: list[tuple[str, str, Sense, str, float]] = []
        self._kind_code: dict[tuple[str, str, Sense, str, float], int] = {}
        self._kind = array("I")
        self._parts: list[str | int] = []  # every key's parts, one after the other
        self._key_end = array("I")  # where each row's key ends in _parts (under 2**32 parts)
        self._text = bytearray()  # every row's words, UTF-8, one after the other
        self._words_end = array("Q")  # where each row's words end in _text
        self._rewritten: dict[int, str] = {}  # words written again, which replace a row's
        self._subject: list[str] = []
        self._year = array("q")  # NO_YEAR for None
        self._rhs = array("d")
        self._row = array("I")  # the row's position in PuLP's model
        self._named: dict[int, str] = {}  # names not row_name(prefix, *key)
        self._index: dict[RowKey, int] | None = None  # made on the first look-up by key
        self._keys: list[RowKey] | None = None  # made on the first pass over the keys
        self._handles: list[Any] = []  # PuLP's constraint handles, fetched on a look-up

    def add(
        self,
        family: str,
        key: Key,
        prefix: str,
        sense: Sense,
        words: str,
        subject: str,
        year: int | None,
        unit: str,
        per: float,
        rhs: float,
        row: int,
        name: str | None = None,
    ) -> None:
        """Register row `row` of the problem: the Rule with these fields, named `name` (None:
        row_name(prefix, *key), as Model.add names every row)."""
        i = len(self._kind)
        if self._index is not None:
            if (family, key) in self._index:
                raise ValueError(f"row {name or row_name(prefix, *key)} is registered twice")
            self._index[(family, key)] = i
        if self._keys is not None:
            self._keys.append((family, key))
        self._kind.append(self._code(family, prefix, sense, unit, per))
        self._parts.extend(key)
        self._key_end.append(len(self._parts))
        self._text += words.encode("utf-8", "surrogatepass")
        self._words_end.append(len(self._text))
        self._subject.append(subject)
        self._year.append(NO_YEAR if year is None else year)
        self._rhs.append(rhs)
        self._row.append(row)
        if name is not None and name != row_name(prefix, *key):
            self._named[i] = name

    def _code(self, family: str, prefix: str, sense: Sense, unit: str, per: float) -> int:
        kind = (family, prefix, sense, unit, per)
        code = self._kind_code.get(kind)
        if code is None:
            code = self._kind_code[kind] = len(self._kinds)
            self._kinds.append((family, prefix, sense, unit, float(per)))  # per 1 reads as 1.0
        return code

    def _key(self, i: int) -> Key:
        return tuple(self._parts[self._key_end[i - 1] if i else 0 : self._key_end[i]])

    def _words(self, i: int) -> str:
        """The i-th row's words: those after the row before's, unless they were written again."""
        if i in self._rewritten:
            return self._rewritten[i]
        start = self._words_end[i - 1] if i else 0
        return self._text[start : self._words_end[i]].decode("utf-8", "surrogatepass")

    def rule(self, i: int) -> Rule:
        """The Rule of the i-th row."""
        family, prefix, sense, unit, per = self._kinds[self._kind[i]]
        key = self._key(i)
        year = self._year[i]
        name = self._named[i] if i in self._named else row_name(prefix, *key)
        return Rule(
            family, key, name, sense, self._words(i),
            self._subject[i], None if year == NO_YEAR else year, unit, per, self._rhs[i],
        )  # fmt: skip

    def _position(self, key: RowKey) -> int:
        if self._index is None:
            index = {k: i for i, k in enumerate(self)}
            if len(index) != len(self):
                raise ValueError("a row is registered twice")
            self._index = index
        return self._index[key]

    def _handle(self, i: int) -> pulp.LpConstraint:
        row = self._row[i]
        if row >= len(self._handles):
            self._handles = self._problem.toRustModel().list_constraints()
        return pulp.LpConstraint(self._handles[row])

    def __getitem__(self, key: RowKey) -> tuple[Rule, pulp.LpConstraint]:
        i = self._position(key)
        return self.rule(i), self._handle(i)

    def __setitem__(self, key: RowKey, value: tuple[Rule, pulp.LpConstraint]) -> None:
        rule, constraint = value
        if (rule.family, rule.key) != key:
            raise ValueError(f"rule {rule.name} registered under {key}, not its own key")
        prefix = rule.name[: -len(row_name("", *rule.key))] or rule.family
        try:
            i = self._position(key)
        except KeyError:
            self.add(
                rule.family, rule.key, prefix, rule.sense, rule.rule, rule.subject, rule.year,
                rule.unit, rule.per, rule.rhs, constraint.id, rule.name,
            )  # fmt: skip
            return
        self._kind[i] = self._code(rule.family, prefix, rule.sense, rule.unit, rule.per)
        if rule.rule != self._words(i):
            self._rewritten[i] = rule.rule
        self._subject[i] = rule.subject
        self._year[i] = NO_YEAR if rule.year is None else rule.year
        self._rhs[i], self._row[i] = rule.rhs, constraint.id
        self._named.pop(i, None)
        if rule.name != row_name(prefix, *rule.key):
            self._named[i] = rule.name

    def __delitem__(self, key: RowKey) -> None:
        raise TypeError("rows are not removed from a model's registry")

    def __len__(self) -> int:
        return len(self._kind)

    def __iter__(self) -> Iterator[RowKey]:
        if self._keys is None:  # once: a solve reads every row's key (its dual's)
            kinds = self._kinds
            self._keys = [(kinds[self._kind[i]][0], self._key(i)) for i in range(len(self))]
        return iter(self._keys)

    def __contains__(self, key: object) -> bool:
        try:
            self._position(key)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return False
        return True

    def rules(self) -> Iterator[Rule]:
        """Every row's Rule, in order."""
        return map(self.rule, range(len(self)))

    def duals(self) -> Iterator[tuple[RowKey, float]]:
        """Every row's key and dual value as the solver left it (0.0 for none), in order: read
        from PuLP's rows by position, without a handle or a Rule per row."""
        handles = self._problem.toRustModel().list_constraints()
        return zip(self, (float(handles[row].pi or 0.0) for row in self._row), strict=True)

    def rows(self) -> Iterator[tuple[RowKey, Rule, pulp.LpConstraint]]:
        """Every row's key, Rule and constraint, in order (PuLP's rows fetched once)."""
        handles = self._problem.toRustModel().list_constraints()
        for i, key in enumerate(self):
            yield key, self.rule(i), pulp.LpConstraint(handles[self._row[i]])

    def items(self) -> _Items:
        return _Items(self)

    def values(self) -> _Values:
        return _Values(self)


class _Items(ItemsView[RowKey, tuple[Rule, pulp.LpConstraint]]):
    """A registry's items, read in order in one pass."""

    _mapping: Registry

    def __iter__(self) -> Iterator[tuple[RowKey, tuple[Rule, pulp.LpConstraint]]]:
        return ((key, (rule, row)) for key, rule, row in self._mapping.rows())


class _Values(ValuesView[tuple[Rule, pulp.LpConstraint]]):
    """A registry's values, read in order in one pass."""

    _mapping: Registry

    def __iter__(self) -> Iterator[tuple[Rule, pulp.LpConstraint]]:
        return ((rule, row) for _, rule, row in self._mapping.rows())


@dataclass
class Model:
    """A built planning LP (or MILP) and everything needed to read its solution in business terms.

    `options` holds units bought through each supply option, `chosen` the yes/no choice of an
    option (where one is needed), `opened` a shared service's, `funded` an indivisible
    programme's, `starts` the start of each choice with a set-up cost; `option_cost` and
    `service_cost` are what each option and shared service costs in a year.
    """

    instance: Instance
    problem: pulp.LpProblem
    units: Mapping[tuple[str, int], pulp.LpAffineExpression]
    unit_variables: Mapping[tuple[str, int], list[pulp.LpVariable]]
    carry: dict[int, pulp.LpVariable]
    level: Mapping[tuple[str, int], pulp.LpAffineExpression]
    spend: Mapping[int, pulp.LpAffineExpression]
    economic_cost: Mapping[int, pulp.LpAffineExpression]
    health: Mapping[int, pulp.LpAffineExpression]
    income: Mapping[tuple[str, int], pulp.LpAffineExpression]
    external_cost: Mapping[tuple[str, int], pulp.LpAffineExpression]
    baseline_income: dict[str, float]
    baseline_external_cost: dict[str, float]
    envelope: dict[int, float] | None
    options: dict[tuple[str, str, int], pulp.LpVariable]
    chosen: dict[tuple[str, str, int], pulp.LpVariable]
    opened: dict[tuple[str, int], pulp.LpVariable]
    funded: dict[tuple[str, int], pulp.LpVariable]
    starts: dict[tuple[str, ...], dict[int, pulp.LpVariable]]
    option_cost: Mapping[tuple[str, str, int], pulp.LpAffineExpression]
    service_cost: Mapping[tuple[str, int], pulp.LpAffineExpression]
    registry: Registry = field(init=False)

    def __post_init__(self) -> None:
        self.registry = Registry(self.problem)

    @property
    def maximise(self) -> bool:
        return self.instance.objective.kind != "min_spend"

    @cached_property
    def years(self) -> list[int]:
        """The plan years, read once: Instance.plan_years makes new year numbers at every read,
        and every row's key in the registry would hold its own."""
        return self.instance.plan_years

    @property
    def choices(self) -> list[pulp.LpVariable]:
        """Every yes/no variable: option choices, shared services opened, programmes funded."""
        return [*self.chosen.values(), *self.opened.values(), *self.funded.values()]

    def add(
        self,
        family: str,
        key: Key,
        sense: Sense,
        rule: str,
        lhs: pulp.LpAffineExpression,
        rhs: float,
        *,
        subject: str,
        year: int | None,
        unit: str,
        per: float = 1.0,
        prefix: str | None = None,
    ) -> None:
        """Add the row `lhs <sense> rhs`, named `prefix__key` (default prefix: the family)."""
        name = row_name(prefix or family, *key)
        if sense == "<=":
            row = lhs <= rhs
        elif sense == ">=":
            row = lhs >= rhs
        else:
            row = lhs == rhs
        inner = row._expr  # PuLP's Rust row
        # PuLP's addConstraint refuses a row with a number that is not finite, checking each
        # in a Python loop (a third of a row's cost at 1e3 columns); one sum is not finite
        # exactly when a number is not, or when the sum passes 1e308, where PuLP is left to say
        if math.isfinite(sum(inner.values(), inner.constant)):
            constraint = self.problem.toRustModel().add_constraint(inner)
        else:
            constraint = self.problem.addConstraint(row)._constr
        # named as PuLP's addConstraint(row, name) names it, which passes every name through
        # str.translate (4 us a row, half its cost); an identifier has none of the characters
        # it replaces, so only another name goes through it
        constraint.set_name(name if name.isidentifier() else name.translate(row.trans))
        self.registry.add(
            family, key, prefix or family, sense, rule, subject, year, unit, per, float(rhs),
            constraint.id(),
        )  # fmt: skip

    def money(self) -> str:
        return self.instance.currency_symbol


def row_name(family: str, *key: str | int) -> str:
    """The one way rows are named: family and business key joined by double underscores."""
    return "__".join([family, *[str(part) for part in key]])  # twice as fast as map(str, key)


def affine(
    pairs: Iterable[tuple[pulp.LpVariable, float]], constant: float = 0.0
) -> pulp.LpAffineExpression:
    """Sum of coefficient x variable terms (zero coefficients dropped) plus a constant.

    The variables are one problem's and the coefficients finite (instance numbers are validated
    finite; PuLP checks every row's again as it is added): PuLP's from_list checks neither,
    which makes it twice as fast as lpSum_vars_coefs, with the same terms in the same order.
    """
    terms = [(var, coef) for var, coef in pairs if coef != 0]
    return pulp.LpAffineExpression.from_list(terms, constant or 0.0)  # never a constant of -0.0


def needs_choice(instance: Instance, iid: str, oid: str) -> bool:
    """An option needs a yes/no variable when the choice is exclusive between several options,
    or when using it costs a fixed or set-up amount, commits to a minimum volume, or draws on a
    shared service."""
    item = instance.interventions[iid]
    option = item.offered()[oid]
    exclusive = item.supply is not None and item.supply.choice == "exclusive"
    return (
        (exclusive and len(item.offered()) > 1)
        or option.fixed_cost > 0
        or option.setup_cost > 0
        or bool(option.min_volume)
        or option.shared is not None
    )


def option_bound(instance: Instance, iid: str, oid: str) -> float | None:
    """Most units an option can supply in a year: the smallest of its capacity, the
    intervention's max_units and its shared service's capacity (None if none is given)."""
    item = instance.interventions[iid]
    option = item.offered()[oid]
    service = instance.shared_services.get(option.shared or "")
    given = [option.capacity, item.max_units, service.capacity if service is not None else None]
    bounds = [b for b in given if b is not None]
    return min(bounds) if bounds else None


# --- variables and expressions ---------------------------------------------------------------

Series = dict[int, pulp.LpVariable]  # a yes/no variable by plan year
Payment = tuple[str | None, int, pulp.LpAffineExpression, bool]  # payee, year, amount, enveloped


@dataclass
class Choices:
    """The supply and yes/no variables of a model, before any row is written."""

    options: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)
    chosen: dict[tuple[str, str, int], pulp.LpVariable] = field(default_factory=dict)
    opened: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    funded: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    starts: dict[tuple[str, ...], dict[int, pulp.LpVariable]] = field(default_factory=dict)


def build(instance: Instance, families: Sequence[Callable[[Model], None]] | None = None) -> Model:
    """The model of `instance`: variables, expressions, the constraint families (default: every
    one in FAMILIES; a caller that states some rules itself, such as risk-aware planning over
    sampled scenarios, passes the others), the objective."""
    sense = pulp.LpMinimize if instance.objective.kind == "min_spend" else pulp.LpMaximize
    problem = pulp.LpProblem(instance.name, sense)
    years = instance.plan_years
    choices = _choice_variables(instance, problem)

    through_options: dict[tuple[str, int], list[pulp.LpVariable]] = {}  # (iid, year), in order
    for (iid, _, year), variable in choices.options.items():
        through_options.setdefault((iid, year), []).append(variable)
    unit_variables: dict[tuple[str, int], list[pulp.LpVariable]] = {}
    units: dict[tuple[str, int], pulp.LpAffineExpression] = {}
    health_terms: dict[int, list[tuple[pulp.LpVariable, float]]] = {year: [] for year in years}
    for iid, item in instance.interventions.items():
        for year in years:
            if item.tranches:
                variables = [
                    problem.add_variable(
                        row_name("units", iid, year, f"tranche{j + 1}"), 0, t.units
                    )
                    for j, t in enumerate(item.tranches)
                ]
                gains = [t.health_gain for t in item.tranches]
            elif item.supply is not None:
                variables = through_options.get((iid, year), [])
                gains = [item.health_gain] * len(variables)
            else:
                variables = [problem.add_variable(row_name("units", iid, year), 0, None)]
                gains = [item.health_gain]
            unit_variables[(iid, year)] = variables
            units[(iid, year)] = affine((v, 1.0) for v in variables)
            health_terms[year].extend(zip(variables, gains, strict=True))

    # outcome levels: baseline + effect x (units bought `lag` years earlier - baseline units)
    effects_on: dict[str, list[tuple[str, Intervention, list[Effect]]]] = {}
    for iid, item in instance.interventions.items():  # in the interventions' order
        for oid in item.effects:
            effects_on.setdefault(oid, []).append((iid, item, item.effect_list(oid)))
    level: dict[tuple[str, int], pulp.LpAffineExpression] = {}
    for oid, outcome in instance.outcomes.items():
        for t, year in enumerate(years, start=1):
            pairs: list[tuple[pulp.LpVariable, float]] = []
            constant = outcome.baseline
            for iid, item, effects in effects_on.get(oid, []):
                for effect in effects:
                    if t - effect.lag < 1:
                        continue
                    source_year = years[t - effect.lag - 1]
                    pairs += [(v, effect.per_unit) for v in unit_variables[(iid, source_year)]]
                    constant -= effect.per_unit * item.baseline_units
            level[(oid, year)] = affine(pairs, constant)

    option_cost, service_cost = _supply_costs(instance, choices)
    payments = _payments(instance, units, level, option_cost, service_cost)
    paid_in: dict[int, list[Payment]] = {year: [] for year in years}
    for payment in payments:
        paid_in[payment[1]].append(payment)
    spend = {
        year: pulp.lpSum([a for _, _, a, enveloped in paid_in[year] if enveloped]) for year in years
    }
    economic_cost = {
        year: _economic_cost(instance, units, paid_in[year], spend[year], year) for year in years
    }
    health: dict[int, pulp.LpAffineExpression] = {}
    for year in years:
        outcome_health = pulp.lpSum(
            o.health_gain_per_event * (level[(oid, year)] - o.baseline)
            for oid, o in instance.outcomes.items()
            if o.health_gain_per_event
        )
        health[year] = affine(health_terms[year]) + outcome_health

    envelope = instance.envelope_by_year()
    carry = {
        year: problem.add_variable(row_name("carry", year), 0, None)
        for year in years
        if envelope is not None and instance.savings.rule == "carry_forward"
    }
    income, external_cost, baseline_income, baseline_external = _partner_money(
        instance, payments, level, spend, envelope
    )
    model = Model(
        instance=instance,
        problem=problem,
        units=units,
        unit_variables=unit_variables,
        carry=carry,
        level=level,
        spend=spend,
        economic_cost=economic_cost,
        health=health,
        income=income,
        external_cost=external_cost,
        baseline_income=baseline_income,
        baseline_external_cost=baseline_external,
        envelope=envelope,
        options=choices.options,
        chosen=choices.chosen,
        opened=choices.opened,
        funded=choices.funded,
        starts=choices.starts,
        option_cost=option_cost,
        service_cost=service_cost,
    )
    for add_family in FAMILIES if families is None else families:
        add_family(model)
    problem.setObjective(objective(model))
    _keep_as_arrays(model)
    return model


EXPRESSIONS = ("units", "level", "spend", "economic_cost", "health", "income", "external_cost",
               "option_cost", "service_cost")  # fmt: skip


def _keep_as_arrays(model: Model) -> None:
    """Keep the model's named expressions as arrays (planner/expressions.py) once its rows and
    objective are written: from here they are only read, and PuLP's objects with the variables'
    handles hold five times the memory. The unit variables are read from the units' terms (each
    unit sum is theirs)."""
    units = Expressions(model.problem, model.units)
    model.units, model.unit_variables = units, Variables(units)
    for name in EXPRESSIONS:
        if name != "units":
            setattr(model, name, Expressions(model.problem, getattr(model, name)))


def _choice_variables(instance: Instance, problem: pulp.LpProblem) -> Choices:
    """Units through each offered supply option in the years it is available, the yes/no choices
    they need, each shared service's open/closed, each indivisible programme's funded/not, and a
    start variable for every year after the first of each series with a set-up cost."""
    choices = Choices()
    for iid, item in instance.interventions.items():
        for oid, option in item.offered().items():
            series: Series = {}
            for year in instance.supply_years(option):
                choices.options[(iid, oid, year)] = problem.add_variable(
                    row_name("units", iid, oid, year), 0, None
                )
                if needs_choice(instance, iid, oid):
                    series[year] = problem.add_variable(
                        row_name("choose", iid, oid, year), 0, 1, "Binary"
                    )
                    choices.chosen[(iid, oid, year)] = series[year]
            if option.setup_cost and series:
                choices.starts[(iid, oid)] = _start_variables(problem, series, ("start", iid, oid))
    drawn_on = {
        o.shared for item in instance.interventions.values() for o in item.offered().values()
    }
    for sid, service in instance.shared_services.items():
        if sid not in drawn_on:
            continue
        series = {
            year: problem.add_variable(row_name("open", sid, year), 0, 1, "Binary")
            for year in instance.option_years(service.first_year)
        }
        choices.opened.update({(sid, year): on for year, on in series.items()})
        if service.setup_cost and series:
            choices.starts[(sid,)] = _start_variables(problem, series, ("start", sid))
    for iid, item in instance.interventions.items():
        if item.indivisible:
            for year in instance.plan_years:
                choices.funded[(iid, year)] = problem.add_variable(
                    row_name("fund", iid, year), 0, 1, "Binary"
                )
    return choices


def _start_variables(
    problem: pulp.LpProblem, series: Series, name: tuple[str, ...]
) -> dict[int, pulp.LpVariable]:
    """Whether the series starts in a year: the yes/no itself in its first year, afterwards a
    [0, 1] variable that add_setup_starts pins to on[t] and not on[t-1]."""
    years = sorted(series)
    starts = {years[0]: series[years[0]]}
    for year in years[1:]:
        starts[year] = problem.add_variable(row_name(*name, year), 0, 1)
    return starts


def _supply_costs(
    instance: Instance, choices: Choices
) -> tuple[
    dict[tuple[str, str, int], pulp.LpAffineExpression],
    dict[tuple[str, int], pulp.LpAffineExpression],
]:
    """What each option and shared service costs in a year: unit price x units, plus the fixed
    cost in every year it is used, plus the set-up cost in the year it starts."""
    option_cost = {}
    for (iid, oid, year), units in choices.options.items():
        option = instance.interventions[iid].offered()[oid]
        on = choices.chosen.get((iid, oid, year))
        start = choices.starts.get((iid, oid), {}).get(year)
        pairs = [(units, option.unit_price)]
        pairs += [(on, option.fixed_cost)] if on is not None else []
        pairs += [(start, option.setup_cost)] if start is not None else []
        option_cost[(iid, oid, year)] = affine(pairs)
    service_cost = {}
    for (sid, year), on in choices.opened.items():
        service = instance.shared_services[sid]
        start = choices.starts.get((sid,), {}).get(year)
        pairs = [(on, service.fixed_cost)]
        pairs += [(start, service.setup_cost)] if start is not None else []
        service_cost[(sid, year)] = affine(pairs)
    return option_cost, service_cost


def _payments(
    instance: Instance,
    units: dict[tuple[str, int], pulp.LpAffineExpression],
    level: dict[tuple[str, int], pulp.LpAffineExpression],
    option_cost: dict[tuple[str, str, int], pulp.LpAffineExpression],
    service_cost: dict[tuple[str, int], pulp.LpAffineExpression],
) -> list[Payment]:
    """Every payment of the plan: (payee, year, amount, paid out of the envelope).

    Units at price to whoever delivers them (the supply option's provider where options are
    given), shared services' costs to their hosts, and tariffs of paid outcomes to the payees.
    A refused outcome's tariff still reaches its payee, but not out of the envelope.
    """
    payments: list[Payment] = []
    options_in: dict[int, list[tuple[str, str, pulp.LpAffineExpression]]] = {}
    for (iid, oid, y), cost in option_cost.items():
        options_in.setdefault(y, []).append((iid, oid, cost))
    services_in: dict[int, list[tuple[str, pulp.LpAffineExpression]]] = {}
    for (sid, y), cost in service_cost.items():
        services_in.setdefault(y, []).append((sid, cost))
    # each partner's share of an intervention's units or an outcome's tariff (None: nobody named)
    delivered_by: dict[str, dict[str | None, float]] = {
        iid: dict(item.partner_shares().items()) or {None: 1.0}
        for iid, item in instance.interventions.items()
        if item.supply is None
    }
    paid_to: dict[str, dict[str | None, float]] = {
        oid: dict(outcome.payee_shares().items()) or {None: 1.0}
        for oid, outcome in instance.outcomes.items()
        if outcome.tariff
    }
    for year in instance.plan_years:
        for iid, shares in delivered_by.items():
            item = instance.interventions[iid]
            for who, share in shares.items():
                payments.append((who, year, item.unit_cost * share * units[(iid, year)], True))
        for iid, oid, cost in options_in.get(year, []):
            provider = instance.option_provider(instance.interventions[iid].offered()[oid])
            payments.append((provider, year, cost, True))
        for sid, cost in services_in.get(year, []):
            payments.append((instance.shared_services[sid].provider, year, cost, True))
        for oid, payees in paid_to.items():
            outcome = instance.outcomes[oid]
            enveloped = oid not in instance.refused_outcomes
            for who, share in payees.items():
                amount = outcome.tariff * share * level[(oid, year)]
                payments.append((who, year, amount, enveloped))
    return payments


def _economic_cost(
    instance: Instance,
    units: dict[tuple[str, int], pulp.LpAffineExpression],
    payments: list[Payment],
    spend: pulp.LpAffineExpression,
    year: int,
) -> pulp.LpAffineExpression:
    """Cost for the net-benefit objective: every payment of the year (`payments`, refused
    outcomes too), with units at their full cost where one is given (an intervention without
    supply options). Without either, that is the year's `spend`, summed in the same order."""
    offsets = [
        (item.full_cost - item.unit_cost) * units[(iid, year)]
        for iid, item in instance.interventions.items()
        if item.full_cost is not None and item.supply is None
    ]
    if not offsets and all(enveloped for *_, enveloped in payments):
        return spend.copy()  # the same sum, made again at the cost of one copy
    return pulp.lpSum([a for _, _, a, _ in payments] + offsets)


def _partner_money(
    instance: Instance,
    payments: list[Payment],
    level: dict[tuple[str, int], pulp.LpAffineExpression],
    spend: dict[int, pulp.LpAffineExpression],
    envelope: dict[int, float] | None,
) -> tuple[
    dict[tuple[str, int], pulp.LpAffineExpression],
    dict[tuple[str, int], pulp.LpAffineExpression],
    dict[str, float],
    dict[str, float],
]:
    """Each partner's income and outside costs per year, and both at baseline.

    Income = every payment to it - tariffs of refused outcomes it is responsible for + its share
    of unspent envelope when savings are shared. Baseline income is the stated figure, or
    today's units at today's prices and the baseline outcome levels at their tariffs.
    """
    income: dict[tuple[str, int], pulp.LpAffineExpression] = {}
    external: dict[tuple[str, int], pulp.LpAffineExpression] = {}
    baseline_income: dict[str, float] = {}
    baseline_external: dict[str, float] = {}
    received: dict[tuple[str | None, int], list[pulp.LpAffineExpression]] = {}
    for who, year, amount, _ in payments:
        received.setdefault((who, year), []).append(amount)
    # by partner, in the order of interventions and outcomes: today's units at today's prices,
    # baseline levels at their tariffs, and outside costs per event
    today_units: dict[str, list[float]] = {}
    for item in instance.interventions.values():
        for who, share in item.partner_shares().items():
            today_units.setdefault(who, []).append(item.unit_cost * share * item.baseline_units)
    today_tariffs: dict[str, list[float]] = {}
    outside_by: dict[str, dict[str, float]] = {}
    for oid, o in instance.outcomes.items():
        for who, share in o.payee_shares().items():
            today_tariffs.setdefault(who, []).append(o.tariff * share * o.baseline)
        for who, cost in o.external_costs.items():
            outside_by.setdefault(who, {})[oid] = cost
    for pid, partner in instance.partners.items():
        borne = {
            oid: instance.outcomes[oid].tariff
            for oid, r in instance.refused_outcomes.items()
            if r.responsible == pid
        }
        outside = outside_by.get(pid, {})
        computed = float(sum(today_units.get(pid, [])) + sum(today_tariffs.get(pid, [])))
        baseline_income[pid] = (
            partner.baseline_income if partner.baseline_income is not None else computed
        )
        baseline_external[pid] = float(
            sum(cost * instance.outcomes[oid].baseline for oid, cost in outside.items())
        )
        share = instance.savings.shares.get(pid, 0.0) if instance.savings.rule == "share" else 0.0
        for year in instance.plan_years:
            expression = pulp.lpSum(
                received.get((pid, year), [])
                + [-tariff * level[(oid, year)] for oid, tariff in borne.items()]
            )
            if share and envelope is not None:
                expression = expression + share * (envelope[year] - spend[year])
            income[(pid, year)] = expression
            external[(pid, year)] = (
                pulp.lpSum([cost * level[(oid, year)] for oid, cost in outside.items()])
                if outside
                else pulp.LpAffineExpression.empty()
            )  # as lpSum([]), at half its cost
    return income, external, baseline_income, baseline_external


def objective(model: Model) -> pulp.LpAffineExpression:
    """Discounted health gain, spend, or net benefit (health gain - cost / threshold)."""
    instance = model.instance
    kind = instance.objective.kind
    total = pulp.lpSum([])
    for year in model.years:
        if kind == "health_gain":
            term = model.health[year]
        elif kind == "min_spend":
            term = model.spend[year]
        else:
            threshold = instance.objective.threshold or 1.0
            term = model.health[year] - (1.0 / threshold) * model.economic_cost[year]
        total = total + instance.discount(year) * term
    return total


# --- constraint families ---------------------------------------------------------------------


def add_envelope(model: Model) -> None:
    """Spend in year t <= envelope[t] + money carried in - money carried out.

    With shared savings nothing is carried: spend[t] <= envelope[t], and what is left is paid
    to the partners by their shares.
    """
    if model.envelope is None:
        return
    for index, year in enumerate(model.years):
        lhs = model.spend[year]
        if model.carry:
            lhs = lhs + model.carry[year]
            if index > 0:
                lhs = lhs - model.carry[model.years[index - 1]]
        words = f"spend in {year} within the envelope" + (
            " plus savings carried in" if model.carry else ""
        )
        model.add(
            "envelope",
            (year,),
            "<=",
            words,
            lhs,
            model.envelope[year],
            subject="envelope",
            year=year,
            unit=model.money(),
            per=MONEY_SCALE,
        )


def add_outcome_floors(model: Model) -> None:
    """Level of outcome k in year t at most (upper) or at least (lower) the floor's bound."""
    for fid, floor in model.instance.floors.items():
        outcome = model.instance.outcomes[floor.outcome]
        bound = model.instance.floor_bound(fid)
        for year in [floor.year] if floor.year is not None else model.years:
            words = "at most" if floor.bound == "upper" else "at least"
            rule = floor.description or f"{outcome.name} {words} {bound:,.6g} in {year}"
            sense: Sense = "<=" if floor.bound == "upper" else ">="
            model.add(
                "outcome_floor",
                (fid, year),
                sense,
                rule,
                model.level[(floor.outcome, year)],
                bound,
                subject=fid,
                year=year,
                unit=outcome.unit,
                prefix="floor",
            )


def add_outcome_limits(model: Model) -> None:
    """Every outcome that interventions move stays a count: level >= 0, and <= its maximum if given.

    Effects are linear, so without these rows a cheap intervention could push a count below zero
    (or informed patients above the register).
    """
    moved = {oid for item in model.instance.interventions.values() for oid in item.effects}
    for oid, outcome in model.instance.outcomes.items():
        if oid not in moved:
            continue
        for year in model.years:
            level = model.level[(oid, year)]
            model.add(
                "outcome_nonnegative",
                (oid, year),
                ">=",
                f"{outcome.name} cannot fall below zero in {year}",
                level,
                0.0,
                subject=oid,
                year=year,
                unit=outcome.unit,
                prefix="nonnegative",
            )
            if outcome.maximum is not None:
                words = f"{outcome.name} at most {outcome.maximum:,.6g} in {year} (natural maximum)"
                model.add(
                    "outcome_maximum",
                    (oid, year),
                    "<=",
                    words,
                    level,
                    outcome.maximum,
                    subject=oid,
                    year=year,
                    unit=outcome.unit,
                    prefix="maximum",
                )


def add_partner_risk_limits(model: Model) -> None:
    """Net position (income - outside costs) in year t >= baseline - most loss (<= + most gain)."""
    money = model.money()
    for pid, partner in model.instance.partners.items():
        base_income = model.baseline_income[pid]
        baseline_net = base_income - model.baseline_external_cost[pid]
        loss, gain = partner.limits(base_income)
        for year in model.years:
            net = model.income[(pid, year)] - model.external_cost[(pid, year)]
            if loss is not None:
                words = f"{partner.name} loses at most {money}{loss:,.0f} in {year}"
                model.add(
                    "partner_risk_limit",
                    (pid, year),
                    ">=",
                    words,
                    net,
                    baseline_net - loss,
                    subject=pid,
                    year=year,
                    unit=money,
                    per=MONEY_SCALE,
                    prefix="risk_limit",
                )
            if gain is not None:
                words = f"{partner.name} gains at most {money}{gain:,.0f} in {year}"
                model.add(
                    "partner_gain_cap",
                    (pid, year),
                    "<=",
                    words,
                    net,
                    baseline_net + gain,
                    subject=pid,
                    year=year,
                    unit=money,
                    per=MONEY_SCALE,
                    prefix="gain_cap",
                )


def add_capacity(model: Model) -> None:
    """Units of intervention i in year t between its minimum and its maximum (capacity or need)."""
    for iid, item in model.instance.interventions.items():
        for year in model.years:
            units = model.units[(iid, year)]
            if item.max_units is not None:
                words = f"{item.name}: at most {item.max_units:,.6g} {item.unit} in {year}"
                model.add(
                    "capacity",
                    (iid, year),
                    "<=",
                    words,
                    units,
                    item.max_units,
                    subject=iid,
                    year=year,
                    unit=item.unit,
                )
            if item.min_units:
                words = f"{item.name}: at least {item.min_units:,.6g} {item.unit} in {year}"
                model.add(
                    "minimum_units",
                    (iid, year),
                    ">=",
                    words,
                    units,
                    item.min_units,
                    subject=iid,
                    year=year,
                    unit=item.unit,
                    prefix="minimum",
                )


def add_group_needs(model: Model) -> None:
    """A group's units together at least the need (meet_need) or at most it (share_need)."""
    for gid, group in model.instance.groups.items():
        unit = model.instance.interventions[group.members[0]].unit
        meet = group.rule == "meet_need"
        for year in model.years:
            total = pulp.lpSum(model.units[(m, year)] for m in group.members)
            words = group.description or (
                f"{', '.join(group.members)} together {'at least' if meet else 'at most'} "
                f"{group.need:,.6g} {unit} in {year}"
            )
            model.add(
                "group_need",
                (gid, year),
                ">=" if meet else "<=",
                words,
                total,
                group.need,
                subject=gid,
                year=year,
                unit=unit,
                prefix="group",
            )


def add_complements(model: Model) -> None:
    """Units of A at most ratio x units of B in every year (A only as far as B)."""
    for cid, complement in model.instance.complements.items():
        dependent, required = complement.sides()
        unit = model.instance.interventions[dependent[0]].unit
        for year in model.years:
            lhs = pulp.lpSum(
                model.units[(a, year)] for a in dependent
            ) - complement.ratio * pulp.lpSum(model.units[(b, year)] for b in required)
            words = complement.description or (
                f"{', '.join(dependent)} at most {complement.ratio:g} x "
                f"{', '.join(required)} in {year}"
            )
            model.add(
                "complement", (cid, year), "<=", words, lhs, 0.0, subject=cid, year=year, unit=unit
            )


def add_resources(model: Model) -> None:
    """Sum of use per unit x units within each resource's capacity, every year."""
    for rid, resource in model.instance.resources.items():
        users = {
            iid: item.resource_use[rid]
            for iid, item in model.instance.interventions.items()
            if item.resource_use.get(rid)
        }
        if not users:
            continue
        for year in model.years:
            used = pulp.lpSum(use * model.units[(iid, year)] for iid, use in users.items())
            words = f"{resource.name}: at most {resource.capacity:,.6g} {resource.unit} in {year}"
            model.add(
                "resource",
                (rid, year),
                "<=",
                words,
                used,
                resource.capacity,
                subject=rid,
                year=year,
                unit=resource.unit,
            )


def add_ramps(model: Model) -> None:
    """Units grow or shrink from the previous year (baseline before year 1) by at most the ramp.

    Absolute: x[t] - x[t-1] <= up and x[t-1] - x[t] <= down. As shares of the previous year:
    x[t] - (1 + up) x[t-1] <= 0 and (1 - down) x[t-1] - x[t] <= 0.
    """
    for iid, item in model.instance.interventions.items():
        ramp = item.ramp
        if ramp is None:
            continue
        unit = item.unit
        for index, year in enumerate(model.years):
            now = model.units[(iid, year)]
            before = (
                model.units[(iid, model.years[index - 1])]
                if index
                else pulp.LpAffineExpression.from_constant(item.baseline_units)
            )
            rows: list[tuple[str, pulp.LpAffineExpression, float, str]] = []  # the ramps given
            if (up := ramp.max_increase) is not None:
                rows.append(("ramp_up", now - before, up, f"grows by at most {up:,.6g} {unit}"))
            if (down := ramp.max_decrease) is not None:
                words = f"shrinks by at most {down:,.6g} {unit}"
                rows.append(("ramp_down", before - now, down, words))
            if (share := ramp.max_increase_share) is not None:
                words = f"grows by at most {share:.0%}"
                rows.append(("ramp_up_share", now - (1 + share) * before, 0.0, words))
            if (share := ramp.max_decrease_share) is not None:
                words = f"shrinks by at most {share:.0%}"
                rows.append(("ramp_down_share", (1 - share) * before - now, 0.0, words))
            for family, lhs, bound, words in rows:
                model.add(
                    family,
                    (iid, year),
                    "<=",
                    f"{item.name} {words} into {year}",
                    lhs,
                    bound,
                    subject=iid,
                    year=year,
                    unit=unit,
                )


def add_supply_options(model: Model) -> None:
    """Make-or-buy: units through an option only if it is chosen, and then within its capacity
    and at least its minimum contract volume; at most one option a year where the choice is
    exclusive; units through the options add up to the intervention's units (with tranches)."""
    instance = model.instance
    for (iid, oid, year), units in model.options.items():
        item = instance.interventions[iid]
        option = item.offered()[oid]
        on = model.chosen.get((iid, oid, year))
        who = f"{item.name} from {option.name or oid}"
        subject = f"{iid}.{oid}"
        bound = option_bound(instance, iid, oid) if on is not None else option.capacity
        if bound is not None:
            lhs = units - bound * on if on is not None else affine([(units, 1.0)])
            words = f"{who}: at most {bound:,.6g} {item.unit} in {year}" + (
                ", and none unless chosen" if on is not None else ""
            )
            rhs = 0.0 if on is not None else bound
            model.add(
                "option_capacity",
                (iid, oid, year),
                "<=",
                words,
                lhs,
                rhs,
                subject=subject,
                year=year,
                unit=item.unit,
            )
        if on is not None and option.min_volume:
            words = f"{who}: at least {option.min_volume:,.6g} {item.unit} in {year} if chosen"
            model.add(
                "minimum_volume",
                (iid, oid, year),
                ">=",
                words,
                units - option.min_volume * on,
                0.0,
                subject=subject,
                year=year,
                unit=item.unit,
            )
        if on is not None and option.shared is not None:
            service = instance.shared_services[option.shared]
            words = f"{who} only in a year {service.name} is open"
            model.add(
                "shared_use",
                (iid, oid, year),
                "<=",
                words,
                on - model.opened[(option.shared, year)],
                0.0,
                subject=subject,
                year=year,
                unit="option",
            )
    for iid, item in instance.interventions.items():
        if item.supply is None:
            continue
        for year in model.years:
            ons = [v for (i, _, y), v in model.chosen.items() if i == iid and y == year]
            if item.supply.choice == "exclusive" and len(ons) > 1:
                words = f"{item.name}: one supplier in {year}"
                model.add(
                    "exclusive_choice",
                    (iid, year),
                    "<=",
                    words,
                    affine((v, 1.0) for v in ons),
                    1.0,
                    subject=iid,
                    year=year,
                    unit="option",
                )
            if item.tranches:
                supplied = pulp.lpSum(
                    v for (i, _, y), v in model.options.items() if i == iid and y == year
                )
                words = f"{item.name}: units supplied through the options in {year}"
                model.add(
                    "supply_balance",
                    (iid, year),
                    "==",
                    words,
                    supplied - model.units[(iid, year)],
                    0.0,
                    subject=iid,
                    year=year,
                    unit=item.unit,
                )


def add_shared_services(model: Model) -> None:
    """A shared service's units, summed over every option drawing on it, within its capacity in
    a year it is open."""
    instance = model.instance
    for (sid, year), on in model.opened.items():
        service = instance.shared_services[sid]
        if service.capacity is None:
            continue
        drawn = pulp.lpSum(
            units
            for (iid, oid, y), units in model.options.items()
            if y == year and instance.interventions[iid].offered()[oid].shared == sid
        )
        words = f"{service.name}: at most {service.capacity:,.6g} units in {year}, if open"
        model.add(
            "shared_capacity",
            (sid, year),
            "<=",
            words,
            drawn - service.capacity * on,
            0.0,
            subject=sid,
            year=year,
            unit="unit",
        )


def add_setup_starts(model: Model) -> None:
    """A set-up cost is paid in the year a choice starts: start[t] = on[t] and not on[t-1],
    written as start >= on[t] - on[t-1], start <= on[t] and start <= 1 - on[t-1]."""
    for key, starts in model.starts.items():
        on = model.opened if len(key) == 1 else model.chosen
        years = sorted(starts)
        for previous, year in itertools.pairwise(years):
            now, before = on[(*key, year)], on[(*key, previous)]  # type: ignore[index]
            start = affine([(starts[year], 1.0)])
            subject = ".".join(map(str, key))
            rows: list[tuple[str, Sense, pulp.LpAffineExpression, float]] = [
                ("start_if_new", ">=", start - now + before, 0.0),
                ("start_only_if_on", "<=", start - now, 0.0),
                ("start_only_if_new", "<=", start + before, 1.0),
            ]
            for family, sense, lhs, rhs in rows:
                words = (
                    f"{subject} starts in {year} exactly when used in {year} and not in {previous}"
                )
                model.add(
                    family,
                    (*key, year),
                    sense,
                    words,
                    lhs,
                    rhs,
                    subject=subject,
                    year=year,
                    unit="start",
                )


def add_indivisible(model: Model) -> None:
    """An indivisible programme runs at its full size (max_units) or not at all, each year."""
    for (iid, year), funded in model.funded.items():
        item = model.instance.interventions[iid]
        size = item.max_units or 0.0
        words = f"{item.name}: all {size:,.6g} {item.unit} or none in {year}"
        model.add(
            "indivisible",
            (iid, year),
            "==",
            words,
            model.units[(iid, year)] - size * funded,
            0.0,
            subject=iid,
            year=year,
            unit=item.unit,
        )


FAMILIES: list[Callable[[Model], None]] = [
    add_envelope,
    add_outcome_floors,
    add_outcome_limits,
    add_partner_risk_limits,
    add_capacity,
    add_group_needs,
    add_complements,
    add_resources,
    add_ramps,
    add_supply_options,
    add_shared_services,
    add_setup_starts,
    add_indivisible,
]
