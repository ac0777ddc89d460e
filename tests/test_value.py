"""`siteopt value`: hand-derived values on tiny instances, every re-solved plan verified."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import siteopt
from siteopt.cli.main import main
from siteopt.data.overrides import apply_overrides
from siteopt.decide.value import Point, _floor, value_of_inputs
from tests.conftest import TINY


def run_cli(argv: list[str]) -> int:
    """The real entry point; argparse's usage errors exit (code 2) rather than return."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


def write_instance(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text.strip() + "\n", encoding="utf-8")
    return folder


def two_sites(folder: Path, headroom_z: float = 12.0, target: float | None = None,
              capex_a: float = 100.0, capex_b: float = 150.0) -> Path:
    """Site A in zone Z (cheap, needs 10 IT MW x PUE 1.5 = 15 facility MW), B in zone Z2.

    With Z's headroom below 15 only B fits: optimum capex_b; with 15 or more, capex_a.
    """
    files = {
        "instance.toml": '\n'.join([
            'name = "two-sites"', 'description = "headroom decides the site"',
            "[horizon]", "first_year = 2030", "last_year = 2030",
            "[service]", "allow_unserved = false"]),
        "classes.csv": "class\ncloud",
        "cooling.csv": "cooling,pue\nair,1.5",
        "demand.csv": "region,class,year,it_mw\nR,cloud,2030,8",
        "headroom.csv": f"zone,year,headroom_mw\nZ,2030,{headroom_z}\nZ2,2030,100",
        "links.csv": "a,b,km\na,city,100\nb,city,300",
        "phases.csv": f"site,phase,it_mw,capex_usd_m\nA,P1,10,{capex_a}\nB,P1,10,{capex_b}",
        "regions.csv": "region,node\nR,city",
        "sites.csv": "site,zone,node\nA,Z,a\nB,Z2,b",
        "zones.csv": "zone\nZ\nZ2",
    }
    if target is not None:
        files["latency_targets.csv"] = f"region,class,max_rtt_ms\nR,cloud,{target}"
    return write_instance(folder, files)


def test_headroom_step_is_worth_the_cost_difference_of_the_phase_it_lets_in(tmp_path):
    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    rep = value_of_inputs(inst, headroom_deltas=(-5, 2, 3, 5), budget_deltas=(50,),
                          site_cap_deltas=(10,), latency_step=None)
    assert rep.base.objective == pytest.approx(150.0)
    h = rep.headroom.set_index("delta_mw")
    assert set(h["zone"]) == {"Z"}  # Z2 has 85 MW to spare: more than a phase, not binding
    # +2: 14 facility MW < 15, A still does not fit; +3 and +5: A (100) replaces B (150)
    assert h.loc[2.0, "objective"] == pytest.approx(150.0)
    assert h.loc[3.0, "objective"] == pytest.approx(100.0)
    assert h.loc[5.0, "delta_objective"] == pytest.approx(-50.0)
    assert h.loc[5.0, "usd_m_per_mw"] == pytest.approx(10.0)  # 50 / 5
    assert h.loc[3.0, "usd_m_per_mw"] == pytest.approx(50.0 / 3)
    # -5: B's plan does not use Z at all: still feasible, the optimum is unchanged exactly
    assert h.loc[-5.0, "method"] == "base plan feasible"
    assert h.loc[-5.0, "objective"] == pytest.approx(150.0)
    for delta in (2.0, 3.0, 5.0):
        assert h.loc[delta, "method"] == "re-solve"
        assert h.loc[delta, "verified"] is True
        assert h.loc[delta, "warm_started"]  # B's plan stays feasible with more headroom
    assert "A P1 built" in h.loc[5.0, "changes"]
    text = "\n".join(rep.lines())
    assert "Z 2030: +5 MW saves USD 50.0 M (10.000 M/MW)" in text
    assert "Z 2030: +2 MW: no change" in text


def test_a_relaxation_that_changes_nothing_implies_the_smaller_ones(tmp_path):
    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    rep = value_of_inputs(inst, headroom_deltas=(1, 2), latency_step=None)
    h = rep.headroom.set_index("delta_mw")
    assert h.loc[2.0, "method"] == "re-solve" and h.loc[2.0, "objective"] == pytest.approx(150)
    assert h.loc[1.0, "method"] == "implied" and h.loc[1.0, "objective"] == pytest.approx(150)
    assert rep.solves == 1


def test_budget_step_with_a_known_effect():
    # tiny/annual-budget: the 2030 budget (50) is below any phase (100): 8 MW unserved in
    # 2030 at 50 = 400, both phases in 2031 = 200; optimum 600 (instances/tiny/README.md)
    inst = siteopt.load_instance(TINY / "annual-budget")
    rep = value_of_inputs(inst, headroom_deltas=(10,), budget_deltas=(-50, 50, 100),
                          latency_step=None)
    assert rep.base.objective == pytest.approx(600.0)
    b = rep.budgets.set_index("delta_usd_m")
    # +50: 100 in 2030 buys P1 then: the 400 of unserved demand is saved, capex unchanged
    assert b.loc[50.0, "objective"] == pytest.approx(200.0)
    assert b.loc[50.0, "usd_m_per_usd_m"] == pytest.approx(8.0)
    assert b.loc[100.0, "objective"] == pytest.approx(200.0)
    assert b.loc[-50.0, "method"] == "base plan feasible"  # nothing is spent in 2030
    assert b[b["method"] == "re-solve"]["verified"].eq(True).all()
    assert rep.headroom.empty  # 100 MW of headroom: nothing binds


def test_steps_between_two_equal_optima_need_no_solve():
    # annual-budget: +40 is still below the 100 of a phase (optimum 600, the base plan), +50
    # and +100 both buy P1 in 2030 (200); so +60..+90 lie between two equal optima and take
    # +50's plan without a solve, and -10..-40 keep the base plan (nothing spent in 2030)
    inst = siteopt.load_instance(TINY / "annual-budget")
    steps = (-40, -10, 40, 50, 60, 70, 80, 90, 100)
    rep = value_of_inputs(inst, headroom_deltas=(10,), budget_deltas=steps, latency_step=None)
    b = rep.budgets.set_index("delta_usd_m")
    assert list(b["objective"]) == pytest.approx([600, 600, 600, 200, 200, 200, 200, 200, 200])
    between = b[b["method"] == "between"]
    assert len(between) >= 3 and between["verified"].eq(True).all()
    assert all("A P1 online 2030" in c for c in between["changes"])
    assert rep.solves < len(steps) - 2  # restrictions settled by the base plan, then bisection
    # every settled point agrees with a direct solve of its override
    for r in b.itertuples():
        key, value = r.override.rsplit("=", 1)
        direct = siteopt.solve(apply_overrides(inst, {key: value}))
        assert direct.objective == pytest.approx(r.objective)


def test_demand_marginal_equals_the_known_unit_cost():
    # with the plan fixed: 2030 has no capacity, one more MW is unserved at the penalty 50;
    # 2031 has 20 MW for 18 MW of demand and no energy price, one more MW costs 0 up to 20 MW
    inst = siteopt.load_instance(TINY / "annual-budget")
    rep = value_of_inputs(inst, headroom_deltas=(10,), budget_deltas=(50,), latency_step=None)
    d = rep.demand.set_index("year")
    assert d.loc[2030, "usd_m_per_mw"] == pytest.approx(50.0)
    assert d.loc[2031, "usd_m_per_mw"] == pytest.approx(0.0, abs=1e-9)
    assert d.loc[2031, "valid_to_mw"] == pytest.approx(20.0)
    assert set(d["method"]) == {"fixed-plan dual"}


def test_demand_marginal_is_the_energy_cost_of_a_spare_megawatt(tmp_path):
    # 10 MW built, 8 MW demand; one more MW runs on air (PUE 1.5) for 8760 h at 100 USD/MWh:
    # 1.5 x 8760 x 100 / 1e6 = 1.314 USD M, valid until the 10 MW are used
    folder = two_sites(tmp_path / "e", headroom_z=100)
    toml = (folder / "instance.toml").read_text()
    (folder / "instance.toml").write_text(toml + "\n[economics]\ntariff_usd_per_mwh = 100\n"
                                          "it_load_factor = 1.0\n")
    rep = value_of_inputs(siteopt.load_instance(folder), headroom_deltas=(10,),
                          latency_step=None)
    row = rep.demand.iloc[0]
    assert row["usd_m_per_mw"] == pytest.approx(1.314)
    assert row["valid_to_mw"] == pytest.approx(10.0)
    assert row["holds_for"] == "more and less"


@pytest.mark.parametrize("name, region, valid_to", [("single-source", "x", 7.0),
                                                    ("n1-site", "R", 10.0)])
def test_rows_holding_todays_demand_do_not_cap_the_demand_ranging(name, region, valid_to):
    """Single-source (serve <= D assign at assign = 1) and N-1 rows (D in their bounds) are
    implied once the plan is fixed: left in, they capped the interval at today's demand
    (4 and 8 MW); without them it runs to what the fixed plan can serve."""
    rep = value_of_inputs(siteopt.load_instance(TINY / name), headroom_deltas=(10,),
                          budget_deltas=(50,), latency_step=None)
    row = rep.demand.set_index("region").loc[region]
    assert row["valid_to_mw"] == pytest.approx(valid_to)
    assert row["holds_for"] == "more and less"


def test_a_demand_dual_whose_interval_ends_at_todays_demand_prices_one_mw_less():
    from siteopt.decide.value import holds_for

    assert holds_for(8.0, 0.0, 10.0) == "more and less"
    assert holds_for(64.0, 58.0, 64.0) == "less only"  # hcmc sens 2032 on Vietnam
    assert holds_for(10.0, 10.0, 12.0) == "more only"
    assert holds_for(10.0, 10.0, 10.0) == "neither"
    assert holds_for(10.0, math.nan, math.nan) == "unknown"
    from siteopt.decide.value import _demand_caveat, _demand_words

    assert _demand_words({"holds_for": "less only"}) == "one IT MW less saves"
    assert _demand_words({"holds_for": "more and less"}) == "one more IT MW costs"
    assert "not beyond today's demand" in _demand_caveat({"holds_for": "less only"})
    assert _demand_caveat({"holds_for": "more only"}) == ""


def test_latency_step_that_admits_a_cheaper_site(tmp_path):
    # A (rtt 1 ms) costs 120, B (rtt 3 ms) 100; a 2.5 ms target leaves only A (120); one
    # more ms admits B: saves 20, i.e. 20 USD M per ms
    folder = two_sites(tmp_path / "l", headroom_z=100, target=2.5, capex_a=120, capex_b=100)
    rep = value_of_inputs(siteopt.load_instance(folder), headroom_deltas=(10,),
                          latency_step=1.0)
    assert rep.base.objective == pytest.approx(120.0)
    lat = rep.latency
    assert list(lat["delta_ms"]) == [1.0]  # tightening to 1.5 ms keeps A: no point
    assert lat.iloc[0]["objective"] == pytest.approx(100.0)
    assert lat.iloc[0]["usd_m_per_ms"] == pytest.approx(20.0)
    assert lat.iloc[0]["verified"] is True


def test_cli_writes_the_files(tmp_path, capsys):
    folder = two_sites(tmp_path / "h")
    out = tmp_path / "out"
    code = main(["value", str(folder), "--workers", "0", "--deltas=-5,5", "--quiet",
                 "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Z 2030: +5 MW saves USD 50.0 M (10.000 M/MW) [re-solve]" in printed
    assert "marginal values of the fixed optimal plan" in printed
    for name in ("summary.json", "headroom_values.csv", "budget_values.csv",
                 "demand_values.csv", "latency_values.csv", "site_cap_values.csv"):
        assert (out / name).is_file(), name
    h = pd.read_csv(out / "headroom_values.csv")
    assert {"zone", "year", "delta_mw", "objective", "delta_objective", "usd_m_per_mw",
            "status", "verified", "warm_started"} <= set(h.columns)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["base_objective"] == pytest.approx(150.0) and summary["all_verified"]
    assert not math.isnan(summary["seconds"])


@pytest.mark.parametrize("argv, code", [
    (["value", str(TINY / "infeasible-capacity"), "--workers", "0"], 3),
    (["value", str(TINY / "cheapest-site"), "--deltas", "0"], 2),
    (["value", str(TINY / "cheapest-site"), "--workers", "0", "--latency-step", "-1"], 2),
    (["value", str(TINY / "p-center"), "--workers", "0"], 2),  # not a cost objective
    (["value", str(TINY / "cheapest-site"), "--workers", "0", "--max-seconds", "0"], 2),
])
def test_bad_input_exit_codes(argv, code, capsys):
    assert run_cli(argv) == code
    assert capsys.readouterr().err.strip()


def test_headroom_of_one_year_is_worth_nothing_if_later_years_lack_it(tmp_path):
    # two years, Z short by 3 MW in both: +5 MW in 2030 alone cannot host A (online in 2030
    # means online in 2031 too); +5 MW from 2030 onward lets A replace B (saves 50)
    folder = two_sites(tmp_path / "two")
    for name, old, new in (("instance.toml", "last_year = 2030", "last_year = 2031"),
                           ("demand.csv", "R,cloud,2030,8", "R,cloud,2030,8\nR,cloud,2031,8"),
                           ("headroom.csv", "Z,2030,12.0\nZ2,2030,100",
                            "Z,2030,12.0\nZ,2031,12.0\nZ2,2030,100\nZ2,2031,100")):
        path = folder / name
        path.write_text(path.read_text().replace(old, new))
    inst = siteopt.load_instance(folder)
    year = value_of_inputs(inst, headroom_deltas=(5,), latency_step=None)
    onward = value_of_inputs(inst, headroom_deltas=(5,), latency_step=None,
                             headroom_scope="onward")
    assert year.base.objective == pytest.approx(150.0)
    y = year.headroom.set_index("year")
    assert y.loc[2030, "delta_objective"] == pytest.approx(0.0, abs=1e-6)
    o = onward.headroom.set_index("year")
    assert o.loc[2030, "delta_objective"] == pytest.approx(-50.0)
    assert "year=2030..2031" in o.loc[2030, "override"]
    assert o["verified"].eq(True).all()


def test_restrictions_go_inwards_out_and_a_plan_that_still_fits_proves_the_next(tmp_path):
    # Z has 20 MW: A (15 facility MW) fits with 5 to spare. -8 and -10 both shut A out (B,
    # 150). The least restriction, -8, is solved first, from nothing (the base plan does not
    # fit there); -10 then starts from -8's plan, which still fits, with -8's bound as its
    # floor (its optimum can only be higher). On Vietnam that floor ends such a re-solve at
    # once (`proof = looser step`); HiGHS proves this tiny one at its root either way.
    inst = siteopt.load_instance(two_sites(tmp_path / "h", headroom_z=20))
    rep = value_of_inputs(inst, headroom_deltas=(-10, -8), latency_step=None)
    h = rep.headroom.set_index("delta_mw")
    assert rep.base.objective == pytest.approx(100.0)
    assert list(h["objective"]) == pytest.approx([150.0, 150.0])
    assert list(h["method"]) == ["re-solve", "re-solve"]
    assert not h.loc[-8.0, "warm_started"] and h.loc[-10.0, "warm_started"]
    assert h.loc[-10.0, "bound"] >= h.loc[-8.0, "bound"] - 1e-9
    assert h["verified"].eq(True).all()


def test_a_spent_time_budget_keeps_the_base_and_marks_the_rest_not_computed(tmp_path):
    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    rep = value_of_inputs(inst, headroom_deltas=(-5, 2, 3, 5), latency_step=None,
                          max_seconds=1e-3)
    h = rep.headroom.set_index("delta_mw")
    assert rep.stopped == "max_seconds" and rep.solves == 0
    assert h.loc[-5.0, "method"] == "base plan feasible"  # settled before any re-solve
    assert set(h.loc[[2.0, 3.0, 5.0], "status"]) == {"not_computed"}
    assert rep.summary()["not_computed"] == 3
    assert rep.base.objective == pytest.approx(150.0) and len(rep.demand)


def test_a_signal_during_the_re_solves_keeps_what_was_settled(tmp_path):
    from siteopt.solver.interrupt import Interrupted

    def listener(what: str, done: int, total: int) -> None:
        if "+" in what and ":" in what:  # a re-solve finished: SIGTERM arrives now
            raise Interrupted(15)

    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    rep = value_of_inputs(inst, headroom_deltas=(2, 3, 5), latency_step=None,
                          listener=listener)
    h = rep.headroom.set_index("delta_mw")
    assert rep.stopped == "SIGTERM"
    # the outermost relaxation is solved first and recorded; the others were never started
    assert h.loc[5.0, "method"] == "re-solve" and h.loc[5.0, "objective"] == pytest.approx(100)
    assert set(h.loc[[2.0, 3.0], "status"]) == {"not_computed"}


def test_cli_max_seconds_writes_what_is_settled(tmp_path, capsys, monkeypatch):
    """--max-seconds bounds the run from its start: the base solve gets the same seconds
    (before, it ran unbounded and the limit counted only from its end). The base here is
    solved without them, so that the run's own stop is what the test sees."""
    from dataclasses import replace

    from siteopt.decide import value as value_module

    real, asked = value_module.solve_base, []

    def base_without_its_limit(instance, options):
        asked.append(options.time_limit)
        return real(instance, replace(options, time_limit=None))
    monkeypatch.setattr(value_module, "solve_base", base_without_its_limit)
    folder = two_sites(tmp_path / "h")
    out = tmp_path / "out"
    code = main(["value", str(folder), "--workers", "0", "--deltas=-5,5", "--quiet",
                 "--max-seconds", "0.001", "--out", str(out)])
    assert code == 0
    assert asked == [0.001]
    assert "stopped (max_seconds): 1 points not computed" in capsys.readouterr().err
    h = pd.read_csv(out / "headroom_values.csv").set_index("delta_mw")
    assert h.loc[5.0, "status"] == "not_computed" and h.loc[-5.0, "status"] == "optimal"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped"] == "max_seconds" and summary["not_computed"] == 1


def test_a_re_solve_whose_deadline_has_passed_does_not_start(tmp_path):
    from siteopt.decide.engine import NOT_STARTED, warm_resolve
    from siteopt.solver.highs import SolveOptions

    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    key = "headroom[zone=Z,year=2030].headroom_mw.add"
    late = warm_resolve(inst, {key: 5}, SolveOptions(), {}, deadline=0.0)  # 1970: long passed
    assert late.result is None and late.error == NOT_STARTED
    timely = warm_resolve(inst, {key: 5}, SolveOptions(), {}, deadline=4.0e9)  # 2096: far ahead
    assert timely.result is not None and timely.result.objective == pytest.approx(100.0)


def test_a_re_solve_is_floored_by_the_bounds_of_the_steps_that_relax_it(tmp_path):
    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    rep = value_of_inputs(inst, headroom_deltas=(-5, 2, 3, 5), latency_step=None)
    h = rep.headroom.set_index("delta_mw")
    solved = h[h["method"] == "re-solve"]
    assert set(solved["proof"]) <= {"solver", "looser step"} and len(solved)
    # every re-solve's bound is a valid lower bound of its own optimum
    assert (solved["bound"] <= solved["objective"] * (1 + 1e-9)).all()
    base = SimpleNamespace(result=SimpleNamespace(bound=149.0))

    def point(delta: float, bound: float | None) -> Point:
        return Point(kind="headroom", ids={"zone": "Z", "year": 2030}, delta=delta,
                     overrides={}, restriction=delta < 0, base_slack=0.0, bound=bound)

    curve = [point(-10, None), point(-5, None), point(2, None), point(5, 99.0),
             point(10, 90.0)]
    other = Point(kind="headroom", ids={"zone": "Z", "year": 2031}, delta=20, overrides={},
                  restriction=False, base_slack=0.0, bound=1e6)
    points = [*curve, other]
    # a relaxation: only larger steps of its own curve bound it (the best of them)
    assert _floor(curve[2], points, base) == 99.0
    assert _floor(curve[4], points, base) is None  # nothing relaxes the largest step
    # a restriction: the base plan's bound too
    assert _floor(curve[1], points, base) == 149.0


def test_a_point_is_settled_between_steps_only_within_the_gap_of_a_proven_bound():
    """Monotonicity settles a point between two computed steps only where the more
    restricted step's plan lies within the gap of the more relaxed step's *bound*; the
    point then reports that bound and the gap it gives. Two objectives within twice the gap
    are not enough: the optimum may lie a further gap below the relaxed step's objective."""
    from siteopt.decide.value import _next_round

    base = SimpleNamespace(objective=5585.30, result=SimpleNamespace(
        bound=5585.30 * (1 - 5e-5), gap=5e-5, verified=True, status="optimal"))

    def curve(bound_100: float) -> list[Point]:
        points = [Point(kind="headroom", ids={"zone": "Z", "year": 2030}, delta=d,
                        overrides={}, restriction=False, base_slack=0.0) for d in (10, 20, 50)]
        return [*points, Point(kind="headroom", ids={"zone": "Z", "year": 2030}, delta=100,
                               overrides={}, restriction=False, base_slack=0.0,
                               status="optimal", method="re-solve", objective=5584.20,
                               bound=bound_100, gap=1e-4, verified=True)]

    # +100 at 5,584.20 (bound 5,583.64) is within twice the gap of the base's 5,585.30, but
    # its bound is 1.7e-4 below: +10..+50 may already save, so the middle one is solved
    loose = curve(5583.64)
    assert _next_round(base, loose, 1e-4) == [loose[1]]
    assert all(p.status == "pending" for p in loose[:3])
    # with +100's bound within the gap of 5,585.30 the three are settled on that bound
    tight = curve(5585.30 - 0.5)
    assert _next_round(base, tight, 1e-4) == []
    for p in tight[:3]:
        assert (p.method, p.status, p.objective, p.bound) == ("implied", "optimal", 5585.30,
                                                              5584.80)
        assert p.gap == pytest.approx(0.5 / 5585.30)


def test_the_printout_says_when_a_looser_steps_bound_proved_a_re_solve():
    from siteopt.decide.value import _point_line

    row = {"delta": 20.0, "objective": 90.0, "delta_objective": -10.0, "value_per_unit": 0.5,
           "status": "optimal", "gap": 0.0, "method": "re-solve", "changes": "",
           "proof": "looser step"}
    line = _point_line(row, "Z 2030", "MW", 0.01)
    assert line == ("Z 2030: +20 MW saves USD 10.0 M (0.500 M/MW) "
                    "[re-solve, proven by a looser step's bound]")
    assert _point_line({**row, "proof": "solver"}, "Z 2030", "MW", 0.01).endswith("[re-solve]")


def test_a_re_solve_starts_from_the_nearest_looser_steps_plan():
    from siteopt.decide.value import _looser_plan

    def point(delta: float, plan: dict[str, float], status: str = "optimal") -> Point:
        return Point(kind="headroom", ids={"zone": "Z", "year": 2030}, delta=delta,
                     overrides={}, restriction=delta < 0, base_slack=0.0, status=status,
                     plan=plan)

    curve = [point(10, {}, "pending"), point(20, {}, "pending"), point(50, {"x": 1.0}),
             point(100, {"x": 2.0}), point(-10, {"y": 1.0})]
    assert _looser_plan(curve[0], curve) == {"x": 1.0}  # +50's, not +100's
    assert _looser_plan(curve[3], curve) is None  # nothing relaxes the largest step
    assert _looser_plan(curve[4], curve) == {"x": 1.0}
    curve[2].status = "time_limit"  # not an optimum: its plan may be dearer than +20's
    assert _looser_plan(curve[1], curve) == {"x": 2.0}


def test_warm_resolve_prefers_a_looser_plan_that_fits(tmp_path):
    from siteopt.decide.engine import warm_resolve

    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    big = warm_resolve(inst, {"headroom[zone=Z,year=2030].headroom_mw.add": 10.0},
                       siteopt.SolveOptions(), {})
    assert big.result.objective == pytest.approx(100.0)  # A fits with 22 MW
    # +3 MW (15 facility MW): A's plan from +10 fits and is optimal; B's start is dearer
    small = warm_resolve(inst, {"headroom[zone=Z,year=2030].headroom_mw.add": 3.0},
                         siteopt.SolveOptions(), {}, floor=big.result.bound,
                         looser=big.plan)
    assert small.warm_started and small.result.objective == pytest.approx(100.0)
    assert small.result.verified
    # +2 MW: A's plan does not fit (14 < 15); the search runs from scratch and finds B
    tight = warm_resolve(inst, {"headroom[zone=Z,year=2030].headroom_mw.add": 2.0},
                         siteopt.SolveOptions(), {}, looser=big.plan)
    assert not tight.warm_started and tight.result.objective == pytest.approx(150.0)


def test_a_resolve_runs_on_the_tightened_model_from_the_base_plan():
    """Re-solves keep the tightening (phase_on); a plan of the model without it still
    starts them: each phase_on is filled in from the phase's online values."""
    from siteopt.decide.engine import solve_base, warm_resolve

    inst = siteopt.load_instance(TINY / "cooling-class")
    base = solve_base(inst, siteopt.SolveOptions(tighten=False))
    assert not any(n.startswith("phase_on[") for n in base.start_values())
    r = warm_resolve(inst, {"headroom[zone=Z,year=2030].headroom_mw.add": 10.0},
                     siteopt.SolveOptions(), base.start_values())
    assert any(n.startswith("phase_on[") for n in r.plan)  # the re-solve's model has them
    assert r.warm_started and r.result.verified
    assert r.result.objective == pytest.approx(base.objective)


def test_a_site_cap_step_that_lets_the_cheaper_site_in(tmp_path):
    # A (100) is capped at 5 IT MW, below its 10 MW phase: B (150) serves. +10 MW of cap
    # lets A in; -5 leaves B's plan as it is. The slack is read from the checked capacity
    # table: A has none built, so 5 MW under a cap smaller than its phase binds.
    folder = two_sites(tmp_path / "c", headroom_z=100.0)
    (folder / "sites.csv").write_text("site,zone,node,max_it_mw\nA,Z,a,5\nB,Z2,b,\n",
                                      encoding="utf-8")
    rep = value_of_inputs(siteopt.load_instance(folder), headroom_deltas=(10,),
                          site_cap_deltas=(-5, 10), latency_step=None)
    c = rep.site_caps.set_index("delta_mw")
    assert set(c["site"]) == {"A"} and c["base_slack"].eq(5.0).all()
    assert c.loc[10.0, "objective"] == pytest.approx(100.0)
    assert c.loc[10.0, "verified"] is True
    assert c.loc[-5.0, "method"] == "base plan feasible"


def interrupted(real, signum: int = 2):
    """`solve_matrices` as Ctrl-C (2) or SIGTERM (15) leaves it: the best plan, marked stopped.

    What `cancel_on_signals` makes of a signal during the solve, without sending one.
    """
    from dataclasses import replace

    def solve_matrices(*args, **kwargs):
        return replace(real(*args, **kwargs), status="interrupted", interrupted_by=signum)
    return solve_matrices


@pytest.mark.parametrize("signum, code", [(2, 130), (15, 143)])
def test_a_signal_during_the_base_solve_stops_the_run(tmp_path, monkeypatch, capsys, signum,
                                                      code):
    """The base plan stopped by Ctrl-C is no optimum to value: the command stops, nothing
    is written (before: the run went on with the interrupted plan called the optimum)."""
    from siteopt.decide import engine

    monkeypatch.setattr(engine, "solve_matrices", interrupted(engine.solve_matrices, signum))
    out = tmp_path / "out"
    assert run_cli(["value", str(two_sites(tmp_path / "h")), "--workers", "0", "--quiet",
                    "--deltas=-5,5", "--out", str(out)]) == code
    assert "optimum" not in capsys.readouterr().out
    assert not out.exists()


def time_limited_first(real, below: float):
    """`solve_matrices` whose first solve (the base plan) stops as at a time limit.

    Its plan is kept, its proven bound `below` USD M under the plan's cost: what a base
    solved by the API under `base_options.time_limit` returns, without depending on timing.
    """
    from dataclasses import replace

    calls = []

    def solve_matrices(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(out)
        if len(calls) > 1:
            return out
        return replace(out, status="time_limit", bound=out.objective - below,
                       gap=below / abs(out.objective))
    return solve_matrices


def test_values_against_a_base_not_proven_optimal_are_bounds(tmp_path, monkeypatch, capsys):
    """Base plan B (150) not proven: its bound is 120, so the optimum may be as low as 120.

    +5 MW lets A in (100): the step saves at least 120 - 100 = 20, not "saves 50"; -5 MW
    keeps B feasible: it costs at most 150 - 120 = 30, not "no change" with status optimal.
    """
    from siteopt.decide import engine

    monkeypatch.setattr(engine, "solve_matrices", time_limited_first(engine.solve_matrices, 30))
    out = tmp_path / "out"
    assert run_cli(["value", str(two_sites(tmp_path / "h")), "--workers", "0", "--quiet",
                    "--deltas=-5,5", "--latency-step", "0", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "optimum" not in printed.splitlines()[0]
    assert "best plan found (time_limit, not proven optimal: gap 20.00%) USD 150.00 M" in printed
    assert ("Z 2030: +5 MW saves at least USD 20.0 M [re-solve; the base plan is not proven "
            "optimal: a bound, not a value]") in printed
    assert ("Z 2030: -5 MW costs at most USD 30.0 M [time_limit, gap 20.00%: a bound, not a "
            "value]") in printed
    assert "fixed base plan (not proven optimal)" in printed
    h = pd.read_csv(out / "headroom_values.csv").set_index("delta_mw")
    assert h.loc[-5.0, "method"] == "base plan feasible"
    assert h.loc[-5.0, "status"] == "time_limit" and h.loc[-5.0, "bound"] == pytest.approx(120)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "best plan found (time_limit, not proven optimal: gap 20.00%) USD 150.00 M" in page
    assert "optimum USD" not in page
    note = json.loads((out / "summary.json").read_text())["note"]
    assert note.startswith("the base plan is not proven optimal (time_limit): every headroom")
    assert "proven within the gap" not in note


def test_the_summary_note_names_points_not_proven(tmp_path, monkeypatch):
    """summary.json said every value was "proven within the gap" even when a re-solve had
    stopped at a time limit; the note now counts such points (they give bounds)."""
    from dataclasses import replace

    from siteopt.decide import engine

    real, calls = engine.solve_matrices, []

    def second_time_limited(*args, **kwargs):
        out = real(*args, **kwargs)
        calls.append(out)
        return out if len(calls) != 2 else replace(out, status="time_limit",
                                                   bound=out.objective - 30, gap=0.3)
    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    proven = value_of_inputs(inst, headroom_deltas=(5,), latency_step=None).summary()["note"]
    assert proven.startswith("headroom, budget, site-cap and latency values are re-solves")
    assert "except" not in proven
    monkeypatch.setattr(engine, "solve_matrices", second_time_limited)
    rep = value_of_inputs(inst, headroom_deltas=(5,), latency_step=None, workers=0)
    assert list(rep.headroom["status"]) == ["time_limit"]
    assert "except 1 point(s) not proven optimal" in rep.summary()["note"]


def test_a_failed_write_leaves_the_previous_folder_whole(tmp_path, monkeypatch):
    """Before, each file was replaced on its own: a write that failed half-way left the new
    CSVs beside the old summary.json."""
    from siteopt.decide.value import ValueReport

    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    out = tmp_path / "out"
    value_of_inputs(inst, headroom_deltas=(-5, 5), latency_step=None).write(out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    again = value_of_inputs(inst, headroom_deltas=(5,), latency_step=None)

    def full_disk(self):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(ValueReport, "summary", full_disk)
    with pytest.raises(OSError):
        again.write(out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_api_writer_refuses_a_folder_that_is_not_a_result(tmp_path):
    """ValueReport.write / AlternativesReport.write replaced whatever `out` named (the CLI
    checked --out, the API did not): a folder of other files is refused and kept."""
    from siteopt.errors import InputError

    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    rep = value_of_inputs(inst, headroom_deltas=(5,), latency_step=None)
    alts = siteopt.near_optimal_plans(inst, count=1, workers=0)
    for report in (rep, alts):
        with pytest.raises(InputError, match=r"no summary\.json"):
            report.write(tmp_path / "h")
        assert (tmp_path / "h" / "instance.toml").is_file()
        report.write(tmp_path / "out")  # a new folder, then its own rewrite
        report.write(tmp_path / "out")


def test_the_tables_keep_a_bound_below_the_optimum(tmp_path):
    """Six significant digits wrote a bound of 99.9999951 as 100, above the optimum it bounds
    (seen on a generated instance: bound 2827.3965 written 2827.4)."""
    inst = siteopt.load_instance(two_sites(tmp_path / "h", capex_a=99.9999951))
    out = value_of_inputs(inst, headroom_deltas=(5,), latency_step=None).write(tmp_path / "o")
    row = pd.read_csv(out / "headroom_values.csv").iloc[0]
    assert row["objective"] == pytest.approx(99.9999951, abs=1e-9)
    assert row["bound"] <= 99.9999951 + 1e-9


def test_a_repeated_step_is_one_point(tmp_path):
    inst = siteopt.load_instance(two_sites(tmp_path / "h"))
    rep = value_of_inputs(inst, headroom_deltas=(5, -5, 5), latency_step=None)
    assert list(rep.headroom["delta_mw"]) == [-5.0, 5.0]


def _documented() -> set[str]:
    """The names in backticks in models/value-and-alternatives.md."""
    import re

    from tests.conftest import REPO

    text = (REPO / "models" / "value-and-alternatives.md").read_text(encoding="utf-8")
    return set(re.findall(r"`([a-z_.<>]+)`", text))


def test_every_summary_field_and_column_is_documented(tmp_path):
    """What a planner reads in a value or alternatives folder is named in the doc's Outputs
    (before, several summary.json fields and CSV columns were missing from it)."""
    from siteopt.decide.alternatives import near_optimal_plans

    doc = _documented()
    folder = two_sites(tmp_path / "h", headroom_z=100)
    inst = siteopt.load_instance(folder)
    rep = value_of_inputs(inst, headroom_deltas=(-5, 5), latency_step=None)
    names = set(rep.summary()) | set(rep.screen or {}) | set(rep.summary()["options"])
    for frame in (rep.headroom, rep.budgets, rep.site_caps, rep.latency, rep.demand):
        names |= set(frame.columns)
    alt = near_optimal_plans(inst, slack=0.6, count=1)
    names |= set(alt.summary()) | set(alt.distances.columns)
    names |= {c for c in alt.table.columns if "." not in c}
    assert sorted(names - doc) == []
