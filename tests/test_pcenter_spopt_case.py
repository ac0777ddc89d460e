"""spopt's San Francisco p-center case (benchmarks/pcenter_spopt.py): siteopt's optimum is
the one enumeration finds, and the one spopt + CBC reports."""

import itertools
import sys
from pathlib import Path

import pandas as pd
import pytest

import siteopt

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from pcenter_spopt import DATA, sf_instance


def _enumerated(p: int) -> float:
    """The p-center optimum by trying every set of p stores (1,820 sets for p = 4)."""
    dist = pd.read_csv(DATA, dtype={"DestinationName": str}).pivot_table(
        values="distance", index="DestinationName", columns="name").to_numpy()
    return min(float(dist[:, list(s)].min(axis=1).max())
               for s in itertools.combinations(range(dist.shape[1]), p))


@pytest.mark.parametrize("p", [4, 6])
def test_siteopt_solves_spopts_san_francisco_case_exactly(tmp_path, p):
    inst = siteopt.load_instance(sf_instance(tmp_path / "sf", p))
    result = siteopt.solve(inst)
    assert result.status == "optimal" and result.verified, result.violations
    assert result.method.name == "radius"
    assert result.objective == pytest.approx(_enumerated(p), abs=1e-9)
    opened = result.tables["sites"]["open_year"].notna()
    assert 1 <= opened.sum() <= p
    # every tract served in full, the worst served round trip is the objective
    served = result.tables["served"]
    assert served["serve_mw"].sum() == pytest.approx(205.0)
    assert served["rtt_ms"].max() == pytest.approx(result.objective, abs=1e-9)


def test_the_optimum_is_the_one_spopt_reports():
    # spopt 0.7.0, PCenter.from_cost_matrix(cost, 4) with CBC: 7403.0638
    # (benchmarks/results/pcenter_spopt.csv)
    assert _enumerated(4) == pytest.approx(7403.0638, abs=1e-4)
