"""Classic location families (`models/classic.md`): site count and the p-center radius ladder.

Symbols follow `models/siteplan.md`; every function's docstring states its rows.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from siteopt.model.arrays import ArrayConstraint, csr_rows
from siteopt.model.data import ModelData
from siteopt.model.indexing import Columns, PairArrays


def add_site_limit(m: pyo.ConcreteModel, d: ModelData) -> None:
    """sum_s open[s,T] == p (or <= p): the p of the p-median, p-center and maximal covering."""
    if d.p_sites is None:
        return
    count = pyo.quicksum(m.open[s, d.last_year] for s in d.S)
    m.site_limit = pyo.Constraint(
        expr=count == d.p_sites if d.site_rule == "exactly" else count <= d.p_sites)


def _level_of(d: ModelData) -> dict[tuple[str, str], int]:
    position = {v: i for i, v in enumerate(d.rtt_levels)}
    return {(s, r): position[round(v, 9)] for (s, r), v in d.latency.items()
            if v == v and round(v, 9) in position}


def define_rtt_levels(m: pyo.ConcreteModel, d: ModelData, cols: Columns) -> None:
    """p-center only: rtt_level[l] = 1 when the worst served round trip reaches rtt_levels[l]."""
    if d.objective != "max_rtt":
        return
    m.L = pyo.Set(initialize=range(1, len(d.rtt_levels)), ordered=True)
    m.rtt_level = pyo.Var(m.L, within=pyo.Binary)
    cols.add(m, "rtt_level")


def add_rtt_level_order(m: pyo.ConcreteModel, d: ModelData) -> None:
    """rtt_level[l] <= rtt_level[l-1]: reaching a level means reaching every lower one."""
    if d.objective != "max_rtt":
        return

    def rule(m: pyo.ConcreteModel, lv: int) -> object:
        if lv == 1:
            return pyo.Constraint.Skip
        return m.rtt_level[lv] <= m.rtt_level[lv - 1]

    m.rtt_level_order = pyo.Constraint(m.L, rule=rule)


def add_rtt_reach(m: pyo.ConcreteModel, d: ModelData, pairs: PairArrays, cols: Columns) -> None:
    """serve[s,r,c,y] <= demand[r,c,y] * rtt_level[l(s,r)]: using a pair reaches its level.

    Pairs at the lowest level (and location-free regions) have no row: they never raise
    the worst served round trip above rtt_levels[0].
    """
    if d.objective != "max_rtt":
        return
    level_of = _level_of(d)
    level = np.fromiter((level_of.get((s, r), 0) for s, r, _c, _y in d.SRCY), np.int64,
                        pairs.n)
    kept = np.flatnonzero(level >= 1)
    n = len(kept)
    row = np.concatenate([np.arange(n), np.arange(n)])
    col = np.concatenate([cols.start["serve"] + kept,
                          cols.start["rtt_level"] + level[kept] - 1])
    val = np.concatenate([np.ones(n), -pairs.demand[kept]])
    keys = [d.SRCY[j] for j in kept.tolist()]
    m.rtt_reach_index = pyo.Set(initialize=keys, dimen=4, ordered=True)
    m.rtt_reach = ArrayConstraint(
        keys, csr_rows(n, row, col, val, len(cols.x)),
        np.full(n, -np.inf), np.zeros(n), cols.x)


# ---- backup coverage (LSCP-B), p-dispersion, single-source service (issue 16) ---------------

def _reach_by_rcy(d: ModelData) -> dict[tuple[str, str, int], list[str]]:
    """For each (r, c, y) of RCY: the sites of SRCY that may serve it (within target)."""
    out: dict[tuple[str, str, int], list[str]] = {key: [] for key in d.RCY}
    for s, r, c, y in d.SRCY:
        out[r, c, y].append(s)
    return out


def add_backup_cover(m: pyo.ConcreteModel, d: ModelData, cols: Columns) -> None:
    """LSCP-B only: 2 backed_up[r,c,y] <= sum_{s: (s,r,c,y) in SRCY} open[s,y].

    backed_up[r,c,y] (binary) = 1 only if at least two open sites may serve (r, c) in year y
    within its latency target; the objective `backup_uncovered_mw` counts the demand
    without it.
    """
    if d.objective != "backup_uncovered_mw":
        return
    m.backed_up = pyo.Var(m.RCY, within=pyo.Binary)
    cols.add(m, "backed_up")
    reach = _reach_by_rcy(d)

    def rule(m: pyo.ConcreteModel, r: str, c: str, y: int) -> object:
        return 2 * m.backed_up[r, c, y] <= pyo.quicksum(m.open[s, y] for s in reach[r, c, y])

    m.backup_cover = pyo.Constraint(m.RCY, rule=rule)


def separation_pairs(d: ModelData) -> tuple[float, list[tuple[str, str, float]]]:
    """p-dispersion: the largest distance D_max and the pairs (a, b, km) with km < D_max."""
    dist = d.site_km or {}
    top = max(dist.values(), default=0.0)
    return top, [(a, b, km) for (a, b), km in dist.items() if km < top]


def add_separation(m: pyo.ConcreteModel, d: ModelData, cols: Columns) -> None:
    """p-dispersion only: separation <= d_ab + (D_max - d_ab) (2 - open[a,T] - open[b,T]).

    separation (km, 0 <= separation <= D_max) is at most the distance of every pair of
    sites open at the end of the horizon; the big-M of each pair is D_max - d_ab, the
    smallest that leaves the row slack (separation <= D_max) when a or b is closed.
    Pairs at D_max need no row.
    """
    if d.objective != "min_separation_km":
        return
    top, pairs = separation_pairs(d)
    m.separation = pyo.Var(bounds=(0.0, top))
    cols.add(m, "separation")
    m.separation_pair_index = pyo.Set(initialize=[(a, b) for a, b, _km in pairs], dimen=2,
                                      ordered=True)
    km = {(a, b): v for a, b, v in pairs}
    T = d.last_year

    def rule(m: pyo.ConcreteModel, a: str, b: str) -> object:
        big = top - km[a, b]
        return m.separation <= km[a, b] + big * (2 - m.open[a, T] - m.open[b, T])

    m.separation_pair = pyo.Constraint(m.separation_pair_index, rule=rule)


def add_single_source(m: pyo.ConcreteModel, d: ModelData, pairs: PairArrays,
                      cols: Columns) -> None:
    """Single-source service (`service.single_source`): one site per (region, class, year).

    assign[s,r,c,y] binary over SRCY;
    single_source: sum_s assign[s,r,c,y] <= 1 for every (r,c,y) of RCY some site may serve
    (== 1 when demand may not go unserved; a segment no site may serve has no row: its
    demand_balance decides);
    assign_link: serve[s,r,c,y] <= demand[r,c,y] assign[s,r,c,y] (no big-M: the demand).
    """
    if not d.single_sourced:
        return
    m.assign = pyo.Var(m.SRCY, within=pyo.Binary)
    cols.add(m, "assign")
    n = pairs.n
    ones = np.ones(n)
    used, row_of = np.unique(pairs.rcy, return_inverse=True)  # segments some site may serve
    n_rcy = len(used)
    lower = np.full(n_rcy, 1.0 if not d.allow_unserved else -np.inf)
    m.single_source = ArrayConstraint(
        [d.RCY[i] for i in used.tolist()],
        csr_rows(n_rcy, row_of, cols.start["assign"] + np.arange(n), ones, len(cols.x)),
        lower, np.ones(n_rcy), cols.x)
    row = np.concatenate([np.arange(n), np.arange(n)])
    col = np.concatenate([cols.start["serve"] + np.arange(n),
                          cols.start["assign"] + np.arange(n)])
    val = np.concatenate([ones, -pairs.demand])
    m.assign_link = ArrayConstraint(
        list(d.SRCY), csr_rows(n, row, col, val, len(cols.x)), np.full(n, -np.inf),
        np.zeros(n), cols.x)
