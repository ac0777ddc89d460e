"""Every solve method agrees with the others on the known-answer instances, and `auto` picks."""

from pathlib import Path

import pytest

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
