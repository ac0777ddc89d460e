"""Property: on random small instances every plan the engine reports passes the checker.

Instances are drawn by hypothesis (seeded by its database-free derandomized mode in CI)
over every feature: several coolings and classes, existing and committed capacity, lead
times, upgrades, budgets, latency targets, service costs and unserved demand on or off.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import siteopt
from siteopt.errors import InputError
from siteopt.io.schema import Economics, Horizon, Latency, Metadata, Service

COOLING = pd.DataFrame({"cooling": ["air", "dlc", "liquid", "legacy"], "name": "",
                        "pue": [1.5, 1.25, 1.15, 1.9], "capex_factor": [1.0, 1.1, 1.2, 1.0],
                        "buildable": [True, True, True, False]})


@st.composite
def instances(draw):
    y0 = 2030
    n_years = draw(st.integers(1, 3))
    years = list(range(y0, y0 + n_years))
    n_sites = draw(st.integers(1, 3))
    sites, phases = [], []
    for i in range(n_sites):
        s = f"S{i}"
        existing = draw(st.sampled_from([0.0, 0.0, 5.0]))
        existing_cooling = draw(st.sampled_from(["legacy", "air", "dlc"]))
        sites.append({"site": s, "name": "", "zone": draw(st.sampled_from(["Z0", "Z1"])),
                      "node": f"n{i}", "sponsor": draw(st.sampled_from(["", "X", "Y"])),
                      "lat": None, "lon": None,
                      "open_cost_usd_m": draw(st.sampled_from([0.0, 5.0, 20.0])),
                      "site_fixed_om_usd_m_per_year": draw(st.sampled_from([0.0, 1.0])),
                      "max_it_mw": draw(st.sampled_from([None, 15.0])),
                      "existing_it_mw": existing,
                      "existing_cooling": existing_cooling if existing else ""})
        for j in range(draw(st.integers(0, 2))):
            committed = None
            cooling = draw(st.sampled_from([(), ("air",), ("liquid",), ("air", "liquid"),
                                            ("dlc", "liquid")]))
            if (j == 0 or (phases and phases[-1]["committed_year"] is not None)) and draw(
                    st.booleans()) and draw(st.booleans()):
                earlier = phases[-1]["committed_year"] if j else None
                committed = draw(st.sampled_from([y for y in years
                                                  if earlier is None or y >= earlier]))
                cooling = ("air",)
            phases.append({"site": s, "phase": f"P{j}", "order": j,
                           "it_mw": float(draw(st.integers(2, 12))),
                           "capex_usd_m": float(draw(st.integers(0, 100))),
                           "fixed_om_usd_m_per_year": draw(st.sampled_from([None, 1.0])),
                           "cooling": cooling,
                           "earliest_decision_year": draw(st.sampled_from([None, y0,
                                                                           y0 + 1])),
                           "lead_months": draw(st.sampled_from([0, 6, 12, 13, 24, 36])),
                           "committed_year": committed})
    zones = pd.DataFrame({"zone": ["Z0", "Z1"], "name": "",
                          "derate": [draw(st.sampled_from([0.8, 1.0])), 1.0],
                          "tariff_factor": [1.0, 1.2]})
    headroom = pd.DataFrame([{"zone": z, "year": y,
                              "headroom_mw": float(draw(st.integers(0, 40)))}
                             for z in ("Z0", "Z1") for y in years])
    upgrades = pd.DataFrame([{"upgrade": f"U{k}", "zone": z,
                              "add_mw": float(draw(st.integers(1, 20))),
                              "capex_usd_m": float(draw(st.integers(1, 30))),
                              "lead_months": draw(st.sampled_from([0, 12])),
                              "earliest_decision_year": None,
                              "sponsor": draw(st.sampled_from(["", "X"]))}
                             for k, z in enumerate(draw(st.lists(st.sampled_from(["Z0", "Z1"]),
                                                                 max_size=2)))],
                            columns=["upgrade", "zone", "add_mw", "capex_usd_m", "lead_months",
                                     "earliest_decision_year", "sponsor"])
    links = pd.DataFrame([{"a": f"n{i}", "b": "hub", "km": float(draw(st.integers(0, 400))),
                           "extra_rtt_ms": 0.0} for i in range(n_sites)]
                         + [{"a": "hub", "b": "c0", "km": 10.0, "extra_rtt_ms": 0.0},
                            {"a": "hub", "b": "c1", "km": 50.0, "extra_rtt_ms": 0.0}])
    regions = pd.DataFrame({"region": ["R0", "R1", "AI"], "name": "",
                            "node": ["c0", "c1", ""]})
    classes = pd.DataFrame({"class": ["cloud", "gpu", "hpc"], "name": "",
                            "cooling": [(), ("liquid",), ("dlc", "liquid")]})
    demand = pd.DataFrame([{"region": r, "class": c, "year": y,
                            "it_mw": float(draw(st.integers(0, 10)))}
                           for r, c in (("R0", "cloud"), ("R1", "cloud"), ("AI", "gpu"),
                                        ("R1", "hpc"))
                           for y in years])
    targets = pd.DataFrame([{"region": "R0", "class": "cloud",
                             "max_rtt_ms": float(draw(st.sampled_from([3.0, 5.0, 9.0])))}])
    budgets = pd.DataFrame([{"sponsor": sp, "year": yr,
                             "max_capex_usd_m": float(draw(st.integers(0, 200)))}
                            for sp, yr in draw(st.lists(st.sampled_from(
                                [("", None), ("", y0), ("X", None)]), max_size=2, unique=True))],
                           columns=["sponsor", "year", "max_capex_usd_m"])
    budgets["year"] = budgets["year"].astype("Int64")
    costs = pd.DataFrame([{"site": "S0", "region": "R0",
                           "cost_usd_m_per_mw_year": float(draw(st.integers(0, 3)))}])
    allow = draw(st.booleans())
    meta = Metadata(
        name="random", horizon=Horizon(first_year=y0, last_year=years[-1]),
        economics=Economics(discount_rate=draw(st.sampled_from([0.0, 0.08])),
                            tariff_usd_per_mwh=draw(st.sampled_from([0.0, 80.0])),
                            tariff_escalation=0.02, fixed_om_share=0.02),
        service=Service(allow_unserved=allow, unserved_penalty_usd_m_per_mw_year=30.0,
                        max_utilization=draw(st.sampled_from([0.8, 1.0])),
                        strong_linking=draw(st.booleans())),
        latency=Latency(rtt_ms_per_km=0.01, rtt_ms_per_hop=0.1, rtt_ms_fixed=0.5))
    phase_cols = ["site", "phase", "order", "it_mw", "capex_usd_m", "fixed_om_usd_m_per_year",
                  "cooling", "earliest_decision_year", "lead_months", "committed_year"]
    phases_df = pd.DataFrame(phases, columns=phase_cols)
    for col in ("order", "earliest_decision_year", "lead_months", "committed_year"):
        phases_df[col] = phases_df[col].astype("Int64")
    phases_df["fixed_om_usd_m_per_year"] = phases_df["fixed_om_usd_m_per_year"].astype(float)
    sites_df = pd.DataFrame(sites)
    sites_df["max_it_mw"] = sites_df["max_it_mw"].astype(float)
    upgrades["earliest_decision_year"] = upgrades["earliest_decision_year"].astype("Int64")
    tables = {"sites": sites_df, "phases": phases_df, "cooling": COOLING, "zones": zones,
              "headroom": headroom, "upgrades": upgrades, "links": links, "regions": regions,
              "classes": classes, "demand": demand, "latency_targets": targets,
              "budgets": budgets, "service_costs": costs}
    return meta, tables


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances())
def test_every_reported_plan_passes_the_checker(drawn):
    meta, tables = drawn
    try:
        inst = siteopt.from_tables(meta, tables)
    except InputError as exc:  # e.g. a class no site can host: a clear input error is fine
        assert exc.problems
        return
    result = siteopt.solve(inst)
    assert result.status in ("optimal", "infeasible"), result.status
    if result.status == "optimal":
        assert result.verified, result.violations
        assert result.check is not None
        assert result.objective == pytest.approx(result.check.objective, rel=1e-6, abs=1e-6)
        assert result.bound is not None
        assert result.bound <= result.objective + 1e-6 * max(1.0, abs(result.objective))
    else:
        # with priced unserved demand only fixed things can make a plan impossible:
        # commitments, budgets, or existing plant drawing more than its zone's headroom
        sites = tables["sites"]
        pue = dict(zip(COOLING["cooling"], COOLING["pue"], strict=True))
        derate = dict(zip(tables["zones"]["zone"], tables["zones"]["derate"], strict=True))
        head = tables["headroom"].groupby("zone")["headroom_mw"].min()
        existing_over = any(
            sum(pue[r.existing_cooling] * r.existing_it_mw
                for r in sites.itertuples() if r.zone == z and r.existing_it_mw > 0)
            > derate[z] * head[z] + 1e-9 for z in derate)
        assert (not meta.service.allow_unserved or not tables["budgets"].empty
                or tables["phases"]["committed_year"].notna().any() or existing_over), (
            "infeasible despite the slack")
