"""`--method highs-rens`: RENS beside HiGHS hands it plans of the model, its LP bound is
valid, and what is reported is the better of the two runs, never a plan the model rejects."""

import json
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pytest

import siteopt
from siteopt.model.compile import compile_model
from siteopt.solver import methods
from siteopt.solver.facility import satisfies
from siteopt.solver.highs import SolveOptions, SolverOutcome, solve_matrices
from siteopt.solver.pipeline import build
from siteopt.solver.rens import (
    RensNews,
    RensRecord,
    neighbourhood,
    relaxation,
    rens_here,
    with_helper,
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A generated instance HiGHS needs some nodes for, its compiled model and optimum."""
    folder = tmp_path_factory.mktemp("rens") / "g"
    siteopt.generate_instance(siteopt.GeneratorSpec(sites=8, regions=20, years=4, seed=2),
                              folder)
    inst = siteopt.load_instance(folder)
    data, model = build(inst)
    mat = compile_model(model)
    optimum = solve_matrices(mat, SolveOptions(gap=0.0))
    assert optimum.status == "optimal"
    return folder, mat, data, optimum


def test_on_plan_hears_each_improving_plan_of_highs(generated):
    _folder, mat, _data, optimum = generated
    heard: list[tuple[float, np.ndarray]] = []
    out = solve_matrices(mat, SolveOptions(gap=0.0), on_plan=lambda obj, x: heard.append((obj, x)))
    assert heard and [o for o, _x in heard] == sorted((o for o, _x in heard), reverse=True)
    assert heard[-1][0] == pytest.approx(out.objective, rel=1e-9)
    assert out.objective == pytest.approx(optimum.objective, rel=1e-9)
    for objective, x in heard:
        assert float(mat.cost @ x + mat.offset) == pytest.approx(objective, rel=1e-6)


def test_the_neighbourhood_fixes_what_the_lp_settles_and_nothing_else(generated):
    _folder, mat, _data, _optimum = generated
    lp = solve_matrices(relaxation(mat), SolveOptions())
    sub, free = neighbourhood(mat, lp.x)
    ints = np.flatnonzero(mat.integrality)
    values = lp.x[ints]
    integral = np.abs(values - np.round(values)) <= 1e-6
    assert free == int((~integral).sum()) > 0
    fixed = ints[integral]
    assert np.array_equal(sub.col_lower[fixed], sub.col_upper[fixed])
    assert np.array_equal(sub.col_lower[fixed], np.round(lp.x[fixed]))
    loose = ints[~integral]
    assert np.array_equal(sub.col_lower[loose], mat.col_lower[loose])
    assert np.array_equal(sub.col_upper[loose], mat.col_upper[loose])
    # continuous columns keep their bounds
    cont = np.flatnonzero(mat.integrality == 0)
    assert np.array_equal(sub.col_upper[cont], mat.col_upper[cont])


def test_rens_finds_a_valid_bound_then_plans_of_the_model(generated):
    """In this process: the LP optimum bounds the optimum from below, every plan found
    satisfies every row of the whole model at the objective it is reported with."""
    _folder, mat, _data, optimum = generated
    record = rens_here(mat, SolveOptions(time_limit=30))
    kinds = [n.kind for n in record.news]
    assert kinds[0] == "lp" and kinds[-1] == "end" and "plan" in kinds
    assert record.lp_bound == record.news[0].value <= optimum.objective + 1e-6
    assert record.free > 0
    assert record.best is not None and satisfies(mat, record.best.x)
    assert float(mat.cost @ record.best.x + mat.offset) == pytest.approx(record.best.value,
                                                                         rel=1e-9)
    plans = [n.value for n in record.news if n.kind == "plan"]
    assert plans == sorted(plans, reverse=True) and plans[-1] == record.best.value
    assert record.best.value >= optimum.objective - 1e-6 * abs(optimum.objective)
    # offered to HiGHS once, and only while it beats HiGHS's best
    assert record.offer(record.best.value) is None
    assert record.offer(math.inf) is record.best.x
    assert record.offer(math.inf) is None


def test_highs_takes_an_offered_plan(generated):
    """The user-solution hook: a plan offered at HiGHS's first call becomes its incumbent
    (its own heuristics are off, so it has none of its own by then)."""
    _folder, mat, _data, optimum = generated
    asked: list[float] = []

    def offer(incumbent: float) -> np.ndarray | None:
        asked.append(incumbent)
        return optimum.x if len(asked) == 1 else None

    out = solve_matrices(mat, SolveOptions(highs_options=(("mip_heuristic_effort", 0.0),)),
                         offer=offer)
    assert len(asked) >= 2 and math.isinf(asked[0])
    assert asked[1] == pytest.approx(optimum.objective, rel=1e-6)  # HiGHS's best from then on
    assert out.status == "optimal"
    assert out.objective == pytest.approx(optimum.objective, rel=1e-6)


def _outcome(status: str, objective: float, bound: float, x: np.ndarray | None
             ) -> SolverOutcome:
    return SolverOutcome(status=status, model_status=status, x=x, objective=objective,
                         bound=bound, gap=abs(objective - bound) / abs(objective),
                         solve_seconds=1.0)


class _Finished(RensRecord):
    """A RENS run that has finished with a given LP bound and plan."""

    def __init__(self, lp_bound: float, best: RensNews | None) -> None:
        super().__init__()
        self.lp_bound, self.best = lp_bound, best


def test_the_better_plan_and_the_higher_bound_are_reported(generated):
    _folder, mat, _data, optimum = generated
    x, cost = optimum.x, optimum.objective
    worse = 1.5 * cost
    plan = RensNews("plan", 1.0, value=cost, x=x)
    # a proof stands as it is
    proven = _outcome("optimal", cost, cost, x)
    assert with_helper(proven, _Finished(0.9 * cost, plan), mat) is proven
    # HiGHS without a plan at its limit: RENS's plan, with the LP bound if higher
    none = _outcome("time_limit", math.inf, -math.inf, None)
    out = with_helper(none, _Finished(0.9 * cost, plan), mat)
    assert out.x is x and out.objective == pytest.approx(cost)
    assert out.bound == 0.9 * cost and out.gap == pytest.approx(0.1)
    # HiGHS's plan kept when it is the cheaper; HiGHS's bound kept when it is the higher
    highs = _outcome("time_limit", cost, 0.95 * cost, x)
    out = with_helper(highs, _Finished(0.9 * cost, RensNews("plan", 1.0, worse, x)), mat)
    assert out.objective == cost and out.bound == 0.95 * cost
    # no RENS plan and no LP bound: HiGHS's outcome unchanged in substance
    out = with_helper(highs, _Finished(-math.inf, None), mat)
    assert out.objective == cost and out.bound == 0.95 * cost


def test_auto_runs_rens_beside_highs_only_on_large_models_under_a_limit(generated,
                                                                          monkeypatch):
    _folder, mat, data, _optimum = generated
    assert methods.choose(mat, data, SolveOptions(time_limit=60))[0] == "highs"
    monkeypatch.setattr(methods, "RENS_MIN_COLUMNS", mat.shape[1])
    assert methods.choose(mat, data, SolveOptions(time_limit=60))[0] == "highs-rens"
    assert methods.choose(mat, data, SolveOptions())[0] == "highs"
    monkeypatch.setattr(methods, "RENS_MAX_COLUMNS", mat.shape[1] - 1)
    assert methods.choose(mat, data, SolveOptions(time_limit=60))[0] == "highs"


def test_on_one_core_rens_runs_first_and_highs_starts_from_its_plan(generated, monkeypatch):
    """Where no process can be forked (a Dask worker is a daemon process): RENS for half
    the limit, then HiGHS with RENS's plan as its start; without a limit, one HiGHS run."""
    _folder, mat, data, optimum = generated
    monkeypatch.setattr(methods.mp, "current_process", lambda: SimpleNamespace(daemon=True))
    report = methods.MethodReport(requested="highs-rens")
    out = methods.run_highs_rens(mat, data, SolveOptions(time_limit=6.0), report)
    assert [str(p["phase"]).split(":")[0] for p in report.phases] == ["rens", "highs"]
    assert report.phases[0]["lp_bound"] <= optimum.objective + 1e-6
    assert out.x is not None and satisfies(mat, out.x)
    assert optimum.objective - 1e-6 <= out.objective
    assert out.bound <= optimum.objective + 1e-6
    report = methods.MethodReport(requested="highs-rens")
    out = methods.run_highs_rens(mat, data, SolveOptions(), report)
    assert out.status == "optimal" and [p["phase"] for p in report.phases] == ["highs"]
    assert "no time limit" in report.reason


def test_the_command_line_reports_the_helper_and_a_verified_plan(generated, tmp_path):
    """Through the real entry point, under a time limit: the helper's phase is recorded
    with a valid LP bound, and the reported plan passes the checker."""
    folder, _mat, _data, optimum = generated
    out = tmp_path / "r"
    proc = subprocess.run([sys.executable, "-m", "siteopt", "solve", str(folder), "--method",
                           "highs-rens", "--time-limit", "3", "--out", str(out), "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verified"] is True
    assert summary["method"]["name"] == "highs-rens"
    rens = [p for p in summary["method"]["phases"] if p["phase"].startswith("rens beside")]
    assert len(rens) == 1
    # HiGHS may prove the optimum before the helper's LP is done: then no LP bound
    assert rens[0]["lp_bound"] is None or rens[0]["lp_bound"] <= optimum.objective + 1e-6
    assert summary["bound"] <= optimum.objective + 1e-6 * abs(optimum.objective)
    assert summary["objective"] >= optimum.objective - 1e-6 * abs(optimum.objective)
    assert Path(out / "schedule.csv").exists()



class _QuietHelper(RensRecord):
    """A RENS helper that finds nothing and records how long it is awaited at the end."""

    made: ClassVar[list["_QuietHelper"]] = []

    def __init__(self, mat, options) -> None:
        super().__init__()
        self.waits: list[float] = []
        _QuietHelper.made.append(self)

    def finish(self, wait: float = 0.0) -> None:
        self.waits.append(wait)


@pytest.mark.parametrize("overrun, expected", [(0.0, 0.5), (0.2, 0.3), (2.0, 0.0)])
def test_rens_is_awaited_only_until_just_past_the_limit(generated, monkeypatch, overrun,
                                                         expected):
    """HiGHS used its whole limit (and `overrun` s more): RENS's last plan is awaited only
    until `HELPER_GRACE` (0.5 s) past the limit, not `RENS_WAIT` (1 s) after HiGHS stopped,
    which overran --time-limit by up to 1 s. A clock is injected: no waiting, no fork."""
    _folder, mat, data, _optimum = generated
    now = [1000.0]
    monkeypatch.setattr(methods, "clock", lambda: now[0])

    def highs_at_its_limit(mat, options, offer=None):
        now[0] += options.time_limit + overrun
        return _outcome("time_limit", math.inf, -math.inf, None)

    monkeypatch.setattr(methods, "solve_matrices", highs_at_its_limit)
    monkeypatch.setattr(methods, "Helper", _QuietHelper)
    _QuietHelper.made.clear()
    methods.run_highs_rens(mat, data, SolveOptions(time_limit=60.0),
                           methods.MethodReport(requested="highs-rens"))
    [helper] = _QuietHelper.made
    assert helper.waits == [pytest.approx(expected)]
    assert methods.HELPER_GRACE == 0.5 and methods.RENS_WAIT == 1.0
