"""Explaining an infeasible instance in the planner's terms.

Two sources, reported in this order:

1. the pre-solve checks (`siteopt.checks.presolve`): cheap bounds whose errors prove
   infeasibility and name the instance rows (committed spend over a budget, existing plant
   over a zone's headroom, demand beyond all capacity that can be online in time);
2. the elastic re-solve (`siteopt.model.elastic`): the model with priced slacks on demand,
   zone headroom, budgets, site caps and latency targets, solved for the smallest weighted
   violation. Each positive slack becomes one sentence naming ids, years and amounts, e.g.
   "zone hanoi-west headroom short by 42.00 facility MW in 2028".

`explain(inst)` returns both (`Explanation`); `explain_infeasible(inst)` the sentences.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pyomo.environ as pyo

from siteopt.checks.presolve import Finding, InstanceView, errors, presolve_checks
from siteopt.data.instance import Instance
from siteopt.data.load import make_instance
from siteopt.data.rules import latency_targets
from siteopt.io.frames import row_line
from siteopt.io.schema import TABLES_BY_NAME
from siteopt.model.build import create_model
from siteopt.model.compile import compile_model
from siteopt.model.data import ModelData, build_data
from siteopt.model.elastic import (
    ElasticWeights,
    make_elastic,
    over_target,
    slack_values,
)
from siteopt.solver.highs import SolveOptions, SolverOutcome, load_values, solve_matrices
from siteopt.solver.interrupt import Interrupted

#: Violations smaller than this (MW or USD M) are solver noise.
TOL = 1e-6


def _up(x: float, noise: float = 1e-6) -> str:
    """An amount a limit must move by, to 2 decimals rounded up.

    Moving the limit by the printed figure then suffices: 1.004 shown as 1.00 would leave
    the instance 0.004 short. `noise` (in hundredths) is not rounded up: solver noise for
    MW and USD M; round trips are data, compared with a 1e-9 ms tolerance (`LATENCY_NOISE`).
    """
    return f"{math.ceil(x * 100 - noise) / 100:.2f}"


#: `_up`'s noise for round trips: at most 1e-10 ms short, within the 1e-9 ms the model
#: allows a round trip beyond its target (`siteopt.model.data.allowed_pairs`).
LATENCY_NOISE = 1e-8


@dataclass(frozen=True)
class Violation:
    """One limit the elastic plan had to break, in domain terms."""

    kind: str  # "demand", "headroom", "budget", "site_cap" or "latency"
    amount: float  # IT MW, facility MW or USD M, per `kind`
    year: int | None
    message: str


#: Why an elastic copy without any plan proves the instance infeasible, and what is left.
KEPT_HARD = ("no plan exists even with every grid, budget, site-cap and latency limit relaxed "
             "and demand left unserved: the rules the relaxation keeps (committed phases, "
             "siting.sites, service.single_source, min_sites, n_minus_1_sites) contradict "
             "each other")


@dataclass
class Explanation:
    """Why an instance has no plan: pre-solve findings and the elastic plan's violations.

    The elastic re-solve proves infeasibility only when its optimum is positive: when it
    stops early (a time limit), a plan with violations may just be a poor one, so its
    violations suffice for a plan without being needed (`elastic_proven` False), and no
    elastic plan at all decides nothing (`feasible` and `infeasible` both False).
    """

    findings: list[Finding] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    elastic_status: str = "not run"
    #: the elastic re-solve proved some violation necessary (optimal, or a positive bound)
    elastic_proven: bool = True
    #: the elastic re-solve returned a plan (its violations, or none: a feasible plan)
    elastic_plan: bool = True

    @property
    def infeasible(self) -> bool:
        """Whether some hard constraint must be broken for a plan to exist (proven).

        An elastic copy with no plan at all proves it too: every plan of the instance is a
        plan of the copy, which only relaxes limits.
        """
        return bool(errors(self.findings) or (self.violations and self.elastic_proven)
                    or self.elastic_status == "infeasible")

    @property
    def feasible(self) -> bool:
        """Whether a plan breaking no hard constraint was found (proven)."""
        return not errors(self.findings) and self.elastic_plan and not self.violations

    def caveat(self) -> str | None:
        """What the elastic violations do not prove, if its re-solve stopped short of optimal.

        Stopped (e.g. by a time limit), its plan's violations make a plan possible but a
        better elastic plan may need fewer or smaller ones; listing them as if they were the
        smallest set would overstate them. None when there are none, or they are proven.
        """
        if not self.violations or self.elastic_status == "optimal":
            return None
        return (f"the elastic re-solve stopped ({self.elastic_status}) before its optimum: the "
                "violations listed make a plan possible but are not proven the smallest set")

    def reasons(self) -> list[str]:
        """Pre-solve errors, then the elastic plan's violations, as sentences."""
        kept = [KEPT_HARD] if self.elastic_status == "infeasible" else []
        return ([str(f) for f in errors(self.findings)] + [v.message for v in self.violations]
                + kept)


def _elastic_instance(inst: Instance) -> Instance:
    """`inst` with latency targets lifted and unserved demand allowed (validated again).

    The elastic objective replaces any `siting.objective`, so the copy is read as a cost
    model (under which `allow_unserved` frees unserved demand).
    """
    meta = inst.meta.model_copy(update={
        "service": inst.meta.service.model_copy(update={"allow_unserved": True}),
        "latency": inst.meta.latency.model_copy(update={"max_rtt_ms": None}),
        "siting": inst.meta.siting.model_copy(update={"objective": "total_cost"})})
    tables = dict(inst.tables)
    tables["latency_targets"] = tables["latency_targets"].iloc[0:0]
    return make_instance(meta, tables, path=inst.path, fingerprint=inst.fingerprint + "+elastic",
                         checked=tables)  # typed already; an empty table stays valid


def _line(inst: Instance, table: str, i: int) -> str:
    return f"{TABLES_BY_NAME[table].file} line {row_line(inst.table(table), i)}"


def _demand_context(view: InstanceView, d: ModelData, targets: set[tuple[str, str]], r: str,
                    c: str, y: int) -> str:
    """What bounds (r, c, y): the sites able to serve it (latency aside) and their capacity."""
    allowed = frozenset(d.class_cooling[c])
    sites = sorted({s for s, r2, c2, _y in d.SRCY if (r2, c2) == (r, c)},
                   key=d.S.index)
    hosts = [s for s in d.S if view.hosts(s, allowed)]
    cool = "" if allowed == frozenset(d.K) else f" on {'|'.join(sorted(allowed))} cooling"
    if not hosts:
        return f"no site can host class {c}"
    cap = sum(view.capacity(s, y, allowed)[0] for s in sites)
    if cap <= TOL:
        return (f"no site able to serve it can have capacity{cool} by {y}; "
                f"{view.earliest(hosts, allowed)}")
    util = f", {view.util:g} of it sellable" if view.util < 1 else ""
    held = ""
    if view.util * cap >= d.demand[r, c, y] - TOL:  # enough for this demand alone
        near = set(sites)
        others = any(y2 == y and (r2, c2) != (r, c) and s2 in near
                     for s2, r2, c2, y2 in d.SRCY)
        rules = _hard_rules(view.inst, c)
        held = (", shared with other demand" if others else "") + (
            f"; held back by rules the elastic re-solve keeps: {', '.join(rules)}"
            if rules else "")
    beyond = ", even beyond its latency target," if (r, c) in targets else ""
    return (f"the sites able to serve it ({', '.join(sites)}){beyond} "
            f"can have at most {cap:.2f} IT MW{cool} by {y}{util}{held}")


def _hard_rules(inst: Instance, c: str) -> list[str]:
    """The instance's rules on sites and service the elastic copy keeps hard (for class c).

    Demand they leave unserved while capacity would suffice is theirs to explain (e.g. a
    site count too small, or N-1 spare capacity); "shared with other demand" said so wrongly.
    """
    meta = inst.meta
    out = []
    if meta.siting.sites is not None:
        out.append(f"siting.sites = {meta.siting.sites} ({meta.siting.sites_rule})")
    if meta.service.single_source:
        out.append("service.single_source")
    rule = meta.resilience.get(c)
    if rule is not None:
        if rule.min_sites > 1:
            out.append(f"[resilience.{c}] min_sites = {rule.min_sites}"
                       + (", distinct_zones" if rule.distinct_zones else "")
                       + (f", min_km_apart = {rule.min_km_apart:g}" if rule.min_km_apart
                          else ""))
        if rule.n_minus_1_sites:
            out.append(f"[resilience.{c}] n_minus_1_sites")
    return out


def _describe(inst: Instance, d: ModelData, m: pyo.ConcreteModel,
              beyond: dict[tuple[str, str, str, int], tuple[float, float]],
              price_unserved: bool) -> list[Violation]:
    """The elastic plan's violations, one sentence each, in a stable order."""
    out: list[Violation] = []
    view = InstanceView(inst)
    lt = inst.table("latency_targets")
    with_target = set(zip(lt["region"], lt["class"], strict=True))
    if price_unserved:
        for r, c, y in d.RCY:
            x = float(m.unserved[r, c, y].value or 0.0)
            if x > TOL:
                out.append(Violation("demand", x, y, (
                    f"demand {r}/{c} in {y}: {x:.2f} of {d.demand[r, c, y]:.2f} IT MW cannot be "
                    f"served: {_demand_context(view, d, with_target, r, c, y)}")))
    head_line = {(z, int(y)): i for i, (z, y) in enumerate(
        inst.table("headroom")[["zone", "year"]].itertuples(index=False))}
    upgrade_from: dict[str, int] = {}
    for u, uy in d.UY:
        upgrade_from[u] = min(upgrade_from.get(u, uy), uy)
    zone_name = dict(zip(inst.table("zones")["zone"], inst.table("zones")["name"], strict=True))
    for (z, y), x in slack_values(m, "grid_headroom").items():
        if x <= TOL:
            continue
        power = float(pyo.value(m.power[z, y]))
        name = f" ({zone_name[z]})" if zone_name.get(z) else ""
        limit = power - x
        head = d.derate[z] * d.headroom[z, y]
        later = [f"{u} only from {upgrade_from[u]}" if u in upgrade_from else
                 f"{u} not within the horizon" for u in d.U
                 if d.upgrade_zone[u] == z and upgrade_from.get(u, y + 1) > y]
        # the cited row holds headroom before the derate: it must rise by x / derate
        raise_row = ("" if d.derate[z] == 1 else
                     f"; headroom_mw must rise by {_up(x / d.derate[z])} MW at derate "
                     f"{d.derate[z]:g}" if d.derate[z] > 0 else
                     "; at derate 0 headroom_mw adds nothing, only upgrades do")
        out.append(Violation("headroom", x, y, (
            f"zone {z}{name} headroom short by {_up(x)} facility MW in {y}: the plan needs "
            f"{power:.2f} MW, the limit is {limit:.2f} MW (derated headroom "
            f"{head:.2f} + upgrades {max(0.0, limit - head):.2f}"
            + (f"; upgrades can be online: {', '.join(later)}" if later else "")
            + f"){raise_row} [{_line(inst, 'headroom', head_line[z, y])}]")))
    for b, x in slack_values(m, "budget").items():
        if x <= TOL:
            continue
        sponsor, year, limit = d.budgets[int(b)]  # type: ignore[call-overload]
        who = f"sponsor {sponsor}" if sponsor else "all sponsors"
        when = "the whole horizon" if year is None else str(year)
        out.append(Violation("budget", x, year, (
            f"budget ({who}, {when}) short by {_up(x)} USD M: the plan needs "
            f"{limit + x:.2f} USD M, the limit is {limit:.2f} "
            f"[{_line(inst, 'budgets', int(b))}]")))  # type: ignore[call-overload]
    site_row = {s: i for i, s in enumerate(inst.table("sites")["site"])}
    for (s, y), x in slack_values(m, "site_max_capacity").items():
        if x <= TOL:
            continue
        out.append(Violation("site_cap", x, y, (
            f"site {s} capacity cap short by {_up(x)} IT MW in {y}: the plan needs "
            f"{d.max_it[s] + x:.2f} IT MW, max_it_mw is {d.max_it[s]:g} "
            f"[{_line(inst, 'sites', site_row[s])}]")))
    target_line = {(r, c): i for i, (r, c) in enumerate(lt[["region", "class"]].itertuples(
        index=False))}

    def beyond_target(key: tuple[str, str, str, int]) -> str:
        """Where site s lies against (r, c)'s target and how far the target must rise."""
        s, r, c, _y = key
        rtt, target = beyond[key]
        cut = inst.meta.resilience.get(c)
        shown = _up(rtt, LATENCY_NOISE)
        where = f" at {shown} ms round trip, beyond"
        rule = ""
        if cut is not None and cut.n_minus_1_links:  # rtt is the worst single cut's
            where = (f" at {shown} ms round trip after the worst single fibre cut, beyond"
                     if rtt != float("inf") else
                     ", which some single fibre cut leaves without a route, against")
            rule = f" ([resilience.{c}] n_minus_1_links)"
        raise_to = ""
        if math.isfinite(rtt):  # rounded up, so that the printed target suffices
            cited = (f"[{_line(inst, 'latency_targets', target_line[r, c])}]"
                     if (r, c) in target_line else "[instance.toml latency.max_rtt_ms]")
            raise_to = (f"; max_rtt_ms must rise by {_up(rtt - target, LATENCY_NOISE)} ms "
                        f"to {shown} ms {cited}")
        return f"site {s}{where} its {target:g} ms latency target{rule}{raise_to}"

    for key in beyond:
        x = float(m.serve[key].value or 0.0)
        if x > TOL:
            _s, r, c, y = key
            out.append(Violation("latency", x, y, (
                f"demand {r}/{c} in {y}: {x:.2f} IT MW must be served from "
                f"{beyond_target(key)}")))
    out += _resilience_beyond_target(m, beyond, beyond_target)
    order = {"demand": 0, "headroom": 1, "site_cap": 2, "budget": 3, "latency": 4}
    return sorted(out, key=lambda v: (order[v.kind], v.year or 0, v.message))


def _resilience_beyond_target(m: pyo.ConcreteModel,
                              beyond: dict[tuple[str, str, str, int], tuple[float, float]],
                              where: Callable[[tuple[str, str, str, int]], str],
                              ) -> list[Violation]:
    """The resilience rules' use of sites beyond a latency target (`make_elastic` prices it).

    An N-1 backup from such a site (the most it takes over, among the outages) and a
    geo-redundancy pick of one, each a sentence naming the rule and, by `where`, how far the
    target must rise for the site to count.
    """
    out: list[Violation] = []
    backup = getattr(m, "backup", None)
    most: dict[tuple[str, str, str, int], tuple[float, str]] = {}
    for o, s, r, c, y in (backup if backup is not None else ()):
        x = float(backup[o, s, r, c, y].value or 0.0)
        if (s, r, c, y) in beyond and x > most.get((s, r, c, y), (TOL, ""))[0]:
            most[s, r, c, y] = (x, o)
    for key, (x, o) in most.items():
        _s, r, c, y = key
        out.append(Violation("latency", x, y, (
            f"demand {r}/{c} in {y}: {x:.2f} IT MW must be taken over when site {o} fails "
            f"([resilience.{c}] n_minus_1_sites) by {where(key)}")))
    pick = getattr(m, "geo_pick", None)
    for key in (pick if pick is not None else ()):
        x = float(pick[key].value or 0.0)
        if key in beyond and x > TOL:
            _s, r, c, y = key
            out.append(Violation("latency", x, y, (
                f"demand {r}/{c} in {y}: [resilience.{c}] min_sites needs {where(key)}")))
    return out


def elastic_violations(inst: Instance, options: SolveOptions | None = None,
                       weights: ElasticWeights | None = None) -> tuple[str, list[Violation]]:
    """Solve the elastic copy of `inst`; return its solver status and violations."""
    status, violations, _proven, _plan = _elastic(inst, options, weights)
    return status, violations


def _elastic(inst: Instance, options: SolveOptions | None,
             weights: ElasticWeights | None) -> tuple[str, list[Violation], bool, bool]:
    """Status, violations, whether some violation is proven necessary, whether a plan came.

    Proven: the elastic optimum is positive, i.e. HiGHS stopped at the optimum (within its
    gap, which is below 1, so the bound is positive too) or its bound alone is positive.
    """
    relaxed = _elastic_instance(inst)
    d = build_data(relaxed)
    m = create_model(d, tighten=False)  # tightening rows assume the hard limits
    lat = inst.latency
    after_cut = (dict(zip(zip(lat["site"], lat["region"], strict=True),
                          lat["rtt_ms_n1"].astype(float), strict=True))
                 if "rtt_ms_n1" in lat.columns else None)
    cut_classes = frozenset(c for c, rule in inst.meta.resilience.items()
                            if rule.n_minus_1_links)
    beyond = over_target(d, latency_targets(inst.meta, inst.tables), after_cut, cut_classes)
    price_unserved = not inst.meta.unserved_allowed
    make_elastic(m, d, weights or ElasticWeights.for_data(d), price_unserved, beyond)
    opts = options or SolveOptions()
    started = time.perf_counter()

    def run() -> SolverOutcome:
        left = (None if opts.time_limit is None else
                max(0.01, opts.time_limit - (time.perf_counter() - started)))
        outcome = solve_matrices(mat, SolveOptions(time_limit=left, gap=opts.gap,
                                                   threads=opts.threads, seed=opts.seed))
        if outcome.interrupted_by is not None:
            raise Interrupted(outcome.interrupted_by)
        return outcome

    unserved_needed = False
    if price_unserved and d.RCY:  # without demand there is nothing to leave unserved
        # Stage 1: the least demand no relaxation of the limits can serve (limits and
        # targets free). Priced at a fixed weight, a limit that a whole phase must break
        # for a little demand weighed more than leaving that demand unserved, and the
        # explanation named unserved demand instead of the limit.
        m.violation.deactivate()
        m.unserved_least = pyo.Objective(expr=pyo.quicksum(m.unserved[k] for k in d.RCY))
        mat = compile_model(m)
        first = run()
        if first.status == "optimal" and first.x is not None:
            least = max(0.0, first.objective)
            unserved_needed = least > TOL
            m.unserved_cap = pyo.Constraint(expr=pyo.quicksum(
                m.unserved[k] for k in d.RCY) <= least + TOL * max(1.0, least))
        m.unserved_least.deactivate()
        m.violation.activate()
    mat = compile_model(m)
    outcome = run()
    proven = unserved_needed or outcome.status == "optimal" or outcome.bound > TOL
    if outcome.x is None:
        return outcome.status, [], proven, False
    load_values(m, mat, outcome.x)
    return outcome.status, _describe(inst, d, m, beyond, price_unserved), proven, True


def explain(inst: Instance, options: SolveOptions | None = None) -> Explanation:
    """Pre-solve findings and the elastic plan's violations for `inst`."""
    findings = presolve_checks(inst)
    status, violations, proven, has_plan = _elastic(inst, options, None)
    return Explanation(findings=findings, violations=violations, elastic_status=status,
                       elastic_proven=proven, elastic_plan=has_plan)


def explain_infeasible(inst: Instance, options: SolveOptions | None = None) -> list[str]:
    """Reasons, in domain terms, why `inst` has no feasible plan (empty if none found)."""
    return explain(inst, options).reasons()


__all__ = ["Explanation", "Violation", "elastic_violations", "explain", "explain_infeasible"]
