"""Compiling a Pyomo model to the sparse matrices HiGHS takes, with no file in between.

Rule-built constraints and the objective go through Pyomo's standard-form compiler
(`LinearStandardFormCompiler`); `ArrayConstraint` families are already matrices and are
taken whole, so the large per-pair families cost array operations rather than one Python
expression per row. Any constraint a user adds to a built model is compiled like the
rest. Rows keep the model's component order; fixed variables move to the row bounds;
variables in no row and without cost are left out (as Pyomo's compiler does). A phase's
online columns are written as its `phase_on` where a row holds them all
(`siteopt.model.tightening.phase_on_in_rows`, an identity that changes no point).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.common.gc_manager import PauseGC
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from siteopt.errors import SiteoptError
from siteopt.model.arrays import ArrayConstraint, ArrayTerms, array_terms
from siteopt.model.pyomo_internals import check_pyomo, has_own_bounds, matrix_variables
from siteopt.model.tightening import phase_on_in_rows

INF = math.inf


@dataclass
class Matrices:
    """The compiled model: min c x + offset, row_lower <= A x <= row_upper, bounds, integrality.

    `rows[i]` is (constraint row, mult): mult 1 for <=, -1 for >=, 0 for ==, as in
    Pyomo's mixed standard form.
    """

    columns: list[pyo.Var]
    rows: RowList
    cost: np.ndarray
    offset: float
    A: sp.csc_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integrality: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """(rows, columns, nonzeros)."""
        return self.A.shape[0], self.A.shape[1], int(self.A.nnz)


class RowList(Sequence[tuple[object, int]]):
    """(constraint row, mult) of each matrix row, made when asked for.

    A model has hundreds of thousands of rows and most solves never look at one.
    """

    def __init__(self, parts: list[_Rows]):
        self._parts = [p for p in parts if len(p.mult)]
        self._ends = np.cumsum([len(p.mult) for p in self._parts], dtype=np.int64)

    def __len__(self) -> int:
        return int(self._ends[-1]) if len(self._ends) else 0

    def __getitem__(self, i: int) -> tuple[object, int]:  # type: ignore[override]
        n = len(self)
        i = int(i) + n if int(i) < 0 else int(i)
        if not 0 <= i < n:
            raise IndexError(i)
        k = int(np.searchsorted(self._ends, i, side="right"))
        part = self._parts[k]
        j = i - (int(self._ends[k - 1]) if k else 0)
        return part.row(j), int(part.mult[j])

    def __iter__(self) -> Iterator[tuple[object, int]]:
        for part in self._parts:
            objects = (part.objects if part.index is None
                       else (part.objects[i] for i in part.index.tolist()))
            yield from zip(objects, part.mult.tolist(), strict=False)


@dataclass
class _Rows:
    """Row objects of one part: objects[index[j]] (or objects[j]) with mult[j]."""

    objects: Sequence[object]
    index: np.ndarray | None
    mult: np.ndarray

    def row(self, j: int) -> object:
        return self.objects[j if self.index is None else int(self.index[j])]

    def slice(self, start: int, end: int) -> _Rows:
        assert self.index is None
        return _Rows(self.objects[start:end], None, self.mult[start:end])


class TrivialInfeasibilityError(SiteoptError):
    """A constraint with only fixed terms is violated (e.g. committed spend over a budget)."""


def compile_model(model: pyo.ConcreteModel) -> Matrices:
    """Compile the model's active objective and constraints to sparse matrices."""
    check_pyomo()
    # a model holds millions of objects: full garbage collections while compiling it
    # would cost more than the compilation
    with PauseGC():
        return _compile(model)


def _compile(model: pyo.ConcreteModel) -> Matrices:
    blocks = [c for c in model.component_objects(pyo.Constraint, active=True, descend_into=True)
              if isinstance(c, ArrayConstraint)]
    objectives = list(model.component_data_objects(pyo.Objective, active=True))
    objective = _ObjectiveTerms.of(model, objectives[0]) if len(objectives) == 1 else None
    hidden = blocks + ([objectives[0]] if objective is not None else [])
    for component in hidden:
        component.deactivate()
    try:
        info = LinearStandardFormCompiler().write(model, mixed_form=True)
    except InfeasibleConstraintException as exc:
        raise TrivialInfeasibilityError(str(exc)) from exc
    finally:
        for component in hidden:
            component.activate()
    cmap = _ColumnMap(list(info.columns))
    parts = {id(block): _block_part(block, cmap) for block in blocks}
    if objective is not None:
        obj_cols, obj_coefs, offset = objective.columns(cmap)
    columns = cmap.columns
    n_cols = len(columns)
    cost = np.zeros(n_cols)
    if objective is not None:
        np.add.at(cost, obj_cols, obj_coefs)
    else:
        offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
        if info.c.shape[0]:
            c = np.asarray(info.c.toarray()).ravel()
            cost[:len(c)] = c
    sense = np.fromiter((mult for _con, mult in info.rows), np.int8, len(info.rows))
    rhs = np.asarray(info.rhs, dtype=float)
    lsfc = _without_empty_rows(_Part(
        rows=_Rows([con for con, _mult in info.rows], None, sense), A=sp.csr_array(info.A),
        lower=np.where(sense == 1, -INF, rhs), upper=np.where(sense == -1, INF, rhs)))
    ordered = _in_component_order(model, lsfc, parts)
    A = sp.vstack([sp.csr_array((p.A.data, p.A.indices, p.A.indptr), shape=(p.A.shape[0], n_cols))
                   for p in ordered], format="csr") if ordered else sp.csr_array((0, n_cols))
    A = phase_on_in_rows(model, columns, sp.csc_array(A))
    A.sort_indices()
    if A.nnz < 2**31:  # HiGHS's index type: converting here saves a copy in the hand-off
        A.indices = A.indices.astype(np.int32, copy=False)
        A.indptr = A.indptr.astype(np.int32, copy=False)
    col_lower, col_upper, integrality = _column_bounds(columns)
    return Matrices(
        columns=columns, rows=RowList([p.rows for p in ordered]), cost=cost,
        offset=offset, A=A,
        row_lower=np.concatenate([p.lower for p in ordered]) if ordered else np.zeros(0),
        row_upper=np.concatenate([p.upper for p in ordered]) if ordered else np.zeros(0),
        col_lower=col_lower, col_upper=col_upper, integrality=integrality)


def _column_bounds(columns: list[pyo.Var]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper bounds (+-inf for none) and integrality (1 or 0) of each column.

    A variable without bounds of its own takes its domain's, looked up once per domain.
    """
    n = len(columns)
    lower, upper = np.empty(n), np.empty(n)
    integer = np.zeros(n, np.int8)
    by_domain: dict[int, tuple[float, float, int]] = {}
    for i, v in enumerate(columns):
        own = has_own_bounds(v)
        known = None if own else by_domain.get(id(v.domain))
        if known is None:
            lb, ub = v.bounds
            known = (-INF if lb is None else lb, INF if ub is None else ub,
                     1 if v.is_integer() else 0)
            if not own:
                by_domain[id(v.domain)] = known
        lower[i], upper[i], integer[i] = known
    return lower, upper, integer


@dataclass
class _Part:
    """Rows of the compiled matrix from one source, columns numbered globally."""

    rows: _Rows
    A: sp.csr_array
    lower: np.ndarray
    upper: np.ndarray


def _block_part(block: ArrayConstraint, cmap: _ColumnMap) -> _Part:
    """The active rows of an array family, fixed variables moved to the bounds.

    Variables not yet among `columns` are appended (in the family's variable order).
    """
    x = matrix_variables(block)
    A = block.A
    keep = block.active_rows()
    if not keep.all():
        A = A[np.flatnonzero(keep)]
    lower = block.lower_bounds[keep]
    upper = block.upper_bounds[keep]
    _glob, fixed = cmap.for_tuple(x)
    entry_fixed = fixed[A.indices]
    rows_of = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    if entry_fixed.any():
        value = np.zeros(len(x))
        where = np.flatnonzero(fixed)
        value[where] = [x[i].value for i in where.tolist()]
        shift = np.bincount(rows_of[entry_fixed],
                            A.data[entry_fixed] * value[A.indices[entry_fixed]],
                            minlength=A.shape[0])
        lower = lower - shift
        upper = upper - shift
    free = ~entry_fixed & (A.data != 0)
    glob = cmap.assign(x, _marked(len(x), A.indices[free]))
    rows_of, cols_of, data = rows_of[free], glob[A.indices[free]], A.data[free]
    empty = np.bincount(rows_of, minlength=A.shape[0]) == 0
    if empty.any():
        _check_constant_rows(block, np.flatnonzero(keep)[empty], lower[empty], upper[empty])
        kept = np.flatnonzero(~empty)
        renumber = np.cumsum(~empty) - 1
        rows_of = renumber[rows_of]
        lower, upper = lower[kept], upper[kept]
    else:
        kept = np.arange(A.shape[0])
    matrix = sp.csr_array((data, (rows_of, cols_of)), shape=(len(kept), len(cmap.columns)))
    mult = np.where(lower == upper, 0, np.where(np.isfinite(upper), 1, -1)).astype(np.int8)
    rows = _Rows(block.values(), np.flatnonzero(keep)[kept], mult)
    return _Part(rows=rows, A=matrix, lower=lower, upper=upper)


class _ColumnMap:
    """Global column numbers of variables, extended as array families reference new ones."""

    def __init__(self, columns: list[pyo.Var]):
        self.columns = columns
        self.position = {id(v): i for i, v in enumerate(columns)}
        self._by_tuple: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def for_tuple(self, x: tuple[pyo.Var, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(global column or -1, fixed flag) per position of `x`, computed once per tuple."""
        known = self._by_tuple.get(id(x))
        if known is None:
            glob = np.fromiter((self.position.get(id(v), -1) for v in x), np.int64, len(x))
            fixed = np.fromiter((v.fixed for v in x), bool, len(x))
            known = self._by_tuple[id(x)] = (glob, fixed)
        return known

    def append(self, v: pyo.Var) -> int:
        """Give `v` the next column number (it must not have one yet)."""
        j = self.position[id(v)] = len(self.columns)
        self.columns.append(v)
        self._by_tuple = {}  # cached tuples holding v would now be stale
        return j

    def assign(self, x: tuple[pyo.Var, ...], used: np.ndarray) -> np.ndarray:
        """Global columns of `x`, giving the used positions without one the next numbers."""
        glob, fixed = self.for_tuple(x)
        new = used[glob[used] < 0]
        if len(new):
            glob[new] = len(self.columns) + np.arange(len(new))
            added = [x[i] for i in new.tolist()]
            self.position.update((id(v), j) for v, j in zip(added, glob[new].tolist(),
                                                             strict=True))
            self.columns.extend(added)
            # another tuple may hold the same variables: its cached numbers are now stale
            self._by_tuple = {id(x): (glob, fixed)}
        return glob

def _check_constant_rows(block: ArrayConstraint, rows: np.ndarray, lower: np.ndarray,
                         upper: np.ndarray) -> None:
    """Rows left with fixed terms only must hold as they are, or the model is infeasible."""
    bad = _violated(lower, upper)
    if bad.any():
        _infeasible(block.values()[int(rows[np.flatnonzero(bad)[0]])])


def _in_component_order(model: pyo.ConcreteModel, lsfc: _Part, parts: dict[int, _Part]
                        ) -> list[_Part]:
    """The row blocks in the model's component order (rule rows sliced by component)."""
    out: list[_Part] = []
    start = 0
    rows = lsfc.rows.objects
    n = len(rows)
    for comp in model.component_objects(pyo.Constraint, active=True, descend_into=True):
        if id(comp) in parts:
            out.append(parts[id(comp)])
            continue
        end = start
        while end < n and rows[end].parent_component() is comp:  # type: ignore[attr-defined]
            end += 1
        if end > start:
            out.append(_slice(lsfc, start, end))
        start = end
    if start < n:  # rows in an order this walk did not predict: keep them all
        out.append(_slice(lsfc, start, n))
    return out


def _without_empty_rows(part: _Part) -> _Part:
    """Rows whose variables are all fixed (Pyomo keeps them empty) checked, then dropped."""
    A = part.A
    A.eliminate_zeros()
    empty = np.diff(A.indptr) == 0
    if not empty.any():
        return part
    where = np.flatnonzero(empty)
    bad = _violated(part.lower[where], part.upper[where])
    if bad.any():
        _infeasible(part.rows.row(int(where[np.flatnonzero(bad)[0]])))
    kept = np.flatnonzero(~empty)
    objects = part.rows.objects
    return _Part(rows=_Rows([objects[i] for i in kept.tolist()], None, part.rows.mult[kept]),
                 A=A[kept], lower=part.lower[kept], upper=part.upper[kept])


def _infeasible(row: object) -> None:
    """Raise for a row whose terms are all fixed and whose bounds they violate."""
    raise TrivialInfeasibilityError(
        f"model contains a trivially infeasible constraint, '{row.name}'")  # type: ignore[attr-defined]


def _violated(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Whether 0 lies outside [lower, upper] (beyond a relative tolerance of 1e-9)."""
    scale = np.maximum(1.0, np.maximum(np.abs(np.nan_to_num(lower, posinf=0, neginf=0)),
                                       np.abs(np.nan_to_num(upper, posinf=0, neginf=0))))
    return (lower > 1e-9 * scale) | (upper < -1e-9 * scale)


def _slice(part: _Part, start: int, end: int) -> _Part:
    return _Part(rows=part.rows.slice(start, end), A=part.A[start:end],
                 lower=part.lower[start:end], upper=part.upper[start:end])


class _UnsupportedTermError(Exception):
    """An objective term the fast reader does not handle (Pyomo's compiler takes it)."""


class _ObjectiveTerms:
    """The linear form of a minimized objective, reading array-kept expressions as arrays.

    Reads sums, products and quotients by constants, negations, named expressions, variables
    and constants; anything else (or a maximized objective) leaves the objective to Pyomo.
    """

    def __init__(self, model: pyo.ConcreteModel) -> None:
        self.model = model
        self.coef: dict[int, float] = {}
        self.var: dict[int, pyo.Var] = {}
        self.arrays: list[tuple[ArrayTerms, float]] = []
        self.constant = 0.0

    @classmethod
    def of(cls, model: pyo.ConcreteModel, objective: pyo.Objective) -> _ObjectiveTerms | None:
        """The terms of `objective`, or None where Pyomo's compiler must read it."""
        if objective.sense != pyo.minimize:
            return None
        terms = cls(model)
        try:
            terms._add(objective.expr, 1.0)
        except _UnsupportedTermError:
            return None
        return terms

    def _add(self, expr: object, scale: float) -> None:
        if expr.__class__ in (int, float) or isinstance(expr, (int, float, np.number)):
            self.constant += scale * float(expr)  # type: ignore[arg-type]
            return
        arrays = array_terms(self.model, expr)
        if arrays is not None:
            self.arrays.append((arrays, scale))
            return
        if expr.is_variable_type():  # type: ignore[attr-defined]
            if expr.fixed:  # type: ignore[attr-defined]
                self.constant += scale * pyo.value(expr)
                return
            key = id(expr)
            self.var[key] = expr  # type: ignore[assignment]
            self.coef[key] = self.coef.get(key, 0.0) + scale
            return
        if not expr.is_potentially_variable():  # type: ignore[attr-defined]
            self.constant += scale * pyo.value(expr)
            return
        if expr.is_named_expression_type():  # type: ignore[attr-defined]
            self._add(expr.expr, scale)  # type: ignore[attr-defined]
            return
        name = type(expr).__name__
        args = expr.args  # type: ignore[attr-defined]
        if name in ("SumExpression", "LinearExpression"):
            for arg in args:
                self._add(arg, scale)
        elif name in ("MonomialTermExpression", "ProductExpression"):
            a, b = args
            if _is_constant(a):
                self._add(b, scale * pyo.value(a))
            elif _is_constant(b):
                self._add(a, scale * pyo.value(b))
            else:
                raise _UnsupportedTermError(name)
        elif name == "NegationExpression":
            self._add(args[0], -scale)
        elif name == "DivisionExpression" and _is_constant(args[1]):
            self._add(args[0], scale / pyo.value(args[1]))
        else:
            raise _UnsupportedTermError(name)

    def columns(self, cmap: _ColumnMap) -> tuple[np.ndarray, np.ndarray, float]:
        """(column, coefficient) arrays and the constant; new columns are added to `cmap`."""
        constant = self.constant
        cols: list[np.ndarray] = []
        coefs: list[np.ndarray] = []
        single = [(cmap.position.get(key), key, c) for key, c in self.coef.items() if c != 0]
        cols.append(np.array([cmap.append(self.var[key]) if j is None else j
                              for j, key, _c in single], dtype=np.int64))
        coefs.append(np.array([c for _j, _key, c in single], dtype=float))
        for expr, scale in self.arrays:
            _glob, fixed = cmap.for_tuple(expr.x)
            pos = expr.positions
            is_fixed = fixed[pos]
            if is_fixed.any():
                values = np.array([expr.x[i].value for i in pos[is_fixed].tolist()], float)
                constant += scale * float(expr.coefs[is_fixed] @ values)
            live = ~is_fixed & (expr.coefs != 0)
            glob = cmap.assign(expr.x, _marked(len(expr.x), pos[live]))
            cols.append(glob[pos[live]])
            coefs.append(scale * expr.coefs[live])
        return np.concatenate(cols), np.concatenate(coefs), constant


def _is_constant(expr: object) -> bool:
    return (isinstance(expr, (int, float, np.number))
            or not expr.is_potentially_variable())  # type: ignore[attr-defined]


def _marked(n: int, positions: np.ndarray) -> np.ndarray:
    """The distinct values of `positions` (all in range(n)), ascending."""
    mark = np.zeros(n, bool)
    mark[positions] = True
    return np.flatnonzero(mark)
