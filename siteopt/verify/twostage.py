"""Re-verifying a two-stage result folder (`siteopt verify INSTANCE OUT`).

OUT is what `siteopt solve INSTANCE --scenarios FILE --out OUT` wrote. Three checks, none
taking the solve's own figures as truth:

* every `scenarios/<id>/` folder is an ordinary result folder, verified against *that*
  scenario's instance (`verify_folder` applies the overrides it recorded);
* non-anticipativity: the construction starts on or before the decision year are the same
  in every scenario and are the rows of `commitments.csv`. A start is the online year less
  the lead in that scenario's own data (`lead_years` of `phases.lead_months` /
  `upgrades.lead_months`), so a scenario with a longer lead shares the start year and comes
  online later (`models/stochastic.md` section 2); committed phases are data, not decisions;
* the figures of `summary.json` (each scenario's `objective`, `expected_cost`, `risk.cvar`,
  `risk.worst_cost`, `objective`) follow from the costs the checker recomputed and the
  probabilities: CVaR_alpha as the Rockafellar-Uryasev minimum over eta, not the solve's
  sorted-tail sum.

Imports no model, no solver and no stochastic code.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from siteopt.data.instance import Instance
from siteopt.data.rules import lead_years
from siteopt.errors import InputError, Problem
from siteopt.verify.checker import OBJ_RTOL, CheckReport
from siteopt.verify.folder import FolderCheck, read_plan, read_summary, verify_folder

#: `summary.json` `kind` of a two-stage result folder.
KIND = "two-stage stochastic"

#: A construction start: ("phase", site, phase, cooling, year) or ("upgrade", upgrade, year).
Start = tuple[object, ...]


def is_two_stage(folder: str | Path) -> bool:
    """Whether `folder` holds a two-stage result (its summary.json says so)."""
    path = Path(folder) / "summary.json"
    return path.is_file() and read_summary(path).get("kind") == KIND


def verify_two_stage(instance: str | Path | None, folder: str | Path) -> FolderCheck:
    """Verify every scenario's plan, the shared commitments and the summary's figures.

    Raises InputError (exit 2) for a folder whose summary lacks the scenarios, decision
    year or risk settings, or whose scenario folders or `commitments.csv` are missing.
    """
    folder = Path(folder)
    path = folder / "summary.json"
    summary = read_summary(path)
    entries, year, risk = _layout(path, summary)
    violations: list[str] = []
    costs: list[float] = []
    shared = _commitments(folder / "commitments.csv")
    for entry in entries:
        sid = str(entry["id"])
        check = verify_folder(instance, folder / str(entry["folder"]))
        violations += [f"scenario {sid}: {v}" for v in check.report.violations]
        cost = check.report.total_cost
        costs.append(cost)
        if not _close(entry.get("objective"), cost):
            violations.append(f"summary.json scenario {sid} objective: reported "
                              f"{entry.get('objective')} != recomputed {cost:.6f}")
        mine = starts(check.instance, read_plan(folder / str(entry["folder"])), year)  # type: ignore[arg-type]
        if mine != shared:
            violations.append(
                f"scenario {sid}: construction starts by {year} differ from commitments.csv "
                f"(non-anticipativity): only here {sorted(mine - shared, key=str)}, only in "
                f"commitments.csv {sorted(shared - mine, key=str)}")
    probs = [float(e["probability"]) for e in entries]  # type: ignore[arg-type]
    alpha, weight = float(risk["alpha"]), float(risk["weight"])  # type: ignore[arg-type]
    expected = math.fsum(p * c for p, c in zip(probs, costs, strict=True))
    tail = rockafellar_uryasev(costs, probs, alpha)
    objective = expected if weight == 0 else (1 - weight) * expected + weight * tail
    for name, reported, value in (("expected_cost", summary.get("expected_cost"), expected),
                                  ("risk.cvar", risk.get("cvar"), tail),
                                  ("risk.worst_cost", risk.get("worst_cost"), max(costs)),
                                  ("objective", summary.get("objective"), objective)):
        if not _close(reported, value):
            violations.append(f"summary.json {name}: reported {reported} != recomputed "
                              f"{value:.6f}")
    return FolderCheck(report=CheckReport(violations=violations, objective=objective,
                                          total_cost=expected), summary=summary)


def starts(inst: Instance, plan: dict[str, pd.DataFrame], decision_year: int) -> set[Start]:
    """The plan's construction starts on or before `decision_year`, in `inst`'s lead times."""
    phases = inst.table("phases").set_index(["site", "phase"])
    out: set[Start] = set()
    for r in plan["schedule"].to_dict("records"):
        ph = phases.loc[(r["site"], r["phase"])]
        year = int(r["online_year"]) - lead_years(int(ph["lead_months"]))
        if pd.isna(ph["committed_year"]) and year <= decision_year:
            out.add(("phase", r["site"], r["phase"], r["cooling"], year))
    if not len(plan["upgrades"]):
        return out
    upgrades = inst.table("upgrades").set_index("upgrade")
    for r in plan["upgrades"].to_dict("records"):
        year = int(r["online_year"]) - lead_years(int(upgrades.at[r["upgrade"], "lead_months"]))
        if year <= decision_year:
            out.add(("upgrade", r["upgrade"], year))
    return out


def rockafellar_uryasev(costs: list[float], probabilities: list[float], alpha: float) -> float:
    """CVaR_alpha = min over eta of eta + E[(cost - eta)+] / (1 - alpha).

    Convex and piecewise linear in eta with its kinks at the costs, so the minimum is at
    one of them (an atom split at alpha included).
    """
    return min(eta + math.fsum(p * max(c - eta, 0.0) for c, p in zip(costs, probabilities,
                                                                     strict=True))
               / (1.0 - alpha) for eta in costs)


def _commitments(path: Path) -> set[Start]:
    """The rows of commitments.csv as starts."""
    if not path.is_file():
        raise InputError(Problem(str(path), "the commitments of a two-stage result",
                                 found="no such file"))
    frame = pd.read_csv(path, dtype={c: str for c in ("site", "phase", "cooling", "upgrade")},
                        keep_default_na=False)
    return {("phase", r["site"], r["phase"], r["cooling"], int(r["construction_start"]))
            if r["kind"] == "phase" else ("upgrade", r["upgrade"], int(r["construction_start"]))
            for r in frame.to_dict("records")}


def _layout(path: Path, summary: dict[str, object]
            ) -> tuple[list[dict[str, object]], int, dict[str, object]]:
    """The scenarios, decision year and risk settings of a two-stage summary, checked."""
    entries, year, risk = summary.get("scenarios"), summary.get("decision_year"), summary.get(
        "risk")
    ok = (isinstance(entries, list) and entries
          and all(isinstance(e, dict) and {"id", "probability", "folder"} <= set(e)
                  for e in entries)
          and isinstance(year, int) and isinstance(risk, dict)
          and {"alpha", "weight"} <= set(risk))
    if not ok or summary.get("objective") is None:
        raise InputError(Problem(str(path), "a two-stage result with a plan in every scenario "
                                 "(scenarios with id, probability and folder; decision_year; "
                                 "risk alpha and weight)", column="scenarios",
                                 found=f"status {summary.get('status')}"))
    return entries, year, risk  # type: ignore[return-value]


def _close(reported: object, value: float) -> bool:
    """Whether a reported number equals a recomputed one within the checker's tolerance."""
    return (isinstance(reported, int | float) and not isinstance(reported, bool)
            and abs(float(reported) - value) <= OBJ_RTOL * max(1.0, abs(value)))
