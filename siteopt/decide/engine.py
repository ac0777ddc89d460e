"""Shared machinery of `value` and `alternatives`: the base plan and re-solves around it.

Every re-solve goes through `siteopt.solver.pipeline.solve` (build, compile, HiGHS, extract,
independent checker) with a *runner* that changes only how the compiled matrices are solved:
with a warm start from the base plan (`warm_runner`) or with extra rows and another
objective (`alternatives`). So every plan reported here has been verified like any other.

Re-solves run in this process (`workers=0`) or on Dask (a local cluster of `workers`
processes, or an existing scheduler), as the sweeps do.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from siteopt.data.instance import Instance
from siteopt.data.overrides import apply_overrides
from siteopt.errors import ExitCode, InputError, Problem, SiteoptError
from siteopt.model.compile import Matrices
from siteopt.model.tightening import phase_online
from siteopt.solver.cluster import dask_client, share
from siteopt.solver.highs import SolveOptions, SolverOutcome, solve_matrices
from siteopt.solver.interrupt import Interrupted
from siteopt.solver.pipeline import Result, solve

#: Feasibility tolerance when deciding whether a start vector satisfies a row (absolute,
#: scaled by the row bound's magnitude).
FEAS_TOL = 1e-6


class NoPlanError(SiteoptError):
    """The base instance has no plan (infeasible: exit 3; none within the limits: exit 4)."""

    def __init__(self, message: str, code: ExitCode):
        super().__init__(message)
        self.exit_code = code


@dataclass
class BasePlan:
    """The optimal plan everything is compared with, with its compiled model and values."""

    instance: Instance
    result: Result
    mat: Matrices
    x: np.ndarray
    names: list[str]
    #: (family, index) of every matrix row, e.g. ("grid_headroom", ("hanoi_west", 2028))
    row_ids: list[tuple[str, object]]

    @property
    def objective(self) -> float:
        """Total cost of the base plan (USD M, present value)."""
        return float(self.result.objective)  # type: ignore[arg-type]

    def start_values(self) -> dict[str, float]:
        """The plan's non-zero column values by variable name (a start for re-solves)."""
        return plan_values(self.mat, self.names, self.x)


def column_names(mat: Matrices) -> list[str]:
    """The Pyomo name of every column, e.g. `online[shtp,p2,air,2028]`."""
    return [v.name for v in mat.columns]


def row_ids(mat: Matrices) -> list[tuple[str, object]]:
    """(constraint family, index) of every row of `mat`."""
    return [(con.parent_component().local_name, con.index())  # type: ignore[attr-defined]
            for con, _mult in mat.rows]


def solve_base(inst: Instance, options: SolveOptions) -> BasePlan:
    """Solve `inst` and keep its matrices and solution; errors if there is no verified plan.

    Only `siting.objective = total_cost` is supported: values and cost slacks are in USD M.
    The matrices are those `options` build (with the model's tightening by default, which
    fixes, drops or rewrites some rows: a caller reading rows reads those).
    Ctrl-C or SIGTERM during the solve raises `Interrupted`: the caller asked to stop, and
    a base stopped by it is no plan to value or vary (the run would otherwise go on).
    """
    if inst.meta.siting.objective != "total_cost":
        raise InputError(Problem("instance.toml", "siting.objective = total_cost (values and "
                                 "near-optimal slacks are costs)",
                                 found=inst.meta.siting.objective))
    captured: dict[str, object] = {}

    def runner(mat: Matrices, opts: SolveOptions) -> SolverOutcome:
        outcome = solve_matrices(mat, opts)
        # names while the model is alive (the pipeline drops it after extracting the plan)
        captured["mat"], captured["outcome"] = mat, outcome
        captured["names"] = column_names(mat)
        captured["rows"] = row_ids(mat)
        return outcome

    result = solve(inst, options, runner=runner)
    if result.interrupted_by is not None:
        raise Interrupted(result.interrupted_by)
    if result.status == "infeasible":
        raise NoPlanError(f"{inst.meta.name}: infeasible, no plan to value or vary "
                          f"({'; '.join(result.violations[:3]) or result.solver_status}); "
                          "`siteopt explain` says why", ExitCode.INFEASIBLE)
    if not result.has_plan:
        raise NoPlanError(f"{inst.meta.name}: no plan found within the limits "
                          f"({result.status})", ExitCode.NO_PLAN)
    if not result.verified:
        raise SiteoptError(f"{inst.meta.name}: the base plan failed independent verification "
                           f"(a bug): {'; '.join(result.violations[:5])}")
    mat = captured["mat"]
    outcome = captured["outcome"]
    assert isinstance(mat, Matrices) and isinstance(outcome, SolverOutcome)
    assert outcome.x is not None
    return BasePlan(instance=inst, result=result, mat=mat, x=outcome.x,
                    names=captured["names"], row_ids=captured["rows"])  # type: ignore[arg-type]


def start_vector(mat: Matrices, names: Sequence[str], values: dict[str, float]) -> np.ndarray:
    """A value per column of `mat` from values by name (missing: 0 clipped to the bounds).

    `phase_on[s,p,y]` missing from `values` (a plan of the model without its tightening) is
    its definition, the sum of the phase's online[s,p,k,y] values.
    """
    values = _with_phase_on(mat, values)
    x = np.fromiter((values.get(n, 0.0) for n in names), float, len(names))
    return np.clip(x, mat.col_lower, mat.col_upper)


def _with_phase_on(mat: Matrices, values: dict[str, float]) -> dict[str, float]:
    """`values` with each phase_on column of `mat` it lacks set to the sum of its online."""
    missing = [v for v in mat.columns
               if v.parent_component().local_name == "phase_on" and v.name not in values]
    if not missing:
        return values
    online = phase_online(missing[0].parent_block())
    out = dict(values)
    for v in missing:
        out[v.name] = sum(values.get(o.name, 0.0) for o in online.get(v.index(), ()))
    return out


def is_feasible(mat: Matrices, x: np.ndarray, tol: float = FEAS_TOL) -> bool:
    """Whether `x` satisfies every bound, integrality and row of `mat` (within `tol`)."""
    if np.any(x < mat.col_lower - tol) or np.any(x > mat.col_upper + tol):
        return False
    integer = mat.integrality == 1
    if np.any(np.abs(x[integer] - np.round(x[integer])) > tol):
        return False
    act = mat.A @ x
    lo_ok = act >= mat.row_lower - tol * np.maximum(1.0, np.abs(mat.row_lower))
    up_ok = act <= mat.row_upper + tol * np.maximum(1.0, np.abs(mat.row_upper))
    return bool(np.all(lo_ok | ~np.isfinite(mat.row_lower))
                and np.all(up_ok | ~np.isfinite(mat.row_upper)))


@dataclass
class Resolved:
    """One re-solve: the pipeline's result and how it was started."""

    result: Result | None
    warm_started: bool = False
    seconds: float = 0.0
    error: str | None = None
    info: dict[str, object] = field(default_factory=dict)
    #: the solver's plan by variable name (non-zeros), a start for a neighbouring re-solve
    plan: dict[str, float] = field(default_factory=dict)


#: `Resolved.error` of a re-solve that did not start because its deadline had passed.
NOT_STARTED = "not started: the run's time was spent"


def warm_resolve(instance: Instance, overrides: dict[str, object], options: SolveOptions,
                 start: dict[str, float], deadline: float | None = None,
                 floor: float | None = None, looser: dict[str, float] | None = None
                 ) -> Resolved:
    """Solve `instance` with `overrides`, starting HiGHS from `start` if it is feasible there.

    Top-level so that it pickles for Dask. An override the instance rejects (e.g. a negative
    headroom) is reported as an error of this point, not raised. `deadline` (seconds since
    the epoch, `time.time()`) caps the solve at the time left when it starts, on whichever
    worker that is; with less than a second left it does not start (`NOT_STARTED`).
    `floor`, a lower bound on the overridden instance's optimum proven elsewhere (a
    relaxation of it solved before), is HiGHS's `solve_matrices(floor=...)`: a plan within
    the gap of it needs no proof of its own. `looser`, the plan of a relaxation of the
    overridden instance, is the start instead of `start` where it satisfies every row: it
    then costs no more than any plan of the instance, and with its bound as `floor` HiGHS
    ends at once.
    """
    t = time.perf_counter()
    if deadline is not None:
        left = deadline - time.time()
        if left < 1.0:
            return Resolved(result=None, error=NOT_STARTED)
        options = replace(options, time_limit=min(options.time_limit or math.inf, left))
    try:
        inst = apply_overrides(instance, overrides)
    except InputError as exc:
        return Resolved(result=None, seconds=time.perf_counter() - t,
                        error=f"invalid: {'; '.join(str(p) for p in exc.problems)}")
    flag = {"warm": False}
    plan: dict[str, float] = {}

    def runner(mat: Matrices, opts: SolveOptions) -> SolverOutcome:
        names = column_names(mat)
        fits = (x for x in (start_vector(mat, names, plan) for plan in (looser, start) if plan
                            is not None) if is_feasible(mat, x))
        x0 = next(fits, None)
        flag["warm"] = x0 is not None
        out = solve_matrices(mat, opts, start=x0, floor=floor)
        if out.x is not None:
            plan.update(plan_values(mat, names, out.x))
        return out

    result = solve(inst, options, runner=runner)
    return Resolved(result=result, warm_started=flag["warm"], seconds=time.perf_counter() - t,
                    plan=plan)


def plan_values(mat: Matrices, names: Sequence[str], x: np.ndarray) -> dict[str, float]:
    """A solver vector as {variable name: value} over its non-zeros, integers rounded."""
    x = x[:len(names)]
    nz = np.flatnonzero(np.abs(x) > 1e-12)
    integer = mat.integrality == 1
    return {names[j]: float(round(x[j]) if integer[j] else x[j]) for j in nz}


# ---- running many tasks ------------------------------------------------------------------

#: Told of each finished task: (task key, what it returned).
Listener = Callable[[str, object], None]


class Pool:
    """Runs tasks `fn(instance, *args)` in this process or on Dask, results in task order.

    The instance is sent to the workers once. Used as a context manager so that one local
    cluster serves every round of tasks.
    """

    def __init__(self, instance: Instance, workers: int | None = 0, scheduler: str | None = None):
        self.instance = instance
        self.workers = workers
        self.scheduler = scheduler
        self._stack = contextlib.ExitStack()
        self._client: object | None = None
        self._base: object | None = None

    def __enter__(self) -> Pool:
        if self.scheduler is not None or (self.workers or 0) > 0:
            # a stop (Ctrl-C) between starting the cluster and returning never reaches
            # __exit__: close the cluster here, not in distributed's exit hook
            with self._stack.pop_all() as stack:
                self._client = stack.enter_context(dask_client(self.workers, self.scheduler))
                self._base = share(self._client, self.instance)
                self._stack = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def map(self, fn: Callable[..., object], tasks: list[tuple[str, tuple]],
            listener: Listener | None = None) -> dict[str, object]:
        """Run `fn(instance, *args)` for each (key, args); returns {key: value} in task order.

        A task that raises gives a `Resolved` with its error (so one failure never stops the
        others).
        """
        done: dict[str, object] = {}
        if self._client is None:
            for key, args in tasks:
                done[key] = self._call(fn, args)
                if listener:
                    listener(key, done[key])
            return done
        from distributed import as_completed

        handles = {self.submit(fn, key, args): key for key, args in tasks}
        by_future = {h.future: h for h in handles}
        for fut in as_completed(list(by_future)):
            h = by_future[fut]
            done[h.key] = self.result(h)
            if listener:
                listener(h.key, done[h.key])
        return {key: done[key] for key, _args in tasks}

    def submit(self, fn: Callable[..., object], key: str, args: tuple) -> Task:
        """Start `fn(instance, *args)` on the cluster now (in this process: when asked for)."""
        task = Task(key, fn, args)
        if self._client is not None:
            task.future = self._client.submit(  # type: ignore[attr-defined]
                fn, self._base, *args, key=f"{fn.__name__}-{key}-{time.monotonic_ns()}",
                pure=False)
        return task

    def result(self, task: Task) -> object:
        """What the task returned (waits for it); an exception becomes a `Resolved` error."""
        if task.future is None:
            return self._call(task.fn, task.args)
        fut = task.future
        try:
            value = fut.result()  # type: ignore[attr-defined]
        except SiteoptError:
            raise
        except Exception as exc:  # one failed task must not stop the others
            value = Resolved(result=None, error=f"{type(exc).__name__}: {exc}")
        fut.release()  # type: ignore[attr-defined]
        return value

    def done(self, task: Task) -> bool:
        """Whether `result(task)` would return without waiting for the cluster.

        In this process a task runs when its result is asked for, so it counts as done.
        """
        return task.future is None or bool(task.future.done())  # type: ignore[attr-defined]

    def cancel(self, task: Task) -> None:
        """Drop a task whose result is no longer wanted."""
        if task.future is not None:
            task.future.cancel()  # type: ignore[attr-defined]

    def _call(self, fn: Callable[..., object], args: tuple) -> object:
        try:
            return fn(self.instance, *args)
        except SiteoptError:
            raise
        except Exception as exc:  # one failed task must not stop the others
            return Resolved(result=None, error=f"{type(exc).__name__}: {exc}")


@dataclass(eq=False)
class Task:
    """A task handed to `Pool.submit`: its key, and its Dask future once started."""

    key: str
    fn: Callable[..., object]
    args: tuple
    future: object | None = None


# ---- reading plans -------------------------------------------------------------------------

def online_years(result: Result) -> dict[tuple[str, str], tuple[int, str]]:
    """(site, phase) -> (first online year, cooling) of a plan's built phases."""
    sched = result.tables["schedule"]
    return {(str(s), str(p)): (int(y), str(k)) for s, p, y, k in
            sched[["site", "phase", "online_year", "cooling"]].itertuples(index=False)}


def plan_changes(base: Result, other: Result, limit: int = 6) -> list[str]:
    """What a planner would notice between two plans.

    Phases earlier, later, added, dropped or with another cooling; grid upgrades bought or
    dropped.
    """
    a, b = online_years(base), online_years(other)
    out: list[str] = []
    for key in sorted(set(a) | set(b), key=lambda k: (min(a.get(k, (9999,))[0],
                                                           b.get(k, (9999,))[0]), k)):
        s, p = key
        if key in a and key in b:
            (ya, ka), (yb, kb) = a[key], b[key]
            if yb != ya:
                n = abs(yb - ya)
                word = "earlier" if yb < ya else "later"
                out.append(f"{s} {p} online {yb} ({n} year{'s' if n > 1 else ''} {word})")
            if kb != ka:
                out.append(f"{s} {p} cooled by {kb} instead of {ka}")
        elif key in b:
            out.append(f"{s} {p} built, online {b[key][0]}")
        else:
            out.append(f"{s} {p} not built (was online {a[key][0]})")
    ua = {str(u) for u in base.tables["upgrades"].get("upgrade", [])}
    ub = {str(u) for u in other.tables["upgrades"].get("upgrade", [])}
    out += [f"upgrade {u} bought" for u in sorted(ub - ua)]
    out += [f"upgrade {u} not bought" for u in sorted(ua - ub)]
    if len(out) > limit:
        out = [*out[:limit], f"and {len(out) - limit} more changes"]
    return out
