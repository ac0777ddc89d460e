"""Capacity families: site caps, load within capacity, load balance, cooling–class routing.

Symbols follow `models/siteplan.md`; every function's docstring states its rows.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyomo.environ as pyo

from siteopt.model.arrays import ArrayConstraint, csr_rows
from siteopt.model.data import ModelData
from siteopt.model.indexing import Columns, Lookups, PairArrays, expand


def capped_sites(d: ModelData) -> list[str]:
    """Sites whose cap could bind: existing capacity and every phase exceed `max_it`."""
    total_possible: dict[str, float] = defaultdict(float)
    for (s, _k), mw in d.existing.items():
        total_possible[s] += mw
    for sp, mw in d.phase_it.items():
        total_possible[sp[0]] += mw
    return [s for s in d.S if s in d.max_it and total_possible[s] > d.max_it[s] + 1e-9]


def add_site_max_capacity(m: pyo.ConcreteModel, d: ModelData, ix: Lookups) -> None:
    """sum_k capacity[s,k,y] <= max_it[s] where a site cap is given and could bind."""
    capped = set(capped_sites(d))

    def rule(m: pyo.ConcreteModel, s: str, y: int) -> object:
        if s not in capped:
            return pyo.Constraint.Skip
        if not ix.site_k_y[s, y]:
            return pyo.Constraint.Skip
        return pyo.quicksum(m.capacity[s, k, y] for k in ix.site_k_y[s, y]) <= d.max_it[s]

    m.site_max_capacity = pyo.Constraint(m.S, m.Y, rule=rule)


def add_it_load_capacity(m: pyo.ConcreteModel, d: ModelData) -> None:
    """it_load[s,k,y] <= max_utilization * capacity[s,k,y]."""

    def rule(m: pyo.ConcreteModel, s: str, k: str, y: int) -> object:
        return m.it_load[s, k, y] <= d.max_utilization * m.capacity[s, k, y]

    m.it_load_capacity = pyo.Constraint(m.SKY, rule=rule)


def add_it_load_balance(m: pyo.ConcreteModel, d: ModelData, pairs: PairArrays,
                        cols: Columns) -> None:
    """sum_k it_load[s,k,y] == sum_{r,c} serve[s,r,c,y]: served load runs on some cooling.

    One row per (s, y) with capacity possible (serve exists only there, see SRCY).
    """
    ny = pairs.n_years
    s_pos = pairs.s_pos
    sky_code = np.fromiter((s_pos[s] * ny + y - d.first_year for s, _k, y in d.SKY),
                           np.int64, len(d.SKY))
    codes = np.unique(sky_code)
    if not np.isin(pairs.site_year, codes).all():
        raise AssertionError("a serve variable exists where its site has no capacity")
    n_sky = len(d.SKY)
    row = np.concatenate([np.searchsorted(codes, sky_code),
                          np.searchsorted(codes, pairs.site_year)])
    col = np.concatenate([cols.start["it_load"] + np.arange(n_sky),
                          cols.start["serve"] + np.arange(pairs.n)])
    val = np.concatenate([np.ones(n_sky), -np.ones(pairs.n)])
    keys = [(d.S[c // ny], d.first_year + c % ny) for c in codes.tolist()]
    zero = np.zeros(len(keys))
    m.it_load_balance = ArrayConstraint(
        keys, csr_rows(len(keys), row, col, val, len(cols.x)), zero, zero, cols.x)


def add_cooling_class(m: pyo.ConcreteModel, d: ModelData, pairs: PairArrays,
                      cols: Columns) -> None:
    """For each cooling group g of a site: load of classes hostable only within g <= load on g.

    sum_{r, c in classes(g)} serve[s,r,c,y] <= sum_{k in g} it_load[s,k,y], one row per
    (s, g, y) in cooling_class_index (s has a serve variable in y) where some such pair is
    served. By Hall's theorem these rows (over the
    union-closure of the classes' allowed sets) make the per-cooling loads splittable
    among the classes exactly.
    """
    ny, n_c = pairs.n_years, len(d.C)
    c_pos = pairs.c_pos
    k_pos = pairs.k_pos
    groups = [(si, gi, techs, classes) for si, s in enumerate(d.S)
              for gi, (techs, classes) in enumerate(d.groups[s])]
    # group ids per (site, class) and per (site, cooling), as ragged lists
    by_sc: dict[int, list[int]] = defaultdict(list)
    by_sk: dict[int, list[int]] = defaultdict(list)
    for g, (si, _gi, techs, classes) in enumerate(groups):
        for c in classes:
            by_sc[si * n_c + c_pos[c]].append(g)
        for k in techs:
            by_sk[si * len(d.K) + k_pos[k]].append(g)
    serve_g, serve_j = expand(by_sc, pairs.site * n_c + pairs.cls)
    serve_code = serve_g * ny + pairs.year[serve_j]
    s_pos = pairs.s_pos
    sky_sk = np.fromiter((s_pos[s] * len(d.K) + k_pos[k] for s, k, _y in d.SKY), np.int64,
                         len(d.SKY))
    sky_year = np.fromiter((y - d.first_year for _s, _k, y in d.SKY), np.int64, len(d.SKY))
    load_g, load_j = expand(by_sk, sky_sk)
    load_code = load_g * ny + sky_year[load_j]
    codes = np.unique(serve_code)
    has_row = np.isin(load_code, codes)
    row = np.concatenate([np.searchsorted(codes, serve_code),
                          np.searchsorted(codes, load_code[has_row])])
    col = np.concatenate([cols.start["serve"] + serve_j,
                          cols.start["it_load"] + load_j[has_row]])
    val = np.concatenate([np.ones(len(serve_j)), -np.ones(int(has_row.sum()))])
    keys = [(d.S[groups[c // ny][0]], groups[c // ny][1], d.first_year + c % ny)
            for c in codes.tolist()]
    served = set(np.unique(pairs.site_year).tolist())
    m.cooling_class_index = pyo.Set(initialize=[
        (d.S[si], gi, y) for si, gi, _t, _c in groups for y in d.Y
        if si * ny + y - d.first_year in served], dimen=3, ordered=True)
    m.cooling_class = ArrayConstraint(
        keys, csr_rows(len(keys), row, col, val, len(cols.x)), np.full(len(keys), -np.inf),
        np.zeros(len(keys)), cols.x)
