"""`solve_matrices(floor=...)`: a lower bound proven elsewhere ends the search at a plan
within the gap of it, and is reported as the bound; a floor below the optimum changes no
answer."""

import dataclasses
import math

import numpy as np
import pytest

import siteopt
from siteopt.model.compile import compile_model
from siteopt.solver.highs import KNOWN_BOUND, SolveOptions, solve_matrices
from siteopt.solver.pipeline import build


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated instance HiGHS needs some nodes for, its compiled model and optimum."""
    folder = tmp_path_factory.mktemp("floor") / "g"
    siteopt.generate_instance(siteopt.GeneratorSpec(sites=8, regions=20, years=4, seed=2),
                              folder)
    _data, model = build(siteopt.load_instance(folder))
    mat = compile_model(model)
    optimum = solve_matrices(mat, SolveOptions(gap=0.0))
    assert optimum.status == "optimal" and optimum.nodes > 0
    return mat, optimum


def test_a_plan_at_the_floor_is_proven_without_a_search(generated):
    mat, optimum = generated
    out = solve_matrices(mat, SolveOptions(gap=1e-4), start=optimum.x, floor=optimum.bound)
    assert out.status == "optimal" and out.model_status.endswith(KNOWN_BOUND)
    assert out.nodes == 0  # the start is within the gap of the floor: no branching
    assert out.objective == pytest.approx(optimum.objective, rel=1e-9)
    assert out.bound == pytest.approx(optimum.bound, rel=1e-12)
    assert out.gap <= 1e-4


def test_a_floor_below_the_optimum_leaves_the_proof_to_highs(generated):
    mat, optimum = generated
    floor = optimum.bound * 0.99  # 1 % below: no plan is within the 1e-4 gap of it
    out = solve_matrices(mat, SolveOptions(gap=1e-4), floor=floor)
    assert out.status == "optimal" and not out.model_status.endswith(KNOWN_BOUND)
    assert out.objective == pytest.approx(optimum.objective, rel=1e-4)
    assert out.bound >= floor and out.gap <= 1e-4


def test_the_floor_is_the_bound_when_highs_stops_below_it(generated):
    mat, optimum = generated
    # a node limit of 0 stops HiGHS at its root, below the optimum; the floor (a bound
    # proven elsewhere) is then the better bound, and the gap is measured against it
    opts = SolveOptions(gap=0.0, highs_options=(("mip_max_nodes", 0),))
    alone = solve_matrices(mat, opts)
    assert alone.status != "optimal" and alone.bound < optimum.bound
    out = solve_matrices(mat, opts, floor=optimum.bound)
    assert out.bound == pytest.approx(optimum.bound, rel=1e-12)
    if out.x is not None:
        assert out.gap == pytest.approx((out.objective - optimum.bound) / out.objective)


def test_an_lp_stopped_before_its_optimum_reports_no_bound(generated):
    """An LP's objective is a bound only once proven optimal: stopped early, it is a
    point's cost (or no point at all), so the bound is -inf and the gap unknown."""
    mat, optimum = generated
    lp = dataclasses.replace(mat, integrality=np.zeros_like(mat.integrality))
    proven = solve_matrices(lp, SolveOptions(gap=0.0))
    assert proven.status == "optimal" and proven.bound == proven.objective
    assert proven.bound <= optimum.objective + 1e-6  # the relaxation's optimum
    stopped = solve_matrices(lp, SolveOptions(
        gap=0.0, highs_options=(("simplex_iteration_limit", 1),)))
    assert stopped.status == "limit"
    assert stopped.bound == -math.inf and stopped.gap == math.inf
