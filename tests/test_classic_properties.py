"""Property tests: on random small graphs the classic objectives equal brute-force optima.

Each case writes a random p-median file (so the importer's last-length-wins rule and its
networkx distances are exercised too), imports it, and compares siteopt's p-median,
p-center, maximal covering and set covering values with enumeration over all site sets.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import siteopt
from siteopt.io.orlib import import_orlib


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, int, list[tuple[int, int, int]]]:
    """A connected graph on n vertices (a random spanning path plus extra edges, some of them
    repeated with another length) and a p."""
    n = draw(st.integers(2, 6))
    order = draw(st.permutations(range(1, n + 1)))
    lengths = st.integers(0, 9)
    edges = [(order[i], order[i + 1], draw(lengths)) for i in range(n - 1)]
    extra = draw(st.lists(st.tuples(st.integers(1, n), st.integers(1, n), lengths),
                          max_size=6))
    edges += [(a, b, w) for a, b, w in extra if a != b]
    edges = draw(st.permutations(edges))
    p = draw(st.integers(1, n))
    return n, p, list(edges)


def _distances(n: int, edges: list[tuple[int, int, int]]) -> dict[int, dict[int, float]]:
    """Last length wins for a repeated pair, as the format prescribes."""
    last = {}
    for a, b, w in edges:
        last[min(a, b), max(a, b)] = w
    g = nx.Graph()
    g.add_nodes_from(range(1, n + 1))
    for (a, b), w in last.items():
        g.add_edge(a, b, w=w)
    return dict(nx.all_pairs_dijkstra_path_length(g, weight="w"))


def _import(tmp: Path, n: int, p: int, edges: list[tuple[int, int, int]]) -> siteopt.Instance:
    f = tmp / "g.txt"
    f.write_text(f"{n} {len(edges)} {p}\n" + "".join(f"{a} {b} {w}\n" for a, b, w in edges))
    return siteopt.load_instance(import_orlib("orlib-pmed", f, tmp / "g"))


CASES = settings(max_examples=25, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


@CASES
@given(graphs())
def test_p_median_and_p_center_match_enumeration(tmp_path_factory, case):
    n, p, edges = case
    dist = _distances(n, edges)
    inst = _import(tmp_path_factory.mktemp("g"), n, p, edges)
    subsets = list(combinations(range(1, n + 1), p))
    median = min(sum(min(dist[i][j] for i in s) for j in dist) for s in subsets)
    center = min(max(min(dist[i][j] for i in s) for j in dist) for s in subsets)
    result = siteopt.solve(inst)
    assert result.verified, result.violations
    assert result.objective == pytest.approx(median, abs=1e-6)
    for method in ("highs", "radius"):  # the radius ladder in one run, and bisection
        result = siteopt.solve(inst, overrides={"siting.objective": "max_rtt"}, method=method)
        assert result.verified, result.violations
        assert result.objective == pytest.approx(center, abs=1e-6), method
        assert result.status == "optimal" and result.gap == pytest.approx(0, abs=1e-9)


@CASES
@given(graphs(), st.integers(0, 12))
def test_covering_matches_enumeration(tmp_path_factory, case, radius):
    n, p, edges = case
    dist = _distances(n, edges)
    inst = _import(tmp_path_factory.mktemp("g"), n, p, edges)
    covered = max(sum(1 for j in dist if any(dist[i][j] <= radius for i in s))
                  for s in combinations(range(1, n + 1), p))
    result = siteopt.solve(inst, overrides={"siting.objective": "uncovered_mw",
                                            "latency.max_rtt_ms": max(radius, 1e-9)})
    assert result.verified, result.violations
    assert result.objective == pytest.approx(n - covered, abs=1e-6)
    fewest = min(k for k in range(1, n + 1) for s in combinations(range(1, n + 1), k)
                 if all(any(dist[i][j] <= radius for i in s) for j in dist))
    result = siteopt.solve(inst, overrides={"siting.objective": "site_count",
                                            "siting.sites": "",
                                            "latency.max_rtt_ms": max(radius, 1e-9)})
    assert result.verified, result.violations
    assert result.objective == pytest.approx(fewest, abs=1e-6)
