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
    assert fixed_conflicts(inst) == [
        "budget (all sponsors, 2030): committed phases already spend 100.0 USD M, limit 60.0"]
    assert siteopt.solve(inst).status == "infeasible"


def test_existing_load_over_headroom_is_named(tiny_copy):
    folder = tiny_copy("existing-capacity")
    (folder / "headroom.csv").write_text("zone,year,headroom_mw\nZ,2030,15\n")
    reasons = fixed_conflicts(siteopt.load_instance(folder))
    assert reasons == ["zone Z in 2030: existing and committed capacity draw 20.0 facility MW, "
                       "headroom allows 15.0 (short by 5.0 MW before any upgrade)"]


def test_cli_prints_the_explanation_and_exits_infeasible(capsys):
    code = main(["solve", str(TINY / "infeasible-capacity")])
    err = capsys.readouterr().err
    assert code == ExitCode.INFEASIBLE
    assert "R/cloud in 2030: 10.00 of 20.00 IT MW cannot be served" in err
