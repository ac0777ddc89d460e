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
