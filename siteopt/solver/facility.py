"""A single-year facility-location model read from siteopt's compiled matrices, and back.

The p-median and facility-location imports (`models/classic.md` §6) can be solved on a
formulation of their own instead of siteopt's generic model (`benders`, §11). This module
reads the problem such a model is (`detect`: sites, customers, fixed and service costs,
capacities; or why the model is not one) and maps a plan of the problem back to every
column of the model (`to_columns`), checked against every row and re-costed by the model's
own objective (`outcome_of`) before a method reports it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from siteopt.model.compile import Matrices
from siteopt.model.data import ModelData
from siteopt.solver.highs import SolverOutcome
from siteopt.solver.polish import relative_gap

#: The column families a facility-location model consists of.
_INTEGER = ("open", "online", "phase_on")
_CONTINUOUS = ("serve", "it_load")


@dataclass
class FacilityLayer:
    """The facility-location problem a model is, read from its matrices.

    `cost[s, c]` is the model's cost of serving all of customer c from site s (inf where
    the pair does not exist); `fixed[s]` the cost of the integer columns of s (with a site
    count, only `open` may carry one); `capacity[s]` the MW site s can serve.
    """

    sites: list[str]
    fixed: np.ndarray
    cost: np.ndarray
    demand: np.ndarray
    y_lower: np.ndarray
    y_upper: np.ndarray
    count: int | None
    exactly: bool
    site_columns: list[np.ndarray]  # every integer column of site s
    serve_column: np.ndarray  # (sites, customers), -1 where the pair does not exist
    load_column: np.ndarray  # it_load column of site s
    capacity: np.ndarray  # MW each site can serve (phase IT MW x max utilization)

    @property
    def uncapacitated(self) -> bool:
        """Whether no site can be filled by the demand it can reach."""
        reach = np.where(self.serve_column >= 0, self.demand[None, :], 0.0).sum(axis=1)
        return bool((self.capacity >= reach - 1e-9).all())

    def plan_cost(self, y: np.ndarray) -> float:
        """What plan `y` (0/1 per site) costs: open sites plus each customer's cheapest."""
        served = np.where(y[:, None] > 0.5, self.cost, np.inf).min(axis=0)
        return float(self.fixed @ y + served.sum())


def detect(mat: Matrices, data: ModelData) -> FacilityLayer | str:
    """The model as a single-year facility-location problem, or why it is not one."""
    if data.objective != "total_cost":
        return f"objective {data.objective}, not total_cost"
    if len(data.Y) != 1:
        return f"{len(data.Y)} years, not one"
    if data.budgets:
        return "budget rows"
    if data.existing or data.opened_before:
        return "existing capacity or sites opened before the horizon"
    by_family: dict[str, list[tuple[int, tuple]]] = {}
    for j, v in enumerate(mat.columns):
        idx = v.index()
        by_family.setdefault(v.parent_component().local_name, []).append(
            (j, idx if isinstance(idx, tuple) else (idx,)))
    other = sorted(set(by_family) - set(_INTEGER) - set(_CONTINUOUS))
    if other:
        return f"the model has {', '.join(other)} columns"
    if "open" not in by_family or "serve" not in by_family:
        return "the model has no open or serve columns"
    ints = np.flatnonzero(mat.integrality == 1)
    families_of_ints = {mat.columns[j].parent_component().local_name for j in ints}
    if not families_of_ints <= set(_INTEGER) or (mat.integrality == 2).any():
        return "integer columns outside open/online/phase_on"
    if (mat.cost < 0).any():
        return "a negative cost"
    if data.p_sites is not None:  # the count is on open: only open may carry a fixed cost
        for fam in ("online", "phase_on"):
            if any(mat.cost[j] != 0 for j, _i in by_family.get(fam, [])):
                return f"{fam} columns carry a cost beside a site count"
    sites = sorted({idx[0] for _j, idx in by_family["open"]})
    pos = {s: i for i, s in enumerate(sites)}
    if len(sites) != len(by_family["open"]):
        return "more than one open column per site"
    if any(idx[0] not in pos for fam in ("online", "phase_on", "it_load", "serve")
           for _j, idx in by_family.get(fam, [])):
        return "a site without an open column (e.g. opened before the horizon)"
    online_per_site = np.zeros(len(sites), dtype=int)
    for _j, idx in by_family.get("online", []):
        online_per_site[pos[idx[0]]] += 1
    if (online_per_site > 1).any():
        return "a site with more than one phase or cooling"
    load_column = np.full(len(sites), -1)
    for j, idx in by_family.get("it_load", []):
        if load_column[pos[idx[0]]] >= 0:
            return "a site with more than one it_load column"
        load_column[pos[idx[0]]] = j
    customers = sorted({(idx[1], idx[2]) for _j, idx in by_family["serve"]})
    cpos = {c: i for i, c in enumerate(customers)}
    year = data.Y[0]
    demand = np.array([data.demand.get((r, c, year), 0.0) for r, c in customers])
    serve_column = np.full((len(sites), len(customers)), -1)
    cost = np.full((len(sites), len(customers)), np.inf)
    for j, idx in by_family["serve"]:
        s, c = pos[idx[0]], cpos[(idx[1], idx[2])]
        serve_column[s, c] = j
        unit = mat.cost[j] + (mat.cost[load_column[s]] if load_column[s] >= 0 else 0.0)
        cost[s, c] = demand[c] * unit
    capacity = np.array([sum(data.phase_it[(q, p)] for (q, p) in data.SP if q == site)
                         for site in sites]) * data.max_utilization
    for z in sorted(set(data.site_zone.values())):
        need = sum(data.pue.get(k, 1.0) * data.phase_it[(s, p)]
                   for s, p, k, _y in data.SPKY if data.site_zone[s] == z)
        limit = data.headroom.get((z, year), math.inf) * data.derate.get(z, 1.0)
        if need > limit + 1e-9:
            return f"zone {z}'s grid headroom can bind"
    site_columns: list[list[int]] = [[] for _ in sites]
    for j in ints:
        site_columns[pos[mat.columns[j].index()[0]]].append(int(j))
    columns = [np.array(c, dtype=int) for c in site_columns]
    # y[s] = 1: s serves, so every integer column of s is 1 and all their costs are paid
    fixed = np.array([mat.cost[c].sum() for c in columns], dtype=float)
    y_lower, y_upper = np.zeros(len(sites)), np.ones(len(sites))
    for s, c in enumerate(columns):
        forced = mat.col_lower[c] > 0.5
        if forced.any() and not forced.all():
            return f"site {sites[s]} is fixed partly open"
        y_lower[s] = 1.0 if forced.all() else 0.0
        y_upper[s] = 0.0 if (mat.col_upper[c] < 0.5).any() else 1.0
    return FacilityLayer(
        sites=sites, fixed=fixed, cost=cost, demand=demand, y_lower=y_lower, y_upper=y_upper,
        count=data.p_sites, exactly=data.site_rule == "exactly", site_columns=columns,
        serve_column=serve_column, load_column=load_column, capacity=capacity)


def cheapest_shares(layer: FacilityLayer, y: np.ndarray) -> np.ndarray:
    """Each customer wholly served by its cheapest open site (sites x customers, 0/1)."""
    served = np.where(y[:, None] > 0.5, layer.cost, np.inf)
    share = np.zeros_like(layer.cost)
    best = served.argmin(axis=0)
    ok = np.isfinite(served[best, np.arange(served.shape[1])])
    share[best[ok], np.flatnonzero(ok)] = 1.0
    return share


def to_columns(mat: Matrices, layer: FacilityLayer, y: np.ndarray, share: np.ndarray
               ) -> np.ndarray:
    """Plan (`y` open sites, `share[s, c]` of customer c served by s) as every model column."""
    x = np.zeros(mat.shape[1])
    for s in np.flatnonzero(y > 0.5):
        x[layer.site_columns[s]] = 1.0
    s_idx, c_idx = np.nonzero((share > 0) & (layer.serve_column >= 0)
                              & (layer.demand[None, :] > 0))
    mw = share[s_idx, c_idx] * layer.demand[c_idx]
    x[layer.serve_column[s_idx, c_idx]] = mw
    loads = layer.load_column[s_idx]
    np.add.at(x, loads[loads >= 0], mw[loads >= 0])
    return x


def satisfies(mat: Matrices, x: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether `x` is within every row and column bound of `mat`."""
    ax = mat.A @ x
    scale = tol * np.maximum(1.0, np.abs(ax))
    return bool((ax >= mat.row_lower - scale).all() and (ax <= mat.row_upper + scale).all()
                and (x >= mat.col_lower - tol).all() and (x <= mat.col_upper + tol).all())


def outcome_of(mat: Matrices, x: np.ndarray, claimed: float, *, status: str, bound: float,
               method: str, seconds: float, nodes: int, interrupted_by: int | None,
               exact: bool = False) -> SolverOutcome | str:
    """Model vector `x` as the method's outcome, or why it cannot be one.

    `claimed` is what the method's own formulation says `x` costs; the model's objective
    must agree, and `x` must satisfy every row, or the plan (and with it the method's
    bound, which was computed for the same costs) is not reported. `exact`: `x` was built
    exactly (see `SolverOutcome.exact`).
    """
    if not satisfies(mat, x):
        return f"the {method} plan breaks a row of the model"
    objective = float(mat.cost @ x + mat.offset)
    if abs(objective - claimed) > 1e-6 * max(1.0, abs(objective)):
        return (f"the model's cost of the {method} plan ({objective:.6f}) differs from the "
                f"{method} formulation's ({claimed:.6f})")
    return SolverOutcome(status=status, model_status=f"{method}: {status}", x=x,
                         objective=objective, bound=min(bound, objective),
                         gap=relative_gap(objective, bound), solve_seconds=seconds,
                         nodes=nodes, interrupted_by=interrupted_by, exact=exact)
