"""The uncertainty section's parameters: which numbers of the plan each one names, its
distribution, the domain its draws are truncated to, and every problem with them.

validate.py reports the problems (so `planner solve` checks an instance's uncertainty section
without loading the analysis); planner/uncertainty.py draws from the parameters and analyses
the draws. docs/uncertainty.md gives the rules: kinds and their numbers, truncation to a field's
domain, relative multipliers.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from planner.errors import FieldPath, Problem, dotted, parse_path
from planner.load import Document
from planner.schema import Instance, UncertainParameter

if TYPE_CHECKING:
    import numpy as np

STRUCTURAL = ("fixed_cost", "setup_cost", "min_volume")  # above 0 or not decides yes/no variables
TAKES: dict[str, tuple[str, ...]] = {
    "range": ("low", "high"),
    "triangular": ("low", "high", "mode"),
    "normal": ("se", "mean"),
    "lognormal": ("se", "sigma", "mean"),
    "beta": ("se", "mean"),
}
NEEDS: dict[str, tuple[str, ...]] = {
    "range": ("low", "high"),
    "triangular": ("low", "high"),
    "normal": ("se",),
    "lognormal": (),  # se or sigma: checked on its own
    "beta": ("se",),
}
MEANING = {
    "low": "the least value",
    "high": "the greatest value",
    "se": "the standard error (the distribution's standard deviation)",
}
UNIT = NormalDist()
EDGE = 1e-16  # quantiles are taken strictly inside (0, 1)


# --- field paths and their domains ---------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """Where a number may lie: between `low` and `high`, each bound closed unless marked open."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def below(self, value: float) -> bool:
        """Whether `value` is under the least value allowed."""
        return value < self.low or (self.low_open and value <= self.low)

    def above(self, value: float) -> bool:
        """Whether `value` is over the greatest value allowed."""
        return value > self.high or (self.high_open and value >= self.high)

    def scaled(self, point: float) -> Domain:
        """The domain of a multiplier m of `point`: {m : m x point in this domain} (any m when
        the point is 0: a multiple of 0 is 0)."""
        if point == 0:
            return Domain()
        if point > 0:
            return Domain(self.low / point, self.high / point, self.low_open, self.high_open)
        return Domain(self.high / point, self.low / point, self.high_open, self.low_open)

    def meet(self, other: Domain) -> Domain:
        """Where both domains allow a value."""
        low = max(self.low, other.low)
        high = min(self.high, other.high)
        low_open = (self.low_open and self.low == low) or (other.low_open and other.low == low)
        high_open = (self.high_open and self.high == high) or (
            other.high_open and other.high == high
        )
        return Domain(low, high, low_open, high_open)


def _expand(annotation: Any, meta: tuple[Any, ...] = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Union and Annotated expanded to (member, constraints collected on the way)."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        base, *extra = get_args(annotation)
        found: list[Any] = []
        for item in extra:
            found += list(item.metadata) if isinstance(item, FieldInfo) else [item]
        yield from _expand(base, (*meta, *found))
    elif origin in (typing.Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _expand(arg, meta)
    else:
        yield annotation, meta


def _schema_leaf(path: FieldPath) -> list[tuple[Any, tuple[Any, ...]]]:
    """The schema's possible types at `path`, each with its constraints (ge, le...)."""
    current: list[tuple[Any, tuple[Any, ...]]] = [(Instance, ())]
    for part in path:
        following: list[tuple[Any, tuple[Any, ...]]] = []
        for annotation, meta in current:
            for member, _ in _expand(annotation, meta):
                origin = get_origin(member)
                if isinstance(member, type) and issubclass(member, BaseModel):
                    if isinstance(part, str) and part in member.model_fields:
                        info = member.model_fields[part]
                        following.append((info.annotation, tuple(info.metadata)))
                elif origin is dict:
                    following.append((get_args(member)[1], ()))
                elif origin is list and isinstance(part, int):
                    following.append((get_args(member)[0], ()))
        current = following
    return [m for annotation, meta in current for m in _expand(annotation, meta)]


def field_domain(path: FieldPath) -> Domain | None:
    """Where the real number at `path` may lie by the schema; None if it is not a real number
    (a whole number, text, a mapping). Supply options' and shared services' fixed cost, set-up
    cost and minimum volume must stay above 0 when uncertain: whether they are 0 decides which
    yes/no choices the model has."""
    members = [(t, meta) for t, meta in _schema_leaf(path) if t is float]
    if not members:
        return None
    domain = Domain()
    for constraint in members[0][1]:
        if isinstance(constraint, annotated_types.Ge):
            domain = domain.meet(Domain(low=float(constraint.ge)))  # type: ignore[arg-type]
        elif isinstance(constraint, annotated_types.Gt):
            domain = domain.meet(Domain(low=float(constraint.gt), low_open=True))  # type: ignore[arg-type]
        elif isinstance(constraint, annotated_types.Le):
            domain = domain.meet(Domain(high=float(constraint.le)))  # type: ignore[arg-type]
        elif isinstance(constraint, annotated_types.Lt):
            domain = domain.meet(Domain(high=float(constraint.lt), high_open=True))  # type: ignore[arg-type]
    if _structural(path):
        domain = domain.meet(Domain(low=0.0, low_open=True))
    return domain


def _structural(path: FieldPath) -> bool:
    in_option = len(path) == 6 and path[0] == "interventions" and path[2:4] == ("supply", "options")
    in_service = len(path) == 3 and path[0] == "shared_services"
    return (in_option or in_service) and path[-1] in STRUCTURAL


# --- parameters resolved against an instance -----------------------------------------------


@dataclass(frozen=True)
class Target:
    """One number a parameter moves: where it is, its point value and its domain."""

    path: FieldPath
    point: float
    domain: Domain


@dataclass(frozen=True)
class Parameter:
    """A parameter of the uncertainty section resolved against an instance.

    Its draw X is a value of the field (absolute) or a multiple of each field's value
    (relative: the point is 1). `support` is where X may lie so that every field stays in its
    domain; normal and lognormal draws are truncated to it.
    """

    pid: str
    spec: UncertainParameter
    targets: tuple[Target, ...]
    support: Domain

    @property
    def point(self) -> float:
        """X at the point values: the field's value, or 1 for a multiple."""
        return 1.0 if self.spec.relative else self.targets[0].point

    @property
    def mean(self) -> float:
        """The stated mean (normal, lognormal, beta), else the point."""
        return self.spec.mean if self.spec.mean is not None else self.point

    @property
    def mode(self) -> float:
        """The stated mode (triangular), else the point."""
        return self.spec.mode if self.spec.mode is not None else self.point

    def zero_width(self) -> bool:
        """Whether the distribution is a single value (low == high, se or sigma 0)."""
        spec = self.spec
        if spec.distribution in ("range", "triangular"):
            return spec.low == spec.high
        spread = spec.sigma if spec.sigma is not None else spec.se
        return not spread

    def centre(self) -> float:
        """The single value of a zero-width distribution."""
        if self.spec.distribution in ("range", "triangular"):
            return float(self.spec.low if self.spec.low is not None else self.point)
        return self.mean

    def draw(self, rng: np.random.Generator) -> float:
        """One draw of X."""
        spec = self.spec
        if self.zero_width():
            return self.centre()
        kind = spec.distribution
        if kind == "beta":
            mean, se = self.mean, float(spec.se or 0.0)
            k = mean * (1 - mean) / se**2 - 1
            return float(rng.beta(mean * k, (1 - mean) * k))
        u = float(rng.random())
        low, high = float(spec.low or 0.0), float(spec.high or 0.0)
        if kind == "range":
            return low + (high - low) * u
        if kind == "triangular":
            mode, width = self.mode, high - low
            if u < (mode - low) / width:
                return low + math.sqrt(u * width * (mode - low))
            return high - math.sqrt((1 - u) * width * (high - mode))
        if kind == "normal":
            se = float(spec.se or 0.0)
            za = (self.support.low - self.mean) / se
            zb = (self.support.high - self.mean) / se
            return self.mean + se * _truncated_quantile(u, za, zb)
        # lognormal on the magnitude, the sign kept; the point (or mean) is the mean
        sign = 1.0 if self.mean > 0 else -1.0
        size = abs(self.mean)
        sigma = (
            float(spec.sigma)
            if spec.sigma is not None
            else math.sqrt(math.log1p((float(spec.se or 0.0) / size) ** 2))
        )
        mu = math.log(size) - sigma**2 / 2
        low_size, high_size = (
            (self.support.low, self.support.high)
            if sign > 0
            else (-self.support.high, -self.support.low)
        )
        za = (math.log(low_size) - mu) / sigma if low_size > 0 else -math.inf
        zb = (math.log(high_size) - mu) / sigma if high_size > 0 else -math.inf
        return sign * math.exp(mu + sigma * _truncated_quantile(u, za, zb))

    def values(self, x: float) -> list[tuple[FieldPath, float]]:
        """Each field's number when the draw is `x`."""
        if self.spec.relative:
            return [(t.path, t.point * x) for t in self.targets]
        return [(t.path, x) for t in self.targets]


def _truncated_quantile(u: float, za: float, zb: float) -> float:
    """The standard normal's quantile at `u` of its part between za and zb (inverse CDF)."""
    fa = UNIT.cdf(za) if za > -math.inf else 0.0
    fb = UNIT.cdf(zb) if zb < math.inf else 1.0
    p = min(max(fa + u * (fb - fa), EDGE), 1 - EDGE)
    return UNIT.inv_cdf(p)


def _where(pid: str, *rest: str | int) -> FieldPath:
    return ("uncertainty", "parameters", pid, *rest)


def resolve(instance: Instance, document: Document) -> tuple[list[Parameter], list[Problem]]:
    """The instance's uncertain parameters, and every problem with them (file, line, fix)."""
    section = instance.uncertainty
    if section is None:
        return [], []
    data = instance.model_dump()
    parameters: list[Parameter] = []
    problems: list[Problem] = []
    claimed: dict[FieldPath, str] = {}
    for pid, spec in section.parameters.items():
        targets, found = _targets(pid, spec, data, document, claimed)
        problems += found
        if found or not targets:
            continue
        support = Domain()
        for target in targets:
            support = support.meet(
                target.domain.scaled(target.point) if spec.relative else target.domain
            )
        parameter = Parameter(pid, spec, tuple(targets), support)
        found = _law_problems(parameter, document)
        problems += found
        if not found:
            parameters.append(parameter)
    problems += _tranche_problems(instance, parameters, document)
    return parameters, problems


def _targets(
    pid: str,
    spec: UncertainParameter,
    data: dict[str, Any],
    document: Document,
    claimed: dict[FieldPath, str],
) -> tuple[list[Target], list[Problem]]:
    """The numbers a parameter names, or the problems with how it names them."""
    base = _where(pid)
    if spec.field is not None and spec.fields is not None:
        return [], [
            document.problem(
                base,
                "gives both field and fields",
                "keep field for one number, or fields for several that move together",
            )
        ]
    if spec.field is None and not spec.fields:
        return [], [
            document.problem(
                base,
                "names no field" if spec.fields is None else "has an empty list of fields",
                "give field: <the uncertain number, such as interventions.education.unit_cost> "
                "(or fields: [...] for numbers that move together)",
            )
        ]
    named = (
        [((*base, "field"), spec.field)]
        if spec.field is not None
        else [((*base, "fields", i), text) for i, text in enumerate(spec.fields or [])]
    )
    if len(named) > 1 and not spec.relative:
        return [], [
            document.problem(
                (*base, "relative"),
                f"is false, but the parameter names {len(named)} fields that move together, so "
                "its numbers must be multiples of each field's value",
                "write relative: true and give the numbers as multiples (0.5 for half, 1 for the "
                "field's value)",
            )
        ]
    targets: list[Target] = []
    problems: list[Problem] = []
    for where, text in named:
        found = _target(text, data, where, document)
        if isinstance(found, Problem):
            problems.append(found)
            continue
        if found.path in claimed:
            problems.append(
                document.problem(
                    where,
                    f"{dotted(found.path)} is also made uncertain by parameter "
                    f"{claimed[found.path]}",
                    "give each number one parameter; to move numbers together, list them in "
                    "one parameter's fields",
                )
            )
            continue
        claimed[found.path] = pid
        if _structural(found.path) and found.point == 0:
            problems.append(
                document.problem(
                    where,
                    f"{dotted(found.path)} is 0 here: whether it is above 0 decides if the "
                    "option needs a yes/no choice, so it cannot be uncertain from 0",
                    "give it a value above 0 in the instance, or leave it certain",
                )
            )
            continue
        targets.append(found)
    return targets, problems


def _target(text: str, data: dict[str, Any], where: FieldPath, document: Document) -> Any:
    """The Target a field path names, or the Problem with it."""
    path = parse_path(text)
    if path is None or not path:
        return document.problem(
            where,
            f"'{text}' is not a field path",
            "write the field as error messages show it: names joined by dots, list positions "
            "in brackets (interventions.education.tranches[0].health_gain)",
        )
    shown = dotted(path)
    if path[0] in ("scenarios", "uncertainty"):
        return document.problem(
            where,
            f"{shown} is not a number of the plan"
            + (": scenarios are applied before the draws" if path[0] == "scenarios" else ""),
            "name a number of the instance itself, such as interventions.education.unit_cost",
        )
    node: Any = data
    for index, part in enumerate(path):
        prefix = dotted(path[:index]) if index else "the top level"
        if isinstance(node, dict):
            if part not in node:
                names = [str(k) for k in node]
                close = difflib.get_close_matches(str(part), names, 1, 0.6)
                known = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
                return document.problem(
                    where,
                    f"names {shown}, but this instance has no '{part}' under {prefix}",
                    f"did you mean {close[0]}?"
                    if close
                    else f"check the spelling; {prefix} has: {known or 'nothing'}",
                )
            node = node[part]
        elif isinstance(node, list):
            if not isinstance(part, int) or part >= len(node):
                return document.problem(
                    where,
                    f"names {shown}, but {prefix} is a list of {len(node)}",
                    f"give a position from 0 to {len(node) - 1} in brackets, such as {prefix}[0]",
                )
            node = node[part]
        else:
            return document.problem(
                where,
                f"names {shown}, but {prefix} is a single value",
                f"name {prefix} itself",
            )
    if node is None:
        return document.problem(
            where,
            f"names {shown}, which has no value in this instance",
            "give it a value in the instance, or remove this parameter",
        )
    if isinstance(node, dict):
        inside = ", ".join(f"{shown}.{k}" for k in list(node)[:3])
        return document.problem(
            where,
            f"names {shown}, which is a set of fields, not a number",
            f"name one number inside it ({inside})",
        )
    if isinstance(node, list):
        return document.problem(
            where,
            f"names {shown}, which is a list, not a number",
            f"name one entry's number, such as {shown}[0]...",
        )
    domain = field_domain(path)
    if isinstance(node, bool) or not isinstance(node, int | float) or domain is None:
        whole = isinstance(node, int) and not isinstance(node, bool)
        return document.problem(
            where,
            f"names {shown}, "
            + (
                "a whole number (a year, a lag or a count): only numbers that can take any "
                "value can be uncertain"
                if whole
                else f"which is not a number (it is {node!r})"
            ),
            "name an effect, health gain, unit cost, baseline or another real number",
        )
    return Target(path, float(node), domain)


def _law_problems(parameter: Parameter, document: Document) -> list[Problem]:
    """The distribution's numbers against its kind, the point value and the fields' domains."""
    spec, pid = parameter.spec, parameter.pid
    kind = spec.distribution
    base = _where(pid)
    given = {n: getattr(spec, n) for n in ("low", "high", "mode", "mean", "se", "sigma")}
    problems = [
        document.problem(
            (*base, name),
            f"is not used by a {kind} distribution",
            f"remove it; a {kind} distribution takes {', '.join(TAKES[kind])}",
        )
        for name, value in given.items()
        if value is not None and name not in TAKES[kind]
    ]
    missing = [name for name in NEEDS[kind] if given[name] is None]
    if kind == "lognormal" and (spec.se is None) == (spec.sigma is None):
        problems.append(
            document.problem(
                base,
                "a lognormal distribution needs se or sigma"
                if spec.se is None
                else "gives both se and sigma",
                "give se (the standard deviation of the value) or sigma (of its natural log), "
                "not both",
            )
        )
    for name in missing:
        problems.append(
            document.problem(
                base, f"a {kind} distribution needs {name}", f"give {name}: {MEANING[name]}"
            )
        )
    if problems:
        return problems
    scale = " (as a multiple)" if spec.relative else ""
    point = "1 (the field's value)" if spec.relative else f"{parameter.point:g}"
    if kind in ("range", "triangular"):
        low, high = float(spec.low or 0.0), float(spec.high or 0.0)
        if low > high:
            return [
                document.problem(
                    (*base, "low"),
                    f"low {low:g} is above high {high:g}",
                    "swap them, or correct one",
                )
            ]
        if not low <= parameter.point <= high:
            problems.append(
                document.problem(
                    base,
                    f"the field's value {point} is outside low {low:g} to high {high:g}: the "
                    "deterministic plan would use a number the distribution never draws",
                    "widen low and high to include it, or correct the field's value",
                )
            )
        if kind == "triangular" and spec.mode is not None and not low <= spec.mode <= high:
            problems.append(
                document.problem(
                    (*base, "mode"),
                    f"mode {spec.mode:g} is outside low {low:g} to high {high:g}",
                    "give a mode between low and high, or leave it out for the field's value",
                )
            )
        for name, end in (("low", low), ("high", high)):
            problems += _domain_problems(parameter, (*base, name), name, end, document)
        return problems
    if kind == "beta":
        if spec.relative:
            return [
                document.problem(
                    (*base, "relative"),
                    "is true, but a beta distribution is for shares",
                    "write relative: false and give mean and se as shares (0.3 for 30%)",
                )
            ]
        mean, se = parameter.mean, float(spec.se or 0.0)
        where = (*base, "mean") if spec.mean is not None else base
        if se > 0 and not 0 < mean < 1:
            return [
                document.problem(
                    where,
                    f"the mean {mean:g} is not between 0 and 1: a beta distribution is for shares",
                    "use beta for a share (0.3 for 30%), or use normal or lognormal",
                )
            ]
        if not 0 <= parameter.point <= 1:
            return [
                document.problem(
                    base,
                    f"the field's value {point} is outside 0 to 1, where a beta distribution "
                    "draws: the deterministic plan would use a number the distribution never draws",
                    "use beta for a share (0.3 for 30%), or use normal or lognormal",
                )
            ]
        if se > 0 and se >= math.sqrt(mean * (1 - mean)):
            return [
                document.problem(
                    (*base, "se"),
                    f"se {se:g} is too large for a share with mean {mean:g}: a beta distribution "
                    f"needs se below {math.sqrt(mean * (1 - mean)):.4g}",
                    "lower se, or use a range",
                )
            ]
        return _domain_problems(parameter, where, "mean", mean, document)
    # normal and lognormal: the mean must lie in the domain; lognormal needs a mean other than 0
    where = (*base, "mean") if spec.mean is not None else base
    if kind == "lognormal" and parameter.mean == 0:
        return [
            document.problem(
                where,
                f"a lognormal distribution needs a mean other than 0{scale} (the field's value "
                f"is {point})",
                "give mean, or use normal or range",
            )
        ]
    if kind == "lognormal" and parameter.point * parameter.mean <= 0:
        return [
            document.problem(
                where,
                f"the field's value {point} is not of the sign of the mean {parameter.mean:g}: a "
                "lognormal distribution draws only numbers of its mean's sign, so the "
                "deterministic plan would use a number it never draws",
                "give a mean of the field's sign, or use normal or range",
            )
        ]
    return _domain_problems(parameter, where, "mean", parameter.mean, document)


def _domain_problems(
    parameter: Parameter, where: FieldPath, name: str, x: float, document: Document
) -> list[Problem]:
    """A problem if X = `x` would put a field outside its domain."""
    for target, value in zip(parameter.targets, (v for _, v in parameter.values(x)), strict=True):
        domain, shown = target.domain, dotted(target.path)
        if domain.below(value):
            least = "above" if domain.low_open else "at least"
            return [
                document.problem(
                    where,
                    f"{name} {x:g} would put {shown} at {value:g}; it must be {least} "
                    f"{domain.low:g}",
                    f"choose {name} so that {shown} stays {least} {domain.low:g}"
                    + ("" if not _structural(target.path) else " (0 would remove a yes/no choice)"),
                )
            ]
        if domain.above(value):
            most = "below" if domain.high_open else "at most"
            return [
                document.problem(
                    where,
                    f"{name} {x:g} would put {shown} at {value:g}; it must be {most} "
                    f"{domain.high:g}",
                    f"choose {name} so that {shown} stays {most} {domain.high:g}",
                )
            ]
    return []


def _tranche_problems(
    instance: Instance, parameters: list[Parameter], document: Document
) -> list[Problem]:
    """Tranches express diminishing returns: their health gains must move together."""
    problems: list[Problem] = []
    for parameter in parameters:
        moved = {t.path for t in parameter.targets}
        for iid, item in instance.interventions.items():
            tranches = item.tranches or []
            gains = {
                ("interventions", iid, "tranches", j, "health_gain") for j in range(len(tranches))
            }
            if len(gains) > 1 and moved & gains and not gains <= moved:
                listed = ", ".join(str(p[3]) for p in sorted(moved & gains, key=str))
                problems.append(
                    document.problem(
                        _where(parameter.pid),
                        f"moves the health gain of {iid}'s tranche {listed} but not of all "
                        f"{len(tranches)} tranches: a draw could make the gain per unit rise "
                        "from one tranche to the next",
                        "name every tranche's health_gain in fields, with relative: true, so "
                        "they move together",
                    )
                )
    return problems


def problems(instance: Instance, document: Document) -> list[Problem]:
    """Every problem with the instance's uncertainty section (empty if it has none)."""
    return resolve(instance, document)[1]
