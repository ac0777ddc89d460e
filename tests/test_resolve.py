"""Re-solves reuse the HiGHS object when only numbers change, and agree with fresh solves."""

from __future__ import annotations

import pytest

import siteopt
from siteopt.overrides import apply_overrides
from siteopt.resolve import Resolver
from tests.conftest import TINY


def test_numeric_changes_reuse_highs_and_match_rebuilds():
    base = siteopt.load_instance(TINY / "cooling-class")
    resolver = Resolver()
    sequence = [{}, {"economics.tariff_usd_per_mwh": 50}, {"headroom.scale": 1.2},
                {"demand.scale": 1.1}, {"phases.scale": 0.5}]
    for overrides in sequence:
        inst = apply_overrides(base, overrides)
        again, fresh = resolver.solve(inst), siteopt.solve(inst)
        assert again.verified and again.status == "optimal"
        assert again.objective == pytest.approx(fresh.objective, rel=1e-9)
    assert resolver.stats.reused == [False, True, True, True, True]
    assert resolver.stats.warm == [False, True, True, True, True]
    assert resolver.stats.changed[1]["costs"] > 0  # the energy cost of it_load
    assert resolver.stats.changed[3]["coefficients"] > 0  # demand in serve_link rows


def test_structural_change_builds_a_new_highs():
    # a looser latency target admits the pair (B, R): new columns, so no reuse
    base = siteopt.load_instance(TINY / "latency-target")
    resolver = Resolver()
    first = resolver.solve(base)
    second = resolver.solve(apply_overrides(base, {"latency_targets.max_rtt_ms": 3}))
    assert (first.objective, second.objective) == pytest.approx((130.0, 105.0))
    assert resolver.stats.reused == [False, False]
    third = resolver.solve(apply_overrides(base, {"latency_targets.max_rtt_ms": 3,
                                                  "sites[site=B].open_cost_usd_m": 25}))
    assert third.objective == pytest.approx(125.0) and resolver.stats.reused[-1]
