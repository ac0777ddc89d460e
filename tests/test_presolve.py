"""Pre-solve checks: each names its rows, and an error is a proof of infeasibility."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import siteopt
from siteopt.checks.presolve import presolve_checks
from siteopt.errors import InputError
from siteopt.io.orlib import import_orlib
from siteopt.solver.explain import explain
from siteopt.solver.pipeline import solve
from tests.conftest import REPO, TINY
from tests.test_properties import instances


def _by_check(folder) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in presolve_checks(siteopt.load_instance(folder)):
        out.setdefault(f.check, []).append(f"{f.level}: {f}")
    return out


def test_bundled_instances_have_no_errors():
    for folder in sorted(TINY.iterdir()):
        if folder.is_dir() and folder.name != "infeasible-capacity":
            found = _by_check(folder)
            assert not any(m.startswith("error") for ms in found.values() for m in ms), found
    assert _by_check(None) == {}  # Vietnam: nothing to report


def test_phase_after_the_horizon_is_warned(tiny_copy):
    folder = tiny_copy("phase-timing")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m,lead_months\n"
                                       "A,P1,10,100,48\n")
    assert _by_check(folder)["check_phase_horizon"] == [
        "warning: phase A/P1 can come online in 2034 at the earliest (earliest decision, lead "
        "48 months, earlier phases), after the horizon ends in 2032: it is never built "
        "[phases.csv line 2]"]


def test_budget_below_every_phase_is_warned():
    assert _by_check(TINY / "sponsor-budget")["check_budget_below_cheapest_phase"] == [
        "warning: budget (sponsor X, the whole horizon) of 90.00 USD M is smaller than the "
        "cheapest phase it could pay for (A/P1: 100.00 USD M): nothing new can be built within "
        "it [budgets.csv line 2]"]


def test_zone_too_small_for_any_phase_is_warned(tiny_copy):
    folder = tiny_copy("grid-upgrade")
    (folder / "upgrades.csv").unlink()
    assert _by_check(folder)["check_zone_fits_a_phase"] == [
        "warning: zone Z: its smallest phase A/P1 needs 15.00 facility MW but the zone never "
        "has more than 10.00 MW spare (headroom and upgrades less existing and committed "
        "plant): no phase in it can come online [zones.csv line 2]"]


def test_site_on_a_separate_fiber_island_is_warned(tiny_copy):
    folder = tiny_copy("cheapest-site")
    (folder / "sites.csv").write_text("site,zone,node,open_cost_usd_m\nA,Z,a,10\nB,Z,b,5\n"
                                      "C,Z,island,1\n")
    (folder / "links.csv").write_text("a,b,km\na,city,100\nb,city,300\nisland,reef,5\n")
    assert _by_check(folder)["check_graph_components"] == [
        "warning: the fiber graph has 2 separate parts; sites C (nodes island, reef) are cut "
        "off from every region with a location and can serve only location-free demand "
        "[sites.csv line 4]"]


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances())
def test_presolve_errors_and_elastic_violations_agree_with_the_solver(drawn):
    """An error is a proof: the MILP (solved without the checks) is infeasible too; and the
    elastic re-solve finds violations exactly when the MILP is infeasible."""
    meta, tables = drawn
    try:
        inst = siteopt.from_tables(meta, tables)
    except InputError:
        return
    result = solve(inst, checks=False)
    assert result.status in ("optimal", "infeasible")
    errors = [f for f in presolve_checks(inst) if f.level == "error"]
    if errors:
        assert result.status == "infeasible", [str(e) for e in errors]
    explanation = explain(inst)
    assert explanation.elastic_status == "optimal"
    assert bool(explanation.violations) == (result.status == "infeasible"), (
        result.status, [v.message for v in explanation.violations])


def test_location_free_instance_has_no_fiber_island_warning(tmp_path):
    """An imported OR-Library instance puts every site on a node of its own and gives no
    region a location: no site is cut off from any region, so no warning (it used to warn
    once per site that each could serve 'only location-free demand', i.e. all of it)."""
    folder = import_orlib("orlib-cap", REPO / "tests/data/orlib/cap/cap41.txt",
                          tmp_path / "cap41")
    assert "check_graph_components" not in _by_check(folder)


def test_a_phase_over_its_sites_cap_adds_no_capacity(tiny_copy, capsys):
    """Sites capped at 3 IT MW whose only phases hold 10 can have no capacity at all (a
    phase is online whole, after the earlier ones): the bound took the cap, 3 per site, and
    `explain` printed "6.00 IT MW ... short by 2.00" beside the elastic "7.00" short; two
    caps raised by 1 each still make no plan. A at cap 5 with phases of 2 then 10 has 2."""
    from siteopt.cli.main import main
    from siteopt.errors import ExitCode

    folder = tiny_copy("cheapest-site")
    (folder / "sites.csv").write_text("site,zone,node,open_cost_usd_m,max_it_mw\n"
                                      "A,Z,a,10,3\nB,Z,b,5,3\n")
    assert main(["explain", str(folder)]) == ExitCode.INFEASIBLE
    out = " ".join(capsys.readouterr().out.split())
    assert ("2030: total demand 8.00 IT MW exceeds all capacity that can be online by then "
            "(0.00 IT MW), short by 8.00 IT MW; no phase fits under its site's max_it_mw: A/P1 "
            "would take A to 10 IT MW against 3, B/P1 would take B to 10 IT MW against 3 "
            "[demand.csv line 2]") in out, out
    (folder / "sites.csv").write_text("site,zone,node,open_cost_usd_m,max_it_mw\n"
                                      "A,Z,a,10,5\nB,Z,b,5,3\n")
    (folder / "phases.csv").write_text("site,phase,it_mw,capex_usd_m\nA,P1,2,10\nA,P2,10,10\n"
                                       "B,P1,10,120\n")
    assert _by_check(folder)["check_capacity_in_time"] == [
        "error: 2030: total demand 8.00 IT MW exceeds all capacity that can be online by then "
        "(2.00 IT MW), short by 6.00 IT MW [demand.csv line 2]"]
    assert solve(siteopt.load_instance(folder)).status == "infeasible"
