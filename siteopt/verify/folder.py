"""Re-verifying a result folder on its own: `siteopt verify INSTANCE RESULT_DIR`.

The folder's `summary.json` records the instance fingerprint and the overrides applied
(`--set`, sweep scenarios, the API), so the instance is reloaded, the overrides applied
again, the fingerprint compared, the result CSV files read back and the independent checker
(`siteopt.verify.checker.check_plan`) run on them. Imports no model, no solver.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from siteopt.data.instance import Instance
from siteopt.data.load import load_instance
from siteopt.data.overrides import apply_recorded
from siteopt.data.rules import lead_years
from siteopt.errors import InputError, Problem
from siteopt.io.text import read_utf8
from siteopt.io.write import PLAN_STATUSES
from siteopt.verify.checker import OBJ_RTOL, TOL, CheckReport, budget_key, check_plan

#: The result tables the checker reads, with their id (text) columns.
PLAN_FILES: dict[str, tuple[str, ...]] = {
    "schedule": ("site", "phase", "cooling"),
    "sites": ("site", "name", "zone", "sponsor"),
    "upgrades": ("upgrade", "zone"),
    "capacity": ("site", "cooling"),
    "power": ("zone",),
    "served": ("site", "region", "class"),
    "unserved": ("region", "class"),
    "costs": (),
}

#: Result tables written by the versions that derive budgets (schedule.decision_year): a
#: folder with a derived schedule must hold them; an older folder may lack them.
DERIVED_FILES: dict[str, tuple[str, ...]] = {"budgets": ("budget", "sponsor")}

#: The columns that identify a row of each table: two rows with the same key are an error.
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "schedule": ("site", "phase"),
    "sites": ("site",),
    "upgrades": ("upgrade",),
    "capacity": ("site", "cooling", "year"),
    "power": ("zone", "year"),
    "served": ("site", "region", "class", "year"),
    "unserved": ("region", "class", "year"),
    "costs": ("year",),
    "budgets": ("sponsor", "year"),
}


@dataclass
class FolderCheck:
    """The outcome of re-verifying a result folder."""

    report: CheckReport
    summary: dict[str, object] = field(default_factory=dict)
    #: the instance checked against (recorded overrides applied); None before it was loaded
    instance: Instance | None = None

    @property
    def ok(self) -> bool:
        """Whether the plan passed every rule."""
        return self.report.ok


def read_plan(folder: Path) -> dict[str, pd.DataFrame]:
    """The result tables of `folder`, ids as text; a missing file is an InputError."""
    missing = [f"{name}.csv" for name in PLAN_FILES if not (folder / f"{name}.csv").is_file()]
    if missing:
        raise InputError([Problem(str(folder / m), "a result table of the plan",
                                  found="no such file") for m in missing])
    plan = {name: _read_table(folder / f"{name}.csv", ids) for name, ids in PLAN_FILES.items()}
    derived = "decision_year" in plan["schedule"].columns
    for name, ids in DERIVED_FILES.items():
        if (folder / f"{name}.csv").is_file():
            plan[name] = _read_table(folder / f"{name}.csv", ids)
        elif derived:
            raise InputError(Problem(str(folder / f"{name}.csv"), "a result table of the plan "
                                     "(written with schedule.decision_year)",
                                     found="no such file"))
    return plan


def _read_table(path: Path, ids: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=dict.fromkeys(ids, str))
    for col in ids:
        if col in frame.columns:
            frame[col] = frame[col].fillna("").astype(object)
    return frame


def table_violations(inst: Instance, plan: dict[str, pd.DataFrame]) -> list[str]:
    """What the checker's rules, which read rows by key, cannot see.

    A key repeated in a table (the rules would keep one row of it) and a budget row of the
    instance that budgets.csv leaves out. Lines are numbered as an editor shows them.
    """
    out = []
    for name, key in ROW_KEYS.items():
        frame = plan.get(name)
        if frame is None or not set(key) <= set(frame.columns):
            continue
        dup = frame.duplicated(list(key), keep=False)
        for value, rows in frame[dup].groupby(list(key), sort=False, dropna=False):
            lines = ", ".join(str(i + 2) for i in rows.index)
            shown = "/".join("" if pd.isna(v) else str(v) for v in value)
            out.append(f"{name}.csv lines {lines}: the same {'/'.join(key)} {shown} "
                       "more than once")
    if "budgets" in plan:
        listed = {budget_key(sp, y)
                  for sp, y in plan["budgets"][["sponsor", "year"]].itertuples(index=False)}
        for sp, y in inst.table("budgets")[["sponsor", "year"]].itertuples(index=False):
            key = budget_key(sp, y)
            if key not in listed:
                out.append(f"budgets.csv: no row for the instance's budget (sponsor "
                           f"{key[0] or 'all'}, year {'horizon' if key[1] is None else key[1]})")
    return out


def read_summary(path: Path) -> dict[str, object]:
    """The folder's `summary.json`: a JSON object; bad text is an InputError at its line."""
    if not path.is_file():
        raise InputError(Problem(str(path), "the summary of a siteopt result folder",
                                 found="no such file"))
    text = read_utf8(path, str(path))
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(Problem(str(path), "JSON", row=exc.lineno,
                                 found=f"{exc.msg} at column {exc.colno}")) from exc
    if not isinstance(summary, dict):
        raise InputError(Problem(str(path), "a JSON object (the summary of a result folder)",
                                 found=type(summary).__name__))
    return summary


def _recorded_overrides(path: Path, summary: dict[str, object]) -> list[tuple[str, object]]:
    recorded = summary.get("overrides") or []
    if not isinstance(recorded, list) or not all(
            isinstance(pair, list) and len(pair) == 2 for pair in recorded):
        raise InputError(Problem(str(path), "a list of [key, value] pairs", column="overrides",
                                 found=json.dumps(recorded)[:200]))
    return [(str(k), v) for k, v in recorded]


def _number(path: Path, summary: dict[str, object], key: str, required: bool) -> float | None:
    value = summary.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value):
        raise InputError(Problem(str(path), "a number", column=key, found=json.dumps(value)))
    return float(value)


def reported_columns(inst: Instance, plan: dict[str, pd.DataFrame]) -> list[str]:
    """Reported columns the checker's rules do not read, against the instance.

    schedule.it_mw, decision_year (online_year minus the lead years) and committed;
    sites.zone and sponsor; power.slack_mw (limit_mw - power_mw).
    """
    out = []
    phases = inst.table("phases").set_index(["site", "phase"])
    sched = plan["schedule"]
    for i, row in enumerate(sched.to_dict("records")):
        key = (row["site"], row["phase"])
        if key not in phases.index:
            continue  # the checker names unknown phases
        ph = phases.loc[key]
        want: dict[str, object] = {"it_mw": float(ph["it_mw"]),
                                   "committed": not pd.isna(ph["committed_year"])}
        if not pd.isna(row.get("online_year")):
            want["decision_year"] = int(row["online_year"]) - lead_years(int(ph["lead_months"]))
        for col, value in want.items():
            if col not in row:
                continue
            got = row[col]
            bad = (str(got) != str(value) if isinstance(value, bool) else
                   pd.isna(got) or abs(float(got) - float(value)) > TOL * max(1.0, abs(value)))
            if bad:
                out.append(f"schedule.csv line {i + 2} ({key[0]}/{key[1]}), column {col}: "
                           f"reported {got}, expected {value}")
    sites = inst.table("sites").set_index("site")
    for i, row in enumerate(plan["sites"].to_dict("records")):
        if row["site"] not in sites.index:
            continue
        for col in ("zone", "sponsor"):
            if col in row and str(row[col]) != str(sites.at[row["site"], col]):
                out.append(f"sites.csv line {i + 2} ({row['site']}), column {col}: reported "
                           f"{row[col]!r} != the instance's {sites.at[row['site'], col]!r}")
    power = plan["power"]
    if {"slack_mw", "limit_mw", "power_mw"} <= set(power.columns):
        for i, row in enumerate(power.to_dict("records")):
            want = float(row["limit_mw"]) - float(row["power_mw"])
            if not abs(float(row["slack_mw"]) - want) <= TOL * max(1.0, abs(want)):
                out.append(f"power.csv line {i + 2} ({row['zone']}/{row['year']}), column "
                           f"slack_mw: reported {row['slack_mw']} != limit_mw - power_mw "
                           f"{want:.6g}")
    return out


def verify_folder(instance: str | Path | None, folder: str | Path) -> FolderCheck:
    """Reload `instance`, apply the folder's recorded overrides and check its plan.

    Raises InputError (exit 2) for a folder without a readable `summary.json` (a JSON
    object whose status is one with a plan, whose objective is a number) or a plan, missing
    result files, or an instance whose fingerprint differs from the recorded one.
    """
    folder = Path(folder)
    path = folder / "summary.json"
    summary = read_summary(path)
    if summary.get("status") not in PLAN_STATUSES:
        raise InputError(Problem(str(path), "a result with a plan to verify (status one of "
                                 f"{', '.join(PLAN_STATUSES)})",
                                 column="status", found=str(summary.get("status"))))
    recorded = _recorded_overrides(path, summary)
    objective = _number(path, summary, "objective", required=True)
    total_cost = _number(path, summary, "total_cost", required=False)
    inst = load_instance(instance)
    inst = apply_recorded(inst, recorded)
    expected = summary.get("instance_fingerprint")
    if expected != inst.fingerprint:
        raise InputError(Problem(str(path), f"the fingerprint of instance {inst.path} with "
                                 f"the recorded overrides ({inst.fingerprint}): the result was "
                                 "solved from another instance or other overrides",
                                 column="instance_fingerprint", found=str(expected)))
    plan = read_plan(folder)
    violations = table_violations(inst, plan)
    violations += reported_columns(inst, plan)
    if any(".csv lines " in v for v in violations):  # repeated keys: the rules read by key
        return FolderCheck(report=CheckReport(violations=violations), summary=summary,
                           instance=inst)
    report = check_plan(inst, plan, objective)
    if total_cost is not None and abs(total_cost - report.total_cost) > OBJ_RTOL * max(
            1.0, abs(report.total_cost)):
        report.violations.append(f"summary.json total_cost: reported {total_cost:.6f} != "
                                 f"recomputed {report.total_cost:.6f}")
    report.violations[:0] = violations
    return FolderCheck(report=report, summary=summary, instance=inst)
