"""The Python API: overrides, DataFrame instances, atomic result folders."""

from __future__ import annotations

import pytest

import siteopt
from siteopt.errors import InputError
from siteopt.io.write import atomic_dir, write_result
from tests.conftest import TINY


def test_overrides_through_the_api_match_the_cli_vocabulary():
    inst = siteopt.load_instance(TINY / "phase-timing")
    result = siteopt.solve(inst, overrides={"service.unserved_penalty_usd_m_per_mw_year": 1})
    assert result.objective == pytest.approx(5 * (1 + 1 / 1.1 + 1 / 1.21))
    assert result.tables["schedule"].empty  # building is dearer than paying the small penalty


def test_override_is_validated_like_the_file():
    inst = siteopt.load_instance(TINY / "phase-timing")
    with pytest.raises(InputError, match="discount_rate"):
        siteopt.apply_overrides(inst, {"economics.discount_rate": -1})


def test_instance_from_dataframes_is_validated():
    inst = siteopt.load_instance(TINY / "cheapest-site")
    tables = {k: v.copy() for k, v in inst.tables.items()}
    tables["sites"].loc[1, "zone"] = "nowhere"
    with pytest.raises(InputError, match=r"zones\.csv"):
        siteopt.from_tables(inst.meta, tables)


def test_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "half.csv").write_text("a,b\n")
        raise RuntimeError("killed mid-write")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_rewrite_keeps_the_previous_results(tmp_path):
    result = siteopt.solve(siteopt.load_instance(TINY / "cheapest-site"))
    out = write_result(result, tmp_path / "out")
    before = (out / "summary.json").read_text()
    with pytest.raises(RuntimeError), atomic_dir(out) as tmp:
        (tmp / "summary.json").write_text("{}")
        raise RuntimeError("killed mid-write")
    assert (out / "summary.json").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _reject_every_plan(monkeypatch):
    from siteopt.solver import pipeline
    from siteopt.verify.checker import CheckReport

    monkeypatch.setattr(pipeline, "check_plan",
                        lambda inst, plan, objective=None: CheckReport(violations=["planted"]))


def test_unverified_plan_raises_by_default(monkeypatch):
    _reject_every_plan(monkeypatch)
    inst = siteopt.load_instance(TINY / "cheapest-site")
    with pytest.raises(siteopt.UnverifiedPlanError, match="planted") as err:
        siteopt.solve(inst)
    assert isinstance(err.value, siteopt.SiteoptError)
    assert err.value.result.violations == ["planted"]


def test_unverified_plan_is_flagged_when_not_strict(monkeypatch):
    _reject_every_plan(monkeypatch)
    result = siteopt.solve(siteopt.load_instance(TINY / "cheapest-site"), strict=False)
    assert not result.verified and result.violations == ["planted"]


def test_every_api_entry_solves_in_this_process_by_default(tmp_path, monkeypatch):
    """`workers` defaults to 0 (in this process) in every API function that has it:
    `run_scenarios` alone defaulted to 2, starting a local Dask cluster, whose processes
    import the calling script (a script without `if __name__ == "__main__":` then failed
    with 'Nanny failed to start'). The command line keeps its documented default of 2."""
    import inspect

    from siteopt.scenarios import sweep

    defaults = {name: inspect.signature(getattr(siteopt, name)).parameters["workers"].default
                for name in siteopt.__all__
                if callable(getattr(siteopt, name)) and not inspect.isclass(getattr(siteopt, name))
                and "workers" in inspect.signature(getattr(siteopt, name)).parameters}
    assert defaults == dict.fromkeys(["near_optimal_plans", "run_scenarios", "solve_stochastic",
                                      "value_of_inputs"], 0)

    def no_cluster(*_args, **_kwargs):
        raise AssertionError("a Dask cluster was started")

    monkeypatch.setattr(sweep, "_run_dask", no_cluster)
    table = siteopt.run_scenarios(tmp_path / "out", instance=TINY / "grid-upgrade",
                                  grid={"headroom[zone=Z].scale": [0.5, 1.5]})
    assert list(table["objective"]) == pytest.approx([150.0, 100.0])
