"""The two-stage analysis: the stochastic plan and what it is compared with.

`solve_stochastic` solves the recourse problem (the extensive form, or the decomposition of
`decompose.py` for many scenarios), then the comparisons a planner reads: each scenario's
wait-and-see plan (perfect foresight, for EVPI), the mean-value plan and its commitments in
every scenario (EEV, for VSS), and the deterministic plan of the instance as given with its
commitments in every scenario. Single-scenario solves run on the shared Dask client when
`workers`/`scheduler` ask for it, else in this process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import replace

from siteopt.data.instance import Instance
from siteopt.solver.highs import SolveOptions
from siteopt.solver.pipeline import finished_now
from siteopt.stochastic.blocks import BlockSolve, bounds_of, solve_blocks
from siteopt.stochastic.decompose import decompose
from siteopt.stochastic.firststage import FirstStage
from siteopt.stochastic.meanvalue import mean_instance
from siteopt.stochastic.measures import risk_objective
from siteopt.stochastic.pool import ScenarioPool
from siteopt.stochastic.result import StochasticResult
from siteopt.stochastic.spec import ScenarioSet, scenario_instances
from siteopt.stochastic.tasks import (
    EXTENSIVE_MAX,
    Listener,
    StochasticOptions,
    quiet,
    solve_one,
)

__all__ = ["EXTENSIVE_MAX", "Listener", "StochasticOptions", "solve_stochastic"]

def evaluate(pool: ScenarioPool, fs: FirstStage, decision_year: int, options: SolveOptions,
             scenarios: Sequence[int], listener: Listener | None = None, phase: str = "evaluate"
             ) -> list[BlockSolve]:
    """The recourse of every scenario to the commitments `fs`, in scenario order."""
    out: list[BlockSolve | None] = [None] * len(scenarios)
    tasks = [(i, (decision_year, quiet(options), fs)) for i in scenarios]
    for done, (pos, value) in enumerate(pool.run(solve_one, tasks), start=1):
        out[pos] = value  # type: ignore[assignment]
        if listener:
            listener({"phase": phase, "done": done, "total": len(tasks)})
    return out  # type: ignore[return-value]


def costs_of(solves: Sequence[BlockSolve]) -> list[float]:
    """Each solve's objective; infinity where it is infeasible, NaN where it has no plan.

    NaN: the solve ended without a plan for another reason (its time limit), so nothing is
    known of that scenario's cost.
    """
    return [s.objective if s.objective is not None
            else math.inf if s.status == "infeasible" else math.nan for s in solves]


def solve_stochastic(base: Instance, sset: ScenarioSet, options: SolveOptions | None = None,
                     how: StochasticOptions | None = None, listener: Listener | None = None
                     ) -> StochasticResult:
    """Solve the two-stage problem of `sset` on `base`, with EVPI and VSS when comparing."""
    options = options or SolveOptions()
    how = how or StochasticOptions()
    if options.gap is None:
        options = replace(options, gap=base.meta.solver.gap)
    if base.meta.siting.objective != "total_cost":
        from siteopt.errors import InputError, Problem

        raise InputError(Problem(sset.path, "an instance minimizing total_cost (two-stage "
                                 "solves weigh scenario costs)",
                                 found=f"siting.objective = {base.meta.siting.objective}"))
    method = how.method
    if method == "auto":
        method = "extensive" if len(sset.scenarios) <= EXTENSIVE_MAX else "decompose"
    instances = scenario_instances(base, sset)
    timings: dict[str, float] = {}
    with ScenarioPool(instances, how.workers, how.scheduler) as pool:
        t = time.perf_counter()
        if method == "extensive":
            result = _extensive(base, sset, instances, options, listener)
            timings["recourse_problem"] = time.perf_counter() - t
            if sset.risk.weight >= 1.0 and result.has_plan and result.here_and_now is not None:
                t = time.perf_counter()
                cheapest_recourse(result, pool, options, listener)
                timings["cheapest_recourse"] = time.perf_counter() - t
            if how.compare:
                compare = (options if how.compare_gap is None
                           else replace(options, gap=how.compare_gap))
                _compare(result, pool, base, sset, compare, listener, timings)
        else:
            result = decompose(base, sset, pool, options, how, listener, timings)
    result.timings.update(timings)
    result.finished_at = finished_now()
    return result


def _extensive(base: Instance, sset: ScenarioSet, instances: list[Instance],
               options: SolveOptions, listener: Listener | None) -> StochasticResult:
    if listener:
        listener({"phase": "extensive form", "done": 0, "total": 1})
    rp = solve_blocks(instances, sset.probabilities, sset.decision_year, sset.risk, options)
    if listener:
        listener({"phase": "extensive form", "done": 1, "total": 1, "bound": rp.bound,
                  "incumbent": rp.objective})
    return StochasticResult(
        method="extensive", status=rp.status if rp.has_plan or rp.status != "optimal"
        else "no_plan", scenario_set=sset, instance_name=base.meta.name,
        objective=rp.objective, bound=rp.bound, here_and_now=rp.first_stage,
        plans=rp.results, violations=list(rp.violations), size=rp.size)


def cheapest_recourse(result: StochasticResult, pool: ScenarioPool, options: SolveOptions,
                      listener: Listener | None = None) -> None:
    """Each scenario's plan replaced by its cheapest recourse to the same commitments.

    With `risk.weight` 1 the objective is CVaR alone, and a scenario whose cost lies below
    the CVaR threshold (`eta`) has weight 0 in it: the extensive form may return any
    recourse there that costs at most `eta` (on a generated instance, every scenario at the
    worst scenario's cost), so its plan, `expected_cost` and the cost table would describe
    waste no planner would choose. Each scenario is re-solved alone with the commitments
    fixed (as the decomposition evaluates a candidate); a verified plan that is cheaper
    replaces the block's. The objective is monotone in each scenario's cost, so it does not
    rise (an optimal plan stays optimal); it is recomputed from the plans kept.
    """
    fs = result.here_and_now
    n = len(result.plans)
    solves = evaluate(pool, fs, result.scenario_set.decision_year,  # type: ignore[arg-type]
                      options, list(range(n)), listener, phase="cheapest recourse")
    replaced = 0
    for i, solve in enumerate(solves):
        old = float(result.plans[i].total_cost)  # type: ignore[arg-type]
        if (solve.verified and solve.objective is not None
                and solve.objective < old - 1e-9 * max(1.0, abs(old))):
            result.plans[i] = solve.results[0]
            replaced += 1
    if replaced:
        result.objective = risk_objective(result.costs, result.probabilities,
                                          result.scenario_set.risk)
    result.notes.append(f"risk.weight 1 (CVaR alone): each scenario's recourse to the "
                        f"commitments re-solved alone; {replaced} of {n} plans were cheaper "
                        "and replace the extensive form's (a scenario below the CVaR "
                        "threshold weighs nothing in its objective)")


def _compare(result: StochasticResult, pool: ScenarioPool, base: Instance, sset: ScenarioSet,
             options: SolveOptions, listener: Listener | None, timings: dict[str, float]
             ) -> None:
    """Wait-and-see, mean-value (EEV) and deterministic plans, each checked like any plan."""
    n = len(sset.scenarios)
    everyone = list(range(n))
    d = sset.decision_year
    t = time.perf_counter()
    tasks = [(i, (d, quiet(options))) for i in everyone]
    ws: list[BlockSolve | None] = [None] * n
    for done, (pos, value) in enumerate(pool.run(solve_one, tasks), start=1):
        ws[pos] = value  # type: ignore[assignment]
        if listener:
            listener({"phase": "wait-and-see", "done": done, "total": n})
    result.wait_and_see = ws  # type: ignore[assignment]
    timings["wait_and_see"] = time.perf_counter() - t
    t = time.perf_counter()
    mean = pool.add(mean_instance(pool.instances[:n], sset.probabilities))
    base_i = pool.add(base)
    firsts = dict(pool.run(solve_one, [(mean, (d, quiet(options))), (base_i, (d, quiet(options)))]))
    result.mean_value, result.deterministic = firsts[0], firsts[1]  # type: ignore[assignment]
    # per commitments: each scenario's recourse cost and its proven lower bound; the
    # stochastic plan's own commitments have no scenario-wise bounds (one joint solve)
    cache: dict[FirstStage, tuple[list[float], list[float] | None]] = {}
    if result.here_and_now is not None:
        cache[result.here_and_now] = (result.costs, None)
    for which in ("mean_value", "deterministic"):
        solve: BlockSolve = getattr(result, which)
        if solve.first_stage is None:
            continue
        if solve.first_stage not in cache:
            solves = evaluate(pool, solve.first_stage, d, options, everyone, listener,
                              phase=which)
            cache[solve.first_stage] = (costs_of(solves), bounds_of(solves))
        costs, bounds = cache[solve.first_stage]
        if which == "mean_value":
            result.eev_costs, result.eev_bounds = costs, bounds
        else:
            result.deterministic_costs, result.deterministic_bounds = costs, bounds
    timings["mean_value_and_deterministic"] = time.perf_counter() - t
