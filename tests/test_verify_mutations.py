"""Mutation test of `siteopt verify`: one edited cell (or row) of a solved result folder.

Each case edits a verified folder so that its plan is infeasible, its cost is changed or a
reported figure no longer follows from the plan and the instance, and asserts exit 1 with
a message that names what is wrong. The cases marked "survived" were accepted by verify
before the fix that now names them (found by editing every cell of solved folders in turn);
the others pin the kinds of edit the checker exists for. A message of a checker rule starts
with the result file it names a row of (`RULE_TABLES`), then the row's key and what is wrong.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from siteopt.cli.main import main
from tests.conftest import TINY

#: The tiny instances the cases edit results of (each solved once per module).
SOLVED = ("phase-timing", "grid-upgrade", "sponsor-budget", "cooling-class", "latency-target",
          "p-dispersion")


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for name in SOLVED:
        folder = tmp_path_factory.mktemp(name) / "out"
        assert main(["solve", str(TINY / name), "--out", str(folder), "--quiet",
                     "--no-report", "--time-limit", "60"]) == 0
        out[name] = folder
    return out


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def _write(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)


def cell(table: str, column: str, value: str, row: int = 0) -> Callable[[Path], None]:
    """Set one cell of `table`.csv (row 0 is the first data line)."""
    def edit(folder: Path) -> None:
        rows = _rows(folder / f"{table}.csv")
        rows[row + 1][rows[0].index(column)] = value
        _write(folder / f"{table}.csv", rows)
    return edit


def drop(table: str, row: int = 0) -> Callable[[Path], None]:
    """Delete one data line of `table`.csv."""
    def edit(folder: Path) -> None:
        rows = _rows(folder / f"{table}.csv")
        del rows[row + 1]
        _write(folder / f"{table}.csv", rows)
    return edit


def repeat(table: str, row: int = 0) -> Callable[[Path], None]:
    """Append a copy of one data line of `table`.csv."""
    def edit(folder: Path) -> None:
        rows = _rows(folder / f"{table}.csv")
        _write(folder / f"{table}.csv", [*rows, rows[row + 1]])
    return edit


def summary(key: str, value: object) -> Callable[[Path], None]:
    """Set one key of summary.json."""
    def edit(folder: Path) -> None:
        data = json.loads((folder / "summary.json").read_text())
        data[key] = value
        (folder / "summary.json").write_text(json.dumps(data))
    return edit


def both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    """Several edits of one folder, in turn."""
    def edit(folder: Path) -> None:
        for one in edits:
            one(folder)
    return edit


CASES = [
    # survived: a year's row dropped from costs.csv (here 2032, whose costs are all 0)
    ("phase-timing", drop("costs", 2), "costs.csv: costs 2032: no row for this horizon year"),
    # survived: a cost row for a year outside the horizon
    ("phase-timing", cell("costs", "year", "2033", 2),
     "costs.csv: costs 2033: a row for a year outside"),
    # survived: costs.csv with its only row dropped (an empty table was not checked)
    ("grid-upgrade", drop("costs"), "costs.csv: costs 2030: no row for this horizon year"),
    # survived: the reported demand beside unserved MW
    ("phase-timing", cell("unserved", "demand_mw", "6"),
     "unserved.csv line 2 (R/cloud/2030), column demand_mw: reported 6 != demand.csv's 5"),
    # survived: the bought upgrade's zone, MW and capex as reported
    ("grid-upgrade", cell("upgrades", "add_mw", "6"),
     "upgrades.csv line 2 (U1), column add_mw: reported 6 != the instance's 5"),
    ("grid-upgrade", cell("upgrades", "capex_usd_m", "19"),
     "upgrades.csv line 2 (U1), column capex_usd_m: reported 19 != the instance's 20"),
    ("grid-upgrade", cell("upgrades", "zone", "Q"),
     "upgrades.csv line 2 (U1), column zone: reported 'Q' != the instance's 'Z'"),
    # survived: a budget row's name (the name explain and the report cite)
    ("sponsor-budget", cell("budgets", "budget", "Y horizon"),
     "budgets.csv line 2 (Y horizon), column budget: reported 'Y horizon', expected "
     "'X horizon'"),
    # survived: summary.json's figures beside the objective
    ("phase-timing", summary("unserved_mw_years", 11.0),
     "summary.json unserved_mw_years: reported 11.0 != the sum of unserved.csv's unserved_mw 10"),
    ("phase-timing", summary("objective_name", "max_rtt"),
     "summary.json objective_name: reported 'max_rtt', the instance's siting.objective is "
     "'total_cost'"),
    # a lower bound above the plan's cost; for the maximized p-dispersion, an upper bound
    # below the plan's separation
    ("phase-timing", summary("bound", 600.0), "summary.json bound: reported 600.000000 lies "
     "above the objective 572.727273"),
    ("p-dispersion", summary("bound", 2.0), "summary.json bound: reported 2.000000 lies below "
     "the objective 3.000000"),
    # a phase online a year earlier than its 24-month lead allows
    ("phase-timing", cell("schedule", "online_year", "2031"),
     "schedule.csv: phase ('A', 'P1') online in 2031, before its earliest 2032"),
    # power above headroom: the upgrade that makes room removed
    ("grid-upgrade", drop("upgrades"),
     "power.csv: zone Z draws 15.000 facility MW in 2030, limit 10.000"),
    # a budget exceeded: the plan moved to the site of the sponsor whose budget is too small
    ("sponsor-budget", cell("schedule", "site", "A"), "budgets.csv: budget (sponsor X, year all)"),
    # service beyond the latency target: served from B (2.9 ms, target 2 ms)
    ("latency-target", cell("served", "site", "B"),
     "served.csv: site B serves R/cloud in 2030 at 2.900 ms, target 2.0 ms"),
    # cost columns altered
    ("grid-upgrade", cell("costs", "capex", "99"),
     "costs.csv: costs 2030 capex: reported 99.000000"),
    ("grid-upgrade", cell("schedule", "capex_with_cooling_usd_m", "1"),
     "reported capex_with_cooling_usd_m 1"),
    # totals not adding up
    ("grid-upgrade", cell("costs", "total", "1"), "costs.csv: costs 2030 total: reported 1.000000"),
    ("sponsor-budget", cell("budgets", "spend_usd_m", "5"), "reported spend_usd_m 5.0000"),
    # a site opened twice
    ("grid-upgrade", repeat("sites"), "sites.csv lines 2, 4: the same site A more than once"),
    # cooling mix inconsistent: 6 MW moved from immersion to air, loads still adding up, but
    # the 6 MW AI class may only run on immersion
    ("cooling-class", both(cell("capacity", "it_load_mw", "10", 0),
                           cell("capacity", "it_load_mw", "4", 1)),
     "capacity.csv: site A in 2030: classes cannot run on the coolings' loads "
     "(12.0000 of 14.0000 MW)"),
]


@pytest.mark.parametrize(("name", "edit", "named"), CASES,
                         ids=[f"{n}-{m[:40]}" for n, _e, m in CASES])
def test_edited_result_is_not_verified(results, tmp_path, capsys, name, edit, named):
    bad = tmp_path / "bad"
    shutil.copytree(results[name], bad)
    assert main(["verify", str(TINY / name), str(bad)]) == 0
    capsys.readouterr()
    edit(bad)
    assert main(["verify", str(TINY / name), str(bad)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert named in err


@pytest.mark.parametrize(("name", "bound"), [("phase-timing", 500.0), ("p-dispersion", 4.0)])
def test_a_bound_on_the_optimum_side_verifies(results, tmp_path, name, bound):
    """A minimized objective's bound below the plan's value, a maximized one's above it."""
    ok = tmp_path / "ok"
    shutil.copytree(results[name], ok)
    summary("bound", bound)(ok)
    assert main(["verify", str(TINY / name), str(ok)]) == 0
