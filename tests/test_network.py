"""Route latencies: networkx's Dijkstra (small graphs) and SciPy's (large) give the same table."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from siteopt.data import network
from siteopt.io.schema import Latency


@st.composite
def graphs(draw):
    """A random connected-or-not fiber graph with float km (no ties) and some zero links."""
    n = draw(st.integers(2, 12))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.floats(0.0, 500.0, allow_nan=False),
                                    st.booleans()), min_size=1, max_size=30))
    g = nx.Graph()
    g.add_nodes_from(f"n{i}" for i in range(n))
    for a, b, km, zero in edges:
        if a == b:
            continue
        km = 0.0 if zero and km < 100 else km + a * 1e-3 + b * 1e-6  # break ties
        g.add_edge(f"n{a}", f"n{b}", km=km, rtt_ms=0.01 * km)
    sources = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    return g, sources


@settings(max_examples=150, derandomize=True, deadline=None)
@given(graphs())
def test_small_and_large_paths_agree(case):
    g, sources = case
    order = list(g.nodes)
    d1, km1, h1 = network._shortest_small(g, order, sources)
    d2, km2, h2 = network._shortest_from(g, order, sources)
    assert np.array_equal(np.isfinite(d1), np.isfinite(d2))
    ok = np.isfinite(d1)
    assert np.allclose(d1[ok], d2[ok], atol=1e-9)
    # zero-length links tie routes; where the round trip is positive on every link the
    # shortest route is unique (tie-broken km), so km and hops agree too
    if all(w > 0 for *_, w in g.edges(data="km")):
        assert np.allclose(km1[ok], km2[ok], atol=1e-9)
        assert np.array_equal(h1[ok], h2[ok])


def test_latency_table_is_the_same_on_either_side_of_the_threshold(monkeypatch):
    g = nx.Graph()
    for a, b, km in [("s1", "x", 100.0), ("x", "r1", 50.0), ("s2", "r1", 400.0),
                     ("s2", "x", 10.0), ("r2", "x", 0.0)]:
        g.add_edge(a, b, km=km, rtt_ms=0.01 * km + 0.1)
    sites = pd.DataFrame({"site": ["A", "B"], "node": ["s1", "s2"]})
    regions = pd.DataFrame({"region": ["R1", "R2", "free"], "node": ["r1", "r2", ""]})
    lat = Latency(rtt_ms_per_km=0.01, rtt_ms_per_hop=0.1, rtt_ms_fixed=1.0)
    small = network.latency_table(g, sites, regions, lat)
    monkeypatch.setattr(network, "SMALL_GRAPH", -1)
    large = network.latency_table(g, sites, regions, lat)
    pd.testing.assert_frame_equal(small, large)
    row = small[(small["site"] == "A") & (small["region"] == "R1")].iloc[0]
    assert row["km"] == 150.0 and row["hops"] == 2
    assert row["rtt_ms"] == 1.0 + 0.01 * 150 + 0.2
