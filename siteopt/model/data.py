"""Index sets and parameters of the build-out model, derived once from a validated instance.

Everything here is plain Python (dicts keyed by tuples, lists in a stable order) so that
the Pyomo model is a direct transcription of `models/siteplan.md` and only feasible index
combinations (latency-feasible pairs, years a phase can be online, years with demand) exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from siteopt.data.instance import Instance
from siteopt.data.rules import (
    first_online_year,
    hosting_sites,
    latency_targets,
    lead_years,
    located_regions,
    phase_sequences,
)
from siteopt.data.separation import site_distances
from siteopt.io.frames import records_frame
from siteopt.model.resilience_data import ResilienceData, resilience_data

#: Money is carried in USD M; energy tariffs are given in USD/MWh.
USD_PER_USD_M = 1e6


@dataclass
class ModelData:
    """Sets and parameters named as in `models/siteplan.md`."""

    Y: list[int]
    S: list[str]
    Z: list[str]
    K: list[str]
    R: list[str]
    C: list[str]
    SP: list[tuple[str, str]]
    U: list[str]
    # parameters
    discount: dict[int, float]
    pue: dict[str, float]
    capex_factor: dict[str, float]
    site_zone: dict[str, str]
    site_sponsor: dict[str, str]
    open_cost: dict[str, float]
    site_om: dict[str, float]
    max_it: dict[str, float]
    existing: dict[tuple[str, str], float]
    opened_before: set[str]
    phase_it: dict[tuple[str, str], float]
    phase_capex: dict[tuple[str, str], float]
    phase_om: dict[tuple[str, str], float]
    phase_lead: dict[tuple[str, str], int]
    phase_prev: dict[tuple[str, str], tuple[str, str] | None]
    phase_committed: dict[tuple[str, str], int]
    SPKY: list[tuple[str, str, str, int]]
    headroom: dict[tuple[str, int], float]
    derate: dict[str, float]
    energy_coef: dict[tuple[str, str, int], float]
    upgrade_zone: dict[str, str]
    upgrade_mw: dict[str, float]
    upgrade_capex: dict[str, float]
    upgrade_lead: dict[str, int]
    upgrade_sponsor: dict[str, str]
    UY: list[tuple[str, int]]
    demand: dict[tuple[str, str, int], float]
    RCY: list[tuple[str, str, int]]
    SRCY: list[tuple[str, str, str, int]]
    SKY: list[tuple[str, str, int]]
    service_cost: dict[tuple[str, str], float]
    latency: dict[tuple[str, str], float]
    groups: dict[str, list[tuple[frozenset[str], frozenset[str]]]]
    class_cooling: dict[str, frozenset[str]]
    budgets: list[tuple[str, int | None, float]]
    allow_unserved: bool
    unserved_penalty: float
    max_utilization: float
    strong_linking: bool
    objective: str
    p_sites: int | None
    site_rule: str
    rtt_levels: list[float]
    #: `[resilience.CLASS]` settings (models/siteplan.md §8); none: no resilience family
    resilience: ResilienceData = field(default_factory=ResilienceData)
    #: single-source service (`service.single_source`): one site per (region, class, year)
    single_sourced: bool = False
    #: p-dispersion: km between every pair of sites (a, b), a before b in S
    site_km: dict[tuple[str, str], float] | None = None

    @property
    def first_year(self) -> int:
        """First year of the horizon."""
        return self.Y[0]

    @property
    def last_year(self) -> int:
        """Last year of the horizon."""
        return self.Y[-1]


def allowed_pairs(inst: Instance) -> pd.DataFrame:
    """(site, region, class) triples that may serve: connected, within target, coolable.

    Location-free regions (no node) may be served from any site; latency is then NaN.
    Ordered by region, class and site (the tables' orders).
    """
    return records_frame(list(zip(*_allowed_pair_columns(inst), strict=True)),
                         ["site", "region", "class", "rtt_ms"],
                         text=("site", "region", "class"))


def _allowed_pair_columns(inst: Instance) -> tuple[list[str], list[str], list[str], list[float]]:
    """The columns of `allowed_pairs` as lists (site, region, class, rtt_ms)."""
    tables = inst.tables
    sites = list(tables["sites"]["site"])
    regions = list(tables["regions"]["region"])
    classes = list(tables["classes"]["class"])
    s_pos = {s: i for i, s in enumerate(sites)}
    r_pos = {r: i for i, r in enumerate(regions)}
    hosts = hosting_sites(tables)
    targets = latency_targets(inst.meta, tables)
    lat = inst.latency
    lat_site = np.fromiter(map(s_pos.__getitem__, lat["site"]), np.int64, len(lat))
    lat_region = np.fromiter(map(r_pos.__getitem__, lat["region"]), np.int64, len(lat))
    lat_rtt = lat["rtt_ms"].to_numpy(dtype=float)
    # N-1 fibre cut (models/siteplan.md §8): such a class is pruned on the worst single cut
    n1_rtt = lat["rtt_ms_n1"].to_numpy(dtype=float) if "rtt_ms_n1" in lat.columns else lat_rtt
    n1_links = {c for c, rule in inst.meta.resilience.items() if rule.n_minus_1_links}
    located = located_regions(tables)
    free = np.array([r_pos[r] for r in regions if r not in located], dtype=np.int64)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for ci, c in enumerate(classes):
        host = np.zeros(len(sites), bool)
        host[[s_pos[s] for s in hosts[c]]] = True
        target = np.array([targets.get((r, c), np.inf) for r in regions], dtype=float)
        rtt = n1_rtt if c in n1_links else lat_rtt
        ok = host[lat_site] & (rtt <= target[lat_region] + 1e-9)
        if c in n1_links:  # a pair one cut disconnects never survives it, target or not
            ok &= np.isfinite(rtt)
        parts.append((lat_site[ok], lat_region[ok], np.full(int(ok.sum()), ci), lat_rtt[ok]))
        hs = np.flatnonzero(host)  # location-free regions: every hosting site, no latency
        parts.append((np.tile(hs, len(free)), np.repeat(free, len(hs)),
                      np.full(len(hs) * len(free), ci), np.full(len(hs) * len(free), np.nan)))
    site_i, region_i, class_i = (np.concatenate([p[k] for p in parts]).astype(np.int64)
                                 for k in range(3))
    rtt = np.concatenate([p[3] for p in parts])
    order = np.lexsort((site_i, class_i, region_i))
    return ([sites[i] for i in site_i[order].tolist()],
            [regions[i] for i in region_i[order].tolist()],
            [classes[i] for i in class_i[order].tolist()], rtt[order].tolist())


def build_data(inst: Instance) -> ModelData:
    """Derive every set and parameter of the model from a validated instance."""
    meta = inst.meta
    t = inst.tables
    Y = inst.years
    y0 = Y[0]
    eco = meta.economics
    discount = {y: (1 + eco.discount_rate) ** -(y - y0) for y in Y}

    cooling = t["cooling"]
    K = list(cooling["cooling"])
    pue = dict(zip(cooling["cooling"], cooling["pue"], strict=True))
    capex_factor = dict(zip(cooling["cooling"], cooling["capex_factor"], strict=True))
    buildable = tuple(cooling.loc[cooling["buildable"].astype(bool), "cooling"])

    sites = t["sites"]
    S = list(sites["site"])
    site_zone = dict(zip(S, sites["zone"], strict=True))
    site_sponsor = dict(zip(S, sites["sponsor"], strict=True))
    open_cost = dict(zip(S, sites["open_cost_usd_m"], strict=True))
    site_om = dict(zip(S, sites["site_fixed_om_usd_m_per_year"], strict=True))
    max_it = {s: float(v) for s, v in zip(S, sites["max_it_mw"], strict=True) if not pd.isna(v)}
    existing = {(r.site, r.existing_cooling): float(r.existing_it_mw)
                for r in sites.itertuples(index=False) if r.existing_it_mw > 0}
    opened_before = {s for s, _ in existing}

    phases = t["phases"]
    SP: list[tuple[str, str]] = []
    phase_prev: dict[tuple[str, str], tuple[str, str] | None] = {}
    for site, rows in phase_sequences(phases).items():
        prev = None
        for i in rows:
            key = (site, phases.at[i, "phase"])
            SP.append(key)
            phase_prev[key] = prev
            prev = key
    row_of = {(r.site, r.phase): r for r in phases.itertuples(index=False)}
    phase_it = {k: float(row_of[k].it_mw) for k in SP}
    phase_capex = {k: float(row_of[k].capex_usd_m) for k in SP}
    phase_om = {k: float(row_of[k].capex_usd_m * eco.fixed_om_share
                         if pd.isna(row_of[k].fixed_om_usd_m_per_year)
                         else row_of[k].fixed_om_usd_m_per_year) for k in SP}
    phase_lead = {k: lead_years(int(row_of[k].lead_months)) for k in SP}
    phase_committed = {k: int(row_of[k].committed_year) for k in SP
                       if not pd.isna(row_of[k].committed_year)}
    SPKY: list[tuple[str, str, str, int]] = []
    for key in SP:
        row = row_of[key]
        techs = row.cooling or buildable
        if key in phase_committed:
            start = phase_committed[key]
        else:
            start = first_online_year(row.earliest_decision_year, phase_lead[key], y0,
                                      row.earliest_online_year)
        SPKY.extend((key[0], key[1], k, y) for k in techs for y in Y if y >= start)

    zones = t["zones"]
    Z = list(zones["zone"])
    derate = dict(zip(Z, zones["derate"], strict=True))
    tariff_factor = dict(zip(Z, zones["tariff_factor"], strict=True))
    headroom = {(z, int(y)): float(h) for z, y, h in
                t["headroom"][["zone", "year", "headroom_mw"]].itertuples(index=False)}

    energy_coef = {}
    for s in S:
        z = site_zone[s]
        for y in Y:
            tariff = eco.tariff_usd_per_mwh * tariff_factor[z] * (1 + eco.tariff_escalation) ** (
                y - y0)
            for k in K:
                energy_coef[s, k, y] = (pue[k] * eco.hours_per_year * eco.it_load_factor
                                        * tariff / USD_PER_USD_M)

    upgrades = t["upgrades"]
    U = list(upgrades["upgrade"])
    upgrade_lead = {r.upgrade: lead_years(int(r.lead_months))
                    for r in upgrades.itertuples(index=False)}
    UY = [(r.upgrade, y) for r in upgrades.itertuples(index=False) for y in Y
          if y >= first_online_year(r.earliest_decision_year, upgrade_lead[r.upgrade], y0)]

    demand_tab = t["demand"]
    demand = {(r, c, int(y)): float(v) for r, c, y, v in
              demand_tab[["region", "class", "year", "it_mw"]].itertuples(index=False) if v > 0}
    RCY = _ordered_keys(demand, t["regions"]["region"], t["classes"]["class"])

    pair_sites, pair_regions, pair_classes, pair_rtt = _allowed_pair_columns(inst)
    pair_list = list(zip(pair_sites, pair_regions, pair_classes, strict=True))
    latency = dict(zip(zip(pair_sites, pair_regions, strict=True), pair_rtt, strict=True))
    # Site-level cooling: technologies available at each site, and years each can have capacity.
    first_cap: dict[tuple[str, str], int] = {}
    for (s, k), _mw in existing.items():
        first_cap[s, k] = y0
    for s, _p, k, y in SPKY:
        first_cap[s, k] = min(first_cap.get((s, k), y), y)
    SKY = [(s, k, y) for s in S for k in K if (s, k) in first_cap for y in Y
           if y >= first_cap[s, k]]

    # serve exists only where the site can have capacity of a cooling the class runs on
    class_techs = {c: frozenset(a or K) for c, a in zip(t["classes"]["class"],
                                                          t["classes"]["cooling"], strict=True)}
    host_from: dict[tuple[str, str], int] = {}
    for s in S:
        for c, techs in class_techs.items():
            years = [first_cap[s, k] for k in techs if (s, k) in first_cap]
            if years:
                host_from[s, c] = min(years)
    by_rc: dict[tuple[str, str], list[str]] = {}
    for s, r, c in pair_list:
        if (s, c) in host_from:
            by_rc.setdefault((r, c), []).append(s)
    SRCY = [(s, r, c, y) for (r, c, y) in RCY for s in by_rc.get((r, c), [])
            if y >= host_from[s, c]]

    classes = t["classes"]
    served_classes: dict[str, set[str]] = {}
    for s, _r, c, _y in SRCY:
        served_classes.setdefault(s, set()).add(c)
    groups: dict[str, list[tuple[frozenset[str], frozenset[str]]]] = {}
    for s in S:
        site_techs = frozenset(k for k in K if (s, k) in first_cap)
        allowed = {c: class_techs[c] & site_techs for c in sorted(served_classes.get(s, ()))}
        closure = _union_closure(set(allowed.values()))
        groups[s] = [
            (g, frozenset(c for c, a in allowed.items() if a <= g))
            for g in sorted(closure, key=lambda g: (len(g), sorted(g)))
            if g != site_techs and any(a <= g for a in allowed.values())
        ]

    costs = t["service_costs"]
    service_cost = dict(zip(zip(costs["site"], costs["region"], strict=True),
                            costs["cost_usd_m_per_mw_year"].astype(float).tolist(), strict=True))

    budgets = [(sp, None if pd.isna(y) else int(y), float(v)) for sp, y, v in
               t["budgets"][["sponsor", "year", "max_capex_usd_m"]].itertuples(index=False)]

    return ModelData(
        Y=Y, S=S, Z=Z, K=K, R=list(t["regions"]["region"]), C=list(classes["class"]), SP=SP,
        U=U, discount=discount, pue=pue, capex_factor=capex_factor, site_zone=site_zone,
        site_sponsor=site_sponsor, open_cost=open_cost, site_om=site_om, max_it=max_it,
        existing=existing, opened_before=opened_before, phase_it=phase_it,
        phase_capex=phase_capex, phase_om=phase_om, phase_lead=phase_lead,
        phase_prev=phase_prev, phase_committed=phase_committed, SPKY=SPKY, headroom=headroom,
        derate=derate, energy_coef=energy_coef,
        upgrade_zone=dict(zip(U, upgrades["zone"], strict=True)),
        upgrade_mw=dict(zip(U, upgrades["add_mw"], strict=True)),
        upgrade_capex=dict(zip(U, upgrades["capex_usd_m"], strict=True)),
        upgrade_lead=upgrade_lead,
        upgrade_sponsor=dict(zip(U, upgrades["sponsor"], strict=True)), UY=UY, demand=demand,
        RCY=RCY, SRCY=SRCY, SKY=SKY, service_cost=service_cost, latency=latency,
        groups=groups, class_cooling=class_techs, budgets=budgets,
        allow_unserved=meta.unserved_allowed,
        unserved_penalty=meta.service.unserved_penalty_usd_m_per_mw_year,
        max_utilization=meta.service.max_utilization,
        strong_linking=meta.service.strong_linking,
        objective=meta.siting.objective, p_sites=meta.siting.sites,
        site_rule=meta.siting.sites_rule,
        rtt_levels=_rtt_levels(meta.siting.objective, SRCY, latency),
        resilience=resilience_data(inst),
        single_sourced=meta.service.single_source,
        site_km=(site_distances(t) if meta.siting.objective == "min_separation_km"
                 else None),
    )


def _rtt_levels(objective: str, SRCY: list[tuple[str, str, str, int]],
                latency: dict[tuple[str, str], float]) -> list[float]:
    """L: the distinct round trips of the pairs that may serve, ascending (p-center only).

    Location-free regions have no latency and so never set the worst served round trip.
    """
    if objective != "max_rtt":
        return []
    values = {round(latency[s, r], 9) for s, r, _c, _y in SRCY}
    return sorted(v for v in values if not math.isnan(v))


def _ordered_keys(demand: dict[tuple[str, str, int], float], regions: pd.Series,
                  classes: pd.Series) -> list[tuple[str, str, int]]:
    r_pos = {r: i for i, r in enumerate(regions)}
    c_pos = {c: i for i, c in enumerate(classes)}
    return sorted(demand, key=lambda k: (r_pos[k[0]], c_pos[k[1]], k[2]))


def _union_closure(sets: set[frozenset[str]]) -> set[frozenset[str]]:
    """All unions of one or more of `sets` (the neighbourhoods Hall's condition ranges over)."""
    closure = {s for s in sets if s}
    frontier = set(closure)
    while frontier:
        new = {a | b for a, b in combinations(closure | frontier, 2)} - closure
        closure |= new
        frontier = new
    return closure
