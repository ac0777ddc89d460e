"""Solving an instance end to end: data, model, HiGHS, result tables, independent check."""

from __future__ import annotations

import datetime as dt
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version

import pandas as pd
from pyomo.common.gc_manager import PauseGC

from siteopt.checks.presolve import errors, presolve_checks
from siteopt.data.instance import Instance
from siteopt.data.rules import MAXIMIZED
from siteopt.io.schema import COST_UNIT
from siteopt.io.write import PLAN_STATUSES
from siteopt.model.build import create_model
from siteopt.model.compile import Matrices, TrivialInfeasibilityError, compile_model
from siteopt.model.data import ModelData, build_data
from siteopt.model.objective import add_objective_bound
from siteopt.solver.highs import (
    SolveOptions,
    SolverOutcome,
    column_values,
    load_values,
    solve_matrices,
)
from siteopt.solver.interrupt import signal_name
from siteopt.solver.methods import MethodReport, run_method
from siteopt.solver.numerics import coefficient_ranges, numerics_warnings
from siteopt.solver.polish import polish
from siteopt.solver.results import RESULT_TABLES, extract
from siteopt.verify.checker import TOL, CheckReport, check_plan
from siteopt.verify.resilience import resilience_binding


@dataclass
class Result:
    """A solved (or failed) plan with its tables, quality and timings."""

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    verified: bool
    violations: list[str]
    tables: dict[str, pd.DataFrame]
    timings: dict[str, float]
    size: dict[str, int]
    instance_name: str
    fingerprint: str
    options: SolveOptions
    warnings: list[str] = field(default_factory=list)
    solver_status: str = ""
    check: CheckReport | None = None
    coefficient_ranges: dict[str, list[float] | None] = field(default_factory=dict)
    interrupted_by: int | None = None  # SIGINT or SIGTERM, if a signal stopped the solve
    objective_name: str = "total_cost"
    total_cost: float | None = None
    #: unit of the money amounts (the instance's `cost_unit`): USD M, or an imported
    #: benchmark's own units, so that summaries print the unit that is true
    cost_unit: str = COST_UNIT
    method: MethodReport | None = None
    #: overrides applied to the loaded instance, in order (`Instance.overrides`), recorded
    #: in summary.json as [key, value] pairs so that `siteopt verify` can rebuild it
    overrides: list[list[object]] = field(default_factory=list)
    instance_path: str | None = None  # the folder the instance was read from, if any
    #: which `[resilience.CLASS]` rules bind (are tight) in the plan, per class and rule
    #: (`siteopt.verify.resilience.resilience_binding`); {} without resilience rules
    resilience: dict[str, object] = field(default_factory=dict)
    #: facts of earlier stages the objective needed, e.g. LSCP-B's set-covering number
    #: {"set_covering_sites": p, "set_covering_seconds": s}
    stages: dict[str, object] = field(default_factory=dict)
    #: when the solve finished (UTC, ISO 8601, `finished_now`): the report's "solved" date,
    #: which a copy of the folder keeps (a file's modification time does not survive one)
    finished_at: str = field(default_factory=lambda: finished_now())

    @property
    def has_plan(self) -> bool:
        """Whether the result holds a plan (optimal or the best found within limits)."""
        return self.status in PLAN_STATUSES and bool(self.tables)

    def summary(self) -> dict[str, object]:
        """The machine-readable summary written as `summary.json`."""
        unserved = self.tables.get("unserved")
        return {
            "instance": self.instance_name,
            "instance_fingerprint": self.fingerprint,
            "instance_path": self.instance_path,
            "status": self.status,
            "solver_status": self.solver_status,
            "objective_name": self.objective_name,
            "objective": self.objective,
            "objective_unit": objective_unit(self.objective_name, self.cost_unit),
            "total_cost": self.total_cost,
            "bound": self.bound,
            "gap": self.gap,
            "verified": self.verified,
            "violations": self.violations,
            "unserved_mw_years": (float(unserved["unserved_mw"].sum())
                                  if unserved is not None and len(unserved) else 0.0),
            "solve_seconds": self.timings.get("solve", 0.0),
            "timings_seconds": self.timings,
            "model_size": self.size,
            "coefficient_ranges": self.coefficient_ranges,
            "interrupted_by": signal_name(self.interrupted_by),
            "overrides": self.overrides,
            "options": {"time_limit": self.options.time_limit, "gap": self.options.gap,
                        "threads": self.options.threads, "seed": self.options.seed,
                        "method": self.options.method},
            "method": self.method.as_json() if self.method is not None else None,
            "warnings": self.warnings,
            "resilience": self.resilience,
            "stages": self.stages,
            "finished_at": self.finished_at,
            "versions": package_versions(),
        }


def finished_now() -> str:
    """The current time in UTC as summary.json's `finished_at` records it (2026-03-01T14:05:09Z)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def package_versions() -> dict[str, str]:
    """Versions of siteopt, Python and the libraries the result depends on."""
    out = {"python": platform.python_version()}
    for name in ("siteopt", "pyomo", "highspy", "pandas", "networkx", "numpy", "scipy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def build(inst: Instance) -> tuple[ModelData, object]:
    """Derive the model data and build the Pyomo model (for inspection or export)."""
    data = build_data(inst)
    return data, create_model(data)


#: Solves compiled matrices (default `highs.solve_matrices`).
Runner = Callable[[Matrices, SolveOptions], SolverOutcome]


#: Unit of each `siting.objective`, for summaries.
OBJECTIVE_UNITS = {"total_cost": "USD M (present value)", "max_rtt": "ms (worst served round trip)",
                   "uncovered_mw": "MW-years of demand not covered within target",
                   "site_count": "sites open at the end of the horizon",
                   "backup_uncovered_mw": "MW-years of demand without two open sites within "
                   "target", "min_separation_km": "km between the closest two open sites "
                   "(maximized)"}


def objective_unit(name: str, cost_unit: str = COST_UNIT) -> str:
    """The unit of objective `name`; total_cost's is the instance's `cost_unit`, discounted."""
    return f"{cost_unit} (present value)" if name == "total_cost" else OBJECTIVE_UNITS[name]


def objective_value(name: str, tables: dict[str, pd.DataFrame],
                    data: ModelData | None = None) -> float:
    """The value of objective `name` for a plan, from its result tables.

    backup_uncovered_mw and min_separation_km also need the model data (`data`): the sites
    able to serve each demand segment, and the distances between sites.
    """
    if name == "total_cost":
        return float(tables["costs"]["total_pv"].sum())
    if name == "max_rtt":
        served = tables["served"]
        rtt = served.loc[served["serve_mw"] > TOL, "rtt_ms"].dropna()
        return float(rtt.max()) if len(rtt) else 0.0
    if name == "uncovered_mw":
        return float(tables["unserved"]["unserved_mw"].sum())
    if name == "site_count":
        return float(tables["sites"]["open_year"].notna().sum())
    if data is None:
        raise ValueError(f"objective {name} needs the model data")
    opened = {s: int(y) for s, y in zip(tables["sites"]["site"], tables["sites"]["open_year"],
                                         strict=True) if not pd.isna(y)}
    if name == "backup_uncovered_mw":
        count: dict[tuple[str, str, int], int] = {}
        for s, r, c, y in data.SRCY:
            if s in opened and opened[s] <= y:
                count[r, c, y] = count.get((r, c, y), 0) + 1
        return float(sum(mw for key, mw in data.demand.items() if count.get(key, 0) < 2))
    if name == "min_separation_km":
        dist = data.site_km or {}
        used = [km for (a, b), km in dist.items() if a in opened and b in opened]
        return float(min(used, default=max(dist.values(), default=0.0)))
    raise ValueError(name)


def solve(inst: Instance, options: SolveOptions | None = None, checks: bool = True,
          runner: Runner | None = None) -> Result:
    """Solve `inst`; the returned plan, if any, has been checked by `siteopt.verify.checker`.

    With `checks`, the pre-solve checks run first: their warnings join the result's, and an
    error (a proof of infeasibility) returns an infeasible result without building a model.

    With a `siting.objective` other than total_cost the solve is lexicographic: first the
    chosen objective, then the cheapest plan (total_cost) among those that keep it.
    `runner` solves the compiled matrices instead of the method `options.method` names
    (`siteopt.solver.methods`).
    """
    # the model and its tables are millions of objects: a full garbage collection now and
    # then would cost more than building them (freed by reference counting all the same)
    with PauseGC():
        siting = inst.meta.siting
        if siting.objective == "backup_uncovered_mw" and siting.sites is None:
            result = _backup_cover(inst, options or SolveOptions(), checks, runner)
        else:
            result = _solve(inst, options or SolveOptions(), checks, runner)
    result.overrides = [[k, v] for k, v in inst.overrides]  # for `siteopt verify`
    result.finished_at = finished_now()  # after both stages of LSCP-B, too
    return result


def _with_siting(inst: Instance, **update: object) -> Instance:
    """`inst` with some `siting` settings replaced (same tables, fingerprint, overrides)."""
    meta = inst.meta.model_copy(update={"siting": inst.meta.siting.model_copy(update=update)})
    return replace(inst, meta=meta)


def _backup_cover(inst: Instance, options: SolveOptions, checks: bool, runner: Runner | None
                  ) -> Result:
    """LSCP-B as spopt states it: p = the set-covering number, then the most backup at p.

    Stage 1 solves `site_count` (the fewest sites that serve all demand within target);
    stage 2 solves `backup_uncovered_mw` with `siting.sites` = p exactly. A first stage
    without a proven optimum, or stopped by a signal, is returned as it is, with a warning.
    The time limit holds for both stages together: the second gets what the first left.
    """
    started = time.perf_counter()
    first = _solve(_with_siting(inst, objective="site_count"), options, checks, runner)
    if first.status != "optimal" or first.objective is None or first.interrupted_by:
        ended = (f"was stopped by {signal_name(first.interrupted_by)}"
                 if first.interrupted_by else f"ended {first.status}")
        first.warnings.append(f"backup coverage (LSCP-B): the set-covering stage {ended}, "
                              "so the backup stage was not run")
        return first
    p = round(first.objective)
    if options.time_limit is not None:
        options = replace(options, time_limit=max(
            0.0, options.time_limit - (time.perf_counter() - started)))
    second = _solve(_with_siting(inst, sites=p, sites_rule="exactly"), options, checks, runner)
    second.stages = {"set_covering_sites": p,
                     "set_covering_seconds": first.timings.get("total", 0.0)}
    second.timings["set_covering"] = first.timings.get("total", 0.0)
    return second


def _solve(inst: Instance, options: SolveOptions, checks: bool, runner: Runner | None
           ) -> Result:
    if options.gap is None:
        options = replace(options, gap=inst.meta.solver.gap)
    # the instance's own making (read, checks, graph) is part of the job's time
    timings: dict[str, float] = dict(inst.timings)
    warnings = list(inst.warnings)
    t = time.perf_counter()
    if checks:
        findings = presolve_checks(inst)
        timings["presolve"] = time.perf_counter() - t
        warnings += [str(f) for f in findings if f.level == "warning"]
        if errors(findings):
            return Result(status="infeasible", objective=None, bound=None, gap=None,
                          verified=False, violations=[str(f) for f in errors(findings)],
                          tables={}, timings=timings, size={}, instance_name=inst.meta.name,
                          fingerprint=inst.fingerprint, options=options, warnings=warnings,
                          solver_status="pre-solve checks",
                          objective_name=inst.meta.siting.objective,
                          instance_path=_path(inst), cost_unit=inst.meta.cost_unit)
        t = time.perf_counter()
    data = build_data(inst)
    timings["data"] = time.perf_counter() - t
    t = time.perf_counter()
    model = create_model(data, tighten=options.tighten)
    timings["build"] = time.perf_counter() - t
    t = time.perf_counter()
    base = dict(instance_name=inst.meta.name, fingerprint=inst.fingerprint, options=options,
                warnings=warnings, objective_name=data.objective, instance_path=_path(inst),
                cost_unit=inst.meta.cost_unit)
    try:
        mat = compile_model(model)
    except TrivialInfeasibilityError as exc:
        timings["handoff"] = time.perf_counter() - t
        return Result(status="infeasible", objective=None, bound=None, gap=None,
                      verified=False, violations=[str(exc)], tables={}, timings=timings,
                      size={}, solver_status="infeasible fixed constraint", **base)
    timings["handoff"] = time.perf_counter() - t
    rows, cols, nnz = mat.shape
    size = {"rows": rows, "columns": cols, "nonzeros": nnz,
            "integer_columns": int(mat.integrality.sum())}
    ranges = coefficient_ranges(mat)
    warnings += numerics_warnings(mat, ranges)
    base.update(coefficient_ranges=ranges)
    if runner is None:
        outcome, method = run_method(mat, data, options)
    else:
        outcome, method = runner(mat, options), MethodReport(requested="custom", name="custom")
    base.update(method=method)
    timings["handoff"] += outcome.pass_seconds
    timings["solve"] = outcome.solve_seconds
    base.update(interrupted_by=outcome.interrupted_by)
    if outcome.x is None:
        status = (outcome.status if outcome.status in ("infeasible", "unbounded", "interrupted")
                  else "no_plan")
        flip = -1.0 if data.objective in MAXIMIZED else 1.0
        return Result(status=status, objective=None, bound=_finite(flip * outcome.bound),
                      gap=None,
                      verified=False, violations=[], tables={}, timings=timings, size=size,
                      solver_status=outcome.model_status, **base)
    primary = outcome
    if data.objective != "total_cost" and outcome.status == "optimal":
        outcome, mat, stopped_by = _cheapest_keeping(model, mat, outcome, options, timings,
                                                     warnings)
        base.update(interrupted_by=stopped_by)
        if outcome is not primary:
            method.phase("second stage: cheapest plan at that objective",
                         outcome.solve_seconds, outcome)
    t = time.perf_counter()
    polished, problem = polish(mat, outcome, options)
    timings["polish"] = time.perf_counter() - t
    method.phase("polish: integers rounded, continuous part re-solved", timings["polish"],
                 polished)
    if problem:
        warnings.append(problem)
    if outcome is primary:
        primary = polished
    outcome = polished
    t = time.perf_counter()
    load_values(model, mat, outcome.x)
    tables = extract(model, data, inst)
    timings["extract"] = time.perf_counter() - t
    t = time.perf_counter()
    total_cost = float(tables["costs"]["total_pv"].sum())
    objective = objective_value(data.objective, tables, data)
    report = check_plan(inst, tables, objective)
    violations = list(report.violations)
    sign = -1.0 if data.objective in MAXIMIZED else 1.0  # the model minimizes the negation
    compare = [(sign * primary.objective, objective, data.objective)]
    if outcome is not primary:
        compare.append((outcome.objective, total_cost, "total_cost"))
    for solver_value, value, name in compare:
        if abs(solver_value - value) > 1e-6 * max(1.0, abs(value)):
            violations.append(f"HiGHS {name} {solver_value:.6f} differs from the plan's "
                              f"recomputed value {value:.6f}")
    timings["verify"] = time.perf_counter() - t
    binding = resilience_binding(inst, tables)
    timings["total"] = sum(timings.values())
    return Result(status=primary.status, objective=objective,
                  bound=_finite(sign * primary.bound) if primary.bound is not None else None,
                  gap=_finite(primary.gap), verified=not violations, violations=violations,
                  tables=tables, timings=timings, size=size, solver_status=primary.model_status,
                  check=report, total_cost=total_cost, resilience=binding, **base)


def _cheapest_keeping(model: object, mat: Matrices, primary: SolverOutcome,
                      options: SolveOptions, timings: dict[str, float], warnings: list[str]
                      ) -> tuple[SolverOutcome, Matrices, int | None]:
    """Second stage: the cheapest plan whose primary objective stays at its optimum.

    Falls back to the first-stage plan if the second stage finds nothing better in time.
    Also returns the signal that stopped the second stage, if one did.
    """
    t = time.perf_counter()
    values = {id(v): float(x) for v, x in zip(mat.columns, primary.x, strict=True)}
    slack = max(1e-6, 1e-9 * abs(primary.objective))
    add_objective_bound(model, primary.objective + slack)
    mat2 = compile_model(model)
    timings["handoff"] += time.perf_counter() - t
    limit = options.time_limit
    if limit is not None:
        limit = max(1.0, limit - primary.solve_seconds)
    second = solve_matrices(mat2, replace(options, time_limit=limit),
                            start=column_values(mat2, values))
    timings["solve"] += second.solve_seconds
    timings["handoff"] += second.pass_seconds
    if second.interrupted_by is not None:
        warnings.append(f"the second stage (cheapest plan at that objective) was stopped by "
                        f"{signal_name(second.interrupted_by)}: total_cost may not be the least "
                        "possible")
    if second.x is None:
        warnings.append(f"the second stage (cheapest plan at that objective) found no plan "
                        f"({second.status}); the first-stage plan is reported")
        return primary, mat, second.interrupted_by
    if second.status != "optimal":
        warnings.append(f"the second stage (cheapest plan at that objective) stopped at "
                        f"{second.status}: total_cost may not be the least possible")
    return second, mat2, second.interrupted_by


def _path(inst: Instance) -> str | None:
    return None if inst.path is None else str(inst.path.resolve())


def _finite(x: float) -> float | None:
    return None if x is None or x != x or abs(x) == float("inf") else float(x)


__all__ = ["RESULT_TABLES", "Result", "SolveOptions", "build", "solve"]
