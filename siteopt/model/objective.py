"""The objective (`total_cost` or a classic one) and the lexicographic bound of a second stage.

Symbols follow `models/siteplan.md`; every function's docstring states its rows.
"""

from __future__ import annotations

import pyomo.environ as pyo

from siteopt.model.data import ModelData
from siteopt.model.sets import COST_TERMS


def define_objective(m: pyo.ConcreteModel, d: ModelData) -> None:
    """total_cost = sum_y discount[y] * sum_term cost[term,y] (present value, USD M).

    With another `siting.objective`, total_cost stays defined but inactive and the chosen
    objective (max_rtt, uncovered_mw, site_count, backup_uncovered_mw) is minimized instead;
    min_separation_km is maximized as the minimum of -separation
    (`siteopt.data.rules.MAXIMIZED`: the solver reports its negation, the pipeline flips the
    sign back).
    """
    m.total_cost = pyo.Objective(
        expr=pyo.quicksum(d.discount[y] * m.cost[term, y] for term in COST_TERMS for y in d.Y),
        sense=pyo.minimize)
    if d.objective == "total_cost":
        return
    m.total_cost.deactivate()
    if d.objective == "max_rtt":
        levels = d.rtt_levels
        m.max_rtt = pyo.Objective(expr=(levels[0] if levels else 0.0) + pyo.quicksum(
            (levels[lv] - levels[lv - 1]) * m.rtt_level[lv] for lv in m.L), sense=pyo.minimize)
    elif d.objective == "uncovered_mw":
        m.uncovered_mw = pyo.Objective(expr=pyo.quicksum(m.unserved[key] for key in d.RCY),
                                       sense=pyo.minimize)
    elif d.objective == "site_count":
        m.site_count = pyo.Objective(expr=pyo.quicksum(m.open[s, d.last_year] for s in d.S),
                                     sense=pyo.minimize)
    elif d.objective == "backup_uncovered_mw":  # LSCP-B, in MW-years without a backup
        m.backup_uncovered_mw = pyo.Objective(expr=pyo.quicksum(
            d.demand[key] * (1 - m.backed_up[key]) for key in d.RCY), sense=pyo.minimize)
    elif d.objective == "min_separation_km":  # p-dispersion: maximized, stated as a minimum
        m.min_separation_km = pyo.Objective(expr=-m.separation, sense=pyo.minimize)
    else:
        raise ValueError(d.objective)


def primary_objective(m: pyo.ConcreteModel) -> pyo.Objective:
    """The active objective of a built model."""
    return next(m.component_data_objects(pyo.Objective, active=True))


def add_objective_bound(m: pyo.ConcreteModel, value: float) -> None:
    """Second stage of a lexicographic solve: keep the primary objective at its optimum.

    objective_bound: primary <= value; then total_cost is minimized among those plans.
    """
    primary = primary_objective(m)

    def rule(m: pyo.ConcreteModel) -> object:
        if pyo.is_constant(primary.expr) or primary.expr.is_fixed():
            return pyo.Constraint.Skip  # e.g. one round-trip level: nothing to keep
        return primary.expr <= value

    m.objective_bound = pyo.Constraint(rule=rule)
    primary.deactivate()
    m.total_cost.activate()
