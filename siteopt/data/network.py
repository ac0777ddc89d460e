"""The fiber graph (networkx) and the site-to-region round-trip latencies it implies.

Latency model: a path's round-trip time is `rtt_ms_fixed` plus, over its links,
`km * rtt_ms_per_km + rtt_ms_per_hop + extra_rtt_ms`; a pair's latency is the smallest over
all paths (Dijkstra on that per-link weight).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from siteopt.io.frames import records_frame
from siteopt.io.schema import Latency


def fiber_graph(nodes: pd.DataFrame, links: pd.DataFrame, latency: Latency) -> nx.Graph:
    """The undirected fiber graph; each edge carries `km`, `hops` and its `rtt_ms` weight."""
    graph = nx.Graph()
    for row in nodes.itertuples(index=False):
        graph.add_node(row.node, name=row.name or row.node)
    for row in links.itertuples(index=False):
        rtt = row.km * latency.rtt_ms_per_km + latency.rtt_ms_per_hop + row.extra_rtt_ms
        # a link given in both directions: validation makes both rows agree (check_links);
        # for tables built without it, keep the faster
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
    region_nodes = region_nodes[region_nodes["node"].isin(graph.nodes)]
    site_nodes = sites.loc[sites["node"].isin(graph.nodes), ["site", "node"]]
    if site_nodes.empty or region_nodes.empty:
        return records_frame([], ["site", "region", "rtt_ms", "km", "hops"],
                             text=("site", "region"))
    order = list(graph.nodes)
    index = {node: i for i, node in enumerate(order)}
    sources = list(dict.fromkeys(site_nodes["node"]))
    shortest = (_shortest_small if len(sources) * graph.number_of_edges() <= SMALL_GRAPH
                else _shortest_from)
    dist, km, hops = shortest(graph, order, [index[n] for n in sources])
    row_of = {node: i for i, node in enumerate(sources)}
    s_row = np.repeat([row_of[n] for n in site_nodes["node"]], len(region_nodes))
    r_col = np.tile([index[n] for n in region_nodes["node"]], len(site_nodes))
    rtt = dist[s_row, r_col]
    ok = np.isfinite(rtt)
    return pd.DataFrame({  # text as object dtype, as records_frame makes it
        "site": pd.Series(np.repeat(site_nodes["site"].to_numpy(dtype=object),
                                    len(region_nodes))[ok], dtype=object),
        "region": pd.Series(np.tile(region_nodes["region"].to_numpy(dtype=object),
                                    len(site_nodes))[ok], dtype=object),
        "rtt_ms": latency.rtt_ms_fixed + rtt[ok], "km": km[s_row, r_col][ok],
        "hops": hops[s_row, r_col][ok].astype(np.int64)})


#: Above this many (source x link) pairs, the routes come from SciPy's compiled Dijkstra;
#: below, from networkx's, which spares a small instance the ~0.2 s import of SciPy's sparse
#: graph module (`siteopt validate` starts faster). Both give a shortest round trip; km and
#: hops follow one shortest route (which one, among routes of equal round trip, may differ).
SMALL_GRAPH = 20_000


def _shortest_small(graph: nx.Graph, order: list[str], sources: list[int]
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_shortest_from` by networkx's Dijkstra, one source at a time (small graphs)."""
    n = len(order)
    index = {node: i for i, node in enumerate(order)}
    dist = np.full((len(sources), n), np.inf)
    km = np.zeros((len(sources), n))
    hops = np.zeros((len(sources), n), dtype=np.int64)
    for row, src in enumerate(sources):
        lengths, paths = nx.single_source_dijkstra(graph, order[src], weight="rtt_ms")
        for node, length in lengths.items():
            j = index[node]
            path = paths[node]
            dist[row, j] = length
            km[row, j] = sum(graph.edges[a, b]["km"] for a, b in itertools.pairwise(path))
            hops[row, j] = len(path) - 1
    return dist, km, hops


def with_given_latency(lat: pd.DataFrame, given: pd.DataFrame) -> pd.DataFrame:
    """The graph's latency table with latency.csv applied: listed pairs replace the graph's.

    A listed pair keeps the graph's route km and hops if the graph connects it (NaN and 0
    otherwise); unlisted pairs keep the graph's round trip. Sorted by site then region, in
    the order of the graph's table with new pairs after it.
    """
    if given.empty:
        return lat
    listed = pd.DataFrame({"site": given["site"].astype(object),
                           "region": given["region"].astype(object),
                           "rtt_ms": given["rtt_ms"].astype(float)})
    merged = lat.merge(listed, on=["site", "region"], how="outer", suffixes=("", "_given"),
                       sort=False)
    has = merged["rtt_ms_given"].notna()
    merged.loc[has, "rtt_ms"] = merged.loc[has, "rtt_ms_given"]
    merged["hops"] = merged["hops"].fillna(0).astype(np.int64)
    return merged[["site", "region", "rtt_ms", "km", "hops"]].reset_index(drop=True)


#: Weight given to links of zero round trip, which SciPy's sparse graph would otherwise drop;
#: removed again per such link on a route.
_EPS = 1e-9


def _shortest_from(graph: nx.Graph, order: list[str], sources: list[int]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Round trip (without the fixed term), km and hops from each source to every node.

    One multi-source Dijkstra over the graph's `rtt_ms` weights (SciPy, on networkx's sparse
    export; the route is a shortest one by round trip); km, hops and zero-weight links are
    summed along each source's predecessor tree by pointer doubling. Unreachable nodes have
    an infinite round trip.
    """
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import dijkstra

    weights = nx.to_scipy_sparse_array(graph, nodelist=order, weight="rtt_ms", format="coo")
    kms = nx.to_scipy_sparse_array(graph, nodelist=order, weight="km", format="csr")
    n = len(order)
    zero = weights.data <= 0
    shifted = csr_array((np.where(zero, _EPS, weights.data), (weights.row, weights.col)),
                        shape=(n, n))
    is_zero = csr_array((zero.astype(float), (weights.row, weights.col)), shape=(n, n))
    dist, pred = dijkstra(shifted, directed=False, indices=sources, return_predecessors=True)
    rows = np.arange(len(sources))[:, None]
    parent = np.where(pred < 0, np.arange(n)[None, :], pred)  # roots point to themselves
    link = (parent.ravel(), np.tile(np.arange(n), len(sources)))
    km = np.asarray(kms[link], dtype=float).reshape(parent.shape)
    zeros = np.asarray(is_zero[link], dtype=float).reshape(parent.shape)
    hops = (pred >= 0).astype(np.int64)
    while True:  # after k rounds each node has summed the last 2^k links of its route
        up = parent[rows, parent]
        if np.array_equal(up, parent):
            break
        km = km + km[rows, parent]  # a root's own sums are 0
        zeros = zeros + zeros[rows, parent]
        hops = hops + hops[rows, parent]
        parent = up
    return np.where(zeros > 0, dist - _EPS * zeros, dist), km, hops


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
