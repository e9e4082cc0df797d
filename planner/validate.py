"""Validate: the typed schema first, then named semantic checks; every problem reported at once.

A check is a function `check_*(instance, document) -> list[Problem]`, listed in CHECKS. Each
problem names the file, line and field, and says how to fix it.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Iterator
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from planner import distributions
from planner.errors import FieldPath, InputError, Problem
from planner.load import Document
from planner.schema import LARGEST, Instance, Intervention, SupplyOption

Check = Callable[[Instance, Document], list[Problem]]


def validate(document: Document) -> Instance:
    """The typed instance, or InputError listing every problem found."""
    try:
        instance = Instance.model_validate(document.data)
    except ValidationError as exc:
        errors = _one_per_mistake([(_field_path(e["loc"]), e) for e in exc.errors()])
        raise InputError([_schema_problem(document, path, e) for path, e in errors]) from None
    problems = [problem for check in CHECKS for problem in check(instance, document)]
    if problems:
        raise InputError(problems)
    return instance


# --- schema errors -------------------------------------------------------------------------


TYPE_ERRORS = {
    "dict_type", "model_type", "model_attributes_type", "list_type", "string_type", "bool_type",
    "float_type", "float_parsing", "int_type", "int_parsing",
}  # fmt: skip


def _field_path(loc: tuple[Any, ...]) -> FieldPath:
    """The user's field path: pydantic's labels for the members of a union taken out.

    Pydantic labels each member of a union it tried ('float', 'Effect', 'constrained-str'); the
    schema says where a union stands, so a label is dropped only there, never a user's name.
    """
    path: list[str | int] = []
    annotation: Any = Instance
    skip_label = False
    for part in loc:
        if part == "[key]":  # pydantic's marker for an error in a mapping's key
            continue
        if skip_label:
            skip_label = False
            annotation = _member(annotation, part)
            continue
        path.append(part)
        annotation = _step(annotation, part) if annotation is not None else None
        skip_label = annotation is not None and len(_real_members(annotation)) > 1
    return tuple(path)


def _real_members(annotation: Any) -> list[Any]:
    return [m for m in _models(annotation) if m is not type(None)]


def _member(annotation: Any, label: Any) -> Any:
    """The member of a union that pydantic's label names (None when it cannot tell)."""
    for member in _real_members(annotation):
        name = getattr(member, "__name__", "")
        if isinstance(member, type) and name == label:
            return member
        if get_origin(member) is dict and str(label).startswith("dict"):
            return member
        if get_origin(member) is list and str(label).startswith("list"):
            return member
    return None


def _one_per_mistake(errors: list[tuple[FieldPath, Any]]) -> list[tuple[FieldPath, Any]]:
    """Where a field's several allowed forms all failed, keep the error that says most.

    A wrong value inside a mapping form beats "is not a number" from the number form; among
    errors at one field, one that is not merely about the type wins.
    """
    kept: list[tuple[FieldPath, Any]] = []
    for path, error in errors:
        rivals = [
            (p, e)
            for p, e in errors
            if e is not error and len(e["loc"]) != len(path) and _share_union(path, p)
        ]
        deeper = any(len(p) > len(path) and p[: len(path)] == path for p, _ in rivals)
        if deeper and error["type"] in TYPE_ERRORS:
            continue
        same = [e for p, e in errors if p == path and e is not error]
        if error["type"] in TYPE_ERRORS and any(e["type"] not in TYPE_ERRORS for e in same):
            continue
        if (path, error["type"]) not in {(p, e["type"]) for p, e in kept}:
            kept.append((path, error))
    return kept


def _share_union(path: FieldPath, other: FieldPath) -> bool:
    short = min(len(path), len(other))
    return path[:short] == other[:short]


def _schema_problem(document: Document, path: FieldPath, error: Any) -> Problem:
    kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
    info = _field_at(path)
    unit = (info or {}).get("unit", "")
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(path[:-1])) or "nothing"
        return document.problem(
            path,
            f"'{path[-1]}' is not a known field",
            f"check the spelling; allowed here: {allowed}",
        )
    if kind == "missing":
        what = (info or {}).get("description", "required")
        return document.problem(
            path, "is missing", f"add it: {what}" + (f" ({unit})" if unit else "")
        )
    shown = _shown(given)
    if kind in ("greater_than", "less_than") and abs(ctx.get("gt", ctx.get("lt", 0))) == LARGEST:
        return document.problem(
            path,
            f"must be smaller than {LARGEST:g} in size (got {shown})",
            "a solver cannot take numbers this large: check for extra digits, or state money "
            "in thousands or millions (and every amount with it)",
        )
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        limit = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        fix = f"use a value {words} {limit}"
        if unit.startswith("share") or (kind == "less_than_equal" and limit == 1):
            fix += "; shares are fractions: write 0.02 for 2%"
        return document.problem(path, f"must be {words} {limit} (got {shown})", fix)
    if kind == "finite_number":
        return document.problem(
            path, f"must be a finite number (got {shown})", "write a real number"
        )
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        whole = kind.startswith("int")
        example = "2016" if whole else "1200 or 0.05"
        fix = f"write a {'whole ' if whole else ''}number such as {example}, no symbols or commas"
        if unit:
            fix += f" (unit: {unit})"
        return document.problem(
            path, f"must be a {'whole ' if whole else ''}number (got {shown})", fix
        )
    if kind == "literal_error":
        return document.problem(
            path,
            f"must be one of {ctx.get('expected')} (got {shown})",
            "use one of the listed words",
        )
    if kind == "string_pattern_mismatch":
        fix = "use letters, digits and underscores, starting with a letter (e.g. self_care)"
        return document.problem(path, f"'{given}' is not a valid name", fix)
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return document.problem(
            path,
            f"must be a set of 'field: value' lines (got {shown})",
            "indent the fields under it",
        )
    if kind == "list_type":
        return document.problem(
            path, f"must be a list (got {shown})", "write it as [a, b] or '- a' lines"
        )
    if kind in ("string_type", "bool_type"):
        return document.problem(
            path, f"has the wrong type (got {shown})", f"write {kind.split('_')[0]}"
        )
    if kind == "too_short":
        return document.problem(path, "must not be empty", "give at least one entry")
    return document.problem(path, error["msg"], "correct the value; see docs/fields.md")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _models(annotation: Any) -> Iterator[Any]:
    """Expand Optional/Union/Annotated/list/dict annotations down to their members."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        yield from _models(get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in get_args(annotation):
            yield from _models(arg)
    else:
        yield annotation


def _step(annotation: Any, part: str | int) -> Any:
    for member in _models(annotation):
        origin = get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
            if part in member.model_fields:
                return member.model_fields[part].annotation
        elif origin is dict and isinstance(part, str | int):
            return get_args(member)[1]
        elif origin is list and isinstance(part, int):
            return get_args(member)[0]
    return None


def _annotation_at(path: FieldPath) -> Any:
    annotation: Any = Instance
    for part in path:
        annotation = _step(annotation, part)
        if annotation is None:
            return None
    return annotation


def _allowed_keys(path: FieldPath) -> list[str]:
    for member in _models(_annotation_at(path)):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return list(member.model_fields)
    return []


def _field_at(path: FieldPath) -> dict[str, Any] | None:
    """Description and unit of the field at `path` (an entry of a mapping: of the mapping)."""
    if not path:
        return None
    if any(get_origin(m) is dict for m in _models(_annotation_at(path[:-1]))):
        return _field_at(path[:-1])
    if not isinstance(path[-1], str):
        return None
    for member in _models(_annotation_at(path[:-1])):
        if (
            isinstance(member, type)
            and issubclass(member, BaseModel)
            and path[-1] in member.model_fields
        ):
            info = member.model_fields[path[-1]]
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            return {"description": info.description or "", "unit": str(extra.get("unit", ""))}
    return None


# --- semantic checks -----------------------------------------------------------------------


def check_references(instance: Instance, document: Document) -> list[Problem]:
    """Every partner, outcome, resource, shared service and intervention named must be defined."""
    problems: list[Problem] = []

    def need(kind: str, name: str, known: dict[str, Any], path: FieldPath) -> None:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none defined"
            problems.append(
                document.problem(path, f"{kind} '{name}' is not defined", f"use one of: {listed}")
            )

    for iid, item in instance.interventions.items():
        base: FieldPath = ("interventions", iid)
        for outcome in item.effects:
            need("outcome", outcome, instance.outcomes, (*base, "effects", outcome))
        for resource in item.resource_use:
            need("resource", resource, instance.resources, (*base, "resource_use", resource))
        if isinstance(item.delivered_by, str):
            need("partner", item.delivered_by, instance.partners, (*base, "delivered_by"))
        else:
            for partner in item.partner_shares():
                need("partner", partner, instance.partners, (*base, "delivered_by", partner))
        if item.supply is not None:
            for sid, option in item.supply.options.items():
                where: FieldPath = (*base, "supply", "options", sid)
                if option.provider is not None:
                    need("partner", option.provider, instance.partners, (*where, "provider"))
                if option.shared is not None:
                    need(
                        "shared service",
                        option.shared,
                        instance.shared_services,
                        (*where, "shared"),
                    )
    for sid, service in instance.shared_services.items():
        need("partner", service.provider, instance.partners, ("shared_services", sid, "provider"))
    for oid, paid in instance.outcomes.items():
        if isinstance(paid.paid_to, str):
            need("partner", paid.paid_to, instance.partners, ("outcomes", oid, "paid_to"))
        else:
            for partner in paid.payee_shares():
                need("partner", partner, instance.partners, ("outcomes", oid, "paid_to", partner))
        for partner in paid.external_costs:
            need(
                "partner", partner, instance.partners, ("outcomes", oid, "external_costs", partner)
            )
    for oid, refused in instance.refused_outcomes.items():
        need("outcome", oid, instance.outcomes, ("refused_outcomes", oid))
        need(
            "partner",
            refused.responsible,
            instance.partners,
            ("refused_outcomes", oid, "responsible"),
        )
    for fid, floor in instance.floors.items():
        need("outcome", floor.outcome, instance.outcomes, ("floors", fid, "outcome"))
    for gid, group in instance.groups.items():
        for index, member in enumerate(group.members):
            need("intervention", member, instance.interventions, ("groups", gid, "members", index))
    for cid, complement in instance.complements.items():
        for side, names in zip(("intervention", "requires"), complement.sides(), strict=True):
            for name in names:
                need("intervention", name, instance.interventions, ("complements", cid, side))
    for partner in instance.savings.shares:
        need("partner", partner, instance.partners, ("savings", "shares", partner))
    return problems


def check_years(instance: Instance, document: Document) -> list[Problem]:
    """Years named must be plan years; envelope amounts must cover exactly the plan years."""
    problems: list[Problem] = []
    years = instance.plan_years
    span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
    for fid, floor in instance.floors.items():
        if floor.year is not None and floor.year not in years:
            problems.append(
                document.problem(
                    ("floors", fid, "year"),
                    f"{floor.year} is not a plan year (plan years: {span})",
                    "use a plan year, or leave year out for every year",
                )
            )
    envelope = instance.envelope
    if envelope is not None and envelope.amounts is not None:
        given = set(envelope.amounts)
        if given != set(years):
            missing = sorted(set(years) - given)
            extra = sorted(given - set(years))
            detail = "; ".join(
                part
                for part in (
                    f"missing {', '.join(map(str, missing))}" if missing else "",
                    f"not plan years: {', '.join(map(str, extra))}" if extra else "",
                )
                if part
            )
            problems.append(
                document.problem(
                    ("envelope", "amounts"),
                    f"must give one amount for each plan year {span} ({detail})",
                    "give exactly one amount per plan year",
                )
            )
    return problems


def check_envelope(instance: Instance, document: Document) -> list[Problem]:
    """The envelope is either baseline and reduction, or amounts per year, not both."""
    envelope = instance.envelope
    if envelope is None:
        return []
    by_rate = envelope.baseline is not None or envelope.reduction is not None
    if envelope.amounts is not None and by_rate:
        return [
            document.problem(
                ("envelope",),
                "gives both amounts per year and a baseline/reduction",
                "keep either amounts, or baseline with reduction",
            )
        ]
    if envelope.amounts is None and envelope.baseline is None:
        return [
            document.problem(
                ("envelope",),
                "gives no baseline and no amounts",
                "give baseline (and reduction), or amounts per plan year",
            )
        ]
    return []


def check_intervention_ranges(instance: Instance, document: Document) -> list[Problem]:
    """Fewest units at most most units; tranches with falling gain; no gain given twice."""
    problems: list[Problem] = []
    for iid, item in instance.interventions.items():
        base: FieldPath = ("interventions", iid)
        if (
            item.min_units is not None
            and item.max_units is not None
            and item.min_units > item.max_units
        ):
            problems.append(
                document.problem(
                    (*base, "min_units"),
                    f"min_units {item.min_units:g} is above max_units {item.max_units:g}",
                    "lower min_units or raise max_units",
                )
            )
        if item.tranches is None:
            continue
        if item.health_gain != 0:
            problems.append(
                document.problem(
                    (*base, "health_gain"),
                    "is given together with tranches",
                    "put the health gain in the tranches and remove health_gain",
                )
            )
        for index, tranche in enumerate(item.tranches[:-1]):
            if tranche.units is None:
                problems.append(
                    document.problem(
                        (*base, "tranches", index, "units"),
                        "only the last tranche may be unlimited",
                        "give this tranche's size in units",
                    )
                )
        gains = [t.health_gain for t in item.tranches]
        for index in range(1, len(gains)):
            if gains[index] > gains[index - 1]:
                problems.append(
                    document.problem(
                        (*base, "tranches", index, "health_gain"),
                        f"rises from {gains[index - 1]:g} to {gains[index]:g}: tranches express "
                        "diminishing returns, so the gain per unit must not rise",
                        "order the tranches from the highest gain per unit to the lowest",
                    )
                )
    return problems


def _choice_reasons(item: Intervention, option: SupplyOption) -> list[str]:
    """Why an offered option gets a yes/no (chosen) variable in each plan year; none: it gets none.

    The rule of the model (planner/build.py): the choice is exclusive between two or more offered
    options, or the option has a fixed or setup cost, a minimum volume, or a shared service.
    """
    assert item.supply is not None
    reasons = []
    if item.supply.choice == "exclusive" and len(item.offered()) >= 2:
        reasons.append(f"one of {len(item.offered())} exclusive options")
    if option.fixed_cost > 0:
        reasons.append("a fixed cost")
    if option.setup_cost > 0:
        reasons.append("a setup cost")
    if option.min_volume is not None and option.min_volume > 0:
        reasons.append("a min_volume")
    if option.shared is not None:
        reasons.append("a shared service")
    return reasons


def check_supply(instance: Instance, document: Document) -> list[Problem]:
    """Make-or-buy options: who is paid, what is on offer, when, and how many units at most."""
    problems: list[Problem] = []
    years = instance.plan_years
    span = f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
    drawn_on = {
        option.shared
        for item in instance.interventions.values()
        if item.supply is not None
        for option in item.supply.options.values()
    }
    for iid, item in instance.interventions.items():
        if item.supply is None:
            continue
        base: FieldPath = ("interventions", iid)
        offered = item.offered()
        if item.full_cost is not None:
            problems.append(
                document.problem(
                    (*base, "full_cost"),
                    "is given together with supply options: a net cost per unit other than the "
                    "price is not supported for make-or-buy, the plan years cost what the "
                    "options cost",
                    "remove full_cost (write full_cost: null in the instance if the pathway "
                    "model gives it) and state the costs on the options: unit_price, fixed_cost, "
                    "setup_cost",
                )
            )
        if not offered:
            problems.append(
                document.problem(
                    (*base, "supply", "options"),
                    "has no option on offer (every option is available: false), so the "
                    "intervention could never be provided in the plan years",
                    "set available: true on at least one option (to stop the intervention, "
                    "set max_units: 0 instead)",
                )
            )
        supplied = {year for option in offered.values() for year in instance.supply_years(option)}
        unsupplied = [year for year in years if year not in supplied]
        if offered and item.min_units and unsupplied:
            problems.append(
                document.problem(
                    (*base, "min_units"),
                    f"min_units {item.min_units:g} cannot be met in "
                    f"{', '.join(map(str, unsupplied))}: no supply option on offer can supply "
                    "then (the options' first_year and last_year, or their shared services' "
                    "first_year)",
                    "leave min_units out, or let an option supply in every plan year",
                )
            )
        for oid, option in item.supply.options.items():
            where: FieldPath = (*base, "supply", "options", oid)
            service = (
                instance.shared_services.get(option.shared) if option.shared is not None else None
            )
            paid = option.unit_price > 0 or option.fixed_cost > 0 or option.setup_cost > 0
            if option.provider is None and option.shared is None and paid and instance.partners:
                problems.append(
                    document.problem(
                        (*where, "provider"),
                        "is missing: the option is paid for but no partner receives the money",
                        "write provider: <the partner paid for its units> (one of: "
                        f"{', '.join(sorted(instance.partners))}), or shared: <the shared "
                        "service it draws on>",
                    )
                )
            if (
                service is not None
                and option.provider is not None
                and option.provider != service.provider
            ):
                problems.append(
                    document.problem(
                        (*where, "provider"),
                        f"is '{option.provider}', but the option draws on shared service "
                        f"'{option.shared}', hosted and paid through '{service.provider}'",
                        f"write provider: {service.provider}, or leave provider out "
                        "(the host is then paid)",
                    )
                )
            if not option.available:
                continue
            if item.supply.in_house_only and option.mode == "buy":
                problems.append(
                    document.problem(
                        (*where, "mode"),
                        "is buy, but the supply is in_house_only: only make options may be used",
                        "set available: false on this option, or in_house_only: false",
                    )
                )
            if option.first_year is not None and option.first_year > years[-1]:
                problems.append(
                    document.problem(
                        (*where, "first_year"),
                        f"{option.first_year} is after the last plan year {years[-1]}: the "
                        "option is never available in the plan",
                        f"use a plan year ({span}), or leave first_year out for the first "
                        "plan year",
                    )
                )
            last = option.last_year
            if last is not None and (last < years[0] or last < (option.first_year or last)):
                after = f"first_year {option.first_year}" if option.first_year else "the plan"
                problems.append(
                    document.problem(
                        (*where, "last_year"),
                        f"{last} is before {after} starts: the option is never available "
                        "in the plan",
                        f"use a plan year ({span}) no earlier than first_year, or leave "
                        "last_year out for the last plan year",
                    )
                )
            # M of "units only if chosen": the smallest of these that is given
            bounds = [
                (option.capacity, "capacity"),
                (item.max_units, "the intervention's max_units"),
                (
                    service.capacity if service is not None else None,
                    f"the capacity of shared service '{option.shared}'",
                ),
            ]
            given = [(bound, what) for bound, what in bounds if bound is not None]
            if option.min_volume is not None and given:
                bound, what = min(given, key=lambda entry: entry[0])
                if option.min_volume > bound:
                    problems.append(
                        document.problem(
                            (*where, "min_volume"),
                            f"min_volume {option.min_volume:g} is above {what} {bound:g}: the "
                            "option could never be used",
                            f"lower min_volume or raise {what}",
                        )
                    )
            reasons = _choice_reasons(item, option)
            unknown_service = option.shared is not None and service is None  # check_references
            in_plan = bool(instance.supply_years(option))  # else it gets no variables at all
            if reasons and not given and not unknown_service and in_plan:
                problems.append(
                    document.problem(
                        where,
                        f"needs a yes/no choice each plan year ({', '.join(reasons)}) but "
                        "nothing bounds its units: no capacity, no max_units on the "
                        "intervention, no capacity on a shared service",
                        "give the option a capacity (or the intervention max_units) so "
                        "'units only if chosen' can be stated",
                    )
                )
    for sid, service in instance.shared_services.items():
        if service.first_year is not None and service.first_year > years[-1]:
            problems.append(
                document.problem(
                    ("shared_services", sid, "first_year"),
                    f"{service.first_year} is after the last plan year {years[-1]}: the "
                    "service never opens in the plan",
                    f"use a plan year ({span}), or leave first_year out for the first plan year",
                )
            )
        if sid not in drawn_on:
            problems.append(
                document.problem(
                    ("shared_services", sid),
                    "no supply option draws on it",
                    f"write shared: {sid} on the options that use it (check the spelling), "
                    "or remove it",
                )
            )
    return problems


def check_indivisible(instance: Instance, document: Document) -> list[Problem]:
    """All or nothing: max_units above 0 is the only size, without tranches; min_units 0 or it."""
    problems: list[Problem] = []
    for iid, item in instance.interventions.items():
        if not item.indivisible:
            continue
        base: FieldPath = ("interventions", iid)
        if item.max_units is None or item.max_units <= 0:
            given = "is not given" if item.max_units is None else "is 0"
            problems.append(
                document.problem(
                    (*base, "indivisible"),
                    f"is true but max_units {given}: an all-or-nothing intervention runs at "
                    "max_units or not at all",
                    "give max_units above 0: the units a year of the whole programme",
                )
            )
        if item.tranches is not None:
            problems.append(
                document.problem(
                    (*base, "tranches"),
                    "cannot be combined with indivisible: all or nothing buys every tranche or "
                    "none",
                    "remove tranches and give a single health_gain, the average over the programme",
                )
            )
        if (
            item.min_units is not None
            and item.max_units is not None
            and item.max_units > 0
            and item.min_units not in (0, item.max_units)
            and item.min_units < item.max_units  # above it: check_intervention_ranges says so
        ):
            problems.append(
                document.problem(
                    (*base, "min_units"),
                    f"min_units {item.min_units:g} is neither 0 nor max_units "
                    f"{item.max_units:g}: an indivisible intervention runs at max_units or not "
                    "at all",
                    f"write min_units: {item.max_units:g} to run it every plan year, or 0 (or "
                    "leave it out) to let the plan choose",
                )
            )
    return problems


def check_group_units(instance: Instance, document: Document) -> list[Problem]:
    """Units of a group's members are added, so they must be the same unit."""
    problems: list[Problem] = []
    for gid, group in instance.groups.items():
        units = {
            m: instance.interventions[m].unit for m in group.members if m in instance.interventions
        }
        if len(set(units.values())) > 1:
            listed = ", ".join(f"{m} ({u})" for m, u in units.items())
            problems.append(
                document.problem(
                    ("groups", gid, "members"),
                    f"adds units that differ: {listed}",
                    "group only interventions counted in the same unit",
                )
            )
    return problems


def check_partner_limits(instance: Instance, document: Document) -> list[Problem]:
    """A limit is given once: in money or as a share, not both."""
    problems: list[Problem] = []
    for pid, partner in instance.partners.items():
        for absolute, share in (("max_loss", "max_loss_share"), ("max_gain", "max_gain_share")):
            if getattr(partner, absolute) is not None and getattr(partner, share) is not None:
                problems.append(
                    document.problem(
                        ("partners", pid, share),
                        f"is given together with {absolute}",
                        f"keep one of {absolute} (money) and {share} (share of baseline income)",
                    )
                )
    return problems


def check_savings(instance: Instance, document: Document) -> list[Problem]:
    """Shared savings need partner shares summing to 1; carried-forward savings take none."""
    savings = instance.savings
    total = sum(savings.shares.values())
    if savings.rule == "share" and not math.isclose(total, 1.0, abs_tol=1e-9):
        return [
            document.problem(
                ("savings", "shares"),
                f"add up to {total:g}, not 1",
                "give each partner's share of the savings as fractions adding up to 1",
            )
        ]
    if savings.rule == "carry_forward" and savings.shares:
        return [
            document.problem(
                ("savings", "shares"),
                "are given but savings are carried forward",
                "set rule: share, or remove shares",
            )
        ]
    return []


def check_objective(instance: Instance, document: Document) -> list[Problem]:
    """Net benefit needs a threshold; the other objectives take none."""
    objective = instance.objective
    if objective.kind == "net_benefit" and objective.threshold is None:
        return [
            document.problem(
                ("objective", "threshold"),
                "is missing: net benefit needs a cost-effectiveness threshold",
                f"give it in {instance.currency} per {instance.health_unit} (e.g. 20000)",
            )
        ]
    if objective.kind != "net_benefit" and objective.threshold is not None:
        return [
            document.problem(
                ("objective", "threshold"),
                f"is only used by the net_benefit objective (this one is {objective.kind})",
                "remove threshold, or set kind: net_benefit",
            )
        ]
    return []


def check_floors(instance: Instance, document: Document) -> list[Problem]:
    """A floor is an absolute value or a ratio to baseline, and a ratio is near 1."""
    problems: list[Problem] = []
    for fid, floor in instance.floors.items():
        base: FieldPath = ("floors", fid)
        if (floor.value is None) == (floor.relative is None):
            problems.append(
                document.problem(
                    base,
                    "needs exactly one of value and relative",
                    "give value (a level) or relative (a multiple of baseline, 0.97 for 3% below)",
                )
            )
        elif floor.relative is not None and floor.relative > 10:
            problems.append(
                document.problem(
                    (*base, "relative"),
                    f"{floor.relative:g} times the baseline cannot be meant",
                    f"relative is a multiple of baseline: write {floor.relative / 100:g} "
                    f"for {floor.relative:g}% of baseline",
                )
            )
    return problems


def check_paid_to(instance: Instance, document: Document) -> list[Problem]:
    """Where partners are declared, every payment out of the envelope names who receives it.

    With supply options, unit_cost and delivered_by describe today only: a service with no
    baseline units has nobody paid today (its plan-year providers are on the options, see
    check_supply).
    """
    if not instance.partners:
        return []
    problems: list[Problem] = []
    for iid, item in instance.interventions.items():
        shares = item.partner_shares()
        paid_today = item.unit_cost > 0 and item.baseline_units > 0
        if item.supply is not None and paid_today and not shares:
            problems.append(
                document.problem(
                    ("interventions", iid, "delivered_by"),
                    "is missing: today's units are paid for but no partner receives the money "
                    "(the supply options name the providers of the plan years only)",
                    "name the partner that delivers it today (or shares by partner)",
                )
            )
        elif item.supply is None and item.unit_cost > 0 and not shares:
            problems.append(
                document.problem(
                    ("interventions", iid, "delivered_by"),
                    "is missing: the units are paid for but no partner receives the money",
                    "name the partner that delivers it (or shares by partner)",
                )
            )
        elif shares and not math.isclose(sum(shares.values()), 1.0, abs_tol=1e-9):
            problems.append(
                document.problem(
                    ("interventions", iid, "delivered_by"),
                    f"shares add up to {sum(shares.values()):g}, not 1",
                    "give each partner's share of the units as fractions adding up to 1",
                )
            )
    for oid, outcome in instance.outcomes.items():
        payees = outcome.payee_shares()
        if outcome.tariff > 0 and not payees:
            problems.append(
                document.problem(
                    ("outcomes", oid, "paid_to"),
                    "is missing: the tariff is paid but no partner receives it",
                    "name the partner paid the tariff (or shares by partner)",
                )
            )
        elif payees and not math.isclose(sum(payees.values()), 1.0, abs_tol=1e-9):
            problems.append(
                document.problem(
                    ("outcomes", oid, "paid_to"),
                    f"shares add up to {sum(payees.values()):g}, not 1",
                    "give each partner's share of the events as fractions adding up to 1",
                )
            )
    return problems


def check_bounded(instance: Instance, document: Document) -> list[Problem]:
    """When maximising, something must limit every intervention that adds health gain."""
    if instance.objective.kind == "min_spend":
        return []
    limited_by_group = {
        m for g in instance.groups.values() if g.rule == "share_need" for m in g.members
    }
    problems: list[Problem] = []
    for iid, item in instance.interventions.items():
        gains = [t.health_gain for t in item.tranches] if item.tranches else [item.health_gain]
        # a rising outcome with health gain per event and no natural maximum adds gain unlimited
        # (falling ones stop at zero)
        gains += [
            effect.per_unit * outcome.health_gain_per_event
            for oid in item.effects
            if (outcome := instance.outcomes.get(oid)) is not None and outcome.maximum is None
            for effect in item.effect_list(oid)
            if effect.per_unit > 0
        ]
        uses_capacity = any(use > 0 for use in item.resource_use.values())
        limited = item.max_units is not None or uses_capacity or iid in limited_by_group
        if max(gains) <= 0 or limited:
            continue
        if item.supply is None:
            if item.unit_cost > 0 and instance.envelope is not None:
                continue
            problems.append(
                document.problem(
                    ("interventions", iid),
                    "adds health gain but nothing limits its units (no cost against an envelope, "
                    "no max_units, no resource use, no shared need): the plan would be unbounded",
                    "give max_units (capacity or need), or a unit_cost within an envelope",
                )
            )
            continue
        # with supply options the plan years are bought at the options' prices: each option on
        # offer needs a price against the envelope or a capacity (its own or its shared service's)
        open_ended = [
            oid
            for oid, option in item.offered().items()
            if not (option.unit_price > 0 and instance.envelope is not None)
            and _option_capacity(instance, option) is None
        ]
        if open_ended:
            which = (
                f"supply option {open_ended[0]} has"
                if len(open_ended) == 1
                else f"supply options {', '.join(open_ended)} have"
            )
            problems.append(
                document.problem(
                    ("interventions", iid),
                    "adds health gain but nothing limits its units (no max_units, no resource "
                    f"use, no shared need, and {which} no capacity and no price against an "
                    "envelope): the plan would be unbounded",
                    "give max_units (capacity or need), or every supply option a capacity or a "
                    "unit_price within an envelope",
                )
            )
    return problems


def _option_capacity(instance: Instance, option: SupplyOption) -> float | None:
    """Most units a year an option can supply: its capacity or its shared service's, the smaller."""
    given = [option.capacity]
    if option.shared is not None and option.shared in instance.shared_services:
        given.append(instance.shared_services[option.shared].capacity)
    bounds = [bound for bound in given if bound is not None]
    return min(bounds) if bounds else None


def check_floor_reachable(instance: Instance, document: Document) -> list[Problem]:
    """A floor must be reachable by some allocation within the interventions' min and max units."""
    problems: list[Problem] = []
    affecting: dict[str, list[Intervention]] = {}  # by outcome, in the interventions' order
    for item in instance.interventions.values():
        for oid in item.effects:
            affecting.setdefault(oid, []).append(item)
    for fid, floor in instance.floors.items():
        outcome = instance.outcomes.get(floor.outcome)
        if outcome is None or (floor.value is None) == (floor.relative is None):
            continue
        bound = instance.floor_bound(fid)
        for year in [floor.year] if floor.year is not None else instance.plan_years:
            t = year - instance.baseline_year
            low = high = outcome.baseline
            for item in affecting.get(floor.outcome, []):
                for effect in item.effect_list(floor.outcome):
                    if t - effect.lag < 1:
                        continue
                    least = (item.min_units or 0.0) - item.baseline_units
                    most = item.max_units if item.max_units is not None else math.inf
                    most -= item.baseline_units
                    ends = [effect.per_unit * least, effect.per_unit * most]
                    low += min(ends)
                    high += max(ends)
            if floor.bound == "lower" and high < bound - 1e-9:
                problems.append(
                    document.problem(
                        ("floors", fid),
                        f"needs {floor.outcome} at least {bound:,.6g} in {year}, but at most "
                        f"{high:,.6g} is reachable within the interventions' max_units",
                        "lower the floor, or raise max_units of interventions that raise it",
                    )
                )
                break
            if floor.bound == "upper" and low > bound + 1e-9:
                problems.append(
                    document.problem(
                        ("floors", fid),
                        f"needs {floor.outcome} at most {bound:,.6g} in {year}, but no less than "
                        f"{low:,.6g} is reachable within the interventions' min and max units",
                        "raise the cap, or let the interventions that reduce it grow (max_units)",
                    )
                )
                break
    return problems


def check_ramp_from_zero(instance: Instance, document: Document) -> list[Problem]:
    """Growth as a share of the previous year cannot start a service that has no baseline units."""
    problems: list[Problem] = []
    for iid, item in instance.interventions.items():
        ramp = item.ramp
        if ramp is None or ramp.max_increase_share is None or item.baseline_units > 0:
            continue
        if ramp.max_increase is None:
            problems.append(
                document.problem(
                    ("interventions", iid, "ramp", "max_increase_share"),
                    "limits growth to a share of last year's units, but there are no baseline "
                    "units, so the service could never start",
                    "give baseline_units, or limit growth in units with max_increase",
                )
            )
    return problems


def check_listed_once(instance: Instance, document: Document) -> list[Problem]:
    """An intervention is listed at most once in a group and on each side of a complement: the
    rule adds the listed units, so a name given twice would count its units twice."""
    problems: list[Problem] = []
    lists: list[tuple[FieldPath, list[str]]] = [
        (("groups", gid, "members"), group.members) for gid, group in instance.groups.items()
    ]
    for cid, complement in instance.complements.items():
        for side, names in zip(("intervention", "requires"), complement.sides(), strict=True):
            lists.append((("complements", cid, side), names))
    for path, names in lists:
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            problems.append(
                document.problem(
                    path,
                    f"lists {', '.join(twice)} more than once: its units would be counted twice",
                    "list each intervention once",
                )
            )
    return problems


def check_uncertainty(instance: Instance, document: Document) -> list[Problem]:
    """Each uncertain parameter names real numbers of the plan (each at most once), and its
    distribution's numbers fit its kind, the field's value and the field's domain."""
    return distributions.problems(instance, document)


CHECKS: list[Check] = [
    check_references,
    check_years,
    check_envelope,
    check_intervention_ranges,
    check_supply,
    check_indivisible,
    check_group_units,
    check_partner_limits,
    check_savings,
    check_objective,
    check_floors,
    check_paid_to,
    check_bounded,
    check_floor_reachable,
    check_ramp_from_zero,
    check_listed_once,
    check_uncertainty,
]
