"""Service families: demand balance, the per-pair serve link, and the demand-cover knapsacks.

Symbols follow `models/siteplan.md`; every function's docstring states its rows.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyomo.environ as pyo
from scipy.sparse import csr_array

from siteopt.model.arrays import ArrayConstraint, csr_rows
from siteopt.model.data import ModelData
from siteopt.model.indexing import Columns, PairArrays, expand


def add_demand_balance(m: pyo.ConcreteModel, d: ModelData, pairs: PairArrays,
                       cols: Columns) -> None:
    """sum_s serve[s,r,c,y] + unserved[r,c,y] == demand[r,c,y]."""
    n = len(d.RCY)
    row = np.concatenate([pairs.rcy, np.arange(n)])
    col = np.concatenate([cols.start["serve"] + np.arange(pairs.n),
                          cols.start["unserved"] + np.arange(n)])
    demand = np.fromiter((d.demand[key] for key in d.RCY), float, n)
    m.demand_balance = ArrayConstraint(
        list(d.RCY), csr_rows(n, row, col, np.ones(len(row)), len(cols.x)), demand, demand,
        cols.x)


def add_serve_link(m: pyo.ConcreteModel, d: ModelData, pairs: PairArrays,
                   cols: Columns, tighten: bool = True) -> None:
    """Per-pair strong linking of service to the phases able to host it.

    serve[s,r,c,y] <= min(D, u E) + sum_{p, k in A_c} min(D, u it_mw[p]) online[s,p,k,y]
    with D = demand[r,c,y], u = max_utilization and E the existing capacity of s on coolings
    in A_c. Valid because min(D, sum_p a_p x_p) <= sum_p min(D, a_p) x_p for binary x; it
    is much tighter than the aggregate capacity rows when a region's demand is small
    beside a phase (the LP can no longer serve it from a sliver of a phase). No row where
    existing capacity alone covers D. With `tighten`, the coefficients of the first phases
    are lifted along the build order (`chain_coefficients`).
    """
    if not d.strong_linking:
        return
    ny, n_c = pairs.n_years, len(d.C)
    u = d.max_utilization
    s_pos = pairs.s_pos
    existing = np.zeros(len(d.S) * n_c)
    for (s, k), mw in d.existing.items():
        for ci, c in enumerate(d.C):
            if k in d.class_cooling[c]:
                existing[s_pos[s] * n_c + ci] += mw
    # the online terms able to host class c at site s in year y, grouped by (s, c, y)
    hosts: dict[int, list[int]] = defaultdict(list)
    for j, (s, _p, k, y) in enumerate(d.SPKY):
        for ci, c in enumerate(d.C):
            if k in d.class_cooling[c]:
                hosts[(s_pos[s] * n_c + ci) * ny + y - d.first_year].append(j)
    D = pairs.demand
    base = np.minimum(D, u * existing[pairs.site * n_c + pairs.cls])
    kept = np.flatnonzero(base < D - 1e-12)
    code = (pairs.site[kept] * n_c + pairs.cls[kept]) * ny + pairs.year[kept]
    spky, owner = expand(hosts, code)
    phase_it = np.fromiter((d.phase_it[s, p] for s, p, _k, _y in d.SPKY), float, len(d.SPKY))
    row = np.concatenate([np.arange(len(kept)), owner])
    col = np.concatenate([cols.start["serve"] + kept, cols.start["online"] + spky])
    coef = np.minimum(D[kept][owner], u * phase_it[spky])
    if tighten:
        coef = _chain_coefficients(d, pairs, existing, kept, spky, owner, coef)
    val = np.concatenate([np.ones(len(kept)), -coef])
    keys = [d.SRCY[j] for j in kept.tolist()]
    m.serve_link = ArrayConstraint(
        keys, csr_rows(len(keys), row, col, val, len(cols.x)), np.full(len(keys), -np.inf),
        base[kept], cols.x)


def chain_order(d: ModelData) -> dict[tuple[str, str], tuple[int, float]]:
    """Each phase's position in its site's build order and the IT MW of the phases before it."""
    following = {prev: sp for sp, prev in d.phase_prev.items() if prev is not None}
    out: dict[tuple[str, str], tuple[int, float]] = {}
    for sp, prev in d.phase_prev.items():
        if prev is not None:
            continue
        j, before, cur = 0, 0.0, sp
        while cur is not None:
            out[cur] = (j, before)
            before += d.phase_it[cur]
            j += 1
            cur = following.get(cur)
    return out


def hosting_prefix(d: ModelData) -> dict[tuple[str, str], int]:
    """For (site, class): how many first phases in build order can only host the class.

    A phase counts if every cooling it may use (in any year) is allowed for the class; the
    prefix ends at the first phase with a cooling the class cannot use.
    """
    coolings: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s, p, k, _y in d.SPKY:
        coolings[s, p].add(k)
    order = chain_order(d)
    out: dict[tuple[str, str], int] = {}
    for sp, (j, _before) in order.items():
        for c in d.C:
            key = (sp[0], c)
            out.setdefault(key, 1 << 30)
            if not coolings[sp] <= d.class_cooling[c]:
                out[key] = min(out[key], j)
    return out


def _chain_coefficients(d: ModelData, pairs: PairArrays, existing: np.ndarray,
                        kept: np.ndarray, spky: np.ndarray, owner: np.ndarray,
                        coef: np.ndarray) -> np.ndarray:
    """`serve_link` coefficients lifted along the build order (`models/siteplan.md`).

    For site s and class c let p_1, p_2, ... be the phases in build order, P the longest
    prefix whose coolings all host c (`hosting_prefix`), C_j the IT MW of p_1..p_j and E the
    existing MW hosting c. A phase p_j of P gets
        min(D, u (E + C_j)) - min(D, u (E + C_{j-1}))     instead of  min(D, u it_j).
    Valid: the online phases of an integer plan are a prefix p_1..p_m (`phase_order`); for
    m <= |P| the right-hand side telescopes to min(D, u capacity); beyond P it is at least
    that because min(D, .) is subadditive. Never larger than the plain coefficient.
    """
    order = chain_order(d)
    prefix = hosting_prefix(d)
    n_c, u = len(d.C), d.max_utilization
    out = coef.copy()
    pair = kept[owner]
    demand = pairs.demand[pair]
    cls = pairs.cls[pair]
    for t, j in enumerate(spky.tolist()):
        s, p, _k, _y = d.SPKY[j]
        c = d.C[int(cls[t])]
        position, before = order[s, p]
        if position >= prefix.get((s, c), 1 << 30):
            continue
        e = existing[pairs.s_pos[s] * n_c + int(cls[t])]
        D = demand[t]
        out[t] = min(D, u * (e + before + d.phase_it[s, p])) - min(D, u * (e + before))
    return out


def _reach_sets(d: ModelData, pairs: PairArrays) -> dict[tuple[str, str], frozenset[str]]:
    """For each (region, class) with a served pair: the sites able to serve it (any year)."""
    n_c, n_s = len(d.C), len(d.S)
    codes = np.unique((pairs.region * n_c + pairs.cls) * n_s + pairs.site)
    if not len(codes):  # no site can serve anything (e.g. every target out of reach)
        return {}
    rc, site = np.divmod(codes, n_s)
    starts = np.flatnonzero(np.r_[True, rc[1:] != rc[:-1]])
    out = {}
    for lo, hi in zip(starts.tolist(), [*starts[1:].tolist(), len(codes)], strict=True):
        r, c = divmod(int(rc[lo]), n_c)
        out[d.R[r], d.C[c]] = frozenset(d.S[i] for i in site[lo:hi].tolist())
    return out


def add_demand_cover(m: pyo.ConcreteModel, d: ModelData, pairs: PairArrays,
                     cols: Columns) -> None:
    """For each reach set T and year: sellable capacity of T covers the demand only T can serve.

    sum_{(r,c): reach(r,c) subset of T} (demand - unserved) <=
        u * sum_{s in T} sum_{k in A_T} capacity[s,k,y],  A_T = union of the classes' coolings.
    Implied by the LP relaxation, so it does not move the root bound by itself; it hands HiGHS
    an explicit knapsack over the phase binaries from which its cover and MIR separators derive
    the integer-rounding cuts that the chain serve -> it_load -> capacity hides.
    Reach sets are numbered by (size, sorted site ids); a row exists where T has demand in y.
    """
    if not d.strong_linking:
        return
    reach = _reach_sets(d, pairs)
    sets = sorted(set(reach.values()), key=lambda t: (len(t), sorted(t)))
    number = {T: i for i, T in enumerate(sets)}
    m.demand_cover_index = pyo.Set(initialize=[(i, y) for i in range(len(sets)) for y in d.Y],
                                   dimen=2, ordered=True)
    s_pos = pairs.s_pos
    k_pos = pairs.k_pos
    ny, u = pairs.n_years, d.max_utilization
    # M[i, s] = 1 for s in T_i; T_j is a subset of T_i where (M M^T)[j, i] = |T_j|
    member = csr_array((np.ones(sum(len(T) for T in sets)),
                           (np.repeat(np.arange(len(sets)), [len(T) for T in sets]),
                            [s_pos[s] for T in sets for s in T])), shape=(len(sets), len(d.S)))
    overlap = (member @ member.T).tocoo()
    size = np.array([len(T) for T in sets])
    inside = overlap.data == size[overlap.row]
    subset_of: dict[int, list[int]] = defaultdict(list)  # j -> every i with T_j in T_i
    for j, i in zip(overlap.row[inside].tolist(), overlap.col[inside].tolist(), strict=True):
        subset_of[j].append(i)
    # demand side: each (r,c,y) of a segment counts in every set containing its reach set
    rcy_set = np.fromiter((number[reach[r, c]] if (r, c) in reach else -1
                           for r, c, _y in d.RCY), np.int64, len(d.RCY))
    has = np.flatnonzero(rcy_set >= 0)
    set_i, owner = expand(subset_of, rcy_set[has])
    rcy = has[owner]
    rcy_year = np.fromiter((y - d.first_year for _r, _c, y in d.RCY), np.int64, len(d.RCY))
    demand = np.fromiter((d.demand[key] for key in d.RCY), float, len(d.RCY))
    need_code = set_i * ny + rcy_year[rcy]
    codes = np.unique(need_code)
    # A_T as a bit mask over K, from the classes of the segments each set covers
    class_bits = {c: sum(1 << k_pos[k] for k in techs) for c, techs in d.class_cooling.items()}
    techs = np.zeros(len(sets), np.int64)
    for (_r, c), T in reach.items():
        for i in subset_of[number[T]]:
            techs[i] |= class_bits[c]
    # capacity side: each online[s,p,k,y] (and existing MW) of s in T_i with k in A_T
    sets_of_site: dict[int, list[int]] = defaultdict(list)
    for i, T in enumerate(sets):
        for s in T:
            sets_of_site[s_pos[s]].append(i)
    spky_site = np.fromiter((s_pos[s] for s, _p, _k, _y in d.SPKY), np.int64, len(d.SPKY))
    spky_k = np.fromiter((k_pos[k] for _s, _p, k, _y in d.SPKY), np.int64, len(d.SPKY))
    spky_year = np.fromiter((y - d.first_year for _s, _p, _k, y in d.SPKY), np.int64,
                            len(d.SPKY))
    phase_it = np.fromiter((d.phase_it[s, p] for s, p, _k, _y in d.SPKY), float, len(d.SPKY))
    cap_i, spky = expand(sets_of_site, spky_site)
    ok = ((techs[cap_i] >> spky_k[spky]) & 1).astype(bool)
    cap_i, spky = cap_i[ok], spky[ok]
    cap_code = cap_i * ny + spky_year[spky]
    cap_in = np.isin(cap_code, codes)
    existing = np.zeros(len(codes))
    for (s, k), mw in d.existing.items():  # existing capacity is there from the first year
        for i in sets_of_site[s_pos[s]]:
            if (techs[i] >> k_pos[k]) & 1:
                lo = np.searchsorted(codes, i * ny)
                hi = np.searchsorted(codes, (i + 1) * ny)
                existing[lo:hi] += mw
    row = np.concatenate([np.searchsorted(codes, need_code),
                          np.searchsorted(codes, cap_code[cap_in])])
    col = np.concatenate([cols.start["unserved"] + rcy, cols.start["online"] + spky[cap_in]])
    val = np.concatenate([-np.ones(len(rcy)), -u * phase_it[spky[cap_in]]])
    upper = u * existing - np.bincount(np.searchsorted(codes, need_code), demand[rcy],
                                       minlength=len(codes))
    keys = [(c // ny, d.first_year + c % ny) for c in codes.tolist()]
    m.demand_cover = ArrayConstraint(
        keys, csr_rows(len(keys), row, col, val, len(cols.x)), np.full(len(keys), -np.inf),
        upper, cols.x)
