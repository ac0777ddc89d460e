"""`siteopt alternatives`: verified, within the cost slack, apart, deterministic for a seed."""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest

import siteopt
from siteopt.decide.alternatives import hamming, near_optimal_plans
from tests.conftest import TINY
from tests.test_value import run_cli, two_sites


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gen") / "tiny"
    siteopt.generate_instance(siteopt.GeneratorSpec(sites=5, regions=10, years=3, seed=0),
                              folder)
    return siteopt.load_instance(folder)


def _check(rep, slack, min_distance):
    cap = rep.optimum * (1 + slack)
    assert rep.plans[0].id == "optimum"
    for p in rep.plans:
        assert p.result.verified, p.result.violations
        assert p.result.total_cost <= cap + 1e-6 * cap
    for a, b in itertools.combinations(rep.plans, 2):
        assert hamming(a.ones, b.ones) >= min_distance, (a.id, b.id)
    assert rep.table["pct_over_optimum"].max() <= 100 * slack + 1e-6


def test_alternatives_are_verified_cheap_enough_apart_and_deterministic(generated):
    rep = near_optimal_plans(generated, slack=0.05, count=3, seed=7, min_distance=3)
    assert len(rep.plans) == 4, rep.stopped
    _check(rep, 0.05, 3)
    again = near_optimal_plans(generated, slack=0.05, count=3, seed=7, min_distance=3)
    assert [p.ones for p in again.plans] == [p.ones for p in rep.plans]
    pd.testing.assert_frame_equal(again.table.drop(columns="seconds"),
                                  rep.table.drop(columns="seconds"))
    # the table holds what a planner compares
    assert {"objective", "pct_over_optimum", "sites", "min_distance"} <= set(rep.table.columns)
    assert any(c.startswith("first_online.") for c in rep.table.columns)
    assert any(c.startswith("mw.") for c in rep.table.columns)
    assert any(c.startswith("cooling_mw.") for c in rep.table.columns)


def test_hand_solved_two_sites_has_exactly_one_alternative(tmp_path):
    # A (100) or B (150): within 60 % the only other plan is B; a second one does not exist
    inst = siteopt.load_instance(two_sites(tmp_path / "h", headroom_z=100))
    rep = near_optimal_plans(inst, slack=0.6, count=2)
    assert [p.result.total_cost for p in rep.plans] == pytest.approx([100.0, 150.0])
    assert "no further plan" in rep.stopped
    # within 10 % there is none
    assert len(near_optimal_plans(inst, slack=0.1, count=2).plans) == 1


def test_cli_writes_a_folder_per_plan(tmp_path, capsys):
    folder = two_sites(tmp_path / "h", headroom_z=100)
    out = tmp_path / "alt"
    assert run_cli(["alternatives", str(folder), "--slack", "0.6", "--count", "1",
                    "--workers", "0", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "near-optimal plans" in printed and "alt01" in printed
    table = pd.read_csv(out / "alternatives.csv")
    assert list(table["id"]) == ["optimum", "alt01"]
    assert list(table["objective"]) == pytest.approx([100.0, 150.0])
    for plan in ("optimum", "alt01"):
        assert (out / plan / "schedule.csv").is_file() and (out / plan / "summary.json").is_file()


@pytest.mark.parametrize("argv, code", [
    (["alternatives", str(TINY / "cheapest-site"), "--slack", "-0.1", "--workers", "0"], 2),
    (["alternatives", str(TINY / "cheapest-site"), "--count", "0", "--workers", "0"], 2),
    (["alternatives", str(TINY / "cheapest-site"), "--min-distance", "0", "--workers", "0"], 2),
    (["alternatives", str(TINY / "infeasible-capacity"), "--workers", "0"], 3),
    (["alternatives", str(TINY / "cheapest-site"), "--slack", "x"], 2),
    (["alternatives", str(TINY / "cheapest-site"), "--batch", "0", "--workers", "0"], 2),
])
def test_bad_input_exit_codes(argv, code, capsys):
    assert run_cli(argv) == code
    err = capsys.readouterr().err
    assert err.strip()
    option = next((a for a in argv if a.startswith("--") and a != "--workers"), None)
    if code == 2 and option:  # the message names the option given
        assert option in err


@pytest.mark.slow
def test_same_plans_on_a_local_dask_cluster(tmp_path):
    """The batch, not the workers, fixes the result: --workers 2 and 0 give the same plans."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    folder = tmp_path / "gen"
    siteopt.generate_instance(siteopt.GeneratorSpec(sites=5, regions=10, years=3, seed=0),
                              folder)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    tables = []
    for workers in ("0", "2"):
        out = tmp_path / f"alt{workers}"
        proc = subprocess.run([sys.executable, "-m", "siteopt", "alternatives", str(folder),
                               "--slack", "0.05", "--count", "2", "--seed", "3",
                               "--min-distance", "2", "--workers", workers, "--quiet",
                               "--out", str(out)], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        tables.append(pd.read_csv(out / "alternatives.csv").drop(columns="seconds"))
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_a_signal_during_the_optimum_stops_the_run(tmp_path, monkeypatch, capsys):
    from siteopt.decide import engine
    from tests.test_value import interrupted

    monkeypatch.setattr(engine, "solve_matrices", interrupted(engine.solve_matrices))
    out = tmp_path / "alt"
    assert run_cli(["alternatives", str(two_sites(tmp_path / "h", headroom_z=100)),
                    "--slack", "0.6", "--workers", "0", "--quiet", "--out", str(out)]) == 130
    assert not out.exists() and "stopped by SIGINT" in capsys.readouterr().err


def test_a_signal_during_a_search_in_this_process_stops_the_run(tmp_path, monkeypatch, capsys):
    """Before, a search stopped by Ctrl-C was judged like any other (its plan accepted, or
    "no further plan" printed) and the run went on, exit 0."""
    from siteopt.decide import alternatives
    from tests.test_value import interrupted

    monkeypatch.setattr(alternatives, "solve_matrices",
                        interrupted(alternatives.solve_matrices, 15))
    out = tmp_path / "alt"
    assert run_cli(["alternatives", str(two_sites(tmp_path / "h", headroom_z=100)),
                    "--slack", "0.6", "--workers", "0", "--quiet", "--out", str(out)]) == 143
    assert not out.exists() and "stopped by SIGTERM" in capsys.readouterr().err


def test_a_base_not_proven_optimal_is_not_called_the_optimum(tmp_path, monkeypatch, capsys):
    from siteopt.decide import engine
    from tests.test_value import time_limited_first

    monkeypatch.setattr(engine, "solve_matrices", time_limited_first(engine.solve_matrices, 20))
    out = tmp_path / "alt"
    assert run_cli(["alternatives", str(two_sites(tmp_path / "h", headroom_z=100)),
                    "--slack", "0.6", "--count", "1", "--workers", "0", "--quiet",
                    "--out", str(out)]) == 0
    words = "best plan found (time_limit, not proven optimal: gap 20.00%) USD 100.00 M"
    assert f"1 alternative(s) within 60% of the {words}" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["optimum_status"] == "time_limit"
    page = (out / "report.html").read_text(encoding="utf-8")
    assert words in page and "of the optimum USD" not in page


def test_a_rewrite_with_fewer_plans_leaves_no_plan_folder_of_the_earlier_run(tmp_path):
    rep = near_optimal_plans(siteopt.load_instance(two_sites(tmp_path / "h", headroom_z=100)),
                             slack=0.6, count=1)
    out = tmp_path / "alt"
    rep.write(out)
    assert (out / "alt01" / "summary.json").is_file()
    rep.plans = rep.plans[:1]
    rep.table = rep.table[rep.table["id"] == "optimum"]
    rep.write(out)
    assert sorted(p.name for p in out.iterdir()) == [
        "alternatives.csv", "distances.csv", "optimum", "summary.json"]
