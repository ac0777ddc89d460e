"""The benchmark scripts' own logic, without measuring anything (benchmarks are not tests).

What is checked: every table of docs/benchmarks.md marked "Printed by `python
benchmarks/X.py ...`" is what that command prints from the committed CSV; HiGHS alone is
given the gap siteopt solved to; the scale table's `other` column holds no solver stage;
the scripts measure this checkout's siteopt; missing inputs are usage errors, not
tracebacks; a CSV is never appended to under another header; a measured run's timeout or
interrupt kills its whole process tree, and its peak memory is the tree's.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
import orlib  # noqa: E402
import pcenter_spopt  # noqa: E402
import scale  # noqa: E402
import solve_speed  # noqa: E402
import stochastic  # noqa: E402
import value  # noqa: E402

SCRIPTS = {"solve_speed": solve_speed, "scale": scale, "orlib": orlib,
           "pcenter_spopt": pcenter_spopt, "stochastic": stochastic, "value": value}

DOC = (REPO / "docs" / "benchmarks.md").read_text(encoding="utf-8")
MARKER = re.compile(r"Printed by\s+`python benchmarks/(\w+)\.py ([^`]*)`", re.IGNORECASE)


def _printed_tables() -> list[tuple[str, list[str], list[str]]]:
    """(script, arguments, the doc's table lines) for every marked table of the doc."""
    out = []
    for m in MARKER.finditer(DOC):
        lines = DOC[m.end():].split("\n")
        start = next(i for i, line in enumerate(lines) if line.startswith("|"))
        end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
        out.append((m.group(1), m.group(2).split(), lines[start:end]))
    return out


PRINTED = [pytest.param(*t, id=f"{t[0]} {' '.join(t[1])}") for t in _printed_tables()]


def _stdout_of(script: str, argv: list[str]) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert SCRIPTS[script].main(argv) == 0
    return buf.getvalue()


def test_the_doc_marks_its_tables():
    scripts = {s for s, _args, _table in _printed_tables()}
    assert {"solve_speed", "orlib", "pcenter_spopt", "stochastic", "value"} <= scripts


@pytest.mark.parametrize("script,argv,table", PRINTED)
def test_each_doc_table_is_what_its_command_prints(script, argv, table):
    printed = _stdout_of(script, argv).splitlines()
    at = printed.index(table[0])  # the header
    assert printed[at:at + len(table)] == table


def _completed(cmd: list[str], stdout: str = "") -> subprocess.CompletedProcess:
    return subprocess.CompletedProcess(cmd, 0, stdout, "")


def test_highs_alone_gets_the_gap_siteopt_solved_to(tmp_path, monkeypatch):
    # an OR-Library import asks for gap 0; a fixed 1e-4 would let HiGHS alone stop earlier
    folder = tmp_path / "pmed"
    folder.mkdir()
    (folder / "instance.toml").write_text("[solver]\ngap = 0.0\n")
    given: list[float] = []

    def fake_run(cmd, timeout):
        res = Path(cmd[cmd.index("--out") + 1])
        res.mkdir()
        (res / "summary.json").write_text(json.dumps({
            "status": "optimal", "verified": True, "objective": 1.0, "bound": 1.0,
            "gap": 0.0, "timings_seconds": {"solve": 1.0}, "model_size": {},
            "options": {"gap": 0.0}, "method": {"name": "highs", "phases": []}}))
        return _completed(cmd), 2.0, 2.0, 100.0

    def fake_highs(mps, time_limit, gap, timeout):
        given.append(gap)
        return harness.HighsAlone({"status": "Optimal", "objective": 1.0, "gap": 0.0,
                                   "read": 0.1, "solve": 1.0}, 0, 2.0, 2.0, 100.0)

    monkeypatch.setattr(solve_speed, "prepare", lambda case, work, orlib: folder)
    monkeypatch.setattr(solve_speed, "export_baseline", lambda *a: "test")
    monkeypatch.setattr(solve_speed, "run_measured", fake_run)
    monkeypatch.setattr(solve_speed, "highs_alone", fake_highs)
    case = solve_speed.Case("pmed10", "orlib-pmed", "pmed10.txt", 60)
    row = solve_speed.bench_one(case, "auto", tmp_path, tmp_path)
    assert given == [0.0]
    assert row["highs_status"] == "Optimal" and row["solve_speedup"] == 1.0


@pytest.mark.parametrize("toml,gap", [("[solver]\ngap = 0.0\n", 0.0), ("name = 'x'\n", 1e-4)])
def test_without_a_summary_highs_alone_gets_the_instance_gap(tmp_path, toml, gap):
    (tmp_path / "instance.toml").write_text(toml)
    assert solve_speed.solve_gap(None, tmp_path) == gap


def test_scale_counts_polish_as_a_stage_not_as_start_up(tmp_path, monkeypatch):
    timings = {"read": 0.5, "build": 1.0, "handoff": 0.5, "solve": 10.0, "polish": 4.0,
               "extract": 0.5, "verify": 0.5, "total": 17.0}

    def fake_run(cmd, timeout):
        res = Path(cmd[cmd.index("--out") + 1])
        res.mkdir()
        (res / "summary.json").write_text(json.dumps({
            "status": "optimal", "objective": 1.0, "gap": 0.0, "timings_seconds": timings,
            "model_size": {}, "options": {"gap": 1e-4}}))
        return _completed(cmd), 20.0, 20.0, 100.0

    monkeypatch.setattr(scale, "prepare", lambda case, work, orlib: tmp_path)
    monkeypatch.setattr(scale, "run_measured", fake_run)
    monkeypatch.setattr(scale, "export_mps", lambda folder, mps: None)
    monkeypatch.setattr(scale, "highs_alone", lambda *a, **k: harness.HighsAlone(
        {"status": "Optimal", "objective": 1.0, "gap": 0.0, "read": 0.1, "solve": 10.0},
        0, 11.0, 11.0, 100.0))
    row = scale.bench_one(scale.Case("gen-tiny", "generate", "tiny"), 60.0, tmp_path, tmp_path)
    assert row["t_polish"] == 4.0
    assert row["t_other"] == pytest.approx(20.0 - 17.0)


def test_n1_pruning_measures_this_checkout_not_an_installed_siteopt(tmp_path):
    # run from elsewhere without PYTHONPATH, as `python benchmarks/n1_pruning.py` would be
    code = (f"import sys; sys.path.insert(0, {str(BENCH)!r}); import n1_pruning, siteopt; "
            "print(siteopt.__file__)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve().is_relative_to(REPO.resolve())


@pytest.mark.parametrize("script,argv", [
    ("orlib", ["--only", "pmed1"]),
    ("solve_speed", ["--only", "pmed10"]),
    ("scale", ["--only", "pmed30"]),
    ("pcenter_spopt", ["--only", "pmed5-p33", "--spopt-python", sys.executable]),
])
def test_a_missing_orlib_folder_is_a_usage_error(script, argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        SCRIPTS[script].main([*argv, "--orlib", str(tmp_path / "none"),
                              "--out", str(tmp_path / "out.csv")])
    assert exit_.value.code == 2
    assert "--orlib" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()


def test_unknown_orlib_problems_are_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        orlib.main(["--only", "pmed99", "--orlib", str(tmp_path), "--out",
                    str(tmp_path / "out.csv")])
    assert exit_.value.code == 2
    assert "pmed99" in capsys.readouterr().err


def test_a_missing_spopt_python_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        pcenter_spopt.main(["--only", "sf-205x16", "--spopt-python", str(tmp_path / "python"),
                            "--out", str(tmp_path / "out.csv")])
    assert exit_.value.code == 2
    assert "--spopt-python" in capsys.readouterr().err


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_a_table_of_no_rows_is_a_usage_error(script, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        SCRIPTS[script].main(["--table", "--out", str(tmp_path / "missing.csv")])
    assert exit_.value.code == 2
    assert "no measured rows" in capsys.readouterr().err


def test_rows_past_the_end_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        solve_speed.main(["--table", "--rows", "20-99"])
    assert exit_.value.code == 2
    assert "has 21 rows" in capsys.readouterr().err


@pytest.mark.parametrize("spec,rows", [("1-3", [1, 2, 3]), ("13,14,16", [13, 14, 16]),
                                       ("2,5-6", [2, 5, 6])])
def test_row_lists(spec, rows):
    assert harness.parse_rows(spec) == rows


@pytest.mark.parametrize("spec", ["0-2", "3-1", "a", ""])
def test_bad_row_lists(spec):
    with pytest.raises(Exception, match="row"):
        harness.parse_rows(spec)


def test_append_row_refuses_a_file_of_other_columns(tmp_path):
    path = tmp_path / "r.csv"
    harness.append_row(path, {"a": 1, "b": 2}, ["a", "b"])
    harness.append_row(path, {"a": 3, "b": 4}, ["a", "b"])
    with pytest.raises(SystemExit, match="new --out"):
        harness.append_row(path, {"a": 5, "b": 6, "c": 7}, ["a", "b", "c"])
    assert harness.read_rows(path) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]


def test_a_failed_preparation_step_says_why(tmp_path):
    with pytest.raises(SystemExit, match=r"(?s)siteopt import failed.*readable file"):
        harness.run_checked(harness.siteopt_cmd("import", "orlib-pmed",
                                                str(tmp_path / "none.txt"),
                                                str(tmp_path / "x")), "siteopt import")


#: A process tree to measure: run as `tree.py FIFO MB`, it holds MB of memory and starts
#: itself again as a grandchild (same process group, no session of its own) that holds MB
#: too, writes its pid to FIFO and keeps FIFO open until it dies; both then block forever.
TREE = r"""
import os, signal, subprocess, sys
fifo, mb = sys.argv[1], int(sys.argv[2])
held = b"x" * (mb << 20)
if len(sys.argv) > 3:
    fd = os.open(fifo, os.O_WRONLY)
    os.write(fd, b"%d\n" % os.getpid())
    signal.pause()
subprocess.Popen([sys.executable, __file__, fifo, str(mb), "grandchild"]).wait()
"""

#: Longest wait for the grandchild to start or to die, seconds (a hang guard, not a timing).
PATIENCE = 60.0


def _tree(folder: Path, mb: int) -> tuple[list[str], int]:
    """The tree's command and the read end of its FIFO (opened before the tree starts)."""
    fifo = folder / "grandchild.fifo"
    os.mkfifo(fifo)
    script = folder / "tree.py"
    script.write_text(TREE)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    return [sys.executable, str(script), str(fifo), str(mb)], reader


def _grandchild_fate(reader: int) -> tuple[int, bool]:
    """The grandchild's pid and whether it is dead (its FIFO at end of file).

    A survivor is killed here, after the answer, so that a failing test leaves nothing behind.
    """
    try:
        ready, _, _ = select.select([reader], [], [], PATIENCE)
        assert ready, "the grandchild never started"
        pid = int(os.read(reader, 64).split()[0])
        ready, _, _ = select.select([reader], [], [], PATIENCE)
        dead = bool(ready) and os.read(reader, 64) == b""
    finally:
        os.close(reader)
    if not dead:
        os.kill(pid, signal.SIGKILL)
    return pid, dead


@pytest.fixture(scope="module")
def timed_out_tree(tmp_path_factory):
    """A tree of two processes of 100 MB each, measured with a 3 s timeout it cannot meet."""
    cmd, reader = _tree(tmp_path_factory.mktemp("tree"), 100)
    done, _wall, _cpu, peak = harness.run_measured(cmd, timeout=3.0)
    _pid, dead = _grandchild_fate(reader)
    return done, peak, dead


def test_a_timeout_kills_the_grandchildren_too(timed_out_tree):
    done, _peak, grandchild_dead = timed_out_tree
    assert grandchild_dead, "the grandchild outlived the timeout of its tree"
    assert done.returncode == -signal.SIGKILL
    assert "timeout" in done.stderr  # the row's status says why it has no result


def test_peak_memory_sums_the_process_tree(timed_out_tree):
    # child and grandchild hold 100 MB each at once: the tree's peak is above 200 MB, while
    # the largest single process (what os.wait4 alone reports) is just above 100 MB
    _done, peak, _dead = timed_out_tree
    assert peak > 200


def test_an_interrupt_kills_the_whole_tree(tmp_path, monkeypatch):
    # Ctrl-C reaches the benchmark script only (the case runs in its own session): the
    # harness must kill the case's tree itself, not leave a solve running in the background
    cmd, reader = _tree(tmp_path, 1)
    started: list[int] = []

    def interrupted_wait4(pid, options):
        ready, _, _ = select.select([reader], [], [], PATIENCE)
        assert ready, "the grandchild never started"
        started.append(pid)
        raise KeyboardInterrupt

    monkeypatch.setattr(harness.os, "wait4", interrupted_wait4)
    with pytest.raises(KeyboardInterrupt):
        harness.run_measured(cmd, timeout=PATIENCE)
    monkeypatch.undo()
    assert started
    _pid, dead = _grandchild_fate(reader)
    assert dead, "the grandchild outlived the interrupt"


def test_only_the_harness_starts_measured_processes():
    # one way to time a case and take its memory (the whole tree's) and to stop it
    for script in sorted(BENCH.glob("*.py")):
        if script.name == "harness.py":
            continue
        text = script.read_text(encoding="utf-8")
        for own in ("Popen(", "psutil", "wait4", "ru_maxrss", ".kill("):
            assert own not in text, f"{script.name} measures or stops a process itself ({own})"


@pytest.mark.parametrize("script", ["solve_speed", "orlib", "pcenter_spopt", "stochastic",
                                    "value"])
def test_every_table_takes_the_rows_the_doc_cites(script):
    printed = _stdout_of(script, ["--table", "--rows", "2"]).splitlines()
    body = [line for line in printed if line.startswith("| ") and "---|" not in line]
    assert len(body) == 2  # the header and the CSV's second row
    assert body[1] == [line for line in _stdout_of(script, ["--table"]).splitlines()
                       if line.startswith("| ")][2]


def test_the_value_table_is_the_table_alone():
    # the comparison of the two modes' folders is of the last run, not of the CSV's rows
    printed = _stdout_of("value", ["--table"]).strip().splitlines()
    assert printed[0].startswith("| instance |") and printed[-1].startswith("| ")


def test_value_runs_an_instance_named_relative_to_the_callers_folder(tmp_path, monkeypatch):
    # the runs start in the checkout: a relative folder must reach them resolved
    (tmp_path / "inst").mkdir()
    ran: list[list[str]] = []

    def fake_run(cmd, timeout):
        ran.append(cmd)
        if cmd[3] == "value":
            out = Path(cmd[cmd.index("--out") + 1])
            out.mkdir(parents=True)
            (out / "summary.json").write_text(json.dumps({
                "base_solve_seconds": 1.0, "re_solves": 0, "points": {"a": 1},
                "not_computed": 0, "all_verified": True}))
        return _completed(cmd), 1.0, 1.0, 100.0

    monkeypatch.setattr(value, "run_measured", fake_run)
    monkeypatch.setattr(value, "KEPT", tmp_path / "kept")
    monkeypatch.chdir(tmp_path)
    row = value.measure(Path("inst"), "screen", 2, 10.0, 10.0)
    assert [cmd[4] for cmd in ran] == [str(tmp_path / "inst")] * 2
    assert row["instance"] == "inst"


def test_a_failed_run_is_one_table_cell():
    proc = subprocess.CompletedProcess([], 1, "", "Traceback (most recent call last):\n"
                                       "  File 'x', line 1\nValueError: a | b\n")
    cell = harness.failure(proc)
    assert cell == "exit 1: Traceback (most recent call last): File 'x', line 1 ValueError: a / b"
    assert harness.failed({"highs_status": cell}) and not harness.failed({"status": "optimal"})


@pytest.mark.parametrize("script", ["scale", "solve_speed"])
@pytest.mark.parametrize("status,code", [("optimal", 0), ("exit 1: ImportError: x", 1)])
def test_a_failed_case_fails_the_run(script, status, code, tmp_path, monkeypatch):
    # CI runs the smallest case of each script: a case that crashed must not exit 0
    module = SCRIPTS[script]
    monkeypatch.setattr(module, "bench_one", lambda case, *a: {
        "instance": case.name, "method": "auto", "status": status})
    out = tmp_path / "out.csv"
    assert module.main(["--only", "gen-tiny", "--out", str(out)]) == code
    assert harness.read_rows(out)[0]["status"] == status


def test_handoff_fails_when_a_method_failed(tmp_path, monkeypatch):
    import handoff

    monkeypatch.setattr(handoff, "run_measured", lambda cmd, timeout: (
        subprocess.CompletedProcess(cmd, 1, "", "boom\n"), 1.0, 1.0, 10.0))
    assert handoff.main([str(tmp_path), "--methods", "siteopt"]) == 1


def test_a_one_mode_value_run_compares_no_folder_of_another_run(tmp_path, monkeypatch,
                                                                 capsys):
    # /tmp/siteopt-value-bench/no-screen of an earlier run (here: another instance, other
    # points) made a `--modes screen` run crash after writing its row
    for mode, points in (("screen", 3), ("no-screen", 405)):
        folder = tmp_path / mode
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps({"resolution_usd_m": 0.1}))
        for name in ("headroom_values.csv", "budget_values.csv", "site_cap_values.csv",
                     "latency_values.csv"):
            (folder / name).write_text("objective\n" + "1.0\n" * points)
    row = dict.fromkeys(value.FIELDS, 0)
    row.update(instance="tiny", mode="screen", screen_candidates="")
    monkeypatch.setattr(value, "KEPT", tmp_path)
    monkeypatch.setattr(value, "measure", lambda *a: row)
    assert value.main(["--modes", "screen", "--out", str(tmp_path / "value.csv")]) == 0
    assert "compare: only a run of both modes" in capsys.readouterr().out


def test_an_orlib_row_without_highs_alone_has_a_dash_for_its_memory():
    # --siteopt-only rows have no HiGHS-alone columns
    assert harness.read_rows(orlib.DEFAULT_OUT)[0]["highs_peak_mb"] == ""
    printed = _stdout_of("orlib", ["--table", "--rows", "1"]).strip().splitlines()
    assert printed[-1].endswith(" / – |")
