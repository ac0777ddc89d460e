"""Every rule of the checker rejects a planted violation (parametrized over its registry).

`PLANTS` maps each rule name to (tiny instance, planting function). The planting function
breaks a verified plan (and, for rules about limits, may tighten the instance); the test
asserts that the rule accepts the plan before and rejects it after. A new rule without a
plant fails `test_every_rule_has_a_plant`.
"""

from __future__ import annotations

import functools
import re

import pandas as pd
import pytest

import siteopt
from siteopt.verify.checker import RULES, Facts, check_plan
from tests.conftest import REPO, TINY


@functools.cache
def _solved(name: str):
    inst = siteopt.load_instance(TINY / name)
    result = siteopt.solve(inst)
    assert result.verified
    return inst, result.tables, result.objective


def _add(frame: pd.DataFrame, **row) -> pd.DataFrame:
    return pd.concat([frame, pd.DataFrame([row])], ignore_index=True)


def _isolated_site_b(inst):
    tables = {k: v.copy() for k, v in inst.tables.items()}
    tables["links"] = _add(tables["links"], a="x", b="y", km=1.0, extra_rtt_ms=0.0)
    tables["sites"].loc[tables["sites"]["site"] == "B", "node"] = "x"
    for frame in tables.values():
        frame.attrs = {}
    return siteopt.from_tables(inst.meta, tables)


def p_phase_once(inst, plan):
    plan["schedule"] = pd.concat([plan["schedule"]] * 2, ignore_index=True)


def p_phase_known(inst, plan):
    plan["schedule"].loc[0, "phase"] = "PX"


def p_phase_cooling(inst, plan):
    return siteopt.apply_overrides(inst, {"phases[site=A,phase=P2].cooling": "air"})


def p_phase_in_horizon(inst, plan):
    plan["schedule"].loc[0, "online_year"] = 2033


def p_phase_earliest(inst, plan):
    plan["schedule"].loc[0, "online_year"] = 2031


def p_committed_year(inst, plan):
    plan["schedule"].loc[plan["schedule"]["phase"] == "P1", "online_year"] = 2031


def p_committed_built(inst, plan):
    plan["schedule"] = plan["schedule"][plan["schedule"]["phase"] != "P1"]


def p_phase_order_built(inst, plan):
    plan["schedule"] = plan["schedule"][plan["schedule"]["phase"] != "P1"]


def p_phase_order_timing(inst, plan):
    plan["schedule"].loc[plan["schedule"]["phase"] == "P1", "online_year"] = 2031
    plan["schedule"].loc[plan["schedule"]["phase"] == "P2", "online_year"] = 2030


def p_existing_open(inst, plan):
    plan["sites"]["open_year"] = plan["sites"]["open_year"].astype("float")
    plan["sites"].loc[plan["sites"]["site"] == "A", "open_year"] = float("nan")


def p_phase_site_open(inst, plan):
    plan["sites"]["open_year"] = float("nan")


def p_open_with_first_phase(inst, plan):
    plan["sites"].loc[plan["sites"]["site"] == "B", "open_year"] = 2030


def p_site_cap(inst, plan):
    return siteopt.apply_overrides(inst, {"sites[site=A].max_it_mw": 5})


def p_site_count(inst, plan):
    opened = plan["sites"].index[plan["sites"]["open_year"].notna()]
    plan["sites"]["open_year"] = plan["sites"]["open_year"].astype("float")
    plan["sites"].loc[opened[0], "open_year"] = float("nan")


def p_sites_table(inst, plan):
    plan["sites"].loc[0, "it_mw_final"] += 1.0


def p_upgrade_known(inst, plan):
    plan["upgrades"].loc[0, "upgrade"] = "UX"


def p_upgrade_once(inst, plan):
    plan["upgrades"] = pd.concat([plan["upgrades"]] * 2, ignore_index=True)


def p_upgrade_timing(inst, plan):
    plan["upgrades"].loc[0, "online_year"] = 2031


def p_grid_headroom(inst, plan):
    plan["upgrades"] = plan["upgrades"].iloc[0:0]


def p_power_table(inst, plan):
    plan["power"].loc[0, "power_mw"] += 1.0


def p_capacity_table(inst, plan):
    plan["capacity"].loc[0, "capacity_mw"] += 1.0


def p_load_nonnegative(inst, plan):
    plan["capacity"].loc[0, "it_load_mw"] = -1.0


def p_load_capacity(inst, plan):
    plan["capacity"].loc[0, "it_load_mw"] = 1000.0


def p_load_balance(inst, plan):
    plan["capacity"].loc[0, "it_load_mw"] /= 2


def p_cooling_class(inst, plan):
    cap = plan["capacity"]
    cap.loc[cap["cooling"] == "air", "it_load_mw"] = 14.0
    cap.loc[cap["cooling"] == "immersion", "it_load_mw"] = 0.0


def p_serve_nonnegative(inst, plan):
    plan["served"] = _add(plan["served"], site="A", region="R", **{"class": "cloud"},
                          year=2030, serve_mw=-1.0, rtt_ms=1.0, max_rtt_ms=float("nan"))


def p_serve_open(inst, plan):
    plan["served"].loc[0, "site"] = "B"


def p_serve_hostable(inst, plan):
    plan["schedule"].loc[plan["schedule"]["phase"] == "P2", "cooling"] = "air"


def p_serve_connected(inst, plan):
    plan["served"].loc[0, "site"] = "B"
    return _isolated_site_b(inst)


def p_latency_target(inst, plan):
    plan["served"].loc[0, "site"] = "B"


def p_served_rtt(inst, plan):
    plan["served"].loc[0, "rtt_ms"] += 0.5


def p_single_source(inst, plan):
    """Split the first served row between its site and another open site."""
    served = plan["served"]
    row = served.iloc[0].copy()
    other = next(x for x in plan["sites"].loc[plan["sites"]["open_year"].notna(), "site"]
                 if x != row["site"])
    served.loc[0, "serve_mw"] = row["serve_mw"] / 2
    row["site"], row["serve_mw"] = other, row["serve_mw"] / 2
    plan["served"] = pd.concat([served, row.to_frame().T], ignore_index=True)
    return siteopt.apply_overrides(inst, {"service.single_source": True})


def p_demand_balance(inst, plan):
    plan["served"].loc[0, "serve_mw"] -= 1.0


def p_unserved_allowed(inst, plan):
    plan["served"].loc[0, "serve_mw"] -= 1.0
    plan["unserved"] = _add(plan["unserved"], region="R", **{"class": "cloud"}, year=2030,
                            demand_mw=8.0, unserved_mw=1.0)


def p_unserved_nonnegative(inst, plan):
    plan["served"].loc[0, "serve_mw"] += 1.0
    plan["unserved"] = _add(plan["unserved"], region="R", **{"class": "cloud"}, year=2030,
                            demand_mw=8.0, unserved_mw=-1.0)


def p_no_phantom_demand(inst, plan):
    plan["unserved"] = _add(plan["unserved"], region="R", **{"class": "cloud"}, year=2031,
                            demand_mw=0.0, unserved_mw=3.0)


def p_budget(inst, plan):
    plan["schedule"]["online_year"] = 2030  # the 2030 budget of 50 USD M now pays 200


def p_schedule_capex(inst, plan):
    plan["schedule"].loc[0, "capex_with_cooling_usd_m"] *= 2


def p_cost_terms(inst, plan):
    plan["costs"].loc[0, "energy"] += 1.0


def p_cost_rows(inst, plan):
    # 2031's discount set to 1 with its terms scaled down to match: every present value, so
    # the objective and cost_terms, stays the same, but the row no longer adds up
    costs = plan["costs"]
    factor = costs.loc[1, "discount"]
    for col in ("capex", "open_cost", "fixed_om", "energy", "upgrade_cost", "service_cost",
                "unserved_penalty", "total"):
        costs.loc[1, col] *= factor
    costs.loc[1, "discount"] = 1.0


def p_budget_rows(inst, plan):
    plan["budgets"].loc[0, "spend_usd_m"] += 1.0


def p_objective(inst, plan):
    return "objective - 1"


def p_geo_redundancy(inst, plan):
    # the plan's sites A and B are 5 km apart: no longer two sites 20 km apart
    return siteopt.apply_overrides(inst, {"resilience.cloud.min_km_apart": 20})


def p_n_minus_1_sites(inst, plan):
    plan["schedule"] = plan["schedule"][plan["schedule"]["site"] != "B"]  # no backup site


def p_n_minus_1_links(inst, plan):
    plan["served"].loc[plan["served"]["site"] == "B", "site"] = "C"  # C's only route is cut


PLANTS = {
    "phase_once": ("cheapest-site", p_phase_once),
    "phase_known": ("cheapest-site", p_phase_known),
    "phase_cooling": ("cooling-class", p_phase_cooling),
    "phase_in_horizon": ("phase-timing", p_phase_in_horizon),
    "phase_earliest": ("phase-timing", p_phase_earliest),
    "committed_year": ("committed-phase", p_committed_year),
    "committed_built": ("committed-phase", p_committed_built),
    "phase_order_built": ("phase-order", p_phase_order_built),
    "phase_order_timing": ("committed-phase", p_phase_order_timing),
    "existing_open": ("existing-capacity", p_existing_open),
    "phase_site_open": ("cheapest-site", p_phase_site_open),
    "open_with_first_phase": ("cheapest-site", p_open_with_first_phase),
    "site_cap": ("cheapest-site", p_site_cap),
    "site_count": ("p-median", p_site_count),
    "sites_table": ("cheapest-site", p_sites_table),
    "upgrade_known": ("grid-upgrade", p_upgrade_known),
    "upgrade_once": ("grid-upgrade", p_upgrade_once),
    "upgrade_timing": ("grid-upgrade", p_upgrade_timing),
    "grid_headroom": ("grid-upgrade", p_grid_headroom),
    "power_table": ("grid-upgrade", p_power_table),
    "capacity_table": ("cheapest-site", p_capacity_table),
    "load_nonnegative": ("cheapest-site", p_load_nonnegative),
    "load_capacity": ("cheapest-site", p_load_capacity),
    "load_balance": ("cheapest-site", p_load_balance),
    "cooling_class": ("cooling-class", p_cooling_class),
    "serve_nonnegative": ("cheapest-site", p_serve_nonnegative),
    "serve_open": ("cheapest-site", p_serve_open),
    "serve_hostable": ("cooling-class", p_serve_hostable),
    "serve_connected": ("cheapest-site", p_serve_connected),
    "latency_target": ("latency-target", p_latency_target),
    "served_rtt": ("cheapest-site", p_served_rtt),
    "single_source": ("p-median", p_single_source),
    "demand_balance": ("cheapest-site", p_demand_balance),
    "unserved_allowed": ("cheapest-site", p_unserved_allowed),
    "unserved_nonnegative": ("cheapest-site", p_unserved_nonnegative),
    "no_phantom_demand": ("cheapest-site", p_no_phantom_demand),
    "budget": ("annual-budget", p_budget),
    "schedule_capex": ("cheapest-site", p_schedule_capex),
    "cost_terms": ("energy-discount", p_cost_terms),
    "cost_rows": ("phase-timing", p_cost_rows),
    "budget_rows": ("annual-budget", p_budget_rows),
    "objective": ("cheapest-site", p_objective),
    "geo_redundancy": ("geo-zones", p_geo_redundancy),
    "n_minus_1_sites": ("n1-site", p_n_minus_1_sites),
    "n_minus_1_links": ("n1-link", p_n_minus_1_links),
}


def test_every_rule_has_a_plant_and_a_doc():
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    assert sorted(PLANTS) == sorted(names)
    assert all(r.doc for r in RULES)
    assert all(r.table.endswith((".csv", ".json")) for r in RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_rejects_its_planted_violation(rule):
    name, plant = PLANTS[rule.name]
    inst, tables, objective = _solved(name)
    plan = {k: v.copy() for k, v in tables.items()}
    assert rule.check(Facts(inst, plan, objective)) == []
    planted = plant(inst, plan)
    if planted == "objective - 1":
        objective -= 1.0
    elif planted is not None:
        inst = planted
    found = rule.check(Facts(inst, plan, objective))
    assert found, f"rule {rule.name} missed its planted violation"
    assert {f"{rule.table}: {v}" for v in found} <= set(
        check_plan(inst, plan, objective).violations)


def test_an_unknown_cooling_in_the_schedule_is_a_violation_not_a_crash():
    """A cooling no table knows has no PUE: every rule must still run (the power facts
    leave it out) and the cooling rule names it; it crashed with a KeyError (exit 1)."""
    inst, tables, objective = _solved("cooling-class")
    plan = {k: v.copy() for k, v in tables.items()}
    plan["schedule"].loc[0, "cooling"] = "martian"
    report = check_plan(inst, plan, objective)
    key = (plan["schedule"].loc[0, "site"], plan["schedule"].loc[0, "phase"])
    assert any(f"phase {key} built with cooling martian" in v for v in report.violations)


def test_every_constraint_family_has_a_checker_counterpart():
    """models/siteplan.md §10 maps each constraint and objective of its Symbols table to
    checker rules that exist, and every rule that table names is one of `RULES`."""
    text = (REPO / "models" / "siteplan.md").read_text()
    section = text[text.index("## 10. The independent checker"):text.index("\n## Symbols\n")]
    symbols = text[text.index("\n## Symbols\n"):]
    families = set(re.findall(r"^\| `(\w+)` \| (?:constraint|objective) \|", symbols, re.M))
    mapped = {m[0]: re.findall(r"`(\w+)`", m[1])
              for m in re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.M)}
    assert families and families == set(mapped), families ^ set(mapped)
    names = {r.name for r in RULES}
    assert all(rules and set(rules) <= names for rules in mapped.values()), mapped
