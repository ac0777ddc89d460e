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
