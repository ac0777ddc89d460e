"""`siteopt batch`: expected values, planted regressions, JUnit XML."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET

import pytest

from siteopt.errors import ExitCode, InputError
from siteopt.scenarios import batch as batch_module
from siteopt.scenarios.batch import (
    Defaults,
    Expected,
    expected_toml,
    judge,
    read_expected,
    run_batch,
)
from siteopt.solver.interrupt import Interrupted, cancel_on_signals
from tests.conftest import REPO, TINY


def batch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "siteopt", "batch", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=600)


#: The bundled tiny instances (every one has an expected value).
N_TINY = sum(1 for p in TINY.iterdir() if (p / "instance.toml").is_file())


def tiny_expectations(tmp_path, edit=None):
    """instances/expected.toml without the Vietnam entry (tests solve only tiny ones), its keys
    made relative to the copy's folder."""
    text = (REPO / "instances" / "expected.toml").read_text()
    data = tomllib.loads(text)
    assert "vietnam-2026" in data["instances"]
    head, _, _ = text.partition("[instances.vietnam-2026]")
    rel = os.path.relpath(TINY, tmp_path).replace(os.sep, "/")
    head = head.replace('[instances."tiny/', f'[instances."{rel}/')
    if edit:
        head = edit(head)
    path = tmp_path / "expected.toml"
    path.write_text(head)
    return path


def test_every_bundled_instance_has_an_expectation_with_a_reason():
    expect = read_expected(REPO / "instances" / "expected.toml")
    names = {f"tiny/{p.name}" for p in TINY.iterdir() if (p / "instance.toml").is_file()}
    assert set(expect.instances) == names | {"vietnam-2026"}
    assert all(e.reason for e in expect.instances.values())


def test_batch_passes_and_writes_junit(tmp_path):
    junit = tmp_path / "report.xml"
    proc = batch(str(TINY), "--expect", str(tiny_expectations(tmp_path)), "--junit", str(junit))
    assert proc.returncode == ExitCode.OK, proc.stdout + proc.stderr
    assert f"{N_TINY} passed, 0 failed" in proc.stdout
    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert suite.get("tests") == str(N_TINY) and suite.get("failures") == "0"
    assert suite.get("errors") == "0"
    names = [tc.get("name") for tc in suite.iter("testcase")]
    assert any(n.endswith("tiny/infeasible-capacity") for n in names)
    assert len(names) == N_TINY


def test_planted_regression_fails_with_junit_failure(tmp_path):
    expect = tiny_expectations(tmp_path, lambda t: t.replace("objective = 110.0",
                                                             "objective = 109.0"))
    junit = tmp_path / "report.xml"
    proc = batch(str(TINY), "--expect", str(expect), "--junit", str(junit))
    assert proc.returncode == ExitCode.REGRESSION
    assert f"{N_TINY - 1} passed, 1 failed" in proc.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("failures") == "1" and suite.get("tests") == str(N_TINY)
    failed = [tc for tc in suite.iter("testcase") if tc.find("failure") is not None]
    assert [tc.get("name").rsplit("/", 2)[-2:] for tc in failed] == [["tiny", "cheapest-site"]]
    message = failed[0].find("failure").get("message")
    assert "objective 110.000000 differs from expected 109.000000" in message


def test_status_regression_and_missing_entries_fail(tmp_path):
    # an instance without expectation fails, and with --strict an expectation without instance
    rel = os.path.relpath(TINY, tmp_path).replace(os.sep, "/")
    expect = tmp_path / "e.toml"
    expect.write_text(f'[instances."{rel}/cheapest-site"]\nstatus = "infeasible"\n'
                      f'[instances."{rel}/set-covering"]\nobjective = 12.0\n')
    proc = batch(str(TINY / "cheapest-site"), str(TINY / "phase-order"), "--expect",
                 str(expect), "--strict")
    assert proc.returncode == ExitCode.REGRESSION
    out = proc.stdout
    assert "status optimal, expected infeasible" in out
    assert "no expected values for this instance" in out
    assert "listed in the expected values but not among the instances solved" in out


def test_keys_match_in_any_spelling_of_the_folder_and_a_stale_entry_fails(tmp_path, capsys):
    """`./x/` named no folder: x failed with "no expected values" while its entry was
    skipped as "not among the paths given"; an entry naming no instance folder at all
    (renamed, deleted, misspelt) was skipped too, exit 0, on every run."""
    from siteopt.cli.main import main

    rel = os.path.relpath(TINY, tmp_path).replace(os.sep, "/")
    expect = tmp_path / "e.toml"
    expect.write_text(f'[instances."./{rel}/cheapest-site/"]\nobjective = 110.0\n'
                      f'[instances."{rel}//phase-order"]\nobjective = 60.0\n'
                      f'[instances."{rel}/cheapest-sight"]\nobjective = 110.0\n')
    junit = tmp_path / "j.xml"
    code = main(["batch", str(TINY / "cheapest-site"), str(TINY / "phase-order"),
                 "--expect", str(expect), "--junit", str(junit)])
    out = " ".join(capsys.readouterr().out.split())
    assert code == ExitCode.REGRESSION, out
    assert "2 passed, 1 failed" in out
    cases = {tc.get("name"): tc for tc in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {f"{rel}/cheapest-site", f"{rel}/phase-order", f"{rel}/cheapest-sight"}
    failure = cases[f"{rel}/cheapest-sight"].find("failure")
    assert failure is not None and "cheapest-sight is no instance folder (no instance.toml)" in (
        failure.get("message"))
    assert all(cases[f"{rel}/{n}"].find("failure") is None and cases[f"{rel}/{n}"].find(
        "skipped") is None for n in ("cheapest-site", "phase-order"))


def test_a_folder_named_twice_is_one_case(tmp_path, capsys):
    from siteopt.cli.main import main

    junit = tmp_path / "j.xml"
    assert main(["batch", str(TINY / "cheapest-site"), str(TINY / "cheapest-site") + "/",
                 "--junit", str(junit)]) == ExitCode.OK
    assert "1 passed, 0 failed" in capsys.readouterr().out
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("tests") == "1" and len(list(suite.iter("testcase"))) == 1


def test_two_keys_naming_one_folder_are_bad_input(tmp_path, capsys):
    from siteopt.cli.main import main

    expect = tmp_path / "e.toml"
    expect.write_text('[instances."tiny/a"]\nobjective = 1.0\n\n'
                      '[instances."./tiny/a/"]\nobjective = 2.0\n')
    out = tmp_path / "j.xml"
    assert main(["batch", str(TINY / "cheapest-site"), "--expect", str(expect),
                 "--junit", str(out)]) == ExitCode.BAD_INPUT
    err = " ".join(capsys.readouterr().err.split())
    assert (f"{expect}, line 4, column 'instances../tiny/a/': expected one entry per instance "
            "folder, found \"'tiny/a' and './tiny/a/' both name tiny/a\"") in err, err
    assert not out.exists()


def test_record_writes_a_baseline_that_passes(tmp_path):
    record = tmp_path / "baseline.toml"
    proc = batch(str(TINY / "cheapest-site"), str(TINY / "infeasible-capacity"), "--record",
                 str(record))
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert batch(str(TINY / "cheapest-site"), str(TINY / "infeasible-capacity"), "--expect",
                 str(record)).returncode == ExitCode.OK


def test_judge_tolerances():
    d = Defaults(rtol=1e-3, atol=0.0)
    exp = Expected(status="optimal", objective=1000.0)
    assert judge("x", "", "optimal", 1000.9, True, 0.0, exp, d, True).verdict == "pass"
    assert judge("x", "", "optimal", 1001.1, True, 0.0, exp, d, True).verdict == "fail"
    exp = Expected(status="optimal", objective=1000.0, atol=5.0, rtol=0.0)
    assert judge("x", "", "optimal", 1004.0, True, 0.0, exp, d, True).verdict == "pass"
    assert judge("x", "", "optimal", 1000.0, False, 0.0, exp, d, True).verdict == "error"


def test_bad_expected_file_is_bad_input(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text("[instances.a]\nobjectiv = 1\n")
    with pytest.raises(InputError, match="objectiv"):
        read_expected(path)
    proc = batch(str(TINY / "cheapest-site"), "--expect", str(path))
    assert proc.returncode == ExitCode.BAD_INPUT
    assert batch("no/such/folder").returncode == ExitCode.BAD_INPUT
    path.write_text("[instances.a]\ngap = 1.5\n")  # a relative gap, as solver.gap: 0 to 1
    with pytest.raises(InputError, match="gap"):
        read_expected(path)


def _same_name_twice(tmp_path):
    """Two folders whose instance.toml carry the same name."""
    for sub in ("a", "b"):
        shutil.copytree(TINY / "cheapest-site", tmp_path / "set" / sub)
    return tmp_path / "set"


def test_instances_are_keyed_by_folder_not_name(tmp_path):
    folders = _same_name_twice(tmp_path)
    expect = tmp_path / "e.toml"
    expect.write_text('[instances."set/a"]\nobjective = 110.0\n'
                      '[instances."set/b"]\nobjective = 999.0\n')
    cases = run_batch([folders], read_expected(expect), base=tmp_path)
    assert [(c.name, c.verdict) for c in cases] == [("set/a", "pass"), ("set/b", "fail")]


def test_record_round_trips_through_expect(tmp_path):
    folders = _same_name_twice(tmp_path)
    record = tmp_path / "baseline" / "expected.toml"
    record.parent.mkdir()
    cases = run_batch([folders, TINY / "infeasible-capacity"], base=record.parent)
    record.write_text(expected_toml(cases, base=record.parent))
    expect = read_expected(record)  # two instances of one name: two keys
    assert set(expect.instances) == {"../set/a", "../set/b",
                                     os.path.relpath(TINY / "infeasible-capacity",
                                                     record.parent).replace(os.sep, "/")}
    again = run_batch([folders, TINY / "infeasible-capacity"], expect, base=record.parent)
    assert [c.verdict for c in again] == ["pass"] * 3


def test_a_subset_of_the_expected_file_is_checked_others_skipped():
    expected = REPO / "instances" / "expected.toml"
    proc = batch(str(TINY / "cheapest-site"), "--expect", str(expected))
    assert proc.returncode == ExitCode.OK, proc.stdout + proc.stderr
    assert f"1 passed, 0 failed, {N_TINY} skipped" in proc.stdout
    strict = batch(str(TINY / "cheapest-site"), "--expect", str(expected), "--strict")
    assert strict.returncode == ExitCode.REGRESSION


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_during_a_solve_stops_the_batch(monkeypatch, signum):
    # HiGHS stops on the signal and returns an interrupted result: not a case to judge
    # (it passed without an expected status) but the user's stop of the whole batch
    real, solved = batch_module.solve, []

    def stopped_solve(inst, options):
        result = real(inst, options)
        solved.append(inst.meta.name)
        with cancel_on_signals(lambda: None) as received:
            os.kill(os.getpid(), signum)
        return dataclasses.replace(result, status="interrupted", interrupted_by=received[0])

    monkeypatch.setattr(batch_module, "solve", stopped_solve)
    seen = []
    with pytest.raises(Interrupted) as stop:
        run_batch([TINY / "cheapest-site", TINY / "phase-order"], on_case=seen.append)
    assert stop.value.exit_code == 128 + signum
    assert len(solved) == 1 and not seen
