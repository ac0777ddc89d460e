"""Sweep resume never mixes results of another siteopt or formulation version."""

from __future__ import annotations

import json

import siteopt
from siteopt.scenarios import sweep as sw
from siteopt.scenarios.sweep import SweepSpec, load_sweep, run_sweep, scenario_folder
from tests.conftest import TINY


def test_scenario_id_and_resume_follow_the_versions(tmp_path, monkeypatch):
    inst = siteopt.load_instance(TINY / "cheapest-site")
    spec = SweepSpec.model_validate({"grid": {"demand.scale": [1.0, 0.5]}})
    first = load_sweep(spec, instance=inst)
    out = tmp_path / "out"
    report = run_sweep(first, out, workers=0)
    assert len(report.solved) == 2
    info = json.loads((scenario_folder(out, first.scenarios[0].id) / "scenario.json")
                      .read_text())
    assert info["versions"] == {"siteopt": siteopt.__version__,
                                "formulation": sw.FORMULATION_VERSION}

    # a folder written by another version under the same id is not "done"
    path = scenario_folder(out, first.scenarios[1].id) / "scenario.json"
    path.write_text(json.dumps({**info, "versions": {"siteopt": "0.0.1", "formulation": 0}}))
    again = run_sweep(first, out, workers=0)
    assert again.skipped == [first.scenarios[0].id]
    assert again.solved == [first.scenarios[1].id]

    # a new formulation version gives new ids: nothing of the old version is reused
    monkeypatch.setattr(sw, "FORMULATION_VERSION", sw.FORMULATION_VERSION + 1)
    newer = load_sweep(spec, instance=inst)
    assert {s.id for s in newer.scenarios}.isdisjoint(s.id for s in first.scenarios)
    later = run_sweep(newer, out, workers=0)
    assert not later.skipped and len(later.solved) == 2
    assert len(later.table) == 2
