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
