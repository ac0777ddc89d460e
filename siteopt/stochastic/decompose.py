r"""Many scenarios: a valid lower bound, verified candidate plans above it, and the gap.

Lower bound: each scenario's wait-and-see solve gives a bound $b_s$ on its cost with perfect
foresight; every first stage costs at least $b_s$ in scenario $s$, and the objective
$(1-\lambda)E + \lambda\,\mathrm{CVaR}_\alpha$ is monotone in each scenario's cost, so the
objective at $(b_s)$ bounds the optimum from below (`models/stochastic.md`, "Decomposition").

Group bound (expectation objective): the extensive forms of small groups of scenarios whose
wait-and-see commitments differ most; the groups' bounds, weighted by the groups'
probabilities, bound the optimum too, and above the wait-and-see bound wherever a group must
share commitments its scenarios would not choose alike.

Upper bound: candidate commitments (the mean-value plan's, the deterministic plan's, the
groups' hedged commitments, then the wait-and-see plans' commitments by the probability of
the scenarios that chose them) are each
evaluated by solving every scenario with the first stage fixed, in parallel; every such plan
passes the independent checker, so the best complete candidate is a verified plan and its
objective an upper bound. A candidate is dropped as soon as its finished scenarios, with the
wait-and-see bounds for the rest, already cost more than the incumbent, or as soon as one
scenario has no plan under it (scenarios are solved most expensive first, where that shows).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from siteopt.data.instance import Instance
from siteopt.solver.highs import SolveOptions
from siteopt.stochastic.blocks import BlockSolve, bounds_of
from siteopt.stochastic.firststage import FirstStage, started_values
from siteopt.stochastic.meanvalue import mean_instance
from siteopt.stochastic.measures import expectation, risk_objective
from siteopt.stochastic.pool import ScenarioPool
from siteopt.stochastic.result import StochasticResult
from siteopt.stochastic.spec import ScenarioSet
from siteopt.stochastic.tasks import (
    Listener,
    StochasticOptions,
    quiet,
    solve_group,
    solve_one,
    solve_priced,
)

#: Share of the time limit after which the group round stops (the rest evaluates candidates).
GROUP_SHARE = 0.6

#: The candidates whose costs are reported figures (EEV, the deterministic plan in every
#: scenario): evaluated in full even once they cannot beat the incumbent or the gap target
#: is met; only the time limit (or a scenario without a recourse) stops them.
COMPARISONS = ("mean-value", "deterministic")


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

    # the mean-value instance is built before the long wait-and-see round, so that data it
    # cannot be built from stops the run at once, not after n solves
    mean_inst = mean_instance(pool.instances[:n], probs)
    ws: list[BlockSolve | None] = [None] * n
    tasks = [(i, (d, quiet(options))) for i in range(n)]
    for done, (pos, value) in enumerate(pool.run(solve_one, tasks), start=1):
        ws[pos] = value  # type: ignore[assignment]
        emit("wait-and-see", done, n)
    result.wait_and_see = ws  # type: ignore[assignment]
    timings["wait_and_see"] = time.perf_counter() - started
    # a valid bound per scenario: HiGHS's bound, the objective only if proven optimal, else
    # nothing is known below it (-inf; the sum is then no bound at all)
    lows = [w.bound if w.bound is not None else (  # type: ignore[union-attr]
        w.objective if w.objective is not None and w.status == "optimal"  # type: ignore[union-attr]
        else (math.inf if w.status == "infeasible" else -math.inf))  # type: ignore[union-attr]
        for w in ws]
    if any(w.status == "infeasible" for w in ws):  # type: ignore[union-attr]
        result.status = "infeasible"
        result.violations = [f"scenario {sset.scenarios[i].id} is infeasible even with perfect "
                             "foresight" for i, w in enumerate(ws) if w.status == "infeasible"]  # type: ignore[union-attr]
        return result
    bound = risk_objective(lows, probs, risk)
    result.bound = bound if math.isfinite(bound) else None  # a scenario without any bound
    history = result.history
    history.append({"seconds": time.perf_counter() - started, "bound": result.bound,
                    "incumbent": math.nan, "candidate": -1})
    t = time.perf_counter()
    mean = pool.add(mean_inst)
    base_i = pool.add(base)
    firsts = dict(pool.run(solve_one, [(mean, (d, quiet(options))),
                                       (base_i, (d, quiet(options)))]))
    result.mean_value, result.deterministic = firsts[0], firsts[1]  # type: ignore[assignment]
    timings["mean_value_and_deterministic"] = time.perf_counter() - t
    state = _Search(pool, d, options, lows, probs, sset, result, emit, how, started)
    hedged: dict[FirstStage, float] = {}
    if not risk.active and 1 < how.group_size < n:
        t = time.perf_counter()
        hedged = _group_round(state, ws, scenario_groups(ws, lows, how.group_size))  # type: ignore[arg-type]
        timings["groups"] = time.perf_counter() - t
        if result.status == "infeasible":
            return result
    t = time.perf_counter()
    queue = _candidates(result, ws, probs, how.max_candidates, hedged)  # type: ignore[arg-type]
    seen = {fs for _label, fs in queue}
    state.run(queue)
    timings["candidates"] = time.perf_counter() - t
    t = time.perf_counter()
    if not risk.active and how.lagrangian_rounds > 0:
        _lagrangian(state, ws, seen)  # type: ignore[arg-type]
        timings["lagrangian"] = time.perf_counter() - t
    best = state.best
    if best is not None:
        result.plans = [s.results[0] for s in best]
        gap = result.gap  # None without a bound: then nothing is proven
        result.status = "optimal" if gap is not None and gap <= (options.gap or 0.0) else "gap"
        result.violations = [v for s in best for v in s.violations]
    result.notes.append("decomposition: the bound is the largest of the objective at the "
                        "wait-and-see bounds, the group bound and the Lagrangian bounds; EVPI "
                        "and VSS subtract incumbents of solves stopped at a gap, so each is "
                        "within those gaps of its true value (evpi_interval, vss_interval and "
                        "value_of_hedging_interval bracket them)")
    return result


class _Search:
    """The incumbent and its evaluation: candidates are tried in order until the gap is met."""

    def __init__(self, pool: ScenarioPool, d: int, options: SolveOptions, lows: list[float],
                 probs: list[float], sset: ScenarioSet, result: StochasticResult,
                 emit: object, how: StochasticOptions, started: float):
        self.pool, self.d, self.options, self.lows = pool, d, options, lows
        self.probs, self.sset, self.result, self.emit = probs, sset, result, emit
        self.how, self.started = how, started
        self.best: list[BlockSolve] | None = None
        self.tried = 0
        self.timed_out = False

    def late(self) -> bool:
        """Whether the time limit is spent (noted once in the result)."""
        late = (self.how.time_limit is not None
                and time.perf_counter() - self.started > self.how.time_limit)
        if late and not self.timed_out:
            self.timed_out = True
            self.result.notes.append(f"time limit reached after {self.tried} candidates "
                                     "(a candidate or Lagrangian round it cut short is "
                                     "dropped)")
        return late

    def past(self, share: float) -> bool:
        """Whether `share` of the time limit is spent (never without a limit)."""
        return (self.how.time_limit is not None
                and time.perf_counter() - self.started > share * self.how.time_limit)

    def done(self) -> bool:
        """Whether the gap target or the time limit is reached."""
        gap = self.result.gap
        return self.late() or (gap is not None and gap <= self.how.target_gap)

    def run(self, queue: list[tuple[str, FirstStage]]) -> None:
        """Evaluate the candidates of `queue` in order (until done).

        A comparison (`COMPARISONS`) is evaluated past the gap target and the incumbent:
        its cost in every scenario is reported whether or not it is the best plan.
        """
        result = self.result
        for label, fs in queue:
            compared = label in COMPARISONS
            if self.late() if compared else self.done():
                return
            self.tried += 1
            solves, complete, why = _evaluate(
                self.pool, fs, self.d, self.options, self.lows, self.probs, self.sset,
                None if compared else result.objective,
                lambda k, label=label: self.emit(f"candidate {label}", k,  # type: ignore[operator]
                                                 len(self.probs)),
                self.late)
            if why:
                result.notes.append(f"candidate {label}: {why}")
            if solves and complete and not all(s.verified for s in solves):
                # a plan the checker rejects is no upper bound (a bug if it ever happens)
                bad = next(i for i, s in enumerate(solves) if not s.verified)
                result.notes.append(
                    f"candidate {label}: the plan of scenario {self.sset.scenarios[bad].id} "
                    f"failed verification ({'; '.join(_violations(solves[bad])[:2])}); "
                    "not used as the incumbent")
                solves = []
            if solves:  # complete, or stopped at a scenario it leaves without a plan
                costs = [math.nan if s is None else s.objective if s.objective is not None
                         else math.inf for s in solves]
                if not complete:
                    skipped = sum(s is None for s in solves)
                    rest = (f"; the other {skipped} scenarios were not evaluated (its cost "
                            "there is NaN)" if skipped else "")
                    result.notes.append(
                        f"candidate {label}: no feasible recourse in scenario "
                        f"{self.sset.scenarios[costs.index(math.inf)].id}{rest}")
                value = (math.inf if any(math.isinf(c) for c in costs)
                         else risk_objective(costs, self.probs, self.sset.risk))
                # the deterministic plan may commit what the mean-value plan does: one
                # evaluation (labelled "mean-value" in the queue) gives both figures
                if fs == _first_stage(result.mean_value):
                    result.eev_costs, result.eev_bounds = costs, bounds_of(solves)
                if fs == _first_stage(result.deterministic):
                    result.deterministic_costs = costs
                    result.deterministic_bounds = bounds_of(solves)
                if math.isfinite(value) and (result.objective is None
                                             or value < result.objective):
                    result.objective, result.here_and_now, self.best = value, fs, solves
            self.record(self.tried)
            self.emit(f"candidate {label}", len(self.probs), len(self.probs))  # type: ignore[operator]

    def record(self, candidate: int) -> None:
        """One row of the bound/incumbent history."""
        r = self.result
        r.history.append({"seconds": time.perf_counter() - self.started, "bound": r.bound,
                          "incumbent": r.objective if r.objective is not None else math.nan,
                          "candidate": candidate})


def _first_stage(solve: BlockSolve | None) -> FirstStage | None:
    """The commitments of a comparison plan (None without one)."""
    return None if solve is None else solve.first_stage


def _vector(fs: FirstStage | None, keys: list[tuple]) -> np.ndarray:
    phases, upgrades = started_values(fs or frozenset(), [k for k in keys if len(k) == 4],
                                      [k for k in keys if len(k) == 2])
    values = {**phases, **upgrades}
    return np.array([values[k] for k in keys], dtype=float)


def _lagrangian(state: _Search, ws: list[BlockSolve], seen: set[FirstStage]) -> None:
    r"""Raise the bound by relaxing non-anticipativity with multipliers (expectation only).

    $L(w)=\sum_s p_s \min_x [C_s(x) + w_s \cdot x_s]$ with $\sum_s p_s w_s = 0$ bounds the
    optimum from below for any such $w$ (each HiGHS bound of a subproblem is used, so it
    stays valid with a gap). Subgradient $g_s = x_s - \bar x$ (which keeps $\sum p_s w_s=0$),
    Polyak step $(UB - L)/\sum_s p_s \lVert g_s\rVert^2$, halved when $L$ does not rise.
    New first stages found by the subproblems become candidates.
    """
    result, probs = state.result, np.asarray(state.probs)
    keys = sorted(set.intersection(*[set(w.keys) for w in ws]), key=repr)
    if not keys or not all(map(math.isfinite, state.lows)):
        return  # the step needs a finite bound to start from
    only = set(keys)
    x = np.vstack([_vector(w.first_stage, keys) for w in ws])
    mult = np.zeros_like(x)
    last = float(probs @ np.asarray(state.lows))
    factor = 1.0
    n = len(ws)
    for _round in range(state.how.lagrangian_rounds):
        if state.done() or result.objective is None:
            return
        g = x - probs @ x
        norm = float(probs @ (g * g).sum(axis=1))
        if norm < 1e-12:
            return  # every subproblem makes the same commitments: nothing left to price
        mult = mult + factor * (result.objective - last) / norm * g
        tasks = [(i, (state.d, quiet(state.options),
                      {k: float(w) for k, w in zip(keys, mult[i], strict=True) if w}, only))
                 for i in range(n)]
        subs: list[BlockSolve | None] = [None] * n
        for done, (pos, value) in enumerate(state.pool.run(solve_priced, tasks), start=1):
            subs[pos] = value  # type: ignore[assignment]
            state.emit("lagrangian", done, n)  # type: ignore[operator]
            if done < n and state.late():
                return  # a round needs every subproblem's bound: this one is dropped
        if any(s is None or s.bound is None for s in subs):
            return
        value = float(probs @ np.array([s.bound for s in subs]))  # type: ignore[union-attr]
        factor = factor if value > last else factor / 2
        last = value
        if value > (result.bound or -math.inf):
            result.bound = value
        x = np.vstack([_vector(s.first_stage, keys) for s in subs])  # type: ignore[union-attr]
        fresh = []
        for s in subs:
            fs = s.first_stage  # type: ignore[union-attr]
            if fs is not None and fs not in seen:
                seen.add(fs)
                fresh.append(("lagrangian", fs))
        state.record(state.tried)
        state.run(fresh[:2])


def scenario_groups(ws: list[BlockSolve], lows: list[float], size: int) -> list[list[int]]:
    """Scenarios in groups of `size` whose wait-and-see commitments differ most.

    A group's extensive form raises the bound only where its scenarios want different
    commitments (it must choose one for all), so each group starts from the dearest
    scenario left and adds, one at a time, the scenario whose wait-and-see first stage is
    farthest (in commitments not shared) from the group's; ties go to the dearer scenario.
    """
    left = sorted(range(len(ws)), key=lambda i: (-lows[i], i))
    firsts = [w.first_stage or frozenset() for w in ws]
    groups = []
    while left:
        group = [left.pop(0)]
        while left and len(group) < size:
            far = max(range(len(left)), key=lambda j: (
                sum(len(firsts[left[j]] ^ firsts[i]) for i in group), -j))
            group.append(left.pop(far))
        groups.append(sorted(group))
    return groups


def _group_round(state: _Search, ws: list[BlockSolve], groups: list[list[int]]
                 ) -> dict[FirstStage, float]:
    r"""Raise the bound by the extensive forms of scenario groups; their first stages.

    For a partition of the scenarios into groups $g$ of probability $P_g$,
    $RP=\min_x\sum_g P_g\sum_{\omega\in g}(p_\omega/P_g)C_\omega(x)\ge\sum_g P_g z_g$,
    $z_g$ the optimum of group $g$'s own two-stage problem (expectation only), so HiGHS's
    bounds of the groups give a valid bound (Sandikci, Kong, Schaefer 2013). Each group's
    commitments are hedged across its scenarios and return as candidates, with the
    probability of the groups that chose them. The round stops once `GROUP_SHARE` of the
    time limit is spent, leaving the rest for evaluating candidates. A group not solved
    (the round cut short) or without a bound counts with its members' expected wait-and-see
    bound, which its $z_g$ is at least, so a partial round still gives a valid bound.
    """
    result, probs, n = state.result, state.probs, len(groups)
    masses = [sum(probs[i] for i in group) for group in groups]
    conditional = [[probs[i] / mass for i in group]
                   for group, mass in zip(groups, masses, strict=True)]
    # a group's two-stage optimum is at least the expected wait-and-see bound of its members
    floors = [_floor_of(group, cond, state.lows)
              for group, cond in zip(groups, conditional, strict=True)]
    tasks = [(group, (cond, state.d, quiet(state.options), floor))
             for group, cond, floor in zip(groups, conditional, floors, strict=True)]
    bounds: list[float | None] = [None] * n
    hedged: dict[FirstStage, float] = defaultdict(float)
    for done, (pos, value) in enumerate(state.pool.run_groups(solve_group, tasks), start=1):
        group, solve = groups[pos], value
        if solve.status == "infeasible":  # type: ignore[attr-defined]
            result.status = "infeasible"
            result.violations = [
                "scenarios " + ", ".join(state.sset.scenarios[i].id for i in group)
                + " have no plan with shared commitments"]
            return {}
        bounds[pos] = solve.bound if solve.bound is not None else (  # type: ignore[attr-defined]
            solve.objective if solve.status == "optimal" else None)  # type: ignore[attr-defined]
        if solve.first_stage is not None:  # type: ignore[attr-defined]
            hedged[solve.first_stage] += masses[pos]  # type: ignore[attr-defined]
        state.emit("groups", done, n)  # type: ignore[operator]
        if done < n and (state.late() or state.past(GROUP_SHARE)):
            result.notes.append(f"group round stopped after {done} of {n} groups (its "
                                f"{GROUP_SHARE:.0%} of the time limit); the finished groups' "
                                "commitments are candidates")
            break
    solved = sum(b is not None for b in bounds)
    value = group_bound(masses, bounds, floors) if solved else None
    if value is not None:
        if value > (result.bound if result.bound is not None else -math.inf):
            result.bound = value
        rest = (f"; the other {n - solved} at their members' wait-and-see bounds"
                if solved < n else "")
        result.notes.append(f"group bound {value:,.2f} from {solved} of {n} groups of up to "
                            f"{max(map(len, groups))} scenarios{rest}")
        state.record(state.tried)
    return dict(hedged)


def group_bound(masses: list[float], bounds: list[float | None], floors: list[float | None]
                ) -> float | None:
    """sum_g P_g b_g, a group's bound b_g its solve's where there is one, else its floor.

    Both bound the group's two-stage optimum z_g from below, so the sum bounds the whole
    problem (`_group_round`); None if some group has neither.
    """
    parts = [b if b is not None else f for b, f in zip(bounds, floors, strict=True)]
    if any(b is None for b in parts):
        return None
    return sum(mass * b for mass, b in zip(masses, parts, strict=True))  # type: ignore[misc]


def _floor_of(group: list[int], conditional: list[float], lows: list[float]) -> float | None:
    """The expected wait-and-see bound of a group, or None if a member has no finite one."""
    members = [lows[i] for i in group]
    return expectation(members, conditional) if all(map(math.isfinite, members)) else None


def _candidates(result: StochasticResult, ws: list[BlockSolve], probs: list[float],
                limit: int, hedged: dict[FirstStage, float] | None = None
                ) -> list[tuple[str, FirstStage]]:
    """Distinct first stages to try, best bets for a finite upper bound first.

    Mean-value and deterministic (they give EEV and VSS), the group extensive forms'
    commitments by probability mass (hedged across their groups, the likeliest to leave
    every scenario feasible), the commitments every wait-and-see plan shares, nothing
    committed, then the wait-and-see commitments by probability mass. Committing less
    forces fewer phases online, so the shared and the empty commitments are more likely to
    leave every scenario feasible than one scenario's own (a late grid cannot host a phase
    that must come online).
    """
    out: list[tuple[str, FirstStage]] = []
    seen: set[FirstStage] = set()
    for label, fs in (("mean-value", result.mean_value and result.mean_value.first_stage),
                      ("deterministic", result.deterministic
                       and result.deterministic.first_stage)):
        if fs is not None and fs not in seen:
            out.append((label, fs))
            seen.add(fs)
    for fs, m in sorted((hedged or {}).items(), key=lambda kv: -kv[1])[:max(limit // 2, 1)]:
        if fs not in seen:
            out.append((f"group {m:.2f}", fs))
            seen.add(fs)
    firsts = [w.first_stage for w in ws if w.first_stage is not None]
    shared = frozenset.intersection(*firsts) if firsts else None
    for label, fs in (("shared by every wait-and-see plan", shared),
                      ("nothing committed", frozenset())):
        if fs is not None and fs not in seen:
            out.append((label, fs))
            seen.add(fs)
    mass: dict[FirstStage, float] = defaultdict(float)
    for w, p in zip(ws, probs, strict=True):
        if w.first_stage is not None:
            mass[w.first_stage] += p
    for fs, _m in sorted(mass.items(), key=lambda kv: -kv[1]):
        if fs not in seen and len(out) < limit:
            out.append((f"wait-and-see {_m:.2f}", fs))
            seen.add(fs)
    return out[:max(limit, 1)]


def _violations(solve: BlockSolve) -> list[str]:
    """What the checker (or the first-stage test) found wrong in a scenario's solve."""
    return list(solve.violations) + [v for r in solve.results for v in r.violations]


def _evaluate(pool: ScenarioPool, fs: FirstStage, d: int, options: SolveOptions,
              lows: list[float], probs: list[float], sset: ScenarioSet,
              incumbent: float | None, tick: object,
              late: Callable[[], bool] = lambda: False
              ) -> tuple[list[BlockSolve], bool, str]:
    """Every scenario's recourse to `fs`, whether that is complete, and why not if it says.

    Scenarios go out most expensive first (by their wait-and-see bounds): the constrained
    futures are where commitments turn infeasible or too dear, so a hopeless candidate is
    found out after few solves. Stops early (incomplete) once `fs` cannot beat `incumbent`
    or leaves some scenario without a plan (its objective is then infinite, whatever the
    rest cost; incomplete even if that scenario was the last), or once `late()` says the
    run's time is spent: an expected cost needs every scenario, so a candidate cut short
    by the time limit is not evaluated at all. After an
    infeasible scenario the list holds the solves done so far (None for the others), so that
    the caller can still say where the commitments fail. A scenario whose solve ends without
    a plan for another reason (its time limit) proves nothing about the commitments: the
    candidate is then not evaluated, and the third value says so.
    """
    n = len(lows)
    solves: list[BlockSolve | None] = [None] * n
    partial = list(lows)
    order = sorted(range(n), key=lambda i: -lows[i])
    # the wait-and-see bound bounds the recourse too: where the commitments are the ones the
    # scenario would choose anyway, a plan within the gap of it ends that solve at once
    tasks = [(i, (d, quiet(options), fs, lows[i] if math.isfinite(lows[i]) else None))
             for i in order]
    for done, (pos, value) in enumerate(pool.run(solve_one, tasks), start=1):
        i = order[pos]
        solves[i] = value  # type: ignore[assignment]
        tick(done)  # type: ignore[operator]
        if value.objective is None and value.status != "infeasible":  # type: ignore[attr-defined]
            return [], False, (f"scenario {sset.scenarios[i].id} ended without a plan "
                               f"({value.status}: not proven infeasible); not evaluated")  # type: ignore[attr-defined]
        partial[i] = value.objective if value.objective is not None else math.inf  # type: ignore[attr-defined]
        if math.isinf(partial[i]):  # the last scenario too: no plan, so nothing to verify
            return solves, False, ""  # type: ignore[return-value]
        if incumbent is not None and risk_objective(partial, probs, sset.risk) >= incumbent:
            return [], False, ""  # cannot beat the incumbent: the rest is not worth solving
        if done < n and late():
            return [], False, ""
    return solves, True, ""  # type: ignore[return-value]
