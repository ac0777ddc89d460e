"""The build-out MILP in Pyomo: a short `create_model` calling one function per family.

Symbols follow `models/siteplan.md` exactly; every function's docstring states its rows.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from scipy.sparse import csr_array

from siteopt.model.arrays import ArrayConstraint, array_linear_expression, csr_rows
from siteopt.model.data import ModelData
from siteopt.model.indexing import Columns, Lookups, PairArrays, expand

#: Objective terms, in reporting order (columns of the `costs` result table).
COST_TERMS = ("capex", "open_cost", "fixed_om", "energy", "upgrade_cost", "service_cost",
              "unserved_penalty")


def create_model(d: ModelData) -> pyo.ConcreteModel:
    """Assemble the model of `models/siteplan.md` from derived data."""
    with PauseGC():
        m = pyo.ConcreteModel(name="siteplan")
        ix = Lookups(d)
        pairs = PairArrays(d)
        define_sets(m, d)
        define_variables(m, d)
        cols = Columns(m)
        define_expressions(m, d, ix, pairs, cols)
        add_open_monotone(m, d)
        add_online_monotone(m, d)
        add_phase_once(m, d)
        add_phase_order(m, d, ix)
        add_open_with_first_phase(m, d, ix)
        add_site_max_capacity(m, d, ix)
        add_it_load_capacity(m, d)
        add_it_load_balance(m, d, pairs, cols)
        add_cooling_class(m, d, pairs, cols)
        add_demand_balance(m, d, pairs, cols)
        add_serve_link(m, d, pairs, cols)
        add_demand_cover(m, d, pairs, cols)
        add_grid_headroom(m, d, ix)
        add_upgrade_monotone(m, d)
        add_budget(m, d)
        add_site_limit(m, d)
        define_rtt_levels(m, d, cols)
        add_rtt_level_order(m, d)
        add_rtt_reach(m, d, pairs, cols)
        define_objective(m, d)
    return m


def define_sets(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Y, S, Z, U, SP, SPKY, UY, SRCY, RCY, SKY, TERMS (sparse: feasible combinations only)."""
    m.Y = pyo.Set(initialize=d.Y, ordered=True)
    m.S = pyo.Set(initialize=d.S, ordered=True)
    m.Z = pyo.Set(initialize=d.Z, ordered=True)
    m.U = pyo.Set(initialize=d.U, ordered=True)
    m.SP = pyo.Set(initialize=d.SP, dimen=2, ordered=True)
    m.SPKY = pyo.Set(initialize=d.SPKY, dimen=4, ordered=True)
    m.UY = pyo.Set(initialize=d.UY, dimen=2, ordered=True)
    m.SRCY = pyo.Set(initialize=d.SRCY, dimen=4, ordered=True)
    m.RCY = pyo.Set(initialize=d.RCY, dimen=3, ordered=True)
    m.SKY = pyo.Set(initialize=d.SKY, dimen=3, ordered=True)
    m.TERMS = pyo.Set(initialize=COST_TERMS, ordered=True)


def define_variables(m: pyo.ConcreteModel, d: ModelData) -> None:
    """open, online, upgrade (binary, cumulative); serve, it_load, unserved (IT MW)."""
    m.open = pyo.Var(m.S, m.Y, within=pyo.Binary)
    m.online = pyo.Var(m.SPKY, within=pyo.Binary)
    m.upgrade = pyo.Var(m.UY, within=pyo.Binary)
    m.serve = pyo.Var(m.SRCY, within=pyo.NonNegativeReals)
    m.it_load = pyo.Var(m.SKY, within=pyo.NonNegativeReals)
    m.unserved = pyo.Var(m.RCY, within=pyo.NonNegativeReals)
    first_online: dict[str, int] = {}
    for s, p, _k, y in d.SPKY:
        if d.phase_prev[s, p] is None:
            first_online[s] = min(first_online.get(s, y), y)
    for s in d.S:
        for y in d.Y:
            if s in d.opened_before:
                m.open[s, y].fix(1)
            elif s not in first_online or y < first_online[s]:
                m.open[s, y].fix(0)
    for s, p, k, y in d.SPKY:
        if (s, p) in d.phase_committed:
            m.online[s, p, k, y].fix(1)
    if not d.allow_unserved:
        for key in d.RCY:
            m.unserved[key].fix(0)


def _prev(d: ModelData, y: int) -> int | None:
    return y - 1 if y > d.first_year else None


def define_expressions(m: pyo.ConcreteModel, d: ModelData, ix: Lookups, pairs: PairArrays,
                       cols: Columns) -> None:
    """build, capacity, power, capex, upgrade_capex and the yearly cost terms."""
    service = _service_cost_by_year(m, d, pairs, cols)

    def build(m: pyo.ConcreteModel, s: str, p: str, k: str, y: int) -> object:
        prev = (s, p, k, y - 1)
        return m.online[s, p, k, y] - (m.online[prev] if prev in ix.spky else 0)

    m.build = pyo.Expression(m.SPKY, rule=build)

    def opening(m: pyo.ConcreteModel, s: str, y: int) -> object:
        if s in d.opened_before:
            return 0
        prev = _prev(d, y)
        return m.open[s, y] - (m.open[s, prev] if prev is not None else 0)

    m.opening = pyo.Expression(m.S, m.Y, rule=opening)

    def capacity(m: pyo.ConcreteModel, s: str, k: str, y: int) -> object:
        return d.existing.get((s, k), 0.0) + pyo.quicksum(
            d.phase_it[sp] * m.online[sp[0], sp[1], k, y] for sp in ix.site_phase_y[s, k, y])

    m.capacity = pyo.Expression(m.SKY, rule=capacity)

    def power(m: pyo.ConcreteModel, z: str, y: int) -> object:
        return pyo.quicksum(d.pue[k] * m.capacity[s, k, y] for s in ix.zone_sites[z]
                            for k in ix.site_k_y[s, y])

    m.power = pyo.Expression(m.Z, m.Y, rule=power)

    def capex(m: pyo.ConcreteModel, s: str, y: int) -> object:
        return pyo.quicksum(w * m.build[key] for key, w in ix.phase_spend[s, y])

    m.capex = pyo.Expression(m.S, m.Y, rule=capex)

    def upgrade_capex(m: pyo.ConcreteModel, u: str, y: int) -> object:
        return pyo.quicksum(w * _upgrade_build(m, ix, key) for key, w in ix.upgrade_spend[u, y])

    m.upgrade_capex = pyo.Expression(m.U, m.Y, rule=upgrade_capex)

    def cost(m: pyo.ConcreteModel, term: str, y: int) -> object:
        if term == "capex":
            return pyo.quicksum(m.capex[s, y] for s in d.S)
        if term == "open_cost":
            return pyo.quicksum(d.open_cost[s] * m.opening[s, y] for s in d.S
                                if d.open_cost[s])
        if term == "fixed_om":
            return (pyo.quicksum(d.phase_om[s, p] * m.online[s, p, k, y]
                                 for (s, p) in d.SP for k in ix.online_k[s, p, y])
                    + pyo.quicksum(d.site_om[s] * m.open[s, y] for s in d.S if d.site_om[s]))
        if term == "energy":
            return pyo.quicksum(d.energy_coef[s, k, y] * m.it_load[s, k, y] for s in d.S
                                for k in ix.site_k_y[s, y])
        if term == "upgrade_cost":
            return pyo.quicksum(m.upgrade_capex[u, y] for u in d.U)
        if term == "service_cost":
            return service.get(y, 0)
        if term == "unserved_penalty":
            return pyo.quicksum(d.unserved_penalty * m.unserved[key]
                                for key in ix.rcy_by_year[y])
        raise ValueError(term)

    m.cost = pyo.Expression(m.TERMS, m.Y, rule=cost)


def _service_cost_by_year(m: pyo.ConcreteModel, d: ModelData, pairs: PairArrays, cols: Columns
                          ) -> dict[int, object]:
    """Service cost of year y: sum over served pairs of service_cost[s,r] * serve[s,r,c,y].

    Kept as arrays as well (one term per served pair is the largest part of the objective).
    """
    paying = np.flatnonzero(pairs.service_cost)
    out = {}
    for offset in np.unique(pairs.year[paying]).tolist():
        idx = paying[pairs.year[paying] == offset]
        out[d.first_year + offset] = array_linear_expression(
            m, pairs.service_cost[idx], cols.start["serve"] + idx, cols.x)
    return out


def _upgrade_build(m: pyo.ConcreteModel, ix: Lookups, key: tuple[str, int]) -> object:
    u, y = key
    return m.upgrade[u, y] - (m.upgrade[u, y - 1] if (u, y - 1) in ix.uy else 0)


def add_open_monotone(m: pyo.ConcreteModel, d: ModelData) -> None:
    """open[s,y-1] <= open[s,y]: a site once open stays open."""

    def rule(m: pyo.ConcreteModel, s: str, y: int) -> object:
        if y == d.first_year or s in d.opened_before:
            return pyo.Constraint.Skip
        return m.open[s, y - 1] <= m.open[s, y]

    m.open_monotone = pyo.Constraint(m.S, m.Y, rule=rule)


def add_online_monotone(m: pyo.ConcreteModel, d: ModelData) -> None:
    """online[s,p,k,y-1] <= online[s,p,k,y]: a phase once online stays online."""
    keys = set(d.SPKY)

    def rule(m: pyo.ConcreteModel, s: str, p: str, k: str, y: int) -> object:
        if (s, p, k, y - 1) not in keys or (s, p) in d.phase_committed:
            return pyo.Constraint.Skip
        return m.online[s, p, k, y - 1] <= m.online[s, p, k, y]

    m.online_monotone = pyo.Constraint(m.SPKY, rule=rule)


def add_phase_once(m: pyo.ConcreteModel, d: ModelData) -> None:
    """sum_k online[s,p,k,T] <= 1: each phase is built at most once, with one cooling."""
    last = d.last_year
    ks: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s, p, k, y in d.SPKY:
        if y == last:
            ks[s, p].append(k)

    def rule(m: pyo.ConcreteModel, s: str, p: str) -> object:
        if len(ks[s, p]) <= 1:
            return pyo.Constraint.Skip
        return pyo.quicksum(m.online[s, p, k, last] for k in ks[s, p]) <= 1

    m.phase_once = pyo.Constraint(m.SP, rule=rule)


def add_phase_order(m: pyo.ConcreteModel, d: ModelData, ix: Lookups) -> None:
    """sum_k online[s,p,k,y] <= sum_k online[s,prev(p),k,y]: phases come online in order."""
    position = {sp: i for i, sp in enumerate(d.SP)}
    keys = sorted({(s, p, y) for s, p, _k, y in d.SPKY if d.phase_prev[s, p] is not None},
                  key=lambda key: (position[key[0], key[1]], key[2]))
    m.phase_order_index = pyo.Set(initialize=keys, dimen=3, ordered=True)

    def rule(m: pyo.ConcreteModel, s: str, p: str, y: int) -> object:
        prev = d.phase_prev[s, p]
        assert prev is not None
        return pyo.quicksum(m.online[s, p, k, y] for k in ix.online_k[s, p, y]) <= (
            pyo.quicksum(m.online[prev[0], prev[1], k, y] for k in ix.online_k[prev[0], prev[1],
                                                                              y]))

    m.phase_order = pyo.Constraint(m.phase_order_index, rule=rule)


def add_open_with_first_phase(m: pyo.ConcreteModel, d: ModelData, ix: Lookups) -> None:
    """open[s,y] == sum_k online[s,first(s),k,y]: a new site is open while its first phase is.

    Years before that phase can be online have open fixed to 0 (see define_variables).
    """

    def rule(m: pyo.ConcreteModel, s: str, y: int) -> object:
        p = ix.first_phase.get(s)
        if p is None or s in d.opened_before or not ix.online_k[s, p, y]:
            return pyo.Constraint.Skip
        return m.open[s, y] == pyo.quicksum(m.online[s, p, k, y] for k in ix.online_k[s, p, y])

    m.open_with_first_phase = pyo.Constraint(m.S, m.Y, rule=rule)


def add_site_max_capacity(m: pyo.ConcreteModel, d: ModelData, ix: Lookups) -> None:
    """sum_k capacity[s,k,y] <= max_it[s] where a site cap is given and could bind."""
    total_possible: dict[str, float] = defaultdict(float)
    for (s, _k), mw in d.existing.items():
        total_possible[s] += mw
    for sp, mw in d.phase_it.items():
        total_possible[sp[0]] += mw

    def rule(m: pyo.ConcreteModel, s: str, y: int) -> object:
        if s not in d.max_it or total_possible[s] <= d.max_it[s] + 1e-9:
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
                   cols: Columns) -> None:
    """Per-pair strong linking of service to the phases able to host it.

    serve[s,r,c,y] <= min(D, u E) + sum_{p, k in A_c} min(D, u it_mw[p]) online[s,p,k,y]
    with D = demand[r,c,y], u = max_utilization and E the existing capacity of s on coolings
    in A_c. Valid because min(D, sum_p a_p x_p) <= sum_p min(D, a_p) x_p for binary x; it
    is much tighter than the aggregate capacity rows when a region's demand is small
    beside a phase (the LP can no longer serve it from a sliver of a phase). No row where
    existing capacity alone covers D.
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
    val = np.concatenate([np.ones(len(kept)),
                          -np.minimum(D[kept][owner], u * phase_it[spky])])
    keys = [d.SRCY[j] for j in kept.tolist()]
    m.serve_link = ArrayConstraint(
        keys, csr_rows(len(keys), row, col, val, len(cols.x)), np.full(len(keys), -np.inf),
        base[kept], cols.x)


def _reach_sets(d: ModelData, pairs: PairArrays) -> dict[tuple[str, str], frozenset[str]]:
    """For each (region, class) with a served pair: the sites able to serve it (any year)."""
    n_c, n_s = len(d.C), len(d.S)
    codes = np.unique((pairs.region * n_c + pairs.cls) * n_s + pairs.site)
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

def add_grid_headroom(m: pyo.ConcreteModel, d: ModelData, ix: Lookups) -> None:
    """power[z,y] <= derate[z] * headroom[z,y] + sum_u add_mw[u] * upgrade[u,y]."""

    def rule(m: pyo.ConcreteModel, z: str, y: int) -> object:
        sites = [s for s in ix.zone_sites[z] if ix.site_k_y[s, y]]
        if not sites:
            return pyo.Constraint.Skip
        return m.power[z, y] <= d.derate[z] * d.headroom[z, y] + pyo.quicksum(
            d.upgrade_mw[u] * m.upgrade[u, y] for u in ix.zone_upgrades[z, y])

    m.grid_headroom = pyo.Constraint(m.Z, m.Y, rule=rule)


def add_upgrade_monotone(m: pyo.ConcreteModel, d: ModelData) -> None:
    """upgrade[u,y-1] <= upgrade[u,y]: an upgrade once online stays online."""
    keys = set(d.UY)

    def rule(m: pyo.ConcreteModel, u: str, y: int) -> object:
        if (u, y - 1) not in keys:
            return pyo.Constraint.Skip
        return m.upgrade[u, y - 1] <= m.upgrade[u, y]

    m.upgrade_monotone = pyo.Constraint(m.UY, rule=rule)


def add_budget(m: pyo.ConcreteModel, d: ModelData) -> None:
    """For each budget row b: capex + opening + upgrade spend in its scope <= max_capex[b]."""
    m.B = pyo.Set(initialize=range(len(d.budgets)), ordered=True)

    def rule(m: pyo.ConcreteModel, b: int) -> object:
        sponsor, year, limit = d.budgets[b]
        years = d.Y if year is None else [year]
        sites = [s for s in d.S if not sponsor or d.site_sponsor[s] == sponsor]
        ups = [u for u in d.U if not sponsor or d.upgrade_sponsor[u] == sponsor]
        spend = pyo.quicksum(m.capex[s, y] + d.open_cost[s] * m.opening[s, y]
                             for s in sites for y in years)
        spend += pyo.quicksum(m.upgrade_capex[u, y] for u in ups for y in years)
        return spend <= limit

    m.budget = pyo.Constraint(m.B, rule=rule)


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


def define_objective(m: pyo.ConcreteModel, d: ModelData) -> None:
    """total_cost = sum_y discount[y] * sum_term cost[term,y] (present value, USD M).

    With another `siting.objective`, total_cost stays defined but inactive and the chosen
    objective (max_rtt, uncovered_mw or site_count) is minimized instead.
    """
    m.total_cost = pyo.Objective(
        expr=pyo.quicksum(d.discount[y] * m.cost[term, y] for term in COST_TERMS for y in d.Y),
        sense=pyo.minimize)
    if d.objective == "total_cost":
        return
    m.total_cost.deactivate()
    if d.objective == "max_rtt":
        levels = d.rtt_levels
        m.max_rtt = pyo.Objective(expr=(levels[0] if levels else 0.0) + pyo.quicksum(
            (levels[lv] - levels[lv - 1]) * m.rtt_level[lv] for lv in m.L), sense=pyo.minimize)
    elif d.objective == "uncovered_mw":
        m.uncovered_mw = pyo.Objective(expr=pyo.quicksum(m.unserved[key] for key in d.RCY),
                                       sense=pyo.minimize)
    elif d.objective == "site_count":
        m.site_count = pyo.Objective(expr=pyo.quicksum(m.open[s, d.last_year] for s in d.S),
                                     sense=pyo.minimize)
    else:
        raise ValueError(d.objective)


def primary_objective(m: pyo.ConcreteModel) -> pyo.Objective:
    """The active objective of a built model."""
    return next(m.component_data_objects(pyo.Objective, active=True))


def add_objective_bound(m: pyo.ConcreteModel, value: float) -> None:
    """Second stage of a lexicographic solve: keep the primary objective at its optimum.

    objective_bound: primary <= value; then total_cost is minimized among those plans.
    """
    primary = primary_objective(m)

    def rule(m: pyo.ConcreteModel) -> object:
        if pyo.is_constant(primary.expr) or primary.expr.is_fixed():
            return pyo.Constraint.Skip  # e.g. one round-trip level: nothing to keep
        return primary.expr <= value

    m.objective_bound = pyo.Constraint(rule=rule)
    primary.deactivate()
    m.total_cost.activate()
