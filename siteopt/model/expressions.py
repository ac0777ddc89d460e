"""Expressions of `models/siteplan.md` §4: build, opening, capacity, power, capex, cost terms.

Symbols follow `models/siteplan.md`; every function's docstring states its rows.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from siteopt.model.arrays import array_linear_expression
from siteopt.model.data import ModelData
from siteopt.model.indexing import Columns, Lookups, PairArrays


def _prev(d: ModelData, y: int) -> int | None:
    return y - 1 if y > d.first_year else None


def define_expressions(m: pyo.ConcreteModel, d: ModelData, ix: Lookups, pairs: PairArrays,
                       cols: Columns) -> None:
    """build, capacity, power, capex, upgrade_capex and the yearly cost terms."""
    service = _service_cost_by_year(m, d, pairs, cols)

    def build(m: pyo.ConcreteModel, s: str, p: str, k: str, y: int) -> object:
        prev = (s, p, k, y - 1)
        return m.online[s, p, k, y] - (m.online[prev] if prev in ix.spky else 0)

    m.build = pyo.Expression(m.SPKY, rule=build)

    def opening(m: pyo.ConcreteModel, s: str, y: int) -> object:
        if s in d.opened_before:
            return 0
        prev = _prev(d, y)
        return m.open[s, y] - (m.open[s, prev] if prev is not None else 0)

    m.opening = pyo.Expression(m.S, m.Y, rule=opening)

    def capacity(m: pyo.ConcreteModel, s: str, k: str, y: int) -> object:
        return d.existing.get((s, k), 0.0) + pyo.quicksum(
            d.phase_it[sp] * m.online[sp[0], sp[1], k, y] for sp in ix.site_phase_y[s, k, y])

    m.capacity = pyo.Expression(m.SKY, rule=capacity)

    def power(m: pyo.ConcreteModel, z: str, y: int) -> object:
        return pyo.quicksum(d.pue[k] * m.capacity[s, k, y] for s in ix.zone_sites[z]
                            for k in ix.site_k_y[s, y])

    m.power = pyo.Expression(m.Z, m.Y, rule=power)

    def capex(m: pyo.ConcreteModel, s: str, y: int) -> object:
        return pyo.quicksum(w * m.build[key] for key, w in ix.phase_spend[s, y])

    m.capex = pyo.Expression(m.S, m.Y, rule=capex)

    def upgrade_capex(m: pyo.ConcreteModel, u: str, y: int) -> object:
        return pyo.quicksum(w * _upgrade_build(m, ix, key) for key, w in ix.upgrade_spend[u, y])

    m.upgrade_capex = pyo.Expression(m.U, m.Y, rule=upgrade_capex)

    def cost(m: pyo.ConcreteModel, term: str, y: int) -> object:
        if term == "capex":
            return pyo.quicksum(m.capex[s, y] for s in d.S)
        if term == "open_cost":
            return pyo.quicksum(d.open_cost[s] * m.opening[s, y] for s in d.S
                                if d.open_cost[s])
        if term == "fixed_om":
            return (pyo.quicksum(d.phase_om[s, p] * m.online[s, p, k, y]
                                 for (s, p) in d.SP for k in ix.online_k[s, p, y])
                    + pyo.quicksum(d.site_om[s] * m.open[s, y] for s in d.S if d.site_om[s]))
        if term == "energy":
            return pyo.quicksum(d.energy_coef[s, k, y] * m.it_load[s, k, y] for s in d.S
                                for k in ix.site_k_y[s, y])
        if term == "upgrade_cost":
            return pyo.quicksum(m.upgrade_capex[u, y] for u in d.U)
        if term == "service_cost":
            return service.get(y, 0)
        if term == "unserved_penalty":
            return pyo.quicksum(d.unserved_penalty * m.unserved[key]
                                for key in ix.rcy_by_year[y])
        raise ValueError(term)

    m.cost = pyo.Expression(m.TERMS, m.Y, rule=cost)


def _service_cost_by_year(m: pyo.ConcreteModel, d: ModelData, pairs: PairArrays, cols: Columns
                          ) -> dict[int, object]:
    """Service cost of year y: sum over served pairs of service_cost[s,r] * serve[s,r,c,y].

    Kept as arrays as well (one term per served pair is the largest part of the objective).
    """
    paying = np.flatnonzero(pairs.service_cost)
    out = {}
    for offset in np.unique(pairs.year[paying]).tolist():
        idx = paying[pairs.year[paying] == offset]
        out[d.first_year + offset] = array_linear_expression(
            m, pairs.service_cost[idx], cols.start["serve"] + idx, cols.x)
    return out


def _upgrade_build(m: pyo.ConcreteModel, ix: Lookups, key: tuple[str, int]) -> object:
    u, y = key
    return m.upgrade[u, y] - (m.upgrade[u, y - 1] if (u, y - 1) in ix.uy else 0)
