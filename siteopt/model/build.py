"""The build-out MILP in Pyomo: `create_model` calls one function per family, in order.

Symbols follow `models/siteplan.md` exactly. Each family lives in the module named for what it
constrains (`timing`, `capacity`, `service`, `limits`, `classic`); `sets`, `expressions` and
`objective` hold the declarations.
"""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from siteopt.model.capacity import (
    add_cooling_class,
    add_it_load_balance,
    add_it_load_capacity,
    add_site_max_capacity,
)
from siteopt.model.classic import (
    add_backup_cover,
    add_rtt_level_order,
    add_rtt_reach,
    add_separation,
    add_single_source,
    add_site_limit,
    define_rtt_levels,
)
from siteopt.model.data import ModelData
from siteopt.model.expressions import define_expressions
from siteopt.model.indexing import Columns, Lookups, PairArrays
from siteopt.model.limits import add_budget, add_grid_headroom
from siteopt.model.objective import define_objective
from siteopt.model.resilience import add_geo_redundancy, add_n_minus_1_sites
from siteopt.model.service import add_demand_balance, add_demand_cover, add_serve_link
from siteopt.model.sets import define_sets, define_variables
from siteopt.model.tightening import add_grid_cover, add_phase_on
from siteopt.model.timing import (
    add_online_monotone,
    add_open_monotone,
    add_open_with_first_phase,
    add_phase_once,
    add_phase_order,
    add_upgrade_monotone,
)


def create_model(d: ModelData, tighten: bool = True) -> pyo.ConcreteModel:
    """Assemble the model of `models/siteplan.md` from derived data.

    `tighten` adds the tightening families (`siteopt.model.tightening`) and lifts the
    `serve_link` coefficients; they change no plan and no optimum, only the LP bound.
    """
    with PauseGC():
        m = pyo.ConcreteModel(name="siteplan")
        ix = Lookups(d)
        pairs = PairArrays(d)
        define_sets(m, d)
        define_variables(m, d)
        cols = Columns(m)
        define_expressions(m, d, ix, pairs, cols)
        add_open_monotone(m, d)
        add_online_monotone(m, d)
        add_phase_once(m, d)
        add_phase_order(m, d, ix)
        add_open_with_first_phase(m, d, ix)
        add_site_max_capacity(m, d, ix)
        add_it_load_capacity(m, d)
        add_it_load_balance(m, d, pairs, cols)
        add_cooling_class(m, d, pairs, cols)
        add_demand_balance(m, d, pairs, cols)
        add_serve_link(m, d, pairs, cols, tighten)
        add_demand_cover(m, d, pairs, cols)
        add_grid_headroom(m, d, ix)
        add_upgrade_monotone(m, d)
        add_budget(m, d)
        add_geo_redundancy(m, d, d.resilience)
        add_n_minus_1_sites(m, d, d.resilience)
        add_site_limit(m, d)
        define_rtt_levels(m, d, cols)
        add_rtt_level_order(m, d)
        add_rtt_reach(m, d, pairs, cols)
        add_single_source(m, d, pairs, cols)
        add_backup_cover(m, d, cols)
        add_separation(m, d, cols)
        define_objective(m, d)
        if tighten:
            add_phase_on(m, d, ix)
            add_grid_cover(m, d, ix)
    return m
