"""Near-optimal alternatives: plans within (1 + slack) x the optimum, as different as possible.

The scheme (`models/value-and-alternatives.md` §2) is modelling-to-generate-alternatives
(MGA, as PyPSA's `mga.py` and GenX) with the SPORES idea of scoring against every plan found
so far (Calliope), extended to binaries by Hamming distance:

* `cost_cap`: total_cost(x) <= z* + slack·|z*|, z* the verified optimum;
* the distance of x from an earlier plan x̂ over the planner's binaries B (`open` and
  `online`, cumulative, so one phase a year later is 1 per cooling and year, a site never
  opened is its open years): d(x, x̂) = Σ_{j∈B, x̂_j=1} (1 - x_j) + Σ_{j∈B, x̂_j=0} x_j,
  linear in x;
* `min_distance`: d(x, x̂_k) >= D for every plan k found so far (the optimum included);
* objective: maximise Σ_k Σ_{j∈B} w_j·(1 - 2 x̂_kj)·x_j (the weighted distance to all of
  them, i.e. SPORES's penalty on what earlier plans used), with random weights
  w_j ~ U(0.5, 1.5) drawn from (seed, alternative number) — MGA's random directions.

Alternatives are searched with different weights, `batch` searches in flight at a time on
Dask: search i starts when search i - batch has been judged and knows every plan accepted up
to then; plans are judged in search order and accepted if they keep the minimum distance to
every plan accepted before them. So no search waits for a slower one, and the batch size,
not the number of workers, fixes the result: a seed gives the same plans in this process
and on any cluster (as long as no solve is stopped by its time limit). Every plan is
extracted and verified by the independent checker through the ordinary pipeline
(`siteopt.solver.pipeline.solve` with a runner that adds the rows). The optimum and the
searches keep the model's tightening: its rows hold for every integer plan, so no plan within
the cap is cut off, and the columns it fixes are 0 in every plan, so no distance changes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import highspy
import numpy as np
import pandas as pd

from siteopt.data.instance import Instance
from siteopt.decide.engine import BasePlan, Pool, Task, column_names, solve_base
from siteopt.errors import InputError, Problem
from siteopt.io.write import RESULT_FOLDER, atomic_dir, base_plan_words, write_result
from siteopt.model.compile import Matrices
from siteopt.solver.highs import SolveOptions, SolverOutcome, solve_matrices, to_highs
from siteopt.solver.interrupt import Interrupted
from siteopt.solver.pipeline import Result, solve

#: Variables whose Hamming distance separates plans (what a planner sees).
DISTANCE_FAMILIES = ("open[", "online[")


@dataclass
class Plan:
    """An accepted plan: the optimum or an alternative."""

    id: str
    result: Result
    ones: frozenset[str]  # names of the distance binaries at 1
    search_status: str = "optimal"
    seconds: float = 0.0


@dataclass
class AlternativesReport:
    """The optimum and its near-optimal alternatives."""

    plans: list[Plan]
    optimum: float
    slack: float
    min_distance: int
    seed: int
    seconds: float
    stopped: str = ""
    optimum_gap: float | None = None
    #: the status of the base solve: "optimal", or e.g. "time_limit" for a base solved
    #: under a time limit, whose `optimum` is then the best plan found (not proven)
    optimum_status: str = "optimal"
    rejected: list[str] = field(default_factory=list)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    distances: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> dict[str, object]:
        """What `summary.json` holds."""
        return {"kind": "alternatives", "optimum": self.optimum,
                "optimum_gap": self.optimum_gap, "optimum_status": self.optimum_status,
                "slack": self.slack,
                "cost_cap": _cap(self.optimum, self.slack),
                "min_distance": self.min_distance, "seed": self.seed,
                "plans": len(self.plans), "alternatives": len(self.plans) - 1,
                "all_verified": all(p.result.verified for p in self.plans),
                "seconds": self.seconds, "stopped": self.stopped, "rejected": self.rejected,
                "ids": [p.id for p in self.plans]}

    def write(self, out: str | Path) -> Path:
        """alternatives.csv, distances.csv, summary.json and one result folder per plan.

        The folder is replaced as a whole (`atomic_dir`): complete, or the previous one
        untouched; no plan folder of an earlier run (e.g. with more alternatives) stays. Only
        a result folder (it holds summary.json) or an empty one is replaced, never other files.
        """
        out = Path(out)
        with atomic_dir(out, RESULT_FOLDER) as tmp:
            for p in self.plans:
                write_result(p.result, tmp / p.id)
            self.table.to_csv(tmp / "alternatives.csv", index=False, float_format="%.9g")
            self.distances.to_csv(tmp / "distances.csv", index=False)
            (tmp / "summary.json").write_text(json.dumps(self.summary(), indent=2, default=str)
                                              + "\n", encoding="utf-8")
        return out


def _cap(optimum: float, slack: float) -> float:
    return optimum + slack * abs(optimum)


def _distance_columns(names: list[str], mat: Matrices) -> np.ndarray:
    free = mat.col_lower < mat.col_upper
    return np.array([j for j, n in enumerate(names)
                     if mat.integrality[j] == 1 and free[j] and n.startswith(DISTANCE_FAMILIES)],
                    dtype=np.int64)


def ones_of(names: list[str], x: np.ndarray) -> frozenset[str]:
    """Names of the distance binaries at 1 in `x`."""
    return frozenset(n for n, v in zip(names, x, strict=True)
                     if n.startswith(DISTANCE_FAMILIES) and v > 0.5)


def hamming(a: frozenset[str], b: frozenset[str]) -> int:
    """Hamming distance of two plans over the distance binaries."""
    return len(a ^ b)


def diverse_solve(instance: Instance, options: SolveOptions, cap: float,
                  previous: list[frozenset[str]], min_distance: int, weight_seed: list[int]
                  ) -> tuple[Result, frozenset[str], str, float]:
    """One alternative: far from `previous`, total_cost <= cap (top-level: pickles for Dask).

    Returns the verified result, its distance binaries at 1, the status of the search
    (optimal: the weighted distance is maximal within the gap) and its seconds.
    """
    t = time.perf_counter()
    found: dict[str, object] = {}

    def runner(mat: Matrices, opts: SolveOptions) -> SolverOutcome:
        names = column_names(mat)
        n = len(names)
        J = _distance_columns(names, mat)
        h = to_highs(mat, opts)
        # cost_cap: c x + offset <= cap
        nz = np.flatnonzero(mat.cost)
        h.addRow(-highspy.kHighsInf, cap - mat.offset, len(nz), nz.astype(np.int32),
                 mat.cost[nz].astype(float))
        index = {names[j]: j for j in J}
        weights = np.random.default_rng(weight_seed).uniform(0.5, 1.5, len(J))
        score = np.zeros(n)
        for ones in previous:
            hat = np.zeros(n)
            hat[[index[o] for o in ones if o in index]] = 1.0
            coef = 1.0 - 2.0 * hat[J]
            const = float(hat[J].sum())
            # min_distance: sum_j coef_j x_j >= D - const
            h.addRow(float(min_distance) - const, highspy.kHighsInf, len(J),
                     J.astype(np.int32), coef)
            score[J] += weights * coef
        # maximise the weighted distance = minimise its negative
        h.changeColsCost(n, np.arange(n, dtype=np.int32), -score)
        h.changeObjectiveOffset(0.0)
        out = solve_matrices(mat, opts, highs=h)
        found["search_status"] = out.status
        if out.x is None:
            return out
        x = out.x[:n]
        found["ones"] = ones_of(names, np.where(mat.integrality == 1, np.round(x), x))
        cost = float(mat.cost @ x + mat.offset)
        return SolverOutcome(status="optimal" if out.status == "optimal" else out.status,
                             model_status=out.model_status, x=x, objective=cost,
                             bound=math.nan, gap=math.nan, solve_seconds=out.solve_seconds,
                             nodes=out.nodes, interrupted_by=out.interrupted_by,
                             pass_seconds=out.pass_seconds)

    result = solve(instance, options, runner=runner)
    ones = found.get("ones", frozenset()) if result.has_plan else frozenset()
    assert isinstance(ones, frozenset)
    return result, ones, str(found.get("search_status", result.status)), time.perf_counter() - t


def near_optimal_plans(instance: Instance, *, slack: float = 0.03, count: int = 10,
                       seed: int = 0, min_distance: int = 1, batch: int = 2,
                       options: SolveOptions | None = None, workers: int | None = 0,
                       scheduler: str | None = None,
                       listener: Callable[[str, int, int], None] | None = None,
                       base_options: SolveOptions | None = None) -> AlternativesReport:
    """The optimum and up to `count` near-optimal alternatives (the optimum not counted).

    Each alternative costs at most (1 + slack) x the optimum, is verified, and differs from
    every other plan by at least `min_distance` in Hamming distance over the `open` and
    `online` binaries. Fewer are returned if no further plan exists (`stopped` says why).
    `options` apply to each alternative's search (its gap is on the weighted distance);
    `base_options` to the optimum (default: solved to the instance's gap, no time limit; a
    time-limited base gives a cap relative to the best plan found, not the optimum).
    """
    if not (math.isfinite(slack) and slack >= 0):
        raise InputError(Problem("--slack", "a cost slack >= 0 (a share of the optimum, "
                                 "e.g. 0.03)", found=str(slack)))
    if count < 1:
        raise InputError(Problem("--count", "at least 1 alternative", found=str(count)))
    if min_distance < 1:
        raise InputError(Problem("--min-distance", "a Hamming distance >= 1",
                                 found=str(min_distance)))
    if batch < 1:
        raise InputError(Problem("--batch", "at least 1 search in flight", found=str(batch)))
    start = time.perf_counter()
    options = options or SolveOptions()
    base_options = replace(base_options or SolveOptions(threads=options.threads,
                                                        seed=options.seed), progress=False)
    search = replace(options, progress=False,
                     gap=0.05 if options.gap is None else options.gap)
    if listener:
        listener("solving the optimum", 0, count)
    base: BasePlan = solve_base(instance, base_options)
    z = base.objective
    cap = _cap(z, slack)
    plans = [Plan("optimum", base.result, ones_of(base.names, np.round(base.x)),
                  seconds=base.result.timings.get("total", 0.0))]
    report = AlternativesReport(plans=plans, optimum=z, slack=slack, min_distance=min_distance,
                                seed=seed, seconds=0.0, optimum_gap=base.result.gap,
                                optimum_status=base.result.status)
    with Pool(base.instance, workers, scheduler) as pool:
        _search(pool, report, search, cap, count, batch, listener)
    report.seconds = time.perf_counter() - start
    report.table, report.distances = comparison(plans, z, base.instance.years[-1])
    return report


def _search(pool: Pool, report: AlternativesReport, search: SolveOptions, cap: float,
            count: int, batch: int, listener: Callable[[str, int, int], None] | None) -> None:
    """Run searches until `count` alternatives are accepted or no further one is found.

    Search i starts as soon as search i - batch has been judged, and knows every plan
    accepted up to it; results are judged in search order. So `batch` searches are always
    in flight (no round waits for its slowest search), and what each search knows, hence
    the result, depends on `batch` and the seed, not on the workers or timing.
    """
    plans = report.plans
    z = report.optimum
    running: dict[int, Task] = {}
    launched = 0
    rejected_in_a_row = 0

    def accepted() -> int:
        return len(plans) - 1

    def launch() -> None:
        nonlocal launched
        while len(running) < batch and accepted() + len(running) < count:
            previous = [p.ones for p in plans]
            running[launched] = pool.submit(
                diverse_solve, f"{launched}",
                (search, cap, previous, report.min_distance, [report.seed, launched]))
            launched += 1

    launch()
    number = 0
    try:
        while running:
            value = pool.result(running.pop(number))
            key = f"{number}"
            number += 1
            if not isinstance(value, tuple):
                report.rejected.append(f"search {key}: {getattr(value, 'error', value)}")
                rejected_in_a_row += 1
            else:
                result, ones, status, seconds = value
                if result.interrupted_by is not None:
                    # Ctrl-C / SIGTERM stopped a search in this process: stop the run, as
                    # the same signal does while waiting for a search on Dask
                    raise Interrupted(result.interrupted_by)
                if not result.has_plan:
                    # later searches only add rows: none of them can find a plan either
                    best = base_plan_words(report.optimum_status, report.optimum_gap)
                    report.stopped = (f"no further plan within {100 * report.slack:g}% of the "
                                      f"{best} differs from all {len(plans)} by at least "
                                      f"{report.min_distance} (search {key}: {result.status})")
                    return
                problems = []
                if not result.verified:
                    problems.append("failed verification: " + "; ".join(result.violations[:3]))
                if (result.total_cost or math.inf) > cap + 1e-6 * max(1.0, abs(cap)):
                    problems.append(f"cost {result.total_cost} over the cap {cap}")
                near = [p.id for p in plans if hamming(p.ones, ones) < report.min_distance]
                if near:
                    problems.append(f"within distance {report.min_distance} of "
                                    f"{', '.join(near)}")
                if problems:
                    report.rejected.append(f"search {key}: " + "; ".join(problems))
                    rejected_in_a_row += 1
                else:
                    plans.append(Plan(f"alt{len(plans):02d}", result, ones, status, seconds))
                    rejected_in_a_row = 0
                    if listener:
                        listener(f"alt{accepted():02d}: USD {result.total_cost:,.2f} M "
                                 f"(+{100 * (result.total_cost - z) / abs(z):.2f}%), {status}",
                                 accepted(), count)
            if rejected_in_a_row >= batch:
                report.stopped = (f"{batch} searches in a row found only plans too close to "
                                  "earlier ones")
                return
            launch()
    finally:
        for task in running.values():
            pool.cancel(task)


def comparison(plans: list[Plan], optimum: float, last_year: int
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per plan (what a planner sees) and the pairwise distances."""
    rows = []
    pair_rows = []
    for a in plans:
        for b in plans:
            if a.id < b.id:
                sa, sb = _opened(a.result), _opened(b.result)
                ya, yb = _phase_years(a.result, last_year), _phase_years(b.result, last_year)
                pair_rows.append({"a": a.id, "b": b.id, "hamming": hamming(a.ones, b.ones),
                                  "sites_differ": len(sa ^ sb),
                                  "phase_years_differ": sum(abs(ya.get(k, last_year + 1)
                                                                - yb.get(k, last_year + 1))
                                                            for k in set(ya) | set(yb))})
    pairs = pd.DataFrame(pair_rows, columns=["a", "b", "hamming", "sites_differ",
                                             "phase_years_differ"])
    for p in plans:
        t = p.result.tables
        cost = float(p.result.total_cost or math.nan)
        mine = pairs[(pairs["a"] == p.id) | (pairs["b"] == p.id)]
        row: dict[str, object] = {
            "id": p.id, "objective": cost,
            "pct_over_optimum": 100 * (cost - optimum) / abs(optimum) if optimum else 0.0,
            "verified": p.result.verified, "search_status": p.search_status,
            "sites": "|".join(sorted(_opened(p.result))),
            "min_distance": int(mine["hamming"].min()) if len(mine) else None,
            "min_sites_differ": int(mine["sites_differ"].min()) if len(mine) else None,
            "min_phase_years_differ": (int(mine["phase_years_differ"].min()) if len(mine)
                                       else None),
            "seconds": p.seconds,
        }
        sched = t["schedule"]
        for s, y in sched.groupby("site")["online_year"].min().items():
            row[f"first_online.{s}"] = int(y)
        cap = t["capacity"]
        last = cap[cap["year"] == cap["year"].max()]
        zones = p.result.tables["power"][["zone"]].drop_duplicates()
        site_zone = _site_zones(p.result)
        mw = last.assign(zone=last["site"].map(site_zone)).groupby("zone")["capacity_mw"].sum()
        for z in zones["zone"]:
            row[f"mw.{z}"] = float(mw.get(z, 0.0))
        for k, v in last.groupby("cooling")["capacity_mw"].sum().items():
            row[f"cooling_mw.{k}"] = float(v)
        rows.append(row)
    table = pd.DataFrame(rows)
    fixed = [c for c in table.columns if "." not in c]
    wide = sorted(c for c in table.columns if "." in c)
    table = table[fixed + wide]
    for c in wide:
        if c.startswith("first_online."):
            table[c] = table[c].astype("Int64")
        else:
            table[c] = table[c].fillna(0.0)
    return table, pairs


def _opened(result: Result) -> set[str]:
    sites = result.tables["sites"]
    return set(sites.loc[sites["open_year"].notna(), "site"].astype(str))


def _phase_years(result: Result, last_year: int) -> dict[tuple[str, str], int]:
    sched = result.tables["schedule"]
    return {(str(s), str(p)): int(y) for s, p, y in
            sched[["site", "phase", "online_year"]].itertuples(index=False)}


def _site_zones(result: Result) -> dict[str, str]:
    sites = result.tables["sites"]
    if "zone" in sites.columns:
        return dict(zip(sites["site"].astype(str), sites["zone"].astype(str), strict=True))
    return {}


__all__ = ["AlternativesReport", "Plan", "comparison", "diverse_solve", "hamming",
           "near_optimal_plans"]
