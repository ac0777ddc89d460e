"""The independent checker accepts solved plans and rejects deliberately broken ones."""

from __future__ import annotations

import pandas as pd
import pytest

import siteopt
from siteopt.verify.checker import check_plan
from tests.conftest import TINY


def _solved(name: str):
    inst = siteopt.load_instance(TINY / name)
    result = siteopt.solve(inst)
    assert result.verified
    return inst, {k: v.copy() for k, v in result.tables.items()}, result.objective


def _violations(inst, plan, objective=None):
    return check_plan(inst, plan, objective).violations


def test_solved_plan_passes():
    inst, plan, obj = _solved("cooling-class")
    assert _violations(inst, plan, obj) == []


def test_wrong_objective_is_rejected():
    inst, plan, obj = _solved("cheapest-site")
    assert any("objective" in v for v in _violations(inst, plan, obj - 1.0))


def test_phase_before_lead_time_is_rejected():
    inst, plan, _ = _solved("phase-timing")
    plan["schedule"].loc[0, "online_year"] = 2031
    assert any("before its earliest" in v for v in _violations(inst, plan))


def test_phase_out_of_order_is_rejected():
    inst, plan, _ = _solved("phase-order")
    plan["schedule"] = plan["schedule"][plan["schedule"]["phase"] != "P1"]
    assert any("without earlier phase" in v for v in _violations(inst, plan))


def test_missing_committed_phase_is_rejected():
    inst, plan, _ = _solved("committed-phase")
    plan["schedule"] = plan["schedule"][plan["schedule"]["phase"] != "P1"]
    assert any("committed phase" in v for v in _violations(inst, plan))


def test_ai_on_air_is_rejected():
    inst, plan, _ = _solved("cooling-class")
    cap = plan["capacity"]
    # move all load onto air: AI can no longer run on its allowed cooling
    cap.loc[cap["cooling"] == "air", "it_load_mw"] = 14.0
    cap.loc[cap["cooling"] == "immersion", "it_load_mw"] = 0.0
    vs = _violations(inst, plan)
    assert any("runs" in v for v in vs)  # air load over usable capacity
    assert any("cannot run on the coolings" in v for v in vs)


def test_headroom_violation_is_rejected():
    inst, plan, _ = _solved("grid-upgrade")
    plan["upgrades"] = plan["upgrades"].iloc[0:0]
    assert any("zone Z draws" in v for v in _violations(inst, plan))


def test_latency_violation_is_rejected():
    inst, plan, _ = _solved("latency-target")
    served = plan["served"]
    served.loc[0, "site"] = "B"
    plan["sites"].loc[plan["sites"]["site"] == "B", "open_year"] = 2030
    assert any("target" in v for v in _violations(inst, plan))


def test_budget_violation_is_rejected():
    inst, plan, _ = _solved("annual-budget")
    plan["schedule"].loc[plan["schedule"]["phase"] == "P1", "online_year"] = 2030
    assert any("budget" in v for v in _violations(inst, plan))


def test_unserved_demand_hidden_is_rejected():
    inst, plan, _ = _solved("phase-timing")
    plan["unserved"] = plan["unserved"].iloc[0:0]
    assert any("served" in v and "!=" in v for v in _violations(inst, plan))


def test_serving_from_a_closed_site_is_rejected():
    inst, plan, _ = _solved("service-cost")
    plan["sites"]["open_year"] = pd.array([None, None], dtype="Int64")
    assert any("not open" in v for v in _violations(inst, plan))


@pytest.mark.parametrize("name", ["cheapest-site", "grid-upgrade", "existing-capacity"])
def test_checker_objective_matches_model(name):
    inst, plan, obj = _solved(name)
    assert check_plan(inst, plan).objective == pytest.approx(obj, rel=1e-9)


def test_site_open_without_capacity_is_rejected():
    inst, plan, _ = _solved("grid-upgrade")
    plan["sites"].loc[plan["sites"]["site"] == "B", "open_year"] = 2030
    assert any("site B opens" in v for v in _violations(inst, plan))
