"""Hand a Pyomo model to HiGHS as matrices and solve it.

The model is compiled once by Pyomo's standard-form compiler (sparse matrices, no file and
no per-row solver calls) and passed to highspy whole; values come back in column order.
This keeps the modeling layer cheap beside the solver and gives direct access to HiGHS's
options, progress callbacks and interrupt handling.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import highspy
import numpy as np
import pyomo.environ as pyo

from siteopt.model.compile import Matrices
from siteopt.solver.cluster import task_released
from siteopt.solver.interrupt import cancel_on_signals

INF = math.inf


@dataclass(frozen=True)
class SolveOptions:
    """Options of one solve; defaults aim at a proven optimum, reproducibly."""

    time_limit: float | None = None
    #: None: the instance's `solver.gap` (1e-4 unless the instance asks for another)
    gap: float | None = None
    threads: int = 1
    seed: int = 0
    progress: bool = False
    progress_after: float = 2.0
    log_file: str | None = None
    #: how the model is solved (`siteopt.solver.methods`): auto picks by size and structure
    method: str = "auto"
    #: add the tightening families (`siteopt.model.tightening`): same plans, tighter LP
    tighten: bool = True
    #: further HiGHS options (name, value) a method sets on its runs, e.g. presolve off
    highs_options: tuple[tuple[str, object], ...] = ()


@dataclass
class SolverOutcome:
    """What HiGHS returned, in siteopt's terms."""

    status: str
    model_status: str
    x: np.ndarray | None
    objective: float
    bound: float
    gap: float
    solve_seconds: float
    nodes: int = 0
    incumbents: list[tuple[float, float]] = field(default_factory=list)
    interrupted_by: int | None = None  # the signal that stopped the solve, if any
    pass_seconds: float = 0.0  # passing the matrices to HiGHS (part of the hand-off)
    #: the plan was built exactly (integers 0/1, continuous part optimal for them), not
    #: read from HiGHS within its tolerances: polishing it would change nothing
    exact: bool = False

    @property
    def has_plan(self) -> bool:
        """Whether a feasible plan is available."""
        return self.x is not None


_BANNER_SHOWN = False


#: The thread count HiGHS's process-wide task scheduler was last asked for (None: not yet).
_SCHEDULER_THREADS: int | None = None


def set_threads(h: highspy.Highs, threads: int) -> None:
    """Ask `h` for `threads`, resetting HiGHS's process-wide scheduler when that changes.

    HiGHS sizes one task scheduler per process at its first run; a later run asking for
    another count fails (status "Not Set") unless the scheduler is reset first. An API user
    who solves once with `threads=2` and then with the default must get a plan both times.
    """
    global _SCHEDULER_THREADS
    if _SCHEDULER_THREADS is not None and threads != _SCHEDULER_THREADS:
        highspy.Highs.resetGlobalScheduler(True)
    _SCHEDULER_THREADS = threads
    h.setOptionValue("threads", threads)


def run_here(h: highspy.Highs) -> None:
    """`h.run()` in the calling thread, run once more after a scheduler reset if it did not start.

    A run in this thread fails before it starts (status "Not Set") when HiGHS's process-wide
    scheduler was sized by another run this process made outside `set_threads` (a caller's
    own HiGHS, a test). Only for runs between solves: resetting the scheduler while another
    solve is running would break that solve.
    """
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        highspy.Highs.resetGlobalScheduler(True)
        h.run()


def new_highs() -> highspy.Highs:
    """A new Highs object, keeping HiGHS's one-time banner out of siteopt's output.

    The first Highs() of a process prints a banner on the C-level stdout whatever
    output_flag says; printed summaries and piped output must stay clean.
    """
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return highspy.Highs()
    _BANNER_SHOWN = True
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return h


def to_highs(mat: Matrices, options: SolveOptions, names: bool = False) -> highspy.Highs:
    """A Highs object holding the compiled model, with siteopt's options set.

    With `names`, columns and rows carry Pyomo's names (for LP/MPS export).
    """
    h = new_highs()
    h.setOptionValue("output_flag", options.log_file is not None)
    if options.log_file:
        h.setOptionValue("log_file", options.log_file)
        h.setOptionValue("log_to_console", False)
    n_rows, n_cols, nnz = mat.shape
    A = mat.A
    if names:
        lp = highspy.HighsLp()
        lp.num_col_ = n_cols
        lp.num_row_ = n_rows
        lp.col_cost_ = mat.cost
        lp.offset_ = mat.offset
        lp.col_lower_ = mat.col_lower
        lp.col_upper_ = mat.col_upper
        lp.row_lower_ = mat.row_lower
        lp.row_upper_ = mat.row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr
        lp.a_matrix_.index_ = A.indices
        lp.a_matrix_.value_ = A.data
        lp.col_names_ = [_safe_name(v.name) for v in mat.columns]
        lp.row_names_ = _row_names(mat.rows)
        h.passModel(lp)
        integer = np.flatnonzero(mat.integrality).astype(np.int32)
        if len(integer):
            h.changeColsIntegrality(len(integer), integer,
                                    np.ones(len(integer), dtype=np.uint8))
    else:  # the arrays as they are: an order of magnitude faster than filling a HighsLp
        h.passModel(n_cols, n_rows, nnz, int(highspy.MatrixFormat.kColwise),
                    int(highspy.ObjSense.kMinimize), mat.offset, mat.cost, mat.col_lower,
                    mat.col_upper, mat.row_lower, mat.row_upper,
                    A.indptr.astype(np.int32, copy=False), A.indices.astype(np.int32, copy=False),
                    A.data, mat.integrality.astype(np.int32))
    h.setOptionValue("mip_rel_gap", float(1e-4 if options.gap is None else options.gap))
    set_threads(h, int(options.threads))
    h.setOptionValue("random_seed", int(options.seed))
    if options.time_limit is not None:
        h.setOptionValue("time_limit", float(options.time_limit))
    for name, value in options.highs_options:
        h.setOptionValue(name, value)
    return h


def _safe_name(name: str) -> str:
    """Pyomo's LP-file spelling of a name, e.g. `online(S1_P1_air_2027)`.

    HiGHS's LP and MPS writers fall back to generic names for names with brackets, commas
    or spaces.
    """
    return name.translate(str.maketrans({"[": "(", "]": ")", ",": "_", " ": "_"}))


def _row_names(rows: list[tuple[object, int]]) -> list[str]:
    """Unique row names; a ranged constraint split in two rows gets `_lo`/`_up` suffixes."""
    names = [_safe_name(con.name) for con, _mult in rows]  # type: ignore[attr-defined]
    seen: dict[str, int] = {}
    for n in names:
        seen[n] = seen.get(n, 0) + 1
    return [n + ("_lo" if mult == -1 else "_up") if seen[n] > 1 else n
            for n, (_con, mult) in zip(names, rows, strict=True)]


ProgressFn = Callable[[float, float, float, float, int], None]


#: Seconds between progress lines when stderr is a terminal (someone is watching)
PROGRESS_EVERY = 1.0
#: Seconds between progress lines when stderr is a file or pipe (a CI log): an hour's solve
#: writes about 120 lines there, not 3,600
PROGRESS_EVERY_IN_LOG = 30.0


def _progress_printer(after: float) -> ProgressFn:
    """A progress display on stderr that appears once a solve has run `after` seconds.

    A line per `PROGRESS_EVERY` seconds on a terminal, per `PROGRESS_EVERY_IN_LOG` seconds
    otherwise (each line is kept in a log, nothing is redrawn there).
    """
    from rich.console import Console

    console = Console(stderr=True)
    every = PROGRESS_EVERY if console.is_terminal else PROGRESS_EVERY_IN_LOG
    last = [-math.inf]

    def show(elapsed: float, primal: float, dual: float, gap: float, nodes: int) -> None:
        if elapsed < after or elapsed - last[0] < every:
            return
        last[0] = elapsed
        inc = "none yet" if not math.isfinite(primal) else f"{primal:,.2f}"
        gap_s = "-" if not math.isfinite(gap) or gap > 1e6 else f"{100 * gap:.3f}%"
        console.print(f"  [dim]solving {elapsed:6.1f}s  best plan {inc}  bound {dual:,.2f}  "
                      f"gap {gap_s}  nodes {nodes}[/dim]", highlight=False)

    return show


_STATUS = {
    "kOptimal": "optimal",
    "kTimeLimit": "time_limit",
    "kInterrupt": "interrupted",
    "kHighsInterrupt": "interrupted",
    "kInfeasible": "infeasible",
    "kUnboundedOrInfeasible": "infeasible",
    "kUnbounded": "unbounded",
    "kIterationLimit": "limit",
    "kSolutionLimit": "limit",
    "kObjectiveBound": "limit",
    "kObjectiveTarget": "limit",
    "kMemoryLimit": "limit",
    "kModelEmpty": "optimal",
}


def relative_gap(objective: float, bound: float) -> float:
    """HiGHS's relative gap: (objective - bound) / |objective| (0 when both are 0).

    A difference within floating-point noise of the objective (1e-9 x max(1, |objective|))
    is no gap: near an objective of 0 it would otherwise read as a huge relative one.
    """
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("inf")
    diff = max(0.0, objective - bound)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / max(abs(objective), 1e-10)


#: Ends HiGHS's status when a plan within the gap of `solve_matrices(floor=...)` stopped it.
KNOWN_BOUND = "(a plan within the gap of the known bound)"

#: Asked by HiGHS during its search for a plan to try (None: nothing new); gets HiGHS's
#: current best objective (inf while it has none).
OfferFn = Callable[[float], "np.ndarray | None"]
#: Told each plan HiGHS finds that improves on its best: objective and value per column.
PlanFn = Callable[[float, np.ndarray], None]


def solve_matrices(mat: Matrices, options: SolveOptions, on_progress: ProgressFn | None = None,
                   highs: highspy.Highs | None = None,
                   start: np.ndarray | None = None, offer: OfferFn | None = None,
                   on_plan: PlanFn | None = None, floor: float | None = None
                   ) -> SolverOutcome:
    """Solve the compiled model with HiGHS; SIGINT or SIGTERM stops it with the best plan.

    `highs`, if given, already holds `mat` (e.g. a persistent object updated in place) and
    is solved as it is; otherwise a new one is made. `start`, a value
    per column, is handed to HiGHS as a starting plan. `offer` is asked for plans during
    the search (HiGHS's user-solution callback: HiGHS checks each and keeps it if it is
    feasible and better); `on_plan` hears of each improving plan.

    `floor` is a lower bound on this model's optimum proven elsewhere (e.g. the bound of a
    relaxation of it solved before). The reported bound is the larger of HiGHS's and
    `floor`, and the solve stops as soon as a plan is within the gap of `floor`: that plan
    is then proven (status "optimal") without HiGHS's own proof.
    """
    passed = time.perf_counter()
    h = highs if highs is not None else to_highs(mat, options)
    pass_seconds = time.perf_counter() - passed
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(start, dtype=float)
        sol.value_valid = True
        h.setSolution(sol)
    incumbents: list[tuple[float, float]] = []
    show = on_progress or (_progress_printer(options.progress_after) if options.progress
                           else None)

    def on_interrupt(event: object) -> None:
        out = event.data_out  # type: ignore[attr-defined]
        if show is not None:
            # a broken progress display (e.g. a closed pipe) must not stop HiGHS
            with contextlib.suppress(Exception):
                show(out.running_time, out.mip_primal_bound, out.mip_dual_bound, out.mip_gap,
                     int(out.mip_node_count))

    reached = [False]  # a plan within the gap of `floor` was found: stop
    target_gap = options.gap if options.gap is not None else 1e-4

    def on_improve(event: object) -> None:
        out = event.data_out  # type: ignore[attr-defined]
        incumbents.append((float(out.running_time), float(out.objective_function_value)))
        if floor is not None and relative_gap(float(out.objective_function_value),
                                              floor) <= target_gap:
            reached[0] = True
            h.cancelSolve()
        if on_plan is not None:
            on_plan(float(out.objective_function_value),
                    np.array(out.mip_solution, dtype=float))

    def on_user_solution(event: object) -> None:
        plan = offer(float(event.data_out.mip_primal_bound))  # type: ignore[attr-defined, misc]
        if plan is not None:
            event.data_in.setSolution(np.asarray(plan, dtype=float))  # type: ignore[attr-defined]

    h.cbMipInterrupt += on_interrupt
    h.cbMipImprovingSolution += on_improve
    if offer is not None:
        h.cbMipUserSolution += on_user_solution
    # HiGHS runs in a worker thread; SIGINT/SIGTERM ask it to stop via its interrupt
    # callbacks, and it returns the best plan found so far (siteopt.solver.interrupt)
    h.HandleUserInterrupt = True
    start = time.perf_counter()
    try:
        with cancel_on_signals(h.cancelSolve) as received:
            h.startSolve()
            released = False
            while not h.wait(0.1)[0]:
                if not released and task_released():
                    # a Dask task nobody waits for (its client stopped or cancelled it):
                    # free the worker now rather than at the time limit
                    released = True
                    h.cancelSolve()
    finally:  # a Highs object solved again (re-solves) must not call this solve's hooks
        h.cbMipInterrupt -= on_interrupt
        h.cbMipImprovingSolution -= on_improve
        if offer is not None:
            h.cbMipUserSolution -= on_user_solution
    seconds = time.perf_counter() - start
    model_status = h.getModelStatus()
    name = h.modelStatusToString(model_status)
    status_key = str(model_status).split(".")[-1]
    status = _STATUS.get(status_key, "error")
    info = h.getInfo()
    has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=float) if has_x else None
    is_mip = bool(mat.integrality.any())
    objective = float(info.objective_function_value) if has_x else INF
    if is_mip:
        bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap) if has_x else INF
    else:  # an LP: its objective is a bound only once proven optimal
        bound = objective if status == "optimal" else -INF
        gap = 0.0 if status == "optimal" else INF
    if status == "optimal" and not has_x and mat.shape[1] == 0:
        objective, bound, gap, x = mat.offset, mat.offset, 0.0, np.zeros(0)
    if floor is not None and is_mip:
        if floor > bound:
            bound = floor
            gap = relative_gap(objective, bound) if has_x else INF
        if reached[0] and not received and status == "interrupted" and gap <= target_gap:
            status, name = "optimal", f"{name} {KNOWN_BOUND}"
    return SolverOutcome(status=status, model_status=name, x=x, objective=objective,
                         bound=bound, gap=gap, solve_seconds=seconds,
                         nodes=int(info.mip_node_count) if is_mip else 0,
                         incumbents=incumbents,
                         interrupted_by=received[0] if received else None,
                         pass_seconds=pass_seconds)


def column_values(mat: Matrices, values: dict[int, float]) -> np.ndarray:
    """Values per column of `mat` from a map of id(var) to value (missing: lower bound)."""
    return np.fromiter((values.get(id(v), lo) for v, lo in zip(
        mat.columns, np.where(np.isfinite(mat.col_lower), mat.col_lower, 0.0), strict=True)),
        float, len(mat.columns))


def load_values(model: pyo.ConcreteModel, mat: Matrices, x: np.ndarray) -> None:
    """Write a solution back into the Pyomo variables (integers rounded to the nearest whole).

    A variable in no row and without cost is dropped by the compiler; any value within its
    bounds is optimal, so it takes its lower bound (0 for siteopt's variables).
    """
    values = np.where(mat.integrality == 1, np.round(x), x)
    for var, value in zip(mat.columns, values, strict=True):
        var.set_value(float(value), skip_validation=True)
    for var in model.component_data_objects(pyo.Var, descend_into=True):
        if var.value is None:
            var.set_value(var.lb if var.lb is not None else 0.0, skip_validation=True)
