"""Plans never depend on HiGHS's integrality tolerance: integers rounded, the rest re-solved."""

from pathlib import Path

import numpy as np
import pytest

import siteopt
from siteopt.cli.main import main
from siteopt.data.load import load_instance
from siteopt.data.overrides import apply_overrides
from siteopt.model.compile import compile_model
from siteopt.solver.highs import SolveOptions, solve_matrices
from siteopt.solver.pipeline import build, solve
from siteopt.solver.polish import polish, relative_gap

ORLIB = Path(__file__).parent / "data" / "orlib"
TINY = Path(__file__).parents[1] / "instances" / "tiny"


def test_a_fractional_binary_is_rounded_and_the_continuous_part_follows():
    """A closed site at open = 1e-6 serving 1e-6 MW becomes closed and serving nothing."""
    _data, model = build(load_instance(TINY / "cheapest-site"))
    mat = compile_model(model)
    outcome = solve_matrices(mat, SolveOptions())
    x = outcome.x.copy()
    ints = np.flatnonzero(mat.integrality == 1)
    closed = [i for i in ints if x[i] < 0.5]
    assert closed, "the tiny instance leaves some binary at 0"
    x[closed[0]] = 1e-6  # within HiGHS's integrality tolerance
    outcome.x = x
    polished, problem = polish(mat, outcome, SolveOptions())
    assert problem is None
    assert polished.x[closed[0]] == 0.0
    assert np.all(np.isin(polished.x[ints], (0.0, 1.0)))
    assert polished.objective == pytest.approx(outcome.objective, rel=1e-9)
    assert polished.bound <= polished.objective


def test_a_polished_plan_below_the_solver_bound_holds_the_bound_at_its_cost():
    """The exact re-solve can land a rounding below HiGHS's bound (234.892 against
    234.89200000000002 on cooling-class): a bound above the cost is no bound."""
    from dataclasses import replace

    inst = siteopt.load_instance(TINY / "cooling-class")
    _data, model = build(inst)
    mat = compile_model(model)
    outcome = solve_matrices(mat, SolveOptions())
    lifted = replace(outcome, bound=outcome.objective + 1e-9)
    polished, problem = polish(mat, lifted, SolveOptions())
    assert problem is None and polished.bound == polished.objective and polished.gap == 0.0


@pytest.mark.parametrize(("objective", "bound", "gap"), [
    (100.0, 99.0, 0.01), (0.0, 0.0, 0.0), (5.0, 5.0, 0.0), (5.0, float("-inf"), float("inf")),
    # floating-point noise at an objective of 0 is no gap (it read as 10 before)
    (0.0, -1e-9, 0.0), (0.0, -0.5, 0.5 / 1e-10),
])
def test_relative_gap(objective, bound, gap):
    assert relative_gap(objective, bound) == pytest.approx(gap)


@pytest.mark.slow
def test_maximal_covering_on_pmed5_is_verified(tmp_path):
    """The reported case: p = 10, 50 ms; the second stage left open = 1e-6 at a closed site."""
    folder = tmp_path / "P5"
    assert main(["import", "orlib-pmed", str(ORLIB / "pmed" / "pmed5.txt"), str(folder)]) == 0
    inst = apply_overrides(load_instance(folder), {"siting.objective": "uncovered_mw",
                                                    "latency.max_rtt_ms": 50,
                                                    "siting.sites": 10})
    result = solve(inst, SolveOptions())
    assert result.status == "optimal" and result.verified, result.violations
    assert result.objective == pytest.approx(20.0)
    assert len(result.tables["sites"].dropna(subset=["open_year"])) == 10


def test_a_solve_after_one_with_other_threads_still_gets_a_plan():
    """HiGHS's scheduler is per process: threads=2, then the default 1, then 2 again."""
    inst = load_instance(TINY / "cheapest-site")
    for threads in (2, 1, 2, 1):
        result = siteopt.solve(inst, threads=threads)
        assert result.status == "optimal" and result.verified, (threads, result.warnings)
        assert not any("could not be re-solved" in w for w in result.warnings)


def test_polish_runs_after_the_callers_own_highs_run_with_other_threads():
    """A notebook that ran HiGHS itself (here with 2 threads, in this thread) leaves the
    process-wide scheduler at a size siteopt did not set; the polish LP must still run."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 2)
    h.addVar(0.0, 1.0)
    h.changeColCost(0, 1.0)
    h.run()
    _data, model = build(load_instance(TINY / "cheapest-site"))
    mat = compile_model(model)
    outcome = solve_matrices(mat, SolveOptions())
    polished, problem = polish(mat, outcome, SolveOptions())
    assert problem is None
    assert polished.objective == pytest.approx(outcome.objective, rel=1e-9)
