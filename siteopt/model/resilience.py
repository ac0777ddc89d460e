"""Resilience families: geo-redundancy and N-1 site loss (models/siteplan.md §8).

Both range over the allowed service keys SRCY of the classes concerned, so they inherit the
latency pruning (and the stricter N-1 fibre-cut pruning of `n_minus_1_links`) and the years
a site can host the class. Nothing is added for an instance without `[resilience.CLASS]`.
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from siteopt.model.data import ModelData, _union_closure
from siteopt.model.resilience_data import ResilienceData

Key = tuple[str, str, str, int]


SPKYKey = tuple[str, str, str, int]


def _hosting_terms(d: ModelData) -> tuple[dict[tuple[str, str, int], list[SPKYKey]],
                                           set[tuple[str, str]]]:
    """The online keys able to host class c at site s in year y; (s, c) with existing hosting."""
    terms: dict[tuple[str, str, int], list[tuple[str, str, str, int]]] = defaultdict(list)
    for s, p, k, y in d.SPKY:
        for c in d.C:
            if k in d.class_cooling[c]:
                terms[s, c, y].append((s, p, k, y))
    existing = {(s, c) for (s, k), mw in d.existing.items() for c in d.C
                if mw > 0 and k in d.class_cooling[c]}
    return terms, existing


def _existing_mw(d: ModelData) -> dict[tuple[str, str], float]:
    """Existing IT MW of each site on coolings class c may use, by (site, class)."""
    existing: dict[tuple[str, str], float] = defaultdict(float)
    for (s, k), mw in d.existing.items():
        for c in d.C:
            if k in d.class_cooling[c]:
                existing[s, c] += mw
    return existing


def _first_phase_hosts(d: ModelData) -> set[tuple[str, str]]:
    """(s, c) where every cooling of the site's first phase hosts c (open means hosting).

    Not a site with existing capacity: it is open from the start, so being open says
    nothing about its first new phase (its existing cooling may not host c).
    """
    first = {sp for sp, prev in d.phase_prev.items()
             if prev is None and sp[0] not in d.opened_before}
    techs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s, p, k, _y in d.SPKY:
        if (s, p) in first:
            techs[s, p].add(k)
    return {(s, c) for (s, _p), ks in techs.items() for c in d.C
            if ks and ks <= d.class_cooling[c]}


def add_geo_redundancy(m: pyo.ConcreteModel, d: ModelData, res: ResilienceData) -> None:
    """Every (r,c,y) of a geo class (y >= from_year) sees k open hosting sites within target.

    GEO = {(s,r,c,y) in SRCY: c has k >= 2, y >= from_year(c)}; geo_pick[s,r,c,y] in [0,1]
    (binary if the class asks for a distance) picks the sites counted:
      geo_pick_host:  geo_pick[s,r,c,y] <= sum_{p, k in A_c} online[s,p,k,y]
                      (no row where s has existing capacity able to host c; open[s,y] on
                      the right where every cooling of s's first phase hosts c: then the
                      site hosts c exactly while open, and the row is much tighter)
      geo_sites:      sum_s geo_pick[s,r,c,y] >= k_c                     (GEO_RCY)
      geo_zone:       sum_{s in S_z} geo_pick[s,r,c,y] <= 1   (distinct_zones; zones with 2+)
      geo_apart:      geo_pick[s,r,c,y] + geo_pick[t,r,c,y] <= 1   (km(s,t) < min_km_apart)
    With hosting binary, continuous picks are exact for distinct zones (a partition matroid);
    pairwise distances need binary picks (an independent set of the close-pair graph).
    """
    if not res.geo_k:
        return
    geo = [key for key in d.SRCY if key[2] in res.geo_k and key[3] >= res.geo_from[key[2]]]
    by_rcy: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    for s, r, c, y in geo:
        by_rcy[r, c, y].append(s)
    m.GEO = pyo.Set(initialize=geo, dimen=4, ordered=True)
    m.GEO_RCY = pyo.Set(initialize=[key for key in d.RCY if key in by_rcy], dimen=3,
                        ordered=True)

    def domain(_m: pyo.ConcreteModel, s: str, r: str, c: str, y: int) -> object:
        return pyo.Binary if c in res.geo_km else pyo.UnitInterval

    m.geo_pick = pyo.Var(m.GEO, domain=domain)
    terms, existing = _hosting_terms(d)

    first_hosts = _first_phase_hosts(d)

    def host_rule(m: pyo.ConcreteModel, s: str, r: str, c: str, y: int) -> object:
        if (s, c) in existing:
            return pyo.Constraint.Skip
        if (s, c) in first_hosts:  # hosting c <=> the site is open: the tighter row
            return m.geo_pick[s, r, c, y] <= m.open[s, y]
        return m.geo_pick[s, r, c, y] <= pyo.quicksum(m.online[key] for key in terms[s, c, y])

    m.geo_pick_host = pyo.Constraint(m.GEO, rule=host_rule)

    def sites_rule(m: pyo.ConcreteModel, r: str, c: str, y: int) -> object:
        return pyo.quicksum(m.geo_pick[s, r, c, y] for s in by_rcy[r, c, y]) >= res.geo_k[c]

    m.geo_sites = pyo.Constraint(m.GEO_RCY, rule=sites_rule)
    zone_rows = []
    for (r, c, y), sites in by_rcy.items():
        if c not in res.geo_zones:
            continue
        count: dict[str, int] = defaultdict(int)
        for s in sites:
            count[d.site_zone[s]] += 1
        zone_rows += [(r, c, z, y) for z in d.Z if count[z] >= 2]
    m.geo_zone_index = pyo.Set(initialize=zone_rows, dimen=4, ordered=True)

    def zone_rule(m: pyo.ConcreteModel, r: str, c: str, z: str, y: int) -> object:
        return pyo.quicksum(m.geo_pick[s, r, c, y] for s in by_rcy[r, c, y]
                            if d.site_zone[s] == z) <= 1

    m.geo_zone = pyo.Constraint(m.geo_zone_index, rule=zone_rule)
    apart_rows = []
    for (r, c, y), sites in by_rcy.items():
        if c not in res.geo_km:
            continue
        apart_rows += [(s, t, r, c, y) for i, s in enumerate(sites) for t in sites[i + 1:]
                       if res.site_km.get((s, t), 0.0) < res.geo_km[c]]
    m.geo_apart_index = pyo.Set(initialize=apart_rows, dimen=5, ordered=True)

    def apart_rule(m: pyo.ConcreteModel, s: str, t: str, r: str, c: str, y: int) -> object:
        return m.geo_pick[s, r, c, y] + m.geo_pick[t, r, c, y] <= 1

    m.geo_apart = pyo.Constraint(m.geo_apart_index, rule=apart_rule)


def add_n_minus_1_sites(m: pyo.ConcreteModel, d: ModelData, res: ResilienceData) -> None:
    """For every outage of one site o: its N-1 classes' load fits in the others' spare capacity.

    N1 = {(o,r,c,y) in SRCY: c has n_minus_1_sites}; N1_BACKUP = {(o,s,r,c,y): (o,r,c,y) and
    (s,r,c,y) in SRCY, s != o}; backup[o,s,r,c,y] >= 0 is the recourse dispatch (IT MW of
    (r,c) that s takes over when o fails, over an allowed pair, so within target):
      n1_reserve:  sum_{s != o} backup[o,s,r,c,y] >= serve[o,r,c,y]               (N1)
      n1_spare:    sum_{r, c in C_g} backup[o,s,r,c,y]
                     <= sum_{k in g, (s,k,y) in SKY} (u capacity[s,k,y] - it_load[s,k,y])
    for every group g of the union-closure of the sets A_c ∩ K_s of the N-1 classes backed up
    at s, C_g = {c: A_c ∩ K_s ⊆ g} (index n1_spare_index = (o, s, group number, y)). By Hall's
    theorem, as for cooling_class, these rows are exactly "the backup loads fit on the spare
    of coolings they may run on". Spare capacity is what normal operation leaves (capacity is
    shared); headroom and budgets are untouched; the recourse costs nothing.
    """
    if not res.n1_sites:
        return
    n1 = [key for key in d.SRCY if key[2] in res.n1_sites]
    by_rcy: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    for s, r, c, y in n1:
        by_rcy[r, c, y].append(s)
    backup_keys = [(o, s, r, c, y) for o, r, c, y in n1 for s in by_rcy[r, c, y] if s != o]
    m.N1 = pyo.Set(initialize=n1, dimen=4, ordered=True)
    m.N1_BACKUP = pyo.Set(initialize=backup_keys, dimen=5, ordered=True)
    m.backup = pyo.Var(m.N1_BACKUP, within=pyo.NonNegativeReals)
    by_outage: dict[tuple[str, str, str, int], list[str]] = defaultdict(list)
    at_site: dict[tuple[str, str, int], list[tuple[str, str]]] = defaultdict(list)
    for o, s, r, c, y in backup_keys:
        by_outage[o, r, c, y].append(s)
        at_site[o, s, y].append((r, c))

    def reserve_rule(m: pyo.ConcreteModel, o: str, r: str, c: str, y: int) -> object:
        return pyo.quicksum(m.backup[o, s, r, c, y] for s in by_outage[o, r, c, y]) >= (
            m.serve[o, r, c, y])

    m.n1_reserve = pyo.Constraint(m.N1, rule=reserve_rule)
    site_k: dict[tuple[str, int], list[str]] = defaultdict(list)
    techs: dict[str, set[str]] = defaultdict(set)
    for s, k, y in d.SKY:
        site_k[s, y].append(k)
        techs[s].add(k)
    groups: dict[str, list[tuple[frozenset[str], frozenset[str]]]] = {}
    for s in d.S:
        allowed = {c: d.class_cooling[c] & techs[s] for c in sorted(res.n1_sites)}
        closure = _union_closure({a for a in allowed.values() if a})
        groups[s] = [(g, frozenset(c for c, a in allowed.items() if a and a <= g))
                     for g in sorted(closure, key=lambda g: (len(g), sorted(g)))]
    rows = [(o, s, i, y) for (o, s, y), pairs in at_site.items()
            for i, (_g, cls) in enumerate(groups[s]) if any(c in cls for _r, c in pairs)]
    m.n1_spare_index = pyo.Set(initialize=rows, dimen=4, ordered=True)
    u = d.max_utilization

    def spare_rule(m: pyo.ConcreteModel, o: str, s: str, i: int, y: int) -> object:
        g, cls = groups[s][i]
        load = pyo.quicksum(m.backup[o, s, r, c, y] for r, c in at_site[o, s, y] if c in cls)
        spare = pyo.quicksum(u * m.capacity[s, k, y] - m.it_load[s, k, y]
                             for k in site_k[s, y] if k in g)
        return load <= spare

    m.n1_spare = pyo.Constraint(m.n1_spare_index, rule=spare_rule)
    add_n1_link(m, d, backup_keys)
    add_n1_region(m, d, n1)
    add_n1_cover(m, d, res, n1)


def add_n1_region(m: pyo.ConcreteModel, d: ModelData, n1: list[Key]) -> None:
    """For each N-1 (r,c,y) and site s that may serve it: the others alone can carry it.

    demand[r,c,y] - unserved[r,c,y] <= sum_{t != s, (t,r,c,y) in SRCY} [min(D, u E_{t,c})
        + sum_{p, k in A_c} min(D, u it_mw[p]) online[t,p,k,y]]
    (index n1_region_index = (r, c, y, s); no row where some t != s has existing capacity
    covering D). When s fails, (r,c,y)'s served demand is carried by the other sites,
    normally or as backup, each at most min(D, u x its capacity on A_c), which the right-hand
    side bounds for binary phases (as in serve_link). Valid for every integer plan, and much
    tighter than the LP's split of a small region between two sites built by halves.
    """
    u = d.max_utilization
    terms, _existing = _hosting_terms(d)
    existing = _existing_mw(d)
    sites: dict[tuple[str, str, int], list[str]] = defaultdict(list)
    for s, r, c, y in n1:
        sites[r, c, y].append(s)
    rows = []
    for (r, c, y), ts in sites.items():
        D = d.demand[r, c, y]
        for s in ts:
            if not any(min(D, u * existing[t, c]) >= D - 1e-12 for t in ts if t != s):
                rows.append((r, c, y, s))
    m.n1_region_index = pyo.Set(initialize=rows, dimen=4, ordered=True)

    def rule(m: pyo.ConcreteModel, r: str, c: str, y: int, s: str) -> object:
        D = d.demand[r, c, y]
        others = [t for t in sites[r, c, y] if t != s]
        carry = sum(min(D, u * existing[t, c]) for t in others) + pyo.quicksum(
            min(D, u * d.phase_it[key[0], key[1]]) * m.online[key]
            for t in others for key in terms[t, c, y])
        return D - m.unserved[r, c, y] <= carry

    m.n1_region = pyo.Constraint(m.n1_region_index, rule=rule)


def add_n1_cover(m: pyo.ConcreteModel, d: ModelData, res: ResilienceData,
                 n1: list[Key]) -> None:
    """For each reach set T of the N-1 classes, outage o in T and year: the rest of T covers.

    sum_{(r,c) N-1, reach(r,c) subset of T} (demand - unserved)[r,c,y]
        <= u * sum_{s in T, s != o} sum_{k in A_T} capacity[s,k,y]
    (index n1_cover_index = (reach-set number, o, y); A_T the union of the classes'
    coolings). When o fails, that demand is served by the others in T, normally or as
    backup, so the row is implied by n1_reserve, n1_spare and the service rows; like
    demand_cover it hands HiGHS an explicit knapsack over the phase binaries of T minus o,
    from which its cover cuts follow. Reach sets are numbered by (size, sorted site ids).
    """
    reach: dict[tuple[str, str], set[str]] = defaultdict(set)
    for s, r, c, _y in n1:
        reach[r, c].add(s)
    sets = sorted({frozenset(t) for t in reach.values()}, key=lambda t: (len(t), sorted(t)))
    members: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for i, t in enumerate(sets):
        for rc, tr in reach.items():
            if tr <= t:
                members[i].append(rc)
    years = {(r, c): [y for rr, cc, y in d.RCY if (rr, cc) == (r, c)] for r, c in reach}
    rows = sorted({(i, o, y) for i, t in enumerate(sets) for o in t
                   for rc in members[i] for y in years[rc]},
                  key=lambda key: (key[0], d.S.index(key[1]), key[2]))
    m.n1_cover_index = pyo.Set(initialize=rows, dimen=3, ordered=True)
    sky = set(d.SKY)
    u = d.max_utilization

    def rule(m: pyo.ConcreteModel, i: int, o: str, y: int) -> object:
        techs = set().union(*(d.class_cooling[c] for _r, c in members[i]))
        need = pyo.quicksum(d.demand[r, c, y] - m.unserved[r, c, y] for r, c in members[i]
                            if (r, c, y) in d.demand)
        cap = pyo.quicksum(u * m.capacity[s, k, y] for s in sorted(sets[i]) if s != o
                           for k in sorted(techs) if (s, k, y) in sky)
        return need <= cap

    m.n1_cover = pyo.Constraint(m.n1_cover_index, rule=rule)


def add_n1_link(m: pyo.ConcreteModel, d: ModelData, backup_keys: list[tuple[str, str, str,
                                                                             str, int]]) -> None:
    """Per-pair strong linking of the recourse to the phases that can host it (as serve_link).

    backup[o,s,r,c,y] <= min(D, u E) + sum_{p, k in A_c} min(D, u it_mw[p]) online[s,p,k,y]
    with D = demand[r,c,y] and E the existing capacity of s on coolings in A_c; no row where
    min(D, u E) = D. Valid because backup <= serve[o,r,c,y] <= D and backup <= the spare of
    s, at most u x its capacity on A_c; it keeps the LP relaxation from backing up a region
    with a sliver of a phase (index N1_BACKUP).
    """
    u = d.max_utilization
    terms, _existing = _hosting_terms(d)
    existing = _existing_mw(d)

    def rule(m: pyo.ConcreteModel, o: str, s: str, r: str, c: str, y: int) -> object:
        D = d.demand[r, c, y]
        base = min(D, u * existing[s, c])
        if base >= D - 1e-12:
            return pyo.Constraint.Skip
        return m.backup[o, s, r, c, y] <= base + pyo.quicksum(
            min(D, u * d.phase_it[key[0], key[1]]) * m.online[key] for key in terms[s, c, y])

    m.n1_link = pyo.Constraint(m.N1_BACKUP, rule=rule)
