"""The screen of `siteopt value`: many relaxations proven worthless in one MILP, exactly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import siteopt
from siteopt.cli.main import main
from siteopt.data.overrides import apply_overrides
from siteopt.decide import screen as screen_module
from siteopt.decide.engine import solve_base
from siteopt.decide.screen import screen_relaxations
from siteopt.decide.value import value_of_inputs
from siteopt.solver.highs import SolveOptions


def four_zones(folder: Path, capex: tuple[float, float, float, float] = (100, 120, 150, 200),
               headroom: float = 12.0, budget: float = 160.0) -> Path:
    """8 MW of demand; one 10 IT MW phase (15 facility MW at PUE 1.5) at each of four sites.

    A, B and D sit in zones with `headroom` facility MW (below 15: they do not fit), C in a
    zone with room. The base plan builds C; 5 more MW in zone ZA lets A in (saving
    capex C - A), in ZB lets B in, in ZD lets D in (saving nothing while D >= C). The
    all-sponsors 2030 budget `budget` is within a phase of binding: relaxing it saves
    nothing either.
    """
    a, b, c, d = capex
    files = {
        "instance.toml": '\n'.join([
            'name = "four-zones"', 'description = "which headroom is worth something"',
            "[horizon]", "first_year = 2030", "last_year = 2030",
            "[service]", "allow_unserved = false"]),
        "classes.csv": "class\ncloud",
        "cooling.csv": "cooling,pue\nair,1.5",
        "demand.csv": "region,class,year,it_mw\nR,cloud,2030,8",
        "headroom.csv": "zone,year,headroom_mw\n" + "\n".join(
            f"{z},2030,{h}" for z, h in (("ZA", headroom), ("ZB", headroom), ("ZC", 100),
                                         ("ZD", headroom))),
        "links.csv": "a,b,km\na,city,100\nb,city,150\nc,city,200\nd,city,250",
        "phases.csv": "site,phase,it_mw,capex_usd_m\n" + "\n".join(
            f"{s},P1,10,{x}" for s, x in zip("ABCD", (a, b, c, d), strict=True)),
        "regions.csv": "region,node\nR,city",
        "sites.csv": "site,zone,node\nA,ZA,a\nB,ZB,b\nC,ZC,c\nD,ZD,d",
        "zones.csv": "zone\nZA\nZB\nZC\nZD",
        "budgets.csv": f"sponsor,year,max_capex_usd_m\n,2030,{budget}",
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text.strip() + "\n", encoding="utf-8")
    return folder


def _candidates() -> list[tuple[str, dict[str, object]]]:
    return [(z, {f"headroom[zone={z},year=2030].headroom_mw.add": 5.0})
            for z in ("ZA", "ZB", "ZD")] + [
        ("budget", {"budgets[sponsor=,year=2030].max_capex_usd_m.add": 100.0})]


def test_the_screen_names_each_saving_relaxation_and_proves_the_rest_save_nothing(tmp_path):
    inst = siteopt.load_instance(four_zones(tmp_path / "i"))
    opts = SolveOptions(gap=1e-6)
    base = solve_base(inst, opts)
    assert base.objective == pytest.approx(150.0)
    screen = screen_relaxations(inst, _candidates(), opts, base.start_values(), base.objective)
    assert screen.applicable, screen.reason
    f = screen.findings
    assert f["ZA"].saves and f["ZA"].objective == pytest.approx(100.0)
    assert f["ZB"].saves and f["ZB"].objective == pytest.approx(120.0)
    assert f["ZD"].saves is False and f["budget"].saves is False
    assert f["ZD"].bound == pytest.approx(150.0, rel=1e-6)
    # best first: ZA, then ZB (ZA excluded), then the proof that ZD and the budget save nothing
    assert screen.solves == 3
    assert f["ZB"].bound == pytest.approx(120.0, rel=1e-6)
    # the plan the screen found for ZB is ZB's optimum on ZB's own instance
    only_b = apply_overrides(inst, _candidates()[1][1])
    assert siteopt.solve(only_b).objective == pytest.approx(120.0)
    assert f["ZB"].plan["online[B,P1,air,2030]"] == 1.0


def test_value_with_the_screen_equals_value_without_it(tmp_path):
    inst = siteopt.load_instance(four_zones(tmp_path / "i"))
    kwargs = dict(headroom_deltas=(-5, 2, 5, 10), budget_deltas=(-5, 50, 100),
                  latency_step=None)
    fast = value_of_inputs(inst, **kwargs)
    slow = value_of_inputs(inst, screen=False, **kwargs)
    for a, b in ((fast.headroom, slow.headroom), (fast.budgets, slow.budgets)):
        assert list(a["objective"]) == pytest.approx(list(b["objective"]), nan_ok=True)
        assert list(a["status"]) == list(b["status"])
        assert a["verified"].fillna(True).astype(bool).all()
    h = fast.headroom.set_index(["zone", "delta_mw"])
    assert h.loc[("ZD", 10.0), "method"] == "screened"
    assert h.loc[("ZD", 5.0), "method"] == "implied"
    # re-solved from the screen's plan, floored by its bound (HiGHS proves this one itself)
    assert h.loc[("ZA", 10.0), "method"] == "re-solve" and h.loc[("ZA", 10.0), "warm_started"]
    assert h.loc[("ZA", 10.0), "objective"] == pytest.approx(100.0)
    assert fast.budgets.set_index("delta_usd_m").loc[100.0, "method"] == "screened"
    assert fast.screen == {"applicable": True, "reason": "", "candidates": 4, "solves": 3,
                           "seconds": fast.screen["seconds"], "save": 2, "save_nothing": 2,
                           "open": 0}
    assert slow.screen is None
    assert fast.solves < slow.solves
    assert "screened with the other relaxations" in "\n".join(fast.lines())


def test_a_screen_whose_rows_do_not_match_the_base_model_is_not_used(tmp_path, monkeypatch):
    # a wrong account of how a budget enters its row must be caught, not trusted
    inst = siteopt.load_instance(four_zones(tmp_path / "i"))
    monkeypatch.setitem(screen_module.ROW_BOUND, "budget", lambda d, key: 2 * d.budgets[key][2])
    base = solve_base(inst, SolveOptions())
    screen = screen_relaxations(inst, _candidates(), SolveOptions(), base.start_values(),
                                base.objective)
    assert not screen.applicable
    assert "budget" in screen.reason and "base" in screen.reason
    rep = value_of_inputs(inst, headroom_deltas=(5,), budget_deltas=(100,), latency_step=None)
    assert rep.screen is not None and not rep.screen["applicable"]
    h = rep.headroom.set_index("zone")
    assert h.loc["ZA", "objective"] == pytest.approx(100.0)  # re-solved one by one instead
    assert h.loc["ZD", "method"] == "re-solve"


def test_a_spent_deadline_leaves_every_candidate_open(tmp_path):
    inst = siteopt.load_instance(four_zones(tmp_path / "i"))
    base = solve_base(inst, SolveOptions())
    screen = screen_relaxations(inst, _candidates(), SolveOptions(), base.start_values(),
                                base.objective, deadline=0.0)
    assert screen.applicable and screen.solves == 0
    assert all(f.saves is None and f.bound is None for f in screen.findings.values())


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.lists(st.integers(60, 260), min_size=4, max_size=4),
       st.sampled_from([8.0, 12.0, 14.0]), st.integers(100, 400))
def test_screened_values_agree_with_direct_solves(tmp_path_factory, capex, headroom, budget):
    folder = four_zones(tmp_path_factory.mktemp("i"), capex=tuple(capex), headroom=headroom,
                        budget=budget)
    inst = siteopt.load_instance(folder)
    try:
        rep = value_of_inputs(inst, headroom_deltas=(3, 10), budget_deltas=(100,),
                              latency_step=None)
    except siteopt.SiteoptError:  # no plan at all (e.g. the budget below every phase)
        return
    for frame in (rep.headroom, rep.budgets):
        for r in frame.itertuples():
            key, value = r.override.rsplit("=", 1)
            direct = siteopt.solve(apply_overrides(inst, {key: value}))
            assert direct.objective == pytest.approx(r.objective, rel=2e-4), r
            assert r.verified is True


def test_cli_reports_the_screen_and_can_do_without_it(tmp_path, capsys):
    folder = four_zones(tmp_path / "i")
    for flags, expected in (([], 4), (["--no-screen"], None)):
        out = tmp_path / ("plain" if flags else "screened")
        code = main(["value", str(folder), "--out", str(out), "--no-report", "--quiet",
                     "--latency-step", "0", *flags])
        assert code == 0
        summary = json.loads((out / "summary.json").read_text())
        screen = summary["screen"]
        assert (screen and screen["candidates"]) == expected
        values = pd.read_csv(out / "headroom_values.csv")
        assert values.loc[values["zone"] == "ZA", "objective"].min() == pytest.approx(100.0)
    printed = capsys.readouterr().out
    assert "screened with the other relaxations" in printed
    assert ("screen of the largest relaxations: 2 of 4 save, 2 proven to save nothing "
            "(3 solves") in printed


def test_a_signal_during_the_screen_stops_the_run_and_keeps_what_was_settled(tmp_path,
                                                                                monkeypatch):
    real = screen_module.solve_matrices

    def stopped_by_sigterm(*args, **kwargs):  # as if SIGTERM arrived during the solve
        return dataclasses.replace(real(*args, **kwargs), interrupted_by=15)

    monkeypatch.setattr(screen_module, "solve_matrices", stopped_by_sigterm)
    inst = siteopt.load_instance(four_zones(tmp_path / "i"))
    rep = value_of_inputs(inst, headroom_deltas=(-5, 5), budget_deltas=(100,),
                          latency_step=None)
    assert rep.stopped == "SIGTERM"
    h = rep.headroom.set_index("delta_mw")
    assert set(h.loc[5.0, "status"]) == {"not_computed"}
    assert set(h.loc[-5.0, "method"]) == {"base plan feasible"}


def test_overlapping_relaxations_onward_agree_with_re_solving_each(tmp_path):
    # with --headroom-scope onward, ZA 2030 and ZA 2031 both relax the 2031 row: each
    # candidate's own shift must go back to the base bound, not their sum
    folder = four_zones(tmp_path / "i")
    toml = (folder / "instance.toml").read_text().replace("last_year = 2030",
                                                            "last_year = 2031")
    (folder / "instance.toml").write_text(toml)
    (folder / "demand.csv").write_text("region,class,year,it_mw\nR,cloud,2030,8\n"
                                       "R,cloud,2031,8\n")
    (folder / "headroom.csv").write_text("zone,year,headroom_mw\n" + "".join(
        f"{z},{y},{h}\n" for z, h in (("ZA", 12), ("ZB", 12), ("ZC", 100), ("ZD", 12))
        for y in (2030, 2031)))
    inst = siteopt.load_instance(folder)
    kwargs = dict(headroom_deltas=(5,), budget_deltas=(100,), latency_step=None,
                  headroom_scope="onward")
    fast = value_of_inputs(inst, **kwargs)
    slow = value_of_inputs(inst, screen=False, **kwargs)
    assert fast.screen is not None and fast.screen["applicable"]
    assert fast.screen["candidates"] >= 6  # 2 years x 3 zones, and the budget
    a, b = fast.headroom, slow.headroom
    assert list(a["objective"]) == pytest.approx(list(b["objective"]))
    assert a["verified"].eq(True).all()
