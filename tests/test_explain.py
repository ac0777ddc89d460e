"""Infeasible instances are explained in the planner's terms (API and `siteopt solve`)."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import siteopt
from siteopt.cli.main import main
from siteopt.errors import ExitCode
from siteopt.solver.explain import explain, explain_infeasible
from tests.conftest import REPO, TINY


def test_unmeetable_demand_is_named_with_its_shortfall():
    reasons = explain_infeasible(siteopt.load_instance(TINY / "infeasible-capacity"))
    assert reasons[-1] == (
        "demand R/cloud in 2030: 10.00 of 20.00 IT MW cannot be served: the sites able to serve "
        "it (A) can have at most 10.00 IT MW by 2030")


def test_existing_plant_an_upgrade_covers_is_not_a_fixed_conflict(tiny_copy):
    """Existing plant (15 facility MW) over Z's derated headroom (10) but within reach of its
    upgrades (+9) is no pre-solve error; the elastic plan names what 30 MW of demand needs:
    A's phase too, 11 MW beyond Z's limit (regression from review)."""
    folder = tiny_copy("grid-upgrade")
    (folder / "sites.csv").write_text("site,zone,node,existing_it_mw,existing_cooling\n"
                                      "A,Z,a,10,air\nB,Z2,b,0,\n")
    (folder / "demand.csv").write_text("region,class,year,it_mw\nR,cloud,2030,30\n")
    explanation = explain(siteopt.load_instance(folder))
    assert [f.check for f in explanation.findings] == ["check_zone_fits_a_phase"]
    assert [v.message for v in explanation.violations] == [
        "zone Z headroom short by 11.00 facility MW in 2030: the plan needs 30.00 MW, the limit "
        "is 19.00 MW (derated headroom 10.00 + upgrades 9.00); headroom_mw must rise by 13.75 MW "
        "at derate 0.8 [headroom.csv line 2]"]


def test_allowed_unserved_demand_is_no_violation():
    explanation = explain(siteopt.load_instance(TINY / "phase-timing"))
    assert not explanation.infeasible
    assert [f.level for f in explanation.findings] == ["warning"] * len(explanation.findings)


def test_explanation_is_deterministic(tiny_copy):
    folder = tiny_copy("latency-target")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m\nA,P1,5,120\nB,P1,10,100\n")
    first = explain_infeasible(siteopt.load_instance(folder))
    again = explain_infeasible(siteopt.load_instance(folder))  # a fresh load, a fresh solve
    assert first, "an infeasible instance has causes to report"
    assert first == again


def test_cli_prints_the_explanation_and_exits_infeasible(capsys):
    code = main(["solve", str(TINY / "infeasible-capacity")])
    err = capsys.readouterr().err
    assert code == ExitCode.INFEASIBLE
    assert "R/cloud in 2030: 10.00 of 20.00 IT MW cannot be served" in err


def _run(*args: str, seed: str = "0") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, "-m", "siteopt", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=300, env=env)


def test_explain_command_exit_codes_and_determinism(tiny_copy):
    folder = tiny_copy("latency-target")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m\nA,P1,5,120\nB,P1,10,100\n")
    first = _run("explain", str(folder), seed="1")
    assert first.returncode == ExitCode.INFEASIBLE, first.stderr
    assert ("violation (latency): demand R/cloud in 2030: 3.00 IT MW must be served from site B "
            "at 2.90 ms round trip, beyond its 2 ms latency target") in first.stdout
    # the same explanation, byte for byte, under another hash seed
    assert _run("explain", str(folder), seed="2").stdout == first.stdout
    feasible = _run("explain", str(TINY / "cheapest-site"))
    assert feasible.returncode == ExitCode.OK and "feasible" in feasible.stdout
    assert _run("explain", "no/such/folder").returncode == ExitCode.BAD_INPUT


def test_validate_reports_presolve_errors_with_the_infeasible_code():
    proc = _run("validate", str(TINY / "infeasible-capacity"))
    assert proc.returncode == ExitCode.INFEASIBLE
    assert "error: 2030: total demand 20.00 IT MW exceeds all capacity" in proc.stderr
    # well-formed input, but not "valid" without saying that no plan exists (exit 3)
    assert "tiny-infeasible-capacity: valid input, but no plan can exist (1 sites" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_a_foreign_highs_run_does_not_break_later_solves(tmp_path):
    """A HiGHS run elsewhere in the process (default threads) left its scheduler behind, and
    the IIS run returned "not set" and reported the LP relaxation feasible (regression)."""
    import highspy

    from siteopt.solver.iis import iis_conflict

    lp = tmp_path / "m.lp"
    lp.write_text("minimize\n obj: x + y\nsubject to\n c: x + y >= 1\nbounds\n x <= 4\n"
                  "general\n y\nend\n")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(lp))
    h.run()
    assert iis_conflict(siteopt.load_instance(TINY / "infeasible-capacity"))
    assert siteopt.solve(siteopt.load_instance(TINY / "cheapest-site")).status == "optimal"


def _stopped_early(monkeypatch, keep_plan: bool) -> None:
    """The elastic re-solve stops as at a time limit: its plan (if kept) is unproven, bound 0."""
    import dataclasses

    import siteopt.solver.explain as module

    real = module.solve_matrices

    def stopped(mat, options, *args, **kwargs):
        outcome = real(mat, options, *args, **kwargs)
        return dataclasses.replace(outcome, status="time_limit", bound=0.0,
                                   x=outcome.x if keep_plan else None)

    monkeypatch.setattr(module, "solve_matrices", stopped)


def test_an_elastic_plan_stopped_early_proves_no_infeasibility(tiny_copy, monkeypatch, capsys):
    """Violations of a time-limited elastic plan with bound 0 may just be a poor plan: the
    verdict is undecided (exit 4), not "infeasible" (it was exit 3 on feasible instances)."""
    folder = tiny_copy("grid-upgrade")  # zone Z short by 1 MW; no pre-solve error
    (folder / "sites.csv").write_text("site,zone,node\nA,Z,a\n")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m\nA,P1,10,100\n")
    (folder / "upgrades.csv").write_text("upgrade,zone,add_mw,capex_usd_m,lead_months\n"
                                         "U2,Z,4,1,0\n")
    _stopped_early(monkeypatch, keep_plan=True)
    explanation = explain(siteopt.load_instance(folder))
    assert explanation.violations and not explanation.infeasible and not explanation.feasible
    assert main(["explain", str(folder)]) == ExitCode.NO_PLAN
    out = capsys.readouterr().out
    assert "undecided" in out and "not proven the smallest" in out and "feasible;" not in out


def test_an_elastic_solve_without_a_plan_is_no_proof_of_feasibility(monkeypatch, capsys):
    """No elastic plan within the time limit decides nothing: it said "feasible", exit 0."""
    _stopped_early(monkeypatch, keep_plan=False)
    explanation = explain(siteopt.load_instance(TINY / "infeasible-capacity"))
    assert explanation.infeasible  # the pre-solve error still proves it
    assert main(["explain", str(TINY / "latency-target")]) == ExitCode.NO_PLAN
    assert "undecided" in capsys.readouterr().out


def test_an_elastic_copy_without_any_plan_proves_infeasibility(monkeypatch, capsys):
    """The elastic copy only relaxes limits: no plan there is no plan of the instance, so
    the verdict is infeasible (exit 3) with the reason, not "undecided" (exit 4)."""
    import dataclasses

    import siteopt.solver.explain as module

    real = module.solve_matrices

    def no_plan(mat, options, *args, **kwargs):
        return dataclasses.replace(real(mat, options, *args, **kwargs), status="infeasible",
                                   x=None, bound=math.inf)

    monkeypatch.setattr(module, "solve_matrices", no_plan)
    inst = siteopt.load_instance(TINY / "latency-target")  # feasible: no pre-solve error
    explanation = explain(inst)
    assert explanation.infeasible and not explanation.feasible
    assert explanation.reasons() == [module.KEPT_HARD]
    assert main(["explain", str(TINY / "latency-target")]) == ExitCode.INFEASIBLE
    out = capsys.readouterr().out
    assert "infeasible; why no plan exists is listed above" in out and "undecided" not in out


def test_the_headroom_amount_stated_for_the_cited_row_makes_a_plan(tiny_copy):
    """Zone Z (derate 0.8) is 1.004 facility MW short: the cited headroom.csv row must rise
    by 1.255 MW, not by the 1.00 printed before (still infeasible); shown rounded up, the
    amount suffices and 0.01 less does not."""
    folder = tiny_copy("grid-upgrade")
    (folder / "sites.csv").write_text("site,zone,node\nA,Z,a\n")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m\nA,P1,10,100\n")
    (folder / "upgrades.csv").write_text("upgrade,zone,add_mw,capex_usd_m,lead_months\n"
                                         "U2,Z,4,1,0\n")
    (folder / "headroom.csv").write_text("zone,year,headroom_mw\nZ,2030,12.495\nZ2,2030,100\n")
    inst = siteopt.load_instance(folder)
    [message] = explain_infeasible(inst)
    assert message.startswith("zone Z headroom short by 1.01 facility MW in 2030")
    assert message.endswith("; headroom_mw must rise by 1.26 MW at derate 0.8 "
                            "[headroom.csv line 2]")
    key = "headroom[zone=Z,year=2030].headroom_mw.add"
    assert siteopt.solve(inst, overrides={key: 1.26}).status == "optimal"
    for short in (1.00, 1.25):
        assert siteopt.solve(inst, overrides={key: short}).status == "infeasible"


@pytest.mark.parametrize("per_row", [True, False])
def test_the_latency_amount_printed_makes_a_plan(tiny_copy, per_row):
    """B is 2.905 ms from R, 0.905 beyond the 2 ms target (a row of latency_targets.csv, or
    latency.max_rtt_ms): the sentence says how far the target must rise, rounded up like
    the MW and USD amounts (0.91 ms, to 2.91 ms). Applied with --set's vocabulary, either
    figure makes a plan; 0.01 ms less does not (2.90 was what '{rtt:.2f}' could show)."""
    folder = tiny_copy("latency-target")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m\nA,P1,5,120\nB,P1,10,100\n")
    (folder / "links.csv").write_text((folder / "links.csv").read_text().replace(
        "b,hub,100\n", "b,hub,100.5\n"))
    key = "latency_targets[region=R,class=cloud].max_rtt_ms"
    cited = "[latency_targets.csv line 2]"
    if not per_row:
        (folder / "latency_targets.csv").unlink()
        (folder / "instance.toml").write_text((folder / "instance.toml").read_text().replace(
            "rtt_ms_fixed = 0.5", "rtt_ms_fixed = 0.5\nmax_rtt_ms = 2"))
        key, cited = "latency.max_rtt_ms", "[instance.toml latency.max_rtt_ms]"
    inst = siteopt.load_instance(folder)
    [message] = [m for m in explain_infeasible(inst) if "ms latency target" in m]
    found = re.search(r"max_rtt_ms must rise by (\d+\.\d\d) ms to (\d+\.\d\d) ms (\[.*\])$",
                      message)
    assert found is not None, message
    by, to = float(found.group(1)), float(found.group(2))
    assert (by, to, found.group(3)) == (0.91, 2.91, cited)
    assert siteopt.solve(inst, overrides={key: to}).status == "optimal"
    assert siteopt.solve(inst, overrides={key: to - 0.01}).status == "infeasible"
    if per_row:
        assert siteopt.solve(inst, overrides={f"{key}.add": by}).status == "optimal"
        assert siteopt.solve(inst, overrides={f"{key}.add": by - 0.01}).status == "infeasible"


def test_demand_held_back_by_a_hard_rule_names_the_rule(tiny_copy):
    """Capacity would suffice (24 and 20 IT MW for 15) but N-1 site loss, or a site count of
    1, leaves demand unserved: the sentence names the rule, and no "other demand" (there is
    none; the sentence said it was shared with other demand)."""
    n1 = tiny_copy("n1-site")
    (n1 / "demand.csv").write_text("region,class,year,it_mw\nR,cloud,2030,15\n")
    count = tiny_copy("cheapest-site")
    (count / "demand.csv").write_text("region,class,year,it_mw\nR,cloud,2030,15\n")
    one_site = siteopt.apply_overrides(siteopt.load_instance(count), {"siting.sites": 1})
    for inst, rule in ((siteopt.load_instance(n1), "[resilience.cloud] n_minus_1_sites"),
                       (one_site, "siting.sites = 1 (exactly)")):
        assert siteopt.solve(inst).status == "infeasible"
        [message] = explain_infeasible(inst)
        assert message.startswith("demand R/cloud in 2030: "), message
        assert message.endswith(f"; held back by rules the elastic re-solve keeps: {rule}")
        assert "other demand" not in message


def test_solve_says_when_its_reasons_are_not_proven_the_smallest(monkeypatch, capsys,
                                                                   tmp_path):
    """`solve` on an infeasible instance prints the elastic re-solve's violations; stopped by
    its time limit, they make a plan possible but may not be the smallest set, which
    `explain` said and `solve` did not (now on stderr and in summary.json's warnings)."""
    import json

    _stopped_early(monkeypatch, keep_plan=True)
    code = main(["solve", str(TINY / "infeasible-capacity"), "--time-limit", "30", "--out",
                 str(tmp_path / "r")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == ExitCode.INFEASIBLE
    assert "R/cloud in 2030: 10.00 of 20.00 IT MW cannot be served" in err
    assert "not proven the smallest" in err and "time_limit" in err
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert any("not proven the smallest" in w for w in summary["warnings"])


def test_solve_does_not_qualify_reasons_the_elastic_optimum_proves(capsys):
    assert main(["solve", str(TINY / "infeasible-capacity")]) == ExitCode.INFEASIBLE
    assert "not proven the smallest" not in " ".join(capsys.readouterr().err.split())


def _far_backup_site(tiny_copy, rule: str, demand: float, headroom: float) -> Path:
    """n1-site with B 9 ms from R, beyond the 2 ms target; A (10 MW) and C (4) within it."""
    folder = tiny_copy("n1-site")
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace("n_minus_1_sites = true", rule)
                    + "[latency]\nrtt_ms_per_km = 0.01\nmax_rtt_ms = 2\n")
    (folder / "links.csv").write_text("a,b,km\na,city,100\nb,city,900\nc,city,100\n")
    (folder / "sites.csv").write_text("site,zone,node\nA,Z,a\nB,Z2,b\nC,Z,c\n")
    (folder / "zones.csv").write_text("zone\nZ\nZ2\n")
    (folder / "headroom.csv").write_text(f"zone,year,headroom_mw\nZ,2030,{headroom}\n"
                                         "Z2,2030,100\n")
    (folder / "demand.csv").write_text(f"region,class,year,it_mw\nR,cloud,2030,{demand}\n")
    return folder


TARGET_9 = {"latency.max_rtt_ms": 9.0}


@pytest.mark.parametrize(("rule", "demand", "headroom", "phrase", "fix"), [
    # 12 MW: A and C (14 MW) serve it, but A's failure leaves more than C can take over
    ("n_minus_1_sites = true", 12, 100, "must be taken over when site A fails "
     "([resilience.cloud] n_minus_1_sites) by site B at 9.00 ms round trip, beyond its 2 ms "
     "latency target; max_rtt_ms must rise by 7.00 ms to 9.00 ms", TARGET_9),
    # A and C (21 facility MW) in zone Z of 16 MW: 5 MW short (a pick of B weighs 8 MW)
    ("min_sites = 2", 8, 16, "zone Z headroom short by 5.00 facility MW in 2030",
     {"headroom[zone=Z].headroom_mw": 21}),
    # zone Z (6 MW) holds only C (4 IT MW = 6 facility MW): the second site must be B
    ("min_sites = 2", 8, 6, "[resilience.cloud] min_sites needs site B at 9.00 ms round "
     "trip, beyond its 2 ms latency target; max_rtt_ms must rise by 7.00 ms to 9.00 ms",
     TARGET_9),
])
def test_a_resilience_rule_needing_a_site_beyond_its_target_is_explained(
        tiny_copy, capsys, rule, demand, headroom, phrase, fix):
    """The resilience rules range over the pairs within target; the elastic copy lifts the
    targets, so site B backed up A, or counted toward min_sites, for free there: `explain`
    said "feasible" (exit 0) or missed the rule, and `solve` "no single cause found". Using
    B is now a latency violation naming the rule; the amounts printed make a plan."""
    folder = _far_backup_site(tiny_copy, rule, demand, headroom)
    inst = siteopt.load_instance(folder)
    assert siteopt.solve(inst).status == "infeasible"
    assert main(["explain", str(folder)]) == ExitCode.INFEASIBLE
    out = " ".join(capsys.readouterr().out.split())
    assert phrase in out, out
    assert "infeasible; the smallest set of violations" in out
    assert set(re.findall(r"to ([\d.]+) ms \[", out)) <= {"9.00"}, out
    assert siteopt.solve(inst, overrides=fix).status == "optimal"
    assert main(["solve", str(folder), "--quiet"]) == ExitCode.INFEASIBLE
    assert "no single cause found" not in capsys.readouterr().err


def test_iis_rows_of_a_resilience_rule_cite_it(tiny_copy, capsys):
    """`explain --iis` mapped table families to their lines but left N-1 and geo rows bare
    ("row n1_region[R,cloud,2030,A]"); they now cite the rule in instance.toml."""
    folder = _far_backup_site(tiny_copy, "n_minus_1_sites = true", 12, 100)
    assert main(["explain", str(folder), "--iis"]) == ExitCode.INFEASIBLE
    iis = [line for line in capsys.readouterr().out.splitlines() if line.startswith("IIS: ")]
    rules = [line for line in iis if re.match(r"IIS: (row|\w+ bound of) (n1_|geo_|backup)", line)]
    assert rules, iis
    assert all(line.endswith("(instance.toml [resilience.cloud] n_minus_1_sites)")
               for line in rules), rules
