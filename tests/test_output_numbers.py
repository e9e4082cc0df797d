"""Numbers in the output files: differences of large figures carry no solver noise (`unspent`,
income and net change, headroom), and the workbook holds exactly the numbers the CSV files hold."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import planner
from planner.report import as_table, write_outputs, write_tables
from planner.result import difference
from planner.table import Table
from tests.conftest import one

ROOT = Path(__file__).resolve().parent.parent
CARDIOLOGY = ROOT / "instances" / "cardiology_lewisham.yaml"


def test_difference_is_zero_within_a_millionth_of_the_figures() -> None:
    # the cardiology envelope against the spend HiGHS reports: 1.86e-09 of rounding, no change
    assert difference(9_797_412.799999999, 9_797_412.8) == 0.0
    # £5 on £10m is within 1e-6 x 10,000,000 = £10; £20 is not
    assert difference(10_000_000.0, 9_999_995.0) == 0.0
    assert difference(10_000_000.0, 9_999_980.0) == 20.0
    # small figures: within 1e-6 of 1
    assert difference(0.5, 0.5000001) == 0.0
    assert difference(3.0, 1.0) == 2.0
    assert difference(-1000.0, -1000.0000268) == 0.0
    # the size of the figures a difference was made from counts: income 1e7 less external 1e7
    assert difference(1.0, 0.0, 10_000_000.0) == 0.0
    assert difference(1.0, 0.0) == 1.0


def test_cardiology_shared_savings_leaves_nothing_unspent(tmp_path: Path, solver: str) -> None:
    # envelope: £3,400,000 falling 2% a year, 2014-2016:
    # 3,332,000 + 3,265,360 + 3,200,052.80 = £9,797,412.80. Unspent money is paid out to the
    # partners (savings rule share), so the plan spends all of it: unspent is exactly 0 on both
    # solvers (HiGHS's spend differed from the envelope by -1.86e-09, CBC's by -£0.0039)
    plan = planner.solve_instance(CARDIOLOGY, scenario="shared_savings", solver=solver)  # type: ignore[arg-type]
    s = plan.summary
    assert s["total_envelope"] == pytest.approx(9_797_412.80, rel=1e-12)
    assert s["total_spend"] == pytest.approx(9_797_412.80, rel=1e-9)
    assert s["unspent"] == 0.0 and math.copysign(1.0, s["unspent"]) == 1.0
    assert s["verified"] is True
    # community pharmacy: baseline 400 NMS x £25 = £10,000, may lose 10% = £1,000; in 2016 it
    # earns £9,000: change -£1,000, exactly at its limit (headroom 0, binding)
    pharmacy = one(plan.partners, partner="community_pharmacy", year=2016)
    assert pharmacy["income"] == pytest.approx(9000, rel=1e-8)
    assert pharmacy["income_change"] == pytest.approx(-1000, rel=1e-7)
    assert pharmacy["net_change"] == pytest.approx(-1000, rel=1e-7)
    assert pharmacy["headroom"] == 0.0
    assert bool(pharmacy["binding"]) is True
    written = write_outputs(plan, tmp_path / "out")
    summary = dict(read_csv(tmp_path / "out" / "summary.csv"))
    assert summary["unspent"] == "0.0"
    assert [p.name for p in written if p.name == "plan.xlsx"] == ["plan.xlsx"]
    assert_workbook_matches_csv(plan.tables(), tmp_path / "out", "plan.xlsx")


def test_workbook_holds_the_numbers_the_csv_files_hold(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "case": ["a", "b", "c", "d"],
            "spend_change": [641.1909807001897, -2999.999999999867, 1e-12, math.nan],
            "units": [1, 2, 3, 4],
        }
    )
    write_tables({"cases": frame}, tmp_path / "out", "compare.xlsx", "GBP")
    text = (tmp_path / "out" / "cases.csv").read_text(encoding="utf-8")
    assert text == "case,spend_change,units\na,641.1909807,1\nb,-3000,2\nc,1e-12,3\nd,,4\n"
    sheet = openpyxl.load_workbook(tmp_path / "out" / "compare.xlsx")["cases"]
    cells = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert cells == [
        ["a", 641.1909807, 1],
        ["b", -3000, 2],
        ["c", 1e-12, 3],
        ["d", None, 4],
    ]
    assert_workbook_matches_csv({"cases": frame}, tmp_path / "out", "compare.xlsx")


def assert_workbook_matches_csv(
    tables: Mapping[str, Table | pd.DataFrame], folder: Path, name: str
) -> None:
    """Every number in a float column of each table is the same in the workbook as in its CSV
    file (an empty CSV cell is an empty workbook cell)."""
    book = openpyxl.load_workbook(folder / name)
    for table, frame in tables.items():
        rows = read_csv(folder / f"{table}.csv")
        sheet = [[c.value for c in row] for row in book[table].iter_rows()]
        assert rows[0] == sheet[0] and len(rows) == len(sheet), table
        written_as = as_table(frame)
        for col, (column, kind) in enumerate(zip(written_as.names, written_as.kinds, strict=True)):
            if kind != "float":
                continue
            for written, stored in zip(rows[1:], sheet[1:], strict=True):
                expected = float(written[col]) if written[col] else None
                assert stored[col] == expected, (table, column, written[col], stored[col])


def read_csv(path: Path) -> list[list[str]]:
    """The CSV file's cells as written."""
    return list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
