"""`--method benders`: exact on uncapacitated facility location, valid cuts and bounds, and
honest about the models it does not apply to."""

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import siteopt
from siteopt.io.orlib import FacilityProblem, facility_instance
from siteopt.model.compile import compile_model
from siteopt.solver.benders import _Cuts, benders, local_search, solve_benders
from siteopt.solver.facility import FacilityLayer, detect
from siteopt.solver.highs import SolveOptions
from siteopt.solver.pipeline import build
from tests.conftest import PMED1, PMED1_OPTIMUM, after_master_solve

TINY = Path(__file__).parents[1] / "instances" / "tiny"


def _problem(seed: int, m: int = 6, n: int = 9, capacity: float | None = None
             ) -> FacilityProblem:
    rng = np.random.default_rng(seed)
    demand = rng.integers(1, 10, n).astype(float)
    cap = np.full(m, demand.sum() if capacity is None else capacity)
    return FacilityProblem(name=f"ufl-{seed}", capacity=cap,
                           fixed=rng.integers(0, 60, m).astype(float), demand=demand,
                           cost=rng.integers(1, 100, (m, n)).astype(float), source="random")


def _enumerate(problem: FacilityProblem, p: int | None) -> float:
    """The optimum by trying every set of open facilities."""
    m = len(problem.fixed)
    sizes = [p] if p is not None else range(1, m + 1)
    return min(problem.fixed[list(open_)].sum() + problem.cost[list(open_)].min(axis=0).sum()
               for k in sizes for open_ in itertools.combinations(range(m), k))


def _instance(problem: FacilityProblem, folder: Path, p: int | None = None) -> siteopt.Instance:
    inst = siteopt.load_instance(facility_instance(problem, folder, kind="orlib-ufl"))
    if p is not None:
        inst = siteopt.apply_overrides(inst, {"siting.sites": p, "siting.sites_rule": "exactly"})
    return inst


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("p", [None, 2])
def test_benders_equals_enumeration_and_highs(tmp_path, seed, p):
    problem = _problem(seed)
    if p is not None:
        problem.fixed[:] = 0.0  # the p-median: no opening cost, exactly p sites
    inst = _instance(problem, tmp_path / "u", p)
    result = siteopt.solve(inst)
    assert result.method.name == "benders", result.method.reason
    assert result.status == "optimal" and result.verified, result.violations
    assert result.objective == pytest.approx(_enumerate(problem, p), rel=1e-9)
    assert result.bound <= result.objective + 1e-6
    assert result.objective == pytest.approx(siteopt.solve(inst, method="highs").objective,
                                             rel=1e-9)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(2, 5), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_every_cut_is_below_the_true_cost_of_every_plan(m, n, seed):
    """At any point y, fractional or not, the cut of each customer never exceeds what that
    customer costs under any plan: the master stays a relaxation."""
    rng = np.random.default_rng(seed)
    cost = rng.integers(1, 50, (m, n)).astype(float)
    cost[rng.random((m, n)) < 0.25] = np.inf  # some pairs do not exist
    cost[0, :] = np.where(np.isfinite(cost).any(axis=0), cost[0, :], 7.0)  # each reachable
    point = rng.random(m) * rng.integers(0, 2, m)
    point[rng.integers(m)] = 1.0  # at least one site reaches 1
    layer = type("L", (), {"cost": cost})()
    cuts = _Cuts(layer)  # type: ignore[arg-type]
    customers, starts, sites, coef = cuts.violated(point, np.full(n, -1e18))
    d = cuts.values(point)
    ends = np.append(starts[1:], len(sites))
    for plan in itertools.product((0, 1), repeat=m):
        y = np.array(plan, dtype=float)
        true = np.where(y[:, None] > 0.5, cost, np.inf).min(axis=0)
        for i, c in enumerate(customers):
            rhs = d[c] - (coef[starts[i]:ends[i]] * y[sites[starts[i]:ends[i]]]).sum()
            assert rhs <= true[c] + 1e-9


def _layer(inst: siteopt.Instance):
    data, model = build(inst)
    _ALIVE.append(model)
    mat = compile_model(model)
    return mat, detect(mat, data)


def test_capacities_that_can_fill_a_site_are_not_this_structure(tmp_path):
    problem = _problem(1, capacity=10.0)  # less than the demand one site can reach
    _mat, layer = _layer(_instance(problem, tmp_path / "c"))
    assert not layer.uncapacitated
    result = siteopt.solve(_instance(problem, tmp_path / "c"), method="benders")
    assert "not for Benders: a site can be filled (capacitated)" in result.method.reason
    assert siteopt.solve(_instance(problem, tmp_path / "c")).method.name == "highs"  # auto
    assert result.status == "optimal" and result.verified


def test_auto_solves_the_tiny_location_instances_by_benders():
    for name in ("cheapest-site", "p-median", "latency-target"):
        result = siteopt.solve(siteopt.load_instance(TINY / name))
        assert result.method.name == "benders" and result.verified, name


@pytest.mark.parametrize("name", ["sponsor-budget", "grid-upgrade", "p-center", "service-cost"])
def test_other_models_run_highs_and_say_why(name):
    inst = siteopt.load_instance(TINY / name)
    result = siteopt.solve(inst, method="benders")
    assert "not for Benders" in result.method.reason or "benders plan breaks a row" in (
        result.method.reason)
    assert "highs" in [p["phase"] for p in result.method.phases]
    assert result.objective == pytest.approx(siteopt.solve(inst, method="highs").objective)


def test_a_plan_the_model_costs_differently_is_not_reported(tmp_path):
    """The master's cost of its plan must be the model's: a wrong cost is caught."""
    mat, layer = _layer(_instance(_problem(2), tmp_path / "u"))
    layer.fixed = layer.fixed + 1.0  # the master now over-charges every site
    run, answer = solve_benders(mat, layer, SolveOptions(gap=0.0))
    assert run.status == "optimal"
    assert isinstance(answer, str) and "differs" in answer


def test_a_plan_that_breaks_a_row_is_not_reported(tmp_path):
    mat, layer = _layer(_instance(_problem(3), tmp_path / "u"))
    layer.demand = layer.demand * 2  # the mapped plan now serves twice the demand
    layer.cost = layer.cost * 2  # (what the master charges for it)
    _run, answer = solve_benders(mat, layer, SolveOptions(gap=0.0))
    assert isinstance(answer, str) and "breaks a row" in answer


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("p", [None, 2, 4])
def test_local_search_never_worsens_a_plan_and_keeps_the_count(tmp_path, seed, p):
    problem = _problem(seed, m=8, n=12)
    if p is not None:
        problem.fixed[:] = 0.0
    _mat, layer = _layer(_instance(problem, tmp_path / "u", p))
    rng = np.random.default_rng(seed)
    start = np.zeros(8)
    start[rng.choice(8, p or 3, replace=False)] = 1.0
    better = local_search(layer, start)
    assert layer.plan_cost(better) <= layer.plan_cost(start) + 1e-9
    assert set(np.unique(better)) <= {0.0, 1.0}
    if p is not None:
        assert better.sum() == p
    # a local optimum: no single swap (nor, without a count, add or drop) is cheaper
    here = layer.plan_cost(better)
    for a in range(8):
        for b in range(8):
            moved = better.copy()
            moved[a], moved[b] = better[b], better[a]
            assert layer.plan_cost(moved) >= here - 1e-9
        if p is None:
            flipped = better.copy()
            flipped[a] = 1.0 - flipped[a]
            if flipped.any():
                assert layer.plan_cost(flipped) >= here - 1e-9


def _capacitated(tmp_path: Path, seed: int) -> tuple[siteopt.Instance, object, object]:
    """A random capacitated problem (each site holds a third of the demand) and its
    compiled model and data."""
    problem = _problem(seed, m=7, n=12)
    problem.capacity[:] = problem.demand.sum() / 3
    inst = siteopt.load_instance(facility_instance(problem, tmp_path / f"c{seed}",
                                                   kind="orlib-cap"))
    data, model = build(inst)
    _ALIVE.append(model)  # the matrices name columns by the model's vars: keep it alive
    return inst, compile_model(model), data


#: Models whose compiled matrices a test still reads (a collected block orphans its vars).
_ALIVE: list[object] = []


@pytest.mark.parametrize("seed", range(4))
def test_the_capacitated_search_prices_plans_exactly(tmp_path, seed):
    """The transport LP's cost of the search's plan is the model's own cost of that plan
    mapped to every column (which satisfies every row), and never below the optimum."""
    from siteopt.solver.capacitated import capacitated_plan
    from siteopt.solver.facility import satisfies, to_columns

    inst, mat, data = _capacitated(tmp_path, seed)
    layer = detect(mat, data)
    assert not isinstance(layer, str) and not layer.uncapacitated
    plan = capacitated_plan(layer, 30.0)
    x = to_columns(mat, layer, plan.y, plan.share)
    assert satisfies(mat, x)
    assert float(mat.cost @ x + mat.offset) == pytest.approx(plan.cost, rel=1e-9)
    optimum = siteopt.solve(inst, method="highs", gap=0.0).objective
    assert plan.relaxation <= optimum + 1e-6 <= plan.cost + 2e-6
    assert plan.cost <= 1.05 * optimum  # add/drop/swap on 7 sites: near the optimum


def test_highs_search_reports_the_search_plan_with_highs_bound(tmp_path, monkeypatch):
    """When HiGHS stops at its share of the limit without a plan, the search's plan is
    reported with HiGHS's bound, checked against every row; auto picks the method only
    under a time limit."""
    from siteopt.solver import methods
    from siteopt.solver.highs import SolverOutcome

    inst, mat, data = _capacitated(tmp_path, 0)
    assert methods.choose(mat, data, SolveOptions(time_limit=60))[0] == "highs-search"
    assert methods.choose(mat, data, SolveOptions())[0] == "highs"
    asked = []

    def stopped(mat, data, options, report):
        asked.append(options.time_limit)
        return SolverOutcome(status="time_limit", model_status="Time limit reached", x=None,
                             objective=math.inf, bound=1.0, gap=math.inf, solve_seconds=0.5)

    optimum = siteopt.solve(inst, method="highs", gap=0.0).objective
    monkeypatch.setattr(methods, "run_highs", stopped)
    # beside HiGHS (a forked process) and, where forking is impossible, after it
    runs = {"beside": lambda o, r: methods.run_highs_search(mat, data, o, r),
            "after": lambda o, r: methods._highs_then_search(mat, data, o, r, detect(mat, data),
                                                             o.time_limit)}
    for how, run in runs.items():
        asked.clear()
        report = methods.MethodReport(requested="highs-search")
        out = run(SolveOptions(time_limit=2.0), report)
        assert asked == ([2.0] if how == "beside" else [1.5])  # after: 75 % of the limit
        assert out.status == "time_limit" and out.x is not None and out.bound == 1.0
        assert optimum - 1e-6 <= out.objective <= 1.05 * optimum
        assert [p["phase"].split(":")[0] for p in report.phases] == (
            ["search beside HiGHS"] if how == "beside" else ["search"])


def _silent_search(layer, seconds, conn) -> None:
    """A search process that sends nothing (the test only reads how long it is awaited)."""
    conn.close()


@pytest.mark.parametrize("overrun, expected", [(0.0, 0.5), (0.2, 0.3), (2.0, 0.0)])
def test_highs_search_waits_for_the_search_only_until_just_past_the_limit(
        tmp_path, monkeypatch, overrun, expected):
    """HiGHS used its whole limit (and `overrun` s more): the search's last plan is awaited
    only until `HELPER_GRACE` (0.5 s) past the limit, not `SEARCH_WAIT` (5 s) after HiGHS
    stopped, which overran --time-limit by up to 5 s. A clock is injected: no waiting."""
    from siteopt.solver import methods
    from siteopt.solver.highs import SolverOutcome

    _inst, mat, data = _capacitated(tmp_path, 0)
    now = [1000.0]
    monkeypatch.setattr(methods, "clock", lambda: now[0])

    def highs_at_its_limit(mat, data, options, report):
        now[0] += options.time_limit + overrun
        return SolverOutcome(status="time_limit", model_status="Time limit reached", x=None,
                             objective=math.inf, bound=1.0, gap=math.inf,
                             solve_seconds=options.time_limit + overrun)

    waited: list[float] = []
    monkeypatch.setattr(methods, "run_highs", highs_at_its_limit)
    monkeypatch.setattr(methods, "_search_worker", _silent_search)

    def ready(conn, seconds: float) -> bool:  # nothing arrives: the wait is only recorded
        waited.append(seconds)
        return False

    monkeypatch.setattr(methods, "_ready", ready)
    out = methods.run_highs_search(mat, data, SolveOptions(time_limit=60.0),
                                   methods.MethodReport(requested="highs-search"))
    assert waited == [pytest.approx(expected)]
    assert methods.HELPER_GRACE == 0.5 and methods.SEARCH_WAIT == 5.0
    assert out.status == "time_limit" and out.x is None and out.bound == 1.0


def _cover_layer(edges: list[tuple[int, int]], sites: int, count: int | None) -> FacilityLayer:
    """A master-only layer: customer k is reachable from the two sites of edge k only."""
    cost = np.full((sites, len(edges)), np.inf)
    serve = np.full((sites, len(edges)), -1)
    for k, (a, b) in enumerate(edges):
        cost[[a, b], k] = 1.0
        serve[[a, b], k] = 0
    return FacilityLayer(sites=[f"s{i}" for i in range(sites)], fixed=np.ones(sites),
                         cost=cost, demand=np.ones(len(edges)), y_lower=np.zeros(sites),
                         y_upper=np.ones(sites), count=count, exactly=False,
                         site_columns=[np.array([i]) for i in range(sites)],
                         serve_column=serve, load_column=np.arange(sites),
                         capacity=np.full(sites, float(len(edges))))


def test_a_master_whose_lp_has_no_point_is_infeasible():
    """Every site closed: the master's LP, a relaxation of the model, has no point."""
    layer = _cover_layer([(0, 1), (1, 2)], 3, None)
    layer.y_upper[:] = 0.0
    run = benders(layer, SolveOptions(gap=0.0))
    assert run.status == "infeasible" and run.y is None


def test_a_master_with_lp_points_but_no_integer_plan_is_infeasible():
    """Two disjoint triangles to cover with at most 3 sites: the LP covers them with every
    site at 1/2 (3 in all), but a 0/1 cover needs 4 sites; no plan is cheaper than no
    cutoff, so the model has no plan (not: "optimal" at an infinite cutoff)."""
    triangles = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)]
    run = benders(_cover_layer(triangles, 6, 3), SolveOptions(gap=0.0))
    assert run.status == "infeasible" and run.y is None
    assert math.isinf(run.upper)
    assert run.lp_rounds >= 1 and run.milp_rounds >= 1


@pytest.mark.parametrize("rounds", [1, 3])
def test_a_time_limit_in_the_lp_rounds_returns_the_rounded_lp_plan(tmp_path, monkeypatch,
                                                                   rounds):
    """The limit strikes after `rounds` LP cut rounds on pmed1 (`--time-limit 0.05` did on
    a real clock): Benders holds an LP point, so it reports that point rounded and improved
    by local search as a checked `time_limit` plan with the LP bound and its gap, not
    `no_plan`. A clock is injected that jumps past the limit after the chosen round (the
    local search then runs to its end): no dependence on wall time."""
    from siteopt.io.orlib import import_orlib
    from siteopt.solver import benders as benders_module
    from siteopt.solver.polish import relative_gap

    now = [0.0]
    monkeypatch.setattr(benders_module, "clock", lambda: now[0])

    def time_passes() -> None:
        now[0] += 1e6  # far past any limit

    after_master_solve(monkeypatch, rounds, time_passes)
    inst = siteopt.load_instance(import_orlib("orlib-pmed", PMED1, tmp_path / "pmed1"))
    result = siteopt.solve(inst, method="benders", time_limit=60.0)
    assert result.method.name == "benders", result.method.reason
    assert result.status == "time_limit" and result.verified, result.violations
    lp, milp = result.method.phases[:2]
    assert lp["rounds"] == rounds and milp["rounds"] == 0
    assert lp["heuristic"] == pytest.approx(result.objective)
    assert result.objective >= PMED1_OPTIMUM - 1e-6
    assert result.bound is not None and result.bound <= PMED1_OPTIMUM + 1e-6
    assert result.gap == pytest.approx(relative_gap(result.objective, result.bound))
    assert 0.0 < result.gap <= 1.0
    sites = result.tables["sites"]
    assert sites["open_year"].notna().sum() == 5  # pmed1's p


@pytest.mark.parametrize("now_at_limit, searched", [(10.2, True), (11.0, False)])
def test_the_search_after_the_limit_ends_its_grace_past_the_limit(
        tmp_path, monkeypatch, now_at_limit, searched):
    """A 10 s limit strikes after the first LP round: the local search from the rounded LP
    point runs until `grace` (0.5 s) past the limit, not to its end: at 10.2 s it searches,
    at 11 s (past the grace) the rounded plan is kept as it is. A clock is injected."""
    from siteopt.io.orlib import import_orlib
    from siteopt.solver import benders as benders_module

    _mat, layer = _layer(siteopt.load_instance(
        import_orlib("orlib-pmed", PMED1, tmp_path / "pmed1")))
    now = [0.0]
    monkeypatch.setattr(benders_module, "clock", lambda: now[0])
    solve = benders_module._Master.solve

    def solve_then_time_passes(self, time_limit, gap):
        answer = solve(self, time_limit, gap)
        now[0] = now_at_limit
        return answer

    searches: list[tuple[np.ndarray, float | None]] = []

    def recorded_search(layer, y, deadline=None):
        searches.append((y, deadline))
        return local_search(layer, y, deadline)

    monkeypatch.setattr(benders_module._Master, "solve", solve_then_time_passes)
    monkeypatch.setattr(benders_module, "local_search", recorded_search)
    run = benders(layer, SolveOptions(time_limit=10.0, gap=0.0), grace=0.5)
    assert run.status == "time_limit" and run.lp_rounds == 1 and run.milp_rounds == 0
    [(rounded, deadline)] = searches
    assert deadline == pytest.approx(10.5)
    assert rounded.sum() == 5 and run.y is not None and run.y.sum() == 5
    improved = local_search(layer, rounded)
    assert layer.plan_cost(improved) < layer.plan_cost(rounded)  # the search has work to do
    expected = improved if searched else rounded
    assert np.array_equal(run.y, expected)
    assert run.upper == pytest.approx(layer.plan_cost(expected))
    assert run.lower <= PMED1_OPTIMUM <= run.upper + 1e-6
