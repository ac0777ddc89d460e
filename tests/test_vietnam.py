"""The bundled Vietnam 2026 instance: loads from the package, solves, and verifies."""

from __future__ import annotations

import pandas as pd

import siteopt
from siteopt.io.bundled import default_instance_path
from tests.conftest import VIETNAM


def test_default_instance_is_the_vietnam_folder():
    assert default_instance_path().resolve() == VIETNAM.resolve()
    inst = siteopt.load_instance()
    assert inst.meta.name == "vietnam-2026"
    names = " ".join(inst.table("sites")["name"])
    assert "Saigon Hi-Tech Park" in names and "Hoa Lac" in names


def test_every_row_carries_a_source_tag():
    inst = siteopt.load_instance()
    for name, table in inst.tables.items():
        if table.empty:
            continue
        assert "source" in table.columns, f"{name}.csv has no source column"
        tags = table["source"].astype(str).str.strip().str[0]
        assert tags.isin(["S", "D", "A"]).all(), f"{name}.csv has an untagged row"


def test_vietnam_plan_is_verified_within_a_time_limit():
    inst = siteopt.load_instance()
    result = siteopt.solve(inst, time_limit=45)
    assert result.has_plan and result.verified, result.violations
    assert result.gap is not None and result.gap < 0.02
    sched = result.tables["schedule"]
    committed = sched[sched["committed"]]
    assert not committed.empty
    # the Saigon Hi-Tech Park first phase is committed for 2027
    shtp = sched[(sched["site"] == "shtp")].sort_values("online_year")
    assert int(shtp.iloc[0]["online_year"]) == 2027
    power = result.tables["power"]
    assert (power["power_mw"] <= power["limit_mw"] + 1e-6).all()
    assert isinstance(result.tables["served"], pd.DataFrame)
