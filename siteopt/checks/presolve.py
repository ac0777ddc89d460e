"""Pre-solve checks: cheap bounds that show, before any model is built, what cannot work.

Each check is a named function of a validated instance returning `Finding`s that name the
instance rows involved (file and line). An **error** is a proof that no plan satisfies the
hard constraints (the solve would be infeasible), so it must rest on a valid bound: every
capacity or headroom figure below is an upper bound on what any plan can reach. A
**warning** names something the planner probably did not intend (a phase that can never be
built, a zone no phase fits in, demand that will go unserved) without making the instance
infeasible.

The checks answer, in order: is there enough capacity in time (`check_capacity_in_time`,
`check_demand_reach`), can every phase come online within the horizon
(`check_phase_horizon`), do budgets leave room for what must be built
(`check_committed_budgets`, `check_budget_below_cheapest_phase`), can every zone carry its
existing and committed plant and at least its smallest phase (`check_fixed_headroom`,
`check_zone_fits_a_phase`), and is the fiber graph in one piece (`check_graph_components`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from siteopt.data.instance import Instance
from siteopt.data.network import components, instance_graph
from siteopt.data.rules import (
    first_online_year,
    latency_targets,
    lead_years,
    phase_sequences,
    spend_years,
)
from siteopt.io.frames import row_line

#: Slack in MW or USD M below which a shortfall is rounding, not a finding.
EPS = 1e-6

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One pre-solve finding: which check, how serious, what, and which rows."""

    check: str
    level: Level
    message: str
    rows: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        where = f" [{'; '.join(self.rows)}]" if self.rows else ""
        return f"{self.message}{where}"


def _rows(file: str, lines: list[int], limit: int = 6) -> str:
    """`file line 2, 5, 9` (at most `limit` lines shown)."""
    shown = ", ".join(str(n) for n in sorted(set(lines))[:limit])
    more = " ..." if len(set(lines)) > limit else ""
    noun = "line" if len(set(lines)) == 1 else "lines"
    return f"{file} {noun} {shown}{more}"


@dataclass(frozen=True)
class _Phase:
    """A phase as the checks see it: when it can first be online, with which coolings."""

    site: str
    phase: str
    it_mw: float
    capex: float
    coolings: tuple[str, ...]
    first: int  # first year it can be online (committed year if committed)
    lead_months: int
    committed: bool
    line: int
    #: `earliest_online_year` if the phase sets one (the "not before" of the planner)
    not_before: int | None = None


class InstanceView:
    """Derived lookups shared by the checks (built once per instance)."""

    def __init__(self, inst: Instance):
        self.inst = inst
        t = inst.tables
        self.y0, self.yT = inst.years[0], inst.years[-1]
        cooling = t["cooling"]
        self.pue = dict(zip(cooling["cooling"], cooling["pue"], strict=True))
        self.capex_factor = dict(zip(cooling["cooling"], cooling["capex_factor"], strict=True))
        self.buildable = tuple(cooling.loc[cooling["buildable"].astype(bool), "cooling"])
        self.all_cooling = tuple(cooling["cooling"])
        sites = t["sites"]
        self.sites = list(sites["site"])
        self.site_line = {s: row_line(sites, i) for i, s in enumerate(sites["site"])}
        self.site_zone = dict(zip(sites["site"], sites["zone"], strict=True))
        self.site_sponsor = dict(zip(sites["site"], sites["sponsor"], strict=True))
        self.open_cost = dict(zip(sites["site"], sites["open_cost_usd_m"], strict=True))
        self.max_it = {s: float(v) for s, v in zip(sites["site"], sites["max_it_mw"],
                                                   strict=True) if not pd.isna(v)}
        self.existing = {r.site: (float(r.existing_it_mw), r.existing_cooling)
                         for r in sites.itertuples(index=False) if r.existing_it_mw > 0}
        phases = t["phases"]
        self.phases: dict[str, list[_Phase]] = {s: [] for s in self.sites}
        for site, order in phase_sequences(phases).items():
            ready = self.y0  # a phase cannot be online before its predecessor
            for i in order:
                row = phases.iloc[i]
                committed = not pd.isna(row["committed_year"])
                if committed:
                    first = int(row["committed_year"])
                else:
                    first = max(ready, first_online_year(row["earliest_decision_year"],
                                                         lead_years(int(row["lead_months"])),
                                                         self.y0, row["earliest_online_year"]))
                ready = first
                self.phases.setdefault(site, []).append(_Phase(
                    site=site, phase=row["phase"], it_mw=float(row["it_mw"]),
                    capex=float(row["capex_usd_m"]),
                    coolings=tuple(row["cooling"]) or self.buildable, first=first,
                    lead_months=int(row["lead_months"]), committed=committed,
                    line=row_line(phases, i),
                    not_before=(None if pd.isna(row["earliest_online_year"])
                                else int(row["earliest_online_year"]))))
        # A phase is online only with every earlier phase of its site (phase order): one
        # that would take existing plant and earlier phases above max_it_mw never is, nor
        # any after it. The cap alone counted them (3 IT MW at a site capped at 3 whose only
        # phase holds 10), and a shortfall too small to make a plan was printed.
        self.fitting: dict[str, list[_Phase]] = {}  # the phases that can ever be online
        self.over_cap: dict[str, tuple[_Phase, float]] = {}  # the first that cannot, at MW
        for site, seq in self.phases.items():
            chain = self.existing[site][0] if site in self.existing else 0.0
            self.fitting[site] = seq
            for n, ph in enumerate(seq):
                chain += ph.it_mw
                if site in self.max_it and not ph.committed and chain > self.max_it[site] + EPS:
                    self.over_cap[site] = (ph, chain)
                    self.fitting[site] = seq[:n]
                    break
        classes = t["classes"]
        self.class_cooling = {c: frozenset(a or self.all_cooling) for c, a in zip(
            classes["class"], classes["cooling"], strict=True)}
        self.util = inst.meta.service.max_utilization
        self.allow_unserved = inst.meta.unserved_allowed

    def capacity(self, site: str, year: int, allowed: frozenset[str] | None = None,
                 ) -> tuple[float, list[str]]:
        """Upper bound on IT MW at `site` in `year` on coolings in `allowed` (None: any).

        Existing plant on an allowed cooling plus every phase able to use an allowed cooling
        that can be online by `year` (and fits under max_it_mw after the phases before it),
        capped by the site's max_it_mw. Returns the bound and
        the contributions (for messages).
        """
        total, parts = 0.0, []
        if site in self.existing:
            mw, k = self.existing[site]
            if allowed is None or k in allowed:
                total += mw
                parts.append(f"existing {mw:g}")
        for ph in self.fitting.get(site, []):
            if ph.first <= year and (allowed is None or set(ph.coolings) & allowed):
                total += ph.it_mw
                parts.append(f"{ph.site}/{ph.phase} {ph.it_mw:g}")
        if site in self.max_it and total > self.max_it[site]:
            total = self.max_it[site]
            parts.append(f"cap {self.max_it[site]:g}")
        return total, parts

    def hosts(self, site: str, allowed: frozenset[str]) -> bool:
        """Whether `site` has or can build capacity on a cooling in `allowed` (any time)."""
        if site in self.existing and self.existing[site][1] in allowed:
            return True
        return any(set(ph.coolings) & allowed for ph in self.phases.get(site, []))

    def earliest(self, sites: list[str], allowed: frozenset[str] | None) -> str:
        """When the listed sites' first capacity on `allowed` coolings can come online."""
        firsts = []
        for s in sites:
            if s in self.existing and (allowed is None or self.existing[s][1] in allowed):
                return f"{s} has existing capacity"
            for ph in self.fitting.get(s, []):
                if allowed is None or set(ph.coolings) & allowed:
                    firsts.append((ph.first, ph))
        if not firsts:
            over = [self.over_cap[s] for s in sites if s in self.over_cap]
            if over:  # phases exist, but none fits under its site's cap
                return "no phase fits under its site's max_it_mw: " + ", ".join(
                    f"{ph.site}/{ph.phase} would take {ph.site} to {mw:g} IT MW against "
                    f"{self.max_it[ph.site]:g}" for ph, mw in over)
            return "none of them has a phase with a suitable cooling"
        first, ph = min(firsts, key=lambda x: (x[0], x[1].site, x[1].phase))
        return (f"the earliest is {ph.site}/{ph.phase} in {first} (lead {ph.lead_months} "
                "months)")


Check = Callable[[InstanceView], list[Finding]]


def _shortfall_level(view: InstanceView) -> Level:
    return "warning" if view.allow_unserved else "error"


def check_capacity_in_time(view: InstanceView) -> list[Finding]:
    """Total demand of each year against all capacity that can be online by then.

    Bound: max_utilization x sum over sites of min(cap, existing + every phase whose
    earliest online year (after lead time and its predecessors) is no later and that fits
    under the cap with the phases before it). Demand above
    it cannot all be served: an error when unserved demand is forbidden, else a warning.
    """
    demand = view.inst.table("demand")
    out = []
    for year in view.inst.years:
        mask = (demand["year"] == year).to_numpy() & (demand["it_mw"] > 0).to_numpy()
        need = float(demand.loc[mask, "it_mw"].sum())
        if need <= EPS:
            continue
        built = sum(view.capacity(s, year)[0] for s in view.sites)
        sellable = view.util * built
        if need > sellable + EPS * max(1.0, need):
            lines = [row_line(demand, i) for i in range(len(demand)) if mask[i]]
            util = (f" x max_utilization {view.util:g} = {sellable:.2f} sellable"
                    if view.util < 1 else "")
            out.append(Finding(
                "check_capacity_in_time", _shortfall_level(view),
                f"{year}: total demand {need:.2f} IT MW exceeds all capacity that can be "
                f"online by then ({built:.2f} IT MW{util}), short by "
                f"{need - sellable:.2f} IT MW" + (
                    f"; {view.earliest(view.sites, None)}" if built <= EPS else ""),
                (_rows("demand.csv", lines),)))
    return out


def check_demand_reach(view: InstanceView) -> list[Finding]:
    """Each region and class against the capacity of the sites that may serve it, per year.

    The sites that may serve (r, c) are those within its latency target (or connected, for
    no target; any site for a location-free region) with a cooling class c runs on; their
    capacity on those coolings by year y bounds what (r, c) can get in y. Reported when no
    such site can have any capacity yet (timing) or the bound is below the demand.
    """
    inst = view.inst
    targets = latency_targets(inst.meta, inst.tables)
    region_node = dict(zip(inst.table("regions")["region"], inst.table("regions")["node"],
                           strict=True))
    site_pos = {s: i for i, s in enumerate(view.sites)}
    lat = inst.latency
    by_region: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    lat_site = np.fromiter(map(site_pos.__getitem__, lat["site"]), np.int64, len(lat))
    lat_rtt = lat["rtt_ms"].to_numpy(dtype=float)
    for region, idx in lat.groupby("region", sort=False).indices.items():
        by_region[region] = (lat_site[idx], lat_rtt[idx])
    years = inst.years
    hosts: dict[frozenset[str], np.ndarray] = {}  # per allowed set: can site s host it
    caps: dict[frozenset[str], np.ndarray] = {}  # per allowed set: capacity bound [s, year]
    reaches: dict[tuple[str, str], np.ndarray] = {}  # sites that may serve (r, c), in order
    demand = inst.table("demand")
    year_total: dict[int, float] = defaultdict(float)
    for y, mw in zip(demand["year"], demand["it_mw"], strict=True):
        year_total[int(y)] += float(mw)
    out = []
    rows = demand[["region", "class", "year", "it_mw"]].itertuples(index=False, name=None)
    for i, (region, cls, year_cell, mw) in enumerate(rows):  # by name: any column order
        year, need = int(year_cell), float(mw)
        if need <= EPS:
            continue
        allowed = view.class_cooling[cls]
        target = targets.get((region, cls))
        if allowed not in hosts:
            hosts[allowed] = np.array([view.hosts(s, allowed) for s in view.sites], bool)
            caps[allowed] = np.array([[view.capacity(s, y, allowed)[0] for y in years]
                                      for s in view.sites]).reshape(len(view.sites), len(years))
        if (region, cls) not in reaches:
            if region_node[region] == "":
                ok = np.arange(len(view.sites))
            else:
                sites, rtts = by_region.get(region, (np.zeros(0, np.int64), np.zeros(0)))
                ok = np.sort(sites[rtts <= target + 1e-9] if target is not None else sites)
            reaches[region, cls] = ok[hosts[allowed][ok]]
        idx = reaches[region, cls]
        if not len(idx):
            continue  # no site at all: validation reports it (or warned: unserved)
        cap = float(caps[allowed][idx, year - years[0]].sum())
        sellable = view.util * cap
        if need <= sellable + EPS * max(1.0, need):
            continue
        if (len(idx) == len(view.sites) and allowed == frozenset(view.all_cooling)
                and year_total[year] <= need + EPS):
            continue  # the same bound as check_capacity_in_time's for that year
        reach = [view.sites[j] for j in idx.tolist()]
        within = "within its latency target" if target is not None else "connected to it"
        if region_node[region] == "":
            within = "able to host it (location-free region)"
        cool = "" if allowed == frozenset(view.all_cooling) else (
            f" on {'|'.join(sorted(allowed))} cooling")
        if cap <= EPS:
            text = (f"demand {region}/{cls} in {year}: {need:.2f} IT MW but no site {within} "
                    f"can have capacity{cool} by {year}; {view.earliest(reach, allowed)}")
        else:
            text = (f"demand {region}/{cls} in {year}: {need:.2f} IT MW but the sites {within} "
                    f"({', '.join(reach)}) can have at most {cap:.2f} IT MW{cool} by {year}"
                    + (f" ({sellable:.2f} sellable)" if view.util < 1 else "")
                    + f", short by {need - sellable:.2f} IT MW")
        out.append(Finding("check_demand_reach", _shortfall_level(view), text,
                           (_rows("demand.csv", [row_line(demand, i)]),)))
    return out


def check_phase_horizon(view: InstanceView) -> list[Finding]:
    """Phases that cannot come online within the horizon (earliest decision + lead time).

    Such a phase (and every later phase of its site) never gets a variable: a warning,
    since the planner probably meant it to be buildable.
    """
    out = []
    for site in view.sites:
        for ph in view.phases.get(site, []):
            if not ph.committed and ph.first > view.yT:
                out.append(Finding(
                    "check_phase_horizon", "warning",
                    f"phase {ph.site}/{ph.phase} can come online in {ph.first} at the earliest "
                    f"(earliest decision, lead {ph.lead_months} months, "
                    + ("" if ph.not_before is None else
                       f"earliest online year {ph.not_before}, ")
                    + f"earlier phases), after "
                    f"the horizon ends in {view.yT}: it is never built",
                    (_rows("phases.csv", [ph.line]),)))
    return out


def _budget_scope(view: InstanceView, sponsor: str, year: object) -> str:
    who = f"sponsor {sponsor}" if sponsor else "all sponsors"
    when = "the whole horizon" if pd.isna(year) else str(int(year))  # type: ignore[call-overload]
    return f"{who}, {when}"


def check_committed_budgets(view: InstanceView) -> list[Finding]:
    """Budgets smaller than what must be built: committed phases and their sites' opening.

    Committed capex shares in the horizon (after capex_factor of the committed cooling) and
    the opening cost of a new site whose first phase is committed are spent whatever the
    plan; more than a budget row allows is infeasible.
    """
    budgets = view.inst.table("budgets")
    spend: list[tuple[str, int, float, str, int]] = []  # sponsor, year, USD M, what, line
    for site in view.sites:
        phases = view.phases.get(site, [])
        for n, ph in enumerate(phases):
            if not ph.committed:
                continue
            amount = ph.capex * view.capex_factor[ph.coolings[0]]
            years = spend_years(ph.first, lead_years(ph.lead_months))
            for y in years:
                if view.y0 <= y <= view.yT:
                    spend.append((view.site_sponsor[site], y, amount / len(years),
                                  f"{site}/{ph.phase}", ph.line))
            if n == 0 and site not in view.existing and view.open_cost[site] > 0:
                spend.append((view.site_sponsor[site], ph.first, float(view.open_cost[site]),
                              f"opening {site}", view.site_line[site]))
    out = []
    for i, (sponsor, year, limit) in enumerate(budgets[["sponsor", "year",
                                                        "max_capex_usd_m"]].itertuples(
                                                            index=False)):
        items = [x for x in spend if (not sponsor or x[0] == sponsor)
                 and (pd.isna(year) or x[1] == int(year))]
        total = sum(x[2] for x in items)
        if total > limit + EPS * max(1.0, limit):
            parts: dict[str, float] = defaultdict(float)
            for x in items:
                parts[x[3]] += x[2]
            detail = ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
            out.append(Finding(
                "check_committed_budgets", "error",
                f"budget ({_budget_scope(view, sponsor, year)}) of {limit:.2f} USD M is smaller "
                f"than the committed spend {total:.2f} USD M ({detail})",
                (_rows("budgets.csv", [row_line(budgets, i)]),
                 _rows("phases.csv", [x[4] for x in items if not x[3].startswith("opening")]))))
    return out


def check_budget_below_cheapest_phase(view: InstanceView) -> list[Finding]:
    """Horizon-wide budgets smaller than the cheapest phase any site in their scope can build.

    With such a budget its sponsor can build nothing new (a warning: demand may still be
    met elsewhere). The cheapest phase counts its cheapest cooling's capex share in the
    horizon and, for a new site's first phase, the opening cost.
    """
    budgets = view.inst.table("budgets")
    out = []
    for i, (sponsor, year, limit) in enumerate(budgets[["sponsor", "year",
                                                        "max_capex_usd_m"]].itertuples(
                                                            index=False)):
        if not pd.isna(year):
            continue
        costs = []
        for site in view.sites:
            if sponsor and view.site_sponsor[site] != sponsor:
                continue
            for n, ph in enumerate(view.phases.get(site, [])):
                if ph.committed or ph.first > view.yT:
                    continue
                years = spend_years(ph.first, lead_years(ph.lead_months))
                share = sum(1 for y in years if view.y0 <= y <= view.yT) / len(years)
                cost = min(view.capex_factor[k] for k in ph.coolings) * ph.capex * share
                if n == 0 and site not in view.existing:
                    cost += float(view.open_cost[site])
                costs.append((cost, f"{site}/{ph.phase}"))
        if costs and min(costs)[0] > limit + EPS * max(1.0, limit):
            cost, name = min(costs)
            out.append(Finding(
                "check_budget_below_cheapest_phase", "warning",
                f"budget ({_budget_scope(view, sponsor, year)}) of {limit:.2f} USD M is smaller "
                f"than the cheapest phase it could pay for ({name}: {cost:.2f} USD M): nothing "
                "new can be built within it", (_rows("budgets.csv", [row_line(budgets, i)]),)))
    return out


def _zone_limits(view: InstanceView) -> dict[tuple[str, int], tuple[float, float, int]]:
    """(zone, year) -> (derated headroom, all upgrade MW that can be online, headroom line)."""
    head = view.inst.table("headroom")
    derate = dict(zip(view.inst.table("zones")["zone"], view.inst.table("zones")["derate"],
                      strict=True))
    ups = view.inst.table("upgrades")
    upgrade_mw: dict[tuple[str, int], float] = defaultdict(float)
    for r in ups.itertuples(index=False):
        first = first_online_year(r.earliest_decision_year, lead_years(int(r.lead_months)),
                                  view.y0)
        for y in view.inst.years:
            if y >= first:
                upgrade_mw[r.zone, y] += float(r.add_mw)
    return {(z, int(y)): (derate[z] * float(h), upgrade_mw[z, int(y)], row_line(head, i))
            for i, (z, y, h) in enumerate(head[["zone", "year", "headroom_mw"]].itertuples(
                index=False))}


def _fixed_power(view: InstanceView) -> dict[tuple[str, int], float]:
    """Facility MW of existing plant and committed phases per zone and year."""
    power: dict[tuple[str, int], float] = defaultdict(float)
    for site in view.sites:
        z = view.site_zone[site]
        if site in view.existing:
            mw, k = view.existing[site]
            for y in view.inst.years:
                power[z, y] += mw * view.pue[k]
        for ph in view.phases.get(site, []):
            if ph.committed:
                for y in view.inst.years:
                    if y >= ph.first:
                        power[z, y] += ph.it_mw * view.pue[ph.coolings[0]]
    return power


def check_fixed_headroom(view: InstanceView) -> list[Finding]:
    """Existing and committed plant drawing more than a zone's headroom plus every upgrade.

    Grid power counts installed capacity whatever the load, so this is infeasible.
    """
    limits = _zone_limits(view)
    power = _fixed_power(view)
    out = []
    for (z, y), (head, ups, line) in limits.items():
        p = power.get((z, y), 0.0)
        if p > head + ups + EPS * max(1.0, p):
            up = f" plus {ups:.2f} MW of every upgrade available by then" if ups else ""
            out.append(Finding(
                "check_fixed_headroom", "error",
                f"zone {z} in {y}: existing and committed capacity draws {p:.2f} facility MW, "
                f"more than its derated headroom {head:.2f} MW{up}; short by "
                f"{p - head - ups:.2f} MW", (_rows("headroom.csv", [line]),)))
    return out


def check_zone_fits_a_phase(view: InstanceView) -> list[Finding]:
    """Zones whose headroom cannot carry even the smallest of their phases in any year.

    Spare = derated headroom + every upgrade available - existing and committed power; the
    smallest phase needs it_mw x its lowest PUE. A warning: that zone's phases never come
    online.
    """
    limits = _zone_limits(view)
    power = _fixed_power(view)
    out = []
    zones_line = {z: row_line(view.inst.table("zones"), i)
                  for i, z in enumerate(view.inst.table("zones")["zone"])}
    for z in view.inst.table("zones")["zone"]:
        free = [ph for s in view.sites if view.site_zone[s] == z
                for ph in view.phases.get(s, []) if not ph.committed and ph.first <= view.yT]
        if not free:
            continue
        need, ph = min(((p.it_mw * min(view.pue[k] for k in p.coolings), p) for p in free),
                       key=lambda x: (x[0], x[1].site, x[1].phase))
        spare = max(limits[z, y][0] + limits[z, y][1] - power.get((z, y), 0.0)
                    for y in view.inst.years if y >= ph.first)
        if need > spare + EPS * max(1.0, need):
            out.append(Finding(
                "check_zone_fits_a_phase", "warning",
                f"zone {z}: its smallest phase {ph.site}/{ph.phase} needs {need:.2f} facility MW "
                f"but the zone never has more than {spare:.2f} MW spare (headroom and upgrades "
                "less existing and committed plant): no phase in it can come online",
                (_rows("zones.csv", [zones_line[z]]),)))
    return out


def check_graph_components(view: InstanceView) -> list[Finding]:
    """A fiber graph in several pieces: sites cut off from every region with a location.

    Such sites can only serve location-free demand (a warning). Regions cut off from every
    site that can host their demand are rejected by validation already. Without any region
    with a location (an imported OR-Library instance: sites on lone nodes, every customer
    priced by `service_costs.csv`) no site is cut off from anything, so nothing is said.
    """
    inst = view.inst
    regions = inst.table("regions")
    located = regions.loc[regions["node"] != ""]
    if located.empty:
        return []
    graph = instance_graph(inst.tables, inst.meta.latency)
    comps = components(graph)
    if len(comps) <= 1:
        return []
    sites = inst.table("sites")
    out = []
    for comp in comps:
        listed = set(inst.table("latency")["site"])  # measured round trips reach regions
        here = [s for s, n in zip(sites["site"], sites["node"], strict=True)
                if n in comp and s not in listed]
        if here and not located["node"].isin(comp).any():
            out.append(Finding(
                "check_graph_components", "warning",
                f"the fiber graph has {len(comps)} separate parts; sites {', '.join(here)} "
                f"(nodes {', '.join(sorted(comp)[:5])}{' ...' if len(comp) > 5 else ''}) are "
                "cut off from every region with a location and can serve only location-free "
                "demand", (_rows("sites.csv", [view.site_line[s] for s in here]),)))
    return out


#: Every pre-solve check, in reporting order.
CHECKS: tuple[Check, ...] = (
    check_capacity_in_time, check_demand_reach, check_phase_horizon, check_committed_budgets,
    check_budget_below_cheapest_phase, check_fixed_headroom, check_zone_fits_a_phase,
    check_graph_components,
)


#: Examples a merged warning quotes before "and N more".
EXAMPLES = 3


def one_per_cause(found: list[Finding]) -> list[Finding]:
    """One warning per cause: a check's several warnings merged into one, with a count.

    A cause (one check) that fires for many sites, phases, zones or sponsors is one thing
    to fix; its warning says how many it found, quotes the first few and lists their rows.
    Errors are kept one by one (each is a proof of infeasibility on its own).
    """
    out: list[Finding] = []
    merged: dict[str, list[Finding]] = {}
    for f in found:
        if f.level == "warning":
            if f.check not in merged:
                merged[f.check] = []
                out.append(f)  # placeholder keeps the first one's position
            merged[f.check].append(f)
        else:
            out.append(f)
    for i, f in enumerate(out):
        group = merged.get(f.check) if f.level == "warning" else None
        if not group or len(group) == 1:
            continue
        quoted = "; ".join(g.message for g in group[:EXAMPLES])
        more = f"; and {len(group) - EXAMPLES} more" if len(group) > EXAMPLES else ""
        rows = tuple(dict.fromkeys(r for g in group for r in g.rows))
        out[i] = Finding(f.check, "warning", f"{len(group)} warnings of one cause "
                         f"({f.check}): {quoted}{more}", rows[:EXAMPLES * 2])
    return out


def presolve_checks(inst: Instance) -> list[Finding]:
    """Run every pre-solve check on a validated instance; errors first, then warnings.

    Warnings come one per cause (`one_per_cause`).
    """
    view = InstanceView(inst)
    found = one_per_cause([f for check in CHECKS for f in check(view)])
    return [f for f in found if f.level == "error"] + [f for f in found if f.level == "warning"]


def errors(findings: list[Finding]) -> list[Finding]:
    """The findings that prove infeasibility."""
    return [f for f in findings if f.level == "error"]


__all__ = ["CHECKS", "Finding", "errors", "presolve_checks"]
