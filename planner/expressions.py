"""A built model's named expressions (units, levels, spend, income...) kept as arrays.

PuLP holds each expression as a Rust object of about 400 bytes plus about 40 a term, and a
national model has a million of them (bench/README.md, "What changed to cut memory"). Once the
model is built they are only read, so `build` keeps them here: each expression's variables (by
id) and coefficients in two arrays, its constant in a third, 16 bytes a term. Each read makes
the PuLP expression again, with the same terms in the same order and the same constant.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pulp


class Expressions[K](Mapping[K, pulp.LpAffineExpression]):
    """Expressions by key, stored as arrays; reading one makes its PuLP expression.

    The terms of the i-th expression (in the order given) are `ids[starts[i]:starts[i + 1]]`
    (PuLP's variable ids) times `coefficients[starts[i]:starts[i + 1]]`, plus `constants[i]`.
    The arrays may be changed in place (planner/sweep.py moves a model's numbers so).
    """

    def __init__(
        self, problem: pulp.LpProblem, expressions: Mapping[K, pulp.LpAffineExpression]
    ) -> None:
        self._model = problem.toRustModel()
        keys = list(expressions)
        # the keys by their parts, column by column, as the parts themselves (shared with the
        # instance): no tuple per key is kept, and the look-up index is made on the first
        # look-up, after the solve. A national model has two million keys.
        arity = {len(key) if isinstance(key, tuple) else None for key in keys}
        self._tuples = len(arity) == 1 and None not in arity  # tuples, all of one length
        self._columns: list[tuple[Any, ...]] = (
            list(zip(*keys, strict=True)) if self._tuples else [tuple(keys)]
        )
        self._at: dict[K, int] | None = None
        ids: list[int] = []
        coefficients: list[float] = []
        starts = [0]
        constants: list[float] = []
        for expression in expressions.values():
            inner = expression._expr  # PuLP's Rust expression: its variables, its coefficients
            variables = inner.keys()
            ids += [variable.id() for variable in variables]
            coefficients += inner.values()
            starts.append(len(ids))
            constants.append(inner.constant)
        self.ids = np.array(ids, dtype=np.uint64)
        self.coefficients = np.array(coefficients, dtype=np.float64)
        self.starts = np.array(starts, dtype=np.int64)
        self.constants = np.array(constants, dtype=np.float64)

    def position(self, key: K) -> int:
        """Where the expression of `key` sits (its constant is constants[position])."""
        if self._at is None:
            self._at = {k: i for i, k in enumerate(self)}
        return self._at[key]

    def span(self, key: K) -> slice:
        """Where the terms of `key`'s expression sit in `ids` and `coefficients`."""
        i = self.position(key)
        return slice(int(self.starts[i]), int(self.starts[i + 1]))

    def __getitem__(self, key: K) -> pulp.LpAffineExpression:
        i = self.position(key)
        terms = slice(self.starts[i], self.starts[i + 1])
        inner = pulp._rustcore.AffineExpr()
        inner.set_constant(float(self.constants[i]))
        inner.add_term_ids_coeffs(self._model, self.ids[terms], self.coefficients[terms])
        return pulp.LpAffineExpression(inner)

    def __iter__(self) -> Iterator[K]:
        keys: Iterator[Any] = (
            zip(*self._columns, strict=True) if self._tuples else iter(self._columns[0])
        )
        return keys

    def __len__(self) -> int:
        return len(self.constants)

    def __contains__(self, key: object) -> bool:
        try:
            self.position(key)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return False
        return True

    def variables(self, key: K) -> list[pulp.LpVariable]:
        """The variables of `key`'s expression, in its order."""
        ids: npt.NDArray[Any] = self.ids[self.span(key)]
        return [pulp.LpVariable(v) for v in self._model.list_variables_by_ids(ids.tolist())]


class Variables[K](Mapping[K, list[pulp.LpVariable]]):
    """The variables of each expression of an `Expressions` (a model's units, each the sum of
    its unit variables): their handles are made when read, not kept."""

    def __init__(self, sums: Expressions[K]) -> None:
        self._sums = sums

    def __getitem__(self, key: K) -> list[pulp.LpVariable]:
        return self._sums.variables(key)

    def __iter__(self) -> Iterator[K]:
        return iter(self._sums)

    def __len__(self) -> int:
        return len(self._sums)

    def __contains__(self, key: object) -> bool:
        return key in self._sums
