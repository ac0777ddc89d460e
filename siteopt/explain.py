"""Explaining an infeasible instance in the planner's terms.

Two kinds of cause are told apart:
- demand that cannot be met when unserved demand is forbidden: the instance is re-solved
  with priced unserved demand (an elastic copy) and the demand left unserved is listed;
- fixed things that already break a hard rule whatever the plan: existing and committed
  capacity drawing more than a zone's headroom, committed spend over a budget.
"""

from __future__ import annotations

import pandas as pd

from siteopt.checker import check_plan
from siteopt.instance import Instance
from siteopt.model.data import first_online_year, lead_years
from siteopt.overrides import apply_overrides
from siteopt.solver import SolveOptions

#: Penalty used by the elastic copy: high enough that only impossible demand stays unserved.
ELASTIC_PENALTY = 1e4


def _committed_plan(inst: Instance, with_upgrades: bool) -> dict[str, pd.DataFrame]:
    """The plan that builds only what is committed, in the checker's table format.

    With `with_upgrades`, every grid upgrade is bought for its earliest online year.
    """
    y0 = inst.years[0]
    phases = inst.table("phases")
    fixed = phases[phases["committed_year"].notna()]
    schedule = pd.DataFrame({"site": fixed["site"], "phase": fixed["phase"],
                             "cooling": [c[0] for c in fixed["cooling"]],
                             "online_year": fixed["committed_year"].astype(int)})
    first = schedule.groupby("site")["online_year"].min()
    sites = inst.table("sites")
    open_year = [y0 if e > 0 else first.get(s) for s, e in
                 zip(sites["site"], sites["existing_it_mw"], strict=True)]
    ups = inst.table("upgrades")
    upgrades = pd.DataFrame({"upgrade": pd.Series(dtype=object),
                             "online_year": pd.Series(dtype=int)})
    if with_upgrades and len(ups):
        earliest = [first_online_year(e, lead_years(int(m)), y0) for e, m in
                    zip(ups["earliest_decision_year"], ups["lead_months"], strict=True)]
        keep = [y <= inst.years[-1] for y in earliest]
        upgrades = pd.DataFrame({"upgrade": ups["upgrade"][keep],
                                 "online_year": [y for y, k in zip(earliest, keep,
                                                                   strict=True) if k]})
    return {
        "schedule": schedule,
        "sites": pd.DataFrame({"site": sites["site"],
                               "open_year": pd.array(open_year, dtype="Int64")}),
        "upgrades": upgrades,
        "capacity": pd.DataFrame(columns=["site", "cooling", "year", "it_load_mw"]),
        "served": pd.DataFrame(columns=["site", "region", "class", "year", "serve_mw"]),
        "unserved": pd.DataFrame(columns=["region", "class", "year", "unserved_mw"]),
    }


def fixed_conflicts(inst: Instance) -> list[str]:
    """Hard rules that existing and committed decisions break whatever else is decided.

    Uses the independent checker on the plan that builds only what is committed: its budget
    violations stand even without upgrades, its headroom violations even with every upgrade
    bought as early as it can be online.
    """
    out = []
    for v in check_plan(inst, _committed_plan(inst, with_upgrades=True)).violations:
        if v.startswith("zone "):
            out.append(f"{v} with existing and committed capacity alone, even with every grid "
                       "upgrade bought as early as possible")
    for v in check_plan(inst, _committed_plan(inst, with_upgrades=False)).violations:
        if v.startswith("budget "):
            out.append(f"{v} on committed phases and their sites alone")
    return out


def explain_infeasible(inst: Instance, options: SolveOptions | None = None) -> list[str]:
    """Reasons, in domain terms, why `inst` has no feasible plan (empty if none found)."""
    from siteopt.plan import solve

    reasons = fixed_conflicts(inst)
    if reasons or inst.meta.unserved_allowed:
        return reasons
    elastic = apply_overrides(inst, {"service.allow_unserved": True,
                                     "siting.objective": "total_cost",
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
