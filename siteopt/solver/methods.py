"""Solve methods: how the compiled model is handed to HiGHS, chosen by `--method`.

Every method returns a `SolverOutcome` whose bound is a valid bound of the model and whose
plan (if any) the pipeline polishes and checks like any other. `auto` picks a method by the
model's size and structure; the choice and each phase's time are recorded in summary.json.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait

import numpy as np

from siteopt.model.compile import Matrices
from siteopt.model.data import ModelData
from siteopt.solver.benders import solve_benders
from siteopt.solver.capacitated import CapacitatedPlan, capacitated_plan
from siteopt.solver.facility import FacilityLayer, detect, outcome_of, to_columns
from siteopt.solver.highs import SolveOptions, SolverOutcome, solve_matrices
from siteopt.solver.interrupt import as_helper_process, cancel_on_signals
from siteopt.solver.polish import relative_gap
from siteopt.solver.rens import Helper, RensRecord, rens_here, with_helper


@dataclass
class MethodReport:
    """Which method ran (and which was asked for) and what each of its phases took."""

    requested: str
    name: str = ""
    reason: str = ""
    phases: list[dict[str, object]] = field(default_factory=list)

    def phase(self, name: str, seconds: float, outcome: SolverOutcome | None = None,
              **extra: object) -> None:
        """Record one phase (e.g. a heuristic, a HiGHS run, a decomposition round)."""
        row: dict[str, object] = {"phase": name, "seconds": round(seconds, 3)}
        if outcome is not None:
            row.update(status=outcome.status, objective=_finite(outcome.objective),
                       bound=_finite(outcome.bound), nodes=outcome.nodes)
        row.update(extra)
        self.phases.append(row)

    def as_json(self) -> dict[str, object]:
        """The `method` entry of summary.json."""
        return {"requested": self.requested, "name": self.name, "reason": self.reason,
                "phases": self.phases}


Method = Callable[[Matrices, ModelData, SolveOptions, MethodReport], SolverOutcome]


def run_highs(mat: Matrices, data: ModelData, options: SolveOptions,
              report: MethodReport) -> SolverOutcome:
    """One HiGHS branch-and-cut run on the whole model."""
    start = time.perf_counter()
    outcome = solve_matrices(mat, options)
    report.phase("highs", time.perf_counter() - start, outcome)
    return outcome


def _level_columns(mat: Matrices) -> dict[int, int]:
    """Column of each `rtt_level[l]` variable of a p-center model, by level l."""
    return {int(v.index()): j for j, v in enumerate(mat.columns)
            if v.parent_component().local_name == "rtt_level"}


def run_radius_search(mat: Matrices, data: ModelData, options: SolveOptions,
                      report: MethodReport) -> SolverOutcome:
    """p-center (`max_rtt`) by bisection over the distinct round trips `rtt_levels`.

    "Some plan serves every pair within rtt_levels[k]" is monotone in k, so the optimum is
    the least k for which the whole model, with every pair beyond rtt_levels[k] forbidden
    (`rtt_level[l] = 0` for l > k), is feasible. Each probe is a feasibility MILP (zero
    objective: HiGHS stops at its first plan), much easier than the ladder's optimisation.
    The search keeps a valid bound throughout: rtt_levels[lo + 1] after proving level lo
    infeasible; a probe that runs out of time ends the search with that bound and the best
    plan found, and the pipeline's second stage then finds the cheapest plan at the optimum.
    """
    levels = data.rtt_levels
    if data.objective != "max_rtt" or len(levels) < 2:
        why = (f"objective {data.objective}" if data.objective != "max_rtt"
               else f"{len(levels)} round-trip level")
        _explain(report, f"not a p-center to bisect ({why}): one HiGHS run")
        return run_highs(mat, data, options, report)
    cols = _level_columns(mat)
    zero = np.zeros_like(mat.cost)
    deadline = None if options.time_limit is None else time.perf_counter() + options.time_limit
    n = len(levels)
    lo, hi = -1, n  # level lo proven infeasible (-1: none); level hi has a plan (n: none yet)
    best: np.ndarray | None = None
    stopped, interrupted_by, nodes, pass_seconds, spent = False, None, 0, 0.0, 0.0
    while hi - lo > 1:
        k = (lo + hi) // 2
        remaining = None if deadline is None else deadline - time.perf_counter()
        if remaining is not None and remaining <= 0:
            stopped = True
            break
        upper = mat.col_upper.copy()
        upper[[j for lv, j in cols.items() if lv > k]] = 0.0
        probe = replace(mat, cost=zero, offset=0.0, col_upper=upper)
        start = time.perf_counter()
        out = solve_matrices(probe, replace(options, time_limit=remaining, gap=0.0,
                                            progress=False))
        spent += out.solve_seconds
        nodes += out.nodes
        pass_seconds += out.pass_seconds
        report.phase(f"radius <= {levels[k]:g}", time.perf_counter() - start,
                     note="feasible" if out.x is not None else out.status)
        if out.x is not None:
            best, hi = out.x, k
        elif out.status == "infeasible":
            lo = k
        if out.interrupted_by is not None or (out.x is None and out.status != "infeasible"):
            interrupted_by, stopped = out.interrupted_by, True  # no verdict: stop searching
            break
    bound = levels[lo + 1] if lo + 1 < n else math.inf
    status = ("interrupted" if interrupted_by is not None else "time_limit") if stopped \
        else "optimal"
    if best is None:
        status = "infeasible" if not stopped else status
        return SolverOutcome(status=status, model_status=f"radius search: {status}", x=None,
                             objective=math.inf, bound=bound, gap=math.inf, solve_seconds=spent,
                             nodes=nodes, interrupted_by=interrupted_by,
                             pass_seconds=pass_seconds)
    x = best.copy()
    for lv, j in cols.items():  # the ladder's values of a plan within levels[hi]
        x[j] = 1.0 if lv <= hi else 0.0
    objective = levels[hi]
    return SolverOutcome(status=status, model_status=f"radius search: {status}", x=x,
                         objective=objective, bound=bound,
                         gap=relative_gap(objective, bound), solve_seconds=spent, nodes=nodes,
                         interrupted_by=interrupted_by, pass_seconds=pass_seconds)


#: Seconds past `--time-limit` that `highs-search` and `highs-rens` wait for their helper
#: process's last plan once HiGHS stops at the limit; then the helper is stopped and what
#: has arrived is used. `benders`, stopped by the limit (or by Ctrl-C / SIGTERM, counted
#: from the stop) during its LP cut rounds, gives the local search from the rounded LP point
#: as long (a pass begun before then finishes). The
#: limit is counted from the method's start, as HiGHS's own is; HiGHS's own overrun (a step
#: that checks no clock, e.g. a large root LP) is not covered.
HELPER_GRACE = 0.5

#: The clock of the time-limit arithmetic of the methods with a helper process (a test
#: replaces it to check the waits without waiting).
clock: Callable[[], float] = time.perf_counter


def grace_left(deadline: float, most: float) -> float:
    """Seconds to wait for a helper's last plan: up to `most`, ending `HELPER_GRACE` late.

    `deadline` is when the time limit ends; 0 once `HELPER_GRACE` past it (what the helper
    already sent is still read). Waiting the full `most` after a HiGHS run that used its
    whole limit overran `--time-limit` by up to `SEARCH_WAIT` (5 s) or `RENS_WAIT` (1 s).
    """
    return max(0.0, min(most, deadline + HELPER_GRACE - clock()))


def _ready(conn: Connection, seconds: float) -> bool:
    """Whether `conn` has a message (or its end) within `seconds` (`Connection.poll`)."""
    return conn.poll(seconds)


def _race_worker(mat: Matrices, options: SolveOptions, conn: Connection) -> None:
    """One racer (a forked process): solve, send the outcome back, exit."""
    outcome = solve_matrices(mat, options)
    conn.send(outcome)
    conn.close()


#: Seconds a stopped racer gets to send its answer before it is killed.
RACER_GRACE = 30.0


def _drain(proc: mp.process.BaseProcess, conn: Connection) -> None:
    """Wait for a racer to end, reading (and dropping) what it still sends.

    A racer stopped after the race was won still sends its outcome; one larger than the
    pipe's buffer blocks in `send` until it is read, so joining without reading would wait
    forever.
    """
    deadline = time.perf_counter() + RACER_GRACE
    while proc.is_alive() and time.perf_counter() < deadline:
        try:
            if conn.poll(0.1):
                conn.recv()
        except (EOFError, OSError):
            break
    if proc.is_alive():
        proc.kill()
    proc.join()
    conn.close()


def run_race(mat: Matrices, data: ModelData, options: SolveOptions,
             report: MethodReport) -> SolverOutcome:
    """Two HiGHS runs with different random seeds on two cores; the first proof wins.

    HiGHS's search varies by 1.5-1.7x in nodes between seeds on the same model, so the
    faster of two differently seeded runs proves sooner. Each run's bound is valid, so
    where neither proves optimality the larger bound and the better plan are reported.
    Forked processes share the compiled matrices without copying. Which of two equally good
    plans is reported can depend on which run finishes first: for reproducible plans use
    `highs`. Inside a daemon process (a Dask worker) it runs `highs` instead.
    """
    if mp.current_process().daemon:
        report.reason = "inside a daemon process racing cannot fork, so one HiGHS run"
        return run_highs(mat, data, options, report)
    ctx = mp.get_context("fork")
    seeds = [options.seed, options.seed + 1]
    racers = []
    start = time.perf_counter()
    for seed in seeds:
        ours, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_race_worker,
                           args=(mat, replace(options, seed=seed, progress=False), theirs),
                           daemon=True)
        proc.start()
        theirs.close()
        racers.append((seed, proc, ours))

    def stop_all() -> None:  # a signal: each racer stops HiGHS and sends its best plan
        for _seed, proc, _conn in racers:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)

    results: dict[int, SolverOutcome] = {}
    pending = {conn: seed for seed, _proc, conn in racers}
    with cancel_on_signals(stop_all) as received:
        while pending:
            for conn in wait(list(pending)):
                seed = pending.pop(conn)
                try:
                    results[seed] = conn.recv()
                except EOFError:  # the racer died without an answer
                    continue
                report.phase(f"racer seed {seed}", time.perf_counter() - start,
                             results[seed])
                if results[seed].status == "optimal":
                    pending.clear()
                    break
    for _seed, proc, _conn in racers:
        if proc.is_alive():
            proc.terminate()  # a racer still searching stops HiGHS and sends its plan
    for _seed, proc, conn in racers:
        _drain(proc, conn)
    if not results:
        raise RuntimeError("every racer died without an answer")
    finished = sorted(results.values(), key=lambda o: (o.status != "optimal", o.objective))
    best = finished[0]
    bound = max(o.bound for o in results.values())
    gap = best.gap if best.status == "optimal" else relative_gap(best.objective, bound)
    return replace(best, bound=min(bound, best.objective) if best.x is not None else bound,
                   gap=gap, solve_seconds=time.perf_counter() - start,
                   nodes=sum(o.nodes for o in results.values()),
                   interrupted_by=received[0] if received else best.interrupted_by)


#: The last model `facility_layer` read (auto's choice and the method share one reading).
_LAST_LAYER: list[tuple[Matrices, FacilityLayer | str]] = []


def facility_layer(mat: Matrices, data: ModelData) -> FacilityLayer | str:
    """`facility.detect` of this model, read once (auto and `benders` share it)."""
    if _LAST_LAYER and _LAST_LAYER[0][0] is mat:
        return _LAST_LAYER[0][1]
    layer = detect(mat, data)
    _LAST_LAYER[:] = [(mat, layer)]
    return layer


def run_benders(mat: Matrices, data: ModelData, options: SolveOptions,
                report: MethodReport) -> SolverOutcome:
    """Uncapacitated facility location (p-median, UFL) by Benders cuts on a small master.

    On any other model, or if the master's plan does not map back to a plan of the model
    at the cost the master computed, one HiGHS run on the whole model instead (the reason
    is recorded in the report). A time limit that strikes during the LP cut rounds returns
    the LP point rounded and improved by local search for at most `HELPER_GRACE` past the
    limit, with the LP bound; Ctrl-C or SIGTERM there returns it likewise, `interrupted`.
    """
    layer = facility_layer(mat, data)
    if isinstance(layer, str) or not layer.uncapacitated:
        why = layer if isinstance(layer, str) else "a site can be filled (capacitated)"
        _explain(report, f"not for Benders: {why}")
        return run_highs(mat, data, options, report)
    run, outcome = solve_benders(mat, layer, options, grace=HELPER_GRACE)
    report.phase("benders: LP cut rounds", run.lp_seconds, rounds=run.lp_rounds,
                 heuristic=_finite(run.heuristic), closed_by_reduced_cost=run.fixed_closed)
    report.phase("benders: master MILP rounds", run.seconds - run.lp_seconds,
                 rounds=run.milp_rounds, cuts=run.cuts, nodes=run.nodes,
                 objective=_finite(run.upper), bound=_finite(run.lower), status=run.status)
    if isinstance(outcome, str):
        if run.interrupted_by is not None:  # the user asked to stop: no second solve
            return SolverOutcome(status="interrupted", model_status=f"benders: {outcome}",
                                 x=None, objective=math.inf, bound=run.lower, gap=math.inf,
                                 solve_seconds=run.seconds, nodes=run.nodes,
                                 interrupted_by=run.interrupted_by)
        return _instead(mat, data, options, report, outcome, run.seconds)
    return outcome


def run_highs_search(mat: Matrices, data: ModelData, options: SolveOptions,
                     report: MethodReport) -> SolverOutcome:
    """Capacitated facility location under a time limit: HiGHS, and a local search beside it.

    HiGHS runs the whole limit; on the second core, from half of it on (`SEARCH_DELAY`),
    add/drop/swap moves priced exactly by the transport LP (`solver.capacitated`) search
    from the LP relaxation's sites. If HiGHS proves its plan the search is dropped;
    otherwise the cheaper plan is reported with HiGHS's bound. In a daemon process (a Dask
    worker), which cannot fork, HiGHS gets `1 - SEARCH_SHARE` of the limit and the search,
    from the cheaper of HiGHS's plan and the LP's sites, the rest. Without a time limit, or
    on any other model, one HiGHS run. The search's plan is awaited at most `HELPER_GRACE`
    past the limit (`grace_left`).
    """
    layer = facility_layer(mat, data)
    why = _no_search(layer, options)
    if why or isinstance(layer, str):
        _explain(report, f"no search: {why}")
        return run_highs(mat, data, options, report)
    limit = float(options.time_limit)  # type: ignore[arg-type]
    if mp.current_process().daemon:
        return _highs_then_search(mat, data, options, report, layer, limit)
    deadline = clock() + limit
    ctx = mp.get_context("fork")
    ours, theirs = ctx.Pipe(duplex=False)
    searcher = ctx.Process(target=_search_worker, args=(layer, limit, theirs), daemon=True)
    searcher.start()
    theirs.close()
    plan: CapacitatedPlan | None = None
    try:
        first = run_highs(mat, data, options, report)
        unproven = first.status == "time_limit" and first.interrupted_by is None
        if unproven and _ready(ours, grace_left(deadline, SEARCH_WAIT)):
            try:
                plan = ours.recv()
            except EOFError:  # the search died without an answer
                plan = None
    finally:
        if searcher.is_alive():
            searcher.terminate()
        searcher.join()
        ours.close()
    if not unproven:
        return first
    report.phase("search beside HiGHS: add/drop/swap over the transport LP",
                 first.solve_seconds, objective=None if plan is None else plan.cost,
                 lp_solves=None if plan is None else plan.lp_solves)
    return _cheaper(mat, layer, first, plan, first.solve_seconds, report)


def run_highs_rens(mat: Matrices, data: ModelData, options: SolveOptions,
                   report: MethodReport) -> SolverOutcome:
    """HiGHS, with RENS on the second core handing it plans (`siteopt.solver.rens`).

    HiGHS runs as in `highs`; beside it a forked process solves the LP relaxation and the
    RENS sub-MIP around it, and each plan it finds is offered to HiGHS through its
    user-solution callback (HiGHS checks it and searches on from it). The reported bound is
    the larger of HiGHS's and the LP optimum, the plan the cheaper of the two runs'. In a
    daemon process (a Dask worker), which cannot fork: RENS first for `RENS_SHARE` of the
    time limit, then HiGHS offered its plan (without a limit, one HiGHS run). RENS's last
    plan is awaited at most `HELPER_GRACE` past the limit (`grace_left`).
    """
    if mp.current_process().daemon:
        return _rens_then_highs(mat, data, options, report)
    deadline = None if options.time_limit is None else clock() + options.time_limit
    helper = Helper(mat, options)
    wait = 0.0  # for a last plan, where HiGHS ran out of time
    try:
        start = time.perf_counter()
        first = solve_matrices(mat, options, offer=helper.offer)
        report.phase("highs", time.perf_counter() - start, first)
        if (first.status == "time_limit" and first.interrupted_by is None
                and deadline is not None):
            wait = grace_left(deadline, RENS_WAIT)
    finally:
        helper.finish(wait)
    _report_rens(report, "rens beside HiGHS: LP relaxation, then the MILP over its "
                 "fractional binaries", first.solve_seconds, helper)
    return with_helper(first, helper, mat)


def _rens_then_highs(mat: Matrices, data: ModelData, options: SolveOptions,
                     report: MethodReport) -> SolverOutcome:
    """`highs-rens` on one core: RENS first, then HiGHS offered RENS's plan."""
    if options.time_limit is None:
        _explain(report, "one core (no fork in a daemon process) and no time limit: one "
                 "HiGHS run")
        return run_highs(mat, data, options, report)
    _explain(report, "one core (no fork in a daemon process): RENS first, then HiGHS "
             "offered its plan")
    limit = float(options.time_limit)
    start = time.perf_counter()
    record = rens_here(mat, replace(options, time_limit=RENS_SHARE * limit))
    spent = time.perf_counter() - start
    _report_rens(report, "rens: LP relaxation, then the MILP over its fractional binaries",
                 spent, record)
    end = record.ended()
    if end is not None and end.interrupted_by is not None:  # stopped: no HiGHS run after
        stopped = SolverOutcome(status="interrupted", model_status="interrupted during RENS",
                                x=None, objective=math.inf, bound=-math.inf, gap=math.inf,
                                solve_seconds=spent, interrupted_by=end.interrupted_by)
        return with_helper(stopped, record, mat)
    began = time.perf_counter()
    # handed over through the user-solution callback, as on two cores
    rest = solve_matrices(mat, replace(options, time_limit=max(limit - spent, 1.0)),
                          offer=record.offer)
    report.phase("highs", time.perf_counter() - began, rest)
    report.phases[-2]["offered"] = record.offered  # the RENS phase: now HiGHS has run
    return with_helper(replace(rest, solve_seconds=rest.solve_seconds + spent), record, mat)


def _report_rens(report: MethodReport, name: str, seconds: float, record: RensRecord
                 ) -> None:
    lp = next((n for n in record.news if n.kind == "lp"), None)
    end = record.ended()
    report.phase(name, seconds, lp_seconds=None if lp is None else round(lp.seconds, 3),
                 lp_bound=_finite(record.lp_bound), free_binaries=record.free,
                 plans=sum(n.kind == "plan" for n in record.news), offered=record.offered,
                 objective=None if record.best is None else _finite(record.best.value),
                 found_at=None if record.best is None else round(record.best.seconds, 3),
                 status=None if end is None else end.status)


def _no_search(layer: FacilityLayer | str, options: SolveOptions) -> str:
    """Why `highs-search` is one HiGHS run on this model ('' where it searches)."""
    if isinstance(layer, str):
        return layer
    if layer.count is not None:
        return "a site count"
    return "no time limit" if options.time_limit is None else ""


def _search_worker(layer: FacilityLayer, seconds: float, conn: Connection) -> None:
    """The search beside HiGHS (a forked process): wait, run it, send the plan back, exit.

    It waits `SEARCH_DELAY` of the limit first, so that a proof HiGHS finds by then is not
    slowed by a second busy core; the parent stops it (`as_helper_process`).
    """
    as_helper_process()
    time.sleep(SEARCH_DELAY * seconds)
    conn.send(capacitated_plan(layer, (1 - SEARCH_DELAY) * seconds))
    conn.close()


def _highs_then_search(mat: Matrices, data: ModelData, options: SolveOptions,
                       report: MethodReport, layer: FacilityLayer, limit: float
                       ) -> SolverOutcome:
    """`highs-search` on one core: HiGHS first, the search in what is left if unproven."""
    _explain(report, "one core (no fork in a daemon process): the search after HiGHS")
    first = run_highs(mat, data, replace(options, time_limit=(1 - SEARCH_SHARE) * limit),
                      report)
    if first.status != "time_limit" or first.interrupted_by is not None:
        return first
    start = time.perf_counter()
    y0 = (None if first.x is None else
          np.array([first.x[c].max(initial=0.0) for c in layer.site_columns]))
    plan = capacitated_plan(layer, max(limit - first.solve_seconds, 1.0), y0)
    spent = time.perf_counter() - start
    report.phase("search: add/drop/swap over the transport LP", spent,
                 objective=None if plan is None else plan.cost,
                 lp_solves=None if plan is None else plan.lp_solves)
    return _cheaper(mat, layer, first, plan, first.solve_seconds + spent, report)


def _cheaper(mat: Matrices, layer: FacilityLayer, first: SolverOutcome,
             plan: CapacitatedPlan | None, seconds: float, report: MethodReport
             ) -> SolverOutcome:
    """HiGHS's outcome or the search's plan with HiGHS's bound, whichever costs less."""
    if plan is None or (first.x is not None and first.objective <= plan.cost):
        return replace(first, solve_seconds=seconds)
    x = to_columns(mat, layer, plan.y, plan.share)
    found = outcome_of(mat, x, plan.cost, status="time_limit", bound=first.bound,
                       method="search", seconds=seconds, nodes=first.nodes,
                       interrupted_by=None)
    if isinstance(found, str):
        _explain(report, f"{found}: HiGHS's plan kept")
        return replace(first, solve_seconds=seconds)
    return found


def _instead(mat: Matrices, data: ModelData, options: SolveOptions, report: MethodReport,
             why: str, spent: float) -> SolverOutcome:
    """One HiGHS run on the whole model after a method's plan was not one of the model."""
    _explain(report, f"{why}: one HiGHS run instead")
    remaining = None if options.time_limit is None else max(options.time_limit - spent, 1.0)
    rest = run_highs(mat, data, replace(options, time_limit=remaining), report)
    return replace(rest, solve_seconds=rest.solve_seconds + spent)


def _explain(report: MethodReport, why: str) -> None:
    report.reason = f"{report.reason}; {why}" if report.reason else why


#: Every method by name (`auto` is resolved by `choose`).
METHODS: dict[str, Method] = {"highs": run_highs, "radius": run_radius_search,
                              "race": run_race, "benders": run_benders,
                              "highs-search": run_highs_search, "highs-rens": run_highs_rens}

#: Seconds `highs-rens` waits for RENS's last plan after HiGHS stops at its limit (at most:
#: never beyond `HELPER_GRACE` past the limit).
RENS_WAIT = 1.0
#: Share of the time limit `highs-rens` gives RENS when it cannot fork (HiGHS gets the rest).
RENS_SHARE = 0.5
#: Columns from which `auto` runs RENS beside HiGHS under a time limit: below, HiGHS's
#: own heuristics find good plans early and its proof wants the second core quiet.
RENS_MIN_COLUMNS = 20_000
#: Columns up to which it does: beyond, the LP relaxation alone takes most of a limit of
#: minutes (generate --preset 400k, 407,168 columns: 250-300 s on one core, beside HiGHS
#: or alone), leaving RENS no time, and a second LP competes with HiGHS's own root LP.
RENS_MAX_COLUMNS = 250_000

#: Share of the time limit `highs-search` keeps for its search when it cannot fork.
SEARCH_SHARE = 0.25
#: Seconds `highs-search` waits for the search's plan after HiGHS stops at its limit (at
#: most: never beyond `HELPER_GRACE` past the limit).
SEARCH_WAIT = 5.0
#: Share of the time limit the search beside HiGHS waits before it starts.
SEARCH_DELAY = 0.5


def choose(mat: Matrices, data: ModelData, options: SolveOptions) -> tuple[str, str]:
    """The method `auto` runs for this model, and why."""
    if data.objective == "max_rtt" and len(data.rtt_levels) >= 2:
        return "radius", "p-center objective: bisection over round-trip levels"
    layer = facility_layer(mat, data)
    if not isinstance(layer, str) and layer.uncapacitated:
        return "benders", ("uncapacitated facility location: Benders cuts per customer on a "
                           "master of the sites")
    if not _no_search(layer, options):
        return "highs-search", ("capacitated facility location under a time limit: HiGHS "
                                "and, beside it, a local search over the transport LP")
    if options.time_limit is not None and RENS_MIN_COLUMNS <= mat.shape[1] <= RENS_MAX_COLUMNS:
        return "highs-rens", (f"{mat.shape[1]:,} columns under a time limit: HiGHS, and RENS "
                              "beside it offering plans from the LP relaxation")
    return "highs", "one HiGHS run on the strengthened model"


def run_method(mat: Matrices, data: ModelData, options: SolveOptions
               ) -> tuple[SolverOutcome, MethodReport]:
    """Run the method `options.method` asks for (resolving `auto`)."""
    report = MethodReport(requested=options.method)
    name = options.method
    if name == "auto":
        name, report.reason = choose(mat, data, options)
    elif name not in METHODS:
        raise ValueError(f"unknown method {name!r}; one of auto, {', '.join(METHODS)}")
    report.name = name
    try:
        outcome = METHODS[name](mat, data, options, report)
    finally:
        _LAST_LAYER.clear()  # the reading holds the model's matrices: not beyond this solve
    return proven_within_gap(outcome, options, report), report


def proven_within_gap(outcome: SolverOutcome, options: SolveOptions,
                      report: MethodReport) -> SolverOutcome:
    """`outcome` as "optimal" where its plan and bound, from different runs, prove it.

    Methods that combine runs (`highs-rens`: RENS's plan or LP bound beside HiGHS's;
    `highs-search`: the search's plan with HiGHS's bound; `race`: one racer's plan with the
    other's bound) can hold a plan within the gap of a valid bound although no single run
    proved it and HiGHS stopped at its time limit. That plan is proven: reporting it as
    `time_limit` would understate it and, for a lexicographic objective, skip the second
    stage (the cheapest plan at the optimum). A stop by a signal stays `interrupted`.
    """
    target = options.gap if options.gap is not None else 1e-4
    if outcome.status != "time_limit" or outcome.x is None or outcome.interrupted_by is not None:
        return outcome
    gap = relative_gap(outcome.objective, outcome.bound)
    if gap > target:
        return outcome
    _explain(report, f"plan within the gap ({gap:.3g} <= {target:g}) of the combined bound "
             "when the time limit stopped HiGHS: proven optimal")
    return replace(outcome, status="optimal", gap=gap,
                   model_status=f"{outcome.model_status} (plan within the gap of the bound)")


def _finite(x: float) -> float | None:
    return None if x != x or abs(x) == float("inf") else float(x)
