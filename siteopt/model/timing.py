"""Timing families: monotone cumulative binaries, one cooling per phase, build order, opening.

Symbols follow `models/siteplan.md`; every function's docstring states its rows.
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from siteopt.model.data import ModelData
from siteopt.model.indexing import Lookups


def add_open_monotone(m: pyo.ConcreteModel, d: ModelData) -> None:
    """open[s,y-1] <= open[s,y]: a site once open stays open."""

    def rule(m: pyo.ConcreteModel, s: str, y: int) -> object:
        if y == d.first_year or s in d.opened_before:
            return pyo.Constraint.Skip
        return m.open[s, y - 1] <= m.open[s, y]

    m.open_monotone = pyo.Constraint(m.S, m.Y, rule=rule)


def add_online_monotone(m: pyo.ConcreteModel, d: ModelData) -> None:
    """online[s,p,k,y-1] <= online[s,p,k,y]: a phase once online stays online."""
    keys = set(d.SPKY)

    def rule(m: pyo.ConcreteModel, s: str, p: str, k: str, y: int) -> object:
        if (s, p, k, y - 1) not in keys or (s, p) in d.phase_committed:
            return pyo.Constraint.Skip
        return m.online[s, p, k, y - 1] <= m.online[s, p, k, y]

    m.online_monotone = pyo.Constraint(m.SPKY, rule=rule)


def add_phase_once(m: pyo.ConcreteModel, d: ModelData) -> None:
    """sum_k online[s,p,k,T] <= 1: each phase is built at most once, with one cooling."""
    last = d.last_year
    ks: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s, p, k, y in d.SPKY:
        if y == last:
            ks[s, p].append(k)

    def rule(m: pyo.ConcreteModel, s: str, p: str) -> object:
        if len(ks[s, p]) <= 1:
            return pyo.Constraint.Skip
        return pyo.quicksum(m.online[s, p, k, last] for k in ks[s, p]) <= 1

    m.phase_once = pyo.Constraint(m.SP, rule=rule)


def add_phase_order(m: pyo.ConcreteModel, d: ModelData, ix: Lookups) -> None:
    """sum_k online[s,p,k,y] <= sum_k online[s,prev(p),k,y]: phases come online in order."""
    position = {sp: i for i, sp in enumerate(d.SP)}
    keys = sorted({(s, p, y) for s, p, _k, y in d.SPKY if d.phase_prev[s, p] is not None},
                  key=lambda key: (position[key[0], key[1]], key[2]))
    m.phase_order_index = pyo.Set(initialize=keys, dimen=3, ordered=True)

    def rule(m: pyo.ConcreteModel, s: str, p: str, y: int) -> object:
        prev = d.phase_prev[s, p]
        assert prev is not None
        return pyo.quicksum(m.online[s, p, k, y] for k in ix.online_k[s, p, y]) <= (
            pyo.quicksum(m.online[prev[0], prev[1], k, y] for k in ix.online_k[prev[0], prev[1],
                                                                              y]))

    m.phase_order = pyo.Constraint(m.phase_order_index, rule=rule)


def add_open_with_first_phase(m: pyo.ConcreteModel, d: ModelData, ix: Lookups) -> None:
    """open[s,y] == sum_k online[s,first(s),k,y]: a new site is open while its first phase is.

    Years before that phase can be online have open fixed to 0 (see define_variables).
    """

    def rule(m: pyo.ConcreteModel, s: str, y: int) -> object:
        p = ix.first_phase.get(s)
        if p is None or s in d.opened_before or not ix.online_k[s, p, y]:
            return pyo.Constraint.Skip
        return m.open[s, y] == pyo.quicksum(m.online[s, p, k, y] for k in ix.online_k[s, p, y])

    m.open_with_first_phase = pyo.Constraint(m.S, m.Y, rule=rule)


def add_upgrade_monotone(m: pyo.ConcreteModel, d: ModelData) -> None:
    """upgrade[u,y-1] <= upgrade[u,y]: an upgrade once online stays online."""
    keys = set(d.UY)

    def rule(m: pyo.ConcreteModel, u: str, y: int) -> object:
        if (u, y - 1) not in keys:
            return pyo.Constraint.Skip
        return m.upgrade[u, y - 1] <= m.upgrade[u, y]

    m.upgrade_monotone = pyo.Constraint(m.UY, rule=rule)
