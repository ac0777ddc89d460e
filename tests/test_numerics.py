"""Coefficient ranges: reported in summary.json, warned about outside HiGHS's comfort zone."""

from __future__ import annotations

import pytest

import siteopt
from siteopt.model.compile import compile_model
from siteopt.solver import pipeline
from siteopt.solver.highs import SolveOptions
from siteopt.solver.numerics import COMFORT, MATRIX_RATIO, coefficient_ranges, numerics_warnings
from siteopt.solver.pipeline import build
from tests.conftest import TINY, VIETNAM


def test_vietnam_stays_inside_the_comfort_zone():
    """Compile only: the bundled instance's units (MW, USD M) keep every range comfortable."""
    _data, model = build(siteopt.load_instance(VIETNAM))
    mat = compile_model(model)
    ranges = coefficient_ranges(mat)
    for part, (low, high) in COMFORT.items():
        lo, hi = ranges[part]
        assert lo >= low and hi <= high, (part, ranges[part])
    assert ranges["matrix"][1] / ranges["matrix"][0] <= MATRIX_RATIO
    assert numerics_warnings(mat, ranges) == []
    # pinned with margin (matrix [0.25, 523], cost [4.2e-4, 261], rhs [0.55, 5718] on 2026-12-03)
    assert ranges["matrix"][1] < 1e3 and ranges["cost"][1] < 1e3 and ranges["rhs"][1] < 1e4


def test_ranges_are_in_the_summary(tmp_path):
    result = siteopt.solve(siteopt.load_instance(TINY / "cheapest-site"))
    summary = result.summary()
    assert set(summary["coefficient_ranges"]) == {"matrix", "cost", "bounds", "rhs"}
    # the grid row holds the phase's facility MW: 10 IT MW x PUE 1.5
    assert summary["coefficient_ranges"]["matrix"][1] == 15.0


def test_a_huge_phase_is_warned_about_with_its_row(tiny_copy):
    folder = tiny_copy("cheapest-site")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m\nA,P1,1e7,100\n"
                                       "B,P1,10,120\n")
    inst = siteopt.load_instance(folder)
    # without the tightening rows the huge phase stays in grid_headroom and is warned about
    result = pipeline.solve(inst, SolveOptions(tighten=False))
    assert result.verified
    assert any("outside HiGHS's comfort zone" in w and "grid_headroom[Z,2030]" in w
               for w in result.warnings), result.warnings
    # with them it can never fit its zone, so it is fixed offline and leaves the matrix
    tightened = siteopt.solve(inst)
    assert tightened.objective == pytest.approx(result.objective)
    assert not any("grid_headroom[Z,2030]" in w for w in tightened.warnings)
