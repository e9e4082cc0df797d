"""Tables without pandas (planner/table.py): each column holds what pandas holds in a DataFrame
made from the same rows, a Table converts to and from that DataFrame unchanged, and its CSV file
is the text pandas writes (floats as %.10g, a missing value empty, formula-like text guarded)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest

import planner
from planner.report import CSV_FLOAT, FORMULA_START, write_csv, write_tables
from planner.table import Table

NAN = math.nan
# each column: its values (4 rows) and the dtype pandas gives it
COLUMNS: dict[str, tuple[list[Any], str]] = {
    "floats": ([1.5, -0.0, 1e-12, 641.1909807001897], "float64"),
    "floats_gap": ([1.5, None, math.inf, -3000.0000000001], "float64"),
    "floats_nan": ([NAN, 2.0, NAN, 0.1], "float64"),
    "numpy_floats": ([np.float64(0.25), 1.0, 2.0, 3.0], "float64"),
    "ints": ([2014, 2015, 0, -7], "int64"),
    "numpy_ints": ([np.int64(1), 2, 3, 4], "int64"),
    "ints_gap": ([2014, None, 2016, 2017], "float64"),
    "ints_and_floats": ([1, 2.5, 3, 4], "float64"),
    "bools": ([True, False, np.True_, False], "bool"),
    "bools_gap": ([True, None, False, True], "object"),
    "bools_and_ints": ([True, 1, 0, False], "object"),
    "text": (["a", "=SUM(A1)", 'say "hi", then\nleave', ""], "str"),
    "text_gap": (["-1", None, "@x", "£1,000"], "str"),
    "text_nan": (["a", NAN, "+b", "c"], "str"),
    "mixed": ([1.23456789012345, "x", True, None], "object"),
    "missing": ([None, None, None, None], "object"),
    "numbers_as_objects": (["=1", 7, 2.5, None], "object"),
}


def reference() -> pd.DataFrame:
    """The DataFrame made from the same rows, as result.py made its tables before Tables."""
    names = list(COLUMNS)
    rows = list(zip(*(values for values, _ in COLUMNS.values()), strict=True))
    return pd.DataFrame(rows, columns=names)


def table() -> Table:
    return Table.of_rows(list(COLUMNS), zip(*(v for v, _ in COLUMNS.values()), strict=True))


def pandas_csv(frame: pd.DataFrame) -> str:
    """What report.py wrote before Tables: formula-like text guarded, then pandas's to_csv."""
    safe = frame.copy()
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            safe[column] = frame[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v
            )
    return safe.to_csv(index=False, float_format=CSV_FLOAT, lineterminator="\n")


def same(a: list[Any], b: list[Any]) -> bool:
    """Equal lists, NaN equal to NaN, each value of the same type."""
    return len(a) == len(b) and all(
        type(x) is type(y) and (x == y or (x != x and y != y)) for x, y in zip(a, b, strict=True)
    )


def test_each_column_has_the_kind_and_values_pandas_gives_it() -> None:
    expected = reference()
    for name, (_, dtype) in COLUMNS.items():
        assert str(expected[name].dtype) == dtype, name  # the test's own premise
    made = table()
    kinds = dict(zip(made.names, made.kinds, strict=True))
    assert kinds == {
        "floats": "float", "floats_gap": "float", "floats_nan": "float", "numpy_floats": "float",
        "ints": "int", "numpy_ints": "int", "ints_gap": "float", "ints_and_floats": "float",
        "bools": "bool", "bools_gap": "object", "bools_and_ints": "object", "text": "str",
        "text_gap": "str", "text_nan": "str", "mixed": "object", "missing": "object",
        "numbers_as_objects": "object",
    }  # fmt: skip
    for name in COLUMNS:
        assert same(made.column(name), expected[name].tolist()), name
    assert made.column("ints_gap") == [2014.0, pytest.approx(NAN, nan_ok=True), 2016.0, 2017.0]
    assert made.column("text_gap")[1] != made.column("text_gap")[1]  # NaN, as in pandas


def test_a_table_converts_to_and_from_the_dataframe_unchanged() -> None:
    expected = reference()
    frame = table().frame()
    pd.testing.assert_frame_equal(frame, expected)
    back = Table.of_frame(frame)
    assert back.names == table().names and back.kinds == table().kinds
    for name in COLUMNS:
        assert same(back.column(name), expected[name].tolist()), name


def test_the_csv_file_is_the_text_pandas_writes(tmp_path: Path) -> None:
    write_csv(table(), tmp_path / "t.csv")
    text = (tmp_path / "t.csv").read_text(encoding="utf-8")
    assert text == pandas_csv(reference())
    assert text == (
        "floats,floats_gap,floats_nan,numpy_floats,ints,numpy_ints,ints_gap,ints_and_floats,"
        "bools,bools_gap,bools_and_ints,text,text_gap,text_nan,mixed,missing,numbers_as_objects\n"
        "1.5,1.5,,0.25,2014,1,2014,1,True,True,True,a,'-1,a,1.23456789012345,,'=1\n"
        "-0,,2,1,2015,2,,2.5,False,,1,'=SUM(A1),,,x,,7\n"
        '1e-12,inf,,2,0,3,2016,3,True,False,0,"say ""hi"", then\nleave",\'@x,\'+b,True,,2.5\n'
        '641.1909807,-3000,0.1,3,-7,4,2017,4,False,True,False,,"£1,000",c,,,\n'
    )


def test_an_empty_table_writes_its_header_only(tmp_path: Path) -> None:
    empty = Table.of_rows(["a", "b"], [])
    assert len(empty) == 0 and empty.kinds == ("object", "object")
    write_csv(empty, tmp_path / "e.csv")
    assert (tmp_path / "e.csv").read_text(encoding="utf-8") == "a,b\n"
    pd.testing.assert_frame_equal(empty.frame(), pd.DataFrame([], columns=["a", "b"]))


def test_rows_may_be_dicts_and_records_give_them_back() -> None:
    made = Table.of_rows(["x", "y"], [{"y": 1, "x": "a"}, {"x": "b", "y": None}])
    assert made.kinds == ("str", "float")
    records = list(made.records())
    assert records[0] == {"x": "a", "y": 1.0} and records[1]["x"] == "b"
    assert math.isnan(records[1]["y"])
    flagged = Table.of_rows(["x", "on"], [("a", True), ("b", False), ("c", True)])
    assert [r["x"] for r in flagged.records(where="on")] == ["a", "c"]


def test_a_plans_dataframes_are_made_once_from_its_tables() -> None:
    plan = planner.solve_instance(planner.DEFAULT_INSTANCE)
    assert "allocation" not in vars(plan)  # not made until read
    allocation = plan.allocation
    assert plan.allocation is allocation
    pd.testing.assert_frame_equal(allocation, plan.data["allocation"].frame())
    assert list(allocation.columns) == list(plan.data["allocation"].names)
    assert allocation["year"].dtype == np.int64 and allocation["units"].dtype == np.float64
    assert list(plan.tables()) == [
        "summary", "allocation", "outcomes", "partners", "shadow_prices", "reduced_costs",
        "supply", "shared_services",
    ]  # fmt: skip
    edited = plan.with_tables(allocation=allocation.iloc[0:0])
    assert len(edited.data["allocation"]) == 0 and edited.data["outcomes"] is plan.data["outcomes"]
    with pytest.raises(TypeError, match="a plan has no table allocations; its tables: "):
        plan.with_tables(allocations=allocation)


def test_a_nullable_int_column_writes_its_gaps_empty_in_both_files(tmp_path: Path) -> None:
    # planner uncertainty's draws table has years as pandas's Int64 (empty for a parameter);
    # the workbook once held the text "<NA>" there
    frame = pd.DataFrame({"year": pd.array([2014, None], dtype="Int64"), "value": [1.5, 2.0]})
    write_tables({"draws": frame}, tmp_path / "out", "t.xlsx", "GBP")
    text = (tmp_path / "out" / "draws.csv").read_text(encoding="utf-8")
    assert text == "year,value\n2014,1.5\n,2\n" == pandas_csv(frame)
    sheet = openpyxl.load_workbook(tmp_path / "out" / "t.xlsx")["draws"]
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2)] == [
        [2014, 1.5],
        [None, 2],
    ]
