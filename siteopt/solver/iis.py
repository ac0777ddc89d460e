"""HiGHS's irreducible infeasible subsystem (IIS), mapped back to instance rows.

A complement to the elastic explanation: when even the LP relaxation (phases allowed in
fractions) is infeasible, HiGHS can name a smallest set of rows and variable bounds that
conflict. Each is mapped from the model's row and column back to the instance row it comes
from (e.g. `demand_balance[R,cloud,2030]` -> demand.csv line 2). When the LP relaxation is
feasible the conflict lies in the whole-phase decisions and no IIS is available.
"""

from __future__ import annotations

import highspy
import numpy as np
import pyomo.environ as pyo

from siteopt.data.instance import Instance
from siteopt.io.schema import TABLES_BY_NAME
from siteopt.model.build import create_model
from siteopt.model.compile import Matrices, TrivialInfeasibilityError, compile_model
from siteopt.model.data import ModelData, build_data
from siteopt.solver.highs import SolveOptions, run_here, to_highs


def _lines(inst: Instance, table: str, keys: list[str]) -> dict[tuple, int]:
    frame = inst.table(table)
    lines = frame.attrs.get("line") or [i + 2 for i in range(len(frame))]
    rows = frame[keys].itertuples(index=False, name=None)
    return {tuple(int(v) if k == "year" else v for k, v in zip(keys, row, strict=True)): lines[i]
            for i, row in enumerate(rows)}


#: Resilience families (`siteopt.model.resilience`): the rule and where the class sits in
#: the index; n1_spare and n1_cover rows span the classes of a site or reach set.
_RESILIENCE: dict[str, tuple[str, int | None]] = {
    "geo_pick": ("min_sites", 2), "geo_pick_host": ("min_sites", 2),
    "geo_sites": ("min_sites", 1), "geo_zone": ("distinct_zones", 1),
    "geo_apart": ("min_km_apart", 3), "backup": ("n_minus_1_sites", 3),
    "n1_reserve": ("n_minus_1_sites", 2), "n1_link": ("n_minus_1_sites", 3),
    "n1_region": ("n_minus_1_sites", 1), "n1_spare": ("n_minus_1_sites", None),
    "n1_cover": ("n_minus_1_sites", None),
}


class _RowMap:
    """Where each family's index comes from in the instance tables (or instance.toml)."""

    def __init__(self, inst: Instance, d: ModelData):
        self.d = d
        self.n1_classes = sorted(c for c, rule in inst.meta.resilience.items()
                                 if rule.n_minus_1_sites)
        self.demand = _lines(inst, "demand", ["region", "class", "year"])
        self.headroom = _lines(inst, "headroom", ["zone", "year"])
        self.sites = _lines(inst, "sites", ["site"])
        self.phases = _lines(inst, "phases", ["site", "phase"])
        self.upgrades = _lines(inst, "upgrades", ["upgrade"])
        frame = inst.table("budgets")
        self.budgets = frame.attrs.get("line") or [i + 2 for i in range(len(frame))]

    def locate(self, family: str, index: tuple) -> str:
        """`file line N` for a row or column of `family` at `index`, or '' if none fits."""
        def at(table: str, line: int | None) -> str:
            return "" if line is None else f"{TABLES_BY_NAME[table].file} line {line}"

        if family in ("demand_balance", "unserved"):
            return at("demand", self.demand.get(index))
        if family == "grid_headroom":
            return at("headroom", self.headroom.get(index))
        if family == "budget":
            return at("budgets", self.budgets[index[0]] if index[0] < len(self.budgets) else None)
        if family in ("upgrade", "upgrade_monotone"):
            return at("upgrades", self.upgrades.get(index[:1]))
        if family in ("online", "online_monotone", "phase_order"):
            return at("phases", self.phases.get(index[:2]))
        if family in ("open", "open_monotone", "open_with_first_phase", "site_max_capacity",
                      "it_load_capacity", "it_load_balance", "it_load", "serve", "serve_link",
                      "cooling_class"):
            return at("sites", self.sites.get(index[:1]))
        if family in _RESILIENCE:  # a rule of instance.toml, which has no table line
            rule, pos = _RESILIENCE[family]
            classes = [str(index[pos])] if pos is not None else self.n1_classes
            return ", ".join(f"instance.toml [resilience.{c}] {rule}" for c in classes)
        return ""


def _name(component: object) -> tuple[str, tuple]:
    parent = component.parent_component()  # type: ignore[attr-defined]
    index = component.index()  # type: ignore[attr-defined]
    return parent.name, index if isinstance(index, tuple) else (index,)


def _describe(mapper: _RowMap, family: str, index: tuple, what: str) -> str:
    shown = f"{family}[{','.join(str(i) for i in index)}]" if index != (None,) else family
    where = mapper.locate(family, index)
    return f"{what} {shown}" + (f" ({where})" if where else "")


def iis_conflict(inst: Instance, options: SolveOptions | None = None) -> list[str] | None:
    """The IIS of the LP relaxation as sentences; None if the LP relaxation is feasible.

    [] when HiGHS gives no IIS (or no verdict on the relaxation).
    """
    d = build_data(inst)
    model = create_model(d, tighten=False)  # rows that map back to instance rows only
    try:
        mat = compile_model(model)
    except TrivialInfeasibilityError as exc:  # one row alone is infeasible: that is the IIS
        return [str(exc)]
    relaxed = Matrices(columns=mat.columns, rows=mat.rows, cost=mat.cost, offset=mat.offset,
                       A=mat.A, row_lower=mat.row_lower, row_upper=mat.row_upper,
                       col_lower=mat.col_lower, col_upper=mat.col_upper,
                       integrality=np.zeros_like(mat.integrality))
    h = to_highs(relaxed, options or SolveOptions())
    # the irreducible strategy (deletion filter): the light default often returns nothing
    h.setOptionValue("iis_strategy", int(highspy.IisStrategy.kIisStrategyIrreducible))
    run_here(h)
    status_name = str(h.getModelStatus())
    if status_name.endswith("kOptimal"):
        return None
    if "Infeasible" not in status_name:  # the LP solve failed: no verdict either way
        return []
    status, iis = h.getIis()
    if "Ok" not in str(status) or not iis.valid_:
        return []
    mapper = _RowMap(inst, d)
    out = []
    for i in iis.row_index_:
        family, index = _name(mat.rows[int(i)][0])
        out.append(_describe(mapper, family, index, "row"))
    for j, bound in zip(iis.col_index_, iis.col_bound_, strict=True):
        what = _BOUND.get(int(bound))
        if what is None:  # a free column: in the subsystem, its bounds are not
            continue
        var: pyo.Var = mat.columns[int(j)]
        family, index = _name(var)
        out.append(_describe(mapper, family, index, what))
    return out


#: IIS bound status -> words (lower, upper, both); other statuses are not in conflict.
_BOUND = {2: "lower bound of", 3: "upper bound of", 4: "bounds of"}
