"""The checker's own round trips: intact, and after the worst single fibre cut.

Recomputed from `links.csv`, `nodes.csv`, `latency.csv` and `[latency]` with SciPy's
Dijkstra, without the model's pair tables (`siteopt.data.network`): the checker's reading of
which (site, region) pairs are within reach, shared by its rules and its objectives.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from siteopt.data.instance import Instance


def round_trips(inst: Instance, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], float]:
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
    given = {(s, r): float(v) for s, r, v in inst.table("latency")[
        ["site", "region", "rtt_ms"]].itertuples(index=False, name=None)}
    listed = {key: given[key] for key in pairs if key in given}  # latency.csv wins
    wanted = sorted((s, r) for s, r in pairs if region_node.get(r) and site_node.get(s) in pos
                    and (s, r) not in listed)
    if not n or not wanted:
        return listed
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
    return out | listed


def n1_rtt(inst: Instance, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Worst round trip over every single-link removal for the given (site, region) pairs.

    A link is an unordered node pair (rows (a, b) and (b, a) fail together); inf where a
    removal disconnects the pair. Brute force: every link removed in turn, then one SciPy
    Dijkstra from all the pairs' site nodes on the remaining links (the faster of two rows
    of a pair); the intact round trip is a lower bound of the worst case.
    """
    lat = inst.meta.latency
    links = inst.table("links")
    site_node = dict(zip(inst.table("sites")["site"], inst.table("sites")["node"], strict=True))
    region_node = dict(zip(inst.table("regions")["region"], inst.table("regions")["node"],
                           strict=True))
    nodes = sorted(set(links["a"]) | set(links["b"]) | set(inst.table("nodes")["node"]))
    pos = {n: i for i, n in enumerate(nodes)}
    wanted = sorted((s, r) for s, r in pairs if region_node.get(r) in pos
                    and site_node.get(s) in pos)
    if not wanted:
        return {}
    # a pair listed in latency.csv: its listed round trip plus the detour the worst cut adds
    # on the graph (models/siteplan.md §8); the graph's intact route from one Dijkstra more
    given = {(s, r): float(v) for s, r, v in inst.table("latency")[
        ["site", "region", "rtt_ms"]].itertuples(index=False, name=None)}
    a = np.array([pos[x] for x in links["a"]], dtype=np.int64)
    b = np.array([pos[x] for x in links["b"]], dtype=np.int64)
    w = (links["km"].to_numpy(dtype=float) * lat.rtt_ms_per_km + lat.rtt_ms_per_hop
         + links["extra_rtt_ms"].to_numpy(dtype=float))
    w = np.maximum(w, 1e-12)  # a zero weight would vanish in a sparse matrix
    sources = sorted({pos[site_node[s]] for s, _r in wanted})
    row = {node: i for i, node in enumerate(sources)}
    worst = {key: 0.0 for key in wanted}
    n = len(nodes)
    pair = np.minimum(a, b) * len(nodes) + np.maximum(a, b)
    intact_graph: dict[tuple[str, str], float] = {}
    for cut in [-1, *np.unique(pair).tolist()]:  # (a, b) and (b, a) rows are one link
        keep = pair != cut  # -1: no link removed
        best: dict[tuple[int, int], float] = {}
        for i, j, x in zip(a[keep].tolist(), b[keep].tolist(), w[keep].tolist(), strict=True):
            key = (min(i, j), max(i, j))
            best[key] = min(best.get(key, math.inf), x)
        ii = [k[0] for k in best]
        jj = [k[1] for k in best]
        graph = coo_matrix((list(best.values()), (ii, jj)), shape=(n, n)).tocsr()
        dist = dijkstra(graph, directed=False, indices=sources)
        for s, r in wanted:
            d = float(dist[row[pos[site_node[s]]], pos[region_node[r]]])
            if cut == -1:
                intact_graph[s, r] = d
            worst[s, r] = max(worst[s, r], d)
    intact = round_trips(inst, set(wanted))
    out = {}
    for key, x in worst.items():
        if key in given:
            out[key] = given[key] + (x - intact_graph[key])  # inf - inf: not connected
            out[key] = math.inf if math.isnan(out[key]) else out[key]
        else:
            out[key] = max(lat.rtt_ms_fixed + x, intact.get(key, math.inf))
    return out


__all__ = ["n1_rtt", "round_trips"]
