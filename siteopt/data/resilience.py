"""Resilience data: N-1 fibre-cut latencies, site distances, and checks of `[resilience.CLASS]`.

N-1 latency of a (site, region) pair (models/siteplan.md §8): the largest shortest round trip
over every single-link failure of the fiber graph, infinite if some single failure cuts the
pair apart. A link is an unordered node pair: rows (a, b) and (b, a) are one link (the
faster weight, as the latency graph keeps it) and fail together, so a second route between
two places needs its own intermediate node (conservative: never more redundancy than drawn).

Method: a failure changes a source's shortest distances only if it hits a link of that
source's shortest-path tree, and only for the nodes below it. So per link used by some
site's routes to the region nodes, one Dijkstra from the sites whose routes use it, on the
graph with that link removed;
the worst case per pair is the maximum over those runs and the intact graph.
"""

from __future__ import annotations

import math
from collections import defaultdict

import networkx as nx
import numpy as np
import pandas as pd

from siteopt.data.rules import (
    first_online_year,
    latency_targets,
    lead_years,
    located_regions,
    phase_sequences,
)
from siteopt.data.separation import great_circle_km
from siteopt.errors import Problem
from siteopt.io.frames import row_line
from siteopt.io.schema import Latency, Metadata

Tables = dict[str, pd.DataFrame]

#: Weight given to links of zero round trip (a sparse matrix would drop them as non-edges).
_TINY = 1e-12


def n1_latency(tables: Tables, latency: Latency, lat: pd.DataFrame) -> np.ndarray:
    """Worst round trip over single-link failures for each row (site, region) of `lat`.

    `lat` is the intact latency table (`siteopt.data.network.latency_table`); the result is
    aligned with its rows, `inf` where some single failure disconnects the pair.
    """
    from scipy.sparse import csr_array  # only instances with an N-1 fibre rule need SciPy
    from scipy.sparse.csgraph import connected_components, dijkstra

    links = tables["links"]
    if lat.empty:
        return np.zeros(0)
    site_node = dict(zip(tables["sites"]["site"], tables["sites"]["node"], strict=True))
    region_node = dict(zip(tables["regions"]["region"], tables["regions"]["node"], strict=True))
    nodes = sorted(set(links["a"]) | set(links["b"]) | set(tables["nodes"]["node"]))
    pos = {n: i for i, n in enumerate(nodes)}
    n = len(nodes)
    weight = (links["km"].to_numpy(dtype=float) * latency.rtt_ms_per_km + latency.rtt_ms_per_hop
              + links["extra_rtt_ms"].to_numpy(dtype=float))
    routes: dict[tuple[int, int], list[float]] = defaultdict(list)  # rows of a pair, sorted
    for a, b, w in zip(links["a"], links["b"], weight.tolist(), strict=True):
        routes[min(pos[a], pos[b]), max(pos[a], pos[b])].append(max(w, _TINY))
    for ws in routes.values():
        ws.sort()
    pairs = list(routes)
    u = np.array([p[0] for p in pairs], dtype=np.int64)
    v = np.array([p[1] for p in pairs], dtype=np.int64)
    best = np.array([routes[p][0] for p in pairs])

    def matrix(w: np.ndarray) -> csr_array:
        keep = np.isfinite(w)
        return csr_array((np.r_[w[keep], w[keep]], (np.r_[u[keep], v[keep]],
                                                     np.r_[v[keep], u[keep]])), shape=(n, n))

    sources = sorted({pos[site_node[s]] for s in lat["site"]})
    targets = sorted({pos[region_node[r]] for r in lat["region"]})
    src_row = {node: i for i, node in enumerate(sources)}
    dist, pred = dijkstra(matrix(best), directed=False, indices=sources,
                          return_predecessors=True)
    worst = dist[:, targets].copy()
    edge_of = {p: i for i, p in enumerate(pairs)}
    users: dict[int, set[int]] = defaultdict(set)  # edge -> sources whose routes use it
    for i in range(len(sources)):
        seen: set[int] = set()
        for t in targets:
            node = t
            while pred[i, node] >= 0 and node not in seen:
                seen.add(node)
                parent = int(pred[i, node])
                users[edge_of[min(parent, node), max(parent, node)]].add(i)
                node = parent
    simple = nx.Graph([p for p in pairs])
    bridges = {(min(a, b), max(a, b)) for a, b in nx.bridges(simple)}
    target_arr = np.array(targets, dtype=np.int64)
    for e, who in sorted(users.items()):
        w = best.copy()
        w[e] = math.inf  # the link fails in both directions
        rows = sorted(who)
        if pairs[e] in bridges:
            # a bridge: the far side is cut off, the near side keeps its distances
            _n, label = connected_components(matrix(w), directed=False)
            src_label = label[[sources[i] for i in rows]]
            cut_off = label[target_arr][None, :] != src_label[:, None]
            worst[rows] = np.where(cut_off, np.inf, worst[rows])
            continue
        cut = dijkstra(matrix(w), directed=False, indices=[sources[i] for i in rows])
        worst[rows] = np.maximum(worst[rows], cut[:, targets])
    t_col = {t: j for j, t in enumerate(targets)}
    out = worst[[src_row[pos[site_node[s]]] for s in lat["site"]],
                [t_col[pos[region_node[r]]] for r in lat["region"]]]
    return latency.rtt_ms_fixed + out


def n1_latency_given(tables: Tables, latency: Latency, graph_lat: pd.DataFrame,
                     lat: pd.DataFrame) -> np.ndarray:
    """`n1_latency` for the rows of `lat`: the graph's table with `latency.csv` applied.

    An unlisted pair gets the graph's worst case. A listed (measured) pair gets its listed
    round trip plus the detour the worst single cut adds on the graph, and `inf` when the
    graph does not connect it: without fibre there is no cut to survive by (models/siteplan.md
    §8).
    """
    if lat.empty:
        return np.zeros(0)
    key = pd.MultiIndex.from_frame(lat[["site", "region"]])
    if graph_lat.empty:
        return np.full(len(lat), np.inf)
    graph_key = pd.MultiIndex.from_frame(graph_lat[["site", "region"]])
    worst = pd.Series(n1_latency(tables, latency, graph_lat), index=graph_key).reindex(key)
    intact = pd.Series(graph_lat["rtt_ms"].to_numpy(dtype=float), index=graph_key).reindex(key)
    out = lat["rtt_ms"].to_numpy(dtype=float) + (worst.to_numpy() - intact.to_numpy())
    return np.where(np.isnan(out), np.inf, out)


def site_distances(sites: pd.DataFrame) -> dict[tuple[str, str], float]:
    """Great-circle km between every two sites with coordinates (both orders)."""
    located = [(r.site, float(r.lat), float(r.lon)) for r in sites.itertuples(index=False)
               if not (pd.isna(r.lat) or pd.isna(r.lon))]
    out = {}
    for i, (s, la, lo) in enumerate(located):
        for t, lb, lob in located[i + 1:]:
            out[s, t] = out[t, s] = great_circle_km(la, lo, lb, lob)
    return out


def most_redundant(candidates: list[str], zone: dict[str, str],
                   km: dict[tuple[str, str], float] | None, min_km: float,
                   distinct_zones: bool) -> list[str]:
    """A largest set of `candidates` pairwise compatible (different zones, at least min_km).

    Compatibility is a graph; the set is a maximum clique (networkx, exact; the candidates
    are the few sites within one region's latency target).
    """
    def ok(s: str, t: str) -> bool:
        if distinct_zones and zone[s] == zone[t]:
            return False
        return min_km <= 0 or (km is not None and km.get((s, t), -1.0) >= min_km)

    if not distinct_zones and min_km <= 0:
        return list(candidates)
    graph = nx.Graph()
    graph.add_nodes_from(candidates)
    graph.add_edges_from((s, t) for i, s in enumerate(candidates) for t in candidates[i + 1:]
                         if ok(s, t))
    clique, _size = nx.max_weight_clique(graph, weight=None)
    return sorted(clique)


def host_years(meta: Metadata, tables: Tables) -> dict[tuple[str, str], int]:
    """First year each site can have capacity able to host each class.

    A phase comes online no earlier than its own first year and than the phase before it
    (`phase_order`): a second phase that could host the class early is no use while the
    first cannot be online yet. (`SRCY` keeps those years; their rows just stay at zero.)
    """
    y0 = meta.horizon.first_year
    cooling = tables["cooling"]
    buildable = tuple(cooling.loc[cooling["buildable"].astype(bool), "cooling"])
    first: dict[tuple[str, str], int] = {}
    for r in tables["sites"].itertuples(index=False):
        if r.existing_it_mw > 0:
            first[r.site, r.existing_cooling] = y0
    phases = tables["phases"]
    for rows in phase_sequences(phases).values():
        before = y0  # phases come online in order: none before the one ahead of it
        for i in rows:
            r = phases.iloc[i]
            year = max(before, int(r.committed_year) if not pd.isna(r.committed_year)
                       else first_online_year(r.earliest_decision_year,
                                              lead_years(int(r.lead_months)), y0,
                                              r.earliest_online_year))
            before = year
            for k in r.cooling or buildable:
                first[r.site, k] = min(first.get((r.site, k), year), year)
    out: dict[tuple[str, str], int] = {}
    all_k = tuple(cooling["cooling"])
    for c, allowed in zip(tables["classes"]["class"], tables["classes"]["cooling"], strict=True):
        for (s, k), year in first.items():
            if k in (allowed or all_k):
                out[s, c] = min(out.get((s, c), year), year)
    return out


def check_resilience(meta: Metadata, tables: Tables, lat: pd.DataFrame,
                     problems: list[Problem], warnings: list[str]) -> None:
    """`[resilience.CLASS]` names known classes and asks for what the sites can give.

    Errors (exit 2): an unknown class; `min_km_apart` with a hosting site lacking lat/lon;
    `min_sites` above the number of compatible sites (zones, distances) that can reach a
    region with demand of the class within its target in some year. N-1 site loss for a
    region that only one site can serve in some year with demand (the model leaves that
    load unserved), and N-1 fibre cuts that leave a region no site within target, are errors
    unless unserved demand is allowed (then warnings).
    """
    if not meta.resilience:
        return
    classes = list(tables["classes"]["class"])
    for c in meta.resilience:
        if c not in classes:
            problems.append(Problem("instance.toml", "a class of classes.csv after "
                                    f"'resilience.': one of {', '.join(classes)}",
                                    column=f"resilience.{c}", found=c))
        elif meta.resilience[c].from_year is not None and not (
                meta.horizon.first_year <= meta.resilience[c].from_year
                <= meta.horizon.last_year):
            problems.append(Problem("instance.toml", "a year within the horizon",
                                    column=f"resilience.{c}.from_year",
                                    found=str(meta.resilience[c].from_year)))
    if problems:
        return
    sites = tables["sites"]
    zone = dict(zip(sites["site"], sites["zone"], strict=True))
    hosts = host_years(meta, tables)
    targets = latency_targets(meta, tables)
    located = located_regions(tables)
    demand = tables["demand"]
    years: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r, c, y, mw in demand[["region", "class", "year", "it_mw"]].itertuples(index=False):
        if mw > 0 and c in meta.resilience:
            years[r, c].append(int(y))
    km = None
    for c, rule in meta.resilience.items():
        if rule.min_km_apart > 0 and rule.min_sites > 1:
            km = site_distances(sites)
            for i, r in enumerate(sites.itertuples(index=False)):
                if any(s == r.site for s, cc in hosts if cc == c) and (
                        pd.isna(r.lat) or pd.isna(r.lon)):
                    problems.append(Problem("sites.csv", f"lat and lon of a site that can host "
                                            f"class {c} (resilience.{c}.min_km_apart needs them)",
                                            row=row_line(sites, i), column="lat", found=r.site))
    if problems:
        return
    for (r, c), ys in sorted(years.items()):
        rule = meta.resilience[c]
        column = "rtt_ms_n1" if rule.n_minus_1_links and "rtt_ms_n1" in lat.columns else "rtt_ms"
        target = targets.get((r, c), math.inf)
        if r not in located:  # location-free: any hosting site
            reach = [s for s in sites["site"] if (s, c) in hosts]
        else:
            rows = lat[lat["region"] == r]
            reach = [s for s, t in zip(rows["site"], rows[column], strict=True)
                     if (s, c) in hosts and t <= target + 1e-9 and math.isfinite(t)]
        if not reach and rule.n_minus_1_links:
            how = f"within {target:g} ms" if math.isfinite(target) else "connected to it"
            text = (f"region {r}, class {c}: no site stays {how} after every single fibre "
                    "cut")
            if meta.unserved_allowed:
                warnings.append(text + "; its demand will be unserved")
            else:
                problems.append(Problem("instance.toml", "fibre routes that keep some site "
                                        "within target after any single cut (or unserved "
                                        "demand allowed)", column=f"resilience.{c}."
                                        "n_minus_1_links", found=text))
        # per year, as the model's N-1 rows: a second site able to host the class only later
        # leaves the earlier years' load with no site to take it over
        alone = [y for y in sorted(ys) if sum(hosts[s, c] <= y for s in reach) == 1]
        if rule.n_minus_1_sites and alone:
            (only,) = [s for s in reach if hosts[s, c] <= alone[-1]]
            when = "" if len(alone) == len(ys) else " in " + ", ".join(map(str, alone))
            text = (f"region {r}, class {c}: only site {only} can serve it{when}, so no other "
                    "site can take over its load when it fails")
            if meta.unserved_allowed:
                warnings.append(text + "; that load will be unserved")
            else:
                problems.append(Problem("instance.toml", "a second site able to serve every "
                                        "region of the class in every year with demand (or "
                                        "unserved demand allowed)",
                                        column=f"resilience.{c}.n_minus_1_sites", found=text))
        if rule.min_sites <= 1 or not reach:  # no site at all: the unserved rules apply
            continue
        start = meta.horizon.first_year if rule.from_year is None else rule.from_year
        for y in sorted(y for y in ys if y >= start):
            ready = [s for s in reach if hosts[s, c] <= y]
            chosen = most_redundant(ready, zone, km, rule.min_km_apart, rule.distinct_zones)
            if len(chosen) < rule.min_sites:
                how = ("in different zones" if rule.distinct_zones else "") + (
                    f"{' and ' if rule.distinct_zones else ''}{rule.min_km_apart:g} km apart"
                    if rule.min_km_apart > 0 else "")
                problems.append(Problem(
                    "instance.toml", f"resilience.{c}.min_sites at most {len(chosen)}, the "
                    f"sites {how + ' ' if how else ''}that can serve region {r}"
                    + (f" within {target:g} ms" if math.isfinite(target) else "")
                    + f" in {y} (or resilience.{c}.from_year after {y})",
                    column=f"resilience.{c}.min_sites",
                    found=f"{rule.min_sites} (region {r}: {', '.join(ready) or 'no site'})"))
                break
