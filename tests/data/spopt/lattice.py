"""spopt's synthetic test network, rebuilt with numpy alone (provenance of two CSV files here).

spopt's tests (`spopt/tests/conftest.py::network_instance`, spopt 0.7.0) lay a regular
lattice over (0, 0, 10, 10) with 9 interior lines each way (`spaghetti.regular_lattice(...,
9, exterior=True)`: unit spacing), buffer its lines by 0.2, draw points uniformly in the
buffer's bounding box with `numpy.random.seed(seed)` until enough fall inside
(`spopt.locate.util.simulated_geo_points`: clients seed 5, facilities seed 6), snap each
point to its nearest lattice edge, and take network distances (`allneighbordistances`:
along the edge to either end, then the lattice's shortest path, which on a unit grid is the
Manhattan distance between nodes). Rebuilt here without geopandas/spaghetti; the round caps
of the buffer are exact circles rather than shapely's 16-segment polygons (no drawn point
falls where the two differ).

Checks that this is spopt's network: the p-dispersion test
`test_p_dispersion_preselected_facility_array_from_geodataframe` (5 facilities, sites 3 and
4 preselected, p = 3, euclidean distances between snapped facilities) publishes objective
4.213464 with sites {1, 3, 4}; enumeration on `p_dispersion_5.csv` gives 4.2134640 with
{1, 3, 4}. The capacitated p-median test `test_c_p_median_from_cost_matrix` (2 clients,
3 facilities, capacities 5, 7, 10, demands 4, 10, p = 2) publishes cli2fac [[1], [2]]; on
`c_p_median_2x3.csv` that assignment costs 102.38 (single-source), while splittable
demand costs 89.69.

Run `python tests/data/spopt/lattice.py` to rewrite both files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def _nearest_edge(x: float, y: float) -> tuple[float, tuple[str, int, float]]:
    best, where = np.inf, ("v", 0, 0.0)
    for k in range(11):
        cy = min(max(y, 0.0), 10.0)
        d = float(np.hypot(x - k, y - cy))
        if d < best:
            best, where = d, ("v", k, cy)
        cx = min(max(x, 0.0), 10.0)
        d = float(np.hypot(x - cx, y - k))
        if d < best:
            best, where = d, ("h", k, cx)
    return best, where


def simulated_points(needed: int, seed: int) -> list[tuple[float, float]]:
    """spopt's simulated_geo_points on the buffered lattice (rejection sampling)."""
    np.random.seed(seed)
    points: list[tuple[float, float]] = []
    while len(points) < needed:
        x = float(np.random.uniform(-0.2, 10.2, 1)[0])
        y = float(np.random.uniform(-0.2, 10.2, 1)[0])
        if _nearest_edge(x, y)[0] <= 0.2:
            points.append((x, y))
    return points


def snap(point: tuple[float, float]):
    """The snapped point, its edge's two end nodes and its offset from the first."""
    _d, (kind, k, c) = _nearest_edge(*point)
    lo = min(int(np.floor(c)), 9)
    if kind == "v":
        return (float(k), c), ((k, lo), (k, lo + 1)), c - lo
    return (c, float(k)), ((lo, k), (lo + 1, k)), c - lo


def network_distance(a, b) -> float:
    """Along a's edge to an end, Manhattan between lattice nodes, along b's edge."""
    (_pa, (a0, a1), ta), (_pb, (b0, b1), tb) = a, b
    if (a0, a1) == (b0, b1):
        raise ValueError("two points on one edge: not needed for spopt's cases")
    da, db = {a0: ta, a1: 1 - ta}, {b0: tb, b1: 1 - tb}
    return min(da[u] + abs(u[0] - v[0]) + abs(u[1] - v[1]) + db[v] for u in da for v in db)


def build() -> tuple[np.ndarray, np.ndarray]:
    """(clients x 3 facilities network distances, 5 x 5 facility euclidean distances)."""
    facilities = [snap(p) for p in simulated_points(5, 6)]
    clients = [snap(p) for p in simulated_points(2, 5)]
    cost = np.array([[network_distance(c, f) for f in facilities[:3]] for c in clients])
    xy = np.array([f[0] for f in facilities])
    euclid = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    return cost, euclid


def write() -> None:
    """Rewrite c_p_median_2x3.csv and p_dispersion_5.csv."""
    cost, euclid = build()
    with open(HERE / "c_p_median_2x3.csv", "w") as f:
        f.write("client,facility,distance\n")
        for i in range(cost.shape[0]):
            for j in range(cost.shape[1]):
                f.write(f"{i},{j},{cost[i, j]:.12g}\n")
    with open(HERE / "p_dispersion_5.csv", "w") as f:
        f.write("a,b,distance\n")
        for i in range(5):
            for j in range(i + 1, 5):
                f.write(f"{i},{j},{euclid[i, j]:.12g}\n")


if __name__ == "__main__":
    write()
