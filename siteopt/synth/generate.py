"""Seeded synthetic instances (`siteopt generate`): realistic structure at any size.

The generator imitates the structure of `instances/vietnam-2026/` so that its instances
exercise the model as real ones do, from a few sites up to benchmark sizes:

- **Metros.** `clusters` metro centres are drawn in a lat/lon `box` (default 8-24 N, 100-112
  E: Vietnam and its neighbours), with Zipf-like weights 1 / k^0.8 (population) and a spread
  of 30-90 km. Demand regions scatter around the centres (normal, sigma = the spread), a
  share `rural_share` uniformly over the box; candidate sites scatter around the centres too
  (sigma 1.3 x the spread), one per metro first (largest first), the rest by weight^0.7.
- **Fiber.** Backbone hubs sit at the metro centres plus one per 25 regions and sites (at
  the positions of randomly drawn regions and sites, jittered by 10 km). Hubs are joined by
  a minimum spanning tree plus each hub's two nearest hubs (connected, sparse); every region
  and site node attaches to its nearest hub and, with probability 0.3, to its second
  nearest. A link's km is the great-circle distance x `route_factor`, rounded to 0.1 km (at
  least 0.1). Round trip = 1 ms + 0.01 ms per route-km (as in the Vietnam instance).
- **Sites and phases.** Each site has `phases_min`-`phases_max` phases of 5-80 IT MW (a site
  unit of 5-40 MW, later phases up to 2x), USD 7-10 M per IT MW (3 % cheaper per later
  phase), lead times of 12-24 months for the first phase and 6-18 for later ones (shortened
  so every phase fits in the horizon: at most 12 x (years - 1) months). A site is air-only
  (30 %), mixed (50 %: first phase air, later air|dlc, the last also immersion) or liquid
  (20 %: dlc|immersion). The most central site of every metro, and more in the largest
  metros up to a share `existing_share` of the sites (none if it is 0), has existing
  legacy-cooled capacity whose sellable part serves 90 % of its metro's first-year demand
  (metros without a site hand theirs to the largest one with a site). New sites cost USD
  5-25 M to open; every site USD 0.3-1.5 M a year to run; max_it_mw is existing + every
  phase.
- **Cooling.** legacy (PUE 1.6, not buildable; only with existing capacity), air (1.4, capex
  x 1.0), dlc (1.2, x 1.1), immersion (1.08, x 1.15): the Vietnam values.
- **Grid.** `zones` zones (default one per four sites) group nearby sites (each site joins
  the nearest of randomly drawn zone seeds). A zone's headroom carries its existing plant
  plus a share of its phases' facility MW (at PUE 1.3) that grows linearly from 15-35 % in
  the first year to 85-120 % in the last; a share `short_zone_share` of the zones ends at
  35-65 % only (short of headroom). 30 % of the zones have a summer derate of 0.85-0.95.
  Short zones get an upgrade with probability 0.8, the others with `upgrade_share`: +25-50 %
  of the zone's phase power for USD 0.15-0.4 M per MW, 12-36 months' lead.
- **Demand.** `classes` classes out of sens (latency-sensitive, any cooling), flex
  (latency-tolerant, any cooling) and ai (GPU training, dlc|immersion only). Each region has
  a weight (its metro's weight x lognormal; rural regions x 0.3) and its own growth of 8-22
  % a year; sens takes 30-50 % of it, flex the rest. In a share `ai_region_share` of the
  metro regions ai comes on top from the third year (earlier in shorter horizons: once
  liquid-cooled phases can be online), growing from 5 % to 35 % of the region's other
  demand. The peak (last-year) total is set so that `capacity_ratio` = sellable capacity
  (max_utilization x (existing + every phase)) / peak demand: capacity is somewhat scarce,
  the MILP non-trivial.
- **Latency targets.** Per class, a target in ms such that a region reaches about a share
  `reach_tight` (sens) or `reach_loose` (flex, ai) of the sites able to host the class: the
  share's quantile of all site-region round trips, times a jitter of 0.85-1.2 per region,
  raised where needed so every region reaches its `min_reach` nearest hosting sites (and
  flex and ai at least the sens target), rounded up to 0.1 ms. This sparsity keeps the model
  size realistic (the model only creates latency-feasible pairs).
- **Costs and budgets.** Serving costs USD 0.02 M per IT MW-year per 1,000 route-km (the
  Vietnam assumption), for the pairs within the target of a class the region demands and the
  site can host. Budgets: a horizon envelope for all sponsors (1.3 x the need: capex of the
  new capacity the peak needs, x 1.05 for cooling, plus half of all opening costs), a
  yearly all-sponsor limit (1.8 x the need over max(1, years - 1) building years, x
  0.8-1.2), and a horizon budget per
  sponsor (50-80 % of its sites' phase capex); each at least 1.25 x the cheapest first phase
  with its opening cost in its scope. `sponsors` sponsors, each with at least one site.
  Economics as the Vietnam instance; unserved demand is allowed at USD 25 M per MW-year, so
  every generated instance is feasible.
- **Ids and order.** Zero-padded ids (s001, r0001, h001, z001, u001, sp01); regions and
  sites numbered by metro (largest first), then distance from its centre, rural last; rows
  in id order.

Every number is a synthetic assumption: the folder's README.md says so and records the spec
and seed that regenerate it. Only `numpy.random.default_rng(seed)` draws, in a fixed order,
so the same spec writes byte-identical files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree

from siteopt.errors import InputError, Problem
from siteopt.io.folder import write_instance
from siteopt.io.schema import METADATA_FILE

EARTH_RADIUS_KM = 6371.0
#: km per degree of latitude (and of longitude at the equator).
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180

#: Cooling technologies (id, name, PUE, capex factor), the Vietnam instance's values.
COOLING = (
    ("legacy", "Existing plant (older room-air cooling)", 1.6, 1.0),
    ("air", "Air cooling (chilled water / fan wall)", 1.4, 1.0),
    ("dlc", "Direct-to-chip liquid cooling", 1.2, 1.1),
    ("immersion", "Single-phase immersion cooling", 1.08, 1.15),
)
#: Demand classes in the order `classes` takes them: (id, name, cooling, reach knob).
CLASSES = (
    ("sens", "Latency-sensitive (finance, government, edge cloud)", "", "reach_tight"),
    ("flex", "Latency-tolerant (enterprise cloud, storage, backup)", "", "reach_loose"),
    ("ai", "AI training / GPU clusters", "dlc|immersion", "reach_loose"),
)
AIR, MIXED, LIQUID = 0, 1, 2
#: Economics, service and latency settings of every generated instance (as Vietnam's).
ECONOMICS = {"discount_rate": 0.1, "tariff_usd_per_mwh": 74.7, "tariff_escalation": 0.03,
             "hours_per_year": 8760.0, "it_load_factor": 0.7, "fixed_om_share": 0.025}
SERVICE = {"allow_unserved": True, "unserved_penalty_usd_m_per_mw_year": 25.0,
           "max_utilization": 0.8, "strong_linking": True}
LATENCY = {"rtt_ms_per_km": 0.01, "rtt_ms_per_hop": 0.0, "rtt_ms_fixed": 1.0}
#: Serving cost per IT MW-year per route-km (USD M): USD 0.02 M per 1,000 km.
SERVICE_COST_PER_KM = 0.02 / 1000
#: Typical PUE used to size grid headroom against a zone's phases.
PLANNING_PUE = 1.3
#: Share of the first year's demand the existing capacity can serve.
EXISTING_COVER = 0.9


@dataclass(frozen=True)
class GeneratorSpec:
    """What to generate: sizes, seed and the knobs of the structure (module docstring).

    `clusters` and `zones` of None scale with the size: max(1, round(sqrt(regions) / 2))
    metros and ceil(sites / 4) zones.
    """

    sites: int
    regions: int
    years: int
    seed: int = 0
    first_year: int = 2026
    classes: int = 3
    clusters: int | None = None
    zones: int | None = None
    sponsors: int = 4
    phases_min: int = 2
    phases_max: int = 4
    reach_tight: float = 0.08
    reach_loose: float = 0.2
    min_reach: int = 3
    capacity_ratio: float = 1.6
    existing_share: float = 0.2
    short_zone_share: float = 0.3
    upgrade_share: float = 0.5
    rural_share: float = 0.1
    ai_region_share: float = 0.4
    route_factor: float = 1.3
    box: tuple[float, float, float, float] = (8.0, 24.0, 100.0, 112.0)

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(problems))

    def problems(self) -> list[str]:
        """What is wrong with the spec, one sentence per knob (empty: valid)."""
        out = []

        def need(ok: bool, text: str) -> None:
            if not ok:
                out.append(text)

        need(self.sites >= 1, f"sites must be at least 1, got {self.sites}")
        need(self.regions >= 1, f"regions must be at least 1, got {self.regions}")
        need(self.years >= 1, f"years must be at least 1, got {self.years}")
        need(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        need(self.first_year >= 1900 and self.last_year <= 2200,
             f"the horizon {self.first_year}-{self.last_year} must lie within 1900-2200")
        need(1 <= self.classes <= len(CLASSES),
             f"classes must be from 1 to {len(CLASSES)}, got {self.classes}")
        need(self.clusters is None or self.clusters >= 1,
             f"clusters must be at least 1, got {self.clusters}")
        need(self.zones is None or 1 <= self.zones <= self.sites,
             f"zones must be from 1 to the number of sites, got {self.zones}")
        need(self.sponsors >= 1, f"sponsors must be at least 1, got {self.sponsors}")
        need(1 <= self.phases_min <= self.phases_max <= 9,
             f"phases must satisfy 1 <= phases_min <= phases_max <= 9, got "
             f"{self.phases_min}-{self.phases_max}")
        need(0 < self.reach_tight <= self.reach_loose <= 1,
             f"reach shares must satisfy 0 < reach_tight <= reach_loose <= 1, got "
             f"{self.reach_tight}, {self.reach_loose}")
        need(self.min_reach >= 1, f"min_reach must be at least 1, got {self.min_reach}")
        need(1 < self.capacity_ratio <= 10,
             f"capacity_ratio must be > 1 and <= 10, got {self.capacity_ratio}")
        for name in ("existing_share", "short_zone_share", "upgrade_share", "rural_share",
                     "ai_region_share"):
            value = getattr(self, name)
            need(0 <= value <= 1, f"{name} must be from 0 to 1, got {value}")
        need(1 <= self.route_factor <= 5,
             f"route_factor must be from 1 to 5, got {self.route_factor}")
        lat0, lat1, lon0, lon1 = self.box
        need(-80 <= lat0 < lat1 <= 80 and -180 <= lon0 < lon1 <= 180,
             f"box must be (lat_min, lat_max, lon_min, lon_max) within +-80 N, +-180 E, "
             f"got {self.box}")
        return out

    @property
    def n_clusters(self) -> int:
        """Metro centres: `clusters`, or about sqrt(regions) / 2."""
        if self.clusters is not None:
            return self.clusters
        return max(1, round(math.sqrt(self.regions) / 2))

    @property
    def n_zones(self) -> int:
        """Grid zones: `zones`, or one per four sites."""
        return self.zones if self.zones is not None else math.ceil(self.sites / 4)

    @property
    def last_year(self) -> int:
        """Last year of the horizon."""
        return self.first_year + self.years - 1

    def changed(self) -> dict[str, object]:
        """The knobs that differ from their defaults (sizes always included)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("sites", "regions", "years", "seed") or value != f.default:
                out[f.name] = value
        return out


#: Named sizes, from a one-second solve to benchmark scale (model variables in README.md).
PRESETS: dict[str, GeneratorSpec] = {
    "tiny": GeneratorSpec(sites=5, regions=10, years=3),
    "small": GeneratorSpec(sites=15, regions=40, years=5),
    "medium": GeneratorSpec(sites=50, regions=200, years=8),
    "large": GeneratorSpec(sites=120, regions=500, years=10),
    "400k": GeneratorSpec(sites=150, regions=640, years=12),
    "xl": GeneratorSpec(sites=300, regions=1000, years=15),
}


def preset(name: str, **changes: object) -> GeneratorSpec:
    """The preset `name` with some knobs changed (e.g. seed, sizes)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; one of {', '.join(PRESETS)}")
    return replace(PRESETS[name], **changes)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- geometry


def great_circle_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                    lon2: np.ndarray) -> np.ndarray:
    """Haversine distance in km, broadcasting its arguments."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _scatter(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray,
             sigma_km: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points around (lat, lon), normal with `sigma_km` in each direction."""
    dy = rng.normal(0.0, 1.0, lat.shape) * sigma_km
    dx = rng.normal(0.0, 1.0, lat.shape) * sigma_km
    new_lat = np.clip(lat + dy / KM_PER_DEGREE, -89.0, 89.0)
    new_lon = lon + dx / (KM_PER_DEGREE * np.cos(np.radians(new_lat)))
    return new_lat, (new_lon + 180.0) % 360.0 - 180.0


def _ids(prefix: str, n: int, width: int) -> list[str]:
    w = max(width, len(str(n)))
    return [f"{prefix}{i + 1:0{w}d}" for i in range(n)]


def _ceil_to(x: np.ndarray, step: float) -> np.ndarray:
    """Round up to a multiple of `step` (headroom, targets: never below the value)."""
    return np.round(np.ceil(np.asarray(x) / step - 1e-12) * step, 10)


# --------------------------------------------------------------------------- pieces


@dataclass
class _Ids:
    """Ids and names of the generated rows, in table order."""

    region: list[str]
    site: list[str]
    zone: list[str]
    sponsor: list[str]
    cls: list[str]
    region_name: list[str]
    site_name: list[str]


@dataclass
class _Metros:
    lat: np.ndarray
    lon: np.ndarray
    weight: np.ndarray  # sums to 1
    spread_km: np.ndarray


@dataclass
class _Places:
    """Regions or sites: positions, their metro, and whether they lie outside any metro."""

    lat: np.ndarray
    lon: np.ndarray
    metro: np.ndarray
    rural: np.ndarray


def _metros(spec: GeneratorSpec, rng: np.random.Generator) -> _Metros:
    k = spec.n_clusters
    lat0, lat1, lon0, lon1 = spec.box
    lat = rng.uniform(lat0, lat1, k)
    lon = rng.uniform(lon0, lon1, k)
    weight = 1.0 / np.arange(1, k + 1) ** 0.8
    spread = rng.uniform(30.0, 90.0, k)
    return _Metros(lat, lon, weight / weight.sum(), spread)


def _assign(rng: np.random.Generator, n: int, weight: np.ndarray) -> np.ndarray:
    """Metro of each of n points: the largest metros get one each first, the rest by weight."""
    k = len(weight)
    first = np.argsort(-weight, kind="stable")[:min(n, k)]
    rest = rng.choice(k, size=n - len(first), p=weight) if n > len(first) else np.empty(0, int)
    return np.concatenate([first, rest]).astype(int)


def _order(metros: _Metros, places: _Places) -> _Places:
    """Sort points by metro, then distance from its centre (rural points last): readable ids."""
    d = great_circle_km(places.lat, places.lon, metros.lat[places.metro],
                        metros.lon[places.metro])
    idx = np.lexsort((d, places.metro, places.rural))
    return _Places(places.lat[idx], places.lon[idx], places.metro[idx], places.rural[idx])


def _regions(spec: GeneratorSpec, rng: np.random.Generator, metros: _Metros) -> _Places:
    n = spec.regions
    n_rural = int(spec.rural_share * n) if n > len(metros.weight) else 0
    metro = _assign(rng, n - n_rural, metros.weight)
    lat, lon = _scatter(rng, metros.lat[metro], metros.lon[metro], metros.spread_km[metro])
    lat0, lat1, lon0, lon1 = spec.box
    r_lat, r_lon = rng.uniform(lat0, lat1, n_rural), rng.uniform(lon0, lon1, n_rural)
    nearest = np.argmin(great_circle_km(r_lat[:, None], r_lon[:, None], metros.lat[None, :],
                                        metros.lon[None, :]), axis=1) if n_rural else []
    places = _Places(np.concatenate([lat, r_lat]), np.concatenate([lon, r_lon]),
                     np.concatenate([metro, np.asarray(nearest, int)]).astype(int),
                     np.arange(n) >= n - n_rural)
    return _order(metros, places)


def _sites(spec: GeneratorSpec, rng: np.random.Generator, metros: _Metros) -> _Places:
    metro = _assign(rng, spec.sites, metros.weight ** 0.7 / (metros.weight ** 0.7).sum())
    lat, lon = _scatter(rng, metros.lat[metro], metros.lon[metro],
                        1.3 * metros.spread_km[metro])
    return _order(metros, _Places(lat, lon, metro, np.zeros(spec.sites, bool)))


@dataclass
class _Network:
    nodes: pd.DataFrame
    links: pd.DataFrame
    route_km: np.ndarray  # (sites, regions) shortest route over the links


def _network(spec: GeneratorSpec, rng: np.random.Generator, metros: _Metros,
             regions: _Places, sites: _Places, ids: _Ids) -> _Network:
    """Backbone hubs (MST + nearest neighbours), access links, and site-region route km."""
    p_lat = np.concatenate([regions.lat, sites.lat])
    p_lon = np.concatenate([regions.lon, sites.lon])
    n_points = len(p_lat)
    n_extra = round(n_points / 25)
    pick = rng.choice(n_points, size=n_extra, replace=n_extra > n_points)
    e_lat, e_lon = _scatter(rng, p_lat[pick], p_lon[pick], np.full(n_extra, 10.0))
    h_lat = np.concatenate([metros.lat, e_lat])
    h_lon = np.concatenate([metros.lon, e_lon])
    n_hubs = len(h_lat)
    hub_metro = np.concatenate([np.arange(len(metros.lat)), np.zeros(n_extra, int)])
    if n_extra:
        hub_metro[len(metros.lat):] = np.argmin(great_circle_km(
            e_lat[:, None], e_lon[:, None], metros.lat[None, :], metros.lon[None, :]), axis=1)

    hub_km = great_circle_km(h_lat[:, None], h_lon[:, None], h_lat[None, :], h_lon[None, :])
    edges: set[tuple[int, int]] = set()
    if n_hubs > 1:
        tree = minimum_spanning_tree(hub_km + 1e-6 * (1 - np.eye(n_hubs))).tocoo()
        edges |= {(min(a, b), max(a, b)) for a, b in zip(tree.row.tolist(), tree.col.tolist(),
                                                            strict=True)}
        near = np.argsort(hub_km + np.diag(np.full(n_hubs, np.inf)), axis=1,
                          kind="stable")[:, :min(2, n_hubs - 1)]
        for a in range(n_hubs):
            edges |= {(min(a, int(b)), max(a, int(b))) for b in near[a]}
    backbone = np.array(sorted(edges), dtype=int).reshape(-1, 2)

    access_km = great_circle_km(p_lat[:, None], p_lon[:, None], h_lat[None, :], h_lon[None, :])
    order = np.argsort(access_km, axis=1, kind="stable")
    second = rng.random(n_points) < 0.3
    point_node = n_hubs + np.arange(n_points)  # node index: hubs, then regions, then sites
    a_col = [backbone[:, 0], order[:, 0]]
    b_col = [backbone[:, 1], point_node]
    km_col = [hub_km[backbone[:, 0], backbone[:, 1]], access_km[np.arange(n_points), order[:, 0]]]
    if n_hubs > 1 and second.any():
        rows = np.flatnonzero(second)
        a_col.append(order[rows, 1])
        b_col.append(point_node[rows])
        km_col.append(access_km[rows, order[rows, 1]])
    a = np.concatenate(a_col)
    b = np.concatenate(b_col)
    km = np.maximum(np.round(np.concatenate(km_col) * spec.route_factor, 1), 0.1)
    # access links listed per point: hubs first, then each point's links in point order
    idx = np.lexsort((a, b))
    a, b, km = a[idx], b[idx], km[idx]

    hub_ids = _ids("h", n_hubs, 3)
    node_ids = np.array(hub_ids + ids.region + ids.site, dtype=object)
    hub_names = [f"Backbone hub {i + 1} (metro {m + 1})" for i, m in enumerate(hub_metro)]
    nodes = pd.DataFrame({
        "node": node_ids,
        "name": hub_names + ids.region_name + ids.site_name,
        "lat": np.round(np.concatenate([h_lat, p_lat]), 4),
        "lon": np.round(np.concatenate([h_lon, p_lon]), 4),
    })
    links = pd.DataFrame({"a": node_ids[a], "b": node_ids[b], "km": km})

    n_nodes = n_hubs + n_points
    graph = coo_matrix((km, (a, b)), shape=(n_nodes, n_nodes)).tocsr()
    site_nodes = n_hubs + len(regions.lat) + np.arange(len(sites.lat))
    dist = dijkstra(graph, directed=False, indices=site_nodes)
    route = dist[:, n_hubs:n_hubs + len(regions.lat)]
    if not np.isfinite(route).all():  # by construction never: MST + access links
        raise AssertionError("generated fiber graph is not connected")
    return _Network(nodes, links, route)


@dataclass
class _Build:
    """Per-site kind and phases (flat arrays, one entry per phase)."""

    kind: np.ndarray  # per site: AIR, MIXED, LIQUID
    phase_site: np.ndarray
    phase_no: np.ndarray  # 1-based order within the site
    it_mw: np.ndarray
    capex: np.ndarray
    lead_months: np.ndarray
    cooling: list[str]

    def site_mw(self, n_sites: int) -> np.ndarray:
        """IT MW of every phase of each site, summed."""
        return np.bincount(self.phase_site, weights=self.it_mw, minlength=n_sites)


def _phases(spec: GeneratorSpec, rng: np.random.Generator) -> _Build:
    n = spec.sites
    kind = rng.choice(3, size=n, p=[0.3, 0.5, 0.2])
    if spec.classes >= 3 and not (kind != AIR).any():
        kind[0] = MIXED  # the AI class needs a site that can run liquid cooling
    count = rng.integers(spec.phases_min, spec.phases_max + 1, size=n)
    unit = rng.choice([5.0, 10.0, 15.0, 20.0, 30.0, 40.0], size=n,
                      p=[0.15, 0.25, 0.2, 0.2, 0.12, 0.08])
    per_mw = rng.uniform(7.0, 10.0, size=n)
    site = np.repeat(np.arange(n), count)
    no = np.concatenate([np.arange(1, c + 1) for c in count])
    total = len(site)
    scale = np.where(no == 1, 1.0, rng.choice([1.0, 1.0, 1.5, 2.0], size=total))
    it_mw = np.round(unit[site] * scale * 2) / 2
    capex = np.round(it_mw * per_mw[site] * (1 - 0.03 * (no - 1)), 1)
    lead = np.where(no == 1, rng.choice([12, 18, 24], size=total),
                    rng.choice([6, 12, 18], size=total))
    lead = np.minimum(lead, 12 * min(2, spec.years - 1))
    last = no == count[site]
    cooling = []
    for k, first, final in zip(kind[site].tolist(), (no == 1).tolist(), last.tolist(),
                               strict=True):
        if k == AIR:
            cooling.append("air")
        elif k == LIQUID:
            cooling.append("dlc|immersion")
        elif first:
            cooling.append("air")
        else:
            cooling.append("air|dlc|immersion" if final else "air|dlc")
    return _Build(kind, site, no, it_mw, capex, lead.astype(int), cooling)


def _existing_sites(spec: GeneratorSpec, metros: _Metros, sites: _Places) -> np.ndarray:
    """Sites with existing capacity: the most central site of every metro, then the next.

    A share `existing_share` of the sites, but at least one per metro (none if the share
    is 0): today's demand is served by today's plant, in the metros.
    """
    if spec.existing_share <= 0:
        return np.zeros(spec.sites, bool)
    rank = np.zeros(spec.sites, int)  # sites are ordered by metro, then centre distance
    for m in np.unique(sites.metro):
        members = np.flatnonzero(sites.metro == m)
        rank[members] = np.arange(len(members))
    n = max(round(spec.existing_share * spec.sites), int((rank == 0).sum()))
    pick = np.lexsort((np.arange(spec.sites), -metros.weight[sites.metro], rank))[:n]
    out = np.zeros(spec.sites, bool)
    out[pick] = True
    return out


@dataclass
class _Demand:
    mw: np.ndarray  # (regions, classes, years)
    has: np.ndarray  # (regions, classes) whether the class has demand in the region
    existing_mw: np.ndarray  # (sites,)


def _demand(spec: GeneratorSpec, rng: np.random.Generator, metros: _Metros,
            regions: _Places, sites: _Places, build: _Build, existing: np.ndarray) -> _Demand:
    """Demand per region, class and year, and the existing capacity, from capacity_ratio.

    A region's demand grows at its own rate; sens takes a fixed share of it, flex the rest,
    and ai (in some metro regions) comes on top with a share growing from 5 % to 35 %.
    Existing plant serves EXISTING_COVER of each metro's first-year demand.
    """
    n_r, n_y, n_c = spec.regions, spec.years, spec.classes
    weight = metros.weight[regions.metro] * rng.lognormal(0.0, 0.6, n_r)
    weight = np.where(regions.rural, 0.3 * weight, weight)
    growth = rng.uniform(0.08, 0.22, n_r)
    t = np.arange(n_y)
    base = weight[:, None] * (1 + growth[:, None]) ** (t[None, :] - (n_y - 1))
    sens = rng.uniform(0.3, 0.5, n_r)
    ai_region = (~regions.rural) & (rng.random(n_r) < spec.ai_region_share)
    if n_c >= 3 and not ai_region.any():
        ai_region[int(np.argmax(weight))] = True
    # ai arrives once liquid-cooled phases can be online (lead times are at most 2 years)
    start = min(2, n_y - 1)
    ai_share = np.where(t >= start, 0.05 + 0.30 * (t - start) / max(1, n_y - 1 - start), 0.0)
    raw = np.zeros((n_r, n_c, n_y))
    if n_c == 1:
        raw[:, 0, :] = base
    else:
        raw[:, 0, :] = sens[:, None] * base
        raw[:, 1, :] = (1 - sens[:, None]) * base
        if n_c >= 3:
            raw[:, 2, :] = ai_region[:, None] * ai_share[None, :] * base
    raw /= raw[:, :, -1].sum()  # peak (last-year) total 1
    first = raw[:, :, 0].sum(axis=1)
    util = SERVICE["max_utilization"]
    cover = EXISTING_COVER if existing.any() else 0.0
    # ratio = util (existing + phases) / peak, existing = cover x first-year demand / util
    peak = util * float(build.it_mw.sum()) / (spec.capacity_ratio - cover * float(first.sum()))
    metro_first = np.bincount(regions.metro, weights=first * peak, minlength=len(metros.lat))
    # metros without an existing site hand their share to the largest metro that has one
    has_plant = np.bincount(sites.metro[existing], minlength=len(metros.lat)) > 0
    if existing.any():
        orphan = float(metro_first[~has_plant].sum())
        metro_first = np.where(has_plant, metro_first, 0.0)
        metro_first[int(np.argmax(np.where(has_plant, metros.weight, -1.0)))] += orphan
    ex_weight = np.where(existing, rng.uniform(0.7, 1.3, spec.sites), 0.0)
    metro_weight = np.bincount(sites.metro, weights=ex_weight, minlength=len(metros.lat))
    existing_mw = np.zeros(spec.sites)
    if existing.any():
        target = cover * metro_first[sites.metro] / util * ex_weight / np.maximum(
            metro_weight[sites.metro], 1e-12)
        existing_mw = np.where(existing, np.maximum(np.round(2 * target) / 2, 1.0), 0.0)
    has = np.ones((n_r, n_c), bool)
    if n_c >= 3:
        has[:, 2] = ai_region
    mw = np.where(raw > 0, np.maximum(np.round(peak * raw, 3), 0.001), 0.0)
    return _Demand(mw, has, existing_mw)


def _targets(spec: GeneratorSpec, rng: np.random.Generator, rtt: np.ndarray,
             hosts: np.ndarray) -> np.ndarray:
    """Round-trip target per (region, class): reach about the class's share of its hosts.

    One jitter per region (its geography) for every class; a looser class never gets a
    tighter target than a tighter class in the same region.
    """
    targets = np.zeros((spec.regions, spec.classes))
    jitter = rng.uniform(0.85, 1.2, spec.regions)
    for c in range(spec.classes):
        reach = getattr(spec, CLASSES[c][3])
        mine = rtt[hosts[:, c]]
        base = float(np.quantile(mine, reach))
        m = min(spec.min_reach, mine.shape[0])
        kth = np.partition(mine, m - 1, axis=0)[m - 1]
        targets[:, c] = _ceil_to(np.maximum(base * jitter, kth), 0.1)
    if spec.classes >= 2:
        targets[:, 1:] = np.maximum(targets[:, 1:], targets[:, :1])
    return targets


def _zones(spec: GeneratorSpec, rng: np.random.Generator, sites: _Places) -> np.ndarray:
    """Zone index of each site: the nearest of randomly drawn seed sites, renumbered."""
    n_z = spec.n_zones
    seeds = rng.choice(spec.sites, size=n_z, replace=False)
    d = great_circle_km(sites.lat[:, None], sites.lon[:, None], sites.lat[seeds][None, :],
                        sites.lon[seeds][None, :])
    zone = np.argmin(d, axis=1)
    zone[seeds] = np.arange(n_z)
    _, first = np.unique(zone, return_index=True)  # number zones in order of first site
    renumber = np.empty(n_z, int)
    renumber[np.argsort(first, kind="stable")] = np.arange(n_z)
    return renumber[zone]


# --------------------------------------------------------------------------- tables


def generate_tables(spec: GeneratorSpec) -> tuple[dict[str, object], dict[str, pd.DataFrame]]:
    """The instance of `spec`: metadata (instance.toml) and one DataFrame per table.

    The draws happen in a fixed order from one `default_rng(spec.seed)`, so the result
    depends on the spec alone.
    """
    rng = np.random.default_rng(spec.seed)
    metros = _metros(spec, rng)
    regions = _regions(spec, rng, metros)
    sites = _sites(spec, rng, metros)
    ids = _Ids(
        region=_ids("r", spec.regions, 4), site=_ids("s", spec.sites, 3),
        zone=_ids("z", spec.n_zones, 3), sponsor=_ids("sp", min(spec.sponsors, spec.sites), 2),
        cls=[c[0] for c in CLASSES[:spec.classes]],
        region_name=[("Rural area" if rural else f"Metro {m + 1} district") + f" {i + 1}"
                     for i, (m, rural) in enumerate(zip(regions.metro.tolist(),
                                                        regions.rural.tolist(), strict=True))],
        site_name=[f"Metro {m + 1} campus {i + 1}" for i, m in enumerate(sites.metro.tolist())])
    net = _network(spec, rng, metros, regions, sites, ids)
    build = _phases(spec, rng)
    existing = _existing_sites(spec, metros, sites)
    demand = _demand(spec, rng, metros, regions, sites, build, existing)
    zone = _zones(spec, rng, sites)
    sponsor = rng.permutation(np.resize(np.arange(len(ids.sponsor)), spec.sites))
    hosts = np.ones((spec.sites, spec.classes), bool)
    if spec.classes >= 3:
        hosts[:, 2] = build.kind != AIR
    rtt = LATENCY["rtt_ms_fixed"] + LATENCY["rtt_ms_per_km"] * net.route_km
    targets = _targets(spec, rng, rtt, hosts)
    open_cost = np.where(existing, 0.0, np.round(rng.uniform(5.0, 25.0, spec.sites), 1))

    tables = _site_tables(spec, rng, ids, sites, build, demand, existing, zone, sponsor,
                          open_cost)
    tables |= _grid_tables(spec, rng, ids, build, demand, zone)
    tables |= {"nodes": net.nodes, "links": net.links}
    tables |= _demand_tables(spec, ids, demand, net, rtt, targets, hosts)
    tables["budgets"] = _budgets(spec, rng, demand, build, open_cost, sponsor, ids.sponsor)
    meta = {
        "name": f"synthetic-s{spec.sites}-r{spec.regions}-y{spec.years}-seed{spec.seed}",
        "description": (
            f"Synthetic instance from `siteopt generate` (seed {spec.seed}): {spec.sites} "
            f"sites, {spec.regions} regions in {spec.n_clusters} metros, years "
            f"{spec.first_year}-{spec.last_year}. Every number is a synthetic assumption; "
            "see README.md for the spec that regenerates it."),
        "horizon": {"first_year": spec.first_year, "last_year": spec.last_year},
        "economics": dict(ECONOMICS),
        "service": dict(SERVICE),
        "latency": dict(LATENCY),
    }
    return meta, tables


def _site_tables(spec: GeneratorSpec, rng: np.random.Generator, ids: _Ids, sites: _Places,
                 build: _Build, demand: _Demand, existing: np.ndarray, zone: np.ndarray,
                 sponsor: np.ndarray, open_cost: np.ndarray) -> dict[str, pd.DataFrame]:
    """sites, phases and cooling."""
    cooling = COOLING if existing.any() else COOLING[1:]
    return {
        "sites": pd.DataFrame({
            "site": ids.site, "name": ids.site_name, "zone": [ids.zone[z] for z in zone],
            "node": ids.site, "sponsor": [ids.sponsor[s] for s in sponsor],
            "lat": np.round(sites.lat, 4), "lon": np.round(sites.lon, 4),
            "open_cost_usd_m": open_cost,
            "site_fixed_om_usd_m_per_year": np.round(rng.uniform(0.3, 1.5, spec.sites), 2),
            "max_it_mw": np.round(demand.existing_mw + build.site_mw(spec.sites), 1),
            "existing_it_mw": demand.existing_mw,
            "existing_cooling": np.where(existing, "legacy", ""),
        }),
        "phases": pd.DataFrame({
            "site": [ids.site[s] for s in build.phase_site],
            "phase": [f"p{k}" for k in build.phase_no], "order": build.phase_no,
            "it_mw": build.it_mw, "capex_usd_m": build.capex, "cooling": build.cooling,
            "lead_months": build.lead_months,
        }),
        "cooling": pd.DataFrame({
            "cooling": [c[0] for c in cooling], "name": [c[1] for c in cooling],
            "pue": [c[2] for c in cooling], "capex_factor": [c[3] for c in cooling],
            "buildable": ["false" if c[0] == "legacy" else "true" for c in cooling],
        }),
    }


def _grid_tables(spec: GeneratorSpec, rng: np.random.Generator, ids: _Ids, build: _Build,
                 demand: _Demand, zone: np.ndarray) -> dict[str, pd.DataFrame]:
    """zones, headroom (existing plant plus a growing share of the phases) and upgrades."""
    n_z, n_y = spec.n_zones, spec.years
    existing_power = np.bincount(zone, weights=demand.existing_mw * COOLING[0][2],
                                 minlength=n_z)
    phase_power = np.bincount(zone, weights=build.site_mw(spec.sites) * PLANNING_PUE,
                              minlength=n_z)
    derate = np.where(rng.random(n_z) < 0.3, np.round(rng.uniform(0.85, 0.95, n_z), 2), 1.0)
    tariff = np.round(rng.uniform(0.9, 1.15, n_z), 2)
    short = rng.random(n_z) < spec.short_zone_share
    start = rng.uniform(0.15, 0.35, n_z)
    end = np.where(short, rng.uniform(0.35, 0.65, n_z), rng.uniform(0.85, 1.2, n_z))
    frac = (start[:, None] + (end - start)[:, None] * np.arange(n_y)[None, :] / (n_y - 1)
            if n_y > 1 else end[:, None])
    # derated headroom always carries the existing plant (else the instance is infeasible)
    headroom = _ceil_to((existing_power[:, None] * 1.02 + phase_power[:, None] * frac)
                        / derate[:, None], 0.1)
    upgrade = rng.random(n_z) < np.where(short, 0.8, spec.upgrade_share)
    add_mw = np.maximum(np.round(phase_power * rng.uniform(0.25, 0.5, n_z)), 5.0)
    up_capex = np.round(add_mw * rng.uniform(0.15, 0.4, n_z), 1)
    up_lead = np.minimum(rng.choice([12, 24, 36], size=n_z), 12 * (n_y - 1))
    up_zones = np.flatnonzero(upgrade)
    return {
        "zones": pd.DataFrame({
            "zone": ids.zone, "name": [f"Grid zone {i + 1}" for i in range(n_z)],
            "derate": derate, "tariff_factor": tariff,
        }),
        "headroom": pd.DataFrame({
            "zone": np.repeat(ids.zone, n_y),
            "year": np.tile(np.arange(spec.first_year, spec.last_year + 1), n_z),
            "headroom_mw": headroom.ravel(),
        }),
        "upgrades": pd.DataFrame({
            "upgrade": _ids("u", len(up_zones), 3), "zone": [ids.zone[z] for z in up_zones],
            "add_mw": add_mw[up_zones], "capex_usd_m": up_capex[up_zones],
            "lead_months": up_lead[up_zones].astype(int),
        }),
    }


def _demand_tables(spec: GeneratorSpec, ids: _Ids, demand: _Demand, net: _Network,
                   rtt: np.ndarray, targets: np.ndarray, hosts: np.ndarray
                   ) -> dict[str, pd.DataFrame]:
    """regions, classes, demand, latency_targets, and service_costs of the reachable pairs.

    A pair gets a serving cost when it is within the target of some class that has demand
    in the region and that the site can host (the pairs the model can use).
    """
    years = np.arange(spec.first_year, spec.last_year + 1)
    region = np.array(ids.region, dtype=object)
    cls = np.array(ids.cls, dtype=object)
    r_idx, c_idx, y_idx = np.nonzero(demand.mw > 0)  # region-major, then class, then year
    within = ((rtt[:, :, None] <= targets[None, :, :] + 1e-9) & hosts[:, None, :]
              & demand.has[None, :, :])
    pair_site, pair_region = np.nonzero(within.any(axis=2))  # site-major, then region
    chosen = CLASSES[:spec.classes]
    return {
        "regions": pd.DataFrame({"region": ids.region, "name": ids.region_name,
                                 "node": ids.region}),
        "classes": pd.DataFrame({"class": ids.cls, "name": [c[1] for c in chosen],
                                 "cooling": [c[2] for c in chosen]}),
        "demand": pd.DataFrame({
            "region": region[r_idx], "class": cls[c_idx], "year": years[y_idx],
            "it_mw": demand.mw[r_idx, c_idx, y_idx],
        }),
        "latency_targets": pd.DataFrame({
            "region": np.repeat(region, spec.classes), "class": np.tile(cls, spec.regions),
            "max_rtt_ms": targets.ravel(),
        }),
        "service_costs": pd.DataFrame({
            "site": np.array(ids.site, dtype=object)[pair_site], "region": region[pair_region],
            "cost_usd_m_per_mw_year": np.round(
                SERVICE_COST_PER_KM * net.route_km[pair_site, pair_region], 6),
        }),
    }


def _budgets(spec: GeneratorSpec, rng: np.random.Generator, demand: _Demand, build: _Build,
             open_cost: np.ndarray, sponsor: np.ndarray, sponsor_ids: list[str]
             ) -> pd.DataFrame:
    """All-sponsor envelope and yearly limits, and a horizon budget per sponsor."""
    util = SERVICE["max_utilization"]
    peak = float(demand.mw[:, :, -1].sum())
    per_mw = float(build.capex.sum() / build.it_mw.sum())
    new_mw = max(0.0, peak / util - float(demand.existing_mw.sum()))
    need = new_mw * per_mw * 1.05 + float(open_cost.sum()) * 0.5
    first = build.phase_no == 1
    # first phases with their opening (0 at existing sites), at the dearest cooling: every
    # budget can pay for the cheapest one in its scope
    first_cost = build.capex[first] * 1.15 + open_cost[build.phase_site[first]]
    cheapest = float(first_cost.min())
    envelope = max(1.3 * need, 1.25 * cheapest)
    yearly = np.maximum(1.8 * need / max(1, spec.years - 1) * rng.uniform(0.8, 1.2, spec.years),
                        1.25 * cheapest)
    site_capex = np.bincount(build.phase_site, weights=build.capex, minlength=spec.sites)
    own = np.bincount(sponsor, weights=site_capex, minlength=len(sponsor_ids))
    own_cheapest = np.full(len(sponsor_ids), np.inf)
    np.minimum.at(own_cheapest, sponsor[build.phase_site[first]], first_cost)
    per_sponsor = np.maximum(own * rng.uniform(0.5, 0.8, len(sponsor_ids)),
                             1.25 * own_cheapest)
    n_sp = len(sponsor_ids)
    return pd.DataFrame({
        "sponsor": [""] * (1 + spec.years) + list(sponsor_ids),
        "year": pd.array([None, *range(spec.first_year, spec.last_year + 1)] + [None] * n_sp,
                         dtype="Int64"),
        "max_capex_usd_m": np.round(np.concatenate([[envelope], yearly, per_sponsor]), 1),
    })


# --------------------------------------------------------------------------- writing


def readme_text(spec: GeneratorSpec, tables: Mapping[str, pd.DataFrame]) -> str:
    """README.md of a generated folder: all numbers are assumptions; how to regenerate it."""
    changed = spec.changed()
    args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
    default_knobs = set(changed) <= {"sites", "regions", "years", "seed"}
    cli = (f"siteopt generate OUT --sites {spec.sites} --regions {spec.regions} "
           f"--years {spec.years} --seed {spec.seed}")
    rows = "\n".join(f"| `{name}.csv` | {len(frame)} |" for name, frame in tables.items())
    knobs = "\n".join(f"| `{f.name}` | `{getattr(spec, f.name)!r}` |" for f in fields(spec))
    regenerate = (f"```bash\n{cli}\n```\n\nor, in Python:\n\n" if default_knobs else "")
    doc = __doc__ or ""
    rules = doc[doc.index("- **Metros.**"):doc.index("\n\nEvery number")].strip()
    return f"""# Synthetic instance (seed {spec.seed})

**Every number in this folder is a synthetic assumption**, drawn by `siteopt generate`
(`siteopt/synth/generate.py`) from a seeded random generator: no number is sourced or describes a
real site, grid zone, network or market. The structure (metros, fiber backbone, grid zones
with growing headroom, phases, cooling, demand classes with latency targets, budgets)
imitates `instances/vietnam-2026/`, whose economics and cooling values it reuses; the
module docstring of `siteopt/synth/generate.py` states every rule and range.

## Regenerate

The same spec and seed write byte-identical files (with the same siteopt version):

{regenerate}```python
from pathlib import Path
from siteopt.synth.generate import GeneratorSpec, generate_instance
generate_instance(GeneratorSpec({args}), Path("OUT"))
```

## Spec

| knob | value |
|---|---|
{knobs}

Derived: {spec.n_clusters} metros, {spec.n_zones} grid zones, years {spec.first_year}-\
{spec.last_year}.

## How the numbers were drawn

{rules}

## Tables

| file | rows |
|---|---|
{rows}
"""


def write_generated(spec: GeneratorSpec, meta: Mapping[str, object],
                    tables: Mapping[str, pd.DataFrame], out: str | Path) -> Path:
    """Write generated tables, metadata and README.md as one instance folder, atomically.

    An existing folder at `out` is replaced only if it is an instance folder (or empty):
    a mistyped path must not swap out unrelated files.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or (
            any(out.iterdir()) and not (out / METADATA_FILE).is_file())):
        raise InputError(Problem(str(out), "a new folder, an empty one or an instance folder "
                                 "to replace", found="an existing path that is not an "
                                 "instance folder (no instance.toml)"))
    return write_instance(out, meta, tables, readme=readme_text(spec, tables))


def generate_instance(spec: GeneratorSpec, out: str | Path) -> Path:
    """Generate the instance of `spec` and write it to folder `out` (see `write_generated`)."""
    meta, tables = generate_tables(spec)
    return write_generated(spec, meta, tables, out)


__all__ = ["PRESETS", "GeneratorSpec", "generate_instance", "generate_tables", "preset",
           "readme_text", "write_generated"]
