"""The array-built families of `siteopt.model.build`, written as plain Pyomo rules.

The reference for `tests/test_model_arrays.py`: these are the rule-based versions the
array families replaced (same symbols as `models/siteplan.md`). A model built with them
and compiled by Pyomo alone must equal the fast model compiled by siteopt, row by row.
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from siteopt.model.classic import _level_of
from siteopt.model.data import ModelData


class _Index:
    """The lookups the rules need (as the rule-based build had them)."""

    def __init__(self, d: ModelData):
        self.serve_by_site: dict[tuple[str, int], list[tuple[str, str, str, int]]] = (
            defaultdict(list))
        self.serve_by_rc: dict[tuple[str, str, int], list[tuple[str, str, str, int]]] = (
            defaultdict(list))
        for key in d.SRCY:
            self.serve_by_site[key[0], key[3]].append(key)
            self.serve_by_rc[key[1], key[2], key[3]].append(key)
        self.site_k_y: dict[tuple[str, int], list[str]] = defaultdict(list)
        for s, k, y in d.SKY:
            self.site_k_y[s, y].append(k)
        self.site_phase_y: dict[tuple[str, str, int], list[tuple[str, str]]] = defaultdict(list)
        for s, p, k, y in d.SPKY:
            self.site_phase_y[s, k, y].append((s, p))


def service_cost(m: pyo.ConcreteModel, d: ModelData, ix: _Index, y: int) -> object:
    """The service_cost term of year y as the rule-based build summed it."""
    return pyo.quicksum(d.service_cost[key[0], key[1]] * m.serve[key]
                        for site in d.S for key in ix.serve_by_site[site, y]
                        if (key[0], key[1]) in d.service_cost)


def rule_model(m: pyo.ConcreteModel, d: ModelData) -> pyo.ConcreteModel:
    """Replace the array families of a built model with rule-built ones, in place."""
    ix = _Index(d)
    for name in ("it_load_balance", "cooling_class", "demand_balance", "serve_link",
                 "demand_cover", "rtt_reach", "single_source", "assign_link"):
        if hasattr(m, name):
            m.del_component(name)
    for name in ("cooling_class_index", "demand_cover_index", "rtt_reach_index"):
        if hasattr(m, name):
            m.del_component(name)
    add_it_load_balance(m, d, ix)
    add_cooling_class(m, d, ix)
    add_demand_balance(m, d, ix)
    add_serve_link(m, d, ix)
    add_demand_cover(m, d, ix)
    add_rtt_reach(m, d)
    add_single_source(m, d)
    for y in d.Y:
        m.cost["service_cost", y].set_value(service_cost(m, d, ix, y))
    return m


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
    # build order per site, and the coolings each phase may ever use
    chain: dict[str, list[str]] = defaultdict(list)
    for s, p in d.SP:
        if d.phase_prev[s, p] is None:
            q = p
            while q is not None:
                chain[s].append(q)
                q = next((b for (a, b), prev in d.phase_prev.items()
                          if a == s and prev == (s, q)), None)
    coolings: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s, p, k, _y in d.SPKY:
        coolings[s, p].add(k)

    def coefficient(s: str, p: str, c: str, D: float) -> float:
        """min(D, u it) outside the hosting prefix; the lifted step inside it."""
        u = d.max_utilization
        before = existing[s, c]
        for q in chain[s]:
            if not coolings[s, q] <= d.class_cooling[c]:
                break  # the prefix of phases that can only host c ends here
            if q == p:
                return min(D, u * (before + d.phase_it[s, p])) - min(D, u * before)
            before += d.phase_it[s, q]
        return min(D, u * d.phase_it[s, p])

    def rule(m: pyo.ConcreteModel, s: str, r: str, c: str, y: int) -> object:
        D = d.demand[r, c, y]
        u = d.max_utilization
        base = min(D, u * existing[s, c])
        if base >= D - 1e-12:
            return pyo.Constraint.Skip
        terms = [(coefficient(s, sp[1], c, D), m.online[sp[0], sp[1], k, y])
                 for k in techs_of[c] for sp in ix.site_phase_y[s, k, y]]
        return m.serve[s, r, c, y] <= base + pyo.quicksum(a * x for a, x in terms if a != 0)

    m.serve_link = pyo.Constraint(m.SRCY, rule=rule)


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


def add_single_source(m: pyo.ConcreteModel, d: ModelData) -> None:
    """single_source: sum_s assign <= 1 (== 1 without unserved); assign_link: serve <= D assign."""
    if not d.single_sourced:
        return
    by_rcy: dict[tuple[str, str, int], list[str]] = {key: [] for key in d.RCY}
    for s, r, c, y in d.SRCY:
        by_rcy[r, c, y].append(s)

    def one(m: pyo.ConcreteModel, r: str, c: str, y: int) -> object:
        if not by_rcy[r, c, y]:
            return pyo.Constraint.Skip
        total = pyo.quicksum(m.assign[s, r, c, y] for s in by_rcy[r, c, y])
        return total <= 1 if d.allow_unserved else total == 1

    m.single_source = pyo.Constraint(m.RCY, rule=one)

    def link(m: pyo.ConcreteModel, s: str, r: str, c: str, y: int) -> object:
        return m.serve[s, r, c, y] <= d.demand[r, c, y] * m.assign[s, r, c, y]

    m.assign_link = pyo.Constraint(m.SRCY, rule=link)


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
