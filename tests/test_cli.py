"""The `siteopt` command through its real entry point (`python -m siteopt`)."""

from __future__ import annotations

import json
import subprocess
import sys

import networkx as nx
import pandas as pd
import pytest

from siteopt.errors import ExitCode
from tests.conftest import REPO, TINY


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siteopt", *args], capture_output=True,
                          text=True, cwd=cwd or REPO, timeout=600)


def test_solve_writes_summary_and_tables(tmp_path):
    out = tmp_path / "r"
    proc = run("solve", str(TINY / "cooling-class"), "--out", str(out))
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "verified" in proc.stdout and "Phase schedule" in proc.stdout
    assert "Traceback" not in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    for key in ("status", "objective", "bound", "gap", "verified", "solve_seconds",
                "instance_fingerprint", "versions", "model_size"):
        assert key in summary
    assert summary["status"] == "optimal" and summary["verified"] is True
    assert summary["objective"] == pytest.approx(234.892)
    assert summary["versions"]["highspy"]
    for table in ("schedule", "sites", "upgrades", "capacity", "power", "served", "unserved",
                  "costs"):
        assert (out / f"{table}.csv").is_file()
    served = pd.read_csv(out / "served.csv")
    assert {"site", "region", "class", "year", "serve_mw", "rtt_ms"} <= set(served.columns)
    assert not list(tmp_path.glob(".r.*"))


def test_rerun_replaces_results_atomically(tmp_path):
    out = tmp_path / "r"
    assert run("solve", str(TINY / "cheapest-site"), "--out", str(out), "--quiet").returncode == 0
    (out / "stale.txt").write_text("old")
    assert run("solve", str(TINY / "cheapest-site"), "--out", str(out), "--quiet").returncode == 0
    assert not (out / "stale.txt").exists()
    assert (out / "summary.json").is_file()


def test_set_override_changes_the_plan(tmp_path):
    # forbidding unserved demand in phase-timing is infeasible (nothing online before 2032)
    proc = run("solve", str(TINY / "phase-timing"), "--set", "service.allow_unserved=false",
               "--quiet")
    assert proc.returncode == ExitCode.INFEASIBLE
    proc = run("solve", str(TINY / "phase-timing"), "--set",
               "service.unserved_penalty_usd_m_per_mw_year=1", "--quiet", "--out",
               str(tmp_path / "r"))
    assert proc.returncode == ExitCode.OK
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["objective"] == pytest.approx(5 * (1 + 1 / 1.1 + 1 / 1.21))


def test_bad_set_key_is_bad_input():
    proc = run("solve", str(TINY / "cheapest-site"), "--set", "economics.nope=1")
    assert proc.returncode == ExitCode.BAD_INPUT
    assert "economics.discount_rate" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_usage_error_is_bad_input():
    proc = run("solve", "--gap", "-1")
    assert proc.returncode == ExitCode.BAD_INPUT


def test_missing_folder_is_bad_input():
    proc = run("validate", "no/such/folder")
    assert proc.returncode == ExitCode.BAD_INPUT
    assert "no such folder" in proc.stderr


def test_infeasible_exit_code(tmp_path):
    out = tmp_path / "r"
    proc = run("solve", str(TINY / "cheapest-site"), "--out", str(out), "--quiet")
    assert proc.returncode == ExitCode.OK
    proc = run("solve", str(TINY / "infeasible-capacity"), "--out", str(out))
    assert proc.returncode == ExitCode.INFEASIBLE
    # the earlier plan is replaced by a summary of this run, never left behind
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "infeasible" and summary["instance"] == "tiny-infeasible-capacity"
    assert "short by 10.00 IT MW" in summary["violations"][0]
    assert "10.00 of 20.00 IT MW cannot be served" in summary["violations"][-1]


def test_validate_and_graph(tmp_path):
    proc = run("validate", str(TINY / "latency-target"))
    assert proc.returncode == 0 and "valid" in proc.stdout
    gml = tmp_path / "g.graphml"
    lat = tmp_path / "lat.csv"
    proc = run("graph", str(TINY / "latency-target"), "--graphml", str(gml), "--latency-csv",
               str(lat))
    assert proc.returncode == 0, proc.stderr
    assert "1 connected component" in proc.stdout
    graph = nx.read_graphml(gml)
    assert set(graph.nodes) == {"a", "b", "hub", "city"}
    table = pd.read_csv(lat).set_index("site")
    assert table.at["A", "rtt_ms"] == pytest.approx(1.7)
    assert table.at["B", "rtt_ms"] == pytest.approx(2.9)
    assert table.at["B", "hops"] == 2


def test_export_lp_and_mps_round_trip(tmp_path):
    import highspy

    lp, mps = tmp_path / "m.lp", tmp_path / "m.mps"
    proc = run("export", str(TINY / "cooling-class"), "--lp", str(lp), "--mps", str(mps))
    assert proc.returncode == 0, proc.stderr
    for path in (lp, mps):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.readModel(str(path))
        h.run()
        assert h.getInfo().objective_function_value == pytest.approx(234.892)
    assert "it_load_capacity" in lp.read_text()


def test_export_needs_a_format():
    proc = run("export", str(TINY / "cheapest-site"))
    assert proc.returncode == ExitCode.BAD_INPUT


def test_schema_reference_is_up_to_date():
    proc = run("schema")
    assert proc.returncode == 0
    assert (REPO / "docs" / "instance-format.md").read_text() == proc.stdout


def test_time_limit_returns_the_best_plan_with_its_gap(tmp_path):
    # what 1 s achieves depends on the machine: each outcome is checked for what it must say
    out = tmp_path / "r"
    proc = run("solve", "--time-limit", "1", "--out", str(out), "--quiet")
    summary = json.loads((out / "summary.json").read_text())
    if proc.returncode == ExitCode.NO_PLAN:  # a loaded machine: no plan within 1 s
        assert summary["status"] == "no_plan"
        assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
        return
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert summary["verified"] is True
    assert summary["status"] in ("time_limit", "optimal")
    _assert_gap_matches(summary)


def _assert_gap_matches(summary: dict) -> None:
    """The reported gap is the relative distance between the plan and the bound."""
    objective, bound, gap = summary["objective"], summary["bound"], summary["gap"]
    assert bound <= objective + 1e-6
    assert gap == pytest.approx((objective - bound) / abs(objective), rel=1e-6, abs=1e-9)


def test_no_plan_within_limits_exit_code(tmp_path):
    out = tmp_path / "r"
    proc = run("solve", "--time-limit", "0.001", "--out", str(out))
    assert proc.returncode == ExitCode.NO_PLAN
    assert "No plan found" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]
    assert json.loads((out / "summary.json").read_text())["status"] == "no_plan"


def _stable(summary: dict) -> dict:
    """A summary without what measures time: stage timings, each method phase's seconds and
    when the solve finished."""
    out = {k: v for k, v in summary.items()
           if k not in ("timings_seconds", "solve_seconds", "finished_at")}
    method = out.get("method") or {}
    out["method"] = {**method, "phases": [{k: v for k, v in ph.items() if k != "seconds"}
                                          for ph in method.get("phases", [])]}
    return out


def test_results_are_byte_identical_across_runs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        assert run("solve", str(TINY / "cooling-class"), "--out", str(out),
                   "--quiet").returncode == 0
    for csv in sorted(a.glob("*.csv")):
        assert csv.read_bytes() == (b / csv.name).read_bytes(), csv.name
    sa = json.loads((a / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    assert _stable(sa) == _stable(sb)


_SOLVE_ALL = """
import sys
import siteopt
for name in sys.argv[2:]:
    inst = siteopt.load_instance(f"instances/tiny/{name}")
    siteopt.write_result(siteopt.solve(inst), f"{sys.argv[1]}/{name}")
"""


def test_results_are_byte_identical_under_other_hash_seeds(tmp_path):
    """Repeated runs in fresh processes with different string-hash seeds write the same
    bytes (timings aside): nothing written depends on set or dict hash order."""
    import os

    names = ["grid-upgrade", "annual-budget", "committed-phase", "service-cost",
             "existing-capacity", "phase-timing"]
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", _SOLVE_ALL, str(tmp_path / seed), *names],
                       cwd=REPO, env=env, check=True, timeout=600)
    for name in names:
        a, b = tmp_path / "1" / name, tmp_path / "2" / name
        for csv in sorted(a.glob("*.csv")):
            assert csv.read_bytes() == (b / csv.name).read_bytes(), (name, csv.name)
        sa, sb = (json.loads((d / "summary.json").read_text()) for d in (a, b))
        assert _stable(sa) == _stable(sb), name


def test_a_solver_failure_is_an_internal_error_not_a_time_limit(tmp_path, monkeypatch, capsys):
    """A solve that ends with status error (HiGHS failed) exits 1 and says the solver
    failed; only a limit without a plan is exit 4."""
    from dataclasses import replace

    from siteopt.cli.main import main
    from siteopt.solver import pipeline

    real = pipeline.solve

    def failed(inst, options=None, *args, **kwargs):
        result = real(inst, options, *args, **kwargs)
        return replace(result, status="error", objective=None, tables={},
                       solver_status="Solve error")

    monkeypatch.setattr(pipeline, "solve", failed)
    code = main(["solve", str(TINY / "cooling-class"), "--quiet"])
    assert code == ExitCode.INTERNAL_ERROR
    assert "The solver failed" in capsys.readouterr().err
