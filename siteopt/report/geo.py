"""The bundled country outlines behind the report's map, and how they were cut.

`assets/outline-vietnam-region.json` holds the coarse country polygons of the box lat 5-25,
lon 98-115 (Vietnam and its neighbours), cut by `cut_outline` from the public-domain
`countries.geo.json` of github.com/johan/world.geo.json (Natural Earth derived; see
`assets/README.md` for provenance). Format: {"box": [lon0, lat0, lon1, lat1],
"countries": {ISO3: [ring, ...]}}, a ring being [[lon, lat], ...] rounded to 0.01 degree.
Regenerate with ``python -m siteopt.report.geo countries.geo.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: The bundled outline file.
OUTLINE = Path(__file__).with_name("assets") / "outline-vietnam-region.json"
#: lon0, lat0, lon1, lat1 of the cut.
BOX = (98.0, 5.0, 115.0, 25.0)

Ring = list[list[float]]


def load_outline(path: Path = OUTLINE) -> dict[str, list[Ring]]:
    """Country rings by ISO 3166-1 alpha-3 code (empty if the file is missing)."""
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["countries"]


def _clip(ring: Ring, box: tuple[float, float, float, float]) -> Ring:
    """Sutherland-Hodgman clip of a closed polygon ring to an axis-aligned box."""
    x0, y0, x1, y1 = box
    edges = [(0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False)]
    pts = ring
    for axis, bound, low in edges:
        if not pts:
            break
        out: Ring = []

        def inside(p: list[float], axis: int = axis, bound: float = bound,
                   low: bool = low) -> bool:
            return p[axis] >= bound if low else p[axis] <= bound

        for i, cur in enumerate(pts):
            prev = pts[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(_cross(prev, cur, axis, bound))
                out.append(cur)
            elif inside(prev):
                out.append(_cross(prev, cur, axis, bound))
        pts = out
    return pts


def _cross(a: list[float], b: list[float], axis: int, bound: float) -> list[float]:
    t = (bound - a[axis]) / (b[axis] - a[axis])
    return [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]


def _simplify(ring: Ring, tol: float) -> Ring:
    """Douglas-Peucker simplification (degrees), keeping the ring's ends."""
    if len(ring) < 3:
        return ring
    (ax, ay), (bx, by) = ring[0], ring[-1]
    dx, dy = bx - ax, by - ay
    norm = (dx * dx + dy * dy) ** 0.5
    best, index = -1.0, 0
    for i, (px, py) in enumerate(ring[1:-1], 1):
        d = (abs(dy * px - dx * py + bx * ay - by * ax) / norm if norm
             else ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5)
        if d > best:
            best, index = d, i
    if best <= tol:
        return [ring[0], ring[-1]]
    return _simplify(ring[:index + 1], tol)[:-1] + _simplify(ring[index:], tol)


def cut_outline(geojson: dict, box: tuple[float, float, float, float] = BOX,
                tol: float = 0.02) -> dict[str, object]:
    """The rings of every country inside `box`, clipped, simplified and rounded."""
    countries: dict[str, list[Ring]] = {}
    for feature in geojson["features"]:
        geom = feature["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        for poly in polys:
            ring = _clip([list(map(float, p[:2])) for p in poly[0]], box)
            if len(ring) < 3:
                continue
            ring = _simplify([*ring, ring[0]], tol)
            ring = [[round(x, 2), round(y, 2)] for x, y in ring]
            if len(ring) >= 4:
                countries.setdefault(feature["id"], []).append(ring)
    return {"box": list(box), "countries": countries}


if __name__ == "__main__":
    data = cut_outline(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))
    OUTLINE.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUTLINE} ({OUTLINE.stat().st_size} bytes, "
          f"{len(data['countries'])} countries)")  # type: ignore[arg-type]
