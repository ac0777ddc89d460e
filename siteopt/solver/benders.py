"""Benders decomposition for uncapacitated facility location (p-median, UFL): `--method benders`.

When the compiled model is, column for column, an uncapacitated facility-location problem
(one year; columns `open`, `online`, `phase_on`, `serve`, `it_load` only; every site one
phase on one cooling, large enough for all the demand it can reach; costs on `open`,
`serve` and `it_load` only, none negative) its service layer needs no LP: given the open
sites, each customer (a region and class) is served by its cheapest open site. Following
Fischetti, Ljubić and Sinnl ("Redesigning Benders decomposition for large-scale facility
location", Management Science 2017), the n x m `serve` columns are replaced by one cost
variable `theta[c]` per customer, cut from below in closed form:

    theta[c] >= D - sum_{s: C[s,c] < D} (D - C[s,c]) * y[s]

where C[s,c] is what serving all of c from s costs and D the cost of the first site, in
increasing C, at which the (fractional) open sites y reach 1. The master (y binary, theta)
is first tightened by cut rounds on its LP relaxation, then solved as a MILP, cut at its
plan and solved again until its bound meets the cost of the best plan.

Validity: any plan of the model pays at least `cost(open)` for each open site and, for each
customer, at least the cheapest open site's C (serving needs `online`, which needs `open`),
so the master is a relaxation at every stage and its bound is a bound of the model. Each
plan is mapped back to every column of the model, checked against every row, and its cost
recomputed from the model's own objective; a plan that fails either is not reported (the
method then runs HiGHS on the whole model).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np

from siteopt.model.compile import Matrices
from siteopt.model.data import ModelData
from siteopt.solver.highs import SolveOptions, SolverOutcome, new_highs, set_threads
from siteopt.solver.interrupt import cancel_on_signals
from siteopt.solver.polish import relative_gap

#: The column families an uncapacitated facility-location model consists of.
_INTEGER = ("open", "online", "phase_on")
_CONTINUOUS = ("serve", "it_load")

#: Cut-round limit of the LP phase (it ends earlier when no cut is violated).
LP_ROUNDS = 200

#: HiGHS's default absolute MIP gap: a plan within it of the bound is proven.
ABS_GAP = 1e-6


@dataclass
class FacilityLayer:
    """The uncapacitated facility-location problem a model is, read from its matrices.

    `cost[s, c]` is the model's cost of serving all of customer c from site s (inf where
    the pair does not exist); `fixed[s]` the cost of the integer columns of s (with a site
    count, only `open` may carry one).
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

    def plan_cost(self, y: np.ndarray) -> float:
        """What plan `y` (0/1 per site) costs: open sites plus each customer's cheapest."""
        served = np.where(y[:, None] > 0.5, self.cost, np.inf).min(axis=0)
        return float(self.fixed @ y + served.sum())


def detect(mat: Matrices, data: ModelData) -> FacilityLayer | str:
    """The model as an uncapacitated facility-location problem, or why it is not one."""
    if data.objective != "total_cost":
        return f"objective {data.objective}, not total_cost"
    if len(data.Y) != 1:
        return f"{len(data.Y)} years, not one"
    if data.budgets:
        return "budget rows"
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
    reach = np.where(serve_column >= 0, demand[None, :], 0.0).sum(axis=1)
    for s, site in enumerate(sites):
        phases = [(site, p) for (q, p) in data.SP if q == site]
        room = sum(data.phase_it[sp] for sp in phases) * data.max_utilization
        if room < reach[s] - 1e-9:
            return f"site {site} can be full ({room:g} of {reach[s]:g} MW): capacitated"
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
        serve_column=serve_column, load_column=load_column)


class _Cuts:
    """Closed-form Benders cuts of every customer at a point y (fractional or 0/1)."""

    def __init__(self, layer: FacilityLayer) -> None:
        self.cost = layer.cost
        self.order = np.argsort(layer.cost, axis=0, kind="stable")  # sites by cost, per customer
        self.sorted_cost = np.take_along_axis(layer.cost, self.order, axis=0)
        self.n_sites = layer.cost.shape[0]

    def values(self, y: np.ndarray) -> np.ndarray:
        """D per customer: the cost at which the sites in cost order first sum to 1."""
        cum = np.cumsum(y[self.order], axis=0)
        first = np.argmax(cum >= 1.0 - 1e-9, axis=0)
        reached = cum[-1] >= 1.0 - 1e-9
        first = np.where(reached, first, self.n_sites - 1)
        return self.sorted_cost[first, np.arange(self.cost.shape[1])]

    def violated(self, y: np.ndarray, theta: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The cuts that `(y, theta)` violates: (customers, row starts, site index, coef)."""
        d = self.values(y)  # inf where y does not reach 1 (no cut: the cover row holds)
        with np.errstate(invalid="ignore"):
            below = np.where(self.cost < d[None, :], d[None, :] - self.cost, 0.0)
        below[~np.isfinite(below)] = 0.0
        rhs_at = d - y @ below
        tol = 1e-7 * np.maximum(1.0, np.abs(d))
        cut = np.flatnonzero(np.isfinite(d) & (rhs_at - theta > tol))
        coef = below[:, cut].T  # (cuts, sites)
        rows, cols = np.nonzero(coef)
        starts = np.searchsorted(rows, np.arange(len(cut)))
        return cut, starts, cols, coef[rows, cols]


@dataclass
class _Master:
    """The Benders master in HiGHS: columns y (sites) then theta (customers)."""

    h: highspy.Highs
    n_sites: int
    n_customers: int
    integer: bool = False

    @classmethod
    def make(cls, layer: FacilityLayer, options: SolveOptions) -> _Master:
        h = new_highs()
        h.setOptionValue("output_flag", False)
        set_threads(h, int(options.threads))
        h.setOptionValue("random_seed", int(options.seed))
        n, m = layer.cost.shape
        floor = np.where(np.isfinite(layer.cost), layer.cost, np.inf).min(axis=0)
        inf = highspy.kHighsInf
        h.addVars(n, layer.y_lower, layer.y_upper)
        h.addVars(m, np.where(np.isfinite(floor), floor, 0.0), np.full(m, inf))
        h.changeColsCost(n + m, np.arange(n + m, dtype=np.int32),
                         np.concatenate([layer.fixed, np.ones(m)]))
        if layer.count is not None:
            lo = float(layer.count) if layer.exactly else -inf
            h.addRow(lo, float(layer.count), n, np.arange(n, dtype=np.int32), np.ones(n))
        # every customer with demand is served by some open site that reaches it
        reach = np.isfinite(layer.cost)
        needs = layer.demand > 0
        if (needs & reach.all(axis=0)).any():
            h.addRow(1.0, inf, n, np.arange(n, dtype=np.int32), np.ones(n))
        for c in np.flatnonzero(needs & ~reach.all(axis=0)):
            sites = np.flatnonzero(reach[:, c]).astype(np.int32)
            h.addRow(1.0, inf, len(sites), sites, np.ones(len(sites)))
        return cls(h, n, m)

    def add_cuts(self, cuts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                 d: np.ndarray) -> None:
        """theta[c] + sum_s coef * y[s] >= D[c] for each violated customer c."""
        cust, starts, sites, coef = cuts
        k = len(cust)
        lengths = np.diff(np.append(starts, len(sites)))
        index = np.empty(len(sites) + k, dtype=np.int32)
        value = np.empty(len(sites) + k)
        new_starts = starts + np.arange(k)
        for i in range(k):  # each row: its sites, then its theta
            a, b = starts[i], starts[i] + lengths[i]
            o = new_starts[i]
            index[o:o + lengths[i]] = sites[a:b]
            value[o:o + lengths[i]] = coef[a:b]
            index[o + lengths[i]] = self.n_sites + cust[i]
            value[o + lengths[i]] = 1.0
        self.h.addRows(k, d[cust], np.full(k, highspy.kHighsInf), len(index),
                       new_starts.astype(np.int32), index, value)

    def solve(self, time_limit: float | None, gap: float) -> tuple[str, np.ndarray | None,
                                                                    float, int]:
        """Run HiGHS: (status, solution, bound, nodes); SIGINT/SIGTERM stop it."""
        h = self.h
        h.setOptionValue("time_limit", math.inf if time_limit is None else max(time_limit, 0.0))
        h.setOptionValue("mip_rel_gap", gap)
        h.HandleUserInterrupt = True
        h.startSolve()
        while not h.wait(0.1)[0]:
            pass
        status = h.modelStatusToString(h.getModelStatus())
        info = h.getInfo()
        has_x = info.primal_solution_status == 2
        x = np.asarray(h.getSolution().col_value, dtype=float) if has_x else None
        if not self.integer:
            return status, x, float(info.objective_function_value), 0
        return status, x, float(info.mip_dual_bound), int(info.mip_node_count)

    def make_integer(self) -> None:
        """Turn the LP relaxation into the master MILP (y binary)."""
        n = self.n_sites
        self.h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.ones(n, dtype=np.uint8))
        self.integer = True


def to_columns(mat: Matrices, layer: FacilityLayer, y: np.ndarray) -> np.ndarray:
    """Plan `y` as a value for every column of the model (service by the cheapest open site)."""
    x = np.zeros(mat.shape[1])
    for s in np.flatnonzero(y > 0.5):
        x[layer.site_columns[s]] = 1.0
    served = np.where(y[:, None] > 0.5, layer.cost, np.inf)
    best = served.argmin(axis=0)
    for c, s in enumerate(best.tolist()):
        if layer.demand[c] > 0 and np.isfinite(served[s, c]):
            x[layer.serve_column[s, c]] = layer.demand[c]
            if layer.load_column[s] >= 0:
                x[layer.load_column[s]] += layer.demand[c]
    return x


def satisfies(mat: Matrices, x: np.ndarray, tol: float = 1e-6) -> bool:
    """Whether `x` is within every row and column bound of `mat`."""
    ax = mat.A @ x
    scale = tol * np.maximum(1.0, np.abs(ax))
    return bool((ax >= mat.row_lower - scale).all() and (ax <= mat.row_upper + scale).all()
                and (x >= mat.col_lower - tol).all() and (x <= mat.col_upper + tol).all())


@dataclass
class BendersRun:
    """What a Benders run found, in the master's terms."""

    y: np.ndarray | None
    upper: float
    lower: float
    status: str  # optimal | time_limit | interrupted
    nodes: int
    lp_rounds: int
    milp_rounds: int
    cuts: int
    lp_seconds: float
    interrupted_by: int | None = None


def benders(layer: FacilityLayer, options: SolveOptions) -> BendersRun:
    """Solve the facility-location master to `options.gap` (or its time limit)."""
    start = time.perf_counter()
    deadline = None if options.time_limit is None else start + options.time_limit
    gap = options.gap or 0.0
    master = _Master.make(layer, options)
    cuts = _Cuts(layer)
    n = master.n_sites
    best_y: np.ndarray | None = None
    best = math.inf
    lower, nodes, n_cuts, lp_rounds, milp_rounds = -math.inf, 0, 0, 0, 0

    def left() -> float | None:
        return None if deadline is None else deadline - time.perf_counter()

    def consider(y: np.ndarray) -> None:
        nonlocal best, best_y
        value = layer.plan_cost(y)
        if value < best:
            best, best_y = value, y

    with cancel_on_signals(master.h.cancelSolve) as received:
        status = "optimal"
        while lp_rounds < LP_ROUNDS:  # the LP relaxation, cut until no cut is violated
            remaining = left()
            if remaining is not None and remaining <= 0:
                status = "time_limit"
                break
            st, x, bound, _nodes = master.solve(remaining, gap)
            lp_rounds += 1
            if received:
                status = "interrupted"
                break
            if st != "Optimal" or x is None:
                status = "time_limit" if st == "Time limit reached" else st
                break
            lower = max(lower, bound)
            found = cuts.violated(x[:n], x[n:])
            if not len(found[0]):
                break
            master.add_cuts(found, cuts.values(x[:n]))
            n_cuts += len(found[0])
        lp_seconds = time.perf_counter() - start
        if status == "optimal":
            master.make_integer()
            while True:
                remaining = left()
                if remaining is not None and remaining <= 0:
                    status = "time_limit"
                    break
                if best_y is not None:  # the best plan, with its true costs, is a start
                    sol = highspy.HighsSolution()
                    theta = np.where(best_y[:, None] > 0.5, layer.cost, np.inf).min(axis=0)
                    sol.col_value = np.concatenate([best_y, theta])
                    sol.value_valid = True
                    master.h.setSolution(sol)
                st, x, bound, k = master.solve(remaining, gap)
                milp_rounds += 1
                nodes += k
                if x is not None:
                    consider(np.round(x[:n]))
                if math.isfinite(bound):
                    lower = max(lower, bound)
                if received:
                    status = "interrupted"
                    break
                if best - lower <= max(gap * abs(best), ABS_GAP):
                    status = "optimal"
                    break
                if st != "Optimal" or x is None:
                    status = "time_limit"
                    break
                y = np.round(x[:n])
                found = cuts.violated(y, x[n:])
                if not len(found[0]):  # the master's plan costs what it claims: optimal
                    status = "optimal"
                    lower = max(lower, min(best, bound))
                    break
                master.add_cuts(found, cuts.values(y))
                n_cuts += len(found[0])
    return BendersRun(y=best_y, upper=best, lower=min(lower, best), status=status,
                      nodes=nodes, lp_rounds=lp_rounds, milp_rounds=milp_rounds, cuts=n_cuts,
                      lp_seconds=lp_seconds, interrupted_by=received[0] if received else None)


def outcome_of(mat: Matrices, layer: FacilityLayer, run: BendersRun, seconds: float
               ) -> SolverOutcome | str:
    """The run as a plan of the whole model, or why its plan is not one."""
    if run.y is None:
        return SolverOutcome(status=run.status if run.status != "optimal" else "error",
                             model_status=f"benders: {run.status}", x=None,
                             objective=math.inf, bound=run.lower, gap=math.inf,
                             solve_seconds=seconds, nodes=run.nodes,
                             interrupted_by=run.interrupted_by)
    x = to_columns(mat, layer, run.y)
    if not satisfies(mat, x):
        return "the master's plan breaks a row of the model"
    objective = float(mat.cost @ x + mat.offset)
    if abs(objective - run.upper) > 1e-6 * max(1.0, abs(objective)):
        return (f"the model's cost of the master's plan ({objective:.6f}) differs from the "
                f"master's ({run.upper:.6f})")
    return SolverOutcome(status=run.status, model_status=f"benders: {run.status}", x=x,
                         objective=objective, bound=run.lower,
                         gap=relative_gap(objective, run.lower), solve_seconds=seconds,
                         nodes=run.nodes, interrupted_by=run.interrupted_by)
