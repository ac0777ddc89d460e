"""Limit families: grid headroom per zone and year, and the budget rows.

Symbols follow `models/siteplan.md`; every function's docstring states its rows.
"""

from __future__ import annotations

import pyomo.environ as pyo

from siteopt.model.data import ModelData
from siteopt.model.indexing import Lookups


def add_grid_headroom(m: pyo.ConcreteModel, d: ModelData, ix: Lookups) -> None:
    """power[z,y] <= derate[z] * headroom[z,y] + sum_u add_mw[u] * upgrade[u,y]."""

    def rule(m: pyo.ConcreteModel, z: str, y: int) -> object:
        sites = [s for s in ix.zone_sites[z] if ix.site_k_y[s, y]]
        if not sites:
            return pyo.Constraint.Skip
        return m.power[z, y] <= d.derate[z] * d.headroom[z, y] + pyo.quicksum(
            d.upgrade_mw[u] * m.upgrade[u, y] for u in ix.zone_upgrades[z, y])

    m.grid_headroom = pyo.Constraint(m.Z, m.Y, rule=rule)


def add_budget(m: pyo.ConcreteModel, d: ModelData) -> None:
    """For each budget row b: capex + opening + upgrade spend in its scope <= max_capex[b]."""
    m.B = pyo.Set(initialize=range(len(d.budgets)), ordered=True)

    def rule(m: pyo.ConcreteModel, b: int) -> object:
        sponsor, year, limit = d.budgets[b]
        years = d.Y if year is None else [year]
        sites = [s for s in d.S if not sponsor or d.site_sponsor[s] == sponsor]
        ups = [u for u in d.U if not sponsor or d.upgrade_sponsor[u] == sponsor]
        spend = pyo.quicksum(m.capex[s, y] + d.open_cost[s] * m.opening[s, y]
                             for s in sites for y in years)
        spend += pyo.quicksum(m.upgrade_capex[u, y] for u in ups for y in years)
        return spend <= limit

    m.budget = pyo.Constraint(m.B, rule=rule)
