"""Verify: every plan re-checked against its instance, independently of the model that made it.

The verifier uses neither PuLP, nor a solver, nor `planner.build`. It writes the planning model
again from the instance and docs/formulation.md, as its own sparse matrix (numpy); reads the
plan's decisions from the plan's tables (units per intervention and year, units and choices per
supply option, shared services open); and recomputes every row of every constraint family in
business units. Money carried between years is not a decision the plan reports: the envelope is
checked with every unspent pound carried forward, the most the rule allows. It then recomputes
the objective, checks that the figures the plan reports (outcome levels, partner income and
outside costs, spend, health gain, option and service costs) are what its decisions imply, and
checks strong duality on the LP the prices come from: the dual objective, built from the plan's
shadow prices and the right-hand sides the verifier computes itself, must equal the objective.

A check fails when it is off by more than 1e-6 of its own magnitude: for a row, the largest of
1, its right-hand side and each term of its left-hand side. docs/verification.md lists every
check and shows what a failure looks like.

The model is written family by family on whole arrays (`Exprs`: many affine expressions as one
sparse matrix), and the checks are arrays too: a Check with its sentence is built only for a
check that fails or that the summary names, so a national plan of millions of rows verifies in
seconds. `Exprs` and `total` do the arithmetic of writing each expression term by term (a
coefficient met twice adds up in the order met), so every number is the same as that.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from planner.errors import NoPlanError
from planner.schema import CURRENCY_SYMBOL, Instance

if TYPE_CHECKING:
    from planner.result import Plan

RELATIVE = 1e-6  # a check fails when off by more than this share of its magnitude
DUAL_CLEANED = 1e-9  # result.py reports duals smaller than this as 0
MAX_LISTED = 10  # failed checks listed in an error message
NOT_RULES = ("reported", "objective", "duality")  # checks that are not rules of the plan
Sense = Literal["<=", ">=", "=="]
SENSES: tuple[Sense, ...] = ("<=", ">=", "==")  # a row's sense code is its index here
Key = tuple[str | int, ...]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

PREFIX = {  # row-name prefixes that differ from the family's name (docs/constraints.md)
    "outcome_floor": "floor",
    "outcome_nonnegative": "nonnegative",
    "outcome_maximum": "maximum",
    "partner_risk_limit": "risk_limit",
    "partner_gain_cap": "gain_cap",
    "minimum_units": "minimum",
    "group_need": "group",
}


class VerificationError(NoPlanError):
    """A plan failed a check when recomputed from its inputs, so it is not shown. Its status is
    `error` (exit code 6): the fault is in planner or the solver, not in the input."""

    def __init__(self, verification: Verification, name: str) -> None:
        self.verification = verification
        failed = verification.failed
        count = len(failed)
        lines = [
            f"the plan for '{name}' failed verification and is not shown: {count} "
            f"check{'s' if count != 1 else ''} failed when recomputed from the inputs. This is "
            "a fault in planner or the solver, not in the input: please report it with the "
            "input files"
        ]
        lines += [f"  {check.message}" for check in failed[:MAX_LISTED]]
        if count > MAX_LISTED:
            lines.append(f"  ... and {count - MAX_LISTED} more")
        super().__init__("error", "\n".join(lines))


@dataclass(frozen=True)
class Check:
    """One recomputed rule or figure: how far it is off, in its own unit, against its tolerance.

    `family` is a row family of the model (docs/constraints.md), or `variable_bounds`,
    `reported`, `objective` or `duality`. `rule` is the row's name (as in `shadow_prices`) or a
    short label; `amount` is how far the check is off (0 or less when it holds), in `unit`.
    """

    family: str
    rule: str
    year: int | None
    amount: float
    unit: str
    tolerance: float
    message: str

    @property
    def failed(self) -> bool:
        return self.amount > self.tolerance

    @property
    def ratio(self) -> float:
        """How far off, as a multiple of the tolerance (0 when it holds)."""
        return max(0.0, self.amount) / self.tolerance


@dataclass(frozen=True)
class Checks:
    """Checks as arrays, in order: how far each is off (`amount`), its `tolerance`, whether it is
    a rule of the plan (`rule`: a model row or a variable bound, which `largest` ranks), and
    `make(i)`, which builds check i with its sentence (only for the checks that are shown)."""

    amount: Floats
    tolerance: Floats
    rule: Bools
    make: Callable[[int], Check]

    def __len__(self) -> int:
        return len(self.amount)

    def failing(self) -> list[int]:
        """Positions of the checks that fail, in order."""
        return np.flatnonzero(self.amount > self.tolerance).tolist()


def listed(checks: Sequence[Check]) -> Checks:
    """Checks already built, as a batch."""
    built = list(checks)
    return Checks(
        np.array([c.amount for c in built], dtype=float),
        np.array([c.tolerance for c in built], dtype=float),
        np.array([c.family not in NOT_RULES for c in built], dtype=bool),
        built.__getitem__,
    )


@dataclass(frozen=True)
class Verification:
    """Every check of a plan, as batches in order (`checks` builds them all, `failed` the ones
    that fail). `rules` counts the model's rows recomputed; `objective` is the objective
    recomputed; `dual_objective` the dual objective (None, with `duality_note` saying why, when it
    cannot be formed); `unmatched` lists rows found on one side only (the plan's `shadow_prices`
    or the verifier's model)."""

    batches: list[Checks]
    rules: int
    objective: float
    dual_objective: float | None
    duality_note: str = ""
    unmatched: list[str] = field(default_factory=list)

    @property
    def checks(self) -> list[Check]:
        """Every check, built with its sentence (slow for a national plan: for tests)."""
        return [batch.make(i) for batch in self.batches for i in range(len(batch))]

    @property
    def failed(self) -> list[Check]:
        """Checks that failed: broken rules first, then wrong figures, each the furthest off (as
        a multiple of its tolerance) first."""
        failed = [batch.make(i) for batch in self.batches for i in batch.failing()]
        return sorted(failed, key=lambda c: (c.family in NOT_RULES, -c.ratio))

    @property
    def ok(self) -> bool:
        return not any(batch.failing() for batch in self.batches)

    @property
    def largest(self) -> Check | None:
        """The rule (a model row or a variable bound) violated by the largest multiple of its
        tolerance, the first such in order on a tie; None when no rule is violated at all."""
        best: tuple[float, Checks, int] | None = None
        for batch in self.batches:
            candidates = np.flatnonzero(batch.rule & (batch.amount > 0))
            if not len(candidates):
                continue
            ratios = batch.amount[candidates] / batch.tolerance[candidates]
            k = int(np.argmax(ratios))
            if best is None or ratios[k] > best[0]:
                best = (float(ratios[k]), batch, int(candidates[k]))
        return None if best is None else best[1].make(best[2])

    def summary(self) -> dict[str, Any]:
        """The plan summary's verification fields, in the order of docs/results.md."""
        worst = self.largest
        return {
            "verified": self.ok,
            "rules_checked": self.rules,
            "largest_violation": _tidy(worst.amount) if worst is not None else 0.0,
            "largest_violation_unit": worst.unit if worst is not None else "",
            "largest_violation_rule": worst.rule if worst is not None else "",
            "dual_objective": _tidy(self.dual_objective, 10)
            if self.dual_objective is not None
            else "",
        }


def _tidy(value: float, digits: int = 3) -> float:
    """A figure to `digits` significant digits, and -0.0 as 0.0, so output files stay stable."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    return float(f"{value:.{digits}g}") + 0.0


def verified(instance: Instance, plan: Plan) -> Verification:
    """Verify `plan` against `instance`; VerificationError when any check fails."""
    verification = verify(instance, plan)
    if not verification.ok:
        raise VerificationError(verification, instance.name)
    return verification


# --- affine expressions, many at a time -------------------------------------------------------


def _ints(values: Any) -> Ints:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def _floats(values: Any) -> Floats:
    return np.asarray(values, dtype=np.float64).reshape(-1)


@dataclass(frozen=True)
class Exprs:
    """Affine expressions over the verifier's columns, one per row of a sparse (CSR) matrix:
    expression k is constant[k] + sum of coefs[p] x[cols[p]] for p in indptr[k]:indptr[k + 1],
    its terms in the order they were written."""

    indptr: Ints
    cols: Ints
    coefs: Floats
    constant: Floats

    def __len__(self) -> int:
        return len(self.constant)

    @staticmethod
    def columns(cols: Any) -> Exprs:
        """Each column as an expression: 1 x the column."""
        index = _ints(cols)
        n = len(index)
        return Exprs(np.arange(n + 1, dtype=np.int64), index, np.ones(n), np.zeros(n))

    @staticmethod
    def constants(values: Any) -> Exprs:
        """Constants as expressions without terms."""
        constant = _floats(values).copy()
        empty = np.zeros(0, dtype=np.int64)
        return Exprs(np.zeros(len(constant) + 1, dtype=np.int64), empty, np.zeros(0), constant)

    @staticmethod
    def concat(parts: Sequence[Exprs]) -> Exprs:
        """The expressions of `parts`, one after another."""
        if not parts:
            return Exprs.constants([])
        counts = np.concatenate([np.diff(p.indptr) for p in parts])
        indptr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return Exprs(
            indptr,
            np.concatenate([p.cols for p in parts]),
            np.concatenate([p.coefs for p in parts]),
            np.concatenate([p.constant for p in parts]),
        )

    def take(self, index: Any) -> Exprs:
        """The expressions at positions `index` (repeats allowed), in that order."""
        where = _ints(index)
        starts = self.indptr[where]
        counts = self.indptr[where + 1] - starts
        indptr = np.zeros(len(where) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        picked = np.repeat(starts - indptr[:-1], counts) + np.arange(indptr[-1], dtype=np.int64)
        return Exprs(indptr, self.cols[picked], self.coefs[picked], self.constant[where])

    def scale(self, factor: float | Floats) -> Exprs:
        """Each expression times its factor (a number, or one per expression)."""
        factors = np.broadcast_to(np.asarray(factor, dtype=np.float64), (len(self),))
        counts = np.diff(self.indptr)
        return Exprs(
            self.indptr,
            self.cols,
            self.coefs * np.repeat(factors, counts),
            self.constant * factors,
        )

    def terms(self, k: int) -> dict[int, float]:
        """Expression k's coefficients by column, in order."""
        a, b = int(self.indptr[k]), int(self.indptr[k + 1])
        return dict(zip(self.cols[a:b].tolist(), self.coefs[a:b].tolist(), strict=True))

    def values(self, x: Floats) -> list[float]:
        """Each expression's value at the column values `x`: its constant plus the exactly
        rounded sum (math.fsum) of its terms."""
        products = (self.coefs * x[self.cols]).tolist()
        bounds = self.indptr.tolist()
        return [
            c + math.fsum(products[a:b])
            for c, a, b in zip(self.constant.tolist(), bounds[:-1], bounds[1:], strict=True)
        ]


def total(n: int, parts: Sequence[tuple[Exprs, Any]]) -> Exprs:
    """n sums of expressions: sum k adds every expression of `parts` whose place in the matching
    `out` array is k, in the parts' order (each part's expressions in order). The constant and
    each column's coefficient add up from 0 in that order, term by term."""
    pieces = Exprs.concat([p for p, _ in parts])
    out = np.concatenate([_ints(o) for _, o in parts]) if parts else _ints([])
    arranged = np.argsort(out, kind="stable")
    pieces, out = pieces.take(arranged), out[arranged]
    constant = np.bincount(out, weights=pieces.constant, minlength=n).astype(np.float64)
    counts = np.diff(pieces.indptr)
    owner = np.repeat(out, counts)
    cols, coefs = pieces.cols, pieces.coefs
    if len(cols):
        width = int(cols.max()) + 1
        unique, first, inverse = np.unique(
            owner * width + cols, return_index=True, return_inverse=True
        )
        if len(unique) == len(cols):
            coefs = 0.0 + coefs
        else:  # a column met twice in one sum: its coefficients add up in the order met
            rank = np.empty(len(unique), dtype=np.int64)
            rank[np.argsort(first, kind="stable")] = np.arange(len(unique))
            slot = rank[inverse.reshape(-1)]
            coefs = np.bincount(slot, weights=coefs, minlength=len(unique)).astype(np.float64)
            merged_cols = np.empty(len(unique), dtype=np.int64)
            merged_cols[slot] = cols
            merged_owner = np.empty(len(unique), dtype=np.int64)
            merged_owner[slot] = owner
            cols, owner = merged_cols, merged_owner
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=indptr[1:])
    return Exprs(indptr, cols, coefs, constant)


def plus(*parts: Exprs) -> Exprs:
    """Aligned sums: expression k of the result is the total of expression k of each part."""
    n = len(parts[0])
    return total(n, [(p, np.arange(n)) for p in parts])


def minus(left: Exprs, right: Exprs) -> Exprs:
    """Aligned differences, as left + (-1 x right)."""
    return plus(left, right.scale(-1.0))


# --- the model, written again ----------------------------------------------------------------


def row_name(family: str, subject: str, year: int) -> str:
    """A row's name in the plan: prefix and business key joined by double underscores
    (`envelope__2016`, `floor__admissions_2016__2016`, `option_capacity__clinic__make__2021`)."""
    key = [] if family == "envelope" else subject.split(".")
    return "__".join([PREFIX.get(family, family), *key, str(year)])


@dataclass(frozen=True)
class Row:
    """One rule as the verifier writes it, `lhs <sense> rhs`, with the left-hand side in words
    (`what`); the left-hand side itself is expression `index` of `Rows.lhs`."""

    index: int
    family: str
    subject: str
    year: int
    sense: Sense
    rhs: float
    unit: str
    what: str

    @property
    def name(self) -> str:
        """The row's name in the plan."""
        return row_name(self.family, self.subject, self.year)


@dataclass(frozen=True)
class Rows:
    """Every row of the model in order, as columns; the left-hand sides as one sparse matrix."""

    family: list[str]
    subject: list[str]
    year: list[int]
    sense: Ints  # a code: the index of the row's sense in SENSES
    lhs: Exprs
    rhs: Floats
    unit: list[str]
    what: list[str]

    def __len__(self) -> int:
        return len(self.family)

    def __getitem__(self, r: int) -> Row:
        return Row(
            r,
            self.family[r],
            self.subject[r],
            self.year[r],
            SENSES[int(self.sense[r])],
            float(self.rhs[r]),
            self.unit[r],
            self.what[r],
        )

    def __iter__(self) -> Iterator[Row]:
        return (self[r] for r in range(len(self)))

    def name(self, r: int) -> str:
        """Row r's name in the plan."""
        return row_name(self.family[r], self.subject[r], self.year[r])


@dataclass(frozen=True)
class _Batch:
    """Rows of one family written together, with their place in the model's order: by `block`
    (the family's place), then `major` (each row's subject and year), then `minor`."""

    block: int
    major: Ints
    minor: int
    family: str
    subject: list[str]
    year: list[int]
    sense: Ints
    lhs: Exprs
    rhs: Floats
    unit: list[str]
    what: list[str]


class _RowWriter:
    """Collects rows family by family and puts them in the model's order."""

    def __init__(self) -> None:
        self.batches: list[_Batch] = []

    def add(
        self,
        where: tuple[int, Any, int],
        family: str,
        subject: list[str],
        year: list[int],
        sense: Sense | list[Sense],
        lhs: Exprs,
        rhs: Any,
        unit: str | list[str],
        what: str | list[str],
    ) -> None:
        """Rows `lhs <sense> rhs`, placed by `where`: (block, major keys, minor)."""
        n = len(lhs)
        if not n:
            return
        block, major, minor = where
        senses = (
            np.full(n, SENSES.index(sense), dtype=np.int64)
            if isinstance(sense, str)
            else _ints([SENSES.index(s) for s in sense])
        )
        rhs_values = np.full(n, float(rhs)) if np.ndim(rhs) == 0 else _floats(rhs)
        self.batches.append(
            _Batch(
                block,
                _ints(major),
                minor,
                family,
                subject,
                year,
                senses,
                lhs,
                rhs_values,
                [unit] * n if isinstance(unit, str) else unit,
                [what] * n if isinstance(what, str) else what,
            )
        )

    def rows(self) -> Rows:
        """Every row, in the model's order."""
        batches = self.batches
        sizes = [len(b.lhs) for b in batches]
        block = np.repeat(_ints([b.block for b in batches]), sizes)
        minor = np.repeat(_ints([b.minor for b in batches]), sizes)
        major = np.concatenate([b.major for b in batches]) if batches else _ints([])
        order = np.lexsort((minor, major, block))
        where = order.tolist()

        def arranged(values: list[Any]) -> list[Any]:
            return [values[i] for i in where]

        return Rows(
            arranged([b.family for b in batches for _ in range(len(b.lhs))]),
            arranged([v for b in batches for v in b.subject]),
            arranged([v for b in batches for v in b.year]),
            (np.concatenate([b.sense for b in batches]) if batches else _ints([]))[order],
            Exprs.concat([b.lhs for b in batches]).take(order),
            (np.concatenate([b.rhs for b in batches]) if batches else _floats([]))[order],
            arranged([v for b in batches for v in b.unit]),
            arranged([v for b in batches for v in b.what]),
        )


@dataclass
class Formulation:
    """The model of an instance: columns (with bounds), rows, the objective, and the figures the
    plan reports, each a batch of affine expressions in the columns (`Exprs`).

    Columns are keyed ("units", i, t), ("tranche", i, t, j), ("option", i, o, t),
    ("choose", i, o, t), ("open", s, t), ("fund", i, t), ("start", i, o, t) or ("start", s, t),
    and ("carry", t). Yes/no columns are fixed at the plan's values in the LP that is priced.
    Expressions by intervention, outcome or partner and year are at position index x years +
    year index (`at`); by supply option and year, or shared service and year, in the order of
    `options` and `opened`.
    """

    instance: Instance
    envelope: dict[int, float] | None = None
    keys: list[Key] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    yes_no: list[bool] = field(default_factory=list)
    options: dict[tuple[str, str, int], int] = field(default_factory=dict)  # columns
    chosen: dict[tuple[str, str, int], int] = field(default_factory=dict)
    opened: dict[tuple[str, int], int] = field(default_factory=dict)
    funded: dict[tuple[str, int], int] = field(default_factory=dict)
    series: dict[Key, dict[int, int]] = field(default_factory=dict)  # yes/no of a set-up series
    starts: dict[Key, dict[int, int]] = field(default_factory=dict)
    carry: dict[int, int] = field(default_factory=dict)
    unit_columns: dict[int, int] = field(default_factory=dict)  # position -> its units column
    tranche_columns: dict[int, list[int]] = field(default_factory=dict)  # position -> blocks
    baseline_income: dict[str, float] = field(default_factory=dict)
    baseline_external_cost: dict[str, float] = field(default_factory=dict)
    units: Exprs = field(default_factory=lambda: Exprs.constants([]))
    level: Exprs = field(default_factory=lambda: Exprs.constants([]))
    health: Exprs = field(default_factory=lambda: Exprs.constants([]))
    spend: Exprs = field(default_factory=lambda: Exprs.constants([]))
    economic_cost: Exprs = field(default_factory=lambda: Exprs.constants([]))
    income: Exprs = field(default_factory=lambda: Exprs.constants([]))
    external_cost: Exprs = field(default_factory=lambda: Exprs.constants([]))
    option_cost: Exprs = field(default_factory=lambda: Exprs.constants([]))
    service_cost: Exprs = field(default_factory=lambda: Exprs.constants([]))
    objective: Exprs = field(default_factory=lambda: Exprs.constants([0.0]))
    rows: Rows = field(default_factory=lambda: _RowWriter().rows())

    years: list[int] = field(init=False)
    year_index: dict[int, int] = field(init=False)
    interventions: dict[str, int] = field(init=False)  # position of each id in the instance
    outcomes: dict[str, int] = field(init=False)
    partners: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        instance = self.instance
        self.years = instance.plan_years
        self.year_index = {year: t for t, year in enumerate(self.years)}
        self.interventions = {iid: i for i, iid in enumerate(instance.interventions)}
        self.outcomes = {oid: o for o, oid in enumerate(instance.outcomes)}
        self.partners = {pid: p for p, pid in enumerate(instance.partners)}

    def at(self, index: int, year: int) -> int:
        """The position of (an intervention, outcome or partner's index, a plan year)."""
        return index * len(self.years) + self.year_index[year]

    def column(
        self, key: Key, lower: float = 0.0, upper: float = math.inf, *, yes_no: bool = False
    ) -> int:
        """A new column with its bounds."""
        self.keys.append(key)
        self.lower.append(lower)
        self.upper.append(upper)
        self.yes_no.append(yes_no)
        return len(self.keys) - 1


def column_name(key: Key) -> str:
    """A column's name as the model names its variable (formulation §3 and §8.2):
    units__<intervention>__<year>[__tranche<j>], units__<intervention>__<option>__<year>,
    choose__..., open__..., fund__..., start__..., carry__<year>."""
    kind, *rest = key
    if kind == "tranche":
        iid, year, j = rest
        return f"units__{iid}__{year}__tranche{int(j) + 1}"
    return "__".join(["units" if kind == "option" else str(kind), *map(str, rest)])


def needs_choice(instance: Instance, iid: str, oid: str) -> bool:
    """formulation.md §8.1: an option has a yes/no when the choice is exclusive between several
    options on offer, or when it has a fixed or set-up cost, a minimum volume or a shared
    service."""
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


def formulate(instance: Instance) -> Formulation:
    """The planning model of docs/formulation.md, written from the instance alone."""
    f = Formulation(instance, envelope=instance.envelope_by_year())
    _choice_columns(f)
    _units_and_levels(f)
    _money(f)
    f.rows = _rows(f)
    _objective(f)
    return f


def _scaled(entries: list[tuple[int, int, float]]) -> tuple[Exprs, Ints]:
    """(out, column, factor) entries as factor x column expressions, and their outs."""
    out = _ints([e[0] for e in entries])
    return Exprs.columns([e[1] for e in entries]).scale(_floats([e[2] for e in entries])), out


def _grid(index: Any, years: int) -> Ints:
    """Positions of (each index, each year), index-major."""
    return (_ints(index)[:, None] * years + np.arange(years)).reshape(-1)


def _choice_columns(f: Formulation) -> None:
    """Units through each option on offer in the years it can supply, the yes/no choices they
    need, shared services open, programmes funded, the starts of series with a set-up cost, and
    what each option and shared service costs (formulation §8.2-8.3)."""
    instance = f.instance
    for iid, item in instance.interventions.items():
        for oid, option in item.offered().items():
            series: dict[int, int] = {}
            choice = needs_choice(instance, iid, oid)
            for year in instance.supply_years(option):
                f.options[(iid, oid, year)] = f.column(("option", iid, oid, year))
                if choice:
                    series[year] = f.column(("choose", iid, oid, year), 0, 1, yes_no=True)
                    f.chosen[(iid, oid, year)] = series[year]
            if option.setup_cost and series:
                f.starts[(iid, oid)] = _starts(f, series, (iid, oid))
    drawn_on = {o.shared for i in instance.interventions.values() for o in i.offered().values()}
    for sid, service in instance.shared_services.items():
        if sid not in drawn_on:
            continue
        series = {
            year: f.column(("open", sid, year), 0, 1, yes_no=True)
            for year in instance.option_years(service.first_year)
        }
        f.opened.update({(sid, year): on for year, on in series.items()})
        if service.setup_cost and series:
            f.starts[(sid,)] = _starts(f, series, (sid,))
    for iid, item in instance.interventions.items():
        if item.indivisible:
            for year in f.years:
                f.funded[(iid, year)] = f.column(("fund", iid, year), 0, 1, yes_no=True)
    # an option's cost: price x units, plus its fixed cost if chosen and set-up cost if started
    prices, fixed, setup = [], [], []
    for k, (iid, oid, year) in enumerate(f.options):
        option = instance.interventions[iid].offered()[oid]
        prices.append(option.unit_price)
        if (on := f.chosen.get((iid, oid, year))) is not None:
            fixed.append((k, on, option.fixed_cost))
        if (start := f.starts.get((iid, oid), {}).get(year)) is not None:
            setup.append((k, start, option.setup_cost))
    n = len(f.options)
    bought = Exprs.columns(list(f.options.values())).scale(_floats(prices))
    f.option_cost = total(n, [(bought, np.arange(n)), _scaled(fixed), _scaled(setup)])
    fixed, setup = [], []
    for k, (sid, year) in enumerate(f.opened):
        service = instance.shared_services[sid]
        fixed.append((k, f.opened[(sid, year)], service.fixed_cost))
        if (start := f.starts.get((sid,), {}).get(year)) is not None:
            setup.append((k, start, service.setup_cost))
    f.service_cost = total(len(f.opened), [_scaled(fixed), _scaled(setup)])


def _starts(f: Formulation, series: dict[int, int], key: Key) -> dict[int, int]:
    """A series' start in each year: its yes/no in its first year, then a [0, 1] column."""
    f.series[key] = series
    years = sorted(series)
    starts = {years[0]: series[years[0]]}
    for year in years[1:]:
        starts[year] = f.column(("start", *key, year), 0, 1)
    return starts


def _units_and_levels(f: Formulation) -> None:
    """Units of each intervention and year (a column, its tranches, or its options), outcome
    levels with lags (formulation §4.1) and health gain (§4.3)."""
    instance = f.instance
    years = f.years
    n_years = len(years)
    supplied: dict[tuple[str, int], list[int]] = {}  # option columns by intervention and year
    for (iid, _, year), col in f.options.items():
        supplied.setdefault((iid, year), []).append(col)
    counts: list[int] = []  # units: how many columns make up an intervention's units a year
    cols: list[int] = []  # and which
    terms: list[int] = []  # health gain: how many columns each term has, which, its gain per
    term_cols: list[int] = []  # unit and year, in the order of interventions (and tranches)
    gain: list[float] = []
    term_year: list[int] = []
    span = range(n_years)
    for i, (iid, item) in enumerate(instance.interventions.items()):
        if item.tranches:
            size = len(item.tranches)
            first = len(f.keys)
            f.keys += [("tranche", iid, year, j) for year in years for j in range(size)]
            f.lower += [0.0] * (size * n_years)
            f.upper += [math.inf if b.units is None else b.units for b in item.tranches] * n_years
            f.yes_no += [False] * (size * n_years)
            made = list(range(first, first + size * n_years))
            for t in span:
                f.tranche_columns[i * n_years + t] = made[t * size : (t + 1) * size]
            counts += [size] * n_years
            cols += made
            terms += [1] * (size * n_years)
            term_cols += made
            gain += [b.health_gain for b in item.tranches] * n_years
            term_year += [t for t in span for _ in range(size)]
            continue
        if item.supply is not None:
            blocks = [supplied.get((iid, year), []) for year in years]
        else:
            first = len(f.keys)
            f.keys += [("units", iid, year) for year in years]
            f.lower += [0.0] * n_years
            f.upper += [math.inf] * n_years
            f.yes_no += [False] * n_years
            blocks = [[first + t] for t in span]
            f.unit_columns.update({i * n_years + t: first + t for t in span})
        sizes = [len(b) for b in blocks]
        counts += sizes
        cols += [j for b in blocks for j in b]
        terms += sizes
        term_cols += [j for b in blocks for j in b]
        gain += [item.health_gain] * n_years
        term_year += span
    f.units = _sums(counts, cols)
    own = _sums(terms, term_cols).scale(_floats(gain))
    # outcome levels: baseline + each effect x (units in the year it acts on - baseline units)
    effects: list[tuple[int, int, float, int, float]] = []  # (intervention, outcome, ...)
    for i, item in enumerate(instance.interventions.values()):
        for oid in item.effects:
            if oid in f.outcomes:
                effects += [
                    (i, f.outcomes[oid], e.per_unit, e.lag, item.baseline_units)
                    for e in item.effect_list(oid)
                ]
    lag = _ints([e[3] for e in effects])
    acting = [np.flatnonzero(lag <= t) for t in range(n_years)]  # year by year, each year's
    pick = np.concatenate(acting) if acting else _ints([])  # effects in the interventions' order
    acts_in = np.repeat(np.arange(n_years), [len(a) for a in acting])
    source = _ints([e[0] for e in effects])[pick] * n_years + acts_in - lag[pick]
    out = _ints([e[1] for e in effects])[pick] * n_years + acts_in
    baseline = _floats([e[4] for e in effects])[pick]
    moved = plus(f.units.take(source), Exprs.constants(-baseline)).scale(
        _floats([e[2] for e in effects])[pick]
    )
    outcomes = list(instance.outcomes.values())
    n = len(outcomes) * n_years
    start = Exprs.constants(np.repeat(_floats([o.baseline for o in outcomes]), n_years))
    f.level = total(n, [(start, np.arange(n)), (moved, out)])
    harmful = [o for o, outcome in enumerate(outcomes) if outcome.health_gain_per_event]
    where = _grid(harmful, n_years)
    change = plus(
        f.level.take(where),
        Exprs.constants(-np.repeat(_floats([outcomes[o].baseline for o in harmful]), n_years)),
    )
    by_events = change.scale(
        np.repeat(_floats([outcomes[o].health_gain_per_event for o in harmful]), n_years)
    )
    f.health = total(n_years, [(own, term_year), (by_events, where % n_years)])


def _sums(counts: list[int], cols: list[int]) -> Exprs:
    """Sums of columns, each 1 x its columns (what `total` gives for them)."""
    indptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(_ints(counts), out=indptr[1:])
    return Exprs(indptr, _ints(cols), np.ones(len(cols)), np.zeros(len(counts)))


def _money(f: Formulation) -> None:
    """Spend (formulation §4.2, §8.3), economic cost (§4.3), and each partner's income and
    outside costs, at baseline and in each plan year (§4.4)."""
    instance = f.instance
    refused = instance.refused_outcomes
    years = f.years
    n_years = len(years)
    items = list(instance.interventions.values())
    outcomes = list(instance.outcomes.items())
    plain = [i for i, item in enumerate(items) if item.supply is None]
    where = _grid(plain, n_years)
    bought = f.units.take(where)
    in_year = where % n_years
    price = np.repeat(_floats([items[i].unit_cost for i in plain]), n_years)
    full = [items[i].unit_cost if items[i].full_cost is None else items[i].full_cost for i in plain]
    option_year = _ints([f.year_index[y] for _, _, y in f.options])
    service_year = _ints([f.year_index[y] for _, y in f.opened])
    tariffs = np.repeat(_floats([o.tariff for _, o in outcomes]), n_years)
    paid = f.level.scale(tariffs)
    unrefused = _grid([k for k, (oid, _) in enumerate(outcomes) if oid not in refused], n_years)
    f.spend = total(
        n_years,
        [
            (bought.scale(price), in_year),
            (f.option_cost, option_year),
            (f.service_cost, service_year),
            (paid.take(unrefused), unrefused % n_years),
        ],
    )
    f.economic_cost = total(
        n_years,
        [
            (bought.scale(np.repeat(_floats(full), n_years)), in_year),
            (f.option_cost, option_year),
            (f.service_cost, service_year),
            (paid, np.arange(len(paid)) % n_years),
        ],
    )
    if f.envelope is not None and instance.savings.rule == "carry_forward":
        f.carry = {year: f.column(("carry", year)) for year in years}
    # who is paid for what, by partner in the order of interventions and outcomes (an index
    # only: a partner's sums and parts are the same as scanning everything for it)
    delivers: dict[str, list[tuple[int, Any]]] = {}
    for i, item in enumerate(items):
        for who in item.partner_shares():
            delivers.setdefault(who, []).append((i, item))
    paid_or_bears: dict[str, list[tuple[int, str, Any]]] = {}
    outside: dict[str, list[tuple[int, str, Any]]] = {}
    for k, (oid, o) in enumerate(outcomes):
        payees = set(o.payee_shares())
        if oid in refused:
            payees.add(refused[oid].responsible)
        for who in sorted(payees):
            paid_or_bears.setdefault(who, []).append((k, oid, o))
        for who in o.external_costs:
            outside.setdefault(who, []).append((k, oid, o))
    delivered, tariff_income, external = [], [], []  # (partner, source, factor)
    for p, (pid, partner) in enumerate(instance.partners.items()):
        computed = math.fsum(
            item.unit_cost * item.partner_shares().get(pid, 0.0) * item.baseline_units
            for _, item in delivers.get(pid, [])
        ) + math.fsum(
            o.tariff * o.payee_shares().get(pid, 0.0) * o.baseline
            for _, _, o in paid_or_bears.get(pid, [])
        )
        stated = partner.baseline_income
        f.baseline_income[pid] = computed if stated is None else stated
        f.baseline_external_cost[pid] = math.fsum(
            o.external_costs.get(pid, 0.0) * o.baseline for _, _, o in outside.get(pid, [])
        )
        for i, item in delivers.get(pid, []):
            if item.supply is None and item.partner_shares().get(pid):
                delivered.append((p, i, item.partner_shares()[pid] * item.unit_cost))
        for k, oid, o in paid_or_bears.get(pid, []):
            share = o.payee_shares().get(pid, 0.0)
            borne = 1.0 if oid in refused and refused[oid].responsible == pid else 0.0
            if o.tariff and (share or borne):
                tariff_income.append((p, k, (share - borne) * o.tariff))
        external += [(p, k, o.external_costs[pid]) for k, _, o in outside.get(pid, [])]
    partners = len(instance.partners)
    n = partners * n_years
    parts = [_each_year_of(f.units, delivered, n_years)]
    providers = [
        f.partners.get(instance.option_provider(instance.interventions[i].offered()[o]) or "")
        for i, o, _ in f.options
    ]
    sold = [k for k, p in enumerate(providers) if p is not None]
    parts.append(
        (
            f.option_cost.take(sold),
            _ints([providers[k] for k in sold]) * n_years + option_year[sold],
        )
    )
    hosts = [f.partners.get(instance.shared_services[s].provider) for s, _ in f.opened]
    hosted = [k for k, p in enumerate(hosts) if p is not None]
    parts.append(
        (
            f.service_cost.take(hosted),
            _ints([hosts[k] for k in hosted]) * n_years + service_year[hosted],
        )
    )
    parts.append(_each_year_of(f.level, tariff_income, n_years))
    if instance.savings.rule == "share" and f.envelope is not None:
        envelope = f.envelope
        savings = total(
            n_years,
            [
                (Exprs.constants([envelope[y] for y in years]), np.arange(n_years)),
                (f.spend.scale(-1.0), np.arange(n_years)),
            ],
        )
        sharers = [
            (p, t, share)
            for p, pid in enumerate(instance.partners)
            if (share := instance.savings.shares.get(pid, 0.0))
            for t in range(n_years)
        ]
        parts.append(
            (
                savings.take([t for _, t, _ in sharers]).scale(_floats([s for _, _, s in sharers])),
                _ints([p * n_years + t for p, t, _ in sharers]),
            )
        )
    f.income = total(n, parts)
    f.external_cost = total(n, [_each_year_of(f.level, external, n_years)])


def _each_year_of(
    source: Exprs, entries: list[tuple[int, int, float]], n_years: int
) -> tuple[Exprs, Ints]:
    """For (sum, source index, factor) entries: factor x source expression (index, year), each
    year, and the (sum, year) position it goes into."""
    partner = _ints([p for p, _, _ in entries])
    index = _ints([k for _, k, _ in entries])
    factor = _floats([a for _, _, a in entries])
    years = np.arange(n_years)
    where = (index[:, None] * n_years + years).reshape(-1)
    out = (partner[:, None] * n_years + years).reshape(-1)
    return source.take(where).scale(np.repeat(factor, n_years)), out


def _objective(f: Formulation) -> None:
    """Discounted health gain, spend, or net benefit (formulation §5)."""
    instance = f.instance
    kind = instance.objective.kind
    threshold = instance.objective.threshold or 1.0
    if kind == "health_gain":
        term = f.health
    elif kind == "min_spend":
        term = f.spend
    else:
        term = minus(f.health, f.economic_cost.scale(1.0 / threshold))
    discounted = term.scale(_floats([instance.discount(year) for year in f.years]))
    f.objective = total(1, [(discounted, np.zeros(len(f.years)))])


def _rows(f: Formulation) -> Rows:
    """Every row of every constraint family (formulation §6 and §8.4), in the model's order."""
    instance = f.instance
    years = f.years
    n_years = len(years)
    money = instance.currency_symbol
    out = _RowWriter()
    every_year = list(years)
    if f.envelope is not None:
        lhs = f.spend
        if f.carry:
            carried = [f.carry[year] for year in years]
            into = Exprs.concat([Exprs.constants([-0.0]), Exprs.columns(carried[:-1]).scale(-1.0)])
            lhs = plus(plus(lhs, Exprs.columns(carried)), into)
        envelope = [f.envelope[year] for year in years]
        out.add(
            (0, np.arange(n_years), 0),
            "envelope",
            ["envelope"] * n_years,
            every_year,
            "<=",
            lhs,
            envelope,
            money,
            "spend",
        )
    where, subjects, row_years, senses, bounds, units, whats = [], [], [], [], [], [], []
    for fid, floor in instance.floors.items():
        o = f.outcomes[floor.outcome]
        outcome = instance.outcomes[floor.outcome]
        sense: Sense = "<=" if floor.bound == "upper" else ">="
        bound = instance.floor_bound(fid)
        for year in [floor.year] if floor.year is not None else years:
            where.append(f.at(o, year))
            subjects.append(fid)
            row_years.append(year)
            senses.append(sense)
            bounds.append(bound)
            units.append(outcome.unit)
            whats.append(outcome.name)
    out.add(
        (1, np.arange(len(where)), 0),
        "outcome_floor",
        subjects,
        row_years,
        senses,
        f.level.take(where),
        bounds,
        units,
        whats,
    )
    moved = {oid for item in instance.interventions.values() for oid in item.effects}
    moving = [(f.outcomes[oid], oid, x) for oid, x in instance.outcomes.items() if oid in moved]
    _each_year(
        out, f, (2, 0), "outcome_nonnegative", ">=", f.level,
        [(o, oid, 0.0, x.unit, x.name) for o, oid, x in moving],
    )  # fmt: skip
    _each_year(
        out, f, (2, 1), "outcome_maximum", "<=", f.level,
        [(o, oid, x.maximum, x.unit, x.name) for o, oid, x in moving if x.maximum is not None],
    )  # fmt: skip
    net = minus(f.income, f.external_cost)
    losses, gains = [], []
    for p, (pid, partner) in enumerate(instance.partners.items()):
        base_net = f.baseline_income[pid] - f.baseline_external_cost[pid]
        loss, gain = partner.limits(f.baseline_income[pid])
        what = f"{partner.name}'s net position"
        if loss is not None:
            losses.append((p, pid, base_net - loss, money, what))
        if gain is not None:
            gains.append((p, pid, base_net + gain, money, what))
    _each_year(out, f, (3, 0), "partner_risk_limit", ">=", net, losses)
    _each_year(out, f, (3, 1), "partner_gain_cap", "<=", net, gains)
    most, least = [], []
    for i, (iid, item) in enumerate(instance.interventions.items()):
        what = f"{item.name} ({item.unit}s)"
        if item.max_units is not None:
            most.append((i, iid, item.max_units, item.unit, what))
        if item.min_units:
            least.append((i, iid, item.min_units, item.unit, what))
    _each_year(out, f, (4, 0), "capacity", "<=", f.units, most)
    _each_year(out, f, (4, 1), "minimum_units", ">=", f.units, least)
    index = f.interventions
    groups = list(instance.groups.items())
    members = [[index[m] for m in group.members] for _, group in groups]
    _each_year(
        out, f, (5, 0), "group_need", [">=" if g.rule == "meet_need" else "<=" for _, g in groups],
        _summed(f, members),
        [
            (k, gid, g.need, instance.interventions[g.members[0]].unit,
             f"units of {', '.join(g.members)}")
            for k, (gid, g) in enumerate(groups)
        ],
    )  # fmt: skip
    complements = list(instance.complements.items())
    sides = [c.sides() for _, c in complements]
    ratios = np.repeat(_floats([c.ratio for _, c in complements]), n_years)
    dependent = _summed(f, [[index[a] for a in d] for d, _ in sides])
    required = _summed(f, [[index[b] for b in r] for _, r in sides])
    _each_year(
        out, f, (6, 0), "complement", "<=", minus(dependent, required.scale(ratios)),
        [
            (k, cid, 0.0, instance.interventions[d[0]].unit,
             f"units of {', '.join(d)} less {c.ratio:g} x {', '.join(r)}")
            for k, ((cid, c), (d, r)) in enumerate(zip(complements, sides, strict=True))
        ],
    )  # fmt: skip
    resources = []
    for rid, resource in instance.resources.items():
        users = [
            (i, item.resource_use[rid])
            for i, item in enumerate(instance.interventions.values())
            if item.resource_use.get(rid)
        ]
        if users:
            resources.append((rid, resource, users))
    pieces = [(k, i, use) for k, (_, _, users) in enumerate(resources) for i, use in users]
    used, users_at = _each_year_of(f.units, pieces, n_years)
    _each_year(
        out, f, (7, 0), "resource", "<=", total(len(resources) * n_years, [(used, users_at)]),
        [
            (k, rid, resource.capacity, resource.unit, f"{resource.name} used")
            for k, (rid, resource, _) in enumerate(resources)
        ],
    )  # fmt: skip
    _ramp_rows(f, out)
    _supply_rows(f, out)
    return out.rows()


def _each_year(
    out: _RowWriter,
    f: Formulation,
    place: tuple[int, int],
    family: str,
    sense: Sense | list[Sense],
    source: Exprs,
    subjects: Sequence[tuple[int, str, float | None, str, str]],
) -> None:
    """A row each plan year for each (source index, subject, right-hand side, unit, what):
    source expression (index, year) <sense> right-hand side."""
    n_years = len(f.years)
    block, minor = place
    where = _grid([k for k, *_ in subjects], n_years)
    senses = sense if isinstance(sense, str) else [s for s in sense for _ in range(n_years)]
    out.add(
        (block, where, minor),
        family,
        [s for _, s, _, _, _ in subjects for _ in range(n_years)],
        f.years * len(subjects),
        senses,
        source.take(where),
        np.repeat(_floats([b for _, _, b, _, _ in subjects]), n_years),
        [u for _, _, _, u, _ in subjects for _ in range(n_years)],
        [w for _, _, _, _, w in subjects for _ in range(n_years)],
    )


def _summed(f: Formulation, groups: list[list[int]]) -> Exprs:
    """For each group of interventions and each year, the total of their units, in order."""
    n_years = len(f.years)
    pieces = [(k, i, 1.0) for k, members in enumerate(groups) for i in members]
    parts, out = _each_year_of(f.units, pieces, n_years)
    return total(len(groups) * n_years, [(parts, out)])


def _ramp_rows(f: Formulation, out: _RowWriter) -> None:
    """Growth and cuts from the year before (the baseline units before the first plan year)."""
    n_years = len(f.years)
    n = len(f.units)
    # units in the year before: the year before's expression, or the baseline as a constant
    items = list(f.instance.interventions.values())
    before_source = Exprs.concat(
        [f.units, Exprs.constants([item.baseline_units for item in items])]
    )
    kinds: list[list[tuple[int, str, Any]]] = [[], [], [], []]
    for i, (iid, item) in enumerate(f.instance.interventions.items()):
        ramp = item.ramp
        if ramp is None:
            continue
        for kind, limit in enumerate(
            [ramp.max_increase, ramp.max_decrease, ramp.max_increase_share, ramp.max_decrease_share]
        ):
            if limit is not None:
                kinds[kind].append((i, iid, limit))
    for kind, chosen in enumerate(kinds):
        where = _grid([i for i, _, _ in chosen], n_years)
        year_index = where % n_years
        previous = np.where(year_index > 0, where - 1, n + where // n_years)
        now, before = f.units.take(where), before_source.take(previous)
        limits = np.repeat(_floats([limit for _, _, limit in chosen]), n_years)
        names = [items[i].name for i, _, _ in chosen]
        if kind == 0:
            lhs, rhs = minus(now, before), limits
            whats = [f"growth of {name} from the year before" for name in names]
        elif kind == 1:
            lhs, rhs = minus(before, now), limits
            whats = [f"cut of {name} from the year before" for name in names]
        elif kind == 2:
            lhs, rhs = minus(now, before.scale(1 + limits)), np.zeros(len(where))
            whats = [
                f"growth of {name} beyond {share:.0%} of the year before"
                for name, (_, _, share) in zip(names, chosen, strict=True)
            ]
        else:
            lhs, rhs = minus(before.scale(1 - limits), now), np.zeros(len(where))
            whats = [
                f"cut of {name} beyond {share:.0%} of the year before"
                for name, (_, _, share) in zip(names, chosen, strict=True)
            ]
        family = ("ramp_up", "ramp_down", "ramp_up_share", "ramp_down_share")[kind]
        out.add(
            (8, where, kind),
            family,
            [iid for _, iid, _ in chosen for _ in range(n_years)],
            f.years * len(chosen),
            "<=",
            lhs,
            rhs,
            [items[i].unit for i, _, _ in chosen for _ in range(n_years)],
            [w for w in whats for _ in range(n_years)],
        )


def _supply_rows(f: Formulation, out: _RowWriter) -> None:
    """Make-or-buy rows, shared capacities, set-up starts and indivisible programmes (§8.4)."""
    instance = f.instance
    # per option and year: capacity if chosen, minimum volume, shared use; or a plain capacity
    rows: list[list[tuple[Any, ...]]] = [[], [], [], []]
    for k, ((iid, oid, year), units) in enumerate(f.options.items()):
        item = instance.interventions[iid]
        option = item.offered()[oid]
        on = f.chosen.get((iid, oid, year))
        subject = f"{iid}.{oid}"
        what = f"units of {item.name} through {option.name or oid}"
        if on is not None:
            service = instance.shared_services.get(option.shared or "")
            given = [option.capacity, item.max_units, service.capacity if service else None]
            bounds = [b for b in given if b is not None]
            if bounds:
                most = min(bounds)
                rows[0].append((k, subject, year, units, on, most, item.unit,
                                f"{what}, less {most:,.6g} if chosen"))  # fmt: skip
            if option.min_volume:
                rows[1].append((k, subject, year, units, on, option.min_volume, item.unit,
                                f"{what}, less {option.min_volume:,.6g} if chosen"))  # fmt: skip
            if option.shared is not None:
                rows[2].append((k, subject, year, on, f.opened[(option.shared, year)], 1.0,
                                "option", "chosen, less the shared service open"))  # fmt: skip
        elif option.capacity is not None:
            rows[3].append((k, subject, year, units, option.capacity, item.unit, what))
    kinds: tuple[tuple[int, str, Sense], ...] = (
        (0, "option_capacity", "<="), (1, "minimum_volume", ">="), (2, "shared_use", "<=")
    )  # fmt: skip
    for minor, family, sense in kinds:  # left - factor x right (shared use: factor 1)
        at, subjects, years, left, right, factors, unit_names, whats = _transposed(rows[minor], 8)
        lhs = minus(Exprs.columns(left), Exprs.columns(right).scale(_floats(factors)))
        out.add((9, at, minor), family, subjects, years, sense, lhs, 0.0, unit_names, whats)
    at, subjects, years, used, capacities, unit_names, whats = _transposed(rows[3], 7)
    out.add(
        (9, at, 0), "option_capacity", subjects, years, "<=", Exprs.columns(used), capacities,
        unit_names, whats,
    )  # fmt: skip
    # per intervention with options and year: one option at most, and supply equal to use
    ons: dict[tuple[str, int], list[int]] = {}
    for (iid, _, year), on in f.chosen.items():
        ons.setdefault((iid, year), []).append(on)
    supplied: dict[tuple[str, int], list[int]] = {}
    for (iid, _, year), units in f.options.items():
        supplied.setdefault((iid, year), []).append(units)
    exclusive: list[tuple[int, str, int, list[int], str]] = []
    balance: list[tuple[int, str, int, list[int], str, str]] = []
    for i, (iid, item) in enumerate(instance.interventions.items()):
        if item.supply is None:
            continue
        for year in f.years:
            position = f.at(i, year)
            these = ons.get((iid, year), [])
            if item.supply.choice == "exclusive" and len(these) > 1:
                exclusive.append((position, iid, year, these, f"options of {item.name} chosen"))
            if item.tranches:
                balance.append(
                    (position, iid, year, supplied.get((iid, year), []), item.unit,
                     f"units of {item.name} supplied less units used")
                )  # fmt: skip
    at, subjects, years, chosen, whats = _transposed(exclusive, 5)
    out.add(
        (10, at, 0), "exclusive_choice", subjects, years, "<=", _column_sums(chosen), 1.0,
        "option", whats,
    )  # fmt: skip
    at, subjects, years, supplying, unit_names, whats = _transposed(balance, 6)
    lhs = minus(_column_sums(supplying), f.units.take(at))
    out.add((10, at, 1), "supply_balance", subjects, years, "==", lhs, 0.0, unit_names, whats)
    # shared services: units drawn within capacity when open
    drawing: dict[tuple[str, int], list[int]] = {}
    for (iid, oid, year), units in f.options.items():
        shared = instance.interventions[iid].offered()[oid].shared
        if shared is not None:
            drawing.setdefault((shared, year), []).append(units)
    capped = [
        (k, sid, year, on, instance.shared_services[sid])
        for k, ((sid, year), on) in enumerate(f.opened.items())
        if instance.shared_services[sid].capacity is not None
    ]
    out.add(
        (11, [r[0] for r in capped], 0),
        "shared_capacity",
        [r[1] for r in capped],
        [r[2] for r in capped],
        "<=",
        minus(
            _column_sums([drawing.get((sid, year), []) for _, sid, year, _, _ in capped]),
            Exprs.columns([r[3] for r in capped]).scale(_floats([r[4].capacity for r in capped])),
        ),
        0.0,
        "unit",
        [f"units drawn on {s.name}, less {s.capacity:,.6g} if open" for _, _, _, _, s in capped],
    )
    # set-up starts: a start where a series is on and was not the year before
    pairs = []
    for key, starts in f.starts.items():
        series = f.series[key]
        subject = ".".join(map(str, key))
        for previous, year in itertools.pairwise(sorted(starts)):
            pairs.append((subject, year, starts[year], series[year], series[previous]))
    start = Exprs.columns([p[2] for p in pairs])
    now = Exprs.columns([p[3] for p in pairs])
    before = Exprs.columns([p[4] for p in pairs])
    written: tuple[tuple[int, str, Sense, Exprs, float], ...] = (
        (0, "start_if_new", ">=", plus(minus(start, now), before), 0.0),
        (1, "start_only_if_on", "<=", minus(start, now), 0.0),
        (2, "start_only_if_new", "<=", plus(start, before), 1.0),
    )
    for minor, family, sense, lhs, rhs in written:
        out.add(
            (12, np.arange(len(pairs)), minor),
            family,
            [p[0] for p in pairs],
            [p[1] for p in pairs],
            sense,
            lhs,
            rhs,
            "start",
            [f"start of {p[0]}" for p in pairs],
        )
    # indivisible programmes: none or all
    funded = []
    for (iid, year), fund in f.funded.items():
        item = instance.interventions[iid]
        size = item.max_units or 0.0
        funded.append((f.at(f.interventions[iid], year), iid, year, fund, size, item,
                       f"{item.name} ({item.unit}s) less {size:,.6g} if funded"))  # fmt: skip
    out.add(
        (13, np.arange(len(funded)), 0),
        "indivisible",
        [r[1] for r in funded],
        [r[2] for r in funded],
        "==",
        minus(
            f.units.take([r[0] for r in funded]),
            Exprs.columns([r[3] for r in funded]).scale(_floats([r[4] for r in funded])),
        ),
        0.0,
        [r[5].unit for r in funded],
        [r[6] for r in funded],
    )


def _transposed(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """The rows' fields as columns, in order (`width` empty columns when there are no rows)."""
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]


def _column_sums(groups: list[list[int]]) -> Exprs:
    """The total of each group of columns (each 1 x column, in order)."""
    out = [k for k, cols in enumerate(groups) for _ in cols]
    return total(len(groups), [(Exprs.columns([j for cols in groups for j in cols]), out)])


# --- the plan's decisions ---------------------------------------------------------------------


def _column_value(values: Floats, column: int) -> float:
    """A column's value as an expression of it (1 x the column, plus 0)."""
    return 0.0 + math.fsum([1.0 * float(values[column])])


def plan_values(f: Formulation, plan: Plan) -> tuple[Floats, list[Checks]]:
    """The column values the plan's tables give, and checks on what the tables must hold.

    Units come from `allocation` (tranches filled in order), option units and choices from
    `supply`, services open from `shared_services`; a programme is funded when it has units;
    a series starts in a year it is used and was not the year before; every unspent pound is
    carried forward.
    """
    instance = f.instance
    years = f.years
    n_years = len(years)
    values = np.zeros(len(f.keys))
    iids, allocated_years, stated_units = _columns(
        plan, "allocation", "intervention", "year", "units"
    )
    keys = zip(map(str, iids), allocated_years, strict=True)
    allocation = dict(zip(keys, map(float, stated_units), strict=True))
    offered = list(
        zip(
            *_columns(
                plan,
                "supply",
                "intervention",
                "option",
                "year",
                "units",
                "chosen",
                "available",
            ),
            strict=True,
        )
    )
    supply = {(str(i), str(o), y): (float(u), bool(c)) for i, o, y, u, c, a in offered if a}
    opened = {
        (str(s), y): bool(on)
        for s, y, on in zip(
            *_columns(plan, "shared_services", "service", "year", "open"), strict=True
        )
    }
    items = list(instance.interventions.items())
    found = [allocation.get((iid, year)) for iid, _ in items for year in years]
    missing = [k for k, units in enumerate(found) if units is None]
    units = _floats([0.0 if u is None else u for u in found])
    plain = list(f.unit_columns.items())
    values[_ints([j for _, j in plain])] = units[_ints([k for k, _ in plain])]
    left_over: list[tuple[int, float, float]] = []  # (position, units left, tranches' size)
    for position, blocks in f.tranche_columns.items():
        item = items[position // n_years][1]
        left = float(units[position])
        for tranche, column in zip(item.tranches or [], blocks, strict=True):
            take = max(0.0, left if tranche.units is None else min(left, tranche.units))
            values[column] = take
            left -= take
        size = math.fsum(t.units or 0.0 for t in item.tranches or [])
        left_over.append((position, left, size))
    for (iid, year), column in f.funded.items():
        size = instance.interventions[iid].max_units or 1.0
        allocated = float(units[f.at(f.interventions[iid], year)])
        values[column] = min(1.0, max(0.0, round(allocated / size)))
    # checks by intervention and year: a missing row, units below none, units beyond tranches
    n = len(found)
    kind = np.concatenate([np.zeros(len(missing)), np.ones(n), np.full(len(left_over), 2)])
    positions = _ints(missing + list(range(n)) + [p for p, _, _ in left_over])
    order = np.lexsort((kind, positions))
    kinds, positions = kind[order].astype(np.int64), positions[order]
    amount = np.concatenate([np.ones(len(missing)), -units, _floats([x for _, x, _ in left_over])])
    tolerance = np.concatenate(
        [
            np.full(len(missing), 0.5),
            np.full(n, RELATIVE),
            RELATIVE * np.maximum(1.0, _floats([s for _, _, s in left_over])),
        ]
    )
    extra = {p: (x, s) for p, x, s in left_over}

    def intervention_check(k: int) -> Check:
        where = int(positions[k])
        (iid, item), year = items[where // n_years], years[where % n_years]
        if kinds[k] == 0:
            return _missing("allocation", f"{iid} {year}", year)
        got = float(units[where])
        label = f"units__{iid}__{year}"
        words = f"variable_bounds {iid} {year}: {item.name} has {got:,.6g} {item.unit}s"
        if kinds[k] == 1:
            return Check(
                "variable_bounds",
                label,
                year,
                -got,
                item.unit,
                RELATIVE,
                f"{words}, fewer than none",
            )
        left, size = extra[where]
        return Check(
            "variable_bounds",
            label,
            year,
            left,
            item.unit,
            RELATIVE * max(1.0, size),
            f"{words}, {_number(left)} more than its tranches hold",
        )

    batches = [Checks(amount[order], tolerance[order], kinds != 0, intervention_check)]
    # checks by supply option and year: a missing row, units below none
    option_keys = list(f.options)
    through: list[float] = []
    option_missing: list[int] = []
    for k, key in enumerate(option_keys):
        row = supply.get(key)
        if row is None:
            option_missing.append(k)
            row = (0.0, False)
        values[f.options[key]] = row[0]
        if key in f.chosen:
            values[f.chosen[key]] = float(row[1])
        through.append(row[0])
    m = len(option_keys)
    option_kind = np.concatenate([np.zeros(len(option_missing)), np.ones(m)]).astype(np.int64)
    option_at = _ints(option_missing + list(range(m)))
    option_order = np.lexsort((option_kind, option_at))
    option_kind, option_at = option_kind[option_order], option_at[option_order]

    def option_check(k: int) -> Check:
        iid, oid, year = option_keys[int(option_at[k])]
        if option_kind[k] == 0:
            return _missing("supply", f"{iid} {oid} {year}", year)
        got = through[int(option_at[k])]
        unit = instance.interventions[iid].unit
        return Check(
            "variable_bounds",
            f"units__{iid}__{oid}__{year}",
            year,
            -got,
            unit,
            RELATIVE,
            f"variable_bounds {iid}.{oid} {year}: "
            f"{_number(got)} {unit}s through the option, fewer than none",
        )

    batches.append(
        Checks(
            np.concatenate([np.ones(len(option_missing)), -_floats(through)])[option_order],
            np.concatenate([np.full(len(option_missing), 0.5), np.full(m, RELATIVE)])[option_order],
            option_kind != 0,
            option_check,
        )
    )
    unavailable = [
        Check(
            "variable_bounds",
            f"units__{iid}__{oid}__{year}",
            int(year),
            abs(units_through),
            instance.interventions[str(iid)].unit,
            RELATIVE,
            f"variable_bounds {iid}.{oid} {year}: {_number(units_through)} units "
            "through an option not on offer that year",
        )
        for iid, oid, year, units_through, _, available in offered
        if not available and abs(units_through) > 0
    ]
    unopened = []
    for sid, year in f.opened:
        is_open = opened.get((sid, year))
        if is_open is None:
            unopened.append(_missing("shared_services", f"{sid} {year}", year))
        values[f.opened[(sid, year)]] = float(bool(is_open))
    batches += [listed(unavailable), listed(unopened)]
    for series_key, starts in f.starts.items():
        series = f.series[series_key]
        for previous, year in itertools.pairwise(sorted(starts)):
            now = _column_value(values, series[year])
            before = _column_value(values, series[previous])
            values[starts[year]] = now * (1.0 - before)
    if f.carry and f.envelope is not None:
        spend = f.spend.values(values)
        carried = 0.0
        for t, year in enumerate(years):
            carried = max(0.0, carried + f.envelope[year] - spend[t])
            values[f.carry[year]] = carried
    return values, batches


def _missing(table: str, what: str, year: int) -> Check:
    return Check(
        "reported",
        f"{table} {what}",
        year,
        1.0,
        "row",
        0.5,
        f"reported: the {table} table has no row for {what}",
    )


# --- the checks -------------------------------------------------------------------------------


def verify(instance: Instance, plan: Plan) -> Verification:
    """Every check of `plan` against `instance`: rules, variable bounds, reported figures,
    objective and (on the LP the prices come from) strong duality. Never raises for a failed
    check: see `verified`."""
    f = formulate(instance)
    values, batches = plan_values(f, plan)
    rows = f.rows
    m = len(rows)
    owner = np.repeat(np.arange(m), np.diff(rows.lhs.indptr))
    cols, coefs, constant, rhs = rows.lhs.cols, rows.lhs.coefs, rows.lhs.constant, rows.rhs
    products = coefs * values[cols]
    lhs = constant + np.bincount(owner, weights=products, minlength=m)
    magnitude = np.maximum.reduce([np.ones(m), np.abs(rhs), np.abs(constant)])
    np.maximum.at(magnitude, owner, np.abs(products))
    sense = rows.sense
    amount = np.where(sense == 0, lhs - rhs, np.where(sense == 1, rhs - lhs, np.abs(lhs - rhs)))
    batches.append(
        Checks(
            amount,
            RELATIVE * magnitude,
            np.ones(m, dtype=bool),
            lambda r: _row_check(f, r, float(lhs[r]), float(magnitude[r]), values),
        )
    )
    batches += _reported(f, plan, values)
    [objective] = f.objective.values(values)
    unit = _objective_unit(instance)
    stated = float(plan.summary["objective"])
    batches.append(
        listed(
            [
                Check(
                    "objective",
                    "objective",
                    None,
                    abs(objective - stated),
                    unit,
                    RELATIVE * max(1.0, abs(objective)),
                    f"objective: the plan states {_number(stated)} {unit}, its decisions give "
                    f"{_number(objective)} {unit}",
                )
            ]
        )
    )
    # strong duality, on the LP with every yes/no fixed at the plan's value
    families, subjects, years, names, stated_duals = _columns(
        plan, "shadow_prices", "family", "subject", "year", "constraint", "dual"
    )
    if families == rows.family and subjects == rows.subject and years == rows.year:
        unmatched: list[str] = []  # every row priced, in the verifier's order
        duals = _floats([float(dual) for dual in stated_duals])
    else:
        ours = list(zip(rows.family, rows.subject, rows.year, strict=True))
        prices = {
            (str(fam), str(sub), y): (str(name), float(dual))
            for fam, sub, y, name, dual in zip(
                families, subjects, years, names, stated_duals, strict=True
            )
        }
        known = {key: r for r, key in enumerate(ours)}
        unmatched = [
            f"not in the plan: {rows.name(r)}" for k, r in known.items() if k not in prices
        ]
        unmatched += [
            f"not recomputed: {name}" for k, (name, _) in prices.items() if k not in known
        ]
        unknown = [name for k, (name, dual) in prices.items() if k not in known and dual != 0]
        if unknown:
            note = f"the plan prices rows the verifier does not know: {', '.join(unknown[:5])}"
            return Verification(batches, m, objective, None, note, unmatched)
        duals = _floats([prices.get(key, ("", 0.0))[1] for key in ours])
    dual_objective, dual_checks = _duality(
        f, objective, values, owner, cols, coefs, rhs - constant, magnitude, duals
    )
    batches += dual_checks
    return Verification(batches, m, objective, dual_objective, "", unmatched)


def _row_check(f: Formulation, r: int, lhs: float, magnitude: float, values: Floats) -> Check:
    """A row's violation in its own unit, and the sentence that says it."""
    row = f.rows[r]
    if row.sense == "<=":
        amount = lhs - row.rhs
    elif row.sense == ">=":
        amount = row.rhs - lhs
    else:
        amount = abs(lhs - row.rhs)
    symbol = f.instance.currency_symbol
    head = f"{row.family} {'' if row.family == 'envelope' else row.subject + ' '}{row.year}"
    if row.family == "envelope":
        years = f.years
        index = years.index(row.year)
        spend = f.spend.values(values)[index]
        carried_in = _column_value(values, f.carry[years[index - 1]]) if f.carry and index else 0.0
        words = f"{head}: spend {_amount(spend, symbol, symbol)} exceeds the envelope " + (
            f"{_amount(row.rhs, symbol, symbol)} plus savings carried in "
            f"{_amount(carried_in, symbol, symbol)}"
            if f.carry
            else _amount(row.rhs, symbol, symbol)
        )
        message = f"{words} by {_amount(amount, symbol, symbol)} ({row.name})"
    elif row.family == "indivisible":
        item = f.instance.interventions[row.subject]
        position = f.at(f.interventions[row.subject], row.year)
        [units] = f.units.take([position]).values(values)
        message = (
            f"{head}: {item.name} has {_amount(units, row.unit, symbol)}, neither none nor all "
            f"{_amount(item.max_units or 0.0, row.unit, symbol)}, by "
            f"{_amount(amount, row.unit, symbol)} ({row.name})"
        )
    else:
        relation = {
            "<=": "more than the most allowed",
            ">=": "less than the least allowed",
            "==": "not the required",
        }[row.sense]
        message = (
            f"{head}: {row.what} is {_amount(lhs, row.unit, symbol)}, {relation} "
            f"{_amount(row.rhs, row.unit, symbol)}, by {_amount(amount, row.unit, symbol)} "
            f"({row.name})"
        )
    return Check(row.family, row.name, row.year, amount, row.unit, RELATIVE * magnitude, message)


@dataclass(frozen=True)
class _Stated:
    """Figures a table states (`stated`), what the plan's decisions give (`exact`), each check's
    place among its table's (`order`), and `label(j)`: check j's (what, year, unit)."""

    stated: list[Any]
    exact: Any
    order: Any
    label: Callable[[int], tuple[str, int | None, str]]


def _compared(symbol: str, parts: list[_Stated]) -> Checks:
    """Reported figures against what the plan's decisions imply, off by at most 1e-6 of the
    larger of 1 and the exact figure, in the order given by the parts' `order`."""
    stated = _floats([float(v) for part in parts for v in part.stated])
    exact = np.concatenate([_floats(part.exact) for part in parts])
    order = np.argsort(np.concatenate([_ints(part.order) for part in parts]), kind="stable")
    owner = np.repeat(np.arange(len(parts)), [len(part.stated) for part in parts])[order]
    offsets = np.cumsum([0] + [len(part.stated) for part in parts])
    stated, exact = stated[order], exact[order]
    size = np.abs(exact)

    def make(k: int) -> Check:
        p = int(owner[k])
        what, year, unit = parts[p].label(int(order[k]) - int(offsets[p]))
        given, right = float(stated[k]), float(exact[k])
        off = abs(given - right)
        words = (
            f"reported: {what}: the plan states {_amount(given, unit, symbol)}, its decisions "
            f"give {_amount(right, unit, symbol)} (off by {_amount(off, unit, symbol)})"
        )
        return Check("reported", what, year, off, unit, RELATIVE * max(1.0, abs(right)), words)

    return Checks(
        np.abs(stated - exact),
        RELATIVE * np.where(size > 1.0, size, 1.0),
        np.zeros(len(stated), dtype=bool),
        make,
    )


def _columns(plan: Plan, table: str, *columns: str) -> list[list[Any]]:
    """Columns of one of the plan's tables as lists of plain Python values (years as int)."""
    found = plan.data[table]
    return [[int(v) for v in found.column(c)] if c == "year" else found.column(c) for c in columns]


def _positions(
    f: Formulation, index: dict[str, int], keys: list[Any], years: list[int]
) -> list[int | None]:
    """The position of each (key of `index`, plan year), None where either is unknown."""
    n_years, year_index = len(f.years), f.year_index
    found = [index.get(k) for k in keys]
    at = [year_index.get(y) for y in years]
    return [
        None if k is None or t is None else k * n_years + t for k, t in zip(found, at, strict=True)
    ]


def _reported(f: Formulation, plan: Plan, values: Floats) -> list[Checks]:
    """The figures the plan reports against what its decisions imply."""
    instance = f.instance
    symbol = instance.currency_symbol
    n_years = len(f.years)
    option_values = f.option_cost.values(values)
    option_costs: dict[tuple[str, int], list[float]] = {}
    for (iid, _, year), cost in zip(f.options, option_values, strict=True):
        option_costs.setdefault((iid, year), []).append(cost)
    items = list(instance.interventions.values())
    # allocation: units through options (where they make up the units), and spend
    iids, years, units, spend = _columns(
        plan, "allocation", "intervention", "year", "units", "spend"
    )
    where = _positions(f, f.interventions, iids, years)
    rows = [r for r, k in enumerate(where) if k is not None]
    item_of = {r: items[(where[r] or 0) // n_years] for r in rows}
    through = [r for r in rows if item_of[r].supply is not None and not item_of[r].tranches]
    exact_spend = [
        item_of[r].unit_cost * float(units[r])
        if item_of[r].supply is None
        else math.fsum(option_costs.get((iids[r], years[r]), []))
        for r in rows
    ]
    spent = _compared(
        symbol,
        [
            _Stated(
                [units[r] for r in through],
                f.units.take([where[r] for r in through]).values(values),
                _ints(through) * 2,
                lambda j: (
                    f"units of {iids[through[j]]} in {years[through[j]]}",
                    years[through[j]],
                    item_of[through[j]].unit,
                ),
            ),
            _Stated(
                [spend[r] for r in rows],
                exact_spend,
                _ints(rows) * 2 + 1,
                lambda j: (f"spend on {iids[rows[j]]} in {years[rows[j]]}", years[rows[j]], symbol),
            ),
        ],
    )
    # outcome levels, each outcome and year once
    oids, years_o, levels = _columns(plan, "outcomes", "outcome", "year", "level")
    where_o = _positions(f, f.outcomes, oids, years_o)
    first: dict[int, int] = {}
    for r, k in enumerate(where_o):
        if k is not None and k not in first:
            first[k] = r
    once = sorted(first.values())
    outcomes = list(instance.outcomes.values())
    levelled = _compared(
        symbol,
        [
            _Stated(
                [levels[r] for r in once],
                f.level.take([where_o[r] for r in once]).values(values),
                _ints(once),
                lambda j: (
                    f"level of {oids[once[j]]} in {years_o[once[j]]}",
                    years_o[once[j]],
                    outcomes[(where_o[once[j]] or 0) // n_years].unit,
                ),
            )
        ],
    )
    # partners: income, outside costs and baseline income
    pids, years_p, income, external, base = _columns(
        plan, "partners", "partner", "year", "income", "external_cost", "baseline_income"
    )
    where_p = _positions(f, f.partners, pids, years_p)
    known = [r for r, k in enumerate(where_p) if k is not None]
    at = [where_p[r] for r in known]

    def partner_label(what: str, with_year: bool) -> Callable[[int], tuple[str, int, str]]:
        def label(j: int) -> tuple[str, int, str]:
            pid, year = pids[known[j]], years_p[known[j]]
            return (f"{what} of {pid} in {year}" if with_year else f"{what} of {pid}"), year, symbol

        return label

    partners = _compared(
        symbol,
        [
            _Stated(
                [income[r] for r in known],
                f.income.take(at).values(values),
                _ints(known) * 3,
                partner_label("income", True),
            ),
            _Stated(
                [external[r] for r in known],
                f.external_cost.take(at).values(values),
                _ints(known) * 3 + 1,
                partner_label("outside costs", True),
            ),
            _Stated(
                [base[r] for r in known],
                [f.baseline_income[pids[r]] for r in known],
                _ints(known) * 3 + 2,
                partner_label("baseline income", False),
            ),
        ],
    )
    # what each option and shared service costs
    option_index = {key: k for k, key in enumerate(f.options)}
    o_iids, o_oids, o_years, o_costs = _columns(
        plan, "supply", "intervention", "option", "year", "cost"
    )
    o_at = [option_index.get(key) for key in zip(o_iids, o_oids, o_years, strict=True)]
    o_rows = [r for r, k in enumerate(o_at) if k is not None]
    service_index = {key: k for k, key in enumerate(f.opened)}
    s_ids, s_years, s_costs = _columns(plan, "shared_services", "service", "year", "cost")
    s_at = [service_index.get(key) for key in zip(s_ids, s_years, strict=True)]
    s_rows = [r for r, k in enumerate(s_at) if k is not None]
    service_values = f.service_cost.values(values)
    costs = _compared(
        symbol,
        [
            _Stated(
                [o_costs[r] for r in o_rows],
                [option_values[o_at[r] or 0] for r in o_rows],
                _ints(o_rows),
                lambda j: (
                    f"cost of {o_iids[o_rows[j]]}.{o_oids[o_rows[j]]} in {o_years[o_rows[j]]}",
                    o_years[o_rows[j]],
                    symbol,
                ),
            ),
            _Stated(
                [s_costs[r] for r in s_rows],
                [service_values[s_at[r] or 0] for r in s_rows],
                len(o_iids) + _ints(s_rows),
                lambda j: (
                    f"cost of {s_ids[s_rows[j]]} in {s_years[s_rows[j]]}",
                    s_years[s_rows[j]],
                    symbol,
                ),
            ),
        ],
    )
    spend_total = math.fsum(f.spend.values(values))
    health = math.fsum(
        instance.discount(y) * h for y, h in zip(f.years, f.health.values(values), strict=True)
    )
    labels: list[tuple[str, int | None, str]] = [
        ("total spend", None, symbol),
        ("discounted health gain", None, instance.health_unit),
    ]
    summary = plan.summary
    totals = _compared(
        symbol,
        [
            _Stated(
                [summary["total_spend"], summary["health_gain_discounted"]],
                [spend_total, health],
                [0, 1],
                labels.__getitem__,
            )
        ],
    )
    return [spent, levelled, partners, costs, totals]


def _duality(
    f: Formulation,
    objective: float,
    values: Floats,
    rows: Ints,
    cols: Ints,
    coefs: Floats,
    b: Floats,
    magnitude: Floats,
    duals: Floats,
) -> tuple[float, list[Checks]]:
    """The dual objective of the LP the prices come from (every yes/no fixed at the plan's
    value), from the plan's duals and the verifier's own right-hand sides, and its checks.

    With y the duals (change in the objective per +1 of a right-hand side) and d = c - A'y the
    reduced costs, the dual objective is b'y + sum_j d_j x_j(bound) + the objective's constant,
    each column at the bound its reduced cost points to. It equals the objective exactly when the
    duals are a valid certificate of optimality. Duals have the sign their row's sense allows
    (constraints.md), and a column with no upper bound has a reduced cost that does not pay.
    """
    instance = f.instance
    maximise = instance.objective.kind != "min_spend"
    unit = _objective_unit(instance)
    n = len(f.keys)
    c = np.zeros(n)
    c[f.objective.cols] = f.objective.coefs
    weighted = coefs * duals[rows]
    reduced = c - np.bincount(cols, weights=weighted, minlength=n)
    scale = np.abs(c) + np.bincount(cols, weights=np.abs(weighted), minlength=n)
    cleaned = DUAL_CLEANED * np.bincount(cols, weights=np.abs(coefs), minlength=n)
    lower = _floats(f.lower)
    upper = _floats(f.upper)
    fixed = np.array(f.yes_no, dtype=bool)
    lower[fixed] = upper[fixed] = values[fixed]
    improving = reduced > 0 if maximise else reduced < 0  # pushes the column up
    bound = np.where(improving, upper, lower)
    tolerance = RELATIVE * max(1.0, abs(objective))
    # columns with nothing to stop them
    free = np.flatnonzero(np.isinf(bound))
    excess = np.abs(reduced[free])
    allowed = RELATIVE * scale[free] + cleaned[free]

    def unlimited(k: int) -> Check:
        key = column_name(f.keys[int(free[k])])
        return Check(
            "duality",
            key,
            None,
            float(excess[k]),
            f"{unit} per unit",
            float(max(float(allowed[k]), 1e-300)),
            f"duality: each unit more of {key} would improve the objective by "
            f"{_number(float(excess[k]))} {unit} at the stated prices, with nothing to stop "
            "it: the prices are not a certificate of optimality",
        )

    checks = [
        Checks(
            excess,
            np.where(allowed < 1e-300, 1e-300, allowed),
            np.zeros(len(free), dtype=bool),
            unlimited,
        )
    ]
    bound[np.isinf(bound)] = 0.0
    terms = np.concatenate([b * duals, reduced * bound])
    dual_objective = math.fsum(terms.tolist()) + float(f.objective.constant[0])
    # duals of the wrong sign for their row's sense
    sense = f.rows.sense
    wrong = np.where(sense == 0, -duals, np.where(sense == 1, duals, 0.0)) * (1 if maximise else -1)
    signs = np.flatnonzero(wrong > 0)

    def wrong_sign(k: int) -> Check:
        r = int(signs[k])
        name = f.rows.name(r)
        return Check(
            "duality",
            name,
            f.rows.year[r],
            float(wrong[r]) * float(magnitude[r]),
            unit,
            tolerance,
            f"duality: the shadow price of {name} is {float(duals[r]):.6g}, of the "
            f"wrong sign for a {SENSES[int(sense[r])]} row",
        )

    checks.append(
        Checks(
            wrong[signs] * magnitude[signs],
            np.full(len(signs), tolerance),
            np.zeros(len(signs), dtype=bool),
            wrong_sign,
        )
    )
    gap = abs(dual_objective - objective)
    allowance = DUAL_CLEANED * float(np.sum(magnitude[duals == 0]))
    largest = max([1.0, abs(objective), *np.abs(terms).tolist()])
    checks.append(
        listed(
            [
                Check(
                    "duality",
                    "dual objective",
                    None,
                    gap,
                    unit,
                    RELATIVE * largest + allowance,
                    f"duality: the dual objective from the plan's shadow prices is "
                    f"{_number(dual_objective)} {unit}, the objective {_number(objective)} "
                    f"{unit}",
                )
            ]
        )
    )
    return dual_objective, checks


# --- numbers in words -------------------------------------------------------------------------


def _objective_unit(instance: Instance) -> str:
    kind = instance.objective.kind
    if kind == "min_spend":
        return instance.currency_symbol
    return instance.health_unit + (" (net)" if kind == "net_benefit" else "")


def _number(value: float) -> str:
    """1,234,567 / 12,345.7 / 0.0123 / 1.2e-09."""
    size = abs(value)
    if size >= 1e5:
        return f"{value:,.0f}"
    if size >= 1e-3 or size == 0:
        return f"{value:,.6g}"
    return f"{value:.3g}"


def _amount(value: float, unit: str, symbol: str) -> str:
    """Money as £1,234 (£12.34 below £1,000, and whole pounds without pence); anything else as
    a number and its unit."""
    if unit != symbol:
        return f"{_number(value)} {unit}"
    sign, size = ("-" if value < 0 else ""), abs(value)
    if size >= 1000 or size == 0 or (size >= 0.01 and round(size, 2) == round(size)):
        return f"{sign}{symbol}{size:,.0f}"
    if size >= 0.01:
        return f"{sign}{symbol}{size:,.2f}"
    return f"{sign}{symbol}{size:.3g}"


def summary_line(summary: dict[str, Any]) -> str:
    """The verification fields of a plan summary in one sentence."""
    symbol = CURRENCY_SYMBOL.get(str(summary.get("currency")), "")
    rule, unit = summary["largest_violation_rule"], summary["largest_violation_unit"]
    worst = (
        f"largest violation {_amount(summary['largest_violation'], unit, symbol)} ({rule})"
        if rule
        else "no rule violated at all"
    )
    dual = summary["dual_objective"]
    duality = (
        f"dual objective {_amount(dual, summary['objective_unit'], symbol)}, equal to the objective"
        if dual != ""
        else "duality not checked"
    )
    count = summary["rules_checked"]
    rules = f"{count:,} rule{'' if count == 1 else 's'} recomputed from the inputs"
    return f"Verified: {rules}; {worst}; {duality}."
