"""Ctrl-C (SIGINT) and SIGTERM during a real solve: a complete, marked result or nothing;
during a local Dask cluster's start-up: exit 130 with one line.

The bundled Vietnam instance takes long enough (~10-30 s) to be stopped mid-solve: the test
waits for the progress line that shows a plan, then signals the `siteopt` process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from siteopt.cli.main import main
from siteopt.io import write as output
from siteopt.solver import pipeline as plan
from siteopt.solver.pipeline import RESULT_TABLES
from tests.conftest import PMED1, PMED1_OPTIMUM, REPO, TINY, after_master_solve


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "siteopt", *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_plan(proc: subprocess.Popen) -> bool:
    """Read stderr until a progress line shows a plan; False if the solve ended first.

    No deadline: however slow the machine, the solve either shows a plan or ends.
    """
    assert proc.stderr is not None
    return any("best plan" in line and "none yet" not in line for line in proc.stderr)


def _no_temporaries(parent: Path) -> None:
    assert not [p.name for p in parent.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_solve_keeps_the_best_plan_marked(sig, tmp_path):
    out = tmp_path / "r"
    proc = _start("solve", "--out", str(out))
    signalled = _wait_for_plan(proc)
    if signalled:
        proc.send_signal(sig)
    _stdout, stderr = proc.communicate(timeout=300)
    assert "Traceback" not in stderr
    if not signalled:  # the solve finished before a progress line: nothing to interrupt
        assert proc.returncode == 0
        return
    assert proc.returncode in (128 + sig, 0), stderr
    if proc.returncode == 0:  # the signal raced the end of the solve: a normal result
        assert json.loads((out / "summary.json").read_text())["status"] == "optimal"
        return
    # complete and marked, or absent: never half-written
    if out.exists():
        assert sorted(p.name for p in out.iterdir()) == sorted(
            [f"{t}.csv" for t in RESULT_TABLES] + ["summary.json"])
        summary = json.loads((out / "summary.json").read_text())
        assert summary["status"] == "interrupted"
        assert summary["interrupted_by"] == sig.name
        assert summary["verified"] is True
        objective, bound = summary["objective"], summary["bound"]
        assert bound <= objective + 1e-6
        assert summary["gap"] == pytest.approx((objective - bound) / abs(objective),
                                               rel=1e-6, abs=1e-9)
        assert f"stopped by {sig.name}" in stderr
    _no_temporaries(tmp_path)

    # a rerun into the same folder behaves as a fresh run
    proc = subprocess.run([sys.executable, "-m", "siteopt", "solve", str(TINY / "cheapest-site"),
                           "--out", str(out), "--quiet"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["interrupted_by"] is None
    assert summary["instance"] == "tiny-cheapest-site"
    _no_temporaries(tmp_path)


def _earlier_result(out: Path) -> dict[str, bytes]:
    assert main(["solve", str(TINY / "cheapest-site"), "--out", str(out), "--quiet"]) == 0
    return {p.name: p.read_bytes() for p in out.iterdir()}


def test_sigterm_before_the_solve_writes_nothing(tmp_path, monkeypatch, capsys):
    """SIGTERM while the model is being built: exit 143, the earlier results stay as they were."""
    out = tmp_path / "r"
    before = _earlier_result(out)
    real = plan.build_data

    def build_data_then_signal(inst):
        os.kill(os.getpid(), signal.SIGTERM)
        return real(inst)

    monkeypatch.setattr(plan, "build_data", build_data_then_signal)
    assert main(["solve", str(TINY / "cooling-class"), "--out", str(out)]) == 128 + 15
    assert "stopped by SIGTERM" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    _no_temporaries(tmp_path)


def test_sigint_while_writing_leaves_no_half_written_folder(tmp_path, monkeypatch, capsys):
    """Ctrl-C after the first result file is written: the folder is never swapped in."""
    out = tmp_path / "r"
    before = _earlier_result(out)
    real = output._write_csv
    calls = []

    def write_then_signal(frame, path):
        real(frame, path)
        calls.append(path)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(output, "_write_csv", write_then_signal)
    assert main(["solve", str(TINY / "cooling-class"), "--out", str(out), "--quiet"]) == 130
    assert len(calls) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    _no_temporaries(tmp_path)


def test_rerun_removes_what_a_killed_run_left(tmp_path):
    """A run killed outright (SIGKILL) leaves its hidden temporary folder; the next run into
    the same folder removes it, while a live process's temporary folder is left alone."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f".r.tmp-{int(dead.stdout)}-abc"
    stale.mkdir()
    (stale / "schedule.csv").write_text("half")
    live = tmp_path / f".r.tmp-{os.getpid()}-xyz"
    live.mkdir()
    out = tmp_path / "r"
    assert output.remove_stale_temporaries(out) == [stale]
    assert not stale.exists() and live.exists()


#: Runs the command line with a marker line on stderr as the local Dask cluster starts its
#: workers (distributed's own start-up step, wrapped), so that the test signals inside the
#: start-up instead of sleeping for a guessed time.
_MARKED_START = """
import sys
from distributed.deploy.spec import SpecCluster
real = SpecCluster._correct_state_internal
async def starting_workers(self):
    print("test-marker: workers starting", file=sys.stderr, flush=True)
    return await real(self)
SpecCluster._correct_state_internal = starting_workers
from siteopt.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("args", [
    ["sweep", "sweeps/tiny-grid.toml", "--workers", "2"],
    ["solve", "tests/data/stochastic-hedge", "--scenarios",
     "tests/data/stochastic-hedge/scenarios.toml", "--workers", "2"],
], ids=["sweep", "two-stage"])
def test_ctrl_c_while_the_local_cluster_starts_exits_130_without_atexit_traceback(args, tmp_path):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while the workers
    start: exit 130 and "stopped by SIGINT", no atexit traceback from distributed
    closing the half-started cluster at interpreter exit."""
    # run in tmp_path with a short --out, so that the message fits one line of the console
    proc = subprocess.Popen([sys.executable, "-c", _MARKED_START,
                             *[str(REPO / a) if "/" in a else a for a in args], "--out", "out"],
                            cwd=tmp_path, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "test-marker: workers starting" in line:
            os.killpg(proc.pid, signal.SIGINT)
            break
    _stdout, rest = proc.communicate(timeout=240)
    stderr = "".join(seen) + rest
    assert any("test-marker" in line for line in seen), stderr
    assert proc.returncode == 130, stderr
    said = [line for line in stderr.splitlines()
            if line.strip() and "test-marker" not in line and not _progress(line)]
    assert any(line.startswith("stopped by SIGINT") for line in said), stderr
    # what the fix guarantees: distributed no longer closes the half-started cluster again
    # at exit. A worker process still being spawned when the signal comes may print its own
    # traceback (multiprocessing unpickling a lock its parent already released; about 1 run
    # in 5 on a loaded machine), which this test tolerates and the closing note lists
    assert "atexit" not in stderr and "Task exception was never retrieved" not in stderr, stderr


def _progress(line: str) -> bool:
    """A start-up or progress line of sweep and two-stage solve (not a message)."""
    return line.startswith(("sweep ", "two-stage ")) or "local worker(s) ->" in line


@pytest.mark.parametrize("where", ["decide", "stochastic"])
def test_a_stop_right_after_the_cluster_started_closes_it(where, monkeypatch):
    """Ctrl-C after the pool's cluster started but before `with pool:` was entered: the
    pool closes the cluster itself (its __exit__ never runs)."""
    import contextlib

    from siteopt.decide import engine
    from siteopt.stochastic import pool as scenario_pool

    module = engine if where == "decide" else scenario_pool
    closed = []

    @contextlib.contextmanager
    def started(_workers, _scheduler):
        try:
            yield object()
        finally:
            closed.append(True)

    def interrupted(_client, _value):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "dask_client", started)
    monkeypatch.setattr(module, "share", interrupted)
    pool = (engine.Pool(object(), workers=2) if where == "decide"  # type: ignore[arg-type]
            else scenario_pool.ScenarioPool([object()], workers=2))  # type: ignore[list-item]
    with pytest.raises(KeyboardInterrupt), pool:
        pass
    assert closed == [True]


@pytest.mark.parametrize("rounds", [1, 2])
def test_ctrl_c_in_benders_lp_rounds_keeps_the_rounded_lp_plan(rounds, tmp_path, monkeypatch,
                                                                capsys):
    """`solve --method benders` on pmed1, Ctrl-C (SIGINT to this process) right after LP cut
    round `rounds`: the last LP optimum, rounded and improved by local search, is the best
    plan found; it is checked, written marked `interrupted` with the LP bound and its gap,
    and the exit code is 130. It used to end without a plan ('nothing written')."""
    from siteopt.io.orlib import import_orlib
    from siteopt.solver.polish import relative_gap

    folder = import_orlib("orlib-pmed", PMED1, tmp_path / "pmed1")
    after_master_solve(monkeypatch, rounds, lambda: os.kill(os.getpid(), signal.SIGINT))
    out = tmp_path / "r"
    assert main(["solve", str(folder), "--method", "benders", "--out", str(out),
                 "--quiet"]) == 130
    err = " ".join(capsys.readouterr().err.split())
    assert "stopped by SIGINT: best plan found so far" in err and "verified" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["interrupted_by"] == "SIGINT"
    assert summary["verified"] is True
    objective, bound = summary["objective"], summary["bound"]
    assert bound <= PMED1_OPTIMUM + 1e-6 <= objective + 2e-6
    assert summary["gap"] == pytest.approx(relative_gap(objective, bound))
    lp, milp = summary["method"]["phases"][:2]
    assert lp["rounds"] == rounds and milp["rounds"] == 0
    assert lp["heuristic"] == pytest.approx(objective)
    _no_temporaries(tmp_path)


def test_ctrl_c_before_benders_first_lp_optimum_says_there_is_no_plan(tmp_path, monkeypatch,
                                                                       capsys):
    """Ctrl-C during the first LP round, which HiGHS then ends without an optimum: no LP
    point, so no plan to round; exit 130, the message says so, nothing is written."""
    from siteopt.io.orlib import import_orlib
    from siteopt.solver import benders as benders_module

    folder = import_orlib("orlib-pmed", PMED1, tmp_path / "pmed1")

    def ctrl_c_mid_solve(self, time_limit, gap):
        os.kill(os.getpid(), signal.SIGINT)
        return "Interrupted by user", None, float("nan"), 0  # as a cancelled HiGHS run

    monkeypatch.setattr(benders_module._Master, "solve", ctrl_c_mid_solve)
    out = tmp_path / "r"
    assert main(["solve", str(folder), "--method", "benders", "--out", str(out),
                 "--quiet"]) == 130
    err = " ".join(capsys.readouterr().err.split())
    assert "stopped by SIGINT before a verified plan was found; nothing written" in err
    assert not out.exists()
    _no_temporaries(tmp_path)


def test_a_stopped_solve_says_its_objective_in_the_objectives_unit(monkeypatch, capsys):
    """A stopped p-center solve printed its worst round trip as "... USD M": the unit is the
    objective's (ms for max_rtt), as in the summary, not always money."""
    real = plan.solve

    def solve_then_stopped(inst, options):
        result = real(inst, options)
        result.status, result.interrupted_by = "interrupted", int(signal.SIGINT)
        return result

    monkeypatch.setattr(plan, "solve", solve_then_stopped)
    assert main(["solve", str(TINY / "p-center"), "--no-report"]) == 130
    err = capsys.readouterr().err
    assert "best plan found so far, objective" in err
    assert "ms (worst served round trip)" in err and "USD" not in err
