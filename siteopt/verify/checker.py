"""Independent verification of a plan against the raw instance tables.

Written without the Pyomo model, its derived index sets or the networkx latency code: it
recomputes capacities, power, latencies (scipy's Dijkstra on its own graph), cooling
feasibility (a max-flow per site and year), budgets and the objective from the instance's
tables and the plan's decision tables (`schedule`, `sites`, `upgrades`, `capacity` loads,
`served`, `unserved`), so that a bug in the model cannot hide itself.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from siteopt.data.instance import Instance

#: Absolute feasibility tolerance in MW (and USD M for budgets); rows are scaled by magnitude.
TOL = 1e-4
#: Relative tolerance between the reported and the recomputed objective.
OBJ_RTOL = 1e-6


@dataclass
class CheckReport:
    """Outcome of a check: the violations found and the objective recomputed from the plan."""

    violations: list[str] = field(default_factory=list)
    objective: float = math.nan
    total_cost: float = math.nan
    cost_by_term: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the plan satisfies every rule."""
        return not self.violations


def _tol(scale: float) -> float:
    return TOL * max(1.0, abs(scale))


def _rtt(inst: Instance, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Round-trip latency of the given connected (site, region) pairs.

    SciPy's Dijkstra on the checker's own graph, from the sites of those pairs only.
    """
    lat = inst.meta.latency
    links = inst.table("links")
    nodes = sorted(set(links["a"]) | set(links["b"]) | set(inst.table("nodes")["node"]))
    pos = {n: i for i, n in enumerate(nodes)}
    w = links["km"].to_numpy() * lat.rtt_ms_per_km + lat.rtt_ms_per_hop + links[
        "extra_rtt_ms"].to_numpy()
    best: dict[tuple[int, int], float] = {}
    for a, b, wt in zip(links["a"], links["b"], w, strict=True):
        i, j = sorted((pos[a], pos[b]))
        best[i, j] = min(best.get((i, j), math.inf), float(wt))
    n = len(nodes)
    site_node = dict(zip(inst.table("sites")["site"], inst.table("sites")["node"], strict=True))
    region_node = dict(zip(inst.table("regions")["region"], inst.table("regions")["node"],
                           strict=True))
    wanted = sorted((s, r) for s, r in pairs if region_node.get(r) and site_node.get(s) in pos)
    if not n or not wanted:
        return {}
    ii = [k[0] for k in best]
    jj = [k[1] for k in best]
    vals = [max(v, 1e-12) for v in best.values()]  # zero weight would vanish in a sparse matrix
    graph = coo_matrix((vals, (ii, jj)), shape=(n, n)).tocsr()
    sources = sorted({pos[site_node[s]] for s, _r in wanted})
    row = {node: i for i, node in enumerate(sources)}
    dist = dijkstra(graph, directed=False, indices=sources)
    out = {}
    for s, r in wanted:
        d = dist[row[pos[site_node[s]]], pos[region_node[r]]]
        if np.isfinite(d):
            out[s, r] = lat.rtt_ms_fixed + float(d)
    return out


def check_plan(inst: Instance, plan: dict[str, pd.DataFrame],
               reported_objective: float | None = None) -> CheckReport:
    """Check every rule of the instance on `plan` and recompute its objective.

    The objective is the instance's `siting.objective` (total_cost: USD M present value;
    max_rtt: ms; uncovered_mw: MW-years; site_count: sites), recomputed from the plan alone.
    """
    rep = CheckReport()
    v = rep.violations
    meta = inst.meta
    years = inst.years
    y0, yT = years[0], years[-1]
    eco = meta.economics

    cooling = inst.table("cooling").set_index("cooling")
    sites = inst.table("sites").set_index("site")
    phases = inst.table("phases")
    zones = inst.table("zones").set_index("zone")

    # ---- schedule: phases, coolings, timing, order, committed -------------------------------
    sched = plan["schedule"]
    built: dict[tuple[str, str], tuple[str, int]] = {}
    for row in sched.itertuples(index=False):
        key = (row.site, row.phase)
        if key in built:
            v.append(f"phase {key} built twice")
        built[key] = (row.cooling, int(row.online_year))
    ph = {(r.site, r.phase): r for r in phases.itertuples(index=False)}
    for key, (tech, year) in built.items():
        if key not in ph:
            v.append(f"schedule names unknown phase {key}")
            continue
        r = ph[key]
        allowed = r.cooling or tuple(cooling.index[cooling["buildable"].astype(bool)])
        if tech not in allowed:
            v.append(f"phase {key} built with cooling {tech}, allowed {allowed}")
        if not y0 <= year <= yT:
            v.append(f"phase {key} online in {year}, outside the horizon")
        if pd.isna(r.committed_year):
            decision = y0 if pd.isna(r.earliest_decision_year) else max(
                int(r.earliest_decision_year), y0)
            first = decision + math.ceil(int(r.lead_months) / 12)
            if year < first:
                v.append(f"phase {key} online in {year}, before its earliest {first}")
        elif year != int(r.committed_year):
            v.append(f"committed phase {key} online in {year}, committed {r.committed_year}")
    for key, r in ph.items():
        if not pd.isna(r.committed_year) and key not in built:
            v.append(f"committed phase {key} missing from the schedule")
    # order within each site: explicit order, else file order
    seq: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    for i, r in enumerate(phases.itertuples(index=False)):
        seq[r.site].append((math.inf if pd.isna(r.order) else float(r.order), i, r.phase))
    for site, items in seq.items():
        items.sort()
        for (_, _, prev), (_, _, cur) in itertools.pairwise(items):
            if (site, cur) in built:
                if (site, prev) not in built:
                    v.append(f"phase {site}/{cur} built without earlier phase {prev}")
                elif built[site, prev][1] > built[site, cur][1]:
                    v.append(f"phase {site}/{cur} online before earlier phase {prev}")

    # ---- sites open ---------------------------------------------------------------------------
    open_year: dict[str, int | None] = {}
    site_plan = plan["sites"].set_index("site")
    for s in sites.index:
        existing = sites.at[s, "existing_it_mw"] > 0
        y = site_plan.at[s, "open_year"] if s in site_plan.index else None
        open_year[s] = y0 if existing else (None if y is None or pd.isna(y) else int(y))
        if existing and (y is None or pd.isna(y) or int(y) != y0):
            v.append(f"site {s} has existing capacity but is not open from {y0}")
    for (s, p), (_tech, year) in built.items():
        oy = open_year.get(s)
        if oy is None or oy > year:
            v.append(f"phase {s}/{p} online in {year} but site {s} opens in {oy}")
    for s, oy in open_year.items():
        first = min((y for (ss, _p), (_k, y) in built.items() if ss == s), default=None)
        if sites.at[s, "existing_it_mw"] <= 0 and oy is not None and oy != first:
            v.append(f"site {s} opens in {oy} but its first phase comes online in {first}")

    # ---- capacity by site, cooling, year --------------------------------------------------------
    cap: dict[tuple[str, str, int], float] = defaultdict(float)
    for s, r in sites.iterrows():
        if r["existing_it_mw"] > 0:
            for y in years:
                cap[s, r["existing_cooling"], y] += float(r["existing_it_mw"])
    for (s, p), (tech, year) in built.items():
        if (s, p) in ph:
            for y in years:
                if y >= year:
                    cap[s, tech, y] += float(ph[s, p].it_mw)
    site_total: dict[tuple[str, int], float] = defaultdict(float)
    for (s, _k, y), c in cap.items():
        site_total[s, y] += c
    for s, r in sites.iterrows():
        if not pd.isna(r["max_it_mw"]):
            for y in years:
                total = site_total[s, y]
                if total > r["max_it_mw"] + _tol(total):
                    v.append(f"site {s} has {total:.3f} IT MW in {y}, cap {r['max_it_mw']}")

    # ---- upgrades -----------------------------------------------------------------------------
    upgrades = inst.table("upgrades").set_index("upgrade")
    up_year: dict[str, int] = {}
    for row in plan["upgrades"].itertuples(index=False):
        if row.upgrade not in upgrades.index:
            v.append(f"unknown upgrade {row.upgrade}")
            continue
        if row.upgrade in up_year:
            v.append(f"upgrade {row.upgrade} bought twice")
        u = upgrades.loc[row.upgrade]
        decision = y0 if pd.isna(u["earliest_decision_year"]) else max(
            int(u["earliest_decision_year"]), y0)
        first = decision + math.ceil(int(u["lead_months"]) / 12)
        if not first <= int(row.online_year) <= yT:
            v.append(f"upgrade {row.upgrade} online {row.online_year}, allowed {first}-{yT}")
        up_year[row.upgrade] = int(row.online_year)

    # ---- grid headroom --------------------------------------------------------------------------
    head = inst.table("headroom").set_index(["zone", "year"])["headroom_mw"]
    zone_power: dict[tuple[str, int], float] = defaultdict(float)
    for (s, k, y), c in cap.items():
        zone_power[sites.at[s, "zone"], y] += cooling.at[k, "pue"] * c
    for z in zones.index:
        for y in years:
            power = zone_power[z, y]
            limit = zones.at[z, "derate"] * head[z, y] + sum(
                upgrades.at[u, "add_mw"] for u, uy in up_year.items()
                if upgrades.at[u, "zone"] == z and uy <= y)
            if power > limit + _tol(limit):
                v.append(f"zone {z} draws {power:.3f} facility MW in {y}, limit {limit:.3f}")

    # ---- service: latency, open sites, demand balance -------------------------------------------
    targets = inst.table("latency_targets").set_index(["region", "class"])["max_rtt_ms"]
    region_node = inst.table("regions").set_index("region")["node"]
    classes = inst.table("classes").set_index("class")
    served = plan["served"]
    serve_rows = list(served[["site", "region", "class", "year", "serve_mw"]].itertuples(
        index=False, name=None))
    rtt = _rtt(inst, {(s, r) for s, r, _c, _y, _mw in serve_rows})
    for s, r, c, y, mw in serve_rows:
        if mw < -TOL:
            v.append(f"negative service {s}->{r}/{c} in {y}: {mw}")
        oy = open_year.get(s)
        if oy is None or oy > int(y):
            v.append(f"site {s} serves {r}/{c} in {y} but is not open")
        if c in classes.index and classes.at[c, "cooling"] and not any(
                cap.get((s, k, int(y)), 0) > 0 for k in classes.at[c, "cooling"]):
            v.append(f"site {s} serves class {c} in {y} with no capacity able to host it")
        if region_node.get(r, "") != "":
            lat = rtt.get((s, r))
            if lat is None:
                v.append(f"site {s} serves {r} with no fiber path")
            else:
                limit = targets.get((r, c), meta.latency.max_rtt_ms)
                if limit is not None and lat > limit + 1e-9:
                    v.append(f"site {s} serves {r}/{c} at {lat:.3f} ms, target {limit} ms")
    demand = inst.table("demand")
    got = served.groupby(["region", "class", "year"])["serve_mw"].sum().to_dict() if len(
        served) else {}
    miss = plan["unserved"].set_index(["region", "class", "year"])["unserved_mw"].to_dict() if len(
        plan["unserved"]) else {}
    for r, c, y, d in demand[["region", "class", "year", "it_mw"]].itertuples(index=False):
        if int(y) not in years:
            continue
        s_mw = got.get((r, c, y), 0.0)
        u_mw = miss.get((r, c, y), 0.0)
        if abs(s_mw + u_mw - d) > _tol(d):
            v.append(f"demand {r}/{c}/{y}: served {s_mw:.4f} + unserved {u_mw:.4f} != {d}")
        if u_mw > TOL and not meta.unserved_allowed:
            v.append(f"demand {r}/{c}/{y}: {u_mw:.4f} MW unserved but unserved is forbidden")
    listed = set(zip(demand["region"], demand["class"], demand["year"].astype(int), strict=True))
    for key, x in miss.items():
        if x < -TOL:
            v.append(f"demand {key}: negative unserved {x:.4f} MW")
    for key in sorted(set(got) | set(miss)):
        if key not in listed and (got.get(key, 0) > TOL or miss.get(key, 0) > TOL):
            v.append(f"service for {key} which has no demand")

    # ---- loads: capacity, balance, cooling compatibility (max-flow) -----------------------------
    loads = plan["capacity"]
    load = {(s, k, int(y)): float(x) for s, k, y, x in
            loads[["site", "cooling", "year", "it_load_mw"]].itertuples(index=False)}
    util = meta.service.max_utilization
    for (s, k, y), x in load.items():
        if x < -TOL:
            v.append(f"site {s} runs a negative load {x:.4f} MW on {k} in {y}")
        if x > util * cap.get((s, k, y), 0.0) + _tol(x):
            v.append(f"site {s} runs {x:.4f} MW on {k} in {y}, usable "
                     f"{util * cap.get((s, k, y), 0.0):.4f}")
    by_site_year: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for s, _r, c, y, mw in serve_rows:
        by_site_year[s, int(y)][c] += float(mw)
    all_tech = tuple(cooling.index)
    load_by_site_year: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for (s, k, y), x in load.items():
        load_by_site_year[s, y][k] = x
    for (s, y), per_class in by_site_year.items():
        total = sum(per_class.values())
        techs = load_by_site_year[s, y]
        if abs(sum(techs.values()) - total) > _tol(total):
            v.append(f"site {s} in {y}: loads {sum(techs.values()):.4f} != served {total:.4f}")
        flow = nx.DiGraph()
        for c, mw in per_class.items():
            flow.add_edge("src", ("c", c), capacity=mw)
            for k in classes.at[c, "cooling"] or all_tech:
                flow.add_edge(("c", c), ("k", k))
        for k, mw in techs.items():
            flow.add_edge(("k", k), "dst", capacity=mw)
        value = nx.maximum_flow_value(flow, "src", "dst") if "dst" in flow else 0.0
        if value < total - _tol(total):
            v.append(f"site {s} in {y}: classes cannot run on the coolings' loads "
                     f"({value:.4f} of {total:.4f} MW)")

    # ---- costs and budgets --------------------------------------------------------------------
    disc = {y: (1 + eco.discount_rate) ** -(y - y0) for y in years}
    terms = {t: defaultdict(float) for t in ("capex", "open_cost", "fixed_om", "energy",
                                             "upgrade_cost", "service_cost",
                                             "unserved_penalty")}
    spend_by: list[tuple[str, int, float]] = []  # (sponsor, year, USD M)

    def spread(total: float, online: int, lead_months: int) -> list[tuple[int, float]]:
        lead = math.ceil(lead_months / 12)
        span = [online] if lead == 0 else list(range(online - lead, online))
        return [(y, total / len(span)) for y in span if y0 <= y <= yT]

    for (s, p), (tech, year) in built.items():
        if (s, p) not in ph:
            continue
        r = ph[s, p]
        amount = float(r.capex_usd_m) * float(cooling.at[tech, "capex_factor"])
        for y, x in spread(amount, year, int(r.lead_months)):
            terms["capex"][y] += x
            spend_by.append((sites.at[s, "sponsor"], y, x))
        om = (float(r.capex_usd_m) * eco.fixed_om_share if pd.isna(r.fixed_om_usd_m_per_year)
              else float(r.fixed_om_usd_m_per_year))
        for y in years:
            if y >= year:
                terms["fixed_om"][y] += om
    for s, oy in open_year.items():
        if oy is None:
            continue
        if sites.at[s, "existing_it_mw"] <= 0:
            terms["open_cost"][oy] += float(sites.at[s, "open_cost_usd_m"])
            spend_by.append((sites.at[s, "sponsor"], oy, float(sites.at[s, "open_cost_usd_m"])))
        for y in years:
            if y >= oy:
                terms["fixed_om"][y] += float(sites.at[s, "site_fixed_om_usd_m_per_year"])
    for u, uy in up_year.items():
        for y, x in spread(float(upgrades.at[u, "capex_usd_m"]), uy,
                           int(upgrades.at[u, "lead_months"])):
            terms["upgrade_cost"][y] += x
            spend_by.append((upgrades.at[u, "sponsor"], y, x))
    for (s, k, y), x in load.items():
        z = sites.at[s, "zone"]
        tariff = eco.tariff_usd_per_mwh * zones.at[z, "tariff_factor"] * (
            1 + eco.tariff_escalation) ** (y - y0)
        terms["energy"][y] += (x * cooling.at[k, "pue"] * eco.hours_per_year
                               * eco.it_load_factor * tariff / 1e6)
    svc = inst.table("service_costs").set_index(["site", "region"])["cost_usd_m_per_mw_year"]
    for s, r, _c, y, mw in serve_rows:
        terms["service_cost"][int(y)] += float(mw) * float(svc.get((s, r), 0.0))
    for (_r, _c, y), x in miss.items():
        terms["unserved_penalty"][int(y)] += x * meta.service.unserved_penalty_usd_m_per_mw_year

    for sponsor, year, limit in inst.table("budgets")[
            ["sponsor", "year", "max_capex_usd_m"]].itertuples(index=False):
        total = sum(x for sp, y, x in spend_by
                    if (not sponsor or sp == sponsor) and (pd.isna(year) or y == int(year)))
        if total > limit + _tol(limit):
            scope = f"sponsor {sponsor or 'all'}, year {year if not pd.isna(year) else 'all'}"
            v.append(f"budget ({scope}) spends {total:.3f} USD M, limit {limit}")

    # ---- siting: number of sites, the chosen objective ------------------------------------------
    n_open = sum(1 for oy in open_year.values() if oy is not None)
    p = meta.siting.sites
    if p is not None and (n_open > p or (meta.siting.sites_rule == "exactly" and n_open != p)):
        v.append(f"{n_open} sites open, siting asks for {meta.siting.sites_rule} {p}")
    rep.cost_by_term = {t: sum(disc[y] * x for y, x in by.items()) for t, by in terms.items()}
    rep.total_cost = sum(rep.cost_by_term.values())
    used = [rtt[s, r] for s, r, _c, _y, mw in serve_rows
            if mw > TOL and region_node.get(r, "") != "" and (s, r) in rtt]
    rep.objective = {
        "total_cost": rep.total_cost,
        "max_rtt": max(used, default=0.0),
        "uncovered_mw": float(sum(miss.values())),
        "site_count": float(n_open),
    }[meta.siting.objective]
    if reported_objective is not None and abs(reported_objective - rep.objective) > OBJ_RTOL * max(
            1.0, abs(rep.objective)):
        v.append(f"reported objective {reported_objective:.6f} != recomputed "
                 f"{rep.objective:.6f}")
    costs = plan.get("costs")
    if costs is not None and len(costs):
        for term, value in rep.cost_by_term.items():
            reported = float((costs[term] * costs["discount"]).sum())
            if abs(reported - value) > OBJ_RTOL * max(1.0, abs(rep.total_cost)):
                v.append(f"cost term {term}: reported {reported:.6f} != recomputed {value:.6f}")
    return rep
