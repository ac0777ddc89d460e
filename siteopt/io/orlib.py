"""Readers for the OR-Library facility-location files and their translation to instances.

The files (Beasley's `capinfo`, `uncapinfo` and `pmedinfo` sets, Hoefer's UflLib) are read
as one whitespace-separated token stream, as their format notes prescribe. Each problem
becomes an ordinary siteopt instance with one year and one phase per site, so the benchmark
optima prove the same model that plans data centers:

- capacitated (cap): a warehouse is a site whose single phase has `it_mw` = its capacity and
  `capex_usd_m` = its fixed cost; a customer is a location-free region with its demand; the
  file's cost of serving the whole demand of j from i, c_ij, becomes a per-MW serving cost
  c_ij / d_j (so serving a share x_ij of j costs c_ij x_ij, splittable as in the optima);
- uncapacitated (ufl): the same with unit demands, per-MW cost c_ij and capacity n;
- p-median (pmed): the graph becomes the fiber graph (1 ms round trip per unit of edge
  length), every vertex a site and a unit-demand region, the serving cost the shortest-path
  distance computed with networkx, and `siting.sites = p` exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from siteopt.errors import InputError, Problem
from siteopt.io.folder import write_instance

#: The single planning year of an imported benchmark (any year would do).
YEAR = 2026
#: `cost_unit` of an imported facility-location problem: its costs are the file's numbers,
#: in no currency (the published optima are in the same units).
BENCHMARK_COST_UNIT = "benchmark cost units"
#: `cost_unit` of an imported p-median problem: the objective is a sum of graph distances.
BENCHMARK_DISTANCE_UNIT = "benchmark distance units"


@dataclass
class Tokens:
    """A file's whitespace-separated tokens with the line each one is on."""

    path: Path
    values: list[str]
    lines: list[int]
    pos: int = 0

    @classmethod
    def read(cls, path: Path) -> Tokens:
        """Tokenize a file; unreadable or non-text files are input errors."""
        try:
            text = Path(path).read_bytes().decode("latin-1")
        except OSError as exc:
            raise InputError(Problem(str(path), "a readable file", found=exc.strerror)) from exc
        values, lines = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            for token in line.split():
                values.append(token)
                lines.append(number)
        return cls(Path(path), values, lines)

    def where(self) -> int | None:
        """Line of the next token (the last line at the end of the file)."""
        if self.pos < len(self.lines):
            return self.lines[self.pos]
        return self.lines[-1] if self.lines else None

    def next(self, what: str) -> str:
        """The next token; running out is an input error naming what was expected."""
        if self.pos >= len(self.values):
            raise InputError(Problem(str(self.path), what, row=self.where(),
                                     found="end of file"))
        token = self.values[self.pos]
        self.pos += 1
        return token

    def number(self, what: str, minimum: float | None = 0.0) -> float:
        """The next token as a finite float (>= minimum unless None)."""
        line = self.where()
        token = self.next(what)
        try:
            value = float(token)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or (minimum is not None and value < minimum):
            bound = "" if minimum is None else f" >= {minimum:g}"
            raise InputError(Problem(str(self.path), f"{what}: a finite number{bound}",
                                     row=line, found=token))
        return value

    def count(self, what: str, minimum: int = 1) -> int:
        """The next token as a whole number >= minimum."""
        line = self.where()
        value = self.number(what)
        if value != int(value) or value < minimum:
            raise InputError(Problem(str(self.path), f"{what}: a whole number >= {minimum}",
                                     row=line, found=self.values[self.pos - 1]))
        return int(value)

    def expect_end(self) -> None:
        """Trailing tokens mean the file is not what its header says."""
        if self.pos < len(self.values):
            raise InputError(Problem(str(self.path), "end of file (sizes in the header "
                                     "account for every token)", row=self.where(),
                                     found=self.values[self.pos]))


@dataclass
class FacilityProblem:
    """A facility-location problem: m facilities, n customers, cost of serving j from i."""

    name: str
    capacity: np.ndarray  # (m,) capacity per facility
    fixed: np.ndarray  # (m,) fixed opening cost
    demand: np.ndarray  # (n,) demand per customer
    cost: np.ndarray  # (m, n) cost of serving ALL of customer j's demand from i
    source: str


def read_cap(path: Path, capacity: float | None = None) -> FacilityProblem:
    """An OR-Library `capinfo` file; capa/b/c carry the word `capacity`, replaced by `capacity`."""
    tok = Tokens.read(path)
    m = tok.count("number of warehouses m")
    n = tok.count("number of customers n")
    # lists, not arrays of the header's sizes: a wrong header ends at the end of the file,
    # not in an allocation of m x n floats
    caps, fixed = [], []
    for i in range(m):
        line = tok.where()
        if tok.values[tok.pos:tok.pos + 1] == ["capacity"]:
            tok.pos += 1
            if capacity is None:
                raise InputError(Problem(str(path), "--capacity C: this file leaves every "
                                         "warehouse capacity as the word 'capacity' (capa/b/c)",
                                         row=line, found="capacity"))
            caps.append(capacity)
        else:
            value = tok.number(f"capacity of warehouse {i + 1}")
            caps.append(value if capacity is None else capacity)
        fixed.append(tok.number(f"fixed cost of warehouse {i + 1}"))
    demand, columns = [], []
    for j in range(n):
        demand.append(tok.number(f"demand of customer {j + 1}"))
        columns.append([tok.number(f"cost of serving customer {j + 1} from warehouse {i + 1}")
                        for i in range(m)])
    tok.expect_end()
    return FacilityProblem(Path(path).stem, np.array(caps, dtype=float),
                           np.array(fixed, dtype=float), np.array(demand, dtype=float),
                           np.array(columns, dtype=float).T,
                           f"OR-Library capinfo file {Path(path).name}")


def read_ufl(path: Path) -> FacilityProblem:
    """An uncapacitated problem from a `capinfo`-format file or a UflLib file.

    In the capinfo format capacities and demands are ignored, as OR-Library's `uncapinfo`
    prescribes; a file starting with `FILE:` is read in UflLib's simple format.
    """
    tok = Tokens.read(path)
    if tok.values[:1] == ["FILE:"]:
        return _read_ufllib(tok)
    m = tok.count("number of facilities m")
    n = tok.count("number of customers n")
    fixed, columns = [], []  # lists: see read_cap
    for i in range(m):
        tok.next(f"capacity of facility {i + 1} (ignored)")
        fixed.append(tok.number(f"fixed cost of facility {i + 1}"))
    for j in range(n):
        tok.next(f"demand of customer {j + 1} (ignored)")
        columns.append([tok.number(f"cost of serving customer {j + 1} from facility {i + 1}")
                        for i in range(m)])
    tok.expect_end()
    return _uncapacitated(Path(path).stem, np.array(fixed, dtype=float),
                          np.array(columns, dtype=float).T,
                          f"uncapacitated reading of {Path(path).name} (capacities and "
                          f"demands ignored)")


def _read_ufllib(tok: Tokens) -> FacilityProblem:
    """UflLib's simple format: `FILE: name`, `n m 0`, then `id f_i c_i1 .. c_im` per facility."""
    tok.next("FILE:")
    name = tok.next("instance name")
    m = tok.count("number of facilities")
    n = tok.count("number of customers")
    tok.number("0")
    fixed, rows = [], []  # lists: see read_cap
    for i in range(m):
        tok.next(f"id of facility {i + 1}")
        fixed.append(tok.number(f"fixed cost of facility {i + 1}"))
        rows.append([tok.number(f"cost of serving customer {j + 1} from facility {i + 1}")
                     for j in range(n)])
    tok.expect_end()
    return _uncapacitated(Path(tok.path).stem, np.array(fixed, dtype=float),
                          np.array(rows, dtype=float),
                          f"UflLib file {tok.path.name} ({name})")


def _uncapacitated(name: str, fixed: np.ndarray, cost: np.ndarray, source: str
                   ) -> FacilityProblem:
    m, n = cost.shape
    return FacilityProblem(name, np.full(m, float(n)), fixed, np.ones(n), cost, source)


@dataclass
class PMedianProblem:
    """An OR-Library p-median graph: edges with last-occurrence-wins lengths, and p."""

    name: str
    n: int
    p: int
    graph: nx.Graph


def read_pmed(path: Path) -> PMedianProblem:
    """An OR-Library `pmedinfo` file.

    A pair listed twice keeps the length of its last line (the format's rule, not the
    minimum): networkx's add_edge overwrites the attribute, which is exactly that rule.
    Every vertex must be on an edge line (a pmedinfo graph is connected; Floyd's matrix
    would be infinite for a vertex on none): checked before the graph is built, so a
    wrong n in the header is an input error, not a graph of n vertices.
    """
    tok = Tokens.read(path)
    n = tok.count("number of vertices n")
    e = tok.count("number of edge lines e", minimum=0)
    p = tok.count("number of medians p")
    if p > n:
        raise InputError(Problem(str(path), f"p <= n = {n}", row=1, found=str(p)))
    edges = []
    for k in range(e):
        line = tok.where()
        a = tok.count(f"edge {k + 1}: first vertex")
        b = tok.count(f"edge {k + 1}: second vertex")
        w = tok.number(f"edge {k + 1}: length")
        if a > n or b > n:
            raise InputError(Problem(str(path), f"vertices between 1 and n = {n}", row=line,
                                     found=f"{a} {b}"))
        if a != b:
            edges.append((a, b, w))
    tok.expect_end()
    ends = {v for a, b, _w in edges for v in (a, b)}
    if n > 1 and len(ends) < n:
        lonely = next(v for v in range(1, len(ends) + 2) if v not in ends)
        raise InputError(Problem(str(path), f"every vertex 1..n = {n} (header) on an edge "
                                 "line between two vertices", row=1,
                                 found=f"vertex {lonely} on none"))
    graph = nx.Graph()
    graph.add_nodes_from(range(1, n + 1))
    for a, b, w in edges:
        graph.add_edge(a, b, length=w)
    return PMedianProblem(Path(path).stem, n, p, graph)


def _name_width(count: int) -> int:
    return len(str(count))


def facility_instance(problem: FacilityProblem, out: Path, *, kind: str) -> Path:
    """Write a facility-location problem as a one-year siteopt instance folder."""
    m, n = problem.cost.shape
    wi, wj = _name_width(m), _name_width(n)
    sites = [f"F{i + 1:0{wi}d}" for i in range(m)]
    regions = [f"C{j + 1:0{wj}d}" for j in range(n)]
    demand = problem.demand
    with np.errstate(divide="ignore", invalid="ignore"):
        per_mw = np.where(demand[None, :] > 0, problem.cost / demand[None, :], 0.0)
    tables = {
        "cooling": pd.DataFrame({"cooling": ["none"], "pue": [1.0]}),
        "zones": pd.DataFrame({"zone": ["grid"]}),
        "headroom": pd.DataFrame({"zone": ["grid"], "year": [YEAR],
                                  "headroom_mw": [float(problem.capacity.sum())]}),
        "sites": pd.DataFrame({"site": sites, "zone": "grid", "node": sites}),
        "nodes": pd.DataFrame({"node": sites}),
        "links": pd.DataFrame({"a": [], "b": [], "km": []}),
        "phases": pd.DataFrame({"site": sites, "phase": "P1", "it_mw": problem.capacity,
                                "capex_usd_m": problem.fixed, "fixed_om_usd_m_per_year": 0.0,
                                "lead_months": 0}),
        "regions": pd.DataFrame({"region": regions, "node": ""}),
        "classes": pd.DataFrame({"class": ["load"]}),
        "demand": pd.DataFrame({"region": regions, "class": "load", "year": YEAR,
                                "it_mw": demand}),
        "service_costs": pd.DataFrame({
            "site": np.repeat(sites, n), "region": np.tile(regions, m),
            "cost_usd_m_per_mw_year": per_mw.ravel()}),
    }
    meta = {
        "name": problem.name,
        "description": (f"{problem.source}, imported by `siteopt import {kind}`: {m} facilities, "
                        f"{n} customers, splittable demand, one year."),
        "cost_unit": BENCHMARK_COST_UNIT,
        "horizon": {"first_year": YEAR, "last_year": YEAR},
        "service": {"allow_unserved": False, "max_utilization": 1.0},
        "solver": {"gap": 0.0},
    }
    return write_instance(out, meta, tables)


def pmedian_instance(problem: PMedianProblem, out: Path) -> Path:
    """Write a p-median graph as a one-year siteopt instance folder (exactly p sites)."""
    n = problem.n
    w = _name_width(n)
    name = {v: f"V{v:0{w}d}" for v in problem.graph.nodes}
    ids = [name[v] for v in sorted(problem.graph.nodes)]
    edges = sorted((min(a, b), max(a, b), d["length"]) for a, b, d in
                   problem.graph.edges(data=True))
    dist = dict(nx.all_pairs_dijkstra_path_length(problem.graph, weight="length"))
    order = sorted(problem.graph.nodes)
    site_col, region_col, cost_col = [], [], []
    for i in order:
        row = dist[i]
        for j in order:
            if j in row:
                site_col.append(name[i])
                region_col.append(name[j])
                cost_col.append(float(row[j]))
    tables = {
        "cooling": pd.DataFrame({"cooling": ["none"], "pue": [1.0]}),
        "zones": pd.DataFrame({"zone": ["grid"]}),
        "headroom": pd.DataFrame({"zone": ["grid"], "year": [YEAR],
                                  "headroom_mw": [float(n * n)]}),
        "sites": pd.DataFrame({"site": ids, "zone": "grid", "node": ids}),
        "nodes": pd.DataFrame({"node": ids}),
        "links": pd.DataFrame({"a": [name[a] for a, _b, _w in edges],
                               "b": [name[b] for _a, b, _w in edges],
                               "km": [float(x) for _a, _b, x in edges]}),
        "phases": pd.DataFrame({"site": ids, "phase": "P1", "it_mw": float(n),
                                "capex_usd_m": 0.0, "fixed_om_usd_m_per_year": 0.0,
                                "lead_months": 0}),
        "regions": pd.DataFrame({"region": ids, "node": ids}),
        "classes": pd.DataFrame({"class": ["load"]}),
        "demand": pd.DataFrame({"region": ids, "class": "load", "year": YEAR, "it_mw": 1.0}),
        "service_costs": pd.DataFrame({"site": site_col, "region": region_col,
                                       "cost_usd_m_per_mw_year": cost_col}),
    }
    meta = {
        "name": problem.name,
        "description": (f"OR-Library pmedinfo file {problem.name}, imported by `siteopt import "
                        f"orlib-pmed`: {n} vertices, {len(edges)} edges, p = {problem.p}. "
                        "Round trip = shortest-path length (1 ms per unit)."),
        "cost_unit": BENCHMARK_DISTANCE_UNIT,
        "horizon": {"first_year": YEAR, "last_year": YEAR},
        "service": {"allow_unserved": False, "max_utilization": 1.0},
        "latency": {"rtt_ms_per_km": 1.0},
        "siting": {"sites": problem.p, "sites_rule": "exactly"},
        "solver": {"gap": 0.0},
    }
    return write_instance(out, meta, tables)


def import_orlib(kind: str, source: Path, out: Path, capacity: float | None = None) -> Path:
    """Read an OR-Library file of `kind` (orlib-cap, orlib-ufl, orlib-pmed) into folder `out`."""
    if kind == "orlib-cap":
        return facility_instance(read_cap(source, capacity), out, kind=kind)
    if kind == "orlib-ufl":
        return facility_instance(read_ufl(source), out, kind=kind)
    if kind == "orlib-pmed":
        return pmedian_instance(read_pmed(source), out)
    raise ValueError(kind)
