"""A brute-force oracle for small instances: enumerate every plan's binary decisions.

Independent of the model, the solver and the checker: it reads only the validated instance
tables and re-derives every rule from `models/siteplan.md`:

* every phase's online year (or never) and cooling, in build order, within its timing window
  (`max(earliest_decision_year, y0) + ceil(lead_months / 12)` .. T; a committed phase exactly
  in its committed year with its one cooling); every upgrade's year (or never);
* a new site is open exactly while its first phase is online; a site with existing capacity
  is open from y0 and pays no opening cost;
* site caps, zone headroom (derate x headroom + upgrades in place, PUE x nameplate), budgets
  (capex x capex_factor spread evenly over the construction years, shares before y0 sunk,
  opening costs in the opening year, upgrade capex);
* per year, the continuous rest as a transport LP (`scipy.optimize.linprog`): serve per
  (site, region, class, cooling) over latency-feasible pairs (networkx shortest paths on the
  raw links), classes only on coolings they allow, load within max_utilization x capacity,
  unserved demand at its penalty if allowed.

The present value of every cost term is computed from the raw tables. Plans are evaluated in
order of their fixed (binary-only) cost; since the yearly LP costs are non-negative, the
search stops once the fixed cost alone exceeds the best plan found, which keeps it exact.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from scipy.optimize import linprog

from siteopt.data.instance import Instance

#: Feasibility tolerance of the oracle's own comparisons (MW, USD M).
TOL = 1e-7


@dataclass
class OracleResult:
    """The oracle's verdict: the optimal objective, or None when no plan exists."""

    objective: float | None
    combinations: int
    evaluated: int = 0
    plan: dict[str, object] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return self.objective is not None


def _lead(months: object) -> int:
    return math.ceil(int(months) / 12)


def _span(online: int, lead: int) -> list[int]:
    return [online] if lead == 0 else list(range(online - lead, online))


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or bool(pd.isna(x))


class Oracle:
    """Enumerates the binary decisions of one instance and solves the rest per year."""

    def __init__(self, inst: Instance):
        self.inst = inst
        t = inst.tables
        meta = inst.meta
        self.meta = meta
        self.y0, self.yT = meta.horizon.first_year, meta.horizon.last_year
        self.years = list(range(self.y0, self.yT + 1))
        self.eco = meta.economics
        cool = t["cooling"]
        self.coolings = list(cool["cooling"])
        self.pue = dict(zip(cool["cooling"], cool["pue"].astype(float), strict=True))
        self.factor = dict(zip(cool["cooling"], cool["capex_factor"].astype(float), strict=True))
        self.buildable = [k for k, b in zip(cool["cooling"], cool["buildable"], strict=True)
                          if bool(b)]
        self.sites = t["sites"].set_index("site")
        self.zones = t["zones"].set_index("zone")
        head = t["headroom"]
        self.headroom = {(z, int(y)): float(h) for z, y, h in zip(
            head["zone"], head["year"], head["headroom_mw"], strict=True)}
        self.upgrades = t["upgrades"]
        self.classes = {c: (tuple(k) if k else tuple(self.coolings)) for c, k in zip(
            t["classes"]["class"], t["classes"]["cooling"], strict=True)}
        self.demand = {(r, c, int(y)): float(d) for r, c, y, d in zip(
            t["demand"]["region"], t["demand"]["class"], t["demand"]["year"],
            t["demand"]["it_mw"], strict=True) if float(d) > 0}
        sc = t["service_costs"]
        self.service_cost = {(s, r): float(g) for s, r, g in zip(
            sc["site"], sc["region"], sc["cost_usd_m_per_mw_year"], strict=True)}
        self.budgets = [(sp, None if _missing(yr) else int(yr), float(b)) for sp, yr, b in zip(
            t["budgets"]["sponsor"], t["budgets"]["year"], t["budgets"]["max_capex_usd_m"],
            strict=True)]
        self.allow_unserved = meta.unserved_allowed
        self.penalty = float(meta.service.unserved_penalty_usd_m_per_mw_year)
        self.util = float(meta.service.max_utilization)
        self.pairs = self._latency_pairs()
        self.site_options = {s: self._site_options(s) for s in self.sites.index}
        self.upgrade_options = [self._upgrade_options(u) for u in self.upgrades.itertuples(
            index=False)]
        self._lp_cache: dict[tuple, float | None] = {}

    # ---- data ------------------------------------------------------------------------------

    def discount(self, y: int) -> float:
        return (1 + self.eco.discount_rate) ** -(y - self.y0)

    def energy(self, s: str, k: str, y: int) -> float:
        """USD M per IT MW of load per year (siteplan.md §3)."""
        eco = self.eco
        gamma = float(self.zones.at[self.sites.at[s, "zone"], "tariff_factor"])
        return (self.pue[k] * eco.hours_per_year * eco.it_load_factor * eco.tariff_usd_per_mwh
                * gamma * (1 + eco.tariff_escalation) ** (y - self.y0) / 1e6)

    def _latency_pairs(self) -> set[tuple[str, str, str]]:
        """(site, region, class) allowed by latency (siteplan.md §6), from the raw links."""
        lat = self.meta.latency
        g = nx.Graph()
        t = self.inst.tables
        g.add_nodes_from(t["nodes"]["node"])
        for a, b, km, extra in zip(t["links"]["a"], t["links"]["b"], t["links"]["km"],
                                   t["links"]["extra_rtt_ms"], strict=True):
            w = float(km) * lat.rtt_ms_per_km + lat.rtt_ms_per_hop + float(extra)
            if g.has_edge(a, b):
                w = min(w, g[a][b]["weight"])
            g.add_edge(a, b, weight=w)
        targets = {(r, c): float(m) for r, c, m in zip(
            t["latency_targets"]["region"], t["latency_targets"]["class"],
            t["latency_targets"]["max_rtt_ms"], strict=True)}
        region_node = dict(zip(t["regions"]["region"], t["regions"]["node"], strict=True))
        out = set()
        for s in self.sites.index:
            sn = self.sites.at[s, "node"]
            dist = nx.single_source_dijkstra_path_length(g, sn, weight="weight") if sn in g else {
                sn: 0.0}
            for r, rn in region_node.items():
                for c in self.classes:
                    if not rn:
                        out.add((s, r, c))
                        continue
                    if rn not in dist:
                        continue
                    rtt = lat.rtt_ms_fixed + dist[rn]
                    target = targets.get((r, c), lat.max_rtt_ms)
                    if target is None or rtt <= target + 1e-9:
                        out.add((s, r, c))
        return out

    # ---- binary decisions ------------------------------------------------------------------

    def _phases(self, s: str) -> list:
        ph = self.inst.tables["phases"]
        rows = [(math.inf if _missing(r.order) else float(r.order), i, r)
                for i, r in enumerate(ph.itertuples(index=False)) if r.site == s]
        return [r for _o, _i, r in sorted(rows, key=lambda x: (x[0], x[1]))]

    def _site_options(self, s: str) -> list[dict[str, object]]:
        """Every schedule of site s that keeps build order, timing, commitments and its cap."""
        phases = self._phases(s)
        existing = float(self.sites.at[s, "existing_it_mw"])
        schedules: list[list[tuple[str, int] | None]] = [[]]
        for r in phases:
            lead = _lead(r.lead_months)
            allowed = list(r.cooling) if r.cooling else list(self.buildable)
            if not _missing(r.committed_year):
                choices: list[tuple[str, int] | None] = [(k, int(r.committed_year))
                                                         for k in allowed]
            else:
                first = (self.y0 if _missing(r.earliest_decision_year)
                         else max(int(r.earliest_decision_year), self.y0)) + lead
                choices = [None] + [(k, y) for y in range(first, self.yT + 1) for k in allowed]
            new = []
            for sched in schedules:
                prev = sched[-1] if sched else ("", self.y0)  # first phase: no predecessor
                for ch in choices:
                    if ch is not None and (prev is None or ch[1] < prev[1]):
                        continue  # needs its predecessor online by then
                    new.append([*sched, ch])
            schedules = new
        out = []
        cap_limit = self.sites.at[s, "max_it_mw"]
        sponsor = self.sites.at[s, "sponsor"]
        for sched in schedules:
            cap: dict[tuple[str, int], float] = defaultdict(float)
            if existing > 0:
                for y in self.years:
                    cap[self.sites.at[s, "existing_cooling"], y] += existing
            cost: dict[int, float] = defaultdict(float)  # undiscounted fixed cost per year
            spend: list[tuple[str, int, float]] = []
            for r, ch in zip(phases, sched, strict=True):
                if ch is None:
                    continue
                k, yon = ch
                for y in self.years:
                    if y >= yon:
                        cap[k, y] += float(r.it_mw)
                        om = (float(r.capex_usd_m) * self.eco.fixed_om_share
                              if _missing(r.fixed_om_usd_m_per_year)
                              else float(r.fixed_om_usd_m_per_year))
                        cost[y] += om
                span = _span(yon, _lead(r.lead_months))
                amount = float(r.capex_usd_m) * self.factor[k]
                for y in span:
                    if self.y0 <= y <= self.yT:
                        cost[y] += amount / len(span)
                        spend.append((sponsor, y, amount / len(span)))
            if existing > 0:
                open_year: int | None = self.y0
            else:
                open_year = sched[0][1] if sched and sched[0] is not None else None
                if open_year is not None:
                    oc = float(self.sites.at[s, "open_cost_usd_m"])
                    cost[open_year] += oc
                    spend.append((sponsor, open_year, oc))
            if open_year is not None:
                for y in self.years:
                    if y >= open_year:
                        cost[y] += float(self.sites.at[s, "site_fixed_om_usd_m_per_year"])
            if not _missing(cap_limit) and any(
                    sum(c for (_k, yy), c in cap.items() if yy == y) > float(cap_limit) + TOL
                    for y in self.years):
                continue
            out.append({"schedule": {r.phase: ch for r, ch in zip(phases, sched, strict=True)},
                        "cap": dict(cap), "cost": dict(cost), "spend": spend,
                        "open_year": open_year})
        return out

    def _upgrade_options(self, u) -> list[dict[str, object]]:
        lead = _lead(u.lead_months)
        first = (self.y0 if _missing(u.earliest_decision_year)
                 else max(int(u.earliest_decision_year), self.y0)) + lead
        out: list[dict[str, object]] = [{"year": None, "cost": {}, "spend": [], "mw": {}}]
        for yon in range(first, self.yT + 1):
            span = _span(yon, lead)
            amount = float(u.capex_usd_m)
            shares = [(y, amount / len(span)) for y in span if self.y0 <= y <= self.yT]
            out.append({"year": yon, "cost": dict(shares),
                        "spend": [(u.sponsor, y, x) for y, x in shares],
                        "mw": {(u.zone, y): float(u.add_mw) for y in self.years if y >= yon}})
        return out

    @property
    def any_service(self) -> bool:
        """Whether some plan can serve some demand at all (a site with a hosting cooling, in
        a year with demand, over an allowed pair)."""
        for (r, c, y) in self.demand:
            for s, opts in self.site_options.items():
                if (s, r, c) in self.pairs and any(
                        mw > 0 and k in self.classes[c] and yy == y
                        for o in opts for (k, yy), mw in o["cap"].items()):
                    return True
        return False

    @property
    def combinations(self) -> int:
        n = 1
        for opts in [*self.site_options.values(), *self.upgrade_options]:
            n *= len(opts)
        return n

    # ---- the continuous rest ---------------------------------------------------------------

    def year_lp(self, y: int, cap: tuple[tuple[str, str, float], ...]) -> float | None:
        """Cheapest undiscounted service cost of year y given capacity (site, cooling, MW)."""
        key = (y, cap)
        if key in self._lp_cache:
            return self._lp_cache[key]
        rcs = [(r, c) for (r, c, yy) in self.demand if yy == y]
        cols: list[tuple] = []
        cost: list[float] = []
        for r, c in rcs:
            for s, k, mw in cap:
                if mw > 0 and k in self.classes[c] and (s, r, c) in self.pairs:
                    cols.append(("x", s, r, c, k))
                    cost.append(self.energy(s, k, y) + self.service_cost.get((s, r), 0.0))
            if self.allow_unserved:
                cols.append(("u", r, c))
                cost.append(self.penalty)
        if not rcs:
            value: float | None = 0.0
        elif not cols:
            value = None
        else:
            index = {col: j for j, col in enumerate(cols)}
            a_eq = np.zeros((len(rcs), len(cols)))
            b_eq = np.array([self.demand[r, c, y] for r, c in rcs])
            for i, (r, c) in enumerate(rcs):
                for col, j in index.items():
                    if (col[0] == "x" and col[2:4] == (r, c)) or col == ("u", r, c):
                        a_eq[i, j] = 1.0
            a_ub = np.zeros((len(cap), len(cols)))
            b_ub = np.array([self.util * mw for _s, _k, mw in cap])
            for i, (s, k, _mw) in enumerate(cap):
                for col, j in index.items():
                    if col[0] == "x" and col[1] == s and col[4] == k:
                        a_ub[i, j] = 1.0
            res = linprog(np.array(cost), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                          bounds=(0, None), method="highs")
            value = float(res.fun) if res.status == 0 else None
            assert res.status in (0, 2), res.message
        self._lp_cache[key] = value
        return value

    # ---- the search ------------------------------------------------------------------------

    def solve(self) -> OracleResult:
        sites = list(self.site_options)
        candidates = []
        for combo in itertools.product(*(self.site_options[s] for s in sites),
                                       *self.upgrade_options):
            site_opts, up_opts = combo[:len(sites)], combo[len(sites):]
            if not self._grid_ok(sites, site_opts, up_opts):
                continue
            spend = [x for o in combo for x in o["spend"]]
            if not self._budgets_ok(spend):
                continue
            fixed = sum(self.discount(y) * x for o in combo for y, x in o["cost"].items())
            candidates.append((fixed, site_opts, up_opts))
        result = OracleResult(objective=None, combinations=self.combinations)
        candidates.sort(key=lambda c: c[0])
        best = math.inf
        for fixed, site_opts, up_opts in candidates:
            if fixed > best + 1e-9 * max(1.0, abs(best)):
                break
            result.evaluated += 1
            total = fixed
            for y in self.years:
                cap = tuple(sorted((s, k, mw) for s, o in zip(sites, site_opts, strict=True)
                                   for (k, yy), mw in o["cap"].items() if yy == y and mw > 0))
                lp = self.year_lp(y, cap)
                if lp is None:
                    total = math.inf
                    break
                total += self.discount(y) * lp
            if total < best:
                best = total
                result.plan = {
                    "phases": {(s, p): ch for s, o in zip(sites, site_opts, strict=True)
                               for p, ch in o["schedule"].items()},
                    "upgrades": [o["year"] for o in up_opts], "fixed": fixed}
        if math.isfinite(best):
            result.objective = best
        return result

    def _grid_ok(self, sites, site_opts, up_opts) -> bool:
        power: dict[tuple[str, int], float] = defaultdict(float)
        for s, o in zip(sites, site_opts, strict=True):
            z = self.sites.at[s, "zone"]
            for (k, y), mw in o["cap"].items():
                power[z, y] += self.pue[k] * mw
        extra: dict[tuple[str, int], float] = defaultdict(float)
        for o in up_opts:
            for key, mw in o["mw"].items():
                extra[key] += mw
        return all(p <= float(self.zones.at[z, "derate"]) * self.headroom[z, y] + extra[z, y]
                   + TOL * max(1.0, p) for (z, y), p in power.items())

    def _budgets_ok(self, spend: list[tuple[str, int, float]]) -> bool:
        for sponsor, year, limit in self.budgets:
            total = sum(x for sp, y, x in spend
                        if (not sponsor or sp == sponsor) and (year is None or y == year))
            if total > limit + TOL * max(1.0, limit):
                return False
        return True


def oracle(inst: Instance) -> OracleResult:
    """The optimal present-value cost of `inst` by enumeration, or None if no plan exists."""
    return Oracle(inst).solve()


def combinations(inst: Instance) -> int:
    """How many binary combinations the oracle would enumerate (after build-order pruning)."""
    return Oracle(inst).combinations
