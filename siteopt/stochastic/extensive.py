"""The extensive form: one ordinary `create_model` block per scenario, joined in a first stage.

Symbols follow `models/stochastic.md`. Each scenario's block is the deterministic model of
`models/siteplan.md` built from that scenario's data, its own objective deactivated. The
first stage is one binary per (phase, cooling, start year) and per (upgrade, start year) up to
the decision year, "started by t" (cumulative); `nonanticipative_phase` and
`nonanticipative_upgrade` tie each scenario's `online`/`upgrade` at t + its own lead to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from siteopt.model.arrays import adopt_array_terms
from siteopt.model.build import create_model
from siteopt.model.data import ModelData
from siteopt.stochastic.firststage import (
    FirstStage,
    PhaseKey,
    UpgradeKey,
    phase_starts,
    started_values,
    upgrade_starts,
)
from siteopt.stochastic.spec import Risk


@dataclass
class ExtensiveModel:
    """The built extensive form and where its parts are."""

    model: pyo.ConcreteModel
    blocks: list[pyo.ConcreteModel]
    phase_keys: list[PhaseKey]
    upgrade_keys: list[UpgradeKey]


def block_name(i: int) -> str:
    """The component name of scenario i's block."""
    return f"scenario_{i}"


def create_extensive(datas: Sequence[ModelData], probabilities: Sequence[float],
                     decision_year: int, risk: Risk | None = None, tighten: bool = True,
                     fixed: FirstStage | None = None,
                     penalty: dict[tuple, float] | None = None,
                     only: set[tuple] | None = None) -> ExtensiveModel:
    """Assemble the extensive form of `models/stochastic.md`.

    `fixed` fixes the first stage to those commitments (a recourse evaluation); a commitment
    some scenario cannot make (no such start there) makes the model infeasible, as it should.
    `penalty` adds sum_key w_key * started_key to the objective and `only` makes no start
    in a key outside it (as if a scenario lacked it): the Lagrangian subproblem of
    `decompose.py`.
    """
    with PauseGC():
        m = pyo.ConcreteModel(name="siteplan_stochastic")
        blocks = []
        for i, d in enumerate(datas):
            if d.objective != "total_cost":
                raise ValueError("two-stage solves minimize total_cost")
            blk = create_model(d, tighten=tighten)
            blk.total_cost.deactivate()
            m.add_component(block_name(i), blk)
            adopt_array_terms(m, blk)
            blocks.append(blk)
        starts = [phase_starts(d, decision_year) for d in datas]
        ups = [upgrade_starts(d, decision_year) for d in datas]
        phase_keys = sorted(set().union(*starts))
        upgrade_keys = sorted(set().union(*ups))
        m.I = pyo.Set(initialize=range(len(datas)), ordered=True)
        m.FS_PHASE = pyo.Set(initialize=phase_keys, dimen=4, ordered=True)
        m.FS_UPGRADE = pyo.Set(initialize=upgrade_keys, dimen=2, ordered=True)
        m.started = pyo.Var(m.FS_PHASE, within=pyo.Binary)
        m.upgrade_started = pyo.Var(m.FS_UPGRADE, within=pyo.Binary)
        add_nonanticipative(m, blocks, starts, ups, only)
        if fixed is not None:
            fix_first_stage(m, fixed, phase_keys, upgrade_keys)
        define_stochastic_objective(m, blocks, probabilities, risk or Risk(), penalty or {})
    return ExtensiveModel(m, blocks, phase_keys, upgrade_keys)


def add_nonanticipative(m: pyo.ConcreteModel, blocks: list[pyo.ConcreteModel],
                        starts: list[dict], ups: list[dict],
                        only: set[tuple] | None = None) -> None:
    """nonanticipative_phase[i,s,p,k,t]: online^i[s,p,k,t+lead^i] == started[s,p,k,t].

    nonanticipative_upgrade[i,u,t]: upgrade^i[u,t+lead^i] == upgrade_started[u,t]. Where
    some scenario has no start in year t (its online year would fall outside its
    variables, e.g. after the horizon with a longer lead), no start is made in t:
    `first_stage_no_start_phase` / `_upgrade` hold "started by t" equal to "started by
    t - 1" (cumulative, so earlier starts stay open), or at 0 if t is the first start year.
    Keys outside `only` (if given) are treated alike.
    """
    phase_rows = [(i, *key) for i, st in enumerate(starts) for key in m.FS_PHASE if key in st]
    upgrade_rows = [(i, *key) for i, up in enumerate(ups) for key in m.FS_UPGRADE if key in up]
    no_phase = _no_start(m.started, list(m.FS_PHASE), starts, only)
    no_upgrade = _no_start(m.upgrade_started, list(m.FS_UPGRADE), ups, only)
    m.first_stage_no_start_phase_index = pyo.Set(initialize=no_phase, dimen=4, ordered=True)
    m.first_stage_no_start_phase = pyo.Constraint(
        m.first_stage_no_start_phase_index,
        rule=lambda m, s, p, k, t: m.started[s, p, k, t] == m.started[s, p, k, t - 1])
    m.first_stage_no_start_upgrade_index = pyo.Set(initialize=no_upgrade, dimen=2,
                                                   ordered=True)
    m.first_stage_no_start_upgrade = pyo.Constraint(
        m.first_stage_no_start_upgrade_index,
        rule=lambda m, u, t: m.upgrade_started[u, t] == m.upgrade_started[u, t - 1])

    def phase_rule(m: pyo.ConcreteModel, i: int, s: str, p: str, k: str, t: int) -> object:
        if m.started[s, p, k, t].fixed:
            return blocks[i].online[starts[i][s, p, k, t]] == 0
        return blocks[i].online[starts[i][s, p, k, t]] == m.started[s, p, k, t]

    def upgrade_rule(m: pyo.ConcreteModel, i: int, u: str, t: int) -> object:
        if m.upgrade_started[u, t].fixed:
            return blocks[i].upgrade[ups[i][u, t]] == 0
        return blocks[i].upgrade[ups[i][u, t]] == m.upgrade_started[u, t]

    m.nonanticipative_phase_index = pyo.Set(initialize=phase_rows, dimen=5, ordered=True)
    m.nonanticipative_upgrade_index = pyo.Set(initialize=upgrade_rows, dimen=3, ordered=True)
    m.nonanticipative_phase = pyo.Constraint(m.nonanticipative_phase_index, rule=phase_rule)
    m.nonanticipative_upgrade = pyo.Constraint(m.nonanticipative_upgrade_index,
                                               rule=upgrade_rule)


def _no_start(var: pyo.Var, keys: list[tuple], per_scenario: list[dict],
              only: set[tuple] | None = None) -> list[tuple]:
    """Keys some scenario lacks (or outside `only`): no start in their year.

    A key (..., t) whose (..., t - 1) is a key too is returned (its row ties the two);
    otherwise the variable is fixed to 0.
    """
    present = set(keys)
    tied = []
    for key in keys:
        if all(key in scenario for scenario in per_scenario) and (only is None
                                                                 or key in only):
            continue
        if (*key[:-1], key[-1] - 1) in present:
            tied.append(key)
        else:
            var[key].fix(0)
    return tied


def fix_first_stage(m: pyo.ConcreteModel, fs: FirstStage, phase_keys: list[PhaseKey],
                    upgrade_keys: list[UpgradeKey]) -> None:
    """Fix `started`/`upgrade_started` to the commitments `fs` (cumulative in the start year).

    A commitment with no key here (it cannot start in that year in these scenarios: the
    start year itself must be a key, as in the extensive form, which makes no start that
    some scenario cannot make) gets a row 1 == 0 through `first_stage_unavailable`, so the
    model is reported infeasible: a candidate is never evaluated with a start silently
    dropped in one scenario.
    """
    phases, upgrades = started_values(fs, phase_keys, upgrade_keys)
    missing = 0
    for key, value in phases.items():
        if m.started[key].fixed and m.started[key].value != value:
            missing += 1
        m.started[key].fix(value)
    for key, value in upgrades.items():
        if m.upgrade_started[key].fixed and m.upgrade_started[key].value != value:
            missing += 1
        m.upgrade_started[key].fix(value)
    known = set(phase_keys)
    known_up = set(upgrade_keys)
    missing += sum(1 for c in fs if (c.kind == "phase" and (c.site, c.phase, c.cooling, c.year)
                                     not in known) or (c.kind == "upgrade"
                                                        and (c.upgrade, c.year) not in known_up))
    if missing:
        m.first_stage_unavailable = pyo.Var(bounds=(1, 1))
        m.first_stage_unavailable_row = pyo.Constraint(expr=m.first_stage_unavailable <= 0)


def define_stochastic_objective(m: pyo.ConcreteModel, blocks: list[pyo.ConcreteModel],
                                probabilities: Sequence[float], risk: Risk,
                                penalty: dict[tuple, float] | None = None) -> None:
    """stochastic_cost = (1 - lambda) E + lambda (eta + sum_i p_i excess_i / (1 - alpha)).

    E = sum_i p_i cost_i.

    cost_i is scenario i's total_cost (present value); with lambda = 0 only the expectation.
    cvar_excess[i]: excess_i >= cost_i - eta, excess_i >= 0 (Rockafellar-Uryasev).
    `penalty` (Lagrangian multipliers, decomposition only) adds sum_key w_key * started_key.
    """
    costs = [blk.total_cost.expr for blk in blocks]
    expected = pyo.quicksum(p * c for p, c in zip(probabilities, costs, strict=True))
    priced = [(w, m.started[key] if len(key) == 4 else m.upgrade_started[key])
              for key, w in (penalty or {}).items()
              if w and (key in m.FS_PHASE if len(key) == 4 else key in m.FS_UPGRADE)]
    if priced:
        expected = expected + pyo.quicksum(w * v for w, v in priced)
    if not risk.active:
        m.stochastic_cost = pyo.Objective(expr=expected, sense=pyo.minimize)
        return
    m.eta = pyo.Var(within=pyo.Reals)
    m.excess = pyo.Var(m.I, within=pyo.NonNegativeReals)
    m.cvar_excess = pyo.Constraint(m.I, rule=lambda m, i: m.excess[i] >= costs[i] - m.eta)
    cvar = m.eta + pyo.quicksum(p / (1.0 - risk.alpha) * m.excess[i]
                                for i, p in enumerate(probabilities))
    lam = risk.weight
    m.stochastic_cost = pyo.Objective(
        expr=(1.0 - lam) * expected + lam * cvar if lam < 1.0 else cvar, sense=pyo.minimize)
