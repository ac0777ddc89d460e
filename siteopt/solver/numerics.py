"""Coefficient ranges of the compiled model, and whether they stay in HiGHS's comfort zone.

HiGHS works with absolute tolerances: primal feasibility 1e-7, MIP feasibility (integrality
and rows) 1e-6, dual feasibility 1e-7, and it drops matrix entries below 1e-9
(`small_matrix_value`). The comfort zone below follows from them:

* **matrix** |a| in [1e-4, 1e6], largest/smallest <= 1e9. A binary within the integrality
  tolerance (1e-6) of 0 times a coefficient of 1e6 leaks one whole unit (1 MW, 1 USD M)
  through a row: the big-M effect. Below 1e-4 an entry is within a factor 1e5 of what HiGHS
  discards, and its row's violation tolerance is comparable to the entry's contribution.
* **cost** |c| <= 1e6 (HiGHS itself warns above 1e10 and rescales); the smallest nonzero
  cost >= 1e-6: 10x the dual feasibility tolerance, below which a cost is treated as zero.
* **bounds and right-hand sides** |b| <= 1e6 (HiGHS warns above 1e10): with absolute
  tolerance 1e-7, row activities of 1e6 keep 9 significant digits in double precision.

siteopt's units (USD M, MW, ms, years) keep the bundled instances well inside: a test pins
the Vietnam instance's ranges. Inputs are limited to magnitudes of 1e7 by the reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from siteopt.model.compile import Matrices

#: (smallest allowed nonzero |value|, largest allowed |value|) per part of the model.
COMFORT: dict[str, tuple[float, float]] = {
    "matrix": (1e-4, 1e6),
    "cost": (1e-6, 1e6),
    "bounds": (0.0, 1e6),
    "rhs": (0.0, 1e6),
}
#: Largest allowed ratio between the largest and smallest nonzero matrix entry.
MATRIX_RATIO = 1e9


def _range(values: np.ndarray) -> tuple[float, float] | None:
    a = np.abs(np.asarray(values, dtype=float))
    a = a[np.isfinite(a) & (a > 0)]
    return (float(a.min()), float(a.max())) if a.size else None


def coefficient_ranges(mat: Matrices) -> dict[str, list[float] | None]:
    """Smallest and largest nonzero finite |value| of matrix, cost, bounds and rhs."""
    parts = {
        "matrix": mat.A.data,  # type: ignore[attr-defined]
        "cost": mat.cost,
        "bounds": np.concatenate([mat.col_lower, mat.col_upper]),
        "rhs": np.concatenate([mat.row_lower, mat.row_upper]),
    }
    out: dict[str, list[float] | None] = {}
    for name, values in parts.items():
        r = _range(values)
        out[name] = None if r is None else [r[0], r[1]]
    return out


def _where_matrix(mat: Matrices, value: float) -> str:
    """The row and column holding the matrix entry of magnitude `value`."""
    A = mat.A.tocoo()  # type: ignore[attr-defined]
    k = int(np.argmin(np.abs(np.abs(A.data) - value)))
    row = mat.rows[int(A.row[k])][0].name  # type: ignore[attr-defined]
    return f"{row} on {mat.columns[int(A.col[k])].name}"


def numerics_warnings(mat: Matrices, ranges: dict[str, list[float] | None] | None = None,
                      ) -> list[str]:
    """Sentences for every range outside the comfort zone, naming where the extreme sits."""
    ranges = ranges or coefficient_ranges(mat)
    out = []
    for name, (low, high) in COMFORT.items():
        r = ranges.get(name)
        if r is None:
            continue
        lo, hi = r
        where = ""
        if name == "matrix":
            if hi > high:
                where = f" (largest in {_where_matrix(mat, hi)})"
            elif lo < low:
                where = f" (smallest in {_where_matrix(mat, lo)})"
        if hi > high or (low > 0 and lo < low):
            out.append(f"{name} coefficients span [{lo:.1e}, {hi:.1e}], outside HiGHS's "
                       f"comfort zone [{low:.0e}, {high:.0e}]{where}: check the units of the "
                       "input (MW, USD M)")
    m = ranges.get("matrix")
    if m is not None and m[1] / m[0] > MATRIX_RATIO:
        out.append(f"matrix coefficients span a ratio of {m[1] / m[0]:.1e} (more than "
                   f"{MATRIX_RATIO:.0e}): HiGHS may report rounding errors as violations")
    return out
