"""`siteopt generate`: seeded synthetic instances that load, validate, solve and regenerate."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import siteopt
from siteopt.checks.presolve import errors, presolve_checks
from siteopt.data.instance import Instance
from siteopt.data.load import load_instance
from siteopt.data.rules import hosting_sites, latency_targets
from siteopt.errors import ExitCode, InputError
from siteopt.synth.generate import PRESETS, GeneratorSpec, generate_instance, preset
from tests.conftest import REPO
from tests.test_cli import run


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _valid(folder: Path) -> Instance:
    """What `siteopt validate` checks: loads, cross-checks, and no pre-solve error."""
    inst = load_instance(folder)
    assert not errors(presolve_checks(inst))
    return inst


def _sizes(inst: Instance) -> tuple[int, int, int]:
    return len(inst.table("sites")), len(inst.table("regions")), len(inst.years)


def test_same_seed_writes_identical_bytes_and_another_seed_differs(tmp_path):
    spec = preset("tiny", seed=7)
    a = _files(generate_instance(spec, tmp_path / "a"))
    b = _files(generate_instance(spec, tmp_path / "b"))
    c = _files(generate_instance(preset("tiny", seed=8), tmp_path / "c"))
    assert a == b
    assert set(a) == set(c) and a != c
    assert {"instance.toml", "README.md", "sites.csv", "demand.csv"} <= set(a)


def test_identical_under_another_hash_seed(tmp_path):
    """No set or dict order leaks into the files: a process with another hash seed agrees."""
    generate_instance(preset("small", seed=3), tmp_path / "here")
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    code = ("import sys; from pathlib import Path; from siteopt.synth.generate import preset, "
            "generate_instance; generate_instance(preset('small', seed=3), Path(sys.argv[1]))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "there")], check=True, env=env,
                   timeout=120)
    assert _files(tmp_path / "here") == _files(tmp_path / "there")


@pytest.mark.parametrize("name", ["tiny", "small", "medium"])
def test_presets_load_and_validate(name, tmp_path):
    spec = PRESETS[name]
    inst = _valid(generate_instance(spec, tmp_path / name))
    assert _sizes(inst) == (spec.sites, spec.regions, spec.years)
    assert inst.meta.service.allow_unserved


def test_presets_grow_to_benchmark_size():
    sizes = [(s.sites, s.regions, s.years) for s in PRESETS.values()]
    assert PRESETS["tiny"].sites <= 5 and PRESETS["tiny"].regions <= 10
    assert max(sizes) >= (300, 1000, 15) and "400k" in PRESETS
    assert PRESETS["xl"].sites >= 300 and PRESETS["xl"].regions >= 1000
    assert PRESETS["xl"].years >= 15


def test_medium_has_the_promised_structure(tmp_path):
    """Sparse reach for the tight class, scarce capacity, some zones short of headroom."""
    inst = _valid(generate_instance(PRESETS["medium"], tmp_path / "m"))
    t = inst.tables
    n_sites = len(t["sites"])
    targets = latency_targets(inst.meta, t)
    lat = inst.latency
    within = lat.assign(target=[targets[r, "sens"] for r in lat["region"]])
    reach = (within["rtt_ms"] <= within["target"] + 1e-9).groupby(within["region"]).sum()
    assert 0.05 <= reach.mean() / n_sites <= 0.2
    assert reach.min() >= PRESETS["medium"].min_reach
    # sellable capacity / peak demand = capacity_ratio (up to rounding)
    capacity = t["sites"]["existing_it_mw"].sum() + t["phases"]["it_mw"].sum()
    peak = t["demand"].loc[t["demand"]["year"] == inst.years[-1], "it_mw"].sum()
    ratio = inst.meta.service.max_utilization * capacity / peak
    assert ratio == pytest.approx(PRESETS["medium"].capacity_ratio, rel=0.02)
    # AI only on liquid cooling; a legacy plant at some sites; upgrades on offer
    classes = t["classes"].set_index("class")["cooling"]
    assert set(classes["ai"]) == {"dlc", "immersion"}
    assert (t["sites"]["existing_it_mw"] > 0).any() and len(t["upgrades"]) > 0
    # headroom grows over the horizon in every zone
    head = t["headroom"].pivot(index="zone", columns="year", values="headroom_mw")
    assert (head.diff(axis=1).iloc[:, 1:] >= 0).all().all()


def test_readme_marks_numbers_as_assumptions_and_regenerates(tmp_path):
    spec = GeneratorSpec(sites=4, regions=9, years=2, seed=11, reach_tight=0.15)
    folder = generate_instance(spec, tmp_path / "g")
    readme = (folder / "README.md").read_text()
    assert "Every number in this folder is a synthetic assumption" in readme
    assert "seed 11" in readme and "`reach_tight` | `0.15`" in readme
    assert "siteopt generate OUT" not in readme  # a non-size knob: the CLI cannot redo it
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    exec(code.replace('"OUT"', repr(str(tmp_path / "again"))), {})  # the README's own recipe
    assert _files(tmp_path / "again") == _files(folder)


def test_cli_generate_validate_solve_tiny(tmp_path):
    """The issue's commands through the real entry point: a verified plan of tiny."""
    inst, res = tmp_path / "tiny", tmp_path / "res"
    proc = run("generate", str(inst), "--preset", "tiny", "--seed", "5")
    assert proc.returncode == ExitCode.OK, proc.stderr
    line = proc.stdout.strip()
    assert "\n" not in line and "5 sites, 10 regions, 3 years" in line
    assert "site-region pairs" in line and "demand " in line
    assert _files(inst) == _files(generate_instance(preset("tiny", seed=5), tmp_path / "api"))
    proc = run("validate", str(inst))
    assert proc.returncode == ExitCode.OK, proc.stderr
    proc = run("solve", str(inst), "--time-limit", "20", "--out", str(res), "--quiet")
    assert proc.returncode == ExitCode.OK, proc.stderr
    summary = json.loads((res / "summary.json").read_text())
    assert summary["verified"] is True and summary["status"] in ("optimal", "time_limit")


def test_cli_sizes_override_the_preset(tmp_path):
    proc = run("generate", str(tmp_path / "g"), "--preset", "tiny", "--regions", "12",
               "--years", "2")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert _sizes(_valid(tmp_path / "g")) == (PRESETS["tiny"].sites, 12, 2)


@pytest.mark.parametrize("args, message", [
    (["--sites", "0"], "expected a whole number from 1"),
    (["--years", "many"], "expected a whole number from 1 to 100, got many"),
    (["--seed", "-1"], "expected a whole number from 0"),
    (["--preset", "huge"], "invalid choice"),
])
def test_cli_bad_arguments_exit_with_bad_input(args, message, tmp_path):
    proc = run("generate", str(tmp_path / "g"), *args)
    assert proc.returncode == ExitCode.BAD_INPUT
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "g").exists()


def test_refuses_to_replace_a_folder_that_is_not_an_instance(tmp_path):
    keep = tmp_path / "notes"
    keep.mkdir()
    (keep / "mine.txt").write_text("keep me")
    with pytest.raises(InputError, match="not an instance folder"):
        generate_instance(PRESETS["tiny"], keep)
    proc = run("generate", str(keep), "--preset", "tiny")
    assert proc.returncode == ExitCode.BAD_INPUT
    assert (keep / "mine.txt").read_text() == "keep me"
    generate_instance(PRESETS["tiny"], tmp_path / "inst")
    generate_instance(preset("tiny", seed=1), tmp_path / "inst")  # an instance: replaced
    assert "seed 1" in (tmp_path / "inst" / "README.md").read_text()


@pytest.mark.parametrize("changes, knob", [
    ({"sites": 0}, "sites"), ({"classes": 4}, "classes"), ({"capacity_ratio": 0.9},
                                                          "capacity_ratio"),
    ({"reach_tight": 0.5, "reach_loose": 0.2}, "reach"), ({"zones": 99}, "zones"),
])
def test_spec_rejects_bad_knobs(changes, knob):
    with pytest.raises(ValueError, match=knob):
        preset("tiny", **changes)


def test_api_exports():
    assert siteopt.GeneratorSpec is GeneratorSpec
    assert siteopt.generate_instance is generate_instance


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(sites=st.integers(2, 8), regions=st.integers(2, 15), years=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1), classes=st.integers(1, 3))
def test_any_small_spec_loads_and_validates(sites, regions, years, seed, classes):
    spec = GeneratorSpec(sites=sites, regions=regions, years=years, seed=seed, classes=classes)
    with tempfile.TemporaryDirectory() as tmp:
        inst = _valid(generate_instance(spec, Path(tmp) / "g"))
        assert _sizes(inst) == (sites, regions, years)
        assert len(inst.table("classes")) == classes
        demand = inst.table("demand")
        assert (demand["it_mw"] > 0).all()
        assert np.isfinite(inst.latency["rtt_ms"]).all()
        # every region reaches, within its target, a site that can host each class it demands
        assert not [w for w in inst.warnings if "unserved" in w]
        targets = latency_targets(inst.meta, inst.tables)
        hosts = hosting_sites(inst.tables)
        lat = inst.latency
        for region, cls in set(zip(demand["region"], demand["class"], strict=True)):
            mine = lat[(lat["region"] == region) & lat["site"].isin(hosts[cls])]
            assert (mine["rtt_ms"] <= targets[region, cls] + 1e-9).any()


@pytest.mark.parametrize("years", [1, 3, 4, 6])
def test_ai_share_is_what_the_readme_says(years, tmp_path):
    """The README's rule for ai demand holds in short horizons too (the tiny preset has 3
    years: ai then has a single year, at its first-year share, never growing to the last)."""
    from siteopt.synth.spec import ASSUMPTIONS as A

    spec = GeneratorSpec(sites=5, regions=10, years=years, seed=2)
    folder = generate_instance(spec, tmp_path / "g")
    d = load_instance(folder).table("demand").pivot_table(
        index=["region", "year"], columns="class", values="it_mw", aggfunc="sum").fillna(0.0)
    d = d[d["ai"] > 0]
    share = (d["ai"] / (d["sens"] + d["flex"])).groupby("year").mean()
    assert share.iloc[0] == pytest.approx(A.ai_share_first, abs=2e-3)
    readme = " ".join((folder / "README.md").read_text().split())
    if len(share) > 1:
        assert share.iloc[-1] == pytest.approx(A.ai_share_first + A.ai_share_growth, abs=2e-3)
        assert "growing from 5 % in its first year to 35 % in the last" in readme
    assert "with a single ai year, 5 % only" in readme


def test_sponsor_count_is_what_the_readme_says(tmp_path):
    """`sponsors` larger than the sites: one sponsor per site, as the README's rule says."""
    spec = GeneratorSpec(sites=3, regions=6, years=2, sponsors=5)
    folder = generate_instance(spec, tmp_path / "g")
    assert load_instance(folder).table("sites")["sponsor"].nunique() == 3
    readme = " ".join((folder / "README.md").read_text().split())
    assert "min(`sponsors`, sites) sponsors, each with at least one site" in readme


def test_medium_has_short_zones(tmp_path):
    """`short_zone_share` shows: some zones end short of their phases' power, others not."""
    from siteopt.synth.spec import ASSUMPTIONS as A

    t = load_instance(generate_instance(PRESETS["medium"], tmp_path / "m")).tables
    sites = t["sites"]
    phase_mw = t["phases"].merge(sites[["site", "zone"]], on="site").groupby("zone")["it_mw"].sum()
    existing = sites.groupby("zone")["existing_it_mw"].sum()
    zones = t["zones"].set_index("zone")
    last = t["headroom"][t["headroom"]["year"] == t["headroom"]["year"].max()].set_index("zone")
    for_phases = (last["headroom_mw"] * zones["derate"] - existing * A.cooling[0][2]
                  * A.existing_power_margin) / (phase_mw * A.planning_pue)
    short_hi = A.headroom_last_share_short[1] + 0.01
    assert (for_phases <= short_hi).any() and (for_phases >= A.headroom_last_share[0] - 0.01).any()
    assert ((for_phases <= short_hi) | (for_phases >= A.headroom_last_share[0] - 0.01)).all()
