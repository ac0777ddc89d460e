"""power.csv's derated headroom is named `derated_headroom_mw`, never the input's `headroom_mw`.

The input `headroom.headroom_mw` (and `--set headroom[...].headroom_mw`) is the listed
headroom H; power.csv reports derate × H. A folder written before the rename (power.csv
with `headroom_mw`) is still drawn by `siteopt report` and refused by `siteopt verify` with
exit 2 naming the column, never a KeyError.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import siteopt
from siteopt.cli.main import main
from siteopt.io.write import write_result
from siteopt.report import plots
from siteopt.report.html import write_report
from tests.conftest import TINY

#: grid-upgrade's zone Z has derate 0.8 and a listed headroom of 12.5 MW; Z2 derate 1.0.
INSTANCE = TINY / "grid-upgrade"


def _expected(inst: siteopt.Instance) -> dict[tuple[str, int], float]:
    """derate × listed headroom per zone and year, from the instance's own tables."""
    derate = inst.table("zones").set_index("zone")["derate"]
    head = inst.table("headroom")
    return {(z, int(y)): float(derate[z]) * float(h) for z, y, h in
            head[["zone", "year", "headroom_mw"]].itertuples(index=False)}


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    inst = siteopt.load_instance(INSTANCE)
    result = siteopt.solve(inst, time_limit=60)
    assert result.verified
    return inst, write_result(result, tmp_path_factory.mktemp("power") / "plan")


@pytest.fixture
def old_folder(solved, tmp_path):
    """The solved folder as written before the rename: power.csv's header says headroom_mw."""
    import shutil

    old = tmp_path / "old"
    shutil.copytree(solved[1], old)
    text = (old / "power.csv").read_text()
    header, rest = text.split("\n", 1)
    assert "derated_headroom_mw" in header.split(",")
    (old / "power.csv").write_text(header.replace("derated_headroom_mw", "headroom_mw") + "\n"
                                   + rest)
    return old


def test_written_column_is_derate_times_listed_headroom(solved):
    inst, folder = solved
    power = pd.read_csv(folder / "power.csv")
    assert "headroom_mw" not in power.columns
    want = _expected(inst)
    got = {(z, int(y)): h for z, y, h in
           power[["zone", "year", "derated_headroom_mw"]].itertuples(index=False)}
    assert got == pytest.approx(want)
    listed = inst.table("headroom").set_index(["zone", "year"])["headroom_mw"]
    assert any(abs(got[k] - listed[k]) > 1.0 for k in got)  # a derate < 1 is exercised
    assert (power["limit_mw"] == power["derated_headroom_mw"] + power["upgrade_mw"]).all()


def test_override_of_listed_headroom_moves_the_derated_column_by_derate(tmp_path):
    inst = siteopt.apply_overrides(siteopt.load_instance(INSTANCE),
                                   {"headroom[zone=Z].headroom_mw": 20})
    result = siteopt.solve(inst, time_limit=60)
    power = result.tables["power"].set_index(["zone", "year"])
    assert power.at[("Z", 2030), "derated_headroom_mw"] == pytest.approx(0.8 * 20)


def test_report_draws_a_folder_written_before_the_rename(solved, old_folder):
    inst, _ = solved
    page = write_report(old_folder).read_text(encoding="utf-8")
    assert "power.csv predates a rename: headroom_mw read as derated_headroom_mw" in page
    figs = {m.group(1): json.loads(m.group(2).replace("<\\/", "</")) for m in re.finditer(
        r'<script type="application/json" id="(fig-[\w-]+)-data">(.*?)</script>', page, re.S)}
    grid = next(f for k, f in figs.items() if "grid" in k)
    levels = [t for t in grid["data"] if t.get("meta") == "derated_headroom_mw"]
    drawn = sorted(v for t in levels for v in t["y"] if v is not None)
    want = sorted(v for v in _expected(inst).values() for _ in range(2))  # both ends of a step
    assert drawn == pytest.approx(want)
    fig = plots.plot_power(old_folder)  # notebooks' matplotlib view of the same folder
    assert fig.axes


def test_verify_refuses_a_folder_written_before_the_rename(old_folder, capsys):
    assert main(["verify", str(INSTANCE), str(old_folder)]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert "power.csv, line 1, column 'headroom_mw'" in err
    assert "derated_headroom_mw" in err and "predates the rename" in err
    assert "solve the instance again" in err
    assert "KeyError" not in err and "internal error" not in err


def test_current_folder_verifies(solved):
    assert main(["verify", str(INSTANCE), str(solved[1])]) == 0
