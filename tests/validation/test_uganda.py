"""The Uganda health benefits package (Mohan et al. 2023) reproduced through planner's instances.

(a) the committed model and instance files are the converter's output on the shared source files;
(b) the LP that the instance files define is the authors' LP, coefficient by coefficient, once
    units are turned into shares of cases in need and minutes into full-time staff;
(c) solving the instances gives the published optimum, package size and DALYs averted: with an
    independent HiGHS model built here from the files, and with planner on HiGHS and CBC.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pytest

import planner
from planner.load import load
from planner.validate import validate
from tests.validation import uganda

ROOT = uganda.ROOT
SCENARIOS = {
    "base": ("uganda_hbp_2023_base.yaml", "instances/uganda_hbp_base.yaml"),
    "taskshifting": ("uganda_hbp_2023_taskshifting.yaml", "instances/uganda_hbp_taskshifting.yaml"),
}
PUBLISHED = {  # net DALYs averted, interventions funded, DALYs averted (table_2_result_summary.csv)
    "base": (26_714_032, 45, 34_819_184),
    "taskshifting": (32_045_499, 73, 40_508_535),
}
REL = 1e-6  # the published figures are rounded to whole DALYs
EXACT = 1e-9  # coefficient agreement
FUNDED = 1e-6  # share of cases in need above which an intervention counts as funded (the
# authors count coverage != 0 on lpSolve's output; solvers may leave noise, so a small threshold)

needs_source = pytest.mark.skipif(
    not uganda.SOURCE_DIR.is_dir(), reason=f"source files not present in {uganda.SOURCE_DIR}"
)


@dataclass
class LinearProgram:
    """max sum objective[i] u[i] subject to rows (coefficients . u <= rhs), 0 <= u <= upper.

    u[i] is the units (cases) of planner intervention i in the single plan year.
    """

    objective: dict[str, float]
    upper: dict[str, float]
    rows: dict[str, tuple[dict[str, float], float]]


def instance_lp(path: Path) -> LinearProgram:
    """The LP an instance file states, read from the merged plain data (independent of planner)."""
    data = load(path).data
    assert data["horizon"] == 1 and data["discount_rate"] == 0
    assert data["objective"]["kind"] == "net_benefit"
    threshold = float(data["objective"]["threshold"])
    items: dict[str, dict[str, Any]] = data["interventions"]
    objective = {
        iid: item.get("health_gain", 0.0) - item.get("full_cost", item["unit_cost"]) / threshold
        for iid, item in items.items()
    }
    upper = {iid: float(item.get("max_units", math.inf)) for iid, item in items.items()}
    rows: dict[str, tuple[dict[str, float], float]] = {}
    for year, amount in data["envelope"]["amounts"].items():
        spend = {iid: item["unit_cost"] for iid, item in items.items() if item["unit_cost"] != 0}
        rows[f"envelope_{year}"] = (spend, amount)
    for rid, resource in data["resources"].items():
        use = {iid: i["resource_use"][rid] for iid, i in items.items() if rid in i["resource_use"]}
        rows[f"resource_{rid}"] = (use, resource["capacity"])
    for gid, group in data.get("groups", {}).items():
        assert group["rule"] == "share_need"
        rows[f"group_{gid}"] = (dict.fromkeys(group["members"], 1.0), group["need"])
    for cid, link in data.get("complements", {}).items():
        sides = [[x] if isinstance(x, str) else x for x in (link["intervention"], link["requires"])]
        assert not set(sides[0]) & set(sides[1])
        coefficients = dict.fromkeys(sides[0], 1.0) | dict.fromkeys(sides[1], -link["ratio"])
        rows[f"complement_{cid}"] = (coefficients, 0.0)
    return LinearProgram(objective, upper, rows)


def solve_lp(lp: LinearProgram) -> tuple[float, dict[str, float]]:
    """Optimal objective and units, solved directly with HiGHS."""
    names = list(lp.objective)
    column = {name: index for index, name in enumerate(names)}
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    n = len(names)
    cost = np.array([lp.objective[name] for name in names])
    upper = np.array([lp.upper[name] for name in names])
    empty = np.zeros(0, dtype=np.int32)
    highs.addCols(n, cost, np.zeros(n), upper, 0, empty, empty, np.zeros(0))
    for coefficients, rhs in lp.rows.values():
        index = np.array([column[name] for name in coefficients], dtype=np.int32)
        values = np.array(list(coefficients.values()), dtype=np.float64)
        highs.addRow(-highs.getInfinity(), rhs, len(index), index, values)
    highs.changeObjectiveSense(highspy.ObjSense.kMaximize)
    highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    units = highs.getSolution().col_value
    return highs.getInfo().objective_function_value, dict(zip(names, units, strict=True))


def code_of(iid: str) -> str:
    """Uganda intervention code of a planner intervention: i001_m2 -> 001."""
    found = re.fullmatch(r"i(\d{3})(?:_m\d)?", iid)
    assert found is not None, iid
    return found[1]


def needs(path: Path) -> dict[str, float]:
    """Cases in need of each code, as the instance states it (max_units, or the code's group)."""
    data = load(path).data
    found = {
        code_of(iid): item["max_units"]
        for iid, item in data["interventions"].items()
        if "max_units" in item
    }
    for gid, group in data.get("groups", {}).items():
        if gid.startswith("cases_"):
            found[gid.removeprefix("cases_")] = group["need"]
    assert set(found) == {code_of(iid) for iid in data["interventions"]}
    return found


def package(path: Path, units: dict[str, float]) -> tuple[int, float]:
    """(interventions funded, DALYs averted) of an allocation of units, modes summed per code."""
    data, need = load(path).data, needs(path)
    cases: dict[str, float] = dict.fromkeys(need, 0.0)
    dalys = 0.0
    for iid, value in units.items():
        cases[code_of(iid)] += value
        dalys += data["interventions"][iid]["health_gain"] * value
    shares = [cases[code] / need[code] for code in need]
    unclear = [share for share in shares if FUNDED < share < 1e-3]
    assert not unclear, f"coverage near the funded threshold, the count is fragile: {unclear}"
    return sum(share > FUNDED for share in shares), dalys


# --- (a) the committed files are the converter's output ---------------------------------------


@needs_source
def test_committed_files_are_generated() -> None:
    for relative, text in uganda.render(uganda.SOURCE_DIR).items():
        committed = ROOT / relative
        assert committed.is_file(), f"{relative} missing: run python -m tests.validation.uganda"
        assert committed.read_text(encoding="utf-8") == text, (
            f"{relative} differs from the converter's output: run python -m tests.validation.uganda"
        )


# --- (b) the instance files state the authors' LP -------------------------------------------


def _row_map(authors: str, source: dict[str, Any]) -> tuple[str, float]:
    """Our row for an authors' row, and the factor turning ours (in units) into theirs."""
    if authors == "consumables_budget_usd":
        return "envelope_2020", 1.0
    if match := re.fullmatch(r"hr_(\w+)_fte", authors):
        row = next(r for r in source["source_data"]["hr_capacity"] if r["cadre"] == match[1])
        minutes_per_staff = row["total_patient_facing_minutes_per_year"] / row["total_staff"]
        return f"resource_{match[1]}", 1 / minutes_per_staff
    if match := re.fullmatch(r"coverage_cap_(\d+)", authors):
        item = next(i for i in source["source_data"]["interventions"] if i["code"] == match[1])
        return f"group_cases_{match[1]}", 1 / item["cases_in_need_2020"]
    if authors.startswith("substitutes_"):
        return f"group_{authors}", 1.0
    if authors.startswith("nested_complement_"):
        return f"complement_{authors}", 1.0
    raise AssertionError(f"unexpected authors' row {authors}")


def _close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=EXACT, abs_tol=1e-300)


@needs_source
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_instance_states_authors_lp(scenario: str) -> None:
    source_file, instance_file = SCENARIOS[scenario]
    source = uganda.read_source(uganda.SOURCE_DIR / source_file)
    lp = instance_lp(ROOT / instance_file)
    cases = {i["code"]: i["cases_in_need_2020"] for i in source["source_data"]["interventions"]}

    def ours(variable: str) -> str:
        return "i" + variable.removeprefix("x_").replace("__", "_")

    variables = {ours(v["name"]): v for v in source["variables"]}
    assert set(variables) == set(lp.objective)
    scale = {iid: cases[code_of(iid)] for iid in lp.objective}  # units per share covered
    for name, coefficient in source["objective"]["coefficients"].items():
        iid = ours(name)
        assert _close(lp.objective[iid] * scale[iid], coefficient), name
        upper = variables[iid]["upper"]
        assert lp.upper[iid] / scale[iid] == (math.inf if upper is None else upper), name

    matched = set()
    for row in source["constraints"]:
        assert row["sense"] == "<="
        name, factor = _row_map(row["name"], source)
        coefficients, rhs = lp.rows[name]
        matched.add(name)
        assert _close(rhs * factor, row["rhs"]), row["name"]
        theirs = {ours(v): c for v, c in row["coefficients"].items() if c != 0}
        assert set(coefficients) == set(theirs), row["name"]
        for iid, value in coefficients.items():
            assert _close(value * scale[iid] * factor, theirs[iid]), (row["name"], iid)
    assert matched == set(lp.rows)


@needs_source
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_per_case_figures_are_exact(scenario: str) -> None:
    """Every per-case figure of the files equals the source's float exactly (repr round trip)."""
    source_file, instance_file = SCENARIOS[scenario]
    source = uganda.read_source(uganda.SOURCE_DIR / source_file)
    items = load(ROOT / instance_file).data["interventions"]
    for raw in source["source_data"]["interventions"]:
        for iid in (k for k in items if code_of(k) == raw["code"]):
            item = items[iid]
            assert item["health_gain"] == raw["dalys_averted_per_patient"]
            assert item["full_cost"] == raw["cost_per_case_usd2019"]
            assert item["unit_cost"] == raw["consumables_cost_per_case_usd2019"]


@needs_source
def test_complement_ratios_match_notes() -> None:
    """The ratio each note states is the one the authors' coefficients imply."""
    source = uganda.read_source(uganda.SOURCE_DIR / SCENARIOS["base"][0])
    cases = {i["code"]: i["cases_in_need_2020"] for i in source["source_data"]["interventions"]}
    rows = {row["name"]: row for row in source["constraints"]}
    for dependent, required, ratio in uganda.complements(source):
        row = rows[f"nested_complement_{dependent}_within_{required}"]
        assert _close(-row["coefficients"][f"x_{required}"] / cases[required], ratio)
        assert row["coefficients"][f"x_{dependent}"] == cases[dependent]


# --- (c) the published optimum --------------------------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_independent_solve_reproduces_published(scenario: str) -> None:
    path = ROOT / SCENARIOS[scenario][1]
    objective, units = solve_lp(instance_lp(path))
    net, funded, dalys = PUBLISHED[scenario]
    assert objective == pytest.approx(net, rel=REL)
    count, total = package(path, units)
    assert count == funded
    assert total == pytest.approx(dalys, rel=REL)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_planner_accepts_instance(scenario: str) -> None:
    validate(load(ROOT / SCENARIOS[scenario][1]))


@pytest.mark.parametrize("solver", ["highs", "cbc"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_planner_reproduces_published(scenario: str, solver: planner.SolverName) -> None:
    path = ROOT / SCENARIOS[scenario][1]
    plan = planner.solve_instance(path, solver=solver)
    net, funded, dalys = PUBLISHED[scenario]
    assert plan.summary["status"] == "optimal"
    assert plan.summary["objective"] == pytest.approx(net, rel=REL)
    assert plan.summary["health_gain_undiscounted"] == pytest.approx(dalys, rel=REL)
    totals = plan.allocation.groupby("intervention")["units"].sum()
    units = {str(iid): float(value) for iid, value in totals.items()}
    count, total = package(path, units)
    assert count == funded
    assert total == pytest.approx(dalys, rel=REL)
