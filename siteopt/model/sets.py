"""Sets and variables of `models/siteplan.md` §2 and §4 (sparse: feasible combinations only)."""

from __future__ import annotations

import pyomo.environ as pyo

from siteopt.model.data import ModelData

#: Objective terms, in reporting order (columns of the `costs` result table).
COST_TERMS = ("capex", "open_cost", "fixed_om", "energy", "upgrade_cost", "service_cost",
              "unserved_penalty")


def define_sets(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Y, S, Z, U, SP, SPKY, UY, SRCY, RCY, SKY, TERMS (sparse: feasible combinations only)."""
    m.Y = pyo.Set(initialize=d.Y, ordered=True)
    m.S = pyo.Set(initialize=d.S, ordered=True)
    m.Z = pyo.Set(initialize=d.Z, ordered=True)
    m.U = pyo.Set(initialize=d.U, ordered=True)
    m.SP = pyo.Set(initialize=d.SP, dimen=2, ordered=True)
    m.SPKY = pyo.Set(initialize=d.SPKY, dimen=4, ordered=True)
    m.UY = pyo.Set(initialize=d.UY, dimen=2, ordered=True)
    m.SRCY = pyo.Set(initialize=d.SRCY, dimen=4, ordered=True)
    m.RCY = pyo.Set(initialize=d.RCY, dimen=3, ordered=True)
    m.SKY = pyo.Set(initialize=d.SKY, dimen=3, ordered=True)
    m.TERMS = pyo.Set(initialize=COST_TERMS, ordered=True)


def define_variables(m: pyo.ConcreteModel, d: ModelData) -> None:
    """open, online, upgrade (binary, cumulative); serve, it_load, unserved (IT MW)."""
    m.open = pyo.Var(m.S, m.Y, within=pyo.Binary)
    m.online = pyo.Var(m.SPKY, within=pyo.Binary)
    m.upgrade = pyo.Var(m.UY, within=pyo.Binary)
    m.serve = pyo.Var(m.SRCY, within=pyo.NonNegativeReals)
    m.it_load = pyo.Var(m.SKY, within=pyo.NonNegativeReals)
    m.unserved = pyo.Var(m.RCY, within=pyo.NonNegativeReals)
    first_online: dict[str, int] = {}
    for s, p, _k, y in d.SPKY:
        if d.phase_prev[s, p] is None:
            first_online[s] = min(first_online.get(s, y), y)
    for s in d.S:
        for y in d.Y:
            if s in d.opened_before:
                m.open[s, y].fix(1)
            elif s not in first_online or y < first_online[s]:
                m.open[s, y].fix(0)
    for s, p, k, y in d.SPKY:
        if (s, p) in d.phase_committed:
            m.online[s, p, k, y].fix(1)
    if not d.allow_unserved:
        for key in d.RCY:
            m.unserved[key].fix(0)
