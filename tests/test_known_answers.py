"""Every tiny instance's hand-derived optimum (instances/tiny/README.md) is matched."""

from __future__ import annotations

import pytest

import siteopt
from tests.conftest import TINY

# name -> (objective USD M, {(site, phase): (cooling or None, online year)}, upgrades bought)
EXPECTED = {
    "cheapest-site": (110.0, {("A", "P1"): (None, 2030)}, set()),
    "latency-target": (130.0, {("A", "P1"): (None, 2030)}, set()),
    "phase-timing": (300 + 300 / 1.1, {("A", "P1"): (None, 2032)}, set()),
    "phase-order": (60.0, {("A", "P1"): (None, 2030), ("A", "P2"): (None, 2030)}, set()),
    "committed-phase": (47.0, {("A", "P1"): ("air", 2030), ("A", "P2"): (None, 2031)}, set()),
    "cooling-class": (234.892, None, set()),
    "grid-upgrade": (120.0, {("A", "P1"): (None, 2030)}, {"U1"}),
    "annual-budget": (600.0, {("A", "P1"): (None, 2031), ("A", "P2"): (None, 2031)}, set()),
    "sponsor-budget": (130.0, {("B", "P1"): (None, 2030)}, set()),
    "existing-capacity": (15.016, {}, set()),
    "service-cost": (34.0, {("A", "P1"): (None, 2030), ("B", "P1"): (None, 2030)}, set()),
    "energy-discount": (8.76, {}, set()),
    # resilience ([resilience.cloud]; variants in tests/test_resilience.py)
    "n1-site": (220.0, {("A", "P1"): (None, 2030), ("B", "P1"): (None, 2030)}, set()),
    "n1-link": (120.0, {("B", "P1"): (None, 2030)}, set()),
    "geo-zones": (210.0, {("A", "P1"): (None, 2030), ("B", "P1"): (None, 2030)}, set()),
}


def test_every_tiny_instance_has_an_expectation():
    folders = {p.name for p in TINY.iterdir() if p.is_dir()}
    assert folders == set(EXPECTED) | set(CLASSIC) | {"infeasible-capacity"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hand_derived_optimum(name):
    objective, schedule, upgrades = EXPECTED[name]
    result = siteopt.solve(siteopt.load_instance(TINY / name))
    assert result.status == "optimal"
    assert result.verified, result.violations
    assert result.objective == pytest.approx(objective, rel=1e-9, abs=1e-6)
    assert result.check is not None
    assert result.check.objective == pytest.approx(objective, rel=1e-9, abs=1e-6)
    sched = result.tables["schedule"]
    if schedule is not None:
        got = {(r.site, r.phase): (r.cooling, r.online_year) for r in sched.itertuples()}
        assert set(got) == set(schedule)
        for key, (cooling, year) in schedule.items():
            assert got[key][1] == year
            if cooling is not None:
                assert got[key][0] == cooling
    assert set(result.tables["upgrades"]["upgrade"]) == upgrades


def test_cooling_class_puts_ai_on_immersion():
    result = siteopt.solve(siteopt.load_instance(TINY / "cooling-class"))
    techs = sorted(result.tables["schedule"]["cooling"])
    assert techs == ["air", "immersion"]
    cap = result.tables["capacity"].set_index("cooling")
    assert cap.at["immersion", "it_load_mw"] == pytest.approx(10.0)
    assert cap.at["air", "it_load_mw"] == pytest.approx(4.0)


def test_unserved_is_reported_in_phase_timing():
    result = siteopt.solve(siteopt.load_instance(TINY / "phase-timing"))
    uns = result.tables["unserved"]
    assert list(uns["year"]) == [2030, 2031]
    assert list(uns["unserved_mw"]) == pytest.approx([5.0, 5.0])


def test_infeasible_instance_is_reported_infeasible():
    result = siteopt.solve(siteopt.load_instance(TINY / "infeasible-capacity"))
    assert result.status == "infeasible"
    assert not result.has_plan


def test_latency_of_the_pruned_pair():
    from siteopt.model.data import allowed_pairs

    pairs = allowed_pairs(siteopt.load_instance(TINY / "latency-target"))
    assert list(pairs["site"]) == ["A"]
    assert pairs["rtt_ms"].iloc[0] == pytest.approx(1.7)


def test_class_not_served_by_cooling_that_never_comes_online(tiny_copy):
    """Regression: a site whose only liquid phase cannot come online in the horizon must not
    serve AI load on its legacy plant (found while writing models/siteplan.md)."""
    folder = tiny_copy("cooling-class")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m,cooling,lead_months\n"
                                       "A,P1,10,100,immersion,24\n")
    (folder / "sites.csv").write_text("site,zone,node,existing_it_mw,existing_cooling\n"
                                      "A,Z,a,20,air\n")
    text = (folder / "instance.toml").read_text().replace("allow_unserved = false",
                                                          "allow_unserved = true")
    (folder / "instance.toml").write_text(text)
    result = siteopt.solve(siteopt.load_instance(folder))
    assert result.status == "optimal" and result.verified, result.violations
    uns = result.tables["unserved"]
    assert list(uns["class"]) == ["ai"]
    assert uns["unserved_mw"].sum() == pytest.approx(6.0)


# The classic objectives on the path a-b-c-d (lengths 1, 2, 4; demand 10 at a, 1 elsewhere;
# serving cost = distance), derived in instances/tiny/README.md:
# name -> (objective name, objective value, total_cost, sites open)
CLASSIC = {
    "p-median": ("total_cost", 4.0, 4.0, {"A", "D"}),
    "p-center": ("max_rtt", 1.0, 1.0, {"A", "C", "D"}),
    "max-covering": ("uncovered_mw", 1.0, 112.0, {"B"}),
    "set-covering": ("site_count", 2.0, 12.0, {"B", "D"}),
    # issue 16's toolbox (README "Location toolbox"): LSCP-B on a four-file instance,
    # p-dispersion on the path, single-source capacitated assignment
    "backup-cover": ("backup_uncovered_mw", 3.0, 0.0, {"A", "D"}),
    "p-dispersion": ("min_separation_km", 3.0, 1.0, {"A", "C", "D"}),
    "single-source": ("total_cost", 106.0, 106.0, {"A", "B"}),
}


@pytest.mark.parametrize("name", sorted(CLASSIC))
def test_classic_objective(name):
    objective_name, value, total_cost, opened = CLASSIC[name]
    result = siteopt.solve(siteopt.load_instance(TINY / name))
    assert result.status == "optimal"
    assert result.verified, result.violations
    assert result.objective_name == objective_name
    assert result.objective == pytest.approx(value, abs=1e-9)
    assert result.check is not None
    assert result.check.objective == pytest.approx(value, abs=1e-9)
    assert result.total_cost == pytest.approx(total_cost, abs=1e-9)
    sites = result.tables["sites"]
    assert set(sites.loc[sites["open_year"].notna(), "site"]) == opened


def test_p_center_without_the_limit_opens_every_useful_site():
    """With no p, the worst round trip is 0: every region is served at its own node."""
    inst = siteopt.load_instance(TINY / "p-center")
    result = siteopt.solve(inst, overrides={"siting.sites": ""})
    assert result.objective == pytest.approx(0.0)
    assert result.verified


def test_set_covering_with_a_looser_target_needs_one_site():
    """Within 5 ms, site B reaches a (1), c (2) and d (6 > 5: no); C reaches a (3), b (2),
    d (4): one site, C, covers everything."""
    inst = siteopt.load_instance(TINY / "set-covering")
    result = siteopt.solve(inst, overrides={"latency.max_rtt_ms": 5})
    assert result.objective == pytest.approx(1.0)
    sites = result.tables["sites"]
    assert set(sites.loc[sites["open_year"].notna(), "site"]) == {"C"}


@pytest.mark.parametrize("name", ["p-center", "set-covering"])
def test_p_center_and_set_covering_serve_all_demand_even_if_unserved_is_allowed(name):
    """Else serving nothing would be optimal: both classic problems require full service."""
    inst = siteopt.load_instance(TINY / name)
    result = siteopt.solve(inst, overrides={"service.allow_unserved": True})
    assert result.objective == pytest.approx(CLASSIC[name][1])
    assert result.tables["unserved"]["unserved_mw"].sum() == pytest.approx(0.0)


def test_site_count_beyond_the_sites_is_bad_input():
    from siteopt.errors import InputError

    inst = siteopt.load_instance(TINY / "p-median")
    with pytest.raises(InputError, match=r"siting\.sites"):
        siteopt.apply_overrides(inst, {"siting.sites": 5})


# Variants of the tiny instances where one term of models/siteplan.md decides the optimum;
# each expected value is the document's formula worked by hand (discount 10 % unless said).
# name -> (source folder, {file: new content}, {instance.toml text: replacement}, objective)
FORMULA_CASES = {
    # UY starts at y0 + ceil(24/12) = 2032; upgrade_capex spreads 22 over sigma(2032, 2) =
    # {2030, 2031}. P1 (lead 0) needs 1.5 x 10 = 15 facility MW > 10 of headroom, so 2031's
    # 8 MW go unserved (400 / 1.1); in 2032 P1 + U1 (100 / 1.21 + 11 + 11 / 1.1) beat the
    # penalty (400 / 1.21).
    "upgrade-online-mid-horizon": (
        "phase-timing",
        {"phases.csv": "site,phase,it_mw,capex_usd_m,lead_months\nA,P1,10,100,0\n",
         "headroom.csv": "zone,year,headroom_mw\nZ,2030,10\nZ,2031,10\nZ,2032,10\n",
         "upgrades.csv": "upgrade,zone,add_mw,capex_usd_m,lead_months\nU1,Z,5,22,24\n",
         "demand.csv": "region,class,year,it_mw\nR,cloud,2031,8\nR,cloud,2032,8\n"},
        {}, 400 / 1.1 + 11 + 11 / 1.1 + 100 / 1.1**2),
    # committed 2031 with a 24-month lead: sigma(2031, 2) = {2029, 2030}; the 2029 share is
    # sunk, the 2030 one (50) charged undiscounted; the site opens in 2031 (open cost 10 and
    # phase O&M 2, both / 1.1).
    "committed-phase-partly-sunk": (
        "committed-phase",
        {"phases.csv": "site,phase,it_mw,capex_usd_m,fixed_om_usd_m_per_year,cooling,"
                       "lead_months,committed_year\nA,P1,10,100,2,air,24,2031\n",
         "demand.csv": "region,class,year,it_mw\nR,cloud,2031,5\n"},
        {"[economics]": "[economics]\ndiscount_rate = 0.10"},
        50 + (10 + 2) / 1.1),
    # a 2030 budget of 50 holds the 2030 share (100 / 2) of P1's capex spread over {2030, 2031}:
    # the plan of `phase-timing` stays (300 + 300 / 1.1)
    "annual-budget-counts-the-spread-share": (
        "phase-timing", {"budgets.csv": "sponsor,year,max_capex_usd_m\n,2030,50\n"}, {},
        300 + 300 / 1.1),
    # ... and a budget just below it leaves 5 MW unserved in every year: 250 (1 + 1/1.1 + 1/1.21)
    "annual-budget-below-the-spread-share": (
        "phase-timing", {"budgets.csv": "sponsor,year,max_capex_usd_m\n,2030,49.9\n"}, {},
        250 * (1 + 1 / 1.1 + 1 / 1.1**2)),
    # e = pue h lambda tau gamma (1 + eps)^(y - y0) / 1e6: 10 MW x 1.2 x 8760 x 0.5 x 100 x 1.5
    # = 7.884 per year; escalation and discount (both 10 %) cancel: 2 x 7.884
    "energy-zone-tariff-and-pue": (
        "energy-discount",
        {"zones.csv": "zone,tariff_factor\nZ,1.5\n",
         "cooling.csv": "cooling,pue,buildable\nair,1.3,true\nlegacy,1.2,false\n"}, {},
        2 * 10 * 1.2 * 8760 * 0.5 * 100 * 1.5 / 1e6),
}


@pytest.mark.parametrize("name", sorted(FORMULA_CASES))
def test_formula_term_known_answer(name, tiny_copy):
    """The solved objective and the checker's both equal the hand computation of the formula."""
    source, files, toml, objective = FORMULA_CASES[name]
    folder = tiny_copy(source)
    for file, text in files.items():
        (folder / file).write_text(text)
    meta = (folder / "instance.toml").read_text()
    for old, new in toml.items():
        assert old in meta, f"{source}/instance.toml has no {old!r}"
        meta = meta.replace(old, new)
    (folder / "instance.toml").write_text(meta)
    result = siteopt.solve(siteopt.load_instance(folder))
    assert result.status == "optimal"
    assert result.verified, result.violations
    assert result.objective == pytest.approx(objective, rel=1e-9, abs=1e-6)
    assert result.check is not None
    assert result.check.objective == pytest.approx(objective, rel=1e-9, abs=1e-6)
