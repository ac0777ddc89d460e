"""Every solve method agrees with the others on the known-answer instances, and `auto` picks."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import siteopt
from siteopt.solver import METHOD_NAMES
from siteopt.solver.methods import METHODS

TINY = Path(__file__).parents[1] / "instances" / "tiny"
ORLIB = Path(__file__).parent / "data" / "orlib"
CASES = sorted(p.name for p in TINY.iterdir() if (p / "instance.toml").exists())


def test_the_command_line_lists_every_method():
    assert set(METHOD_NAMES) == {"auto", *METHODS}


@pytest.mark.parametrize("name", CASES)
def test_every_method_finds_the_same_optimum(name):
    inst = siteopt.load_instance(TINY / name)
    reference = siteopt.solve(inst, method="highs")
    for method in METHOD_NAMES:
        result = siteopt.solve(inst, method=method)
        assert result.status == reference.status, method
        if reference.objective is not None:
            assert result.verified, (method, result.violations)
            assert result.objective == pytest.approx(reference.objective, rel=1e-6), method
            assert result.bound <= result.objective + 1e-6 * max(1, abs(result.objective))


def test_auto_solves_a_p_center_by_radius_search():
    inst = siteopt.load_instance(TINY / "p-center")
    result = siteopt.solve(inst)
    assert result.method.name == "radius"
    probes = [p for p in result.method.phases if str(p["phase"]).startswith("radius <=")]
    assert probes and all(p["note"] in ("feasible", "infeasible") for p in probes)


@pytest.mark.parametrize("seed", [3, 4, 5, 6])
def test_radius_search_is_exact_when_capacities_bind(tmp_path, seed):
    """Generated instances (phases, coolings, headroom, budgets) as p-center problems:
    bisection with the whole model as its feasibility check equals the one-shot ladder.

    Demand is halved so that every region can be served (p-center serves all demand)."""
    siteopt.generate_instance(siteopt.GeneratorSpec(sites=6, regions=8, years=2, seed=seed),
                              tmp_path / "g")
    inst = siteopt.apply_overrides(siteopt.load_instance(tmp_path / "g"),
                                   {"siting.objective": "max_rtt", "demand.scale": 0.5})
    ladder = siteopt.solve(inst, method="highs")
    bisection = siteopt.solve(inst, method="radius")
    assert ladder.status == bisection.status == "optimal"
    assert bisection.verified, bisection.violations
    assert bisection.objective == pytest.approx(ladder.objective, abs=1e-9)
    assert bisection.total_cost == pytest.approx(ladder.total_cost, rel=1e-4)


@pytest.mark.slow
def test_pmed5_p_center_with_33_sites(tmp_path):
    """The published p-center optimum of pmed5 at p = 33 is 48 (Elloumi, Labbé, Pochet 2004);
    the one-shot ladder's root bound is 24.6, bisection proves it in a handful of probes."""
    from siteopt.io.orlib import import_orlib

    inst = siteopt.apply_overrides(
        siteopt.load_instance(import_orlib("orlib-pmed", ORLIB / "pmed" / "pmed5.txt",
                                           tmp_path / "P5")),
        {"siting.objective": "max_rtt", "siting.sites": 33})
    result = siteopt.solve(inst)
    assert result.status == "optimal" and result.verified
    assert result.objective == pytest.approx(48.0)
    assert result.bound == pytest.approx(48.0)


def test_no_servable_pair_at_all_is_a_plan_with_everything_unserved():
    """Every latency target out of reach and unserved demand allowed: a plan, not a crash."""
    inst = siteopt.apply_overrides(siteopt.load_instance(TINY / "latency-target"), {
        "latency_targets.max_rtt_ms": 0.01, "service.allow_unserved": True,
        "service.unserved_penalty_usd_m_per_mw_year": 1000})
    result = siteopt.solve(inst)
    assert result.status == "optimal" and result.verified, result.violations
    assert len(result.tables["served"]) == 0
    assert result.tables["unserved"]["unserved_mw"].sum() > 0


RACE_LOSER_SENDS_LATE = """
import os, signal, tempfile
import numpy as np
import siteopt.solver.methods as M
from siteopt.solver.highs import SolveOptions, SolverOutcome

READY = os.path.join(tempfile.mkdtemp(), "loser-searching")

def racer(mat, options, **kw):
    if options.seed == 0:  # proves first, once the other racer is searching
        while not os.path.exists(READY):
            os.sched_yield()
        return SolverOutcome("optimal", "Optimal", np.zeros(3), 1.0, 1.0, 0.0, 0.5)
    # still searching: stops at SIGTERM, then sends a plan larger than a pipe's buffer
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    open(READY, "w").close()
    signal.sigwait({signal.SIGTERM})
    return SolverOutcome("interrupted", "Interrupted", np.zeros(200_000), 2.0, 0.5, 0.75, 1.0)

M.solve_matrices = racer  # the forked racers inherit it
out = M.run_race(None, None, SolveOptions(seed=0), M.MethodReport(requested="race"))
print(out.status, out.objective)
"""


def test_a_race_won_while_the_other_racer_still_searches_returns():
    """The loser, stopped, sends a plan larger than the pipe's buffer: the race reads and
    drops it instead of waiting forever for the process to end."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", RACE_LOSER_SENDS_LATE], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["optimal", "1.0"]


def test_radius_on_a_model_without_round_trip_levels_says_why_it_runs_highs():
    """`--method radius` asked for on a total-cost model runs one HiGHS run and says so."""
    result = siteopt.solve(siteopt.load_instance(TINY / "cheapest-site"), method="radius")
    assert result.status == "optimal" and result.verified
    assert result.method.phases[0]["phase"] == "highs"
    assert "not a p-center" in result.method.reason
    assert "objective total_cost" in result.method.reason


def _compiled(name):
    from siteopt.model.compile import compile_model
    from siteopt.solver.pipeline import build

    data, model = build(siteopt.load_instance(TINY / name))
    return compile_model(model), data


@pytest.mark.parametrize("interrupted_by, bound_share, expected", [
    (None, 1.0, "optimal"),          # RENS's LP bound meets HiGHS's plan: proven
    (None, 0.999, "time_limit"),     # 0.1 % apart, gap asked 0.01 %: not proven
    (2, 1.0, "interrupted"),         # the user stopped it: stays as stopped
])
def test_a_plan_proven_by_a_bound_from_another_run_is_reported_optimal(
        monkeypatch, interrupted_by, bound_share, expected):
    """HiGHS stops at its limit with a plan; RENS's LP optimum beside it, a valid bound,
    equals the plan's cost: the combined outcome is proven and `run_method` says optimal
    (and why), unless a signal stopped it; a plan outside the gap stays `time_limit`."""
    from siteopt.solver import methods
    from siteopt.solver.highs import SolveOptions, SolverOutcome, solve_matrices
    from siteopt.solver.rens import RensRecord, with_helper

    mat, data = _compiled("cheapest-site")
    optimum = solve_matrices(mat, SolveOptions(gap=0.0))
    status = "time_limit" if interrupted_by is None else "interrupted"
    stopped = SolverOutcome(status=status, model_status="Time limit reached", x=optimum.x,
                            objective=optimum.objective, bound=0.5 * optimum.objective,
                            gap=0.5, solve_seconds=1.0, interrupted_by=interrupted_by)
    record = RensRecord()
    record.lp_bound = bound_share * optimum.objective

    def combined(mat, data, options, report):
        return with_helper(stopped, record, mat)

    monkeypatch.setitem(methods.METHODS, "highs-rens", combined)
    out, report = methods.run_method(mat, data, SolveOptions(method="highs-rens", gap=1e-4))
    assert out.status == expected
    assert out.bound <= out.objective
    assert ("proven optimal" in report.reason) == (expected == "optimal")
    if expected == "optimal":
        assert out.gap <= 1e-4


@pytest.mark.slow
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sites=st.integers(3, 6), regions=st.integers(3, 8), years=st.integers(1, 2),
       seed=st.integers(0, 10_000),
       objective=st.sampled_from(["total_cost", "max_rtt", "site_count", "uncovered_mw"]),
       gap=st.sampled_from([0.0, 0.02]), time_limit=st.sampled_from([None, 0.2]))
def test_every_method_agrees_with_the_exact_reference(tmp_path_factory, sites, regions, years,
                                                      seed, objective, gap, time_limit):
    """Against `highs --gap 0` (the reference optimum), for every method, with or without a
    tight time limit: the bound never exceeds the optimum, an `optimal` plan is within the
    gap of it, the gap is what objective and bound say, and `optimal` means within `gap`."""
    from siteopt.solver.highs import relative_gap

    folder = tmp_path_factory.mktemp("agree") / "g"
    siteopt.generate_instance(siteopt.GeneratorSpec(sites=sites, regions=regions, years=years,
                                                    seed=seed), folder)
    inst = siteopt.load_instance(folder)
    if objective != "total_cost":  # p-center and coverage serve all demand: halve it
        inst = siteopt.apply_overrides(inst, {"siting.objective": objective,
                                              "demand.scale": 0.5})
    reference = siteopt.solve(inst, method="highs", gap=0.0)
    if reference.status != "optimal":
        assert reference.status == "infeasible"
        return
    best = reference.objective
    slack = 1e-6 * max(1.0, abs(best))
    for method in METHOD_NAMES:
        result = siteopt.solve(inst, method=method, gap=gap, time_limit=time_limit)
        where = (method, result.status, result.objective, result.bound, result.gap)
        assert result.status in ("optimal", "time_limit", "no_plan"), where
        if result.bound is not None:
            assert result.bound <= best + slack, where
        if result.objective is None:
            assert result.status == "no_plan", where
            continue
        assert result.verified, (where, result.violations)
        assert best - slack <= result.objective, where
        assert result.gap == pytest.approx(relative_gap(result.objective, result.bound),
                                           abs=1e-9), where
        if result.status == "optimal":
            assert result.gap <= gap + 1e-9, where
            assert result.objective <= best + gap * abs(best) + slack, where
