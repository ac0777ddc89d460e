"""Derived result values: decision years, binding flags, budget spend, unserved reasons.

They come from `siteopt.solver.results.derive`, which reads the plan's tables and the
instance only; the expected values are derived by hand from the tiny instances.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import siteopt
from siteopt.data.overrides import apply_overrides
from siteopt.solver.results import derive
from tests.conftest import TINY


def _solve(name: str, overrides: dict | None = None):
    inst = apply_overrides(siteopt.load_instance(TINY / name), overrides or {})
    result = siteopt.solve(inst)
    assert result.verified, result.violations
    return inst, result


def test_lead_time_reason_and_decision_year():
    # phase-timing: the only phase has a 24-month lead, so it is online in 2032 at the earliest
    inst, result = _solve("phase-timing")
    sched = result.tables["schedule"]
    lead = inst.table("phases").set_index("phase").at["P1", "lead_months"]
    assert list(sched["decision_year"]) == [2032 - math.ceil(lead / 12)] == [2030]
    assert list(sched.columns[:5]) == ["site", "phase", "cooling", "decision_year",
                                       "online_year"]
    uns = result.tables["unserved"]
    assert list(uns["year"]) == [2030, 2031]
    assert all(r.startswith("lead time") and "2032" in r for r in uns["reason"])


def test_headroom_reason_and_binding_power():
    # two 10 MW sites in one zone of 15 facility MW (PUE 1.5): one phase fits, 14 MW unserved
    _inst, result = _solve("cheapest-site", {
        "service.allow_unserved": True, "service.unserved_penalty_usd_m_per_mw_year": 50,
        "demand.scale": 3, "headroom.headroom_mw": 15})
    power = result.tables["power"]
    assert power["binding"].tolist() == [True]
    assert power["slack_mw"].tolist() == [pytest.approx(0.0)]
    uns = result.tables["unserved"]
    assert uns["unserved_mw"].tolist() == [pytest.approx(14.0)]
    assert uns["reason"].tolist() == ["headroom in zone Z"]


def test_budget_reason_and_spend():
    # annual-budget: 50 USD M in 2030 cannot pay a 100 USD M phase, so 2030 goes unserved
    _inst, result = _solve("annual-budget")
    b = result.tables["budgets"]
    assert b[["budget", "spend_usd_m", "limit_usd_m", "slack_usd_m"]].values.tolist() == [
        ["all sponsors 2030", 0.0, 50.0, 50.0]]
    assert result.tables["unserved"]["reason"].tolist() == ["budget all sponsors 2030"]


def test_budget_spend_matches_the_cost_terms():
    # an all-sponsor horizon row and a yearly row added: spend = capex + open + upgrades
    inst = siteopt.load_instance(TINY / "grid-upgrade")
    tables = dict(inst.tables)
    tables["budgets"] = pd.DataFrame({"sponsor": ["", ""], "year": pd.array([None, 2030],
                                                                            dtype="Int64"),
                                      "max_capex_usd_m": [1000.0, 120.0]})
    inst = siteopt.from_tables(inst.meta, tables)
    result = siteopt.solve(inst)
    costs = result.tables["costs"]
    spent = float(costs[["capex", "open_cost", "upgrade_cost"]].to_numpy().sum())
    b = result.tables["budgets"].set_index("budget")
    assert b.at["all sponsors horizon", "spend_usd_m"] == pytest.approx(spent) == 120.0
    assert b.at["all sponsors 2030", "binding"] and not b.at["all sponsors horizon", "binding"]
    assert b.at["all sponsors 2030", "slack_usd_m"] == pytest.approx(0.0)


def test_latency_reason_from_tables_alone():
    # derive reads only tables: an unserved row whose region no site reaches within target
    inst, result = _solve("cheapest-site")
    tight = apply_overrides(inst, {"service.allow_unserved": True,
                                   "latency.max_rtt_ms": 0.001})
    tables = dict(result.tables)
    tables["unserved"] = pd.DataFrame({"region": ["R"], "class": ["cloud"], "year": [2030],
                                       "demand_mw": [8.0], "unserved_mw": [8.0]})
    out = derive(tight, tables)
    assert out["unserved"]["reason"].tolist()[0].startswith("latency")
    assert "reason" not in tables["unserved"]  # the input is not changed


def test_vietnam_style_reason_lists_every_binding_rule():
    _inst, result = _solve("cheapest-site", {
        "service.allow_unserved": True, "service.unserved_penalty_usd_m_per_mw_year": 50,
        "demand.scale": 3, "headroom.headroom_mw": 15})
    from siteopt.report.console import unserved_summary

    summary = unserved_summary(result.tables["unserved"])
    assert summary[["region", "years", "reason"]].values.tolist() == [
        ["R", "2030", "headroom in zone Z"]]
