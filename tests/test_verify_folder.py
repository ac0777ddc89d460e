"""`siteopt verify INSTANCE RESULT_DIR` re-checks a result folder on its own."""

from __future__ import annotations

import json

import pytest

from siteopt.cli.main import main
from tests.conftest import TINY

SETS = ["--set", "service.unserved_penalty_usd_m_per_mw_year=50", "--set", "demand.scale=1.1"]


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    out = tmp_path_factory.mktemp("r") / "out"
    assert main(["solve", str(TINY / "cheapest-site"), "--out", str(out), "--quiet", *SETS]) == 0
    return out


def test_summary_records_the_overrides_and_options(solved):
    summary = json.loads((solved / "summary.json").read_text())
    assert summary["overrides"] == [["service.unserved_penalty_usd_m_per_mw_year", "50"],
                                    ["demand.scale", "1.1"]]
    assert set(summary["options"]) >= {"time_limit", "gap", "threads", "seed"}


def test_result_folder_verifies_with_its_recorded_overrides(solved):
    assert main(["verify", str(TINY / "cheapest-site"), str(solved)]) == 0


def test_tampered_plan_exits_1_with_the_violations(solved, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(solved, bad)
    served = (bad / "served.csv").read_text().splitlines()
    head, row = served[0].split(","), served[1].split(",")
    row[head.index("serve_mw")] = "1"
    (bad / "served.csv").write_text("\n".join([served[0], ",".join(row), *served[2:]]) + "\n")
    assert main(["verify", str(TINY / "cheapest-site"), str(bad)]) == 1
    assert "demand R/cloud/2030" in capsys.readouterr().err


def test_other_instance_is_a_named_fingerprint_mismatch(solved, capsys):
    assert main(["verify", str(TINY / "service-cost"), str(solved)]) == 2
    assert "instance_fingerprint" in capsys.readouterr().err


def test_missing_file_exits_2(solved, tmp_path, capsys):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(solved, bad)
    (bad / "power.csv").unlink()
    assert main(["verify", str(TINY / "cheapest-site"), str(bad)]) == 2
    assert "power.csv" in capsys.readouterr().err


def test_repeated_override_key_applied_in_steps_has_one_fingerprint():
    import siteopt
    from siteopt.data.overrides import apply_recorded

    inst = siteopt.load_instance(TINY / "cheapest-site")
    twice = siteopt.apply_overrides(siteopt.apply_overrides(inst, {"demand.scale": 2}),
                                    {"demand.scale": 2})
    again = apply_recorded(inst, twice.overrides)
    assert again.fingerprint == twice.fingerprint
    assert again.table("demand")["it_mw"].tolist() == [32.0]


def _copy(solved, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(solved, bad)
    return bad


def _edit(path, column, value, row=0):
    import csv

    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    rows[row + 1][rows[0].index(column)] = value
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(rows)


@pytest.fixture(scope="module")
def budgeted(tmp_path_factory):
    out = tmp_path_factory.mktemp("b") / "out"
    assert main(["solve", str(TINY / "sponsor-budget"), "--out", str(out), "--quiet",
                 "--no-report"]) == 0
    return out


@pytest.mark.parametrize(("table", "column", "value", "named"), [
    ("budgets", "spend_usd_m", "5", "spend_usd_m"),
    ("schedule", "it_mw", "11", "column it_mw"),
    ("schedule", "decision_year", "2029", "column decision_year"),
    ("schedule", "committed", "True", "column committed"),
    ("sites", "zone", "Q", "column zone"),
    ("power", "slack_mw", "1", "column slack_mw"),
    # columns verify did not read (every one was rewritable without a violation)
    ("budgets", "binding", "True", "budgets.csv line 2 (X horizon), column binding"),
    ("power", "binding", "True", "power.csv line 2 (Z/2030), column binding"),
    ("sites", "name", "Alpha", "sites.csv line 2 (A), column name"),
    ("sites", "existing", "True", "sites.csv line 2 (A), column existing"),
    ("served", "max_rtt_ms", "5", "served.csv line 2 (B/R/cloud/2030), column max_rtt_ms"),
])
def test_edited_reported_column_is_named(budgeted, tmp_path, capsys, table, column, value,
                                         named):
    bad = _copy(budgeted, tmp_path)
    _edit(bad / f"{table}.csv", column, value)
    assert main(["verify", str(TINY / "sponsor-budget"), str(bad)]) == 1
    assert named in capsys.readouterr().err


@pytest.mark.parametrize("table", ["budgets", "capacity", "sites", "schedule"])
def test_repeated_row_is_named_with_its_lines(budgeted, tmp_path, capsys, table):
    bad = _copy(budgeted, tmp_path)
    path = bad / f"{table}.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[1]]) + "\n")
    assert main(["verify", str(TINY / "sponsor-budget"), str(bad)]) == 1
    assert f"{table}.csv lines 2, {len(lines) + 1}" in capsys.readouterr().err


def test_missing_budget_row_and_missing_budgets_file(budgeted, tmp_path, capsys):
    bad = _copy(budgeted, tmp_path)
    head = (bad / "budgets.csv").read_text().splitlines()[0]
    (bad / "budgets.csv").write_text(head + "\n")
    assert main(["verify", str(TINY / "sponsor-budget"), str(bad)]) == 1
    assert "no row for the instance's budget" in capsys.readouterr().err
    (bad / "budgets.csv").unlink()
    assert main(["verify", str(TINY / "sponsor-budget"), str(bad)]) == 2
    assert "budgets.csv" in capsys.readouterr().err


@pytest.mark.parametrize(("key", "value", "code", "named"), [
    ("total_cost", 999.0, 1, "total_cost"),
    ("status", "infeasible", 2, "status"),
    ("objective", None, 2, "objective"),
    ("objective", "abc", 2, "objective"),
    ("overrides", "demand.scale=2", 2, "overrides"),
])
def test_edited_summary_is_caught(budgeted, tmp_path, capsys, key, value, code, named):
    bad = _copy(budgeted, tmp_path)
    summary = json.loads((bad / "summary.json").read_text())
    summary[key] = value
    (bad / "summary.json").write_text(json.dumps(summary))
    assert main(["verify", str(TINY / "sponsor-budget"), str(bad)]) == code
    err = capsys.readouterr().err
    assert named in err
    assert "internal error" not in err


@pytest.mark.parametrize(("data", "where"), [
    (b'{\n "status": "optimal",\n "objective": }\n', "line 3"),
    (b'{\n "status": "\xff"\n}\n', "line 2"),
    (b"[1, 2]", "JSON object"),
])
def test_unreadable_summary_names_the_line(budgeted, tmp_path, capsys, data, where):
    bad = _copy(budgeted, tmp_path)
    (bad / "summary.json").write_bytes(data)
    assert main(["verify", str(TINY / "sponsor-budget"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert where in err
    assert "position" not in err and "char " not in err


@pytest.mark.parametrize(("name", "table", "column", "edit", "named"), [
    # a binding zone (slack 0 of 15 MW): the reported True verifies, False does not
    ("grid-upgrade", "power", "binding", "False", "column binding: reported False, expected "
     "True"),
    # a target of 2 ms: reported as is, and a changed or emptied target is named
    ("latency-target", "served", "max_rtt_ms", "3", "column max_rtt_ms: reported 3, "
     "expected 2"),
    ("latency-target", "served", "max_rtt_ms", "", "column max_rtt_ms: reported empty, "
     "expected 2"),
])
def test_binding_flags_and_targets_are_recomputed(tmp_path, capsys, name, table, column, edit,
                                                  named):
    """The true side of the recomputed columns: a folder whose flag is True (or whose target
    is set) verifies as written, and the edited copy is named."""
    out = tmp_path / "out"
    assert main(["solve", str(TINY / name), "--out", str(out), "--quiet", "--no-report"]) == 0
    assert main(["verify", str(TINY / name), str(out)]) == 0
    _edit(out / f"{table}.csv", column, edit)
    assert main(["verify", str(TINY / name), str(out)]) == 1
    assert named in capsys.readouterr().err


def _served_with(text):
    return lambda d: (d / "served.csv").write_text(text)


@pytest.mark.parametrize(("corrupt", "file", "where"), [
    # each of these was an "internal error" (exit 1, as if the plan were wrong)
    (_served_with(""), "served.csv", "line 1: expected a header line"),
    (lambda d: _edit(d / "served.csv", "serve_mw", "abc"), "served.csv",
     "line 2, column 'serve_mw': expected a finite number, found 'abc'"),
    (lambda d: _edit(d / "served.csv", "year", ""), "served.csv",
     "line 2, column 'year': expected a whole number, found ''"),
    (lambda d: _edit(d / "schedule.csv", "committed", "maybe"), "schedule.csv",
     "line 2, column 'committed': expected true or false, found 'maybe'"),
    (_served_with("site,region\nB,R\n"), "served.csv",
     "line 1, column 'serve_mw': expected a column 'serve_mw'"),
    (_served_with('site,region,class,year,serve_mw,rtt_ms\nB,R,cloud,2030,8,0.1\n'
                  '"B,R,cloud,2030,8,0.1\n'), "served.csv",
     'line 3: expected a closing quote (")'),
    (lambda d: (d / "power.csv").write_bytes(b"zone,year\n\xff\n"), "power.csv",
     "line 2, column 'zone': expected UTF-8 text"),
])
def test_a_malformed_result_table_is_bad_input_named_by_line(budgeted, tmp_path, capsys,
                                                             corrupt, file, where):
    from siteopt.errors import InputError
    from siteopt.verify.folder import verify_folder

    bad = _copy(budgeted, tmp_path)
    corrupt(bad)
    with pytest.raises(InputError) as info:
        verify_folder(TINY / "sponsor-budget", bad)
    assert f"{bad / file}, {where}" in str(info.value)
    assert main(["verify", str(TINY / "sponsor-budget"), str(bad)]) == 2
    assert "internal error" not in capsys.readouterr().err
