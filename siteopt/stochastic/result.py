"""What a two-stage solve reports: commitments, adapted plans, cost distribution, EVPI, VSS.

EVPI = objective of the stochastic plan - objective of the wait-and-see costs (each scenario
planned with perfect foresight); VSS = objective of the mean-value plan's commitments evaluated
in every scenario (EEV) - objective of the stochastic plan. "Objective" is the risk objective
(1 - lambda) E + lambda CVaR_alpha of the scenario costs (the expectation when lambda = 0).

Each figure subtracts incumbents of solves that may stop at a gap, so each comes with the
interval its true value must lie in, from the bounds and incumbents the solves proved
(`evpi_interval`, `vss_interval`, `value_of_hedging_interval`, `hedging_cost_interval`;
models/stochastic.md, "Intervals").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from siteopt.solver.highs import relative_gap
from siteopt.solver.pipeline import Result, finished_now, package_versions
from siteopt.stochastic.blocks import BlockSolve
from siteopt.stochastic.firststage import FirstStage, commitments_frame
from siteopt.stochastic.measures import cvar, expectation, risk_objective
from siteopt.stochastic.spec import ScenarioSet


@dataclass
class StochasticResult:
    """A solved two-stage problem; `plans[i]` is scenario i's adapted, checked plan."""

    method: str
    status: str
    scenario_set: ScenarioSet
    instance_name: str
    objective: float | None
    bound: float | None
    here_and_now: FirstStage | None
    plans: list[Result]
    wait_and_see: list[BlockSolve] = field(default_factory=list)
    mean_value: BlockSolve | None = None
    eev_costs: list[float] | None = None
    #: per scenario, the proven lower bound of the mean-value commitments' recourse cost
    #: (its evaluation's HiGHS bound; NaN where none is known)
    eev_bounds: list[float] | None = None
    deterministic: BlockSolve | None = None
    deterministic_costs: list[float] | None = None
    #: per scenario, the proven lower bound of the deterministic commitments' recourse cost
    deterministic_bounds: list[float] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    history: list[dict[str, float]] = field(default_factory=list)
    size: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: when the two-stage solve finished, comparisons included (UTC, ISO 8601)
    finished_at: str = field(default_factory=lambda: finished_now())

    @property
    def probabilities(self) -> list[float]:
        """Scenario probabilities in file order."""
        return self.scenario_set.probabilities

    @property
    def has_plan(self) -> bool:
        """Whether every scenario has a plan."""
        return self.objective is not None and len(self.plans) == len(self.probabilities)

    @property
    def verified(self) -> bool:
        """Every scenario plan passed the independent checker, nothing else went wrong."""
        return self.has_plan and not self.violations and all(r.verified for r in self.plans)

    @property
    def costs(self) -> list[float]:
        """Each scenario's present cost under the reported plan."""
        return [float(r.total_cost) for r in self.plans]  # type: ignore[arg-type]

    @property
    def gap(self) -> float | None:
        """(objective - bound) / |objective| as `relative_gap` has it, None without both.

        A difference within floating-point noise is no gap: the decomposition's bound is a
        sum of HiGHS bounds, which can fall 1e-12 short of the incumbent it proves optimal.
        """
        if self.objective is None or self.bound is None:
            return None
        return relative_gap(self.objective, self.bound)

    @property
    def expected_cost(self) -> float | None:
        """E[cost] of the reported plan (USD M present value)."""
        return expectation(self.costs, self.probabilities) if self.has_plan else None

    @property
    def cvar(self) -> float | None:
        """CVaR at the file's alpha of the reported plan's costs."""
        return (cvar(self.costs, self.probabilities, self.scenario_set.risk.alpha)
                if self.has_plan else None)

    @property
    def worst_cost(self) -> float | None:
        """The largest scenario cost."""
        return max(self.costs) if self.has_plan else None

    @property
    def wait_and_see_objective(self) -> float | None:
        """The risk objective of the wait-and-see costs (perfect foresight)."""
        if not self.wait_and_see or not all(w.has_plan for w in self.wait_and_see):
            return None
        return risk_objective([w.objective for w in self.wait_and_see],  # type: ignore[misc]
                              self.probabilities, self.scenario_set.risk)

    @property
    def wait_and_see_bound(self) -> float | None:
        """A valid lower bound of the stochastic objective from the scenarios' own bounds."""
        if not self.wait_and_see or any(w.bound is None for w in self.wait_and_see):
            return None
        return risk_objective([w.bound for w in self.wait_and_see],  # type: ignore[misc]
                              self.probabilities, self.scenario_set.risk)

    @property
    def eev(self) -> float | None:
        """Objective of the mean-value plan's commitments in every scenario (inf: infeasible)."""
        return self._objective_of(self.eev_costs)

    @property
    def evpi(self) -> float | None:
        """Expected value of perfect information (objective - wait-and-see objective)."""
        ws = self.wait_and_see_objective
        return None if ws is None or self.objective is None else self.objective - ws

    @property
    def evpi_interval(self) -> tuple[float, float] | None:
        """Where the true EVPI lies, from the bounds and incumbents the solves proved.

        RP* >= bound and WS* <= the wait-and-see incumbents' objective give the lower end;
        RP* <= objective and WS* >= the wait-and-see bound give the upper end. `evpi`
        subtracts two incumbents and may lie on either side of the true value within them.
        """
        ws, ws_low = self.wait_and_see_objective, self.wait_and_see_bound
        if None in (ws, ws_low, self.objective, self.bound):
            return None
        # never below 0: WS* <= RP* always (perfect information cannot hurt)
        return (max(0.0, self.bound - ws), self.objective - ws_low)  # type: ignore[operator]

    @property
    def vss(self) -> float | None:
        """Value of the stochastic solution (EEV - objective)."""
        eev = self.eev
        return None if eev is None or self.objective is None else eev - self.objective

    @property
    def vss_interval(self) -> tuple[float, float] | None:
        """Where the true VSS (EEV* - RP*) lies, from the bounds and incumbents proved.

        EEV* lies in `_commitments_interval` of the mean-value commitments, RP* in [bound,
        objective]; the lower end is never below 0, since those commitments are one
        candidate of the recourse problem (RP* <= EEV*). (inf, inf) where the commitments
        leave a scenario without a feasible plan (VSS unbounded); None where EEV, the
        objective or the bound is unknown.
        """
        return self._saving_interval(self.eev_costs, self.eev_bounds)

    @property
    def value_of_hedging(self) -> float | None:
        """What the stochastic plan saves against the deterministic plan's commitments.

        The objective of the deterministic commitments in every scenario - the objective
        (inf where those commitments leave a scenario without a feasible plan).
        """
        det = self.deterministic_plan_objective
        return None if det is None or self.objective is None else det - self.objective

    @property
    def value_of_hedging_interval(self) -> tuple[float, float] | None:
        """Where the true value of hedging lies: as `vss_interval`, deterministic commitments."""
        return self._saving_interval(self.deterministic_costs, self.deterministic_bounds)

    def hedging_cost(self, scenario: str) -> float | None:
        """The stochastic plan's cost in `scenario` - the deterministic optimum.

        The premium paid for hedging if `scenario` (the base case) comes true.
        """
        i = self._index(scenario)
        det = self.deterministic
        if not self.has_plan or det is None or det.objective is None:
            return None
        return self.costs[i] - det.objective

    def hedging_cost_interval(self, scenario: str) -> tuple[float, float] | None:
        """Where the true hedging cost in `scenario` lies, from the bounds proved.

        The stochastic commitments' optimal recourse in the scenario costs at most the plan's
        cost c there, and at least both the scenario's wait-and-see bound (no commitments do
        better than perfect foresight) and c - (objective - bound) / ((1 - lambda) p): a
        recourse cheaper by d, same commitments, lowers the objective by at least
        (1 - lambda) p d and cannot go below the bound. The deterministic optimum lies in
        [its bound, its objective]. None where one of these is unknown.
        """
        i = self._index(scenario)
        det = self.deterministic
        ws = self.wait_and_see[i] if i < len(self.wait_and_see) else None
        if (not self.has_plan or det is None or det.objective is None or det.bound is None
                or ws is None or ws.bound is None):
            return None
        cost = self.costs[i]
        low = ws.bound
        share = (1.0 - self.scenario_set.risk.weight) * self.probabilities[i]
        if self.bound is not None and share > 0:
            low = max(low, cost - (self.objective - self.bound) / share)  # type: ignore[operator]
        hi = cost - det.bound
        return (min(low - det.objective, hi), hi)

    def _index(self, scenario: str) -> int:
        """The position of scenario `scenario` in the file; KeyError naming the known ids."""
        ids = [s.id for s in self.scenario_set.scenarios]
        if scenario not in ids:
            raise KeyError(f"no scenario {scenario!r} (scenarios: {', '.join(ids)})")
        return ids.index(scenario)

    def _commitments_interval(self, costs: list[float] | None, bounds: list[float] | None
                              ) -> tuple[float, float] | None:
        """Where the objective of some commitments, each scenario's recourse optimal, lies.

        Upper end: the objective of the evaluated recourse costs. Lower end: the objective
        at each scenario's best proven lower bound (its evaluation's bound, its wait-and-see
        bound: the objective is monotone in each cost), and the recourse problem's bound,
        which bounds every commitments' objective. (inf, inf) where a scenario has no
        feasible recourse; None where a cost is unknown.
        """
        value = self._objective_of(costs)
        if value is None or math.isinf(value):
            return None if value is None else (math.inf, math.inf)
        n = len(self.probabilities)
        lows = []
        for i in range(n):
            known = [b for b in (_at(bounds, i), _at_bound(self.wait_and_see, i))
                     if b is not None and not math.isnan(b)]
            lows.append(max(known) if known else -math.inf)
        low = risk_objective(lows, self.probabilities, self.scenario_set.risk)
        if self.bound is not None:
            low = max(low, self.bound)
        return (min(low, value), value)

    def _saving_interval(self, costs: list[float] | None, bounds: list[float] | None
                         ) -> tuple[float, float] | None:
        """[lo, hi] of (objective of these commitments) - RP*, RP* in [bound, objective].

        lo is at least 0: the commitments are a candidate of the recourse problem.
        """
        other = self._commitments_interval(costs, bounds)
        if other is None or self.objective is None or self.bound is None:
            return None
        if math.isinf(other[0]):
            return other
        return (max(other[0] - self.objective, 0.0), other[1] - self.bound)

    @property
    def deterministic_plan_objective(self) -> float | None:
        """Objective of the deterministic plan's commitments evaluated in every scenario."""
        return self._objective_of(self.deterministic_costs)

    def _objective_of(self, costs: list[float] | None) -> float | None:
        """The objective of per-scenario costs; inf where one scenario is infeasible.

        The decomposition stops evaluating at such a scenario and leaves the rest NaN.
        Without an infeasible scenario, a NaN (a solve that ended without a plan for
        another reason) leaves the objective unknown: None.
        """
        if costs is None:
            return None
        if any(math.isinf(c) for c in costs):
            return math.inf
        if any(math.isnan(c) for c in costs):
            return None
        return risk_objective(costs, self.probabilities, self.scenario_set.risk)

    def commitments(self) -> pd.DataFrame:
        """Here-and-now commitments, marked where the deterministic and mean-value plans agree."""
        frame = commitments_frame(self.here_and_now or frozenset())
        # each flag from the commitment's own columns: rows read after the first flag was
        # added carried it too, matched no commitment, and every in_mean_value_plan was False
        rows = list(frame.itertuples(index=False))
        frame["in_deterministic_plan"] = [self._in(self.deterministic, row) for row in rows]
        frame["in_mean_value_plan"] = [self._in(self.mean_value, row) for row in rows]
        return frame

    def commitment_changes(self) -> pd.DataFrame:
        """Commitments only in the stochastic plan ('hedge') or only in the deterministic one."""
        mine = set(self.here_and_now or ())
        det = set(self.deterministic.first_stage or ()) if self.deterministic else set()
        parts = []
        for label, items in (("hedge: only in the stochastic plan", mine - det),
                             ("dropped: only in the deterministic plan", det - mine)):
            frame = commitments_frame(frozenset(items))
            frame.insert(0, "change", label)
            parts.append(frame)
        return pd.concat(parts, ignore_index=True)

    def _infeasible(self, costs: list[float] | None) -> list[str] | None:
        if costs is None:
            return None
        return [s.id for s, c in zip(self.scenario_set.scenarios, costs, strict=True)
                if math.isinf(c)]

    @staticmethod
    def _in(solve: BlockSolve | None, row: object) -> bool | None:
        if solve is None or solve.first_stage is None:
            return None
        return any((c.kind, c.site, c.phase, c.cooling, c.upgrade, c.year) == tuple(row)
                   for c in solve.first_stage)

    def distribution(self) -> pd.DataFrame:
        """One row per scenario: probability, cost under this plan and the comparison plans."""
        rows = []
        for i, spec in enumerate(self.scenario_set.scenarios):
            plan = self.plans[i] if i < len(self.plans) else None
            ws = self.wait_and_see[i] if i < len(self.wait_and_see) else None
            rows.append({
                "scenario": spec.id, "probability": spec.probability,
                "cost_usd_m": None if plan is None else plan.total_cost,
                "wait_and_see_usd_m": None if ws is None else ws.objective,
                "mean_value_plan_usd_m": _cost(self.eev_costs, i),
                "deterministic_plan_usd_m": _cost(self.deterministic_costs, i),
                "verified": None if plan is None else plan.verified,
                "folder": f"scenarios/{spec.id}"})
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, object]:
        """The machine-readable summary written as `summary.json`."""
        risk = self.scenario_set.risk
        det = self.deterministic
        return {
            "kind": "two-stage stochastic",
            "instance": self.instance_name,
            "scenario_file": self.scenario_set.path,
            "method": self.method,
            "status": self.status,
            "verified": self.verified,
            "violations": self.violations,
            "decision_year": self.scenario_set.decision_year,
            "objective_name": "expected total_cost" if not risk.active else
            "(1 - weight) expected total_cost + weight CVaR_alpha total_cost",
            "objective_unit": "USD M (present value)",
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "expected_cost": self.expected_cost,
            "risk": {"alpha": risk.alpha, "weight": risk.weight, "cvar": self.cvar,
                     "worst_cost": self.worst_cost},
            "wait_and_see": self.wait_and_see_objective,
            "evpi": self.evpi,
            "evpi_interval": None if self.evpi_interval is None else list(self.evpi_interval),
            "eev": _finite(self.eev),
            "vss": _finite(self.vss),
            "vss_interval": _finite_pair(self.vss_interval),
            # scenarios in which a plan's commitments leave no feasible recourse (e.g. phases
            # that must come online where a late grid has no headroom): EEV and VSS are then
            # infinite (null above); the decomposition stops at the first such scenario, so
            # there the list may be incomplete (see notes)
            "mean_value_plan_infeasible_in": self._infeasible(self.eev_costs),
            "deterministic_plan_infeasible_in": self._infeasible(self.deterministic_costs),
            "deterministic_objective": None if det is None else det.objective,
            "deterministic_plan_in_scenarios": _finite(self.deterministic_plan_objective),
            "value_of_hedging": _finite(self.value_of_hedging),
            "value_of_hedging_interval": _finite_pair(self.value_of_hedging_interval),
            "commitments": self.commitments().to_dict(orient="records"),
            "commitment_changes": self.commitment_changes().to_dict(orient="records"),
            "scenarios": [{"id": r["scenario"], "probability": r["probability"],
                           "objective": r["cost_usd_m"], "verified": r["verified"],
                           "folder": r["folder"]} for r in self.distribution().to_dict("records")],
            "history": self.history,
            "model_size": self.size,
            "timings_seconds": self.timings,
            "notes": self.notes,
            "finished_at": self.finished_at,
            "versions": package_versions(),
        }


def _cost(costs: list[float] | None, i: int) -> float | None:
    """Scenario i's cost under a comparison plan; None where it was not evaluated."""
    return None if costs is None or math.isnan(costs[i]) else costs[i]


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def _finite_pair(pair: tuple[float, float] | None) -> list[float] | None:
    """An interval as a JSON list; null where unknown or infinite (as its figure is)."""
    if pair is None or not all(math.isfinite(x) for x in pair):
        return None
    return list(pair)


def _at(values: list[float] | None, i: int) -> float | None:
    """values[i], None without the list."""
    return None if values is None or i >= len(values) else values[i]


def _at_bound(solves: list[BlockSolve], i: int) -> float | None:
    """The bound of solve i, None without one."""
    return solves[i].bound if i < len(solves) and solves[i] is not None else None
