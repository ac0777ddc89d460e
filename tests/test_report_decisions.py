"""The HTML report of value and alternatives folders: what it draws is what the CSVs hold."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

import siteopt
from siteopt.decide.alternatives import near_optimal_plans
from siteopt.decide.value import value_of_inputs
from siteopt.errors import InputError
from siteopt.report.decisions import differences
from siteopt.report.html import write_report
from tests.conftest import TINY
from tests.test_cli import run
from tests.test_report import _figures
from tests.test_value import two_sites


@pytest.fixture(scope="module")
def value_folder(tmp_path_factory):
    """annual-budget: its 2030 budget binds, so there is a budget curve; grid-upgrade's zone
    headroom binds, so together they exercise both curves (two folders)."""
    out = tmp_path_factory.mktemp("value")
    inst = siteopt.load_instance(TINY / "annual-budget")
    value_of_inputs(inst, headroom_deltas=(10,), budget_deltas=(-50, 50, 100),
                    latency_step=None).write(out / "budget")
    inst = siteopt.load_instance(TINY / "grid-upgrade")
    value_of_inputs(inst, headroom_deltas=(10, 50), budget_deltas=(50,),
                    latency_step=None).write(out / "headroom")
    return out


@pytest.fixture(scope="module")
def alt_folder(tmp_path_factory):
    base = tmp_path_factory.mktemp("alt")
    inst = siteopt.load_instance(two_sites(base / "inst", headroom_z=100))
    return near_optimal_plans(inst, slack=0.6, count=2).write(base / "out")


def test_value_report_draws_every_curve_from_its_csv(value_folder):
    for name, key, step in (("budget", "budget", "delta_usd_m"),
                            ("headroom", "headroom", "delta_mw")):
        folder = value_folder / name
        page = write_report(folder).read_text(encoding="utf-8")
        figs = _figures(page)
        curve = next(f for k, f in figs.items() if k.startswith(f"fig-value-{key}-"))
        table = pd.read_csv(folder / f"{key}_values.csv")
        table = table[table["objective"].notna()]
        assert len(table) > 0
        # every computed point is drawn (plus the base plan at 0), none invented
        xs = sorted(x for t in curve["data"] for x in t["x"])
        assert xs == sorted([0.0] * len(curve["data"]) + list(table[step].astype(float)))
        ys = sorted(y for t in curve["data"] for y in t["y"])
        assert ys == pytest.approx(sorted([0.0] * len(curve["data"])
                                          + list(table["delta_objective"].astype(float))))
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["kind"] == "value" and summary["findings"]
        for line in summary["findings"]:  # the printed findings are on the page
            assert line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page
        # the base plan follows the values
        assert any(k.startswith("fig-timeline-") for k in figs)
        assert "-0.000" not in page


def test_value_folder_without_its_base_plan_still_renders(value_folder, tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(value_folder / "budget", folder)
    shutil.rmtree(folder / "base")
    page = write_report(folder).read_text(encoding="utf-8")
    assert "the base plan is not in this folder" in page
    assert "plan tables missing from this folder" in page
    base_finished = json.loads((folder / "summary.json").read_text())["base_finished_at"]
    assert f"solved {base_finished[:10]} {base_finished[11:16]} UTC" in page
    assert any(k.startswith("fig-value-budget-") for k in _figures(page))
    with pytest.raises(InputError, match="--scenario"):
        write_report(folder, scenario="x")


def test_alternatives_report_shows_the_plans_side_by_side(alt_folder):
    page = write_report(alt_folder).read_text(encoding="utf-8")
    figs = _figures(page)
    table = pd.read_csv(alt_folder / "alternatives.csv")
    cost = next(f for k, f in figs.items() if k.startswith("fig-alternatives-cost-"))
    assert cost["data"][0]["x"] == list(table["id"])
    assert cost["data"][0]["y"] == pytest.approx(list(table["pct_over_optimum"]))
    first = next(f for k, f in figs.items() if k.startswith("fig-alternatives-first-"))
    assert first["data"][0]["y"] == list(table["id"])
    assert "plan below is <b>optimum</b>" in page.replace("drawn below", "below")
    # the hand-solved pair: the alternative opens B instead of A
    lines = differences(table)
    assert len(lines) == 1 and "opens B" in lines[0] and "does not open A" in lines[0]
    assert "opens B" in page
    other = str(table["id"].iloc[1])
    page = write_report(alt_folder, scenario=other).read_text(encoding="utf-8")
    assert f"<b>{other}</b>" in page
    with pytest.raises(InputError, match="--scenario"):
        write_report(alt_folder, scenario="nope")


def test_cli_writes_the_reports_unless_told_not_to(tmp_path):
    proc = run("value", str(TINY / "grid-upgrade"), "--out", str(tmp_path / "v"),
               "--workers", "0", "--quiet", "--deltas", "10", "--latency-step", "0")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "v" / "report.html").is_file() and "report:" in proc.stdout
    proc = run("alternatives", str(TINY / "cheapest-site"), "--out", str(tmp_path / "a"),
               "--workers", "0", "--quiet", "--count", "1", "--no-report")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a" / "alternatives.csv").is_file()
    assert not (tmp_path / "a" / "report.html").exists()


@pytest.fixture(scope="module")
def two_stage_folder(tmp_path_factory):
    """The hand-derived hedge instance (tests/data/stochastic-hedge): EVPI 35, VSS 15."""
    from tests.conftest import REPO

    hedge = REPO / "tests" / "data" / "stochastic-hedge"
    result = siteopt.solve_stochastic(siteopt.load_instance(hedge), hedge / "scenarios.toml")
    return siteopt.write_stochastic(result, tmp_path_factory.mktemp("two") / "out")


def test_two_stage_report_shows_commitments_distribution_evpi_and_vss(two_stage_folder):
    page = write_report(two_stage_folder).read_text(encoding="utf-8")
    costs = pd.read_csv(two_stage_folder / "scenario_costs.csv")
    figs = _figures(page)
    dist = next(f for k, f in figs.items() if k.startswith("fig-stochastic-costs-"))
    mine = next(t for t in dist["data"] if t["meta"] == "stochastic-cost_usd_m")
    assert mine["x"] == list(costs["scenario"])
    assert mine["y"] == pytest.approx(list(costs["cost_usd_m"]))
    assert "USD 35.00 M" in page and "USD 15.00 M" in page  # EVPI, VSS
    commitments = pd.read_csv(two_stage_folder / "commitments.csv")
    assert f"Here-and-now commitments ({len(commitments)})" in page
    first = str(costs["scenario"].iloc[0])
    assert f"scenario <b>{first}</b>'s adapted plan" in page
    assert any(k.startswith("fig-timeline-") for k in figs)
    other = str(costs["scenario"].iloc[1])
    page = write_report(two_stage_folder, scenario=other).read_text(encoding="utf-8")
    assert f"scenario <b>{other}</b>'s adapted plan" in page
    with pytest.raises(InputError, match="--scenario"):
        write_report(two_stage_folder, scenario="nope")


def test_two_stage_report_does_not_hide_an_unproven_plan(two_stage_folder, tmp_path):
    """A decomposition stopped at a gap: its status, EVPI interval, notes and an infinite VSS
    are on the page, and the header does not call the page's plan optimal (its scenario
    folders say "optimal": each recourse was solved to optimality for fixed commitments)."""
    folder = tmp_path / "two"
    shutil.copytree(two_stage_folder, folder)
    summary = json.loads((folder / "summary.json").read_text())
    summary.update(status="gap", gap=0.4348, bound=65.0, objective=115.0, evpi=50.0,
                   evpi_interval=[0.0, 50.0], vss=None, eev=None, verified=False,
                   violations=["scenario low: zone Z draws 99 MW in 2030, limit 15"],
                   mean_value_plan_infeasible_in=["low"],
                   notes=["time limit reached after 1 candidates"],
                   finished_at="2031-05-06T07:08:09Z")
    (folder / "summary.json").write_text(json.dumps(summary))
    page = write_report(folder).read_text(encoding="utf-8")
    header = page[page.index("<header>"):page.index("</header>")]
    assert "status <b>optimal</b>" not in header
    assert "two-stage plan: gap" in header
    # solved: when the two-stage solve finished, not the drawn scenario's recourse solve
    assert "solved 2031-05-06 07:08 UTC" in header
    assert '<span class="bad">gap</span>' in page  # the status row of the facts
    assert "USD 50.00 M (true value in [USD 0.00 M, USD 50.00 M])" in page
    assert "infinite: the mean-value plan's commitments leave no feasible recourse in " \
           "scenario(s) low" in page
    assert '<span class="bad">False</span>' in page  # verified
    assert "time limit reached after 1 candidates" in page
    assert "violation: scenario low: zone Z draws 99 MW" in page


def test_two_stage_report_gives_the_vss_interval_the_gaps_allow(two_stage_folder, tmp_path):
    """A VSS of 44 that the solves' gaps make anything from 0 to 180 is shown with that
    interval; a proven VSS (lo = hi) without one."""
    folder = tmp_path / "two"
    shutil.copytree(two_stage_folder, folder)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["vss_interval"] == pytest.approx([15.0, 15.0])  # the hedge case, proven
    assert "USD 15.00 M (true value in" not in write_report(folder).read_text(encoding="utf-8")
    summary.update(status="gap", vss=44.0, vss_interval=[0.0, 180.0])
    (folder / "summary.json").write_text(json.dumps(summary))
    page = write_report(folder).read_text(encoding="utf-8")
    assert "USD 44.00 M (true value in [USD 0.00 M, USD 180.00 M])" in page


def test_two_stage_folder_without_a_plan_gets_a_report_that_says_so(two_stage_folder, tmp_path):
    """An infeasible two-stage solve writes no scenario folders (scenarios/ is empty); the
    report says there is no plan and why, instead of failing on the missing folder."""
    folder = tmp_path / "two"
    shutil.copytree(two_stage_folder, folder)
    shutil.rmtree(folder / "scenarios")
    (folder / "scenarios").mkdir()
    summary = json.loads((folder / "summary.json").read_text())
    summary.update(status="infeasible", objective=None, bound=None, gap=None, verified=False,
                   evpi=None, vss=None,
                   violations=["scenario high is infeasible even with perfect foresight"],
                   finished_at="2031-05-06T07:08:09Z")
    (folder / "summary.json").write_text(json.dumps(summary))
    page = write_report(folder).read_text(encoding="utf-8")
    assert "NO PLAN (infeasible)" in page and "solved 2031-05-06 07:08 UTC" in page
    assert ("why there is no plan: scenario high is infeasible even with perfect foresight"
            in page)
    assert "fig-timeline-" not in page
    assert "No scenario plan to draw." in page and "adapted plan; choose" not in page
