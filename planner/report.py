"""Report: a plan's tables for people (terminal) and for files (CSV and one Excel workbook).

Reads only the Plan's tables (planner.table.Table; the DataFrames of other commands are written
as Tables too, so every CSV file is written one way, without pandas). Files are written into a
temporary folder first and moved into place whole, so an output folder holds a complete set or
nothing new; a folder planner did not write is never replaced, and neither is one that holds an
input file.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import os
import shutil
import tempfile
from collections.abc import Container, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich import box
from rich import table as rich
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.style import StyleType
from rich.text import Text

from planner.errors import PlannerError, display_path
from planner.result import Plan, not_proven_optimal
from planner.schema import CURRENCY_SYMBOL
from planner.table import Kind, Table, missing
from planner.verify import summary_line

if TYPE_CHECKING:
    import pandas as pd

    from planner.compare import Comparison

MARKER = ".planner-output"
MONEY_COLUMNS = {
    "spend",
    "baseline_spend",
    "change_spend",
    "income",
    "baseline_income",
    "income_change",
    "external_cost",
    "baseline_external_cost",
    "net_change",
    "max_loss",
    "headroom",
    "fixed_cost",
    "setup_cost",
    "cost",
    "total_spend",
    "least_headroom",
    "worst_net_change",
    "unspent",
    "envelope",
    "expected_loss",  # planner risk: partners' losses over the draws
    "cvar",
    "worst_loss",
    "cvar_limit",
    "plan_spend",  # planner uncertainty: spend and partners' net change over the draws
    "spend_mean",
    "spend_sd",
    "spend_p5",
    "spend_p50",
    "spend_p95",
    "plan_net_change",
    "net_change_mean",
    "net_change_sd",
    "net_change_p5",
    "net_change_p50",
    "net_change_p95",
    "income_change_mean",
}
PRICE_COLUMNS = {"unit_cost", "unit_price", "break_even_price"}  # money to the penny
FIXED_DATE = dt.datetime(2000, 1, 1)  # workbook metadata date: the same bytes on every run
CSV_FLOAT = "%.10g"  # how a float column's values are written, in the CSV files and the workbook


class OutputError(PlannerError):
    """An output folder that cannot be written safely."""


# --- numbers as people read them -------------------------------------------------------------


def money(value: Any, currency: str = "GBP") -> str:
    """£1,234,567 (negative: -£1,234)."""
    if missing(value):
        return ""
    sign = "-" if value < 0 else ""
    return f"{sign}{CURRENCY_SYMBOL[currency]}{abs(value):,.0f}"


def pence(value: Any, currency: str = "GBP") -> str:
    """£12.34: a unit price."""
    if missing(value):
        return ""
    sign = "-" if value < 0 else ""
    return f"{sign}{CURRENCY_SYMBOL[currency]}{abs(value):,.2f}"


def number(value: Any, digits: int = 4) -> str:
    """Thousands separated, at most `digits` significant digits after large values are whole."""
    if value == "" or missing(value):
        return ""
    if isinstance(value, bool | str):
        return str(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:,.{digits}g}"


# --- terminal --------------------------------------------------------------------------------


def print_plan(plan: Plan, console: Console | None = None) -> None:
    """Readable tables: summary, allocation, outcomes against floors, partners, prices."""
    console = console or Console()
    s = plan.summary
    currency = s["currency"]
    title = f"{s['title']}" + (f" — scenario {s['scenario']}" if s["scenario"] else "")
    problem = f", MILP with {s['yes_no_choices']} yes/no choices" if s["problem"] == "MILP" else ""
    console.print(
        f"\n[bold]{escape(title)}[/bold]  ({s['first_year']}-{s['last_year']}, solver "
        f"{s['solver']}, {s['status']}{problem})",
        markup=True,
    )
    if warning := not_proven_optimal(s):
        console.print(
            f"[bold red]{escape(warning)}[/bold red]", soft_wrap=True, highlight=False, markup=True
        )
    objective = (
        money(s["objective"], currency)
        if s["objective_kind"] == "min_spend"
        else f"{number(s['objective'], 6)} {s['objective_unit']}"
    )
    console.print(
        f"Objective ({escape(s['objective_words'])}): [bold]{escape(objective)}[/bold]", markup=True
    )
    envelope = (
        f" of envelope {money(s['total_envelope'], currency)}" if s["total_envelope"] != "" else ""
    )
    console.print(f"Spend over the plan: {money(s['total_spend'], currency)}{envelope}")
    if s.get("verified"):
        console.print(summary_line(s), soft_wrap=True, highlight=False, markup=False)

    allocation = plan.data["allocation"]
    years = sorted(set(allocation.column("year")))
    table = terminal_table(
        "Allocation: units a year (baseline → plan)",
        ["intervention", "unit", "baseline", *map(str, years), f"spend {years[-1]}"],
    )
    by_intervention: dict[Any, list[dict[str, Any]]] = {}
    for r in allocation.records():
        by_intervention.setdefault(r["intervention"], []).append(r)
    for rows in by_intervention.values():
        first = rows[0]
        table.add_row(
            str(first["intervention"]),
            str(first["unit"]),
            number(first["baseline_units"]),
            *(number(r["units"]) for r in rows),
            money(rows[-1]["spend"], currency),
        )
    console.print(table)

    floors = [r for r in plan.data["outcomes"].records() if r["floor"] != ""]
    if floors:
        table = terminal_table(
            "Outcomes against floors", ["floor", "year", "level", "bound", "slack", "binding"]
        )
        for r in floors:
            sign = "≤" if r["bound_type"] == "upper" else "≥"
            table.add_row(
                str(r["floor"]),
                str(r["year"]),
                number(r["level"]),
                f"{sign} {number(r['bound'])}",
                number(r["slack"]),
                bold("yes") if r["binding"] else "",
            )
        console.print(table)

    partners = plan.data["partners"]
    if len(partners):
        table = terminal_table(
            "Partners: income against baseline and risk limit",
            ["partner", "year", "income", "change", "net change", "max loss", "binding"],
        )
        for r in partners.records():
            table.add_row(
                str(r["partner"]),
                str(r["year"]),
                money(r["income"], currency),
                money(r["income_change"], currency),
                money(r["net_change"], currency),
                money(r["max_loss"], currency),
                bold("yes") if r["binding"] else "",
            )
        console.print(table)

    _print_supply(plan, console, currency)
    priced = list(plan.data["shadow_prices"].records(where="binding"))
    if priced:
        table = terminal_table(
            "Shadow prices: what relaxing each binding rule is worth",
            ["rule", "subject", "year", "relaxed by", "worth"],
        )
        for r in priced:
            step = money(r["per"], currency) if r["per"] != 1 else f"1 {r['unit']}"
            table.add_row(str(r["family"]), str(r["subject"]), str(r["year"]), step,
                          f"{number(r['value_of_relaxing'])} {r['objective_unit']}")  # fmt: skip
        console.print(table)
        if s["problem"] == "MILP":
            console.print(f"Prices come from {s['prices_from']}.", soft_wrap=True, markup=False)
    unfunded = [
        r for r in plan.data["reduced_costs"].records() if r["improvement_needed_per_unit"] > 0
    ]
    if unfunded:
        table = terminal_table(
            "Unfunded interventions: what it would take to enter",
            ["intervention", "year", "to enter, per unit"],
        )
        for r in unfunded:
            needed = f"{number(r['improvement_needed_per_unit'])} {r['improvement_unit']}"
            table.add_row(str(r["intervention"]), str(r["year"]), needed)
        console.print(table)


def _print_supply(plan: Plan, console: Console, currency: str) -> None:
    """Who supplies each make-or-buy intervention each year, and the shared services opened."""
    used = list(plan.data["supply"].records(where="chosen"))
    if used:
        table = terminal_table(
            "Make or buy: options used",
            ["intervention", "option", "provider", "year", "units", "unit price", "fixed + set-up",
             "cost"],
        )  # fmt: skip
        for r in used:
            table.add_row(
                str(r["intervention"]),
                str(r["option"]),
                f"{r['provider']} ({r['mode']})",
                str(r["year"]),
                number(r["units"]),
                pence(r["unit_price"], currency),
                money(r["fixed_cost"] + r["setup_cost"], currency),
                money(r["cost"], currency),
            )
        console.print(table)
    opened = list(plan.data["shared_services"].records(where="open"))
    if opened:
        table = terminal_table(
            "Shared services open", ["service", "host", "year", "units", "cost", "used by"]
        )
        for r in opened:
            row = [r["service"], r["provider"], r["year"], number(r["units"])]
            table.add_row(*map(str, row), money(r["cost"], currency), str(r["users"]))
        console.print(table)


def print_comparison(comparison: Comparison, console: Console | None = None) -> None:
    """Each make-or-buy decision, its partners' income, and the scenarios, as board tables."""
    console = console or Console()
    s = comparison.summary
    currency = s["currency"]
    unit = s["objective_unit"]

    def objective(value: Any) -> str:
        if missing(value):
            return "no plan"
        return money(value, currency) if unit == CURRENCY_SYMBOL[currency] else number(value, 6)

    def lost(value: Any) -> str:
        if missing(value):
            return ""
        return money(value, currency) if unit == CURRENCY_SYMBOL[currency] else number(value)

    console.print(f"\n[bold]{escape(s['title'])}[/bold]  (solver {s['solver']})", markup=True)
    measure = "discounted spend" if unit == CURRENCY_SYMBOL[currency] else unit
    for decision, rows in comparison.decisions.groupby("decision", sort=False):
        free = rows.iloc[0]
        table = terminal_table(
            f"Make or buy: {free['intervention_name']} ({decision}); free choice: "
            f"{free['option_name']}",
            ["option", "provider", "unit price", measure, "lost if forced", "spend",
             "break-even price", "floors binding"],
        )  # fmt: skip
        for _, r in rows.iterrows():
            price = r["break_even_price"]
            if price is None or math.isnan(price):
                even = str(r["break_even"])
            else:
                words = "leaves above" if r["in_free_plan"] else "enters below"
                even = f"{words} {pence(price, currency)}"
            table.add_row(
                str(r["option"]),
                f"{r['provider']} ({r['mode']})" if r["provider"] else "",
                pence(r["unit_price"], currency),
                objective(r["objective"]),
                lost(r["value_lost"]),
                money(r["spend"], currency),
                even,
                str(r["binding_floors"]),
            )
        console.print(table)
        _print_partner_changes(comparison, f"decision {decision}", console, currency)
    cases = comparison.cases
    if len(cases) > 1:
        health = s["health_unit"]
        table = terminal_table(
            f"Scenarios against {cases.iloc[0]['case']}",
            ["scenario", "status", health, "change", "spend", "change", "floors binding",
             "limits binding"],
        )  # fmt: skip
        for _, r in cases.iterrows():
            table.add_row(
                str(r["case"]),
                str(r["status"]),
                number(r["health_gain"], 6),
                number(r["health_gain_change"]),
                money(r["spend"], currency),
                money(r["spend_change"], currency),
                str(r["binding_floors"]),
                str(r["binding_limits"]),
            )
        console.print(table)
        _print_partner_changes(comparison, "scenarios", console, currency)
    stopped = [
        str(r["option"] if "option" in r else r["case"])
        for frame in (comparison.decisions, comparison.cases)
        for _, r in frame.iterrows()
        if r["status"] == "time_limit"
    ]
    if stopped:
        console.print(
            f"[bold red]NOT PROVEN OPTIMAL: {escape(', '.join(stopped))}: the solver stopped at "
            "its time limit, so these are the best plans it found (status time_limit in the "
            "tables); allow more time (--time-limit) to prove them optimal.[/bold red]",
            soft_wrap=True,
            highlight=False,
            markup=True,
        )


def _print_partner_changes(
    comparison: Comparison, which: str, console: Console, currency: str
) -> None:
    """Cases as rows, partners as columns: income change summed over the plan years."""
    rows = comparison.partners[comparison.partners["comparison"] == which]
    if not len(rows):
        return
    wide = rows.pivot_table(
        index="case", columns="partner", values="income_change", sort=False, aggfunc="sum"
    )
    table = terminal_table(
        "Income change over the plan, by partner", ["case", *map(str, wide.columns)]
    )
    for case, values in wide.iterrows():
        table.add_row(str(case), *(money(v, currency) for v in values))
    console.print(table)


class LiteralTable(rich.Table):
    """A rich Table whose text cells print as written: a [bracket] in a name, unit or label from
    the input is never read as markup. A cell styled on purpose is passed as a rich Text."""

    def add_row(
        self,
        *renderables: RenderableType | None,
        style: StyleType | None = None,
        end_section: bool = False,
    ) -> None:
        """Add a row; each str cell becomes plain Text."""
        cells = (Text(cell) if isinstance(cell, str) else cell for cell in renderables)
        super().add_row(*cells, style=style, end_section=end_section)


def terminal_table(
    title: str,
    columns: Iterable[str],
    right: Container[int] | None = None,
    wrap_first: bool = False,
) -> LiteralTable:
    """A terminal table in planner's style, its title, headers and cells printed literally: the
    first column left and unwrapped, the others (numbers) right; or, given `right`, the columns
    at those indices right and the others left."""
    table = LiteralTable(title=Text(title, style="bold"), box=box.SIMPLE_HEAD, title_justify="left")
    for index, column in enumerate(columns):
        first = index == 0
        at_right = index in right if right is not None else not first
        table.add_column(
            Text(column),
            justify="right" if at_right else "left",
            no_wrap=first and not wrap_first,
            overflow="fold",
        )
    return table


def bold(text: str) -> Text:
    """`text` in bold, as the markup [bold]text[/bold] prints it (for a table's cell)."""
    return Text.assemble((text, "bold"))


# --- files -----------------------------------------------------------------------------------


PLAN_FACTS = ("instance", "title", "scenario", "solver", "status", "proven_optimal",
              "objective_kind", "objective", "objective_unit", "problem", "mip_gap", "best_bound",
              "verified", "largest_violation", "largest_violation_unit",
              "largest_violation_rule")  # fmt: skip
ABOUT_MEANING = {
    "planner_version": "version of planner that wrote these files",
    "instance": "the instance file solved (as given, relative to the working folder)",
    "instance_sha256": "SHA-256 of the instance file's bytes: the same hash, the same input",
    "model": "the pathway model file merged under the instance",
    "model_sha256": "SHA-256 of the pathway model file's bytes",
    "instance_name": "the instance's name",
    "title": "the instance's title",
    "scenario": "the scenario applied; empty for the base instance",
    "base": "the scenario applied before analysing make-or-buy decisions; empty for none",
    "solver": "the solver that found the plan (highs or cbc)",
    "status": "optimal, or time_limit: the best plan found before the time limit, NOT PROVEN "
    "OPTIMAL",
    "proven_optimal": "whether the solver proved the plan optimal (no: stopped at a time limit)",
    "objective_kind": "what the plan optimises",
    "objective": "the plan's objective value, discounted",
    "objective_unit": "unit of the objective",
    "problem": "LP, or MILP where the plan has yes/no choices",
    "mip_gap": "relative gap to the best bound the solver proved; 0: proven optimal; unknown: "
    "no bound; empty for an LP",
    "best_bound": "no plan is better than this (objective unit); empty for an LP",
    "verified": "every rule recomputed from the inputs and found to hold (docs/verification.md)",
    "largest_violation": "how far the plan comes to breaking a rule, in that rule's unit",
    "largest_violation_unit": "unit of largest_violation; empty when no rule is broken at all",
    "largest_violation_rule": "the rule of largest_violation; empty when none is broken at all",
    "decisions": "the make-or-buy decisions compared",
    "scenarios": "the scenarios compared with the base",
    "expected_objective": "planner risk: the risk-aware plan's objective averaged over the draws",
    "alpha": "planner risk: CVaR level (0.95: the mean of the worst 5% of draws)",
    "floors": "planner risk: floors held on average (expectation) or in every draw",
    "floor_modes": "planner risk: floors held otherwise than --floors says",
    "limits": "planner risk: partners' stated limits held on average or in every draw",
    "envelope_mode": "planner risk: the envelope held on average or in every draw",
    "cvar_limits": "planner risk: most CVaR of each partner's loss in any plan year",
    "seed": "seed of the draws of the uncertain numbers: the same seed, the same draws",
    "draws": "number of draws of the uncertain numbers",
    "reoptimised": "planner uncertainty: whether each draw was also solved for its own plan",
    "python_version": "version of Python",
}


def about_rows(facts: Mapping[str, Any], inputs: Iterable[Path] = ()) -> list[tuple[str, Any, str]]:
    """The rows of the `about` sheet: planner's version, each input file with its SHA-256, the
    run's facts (scenario, solver, status, objective...) and the versions of the libraries that
    solved it. The first input is the instance, the others its pathway model."""
    import importlib.metadata
    import platform

    from planner import __version__

    rows: list[tuple[str, Any, str]] = [("planner_version", __version__, "")]
    for index, source in enumerate(inputs):
        label = "instance" if index == 0 else "model"
        try:
            digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
        except OSError as exc:
            digest = f"unreadable ({exc.strerror or exc})"
        rows += [(label, display_path(Path(source)), ""), (f"{label}_sha256", digest, "")]
    rows += [
        ("instance_name" if name == "instance" else name, value, "")
        for name, value in facts.items()
    ]
    for package in ("pulp", "highspy", "cbcbox"):
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        rows.append((f"{package}_version", version, f"version of {package}"))
    rows.append(("python_version", platform.python_version(), ""))
    return [(name, value, meaning or ABOUT_MEANING.get(name, "")) for name, value, meaning in rows]


def write_outputs(plan: Plan, out_dir: str | Path, inputs: Iterable[Path] = ()) -> list[Path]:
    """Write every table of a plan as CSV, and all of them as plan.xlsx with an `about` sheet
    (inputs and their hashes, scenario, solver, status, versions), into `out_dir`."""
    facts = {name: plan.summary[name] for name in PLAN_FACTS if name in plan.summary}
    return write_tables(
        plan.tables(), out_dir, "plan.xlsx", plan.summary["currency"], inputs, facts
    )


def write_tables(
    tables: Mapping[str, Table | pd.DataFrame],
    out_dir: str | Path,
    workbook: str,
    currency: str,
    inputs: Iterable[Path] = (),
    facts: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write each table as CSV and all of them as one workbook into `out_dir`, whole or not at
    all; the files in the folder afterwards. The workbook's last sheet, `about`, records the
    inputs (with their SHA-256), `facts` about the run and the versions behind the numbers.
    Text that starts like a formula is written so that no spreadsheet runs it."""
    inputs = [Path(p) for p in inputs]
    target = Path(out_dir).resolve()
    try:
        _refuse_unsafe(target, [Path(p).resolve() for p in inputs])
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(staging, 0o777 & ~umask)
        plain = {name: as_table(table) for name, table in tables.items()}
        for name, table in plain.items():
            write_csv(table, staging / f"{name}.csv")
        _write_workbook(plain, staging / workbook, currency, about_rows(facts or {}, inputs))
        (staging / MARKER).write_text(
            "written by planner; this folder is replaced on the next run\n"
        )
        _swap_into_place(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise _cannot_write(target, exc) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(target.iterdir())


def _cannot_write(target: Path, exc: OSError) -> OutputError:
    """The error for an output folder the system would not let planner write."""
    where = f" ({display_path(Path(exc.filename))})" if exc.filename else ""
    return OutputError(
        f"cannot write the outputs to {display_path(target)}: {exc.strerror or exc}{where}; "
        "choose another --out folder, or make this one writable (nothing was written)"
    )


def _refuse_unsafe(target: Path, inputs: list[Path]) -> None:
    for source in inputs:
        if source == target or target in source.parents:
            raise OutputError(
                f"refusing to write outputs to {display_path(target)}: it holds the input "
                f"{display_path(source)}; choose another --out folder"
            )
    if target.exists() and not target.is_dir():
        raise OutputError(
            f"{display_path(target)} is a file, not a folder; choose another --out folder"
        )
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).exists():
        raise OutputError(
            f"{display_path(target)} already holds files planner did not write; "
            "choose another --out folder (nothing was written)"
        )


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace `target` by `staging` with renames only, so no reader sees half a set."""
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.rmdir(retired)
    os.replace(target, retired)
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(retired, target)  # the old outputs back as they were
        raise
    shutil.rmtree(retired, ignore_errors=True)


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may read as a formula


def as_table(table: Table | pd.DataFrame) -> Table:
    """A table to write: a Table as it is, a DataFrame's columns as one."""
    return table if isinstance(table, Table) else Table.of_frame(table)


def write_csv(table: Table, path: Path) -> None:
    """A table as CSV, as pandas writes it (no index, floats as CSV_FLOAT, a missing value
    empty), with each text value that starts like a formula (=, +, -, @, tab, carriage return)
    prefixed with an apostrophe, so that a spreadsheet opening the file shows the text and never
    runs it; numbers are untouched."""
    texts = [
        _csv_texts(values, kind) for values, kind in zip(table.columns, table.kinds, strict=True)
    ]
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(table.names)
        writer.writerows(zip(*texts, strict=True))


def _csv_texts(values: list[Any], kind: Kind) -> list[str]:
    """A column's values as the CSV file writes them."""
    if kind == "float":
        return ["" if v != v else CSV_FLOAT % v for v in values]
    if kind in ("int", "bool"):
        return [str(v) for v in values]
    return ["" if missing(v) else _unformula(v) if isinstance(v, str) else str(v) for v in values]


def _unformula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def _write_workbook(
    tables: dict[str, Table],
    path: Path,
    currency: str,
    about: list[tuple[str, Any, str]] | None = None,
) -> None:
    """One flat, filterable sheet per table, then `about`; money formatted; text is written as
    text (never a formula, whatever it starts with)."""
    import xlsxwriter  # here: commands that write no workbook never load it

    options = {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    workbook.set_properties(
        {"title": "planner results", "author": "planner", "created": FIXED_DATE}
    )
    header = workbook.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
    symbol = f'"{CURRENCY_SYMBOL[currency]}"'
    money_format = workbook.add_format({"num_format": f"{symbol}#,##0;-{symbol}#,##0"})
    price_format = workbook.add_format({"num_format": f"{symbol}#,##0.00;-{symbol}#,##0.00"})
    figure = workbook.add_format({"num_format": "#,##0.######"})
    for name, table in tables.items():
        sheet = workbook.add_worksheet(name)
        for col, (column, kind, cells) in enumerate(
            zip(table.names, table.kinds, table.columns, strict=True)
        ):
            sheet.write_string(0, col, column, header)
            style = (
                money_format
                if column in MONEY_COLUMNS
                else price_format
                if column in PRICE_COLUMNS
                else figure
            )
            width = max(10, min(60, len(column) + 2))
            sheet.set_column(col, col, width, style)
            as_csv = kind == "float"  # rounded as the CSV file writes it
            for row, value in enumerate(cells, start=1):
                _write_cell(sheet, row, col, value, as_csv)
        sheet.autofilter(0, 0, max(len(table), 1), max(len(table.names) - 1, 0))
        sheet.freeze_panes(1, 0)
    if about is not None:
        sheet = workbook.add_worksheet("about")
        for col, (column, width) in enumerate((("field", 18), ("value", 66), ("meaning", 70))):
            sheet.write_string(0, col, column, header)
            sheet.set_column(col, col, width, figure if column == "value" else None)
        for row, values in enumerate(about, start=1):
            for col, value in enumerate(values):
                if value != "":  # does not apply: an empty cell
                    _write_cell(sheet, row, col, value)
        sheet.autofilter(0, 0, len(about), 2)
        sheet.freeze_panes(1, 0)
    workbook.close()


def _write_cell(sheet: Any, row: int, col: int, value: Any, as_csv: bool = False) -> None:
    """One cell; with `as_csv`, a float is rounded as the CSV file writes it (CSV_FLOAT), so the
    workbook and the CSV files hold the same numbers."""
    if missing(value):
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, float) and as_csv:
        sheet.write_number(row, col, float(CSV_FLOAT % value))
    elif isinstance(value, int | float):
        sheet.write_number(row, col, float(value))
    else:
        sheet.write_string(row, col, str(value))  # text, even "=...": never a formula
