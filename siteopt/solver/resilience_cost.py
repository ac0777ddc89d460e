"""What each resilience rule costs in a solved plan: one re-solve without it (docs/resilience.md).

A rule *binds* when the plan without it (every other rule kept) is cheaper by more than the
two solves' gaps allow: saving > max(gap with, gap without) x |objective| + 1e-6. The
report also names the phases the rule adds (built with it, not without) and the sites it
opens. Tightness in the plan (`siteopt.verify.resilience.resilience_binding`) stays beside
it as evidence of where the rule is tight.

The re-solves share the run's time limit (`--time-limit`: the whole `siteopt solve` stops
after it): each gets what the solve and the re-solves before it left, and a rule with no
time left is reported as not measured. A re-solve that stops short of the gap is reported
with its status and gap; if the saving it found cannot prove the rule binds, whether it
binds is left open (None) rather than reported as "no".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from siteopt.data.instance import Instance
from siteopt.data.overrides import apply_overrides
from siteopt.errors import InputError
from siteopt.solver.highs import SolveOptions
from siteopt.solver.interrupt import signal_name
from siteopt.solver.pipeline import Result, solve

#: rule name in reports -> (key of [resilience.CLASS], value that switches it off)
SWITCHES = {"geo_redundancy": ("min_sites", 1), "n_minus_1_sites": ("n_minus_1_sites", False),
            "n_minus_1_links": ("n_minus_1_links", False)}


def active_rules(inst: Instance) -> list[tuple[str, str]]:
    """(class, rule) of every resilience rule the instance switches on, in a stable order."""
    out = []
    for c, x in inst.meta.resilience.items():
        if x.min_sites > 1:
            out.append((c, "geo_redundancy"))
        if x.n_minus_1_sites:
            out.append((c, "n_minus_1_sites"))
        if x.n_minus_1_links:
            out.append((c, "n_minus_1_links"))
    return out


def _built(result: Result) -> tuple[set[str], set[str]]:
    """(phases as site/phase@year, sites) of a plan; empty without one."""
    if not result.has_plan:
        return set(), set()
    sched = result.tables["schedule"]
    phases = {f"{r.site}/{r.phase}@{r.online_year}" for r in sched.itertuples(index=False)}
    sites = result.tables["sites"]
    return phases, set(sites.loc[sites["open_year"].notna(), "site"])


def resilience_costs(inst: Instance, result: Result, options: SolveOptions,
                     started: float | None = None,
                     clock: Callable[[], float] = time.perf_counter
                     ) -> dict[str, dict[str, object]]:
    """Per class and rule: the saving without it, whether it binds, what it adds.

    Updates and returns `result.resilience` (created for rules the tightness report lacks).
    `started` is the run's start on `clock` (default: now minus the solve's own timings):
    with `options.time_limit`, every re-solve gets the limit minus the time spent since,
    so the whole run keeps to it. A re-solve stopped by a signal ends the measuring there:
    its rule, and the rules after it, are noted as not measured, and `result.interrupted_by`
    says which signal it was (the plan itself stays as solved).
    """
    report = result.resilience
    if not result.has_plan or result.objective is None:
        return report
    if inst.meta.siting.objective != "total_cost":
        # a saving in USD M needs the cost objective; other objectives keep "tight in the plan"
        for rules in report.values():
            for entry in rules.values():  # type: ignore[union-attr]
                entry["note"] = ("not re-solved: the cost of a rule is measured only under "  # type: ignore[index]
                                 "siting.objective = total_cost")
        return report
    if started is None:
        started = clock() - result.timings.get("total", 0.0)
    quiet = replace(options, progress=False, log_file=None)
    phases, sites = _built(result)
    for c, name in active_rules(inst):
        key, off = SWITCHES[name]
        entry = report.setdefault(c, {}).setdefault(name, {"tight": []})  # type: ignore[union-attr]
        entry["basis"] = "re-solve without the rule"
        if options.time_limit is not None:
            left = options.time_limit - (clock() - started)
            if left <= 0:
                _unmeasured(entry, status_without="not run",
                            note=f"not measured: the time limit of {options.time_limit:g} s "
                                 "was used up before this re-solve")
                continue
            quiet = replace(quiet, time_limit=left)
        try:
            relaxed = apply_overrides(inst, {f"resilience.{c}.{key}": off})
        except InputError as exc:  # e.g. the fibre rule exempted a region geo-redundancy
            # could not cover: without it the settings are invalid, there is nothing to solve
            _unmeasured(entry, status_without="invalid",
                        note="not measured: without the rule the settings are invalid: "
                             + "; ".join(str(p) for p in exc.problems[:3]))
            continue
        without = solve(relaxed, quiet)
        entry["status_without"] = without.status
        entry["gap_without"] = without.gap
        if without.interrupted_by is not None:
            _unmeasured(entry, note="not measured: the re-solve was stopped by "
                                    f"{signal_name(without.interrupted_by)}")
            result.interrupted_by = without.interrupted_by
            break
        if not without.has_plan or without.objective is None:
            _unmeasured(entry, note=f"not measured: the re-solve ended {without.status} "
                                    "without a plan")
            continue
        if not without.verified:  # a saving is quoted only between checked plans
            _unmeasured(entry, note="not measured: the re-solve's plan failed the "
                                    "independent check: " + "; ".join(without.violations[:3]))
            continue
        saving = result.objective - without.objective
        slack = max(result.gap or 0.0, without.gap or 0.0) * abs(result.objective) + 1e-6
        other_phases, other_sites = _built(without)
        binds: bool | None = bool(saving > slack)
        if not binds and (result.status, without.status) != ("optimal", "optimal"):
            # a solve stopped short of its gap bounds the saving on one side only: a saving
            # within the gaps proves neither that the rule binds nor that it is free
            binds = None
            entry["note"] = (f"undecided: the plan ended {result.status} (gap "
                             f"{_percent(result.gap)}), the re-solve {without.status} (gap "
                             f"{_percent(without.gap)}); the saving within these gaps "
                             "proves neither")
        entry.update(binds=binds, cost_usd_m=saving,
                     objective_without=without.objective,
                     adds_phases=sorted(phases - other_phases),
                     adds_sites=sorted(sites - other_sites))
    return report


def _unmeasured(entry: dict[str, object], **why: object) -> None:
    """Record a rule whose cost was not measured: no saving, no verdict, and `why` (a note)."""
    entry.update(binds=None, cost_usd_m=None, adds_phases=[], adds_sites=[], **why)


def _percent(gap: float | None) -> str:
    """A relative gap as a percentage ('unknown' without one)."""
    return "unknown" if gap is None else f"{100 * gap:.2f} %"
