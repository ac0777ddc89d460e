"""Geography of a generated instance: metros, regions and sites, the fiber network, zones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra, minimum_spanning_tree

from siteopt.synth.spec import ASSUMPTIONS as A
from siteopt.synth.spec import GeneratorSpec

EARTH_RADIUS_KM = A.earth_radius_km
#: km per degree of latitude (and of longitude at the equator).
KM_PER_DEGREE = A.km_per_degree



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
    weight = 1.0 / np.arange(1, k + 1) ** A.metro_zipf_exponent
    spread = rng.uniform(*A.metro_spread_km, k)
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
    w = metros.weight ** A.site_weight_exponent
    metro = _assign(rng, spec.sites, w / w.sum())
    lat, lon = _scatter(rng, metros.lat[metro], metros.lon[metro],
                        A.site_spread_factor * metros.spread_km[metro])
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
    n_extra = round(n_points / A.points_per_hub)
    pick = rng.choice(n_points, size=n_extra, replace=n_extra > n_points)
    e_lat, e_lon = _scatter(rng, p_lat[pick], p_lon[pick], np.full(n_extra, A.hub_jitter_km))
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
                          kind="stable")[:, :min(A.nearest_hubs, n_hubs - 1)]
        for a in range(n_hubs):
            edges |= {(min(a, int(b)), max(a, int(b))) for b in near[a]}
    backbone = np.array(sorted(edges), dtype=int).reshape(-1, 2)

    access_km = great_circle_km(p_lat[:, None], p_lon[:, None], h_lat[None, :], h_lon[None, :])
    order = np.argsort(access_km, axis=1, kind="stable")
    second = rng.random(n_points) < A.second_access_probability
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
    km = np.maximum(np.round(np.concatenate(km_col) * spec.route_factor, 1), A.min_link_km)
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
