"""The command line as a contract: what an output path may replace, which exit code a path
that cannot be written gives, and one wording for every numeric option.

Each test runs `python -m siteopt` (the real entry point) on the tiny instances.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from siteopt.errors import ExitCode
from tests.conftest import REPO, TINY
from tests.test_cli import run

CHEAPEST = TINY / "cheapest-site"
HEDGE = REPO / "tests" / "data" / "stochastic-hedge"
CAP = REPO / "tests" / "data" / "orlib" / "cap" / "cap94.txt"


def _files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_solve_out_refuses_to_replace_the_instance_folder(tmp_path):
    """`--out` naming the instance itself (or any folder of other files) used to delete it."""
    inst = tmp_path / "inst"
    shutil.copytree(CHEAPEST, inst)
    before = _files(inst)
    proc = run("solve", str(inst), "--out", str(inst), "--quiet")
    assert proc.returncode == ExitCode.BAD_INPUT, proc.stdout + proc.stderr
    assert "no summary.json" in proc.stderr and "Traceback" not in proc.stderr
    assert _files(inst) == before
    assert proc.stdout == ""  # refused before the solve, not after it


def test_two_stage_out_refuses_a_folder_of_other_files(tmp_path):
    keep = tmp_path / "notes"
    keep.mkdir()
    (keep / "mine.txt").write_text("keep me")
    proc = run("solve", str(HEDGE), "--scenarios", str(HEDGE / "scenarios.toml"), "--out",
               str(keep), "--quiet")
    assert proc.returncode == ExitCode.BAD_INPUT, proc.stderr
    assert _files(keep) == {"mine.txt": b"keep me"}


@pytest.mark.parametrize("command", ["solve", "value", "alternatives"])
def test_out_that_is_a_file_is_bad_input_and_kept(tmp_path, command):
    target = tmp_path / "results"
    target.write_text("not a folder")
    extra = [] if command == "solve" else ["--workers", "0"]
    proc = run(command, str(CHEAPEST), "--out", str(target), "--quiet", *extra)
    assert proc.returncode == ExitCode.BAD_INPUT, proc.stderr
    assert "an existing file" in proc.stderr
    assert target.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]  # no backup left


def test_solve_out_replaces_a_result_folder_and_fills_an_empty_one(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    assert run("solve", str(CHEAPEST), "--out", str(out), "--quiet").returncode == ExitCode.OK
    assert json.loads((out / "summary.json").read_text())["status"] == "optimal"
    assert run("solve", str(CHEAPEST), "--out", str(out), "--quiet").returncode == ExitCode.OK


def test_import_refuses_to_replace_a_folder_that_is_not_an_instance(tmp_path):
    keep = tmp_path / "notes"
    keep.mkdir()
    (keep / "mine.txt").write_text("keep me")
    proc = run("import", "orlib-cap", str(CAP), str(keep))
    assert proc.returncode == ExitCode.BAD_INPUT, proc.stderr
    assert "not an instance folder" in proc.stderr
    assert _files(keep) == {"mine.txt": b"keep me"}
    target = tmp_path / "file"
    target.write_text("x")
    assert run("import", "orlib-cap", str(CAP), str(target)).returncode == ExitCode.BAD_INPUT
    assert target.read_text() == "x"
    inst = tmp_path / "cap94"
    assert run("import", "orlib-cap", str(CAP), str(inst)).returncode == ExitCode.OK
    assert run("import", "orlib-cap", str(CAP), str(inst)).returncode == ExitCode.OK  # replaced


def _cases(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    under_file = tmp_path / "a-file"
    under_file.write_text("x")
    result = tmp_path / "r"
    assert run("solve", str(CHEAPEST), "--out", str(result), "--quiet",
               "--no-report").returncode == 0
    inst = str(CHEAPEST)
    return [
        ("--graphml", ["graph", inst, "--graphml", str(folder)]),
        ("--latency-csv", ["graph", inst, "--latency-csv", str(under_file / "lat.csv")]),
        ("--lp", ["export", inst, "--lp", str(folder)]),
        ("--mps", ["export", inst, "--mps", str(under_file / "m.mps")]),
        ("--out", ["report", str(result), "--out", str(folder)]),
        ("--junit", ["batch", inst, "--junit", str(folder)]),
        ("--record", ["batch", inst, "--record", str(under_file / "e.toml")]),
        ("--log", ["solve", inst, "--quiet", "--log", str(folder)]),
    ]


def test_output_files_that_cannot_be_written_are_bad_input_not_internal_errors(tmp_path):
    """A folder or a path under a file used to end in exit 1, "please report it" (or, for
    --log, exit 0 with no log); now exit 2 naming the option, before any work."""
    for flag, args in _cases(tmp_path):
        proc = run(*args)
        assert proc.returncode == ExitCode.BAD_INPUT, (args, proc.stderr)
        assert f"{flag}: expected" in proc.stderr and "internal error" not in proc.stderr
        assert proc.stdout == "", args  # refused before the work
    assert (tmp_path / "a-file").read_text() == "x"
    assert not any((tmp_path / "a-folder").iterdir())


NUMERIC = [
    # (command, option, bad value, the words of the message)
    ("solve", "--time-limit", "abc", "expected a number > 0, got abc"),
    ("solve", "--time-limit", "inf", "expected a number > 0, got inf"),
    ("explain", "--time-limit", "0", "expected a number > 0, got 0"),
    ("batch", "--gap", "nan", "expected a relative gap from 0 to 1, got nan"),
    ("solve", "--gap", "1.5", "expected a relative gap from 0 to 1, got 1.5"),
    ("value", "--time-limit", "0", "expected a number > 0, got 0"),
    ("value", "--gap", "-1", "expected a relative gap from 0 to 1, got -1"),
    ("value", "--max-seconds", "nan", "expected a number > 0, got nan"),
    ("value", "--latency-step", "-1", "expected a number >= 0, got -1"),
    ("value", "--max-curves", "-1", "expected a whole number from 0 to"),
    ("value", "--workers", "-1", "expected a whole number from 0 to 1024, got -1"),
    ("alternatives", "--time-limit", "nan", "expected a number > 0, got nan"),
    ("alternatives", "--slack", "inf", "expected a number >= 0, got inf"),
    ("alternatives", "--count", "0", "expected a whole number from 1 to"),
    ("alternatives", "--seed", "-1", "expected a whole number from 0 to"),
    ("alternatives", "--batch", "x", "expected a whole number from 1 to"),
    ("alternatives", "--workers", "1.5", "expected a whole number from 0 to 1024, got 1.5"),
    ("sweep", "--workers", "-1", "expected a whole number from 0 to 1024, got -1"),
    ("solve", "--workers", "-2", "expected a whole number from 0 to 1024, got -2"),
]


@pytest.mark.parametrize("command, option, value, words", NUMERIC,
                         ids=[f"{c} {o} {v}" for c, o, v, _ in NUMERIC])
def test_numeric_options_are_checked_alike_by_every_command(command, option, value, words):
    """value and alternatives checked theirs after loading the instance, with other words
    ("seconds > 0", "a gap >= 0"), accepted a negative --seed and inf; solve said
    "invalid _positive_float value"."""
    target = "spec.toml" if command == "sweep" else str(CHEAPEST)
    proc = run(command, target, option, value)
    assert proc.returncode == ExitCode.BAD_INPUT, proc.stderr
    assert f"siteopt: error: argument {option}: {words}" in proc.stderr, proc.stderr


@pytest.mark.slow  # a 6 s solve of the bundled instance
def test_solve_progress_in_a_log_is_a_line_per_30_seconds_not_per_second():
    """stderr is a pipe here, as in a CI log: a line per second was 3,600 lines an hour."""
    proc = run("solve", "--time-limit", "6", "--no-resilience-cost")  # the bundled instance
    assert proc.returncode == ExitCode.OK, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "solving" in line]
    assert len(lines) == 1, proc.stderr  # at 2 s; the next would be due at 32 s


def test_progress_printer_paces_an_hour_in_a_log(capsys):
    from siteopt.solver.highs import PROGRESS_EVERY_IN_LOG, _progress_printer

    show = _progress_printer(after=2.0)  # pytest's captured stderr is not a terminal
    for tenth in range(36_000):  # HiGHS's callback, ten times a second for an hour
        show(tenth / 10, 100.0, 90.0, 0.1, tenth)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 + int((3600 - 2) // PROGRESS_EVERY_IN_LOG)
    assert "solving    2.0s" in lines[0]


def test_batch_strict_without_expect_is_bad_input():
    """--strict judges the expected file's instances; without --expect it was ignored (exit 0)."""
    proc = run("batch", str(CHEAPEST), "--strict")
    assert proc.returncode == ExitCode.BAD_INPUT, proc.stdout + proc.stderr
    assert "--strict: expected --expect FILE with it" in proc.stderr
    assert proc.stdout == ""


def test_a_closed_stdout_is_the_shells_141_not_an_internal_error():
    """`siteopt schema | head -1` (or a solve piped to head): the reader leaves before the
    command prints; that was exit 1 'internal error: BrokenPipeError ... please report it'."""
    proc = subprocess.Popen([sys.executable, "-m", "siteopt", "schema"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert err == ""


@pytest.fixture
def unwritable(tmp_path):
    """A folder in which siteopt may not create anything (read-only to this process).

    As a user: a folder without write permission. As root, whom permissions do not stop:
    sysfs, which refuses new files to everyone. The probe proves the folder refuses.
    """
    import os
    import tempfile
    from pathlib import Path

    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
    else:
        folder = Path("/sys")
    try:
        os.rmdir(tempfile.mkdtemp(dir=folder))
    except OSError:
        yield folder
    else:
        pytest.skip(f"{folder} accepts new files here")
    if folder != Path("/sys"):
        folder.chmod(0o755)


def _unwritable_cases(place, result):
    inst = str(CHEAPEST)
    return [
        ("--out", ["report", str(result), "--out", str(place / "r.html")]),
        ("--out", ["solve", inst, "--quiet", "--out", str(place / "r")]),
        ("--log", ["solve", inst, "--quiet", "--log", str(place / "highs.log")]),
        ("--out", ["value", inst, "--workers", "0", "--quiet", "--out", str(place / "v")]),
        ("--out", ["alternatives", inst, "--workers", "0", "--quiet", "--out",
                   str(place / "a")]),
        ("--out", ["sweep", str(REPO / "sweeps" / "tiny-grid.toml"), "--workers", "0",
                   "--quiet", "--out", str(place / "s")]),
        ("--junit", ["batch", inst, "--junit", str(place / "j.xml")]),
        ("out", ["import", "orlib-cap", str(CAP), str(place / "cap94")]),
        ("out", ["generate", str(place / "g"), "--preset", "tiny"]),
    ]


def test_an_output_in_a_read_only_place_is_refused_before_the_work(tmp_path, unwritable):
    """`report --out` and `import` there ended in exit 1 ("internal error ... please report
    it"); `solve --log` exited 0 without a log; solve, value, alternatives, sweep, batch and
    generate did all their work before failing to write it. Now each exits 2 at once,
    naming the option and the path, and prints no result."""
    result = tmp_path / "r"
    assert run("solve", str(CHEAPEST), "--out", str(result), "--quiet",
               "--no-report").returncode == 0
    for flag, args in _unwritable_cases(unwritable, result):
        proc = run(*args)
        assert proc.returncode == ExitCode.BAD_INPUT, (args, proc.stderr)
        assert f"{flag}: expected a " in proc.stderr and "can create and write" in proc.stderr
        assert "internal error" not in proc.stderr, args
        assert proc.stdout == "", args  # refused before the work


def test_a_report_the_system_refuses_to_write_is_bad_input(tmp_path, monkeypatch, capsys):
    """A write that fails after the checks (the default RESULT_DIR/report.html in a read-only
    result folder, a full disk) was an internal error (exit 1)."""
    import siteopt.io.write
    from siteopt.cli.main import main

    result = tmp_path / "r"
    assert main(["solve", str(CHEAPEST), "--out", str(result), "--quiet",
                 "--no-report"]) == ExitCode.OK

    def refused(*args, dir=None, **kwargs):
        raise PermissionError(13, "Permission denied", str(dir))

    monkeypatch.setattr(siteopt.io.write.tempfile, "mkstemp", refused)
    capsys.readouterr()
    assert main(["report", str(result)]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "RESULT_DIR: expected a place siteopt can write the report to" in err
    assert "Permission denied" in err and "internal error" not in err


def test_sweep_out_refuses_a_folder_that_is_not_a_sweep(tmp_path):
    """`sweep --out INSTANCE` wrote results.parquet and scenarios/ among the instance's
    files; now the rule of `solve --out` holds: new, empty or a sweep folder (resumed)."""
    inst = tmp_path / "inst"
    shutil.copytree(CHEAPEST, inst)
    before = _files(inst)
    spec = tmp_path / "spec.toml"
    spec.write_text('instance = "inst"\n[grid]\n"demand.scale" = [1.0]\n')
    proc = run("sweep", str(spec), "--workers", "0", "--quiet", "--out", str(inst))
    assert proc.returncode == ExitCode.BAD_INPUT, proc.stderr
    assert "not a siteopt sweep folder (no results.parquet)" in proc.stderr
    assert _files(inst) == before and proc.stdout == ""
    out = tmp_path / "sweep"
    out.mkdir()  # empty: filled, then resumed
    for _ in range(2):
        proc = run("sweep", str(spec), "--workers", "0", "--quiet", "--out", str(out))
        assert proc.returncode == ExitCode.OK, proc.stderr
    assert "1 already done" in proc.stdout


def test_solve_prints_its_warnings_on_stderr_as_validate_does():
    """`solve` printed warnings among the plan on stdout, `validate` on stderr: a CI job that
    keeps stdout as the result got the warnings mixed in. Both now use stderr."""
    proc = run("solve", str(CHEAPEST), "--set", "service.unserved_penalty_usd_m_per_mw_year=5",
               "--no-report")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "warning: service.unserved_penalty_usd_m_per_mw_year is set" in proc.stderr
    assert "warning" not in proc.stdout and "Phase schedule" in proc.stdout


def test_a_two_stage_solve_prints_the_instances_warnings_on_stderr():
    """`solve --scenarios` printed none of the instance's warnings (a plain solve prints
    them): a penalty that is never used went unsaid."""
    proc = run("solve", str(HEDGE), "--scenarios", str(HEDGE / "scenarios.toml"), "--set",
               "service.allow_unserved=false", "--no-report", "--workers", "0")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "warning: service.unserved_penalty_usd_m_per_mw_year is set" in proc.stderr
    assert "warning" not in proc.stdout
