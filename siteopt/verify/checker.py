"""Independent verification of a plan against the raw instance tables.

Written without the Pyomo model, its derived index sets or the networkx latency code: it
recomputes capacities, power, latencies (scipy's Dijkstra on its own graph), cooling
feasibility (a max-flow per site and year), budgets and the objective from the instance's
tables and the plan's decision tables (`schedule`, `sites`, `upgrades`, `capacity` loads,
`served`, `unserved`), so that a bug in the model cannot hide itself.

The rules are named functions in `RULES` (name, docstring, function), each returning its
violations; `check_plan` derives the plan's facts once (`Facts`) and runs every rule. Every
table a summary prints is checked: the decisions above, and the reported tables derived from
them (`power`, `capacity`, `served.rtt_ms`, `sites.it_mw_final`, the schedule's capex
columns, `costs`) are recomputed and compared row by row.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import pandas as pd

from siteopt.data.instance import Instance
from siteopt.verify.latency import n1_rtt, round_trips

#: Absolute feasibility tolerance in MW (and USD M for budgets); rows are scaled by magnitude.
TOL = 1e-4
#: Relative tolerance between the reported and the recomputed objective.
OBJ_RTOL = 1e-6


@dataclass
class CheckReport:
    """Outcome of a check: the violations found and the objective recomputed from the plan."""

    violations: list[str] = field(default_factory=list)
    objective: float = math.nan
    total_cost: float = math.nan
    cost_by_term: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the plan satisfies every rule."""
        return not self.violations


def _tol(scale: float) -> float:
    return TOL * max(1.0, abs(scale))


class Facts:
    """What the checker derives once from an instance and a plan; the rules read it.

    Every property is computed from the instance's raw tables and the plan's decision
    tables only (never from the plan's reported tables, which the rules compare to these).
    """

    def __init__(self, inst: Instance, plan: dict[str, pd.DataFrame],
                 reported_objective: float | None):
        self.inst, self.plan, self.reported_objective = inst, plan, reported_objective
        self.meta = inst.meta
        self.years = inst.years
        self.y0, self.yT = self.years[0], self.years[-1]
        self.eco = self.meta.economics
        self.cooling = inst.table("cooling").set_index("cooling")
        self.sites = inst.table("sites").set_index("site")
        self.phases = inst.table("phases")
        self.zones = inst.table("zones").set_index("zone")
        self.upgrades = inst.table("upgrades").set_index("upgrade")
        self.classes = inst.table("classes").set_index("class")
        self.region_node = inst.table("regions").set_index("region")["node"]
        #: regions with a location: a node, or rows in latency.csv (the others are free)
        self.located = {r for r, n in self.region_node.items() if n != ""} | set(
            inst.table("latency")["region"])
        self.ph = {(r.site, r.phase): r for r in self.phases.itertuples(index=False)}

    @cached_property
    def schedule_rows(self) -> list[tuple[tuple[str, str], str, int]]:
        """((site, phase), cooling, online year) of every schedule row."""
        return [((r.site, r.phase), r.cooling, int(r.online_year))
                for r in self.plan["schedule"].itertuples(index=False)]

    @cached_property
    def built(self) -> dict[tuple[str, str], tuple[str, int]]:
        """(cooling, online year) of each phase in the schedule (last row wins)."""
        return {key: (tech, year) for key, tech, year in self.schedule_rows}

    @cached_property
    def open_year(self) -> dict[str, int | None]:
        """Year each site opens (existing sites: the first year), None if never."""
        site_plan = self.plan["sites"].set_index("site")
        out: dict[str, int | None] = {}
        for s in self.sites.index:
            y = site_plan.at[s, "open_year"] if s in site_plan.index else None
            out[s] = self.y0 if self.existing(s) else (
                None if y is None or pd.isna(y) else int(y))
        return out

    def existing(self, s: str) -> bool:
        """Whether site `s` has existing capacity."""
        return bool(self.sites.at[s, "existing_it_mw"] > 0)

    @cached_property
    def cap(self) -> dict[tuple[str, str, int], float]:
        """Installed IT MW per (site, cooling, year): existing plus online phases.

        A phase with a cooling no table knows is left out (it has no PUE):
        `rule_phase_cooling` names it, and every other rule still runs.
        """
        cap: dict[tuple[str, str, int], float] = defaultdict(float)
        for s, r in self.sites.iterrows():
            if r["existing_it_mw"] > 0:
                for y in self.years:
                    cap[s, r["existing_cooling"], y] += float(r["existing_it_mw"])
        for (s, p), (tech, year) in self.built.items():
            if (s, p) in self.ph and tech in self.cooling.index:
                for y in self.years:
                    if y >= year:
                        cap[s, tech, y] += float(self.ph[s, p].it_mw)
        return dict(cap)

    @cached_property
    def up_year(self) -> dict[str, int]:
        """Online year of each bought upgrade known to the instance."""
        return {r.upgrade: int(r.online_year) for r in self.plan["upgrades"].itertuples(
            index=False) if r.upgrade in self.upgrades.index}

    @cached_property
    def zone_power(self) -> dict[tuple[str, int], float]:
        """Facility MW per (zone, year): PUE x installed capacity."""
        power: dict[tuple[str, int], float] = defaultdict(float)
        for (s, k, y), c in self.cap.items():
            power[self.sites.at[s, "zone"], y] += float(self.cooling.at[k, "pue"]) * c
        return power

    def upgrade_mw(self, z: str, y: int) -> float:
        """Facility MW of the upgrades of zone `z` in place in year `y`."""
        return float(sum(self.upgrades.at[u, "add_mw"] for u, uy in self.up_year.items()
                         if self.upgrades.at[u, "zone"] == z and uy <= y))

    @cached_property
    def serve_rows(self) -> list[tuple[str, str, str, int, float]]:
        """(site, region, class, year, MW) of every served row."""
        served = self.plan["served"]
        return [(s, r, c, int(y), float(mw)) for s, r, c, y, mw in served[
            ["site", "region", "class", "year", "serve_mw"]].itertuples(index=False, name=None)]

    @cached_property
    def rtt(self) -> dict[tuple[str, str], float]:
        """Round trip of every served (site, region) pair with a fiber path."""
        return round_trips(self.inst, {(s, r) for s, r, _c, _y, _mw in self.serve_rows})

    @cached_property
    def got(self) -> dict[tuple[str, str, int], float]:
        """Served MW per (region, class, year)."""
        out: dict[tuple[str, str, int], float] = defaultdict(float)
        for _s, r, c, y, mw in self.serve_rows:
            out[r, c, y] += mw
        return dict(out)

    @cached_property
    def miss(self) -> dict[tuple[str, str, int], float]:
        """Unserved MW per (region, class, year)."""
        un = self.plan["unserved"]
        return {(r, c, int(y)): float(x) for r, c, y, x in un[
            ["region", "class", "year", "unserved_mw"]].itertuples(index=False, name=None)}

    @cached_property
    def load(self) -> dict[tuple[str, str, int], float]:
        """IT load per (site, cooling, year) from the capacity table's it_load_mw."""
        loads = self.plan["capacity"]
        return {(s, k, int(y)): float(x) for s, k, y, x in
                loads[["site", "cooling", "year", "it_load_mw"]].itertuples(index=False)}

    @cached_property
    def costs(self) -> tuple[dict[str, dict[int, float]], list[tuple[str, int, float]]]:
        """Undiscounted cost per term and year, and capex spend as (sponsor, year, USD M)."""
        y0, yT, eco = self.y0, self.yT, self.eco
        terms: dict[str, dict[int, float]] = {t: defaultdict(float) for t in COST_TERMS}
        spend: list[tuple[str, int, float]] = []

        def spread(total: float, online: int, lead_months: int) -> list[tuple[int, float]]:
            lead = math.ceil(lead_months / 12)
            span = [online] if lead == 0 else list(range(online - lead, online))
            return [(y, total / len(span)) for y in span if y0 <= y <= yT]

        for (s, p), (tech, year) in self.built.items():
            if (s, p) not in self.ph or tech not in self.cooling.index:
                continue
            r = self.ph[s, p]
            amount = float(r.capex_usd_m) * float(self.cooling.at[tech, "capex_factor"])
            for y, x in spread(amount, year, int(r.lead_months)):
                terms["capex"][y] += x
                spend.append((self.sites.at[s, "sponsor"], y, x))
            om = (float(r.capex_usd_m) * eco.fixed_om_share if pd.isna(r.fixed_om_usd_m_per_year)
                  else float(r.fixed_om_usd_m_per_year))
            for y in self.years:
                if y >= year:
                    terms["fixed_om"][y] += om
        for s, oy in self.open_year.items():
            if oy is None:
                continue
            if not self.existing(s):
                terms["open_cost"][oy] += float(self.sites.at[s, "open_cost_usd_m"])
                spend.append((self.sites.at[s, "sponsor"], oy,
                              float(self.sites.at[s, "open_cost_usd_m"])))
            for y in self.years:
                if y >= oy:
                    terms["fixed_om"][y] += float(self.sites.at[s, "site_fixed_om_usd_m_per_year"])
        for u, uy in self.up_year.items():
            for y, x in spread(float(self.upgrades.at[u, "capex_usd_m"]), uy,
                               int(self.upgrades.at[u, "lead_months"])):
                terms["upgrade_cost"][y] += x
                spend.append((self.upgrades.at[u, "sponsor"], y, x))
        for (s, k, y), x in self.load.items():
            if s not in self.sites.index or k not in self.cooling.index:
                continue
            z = self.sites.at[s, "zone"]
            tariff = eco.tariff_usd_per_mwh * self.zones.at[z, "tariff_factor"] * (
                1 + eco.tariff_escalation) ** (y - y0)
            terms["energy"][y] += (x * self.cooling.at[k, "pue"] * eco.hours_per_year
                                   * eco.it_load_factor * tariff / 1e6)
        svc = self.inst.table("service_costs").set_index(["site", "region"])[
            "cost_usd_m_per_mw_year"]
        for s, r, _c, y, mw in self.serve_rows:
            terms["service_cost"][y] += mw * float(svc.get((s, r), 0.0))
        for (_r, _c, y), x in self.miss.items():
            terms["unserved_penalty"][y] += x * self.meta.service.unserved_penalty_usd_m_per_mw_year
        return terms, spend

    @cached_property
    def cost_by_term(self) -> dict[str, float]:
        """Present value of each cost term."""
        terms, _ = self.costs
        rate = self.eco.discount_rate  # any year: a bad plan may name one outside the horizon
        return {t: sum((1 + rate) ** -(y - self.y0) * x for y, x in by.items())
                for t, by in terms.items()}

    @cached_property
    def n_open(self) -> int:
        """Sites open at the end of the horizon."""
        return sum(1 for oy in self.open_year.values() if oy is not None)

    @cached_property
    def objective(self) -> float:
        """The instance's `siting.objective`, recomputed from the plan."""
        used = [self.rtt[s, r] for s, r, _c, _y, mw in self.serve_rows
                if mw > TOL and r in self.located and (s, r) in self.rtt]
        name = self.meta.siting.objective
        if name == "backup_uncovered_mw":
            return self.backup_uncovered
        if name == "min_separation_km":
            return self.min_separation
        return {
            "total_cost": sum(self.cost_by_term.values()),
            "max_rtt": max(used, default=0.0),
            "uncovered_mw": float(sum(self.miss.values())),
            "site_count": float(self.n_open),
        }[name]

    def first_possible(self, key: tuple[str, str]) -> int | None:
        """First year phase `key` can be online.

        Its committed year, else the later of earliest decision (not before the horizon)
        plus lead and earliest_online_year.
        """
        r = self.ph[key]
        if not pd.isna(r.committed_year):
            return int(r.committed_year)
        decision = self.y0 if pd.isna(r.earliest_decision_year) else max(
            int(r.earliest_decision_year), self.y0)
        first = decision + math.ceil(int(r.lead_months) / 12)
        if not pd.isna(r.earliest_online_year):
            first = max(first, int(r.earliest_online_year))
        return first

    @cached_property
    def may_serve(self) -> dict[tuple[str, str], dict[str, int]]:
        """For (region, class): each site allowed to serve it, with its first hosting year.

        The checker's own reading of allowed pairs: latency target (after the worst single
        fibre cut for a class under `n_minus_1_links`, as the model prunes it), cooling,
        timing.
        """
        buildable = [k for k in self.cooling.index if bool(self.cooling.at[k, "buildable"])]
        host_from: dict[tuple[str, str], int] = {}
        for c in self.classes.index:
            allowed = set(self.classes.at[c, "cooling"] or self.cooling.index)
            for s in self.sites.index:
                if self.sites.at[s, "existing_it_mw"] > 0 and \
                        self.sites.at[s, "existing_cooling"] in allowed:
                    host_from[s, c] = self.y0
            for key, r in self.ph.items():
                if set(r.cooling or buildable) & allowed:
                    first = self.first_possible(key)
                    host_from[key[0], c] = min(host_from.get((key[0], c), first), first)
        targets = self.inst.table("latency_targets").set_index(["region", "class"])[
            "max_rtt_ms"]
        rtt = round_trips(self.inst, {(s, r) for s in self.sites.index for r in self.located})
        cut = {c for c, rules in self.meta.resilience.items() if rules.n_minus_1_links}
        out: dict[tuple[str, str], dict[str, int]] = {}
        for r in self.region_node.index:
            for c in self.classes.index:
                limit = targets.get((r, c), self.meta.latency.max_rtt_ms)
                worst = self.rtt_cut if c in cut else rtt
                out[r, c] = {
                    s: host_from[s, c] for s in self.sites.index if (s, c) in host_from and (
                        r not in self.located or ((s, r) in rtt and (
                            limit is None or worst.get((s, r), math.inf) <= limit + 1e-9)
                            # one cut disconnecting the pair breaks the rule without a target
                            and (c not in cut or math.isfinite(worst.get((s, r), math.inf)))))}
        return out

    @cached_property
    def rtt_cut(self) -> dict[tuple[str, str], float]:
        """Round trip after the worst single fibre cut of every (site, region) pair.

        {} unless some class asks for the fibre-cut rule; computed once per check (every
        link removed in turn) for the rules and the objectives that read it.
        """
        if not any(rules.n_minus_1_links for rules in self.meta.resilience.values()):
            return {}
        return n1_rtt(self.inst, {(s, r) for s in self.sites.index
                                  for r in self.region_node.index})

    def budget_spend(self, sponsor: object, year: object) -> float:
        """Capex spend a budget row counts: its sponsor's (empty: all), in its year.

        An empty year is the whole horizon.
        """
        _, spend = self.costs
        return sum(x for sp, y, x in spend
                   if (not sponsor or sp == sponsor) and (pd.isna(year) or y == int(year)))

    @cached_property
    def backup_uncovered(self) -> float:
        """LSCP-B: demand (MW-years) without two open sites allowed to serve it that year."""
        demand = self.inst.table("demand")
        total = 0.0
        for r, c, y, d in demand[["region", "class", "year", "it_mw"]].itertuples(index=False):
            if d <= 0:
                continue
            backers = sum(1 for s, first in self.may_serve.get((r, c), {}).items()
                          if self.open_year.get(s) is not None and self.open_year[s] <= y
                          and first <= y)
            total += float(d) if backers < 2 else 0.0
        return total

    @cached_property
    def min_separation(self) -> float:
        """p-dispersion: km between the closest two sites open at the end.

        site_distances.csv, else the great-circle distance of lat/lon; with fewer than two
        sites open, the largest pair distance (as the model's bound on separation).
        """
        listed = {frozenset((a, b)): float(km) for a, b, km in self.inst.table(
            "site_distances")[["a", "b", "km"]].itertuples(index=False, name=None)}
        ids = list(self.sites.index)

        def km(a: str, b: str) -> float:
            if frozenset((a, b)) in listed:
                return listed[frozenset((a, b))]
            la, oa = map(math.radians, (self.sites.at[a, "lat"], self.sites.at[a, "lon"]))
            lb, ob = map(math.radians, (self.sites.at[b, "lat"], self.sites.at[b, "lon"]))
            h = math.sin((lb - la) / 2) ** 2 + math.cos(la) * math.cos(lb) * math.sin(
                (ob - oa) / 2) ** 2
            return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))

        pairs = {(a, b): km(a, b) for a, b in itertools.combinations(ids, 2)}
        opened = {s for s, y in self.open_year.items() if y is not None}
        used = [v for (a, b), v in pairs.items() if a in opened and b in opened]
        return min(used, default=max(pairs.values(), default=0.0))


#: Cost terms of the objective, in the order of the `costs` table.
COST_TERMS = ("capex", "open_cost", "fixed_om", "energy", "upgrade_cost", "service_cost",
              "unserved_penalty")


@dataclass(frozen=True)
class Rule:
    """A named rule of the checker: its function returns the plan's violations of it.

    `table` names the result file(s) whose rows the rule's messages name by key, so that a
    violation says where to look: `check_plan` puts it before each message.
    """

    name: str
    doc: str
    check: Callable[[Facts], list[str]]
    table: str


#: Every rule, in the order they run (`rule` adds to it).
RULES: list[Rule] = []

#: The result file(s) each rule reads its decision from: the rows its messages name by key
#: (a phase is a schedule.csv row, a zone and year a power.csv row, ...).
RULE_TABLES: dict[str, str] = {
    **dict.fromkeys(("phase_once", "phase_known", "phase_cooling", "phase_in_horizon",
                     "phase_earliest", "committed_year", "committed_built", "phase_order_built",
                     "phase_order_timing", "phase_site_open", "schedule_capex"),
                    "schedule.csv"),
    **dict.fromkeys(("existing_open", "open_with_first_phase", "site_count", "sites_table",
                     "geo_redundancy"), "sites.csv"),
    **dict.fromkeys(("upgrade_known", "upgrade_once", "upgrade_timing"), "upgrades.csv"),
    **dict.fromkeys(("grid_headroom", "power_table"), "power.csv"),
    **dict.fromkeys(("site_cap", "capacity_table", "load_nonnegative", "load_capacity",
                     "load_balance", "cooling_class", "n_minus_1_sites"), "capacity.csv"),
    **dict.fromkeys(("serve_nonnegative", "serve_open", "serve_hostable", "serve_connected",
                     "latency_target", "served_rtt", "single_source", "no_phantom_demand",
                     "n_minus_1_links"), "served.csv"),
    "demand_balance": "served.csv + unserved.csv",
    **dict.fromkeys(("unserved_allowed", "unserved_nonnegative"), "unserved.csv"),
    **dict.fromkeys(("budget", "budget_rows"), "budgets.csv"),
    **dict.fromkeys(("cost_terms", "cost_rows"), "costs.csv"),
    "objective": "summary.json",
}


def rule(fn: Callable[[Facts], list[str]]) -> Callable[[Facts], list[str]]:
    """Register `fn` as a rule named after it (without `rule_`), documented by its docstring.

    Its table comes from `RULE_TABLES`: a rule without one fails at import.
    """
    name = fn.__name__.removeprefix("rule_")
    RULES.append(Rule(name, (fn.__doc__ or "").strip(), fn, RULE_TABLES[name]))
    return fn


# ---- schedule: phases, coolings, timing, order, committed ---------------------------------

@rule
def rule_phase_once(f: Facts) -> list[str]:
    """Each phase appears at most once in the schedule."""
    seen: set[tuple[str, str]] = set()
    out = []
    for key, _k, _y in f.schedule_rows:
        if key in seen:
            out.append(f"phase {key} built twice")
        seen.add(key)
    return out


@rule
def rule_phase_known(f: Facts) -> list[str]:
    """Every scheduled phase is a row of phases.csv."""
    return [f"schedule names unknown phase {key}" for key in f.built if key not in f.ph]


@rule
def rule_phase_cooling(f: Facts) -> list[str]:
    """A phase is built with one of its allowed coolings (its list, else every buildable)."""
    out = []
    buildable = tuple(f.cooling.index[f.cooling["buildable"].astype(bool)])
    for key, (tech, _year) in f.built.items():
        if key in f.ph:
            allowed = f.ph[key].cooling or buildable
            if tech not in allowed:
                out.append(f"phase {key} built with cooling {tech}, allowed {allowed}")
    return out


@rule
def rule_phase_in_horizon(f: Facts) -> list[str]:
    """A phase comes online inside the horizon."""
    return [f"phase {key} online in {year}, outside the horizon"
            for key, (_t, year) in f.built.items() if not f.y0 <= year <= f.yT]


@rule
def rule_phase_earliest(f: Facts) -> list[str]:
    """A free phase is online no earlier than its earliest decision year plus its lead.

    Nor before its earliest_online_year.
    """
    out = []
    for key, (_t, year) in f.built.items():
        r = f.ph.get(key)
        if r is None or not pd.isna(r.committed_year):
            continue
        decision = f.y0 if pd.isna(r.earliest_decision_year) else max(
            int(r.earliest_decision_year), f.y0)
        first = decision + math.ceil(int(r.lead_months) / 12)
        if not pd.isna(r.earliest_online_year):
            first = max(first, int(r.earliest_online_year))
        if year < first:
            out.append(f"phase {key} online in {year}, before its earliest {first}")
    return out


@rule
def rule_committed_year(f: Facts) -> list[str]:
    """A committed phase is online exactly in its committed year."""
    return [f"committed phase {key} online in {year}, committed {f.ph[key].committed_year}"
            for key, (_t, year) in f.built.items() if key in f.ph
            and not pd.isna(f.ph[key].committed_year) and year != int(f.ph[key].committed_year)]


@rule
def rule_committed_built(f: Facts) -> list[str]:
    """Every committed phase is in the schedule."""
    return [f"committed phase {key} missing from the schedule" for key, r in f.ph.items()
            if not pd.isna(r.committed_year) and key not in f.built]


def _sequences(f: Facts) -> dict[str, list[str]]:
    seq: dict[str, list[tuple[float, int, str]]] = defaultdict(list)
    for i, r in enumerate(f.phases.itertuples(index=False)):
        seq[r.site].append((math.inf if pd.isna(r.order) else float(r.order), i, r.phase))
    return {s: [p for _o, _i, p in sorted(items)] for s, items in seq.items()}


@rule
def rule_phase_order_built(f: Facts) -> list[str]:
    """A phase is built only if its predecessor (build order) is built."""
    return [f"phase {s}/{cur} built without earlier phase {prev}"
            for s, seq in _sequences(f).items() for prev, cur in itertools.pairwise(seq)
            if (s, cur) in f.built and (s, prev) not in f.built]


@rule
def rule_phase_order_timing(f: Facts) -> list[str]:
    """A phase is online no earlier than its predecessor."""
    return [f"phase {s}/{cur} online before earlier phase {prev}"
            for s, seq in _sequences(f).items() for prev, cur in itertools.pairwise(seq)
            if (s, cur) in f.built and (s, prev) in f.built
            and f.built[s, prev][1] > f.built[s, cur][1]]


# ---- sites ----------------------------------------------------------------------------------

@rule
def rule_existing_open(f: Facts) -> list[str]:
    """A site with existing capacity is reported open from the first year."""
    site_plan = f.plan["sites"].set_index("site")
    out = []
    for s in f.sites.index:
        if f.existing(s):
            y = site_plan.at[s, "open_year"] if s in site_plan.index else None
            if y is None or pd.isna(y) or int(y) != f.y0:
                out.append(f"site {s} has existing capacity but is not open from {f.y0}")
    return out


@rule
def rule_phase_site_open(f: Facts) -> list[str]:
    """A phase is online only at a site open by then."""
    return [f"phase {s}/{p} online in {year} but site {s} opens in {f.open_year.get(s)}"
            for (s, p), (_k, year) in f.built.items()
            if f.open_year.get(s) is None or f.open_year[s] > year]  # type: ignore[operator]


@rule
def rule_open_with_first_phase(f: Facts) -> list[str]:
    """A new site opens exactly when its first phase comes online."""
    out = []
    for s, oy in f.open_year.items():
        first = min((y for (ss, _p), (_k, y) in f.built.items() if ss == s), default=None)
        if not f.existing(s) and oy is not None and oy != first:
            out.append(f"site {s} opens in {oy} but its first phase comes online in {first}")
    return out


@rule
def rule_site_cap(f: Facts) -> list[str]:
    """A site's installed IT MW stays within its max_it_mw."""
    total: dict[tuple[str, int], float] = defaultdict(float)
    for (s, _k, y), c in f.cap.items():
        total[s, y] += c
    out = []
    for s, r in f.sites.iterrows():
        if not pd.isna(r["max_it_mw"]):
            for y in f.years:
                if total[s, y] > r["max_it_mw"] + _tol(total[s, y]):
                    out.append(f"site {s} has {total[s, y]:.3f} IT MW in {y}, "
                               f"cap {r['max_it_mw']}")
    return out


@rule
def rule_site_count(f: Facts) -> list[str]:
    """The sites open at the end meet `siting.sites` (exactly or at most)."""
    p = f.meta.siting.sites
    if p is not None and (f.n_open > p or (f.meta.siting.sites_rule == "exactly"
                                           and f.n_open != p)):
        return [f"{f.n_open} sites open, siting asks for {f.meta.siting.sites_rule} {p}"]
    return []


@rule
def rule_sites_table(f: Facts) -> list[str]:
    """sites.csv lists every site once, with it_mw_final = existing + built phases' IT MW."""
    table = f.plan["sites"]
    out = []
    if sorted(table["site"]) != sorted(f.sites.index):
        out.append(f"sites table lists {sorted(table['site'])}, instance has "
                   f"{sorted(f.sites.index)}")
    for s, final in zip(table["site"], table["it_mw_final"], strict=True):
        if s not in f.sites.index:
            continue
        want = float(f.sites.at[s, "existing_it_mw"]) + sum(
            float(f.ph[k].it_mw) for k in f.built if k[0] == s and k in f.ph)
        if abs(float(final) - want) > _tol(want):
            out.append(f"site {s}: reported it_mw_final {final} != recomputed {want:.4f}")
    return out


# ---- upgrades and grid power ------------------------------------------------------------------

@rule
def rule_upgrade_known(f: Facts) -> list[str]:
    """Every bought upgrade is a row of upgrades.csv."""
    return [f"unknown upgrade {u}" for u in f.plan["upgrades"]["upgrade"]
            if u not in f.upgrades.index]


@rule
def rule_upgrade_once(f: Facts) -> list[str]:
    """Each upgrade is bought at most once."""
    names = list(f.plan["upgrades"]["upgrade"])
    return [f"upgrade {u} bought twice" for u in sorted({u for u in names if names.count(u) > 1})]


@rule
def rule_upgrade_timing(f: Facts) -> list[str]:
    """An upgrade is online between its earliest decision plus lead and the last year."""
    out = []
    for u, year in f.up_year.items():
        row = f.upgrades.loc[u]
        decision = f.y0 if pd.isna(row["earliest_decision_year"]) else max(
            int(row["earliest_decision_year"]), f.y0)
        first = decision + math.ceil(int(row["lead_months"]) / 12)
        if not first <= year <= f.yT:
            out.append(f"upgrade {u} online {year}, allowed {first}-{f.yT}")
    return out


@rule
def rule_grid_headroom(f: Facts) -> list[str]:
    """A zone's facility power stays within its derated headroom plus upgrades in place."""
    head = f.inst.table("headroom").set_index(["zone", "year"])["headroom_mw"]
    out = []
    for z in f.zones.index:
        for y in f.years:
            limit = f.zones.at[z, "derate"] * head[z, y] + f.upgrade_mw(z, y)
            if f.zone_power[z, y] > limit + _tol(limit):
                out.append(f"zone {z} draws {f.zone_power[z, y]:.3f} facility MW in {y}, "
                           f"limit {limit:.3f}")
    return out


@rule
def rule_power_table(f: Facts) -> list[str]:
    """power.csv: one row per zone and year with recomputed power, headroom, upgrades, limit.

    Its derated_headroom_mw is derate × the listed headroom.headroom_mw (theta_z H_zy).
    """
    head = f.inst.table("headroom").set_index(["zone", "year"])["headroom_mw"]
    table = f.plan["power"]
    out = []
    rows = {(z, int(y)): (p, h, u, lim) for z, y, p, h, u, lim in table[
        ["zone", "year", "power_mw", "derated_headroom_mw", "upgrade_mw", "limit_mw"]].itertuples(
        index=False, name=None)}
    if len(rows) != len(table) or set(rows) != {(z, y) for z in f.zones.index for y in f.years}:
        out.append("power table does not have exactly one row per zone and year")
    for (z, y), reported in rows.items():
        if z not in f.zones.index or (z, y) not in head.index:
            continue
        derated = float(f.zones.at[z, "derate"] * head[z, y])
        up = f.upgrade_mw(z, y)
        want = (f.zone_power.get((z, y), 0.0), derated, up, derated + up)
        for name, got, exp in zip(("power_mw", "derated_headroom_mw", "upgrade_mw", "limit_mw"),
                                  reported, want, strict=True):
            if abs(float(got) - exp) > _tol(exp):
                out.append(f"power {z}/{y}: reported {name} {got} != recomputed {exp:.4f}")
    return out


# ---- capacity and loads -----------------------------------------------------------------------

@rule
def rule_capacity_table(f: Facts) -> list[str]:
    """capacity.csv: capacity_mw and pue match the recomputed capacity (site, cooling, year)."""
    table = f.plan["capacity"]
    out = []
    reported = {(s, k, int(y)): (float(c), float(p)) for s, k, y, c, p in table[
        ["site", "cooling", "year", "capacity_mw", "pue"]].itertuples(index=False, name=None)}
    for key in sorted(set(reported) | {k for k, c in f.cap.items() if c > 0}):
        want = f.cap.get(key, 0.0)
        got, pue = reported.get(key, (0.0, math.nan))
        if abs(got - want) > _tol(want):
            out.append(f"capacity {key}: reported {got} != recomputed {want:.4f}")
        if key in reported and key[1] in f.cooling.index and abs(
                pue - float(f.cooling.at[key[1], "pue"])) > 1e-9:
            out.append(f"capacity {key}: reported pue {pue} != {f.cooling.at[key[1], 'pue']}")
    return out


@rule
def rule_load_nonnegative(f: Facts) -> list[str]:
    """No negative IT load."""
    return [f"site {s} runs a negative load {x:.4f} MW on {k} in {y}"
            for (s, k, y), x in f.load.items() if x < -TOL]


@rule
def rule_load_capacity(f: Facts) -> list[str]:
    """The load on a cooling stays within max_utilization x its installed capacity."""
    util = f.meta.service.max_utilization
    return [f"site {s} runs {x:.4f} MW on {k} in {y}, usable "
            f"{util * f.cap.get((s, k, y), 0.0):.4f}"
            for (s, k, y), x in f.load.items() if x > util * f.cap.get((s, k, y), 0.0) + _tol(x)]


def _by_site_year(f: Facts) -> dict[tuple[str, int], dict[str, float]]:
    out: dict[tuple[str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for s, _r, c, y, mw in f.serve_rows:
        out[s, y][c] += mw
    return out


def _loads_by_site_year(f: Facts) -> dict[tuple[str, int], dict[str, float]]:
    out: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for (s, k, y), x in f.load.items():
        out[s, y][k] = x
    return out


@rule
def rule_load_balance(f: Facts) -> list[str]:
    """A site's loads over its coolings add up to what it serves, every year."""
    loads = _loads_by_site_year(f)
    out = []
    for key in sorted(set(_by_site_year(f)) | set(loads)):
        total = sum(_by_site_year(f).get(key, {}).values())
        got = sum(loads.get(key, {}).values())
        if abs(got - total) > _tol(total):
            out.append(f"site {key[0]} in {key[1]}: loads {got:.4f} != served {total:.4f}")
    return out


@rule
def rule_cooling_class(f: Facts) -> list[str]:
    """Each class's service runs on coolings it allows (a max-flow per site and year)."""
    all_tech = tuple(f.cooling.index)
    loads = _loads_by_site_year(f)
    out = []
    for (s, y), per_class in _by_site_year(f).items():
        total = sum(per_class.values())
        flow = nx.DiGraph()
        for c, mw in per_class.items():
            flow.add_edge("src", ("c", c), capacity=mw)
            allowed = f.classes.at[c, "cooling"] if c in f.classes.index else ()
            for k in allowed or all_tech:
                flow.add_edge(("c", c), ("k", k))
        for k, mw in loads.get((s, y), {}).items():
            flow.add_edge(("k", k), "dst", capacity=mw)
        value = nx.maximum_flow_value(flow, "src", "dst") if "dst" in flow else 0.0
        if value < total - _tol(total):
            out.append(f"site {s} in {y}: classes cannot run on the coolings' loads "
                       f"({value:.4f} of {total:.4f} MW)")
    return out


# ---- service ----------------------------------------------------------------------------------

@rule
def rule_serve_nonnegative(f: Facts) -> list[str]:
    """No negative service."""
    return [f"negative service {s}->{r}/{c} in {y}: {mw}"
            for s, r, c, y, mw in f.serve_rows if mw < -TOL]


@rule
def rule_serve_open(f: Facts) -> list[str]:
    """Only open sites serve."""
    return [f"site {s} serves {r}/{c} in {y} but is not open" for s, r, c, y, _mw in f.serve_rows
            if f.open_year.get(s) is None or f.open_year[s] > y]  # type: ignore[operator]


@rule
def rule_serve_hostable(f: Facts) -> list[str]:
    """A site serves a class only in years it has capacity on a cooling the class allows."""
    out = []
    for s, _r, c, y, _mw in f.serve_rows:
        if c in f.classes.index and f.classes.at[c, "cooling"] and not any(
                f.cap.get((s, k, y), 0) > 0 for k in f.classes.at[c, "cooling"]):
            out.append(f"site {s} serves class {c} in {y} with no capacity able to host it")
    return out


@rule
def rule_serve_connected(f: Facts) -> list[str]:
    """A located region is served only by sites with a fiber path to it."""
    return [f"site {s} serves {r} with no fiber path" for s, r, _c, _y, _mw in f.serve_rows
            if r in f.located and (s, r) not in f.rtt]


@rule
def rule_latency_target(f: Facts) -> list[str]:
    """Service stays within the (region, class) latency target, else the default target."""
    targets = f.inst.table("latency_targets").set_index(["region", "class"])["max_rtt_ms"]
    out = []
    for s, r, c, y, _mw in f.serve_rows:
        lat = f.rtt.get((s, r))
        if r not in f.located or lat is None:
            continue
        limit = targets.get((r, c), f.meta.latency.max_rtt_ms)
        if limit is not None and lat > limit + 1e-9:
            out.append(f"site {s} serves {r}/{c} in {y} at {lat:.3f} ms, target {limit} ms")
    return out


@rule
def rule_served_rtt(f: Facts) -> list[str]:
    """served.csv's rtt_ms is the recomputed round trip (empty for location-free regions)."""
    served = f.plan["served"]
    out = []
    for s, r, rtt in served[["site", "region", "rtt_ms"]].itertuples(index=False, name=None):
        want = f.rtt.get((s, r), math.nan)
        if (math.isnan(want) != pd.isna(rtt)) or (
                not math.isnan(want) and abs(float(rtt) - want) > 1e-6 * max(1.0, want)):
            out.append(f"served {s}->{r}: reported rtt_ms {rtt} != recomputed {want:.6f}")
    return out


@rule
def rule_single_source(f: Facts) -> list[str]:
    """With service.single_source, each (region, class, year) is served by one site at most."""
    if not f.meta.service.single_source:
        return []
    servers: dict[tuple[str, str, int], set[str]] = defaultdict(set)
    for s, r, c, y, mw in f.serve_rows:
        if mw > TOL:
            servers[r, c, y].add(s)
    return [f"demand {r}/{c}/{y} served by {len(ss)} sites ({', '.join(sorted(ss))}) but "
            "service.single_source is set" for (r, c, y), ss in servers.items() if len(ss) > 1]


@rule
def rule_demand_balance(f: Facts) -> list[str]:
    """Served plus unserved equals the demand of every (region, class, year)."""
    out = []
    demand = f.inst.table("demand")
    for r, c, y, d in demand[["region", "class", "year", "it_mw"]].itertuples(index=False):
        s_mw, u_mw = f.got.get((r, c, int(y)), 0.0), f.miss.get((r, c, int(y)), 0.0)
        if abs(s_mw + u_mw - d) > _tol(d):
            out.append(f"demand {r}/{c}/{y}: served {s_mw:.4f} + unserved {u_mw:.4f} != {d}")
    return out


@rule
def rule_unserved_allowed(f: Facts) -> list[str]:
    """No unserved demand unless the instance allows it."""
    if f.meta.unserved_allowed:
        return []
    return [f"demand {r}/{c}/{y}: {x:.4f} MW unserved but unserved is forbidden"
            for (r, c, y), x in f.miss.items() if x > TOL]


@rule
def rule_unserved_nonnegative(f: Facts) -> list[str]:
    """No negative unserved demand."""
    return [f"demand {key}: negative unserved {x:.4f} MW" for key, x in f.miss.items()
            if x < -TOL]


@rule
def rule_no_phantom_demand(f: Facts) -> list[str]:
    """Service or unserved demand only for (region, class, year) rows of demand.csv."""
    demand = f.inst.table("demand")
    listed = set(zip(demand["region"], demand["class"], demand["year"].astype(int), strict=True))
    return [f"service for {key} which has no demand" for key in sorted(set(f.got) | set(f.miss))
            if key not in listed and (f.got.get(key, 0) > TOL or f.miss.get(key, 0) > TOL)]


# ---- costs, budgets, objective ------------------------------------------------------------------

@rule
def rule_budget(f: Facts) -> list[str]:
    """Capex spend (phases, openings, upgrades) stays within every budget row."""
    out = []
    for sponsor, year, limit in f.inst.table("budgets")[
            ["sponsor", "year", "max_capex_usd_m"]].itertuples(index=False):
        total = f.budget_spend(sponsor, year)
        if total > limit + _tol(limit):
            scope = f"sponsor {sponsor or 'all'}, year {year if not pd.isna(year) else 'all'}"
            out.append(f"budget ({scope}) spends {total:.3f} USD M, limit {limit}")
    return out


@rule
def rule_schedule_capex(f: Facts) -> list[str]:
    """schedule.csv's capex columns: capex x cooling factor, and its share inside the horizon."""
    sched = f.plan["schedule"]
    out = []
    for s, p, k, year, full, inside in sched[
            ["site", "phase", "cooling", "online_year", "capex_with_cooling_usd_m",
             "capex_in_horizon_usd_m"]].itertuples(index=False, name=None):
        if (s, p) not in f.ph or k not in f.cooling.index:
            continue
        r = f.ph[s, p]
        want = float(r.capex_usd_m) * float(f.cooling.at[k, "capex_factor"])
        lead = math.ceil(int(r.lead_months) / 12)
        span = [int(year)] if lead == 0 else list(range(int(year) - lead, int(year)))
        share = want * sum(1 for y in span if f.y0 <= y <= f.yT) / len(span)
        if abs(float(full) - want) > _tol(want):
            out.append(f"phase {s}/{p}: reported capex_with_cooling_usd_m {full} != {want:.4f}")
        if abs(float(inside) - share) > _tol(share):
            out.append(f"phase {s}/{p}: reported capex_in_horizon_usd_m {inside} != "
                       f"{share:.4f}")
    return out


@rule
def rule_cost_terms(f: Facts) -> list[str]:
    """costs.csv: every term's present value, and the total, match the recomputed ones."""
    costs = f.plan.get("costs")
    if costs is None or not len(costs):
        return []
    total = sum(f.cost_by_term.values())
    out = []
    for term, value in f.cost_by_term.items():
        reported = float((costs[term] * costs["discount"]).sum())
        if abs(reported - value) > OBJ_RTOL * max(1.0, abs(total)):
            out.append(f"cost term {term}: reported {reported:.6f} != recomputed {value:.6f}")
    if "total_pv" in costs.columns and abs(float(costs["total_pv"].sum()) - total) > (
            OBJ_RTOL * max(1.0, abs(total))):
        out.append(f"costs total_pv {float(costs['total_pv'].sum()):.6f} != recomputed "
                   f"{total:.6f}")
    return out


@rule
def rule_cost_rows(f: Facts) -> list[str]:
    """costs.csv row by row: one row per horizon year, each with its discount and terms.

    Each row's discount factor, terms, total and total_pv are recomputed. A year missing from
    the table would hide its costs from the table's sums (`rule_cost_terms` adds the rows
    listed), so the years listed must be the horizon's, each once.
    """
    costs = f.plan.get("costs")
    if costs is None:
        return []
    terms, _ = f.costs
    rate = f.eco.discount_rate
    listed = {int(y) for y in costs["year"]}
    out = [f"costs {y}: no row for this horizon year" for y in f.years if y not in listed]
    out += [f"costs {y}: a row for a year outside the horizon {f.y0}-{f.yT}"
            for y in sorted(listed - set(f.years))]
    for row in costs.to_dict("records"):
        y = int(row["year"])
        want = {"discount": (1 + rate) ** -(y - f.y0)}
        want |= {t: terms[t].get(y, 0.0) for t in COST_TERMS if t in row}
        want["total"] = sum(want[t] for t in COST_TERMS if t in row)
        want["total_pv"] = want["total"] * want["discount"]
        scale = max(1.0, abs(want["total"]))  # a row's numbers are as exact as its total
        for col, value in want.items():
            if col in row and abs(float(row[col]) - value) > OBJ_RTOL * max(scale, abs(value)):
                out.append(f"costs {y} {col}: reported {float(row[col]):.6f} != recomputed "
                           f"{value:.6f}")
    return out


def budget_key(sponsor: object, year: object) -> tuple[str, int | None]:
    """A budget row's identity: (sponsor, "" for all; year, None for the whole horizon)."""
    return ("" if pd.isna(sponsor) else str(sponsor), None if pd.isna(year) else int(year))


@rule
def rule_budget_rows(f: Facts) -> list[str]:
    """budgets.csv row by row: each budget row's capex spend, limit and slack."""
    table = f.plan.get("budgets")
    if table is None or not len(table):
        return []
    budgets = f.inst.table("budgets")[["sponsor", "year", "max_capex_usd_m"]]
    limits = {budget_key(sp, y): float(x) for sp, y, x in budgets.itertuples(index=False)}
    out = []
    for row in table.to_dict("records"):
        key = budget_key(row["sponsor"], row["year"])
        total = f.budget_spend(key[0], row["year"])
        for col, value in (("spend_usd_m", total),
                           ("slack_usd_m", float(row["limit_usd_m"]) - total)):
            if abs(float(row[col]) - value) > _tol(value):
                out.append(f"budget {row['budget']}: reported {col} {float(row[col]):.4f} "
                           f"!= recomputed {value:.4f}")
        if key not in limits or abs(float(row["limit_usd_m"]) - limits[key]) > _tol(limits[key]):
            out.append(f"budget {row['budget']}: limit {row['limit_usd_m']} is not the "
                       f"instance's {limits.get(key)}")
    return out


@rule
def rule_objective(f: Facts) -> list[str]:
    """The reported objective equals the one recomputed from the plan."""
    if f.reported_objective is not None and abs(f.reported_objective - f.objective) > (
            OBJ_RTOL * max(1.0, abs(f.objective))):
        return [f"reported objective {f.reported_objective:.6f} != recomputed "
                f"{f.objective:.6f}"]
    return []


def check_plan(inst: Instance, plan: dict[str, pd.DataFrame],
               reported_objective: float | None = None) -> CheckReport:
    """Check every rule of `RULES` on `plan` and recompute its objective.

    Each violation starts with the result file(s) of its rule (`Rule.table`), then names the
    row by its key and says what is wrong.

    The objective is the instance's `siting.objective` (total_cost: USD M present value;
    max_rtt: ms; uncovered_mw: MW-years; site_count: sites; backup_uncovered_mw: MW-years
    without two open sites within target; min_separation_km: km), recomputed from the
    plan alone.
    """
    facts = Facts(inst, plan, reported_objective)
    rep = CheckReport()
    for r in RULES:
        rep.violations.extend(f"{r.table}: {v}" for v in r.check(facts))
    rep.cost_by_term = dict(facts.cost_by_term)
    rep.total_cost = sum(rep.cost_by_term.values())
    rep.objective = facts.objective
    return rep
