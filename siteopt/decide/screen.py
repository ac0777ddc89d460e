"""Screening relaxations: which of many single-row relaxations lowers the optimum at all.

`siteopt value` asks, for every binding headroom, budget and site-cap row, what its largest
relaxation saves. Most save nothing, and proving "nothing" one re-solve at a time costs a
whole proof each. The screen proves them together (`models/value-and-alternatives.md` §1,
"Screening the largest relaxations"): one MILP holds the model of the instance with every
candidate relaxation applied, each relaxed row's bound put back to its base value unless a
selector u_g of its candidate g is 1, and sum_g u_g <= 1. Its optimum is the least optimum
over the candidates. Each solve either proves that no candidate left saves more than the
gap (its bound is within the gap of the base optimum) or names the best candidate with a
plan proven for it; that candidate is excluded (u_g = 0) and the next solve runs, floored by
this one's bound. k candidates that save cost k + 1 solves; the rest cost none of their own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import highspy
import numpy as np

from siteopt.data.instance import Instance
from siteopt.data.overrides import apply_overrides
from siteopt.decide.engine import column_names, plan_values, row_ids, start_vector
from siteopt.errors import InputError
from siteopt.model.build import create_model
from siteopt.model.compile import Matrices, TrivialInfeasibilityError, compile_model
from siteopt.model.data import ModelData, build_data
from siteopt.solver.highs import SolveOptions, relative_gap, solve_matrices, to_highs
from siteopt.solver.interrupt import Interrupted

#: Relative tolerance when matching a reconstructed base row bound with the base model's.
MATCH_TOL = 1e-9

#: The upper bound each relaxable row family takes from the data (`siteopt.model.limits`,
#: `siteopt.model.capacity`), by the row's index; a candidate's shift of a row is the
#: difference of this between its data and the base data.
ROW_BOUND: dict[str, Callable[[ModelData, object], float]] = {
    "grid_headroom": lambda d, key: d.derate[key[0]] * d.headroom[key],  # type: ignore[index]
    "budget": lambda d, key: d.budgets[key][2],  # type: ignore[index]
    "site_max_capacity": lambda d, key: d.max_it.get(key[0], math.inf),  # type: ignore[index]
}


@dataclass
class Finding:
    """What the screen established about one candidate relaxation.

    `saves`: False when proven to save at most the gap (its optimum is the base optimum);
    True with `objective` and `plan` when a solve chose it (`plan` is feasible for it and
    within the gap of `bound`); None when the screen stopped first (`bound`, if set, is still
    a lower bound on its optimum).
    """

    saves: bool | None
    bound: float | None = None
    objective: float | None = None
    plan: dict[str, float] = field(default_factory=dict, repr=False)


@dataclass
class Screen:
    """The outcome of `screen_relaxations`."""

    #: whether the screen model could be built (else `reason` says why, nothing is settled)
    applicable: bool
    reason: str = ""
    findings: dict[str, Finding] = field(default_factory=dict)
    solves: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, object]:
        """What `summary.json` says about the screen."""
        count = {s: sum(f.saves is s for f in self.findings.values())
                 for s in (True, False, None)}
        return {"applicable": self.applicable, "reason": self.reason,
                "candidates": len(self.findings), "solves": self.solves,
                "seconds": self.seconds, "save": count[True], "save_nothing": count[False],
                "open": count[None]}


def screen_relaxations(instance: Instance, candidates: Sequence[tuple[str, dict[str, object]]],
                       options: SolveOptions, start: dict[str, float], base_objective: float,
                       deadline: float | None = None) -> Screen:
    """Which candidate relaxations (key, overrides) save more than the gap; the rest proven not.

    Top-level so that it pickles for Dask. `start` is the base plan (a plan of the screen
    model with every selector at 0), `base_objective` its cost. `deadline` (seconds since
    the epoch) caps each solve; candidates not settled when it passes are returned open.
    Only overrides that raise upper bounds of `ROW_BOUND` rows can be screened; anything
    else makes the screen not applicable (the caller re-solves those points one by one).
    """
    t0 = time.perf_counter()
    keys = [k for k, _ov in candidates]
    built = _screen_model(instance, candidates, options)
    if isinstance(built, str):
        return Screen(applicable=False, reason=built, seconds=time.perf_counter() - t0)
    _model, mat, names, screen_highs = built  # the model stays alive: its columns are read
    n, G = len(names), len(keys)
    x0 = np.r_[start_vector(mat, names, start), np.zeros(G)]
    findings: dict[str, Finding] = {}
    open_keys = list(keys)
    floor: float | None = None
    gap = options.gap if options.gap is not None else 1e-4
    solves = 0
    while open_keys:
        opts = options
        if deadline is not None:
            left = deadline - time.time()
            if left < 1.0:
                break
            opts = replace(options, time_limit=min(options.time_limit or math.inf, left))
        # a new Highs object each time: one stopped at its floor stays cancelled
        h = screen_highs(opts)
        for k in keys:
            if k not in open_keys:
                h.changeColBounds(n + keys.index(k), 0.0, 0.0)
        out = solve_matrices(mat, opts, highs=h, start=x0, floor=floor)
        solves += 1
        if out.interrupted_by is not None:  # Ctrl-C / SIGTERM in this process: stop the run
            raise Interrupted(out.interrupted_by)
        if out.status != "optimal" or out.x is None:
            floor = max(floor or -math.inf, out.bound) if math.isfinite(out.bound) else floor
            break
        floor = out.bound
        if relative_gap(base_objective, out.bound) <= gap:  # no candidate left saves
            for k in open_keys:
                findings[k] = Finding(saves=False, bound=out.bound)
            open_keys = []
            break
        u = out.x[n:]
        g = int(np.argmax(u))
        if u[g] < 0.5:  # cheaper than the base optimum with every selector at 0: a bug
            return Screen(applicable=False, reason=f"the screen model without any relaxation "
                          f"costs {out.objective:.6f} < the base optimum {base_objective:.6f}",
                          solves=solves, seconds=time.perf_counter() - t0)
        findings[keys[g]] = Finding(saves=True, bound=out.bound, objective=out.objective,
                                    plan=plan_values(mat, names, out.x[:n]))
        open_keys.remove(keys[g])
    for k in open_keys:  # stopped: the last bound still bounds every candidate left
        findings[k] = Finding(saves=None, bound=floor)
    return Screen(applicable=True, findings={k: findings[k] for k in keys}, solves=solves,
                  seconds=time.perf_counter() - t0)


def _screen_model(instance: Instance, candidates: Sequence[tuple[str, dict[str, object]]],
                  options: SolveOptions
                  ) -> tuple[object, Matrices, list[str], Callable[[SolveOptions], highspy.Highs]
                             ] | str:
    """The Pyomo model, model part and column names of the screen MILP, and its maker.

    The maker returns a new Highs object holding the screen MILP. Or why it cannot be built.

    The model part is the compiled model of the instance with every candidate applied
    (its tightening is valid for each candidate alone, whose feasible set it contains).
    """
    try:
        every = apply_overrides(instance, {k: v for _key, ov in candidates
                                           for k, v in ov.items()})
        each = [build_data(apply_overrides(instance, ov)) for _key, ov in candidates]
    except InputError as exc:
        return f"the relaxations are not all valid together: {exc}"
    d0 = build_data(instance)
    # the models stay referenced while their rows are read (rows know their model weakly)
    model = create_model(build_data(every), tighten=options.tighten)
    base_model = create_model(d0, tighten=options.tighten)
    try:
        mat = compile_model(model)
        base = compile_model(base_model)
    except TrivialInfeasibilityError as exc:
        return str(exc)
    ids = row_ids(mat)
    upper = mat.row_upper.copy()
    rows, cols, shifts = [], [], []
    for i, (family, key) in enumerate(ids):
        bound = ROW_BOUND.get(family)
        if bound is None:
            continue
        total = 0.0
        for g, d in enumerate(each):
            delta = bound(d, key) - bound(d0, key)
            if delta < 0 or (delta > 0 and not math.isfinite(delta)):
                return f"{candidates[g][0]} does not relax {family}{key} by a finite amount"
            if delta > 0:
                rows.append(i)
                cols.append(g)
                shifts.append(delta)
                total += delta
        if total and not math.isfinite(upper[i]):
            return f"{family}{key} has no upper bound to relax"
        upper[i] -= total
    problem = _mismatch(ids, upper, mat, base)
    if problem:
        return problem
    names = column_names(mat)
    model_part = replace(mat, row_upper=upper)
    G, n = len(candidates), len(names)
    order = np.lexsort((np.asarray(rows), np.asarray(cols)))
    col_of = np.asarray(cols, dtype=np.int64)[order]
    starts = np.searchsorted(col_of, np.arange(G)).astype(np.int32)
    u_rows = np.asarray(rows, dtype=np.int32)[order]
    u_coef = -np.asarray(shifts, dtype=float)[order]
    u_cols = np.arange(n, n + G, dtype=np.int32)

    def make(opts: SolveOptions) -> highspy.Highs:
        h = to_highs(model_part, opts)
        h.addCols(G, np.zeros(G), np.zeros(G), np.ones(G), len(order), starts, u_rows, u_coef)
        h.changeColsIntegrality(G, u_cols, np.ones(G, dtype=np.uint8))
        h.addRow(-highspy.kHighsInf, 1.0, G, u_cols, np.ones(G))
        return h

    return model, mat, names, make


def _mismatch(ids: list[tuple[str, object]], upper: np.ndarray, mat: Matrices,
              base: Matrices) -> str:
    """Why the reconstructed base bounds disagree with the base model's rows, or "".

    Every relaxable row of the base model must be in the screen model with the same bounds
    once the shifts are taken off (a row of the screen model may be missing from the base
    model: e.g. its phases are fixed offline there, and the row is then constant).
    """
    where = {rid: j for j, rid in enumerate(row_ids(base)) if rid[0] in ROW_BOUND}
    seen = set()
    for i, rid in enumerate(ids):
        j = where.get(rid)
        if j is None:
            continue
        seen.add(rid)
        for ours, theirs in ((upper[i], base.row_upper[j]),
                             (mat.row_lower[i], base.row_lower[j])):
            if ours != theirs and not (abs(ours - theirs)
                                       <= MATCH_TOL * max(1.0, abs(theirs))):
                return f"{rid[0]}{rid[1]}: bound {ours} in the screen model, {theirs} in the base"
    missing = sorted(set(where) - seen, key=str)
    if missing:
        return f"{missing[0][0]}{missing[0][1]} of the base model is gone with the relaxations"
    return ""


__all__ = ["ROW_BOUND", "Finding", "Screen", "screen_relaxations"]
