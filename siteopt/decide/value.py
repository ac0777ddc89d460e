"""What scarce inputs are worth at the optimal plan: exact re-solves and fixed-plan marginals.

Two kinds of numbers, never mixed (`models/value-and-alternatives.md`):

* **Re-solves** (exact, the MILP solved again): for every `grid_headroom` row that binds in
  the base plan (its slack is less than one phase's facility MW in the zone), the optimal
  total cost as a function of extra headroom Δ in that zone and year
  (`headroom[zone=Z,year=Y].headroom_mw.add=Δ`); likewise for every `budget` row within one
  phase's capex of its limit (`budgets[sponsor=..,year=..].max_capex_usd_m.add=Δ`), every
  `site_max_capacity` within one phase of its cap (`sites[site=S].max_it_mw.add=Δ`) and
  every latency target that a step would change
  (`latency_targets[region=R,class=C].max_rtt_ms.add=±step`). These rows hold only
  binaries, so their LP duals after fixing the binaries say nothing; none is reported.
  Each point is solved through the ordinary pipeline (so its plan is verified by the
  independent checker), warm-started from the base plan when that plan is feasible there.
  Two points are settled without a solve, both exactly: a *restriction* (Δ < 0, a tighter
  target) under which the base plan stays feasible keeps the base optimum (the checker
  confirms the base plan on the restricted instance); and a relaxation Δ smaller than a
  relaxation Δmax whose optimum equals the base optimum keeps it too (the optimum is
  non-increasing in headroom, budget, cap and target). The largest relaxations of the
  headroom, budget and cap curves are screened together first (`siteopt.decide.screen`):
  one MILP per relaxation that saves, plus one that proves all the others save nothing.
* **Marginal values of the fixed plan** (`demand_balance`): the LP duals with every binary
  fixed at the optimal plan, i.e. what one more IT MW of demand of a region, class and year
  costs if the build-out stays as planned, with HiGHS's ranging interval of the demand over
  which that marginal holds.
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

from siteopt.data.instance import Instance
from siteopt.data.overrides import apply_overrides
from siteopt.decide.engine import (
    NOT_STARTED,
    BasePlan,
    Pool,
    Resolved,
    Task,
    plan_changes,
    solve_base,
    warm_resolve,
)
from siteopt.decide.screen import Screen, screen_relaxations
from siteopt.errors import InputError, Problem
from siteopt.io.write import RESULT_FOLDER, atomic_dir, write_result
from siteopt.model.capacity import capped_sites
from siteopt.model.data import ModelData, build_data
from siteopt.solver.highs import (
    KNOWN_BOUND,
    SolveOptions,
    relative_gap,
    solve_matrices,
    to_highs,
)
from siteopt.solver.interrupt import Interrupted, signal_name
from siteopt.solver.results import budget_spend
from siteopt.verify.checker import check_plan

#: Default steps of extra grid headroom (listed facility MW of the zone-year).
HEADROOM_DELTAS = (-50.0, -20.0, -10.0, 10.0, 20.0, 50.0, 100.0)
#: Default steps of a budget row (USD M).
BUDGET_DELTAS = (-100.0, -50.0, 50.0, 100.0)
#: Default steps of a site's IT cap (IT MW).
SITE_CAP_DELTAS = (-20.0, -10.0, 10.0, 20.0, 50.0)
#: Default latency step (ms of round trip).
LATENCY_STEP = 1.0
#: The base (optimal) plan's result folder inside a `--out` folder.
BASE_FOLDER = "base"

#: How each number was obtained (the `method` column).
METHODS = {
    "re-solve": "MILP re-solved with the override (exact up to the solver's gap)",
    "base plan feasible": "a restriction under which the base plan stays feasible (checked): "
                          "the base plan, its objective and bound (the base solve's gap), no "
                          "solve",
    "implied": "a smaller relaxation than a step whose proven bound lies within the gap of "
               "the base optimum: the base plan (feasible here) and that bound, so proven "
               "within the gap like a re-solve (the optimum is monotone in the input), no "
               "solve",
    "screened": "the largest relaxation of its curve, proven to save no more than the gap by "
                "one solve over every such relaxation still open (the screen): the base "
                "optimum and plan, no solve of its own",
    "between": "between two computed steps where the more restricted one's plan (feasible "
               "here) lies within the gap of the more relaxed one's proven bound: that plan "
               "and bound, no solve; or infeasible, being more restricted than a step "
               "without a plan",
    "fixed-plan dual": "LP dual of demand_balance with every binary fixed at the optimal plan "
                       "(marginal value assuming the plan does not change)",
}


#: Rows implied by the others once every binary is fixed (left out of the fixed-plan LP):
#: valid inequalities whose coefficients or bounds hold the demand itself.
IMPLIED_WHEN_FIXED = ("serve_link", "demand_cover", "n1_region", "n1_cover", "n1_link")
#: Rows serve <= D * z (z binary): at z = 1 implied by demand_balance (serve <= D), at z = 0
#: they close the pair and stay.
IMPLIED_WHEN_ON = ("assign_link", "rtt_reach")


@dataclass
class Point:
    """One point of a value curve: an override of the base instance and what it gives."""

    kind: str  # headroom, budget, site_cap, latency
    ids: dict[str, object]  # e.g. zone, year
    delta: float
    overrides: dict[str, object]
    restriction: bool
    base_slack: float
    key: str = ""
    objective: float | None = None
    status: str = "pending"
    verified: bool | None = None
    warm_started: bool = False
    method: str = ""
    gap: float | None = None
    #: a proven lower bound on this point's optimum (USD M), where one is known
    bound: float | None = None
    #: what proved a re-solve's plan: "solver" (HiGHS's own bound), "looser step" (the
    #: bound of a computed step that relaxes this one, `_floor`) or "screen" (the screen's)
    proof: str = ""
    #: a lower bound on this point's optimum from the screen, and the screen's plan for it
    #: where the screen found that it saves (feasible here, within the gap of that bound)
    screen_bound: float | None = None
    screen_plan: dict[str, float] = field(default_factory=dict, repr=False)
    #: where the floor of this point's re-solve comes from ("screen" or "looser step")
    floor_by: str = ""
    seconds: float = 0.0
    changes: list[str] = field(default_factory=list)
    error: str | None = None
    #: the re-solve's plan by variable name (a start for the next step of the curve)
    plan: dict[str, float] = field(default_factory=dict, repr=False)


@dataclass
class ValueReport:
    """Value curves (re-solves) and fixed-plan marginals around an optimal plan."""

    base: BasePlan
    headroom: pd.DataFrame
    budgets: pd.DataFrame
    site_caps: pd.DataFrame
    latency: pd.DataFrame
    demand: pd.DataFrame
    seconds: float
    solves: int
    options: SolveOptions
    workers: int | None
    scheduler: str | None = None
    #: why the run ended before every point was settled: "SIGINT", "SIGTERM" or
    #: "max_seconds" (those points have status `not_computed`); "" if it finished
    stopped: str = ""
    #: what the screen of the largest relaxations did (`Screen.summary`), if it ran
    screen: dict[str, object] | None = None

    def summary(self) -> dict[str, object]:
        """What `summary.json` holds."""
        base = self.base.result
        tables = {"headroom": self.headroom, "budgets": self.budgets,
                  "site_caps": self.site_caps, "latency": self.latency}
        return {
            "kind": "value",
            "instance": base.instance_name, "instance_fingerprint": base.fingerprint,
            "base_objective": base.objective, "base_gap": base.gap,
            "base_status": base.status, "base_verified": base.verified,
            "base_solve_seconds": base.timings.get("total"),
            "base_finished_at": base.finished_at,
            "resolution_usd_m": self.resolution,
            "seconds": self.seconds, "re_solves": self.solves, "stopped": self.stopped,
            "screen": self.screen,
            "not_computed": int(sum((v["status"] == "not_computed").sum()
                                    for v in tables.values() if len(v))),
            "workers": self.workers, "scheduler": self.scheduler,
            "options": {"time_limit": self.options.time_limit, "gap": self.options.gap},
            "points": {k: len(v) for k, v in tables.items()},
            "all_verified": bool(all(v["verified"].fillna(True).astype(bool).all()
                                     for v in tables.values() if len(v))),
            "methods": METHODS,
            "demand_rows": len(self.demand),
            "note": self.note(tables),
            "findings": self.lines(),
            "base_folder": BASE_FOLDER,
        }

    def note(self, tables: dict[str, pd.DataFrame]) -> str:
        """What the values are, as this run can claim it: proven values only where they are.

        A point whose plan has an objective but no proof (status other than optimal), or any
        point against a base not proven optimal, gives a bound, not a value (`_point_line`).
        """
        unproven = int(sum(((v["status"] != "optimal") & v["objective"].notna()).sum()
                           for v in tables.values() if len(v)))
        if self.base.result.status != "optimal":
            head = (f"the base plan is not proven optimal ({self.base.result.status}): "
                    "every headroom, budget, site-cap and latency value is a bound, not a "
                    "value")
        elif unproven:
            head = (f"headroom, budget, site-cap and latency values are re-solves of the MILP "
                    f"proven within the gap (or proven so without a solve, see methods), "
                    f"except {unproven} point(s) not proven optimal (their status), which "
                    f"give bounds, not values")
        else:
            head = ("headroom, budget, site-cap and latency values are re-solves of the MILP "
                    "proven within the gap (or proven so without a solve, see methods)")
        return (head + "; demand values are marginal values of the fixed base plan (LP duals "
                "with the binaries fixed)")

    @property
    def resolution(self) -> float:
        """Differences of objectives smaller than this are within the solvers' gaps (USD M)."""
        base = self.base.result
        return float((self.options.gap or 0.0) * abs(base.objective or 0.0))

    def write(self, out: str | Path) -> Path:
        """Write summary.json, one CSV per family and the base plan's result folder (`base/`).

        The folder is replaced as a whole (`atomic_dir`): complete, or the previous one
        untouched; nothing of an earlier run into the same folder stays beside it. Only a
        result folder (it holds summary.json) or an empty one is replaced, never other files.
        """
        out = Path(out)
        with atomic_dir(out, RESULT_FOLDER) as tmp:
            write_result(self.base.result, tmp / BASE_FOLDER)
            files = {"headroom_values.csv": self.headroom, "budget_values.csv": self.budgets,
                     "site_cap_values.csv": self.site_caps, "latency_values.csv": self.latency,
                     "demand_values.csv": self.demand}
            for name, frame in files.items():
                frame.to_csv(tmp / name, index=False, float_format="%.9g")
            (tmp / "summary.json").write_text(json.dumps(self.summary(), indent=2, default=str)
                                              + "\n", encoding="utf-8")
        return out

    def lines(self) -> list[str]:
        """The readable findings, one line per point that changes the optimum.

        Against a base plan not proven optimal (an API caller's time-limited `base_options`)
        every line is a bound, measured from the base's proven bound where that is the side
        a bound needs (see `_point_line`).
        """
        out: list[str] = []
        res = max(self.resolution, 1e-6)
        base = self.base.result
        over = None  # how far the base's cost may lie above its optimum, if not proven
        if base.status != "optimal":
            over = (self.base.objective - base.bound if base.bound is not None
                    and math.isfinite(base.bound) else math.inf)
        for title, frame, label, unit in (
                ("grid headroom (exact re-solves)", self.headroom, _zone_year, "MW"),
                ("budgets (exact re-solves)", self.budgets, _budget_label, "USD M"),
                ("site caps (exact re-solves)", self.site_caps, _site_label, "MW"),
                ("latency targets (exact re-solves)", self.latency, _latency_label, "ms")):
            if not len(frame):
                out.append(f"{title}: none binding")
                continue
            out.append(f"{title}:")
            for r in frame.to_dict("records"):
                out.append("  " + _point_line(r, label(r), unit, res, over))
        if len(self.demand):
            plan = "optimal plan" if over is None else "base plan (not proven optimal)"
            out.append(f"demand (marginal values of the fixed {plan}, LP duals; the plan "
                       "is assumed not to change):")
            top = self.demand.sort_values("usd_m_per_mw", ascending=False).head(8)
            for r in top.to_dict("records"):
                r = {k: (v + 0.0 if isinstance(v, float) else v) for k, v in r.items()}  # no -0
                out.append(f"  {r['region']} {r['class']} {r['year']}: {_demand_words(r)} "
                           f"USD {r['usd_m_per_mw']:.3f} M (present value; "
                           f"{r['usd_m_per_mw_year']:.3f} M in {r['year']} money), valid for "
                           f"demand {r['valid_from_mw']:.4g}..{r['valid_to_mw']:.4g} MW"
                           + _demand_caveat(r))
        return out


def _demand_words(r: dict) -> str:
    """What a demand dual is in words, by the side its ranging interval holds on."""
    return "one IT MW less saves" if r.get("holds_for") == "less only" else \
        "one more IT MW costs"


def _demand_caveat(r: dict) -> str:
    side = r.get("holds_for")
    if side == "less only":
        return " (not beyond today's demand: the fixed plan serves more only at another rate)"
    if side == "neither":
        return " (a degenerate dual: it holds for no change of demand)"
    return ""


def _zone_year(r: dict) -> str:
    return f"{r['zone']} {r['year']}"


def _budget_label(r: dict) -> str:
    who = r["sponsor"] or "all sponsors"
    when = "horizon" if r["year"] is None or pd.isna(r["year"]) else int(r["year"])
    return f"budget {who} {when}"


def _site_label(r: dict) -> str:
    return f"site cap {r['site']}"


def _latency_label(r: dict) -> str:
    return f"latency {r['region']} {r['class']} ({r['max_rtt_ms']:g} ms)"


def _point_line(r: dict, label: str, unit: str, res: float,
                base_over: float | None = None) -> str:
    """One printed line of a point: its value, or the bound it gives, and how it was found.

    A point's plan bounds its optimum from above, so where the point is not proven (its
    status is not optimal) the line says what the step saves at least (a relaxation) or
    costs at most (a restriction). `base_over` (None for a proven base) is how far the base
    plan's cost may lie above its optimum: against such a base every line is a bound, taken
    from the base's proven bound (objective - `base_over`), since the optimum the step is
    compared with may lie that far below the base plan's cost.
    """
    delta = r["delta"]
    step = f"{delta:+g} {unit}" if unit != "USD M" else f"{delta:+g} USD M"
    if r["objective"] is None or pd.isna(r["objective"]):
        why = r.get("error") or r["status"]
        return f"{label}: {step}: no value ({why})"
    d = r["delta_objective"]
    per = r["value_per_unit"]
    if r["status"] != "optimal" or base_over is not None:
        # a plan within limits: its cost bounds the point's optimum above
        gap = "-" if r["gap"] is None or pd.isna(r["gap"]) else f"{100 * r['gap']:.2f}%"
        d += base_over or 0.0  # from the base's bound: the largest change the plan allows
        relax = delta > 0  # every family: a positive step relaxes
        bound = (f"saves at least USD {max(0.0, -d):,.1f} M" if relax
                 else f"costs at most USD {d:,.1f} M")
        why = (f"{r['status']}, gap {gap}" if r["status"] != "optimal" else
               f"{r['method']}; the base plan is not proven optimal")
        return f"{label}: {step} {bound} [{why}: a bound, not a value]"
    exact = {"re-solve": "re-solve", "base plan feasible": "base plan still feasible",
             "implied": "implied", "between": "between computed steps",
             "screened": "screened with the other relaxations"}[r["method"]]
    if r.get("proof") == "looser step":
        exact = "re-solve, proven by a looser step's bound"
    elif r.get("proof") == "screen":
        exact = "re-solve, proven by the screen's bound"
    if abs(d) <= res:
        text = f"{label}: {step}: no change [{exact}]"
    else:
        verb = "saves" if d < 0 else "costs"
        per_unit = unit.split()[-1]
        text = (f"{label}: {step} {verb} USD {abs(d):,.1f} M ({abs(per):,.3f} M/{per_unit}) "
                f"[{exact}]")
    if r.get("changes"):
        text += "; " + "; ".join(r["changes"].split(" | "))
    return text


# ---- finding what binds ---------------------------------------------------------------------

def _empty(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v == ""


def _phase_sizes(d: ModelData) -> tuple[dict, dict, dict]:
    """Largest phase per zone (facility MW), per sponsor (capex USD M), per site (IT MW)."""
    zone_mw: dict[str, float] = {}
    sponsor_capex: dict[str, float] = {}
    site_it: dict[str, float] = {}
    for s, p, k, _y in d.SPKY:
        z = d.site_zone[s]
        zone_mw[z] = max(zone_mw.get(z, 0.0), d.phase_it[s, p] * d.pue[k])
        sp = "" if _empty(d.site_sponsor[s]) else str(d.site_sponsor[s])
        capex = d.phase_capex[s, p] * d.capex_factor[k]
        sponsor_capex[sp] = max(sponsor_capex.get(sp, 0.0), capex)
        sponsor_capex[""] = max(sponsor_capex.get("", 0.0), capex)
        site_it[s] = max(site_it.get(s, 0.0), d.phase_it[s, p])
    return zone_mw, sponsor_capex, site_it


def _points(base: BasePlan, d: ModelData, headroom_deltas: Sequence[float],
            budget_deltas: Sequence[float], site_cap_deltas: Sequence[float],
            latency_step: float | None, headroom_scope: str,
            max_curves: int | None = None) -> list[Point]:
    zone_mw, sponsor_capex, site_it = _phase_sizes(d)
    points: list[Point] = []
    last = d.last_year
    binding = []
    # from the checked power table, not the matrix: a zone-year whose rows presolve or the
    # tightening rows removed (e.g. a phase that can never fit is fixed offline) still counts
    power = base.result.tables["power"]
    for z, y, used, limit in power[["zone", "year", "power_mw", "limit_mw"]].itertuples(
            index=False):
        slack = max(0.0, float(limit) - float(used))
        if z in zone_mw and slack < zone_mw[z] - 1e-9:
            binding.append((slack / zone_mw[z], z, int(y), slack))
    if max_curves is not None:  # the zone-years closest to binding, in the table's order
        keep = {(z, y) for _ratio, z, y, _s in sorted(binding)[:max_curves]}
        binding = [b for b in binding if (b[1], b[2]) in keep]
    for _ratio, z, y, slack in binding:
        years = str(y) if headroom_scope == "year" else f"{y}..{last}"
        for delta in headroom_deltas:
            points.append(Point("headroom", {"zone": z, "year": int(y)}, float(delta),
                                {f"headroom[zone={z},year={years}].headroom_mw.add": delta},
                                restriction=delta < 0, base_slack=slack))
    # the checked budget table too, in file order like `budget[b]`
    for b, slack in enumerate(base.result.tables["budgets"]["slack_usd_m"]):
        sp, yr, _limit = d.budgets[b]
        sp = "" if _empty(sp) else str(sp)
        slack = max(0.0, float(slack))
        if slack >= sponsor_capex.get(sp, 0.0) - 1e-9:
            continue
        year = "" if yr is None else str(yr)
        for delta in budget_deltas:
            points.append(Point("budget", {"sponsor": sp, "year": yr, "budget_row": b},
                                float(delta),
                                {f"budgets[sponsor={sp},year={year}].max_capex_usd_m.add": delta},
                                restriction=delta < 0, base_slack=slack))
    # and the checked capacity table: a site's least slack under its cap over the years, for
    # the caps that can bind at all (the model has no row for the others)
    capacity = base.result.tables["capacity"]
    built = capacity.groupby(["site", "year"])["capacity_mw"].sum().groupby("site").max()
    for s in capped_sites(d):
        slack = max(0.0, d.max_it[s] - float(built.get(s, 0.0)))
        if s in site_it and slack < site_it[s] - 1e-9:
            for delta in site_cap_deltas:
                points.append(Point("site_cap", {"site": s}, float(delta),
                                    {f"sites[site={s}].max_it_mw.add": delta},
                                    restriction=delta < 0, base_slack=float(slack)))
    if latency_step:
        points += _latency_points(base, latency_step)
    for i, p in enumerate(points):
        p.key = f"{i:04d}"
    return points


def _latency_points(base: BasePlan, step: float) -> list[Point]:
    inst = base.instance
    targets = inst.table("latency_targets")
    lat = inst.latency
    served = base.result.tables["served"]
    used = served[served["serve_mw"] > 1e-7]
    out = []
    for region, cls, target in targets[["region", "class", "max_rtt_ms"]].itertuples(index=False):
        rtts = lat.loc[lat["region"] == region, "rtt_ms"]
        relax = bool(((rtts > target + 1e-9) & (rtts <= target + step + 1e-9)).any())
        mine = used[(used["region"] == region) & (used["class"] == cls)]
        tighten = bool((mine["rtt_ms"] > target - step + 1e-9).any())
        slack = float(target - mine["rtt_ms"].max()) if len(mine) else math.inf
        key = f"latency_targets[region={region},class={cls}].max_rtt_ms.add"
        ids = {"region": region, "class": cls, "max_rtt_ms": float(target)}
        if tighten:
            out.append(Point("latency", ids, -step, {key: -step}, True, slack))
        if relax:
            out.append(Point("latency", ids, step, {key: step}, False, slack))
    return out


# ---- settling points ------------------------------------------------------------------------

def _settle_restrictions(base: BasePlan, points: list[Point]) -> None:
    """Restrictions under which the base plan stays feasible keep the base optimum, exactly."""
    for p in points:
        if not p.restriction:
            continue
        try:
            inst = apply_overrides(base.instance, p.overrides)
        except InputError as exc:
            p.status, p.error = "invalid", "; ".join(str(q) for q in exc.problems)
            continue
        report = check_plan(inst, _restated(base.result.tables, inst), base.objective)
        if report.ok:
            _same_as_base(base, p, "base plan feasible")
            p.verified = True


def _restated(tables: dict[str, pd.DataFrame], inst: Instance) -> dict[str, pd.DataFrame]:
    """The base plan's tables with the limits they report restated for a changed instance.

    The checker recomputes `power.csv` and `budgets.csv` from the instance; the plan's
    decisions are what is being checked against the change, so the limits (and slacks)
    those tables report must be the new ones.
    """
    power = tables["power"].copy()
    head = inst.table("headroom").set_index(["zone", "year"])["headroom_mw"]
    derate = inst.table("zones").set_index("zone")["derate"]
    power["derated_headroom_mw"] = [float(derate[z]) * float(head.get((z, int(y)), 0.0))
                                    for z, y in zip(power["zone"], power["year"], strict=True)]
    power["limit_mw"] = power["derated_headroom_mw"] + power["upgrade_mw"]
    budgets = budget_spend(inst, tables["schedule"], tables["sites"], tables["upgrades"])
    return {**tables, "power": power, "budgets": budgets}


def _same_as_base(base: BasePlan, p: Point, method: str) -> None:
    """`p` takes the base plan, its objective, status, gap and bound (proven as the base is).

    Callers holding a tighter bound for `p` (implied, screened) set it and its status.
    """
    p.objective = base.objective
    p.status = base.result.status
    p.method = method
    p.gap = base.result.gap
    p.bound = base.result.bound


def _record(base: BasePlan, p: Point, r: Resolved) -> None:
    p.seconds = r.seconds
    if r.error == NOT_STARTED:
        p.status, p.error = "not_computed", r.error
        return
    p.warm_started = r.warm_started
    p.method = "re-solve"
    p.plan = r.plan
    if r.result is None:
        p.status = "invalid" if (r.error or "").startswith("invalid") else "error"
        p.error = r.error
        return
    res = r.result
    p.status = res.status
    p.verified = res.verified if res.has_plan else None
    p.gap = res.gap
    p.bound = res.bound
    if res.has_plan:
        p.proof = p.floor_by if res.solver_status.endswith(KNOWN_BOUND) else "solver"
        p.objective = res.objective
        p.changes = plan_changes(base.result, res)
    elif res.status == "infeasible":
        p.error = "no plan satisfies the hard constraints"


def _next_round(base: BasePlan, points: list[Point], gap: float) -> list[Point]:
    """Settle what monotonicity settles; return the points to re-solve next.

    The optimum is non-increasing in every step (a positive step relaxes). On each curve,
    with the base plan at step 0: a pending point between two computed points takes the
    more restricted one's plan and objective (that plan is feasible at the point) and the
    more relaxed one's bound (which bounds the point's optimum too) where the two lie within
    the relative `gap` of each other, so the point is proven within the gap like a
    re-solve; a point more restricted than an infeasible one is infeasible. Otherwise the
    largest pending relaxation and the
    *least* pending restriction of each curve are solved first, then the middle of every run
    of pending points between two known ones. Restrictions go inwards out: the plan and
    bound of a solved restriction are then the start and floor of the next tighter one
    (`_looser_plan`, `_floor`), which ends at once wherever that plan still fits, as it
    does on every flat part of the curve.
    """
    curves: dict[tuple, list[Point]] = {}
    for p in points:
        curves.setdefault((p.kind, tuple(p.ids.items())), []).append(p)
    todo: list[Point] = []
    for curve in curves.values():
        curve.sort(key=lambda q: q.delta)
        # anchors: (step, objective or None if infeasible, the point or None for the base,
        # its proven bound or None)
        anchors: list[tuple[float, float | None, Point | None, float | None]] = [
            (0.0, base.objective, None, base.result.bound)]
        for q in curve:
            if q.status == "optimal" and q.objective is not None:
                anchors.append((q.delta, q.objective, q, q.bound))
            elif q.status == "infeasible" and q.method:
                anchors.append((q.delta, None, q, None))
        anchors.sort(key=lambda a: a[0])
        pending = [q for q in curve if q.status == "pending"]
        for q in pending:
            if any(z is None and q.delta < d for d, z, _q, _b in anchors):
                q.status, q.method = "infeasible", "between"
                q.error = "more restricted than a step without a plan"
        runs: dict[tuple[int, int], list[Point]] = {}
        for q in (q for q in pending if q.status == "pending"):
            right = next((i for i, a in enumerate(anchors) if a[0] > q.delta), len(anchors))
            runs.setdefault((right - 1, right), []).append(q)
        for (li, ri), run in runs.items():
            left = anchors[li] if li >= 0 else None
            right = anchors[ri] if ri < len(anchors) else None
            if left is None or right is None:
                # beyond the most restricted known step: the least of those restrictions;
                # beyond the most relaxed: the largest of those relaxations
                todo.append(run[-1])
            elif (left[1] is not None and right[3] is not None
                  and relative_gap(left[1], right[3]) <= gap + 1e-12):
                for q in run:
                    _between(base, q, left[2], right[3])
            else:
                todo.append(run[len(run) // 2])
    return todo


def _between(base: BasePlan, q: Point, source: Point | None, bound: float) -> None:
    """`q` settled by the plan of `source` (None: the base plan) and `bound`, see `_next_round`.

    The plan was verified on a more restricted instance, so it is feasible at `q` (the
    steps move one limit, not a cost) and its verification carries over.
    """
    if source is None:
        _same_as_base(base, q, "implied")
        q.status = "optimal"  # the base plan, within the gap of `bound`
        q.verified = base.result.verified
    else:
        q.objective, q.status, q.method = source.objective, "optimal", "between"
        q.verified, q.changes = source.verified, list(source.changes)
    q.bound = bound
    q.gap = relative_gap(q.objective, bound)  # type: ignore[arg-type]


def value_of_inputs(instance: Instance, *, headroom_deltas: Sequence[float] = HEADROOM_DELTAS,
                    budget_deltas: Sequence[float] = BUDGET_DELTAS,
                    site_cap_deltas: Sequence[float] = SITE_CAP_DELTAS,
                    latency_step: float | None = LATENCY_STEP, headroom_scope: str = "year",
                    max_curves: int | None = None,
                    options: SolveOptions | None = None, workers: int | None = 0,
                    scheduler: str | None = None,
                    listener: Callable[[str, int, int], None] | None = None,
                    base_options: SolveOptions | None = None,
                    max_seconds: float | None = None, screen: bool = True) -> ValueReport:
    """Value curves of the binding scarce inputs and demand marginals of the optimal plan.

    `headroom_scope` "year" changes the headroom of the one zone-year (the issue's
    definition); "onward" adds Δ from that year to the end of the horizon (headroom that
    arrives in that year and stays). `max_curves` keeps only the headroom curves of the
    zone-years closest to binding (slack over the zone's largest phase).
    `max_seconds` bounds the whole run: the re-solves get at most the time left, and
    points still unsettled when it is spent (or when Ctrl-C / SIGTERM stops the run) are
    reported with status `not_computed` (`ValueReport.stopped` says why), so a stopped run
    still returns, and writes, everything settled before it.
    `listener(message, done, total)` is told of progress. `options` apply to the re-solves;
    `base_options` to the base plan (default: `options` without their time limit, so that
    every difference is taken from a proven optimum, but limited by `max_seconds` if given;
    a base stopped by a time limit is printed as the best plan found and every value from
    it as a bound, see `ValueReport.lines`). `screen` screens the largest
    relaxations of the headroom, budget and cap curves together (`siteopt.decide.screen`)
    while the restrictions are re-solved; without it each is re-solved on its own.
    Raises `NoPlanError` (exit 3 or 4) if the instance has no plan.
    """
    for name, deltas in (("headroom deltas", headroom_deltas), ("budget deltas", budget_deltas),
                         ("site cap deltas", site_cap_deltas)):
        if any(not math.isfinite(x) or x == 0 for x in deltas):
            raise InputError(Problem("--deltas", f"non-zero finite {name}",
                                     found=",".join(f"{x:g}" for x in deltas)))
    if latency_step is not None and not latency_step > 0:
        raise InputError(Problem("--latency-step", "a step > 0 ms", found=str(latency_step)))
    if max_seconds is not None and not max_seconds > 0:
        raise InputError(Problem("--max-seconds", "seconds > 0", found=str(max_seconds)))
    if headroom_scope not in ("year", "onward"):
        raise InputError(Problem("--headroom-scope", "year or onward", found=headroom_scope))
    start = time.perf_counter()
    options = options or SolveOptions()
    if options.gap is None:
        options = replace(options, gap=instance.meta.solver.gap)
    options = replace(options, progress=False)
    # default: a proven base (no time limit), unless the whole run is bounded: then the base
    # has the run's seconds too (a base stopped by them is the best plan found, its values
    # bounds), so `max_seconds` bounds the run from its start, not from the base's end
    base_options = replace(base_options or replace(options, time_limit=max_seconds),
                           progress=False)
    if base_options.gap is None:
        base_options = replace(base_options, gap=instance.meta.solver.gap)
    if listener:
        listener("solving the base plan", 0, 0)
    # with the tightening: what binds is read from the checked tables, not from rows
    base = solve_base(instance, base_options)
    d = build_data(base.instance)
    # each step once: a repeated step would be a second row (and re-solve) of one point
    points = _points(base, d, sorted(set(headroom_deltas)), sorted(set(budget_deltas)),
                     sorted(set(site_cap_deltas)), latency_step, headroom_scope, max_curves)
    _settle_restrictions(base, points)
    demand = demand_values(base, d)
    starts = base.start_values()
    total = len(points)
    counter = {"done": sum(p.status != "pending" for p in points)}
    by_key = {p.key: p for p in points}

    def told(key: str, value: object) -> None:
        assert isinstance(value, Resolved)
        _record(base, by_key[key], value)
        counter["done"] += 1
        if listener:
            p = by_key[key]
            listener(f"{p.kind} {_ids_text(p.ids)} {p.delta:+g}: {p.status}", counter["done"],
                     total)
        signum = value.result.interrupted_by if value.result is not None else None
        if signum is not None:  # a re-solve in this process was stopped by Ctrl-C/SIGTERM
            raise Interrupted(signum)

    stopped = ""
    gap = options.gap or 0.0
    # wall clock (not perf_counter): the deadline is read on the workers too
    deadline = None if max_seconds is None else time.time() - (time.perf_counter() - start
                                                                ) + max_seconds
    candidates = _screen_candidates(points) if screen else []
    screened: Screen | None = None
    try:
        with Pool(base.instance, workers, scheduler) as pool:
            held: set[tuple] = set()  # curves whose largest relaxation is being screened
            task: Task | None = None
            if candidates:
                held = {_curve_id(p) for p in candidates}
                if listener:
                    listener(f"screening {len(candidates)} relaxations in one model",
                             counter["done"], total)
                task = pool.submit(screen_relaxations, "screen", (
                    [(p.key, p.overrides) for p in candidates], options, starts,
                    base.objective, deadline))
            while True:  # rounds: the ends of every curve first, then bisection between them
                if task is not None and (pool.done(task) or not _others_pending(points, held)):
                    value = pool.result(task)
                    task, held = None, set()
                    screened = (value if isinstance(value, Screen) else  # a failed task
                                Screen(applicable=False, reason=str(getattr(value, "error", ""))))
                    _apply_screen(base, points, screened)
                    if listener:
                        listener(screen_line(screened.summary()), counter["done"], total)
                todo = _next_round(base, [p for p in points if not _held(p, held)], gap)
                _forget_plans(points)
                counter["done"] = sum(p.status != "pending" for p in points)
                if not todo and task is None:
                    break
                if deadline is not None and deadline - time.time() < 1.0:
                    stopped = "max_seconds"
                    break
                if not todo:
                    continue  # only the screen is left: wait for it
                todo.sort(key=_priority)
                if listener:
                    listener(f"round of {len(todo)} re-solves", counter["done"], total)
                tasks = []
                for p in todo:
                    floor = _floor(p, points, base)
                    p.floor_by = ("screen" if p.screen_bound is not None
                                  and floor == p.screen_bound else "looser step")
                    tasks.append((p.key, (p.overrides, options, _start_for(p, points, starts),
                                          deadline, floor, _looser_plan(p, points))))
                pool.map(warm_resolve, tasks, told)
            if task is not None:  # stopped with the screen still running
                pool.cancel(task)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM as `Interrupted`: keep what is done
        stopped = signal_name(getattr(exc, "signum", signal.SIGINT)) or "SIGINT"
    if not stopped and any(p.status == "not_computed" for p in points):
        stopped = "max_seconds"
    for p in points:
        if p.status == "pending":
            p.status = "not_computed"
            p.error = f"not computed: the run was stopped ({stopped})"
    solves = sum(p.method == "re-solve" for p in points)
    frames = _frames(base, points)
    return ValueReport(base=base, headroom=frames["headroom"], budgets=frames["budget"],
                       site_caps=frames["site_cap"], latency=frames["latency"], demand=demand,
                       seconds=time.perf_counter() - start, solves=solves, options=options,
                       workers=workers, scheduler=scheduler, stopped=stopped,
                       screen=None if screened is None else screened.summary())


#: Curve families whose largest relaxation only raises a row bound (`ROW_BOUND`): screened.
SCREENED_KINDS = ("headroom", "budget", "site_cap")


def _curve_id(p: Point) -> tuple:
    return (p.kind, tuple(p.ids.items()))


def _screen_candidates(points: list[Point]) -> list[Point]:
    """The largest pending relaxation of every headroom, budget and cap curve (if two or more).

    One candidate alone is a plain re-solve.
    """
    largest: dict[tuple, Point] = {}
    for p in points:
        if p.kind in SCREENED_KINDS and not p.restriction and p.status == "pending":
            q = largest.get(_curve_id(p))
            if q is None or p.delta > q.delta:
                largest[_curve_id(p)] = p
    return list(largest.values()) if len(largest) >= 2 else []


def _held(p: Point, held: set[tuple]) -> bool:
    """Whether `p` waits for the screen: a relaxation on a curve being screened."""
    return not p.restriction and _curve_id(p) in held


def _others_pending(points: list[Point], held: set[tuple]) -> bool:
    """Whether anything but the screened relaxations is still pending."""
    return any(p.status == "pending" and not _held(p, held) for p in points)


def _apply_screen(base: BasePlan, points: list[Point], screen: Screen) -> None:
    """Settle what the screen proved; give the rest its bound (and plan) as a floor (start)."""
    by_key = {p.key: p for p in points}
    for key, found in screen.findings.items():
        p = by_key[key]
        if p.status != "pending":
            continue
        if found.saves is False and found.bound is not None:
            _same_as_base(base, p, "screened")
            p.status = "optimal"  # the base plan, within the gap of the screen's bound
            p.bound = found.bound
            p.gap = relative_gap(base.objective, found.bound)
            p.verified = base.result.verified
        else:
            p.screen_bound = found.bound
            p.screen_plan = found.plan


def screen_line(info: dict[str, object]) -> str:
    """One line on what the screen did, from `Screen.summary()`."""
    if not info["applicable"]:
        return f"screen not used ({info['reason']}): each relaxation re-solved on its own"
    line = (f"screen of the largest relaxations: {info['save']} of {info['candidates']} "
            f"save, {info['save_nothing']} proven to save nothing ({info['solves']} solves, "
            f"{float(info['seconds']):.0f} s)")  # type: ignore[arg-type]
    return line + (f"; {info['open']} left open" if info["open"] else "")


def _forget_plans(points: list[Point]) -> None:
    """Drop the plans of curves with nothing left to solve (they only serve as starts).

    A plan holds every non-zero variable; on a large instance, hundreds of them would not
    fit in memory at once.
    """
    pending = {(q.kind, tuple(q.ids.items())) for q in points if q.status == "pending"}
    for q in points:
        if q.plan and (q.kind, tuple(q.ids.items())) not in pending:
            q.plan = {}


#: Which family's re-solves go first within a round (see `_priority`).
_KIND_RANK = {"budget": 0, "site_cap": 1, "latency": 2, "headroom": 3}


def _priority(p: Point) -> tuple:
    """The order of a round's re-solves: what settles most, and is asked most, first.

    Relaxations before restrictions (the largest relaxation of a curve whose optimum equals
    the base settles all its smaller ones), budgets, caps and targets before the many
    headroom curves, and the rows closest to binding first. Results do not depend on it;
    what a run stopped by `max_seconds` or a signal has computed does.
    """
    return (p.restriction, _KIND_RANK.get(p.kind, 9), p.base_slack, p.key)


def _start_for(p: Point, points: list[Point], base_start: dict[str, float]
               ) -> dict[str, float]:
    """A start for re-solving `p`: a plan that is feasible there, the best one known.

    The plan of the nearest more restricted step of the same curve satisfies every row of
    `p` (which relaxes it) and costs least among those known; for a relaxation without such
    a step, the base plan. (A restriction without one gets the base plan too, which the
    re-solve finds infeasible and does not use.)
    """
    below = [q for q in _curve(p, points) if q.delta < p.delta and q.plan
             and (p.delta < 0 or q.delta > 0)]
    if not below:
        return p.screen_plan or base_start
    return max(below, key=lambda q: q.delta).plan


def _curve(p: Point, points: list[Point]) -> list[Point]:
    """The points of `p`'s curve (same family and ids), `p` included."""
    return [q for q in points if q.kind == p.kind and q.ids == p.ids]


def _looser_plan(p: Point, points: list[Point]) -> dict[str, float] | None:
    """The plan of the nearest computed step that relaxes `p` (same curve), if any.

    Where it also satisfies `p`'s rows it is optimal there too (`p`'s optimum is at least
    that step's), so the re-solve starts from it and its floor ends the search at once.
    """
    above = [q for q in _curve(p, points) if q.delta > p.delta and q.plan
             and q.status == "optimal"]
    if p.screen_plan:  # the screen's plan for `p` itself (its largest relaxation)
        return p.screen_plan
    return min(above, key=lambda q: q.delta).plan if above else None


def _floor(p: Point, points: list[Point], base: BasePlan) -> float | None:
    """A lower bound on `p`'s optimum from the steps already computed, if any is known.

    The optimum is non-increasing along a curve, so the proven bound of any step that
    relaxes `p` (a larger step of the same curve, or the base plan for a restriction) bounds
    `p`'s optimum from below. A re-solve that finds a plan within its gap of that bound is
    proven without a search of its own: the flat parts of a step curve cost one good plan.
    """
    bounds = [q.bound for q in _curve(p, points)
              if q.delta > p.delta and q.bound is not None and math.isfinite(q.bound)]
    if p.delta < 0 and base.result.bound is not None:
        bounds.append(base.result.bound)
    if p.screen_bound is not None and math.isfinite(p.screen_bound):
        bounds.append(p.screen_bound)
    return max(bounds, default=None)


def _ids_text(ids: dict[str, object]) -> str:
    return " ".join(str(v) for k, v in ids.items() if k != "budget_row" and not _empty(v))


_ID_COLUMNS = {"headroom": ["zone", "year"], "budget": ["sponsor", "year", "budget_row"],
               "site_cap": ["site"], "latency": ["region", "class", "max_rtt_ms"]}
_DELTA_NAMES = {"headroom": ("delta_mw", "usd_m_per_mw"),
                "budget": ("delta_usd_m", "usd_m_per_usd_m"),
                "site_cap": ("delta_mw", "usd_m_per_mw"),
                "latency": ("delta_ms", "usd_m_per_ms")}


def _frames(base: BasePlan, points: list[Point]) -> dict[str, pd.DataFrame]:
    out = {}
    z0 = base.objective
    for kind, ids in _ID_COLUMNS.items():
        delta_name, per_name = _DELTA_NAMES[kind]
        rows = []
        for p in (q for q in points if q.kind == kind):
            obj = p.objective
            d_obj = None if obj is None else obj - z0
            if d_obj is not None and abs(d_obj) < 1e-9 * max(1.0, abs(z0)):
                d_obj = 0.0  # rounding of equal objectives
            # the value of one more unit: what it saves (positive = worth something)
            per = None if d_obj is None else -d_obj / p.delta
            rows.append({**{k: p.ids.get(k) for k in ids}, "delta": p.delta,
                         delta_name: p.delta, "base_slack": p.base_slack,
                         "objective": obj, "delta_objective": d_obj,
                         "value_per_unit": per, per_name: per, "status": p.status,
                         "verified": p.verified, "warm_started": p.warm_started,
                         "method": p.method, "gap": p.gap, "bound": p.bound,
                         "proof": p.proof, "seconds": p.seconds,
                         "override": "; ".join(f"{k}={v:g}" for k, v in p.overrides.items()),
                         "changes": " | ".join(p.changes), "error": p.error})
        cols = [*ids, "delta", delta_name, "base_slack", "objective", "delta_objective",
                "value_per_unit", per_name, "status", "verified", "warm_started", "method",
                "gap", "bound", "proof", "seconds", "override", "changes", "error"]
        frame = pd.DataFrame(rows, columns=list(dict.fromkeys(cols)))
        frame["verified"] = frame["verified"].astype(object)
        out[kind] = frame
    return out


# ---- demand: LP duals of the fixed plan ------------------------------------------------------

def demand_values(base: BasePlan, d: ModelData) -> pd.DataFrame:
    """Marginal cost of one more IT MW per region, class and year, with the plan fixed.

    Every integer column is fixed at its value in the optimal plan and the LP is solved
    again; the dual of `demand_balance[r,c,y]` is d(total_cost)/d(demand) in present-value
    USD M per IT MW (one year), valid while the demand stays within HiGHS's ranging interval
    of that row's bound. Not a value of building anything: the plan is held fixed.
    """
    mat = base.mat
    integer = mat.integrality == 1
    fixed_x = np.where(integer, np.round(base.x), base.x)
    lower = np.where(integer, fixed_x, mat.col_lower)
    upper = np.where(integer, fixed_x, mat.col_upper)
    # rows implied once the binaries are fixed whose coefficients or bounds hold the demand
    # itself (min(D, u it), D - unserved, serve <= D z at z = 1): left in, they would cap
    # the ranging interval at today's demand
    keep = np.array([family not in IMPLIED_WHEN_FIXED for family, _key in base.row_ids])
    rows_csr = sp.csr_array(mat.A)
    for i, (family, _key) in enumerate(base.row_ids):
        if family in IMPLIED_WHEN_ON:
            js = rows_csr.indices[rows_csr.indptr[i]:rows_csr.indptr[i + 1]]
            on = [fixed_x[j] for j in js if integer[j]]
            keep[i] = not (on and all(v > 0.5 for v in on))
    kept = np.flatnonzero(keep)
    lp = replace(mat, A=sp.csc_array(rows_csr[kept]),
                 row_lower=mat.row_lower[kept], row_upper=mat.row_upper[kept],
                 col_lower=lower, col_upper=upper, integrality=np.zeros_like(mat.integrality))
    opts = SolveOptions()
    h = to_highs(lp, opts)
    outcome = solve_matrices(lp, opts, highs=h)
    cols = ["region", "class", "year", "demand_mw", "usd_m_per_mw", "usd_m_per_mw_year",
            "valid_from_mw", "valid_to_mw", "holds_for", "method"]
    if outcome.status != "optimal":
        return pd.DataFrame(columns=cols)
    duals = np.asarray(h.getSolution().row_dual, dtype=float)
    status, ranging = h.getRanging()
    ranged = status == highspy.HighsStatus.kOk
    rows = []
    position = {int(i): n for n, i in enumerate(kept)}
    for i_full, (family, key) in enumerate(base.row_ids):
        if family != "demand_balance":
            continue
        i = position[i_full]
        r, c, y = key  # type: ignore[misc]
        dual = float(duals[i])
        lo = hi = math.nan
        if ranged:
            lo = float(ranging.row_bound_dn.value_[i])
            hi = float(ranging.row_bound_up.value_[i])
        demand = d.demand[r, c, y]
        rows.append({"region": r, "class": c, "year": int(y), "demand_mw": demand,
                     "usd_m_per_mw": dual, "usd_m_per_mw_year": dual / d.discount[y],
                     "valid_from_mw": lo, "valid_to_mw": hi,
                     "holds_for": holds_for(demand, lo, hi), "method": "fixed-plan dual"})
    return pd.DataFrame(rows, columns=cols)


def holds_for(demand: float, lo: float, hi: float) -> str:
    """Which way a demand dual holds: "more and less", "less only", "more only" or "neither".

    A ranging interval that ends at today's demand is a degenerate dual: at its upper end
    it is the saving of one MW less, not the cost of one more (which the fixed plan may
    serve only at a higher rate, or not at all).
    """
    if math.isnan(lo) or math.isnan(hi):
        return "unknown"
    eps = 1e-6 * max(1.0, abs(demand))
    more, less = hi > demand + eps, lo < demand - eps
    return {(True, True): "more and less", (False, True): "less only",
            (True, False): "more only", (False, False): "neither"}[more, less]


__all__ = ["BUDGET_DELTAS", "HEADROOM_DELTAS", "LATENCY_STEP", "METHODS", "SITE_CAP_DELTAS",
           "ValueReport", "demand_values", "screen_line", "value_of_inputs"]
