"""Independent check of the resilience rules (`[resilience.CLASS]`), and which of them bind.

Written without the model, its index sets or `siteopt.data.resilience`: the sites that count
for geo-redundancy are recomputed from the plan's capacities and the checker's own
latencies; N-1 site loss is re-dispatched per outage and year as a max-flow (networkx) from
the failed site's served load, over allowed pairs, onto the other sites' spare capacity per
cooling; N-1 fibre-cut latencies are recomputed by removing each link in turn (one SciPy
Dijkstra per removal, no shortest-path-tree or bridge shortcut).

"Binds" (`resilience_binding`, reported by `siteopt solve`) means the rule is tight in the
plan: a geo-redundant region sees exactly k qualifying sites; an outage leaves no spare
(the others could absorb at most the failed site's load, within 0.1 %); a fibre-cut rule
forbids a pair from a site the plan opens to a region it must serve. Tight is not the same
as costly; the cost of a rule is measured by solving without it (docs/resilience.md).
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import cached_property

import networkx as nx
import pandas as pd

from siteopt.data.instance import Instance
from siteopt.verify.checker import TOL, Facts, _tol, rule
from siteopt.verify.latency import round_trips

#: Mean Earth radius, km (great-circle distances between sites).
EARTH_KM = 6371.0088
#: Relative spare below which an outage counts as tight.
TIGHT = 1e-3


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between (lat, lon) points in degrees (haversine)."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = (math.sin((la2 - la1) / 2) ** 2
         + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2)
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


class Resil:
    """What the resilience rules read: settings, targets, hosting and reach, per plan."""

    def __init__(self, f: Facts):
        self.f = f
        self.rules = f.meta.resilience
        lt = f.inst.table("latency_targets")
        self.targets = {(r, c): float(t) for r, c, t in lt[["region", "class", "max_rtt_ms"]]
                        .itertuples(index=False)}
        self.sites = list(f.sites.index)

    def target(self, r: str, c: str) -> float:
        """Latency target of (region, class): its row, else the default, else none."""
        default = self.f.meta.latency.max_rtt_ms
        return self.targets.get((r, c), math.inf if default is None else float(default))

    def allowed(self, c: str) -> set[str]:
        """Coolings class c may run on."""
        techs = self.f.classes.at[c, "cooling"] if c in self.f.classes.index else ()
        return set(techs or self.f.cooling.index)

    @cached_property
    def rtt(self) -> dict[tuple[str, str], float]:
        """Intact round trip of every connected (site, region) pair."""
        return round_trips(self.f.inst, {(s, r) for s in self.sites
                                         for r in self.f.region_node.index})

    @property
    def rtt_n1(self) -> dict[tuple[str, str], float]:
        """N-1 round trip of every (site, region) pair, if some class asks for it."""
        return self.f.rtt_cut

    def reaches(self, s: str, r: str, c: str) -> bool:
        """Whether s may serve (r, c) by latency: location-free, or within target (N-1)."""
        if r not in self.f.located:
            return True
        if self.rules[c].n_minus_1_links:
            return self.survives_cut(s, r, c)
        return self.rtt.get((s, r), math.inf) <= self.target(r, c) + 1e-9

    def survives_cut(self, s: str, r: str, c: str) -> bool:
        """Whether (s, r) stays connected and within target after every single fibre cut.

        Connected even without a target: a pair one cut disconnects does not survive it.
        """
        worst = self.rtt_n1.get((s, r), math.inf)
        return math.isfinite(worst) and worst <= self.target(r, c) + 1e-9

    def hosts(self, s: str, c: str, y: int) -> bool:
        """Whether s has capacity in year y on a cooling class c may use."""
        return any(self.f.cap.get((s, k, y), 0.0) > 0 for k in self.allowed(c))

    def ever_hosts(self, s: str, c: str) -> bool:
        """Whether s could ever host c (an existing or buildable phase cooling allows it)."""
        ok = self.allowed(c)
        buildable = set(self.f.cooling.index[self.f.cooling["buildable"].astype(bool)])
        if self.f.sites.at[s, "existing_it_mw"] > 0 and self.f.sites.at[
                s, "existing_cooling"] in ok:
            return True
        return any(set(r.cooling or buildable) & ok for r in self.f.phases.itertuples(
            index=False) if r.site == s)

    def demand_rows(self, c: str) -> list[tuple[str, int]]:
        """(region, year) with positive demand of class c."""
        d = self.f.inst.table("demand")
        return [(r, int(y)) for r, cc, y, mw in d[["region", "class", "year", "it_mw"]]
                .itertuples(index=False) if cc == c and mw > 0]

    def geo_count(self, r: str, c: str, y: int) -> tuple[int, list[str]] | None:
        """Largest compatible set of open hosting sites within reach; None if exempt.

        Exempt: no site could ever serve (r, c) (the unserved rules cover such demand).
        """
        rule_ = self.rules[c]
        if not any(self.ever_hosts(s, c) and self.reaches(s, r, c) for s in self.sites):
            return None
        cands = [s for s in self.sites if self.reaches(s, r, c) and self.hosts(s, c, y)
                 and (self.f.open_year.get(s) or math.inf) <= y]
        graph = nx.Graph()
        graph.add_nodes_from(cands)
        for i, s in enumerate(cands):
            for t in cands[i + 1:]:
                if rule_.distinct_zones and self.f.sites.at[s, "zone"] == self.f.sites.at[
                        t, "zone"]:
                    continue
                if rule_.min_km_apart > 0:
                    a, b = self.f.sites.loc[s], self.f.sites.loc[t]
                    if pd.isna(a["lat"]) or pd.isna(b["lat"]) or _km(
                            (a["lat"], a["lon"]), (b["lat"], b["lon"])) < rule_.min_km_apart:
                        continue
                graph.add_edge(s, t)
        clique, _ = nx.max_weight_clique(graph, weight=None)
        return len(clique), sorted(clique)

    def outage_flow(self, o: str, y: int, classes: set[str],
                    need: dict[tuple[str, str], float] | None) -> tuple[float, float]:
        """(load lost, load re-served at most) when site o fails in year y.

        Max-flow: source -> (r, c) with o's served MW (or unlimited with need=None, to
        measure what the others could absorb) -> (s, k) for s != o open, reaching (r, c),
        k a cooling c may use with capacity at s -> sink with spare u*capacity - load.
        """
        f = self.f
        u = f.meta.service.max_utilization
        lost = {(r, c): mw for s, r, c, yy, mw in f.serve_rows
                if s == o and yy == y and c in classes and mw > TOL}
        graph = nx.DiGraph()
        for (r, c), mw in lost.items():
            graph.add_edge("src", (r, c), capacity=mw if need is None else need[r, c])
            for s in self.sites:
                if s == o or (f.open_year.get(s) or math.inf) > y or not self.reaches(s, r, c):
                    continue
                for k in self.allowed(c):
                    cap = f.cap.get((s, k, y), 0.0)
                    if cap > 0:
                        graph.add_edge((r, c), (s, k))
                        spare = max(0.0, u * cap - f.load.get((s, k, y), 0.0))
                        graph.add_edge((s, k), "sink", capacity=spare)
        total = sum(lost.values())
        if not lost or "sink" not in graph:
            return total, 0.0
        return total, float(nx.maximum_flow_value(graph, "src", "sink"))

    def outages(self) -> list[tuple[str, int]]:
        """(site, year) where a site serves load of an N-1 class."""
        classes = {c for c, x in self.rules.items() if x.n_minus_1_sites}
        return sorted({(s, y) for s, _r, c, y, mw in self.f.serve_rows
                       if c in classes and mw > TOL})


def _geo_rows(f: Facts) -> list[tuple[str, str, int, int, int, list[str]]]:
    """(class, region, year, k, qualifying count, sites) of every geo-redundant row."""
    res = Resil(f)
    out = []
    for c, x in res.rules.items():
        if x.min_sites < 2 or c not in f.classes.index:
            continue
        start = f.y0 if x.from_year is None else x.from_year
        for r, y in res.demand_rows(c):
            if y < start:
                continue
            got = res.geo_count(r, c, y)
            if got is not None:
                out.append((c, r, y, x.min_sites, got[0], got[1]))
    return out


@rule
def rule_geo_redundancy(f: Facts) -> list[str]:
    """Each region with demand of a geo-redundant class sees k open hosting sites in reach."""
    out = []
    for c, r, y, k, n, sites in _geo_rows(f):
        if n < k:
            x = f.meta.resilience[c]
            how = (" in distinct zones" if x.distinct_zones else "") + (
                f" {x.min_km_apart:g} km apart" if x.min_km_apart > 0 else "")
            out.append(f"region {r}/{c} in {y}: {n} open sites{how} within target "
                       f"({', '.join(sites) or 'none'}), resilience asks for {k}")
    return out


@rule
def rule_n_minus_1_sites(f: Facts) -> list[str]:
    """Each site's load of an N-1 class can be re-served by the others' spare within target."""
    res = Resil(f)
    classes = {c for c, x in res.rules.items() if x.n_minus_1_sites}
    out = []
    for o, y in res.outages():
        lost, moved = res.outage_flow(o, y, classes, None)
        if moved < lost - _tol(lost):
            out.append(f"outage of {o} in {y}: {lost:.4f} MW of N-1 load, the others can "
                       f"re-serve {moved:.4f} MW within target")
    return out


@rule
def rule_n_minus_1_links(f: Facts) -> list[str]:
    """Service of an N-1 fibre-cut class stays within target after any single link cut."""
    res = Resil(f)
    out = []
    for s, r, c, y, mw in f.serve_rows:
        if mw <= TOL or c not in res.rules or not res.rules[c].n_minus_1_links:
            continue
        if r not in f.located:  # location-free (no node and no latency.csv row)
            continue
        worst = res.rtt_n1.get((s, r), math.inf)
        if not res.survives_cut(s, r, c):
            out.append(f"site {s} serves {r}/{c} in {y}: {worst:.3f} ms after the worst "
                       f"single fibre cut, target {res.target(r, c):g} ms")
    return out


def _entry() -> dict[str, object]:
    return {"binds": False, "basis": "tight in the plan", "tight": []}


def resilience_binding(inst: Instance, plan: dict[str, pd.DataFrame]) -> dict[str, object]:
    """Which resilience rules bind (are tight) in a plan, per class; {} without rules.

    geo_redundancy: the (region, year) rows with exactly k qualifying sites.
    n_minus_1_sites: the outages (site, year) after which the others could absorb at most
    the lost load (+0.1 %). n_minus_1_links: the pairs the fibre-cut rule forbids from a site
    the plan opens that can host the class, to a region with demand of it.
    """
    if not inst.meta.resilience:
        return {}
    f = Facts(inst, plan, None)
    res = Resil(f)
    out: dict[str, dict[str, object]] = {}
    for c, r, y, k, n, sites in _geo_rows(f):
        entry = out.setdefault(c, {}).setdefault("geo_redundancy", _entry())
        if n == k:
            entry["binds"] = True
            entry["tight"].append(f"{r} {y}: {', '.join(sites)}")
    for c, x in res.rules.items():
        if x.n_minus_1_sites:
            entry = out.setdefault(c, {}).setdefault("n_minus_1_sites", _entry())
            for o, y in res.outages():
                lost, absorb = res.outage_flow(o, y, {c}, defaultdict(lambda: 1e9))
                if lost > TOL and absorb <= lost * (1 + TIGHT) + TOL:
                    entry["binds"] = True
                    entry["tight"].append(f"{o} fails in {y}: {lost:.2f} MW lost, "
                                          f"{absorb:.2f} MW spare in reach")
        if x.n_minus_1_links:
            entry = out.setdefault(c, {}).setdefault("n_minus_1_links", _entry())
            regions = sorted({r for r, _y in res.demand_rows(c)})
            for s in res.sites:
                if f.open_year.get(s) is None or not res.ever_hosts(s, c):
                    continue
                for r in regions:
                    if r not in f.located:  # location-free: no pair to forbid
                        continue
                    intact = res.rtt.get((s, r), math.inf)
                    if math.isfinite(intact) and intact <= res.target(r, c) + 1e-9 and (
                            not res.survives_cut(s, r, c)):
                        entry["binds"] = True
                        worst = res.rtt_n1.get((s, r), math.inf)
                        entry["tight"].append(f"{s} -> {r}: {intact:.2f} ms intact, "
                                              f"{worst:.2f} ms after the worst cut")
    return out
