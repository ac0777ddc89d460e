"""The build-out MILP in Pyomo: a short `create_model` calling one function per family.

Symbols follow `models/siteplan.md` exactly; every function's docstring states its rows.
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from siteopt.model.data import ModelData, spend_years

#: Objective terms, in reporting order (columns of the `costs` result table).
COST_TERMS = ("capex", "open_cost", "fixed_om", "energy", "upgrade_cost", "service_cost",
              "unserved_penalty")


class _Index:
    """Lookups over the sparse index sets, built once per model."""

    def __init__(self, d: ModelData):
        self.online_k: dict[tuple[str, str, int], list[str]] = defaultdict(list)
        self.spky = set(d.SPKY)
        for s, p, k, y in d.SPKY:
            self.online_k[s, p, y].append(k)
        self.site_phase_y: dict[tuple[str, str, int], list[tuple[str, str]]] = defaultdict(list)
        for s, p, k, y in d.SPKY:
            self.site_phase_y[s, k, y].append((s, p))
        self.first_phase = {s: p for (s, p), prev in d.phase_prev.items() if prev is None}
        self.sky = set(d.SKY)
        self.site_k_y: dict[tuple[str, int], list[str]] = defaultdict(list)
        for s, k, y in d.SKY:
            self.site_k_y[s, y].append(k)
        self.serve_by_site: dict[tuple[str, int], list[tuple[str, str, str, int]]] = (
            defaultdict(list))
        self.serve_by_rc: dict[tuple[str, str, int], list[tuple[str, str, str, int]]] = (
            defaultdict(list))
        for key in d.SRCY:
            s, r, c, y = key
            self.serve_by_site[s, y].append(key)
            self.serve_by_rc[r, c, y].append(key)
        self.rcy_by_year: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
        for key in d.RCY:
            self.rcy_by_year[key[2]].append(key)
        self.zone_sites: dict[str, list[str]] = defaultdict(list)
        for s in d.S:
            self.zone_sites[d.site_zone[s]].append(s)
        self.zone_upgrades: dict[tuple[str, int], list[str]] = defaultdict(list)
        for u, y in d.UY:
            self.zone_upgrades[d.upgrade_zone[u], y].append(u)
        self.uy = set(d.UY)
        # capex spend: for each site and spend year, the (online key, weight) pairs paying then
        self.phase_spend: dict[tuple[str, int], list[tuple[tuple[str, str, str, int], float]]] = (
            defaultdict(list))
        for s, p, k, y in d.SPKY:
            lead = d.phase_lead[s, p]
            years = spend_years(y, lead)
            amount = d.phase_capex[s, p] * d.capex_factor[k] / len(years)
            for tau in years:
                if d.first_year <= tau <= d.last_year:
                    self.phase_spend[s, tau].append(((s, p, k, y), amount))
        self.upgrade_spend: dict[tuple[str, int], list[tuple[tuple[str, int], float]]] = (
            defaultdict(list))
        for u, y in d.UY:
            years = spend_years(y, d.upgrade_lead[u])
            for tau in years:
                if d.first_year <= tau <= d.last_year:
                    self.upgrade_spend[u, tau].append(((u, y), d.upgrade_capex[u] / len(years)))


def create_model(d: ModelData) -> pyo.ConcreteModel:
    """Assemble the model of `models/siteplan.md` from derived data."""
    with PauseGC():
        m = pyo.ConcreteModel(name="siteplan")
        ix = _Index(d)
        define_sets(m, d)
        define_variables(m, d)
        define_expressions(m, d, ix)
        add_open_monotone(m, d)
        add_online_monotone(m, d)
        add_phase_once(m, d)
        add_phase_order(m, d, ix)
        add_open_with_first_phase(m, d, ix)
        add_site_max_capacity(m, d, ix)
        add_it_load_capacity(m, d)
        add_it_load_balance(m, d, ix)
        add_cooling_class(m, d, ix)
        add_demand_balance(m, d, ix)
        add_serve_link(m, d, ix)
        add_demand_cover(m, d, ix)
        add_grid_headroom(m, d, ix)
        add_upgrade_monotone(m, d)
        add_budget(m, d)
        add_site_limit(m, d)
        define_rtt_levels(m, d)
        add_rtt_level_order(m, d)
        add_rtt_reach(m, d)
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


def define_expressions(m: pyo.ConcreteModel, d: ModelData, ix: _Index) -> None:
    """build, capacity, power, capex, upgrade_capex and the yearly cost terms."""

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
            return pyo.quicksum(d.service_cost[key[0], key[1]] * m.serve[key]
                                for site in d.S for key in ix.serve_by_site[site, y]
                                if (key[0], key[1]) in d.service_cost)
        if term == "unserved_penalty":
            return pyo.quicksum(d.unserved_penalty * m.unserved[key]
                                for key in ix.rcy_by_year[y])
        raise ValueError(term)

    m.cost = pyo.Expression(m.TERMS, m.Y, rule=cost)


def _upgrade_build(m: pyo.ConcreteModel, ix: _Index, key: tuple[str, int]) -> object:
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


def add_phase_order(m: pyo.ConcreteModel, d: ModelData, ix: _Index) -> None:
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


def add_open_with_first_phase(m: pyo.ConcreteModel, d: ModelData, ix: _Index) -> None:
    """open[s,y] == sum_k online[s,first(s),k,y]: a new site is open while its first phase is.

    Years before that phase can be online have open fixed to 0 (see define_variables).
    """

    def rule(m: pyo.ConcreteModel, s: str, y: int) -> object:
        p = ix.first_phase.get(s)
        if p is None or s in d.opened_before or not ix.online_k[s, p, y]:
            return pyo.Constraint.Skip
        return m.open[s, y] == pyo.quicksum(m.online[s, p, k, y] for k in ix.online_k[s, p, y])

    m.open_with_first_phase = pyo.Constraint(m.S, m.Y, rule=rule)


def add_site_max_capacity(m: pyo.ConcreteModel, d: ModelData, ix: _Index) -> None:
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


def add_it_load_balance(m: pyo.ConcreteModel, d: ModelData, ix: _Index) -> None:
    """sum_k it_load[s,k,y] == sum_{r,c} serve[s,r,c,y]: served load runs on some cooling."""

    def rule(m: pyo.ConcreteModel, s: str, y: int) -> object:
        if not ix.site_k_y[s, y]:  # no capacity yet, so no serve variables either (SRCY)
            return pyo.Constraint.Skip
        return pyo.quicksum(m.it_load[s, k, y] for k in ix.site_k_y[s, y]) == pyo.quicksum(
            m.serve[key] for key in ix.serve_by_site[s, y])

    m.it_load_balance = pyo.Constraint(m.S, m.Y, rule=rule)


def add_cooling_class(m: pyo.ConcreteModel, d: ModelData, ix: _Index) -> None:
    """For each cooling group g of a site: load of classes hostable only within g <= load on g.

    By Hall's theorem these rows (over the union-closure of the classes' allowed sets) make
    the per-cooling loads splittable among the classes exactly.
    """
    keys = []
    for s in d.S:
        for gi, _ in enumerate(d.groups[s]):
            keys.extend((s, gi, y) for y in d.Y if ix.serve_by_site[s, y])
    m.cooling_class_index = pyo.Set(initialize=keys, dimen=3, ordered=True)

    def rule(m: pyo.ConcreteModel, s: str, gi: int, y: int) -> object:
        techs, classes = d.groups[s][gi]
        keys = [key for key in ix.serve_by_site[s, y] if key[2] in classes]
        if not keys:
            return pyo.Constraint.Skip
        present = [k for k in ix.site_k_y[s, y] if k in techs]
        return pyo.quicksum(m.serve[key] for key in keys) <= pyo.quicksum(
            m.it_load[s, k, y] for k in present)

    m.cooling_class = pyo.Constraint(m.cooling_class_index, rule=rule)


def add_demand_balance(m: pyo.ConcreteModel, d: ModelData, ix: _Index) -> None:
    """sum_s serve[s,r,c,y] + unserved[r,c,y] == demand[r,c,y]."""

    def rule(m: pyo.ConcreteModel, r: str, c: str, y: int) -> object:
        return (pyo.quicksum(m.serve[key] for key in ix.serve_by_rc[r, c, y])
                + m.unserved[r, c, y] == d.demand[r, c, y])

    m.demand_balance = pyo.Constraint(m.RCY, rule=rule)


def add_serve_link(m: pyo.ConcreteModel, d: ModelData, ix: _Index) -> None:
    """Per-pair strong linking of service to the phases able to host it.

    serve[s,r,c,y] <= min(D, u E) + sum_{p, k in A_c} min(D, u it_mw[p]) online[s,p,k,y]
    with D = demand[r,c,y], u = max_utilization and E the existing capacity of s on coolings
    in A_c. Valid because min(D, sum_p a_p x_p) <= sum_p min(D, a_p) x_p for binary x; it
    is much tighter than the aggregate capacity rows when a region's demand is small
    beside a phase (the LP can no longer serve it from a sliver of a phase).
    """
    if not d.strong_linking:
        return
    existing: dict[tuple[str, str], float] = defaultdict(float)
    for (s, k), mw in d.existing.items():
        for c, techs in d.class_cooling.items():
            if k in techs:
                existing[s, c] += mw
    techs_of = {c: sorted(techs) for c, techs in d.class_cooling.items()}

    def rule(m: pyo.ConcreteModel, s: str, r: str, c: str, y: int) -> object:
        D = d.demand[r, c, y]
        u = d.max_utilization
        base = min(D, u * existing[s, c])
        if base >= D - 1e-12:
            return pyo.Constraint.Skip
        terms = [(min(D, u * d.phase_it[sp]), m.online[sp[0], sp[1], k, y])
                 for k in techs_of[c] for sp in ix.site_phase_y[s, k, y]]
        return m.serve[s, r, c, y] <= base + pyo.quicksum(a * x for a, x in terms)

    m.serve_link = pyo.Constraint(m.SRCY, rule=rule)


def add_demand_cover(m: pyo.ConcreteModel, d: ModelData, ix: _Index) -> None:
    """For each reach set T and year: sellable capacity of T covers the demand only T can serve.

    sum_{(r,c): reach(r,c) subset of T} (demand - unserved) <=
        u * sum_{s in T} sum_{k in A_T} capacity[s,k,y],  A_T = union of the classes' coolings.
    Implied by the LP relaxation, so it does not move the root bound by itself; it hands HiGHS
    an explicit knapsack over the phase binaries from which its cover and MIR separators derive
    the integer-rounding cuts that the chain serve -> it_load -> capacity hides.
    """
    if not d.strong_linking:
        return
    reach: dict[tuple[str, str], frozenset[str]] = {}
    for s, r, c, _y in d.SRCY:
        reach[r, c] = reach.get((r, c), frozenset()) | {s}
    sets = sorted(set(reach.values()), key=lambda t: (len(t), sorted(t)))
    keys = []
    members: dict[int, tuple[list[tuple[str, str]], frozenset[str], frozenset[str]]] = {}
    for i, T in enumerate(sets):
        segs = [rc for rc, sites in reach.items() if sites <= T]
        techs = frozenset().union(*(d.class_cooling[c] for _r, c in segs))
        members[i] = (segs, T, techs)
        keys.extend((i, y) for y in d.Y)
    m.demand_cover_index = pyo.Set(initialize=keys, dimen=2, ordered=True)

    def rule(m: pyo.ConcreteModel, i: int, y: int) -> object:
        segs, T, techs = members[i]
        need = [(r, c) for r, c in segs if (r, c, y) in d.demand]
        if not need:
            return pyo.Constraint.Skip
        cap = pyo.quicksum(m.capacity[s, k, y] for s in sorted(T) for k in ix.site_k_y[s, y]
                           if k in techs)
        return pyo.quicksum(d.demand[r, c, y] - m.unserved[r, c, y] for r, c in need) <= (
            d.max_utilization * cap)

    m.demand_cover = pyo.Constraint(m.demand_cover_index, rule=rule)


def add_grid_headroom(m: pyo.ConcreteModel, d: ModelData, ix: _Index) -> None:
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


def define_rtt_levels(m: pyo.ConcreteModel, d: ModelData) -> None:
    """p-center only: rtt_level[l] = 1 when the worst served round trip reaches rtt_levels[l]."""
    if d.objective != "max_rtt":
        return
    m.L = pyo.Set(initialize=range(1, len(d.rtt_levels)), ordered=True)
    m.rtt_level = pyo.Var(m.L, within=pyo.Binary)


def add_rtt_level_order(m: pyo.ConcreteModel, d: ModelData) -> None:
    """rtt_level[l] <= rtt_level[l-1]: reaching a level means reaching every lower one."""
    if d.objective != "max_rtt":
        return

    def rule(m: pyo.ConcreteModel, lv: int) -> object:
        if lv == 1:
            return pyo.Constraint.Skip
        return m.rtt_level[lv] <= m.rtt_level[lv - 1]

    m.rtt_level_order = pyo.Constraint(m.L, rule=rule)


def add_rtt_reach(m: pyo.ConcreteModel, d: ModelData) -> None:
    """serve[s,r,c,y] <= demand[r,c,y] * rtt_level[l(s,r)]: using a pair reaches its level.

    Pairs at the lowest level (and location-free regions) have no row: they never raise
    the worst served round trip above rtt_levels[0].
    """
    if d.objective != "max_rtt":
        return
    level = _level_of(d)
    keys = [key for key in d.SRCY if level.get((key[0], key[1]), 0) >= 1]
    m.rtt_reach_index = pyo.Set(initialize=keys, dimen=4, ordered=True)

    def rule(m: pyo.ConcreteModel, s: str, r: str, c: str, y: int) -> object:
        return m.serve[s, r, c, y] <= d.demand[r, c, y] * m.rtt_level[level[s, r]]

    m.rtt_reach = pyo.Constraint(m.rtt_reach_index, rule=rule)


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
