"""Every way an instance is made goes through the same cell, key and cross-table rules."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import siteopt
from siteopt.checks.presolve import presolve_checks
from siteopt.errors import InputError
from tests.conftest import TINY


def _tables(name: str = "cheapest-site"):
    inst = siteopt.load_instance(TINY / name)
    return inst, {k: v.copy() for k, v in inst.tables.items()}


def test_presolve_reads_demand_columns_by_name_not_position():
    inst, tables = _tables()
    tables["demand"] = tables["demand"][["it_mw", "year", "class", "region"]]
    other = siteopt.from_tables(inst.meta, tables)
    assert [str(f) for f in presolve_checks(other)] == [str(f) for f in presolve_checks(inst)]
    assert siteopt.solve(other).objective == pytest.approx(siteopt.solve(inst).objective)


@pytest.mark.parametrize(("table", "column", "value", "expected"), [
    ("phases", "it_mw", -5.0,
     r"phases\.csv, line 2, column 'it_mw': expected a finite number >= 0"),
    ("phases", "capex_usd_m", math.nan, r"phases\.csv, line 3, column 'capex_usd_m': expected a "
     "value"),
    ("cooling", "pue", 0.2, r"cooling\.csv, line 2, column 'pue': expected a finite number "
     "from 1 to 5"),
])
def test_from_tables_applies_the_cell_rules(table, column, value, expected):
    inst, tables = _tables()
    row = 1 if (table, column) == ("phases", "capex_usd_m") else 0
    tables[table].loc[row, column] = value
    with pytest.raises(InputError, match=expected):
        siteopt.from_tables(inst.meta, tables)


def test_from_tables_rejects_duplicate_keys_by_row_position():
    inst, tables = _tables()
    demand = tables["demand"]
    tables["demand"] = pd.concat([demand, demand], ignore_index=True)
    tables["demand"].attrs = {}
    with pytest.raises(InputError, match=r"demand\.csv, line 3, column 'year': expected a "
                       r"unique \(region, class, year\); line 2 has the same"):
        siteopt.from_tables(inst.meta, tables)


def test_from_tables_in_any_column_order_equals_the_folder():
    inst, tables = _tables()
    shuffled = {k: v[list(reversed(v.columns))] for k, v in tables.items()}
    other = siteopt.from_tables(inst.meta.model_dump(), shuffled)
    for name, frame in inst.tables.items():
        pd.testing.assert_frame_equal(other.tables[name], frame, check_dtype=False)


def test_override_creating_a_duplicate_key_is_rejected():
    inst = siteopt.load_instance(TINY / "cheapest-site")
    with pytest.raises(InputError, match=r"phases\.csv, line 3, column 'phase': expected a "
                       "unique"):
        siteopt.apply_overrides(inst, {"phases[site=B].site": "A"})


def test_plan_of_a_bad_api_instance_is_never_verified():
    # before: from_tables took a negative it_mw, and the checker called the plan verified
    inst, tables = _tables()
    tables["phases"].loc[0, "it_mw"] = -10.0
    with pytest.raises(InputError):
        siteopt.from_tables(inst.meta, tables)


def test_self_loop_link_is_rejected_with_its_row():
    inst, tables = _tables()
    tables["links"] = pd.concat([tables["links"], pd.DataFrame(
        {"a": ["a"], "b": ["a"], "km": [5.0], "extra_rtt_ms": [0.0]})], ignore_index=True)
    tables["links"].attrs = {}
    with pytest.raises(InputError, match=r"links\.csv, line 4, column 'b': expected a link "
                       "between two different nodes"):
        siteopt.from_tables(inst.meta, tables)


def test_self_loop_link_in_a_folder_is_rejected(tiny_copy):
    folder = tiny_copy("cheapest-site")
    with (folder / "links.csv").open("a") as f:
        f.write("city,city,0\n")
    with pytest.raises(InputError, match=r"links\.csv, line 4, column 'b'"):
        siteopt.load_instance(folder)


@pytest.mark.parametrize("row, column, found", [
    ("city,a,120", "km", "city-a with km 120, extra_rtt_ms 0"),  # reversed, longer
    ("city,a,100,0.5", "extra_rtt_ms", "city-a with km 100, extra_rtt_ms 0.5"),
])
def test_a_link_given_twice_with_different_values_names_both_lines(tiny_copy, row, column,
                                                                    found):
    """links.csv `a,city,100` (line 2) and `city,a,120`: one undirected link, two lengths."""
    folder = tiny_copy("cheapest-site")
    (folder / "links.csv").write_text(f"a,b,km,extra_rtt_ms\na,city,100,\nb,city,300,\n{row}\n")
    with pytest.raises(InputError) as info:
        siteopt.load_instance(folder)
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.column, problem.found) == (
        "links.csv", 4, column, found)
    assert "line 2 has a-city with km 100, extra_rtt_ms 0" in problem.expected


def test_a_link_repeated_in_the_same_direction_is_a_duplicate_key(tiny_copy):
    folder = tiny_copy("cheapest-site")
    (folder / "links.csv").write_text("a,b,km\na,city,100\nb,city,300\na,city,120\n")
    with pytest.raises(InputError, match=r"links\.csv, line 4, column 'b': expected a unique "
                       r"\(a, b\); line 2 has the same"):
        siteopt.load_instance(folder)


def test_a_link_in_both_directions_with_the_same_values_is_one_link(tiny_copy):
    folder = tiny_copy("cheapest-site")
    before = siteopt.load_instance(folder).latency
    with (folder / "links.csv").open("a") as f:
        f.write("city,a,100\n")
    pd.testing.assert_frame_equal(siteopt.load_instance(folder).latency, before)


def test_contradictory_reversed_link_from_tables_is_rejected():
    inst, tables = _tables()
    tables["links"] = pd.concat([tables["links"], pd.DataFrame(
        {"a": ["city"], "b": ["b"], "km": [250.0], "extra_rtt_ms": [0.0]})], ignore_index=True)
    tables["links"].attrs = {}
    with pytest.raises(InputError, match=r"links\.csv, line 4, column 'km': expected one km "
                       r"and extra_rtt_ms per link \(links are undirected; line 3 has b-city"):
        siteopt.from_tables(inst.meta, tables)


def test_negative_km_from_tables_is_rejected():
    inst, tables = _tables()
    tables["links"].loc[0, "km"] = -1.0
    with pytest.raises(InputError, match=r"links\.csv, line 2, column 'km'"):
        siteopt.from_tables(inst.meta, tables)


@pytest.mark.parametrize("p", [0, 5])
def test_infeasible_site_count_is_one_validation_error_naming_siting_sites(p):
    inst = siteopt.load_instance(TINY / "p-median")
    with pytest.raises(InputError, match=r"instance\.toml, column 'siting\.sites'") as err:
        siteopt.apply_overrides(inst, {"siting.sites": p})
    assert err.value.exit_code == 2
    assert len(err.value.problems) == 1


def test_partial_service_costs_are_warned_once_with_count_and_examples():
    inst, tables = _tables("service-cost")
    assert not any("service_costs" in w for w in inst.warnings)
    tables["service_costs"] = tables["service_costs"].iloc[:1]
    warned = [w for w in siteopt.from_tables(inst.meta, tables).warnings if "service_costs" in w]
    assert warned == ["service_costs.csv prices 1 of the 2 allowed (site, region) pairs; the "
                      "other 1 are served at cost 0 (e.g. B->R)"]


@pytest.mark.parametrize("extra, column, found, expected", [
    ("B,A,1", None, None, None),  # both ways with the same km: one pair
    ("A,A,0", "b", "A", "a pair between two different sites (not A to itself)"),
    ("B,A,5", "km", "B-A with km 5",
     "one km per pair (site distances are undirected; line 2 has A-B with km 1)"),
])
def test_site_distances_pair_two_sites_with_one_km(tiny_copy, extra, column, found,
                                                   expected):
    """site_distances.csv `A,A,0` was ignored and `B,A,5` beside `A,B,1` silently replaced
    the 1 km (the last row won); both are now bad input naming the line, like links.csv."""
    folder = tiny_copy("p-dispersion")
    with (folder / "site_distances.csv").open("a") as f:
        f.write(extra + "\n")
    if column is None:
        siteopt.load_instance(folder)
        return
    with pytest.raises(InputError) as info:
        siteopt.load_instance(folder)
    (problem,) = info.value.problems
    assert (problem.file, problem.row, problem.column, problem.found) == (
        "site_distances.csv", 8, column, found)
    assert expected in problem.expected
