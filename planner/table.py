"""Tables of plain Python values: what a plan's tables are made of, without pandas.

`planner solve` makes, checks, prints and writes a plan without importing pandas (a third of a
second of its start); a Plan's DataFrames are made from its Tables when first read. A Table holds
each column as pandas holds it in a DataFrame made from the same rows: the column's kind is
inferred the same way (whole numbers with a gap become floats, a missing float or text is NaN,
true/false with a gap stay objects), so a table prints, checks and writes the same whichever of
the two it is read from (tests/test_table.py compares the two on every kind).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["float", "int", "bool", "str", "object"]
NAN = math.nan
BOOLS = frozenset({bool, np.bool_})


def missing(value: Any) -> bool:
    """Whether a table's value is missing: None, or NaN (pandas's missing float or text)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def kind_of(values: Sequence[Any]) -> Kind:
    """The kind pandas gives a column of these values: `int` (whole numbers, none missing),
    `float` (numbers, some perhaps missing), `bool` (none missing), `str` (text, some perhaps
    missing), else `object` (mixed, or nothing but None). None is missing, and so is NaN beside
    values of another type."""
    types = set(map(type, values))
    gaps = type(None) in types
    types.discard(type(None))
    if float in types and len(types) > 1 and all(v != v for v in values if type(v) is float):
        types.discard(float)
        gaps = True
    if not types:
        return "object"
    if bool not in types and all(issubclass(t, Real) for t in types):
        whole = all(issubclass(t, Integral) for t in types)
        return "int" if whole and not gaps else "float"
    if types <= BOOLS:
        return "object" if gaps else "bool"
    return "str" if types == {str} else "object"


def as_kind(values: Sequence[Any], kind: Kind) -> list[Any]:
    """The values as pandas gives them back from a column of that kind (Python numbers and
    bools; a missing float or text is NaN)."""
    if kind == "float":
        return [NAN if v is None else float(v) for v in values]
    if kind == "int":
        return [int(v) for v in values]
    if kind == "bool":
        return [bool(v) for v in values]
    if kind == "str":
        return [v if type(v) is str else NAN for v in values]
    return list(values)


@dataclass(frozen=True)
class Table:
    """Named columns of plain values, each of one kind (see `kind_of`), stored column by column."""

    names: tuple[str, ...]
    kinds: tuple[Kind, ...]
    columns: tuple[list[Any], ...]

    @classmethod
    def of_columns(cls, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> Table:
        """A table of these columns (equally long), each column's kind inferred."""
        kinds = tuple(kind_of(column) for column in columns)
        values = tuple(as_kind(c, k) for c, k in zip(columns, kinds, strict=True))
        return cls(tuple(names), kinds, values)

    @classmethod
    def of_rows(
        cls, names: Sequence[str], rows: Iterable[Sequence[Any] | Mapping[str, Any]]
    ) -> Table:
        """A table of these rows (tuples in the order of `names`, or dicts by name)."""
        rows = [tuple(r[n] for n in names) if isinstance(r, Mapping) else r for r in rows]
        columns = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in names]
        return cls.of_columns(names, columns)

    @classmethod
    def of_frame(cls, frame: pd.DataFrame) -> Table:
        """A DataFrame's columns as a table: kinds from its dtypes (pandas's nullable and other
        extension dtypes are objects, their missing values None)."""
        import pandas as pd
        from pandas.api import types

        def kind(dtype: Any) -> Kind:
            if isinstance(dtype, pd.StringDtype):
                return "str"
            if isinstance(dtype, pd.api.extensions.ExtensionDtype):
                return "object"  # nullable ints and the like: pd.NA is None here
            if types.is_bool_dtype(dtype):
                return "bool"
            if types.is_integer_dtype(dtype):
                return "int"
            return "float" if types.is_float_dtype(dtype) else "object"

        def values(column: Any) -> list[Any]:
            return [None if v is pd.NA else v for v in frame[column].tolist()]

        names = tuple(str(c) for c in frame.columns)
        kinds = tuple(kind(dtype) for dtype in frame.dtypes)
        return cls(names, kinds, tuple(values(c) for c in frame.columns))

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def column(self, name: str) -> list[Any]:
        """One column's values."""
        return self.columns[self.names.index(name)]

    def records(self, where: str | None = None) -> Iterator[dict[str, Any]]:
        """Each row as a dict of column name to value, in order; with `where`, only the rows
        whose value in that column is true."""
        rows: Iterable[tuple[Any, ...]] = zip(*self.columns, strict=True)
        if where is not None:
            rows = compress(rows, self.column(where))
        for row in rows:
            yield dict(zip(self.names, row, strict=True))

    def frame(self) -> pd.DataFrame:
        """The table as a pandas DataFrame: the DataFrame made from the same rows."""
        import pandas as pd

        return pd.DataFrame(list(zip(*self.columns, strict=True)), columns=list(self.names))
