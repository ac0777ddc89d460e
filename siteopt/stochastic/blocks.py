"""Solving an extensive form end to end: compile, HiGHS, polish, one checked plan per scenario.

The same steps as `siteopt.solver.pipeline.solve`, on a model with one block per scenario:
each scenario's plan is extracted from its block into ordinary result tables and re-checked by
the independent checker against *that scenario's* instance. A single scenario with a fixed
first stage is how a candidate commitment is evaluated (recourse), and a single free scenario
is its wait-and-see plan; both go through here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from siteopt.checks.presolve import errors, presolve_checks
from siteopt.data.instance import Instance
from siteopt.model.compile import TrivialInfeasibilityError, compile_model
from siteopt.model.data import build_data
from siteopt.solver.highs import SolveOptions, load_values, solve_matrices
from siteopt.solver.pipeline import Result
from siteopt.solver.polish import polish, relative_gap
from siteopt.solver.results import extract
from siteopt.stochastic.extensive import create_extensive
from siteopt.stochastic.firststage import FirstStage, Start, first_stage_of
from siteopt.stochastic.measures import risk_objective
from siteopt.stochastic.spec import Risk
from siteopt.verify.checker import check_plan


@dataclass
class BlockSolve:
    """The outcome of one extensive-form solve (or recourse evaluation)."""

    status: str
    objective: float | None  # the risk objective recomputed from the scenarios' checked plans
    bound: float | None
    gap: float | None
    results: list[Result] = field(default_factory=list)
    first_stage: FirstStage | None = None
    seconds: float = 0.0
    size: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    #: the first-stage keys of the model: (s,p,k,t) phase starts and (u,t) upgrade starts
    keys: tuple[tuple, ...] = ()

    @property
    def has_plan(self) -> bool:
        """Whether every scenario has a plan."""
        return self.objective is not None and bool(self.results)

    @property
    def verified(self) -> bool:
        """Every scenario's plan verified and the first stage shared."""
        return self.has_plan and not self.violations and all(r.verified for r in self.results)

    @property
    def costs(self) -> list[float]:
        """Each scenario's present cost (total_cost), in order."""
        return [float(r.total_cost) for r in self.results]  # type: ignore[arg-type]


def bounds_of(solves: Sequence[BlockSolve | None]) -> list[float]:
    """Each solve's proven lower bound; NaN where it proved none (or was not run).

    With the commitments fixed, a bound of the recourse solve bounds that scenario's
    optimal recourse cost: what the EEV and VSS intervals are built from.
    """
    return [math.nan if s is None or s.bound is None else s.bound for s in solves]


def solve_blocks(instances: Sequence[Instance], probabilities: Sequence[float],
                 decision_year: int, risk: Risk | None = None,
                 options: SolveOptions | None = None, fixed: FirstStage | None = None,
                 checks: bool = True, penalty: dict[tuple, float] | None = None,
                 only: set[tuple] | None = None, floor: float | None = None) -> BlockSolve:
    """Solve the extensive form over `instances` (with `fixed` commitments, if given).

    `penalty` and `only` make it a Lagrangian subproblem (`create_extensive`): `bound` is
    then HiGHS's bound of cost + penalty, `objective` still the plain cost. `floor` is a
    lower bound of the objective proven elsewhere (`solve_matrices(floor=...)`: a plan
    within the gap of it ends the search).
    """
    with PauseGC():
        return _solve_blocks(list(instances), list(probabilities), decision_year,
                             risk or Risk(), options or SolveOptions(), fixed, checks,
                             penalty or {}, only, floor)


def _solve_blocks(instances: list[Instance], probabilities: list[float], decision_year: int,
                  risk: Risk, options: SolveOptions, fixed: FirstStage | None, checks: bool,
                  penalty: dict[tuple, float], only: set[tuple] | None,
                  floor: float | None = None) -> BlockSolve:
    started = time.perf_counter()
    if options.gap is None:
        options = replace(options, gap=instances[0].meta.solver.gap)
    if checks:
        found = [f"{inst.meta.name}: {f}" for inst in instances
                 for f in errors(presolve_checks(inst))]
        if found:
            return BlockSolve("infeasible", None, None, None, violations=found,
                              seconds=time.perf_counter() - started)
    datas = [build_data(inst) for inst in instances]
    ef = create_extensive(datas, probabilities, decision_year, risk, options.tighten, fixed,
                          penalty, only)
    try:
        mat = compile_model(ef.model)
    except TrivialInfeasibilityError as exc:
        return BlockSolve("infeasible", None, None, None, violations=[str(exc)],
                          seconds=time.perf_counter() - started)
    rows, cols, nnz = mat.shape
    size = {"rows": rows, "columns": cols, "nonzeros": nnz,
            "integer_columns": int(mat.integrality.sum())}
    outcome = solve_matrices(mat, options, floor=floor)
    if outcome.x is None:
        return BlockSolve(outcome.status if outcome.status in ("infeasible", "interrupted")
                          else "no_plan", None, _finite(outcome.bound), None, size=size,
                          seconds=time.perf_counter() - started)
    polished, problem = polish(mat, outcome, options)
    load_values(ef.model, mat, polished.x)
    violations = [problem] if problem else []
    results = []
    first_stage = model_first_stage(ef.model)
    for i, (inst, d, blk) in enumerate(zip(instances, datas, ef.blocks, strict=True)):
        tables = extract(blk, d, inst)
        cost = float(tables["costs"]["total_pv"].sum())
        report = check_plan(inst, tables, cost)
        mine = first_stage_of(tables, d, decision_year)
        if mine != first_stage:
            violations.append(f"scenario {i}: commitments {sorted(mine ^ first_stage)} differ "
                              "from the shared first stage")
        results.append(Result(
            status=outcome.status, objective=cost, bound=None, gap=None,
            verified=not report.violations, violations=list(report.violations), tables=tables,
            timings={}, size=size, instance_name=inst.meta.name, fingerprint=inst.fingerprint,
            options=options, warnings=list(inst.warnings), solver_status=outcome.model_status,
            check=report, total_cost=cost, overrides=[[k, v] for k, v in inst.overrides],
            instance_path=None if inst.path is None else str(inst.path.resolve()),
            cost_unit=inst.meta.cost_unit))
    objective = risk_objective([r.objective for r in results], probabilities, risk)  # type: ignore[misc]
    priced = objective + penalty_value(ef.model, penalty)
    if abs(priced - polished.objective) > 1e-6 * max(1.0, abs(priced)):
        violations.append(f"HiGHS objective {polished.objective:.6f} differs from the plans' "
                          f"recomputed value {priced:.6f}")
    bound = _finite(outcome.bound)
    gap = relative_gap(objective, bound) if bound is not None else None
    return BlockSolve(outcome.status, objective, bound, gap, results, first_stage,
                      time.perf_counter() - started, size, violations,
                      tuple(ef.phase_keys) + tuple(ef.upgrade_keys))


def penalty_value(m: pyo.ConcreteModel, penalty: dict[tuple, float]) -> float:
    """sum_key w_key * started_key at the loaded plan (0 without a penalty)."""
    total = 0.0
    for key, w in penalty.items():
        if len(key) == 4 and key in m.FS_PHASE:
            total += w * round(pyo.value(m.started[key]))
        elif len(key) == 2 and key in m.FS_UPGRADE:
            total += w * round(pyo.value(m.upgrade_started[key]))
    return total


def model_first_stage(m: pyo.ConcreteModel) -> FirstStage:
    """The commitments in a solved extensive form: the first year each start is made."""
    out: dict[tuple[str, ...], Start] = {}
    for (s, p, k, t) in m.FS_PHASE:
        if round(pyo.value(m.started[s, p, k, t])) == 1 and (
                (s, p, k) not in out or t < out[s, p, k].year):
            out[s, p, k] = Start("phase", s, p, k, "", t)
    for (u, t) in m.FS_UPGRADE:
        if round(pyo.value(m.upgrade_started[u, t])) == 1 and (
                (u,) not in out or t < out[(u,)].year):
            out[(u,)] = Start("upgrade", "", "", "", u, t)
    return frozenset(out.values())


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)
