r"""Many scenarios: a valid lower bound, verified candidate plans above it, and the gap.

Lower bound: each scenario's wait-and-see solve gives a bound $b_s$ on its cost with perfect
foresight; every first stage costs at least $b_s$ in scenario $s$, and the objective
$(1-\lambda)E + \lambda\,\mathrm{CVaR}_\alpha$ is monotone in each scenario's cost, so the
objective at $(b_s)$ bounds the optimum from below (`models/stochastic.md`, "Decomposition").

Upper bound: candidate commitments (the mean-value plan's, the deterministic plan's, then the
wait-and-see plans' commitments by the probability of the scenarios that chose them) are each
evaluated by solving every scenario with the first stage fixed, in parallel; every such plan
passes the independent checker, so the best complete candidate is a verified plan and its
objective an upper bound. A candidate is dropped as soon as its finished scenarios, with the
wait-and-see bounds for the rest, already cost more than the incumbent.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

from siteopt.data.instance import Instance
from siteopt.solver.highs import SolveOptions
from siteopt.stochastic.blocks import BlockSolve
from siteopt.stochastic.firststage import FirstStage
from siteopt.stochastic.meanvalue import mean_instance
from siteopt.stochastic.measures import risk_objective
from siteopt.stochastic.pool import ScenarioPool
from siteopt.stochastic.result import StochasticResult
from siteopt.stochastic.spec import ScenarioSet
from siteopt.stochastic.tasks import Listener, StochasticOptions, quiet, solve_one


def decompose(base: Instance, sset: ScenarioSet, pool: ScenarioPool, options: SolveOptions,
              how: StochasticOptions, listener: Listener | None,
              timings: dict[str, float]) -> StochasticResult:
    """Bound and solve the two-stage problem by scenario-wise solves on the pool."""
    started = time.perf_counter()
    n, d, probs, risk = len(sset.scenarios), sset.decision_year, sset.probabilities, sset.risk
    result = StochasticResult(method="decompose", status="no_plan", scenario_set=sset,
                              instance_name=base.meta.name, objective=None, bound=None,
                              here_and_now=None, plans=[])

    def emit(phase: str, done: int, total: int) -> None:
        if listener:
            listener({"phase": phase, "done": done, "total": total, "bound": result.bound,
                      "incumbent": result.objective, "gap": result.gap})

    ws: list[BlockSolve | None] = [None] * n
    tasks = [(i, (d, quiet(options))) for i in range(n)]
    for done, (pos, value) in enumerate(pool.run(solve_one, tasks), start=1):
        ws[pos] = value  # type: ignore[assignment]
        emit("wait-and-see", done, n)
    result.wait_and_see = ws  # type: ignore[assignment]
    timings["wait_and_see"] = time.perf_counter() - started
    lows = [w.bound if w.bound is not None else (w.objective if w.objective is not None
                                                 else math.inf) for w in ws]  # type: ignore[union-attr]
    if any(w.status == "infeasible" for w in ws):  # type: ignore[union-attr]
        result.status = "infeasible"
        result.violations = [f"scenario {sset.scenarios[i].id} is infeasible even with perfect "
                             "foresight" for i, w in enumerate(ws) if w.status == "infeasible"]  # type: ignore[union-attr]
        return result
    result.bound = risk_objective(lows, probs, risk)
    history = result.history
    history.append({"seconds": time.perf_counter() - started, "bound": result.bound,
                    "incumbent": math.nan, "candidate": -1})
    t = time.perf_counter()
    mean = pool.add(mean_instance(pool.instances[:n], probs))
    base_i = pool.add(base)
    firsts = dict(pool.run(solve_one, [(mean, (d, quiet(options))),
                                       (base_i, (d, quiet(options)))]))
    result.mean_value, result.deterministic = firsts[0], firsts[1]  # type: ignore[assignment]
    timings["mean_value_and_deterministic"] = time.perf_counter() - t
    candidates = _candidates(result, ws, probs, how.max_candidates)  # type: ignore[arg-type]
    best: list[BlockSolve] | None = None
    for c, (label, fs) in enumerate(candidates):
        if how.time_limit is not None and time.perf_counter() - started > how.time_limit:
            result.notes.append(f"time limit reached after {c} of {len(candidates)} candidates")
            break
        solves, complete = _evaluate(pool, fs, d, options, lows, probs, sset, result.objective,
                                     lambda k, label=label: emit(f"candidate {label}", k, n))
        if complete:
            costs = [s.objective if s.objective is not None else math.inf for s in solves]
            value = risk_objective(costs, probs, risk)
            if label == "mean-value":
                result.eev_costs = costs
            if label == "deterministic":
                result.deterministic_costs = costs
            if math.isfinite(value) and (result.objective is None or value < result.objective):
                result.objective, result.here_and_now, best = value, fs, solves  # type: ignore[assignment]
        history.append({"seconds": time.perf_counter() - started, "bound": result.bound,
                        "incumbent": result.objective if result.objective is not None
                        else math.nan, "candidate": c})
        emit(f"candidate {label}", n, n)
        gap = result.gap
        if gap is not None and gap <= how.target_gap:
            break
    timings["candidates"] = time.perf_counter() - t
    if best is not None:
        result.plans = [s.results[0] for s in best]
        result.status = "optimal" if (result.gap or 0.0) <= (options.gap or 0.0) else "gap"
        result.violations = [v for s in best for v in s.violations]
    result.notes.append("decomposition: the bound is the objective at the wait-and-see bounds; "
                        "EVPI is measured against the incumbent (an upper estimate of the "
                        "true EVPI) and VSS likewise a lower estimate")
    return result


def _candidates(result: StochasticResult, ws: list[BlockSolve], probs: list[float],
                limit: int) -> list[tuple[str, FirstStage]]:
    """Distinct first stages to try: mean-value, deterministic, then wait-and-see by mass."""
    out: list[tuple[str, FirstStage]] = []
    seen: set[FirstStage] = set()
    for label, solve in (("mean-value", result.mean_value),
                         ("deterministic", result.deterministic)):
        if solve is not None and solve.first_stage is not None and solve.first_stage not in seen:
            out.append((label, solve.first_stage))
            seen.add(solve.first_stage)
    mass: dict[FirstStage, float] = defaultdict(float)
    for w, p in zip(ws, probs, strict=True):
        if w.first_stage is not None:
            mass[w.first_stage] += p
    for fs, _m in sorted(mass.items(), key=lambda kv: -kv[1]):
        if fs not in seen and len(out) < limit:
            out.append((f"wait-and-see {_m:.2f}", fs))
            seen.add(fs)
    return out[:max(limit, 1)]


def _evaluate(pool: ScenarioPool, fs: FirstStage, d: int, options: SolveOptions,
              lows: list[float], probs: list[float], sset: ScenarioSet,
              incumbent: float | None, tick: object) -> tuple[list[BlockSolve], bool]:
    """Every scenario's recourse to `fs`; stops early once it cannot beat `incumbent`."""
    n = len(lows)
    solves: list[BlockSolve | None] = [None] * n
    partial = list(lows)
    tasks = [(i, (d, quiet(options), fs)) for i in range(n)]
    for done, (pos, value) in enumerate(pool.run(solve_one, tasks), start=1):
        solves[pos] = value  # type: ignore[assignment]
        partial[pos] = value.objective if value.objective is not None else math.inf  # type: ignore[attr-defined]
        tick(done)  # type: ignore[operator]
        if incumbent is not None and risk_objective(partial, probs, sset.risk) >= incumbent:
            return [], False  # cannot beat the incumbent: the rest is not worth solving
    return solves, True  # type: ignore[return-value]
