"""Explaining an infeasible instance in the planner's terms.

Two kinds of cause are told apart:
- demand that cannot be met when unserved demand is forbidden: the instance is re-solved
  with priced unserved demand (an elastic copy) and the demand left unserved is listed;
- fixed things that already break a hard rule whatever the plan: existing and committed
  capacity drawing more than a zone's headroom, committed spend over a budget.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from siteopt.instance import Instance
from siteopt.model.data import lead_years, spend_years
from siteopt.overrides import apply_overrides
from siteopt.solver import SolveOptions

#: Penalty used by the elastic copy: high enough that only impossible demand stays unserved.
ELASTIC_PENALTY = 1e4


def fixed_conflicts(inst: Instance) -> list[str]:
    """Hard rules that existing and committed decisions break on their own."""
    out: list[str] = []
    years = inst.years
    cooling = inst.table("cooling").set_index("cooling")
    sites = inst.table("sites").set_index("site")
    zones = inst.table("zones").set_index("zone")
    head = inst.table("headroom").set_index(["zone", "year"])["headroom_mw"]
    power: dict[tuple[str, int], float] = defaultdict(float)
    for _site, r in sites.iterrows():
        if r["existing_it_mw"] > 0:
            for y in years:
                power[r["zone"], y] += r["existing_it_mw"] * cooling.at[r["existing_cooling"],
                                                                        "pue"]
    spend: list[tuple[str, int, float]] = []
    for r in inst.table("phases").itertuples(index=False):
        if pd.isna(r.committed_year):
            continue
        tech = r.cooling[0]
        zone = sites.at[r.site, "zone"]
        for y in years:
            if y >= r.committed_year:
                power[zone, y] += r.it_mw * cooling.at[tech, "pue"]
        span = spend_years(int(r.committed_year), lead_years(int(r.lead_months)))
        amount = r.capex_usd_m * cooling.at[tech, "capex_factor"] / len(span)
        spend.extend((sites.at[r.site, "sponsor"], y, amount) for y in span if y in years)
    for (zone, y), mw in sorted(power.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        limit = zones.at[zone, "derate"] * head[zone, y]
        if mw > limit + 1e-6:
            out.append(f"zone {zone} in {y}: existing and committed capacity draw {mw:.1f} "
                       f"facility MW, headroom allows {limit:.1f} (short by {mw - limit:.1f} "
                       "MW before any upgrade)")
    for sponsor, year, limit in inst.table("budgets")[
            ["sponsor", "year", "max_capex_usd_m"]].itertuples(index=False):
        total = sum(x for sp, y, x in spend
                    if (not sponsor or sp == sponsor) and (pd.isna(year) or y == int(year)))
        if total > limit + 1e-6:
            scope = f"{'sponsor ' + sponsor if sponsor else 'all sponsors'}, " + (
                "whole horizon" if pd.isna(year) else str(int(year)))
            out.append(f"budget ({scope}): committed phases already spend {total:.1f} USD M, "
                       f"limit {limit:.1f}")
    return out


def explain_infeasible(inst: Instance, options: SolveOptions | None = None) -> list[str]:
    """Reasons, in domain terms, why `inst` has no feasible plan (empty if none found)."""
    from siteopt.plan import solve

    reasons = fixed_conflicts(inst)
    if reasons or inst.meta.service.allow_unserved:
        return reasons
    elastic = apply_overrides(inst, {"service.allow_unserved": True,
                                     "service.unserved_penalty_usd_m_per_mw_year":
                                         ELASTIC_PENALTY})
    opts = options or SolveOptions()
    result = solve(elastic, SolveOptions(time_limit=opts.time_limit, gap=opts.gap,
                                         threads=opts.threads, seed=opts.seed))
    if not result.has_plan:
        return reasons
    uns = result.tables["unserved"]
    for r in uns.itertuples(index=False):
        reasons.append(f"demand {r.region}/{r._1} in {r.year}: {r.unserved_mw:.2f} of "
                       f"{r.demand_mw:.2f} IT MW cannot be served (capacity, lead times, grid "
                       "headroom, budgets or latency targets do not allow it)")
    return reasons
