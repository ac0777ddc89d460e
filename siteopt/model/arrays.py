"""Constraint families given as sparse arrays: Pyomo components without per-row expressions.

A family with a row per served pair (hundreds of thousands of rows at scale) costs seconds
to build through rule functions and again to compile, one expression per row. Here such a
family is assembled by numpy from index arrays and stored as one `ArrayConstraint`: a
Pyomo `MatrixConstraint` (rows lb <= A x <= ub in CSR form) indexed by the family's keys,
so `m.serve_link[s, r, c, y]` is an ordinary constraint (body, bounds, name, value) while
the compiler (`siteopt.model.compile`) takes the whole block as arrays.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.core.base.component import ActiveComponent
from pyomo.core.expr.numeric_expr import LinearExpression

from siteopt.model.pyomo_internals import MatrixConstraint, _MatrixConstraintData

INF = np.inf


class _ArrayConstraintData(_MatrixConstraintData):
    """One row of an ArrayConstraint; its index is the family's key, not the row number."""

    __slots__ = ()

    def index(self) -> object:
        """The key of this row (as for rows of a rule-built constraint)."""
        return self.parent_component().row_keys[self._index]  # type: ignore[attr-defined]

    def to_bounded_expression(self, evaluate_bounds: bool = False) -> tuple[object, object,
                                                                              object]:
        """(lower, body, upper), as Pyomo's writers and solver interfaces read a row."""
        return self.lower, self.body, self.upper

    @property
    def _expr(self) -> object:
        """The row as a relational expression (made on demand; rows store arrays)."""
        lower, body, upper = self.to_bounded_expression()
        if lower is not None and lower == upper:
            return body == upper
        return body <= upper if lower is None else lower <= body

    @property
    def expr(self) -> object:
        """The row as a relational expression, e.g. `serve[...] - 5.0*online[...] <= 0`."""
        return self._expr

    @property
    def lb(self) -> float | None:
        """The lower bound, None if there is none."""
        return self.lower

    @property
    def ub(self) -> float | None:
        """The upper bound, None if there is none."""
        return self.upper


class _Bounds:
    """Row bounds as MatrixConstraint reads them (None for an infinite one), from an array."""

    def __init__(self, values: np.ndarray):
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i: int) -> float | None:
        v = float(self.values[i])
        return None if math.isinf(v) else v


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
        # MatrixConstraint's rows read their bounds as _lower[i] / _upper[i] (None: none)
        super().__init__(A.data, A.indices, A.indptr, _Bounds(lower), _Bounds(upper), x)

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


@dataclass(frozen=True)
class ArrayTerms:
    """sum_i coefs[i] * x[positions[i]]: the terms of one linear expression, as arrays."""

    expr: LinearExpression
    coefs: np.ndarray
    positions: np.ndarray
    x: tuple[pyo.Var, ...]

    def value(self) -> float:
        """The expression's value at the variables' current values (None counts as 0)."""
        values = np.fromiter((self.x[i].value or 0.0 for i in self.positions.tolist()), float,
                             len(self.positions))
        return float(self.coefs @ values)


#: Attribute of a model holding its ArrayTerms by id of the expression.
_REGISTRY = "_siteopt_array_terms"


def array_linear_expression(model: pyo.Block, coefs: np.ndarray, positions: np.ndarray,
                            x: tuple[pyo.Var, ...]) -> LinearExpression:
    """An ordinary Pyomo LinearExpression whose terms `model` also keeps as arrays.

    Pyomo sees a plain expression (every writer and visitor handles it); siteopt's compiler
    and result tables read the arrays (see `array_terms`) instead of visiting each term.
    """
    coefs = np.asarray(coefs, dtype=float)
    positions = np.asarray(positions, dtype=np.int64)
    expr = LinearExpression(constant=0, linear_coefs=coefs.tolist(),
                            linear_vars=[x[i] for i in positions.tolist()])
    registry = model.__dict__.setdefault(_REGISTRY, {})
    registry[id(expr)] = ArrayTerms(expr, coefs, positions, x)
    return expr


def array_terms(model: pyo.Block, expr: object) -> ArrayTerms | None:
    """The arrays kept for `expr` by `model`, if it made them (and expr is still that object)."""
    terms = model.__dict__.get(_REGISTRY, {}).get(id(expr))
    return terms if terms is not None and terms.expr is expr else None


def adopt_array_terms(parent: pyo.Block, child: pyo.Block) -> None:
    """Let `parent` read the arrays `child` keeps (a model built as a block of another).

    The compiler reads an objective through the arrays of the model it compiles; a model
    that holds other models as blocks (the stochastic extensive form) adopts theirs.
    """
    parent.__dict__.setdefault(_REGISTRY, {}).update(child.__dict__.get(_REGISTRY, {}))


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
