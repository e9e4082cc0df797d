"""Document: a plan's business case as one self-contained HTML file and its Markdown twin.

The report answers the programme-budgeting questions in order: plain-English findings first,
then where the money goes today, what it buys, whether there is a better way (the plan, with
charts), the plan's tables, and the assumptions and sources behind the numbers.

It reads only the plan's tables (planner.result.Plan), the validated Instance (names, envelope,
tariffs, sources) and, when given, an envelope frontier's points; it never touches PuLP. The
content is built once as a list of blocks and rendered twice: HTML, with every piece of input
text escaped, charts inline as SVG and nothing loaded from outside; and Markdown, with the charts
given as the tables of their numbers. Both files are written whole or not at all, never over an
input, never over a file planner did not write, and byte-identical for the same input.
"""

from __future__ import annotations

import hashlib
import html
import io
import math
import os
import re
import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

import planner
from planner.errors import display_path
from planner.report import OutputError, money, pence
from planner.result import Plan, not_proven_optimal
from planner.schema import CURRENCY_SYMBOL, Instance
from planner.table import missing

if TYPE_CHECKING:
    from planner.uncertainty import UncertaintyResult

MARK = "<!-- written by planner report; planner replaces this file on the next run -->"
CHART_ROWS = 12  # a spend chart shows this many interventions; the rest are added up in one bar
LIST_LIMIT = 6  # a finding names at most this many items, then says how many more there are
FIGURE_WIDTH = 7.5  # inches
SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")  # names, not links
PLAN_COLOURS = ("#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b")
TODAY_COLOUR = "#a6a6a6"
LIMIT_COLOUR = "#d62728"
FAMILY_WORDS = {
    "outcome_nonnegative": "the zero floor of",
    "outcome_maximum": "the natural maximum of",
    "capacity": "the capacity of",
    "minimum_units": "the minimum of",
    "group_need": "the need of group",
    "complement": "the complement rule",
    "resource": "the capacity of",
    "ramp_up": "the growth limit of",
    "ramp_up_share": "the growth limit of",
    "ramp_down": "the cut limit of",
    "ramp_down_share": "the cut limit of",
    "option_capacity": "the capacity of option",
    "minimum_volume": "the minimum volume of option",
    "shared_use": "the shared-service link of option",
    "exclusive_choice": "the one-supplier rule of",
    "shared_capacity": "the capacity of shared service",
}
PRICED_APART = {"envelope", "outcome_floor", "partner_risk_limit", "partner_gain_cap"}


# --- the document: blocks rendered twice -----------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    text: str
    warning: bool = False  # shown boxed and in bold (a plan not proven optimal)


@dataclass(frozen=True)
class Bullets:
    items: list[str]


Align = Literal["left", "right"]


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[str]]
    align: list[Align]
    caption: str = ""


@dataclass(frozen=True)
class Chart:
    number: int
    title: str
    svg: str
    data: Table


Block = Heading | Paragraph | Bullets | Table | Chart


@dataclass(frozen=True)
class Report:
    """A business-case report: its findings and its blocks, rendered as HTML or Markdown."""

    title: str
    findings: list[str]
    blocks: list[Block] = field(default_factory=list)

    def html(self) -> str:
        """The whole report as one self-contained HTML page (no external resources)."""
        return render_html(self)

    def markdown(self) -> str:
        """The whole report as Markdown; charts are given as the tables of their numbers."""
        return render_markdown(self)


# --- numbers and words -----------------------------------------------------------------------


def figure(value: float) -> str:
    """A quantity to sensible digits: one decimal from 100 up, else three significant digits;
    thousands separated, trailing zeros dropped (641.2, 9.71, 0.36, 0.000504, 1,860.6)."""
    if missing(value):
        return ""
    if abs(value) < 1e-12:
        return "0"
    decimals = 1 if abs(value) >= 100 else 2 - math.floor(math.log10(abs(value)))
    text = f"{round(value, decimals):,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def count(value: float) -> str:
    """A count of units or events: whole numbers as such (13,400), else as `figure`."""
    if missing(value):
        return ""
    if abs(value - round(value)) < 1e-6:
        return f"{round(value):,}"
    return figure(value)


def signed_money(value: float, currency: str) -> str:
    """+£1,234 or -£1,234."""
    return ("+" if value >= 0.5 else "") + money(value, currency)


def about(value: float) -> float:
    """Rounded to three significant digits (10,298.8 -> 10,300)."""
    if value == 0:
        return 0.0
    return round(value, 2 - math.floor(math.log10(abs(value))))


def years_text(years: Iterable[int]) -> str:
    """2014-2016 for a run of years, else 2014 and 2016; runs joined with commas and `and`."""
    ordered = sorted(set(years))
    runs: list[list[int]] = []
    for year in ordered:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    parts = [f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs]
    return join_words(parts)


def join_words(items: Sequence[str]) -> str:
    """a, b and c."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def short(name: str) -> str:
    """A readable name without a closing parenthetical: `Acute trust (hosts eye screening)` ->
    `Acute trust`; a name with brackets inside (`emergency (non-elective) admissions`) is kept."""
    found = re.fullmatch(r"(.*?\S)\s*\([^()]*\)", name.strip())
    return found.group(1) if found else name


def possessive(name: str) -> str:
    """`GP consortium's`, `Community pharmacies'`."""
    return name + ("'" if name.endswith("s") else "'s")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _same(values: Sequence[float]) -> bool:
    return all(math.isclose(v, values[0], rel_tol=1e-6, abs_tol=1e-9) for v in values)


def _more(items: list[str], noun: str) -> list[str]:
    """The first LIST_LIMIT items, then `and N more <noun>`."""
    if len(items) <= LIST_LIMIT + 1:
        return items
    return [*items[:LIST_LIMIT], f"{len(items) - LIST_LIMIT} more {noun}"]


# --- the findings ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    """What every finding needs to know about the plan, read once from its tables."""

    plan: Plan
    instance: Instance
    currency: str
    health_unit: str
    objective_unit: str
    kind: str
    years: list[int]

    @property
    def span(self) -> str:
        return years_text(self.years)

    @property
    def last(self) -> int:
        return self.years[-1]

    @property
    def over(self) -> str:
        """`over 2014-2016`, or `in 2021` for a one-year plan."""
        return f"over {self.span}" if len(self.years) > 1 else f"in {self.span}"

    def money(self, value: float) -> str:
        return money(value, self.currency)

    def worth(self, value: float) -> str:
        """A value in the objective's unit: £ under min_spend (to the penny below £1,000), else
        the health unit."""
        if self.kind == "min_spend":
            return self.money(value) if abs(value) >= 1000 else pence(value, self.currency)
        return f"{figure(value)} {self.objective_unit}"

    def worth_range(self, values: Sequence[float]) -> str:
        """`0.36 QALY`, or `0.0016-0.0014 QALY`, or `£5.56-£35.00` for a range of values."""
        low, high = min(values), max(values)
        if _same(values):
            return self.worth(low)
        if self.kind == "min_spend":
            return f"{self.worth(low)}-{self.worth(high)}"
        return f"{figure(low)}-{self.worth(high)}"

    @property
    def gains(self) -> str:
        return "would save" if self.kind == "min_spend" else "buys"

    def intervention(self, iid: str) -> str:
        item = self.instance.interventions.get(iid)
        return short(item.name) if item is not None else iid

    def partner(self, pid: str) -> str:
        partner = self.instance.partners.get(pid)
        return short(partner.name) if partner is not None else pid

    def subject(self, family: str, subject: str) -> str:
        """A rule's subject by its readable name where it has one."""
        inst = self.instance
        if family == "resource" and subject in inst.resources:
            return short(inst.resources[subject].name)
        if family.startswith("outcome_") and subject in inst.outcomes:
            return short(inst.outcomes[subject].name)
        if family == "shared_capacity" and subject in inst.shared_services:
            return short(inst.shared_services[subject].name)
        if subject in inst.interventions:
            return self.intervention(subject)
        return subject


def _facts(plan: Plan, instance: Instance) -> _Facts:
    s = plan.summary
    years = sorted(int(y) for y in plan.allocation["year"].unique())
    return _Facts(
        plan=plan,
        instance=instance,
        currency=str(s["currency"]),
        health_unit=str(s["health_unit"]),
        objective_unit=str(s["objective_unit"]),
        kind=str(s["objective_kind"]),
        years=years or [int(s["first_year"])],
    )


def today_spend(plan: Plan, instance: Instance) -> pd.DataFrame:
    """Spend in the baseline year, line by line: each intervention at today's units and price
    (allocation `baseline_spend`), then each paid outcome's tariff x baseline level (outcomes the
    commissioner refuses are left out: their tariff is not paid out of the envelope). Columns:
    line, name, kind, paid_to, spend."""
    rows = []
    for row in _records(plan.allocation.drop_duplicates("intervention")):
        iid = str(row["intervention"])
        item = instance.interventions.get(iid)
        shares = item.partner_shares() if item is not None else {}
        rows.append(
            {
                "line": iid,
                "name": str(row["name"]),
                "kind": "intervention",
                "paid_to": _shares_words(shares),
                "spend": float(row["baseline_spend"]),
            }
        )
    for oid, outcome in instance.outcomes.items():
        if outcome.tariff and oid not in instance.refused_outcomes:
            rows.append(
                {
                    "line": oid,
                    "name": outcome.name,
                    "kind": "paid activity",
                    "paid_to": _shares_words(outcome.payee_shares()),
                    "spend": outcome.tariff * outcome.baseline,
                }
            )
    return pd.DataFrame(rows, columns=["line", "name", "kind", "paid_to", "spend"])


def _shares_words(shares: dict[str, float]) -> str:
    return ", ".join(p if abs(s - 1) < 1e-9 else f"{p} {s:.0%}" for p, s in shares.items())


def findings(plan: Plan, instance: Instance, frontier: pd.DataFrame | None = None) -> list[str]:
    """The plan's findings in plain English, one sentence each, computed from its tables: the
    headline, the envelope against today, where money moves, what the plan buys, what binds and
    what it costs, who gains and who loses, make-or-buy choices, unfunded interventions and the
    envelope frontier (when given)."""
    f = _facts(plan, instance)
    out = [_headline(f)]
    out += _envelope_against_today(f)
    out += _money_moves(f)
    out += _outcome_changes(f)
    out += _envelope_price(f)
    out += _floor_prices(f)
    out += _limit_prices(f)
    out += _other_prices(f)
    if plan.summary["problem"] == "MILP":
        out.append(
            f"The plan has yes/no choices, so its prices come from {plan.summary['prices_from']}:"
            " they hold those choices as they are (planner compare gives the value of each)."
        )
    out += _partner_changes(f)
    out += _supply_choices(f)
    out += _shared_services(f)
    out += _unfunded(f)
    if frontier is not None:
        out += _frontier_finding(f, frontier)
    return out


def _headline(f: _Facts) -> str:
    s = f.plan.summary
    health = f"{figure(s['health_gain_discounted'])} {f.health_unit}"
    spend = f.money(s["total_spend"])
    envelope = (
        "" if s["total_envelope"] == "" else f" of the {f.money(s['total_envelope'])} envelope"
    )
    unspent = (
        f", leaving {f.money(s['unspent'])} unspent"
        if s["unspent"] != "" and float(s["unspent"]) >= 0.5
        else ""
    )
    if f.kind == "min_spend":
        buys = (
            f"{',' if unspent else ''} and buys {health} of discounted health gain"
            if abs(float(s["health_gain_discounted"])) > 1e-9
            else ""
        )
        return (
            f"The cheapest plan that meets every floor spends {spend}{envelope} {f.over} "
            f"({f.money(s['objective'])} discounted){unspent}{buys}."
        )
    if f.kind == "net_benefit":
        return (
            f"The plan's net health benefit is {figure(s['objective'])} {f.objective_unit} at "
            f"{f.money(s['threshold'])} per {f.health_unit}: {health} of discounted health gain "
            f"for {spend}{envelope} {f.over}{unspent}."
        )
    undiscounted = figure(s["health_gain_undiscounted"])
    plain = (
        f" ({undiscounted} undiscounted)"
        if undiscounted != figure(s["health_gain_discounted"])
        else ""
    )
    return (
        f"The plan buys {health} of discounted health gain {f.over}{plain}, spending "
        f"{spend}{envelope}{unspent}."
    )


def _envelope_against_today(f: _Facts) -> list[str]:
    envelope = f.instance.envelope_by_year()
    if not envelope or f.last not in envelope:
        return []
    today = float(today_spend(f.plan, f.instance)["spend"].sum())
    if today < 0.5:  # nothing is bought today (a new programme): no change to speak of
        return []
    last = envelope[f.last]
    if last < today - 0.5:
        return [
            f"The envelope is {f.money(last)} in {f.last}, {f.money(today - last)} less than "
            f"the {f.money(today)} spent today on these services and paid activity."
        ]
    return [
        f"The envelope is {f.money(last)} in {f.last}, {f.money(last - today)} more than the "
        f"{f.money(today)} spent today on these services and paid activity."
    ]


def _money_moves(f: _Facts) -> list[str]:
    alloc = f.plan.allocation
    last = alloc[alloc["year"] == f.last].set_index("intervention")["change_spend"]
    total = alloc.groupby("intervention", sort=False)["change_spend"].sum()
    changes = {str(i): float(v) for i, v in last.items() if abs(float(v)) >= 0.5}
    if not changes:
        return [f"The plan keeps today's spend on every intervention in {f.last}."]
    cut = min(changes, key=lambda i: changes[i])
    rise = max(changes, key=lambda i: changes[i])
    multi = len(f.years) > 1
    named: list[str] = []
    if changes[cut] < 0 and changes[rise] > 0:
        named = [cut, rise]
        plan_total = (
            f" ({f.money(-total[cut])} less and {f.money(total[rise])} more {f.over})"
            if multi
            else ""
        )
        first = (
            f"Money moves from {f.intervention(cut)} to {f.intervention(rise)}: in {f.last} the "
            f"plan spends {f.money(-changes[cut])} a year less on {f.intervention(cut)} and "
            f"{f.money(changes[rise])} a year more on {f.intervention(rise)} than today"
            f"{plan_total}."
        )
    elif changes[rise] > 0:
        named = [rise]
        first = (
            f"The plan cuts nothing: in {f.last} the largest increase is "
            f"{f.money(changes[rise])} a year on {f.intervention(rise)}."
        )
    else:
        named = [cut]
        first = (
            f"The plan increases nothing: in {f.last} the largest cut is "
            f"{f.money(-changes[cut])} a year on {f.intervention(cut)}."
        )
    rest = sorted(
        (i for i in changes if i not in named),
        key=lambda i: (-abs(changes[i]), list(changes).index(i)),
    )
    out = [first]
    if rest:
        items = [f"{f.intervention(i)} {signed_money(changes[i], f.currency)}" for i in rest]
        out.append(
            f"Other changes in {f.last}, a year against today: "
            f"{join_words(_more(items, 'smaller changes'))}."
        )
    return out


def _levels(outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per outcome and year (the outcomes table repeats a level once per floor)."""
    return outcomes.drop_duplicates(["outcome", "year"])


def _outcome_changes(f: _Facts) -> list[str]:
    levels = _levels(f.plan.outcomes)
    rows = _records(levels[levels["year"] == f.last])
    items = []
    for row in rows:
        change = float(row["change"])
        if abs(change) < 1e-6 * max(1.0, abs(float(row["baseline"]))):
            continue
        way = "down" if change < 0 else "up"
        items.append(
            f"{short(str(row['name']))} {way} {count(abs(change))} to {count(row['level'])}"
        )
    if not items:
        return []
    return [
        f"What the plan buys in {f.last}, against today: "
        f"{join_words(_more(items, 'outcomes that change'))}."
    ]


def _priced(f: _Facts, family: str) -> pd.DataFrame:
    sp = f.plan.shadow_prices
    return sp[(sp["family"] == family) & sp["binding"].astype(bool)]


def _values_by_year(rows: pd.DataFrame, words: Callable[[float], str]) -> str:
    """`0.36 QALY` when every year has the same value, else `1 QALY in 2021 and 2 in 2022`."""
    values = [float(v) for v in rows["value_of_relaxing"]]
    years = [int(y) for y in rows["year"]]
    if _same(values):
        return words(values[0])
    parts = [f"{words(v)} in {y}" for v, y in zip(values, years, strict=True)]
    return join_words(parts)


def _envelope_price(f: _Facts) -> list[str]:
    if f.instance.envelope is None:
        return []
    rows = _priced(f, "envelope")
    if not len(rows):
        s = f.plan.summary
        left = (
            f"; {f.money(s['unspent'])} of it is unspent"
            if s["unspent"] != "" and float(s["unspent"]) >= 0.5
            else ""
        )
        return [
            f"The envelope does not bind in any year: more money would not improve the plan{left}."
        ]
    years = [int(y) for y in rows["year"]]
    step = f.money(float(rows["per"].iloc[0]))
    when = "in any plan year" if years == f.years and len(years) > 1 else f"in {years_text(years)}"
    values = [float(v) for v in rows["value_of_relaxing"]]
    if _same(values):
        sentence = f"{step} more envelope {when} {f.gains} {f.worth(values[0])}"
    else:
        sentence = f"{step} more envelope {f.gains} " + _values_by_year(rows, f.worth)
    if f.kind == "health_gain":
        per = sorted({about(float(rows["per"].iloc[0]) / v) for v in values if v > 0})
        if per:
            cost = f.money(per[0]) if len(per) == 1 else f"{f.money(per[0])}-{f.money(per[-1])}"
            sentence += f" (about {cost} per {f.health_unit})"
    return [sentence + "."]


def _floor_prices(f: _Facts) -> list[str]:
    rows = _priced(f, "outcome_floor")
    out = []
    outcomes = f.plan.outcomes
    for floor, group in rows.groupby("subject", sort=False):
        match = outcomes[outcomes["floor"] == floor]
        lower = len(match) and str(match["bound_type"].iloc[0]) == "lower"
        unit = str(group["unit"].iloc[0])
        rule = str(group["rule"].iloc[0])
        years = years_text(int(y) for y in group["year"])
        action = "required" if lower else "avoided"
        out.append(
            f"The floor “{rule}” binds in {years}: each further {unit} {action} costs "
            f"{_values_by_year(group, f.worth)}."
        )
    return out


def _limit_prices(f: _Facts) -> list[str]:
    out = []
    for family, verb, what in (
        ("partner_risk_limit", "lose", "loss limit"),
        ("partner_gain_cap", "gain", "gain cap"),
    ):
        for pid, group in _priced(f, family).groupby("subject", sort=False):
            step = f.money(float(group["per"].iloc[0]))
            years = years_text(int(y) for y in group["year"])
            out.append(
                f"{possessive(f.partner(str(pid)))} {what} binds in {years}: letting it {verb} "
                f"{step} more a year {f.gains} {_values_by_year(group, f.worth)}."
            )
    return out


def _other_prices(f: _Facts) -> list[str]:
    sp = f.plan.shadow_prices
    rows = sp[sp["binding"].astype(bool) & ~sp["family"].isin(PRICED_APART) & (sp["sense"] != "==")]
    items = []
    for (family, subject), group in rows.groupby(["family", "subject"], sort=False):
        worth = f.worth_range([float(v) for v in group["value_of_relaxing"]])
        unit = str(group["unit"].iloc[0])
        words = FAMILY_WORDS.get(str(family), str(family).replace("_", " "))
        label = f"{words} {f.subject(str(family), str(subject))}"
        years = years_text(int(y) for y in group["year"])
        items.append(f"{label} ({years}: {worth} per {unit})")
    if not items:
        return []
    return [
        "Other rules at their limit, with what one more unit of each is worth: "
        + join_words(_more(items, "rules"))
        + "."
    ]


def _partner_changes(f: _Facts) -> list[str]:
    partners = f.plan.partners
    out = []
    unchanged = []
    totals = []
    for pid, group in partners.groupby("partner", sort=False):
        income = [float(v) for v in group["income_change"]]
        net = [float(v) for v in group["net_change"]]
        if all(abs(v) < 0.5 for v in income + net):
            unchanged.append(f.partner(str(pid)))
            continue
        totals.append((sum(income), str(pid), group))
    totals.sort(key=lambda t: t[0])
    for total, pid, group in totals:
        out.append(_partner_sentence(f, pid, group, total))
    if unchanged:
        verb = "sees" if len(unchanged) == 1 else "see"
        out.append(f"{join_words(unchanged)} {verb} no change in income.")
    return out


def _range(f: _Facts, values: list[float]) -> str:
    if _same(values):
        return f"{f.money(values[0])} a year"
    return f"{f.money(min(values))} to {f.money(max(values))} a year"


def _partner_sentence(f: _Facts, pid: str, group: pd.DataFrame, total: float) -> str:
    name = f.partner(pid)
    income = [float(v) for v in group["income_change"]]
    net = [float(v) for v in group["net_change"]]
    years = [int(y) for y in group["year"]]
    base = float(group["baseline_income"].iloc[0])
    multi = len(years) > 1
    if min(income) >= -0.5:
        text = f"{name} gains {f.money(total)} {f.over}"
        if multi:
            text += f" ({_range(f, income)})"
    elif max(income) <= 0.5:
        worst = min(range(len(income)), key=lambda n: income[n])
        share = f", {-income[worst] / base:.1%} of its {f.money(base)} income today" if base else ""
        text = f"{name} loses {f.money(-total)} {f.over}"
        if multi and not _same(income):
            text += f", up to {f.money(-income[worst])} a year ({years[worst]}{share})"
        elif multi:
            text += f", {f.money(-income[worst])} a year ({share[2:] or 'from nothing'})"
        elif share:
            text += f" ({share[2:]})"
    else:
        text = (
            f"{possessive(name)} income changes by {_signed_range(f, income)}, "
            f"{signed_money(total, f.currency)} {f.over}"
        )
    if any(abs(n - i) >= 0.5 for n, i in zip(net, income, strict=True)):
        text += "; net of its costs outside the envelope its position changes by " + _signed_range(
            f, net
        )
    limit = group["max_loss"].iloc[0]
    if not missing(limit):
        at = [int(y) for y, b in zip(group["year"], group["binding"], strict=True) if bool(b)]
        if at:
            text += f", at its loss limit of {f.money(float(limit))} in {years_text(at)}"
        elif min(net) < -0.5:
            headroom = [float(h) for h in group["headroom"]]
            closest = min(range(len(headroom)), key=lambda n: headroom[n])
            text += (
                f", {f.money(headroom[closest])} inside its loss limit of "
                f"{f.money(float(limit))} at the closest ({years[closest]})"
            )
    return text + "."


def _signed_range(f: _Facts, values: list[float]) -> str:
    if _same(values):
        return f"{signed_money(values[0], f.currency)} a year"
    low, high = min(values), max(values)
    return f"{signed_money(low, f.currency)} to {signed_money(high, f.currency)} a year"


def _supply_choices(f: _Facts) -> list[str]:
    supply = f.plan.supply
    unit_of = dict(zip(f.plan.allocation["intervention"], f.plan.allocation["unit"], strict=False))
    out = []
    for iid, group in supply.groupby("intervention", sort=False):
        iid = str(iid)
        used = group[group["chosen"].astype(bool)]
        name = f.intervention(iid)
        if not len(used):
            out.append(f"For {name} the plan uses none of its supply options.")
            continue
        by_year: dict[int, tuple[str, ...]] = {}
        for year, rows in used.groupby("year", sort=True):
            by_year[int(str(year))] = tuple(str(o) for o in rows["option"])
        runs: list[tuple[tuple[str, ...], list[int]]] = []
        for year in sorted(by_year):
            if runs and runs[-1][0] == by_year[year] and runs[-1][1][-1] == year - 1:
                runs[-1][1].append(year)
            else:
                runs.append((by_year[year], [year]))
        unit = str(unit_of.get(iid, "unit"))
        options = {str(r["option"]): r for r in _records(group.drop_duplicates("option"))}
        parts = []
        for chosen, years in runs:
            described = [_option_words(f, options[o], unit) for o in chosen]
            parts.append(f"{join_words(described)} in {years_text(years)}")
        modes = {str(options[o]["mode"]) for chosen, _ in runs for o in chosen}
        how = (
            "makes it in-house"
            if modes == {"make"}
            else "buys it"
            if modes == {"buy"}
            else "both makes and buys it"
        )
        cost = float(used["cost"].sum())
        setup = float(used["setup_cost"].sum())
        setup_words = f" including {f.money(setup)} to set up" if setup >= 0.5 else ""
        chosen_ids = {o for chosen, _ in runs for o in chosen}
        others = [
            f"{o} ({f.partner(str(r['provider']))}, {r['mode']})"
            for o, r in options.items()
            if o not in chosen_ids
        ]
        not_used = f"; not used: {join_words(others)}" if others else ""
        out.append(
            f"For {name} the plan {how}: {', then '.join(parts)}, costing {f.money(cost)} "
            f"{f.over}{setup_words}{not_used}."
        )
    return out


def _option_words(f: _Facts, option: dict[str, Any], unit: str) -> str:
    """`GP consortium (gp_practices, make) at £40.00 a contact plus £100,000 a year`."""
    rows = f.plan.supply
    paid = rows[
        (rows["intervention"] == option["intervention"]) & (rows["option"] == option["option"])
    ]
    fixed = float(paid["fixed_cost"].max()) if len(paid) else 0.0
    fixed_words = f" plus {f.money(fixed)} a year" if fixed >= 0.5 else ""
    provider = f.partner(str(option["provider"])) if option["provider"] else "no provider"
    return (
        f"{provider} ({option['option']}, {option['mode']}) at "
        f"{pence(option['unit_price'], f.currency)} a {unit}{fixed_words}"
    )


def _shared_services(f: _Facts) -> list[str]:
    out = []
    for _, group in f.plan.shared_services.groupby("service", sort=False):
        opened = group[group["open"].astype(bool)]
        name = short(str(group["name"].iloc[0]))
        host = f.partner(str(group["provider"].iloc[0]))
        if not len(opened):
            out.append(f"The shared service {name} (hosted by {host}) is not opened.")
            continue
        users = sorted({u for text in opened["users"] for u in str(text).split(", ") if u})
        used_by = f", used by {join_words([f.intervention(u) for u in users])}" if users else ""
        out.append(
            f"The shared service {name} (hosted by {host}) is open in "
            f"{years_text(int(y) for y in opened['year'])}, costing "
            f"{f.money(float(opened['cost'].sum()))} {f.over}{used_by}."
        )
    return out


def _unfunded(f: _Facts) -> list[str]:
    rc = f.plan.reduced_costs
    if not len(rc):
        return ["Every intervention is funded in every plan year."]
    unit_of = dict(zip(f.plan.allocation["intervention"], f.plan.allocation["unit"], strict=False))
    entries = []
    for iid, group in rc.groupby("intervention", sort=False):
        needed = [float(v) for v in group["improvement_needed_per_unit"]]
        years = years_text(int(y) for y in group["year"])
        name = f.intervention(str(iid))
        unit = str(unit_of.get(str(iid), "unit"))
        if max(needed) <= 0:
            entries.append(
                (
                    0.0,
                    f"{name} is not funded in {years}, but funding it would not worsen the "
                    "plan (a tie).",
                )
            )
            continue
        low, high = min(needed), max(needed)
        if f.kind == "min_spend":
            amount = (
                pence(low, f.currency)
                if _same(needed)
                else (f"{pence(low, f.currency)}-{pence(high, f.currency)}")
            )
            change = f"its cost per {unit} fell by {amount}"
        else:
            amount = figure(low) if _same(needed) else f"{figure(low)}-{figure(high)}"
            change = f"its health gain per {unit} rose by {amount} {f.health_unit}"
        entries.append((low, f"{name} is not funded in {years}; it would enter if {change}."))
    entries.sort(key=lambda e: e[0])
    out = [text for _, text in entries[:LIST_LIMIT]]
    if len(entries) > LIST_LIMIT:
        out.append(
            f"{len(entries) - LIST_LIMIT} more interventions are not funded; the reduced costs "
            "table gives what each would need."
        )
    return out


def _frontier_finding(f: _Facts, points: pd.DataFrame) -> list[str]:
    ok = points[points["status"] == "optimal"].sort_values("scale")
    if not len(ok):
        return ["No envelope on the frontier gives a plan."]
    first, last = ok.iloc[0], ok.iloc[-1]
    text = (
        f"Between {percent(first['scale'])} and {percent(last['scale'])} of the envelope "
        f"({f.money(first['envelope'])} to {f.money(last['envelope'])}), health gain runs from "
        f"{figure(first['health_gain'])} to {figure(last['health_gain'])} {f.health_unit}"
    )
    scales = [float(s) for s in ok[ok["breakpoint"].astype(bool)]["scale"]]
    if len(scales) > LIST_LIMIT + 1:
        text += (
            f"; the mix of services changes at {len(scales)} points between "
            f"{percent(scales[0])} and {percent(scales[-1])} of the envelope (the numbers behind "
            "the frontier's chart list them)"
        )
    elif scales:
        text += (
            f"; the mix of services changes at {join_words([percent(s) for s in scales])} of "
            "the envelope"
        )
    below = points[(points["status"] != "optimal") & (points["scale"] < first["scale"])]
    if len(below):
        text += f"; below {percent(first['scale'])} there is no plan"
    return [text + "."]


# --- charts ----------------------------------------------------------------------------------


def _style(name: str) -> dict[Any, Any]:
    return {
        "svg.fonttype": "none",  # text stays text: small, searchable, escaped by matplotlib
        "svg.hashsalt": f"planner-{name}",  # fixed ids, so the same input gives the same bytes
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica", "Liberation Sans"],
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 10,
        "axes.titleweight": "bold",
        "legend.frameon": False,
    }


def _label(text: str, width: int = 34, lines: int = 2) -> str:
    """Chart text: `$` kept literal (not mathtext), wrapped, and cut to `lines` lines."""
    wrapped = textwrap.wrap(text, width) or [""]
    if len(wrapped) > lines:
        wrapped = [
            *wrapped[: lines - 1],
            textwrap.shorten(" ".join(wrapped[lines - 1 :]), width, placeholder=" …"),
        ]
    return "\n".join(wrapped).replace("$", r"\$")


def _short_money(value: float, currency: str) -> str:
    symbol = CURRENCY_SYMBOL[currency]
    sign = "-" if value < 0 else ""
    size = abs(value)
    if size >= 1e6:
        text = f"{size / 1e6:.2f}".rstrip("0").rstrip(".") + "m"
    elif size >= 1e3:
        text = f"{size / 1e3:.0f}k"
    else:
        text = f"{size:.0f}"
    return f"{sign}{symbol}{text}"


def _money_axis(axis: Any, currency: str) -> None:
    axis.set_major_formatter(
        FuncFormatter(lambda v, _: _short_money(float(v), currency).replace("-", "−"))
    )


def _svg(fig: Figure, name: str, title: str) -> str:
    """The figure as an inline SVG element: no XML prolog or DTD, no date, ids prefixed with
    `name` so that several charts can share one page, and a <title> for screen readers."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata=SVG_METADATA)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', text)
    text = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{name}-{m.group(1)})", text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{name}-{m.group(1)}"', text)
    title_tag = f"<title>{html.escape(title)}</title>"
    text = re.sub(r"<svg\b[^>]*>", lambda m: m.group(0) + title_tag, text, count=1)
    return text.strip() + "\n"


def _year_colours(count: int) -> list[str]:
    if count <= len(PLAN_COLOURS):
        step = (len(PLAN_COLOURS) - 1) / max(1, count - 1) if count > 1 else 0
        return [PLAN_COLOURS[round(n * step) if count > 1 else 3] for n in range(count)]
    colours = matplotlib.colormaps["Blues"]
    return [matplotlib.colors.to_hex(colours(0.35 + 0.6 * n / (count - 1))) for n in range(count)]


def spend_chart(allocation: pd.DataFrame, currency: str, title: str) -> str:
    """Horizontal bars: each intervention's spend today beside each plan year's. The largest
    CHART_ROWS interventions (by their largest spend) are shown, the rest added up in one bar."""
    years = sorted(int(y) for y in allocation["year"].unique())
    wide = allocation.pivot_table(
        index="intervention", columns="year", values="spend", aggfunc="sum", sort=False
    )
    base = allocation.drop_duplicates("intervention").set_index("intervention")
    names = {str(i): short(str(n)) for i, n in base["name"].items()}
    table = pd.DataFrame({"today": base["baseline_spend"]}).join(wide)
    table.columns = ["today", *map(str, years)]
    size = table.abs().max(axis=1)
    order = sorted(table.index, key=lambda i: (-float(size[i]), list(table.index).index(i)))
    labels = [names[str(i)] for i in order]
    if len(order) > CHART_ROWS:
        kept, rest = order[: CHART_ROWS - 1], order[CHART_ROWS - 1 :]
        other = table.loc[rest].sum()
        table = pd.concat([table.loc[kept], other.to_frame(f"{len(rest)} others").T])
        labels = [*labels[: CHART_ROWS - 1], f"{len(rest)} other interventions"]
    else:
        table = table.loc[order]
    series = list(table.columns)
    colours = [TODAY_COLOUR, *_year_colours(len(years))]
    rows = len(table)
    band = 0.8 / len(series)
    with matplotlib.rc_context(_style("spend")):
        fig = Figure(figsize=(FIGURE_WIDTH, 1.3 + rows * (0.12 * len(series) + 0.2)))
        fig.set_layout_engine("constrained")
        ax = fig.add_subplot()
        for n, (column, colour) in enumerate(zip(series, colours, strict=True)):
            positions = [r + (n - (len(series) - 1) / 2) * band for r in range(rows)]
            label = "today" if column == "today" else column
            ax.barh(positions, table[column].astype(float), height=band, color=colour, label=label)
        ax.set_yticks(range(rows), [_label(x) for x in labels])
        ax.invert_yaxis()
        _money_axis(ax.xaxis, currency)
        ax.set_xlabel("spend a year")
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(ncols=len(series), loc="lower left", bbox_to_anchor=(0, 1.0))
        return _svg(fig, "spend", title)


def partner_chart(partners: pd.DataFrame, currency: str, title: str) -> str:
    """Horizontal bars: each partner's change against today, year by year (net of its costs
    outside the envelope, which is what its loss limit caps), with the limit as a red line."""
    years = sorted(int(y) for y in partners["year"].unique())
    groups = list(partners.groupby("partner", sort=False))
    colours = _year_colours(len(years))
    band = 0.8 / len(years)
    with matplotlib.rc_context(_style("partners")):
        fig = Figure(figsize=(FIGURE_WIDTH, 1.3 + len(groups) * (0.14 * len(years) + 0.25)))
        fig.set_layout_engine("constrained")
        ax = fig.add_subplot()
        limit_drawn = False
        for r, (_, group) in enumerate(groups):
            by_year = dict(zip(group["year"], group["net_change"], strict=True))
            for n, year in enumerate(years):
                y = r + (n - (len(years) - 1) / 2) * band
                ax.barh(
                    y,
                    float(by_year.get(year, 0.0)),
                    height=band,
                    color=colours[n],
                    label=str(year) if r == 0 else "_nolegend_",
                )
            limit = group["max_loss"].iloc[0]
            if not missing(limit):
                ax.vlines(
                    -float(limit),
                    r - 0.45,
                    r + 0.45,
                    colors=LIMIT_COLOUR,
                    linewidth=2,
                    label="_nolegend_" if limit_drawn else "loss limit",
                )
                limit_drawn = True
        ax.axvline(0, color="#404040", linewidth=0.8)
        labels = [_label(short(str(g["name"].iloc[0]))) for _, g in groups]
        ax.set_yticks(range(len(groups)), labels)
        ax.invert_yaxis()
        _money_axis(ax.xaxis, currency)
        ax.set_xlabel("change a year against today (income net of costs outside the envelope)")
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(ncols=len(years) + 1, loc="lower left", bbox_to_anchor=(0, 1.0))
        return _svg(fig, "partners", title)


def outcome_chart(outcomes: pd.DataFrame, title: str) -> str:
    """One panel per outcome with a floor: its level today and in each plan year, and each
    floor's bound in the years it applies (red where it binds)."""
    floored = [str(o) for o in outcomes[outcomes["floor"].fillna("") != ""]["outcome"].unique()]
    years = sorted(int(y) for y in outcomes["year"].unique())
    columns = 2 if len(floored) > 1 else 1
    rows = math.ceil(len(floored) / columns)
    with matplotlib.rc_context(_style("outcomes")):
        fig = Figure(figsize=(FIGURE_WIDTH, 0.6 + 2.4 * rows))
        fig.set_layout_engine("constrained")
        axes = fig.subplots(rows, columns, squeeze=False)
        for n, oid in enumerate(floored):
            ax: Axes = axes[n // columns][n % columns]
            part = outcomes[outcomes["outcome"] == oid]
            levels = _levels(part).sort_values("year")
            xs = list(range(len(years) + 1))
            ys = [float(part["baseline"].iloc[0]), *map(float, levels["level"])]
            ax.plot(xs, ys, marker="o", color="#08519c", linewidth=1.6, zorder=3)
            for row in _records(part[part["floor"].fillna("") != ""]):
                x = years.index(int(row["year"])) + 1
                colour = LIMIT_COLOUR if bool(row["binding"]) else "#7f7f7f"
                ax.hlines(
                    float(row["bound"]),
                    x - 0.3,
                    x + 0.3,
                    colors=colour,
                    linewidth=2.2,
                    linestyles="dashed",
                    zorder=2,
                )
            ax.set_xticks(xs, ["today", *map(str, years)])
            ax.set_xlim(-0.5, len(years) + 0.5)
            ax.set_title(
                _label(short(str(part["name"].iloc[0])), 40 if columns == 1 else 38), loc="left"
            )
            ax.set_ylabel(_label(f"{part['unit'].iloc[0]}s a year", 30))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.6g}"))
            ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
        for n in range(len(floored), rows * columns):
            axes[n // columns][n % columns].set_visible(False)
        handles = [
            Line2D([], [], color="#08519c", marker="o", label="level"),
            Line2D([], [], color="#7f7f7f", linestyle="dashed", linewidth=2.2, label="floor"),
            Line2D(
                [],
                [],
                color=LIMIT_COLOUR,
                linestyle="dashed",
                linewidth=2.2,
                label="floor that binds",
            ),
        ]
        fig.legend(handles=handles, loc="outside upper left", ncols=3)
        return _svg(fig, "outcomes", title)


def frontier_chart(points: pd.DataFrame, currency: str, health_unit: str, title: str) -> str:
    """Health gain against envelope: one point per envelope scale with a plan, the breakpoints
    (where the mix of services changes) marked, the plan itself (scale 1) starred and scales
    without a plan crossed on the axis."""
    ok = points[points["status"] == "optimal"].sort_values("scale")
    failed = points[points["status"] != "optimal"].sort_values("scale")
    with matplotlib.rc_context(_style("frontier")):
        fig = Figure(figsize=(FIGURE_WIDTH, 3.6))
        fig.set_layout_engine("constrained")
        ax = fig.add_subplot()
        xs = [float(v) for v in ok["envelope"]]
        ys = [float(v) for v in ok["health_gain"]]
        ax.plot(
            xs, ys, color="#08519c", marker="o", markersize=3.5, linewidth=1.6, label="health gain"
        )
        breaks = ok[ok["breakpoint"].astype(bool)]
        if len(breaks):
            ax.scatter(
                breaks["envelope"].astype(float),
                breaks["health_gain"].astype(float),
                marker="D",
                s=36,
                color="#ff7f0e",
                zorder=4,
                label="mix changes (breakpoint)",
            )
            for row in _records(breaks) if len(breaks) <= LIST_LIMIT + 1 else []:  # legible
                ax.annotate(
                    percent(float(row["scale"])),
                    (float(row["envelope"]), float(row["health_gain"])),
                    textcoords="offset points",
                    xytext=(4, -11),
                    fontsize=8,
                )
        here = ok[(ok["scale"] - 1.0).abs() < 1e-9]
        if len(here):
            ax.scatter(
                here["envelope"].astype(float),
                here["health_gain"].astype(float),
                marker="*",
                s=140,
                color=LIMIT_COLOUR,
                zorder=5,
                label="this plan",
            )
        if len(failed):
            bottom = min(ys) if ys else 0.0
            ax.scatter(
                failed["envelope"].astype(float),
                [bottom] * len(failed),
                marker="x",
                color="#7f7f7f",
                zorder=4,
                label="no plan",
            )
        _money_axis(ax.xaxis, currency)
        ax.set_xlabel("envelope")
        ax.set_ylabel(f"{health_unit} (discounted)".replace("$", r"\$"))
        ax.grid(color="#e0e0e0", linewidth=0.6)
        ax.legend(loc="lower right")
        return _svg(fig, "frontier", title)


def health_histogram(draws: pd.DataFrame, deterministic: float, unit: str, title: str) -> str:
    """Histogram of the discounted health gain across the draws: the plan held fixed (bars) and,
    where each draw was solved again, the draws' own best plans (outline); the deterministic
    plan as a red line."""
    fixed = draws[(draws["analysis"] == "plan") & (draws["measure"] == "health_gain")]["value"]
    best = draws[(draws["analysis"] == "reoptimised") & (draws["measure"] == "health_gain")]
    values = [float(v) for v in fixed]
    again = [float(v) for v in best["value"]]
    edges = [
        float(e)
        for e in np.histogram_bin_edges(values + again, bins=max(5, min(30, len(values) // 8)))
    ]
    with matplotlib.rc_context(_style("health")):
        fig = Figure(figsize=(FIGURE_WIDTH, 3.2))
        fig.set_layout_engine("constrained")
        ax = fig.add_subplot()
        ax.hist(values, bins=edges, color=PLAN_COLOURS[2], label="the plan, held fixed")
        if again:
            ax.hist(again, bins=edges, histtype="step", color="#ff7f0e", linewidth=1.6,
                    label="each draw's own best plan (draws with one)")  # fmt: skip
        ax.axvline(deterministic, color=LIMIT_COLOUR, linewidth=1.6, label="deterministic plan")
        ax.set_xlabel(f"{unit} (discounted)".replace("$", r"\$"))
        ax.set_ylabel("draws")
        ax.grid(axis="y", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(loc="upper left", bbox_to_anchor=(0, 1.0))
        return _svg(fig, "health", title)


def floor_chance_chart(floors: pd.DataFrame, title: str) -> str:
    """Horizontal bars: the share of draws in which the plan, held fixed, meets each floor in
    each year it applies (red below one half)."""
    labels = [_label(f"{r['floor']} {r['year']}", 30, 1) for r in _records(floors)]
    chances = [100 * float(r["p_met"]) for r in _records(floors)]
    with matplotlib.rc_context(_style("chance")):
        fig = Figure(figsize=(FIGURE_WIDTH, 1.0 + 0.26 * len(labels)))
        fig.set_layout_engine("constrained")
        ax = fig.add_subplot()
        colours = [LIMIT_COLOUR if c < 50 else PLAN_COLOURS[3] for c in chances]
        ax.barh(range(len(labels)), chances, color=colours, height=0.7)
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
        ax.set_xlabel("share of draws in which the floor is met")
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        return _svg(fig, "chance", title)


def uncertainty_section(f: _Facts, result: UncertaintyResult | None, charts: int) -> list[Block]:
    """How sure the plan is: the health gain's distribution and each floor's chance of being
    met under the draws, and (re-optimised) how often a plan exists and the choices hold.
    Nothing without a result, except a note where the instance has uncertain numbers."""
    if result is None:
        if f.instance.uncertainty is None or not f.instance.uncertainty.parameters:
            return []
        return [
            Heading(2, "How sure is the plan: uncertainty", "uncertainty"),
            Paragraph(
                "The instance gives some of its numbers a distribution; planner report --draws "
                "200 adds the plan's health gain and floors under draws of them "
                "(docs/uncertainty.md)."
            ),
        ]
    s = result.summary
    unit = str(s["health_unit"])
    (health,) = [
        r
        for r in _records(result.distributions)
        if (r["analysis"], r["measure"]) == ("plan", "health_gain_discounted")
    ]

    def share(value: Any) -> str:
        return "" if value == "" or missing(value) else f"{100 * float(value):.0f}%"

    text = (
        f"{s['draws']} draws of the {s['parameters']} uncertain numbers below (seed "
        f"{s['seed']}; planner uncertainty writes every table, docs/uncertainty.md the rules). "
        "Held fixed, "
        f"the plan buys {figure(float(health['mean']))} {unit} on average (90% of draws between "
        f"{figure(float(health['p5']))} and {figure(float(health['p95']))}) against "
        f"{figure(float(health['deterministic']))} at the point values. It meets every floor in "
        f"{share(s['p_all_floors_met'])} of draws, every partner's limit in "
        f"{share(s['p_all_limits_met'])} and the envelope in {share(s['p_envelope_met'])}."
    )
    if s["reoptimised"]:
        text += (
            f" Solved again for each draw, a plan exists in {s['reoptimised_optimal']} of "
            f"{s['draws']} draws"
            + (
                f", and every make-or-buy choice is the plan's in {share(s['p_same_choices'])} "
                "of those"
                if s["p_same_choices"] != ""
                else ""
            )
            + "."
        )
    blocks: list[Block] = [
        Heading(2, "How sure is the plan: uncertainty", "uncertainty"),
        Paragraph(text),
    ]
    title = f"Health gain across the draws ({unit}, discounted)"
    rows = [
        [
            "the plan, held fixed" if r["analysis"] == "plan" else "each draw's best plan",
            str(r["measure"]).replace("_", " "),
            *(figure(float(r[c])) if not missing(r[c]) else "" for c in
              ("deterministic", "mean", "p5", "p50", "p95")),
        ]
        for r in _records(result.distributions)
        if r["measure"] == "health_gain_discounted"
    ]  # fmt: skip
    data = Table(
        ["analysis", "measure", "deterministic", "mean", "5%", "median", "95%"],
        rows,
        ["left", "left", "right", "right", "right", "right", "right"],
    )
    svg = health_histogram(result.draws, float(health["deterministic"]), unit, title)
    blocks.append(Chart(charts + 1, title, svg, data))
    if len(result.floors):
        title = "The chance that the plan meets each floor"
        rows = [
            [
                str(r["floor"]),
                str(r["year"]),
                f"{'≤' if r['bound_type'] == 'upper' else '≥'} {count(float(r['bound']))}",
                count(float(r["plan_level"])),
                share(r["p_met"]),
                f"{count(float(r['level_p5']))} to {count(float(r['level_p95']))}",
            ]
            for r in _records(result.floors)
        ]
        data = Table(
            ["floor", "year", "bound", "plan", "met in", "level, 5% to 95%"],
            rows,
            ["left", "right", "right", "right", "right", "right"],
        )
        blocks.append(Chart(charts + 2, title, floor_chance_chart(result.floors, title), data))
    rows = []
    for r in _records(result.parameters):
        kind = str(r["distribution"]) + (" (multiple of the value)" if r["relative"] else "")
        if r["distribution"] in ("range", "triangular"):
            numbers = f"{figure(float(r['low']))} to {figure(float(r['high']))}"
        elif not missing(r["sigma"]):
            numbers = f"sigma {figure(float(r['sigma']))}"
        else:
            numbers = f"se {figure(float(r['se']))}"
        rows.append([str(r["parameter"]), str(r["fields"]), kind, numbers, str(r["source"])])
    blocks.append(
        Table(
            ["parameter", "fields", "distribution", "numbers", "source"],
            rows,
            ["left", "left", "left", "right", "left"],
            "The uncertain numbers and their distributions",
        )
    )
    return blocks


# --- the report ------------------------------------------------------------------------------


def build_report(
    plan: Plan,
    instance: Instance,
    inputs: Sequence[Path] = (),
    frontier: pd.DataFrame | None = None,
    frontier_note: str = "",
    uncertainty: UncertaintyResult | None = None,
) -> Report:
    """The report of a plan: findings, today, what it buys, the plan with its charts, the
    tables, and the assumptions and sources. `frontier` is Frontier.points of
    planner.sensitivity.envelope_frontier; without it the frontier is left out and
    `frontier_note` says why. `uncertainty` (planner.uncertainty.analyse of the same plan) adds
    a section with the health gain's distribution and each floor's chance of being met."""
    f = _facts(plan, instance)
    s = plan.summary
    title = str(s["title"]) + (f" — scenario {s['scenario']}" if s["scenario"] else "")
    found = findings(plan, instance, frontier)
    blocks: list[Block] = [Heading(1, title)]
    if warning := not_proven_optimal(s):
        blocks.append(Paragraph(warning, warning=True))
    blocks += _provenance(f, inputs)
    blocks += [Heading(2, "Findings", "findings"), Bullets(found)]
    blocks += _today_section(f)
    blocks += _buys_section(f)
    blocks += _plan_section(f, frontier, frontier_note)
    blocks += uncertainty_section(f, uncertainty, sum(isinstance(b, Chart) for b in blocks))
    blocks += _tables_section(f)
    blocks += _sources_section(f)
    return Report(title=title, findings=found, blocks=blocks)


def _provenance(f: _Facts, inputs: Sequence[Path]) -> list[Block]:
    s = f.plan.summary
    instance = f.instance
    problem = f"MILP with {s['yes_no_choices']} yes/no choices" if s["problem"] == "MILP" else "LP"
    rows = [
        ["instance", str(s["instance"])],
        ["scenario", str(s["scenario"]) or "none (the instance as written)"],
        ["plan years", f.span],
        ["objective", f"{s['objective_words']} ({s['objective_kind']})"],
        ["solver", str(s["solver"])],
        ["status", str(s["status"])],
        ["proven optimal", "yes" if s.get("proven_optimal", True) else "NO"],
        ["problem", problem],
        ["prices from", str(s["prices_from"])],
    ]
    for path in inputs:
        rows.append(["input", f"{Path(path).name} (sha256 {_digest(Path(path))})"])
    rows.append(["planner version", planner.__version__])
    blocks: list[Block] = []
    if instance.description:
        blocks.append(Paragraph(instance.description))
    if s["scenario"]:
        described = instance.scenarios.get(str(s["scenario"]), {}).get("description")
        if described:
            blocks.append(Paragraph(f"Scenario {s['scenario']}: {described}"))
    blocks.append(Table(["what", "value"], rows, ["left", "left"], "Provenance"))
    blocks.append(
        Paragraph(
            "No date is recorded: the same inputs, solver and planner version give the same "
            "report, byte for byte. The input files are named with the first 12 hex digits of "
            "their SHA-256, so a reader can check which versions were used."
        )
    )
    return blocks


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return "unreadable"


def _today_section(f: _Facts) -> list[Block]:
    lines = today_spend(f.plan, f.instance)
    total = float(lines["spend"].sum())
    rows = [
        [
            str(r["name"]),
            str(r["kind"]),
            str(r["paid_to"]),
            f.money(float(r["spend"])),
            f"{float(r['spend']) / total:.1%}" if total else "",
        ]
        for r in _records(lines)
    ]
    rows.append(["total", "", "", f.money(total), "100.0%" if total else ""])
    partner_rows = [
        [
            str(r["name"]),
            f.money(float(r["baseline_income"])),
            f.money(float(r["baseline_external_cost"])),
            f.money(r["max_loss"]) if not missing(r["max_loss"]) else "none",
        ]
        for r in _records(f.plan.partners.drop_duplicates("partner"))
    ]
    blocks: list[Block] = [
        Heading(2, "Where the money goes today", "today"),
        Paragraph(
            "Spend in the baseline year: each intervention at today's units and price, and each "
            "paid outcome (activity paid by tariff out of the envelope) at its baseline level."
        ),
        Table(
            ["line", "kind", "paid to today", "spend a year", "share"],
            rows,
            ["left", "left", "left", "right", "right"],
            "Spend today, by intervention and paid activity",
        ),
    ]
    if partner_rows:
        blocks.append(
            Table(
                ["partner", "income today", "costs outside the envelope", "loss limit a year"],
                partner_rows,
                ["left", "right", "right", "right"],
                "Each partner's pathway income today and its risk limit",
            )
        )
    return blocks


def _buys_section(f: _Facts) -> list[Block]:
    levels = _levels(f.plan.outcomes)
    outcomes = f.plan.outcomes
    rows = []
    for oid, group in levels.groupby("outcome", sort=False):
        by_year = dict(zip(group["year"], group["level"], strict=True))
        floors = outcomes[(outcomes["outcome"] == oid) & (outcomes["floor"].fillna("") != "")]
        words = []
        for _, rows_of_floor in floors.groupby("floor", sort=False):
            first = rows_of_floor.iloc[0]
            bound = "at most" if first["bound_type"] == "upper" else "at least"
            years = years_text(int(y) for y in rows_of_floor["year"])
            words.append(f"{bound} {count(float(first['bound']))} ({years})")
        floor_words = "; ".join(words)
        rows.append(
            [
                str(group["name"].iloc[0]),
                str(group["unit"].iloc[0]),
                count(float(group["baseline"].iloc[0])),
                *(count(float(by_year[y])) if y in by_year else "" for y in f.years),
                floor_words,
            ]
        )
    if not rows:
        return []
    return [
        Heading(2, "What it buys", "outcomes"),
        Paragraph(
            "Each outcome's level a year today and under the plan, against the floors the "
            "commissioners set."
        ),
        Table(
            ["outcome", "unit", "today", *map(str, f.years), "floor"],
            rows,
            ["left", "left", "right", *_right(len(f.years)), "left"],
            "Outcomes against floors",
        ),
    ]


def _plan_section(f: _Facts, frontier: pd.DataFrame | None, note: str) -> list[Block]:
    s = f.plan.summary
    objective = (
        f.money(s["objective"])
        if f.kind == "min_spend"
        else f"{figure(s['objective'])} {f.objective_unit}"
    )
    aim = (
        f"minimises {s['objective_words']} while meeting every floor"
        if f.kind == "min_spend"
        else f"maximises {s['objective_words']}"
    )
    envelope = (
        "" if s["total_envelope"] == "" else f" of the {f.money(s['total_envelope'])} envelope"
    )
    blocks: list[Block] = [
        Heading(2, "Is there a better way: the plan", "plan"),
        Paragraph(
            f"The plan {aim}: {objective} {f.over}, spending {f.money(s['total_spend'])}"
            f"{envelope}. The findings above are read from the tables below; the charts show "
            "the plan against today."
        ),
    ]
    number = 0

    def chart(title: str, svg: str, data: Table) -> Chart:
        nonlocal number
        number += 1
        return Chart(number, title, svg, data)

    alloc = f.plan.allocation
    title = "Spend a year by intervention: today against each plan year"
    blocks.append(chart(title, spend_chart(alloc, f.currency, title), _spend_data(f)))
    if len(f.plan.partners):
        title = "Each partner's change against today, with its loss limit"
        blocks.append(
            chart(title, partner_chart(f.plan.partners, f.currency, title), _partner_data(f))
        )
    if (f.plan.outcomes["floor"].fillna("") != "").any():
        title = "Outcomes against floors, year by year"
        blocks.append(chart(title, outcome_chart(f.plan.outcomes, title), _outcome_data(f)))
    if frontier is not None and len(frontier):
        title = "Envelope frontier: health gain against envelope"
        blocks.append(
            chart(
                title,
                frontier_chart(frontier, f.currency, f.health_unit, title),
                _frontier_data(f, frontier),
            )
        )
    else:
        blocks.append(Paragraph(f"The envelope frontier is not shown: {note or 'not computed'}."))
    return blocks


def _spend_data(f: _Facts) -> Table:
    alloc = f.plan.allocation
    rows = []
    for _, group in alloc.groupby("intervention", sort=False):
        by_year = dict(zip(group["year"], group["spend"], strict=True))
        last = float(group[group["year"] == f.last]["change_spend"].sum())
        rows.append(
            [
                str(group["name"].iloc[0]),
                f.money(float(group["baseline_spend"].iloc[0])),
                *(f.money(float(by_year[y])) if y in by_year else "" for y in f.years),
                signed_money(last, f.currency),
            ]
        )
    return Table(
        ["intervention", "today", *map(str, f.years), f"change in {f.last}"],
        rows,
        ["left", *_right(len(f.years) + 2)],
    )


def _partner_data(f: _Facts) -> Table:
    rows = []
    for _, group in f.plan.partners.groupby("partner", sort=False):
        by_year = dict(zip(group["year"], group["net_change"], strict=True))
        limit = group["max_loss"].iloc[0]
        headroom = [float(h) for h in group["headroom"] if not missing(h)]
        rows.append(
            [
                str(group["name"].iloc[0]),
                *(
                    signed_money(float(by_year[y]), f.currency) if y in by_year else ""
                    for y in f.years
                ),
                f.money(float(limit)) if not missing(limit) else "none",
                f.money(min(headroom)) if headroom else "",
            ]
        )
    return Table(
        ["partner", *map(str, f.years), "loss limit a year", "least headroom"],
        rows,
        ["left", *_right(len(f.years) + 2)],
    )


def _outcome_data(f: _Facts) -> Table:
    outcomes = f.plan.outcomes
    rows = []
    for row in _records(outcomes[outcomes["floor"].fillna("") != ""]):
        rows.append(
            [
                str(row["name"]),
                str(row["floor"]),
                str(row["year"]),
                count(float(row["level"])),
                f"{'≤' if row['bound_type'] == 'upper' else '≥'} {count(float(row['bound']))}",
                count(float(row["slack"])),
                "yes" if bool(row["binding"]) else "",
            ]
        )
    return Table(
        ["outcome", "floor", "year", "level", "bound", "slack", "binds"],
        rows,
        ["left", "left", "right", "right", "right", "right", "left"],
    )


def _frontier_data(f: _Facts, points: pd.DataFrame) -> Table:
    rows = []
    for row in _records(points.sort_values("scale")):
        ok = row["status"] == "optimal"
        rows.append(
            [
                percent(float(row["scale"])),
                f.money(float(row["envelope"])),
                figure(float(row["health_gain"])) if ok else "",
                f.money(float(row["spend"])) if ok else "",
                str(row["status"]),
                "yes" if ok and bool(row["breakpoint"]) else "",
            ]
        )
    return Table(
        ["scale", "envelope", f"health gain ({f.health_unit})", "spend", "status", "breakpoint"],
        rows,
        ["right", "right", "right", "right", "left", "left"],
    )


def _tables_section(f: _Facts) -> list[Block]:
    plan = f.plan
    m = f.money
    blocks: list[Block] = [
        Heading(2, "Tables", "tables"),
        Paragraph(
            "The plan's tables, as planner solve writes them (docs/results.md gives every "
            "column); money in a year, health gain undiscounted."
        ),
    ]
    blocks.append(
        _frame_table(
            plan.allocation,
            "Allocation: units and spend by intervention and year",
            [
                ("intervention", "intervention", str, "left"),
                ("year", "year", str, "right"),
                ("unit", "unit", str, "left"),
                ("units", "units", count, "right"),
                ("today", "baseline_units", count, "right"),
                ("unit cost", "unit_cost", lambda v: pence(v, f.currency), "right"),
                ("spend", "spend", m, "right"),
                ("spend today", "baseline_spend", m, "right"),
                ("change", "change_spend", lambda v: signed_money(v, f.currency), "right"),
                (f"health gain ({f.health_unit})", "health_gain", figure, "right"),
                ("delivered by", "delivered_by", str, "left"),
            ],
        )
    )
    blocks.append(
        _frame_table(
            plan.outcomes,
            "Outcomes: level against each floor",
            [
                ("outcome", "outcome", str, "left"),
                ("year", "year", str, "right"),
                ("level", "level", count, "right"),
                ("today", "baseline", count, "right"),
                ("change", "change", count, "right"),
                ("floor", "floor", _text, "left"),
                ("bound", "bound", count, "right"),
                ("slack", "slack", count, "right"),
                ("binds", "binding", _yes, "left"),
            ],
        )
    )
    if len(plan.partners):
        blocks.append(
            _frame_table(
                plan.partners,
                "Partners: income against baseline and risk limit",
                [
                    ("partner", "partner", str, "left"),
                    ("year", "year", str, "right"),
                    ("income", "income", m, "right"),
                    ("income today", "baseline_income", m, "right"),
                    ("change", "income_change", lambda v: signed_money(v, f.currency), "right"),
                    ("net change", "net_change", lambda v: signed_money(v, f.currency), "right"),
                    ("loss limit", "max_loss", m, "right"),
                    ("headroom", "headroom", m, "right"),
                    ("at limit", "binding", _yes, "left"),
                ],
            )
        )
    sp = plan.shadow_prices
    priced = sp[sp["binding"].astype(bool)]
    blocks.append(
        _frame_table(
            priced,
            "Shadow prices: what relaxing each binding rule is worth",
            [
                ("family", "family", str, "left"),
                ("subject", "subject", str, "left"),
                ("year", "year", str, "right"),
                ("relaxed by", "per", None, "right"),
                ("worth", "value_of_relaxing", f.worth, "right"),
                ("in words", "explanation", str, "left"),
            ],
            per_unit=f.currency,
        )
    )
    blocks.append(
        Paragraph(
            f"{len(sp) - len(priced)} other rules have no price (relaxing them alone would not "
            "improve the plan); planner solve writes every rule to shadow_prices.csv. "
            + (
                f"Prices come from {plan.summary['prices_from']}."
                if plan.summary["problem"] == "MILP"
                else ""
            )
        )
    )
    if len(plan.reduced_costs):
        blocks.append(
            _frame_table(
                plan.reduced_costs,
                "Unfunded interventions: what it would take to enter",
                [
                    ("intervention", "intervention", str, "left"),
                    ("year", "year", str, "right"),
                    ("improvement needed", "improvement_needed_per_unit", figure, "right"),
                    ("unit", "improvement_unit", str, "left"),
                    ("in words", "explanation", str, "left"),
                ],
            )
        )
    if len(plan.supply):
        blocks.append(
            _frame_table(
                plan.supply,
                "Make or buy: every supply option in every year",
                [
                    ("intervention", "intervention", str, "left"),
                    ("option", "option", str, "left"),
                    ("provider", "provider", str, "left"),
                    ("mode", "mode", str, "left"),
                    ("year", "year", str, "right"),
                    ("on offer", "available", _yes, "left"),
                    ("chosen", "chosen", _yes, "left"),
                    ("units", "units", count, "right"),
                    ("unit price", "unit_price", lambda v: pence(v, f.currency), "right"),
                    ("fixed", "fixed_cost", m, "right"),
                    ("set-up", "setup_cost", m, "right"),
                    ("cost", "cost", m, "right"),
                ],
            )
        )
    if len(plan.shared_services):
        blocks.append(
            _frame_table(
                plan.shared_services,
                "Shared services",
                [
                    ("service", "service", str, "left"),
                    ("host", "provider", str, "left"),
                    ("year", "year", str, "right"),
                    ("open", "open", _yes, "left"),
                    ("units", "units", count, "right"),
                    ("cost", "cost", m, "right"),
                    ("used by", "users", str, "left"),
                ],
            )
        )
    return blocks


def percent(scale: float) -> str:
    """A share as a percentage: whole where it is (85%), else to one decimal (87.3%)."""
    value = scale * 100
    return f"{value:.0f}%" if abs(value - round(value)) < 0.05 else f"{value:.1f}%"


def _right(columns: int) -> list[Align]:
    return ["right"] * columns


def _text(value: Any) -> str:
    return "" if missing(value) else str(value)


def _yes(value: Any) -> str:
    return "yes" if bool(value) and not missing(value) else ""


Column = tuple[str, str, Callable[[Any], str] | None, Align]


def _frame_table(
    frame: pd.DataFrame, caption: str, columns: list[Column], per_unit: str = ""
) -> Table:
    rows = []
    for record in _records(frame):
        row = []
        for _, key, format_, _align in columns:
            value = record[key]
            if format_ is None:  # the `per` step of a price: money rows per £100,000
                money_row = record.get("unit") == CURRENCY_SYMBOL.get(per_unit, "")
                row.append(money(value, per_unit) if money_row else f"1 {record.get('unit')}")
            elif missing(value):
                row.append("")
            else:
                row.append(format_(value))
        rows.append(row)
    return Table([c[0] for c in columns], rows, [c[3] for c in columns], caption)


def _sources_section(f: _Facts) -> list[Block]:
    instance = f.instance
    notes = evidence_notes(instance)
    said = [n for n in notes if n[3]]
    blocks: list[Block] = [Heading(2, "Assumptions and sources", "sources")]
    blocks.append(
        Paragraph(
            f"What is listed here is what planner can read: the source note of each "
            f"intervention, supply option, shared service, outcome and resource, and the source "
            f"lists of the pathway model and the instance. {len(said)} of the {len(notes)} "
            f"source notes say ASSUMPTION (a figure with no source, a placeholder for local "
            f"commissioners to replace); {_unsourced(instance)}. Figures marked ASSUMPTION only "
            f"in the comments of the input files (baseline activity, capacities, risk limits, "
            f"floors, the envelope) cannot be read by planner and are not listed: read the input "
            f"files for those."
        )
    )
    if notes:
        blocks.append(
            Table(
                ["item", "kind", "source", "says ASSUMPTION"],
                [[n[0], n[1], n[2], "yes" if n[3] else ""] for n in notes],
                ["left", "left", "left", "left"],
                "Source notes of the evidence",
            )
        )
    for heading, sources in (
        ("Sources of the pathway model", instance.pathway.sources),
        ("Sources of the local figures", instance.sources),
    ):
        items = _source_list(sources)
        if items:
            blocks += [Heading(3, heading), Bullets(items)]
    return blocks


def evidence_notes(instance: Instance) -> list[tuple[str, str, str, bool]]:
    """Every `source` note in the instance: (item, kind, note, whether it says ASSUMPTION)."""
    notes: list[tuple[str, str, str, bool]] = []

    def add(item: str, kind: str, note: str | None) -> None:
        if note:
            text = " ".join(note.split())
            notes.append((item, kind, text, "ASSUMPTION" in text.upper()))

    for iid, item in instance.interventions.items():
        add(iid, "intervention", item.source)
        if item.supply is not None:
            for oid, option in item.supply.options.items():
                add(f"{iid}.{oid}", "supply option", option.source)
    for sid, service in instance.shared_services.items():
        add(sid, "shared service", service.source)
    for oid, outcome in instance.outcomes.items():
        add(oid, "outcome", outcome.source)
    for rid, resource in instance.resources.items():
        add(rid, "resource", resource.source)
    return notes


def _unsourced(instance: Instance) -> str:
    bare = [i for i, item in instance.interventions.items() if not item.source]
    bare += [o for o, outcome in instance.outcomes.items() if not outcome.source]
    total = len(instance.interventions) + len(instance.outcomes)
    if not bare:
        return "every intervention and outcome has a source note"
    return (
        f"{len(bare)} of the {total} interventions and outcomes have no source note "
        f"({join_words(_more(bare, 'others'))})"
    )


def _source_list(sources: list[str] | dict[str, str] | None) -> list[str]:
    if not sources:
        return []
    if isinstance(sources, dict):
        return [f"{key}: {value}" for key, value in sources.items()]
    return [str(s) for s in sources]


# --- rendering -------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:#1a1a1a;line-height:1.45;margin:0;background:#fff}
main{max-width:64rem;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin-top:2.2rem;
border-bottom:1px solid #ccc;padding-bottom:.2rem}h3{font-size:1.05rem;margin-top:1.4rem}
nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;font-size:.9rem}
ul.findings li{margin:.35rem 0}
p.warning{border:2px solid #b00020;color:#b00020;padding:.6rem .8rem}
.scroll{overflow-x:auto;margin:.8rem 0}
table{border-collapse:collapse;font-size:.82rem}
caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{padding:.2rem .55rem;border-bottom:1px solid #e3e3e3;vertical-align:top}
th{background:#f3f5f7;text-align:left}
.r{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.4rem}
figure svg{max-width:100%;height:auto}
details{margin-top:.4rem;font-size:.9rem}
@media print{details{display:none}a{color:inherit}}
""".strip()
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def render_html(report: Report) -> str:
    """One HTML page: inline CSS, inline SVG, a content security policy that loads nothing."""
    out = [
        "<!DOCTYPE html>",
        MARK,
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="planner {_e(planner.__version__)}">',
        f"<title>{_e(report.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
    ]
    sections = [b for b in report.blocks if isinstance(b, Heading) and b.level == 2 and b.anchor]
    for block in report.blocks:
        if isinstance(block, Heading):
            anchor = f' id="{_e(block.anchor)}"' if block.anchor else ""
            out.append(f"<h{block.level}{anchor}>{_e(block.text)}</h{block.level}>")
            if block.level == 1 and sections:
                links = "".join(
                    f'<li><a href="#{_e(h.anchor)}">{_e(h.text)}</a></li>' for h in sections
                )
                out.append(f"<nav><ul>{links}</ul></nav>")
        elif isinstance(block, Paragraph):
            css = ' class="warning"' if block.warning else ""
            text = f"<strong>{_e(block.text)}</strong>" if block.warning else _e(block.text)
            out.append(f"<p{css}>{text}</p>")
        elif isinstance(block, Bullets):
            items = "\n".join(f"<li>{_e(item)}</li>" for item in block.items)
            css = ' class="findings"' if block.items is report.findings else ""
            out.append(f"<ul{css}>\n{items}\n</ul>")
        elif isinstance(block, Table):
            out.append(_html_table(block))
        else:
            out.append(
                f'<figure id="figure-{block.number}">\n'
                f"<figcaption>Figure {block.number}. {_e(block.title)}</figcaption>\n"
                f"{block.svg}"
                f"<details><summary>The numbers behind figure {block.number}</summary>\n"
                f"{_html_table(block.data)}\n</details>\n</figure>"
            )
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)


def _html_table(table: Table) -> str:
    def cell(tag: str, text: str, align: Align) -> str:
        css = ' class="r"' if align == "right" else ""
        scope = ' scope="col"' if tag == "th" else ""
        return f"<{tag}{scope}{css}>{_e(text)}</{tag}>"

    head = "".join(cell("th", c, a) for c, a in zip(table.columns, table.align, strict=True))
    body = "\n".join(
        "<tr>" + "".join(cell("td", v, a) for v, a in zip(row, table.align, strict=True)) + "</tr>"
        for row in table.rows
    )
    caption = f"<caption>{_e(table.caption)}</caption>" if table.caption else ""
    return (
        f'<div class="scroll"><table>{caption}\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table></div>"
    )


_MD_SPECIAL = re.compile(r"([\\`*\[\]])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_MD_LEADING = re.compile(r"^(\s*)([#>+=-]|\d+(?=[.)]))")


def md_escape(text: str, cell: bool = False) -> str:
    """Text that Markdown shows as written: backslash, backtick, `*`, brackets and word-edge
    underscores escaped; `<`, `>` and entity-like `&` as HTML entities (so no tag or link from
    the input is ever rendered); a leading `#`, `>`, `+`, `=`, `-` or `1.` escaped; in a table
    cell, `|` escaped and line breaks made spaces."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    text = _MD_ENTITY.sub("&amp;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    if cell:
        text = " ".join(text.split()).replace("|", r"\|")
    else:
        text = _MD_LEADING.sub(_escape_leading, text)
    return text


def _escape_leading(match: re.Match[str]) -> str:
    """`# x` -> `\\# x`; `1. x` -> `1\\. x` (the digits stay, the dot is escaped)."""
    space, lead = match.group(1), match.group(2)
    if lead[0].isdigit():
        return f"{space}{lead}\\"
    return f"{space}\\{lead}"


def render_markdown(report: Report) -> str:
    """The report as Markdown: headings, bullets, pipe tables; charts as their numbers."""
    out = [MARK, ""]
    for block in report.blocks:
        if isinstance(block, Heading):
            out += ["#" * block.level + " " + md_escape(block.text), ""]
        elif isinstance(block, Paragraph):
            text = md_escape(block.text)
            out += [f"> **{text}**" if block.warning else text, ""]
        elif isinstance(block, Bullets):
            out += [*(f"- {md_escape(item)}" for item in block.items), ""]
        elif isinstance(block, Table):
            out += [*_md_table(block), ""]
        else:
            out += [
                f"**Figure {block.number}. {md_escape(block.title)}.** The chart is in the HTML "
                "report; these are its numbers.",
                "",
                *_md_table(block.data),
                "",
            ]
    return "\n".join(out).rstrip("\n") + "\n"


def _md_table(table: Table) -> list[str]:
    lines = [f"**{md_escape(table.caption)}**", ""] if table.caption else []
    header = [md_escape(c, cell=True) or " " for c in table.columns]
    rule = ["---:" if a == "right" else "---" for a in table.align]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("| " + " | ".join(rule) + " |")
    for row in table.rows:
        lines.append("| " + " | ".join(md_escape(v, cell=True) for v in row) + " |")
    return lines


# --- writing ---------------------------------------------------------------------------------


def report_paths(out: str | Path, inputs: Iterable[Path] = ()) -> tuple[Path, Path]:
    """The HTML file and the Markdown file beside it (same name, .md), refused with
    OutputError when either would land on an input, on a folder, or on an existing file that
    planner did not write; the HTML file must end in .html or .htm."""
    target = Path(out).resolve()
    if target.suffix.lower() not in (".html", ".htm"):
        raise OutputError(
            f"{display_path(target)}: the report's --out must name an .html file (the Markdown "
            "version is written beside it with .md); nothing was written"
        )
    markdown = target.with_suffix(".md")
    sources = {Path(p).resolve() for p in inputs}
    for path in (target, markdown):
        if path in sources:
            raise OutputError(
                f"refusing to write the report over the input {display_path(path)}; choose "
                "another --out file (nothing was written)"
            )
        if path.is_dir():
            raise OutputError(
                f"{display_path(path)} is a folder; give --out a file name such as report.html "
                "(nothing was written)"
            )
        if path.exists() and not _written_by_planner(path):
            raise OutputError(
                f"{display_path(path)} already exists and planner did not write it; choose "
                "another --out file, or move that file away (nothing was written)"
            )
    return target, markdown


def _written_by_planner(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(200).decode("utf-8", errors="replace")
    except OSError:
        return False
    return MARK in head.splitlines()[:2]


def write_report(report: Report, out: str | Path, inputs: Iterable[Path] = ()) -> list[Path]:
    """Write the report as HTML at `out` and Markdown beside it, whole or not at all: both are
    written to temporary files first and then renamed into place, and if the second rename
    fails the first file is put back as it was. The two paths written."""
    target, markdown = report_paths(out, inputs)
    contents = [(markdown, report.markdown()), (target, report.html())]
    staged: list[tuple[Path, Path]] = []
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for path, text in contents:
            staged.append((_stage(path, text), path))
        _commit(staged)
    except OSError as exc:
        where = f" ({display_path(Path(exc.filename))})" if exc.filename else ""
        raise OutputError(
            f"cannot write the report to {display_path(target)}: {exc.strerror or exc}{where}; "
            "choose another --out file, or make its folder writable (nothing was written)"
        ) from None
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
    return [target, markdown]


def _stage(path: Path, text: str) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _commit(staged: list[tuple[Path, Path]]) -> None:
    """Rename each staged file over its target (each rename atomic); if one fails, restore the
    targets already replaced from their backups and re-raise."""
    done: list[tuple[Path, Path | None]] = []
    try:
        for temporary, target in staged:
            backup = _backup(target) if target.exists() else None
            done.append((target, backup))
            os.replace(temporary, target)
    except BaseException:
        for target, backup in reversed(done):
            if backup is not None:
                os.replace(backup, target)
            else:
                target.unlink(missing_ok=True)
        raise
    finally:
        for _, backup in done:
            if backup is not None:
                backup.unlink(missing_ok=True)


def _backup(target: Path) -> Path:
    """A hard link (or, where links are not allowed, a copy) of `target` beside it."""
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.old-", dir=target.parent)
    os.close(handle)
    backup = Path(name)
    backup.unlink()
    try:
        os.link(target, backup)
    except OSError:
        shutil.copy2(target, backup)
    return backup
