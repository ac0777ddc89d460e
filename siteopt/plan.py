"""Solving an instance end to end: data, model, HiGHS, result tables, independent check."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

import pandas as pd

from siteopt.checker import CheckReport, check_plan
from siteopt.instance import Instance
from siteopt.interrupt import signal_name
from siteopt.model.build import create_model
from siteopt.model.data import ModelData, build_data
from siteopt.numerics import coefficient_ranges, numerics_warnings
from siteopt.presolve import errors, presolve_checks
from siteopt.results import RESULT_TABLES, extract
from siteopt.solver import (
    SolveOptions,
    TrivialInfeasibilityError,
    compile_model,
    load_values,
    solve_matrices,
)

#: Statuses whose result carries a plan.
PLAN_STATUSES = ("optimal", "time_limit", "interrupted", "limit")


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
            "status": self.status,
            "solver_status": self.solver_status,
            "objective": self.objective,
            "objective_unit": "USD M (present value)",
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
            "options": {"time_limit": self.options.time_limit, "gap": self.options.gap,
                        "threads": self.options.threads, "seed": self.options.seed},
            "warnings": self.warnings,
            "versions": package_versions(),
        }


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


def solve(inst: Instance, options: SolveOptions | None = None, checks: bool = True) -> Result:
    """Solve `inst`; the returned plan, if any, has been checked by `siteopt.checker`.

    With `checks`, the pre-solve checks run first: their warnings join the result's, and an
    error (a proof of infeasibility) returns an infeasible result without building a model.
    """
    options = options or SolveOptions()
    timings: dict[str, float] = {}
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
                          solver_status="pre-solve checks")
        t = time.perf_counter()
    data = build_data(inst)
    timings["data"] = time.perf_counter() - t
    t = time.perf_counter()
    model = create_model(data)
    timings["build"] = time.perf_counter() - t
    t = time.perf_counter()
    base = dict(instance_name=inst.meta.name, fingerprint=inst.fingerprint, options=options,
                warnings=warnings)
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
    outcome = solve_matrices(mat, options)
    timings["solve"] = outcome.solve_seconds
    base.update(interrupted_by=outcome.interrupted_by)
    if outcome.x is None:
        status = (outcome.status if outcome.status in ("infeasible", "unbounded", "interrupted")
                  else "no_plan")
        return Result(status=status, objective=None, bound=_finite(outcome.bound), gap=None,
                      verified=False, violations=[], tables={}, timings=timings, size=size,
                      solver_status=outcome.model_status, **base)
    t = time.perf_counter()
    load_values(model, mat, outcome.x)
    tables = extract(model, data, inst)
    timings["extract"] = time.perf_counter() - t
    t = time.perf_counter()
    objective = float(tables["costs"]["total_pv"].sum())
    report = check_plan(inst, tables, objective)
    violations = list(report.violations)
    if abs(outcome.objective - objective) > 1e-6 * max(1.0, abs(objective)):
        violations.append(f"HiGHS objective {outcome.objective:.6f} differs from the model's "
                          f"cost terms {objective:.6f}")
    timings["verify"] = time.perf_counter() - t
    timings["total"] = sum(timings.values())
    return Result(status=outcome.status, objective=objective, bound=_finite(outcome.bound),
                  gap=_finite(outcome.gap), verified=not violations, violations=violations,
                  tables=tables, timings=timings, size=size, solver_status=outcome.model_status,
                  check=report, **base)


def _finite(x: float) -> float | None:
    return None if x is None or x != x or abs(x) == float("inf") else float(x)


__all__ = ["RESULT_TABLES", "Result", "SolveOptions", "build", "solve"]
