"""Resilience rules ([resilience.CLASS], models/siteplan.md §8) on hand-derived tiny instances.

The optima are derived in instances/tiny/README.md (section "Resilience"); the N-1 fibre
latencies of the model's shortest-path-tree method are compared with the checker's brute
force on random multigraphs; bad settings are rejected through the real command line.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import siteopt
from siteopt.data.resilience import n1_latency
from siteopt.data.separation import great_circle_km as haversine_km
from siteopt.errors import ExitCode, InputError
from siteopt.io.schema import Metadata
from siteopt.model.data import allowed_pairs
from siteopt.verify.checker import Facts
from siteopt.verify.latency import n1_rtt
from siteopt.verify.resilience import Resil
from tests.conftest import REPO, TINY

UTIL = ("service.max_utilization=0.75", "service.allow_unserved=true",
        "service.unserved_penalty_usd_m_per_mw_year=50")
# (folder, overrides) -> (objective, sites built)
KNOWN = {
    ("n1-site", ()): (220.0, {"A", "B"}),
    ("n1-site", ("resilience.cloud.n_minus_1_sites=false",)): (100.0, {"A"}),
    ("n1-link", ()): (120.0, {"B"}),
    ("n1-link", ("resilience.cloud.n_minus_1_links=false",)): (50.0, {"C"}),
    ("geo-zones", ()): (210.0, {"A", "B"}),
    ("geo-zones", ("resilience.cloud.distinct_zones=false",)): (205.0, {"A", "D"}),
    ("geo-zones", ("resilience.cloud.distinct_zones=false",
                   "resilience.cloud.min_km_apart=20")): (250.0, {"A", "C"}),
    ("geo-zones", ("resilience.cloud.min_km_apart=20",)): (260.0, {"B", "C"}),
    ("geo-zones", ("resilience.cloud.min_sites=1",)): (100.0, {"A"}),
    # spare = u x capacity - load (u = 0.75): A + B can protect only 7.5 MW, 0.5 unserved
    ("n1-site", UTIL): (245.0, {"A", "B"}),
    ("n1-site", (*UTIL, "resilience.cloud.n_minus_1_sites=false")): (125.0, {"A"}),
}


def _inst(name: str, overrides: tuple[str, ...] = ()) -> siteopt.Instance:
    inst = siteopt.load_instance(TINY / name)
    return siteopt.apply_overrides(inst, dict(o.split("=", 1) for o in overrides))


@pytest.mark.parametrize("case", sorted(KNOWN), ids=lambda c: f"{c[0]}{list(c[1])}")
def test_hand_derived_resilient_optimum(case):
    objective, sites = KNOWN[case]
    result = siteopt.solve(_inst(*case))
    assert result.status == "optimal" and result.verified, result.violations
    assert result.objective == pytest.approx(objective, abs=1e-6)
    assert set(result.tables["schedule"]["site"]) == sites


def test_n1_spare_counts_only_coolings_the_class_may_use(tiny_copy):
    """N-1 spare is per cooling the class may use (models/siteplan.md §8, `n1_spare`).

    n1-site with cloud on air only; B already runs 20 MW of dlc (idle, no cost) and can
    add its 10 MW air P1 (120). Were B's idle dlc counted as spare, A alone (100) would be
    protected; it is not, so the optimum is A + B's P1 as in n1-site: 220. The checker
    independently rejects the plan solved without the rule (A alone) for the same reason.
    """
    from siteopt.verify.checker import check_plan

    folder = tiny_copy("n1-site")
    (folder / "cooling.csv").write_text("cooling,pue\nair,1.5\ndlc,1.2\n")
    (folder / "classes.csv").write_text("class,cooling\ncloud,air\n")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m,cooling\nA,P1,10,100,air\n"
                                       "B,P1,10,120,air\nC,P1,4,30,air\n")
    (folder / "sites.csv").write_text("site,zone,node,existing_it_mw,existing_cooling\n"
                                      "A,Z,a,0,\nB,Z,b,20,dlc\nC,Z,c,0,\n")
    inst = siteopt.load_instance(folder)
    result = siteopt.solve(inst)
    assert result.verified, result.violations
    assert result.objective == pytest.approx(220.0, abs=1e-6)
    assert set(result.tables["schedule"]["site"]) == {"A", "B"}
    plain = siteopt.solve(inst, overrides={"resilience.cloud.n_minus_1_sites": False})
    assert plain.objective == pytest.approx(100.0, abs=1e-6) and plain.verified
    report = check_plan(inst, plain.tables, plain.objective)
    assert any(v.startswith("capacity.csv: outage of A in 2030: 8.0000 MW of N-1 load, the "
                            "others can re-serve 0.0000 MW") for v in report.violations), (
        report.violations)


def test_geo_redundancy_holds_from_from_year_only(tiny_copy):
    """from_year moves the rule's first year (the years of GEO, and of the checker's rows).

    geo-zones over 2030-2031 (8 MW each year), discount 10 %: capex is paid in the online
    year. From 2030 both zones' cheapest sites are needed at once: A + B = 210. From 2031,
    B may wait a year: 100 + 110 / 1.1 = 200. Without the rule: A alone, 100. The checker
    rejects the from-2031 plan against the from-2030 rule, naming 2030 only.
    """
    from siteopt.verify.checker import check_plan

    folder = tiny_copy("geo-zones")
    (folder / "demand.csv").write_text("region,class,year,it_mw\nR,cloud,2030,8\n"
                                       "R,cloud,2031,8\n")
    (folder / "headroom.csv").write_text("zone,year,headroom_mw\n" + "".join(
        f"{z},{y},100\n" for z in ("Z1", "Z2") for y in (2030, 2031)))
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace("last_year = 2030", "last_year = 2031").replace(
        "[service]", "[economics]\ndiscount_rate = 0.1\n[service]"))
    inst = siteopt.load_instance(folder)
    cases = {2030: (210.0, {("A", 2030), ("B", 2030)}),
             2031: (200.0, {("A", 2030), ("B", 2031)})}
    plans = {}
    for year, (objective, built) in cases.items():
        plans[year] = siteopt.solve(inst, overrides={"resilience.cloud.from_year": year})
        assert plans[year].verified, plans[year].violations
        assert plans[year].objective == pytest.approx(objective, abs=1e-6)
        sched = plans[year].tables["schedule"]
        assert set(zip(sched["site"], sched["online_year"], strict=True)) == built
    free = siteopt.solve(inst, overrides={"resilience.cloud.min_sites": 1})
    assert free.objective == pytest.approx(100.0, abs=1e-6)
    report = check_plan(inst, plans[2031].tables, plans[2031].objective)
    assert [v for v in report.violations if "resilience asks for" in v] == [
        "sites.csv: region R/cloud in 2030: 1 open sites in distinct zones within target (A), "
        "resilience asks for 2"], report.violations


def test_tight_rules_are_reported_in_the_plan():
    result = siteopt.solve(_inst("geo-zones"))
    entry = result.resilience["cloud"]["geo_redundancy"]
    assert entry["binds"] and entry["tight"] == ["R 2030: A, B"]
    assert result.summary()["resilience"] == result.resilience


def test_re_solve_says_what_each_rule_costs_and_adds():
    from siteopt.solver.highs import SolveOptions
    from siteopt.solver.resilience_cost import resilience_costs

    inst = _inst("n1-site")
    result = siteopt.solve(inst)
    report = resilience_costs(inst, result, SolveOptions(progress=False))
    entry = report["cloud"]["n_minus_1_sites"]
    assert entry["binds"] is True and entry["cost_usd_m"] == pytest.approx(120.0)
    assert entry["adds_phases"] == ["B/P1@2030"] and entry["adds_sites"] == ["B"]


def test_a_signal_during_the_rule_re_solves_stops_them_and_is_reported(monkeypatch):
    """Ctrl-C while measuring a rule's cost is not swallowed: the rule is noted as not
    measured and the result says which signal stopped the run (the CLI then exits 130)."""
    from siteopt.solver import resilience_cost
    from siteopt.solver.highs import SolveOptions

    inst = _inst("n1-site")
    result = siteopt.solve(inst)
    real = resilience_cost.solve

    def stopped(inst, options):
        without = real(inst, options)
        without.interrupted_by = 2
        return without

    monkeypatch.setattr(resilience_cost, "solve", stopped)
    report = resilience_cost.resilience_costs(inst, result, SolveOptions(progress=False))
    entry = report["cloud"]["n_minus_1_sites"]
    assert entry["binds"] is None and "stopped by SIGINT" in entry["note"]
    assert result.interrupted_by == 2 and result.verified


def test_the_rule_re_solves_share_the_run_time_limit(monkeypatch):
    """`--time-limit` bounds the whole run: each re-solve gets what is left (a fake clock:
    the solve took 4 s of 10), and a rule with nothing left is not measured, not re-solved
    with a fresh full limit."""
    from dataclasses import replace

    from siteopt.solver import resilience_cost
    from siteopt.solver.highs import SolveOptions

    inst = _inst("geo-zones", ("resilience.cloud.n_minus_1_sites=true",))
    result = siteopt.solve(inst)
    now = [104.0]
    limits = []
    real = resilience_cost.solve

    def uses_all_it_gets(inst, options):
        limits.append(options.time_limit)
        without = real(inst, replace(options, time_limit=None))
        now[0] += options.time_limit
        return without

    monkeypatch.setattr(resilience_cost, "solve", uses_all_it_gets)
    report = resilience_cost.resilience_costs(inst, result, SolveOptions(time_limit=10.0),
                                              started=100.0, clock=lambda: now[0])
    assert limits == [pytest.approx(6.0)]
    geo, n1 = report["cloud"]["geo_redundancy"], report["cloud"]["n_minus_1_sites"]
    assert geo["status_without"] == "optimal" and geo["binds"] is True
    assert n1["status_without"] == "not run" and n1["binds"] is None
    assert n1["cost_usd_m"] is None and "time limit of 10 s was used up" in n1["note"]


def test_a_re_solve_stopped_short_of_its_gap_leaves_binds_open(monkeypatch):
    """A re-solve that hit its limit with a 40 % gap and a plan only 5 cheaper cannot say the
    rule is free: binds is None (shown as '?'), with the status and gap, not 'no'."""
    from siteopt.solver import resilience_cost
    from siteopt.solver.highs import SolveOptions

    inst = _inst("n1-site")
    result = siteopt.solve(inst)
    real = resilience_cost.solve

    def stopped_early(inst, options):
        without = real(inst, options)
        without.status, without.gap, without.objective = "time_limit", 0.4, 215.0
        return without

    monkeypatch.setattr(resilience_cost, "solve", stopped_early)
    report = resilience_cost.resilience_costs(inst, result, SolveOptions(progress=False))
    entry = report["cloud"]["n_minus_1_sites"]
    assert entry["binds"] is None and entry["cost_usd_m"] == pytest.approx(5.0)
    assert entry["status_without"] == "time_limit" and entry["gap_without"] == 0.4
    assert "undecided" in entry["note"] and "40.00 %" in entry["note"]


def test_a_re_solve_whose_plan_fails_the_check_prices_no_rule(monkeypatch):
    """The saving is quoted only between verified plans: a re-solve plan the checker
    rejects leaves the rule unmeasured, with the violation in the note."""
    from siteopt.solver import resilience_cost
    from siteopt.solver.highs import SolveOptions

    inst = _inst("n1-site")
    result = siteopt.solve(inst)
    real = resilience_cost.solve

    def unchecked(inst, options):
        without = real(inst, options)
        without.verified, without.violations = False, ["site A over capacity in 2030"]
        return without

    monkeypatch.setattr(resilience_cost, "solve", unchecked)
    report = resilience_cost.resilience_costs(inst, result, SolveOptions(progress=False))
    entry = report["cloud"]["n_minus_1_sites"]
    assert entry["binds"] is None and entry["cost_usd_m"] is None
    assert "failed the independent check: site A over capacity" in entry["note"]


def test_a_rule_whose_removal_makes_the_settings_invalid_is_not_measured(tiny_copy, tmp_path):
    """All four sites in one zone and single-homed: under the fibre-cut rule no site can
    serve R, so two zones are not asked of it (the demand goes unserved); without the rule
    they would be, which is an input error. `siteopt solve` keeps its verified plan (exit 0,
    results written) and notes the fibre rule as not measured, instead of exiting 2."""
    folder = tiny_copy("geo-zones")
    sites = folder / "sites.csv"
    sites.write_text(sites.read_text().replace("B,Z2,", "B,Z1,"))
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace(
        "allow_unserved = false", "allow_unserved = true\nunserved_penalty_usd_m_per_mw_year = 100")
        + "n_minus_1_links = true\n")
    out = tmp_path / "out"
    proc = run("solve", str(folder), "--out", str(out), "--no-report", "--quiet")
    assert proc.returncode == ExitCode.OK, proc.stdout + proc.stderr
    entry = json.loads((out / "summary.json").read_text())["resilience"]["cloud"][
        "n_minus_1_links"]
    assert entry["binds"] is None and entry["status_without"] == "invalid"
    assert "without the rule the settings are invalid" in entry["note"]
    assert "resilience.cloud.min_sites" in entry["note"]


def test_n1_latencies_of_the_route_cut_instance():
    inst = _inst("n1-link")
    lat = inst.latency.set_index("site")
    # A: 1 ms direct, 3.5 ms via hub after the cut; B: 2 ms, 2.5 ms via x; C: single-homed
    assert lat.loc["A", "rtt_ms"] == pytest.approx(1.0)
    assert lat.loc["A", "rtt_ms_n1"] == pytest.approx(3.5)
    assert lat.loc["B", "rtt_ms_n1"] == pytest.approx(2.5)
    assert math.isinf(lat.loc["C", "rtt_ms_n1"])
    assert allowed_pairs(inst)["site"].tolist() == ["B"]


def _random_tables(seed: int) -> dict[str, pd.DataFrame]:
    rng = random.Random(seed)
    nodes = [f"n{i}" for i in range(rng.randint(4, 9))]
    links = []
    for i in range(1, len(nodes)):  # a random tree, then extra links (some reversed)
        links.append((nodes[rng.randrange(i)], nodes[i]))
    for _ in range(rng.randint(0, 8)):
        a, b = rng.sample(nodes, 2)
        links.append((a, b))
    frame = pd.DataFrame({"a": [a for a, _ in links], "b": [b for _, b in links],
                          "km": [float(rng.choice([0, 10, 20, 35, 50])) for _ in links],
                          "extra_rtt_ms": [rng.choice([0.0, 0.1]) for _ in links]})
    return {"links": frame,
            "nodes": pd.DataFrame({"node": nodes}),
            "sites": pd.DataFrame({"site": ["S1", "S2", "S3"],
                                   "node": rng.sample(nodes, 3)}),
            "regions": pd.DataFrame({"region": ["R1", "R2"], "node": rng.sample(nodes, 2)}),
            "latency": pd.DataFrame({"site": [], "region": [], "rtt_ms": []})}  # no latency.csv


@pytest.mark.parametrize("seed", range(25))
def test_shortest_path_tree_method_equals_brute_force(seed):
    """n1_latency (removals on shortest-path trees only) == checker's every-link removal."""
    from types import SimpleNamespace

    from siteopt.io.schema import Latency

    tables = _random_tables(seed)
    latency = Latency(rtt_ms_per_km=0.01, rtt_ms_per_hop=0.05, rtt_ms_fixed=0.5)
    pairs = [(s, r) for s in tables["sites"]["site"] for r in tables["regions"]["region"]]
    lat = pd.DataFrame({"site": [s for s, _ in pairs], "region": [r for _, r in pairs]})
    fast = n1_latency(tables, latency, lat)
    inst = SimpleNamespace(meta=SimpleNamespace(latency=latency),
                           table=lambda name: tables[name])
    slow = n1_rtt(inst, set(pairs))  # type: ignore[arg-type]
    for (s, r), value in zip(pairs, fast, strict=True):
        assert value == pytest.approx(slow[s, r], abs=1e-9), (s, r)


def test_haversine_is_great_circle_km():
    assert haversine_km(21.0, 105.5, 21.0, 105.55) == pytest.approx(5.19, abs=0.01)
    assert haversine_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(math.pi * 6371.0088)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siteopt", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=300)


@pytest.mark.parametrize("setting, expected", [
    ("resilience.cloud.min_sites=3", "resilience.cloud.min_sites at most 2, the sites in "
     "different zones that can serve region R"),
    ("resilience.cloudy.min_sites=2", "a class of classes.csv after 'resilience.': one of "
     "cloud, found 'cloudy'"),
    ("resilience.cloud.min_km_apart=-5", "column 'resilience.cloud.min_km_apart': expected a "
     "number >= 0, found '-5'"),
    ("resilience.cloud.min_site=2", "expected a known key (did you mean 'min_sites'?)"),
])
def test_bad_settings_exit_2_with_the_key_and_the_expected_form(setting, expected):
    proc = run("solve", str(TINY / "geo-zones"), "--set", setting)
    assert proc.returncode == ExitCode.BAD_INPUT, proc.stdout + proc.stderr
    assert expected in " ".join((proc.stdout + proc.stderr).split())


def test_bad_settings_in_the_file_name_the_file(tiny_copy):
    folder = tiny_copy("geo-zones")
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text() + "min_km_apart = -1\n[resilience.ai]\nmin_sites = 2\n")
    with pytest.raises(InputError) as err:
        siteopt.load_instance(folder)
    text = str(err.value)
    assert "instance.toml" in text and "resilience.cloud.min_km_apart" in text
    toml.write_text(toml.read_text().replace("min_km_apart = -1\n", ""))
    with pytest.raises(InputError, match=r"resilience.ai.*one of cloud"):
        siteopt.load_instance(folder)


def test_n1_for_a_region_only_one_site_reaches_is_an_error_without_unserved():
    inst = _inst("n1-link", ("resilience.cloud.n_minus_1_links=false",
                             "resilience.cloud.n_minus_1_sites=true"))
    assert inst.warnings == ()  # A, B and C all reach R within 3 ms
    with pytest.raises(InputError, match="only site C can serve it"):
        siteopt.apply_overrides(inst, {"latency_targets[region=R].max_rtt_ms": 0.6})
    lenient = siteopt.apply_overrides(inst, {"service.allow_unserved": True,
                                             "latency_targets[region=R].max_rtt_ms": 0.6})
    assert any("only site C can serve it" in w for w in lenient.warnings)


def test_n1_for_a_year_in_which_only_one_site_can_serve_is_an_error(tiny_copy):
    """The N-1 rows are per year: B and C can host only from 2031, so in 2030 A alone can
    serve R and its load cannot be protected. Without unserved demand that is an input
    error naming the key and the year (not an 'infeasible' solve blaming capacity); with
    it, a warning, and the plan leaves exactly 2030's 8 MW unserved."""
    folder = tiny_copy("n1-site")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m,earliest_online_year\n"
                                       "A,P1,10,100,\nB,P1,10,120,2031\nC,P1,4,30,2031\n")
    (folder / "demand.csv").write_text("region,class,year,it_mw\nR,cloud,2030,8\n"
                                       "R,cloud,2031,8\n")
    (folder / "headroom.csv").write_text("zone,year,headroom_mw\nZ,2030,100\nZ,2031,100\n")
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace("last_year = 2030", "last_year = 2031"))
    proc = run("validate", str(folder))
    assert proc.returncode == ExitCode.BAD_INPUT, proc.stdout + proc.stderr
    text = " ".join((proc.stdout + proc.stderr).split())
    assert "resilience.cloud.n_minus_1_sites" in text and "instance.toml" in text
    assert "only site A can serve it in 2030" in text
    toml.write_text(toml.read_text().replace("allow_unserved = false",
                                             "allow_unserved = true\n"
                                             "unserved_penalty_usd_m_per_mw_year = 100"))
    inst = siteopt.load_instance(folder)
    assert any("only site A can serve it in 2030" in w for w in inst.warnings)
    result = siteopt.solve(inst)
    assert result.verified, result.violations
    unserved = result.tables["unserved"]
    assert unserved.groupby("year")["unserved_mw"].sum().to_dict() == pytest.approx({2030: 8.0})


def test_a_site_whose_first_phase_comes_too_late_does_not_count_for_geo(tiny_copy):
    """Phases come online in order: B's P1 could be online in 2030, but only after its P0,
    which takes 12 months. So only zone Z1 can host R in 2030 and two zones is an input
    error naming the key, not a valid instance that then solves 'infeasible'."""
    folder = tiny_copy("geo-zones")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m,lead_months\n"
                                       "A,P1,10,100,0\nB,P0,10,90,12\nB,P1,10,110,0\n"
                                       "C,P1,10,150,0\nD,P1,10,105,0\n")
    proc = run("validate", str(folder))
    assert proc.returncode == ExitCode.BAD_INPUT, proc.stdout + proc.stderr
    text = " ".join((proc.stdout + proc.stderr).split())
    assert "resilience.cloud.min_sites at most 1" in text and "region R" in text
    assert "inf ms" not in text  # geo-zones has no latency target: no "within inf ms"


def test_solve_summary_reports_the_rules(tmp_path):
    out = tmp_path / "r"
    proc = run("solve", str(TINY / "n1-link"), "--out", str(out), "--no-report")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "Resilience rules" in proc.stdout and "n_minus_1_links" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    entry = summary["resilience"]["cloud"]["n_minus_1_links"]
    assert entry["binds"] is True and entry["cost_usd_m"] == pytest.approx(70.0)
    assert entry["adds_phases"] == ["B/P1@2030"]
    proc = run("verify", str(TINY / "n1-link"), str(out))
    assert proc.returncode == ExitCode.OK, proc.stdout + proc.stderr


@st.composite
def resilient_instances(draw):
    """Small random instances where every rule has room: 2-4 sites, meshed fibre, 2 classes.

    Sites have one or two phases (air, dlc or either), coordinates, one of two zones; two
    located regions and a location-free one; unserved demand is allowed (priced), so the
    N-1 rules may leave single-site regions unserved instead of making the instance invalid;
    no budget and ample headroom, so a valid instance always has a plan.
    """
    y0 = 2030
    years = list(range(y0, y0 + draw(st.integers(1, 2))))
    n = draw(st.integers(2, 4))
    sites, phases = [], []
    for i in range(n):
        sites.append({"site": f"S{i}", "zone": draw(st.sampled_from(["Z0", "Z1"])),
                      "node": f"n{i}", "lat": 21.0,
                      "lon": 105.5 + 0.1 * draw(st.integers(0, 5)),
                      "open_cost_usd_m": float(draw(st.integers(0, 20)))})
        for j in range(draw(st.integers(1, 2))):
            phases.append({"site": f"S{i}", "phase": f"P{j}",
                           "it_mw": float(draw(st.integers(3, 12))),
                           "capex_usd_m": float(draw(st.integers(10, 100))),
                           "cooling": draw(st.sampled_from([("air",), ("dlc",),
                                                            ("air", "dlc")])),
                           "lead_months": draw(st.sampled_from([0, 0, 12]))})
    links = [{"a": f"n{i}", "b": "hub", "km": float(draw(st.integers(0, 300)))}
             for i in range(n)]
    links += [{"a": "hub", "b": "c0", "km": 10.0}, {"a": "hub", "b": "c1", "km": 60.0}]
    for i in range(n):  # direct routes: some pairs survive a cut
        for c in ("c0", "c1"):
            if draw(st.booleans()):
                links.append({"a": c, "b": f"n{i}", "km": float(draw(st.integers(0, 300)))})
    demand = [{"region": r, "class": c, "year": y, "it_mw": float(draw(st.integers(0, 8)))}
              for r, c in (("R0", "cloud"), ("R1", "cloud"), ("AI", "gpu"))
              for y in years]
    tables = {
        "sites": pd.DataFrame(sites), "phases": pd.DataFrame(phases),
        "cooling": pd.DataFrame({"cooling": ["air", "dlc"], "pue": [1.5, 1.2]}),
        "zones": pd.DataFrame({"zone": ["Z0", "Z1"]}),
        "headroom": pd.DataFrame([{"zone": z, "year": y, "headroom_mw": 1000.0}
                                  for z in ("Z0", "Z1") for y in years]),
        "links": pd.DataFrame(links),
        "regions": pd.DataFrame({"region": ["R0", "R1", "AI"], "node": ["c0", "c1", ""]}),
        "classes": pd.DataFrame({"class": ["cloud", "gpu"], "cooling": [(), ("dlc",)]}),
        "demand": pd.DataFrame(demand),
        "latency_targets": pd.DataFrame([{"region": "R0", "class": "cloud",
                                          "max_rtt_ms": float(draw(st.sampled_from(
                                              [2.0, 3.0, 5.0])))}]),
    }
    rules = {}
    for cls in ("cloud", "gpu"):  # cloud always has rules, gpu sometimes
        if cls == "cloud" or draw(st.booleans()):
            rules[cls] = {"min_sites": draw(st.sampled_from([2, 1])),
                          "distinct_zones": draw(st.booleans()),
                          "min_km_apart": draw(st.sampled_from([0.0, 15.0, 0.0])),
                          "n_minus_1_sites": draw(st.sampled_from([True, False])),
                          "n_minus_1_links": draw(st.sampled_from([False, True]))}
    meta = Metadata.model_validate({
        "name": "random-resilient", "horizon": {"first_year": y0, "last_year": years[-1]},
        "service": {"allow_unserved": True, "unserved_penalty_usd_m_per_mw_year": 40.0,
                    "max_utilization": draw(st.sampled_from([0.75, 1.0]))},
        "latency": {"rtt_ms_per_km": 0.01, "rtt_ms_fixed": 0.5}, "resilience": rules})
    return meta, tables


@pytest.mark.slow
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(resilient_instances())
def test_every_resilient_plan_passes_the_independent_checker(drawn):
    """The model's resilience families and the checker's own rules agree on random plans."""
    meta, tables = drawn
    try:
        inst = siteopt.from_tables(meta, tables)
    except InputError as exc:  # settings no plan can meet are input errors
        assert exc.problems
        return
    result = siteopt.solve(inst)
    # unserved demand allowed, no budget, ample headroom: once validation passes some plan
    # exists (every site fully built meets the geo rules), so 'infeasible' is a defect
    assert result.status == "optimal", result.status
    assert result.verified, result.violations


def test_n1_latency_of_latency_csv_pairs_agrees_with_the_checker(tmp_path):
    # n1-link with measured round trips for A (2.0 ms, graph 2.0 via a-city 100 km) and C
    # (0.5 ms; c-city is a bridge): A's worst cut adds the graph's detour a-hub-city (350 km)
    # over a-city (100 km), 2.5 ms; C has no route left after cutting c-city
    import shutil

    folder = tmp_path / "inst"
    shutil.copytree(TINY / "n1-link", folder)
    (folder / "latency.csv").write_text("site,region,rtt_ms\nA,R,2.0\nC,R,0.5\n")
    inst = siteopt.load_instance(folder)
    lat = inst.latency.set_index(["site", "region"])
    assert lat.loc[("A", "R"), "rtt_ms"] == pytest.approx(2.0)
    assert lat.loc[("A", "R"), "rtt_ms_n1"] == pytest.approx(2.0 + 2.5)
    assert math.isinf(lat.loc[("C", "R"), "rtt_ms_n1"])
    checker = n1_rtt(inst, {("A", "R"), ("B", "R"), ("C", "R")})
    assert checker[("A", "R")] == pytest.approx(4.5)
    assert math.isinf(checker[("C", "R")])
    assert checker[("B", "R")] == pytest.approx(lat.loc[("B", "R"), "rtt_ms_n1"])
    result = siteopt.solve(inst)
    assert result.verified


def test_the_fibre_cut_rule_is_checked_for_a_region_located_only_by_latency_csv(tmp_path):
    """A region with no node but latency.csv rows is located: with no graph route, a cut
    leaves its pairs without a round trip (the model drops them). A plan that serves it
    anyway, solved without the rule, must fail the check against the instance with it."""
    import shutil

    from siteopt.verify.checker import check_plan

    folder = tmp_path / "n1"
    shutil.copytree(TINY / "n1-link", folder)
    (folder / "regions.csv").write_text("region,node\nR,\n")
    (folder / "latency.csv").write_text("site,region,rtt_ms\nA,R,1.0\nB,R,2.0\nC,R,0.5\n")
    toml = (folder / "instance.toml").read_text()
    (folder / "instance.toml").write_text(toml.replace("allow_unserved = false",
                                                       "allow_unserved = true"))
    strict = siteopt.load_instance(folder)
    (folder / "instance.toml").write_text(
        (folder / "instance.toml").read_text().replace("[resilience.cloud]\n"
                                                       "n_minus_1_links = true\n", ""))
    plain = siteopt.solve(siteopt.load_instance(folder))
    assert plain.verified and plain.tables["served"]["serve_mw"].sum() > 0
    report = check_plan(strict, plain.tables, plain.objective)
    assert not report.ok
    assert any("worst single fibre cut" in v for v in report.violations)
    resilient = siteopt.solve(strict)
    assert resilient.verified and resilient.tables["served"]["serve_mw"].sum() == 0


def test_tight_fibre_pairs_include_regions_located_only_by_latency_csv(tiny_copy):
    """The "tight" rows of n_minus_1_links name every pair the rule forbids, as the rule.

    n1-link plus a region R2 with no node and a measured 1.0 ms round trip from B: located
    (by latency.csv), so the rule applies, and with no fibre route no cut can be survived:
    B -> R2 is forbidden though within reach intact. B is open (it serves R), so the pair
    is tight in the plan; a region with no node was skipped before.
    """
    from siteopt.verify.resilience import resilience_binding

    folder = tiny_copy("n1-link")
    (folder / "regions.csv").write_text("region,node\nR,city\nR2,\n")
    (folder / "latency.csv").write_text("site,region,rtt_ms\nB,R2,1.0\n")
    (folder / "demand.csv").write_text("region,class,year,it_mw\nR,cloud,2030,8\n"
                                       "R2,cloud,2030,1\n")
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace("allow_unserved = false", "allow_unserved = true"))
    inst = siteopt.load_instance(folder)
    result = siteopt.solve(inst)
    assert result.verified, result.violations
    assert set(result.tables["schedule"]["site"]) == {"B"}
    tight = resilience_binding(inst, result.tables)["cloud"]["n_minus_1_links"]["tight"]
    assert "B -> R2: 1.00 ms intact, inf ms after the worst cut" in tight, tight


def test_the_fibre_cut_rule_without_a_latency_target_still_needs_a_second_route(tmp_path):
    """No target: a pair one cut disconnects (C, single-homed) still fails the rule, in the
    model (the plan uses A, 100, whose pair survives every cut) as in the checker (the
    plan serving from C, solved without the rule, is rejected)."""
    import shutil

    from siteopt.verify.checker import check_plan

    folder = tmp_path / "n1"
    shutil.copytree(TINY / "n1-link", folder)
    (folder / "latency_targets.csv").unlink()
    strict = siteopt.load_instance(folder)
    assert math.isinf(strict.latency.set_index("site").loc["C", "rtt_ms_n1"])
    result = siteopt.solve(strict)
    assert result.verified, result.violations
    assert result.objective == pytest.approx(100.0)
    assert set(result.tables["served"]["site"]) == {"A"}
    plain = siteopt.solve(strict, overrides={"resilience.cloud.n_minus_1_links": False})
    assert set(plain.tables["served"]["site"]) == {"C"} and plain.verified
    report = check_plan(strict, plain.tables, plain.objective)
    assert any("site C serves R/cloud" in v and "worst single fibre cut" in v
               for v in report.violations), report.violations


def test_backup_cover_counts_only_sites_within_target_after_a_cut():
    """LSCP-B with the fibre-cut rule: only B reaches R within target after the worst cut,
    so two open sites cannot both back R up and all 8 MW stay uncovered (the model's 8);
    the checker recomputes the same, not the intact-latency 0."""
    inst = siteopt.load_instance(TINY / "n1-link")
    result = siteopt.solve(inst, overrides={"siting.objective": "backup_uncovered_mw",
                                            "siting.sites": 2})
    assert result.objective == pytest.approx(8.0)
    assert result.verified, result.violations


def test_a_site_with_existing_capacity_of_another_cooling_is_not_counted_as_hosting(tmp_path):
    # geo-zones with class cloud on dlc only; site B (zone Z2) already runs 20 MW of air, and
    # its P1 is dlc: being open (it is, from the start) must not count B as hosting cloud.
    # Two distinct zones need B's P1 (110) plus the cheapest Z1 site A (100): 210.
    import shutil

    folder = tmp_path / "inst"
    shutil.copytree(TINY / "geo-zones", folder)
    (folder / "cooling.csv").write_text("cooling,pue\nair,1.5\ndlc,1.2\n")
    (folder / "classes.csv").write_text("class,cooling\ncloud,dlc\n")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m,cooling\nA,P1,10,100,dlc\n"
                                       "B,P1,10,110,dlc\nC,P1,10,150,dlc\nD,P1,10,105,dlc\n")
    sites = (folder / "sites.csv").read_text().splitlines()
    rows = [sites[0] + ",existing_it_mw,existing_cooling"]
    rows += [r + (",20,air" if r.startswith("B,") else ",0,") for r in sites[1:]]
    (folder / "sites.csv").write_text("\n".join(rows) + "\n")
    result = siteopt.solve(siteopt.load_instance(folder), strict=False)
    assert result.verified, result.violations
    built = set(zip(result.tables["schedule"]["site"], result.tables["schedule"]["phase"],
                    strict=True))
    assert ("B", "P1") in built


def test_n1_backup_over_unpriced_pairs_is_allowed_alike_by_model_and_checker():
    """service_costs prices pairs, it never restricts them, in the model as in the checker.

    A review read the model as limiting the pairs that may serve (and back up) to those in
    service_costs.csv; it does not (an unpriced pair costs 0, `check_service_costs` only
    warns), and the checker does not either. Here only C -> R is priced: the optimum still
    serves from A or B and re-serves on the other when one fails, both over unpriced pairs.
    """
    inst = _inst("n1-site")
    tables = {name: frame.copy() for name, frame in inst.tables.items()}
    tables["service_costs"] = pd.DataFrame([{"site": "C", "region": "R",
                                             "cost_usd_m_per_mw_year": 1.0}])
    for frame in tables.values():
        frame.attrs = {}
    priced = siteopt.from_tables(inst.meta, tables)
    columns = ["site", "region", "class"]
    assert allowed_pairs(priced)[columns].equals(allowed_pairs(inst)[columns])
    result = siteopt.solve(priced)
    assert result.status == "optimal" and result.verified, result.violations
    assert result.objective == pytest.approx(220.0, abs=1e-6)
    assert set(result.tables["schedule"]["site"]) == {"A", "B"}
    served = result.tables["served"]
    (site,) = set(served.loc[served["serve_mw"] > 1e-9, "site"])  # A or B: a tie at cost 0
    assert site in {"A", "B"}  # an unpriced pair
    # the checker re-serves its 8 MW on the other, unpriced, site: 8 MW lost, 8 MW moved
    facts = Facts(priced, result.tables, None)
    assert Resil(facts).outage_flow(site, 2030, {"cloud"}, None) == pytest.approx((8.0, 8.0))
