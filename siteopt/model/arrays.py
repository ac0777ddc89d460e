"""Constraint families given as sparse arrays: Pyomo components without per-row expressions.

A family with a row per served pair (hundreds of thousands of rows at scale) costs seconds
to build through rule functions and again to compile, one expression per row. Here such a
family is assembled by numpy from index arrays and stored as one `ArrayConstraint`: a
Pyomo `MatrixConstraint` (rows lb <= A x <= ub in CSR form) indexed by the family's keys,
so `m.serve_link[s, r, c, y]` is an ordinary constraint (body, bounds, name, value) while
the compiler (`siteopt.model.compile`) takes the whole block as arrays.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.core.base.component import ActiveComponent
from pyomo.core.base.matrix_constraint import MatrixConstraint, _MatrixConstraintData
from pyomo.core.expr.numeric_expr import LinearExpression

INF = np.inf


class _ArrayConstraintData(_MatrixConstraintData):
    """One row of an ArrayConstraint; its index is the family's key, not the row number."""

    __slots__ = ()

    def index(self) -> object:
        """The key of this row (as for rows of a rule-built constraint)."""
        return self.parent_component().row_keys[self._index]  # type: ignore[attr-defined]


class ArrayConstraint(MatrixConstraint):
    """Rows `lower <= A x <= upper`, one per key, with `x` a tuple of Pyomo variables.

    `lower`/`upper` use -inf/inf for no bound; rows are not ranged (each has one finite
    bound, or two equal ones). Rows and keys share one order, the family's index order.
    A row is compiled when both it and the family are active.
    """

    def __init__(self, keys: Sequence[Any], A: sp.csr_array, lower: np.ndarray,
                 upper: np.ndarray, x: tuple[pyo.Var, ...]):
        A = sp.csr_array(A)
        A.sum_duplicates()
        lower = np.asarray(lower, dtype=float)
        upper = np.asarray(upper, dtype=float)
        if A.shape != (len(keys), len(x)) or lower.shape != upper.shape != (len(keys),):
            raise ValueError(f"shape mismatch: A {A.shape}, {len(keys)} keys, {len(x)} columns")
        ranged = np.isfinite(lower) & np.isfinite(upper) & (lower != upper)
        if ranged.any():
            raise ValueError("ranged rows are not supported; split them in two families")
        self.row_keys = list(keys)
        self.A = A
        self.lower_bounds = lower
        self.upper_bounds = upper
        self._positions: dict[object, int] | None = None
        super().__init__(A.data, A.indices, A.indptr,
                         [None if v == -INF else float(v) for v in lower.tolist()],
                         [None if v == INF else float(v) for v in upper.tolist()], x)

    def construct(self, data: object = None) -> None:
        """Create the row objects (cheap: no expressions are built)."""
        if self._constructed:
            return
        self._constructed = True
        ref = weakref.ref(self)
        self._data = tuple(_ArrayConstraintData(i, ref) for i in range(len(self.row_keys)))

    def _position(self, key: object) -> int:
        if self._positions is None:
            self._positions = {k: i for i, k in enumerate(self.row_keys)}
        return self._positions[key]

    def __getitem__(self, key: object) -> _ArrayConstraintData:
        return self._data[self._position(key)]

    def __contains__(self, key: object) -> bool:
        try:
            self._position(key)
        except (KeyError, TypeError):
            return False
        return True

    def __iter__(self) -> Iterator[object]:
        return iter(self.row_keys)

    def keys(self, *_args: object, **_kw: object) -> list[object]:  # type: ignore[override]
        """The keys of the rows, in row order (Pyomo's sort arguments are accepted)."""
        return self.row_keys

    def values(self, *_args: object, **_kw: object  # type: ignore[override]
               ) -> tuple[_ArrayConstraintData, ...]:
        """The rows, in row order."""
        return self._data

    def items(self, *_args: object, **_kw: object  # type: ignore[override]
              ) -> Iterator[tuple[object, _ArrayConstraintData]]:
        """(key, row) pairs, in row order."""
        return zip(self.row_keys, self._data, strict=True)

    def activate(self) -> None:
        """Switch the family on; rows switched off one by one stay off."""
        ActiveComponent.activate(self)

    def deactivate(self) -> None:
        """Switch the whole family off (its rows keep their own flags)."""
        ActiveComponent.deactivate(self)

    def active_rows(self) -> np.ndarray:
        """Boolean mask of the rows still active (a row can be deactivated on its own)."""
        return np.fromiter((row._active for row in self._data), bool, len(self._data))


class ArrayLinearExpression(LinearExpression):
    """sum_i coefs[i] * x[positions[i]], kept as arrays beside the Pyomo terms.

    An ordinary linear expression for Pyomo; the compiler reads the arrays instead of
    visiting one term at a time.
    """

    __slots__ = ("coefs", "positions", "x")

    def __init__(self, coefs: np.ndarray, positions: np.ndarray, x: tuple[pyo.Var, ...]):
        self.coefs = np.asarray(coefs, dtype=float)
        self.positions = np.asarray(positions, dtype=np.int64)
        self.x = x
        super().__init__(constant=0, linear_coefs=self.coefs.tolist(),
                         linear_vars=[x[i] for i in self.positions.tolist()])

    def __call__(self, exception: bool = True) -> float | None:
        """The value at the variables' current values (from the arrays, not term by term)."""
        values = [self.x[i].value for i in self.positions.tolist()]
        if any(v is None for v in values):
            return super().__call__(exception)  # Pyomo's own error or None
        return float(np.dot(self.coefs, values)) if values else 0.0

    def create_node_with_local_data(self, args: tuple, classtype: type | None = None
                                    ) -> LinearExpression:
        """A plain LinearExpression over new args (clones and substitutions drop the arrays)."""
        return LinearExpression(list(args))


def ragged_take(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups [starts[i], starts[i] + counts[i]): (owner i, position) of every element.

    The vectorized form of `for i: for j in range(starts[i], starts[i] + counts[i])`.
    """
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, np.asarray(starts, dtype=np.int64)[owner] + offsets


def csr_rows(n_rows: int, row: np.ndarray, col: np.ndarray, val: np.ndarray,
             n_cols: int) -> sp.csr_array:
    """A CSR matrix from coordinate triples (duplicates summed), rows in the given order."""
    return sp.csr_array((np.asarray(val, dtype=float), (row, col)), shape=(n_rows, n_cols))
