"""Tightening families: rows every integer plan satisfies that the LP relaxation misses.

They change no plan and no optimum, only how fast HiGHS proves it (`models/siteplan.md` §4,
"Tightening"): `phase_on` gives the search one binary per phase and year whatever its
cooling; `grid_cover_single` and `grid_cover_pair` are covers of `grid_headroom` lifted along
the build order, with the zone's upgrades as the switch; phases that can never fit their
zone are fixed offline; `phase_on_in_rows` writes `phase_on` into the compiled rows that
hold all of a phase's online columns alike. Measured on `vietnam-2026`, gen-small and gen-medium in
`docs/benchmarks.md`.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from scipy import sparse

from siteopt.model.data import ModelData
from siteopt.model.indexing import Lookups

#: Facility MW below which a weight counts as fitting (rounding of the data).
EPS = 1e-7


def add_phase_on(m: pyo.ConcreteModel, d: ModelData, ix: Lookups) -> None:
    """phase_on[s,p,y] == sum_k online[s,p,k,y], binary, monotone in y.

    For every non-committed phase with two or more coolings in year y. Valid because
    `phase_once` and `online_monotone` make the sum 0 or 1 in every integer plan; HiGHS can
    then branch on "phase online" regardless of its cooling.
    """
    keys = [(s, p, y) for (s, p) in d.SP for y in d.Y
            if len(ix.online_k[s, p, y]) >= 2 and (s, p) not in d.phase_committed]
    m.phase_on_index = pyo.Set(initialize=keys, dimen=3, ordered=True)
    m.phase_on = pyo.Var(m.phase_on_index, within=pyo.Binary)

    def define(m: pyo.ConcreteModel, s: str, p: str, y: int) -> object:
        return m.phase_on[s, p, y] == pyo.quicksum(m.online[s, p, k, y]
                                                   for k in ix.online_k[s, p, y])

    m.phase_on_def = pyo.Constraint(m.phase_on_index, rule=define)
    present = set(keys)

    def monotone(m: pyo.ConcreteModel, s: str, p: str, y: int) -> object:
        if (s, p, y - 1) not in present:
            return pyo.Constraint.Skip
        return m.phase_on[s, p, y - 1] <= m.phase_on[s, p, y]

    m.phase_on_monotone = pyo.Constraint(m.phase_on_index, rule=monotone)


def _chain_weights(d: ModelData, ix: Lookups, z: str, y: int
                   ) -> tuple[float, list[tuple[str, str, str, float]]]:
    """Slack S of zone z in year y and the weight W of each free online[s,p,k,y].

    S = derate * headroom minus the facility MW of existing and committed capacity (always
    there). W = pue_k it_p plus, for every non-committed predecessor q of p in build order,
    the least pue * it_q over q's coolings: `phase_order` puts q online whenever p is.
    """
    fixed = 0.0
    for s in ix.zone_sites[z]:
        for k in ix.site_k_y[s, y]:
            fixed += d.pue[k] * d.existing.get((s, k), 0.0)
            fixed += sum(d.pue[k] * d.phase_it[sp] for sp in ix.site_phase_y[s, k, y]
                         if sp in d.phase_committed)
    slack = d.derate[z] * d.headroom[z, y] - fixed
    items = []
    for s in ix.zone_sites[z]:
        for k in ix.site_k_y[s, y]:
            for sp in ix.site_phase_y[s, k, y]:
                if sp in d.phase_committed:
                    continue
                w = d.pue[k] * d.phase_it[sp]
                q = d.phase_prev[sp]
                while q is not None:
                    if q not in d.phase_committed:
                        ks = ix.online_k[q[0], q[1], y]
                        if not ks:  # the predecessor cannot be online yet: nor can sp
                            w = float("inf")
                            break
                        w += min(d.pue[kk] for kk in ks) * d.phase_it[q]
                    q = d.phase_prev[q]
                items.append((sp[0], sp[1], k, w))
    return slack, items


def add_grid_cover(m: pyo.ConcreteModel, d: ModelData, ix: Lookups) -> None:
    """Covers of `grid_headroom` lifted along the build order, with upgrades as the switch.

    With S and W of `_chain_weights` for zone z and year y, and U the zone's upgrades
    available in y (total a = sum a_u):
      * W > S + a: the phase can never be online in y with that cooling; fixed to 0;
      * W > S: `grid_cover_single`  online[s,p,k,y] <= sum_{u in U} upgrade[u,y];
      * phases i, j of different sites with W_i, W_j <= S < W_i + W_j (W at each phase's
        cheapest cooling): `grid_cover_pair`
        sum_k online[i,k,y] + sum_k online[j,k,y] <= 1 + sum_{u in U} upgrade[u,y]
        (without U if even every upgrade cannot make room for both).
    Valid: if the left side's phases are online, they and their predecessors draw more than
    S beyond the fixed power, so `grid_headroom` needs some upgrade in place.
    """
    single, pair = [], []
    for z in d.Z:
        for y in d.Y:
            slack, items = _chain_weights(d, ix, z, y)
            if not items:
                continue
            ups = tuple(ix.zone_upgrades[z, y])
            room = slack + sum(d.upgrade_mw[u] for u in ups)
            for s, p, k, w in items:
                if w > room + EPS:
                    m.online[s, p, k, y].fix(0)
                elif w > slack + EPS:
                    single.append((s, p, k, y, ups))
            least: dict[tuple[str, str], float] = {}
            for s, p, _k, w in items:
                least[s, p] = min(least.get((s, p), float("inf")), w)
            fits = [(sp, w) for sp, w in least.items() if w <= slack + EPS]
            for a, (spa, wa) in enumerate(fits):
                for spb, wb in fits[a + 1:]:
                    if spa[0] != spb[0] and wa + wb > slack + EPS:
                        pair.append((spa, spb, y, ups if wa + wb <= room + EPS else ()))
    m.grid_cover_single_index = pyo.Set(initialize=range(len(single)), ordered=True)
    m.grid_cover_single = pyo.Constraint(m.grid_cover_single_index, rule=lambda m, i: (
        m.online[single[i][:4]] <= pyo.quicksum(m.upgrade[u, single[i][3]]
                                                for u in single[i][4])))

    def both(m: pyo.ConcreteModel, i: int) -> object:
        (sa, pa), (sb, pb), y, ups = pair[i]
        return (pyo.quicksum(m.online[sa, pa, k, y] for k in ix.online_k[sa, pa, y])
                + pyo.quicksum(m.online[sb, pb, k, y] for k in ix.online_k[sb, pb, y])
                <= 1 + pyo.quicksum(m.upgrade[u, y] for u in ups))

    m.grid_cover_pair_index = pyo.Set(initialize=range(len(pair)), ordered=True)
    m.grid_cover_pair = pyo.Constraint(m.grid_cover_pair_index, rule=both)


def phase_online(block: pyo.Block) -> dict[tuple[object, ...], list[pyo.Var]]:
    """online[s,p,k,y] of `block` by (s, p, y): the terms of phase_on[s,p,y]'s definition."""
    members: dict[tuple[object, ...], list[pyo.Var]] = {}
    online = block.component("online")
    for (s, p, _k, y), v in (online.items() if online is not None else ()):
        members.setdefault((s, p, y), []).append(v)
    return members


def phase_on_in_rows(model: pyo.Block, columns: list[pyo.Var], A: sparse.csc_array
                     ) -> sparse.csc_array:
    """`A` with each phase's online columns replaced by its `phase_on` where a row holds them all.

    A row (other than the ones holding phase_on[s,p,y] itself, i.e. its definition and
    monotone rows) that holds every online[s,p,k,y] column of a phase and year with one and
    the same coefficient a gets a * phase_on[s,p,y] instead: by `phase_on_def` the two are
    equal at every point, so no LP or MILP point and no bound changes. What changes is what
    HiGHS's cut separators see: one binary per phase in `demand_cover`, `serve_link`,
    `phase_order` and the like, a knapsack of whole phases rather than a multiple-choice one
    (measured in `docs/benchmarks.md`). Online columns fixed at 0 are not columns; a phase
    with one fixed at 1 is left alone. Works on every block holding a `phase_on`
    (scenario blocks of the extensive form too).
    """
    position = {id(v): j for j, v in enumerate(columns)}
    n = len(columns)
    group = np.full(n, -1, dtype=np.int64)
    target: list[int] = []
    size: list[int] = []
    for var in model.component_objects(pyo.Var, active=True, descend_into=True):
        if var.local_name != "phase_on":
            continue
        members = phase_online(var.parent_block())
        for key, v in var.items():
            q = position.get(id(v))
            ons = members.get(key, [])
            if q is None or any(o.fixed and o.value for o in ons):
                continue
            cols = [position[id(o)] for o in ons if id(o) in position]
            if not cols:
                continue
            group[cols] = len(target)
            target.append(q)
            size.append(len(cols))
    if not target:
        return A
    coo = A.tocoo()
    coo.sum_duplicates()
    row, col, val = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    g = group[col]
    on = g >= 0
    key = row[on] * len(target) + g[on]
    uniq, inverse, count = np.unique(key, return_inverse=True, return_counts=True)
    low = np.full(len(uniq), np.inf)
    high = np.full(len(uniq), -np.inf)
    np.minimum.at(low, inverse, val[on])
    np.maximum.at(high, inverse, val[on])
    ug = uniq % len(target)
    ur = uniq // len(target)
    targets = np.asarray(target, dtype=np.int64)
    # rows that already hold the group's phase_on: its definition and monotone rows
    owner = np.full(n, -1, dtype=np.int64)
    owner[targets] = np.arange(len(target))
    holds = owner[col] >= 0
    held = np.unique(row[holds] * len(target) + owner[col[holds]])
    swap = ((count == np.asarray(size)[ug]) & (high - low <= 1e-12 * np.abs(high))
            & ~np.isin(uniq, held))
    if not swap.any():
        return A
    drop = np.zeros(len(val), dtype=bool)
    drop[np.flatnonzero(on)[swap[inverse]]] = True
    rows = np.concatenate([row[~drop], ur[swap]])
    cols = np.concatenate([col[~drop], targets[ug[swap]]])
    vals = np.concatenate([val[~drop], low[swap]])
    out = sparse.csc_array((vals, (rows, cols)), shape=A.shape)
    out.sort_indices()
    return out
