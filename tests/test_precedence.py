"""One precedence for every setting (command line > instance > default), in every command;
settings the siting objective overrides are reported, never silently dropped."""

from __future__ import annotations

import shutil

import siteopt
from siteopt.cli.main import make_parser
from siteopt.data.overrides import apply_overrides
from siteopt.io.schema import Metadata, Service
from siteopt.scenarios.batch import Expected, case_options
from siteopt.scenarios.sweep import SweepSpec, load_sweep, solve_scenario
from siteopt.solver.highs import SolveOptions
from tests.conftest import TINY


def _with_gap(tmp_path, gap: float):
    folder = tmp_path / "inst"
    shutil.copytree(TINY / "cheapest-site", folder)
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text() + f"\n[solver]\ngap = {gap}\n")
    return siteopt.load_instance(folder)


def test_batch_leaves_the_gap_to_the_instance_unless_asked():
    args = make_parser().parse_args(["batch", str(TINY)])
    assert args.gap is None
    opts = case_options(SolveOptions(time_limit=args.time_limit, gap=args.gap), None)
    assert opts.gap is None  # the pipeline then takes the instance's solver.gap
    # expected file entry between the flag and the instance
    assert case_options(SolveOptions(), Expected(gap=0.01, time_limit=5)).gap == 0.01
    flag = case_options(SolveOptions(gap=0.2, time_limit=1), Expected(gap=0.01, time_limit=5))
    assert (flag.gap, flag.time_limit) == (0.2, 1)


def test_sweep_without_a_gap_uses_the_instances(tmp_path):
    inst = _with_gap(tmp_path, 0.25)
    sweep = load_sweep(SweepSpec(), instance=inst)
    assert sweep.options.gap is None
    result = solve_scenario(inst, {}, sweep.options)
    assert result.options.gap == 0.25
    spec = SweepSpec.model_validate({"solve": {"gap": 0.5}})
    assert load_sweep(spec, instance=inst).options.gap == 0.5


def test_unserved_demand_is_a_hard_requirement_by_default():
    assert Service().allow_unserved is False
    meta = Metadata.model_validate({"name": "x", "horizon": {"first_year": 2030,
                                                             "last_year": 2030}})
    assert not meta.unserved_allowed


def test_explicit_allow_unserved_overridden_by_the_objective_warns():
    inst = siteopt.load_instance(TINY / "p-center")
    assert not [w for w in inst.warnings if "allow_unserved" in w]
    changed = apply_overrides(inst, {"service.allow_unserved": True})
    assert any("service.allow_unserved = true is overridden by siting.objective = max_rtt"
               in w for w in changed.warnings), changed.warnings
    cover = apply_overrides(siteopt.load_instance(TINY / "max-covering"),
                            {"service.allow_unserved": False})
    assert any("service.allow_unserved = false is overridden by siting.objective = "
               "uncovered_mw" in w for w in cover.warnings), cover.warnings


def test_a_penalty_without_allow_unserved_warns():
    inst = siteopt.load_instance(TINY / "cheapest-site")
    changed = apply_overrides(inst, {"service.unserved_penalty_usd_m_per_mw_year": 5})
    assert any("penalty is not used" in w for w in changed.warnings), changed.warnings
