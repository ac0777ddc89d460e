"""Benders decomposition for uncapacitated facility location (p-median, UFL): `--method benders`.

For a model that `siteopt.solver.facility.detect` reads as an uncapacitated
facility-location problem, the service layer needs no LP: given the open sites, each
customer (a region and class) is served by its cheapest open site. Following Fischetti,
Ljubić and Sinnl ("Redesigning Benders decomposition for large-scale facility location",
Management Science 2017), the n x m `serve` columns are replaced by one cost variable
`theta[c]` per customer, cut from below in closed form:

    theta[c] >= D - sum_{s: C[s,c] < D} (D - C[s,c]) * y[s]

where C[s,c] is what serving all of c from s costs and D the cost of the first site, in
increasing C, at which the (fractional) open sites y reach 1. The master (y binary, theta)
is first tightened by cut rounds on its LP relaxation, then solved as a MILP, cut at its
plan and solved again until its bound meets the cost of the best plan. A time limit (or
Ctrl-C / SIGTERM) that strikes during the LP rounds returns their last LP point rounded and
improved by local search, with the LP bound (`benders`).

Validity: any plan of the model pays at least `fixed[s]` for each site that serves (with a
site count: each open site) and, for each customer, at least the cheapest such site's C, so
the master is a relaxation at every stage and its bound is a bound of the model
(`models/classic.md` §11). The plan is mapped back to the model and checked there
(`facility.outcome_of`) before it is reported.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np

from siteopt.model.compile import Matrices
from siteopt.solver.facility import FacilityLayer, cheapest_shares, outcome_of, to_columns
from siteopt.solver.highs import SolveOptions, SolverOutcome, new_highs, set_threads
from siteopt.solver.interrupt import cancel_on_signals

#: Cut-round limit of the LP phase (it ends earlier when no cut is violated).
LP_ROUNDS = 200

#: HiGHS's default absolute MIP gap: a plan within it of the bound is proven.
ABS_GAP = 1e-6

#: The clock of the time-limit arithmetic (a test replaces it to make the limit strike
#: after a chosen LP round without depending on wall time).
clock: Callable[[], float] = time.perf_counter


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

    def fix_by_reduced_cost(self, lp_bound: float, cutoff: float) -> int:
        """Close the sites whose reduced cost at the LP optimum exceeds `cutoff - lp_bound`.

        Any master plan opening such a site costs more than `cutoff` (LP duality), so only
        plans cheaper than `cutoff` are kept: the caller caps bounds at `cutoff`. Returns
        how many sites were closed.
        """
        if not math.isfinite(cutoff) or not math.isfinite(lp_bound):
            return 0
        sol = self.h.getSolution()
        n = self.n_sites
        y = np.asarray(sol.col_value[:n])
        reduced = np.asarray(sol.col_dual[:n])
        lp = self.h.getLp()
        upper = np.asarray(lp.col_upper_[:n])
        margin = ABS_GAP + 1e-9 * abs(cutoff)
        close = np.flatnonzero((upper > 0.5) & (y < 1e-9) & (lp_bound + reduced > cutoff
                                                              + margin))
        if len(close):
            self.h.changeColsBounds(len(close), close.astype(np.int32), np.zeros(len(close)),
                                    np.zeros(len(close)))
        return len(close)

    def make_integer(self) -> None:
        """Turn the LP relaxation into the master MILP (y binary)."""
        n = self.n_sites
        self.h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.ones(n, dtype=np.uint8))
        self.integer = True


def local_search(layer: FacilityLayer, y: np.ndarray, deadline: float | None = None
                 ) -> np.ndarray:
    """`y` improved by swap, add and drop moves until none pays (vertex substitution).

    Swaps keep the number of open sites (with an exact site count, the only moves); adds
    and drops apply where the count allows. Each pass evaluates every move at once from
    each customer's cheapest and second-cheapest open site. Sites fixed open or closed are
    not moved. Returns a plan costing no more than `y` (or `y` if that has no finite cost).
    """
    cost = np.where(np.isfinite(layer.cost), layer.cost, 1e30)
    y = y.copy()
    movable_in = (layer.y_upper > 0.5)
    movable_out = (layer.y_lower < 0.5)
    can_add = layer.count is None or not layer.exactly
    can_drop = not (layer.count is not None and layer.exactly)
    current = layer.plan_cost(y)
    if not math.isfinite(current):
        return y
    while deadline is None or clock() < deadline:
        open_ = np.flatnonzero(y > 0.5)
        served = np.where(y[:, None] > 0.5, cost, np.inf)
        order = np.argsort(served, axis=0)[:2]
        best1 = served[order[0], np.arange(cost.shape[1])]
        best2 = served[order[1], np.arange(cost.shape[1])] if len(open_) > 1 else np.full(
            cost.shape[1], 1e30)
        fixed_now = float(layer.fixed @ y)
        moves: list[tuple[float, int, int]] = []  # (new cost, site in, site out); -1: none
        closed = np.flatnonzero((y < 0.5) & movable_in)
        for r in open_[movable_out[open_]]:
            without = np.where(order[0] == r, best2, best1)
            if can_drop and len(open_) > 1:
                moves.append((fixed_now - layer.fixed[r] + float(without.sum()), -1, int(r)))
            if len(closed):
                totals = np.minimum(cost[closed], without[None, :]).sum(axis=1)
                totals += fixed_now - layer.fixed[r] + layer.fixed[closed]
                k = int(np.argmin(totals))
                moves.append((float(totals[k]), int(closed[k]), int(r)))
        if can_add and len(closed) and (layer.count is None or len(open_) < layer.count):
            totals = np.minimum(cost[closed], best1[None, :]).sum(axis=1)
            totals += fixed_now + layer.fixed[closed]
            k = int(np.argmin(totals))
            moves.append((float(totals[k]), int(closed[k]), -1))
        if not moves:
            break
        value, add, drop = min(moves)
        if value >= current - 1e-9 * max(1.0, abs(current)):
            break
        if add >= 0:
            y[add] = 1.0
        if drop >= 0:
            y[drop] = 0.0
        current = layer.plan_cost(y)
    return y


def _start_plan(layer: FacilityLayer, y_lp: np.ndarray) -> np.ndarray:
    """A 0/1 plan from the LP point: the sites it opens most (p of them with a count)."""
    n = len(y_lp)
    rank = np.argsort(-(y_lp + 1e-9 * layer.y_upper), kind="stable")
    y = np.zeros(n)
    y[layer.y_lower > 0.5] = 1.0
    if layer.count is not None:
        for s in rank:
            if y.sum() >= layer.count:
                break
            if layer.y_upper[s] > 0.5:
                y[s] = 1.0
    else:
        y[(y_lp > 0.5) & (layer.y_upper > 0.5)] = 1.0
        if not y.any():
            y[rank[0]] = 1.0
    return y


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
    seconds: float = 0.0
    interrupted_by: int | None = None
    #: sites closed by reduced-cost fixing after the LP rounds
    fixed_closed: int = 0
    #: cost of the local-search plan from the LP point (inf if none)
    heuristic: float = math.inf


def benders(layer: FacilityLayer, options: SolveOptions, grace: float = 0.0) -> BendersRun:
    """Solve the facility-location master to `options.gap` (or its time limit).

    If the time limit strikes during the LP cut rounds, the last LP optimum is rounded
    (`_start_plan`) and improved by `local_search` until `grace` seconds past the limit:
    that plan is returned as `time_limit` with the LP bound, rather than no plan. Ctrl-C or
    SIGTERM there does the same, the search ending `grace` seconds after the stop, and
    returns `interrupted`; only a stop before the first LP optimum leaves no plan (`y` None).
    """
    start = clock()
    deadline = None if options.time_limit is None else start + options.time_limit
    gap = options.gap or 0.0
    master = _Master.make(layer, options)
    cuts = _Cuts(layer)
    n = master.n_sites
    best_y: np.ndarray | None = None
    best = math.inf
    lower, nodes, n_cuts, lp_rounds, milp_rounds = -math.inf, 0, 0, 0, 0
    x: np.ndarray | None = None
    y_lp: np.ndarray | None = None  # the sites of the last LP optimum (every cut so far)
    # after reduced-cost fixing, the master only holds plans cheaper than `cutoff`: its
    # bounds are bounds of the model only together with it (min(bound, cutoff))
    cutoff, n_fixed, heuristic, converged = math.inf, 0, math.inf, False

    def left() -> float | None:
        return None if deadline is None else deadline - clock()

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
            if st == "Optimal" and x is not None:  # a bound and a point, stop or not
                lower = max(lower, bound)
                y_lp = x[:n]
            if received:  # Ctrl-C / SIGTERM: the last LP point is rounded below
                status = "interrupted"
                break
            if st != "Optimal" or x is None:
                # the master's LP relaxes the model: infeasible there is infeasible
                status = {"Time limit reached": "time_limit",
                          "Infeasible": "infeasible"}.get(st, "error")
                break
            found = cuts.violated(x[:n], x[n:])
            if not len(found[0]):
                converged = True
                break
            master.add_cuts(found, cuts.values(x[:n]))
            n_cuts += len(found[0])
        lp_seconds = clock() - start
        if status in ("optimal", "time_limit", "interrupted") and y_lp is not None:
            # at the limit or a stop: what the LP rounds hold, rounded and searched a
            # `grace` more (past the limit, or past the stop request)
            until = {"optimal": deadline,
                     "time_limit": None if deadline is None else deadline + grace,
                     "interrupted": clock() + grace}[status]
            consider(local_search(layer, _start_plan(layer, y_lp), until))
            heuristic = best
            if converged:  # the reduced costs are those of the last LP, with every cut
                cutoff = best
                n_fixed = master.fix_by_reduced_cost(lower, cutoff)
            if best_y is not None:  # cuts tight at the best plan, where the search ends
                found = cuts.violated(best_y, np.full(master.n_customers, -np.inf))
                master.add_cuts(found, cuts.values(best_y))
                n_cuts += len(found[0])
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
                if st == "Infeasible" and not math.isfinite(cutoff):
                    status = "infeasible"  # no cutoff: the master, a relaxation, has no plan
                    break
                if st == "Infeasible":  # no plan cheaper than the cutoff: it is optimal
                    bound = cutoff
                if math.isfinite(bound):
                    lower = max(lower, min(bound, cutoff))
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
                    lower = max(lower, min(best, bound, cutoff))
                    break
                master.add_cuts(found, cuts.values(y))
                n_cuts += len(found[0])
    return BendersRun(y=best_y, upper=best, lower=min(lower, best), status=status,
                      nodes=nodes, lp_rounds=lp_rounds, milp_rounds=milp_rounds, cuts=n_cuts,
                      lp_seconds=lp_seconds, seconds=clock() - start,
                      interrupted_by=received[0] if received else None,
                      fixed_closed=n_fixed, heuristic=heuristic)


def solve_benders(mat: Matrices, layer: FacilityLayer, options: SolveOptions,
                  grace: float = 0.0) -> tuple[BendersRun, SolverOutcome | str]:
    """Benders on `layer`, its plan as an outcome of the model (or why it is not one).

    `grace`: seconds past the time limit the local search from the LP point may run when
    the limit strikes during the LP rounds (`benders`).
    """
    run = benders(layer, options, grace)
    seconds = run.seconds
    if run.y is None:
        return run, SolverOutcome(
            status=run.status if run.status != "optimal" else "error",
            model_status=f"benders: {run.status}", x=None, objective=math.inf,
            bound=run.lower, gap=math.inf, solve_seconds=seconds, nodes=run.nodes,
            interrupted_by=run.interrupted_by)
    x = to_columns(mat, layer, run.y, cheapest_shares(layer, run.y))
    return run, outcome_of(mat, x, run.upper, status=run.status, bound=run.lower,
                           method="benders", seconds=seconds, nodes=run.nodes,
                           interrupted_by=run.interrupted_by, exact=True)
