"""Capacitated facility location on its textbook formulation: `--method cfl`.

For a model that `siteopt.solver.facility.detect` reads as a single-year facility-location
problem (the OR-Library capa/capb/capc and cap41-cap134 imports, or any instance of that
shape), HiGHS solves the problem in its textbook form (`models/classic.md` §12):

    min  sum_s fixed[s] y[s] + sum_{s,c} cost[s,c] share[s,c]
    s.t. sum_s share[s,c] = 1                             every customer with demand
         sum_c demand[c] share[s,c] <= capacity[s] y[s]   capacity
         share[s,c] <= y[s]                               linking
         sum_s y[s] = p  (or <= p)                        site count, if any
         y binary, 0 <= share <= 1

instead of siteopt's generic model, whose extra families (`it_load`, its balance, the
grid and capacity rows per cooling, `phase_on`) carry the same information for a single
year and phase but give HiGHS's search more to work through. It is a relaxation of the
model (a plan of the model is a plan here at no more cost), so its bound is a bound of the
model; its plan is mapped back and checked there (`facility.outcome_of`).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from siteopt.model.compile import Matrices
from siteopt.solver.facility import FacilityLayer, outcome_of, to_columns
from siteopt.solver.highs import SolveOptions, SolverOutcome, solve_matrices


def textbook(layer: FacilityLayer) -> tuple[Matrices, np.ndarray, np.ndarray]:
    """The textbook model as matrices, with the (site, customer) of each share column."""
    n, m = layer.cost.shape
    pair_s, pair_c = np.nonzero(np.isfinite(layer.cost) & (layer.demand[None, :] > 0))
    k = len(pair_s)
    share = n + np.arange(k)  # columns: y (n), then one share per pair
    customers = np.flatnonzero(layer.demand > 0)
    row_of_c = np.full(m, -1)
    row_of_c[customers] = np.arange(len(customers))
    r_assign = row_of_c[pair_c]
    r_cap = len(customers) + np.arange(n)
    r_link = len(customers) + n + np.arange(k)
    rows = [r_assign, r_cap[pair_s], r_cap, r_link, r_link]
    cols = [share, share, np.arange(n), share, pair_s]
    vals = [np.ones(k), layer.demand[pair_c], -layer.capacity, np.ones(k), -np.ones(k)]
    lower = [np.ones(len(customers)), np.full(n, -np.inf), np.full(k, -np.inf)]
    upper = [np.ones(len(customers)), np.zeros(n), np.zeros(k)]
    n_rows = len(customers) + n + k
    if layer.count is not None:
        rows.append(np.full(n, n_rows))
        cols.append(np.arange(n))
        vals.append(np.ones(n))
        lower.append(np.array([float(layer.count) if layer.exactly else -np.inf]))
        upper.append(np.array([float(layer.count)]))
        n_rows += 1
    A = sp.csc_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                     shape=(n_rows, n + k))
    mat = Matrices(columns=[None] * (n + k), rows=[],  # type: ignore[arg-type]
                   cost=np.concatenate([layer.fixed, layer.cost[pair_s, pair_c]]), offset=0.0,
                   A=A, row_lower=np.concatenate(lower), row_upper=np.concatenate(upper),
                   col_lower=np.concatenate([layer.y_lower, np.zeros(k)]),
                   col_upper=np.concatenate([layer.y_upper, np.ones(k)]),
                   integrality=np.concatenate([np.ones(n, dtype=np.int8),
                                               np.zeros(k, dtype=np.int8)]))
    return mat, pair_s, pair_c


def solve_cfl(mat: Matrices, layer: FacilityLayer, options: SolveOptions
              ) -> tuple[SolverOutcome, SolverOutcome | str]:
    """The textbook model solved by HiGHS, and its plan as an outcome of `mat` (or why not)."""
    start = time.perf_counter()
    book, pair_s, pair_c = textbook(layer)
    run = solve_matrices(book, options)
    if run.x is None:
        return run, run
    n = len(layer.sites)
    y = np.round(run.x[:n])
    share = np.zeros_like(layer.cost)
    share[pair_s, pair_c] = np.clip(run.x[n:], 0.0, 1.0) * y[pair_s]
    x = to_columns(mat, layer, y, share)
    return run, outcome_of(mat, x, run.objective, status=run.status, bound=run.bound,
                           method="cfl", seconds=time.perf_counter() - start,
                           nodes=run.nodes, interrupted_by=run.interrupted_by)
