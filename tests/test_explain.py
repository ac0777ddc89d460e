"""Infeasible instances are explained in the planner's terms."""

from __future__ import annotations

import siteopt
from siteopt.cli import main
from siteopt.errors import ExitCode
from siteopt.explain import explain_infeasible, fixed_conflicts
from tests.conftest import TINY


def test_unmeetable_demand_is_named_with_its_shortfall():
    reasons = explain_infeasible(siteopt.load_instance(TINY / "infeasible-capacity"))
    assert reasons == [
        "demand R/cloud in 2030: 10.00 of 20.00 IT MW cannot be served (capacity, lead times, "
        "grid headroom, budgets or latency targets do not allow it)"]


def test_committed_spend_over_budget_is_named(tiny_copy):
    folder = tiny_copy("committed-phase")
    (folder / "phases.csv").write_text(
        "site,phase,it_mw,capex_usd_m,cooling,lead_months,committed_year\n"
        "A,P1,10,100,air,0,2030\n")
    (folder / "budgets.csv").write_text("sponsor,year,max_capex_usd_m\n,2030,60\n")
    inst = siteopt.load_instance(folder)
    # the committed phase (100) and its site's opening (10) are both committed spend
    assert fixed_conflicts(inst) == [
        "budget (sponsor all, year 2030) spends 110.000 USD M, limit 60.0 on committed phases "
        "and their sites alone"]
    assert siteopt.solve(inst).status == "infeasible"


def test_existing_load_over_headroom_is_named(tiny_copy):
    folder = tiny_copy("existing-capacity")
    (folder / "headroom.csv").write_text("zone,year,headroom_mw\nZ,2030,15\n")
    reasons = fixed_conflicts(siteopt.load_instance(folder))
    assert reasons == ["zone Z draws 20.000 facility MW in 2030, limit 15.000 with existing and "
                       "committed capacity alone, even with every grid upgrade bought as early "
                       "as possible"]


def test_headroom_an_upgrade_can_fix_is_not_blamed(tiny_copy):
    """Existing plant over headroom that an available upgrade covers is no cause; the demand
    that cannot be met is (regression from review)."""
    folder = tiny_copy("grid-upgrade")
    (folder / "sites.csv").write_text("site,zone,node,existing_it_mw,existing_cooling\n"
                                      "A,Z,a,10,air\nB,Z2,b,0,\n")
    (folder / "demand.csv").write_text("region,class,year,it_mw\nR,cloud,2030,30\n")
    inst = siteopt.load_instance(folder)
    assert fixed_conflicts(inst) == []
    reasons = explain_infeasible(inst)
    assert len(reasons) == 1 and reasons[0].startswith("demand R/cloud in 2030: 10.00 of 30.00")


def test_cli_prints_the_explanation_and_exits_infeasible(capsys):
    code = main(["solve", str(TINY / "infeasible-capacity")])
    err = capsys.readouterr().err
    assert code == ExitCode.INFEASIBLE
    assert "R/cloud in 2030: 10.00 of 20.00 IT MW cannot be served" in err
