"""Result tables of a solved plan, named like the model's variables and expressions.

Tables (pandas DataFrames, stable order): `schedule` (online), `sites` (open), `upgrades`
(upgrade), `capacity` (capacity, it_load), `power` (power vs. headroom), `served` (serve, with
latency), `unserved` (unserved), `costs` (cost terms per year and their present value), and
`budgets` (spend against every budget row).

`extract` reads the decision tables off the model; `derive` then adds the planner-facing
derived values (decision years, binding flags and slacks, budget spend, why demand went
unserved) from those tables and the instance alone, never from the model, so that every derived
number follows from tables the independent checker has checked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from siteopt.data.instance import Instance
from siteopt.data.rules import (
    first_online_year,
    hosting_sites,
    latency_targets,
    lead_years,
    spend_years,
)
from siteopt.io.write import ZERO, binding, budget_label
from siteopt.model.arrays import array_terms
from siteopt.model.data import ModelData
from siteopt.model.sets import COST_TERMS

RESULT_TABLES = ("schedule", "sites", "upgrades", "capacity", "power", "served", "unserved",
                 "costs", "budgets")


def _val(x: object) -> float:
    return _zero(float(pyo.value(x)))


def _zero(v: float) -> float:
    return 0.0 if abs(v) < ZERO else v


def _first_year(var: pyo.Var, keys: list[tuple]) -> int | None:
    years = [key[-1] for key in keys if round(var[key].value or 0.0) == 1]
    return min(years) if years else None


def extract(m: pyo.ConcreteModel, d: ModelData, inst: Instance) -> dict[str, pd.DataFrame]:
    """Every result table of the plan currently loaded in the model's variables."""
    schedule = _schedule(m, d)
    tables = {
        "schedule": schedule,
        "sites": _sites(m, d, inst, schedule),
        "upgrades": _upgrades(m, d),
        "capacity": _capacity(m, d),
        "power": _power(m, d),
        "served": _served(m, d, inst),
        "unserved": _unserved(m, d),
        "costs": _costs(m, d),
    }
    return derive(inst, tables)


def _schedule(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    by_spk: dict[tuple[str, str, str], list[tuple]] = {}
    for key in d.SPKY:
        by_spk.setdefault(key[:3], []).append(key)
    rows = []
    for (s, p, k), keys in by_spk.items():
        year = _first_year(m.online, keys)
        if year is not None:
            capex = d.phase_capex[s, p] * d.capex_factor[k]
            span = spend_years(year, d.phase_lead[s, p])
            inside = sum(1 for y in span if d.first_year <= y <= d.last_year)
            rows.append({"site": s, "phase": p, "cooling": k, "online_year": year,
                         "it_mw": d.phase_it[s, p], "capex_with_cooling_usd_m": capex,
                         "capex_in_horizon_usd_m": capex * inside / len(span),
                         "committed": (s, p) in d.phase_committed})
    order = {sp: i for i, sp in enumerate(d.SP)}
    frame = pd.DataFrame(rows, columns=["site", "phase", "cooling", "online_year", "it_mw",
                                        "capex_with_cooling_usd_m", "capex_in_horizon_usd_m",
                                        "committed"])
    if not frame.empty:
        frame["_o"] = [order[(s, p)] for s, p in zip(frame["site"], frame["phase"], strict=True)]
        frame = frame.sort_values(["online_year", "_o"]).drop(columns="_o")
    return frame.reset_index(drop=True)


def _sites(m: pyo.ConcreteModel, d: ModelData, inst: Instance,
           schedule: pd.DataFrame) -> pd.DataFrame:
    names = dict(zip(inst.table("sites")["site"], inst.table("sites")["name"], strict=True))
    built = schedule.groupby("site")["it_mw"].sum().to_dict()
    rows = []
    for s in d.S:
        if s in d.opened_before:
            year: int | None = d.first_year
        else:
            year = _first_year(m.open, [(s, y) for y in d.Y])
        final = sum(d.existing.get((s, k), 0.0) for k in d.K) + built.get(s, 0.0)
        rows.append({"site": s, "name": names[s], "zone": d.site_zone[s],
                     "sponsor": d.site_sponsor[s], "existing": s in d.opened_before,
                     "open_year": year, "it_mw_final": final})
    frame = pd.DataFrame(rows)
    frame["open_year"] = frame["open_year"].astype("Int64")
    return frame


def _upgrades(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    rows = []
    for u in d.U:
        year = _first_year(m.upgrade, [key for key in d.UY if key[0] == u])
        if year is not None:
            rows.append({"upgrade": u, "zone": d.upgrade_zone[u], "online_year": year,
                         "add_mw": d.upgrade_mw[u], "capex_usd_m": d.upgrade_capex[u]})
    return pd.DataFrame(rows, columns=["upgrade", "zone", "online_year", "add_mw",
                                       "capex_usd_m"])


def _capacity(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    rows = []
    for s, k, y in d.SKY:
        cap = _val(m.capacity[s, k, y])
        load = _val(m.it_load[s, k, y])
        if cap or load:
            rows.append({"site": s, "cooling": k, "year": y, "capacity_mw": cap,
                         "it_load_mw": load, "pue": d.pue[k]})
    return pd.DataFrame(rows, columns=["site", "cooling", "year", "capacity_mw", "it_load_mw",
                                       "pue"])


def _power(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    added: dict[tuple[str, int], float] = {}
    for u, y in d.UY:
        if round(m.upgrade[u, y].value or 0) == 1:
            key = (d.upgrade_zone[u], y)
            added[key] = added.get(key, 0.0) + d.upgrade_mw[u]
    rows = []
    for z in d.Z:
        for y in d.Y:
            upgrade_mw = added.get((z, y), 0.0)
            derated = d.derate[z] * d.headroom[z, y]  # theta_z H_zy, not the listed H_zy
            rows.append({"zone": z, "year": y, "power_mw": _val(m.power[z, y]),
                         "derated_headroom_mw": derated, "upgrade_mw": upgrade_mw,
                         "limit_mw": derated + upgrade_mw})
    return pd.DataFrame(rows)


def _served(m: pyo.ConcreteModel, d: ModelData, inst: Instance) -> pd.DataFrame:
    targets = latency_targets(inst.meta, inst.tables)
    values = np.fromiter((v.value for v in m.serve.values()), float, len(d.SRCY))
    rows = []
    for j in np.flatnonzero(np.abs(values) >= ZERO).tolist():
        s, r, c, y = d.SRCY[j]
        rows.append({"site": s, "region": r, "class": c, "year": y, "serve_mw": values[j],
                     "rtt_ms": d.latency.get((s, r), float("nan")),
                     "max_rtt_ms": targets.get((r, c), float("nan"))})
    return pd.DataFrame(rows, columns=["site", "region", "class", "year", "serve_mw", "rtt_ms",
                                       "max_rtt_ms"])


def _unserved(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    rows = []
    for r, c, y in d.RCY:
        v = _val(m.unserved[r, c, y])
        if v:
            rows.append({"region": r, "class": c, "year": y, "demand_mw": d.demand[r, c, y],
                         "unserved_mw": v})
    return pd.DataFrame(rows, columns=["region", "class", "year", "demand_mw", "unserved_mw"])


def _costs(m: pyo.ConcreteModel, d: ModelData) -> pd.DataFrame:
    rows = []
    for y in d.Y:
        row: dict[str, float] = {"year": y, "discount": d.discount[y]}
        for term in COST_TERMS:
            expr = m.cost[term, y]
            arrays = array_terms(m, expr.expr)  # the per-pair service cost: no term walk
            row[term] = _zero(arrays.value()) if arrays is not None else _val(expr)
        row["total"] = sum(row[t] for t in COST_TERMS)
        row["total_pv"] = row["total"] * d.discount[y]
        rows.append(row)
    return pd.DataFrame(rows)


# ---- derived values: from the checked tables and the instance only ----------------------------

def derive(inst: Instance, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The planner-facing derived columns and tables, computed from result tables alone.

    The one function that derives values from the plan's checked tables (`schedule`, `sites`,
    `upgrades`, `power`, `unserved`) and the instance; it reads no model. Adds:

    - `schedule.decision_year`: the year construction must start, online_year minus the
      phase's lead years (`rules.lead_years`; equal to online_year for a zero lead);
    - `power.slack_mw` (limit_mw - power_mw) and `power.binding` (see `binding`);
    - the `budgets` table: spend_usd_m (capex spread over its construction years, site
      opening costs in the opening year, upgrade capex; `rules.spend_years`) of every budget
      row against its limit, with slack_usd_m and binding;
    - `unserved.reason`: why that demand was not served (`unserved_reasons`).

    Returns a new dict; the input tables are not changed. Idempotent: derived columns
    already present are computed again.
    """
    out = dict(tables)
    phases = inst.table("phases")
    lead = {(s, p): lead_years(int(m)) for s, p, m in
            phases[["site", "phase", "lead_months"]].itertuples(index=False)}
    sched = tables["schedule"].drop(columns="decision_year", errors="ignore")
    decision = [int(y) - lead.get((s, p), 0) for s, p, y in
                sched[["site", "phase", "online_year"]].itertuples(index=False)]
    pos = list(sched.columns).index("online_year") if "online_year" in sched else len(sched.columns)
    sched.insert(pos, "decision_year", pd.array(decision, dtype="Int64"))
    out["schedule"] = sched
    power = tables["power"].drop(columns=["slack_mw", "binding"], errors="ignore")
    power["slack_mw"] = (power["limit_mw"] - power["power_mw"]).where(lambda x: x.abs() >= ZERO,
                                                                      0.0)
    power["binding"] = (power["power_mw"] > ZERO) & binding(power["slack_mw"], power["limit_mw"])
    out["power"] = power
    out["budgets"] = budget_spend(inst, sched, tables["sites"], tables["upgrades"])
    unserved = tables["unserved"].drop(columns="reason", errors="ignore")
    unserved["reason"] = unserved_reasons(inst, {**out, "capacity": tables["capacity"],
                                                 "unserved": unserved})
    out["unserved"] = unserved
    return out


def budget_spend(inst: Instance, schedule: pd.DataFrame, sites: pd.DataFrame,
                 upgrades: pd.DataFrame) -> pd.DataFrame:
    """Spend (USD M) of the plan against every row of budgets.csv, in file order.

    Columns: budget (name), sponsor (empty: all), year (empty: the whole horizon),
    spend_usd_m, limit_usd_m, slack_usd_m, binding.
    """
    years = set(inst.years)
    st = inst.table("sites").set_index("site")
    ups = inst.table("upgrades").set_index("upgrade")
    lead = {(s, p): lead_years(int(m)) for s, p, m in
            inst.table("phases")[["site", "phase", "lead_months"]].itertuples(index=False)}
    spend: list[tuple[str, int, float]] = []  # (sponsor, year, USD M)

    def spread(sponsor: str, total: float, online: int, lead_y: int) -> None:
        span = spend_years(online, lead_y)
        spend.extend((sponsor, y, total / len(span)) for y in span if y in years)

    for r in schedule.itertuples(index=False):
        spread(str(st.at[r.site, "sponsor"]), float(r.capex_with_cooling_usd_m), int(r.online_year),
               lead.get((r.site, r.phase), 0))
    for r in sites.itertuples(index=False):
        if not pd.isna(r.open_year) and not bool(r.existing):
            spend.append((str(st.at[r.site, "sponsor"]), int(r.open_year),
                          float(st.at[r.site, "open_cost_usd_m"])))
    for r in upgrades.itertuples(index=False):
        spread(str(ups.at[r.upgrade, "sponsor"]), float(r.capex_usd_m), int(r.online_year),
               lead_years(int(ups.at[r.upgrade, "lead_months"])))
    rows = []
    for sponsor, year, limit in inst.table("budgets")[
            ["sponsor", "year", "max_capex_usd_m"]].itertuples(index=False):
        total = _zero(sum(x for sp, y, x in spend
                          if (not sponsor or sp == sponsor) and (pd.isna(year) or y == int(year))))
        slack = _zero(float(limit) - total)
        rows.append({"budget": budget_label(sponsor, year), "sponsor": sponsor,
                     "year": None if pd.isna(year) else int(year), "spend_usd_m": total,
                     "limit_usd_m": float(limit), "slack_usd_m": slack,
                     "binding": bool(binding(slack, float(limit)))})
    frame = pd.DataFrame(rows, columns=["budget", "sponsor", "year", "spend_usd_m", "limit_usd_m",
                                        "slack_usd_m", "binding"])
    frame["year"] = frame["year"].astype("Int64")
    return frame


def allowed_sites(inst: Instance) -> dict[tuple[str, str], set[str]]:
    """For each (region, class) with demand, the sites that may serve it at all.

    A site may serve when it can host the class (cooling) and, for a region with a node,
    reaches it over fiber within the latency target (any connected site without a target).
    """
    hosts = hosting_sites(inst.tables)
    targets = latency_targets(inst.meta, inst.tables)
    located = dict(zip(inst.table("regions")["region"], inst.table("regions")["node"],
                       strict=True))
    rtt: dict[str, dict[str, float]] = {}
    for s, r, ms in inst.latency[["site", "region", "rtt_ms"]].itertuples(index=False):
        rtt.setdefault(r, {})[s] = float(ms)
    out = {}
    demand = inst.table("demand")
    for r, c in dict.fromkeys(zip(demand["region"], demand["class"], strict=True)):
        sites = hosts.get(c, set())
        if located.get(r, ""):
            target = targets.get((r, c), float("inf"))
            sites = {s for s in sites if rtt.get(r, {}).get(s, float("inf")) <= target + 1e-9}
        out[r, c] = sites
    return out


def earliest_online(inst: Instance) -> dict[str, int]:
    """First year each site can have any capacity (existing plant: the first year)."""
    y0 = inst.years[0]
    out: dict[str, int] = {}
    for r in inst.table("sites").itertuples(index=False):
        if r.existing_it_mw > 0:
            out[r.site] = y0
    for r in inst.table("phases").itertuples(index=False):
        year = (int(r.committed_year) if not pd.isna(r.committed_year) else
                first_online_year(r.earliest_decision_year, lead_years(int(r.lead_months)), y0,
                                  r.earliest_online_year))
        out[r.site] = min(out.get(r.site, year), year)
    return out


def _phase_needs(inst: Instance, schedule: pd.DataFrame
                 ) -> dict[str, list[tuple[float, float, float]]]:
    """Per site: (online year, facility MW, USD M per spend year) of every phase.

    The online year is the plan's (infinite if not built); MW and USD M are the least over the
    phase's allowed coolings (PUE, capex factor).
    """
    cooling = inst.table("cooling").set_index("cooling")
    buildable = tuple(cooling.index[cooling["buildable"].astype(bool)])
    online = {(s, p): float(y) for s, p, y in
              schedule[["site", "phase", "online_year"]].itertuples(index=False)}
    out: dict[str, list[tuple[float, float, float]]] = {}
    for r in inst.table("phases").itertuples(index=False):
        techs = [k for k in (r.cooling or buildable) if k in cooling.index]
        pue = min((float(cooling.at[k, "pue"]) for k in techs), default=1.0)
        factor = min((float(cooling.at[k, "capex_factor"]) for k in techs), default=1.0)
        span = max(1, lead_years(int(r.lead_months)))
        out.setdefault(r.site, []).append((online.get((r.site, r.phase), float("inf")),
                                           float(r.it_mw) * pue,
                                           float(r.capex_usd_m) * factor / span))
    return out


def unserved_reasons(inst: Instance, tables: dict[str, pd.DataFrame]) -> list[str]:
    """Why each row of `tables["unserved"]` was not served: the rules that priced it out.

    Among the sites allowed to serve it (`allowed_sites`), in this order:

    - "latency": no site that can host the class reaches the region within its target;
    - "lead time": no allowed site can have capacity online by that year;
    - "headroom in zone Z": an allowed site's zone binds that year (`power.binding`) or has
      less slack than the smallest phase not online by then needs;
    - "budget B": a budget row that could pay for an allowed site binds or has less slack
      than a year's spend of the cheapest phase left (a yearly row of that year or earlier,
      or a horizon row; of that site's sponsor or of all sponsors);
    - "site cap": every allowed site is built out (all its phases, or its max_it_mw);
    - "cost": none of these binds, so leaving it unserved (priced at the penalty) was cheaper.

    Several binding rules are listed together, separated by "; ".
    """
    unserved = tables["unserved"]
    if unserved.empty:
        return []
    power, budgets = tables["power"], tables["budgets"]
    allowed = allowed_sites(inst)
    first = earliest_online(inst)
    st = inst.table("sites").set_index("site")
    needs = _phase_needs(inst, tables["schedule"])
    cap_site = tables["capacity"].groupby(["site", "year"])["capacity_mw"].sum().to_dict()
    power_at = power.set_index(["zone", "year"])
    reasons = []
    for r, c, y in unserved[["region", "class", "year"]].itertuples(index=False):
        y = int(y)
        sites = allowed.get((r, c), set())
        if not sites:
            reasons.append("latency: no site able to host this class is within the region's "
                           "latency target")
            continue
        ready = {s for s in sites if first.get(s, 10**9) <= y}
        if not ready:
            when = min(first.get(s, 10**9) for s in sites)
            reasons.append(f"lead time: no allowed site can be online before {when}"
                           if when < 10**9 else "lead time: no allowed site has a phase")
            continue
        left = {s: [(mw, usd) for when, mw, usd in needs.get(s, []) if when > y
                    and (pd.isna(st.at[s, "max_it_mw"])
                         or cap_site.get((s, y), 0.0) < float(st.at[s, "max_it_mw"]) - 1e-6)]
                for s in ready}
        found = []
        for z in sorted({st.at[s, "zone"] for s in ready}):
            if (z, y) not in power_at.index:
                continue
            row = power_at.loc[(z, y)]
            least = min((mw for s in ready if st.at[s, "zone"] == z for mw, _ in left[s]),
                        default=None)
            if bool(row["binding"]) or (least is not None and row["slack_mw"] < least - 1e-6):
                found.append(f"headroom in zone {z}")
        for b in budgets.itertuples(index=False):
            if not pd.isna(b.year) and int(b.year) > y:
                continue
            payers = [s for s in ready if not b.sponsor or st.at[s, "sponsor"] == b.sponsor]
            least = min((usd for s in payers for _, usd in left[s]), default=None)
            if payers and (bool(b.binding) or (least is not None
                                               and b.slack_usd_m < least - 1e-6)):
                found.append(f"budget {b.budget}")
        if not any(left[s] for s in ready):
            found.append("site cap")
        reasons.append("; ".join(found) if found else
                       "cost: serving it would cost more than the unserved penalty")
    return reasons
