"""Every way an instance is made goes through the same cell, key and cross-table rules."""

from __future__ import annotations

import math

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
