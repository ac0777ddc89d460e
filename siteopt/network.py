"""The fiber graph (networkx) and the site-to-region round-trip latencies it implies.

Latency model: a path's round-trip time is `rtt_ms_fixed` plus, over its links,
`km * rtt_ms_per_km + rtt_ms_per_hop + extra_rtt_ms`; a pair's latency is the smallest over
all paths (Dijkstra on that per-link weight).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pandas as pd

from siteopt.instance import records_frame
from siteopt.schema import Latency


def fiber_graph(nodes: pd.DataFrame, links: pd.DataFrame, latency: Latency) -> nx.Graph:
    """The undirected fiber graph; each edge carries `km`, `hops` and its `rtt_ms` weight."""
    graph = nx.Graph()
    for row in nodes.itertuples(index=False):
        graph.add_node(row.node, name=row.name or row.node)
    for row in links.itertuples(index=False):
        rtt = row.km * latency.rtt_ms_per_km + latency.rtt_ms_per_hop + row.extra_rtt_ms
        # a link given in both directions: keep the faster
        if graph.has_edge(row.a, row.b) and rtt >= graph.edges[row.a, row.b]["rtt_ms"]:
            continue
        graph.add_edge(row.a, row.b, km=float(row.km), rtt_ms=float(rtt))
    return graph


def node_ids(nodes: pd.DataFrame, links: pd.DataFrame) -> set[str]:
    """Nodes of the fiber graph: the nodes table if given, else the link endpoints."""
    if not nodes.empty:
        return set(nodes["node"])
    return set(links["a"]) | set(links["b"])


def instance_graph(tables: dict[str, pd.DataFrame], latency: Latency) -> nx.Graph:
    """The fiber graph of an instance's `nodes` and `links` tables."""
    nodes = tables["nodes"]
    if nodes.empty:
        nodes = pd.DataFrame({"node": sorted(node_ids(nodes, tables["links"])), "name": ""})
    return fiber_graph(nodes, tables["links"], latency)


def latency_table(graph: nx.Graph, sites: pd.DataFrame, regions: pd.DataFrame,
                  latency: Latency) -> pd.DataFrame:
    """Round-trip latency, route km and hops for every connected (site, region) pair.

    Regions without a node (location-free demand) and pairs in different graph components
    have no row. Sorted by site then region, in the order of the input tables.
    """
    region_nodes = regions.loc[regions["node"] != "", ["region", "node"]]
    by_node: dict[str, list[str]] = {}
    for region, node in region_nodes.itertuples(index=False):
        by_node.setdefault(node, []).append(region)
    rows = []
    for site, node in sites[["site", "node"]].itertuples(index=False):
        if node not in graph:
            continue
        dist, km, hops = _shortest_from(graph, node)
        for region, rnode in region_nodes.itertuples(index=False):
            if rnode not in dist:
                continue
            rows.append((site, region, latency.rtt_ms_fixed + dist[rnode], km[rnode],
                         hops[rnode]))
    return records_frame(rows, ["site", "region", "rtt_ms", "km", "hops"], text=("site", "region"))


def _shortest_from(graph: nx.Graph, source: str
                   ) -> tuple[dict[str, float], dict[str, float], dict[str, int]]:
    """Round trip from `source` to every reachable node, with the km and hops of its route.

    The route is networkx's Dijkstra path (first predecessor to reach the final distance);
    km and hops are carried along the predecessor tree in settling order instead of
    building every path as a list.
    """
    pred, dist = nx.dijkstra_predecessor_and_distance(graph, source, weight="rtt_ms")
    km: dict[str, float] = {source: 0.0}
    hops: dict[str, int] = {source: 0}
    for v in dist:  # settling order: a node's first predecessor is settled before it
        if v == source:
            continue
        u = pred[v][0]
        km[v] = km[u] + graph.edges[u, v]["km"]
        hops[v] = hops[u] + 1
    return dist, km, hops


def components(graph: nx.Graph) -> list[set[str]]:
    """Connected components, largest first (ties by smallest node id, for stable output)."""
    comps = [set(c) for c in nx.connected_components(graph)]
    return sorted(comps, key=lambda c: (-len(c), min(c)))


def write_graphml(graph: nx.Graph, sites: pd.DataFrame, regions: pd.DataFrame,
                  path: Path) -> None:
    """Write the graph as GraphML with each node's sites and regions as attributes."""
    out = graph.copy()
    for node in out.nodes:
        out.nodes[node]["sites"] = "|".join(sites.loc[sites["node"] == node, "site"])
        out.nodes[node]["regions"] = "|".join(regions.loc[regions["node"] == node, "region"])
    nx.write_graphml(out, path)
