"""The override vocabulary: parsing, set/scale/add by id, validation, effect on optima."""

from __future__ import annotations

import pytest

import siteopt
from siteopt.data.overrides import TableOverride, apply_overrides, parse_assignments, parse_key
from siteopt.errors import ExitCode, InputError
from tests.conftest import TINY, VIETNAM
from tests.test_cli import run


@pytest.fixture(scope="module")
def vietnam():
    return siteopt.load_instance(VIETNAM)


def test_assignments_split_outside_brackets():
    got = parse_assignments(["demand[region=hanoi|north,class=ai].it_mw.add = 5",
                             "economics.discount_rate=0.08"])
    assert got == {"demand[region=hanoi|north,class=ai].it_mw.add": "5",
                   "economics.discount_rate": "0.08"}
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_assignments(["demand[region=hanoi].scale"])


def test_key_grammar():
    assert parse_key("economics.tariff_usd_per_mwh") == "economics.tariff_usd_per_mwh"
    ov = parse_key("demand.scale")
    assert ov == TableOverride("demand", (), "it_mw", "scale", "demand.scale")
    ov = parse_key("headroom[zone=a|b,year=2026..2028].headroom_mw.add")
    assert ov.filters == (("zone", ("a", "b")), ("year", ("2026..2028",)))
    assert (ov.column, ov.op) == ("headroom_mw", "add")
    assert parse_key("budgets[sponsor=,year=].max_capex_usd_m").filters == (
        ("sponsor", ()), ("year", ()))


@pytest.mark.parametrize(("key", "message"), [
    ("horizon.first_year", "economics.discount_rate"),
    ("nosuch.table", "TABLE one of sites"),
    ("demand.nope", "a column of demand: region, class, year, it_mw"),
    ("zones.scale", "no default quantity"),
    ("classes.cooling.scale", "numeric column"),
    ("demand[regio=hanoi].scale", "a column of demand"),
])
def test_bad_keys_say_what_was_expected(key, message):
    with pytest.raises(InputError, match=message):
        parse_key(key)


def test_scale_set_add_by_id(vietnam):
    inst = apply_overrides(vietnam, parse_assignments([
        "demand[region=hanoi|north].scale=1.5",
        "headroom[zone=hanoi_west,year=2026..2028].headroom_mw=70",
        "budgets[year=2028].scale=0.5",
        "budgets[sponsor=,year=].max_capex_usd_m.add=1000",
        "latency_targets[region=hanoi,class=sens].max_rtt_ms=10",
        "phases[site=shtp,phase=p4].cooling=air|dlc|immersion",
        "economics.tariff_usd_per_mwh=90",
    ]))
    old, new = vietnam.tables, inst.tables
    d0 = old["demand"].set_index(["region", "class", "year"])["it_mw"]
    d1 = new["demand"].set_index(["region", "class", "year"])["it_mw"]
    north = d0.index.get_level_values("region").isin(["hanoi", "north"])
    assert list(d1[north]) == pytest.approx(list(1.5 * d0[north]))
    assert (d1[~north] == d0[~north]).all()
    h = new["headroom"].set_index(["zone", "year"])["headroom_mw"]
    h0 = old["headroom"].set_index(["zone", "year"])["headroom_mw"]
    assert [h["hanoi_west", y] for y in (2026, 2027, 2028)] == [70, 70, 70]
    assert h["hanoi_west", 2029] == h0["hanoi_west", 2029]
    b = new["budgets"]
    assert b.loc[b["year"] == 2028, "max_capex_usd_m"].tolist() == [450.0]
    assert b.loc[(b["sponsor"] == "") & b["year"].isna(), "max_capex_usd_m"].tolist() == [7000.0]
    lat = new["latency_targets"].set_index(["region", "class"])["max_rtt_ms"]
    assert lat["hanoi", "sens"] == 10 and lat["hcmc", "sens"] == 3
    ph = new["phases"].set_index(["site", "phase"])["cooling"]
    assert ph["shtp", "p4"] == ("air", "dlc", "immersion") and ph["shtp", "p3"] == ("air",)
    assert inst.meta.economics.tariff_usd_per_mwh == 90
    # the base instance is untouched and the fingerprint names the change
    assert old["headroom"].set_index(["zone", "year"])["headroom_mw"].equals(h0)
    assert inst.fingerprint.startswith(vietnam.fingerprint + "+")


@pytest.mark.parametrize(("item", "message"), [
    ("demand[region=nowhere].scale=1", "region among the values of demand.csv"),
    ("demand[year=2020].scale=2", "year among the values"),
    ("demand.scale=x", "a finite number to scale by"),
    ("headroom.headroom_mw=-1", ">= 0"),
    ("headroom.headroom_mw.add=-1000", "a result that is a finite number >= 0"),
    ("phases[site=shtp].committed_year=2040", "within the horizon 2026-2035"),
    ("demand[region=ai_gpu,class=sens].scale=2", "filters matching at least one row"),
    ("phases[site=shtp,phase=p2].cooling=steam", "cooling"),
    ("phases[cooling=steam].scale=2", r"cooling among the values of phases.csv \(air, dlc"),
])
def test_bad_values_are_input_errors(vietnam, item, message):
    with pytest.raises(InputError, match=message):
        apply_overrides(vietnam, parse_assignments([item]))


def test_list_and_empty_filters(vietnam):
    # phases that may use immersion: Hoa Lac p1-p2, Da Nang p1-p3, Quynh Lap p1-p2
    inst = apply_overrides(vietnam, {"phases[cooling=immersion].capex_usd_m.scale": 2})
    old = vietnam.tables["phases"].set_index(["site", "phase"])["capex_usd_m"]
    new = inst.tables["phases"].set_index(["site", "phase"])["capex_usd_m"]
    doubled = sorted(k for k in old.index if new[k] != old[k])
    assert doubled == [("danang_htp", "p1"), ("danang_htp", "p2"), ("danang_htp", "p3"),
                       ("hoalac", "p1"), ("hoalac", "p2"), ("quynhlap", "p1"),
                       ("quynhlap", "p2")]
    assert all(new[k] == 2 * old[k] for k in doubled)
    # empty cells: the phases without a committed year
    inst = apply_overrides(vietnam, {"phases[committed_year=].lead_months.add": 12})
    ph = inst.tables["phases"]
    assert (ph.loc[ph["committed_year"].notna(), "lead_months"]
            == vietnam.tables["phases"].loc[ph["committed_year"].notna(), "lead_months"]).all()


def test_grid_headroom_override_moves_the_hand_derived_optimum():
    # tiny/grid-upgrade: site A (capex 100) draws 10 MW x PUE 1.5 = 15 facility MW from zone
    # Z (12.5 x derate 0.8 = 10 MW, +5 MW upgrade U1 for 20); site B costs 150.
    inst = siteopt.load_instance(TINY / "grid-upgrade")
    assert siteopt.solve(inst).objective == pytest.approx(120.0)
    # 1.5 x 12.5 x 0.8 = 15: A fits without the upgrade
    more = siteopt.solve(inst, overrides={"headroom[zone=Z].scale": 1.5})
    assert more.objective == pytest.approx(100.0) and more.tables["upgrades"].empty
    # 0.5 x 12.5 x 0.8 + 5 + 4 = 14 < 15: A cannot be powered, B is built
    less = siteopt.solve(inst, overrides={"headroom[zone=Z].headroom_mw.scale": 0.5})
    assert less.objective == pytest.approx(150.0)
    assert list(less.tables["schedule"]["site"]) == ["B"]


def test_cli_set_accepts_table_overrides(tmp_path):
    proc = run("solve", str(TINY / "latency-target"), "--set",
               "latency_targets[region=R].max_rtt_ms=3", "--quiet")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "objective 105" in proc.stdout  # B (100 + 5) is now within reach
    proc = run("solve", str(TINY / "latency-target"), "--set", "demand[region=X].scale=2")
    assert proc.returncode == ExitCode.BAD_INPUT
    assert "region among the values of demand.csv (R)" in proc.stderr


def test_help_documents_the_vocabulary():
    proc = run("solve", "--help")
    assert "TABLE[COL=ID,...].COLUMN=V" in proc.stdout
    assert "headroom[zone=,year=]" in proc.stdout and "scale = headroom_mw" in proc.stdout
    # README: "`siteopt solve --help` lists every key", the per-class resilience keys too
    for name in ("min_sites", "from_year", "distinct_zones", "min_km_apart", "n_minus_1_sites",
                 "n_minus_1_links"):
        assert f"resilience.CLASS.{name}:" in proc.stdout, name


def test_an_unknown_key_lists_the_per_class_keys_too():
    """The error for a key of no kind lists every kind, the resilience.CLASS keys included."""
    with pytest.raises(InputError) as info:
        parse_key("xyzq")
    (problem,) = info.value.problems
    assert "resilience.CLASS.n_minus_1_sites" in problem.expected
    assert "siting.sites" in problem.expected and "TABLE[COLUMN=ID" in problem.expected
