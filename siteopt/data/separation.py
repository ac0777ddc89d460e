"""Distances between sites for p-dispersion (`siting.objective = "min_separation_km"`).

A pair listed in `site_distances.csv` (either order) takes its `km`; any other pair the
great-circle distance of the two sites' `lat`/`lon` (haversine, Earth radius 6371.0088 km).
A pair with neither is an input error when the objective needs it (`missing_distances`).
"""

from __future__ import annotations

import math

import pandas as pd

#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in km between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _listed(tables: dict[str, pd.DataFrame]) -> dict[frozenset[str], float]:
    given = tables["site_distances"]
    return {frozenset((a, b)): float(km) for a, b, km in
            given[["a", "b", "km"]].itertuples(index=False, name=None)}


def site_distances(tables: dict[str, pd.DataFrame]) -> dict[tuple[str, str], float]:
    """The km between every pair (a, b) of sites, a before b in sites.csv.

    Pairs with no distance (no row, no coordinates) are left out (`missing_distances`).
    """
    sites = tables["sites"]
    ids = list(sites["site"])
    coords = dict(zip(ids, zip(sites["lat"], sites["lon"], strict=True), strict=True))
    listed = _listed(tables)
    out: dict[tuple[str, str], float] = {}
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            km = listed.get(frozenset((a, b)))
            if km is None:
                (la, oa), (lb, ob) = coords[a], coords[b]
                if any(pd.isna(v) for v in (la, oa, lb, ob)):
                    continue
                km = great_circle_km(float(la), float(oa), float(lb), float(ob))
            out[a, b] = km
    return out


def missing_distances(tables: dict[str, pd.DataFrame]) -> list[tuple[str, str]]:
    """Pairs of sites with neither a site_distances.csv row nor coordinates for both."""
    known = site_distances(tables)
    ids = list(tables["sites"]["site"])
    return [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:] if (a, b) not in known]
