"""Plans from the LP relaxation for HiGHS's search: RENS on the second core.

RENS (relaxation enforced neighbourhood search; Berthold, Math. Prog. Comp. 2014) solves
the LP relaxation, fixes every binary the LP already sets to 0 or 1, and solves the much
smaller MILP over the binaries it leaves fractional. On large models HiGHS spends most of
a time limit in presolve, the root LP and its cut loop before its own sub-MIP heuristics
run; a RENS run beside it, in a forked process, hands HiGHS a near-optimal plan through
its user-solution callback early, and its LP optimum is a valid bound of the whole model
even where HiGHS's root LP has not finished.

`Helper` runs the search in its own process and answers HiGHS's callback (`rens_worker`
is that process's work); `rens_here` runs it in this process, where none can be forked.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection

import numpy as np

from siteopt.model.compile import Matrices
from siteopt.solver.highs import SolveOptions, SolverOutcome, solve_matrices
from siteopt.solver.interrupt import as_helper_process
from siteopt.solver.polish import relative_gap

#: An LP value this close to 0 or 1 counts as integral (the binary is fixed in RENS).
INTEGRAL = 1e-6


def relaxation(mat: Matrices) -> Matrices:
    """The LP relaxation: the same rows and bounds, no integrality."""
    return replace(mat, integrality=np.zeros_like(mat.integrality))


def neighbourhood(mat: Matrices, x_lp: np.ndarray) -> tuple[Matrices, int]:
    """The RENS sub-MIP around LP point `x_lp`, and how many binaries it leaves free.

    Integer columns whose LP value is integral are fixed to it; the others keep their
    bounds. Every plan of the sub-MIP is a plan of `mat`.
    """
    ints = np.flatnonzero(mat.integrality)
    values = x_lp[ints]
    rounded = np.round(values)
    settled = np.abs(values - rounded) <= INTEGRAL
    fixed, at = ints[settled], rounded[settled]
    lower, upper = mat.col_lower.copy(), mat.col_upper.copy()
    lower[fixed] = np.maximum(lower[fixed], at)
    upper[fixed] = np.minimum(upper[fixed], at)
    return replace(mat, col_lower=lower, col_upper=upper), int(len(ints) - len(fixed))


@dataclass
class RensNews:
    """One finding of a RENS run: its LP optimum, a plan, or its end."""

    kind: str  # "lp", "plan" or "end"
    seconds: float  # since the run started
    value: float = math.nan  # the LP optimum, the plan's objective
    x: np.ndarray | None = None  # the plan
    free: int = 0  # binaries RENS leaves free ("lp")
    status: str = ""  # the LP's or the sub-MIP's HiGHS status ("lp", "end")
    interrupted_by: int | None = None  # the signal that stopped the run ("end")


def rens(mat: Matrices, options: SolveOptions, send: Callable[[RensNews], None]) -> None:
    """RENS on `mat`: the LP relaxation, then the sub-MIP, each finding passed to `send`.

    Both solves share `options.time_limit` (none: the sub-MIP runs to its own optimum).
    """
    start = time.perf_counter()
    quiet = replace(options, progress=False, log_file=None)

    def left() -> float | None:
        limit = options.time_limit
        return None if limit is None else max(limit - (time.perf_counter() - start), 0.1)

    lp = solve_matrices(relaxation(mat), replace(quiet, time_limit=left()))
    if lp.status != "optimal" or lp.x is None:
        send(RensNews("end", time.perf_counter() - start, status=f"LP {lp.status}",
                      interrupted_by=lp.interrupted_by))
        return
    sub, free = neighbourhood(mat, lp.x)
    send(RensNews("lp", time.perf_counter() - start, value=lp.objective, free=free,
                  status=lp.status))

    def plan(objective: float, x: np.ndarray) -> None:
        send(RensNews("plan", time.perf_counter() - start, value=objective, x=x))

    out = solve_matrices(sub, replace(quiet, time_limit=left()), on_plan=plan)
    send(RensNews("end", time.perf_counter() - start, value=out.objective, status=out.status,
                  interrupted_by=out.interrupted_by))


def rens_worker(mat: Matrices, options: SolveOptions, conn: Connection) -> None:
    """The RENS process: `rens`, sending what it finds to the parent.

    It stops by itself at `options.time_limit`; the parent stops it earlier
    (`as_helper_process`).
    """
    as_helper_process()
    rens(mat, options, conn.send)


class RensRecord:
    """What a RENS run has said: its LP optimum, the binaries it left free, its best plan.

    `offer` is HiGHS's user-solution hook (`solve_matrices(offer=...)`): it hands over the
    newest RENS plan once, if it beats HiGHS's best.
    """

    def __init__(self) -> None:
        self.news: list[RensNews] = []  # every message, plans without their values
        self.lp_bound = -math.inf
        self.free = 0
        self.best: RensNews | None = None
        self.offered = 0
        self._fresh = False

    def take(self, news: RensNews) -> None:
        """Record one message of the run."""
        if news.kind == "lp":
            self.lp_bound, self.free = news.value, news.free
        if news.kind == "plan" and (self.best is None or news.value < self.best.value):
            self.best, self._fresh = news, True
        self.news.append(replace(news, x=None))

    def offer(self, incumbent: float) -> np.ndarray | None:
        """The newest RENS plan if HiGHS has not seen it and it beats HiGHS's `incumbent`."""
        if not self._fresh or self.best is None or self.best.value >= incumbent:
            return None
        self._fresh = False
        self.offered += 1
        return self.best.x

    def ended(self) -> RensNews | None:
        """The run's own last word ("end"), if it got that far."""
        return next((n for n in reversed(self.news) if n.kind == "end"), None)


def rens_here(mat: Matrices, options: SolveOptions) -> RensRecord:
    """RENS in this process (where no second process can be forked), to the end."""
    record = RensRecord()
    rens(mat, options, record.take)
    return record


class Helper(RensRecord):
    """RENS in a forked process beside a HiGHS run, offering its plans to that run.

    A thread of this process reads the process's messages as they come (a plan of a large
    model is megabytes, more than a pipe holds: unread, it would stall the sub-MIP until
    HiGHS next calls back). `finish` stops the process.
    """

    def __init__(self, mat: Matrices, options: SolveOptions) -> None:
        super().__init__()
        ctx = mp.get_context("fork")
        self._conn, theirs = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=rens_worker, args=(mat, options, theirs), daemon=True)
        self._lock = threading.Lock()
        self._proc.start()
        theirs.close()
        self._reader = threading.Thread(target=self._listen, daemon=True)
        self._reader.start()

    def _listen(self) -> None:
        try:
            while True:
                news = self._conn.recv()
                with self._lock:
                    self.take(news)
        except (EOFError, OSError):  # the process ended, or was stopped mid-message
            return

    def offer(self, incumbent: float) -> np.ndarray | None:
        """As `RensRecord.offer`, while the reader thread may be recording."""
        with self._lock:
            return super().offer(incumbent)

    def finish(self, wait: float = 0.0) -> None:
        """Stop the process, after up to `wait` s for it to end by itself (at its limit)."""
        self._proc.join(wait)
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()
        self._reader.join()
        self._conn.close()


def with_helper(first: SolverOutcome, helper: RensRecord, mat: Matrices) -> SolverOutcome:
    """HiGHS's outcome, with RENS's plan if it is cheaper and RENS's LP bound if higher.

    A proof stands as it is. Otherwise the bound is the larger of HiGHS's bound and the LP
    optimum (both valid: the LP relaxation of the same model), and the plan the cheaper of
    HiGHS's and RENS's best (one HiGHS had not taken, e.g. found after its last callback).
    """
    if first.status == "optimal":
        return first
    bound = max(first.bound, helper.lp_bound)
    best = helper.best
    if best is not None and best.x is not None and (first.x is None
                                                   or best.value < first.objective - 1e-9):
        objective = float(mat.cost @ best.x + mat.offset)
        return replace(first, x=best.x, objective=objective, bound=min(bound, objective),
                       gap=relative_gap(objective, bound))
    if first.x is None:
        return replace(first, bound=bound)
    return replace(first, bound=min(bound, first.objective),
                   gap=relative_gap(first.objective, bound))
