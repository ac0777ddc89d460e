"""Re-solving scenarios that change only numbers: a persistent HiGHS object and warm starts.

`Resolver.solve(inst)` builds and compiles the scenario's model as usual (the modelling layer
costs ~0.1 s on the Vietnam instance, beside 20-30 s in HiGHS), then compares the compiled
matrices with those of the previous solve. When the structure is the same (same columns, rows
and sparsity pattern: the override changed numbers only, e.g. a tariff, headroom, budget or
demand scale that keeps every demand positive), the HiGHS object of the previous solve is
updated in place (costs, bounds, row sides and changed coefficients only) instead of being
rebuilt, and it is warm-started from the previous plan (`setSolution`), which HiGHS uses as a
first incumbent if it is still feasible. Otherwise a new HiGHS object is made (and no warm
start is possible). Every plan is still extracted and verified by `plan.solve`.

Measured by `benchmarks/resolve.py` (README): no speed-up beyond noise on the Vietnam
instance (x1.06 over four tariff re-solves), because the model is still built and compiled
(~0.1 s) and HiGHS restarts its MIP search after any change. Warm starts also make the result
depend on the order of the scenarios (a different, equally good plan may be found), so
`siteopt sweep` does not use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np

from siteopt.instance import Instance
from siteopt.model.compile import Matrices
from siteopt.plan import Result, solve
from siteopt.solver import SolveOptions, SolverOutcome, solve_matrices, to_highs


@dataclass
class ResolveStats:
    """How each solve of a Resolver was set up."""

    reused: list[bool] = field(default_factory=list)
    warm: list[bool] = field(default_factory=list)
    changed: list[dict[str, int]] = field(default_factory=list)


def _structure(mat: Matrices) -> tuple[object, ...]:
    """What must be equal for an in-place update: column and row identities, sparsity."""
    return (tuple(v.name for v in mat.columns),
            tuple((con.name, mult) for con, mult in mat.rows),  # type: ignore[attr-defined]
            mat.A.indptr.tobytes(), mat.A.indices.tobytes(),  # type: ignore[attr-defined]
            mat.integrality.tobytes())


class Resolver:
    """Solves a sequence of scenarios of one instance, reusing HiGHS where the structure allows.

    With `warm_start`, each solve starts from the previous plan when the structure is the same.
    """

    def __init__(self, options: SolveOptions | None = None, warm_start: bool = True):
        self.options = options or SolveOptions()
        self.warm_start = warm_start
        self.stats = ResolveStats()
        self._highs: highspy.Highs | None = None
        self._mat: Matrices | None = None
        self._key: tuple[object, ...] | None = None
        self._x: np.ndarray | None = None

    def solve(self, inst: Instance) -> Result:
        """Solve `inst` (the base instance with some overrides) and remember its plan."""
        return solve(inst, self.options, runner=self._run)

    def _run(self, mat: Matrices, options: SolveOptions) -> SolverOutcome:
        key = _structure(mat)
        reuse = self._highs is not None and key == self._key
        changed: dict[str, int] = {}
        if reuse:
            assert self._highs is not None and self._mat is not None
            changed = _update(self._highs, self._mat, mat)
            h = self._highs
            _set_limits(h, options)
        else:
            h = to_highs(mat, options)
        warm = bool(reuse and self.warm_start and self._x is not None)
        if warm:
            sol = highspy.HighsSolution()
            sol.col_value = list(self._x)  # type: ignore[arg-type]
            sol.value_valid = True
            h.setSolution(sol)
        outcome = solve_matrices(mat, options, highs=h)
        self.stats.reused.append(reuse)
        self.stats.warm.append(warm)
        self.stats.changed.append(changed)
        self._highs, self._mat, self._key = h, mat, key
        if outcome.x is not None:
            self._x = outcome.x
        return outcome


def _set_limits(h: highspy.Highs, options: SolveOptions) -> None:
    h.setOptionValue("mip_rel_gap", float(options.gap))
    h.setOptionValue("threads", int(options.threads))
    h.setOptionValue("random_seed", int(options.seed))
    h.setOptionValue("time_limit", float(options.time_limit) if options.time_limit
                     else float("inf"))


def _update(h: highspy.Highs, old: Matrices, new: Matrices) -> dict[str, int]:
    """Change in `h` only the numbers that differ between `old` and `new` (same structure)."""
    counts = {"costs": 0, "col_bounds": 0, "row_bounds": 0, "coefficients": 0}
    idx = np.flatnonzero(old.cost != new.cost)
    if len(idx):
        h.changeColsCost(len(idx), idx.astype(np.int32), new.cost[idx])
        counts["costs"] = len(idx)
    if old.offset != new.offset:
        h.changeObjectiveOffset(new.offset)
    idx = np.flatnonzero((old.col_lower != new.col_lower) | (old.col_upper != new.col_upper))
    if len(idx):
        h.changeColsBounds(len(idx), idx.astype(np.int32), new.col_lower[idx],
                           new.col_upper[idx])
        counts["col_bounds"] = len(idx)
    idx = np.flatnonzero((old.row_lower != new.row_lower) | (old.row_upper != new.row_upper))
    if len(idx):
        h.changeRowsBounds(len(idx), idx.astype(np.int32), new.row_lower[idx],
                           new.row_upper[idx])
        counts["row_bounds"] = len(idx)
    A_old, A_new = old.A, new.A
    diff = np.flatnonzero(A_old.data != A_new.data)  # type: ignore[attr-defined]
    if len(diff):
        cols = np.searchsorted(A_new.indptr, diff, side="right") - 1  # type: ignore[attr-defined]
        rows = A_new.indices[diff]  # type: ignore[attr-defined]
        for r, c, v in zip(rows, cols, A_new.data[diff], strict=True):  # type: ignore[attr-defined]
            h.changeCoeff(int(r), int(c), float(v))
        counts["coefficients"] = len(diff)
    return counts
