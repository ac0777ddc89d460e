"""Result columns say what they hold: schedule capex includes the cooling factor."""

from __future__ import annotations

import json
import re

import pytest

import siteopt
from siteopt.report.console import print_summary
from tests.conftest import REPO, TINY


@pytest.fixture(scope="module")
def cooling_class():
    inst = siteopt.load_instance(TINY / "cooling-class")
    return inst, siteopt.solve(inst)


def test_schedule_capex_is_named_with_its_cooling_factor(cooling_class):
    inst, result = cooling_class
    sched = result.tables["schedule"]
    assert "capex_usd_m" not in sched.columns  # phases.csv's capex_usd_m is before the factor
    phases = inst.table("phases").set_index(["site", "phase"])["capex_usd_m"]
    factor = inst.table("cooling").set_index("cooling")["capex_factor"]
    for r in sched.itertuples(index=False):
        assert r.capex_with_cooling_usd_m == pytest.approx(
            phases[r.site, r.phase] * factor[r.cooling])
    assert (sched["cooling"] == "immersion").any()  # the factor 1.2 is exercised


def test_readme_lists_the_schedule_columns(cooling_class):
    _, result = cooling_class
    line = next(x for x in (REPO / "README.md").read_text().splitlines()
                if x.startswith("| `schedule.csv` |"))
    named = [c for c in re.findall(r"\b([a-z_]+)\b", line.split("|")[2])
             if c in result.tables["schedule"].columns]
    assert set(named) == set(result.tables["schedule"].columns)


def test_console_prints_the_schedule(cooling_class):
    from io import StringIO

    from rich.console import Console

    inst, result = cooling_class
    out = StringIO()
    print_summary(result, inst, Console(file=out, width=200))
    assert "capex with cooling" in out.getvalue()


def test_readme_names_every_key_of_summary_json(cooling_class, tmp_path):
    """A reader looking up a key of summary.json finds it in the README's file table."""
    _, result = cooling_class
    siteopt.write_result(result, tmp_path / "out")
    keys = json.loads((tmp_path / "out" / "summary.json").read_text())
    line = next(x for x in (REPO / "README.md").read_text().splitlines()
                if x.startswith("| `summary.json` |"))
    named = set(re.findall(r"`([a-z_]+)`", line))
    assert set(keys) <= named, f"README's summary.json row lacks {sorted(set(keys) - named)}"
