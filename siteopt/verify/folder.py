"""Re-verifying a result folder on its own: `siteopt verify INSTANCE RESULT_DIR`.

The folder's `summary.json` records the instance fingerprint and the overrides applied
(`--set`, sweep scenarios, the API), so the instance is reloaded, the overrides applied
again, the fingerprint compared, the result CSV files read back and the independent checker
(`siteopt.verify.checker.check_plan`) run on them. Imports no model, no solver.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from siteopt.data.instance import Instance
from siteopt.data.load import load_instance
from siteopt.data.overrides import apply_recorded
from siteopt.data.rules import MAXIMIZED, latency_targets, lead_years
from siteopt.errors import InputError, Problem
from siteopt.io.read import csv_problem
from siteopt.io.text import read_utf8
from siteopt.io.write import PLAN_STATUSES, ZERO, binding, budget_label, old_columns
from siteopt.verify.checker import (
    COST_TERMS,
    OBJ_RTOL,
    TOL,
    CheckReport,
    budget_key,
    check_plan,
)

#: The columns of each result table verify reads, with their kind: "id" (text), "int",
#: "float", "bool" ("true"/"false", any case); a trailing "?" allows an empty cell. The
#: columns `REQUIRED_COLUMNS` leaves out are derived ones an older folder may lack.
PLAN_FILES: dict[str, dict[str, str]] = {
    "schedule": {"site": "id", "phase": "id", "cooling": "id", "decision_year": "int",
                 "online_year": "int", "it_mw": "float", "capex_with_cooling_usd_m": "float",
                 "capex_in_horizon_usd_m": "float", "committed": "bool"},
    "sites": {"site": "id", "name": "id", "zone": "id", "sponsor": "id", "existing": "bool",
              "open_year": "int?", "it_mw_final": "float"},
    "upgrades": {"upgrade": "id", "zone": "id", "online_year": "int", "add_mw": "float",
                 "capex_usd_m": "float"},
    "capacity": {"site": "id", "cooling": "id", "year": "int", "capacity_mw": "float",
                 "it_load_mw": "float", "pue": "float"},
    "power": {"zone": "id", "year": "int", "power_mw": "float",
              "derated_headroom_mw": "float", "upgrade_mw": "float", "limit_mw": "float",
              "slack_mw": "float", "binding": "bool"},
    "served": {"site": "id", "region": "id", "class": "id", "year": "int", "serve_mw": "float",
               "rtt_ms": "float?", "max_rtt_ms": "float?"},
    "unserved": {"region": "id", "class": "id", "year": "int", "demand_mw": "float",
                 "unserved_mw": "float", "reason": "id"},
    "costs": {"year": "int", "discount": "float", **dict.fromkeys(COST_TERMS, "float"),
              "total": "float", "total_pv": "float"},
}

#: Result tables written by the versions that derive budgets (schedule.decision_year): a
#: folder with a derived schedule must hold them; an older folder may lack them.
DERIVED_FILES: dict[str, dict[str, str]] = {"budgets": {
    "budget": "id", "sponsor": "id", "year": "int?", "spend_usd_m": "float",
    "limit_usd_m": "float", "slack_usd_m": "float", "binding": "bool"}}

#: The columns the checker's rules read unconditionally: a table without one is bad input.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "schedule": ("site", "phase", "cooling", "online_year", "capex_with_cooling_usd_m",
                 "capex_in_horizon_usd_m"),
    "sites": ("site", "open_year", "it_mw_final"),
    "upgrades": ("upgrade", "online_year"),
    "capacity": ("site", "cooling", "year", "capacity_mw", "it_load_mw", "pue"),
    "power": ("zone", "year", "power_mw", "derated_headroom_mw", "upgrade_mw", "limit_mw"),
    "served": ("site", "region", "class", "year", "serve_mw", "rtt_ms"),
    "unserved": ("region", "class", "year", "unserved_mw"),
    "costs": ("year", "discount", *COST_TERMS),
    "budgets": ("budget", "sponsor", "year", "spend_usd_m", "limit_usd_m", "slack_usd_m"),
}

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
    """The result tables of `folder`, typed per `PLAN_FILES`.

    A missing file, text that is not CSV, a missing column the checker reads or a cell of
    the wrong kind is an InputError (exit 2) naming the file, line and column, every one of
    the folder at once; the rules then read only well-typed tables.
    """
    missing = [f"{name}.csv" for name in PLAN_FILES if not (folder / f"{name}.csv").is_file()]
    if missing:
        raise InputError([Problem(str(folder / m), "a result table of the plan",
                                  found="no such file") for m in missing])
    problems: list[Problem] = []
    plan = {name: _read_table(folder / f"{name}.csv", name, kinds, problems)
            for name, kinds in PLAN_FILES.items()}
    derived = "decision_year" in plan["schedule"].columns
    for name, kinds in DERIVED_FILES.items():
        if (folder / f"{name}.csv").is_file():
            plan[name] = _read_table(folder / f"{name}.csv", name, kinds, problems)
        elif derived:
            problems.append(Problem(str(folder / f"{name}.csv"), "a result table of the plan "
                                    "(written with schedule.decision_year)",
                                    found="no such file"))
    if problems:
        raise InputError(problems)
    return plan


def _read_table(path: Path, name: str, kinds: dict[str, str],
                problems: list[Problem]) -> pd.DataFrame:
    """One result table, each known column converted to its kind; problems appended."""
    file = str(path)
    try:
        text = read_utf8(path, file, table=True)
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            skipinitialspace=True)
    except InputError as exc:  # a byte that is not UTF-8
        problems.extend(exc.problems)
        return pd.DataFrame()
    except OSError as exc:
        problems.append(Problem(file, "a readable file", found=exc.strerror or str(exc)))
        return pd.DataFrame()
    except pd.errors.EmptyDataError:
        problems.append(Problem(file, "a header line with column names", row=1,
                                found="an empty file"))
        return pd.DataFrame()
    except pd.errors.ParserError as exc:
        problems.append(csv_problem(file, text, exc))
        return pd.DataFrame()
    frame.columns = [str(c).strip() for c in frame.columns]
    renamed = old_columns(name, frame.columns)
    for old, new in renamed.items():
        problems.append(Problem(file, f"a column '{new}', the name of '{old}' since it was "
                                "renamed: this folder predates the rename; solve the instance "
                                "again (siteopt solve ... --out) to write it", row=1,
                                column=old, found=old))
    lacking = [c for c in REQUIRED_COLUMNS[name]
               if c not in frame.columns and c not in renamed.values()]
    for col in lacking:
        problems.append(Problem(file, f"a column '{col}' (the checker reads it)", row=1,
                                column=col, found="no such column"))
    if lacking or renamed:
        return pd.DataFrame(columns=list(kinds))
    for col, kind in kinds.items():
        if col in frame.columns:
            frame[col] = _typed_column(frame[col].map(str.strip), kind, file, col, problems)
    return frame


def _typed_column(cells: pd.Series, kind: str, file: str, col: str,
                  problems: list[Problem]) -> pd.Series:
    """`cells` (text) as `kind` (see `PLAN_FILES`); each bad cell is a problem at its line."""
    base, empty_ok = kind.rstrip("?"), kind.endswith("?")
    if base == "id":
        return cells.astype(object)
    values: list[object] = []
    for i, text in enumerate(cells):
        value: object = None
        if text == "" and empty_ok:
            value = None
        elif base == "bool":
            value = _flag(text)
        else:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if math.isfinite(number) and (base == "float" or number == int(number)):
                value = number if base == "float" else int(number)
        if value is None and not (text == "" and empty_ok):
            expected = {"bool": "true or false", "int": "a whole number",
                        "float": "a finite number"}[base]
            problems.append(Problem(file, expected + (" or empty" if empty_ok else ""),
                                    row=i + 2, column=col, found=text))
        values.append(value)
    if base == "float":
        return pd.Series([math.nan if v is None else v for v in values], index=cells.index,
                         dtype=float)
    if base == "int":
        return pd.Series(values, index=cells.index, dtype="Int64")
    return pd.Series(values, index=cells.index, dtype=object)


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


def _flag(value: object) -> bool | None:
    """A true/false cell of a result table as read back (pandas' bool, or its text), or None."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    return {"true": True, "false": False}.get(text)


def _same_flag(got: object, want: bool) -> bool:
    return _flag(got) is want


def reported_columns(inst: Instance, plan: dict[str, pd.DataFrame]) -> list[str]:
    """Reported columns the checker's rules do not read, against the instance.

    schedule.it_mw, decision_year (online_year minus the lead years) and committed;
    sites.name, zone, sponsor and existing (existing_it_mw > 0); upgrades.zone, add_mw and
    capex_usd_m (the instance's); unserved.demand_mw (demand.csv's it_mw); power.slack_mw
    (limit_mw - power_mw) and binding; budgets.budget (the row's name) and binding;
    served.max_rtt_ms (the pair's
    latency target: its latency_targets.csv row, else latency.max_rtt_ms for a located
    region, else empty). The numbers a binding flag reads (power_mw, limit_mw, slack_usd_m)
    are checked by the checker's rules; here the flag is checked against them.
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
        for col in ("name", "zone", "sponsor"):
            if col in row and str(row[col]) != str(sites.at[row["site"], col]):
                out.append(f"sites.csv line {i + 2} ({row['site']}), column {col}: reported "
                           f"{row[col]!r} != the instance's {sites.at[row['site'], col]!r}")
        existing = bool(sites.at[row["site"], "existing_it_mw"] > 0)
        if "existing" in row and not _same_flag(row["existing"], existing):
            out.append(f"sites.csv line {i + 2} ({row['site']}), column existing: reported "
                       f"{row['existing']}, expected {existing} (existing_it_mw "
                       f"{sites.at[row['site'], 'existing_it_mw']:g})")
    out += _upgrade_columns(inst, plan["upgrades"])
    out += _unserved_demand(inst, plan["unserved"])
    out += _power_columns(plan["power"])
    out += _budget_binding(plan.get("budgets"))
    out += _served_targets(inst, plan["served"])
    return out


def _upgrade_columns(inst: Instance, upgrades: pd.DataFrame) -> list[str]:
    """upgrades.csv: zone, add_mw and capex_usd_m are the instance's values of the upgrade.

    The checker's rules read the upgrade's name and online year and take its zone, MW and
    capex from the instance, so an edited copy of them here would go unseen otherwise.
    """
    table = inst.table("upgrades").set_index("upgrade")
    out = []
    for i, row in enumerate(upgrades.to_dict("records")):
        u = row["upgrade"]
        if u not in table.index:
            continue  # the checker names unknown upgrades
        where = f"upgrades.csv line {i + 2} ({u}), column"
        if "zone" in row and str(row["zone"]) != str(table.at[u, "zone"]):
            out.append(f"{where} zone: reported {row['zone']!r} != the instance's "
                       f"{table.at[u, 'zone']!r}")
        for col in ("add_mw", "capex_usd_m"):
            want = float(table.at[u, col])
            if col in row and not abs(float(row[col]) - want) <= TOL * max(1.0, abs(want)):
                out.append(f"{where} {col}: reported {float(row[col]):g} != the instance's "
                           f"{want:g}")
    return out


def _unserved_demand(inst: Instance, unserved: pd.DataFrame) -> list[str]:
    """unserved.csv: demand_mw is the demand.csv it_mw of the (region, class, year)."""
    if "demand_mw" not in unserved.columns:
        return []
    demand = {(r, c, int(y)): float(x) for r, c, y, x in inst.table("demand")[
        ["region", "class", "year", "it_mw"]].itertuples(index=False, name=None)}
    out = []
    for i, row in enumerate(unserved.to_dict("records")):
        key = (row["region"], row["class"], int(row["year"]))
        want = demand.get(key, 0.0)
        if not abs(float(row["demand_mw"]) - want) <= TOL * max(1.0, want):
            out.append(f"unserved.csv line {i + 2} ({'/'.join(map(str, key))}), column "
                       f"demand_mw: reported {float(row['demand_mw']):g} != demand.csv's {want:g}")
    return out


def _power_columns(power: pd.DataFrame) -> list[str]:
    """power.csv: slack_mw is limit_mw - power_mw; binding is a drawn zone within it."""
    out = []
    if not {"slack_mw", "limit_mw", "power_mw"} <= set(power.columns):
        return out
    for i, row in enumerate(power.to_dict("records")):
        want = float(row["limit_mw"]) - float(row["power_mw"])
        where = f"power.csv line {i + 2} ({row['zone']}/{row['year']}), column"
        if not abs(float(row["slack_mw"]) - want) <= TOL * max(1.0, abs(want)):
            out.append(f"{where} slack_mw: reported {row['slack_mw']} != limit_mw - power_mw "
                       f"{want:.6g}")
        if "binding" in row:
            binds = bool(float(row["power_mw"]) > ZERO and binding(want, float(row["limit_mw"])))
            if not _same_flag(row["binding"], binds):
                out.append(f"{where} binding: reported {row['binding']}, expected {binds} "
                           f"(slack {want:.6g} of limit {float(row['limit_mw']):.6g})")
    return out


def _budget_binding(budgets: pd.DataFrame | None) -> list[str]:
    """budgets.csv: binding is slack_usd_m within the binding share of limit_usd_m.

    And the row's name (`budget`) is the one its sponsor and year give (`budget_label`),
    the name explain and the report cite.
    """
    if budgets is None or not {"binding", "slack_usd_m", "limit_usd_m"} <= set(budgets.columns):
        return []
    out = []
    for i, row in enumerate(budgets.to_dict("records")):
        name = budget_label(budget_key(row["sponsor"], row["year"])[0], row["year"])
        if str(row["budget"]) != name:
            out.append(f"budgets.csv line {i + 2} ({row['budget']}), column budget: reported "
                       f"{row['budget']!r}, expected {name!r} (sponsor "
                       f"{row['sponsor'] or 'all'}, year "
                       f"{'horizon' if pd.isna(row['year']) else row['year']})")
        binds = bool(binding(float(row["slack_usd_m"]), float(row["limit_usd_m"])))
        if not _same_flag(row["binding"], binds):
            out.append(f"budgets.csv line {i + 2} ({row['budget']}), column binding: reported "
                       f"{row['binding']}, expected {binds} (slack {row['slack_usd_m']} of "
                       f"limit {row['limit_usd_m']})")
    return out


def _served_targets(inst: Instance, served: pd.DataFrame) -> list[str]:
    """served.csv: max_rtt_ms is the (region, class) latency target, empty without one."""
    if "max_rtt_ms" not in served.columns:
        return []
    targets = latency_targets(inst.meta, inst.tables)
    out = []
    for i, row in enumerate(served.to_dict("records")):
        want = targets.get((row["region"], row["class"]))
        got = row["max_rtt_ms"]
        if want is None:
            bad = not pd.isna(got)
        else:
            bad = pd.isna(got) or abs(float(got) - want) > TOL * max(1.0, want)
        if bad:
            out.append(f"served.csv line {i + 2} ({row['site']}/{row['region']}/{row['class']}/"
                       f"{row['year']}), column max_rtt_ms: reported "
                       f"{'empty' if pd.isna(got) else f'{float(got):g}'}, expected "
                       f"{'empty (no target)' if want is None else f'{want:g}'}")
    return out


def summary_figures(inst: Instance, plan: dict[str, pd.DataFrame], summary: dict[str, object],
                    objective: float) -> list[str]:
    """summary.json's figures beside the objective, each where the summary holds it.

    `objective_name` is the instance's `siting.objective` (the one the checker recomputed);
    `unserved_mw_years` is the sum of unserved.csv's unserved_mw; `bound` lies on the
    optimum's side of the objective (at most it when minimizing, at least it for an
    objective in `MAXIMIZED`): a bound past the plan's own value cannot be a bound.
    """
    path = "summary.json"
    out = []
    name = summary.get("objective_name")
    if name is not None and name != inst.meta.siting.objective:
        out.append(f"{path} objective_name: reported {name!r}, the instance's siting.objective "
                   f"is {inst.meta.siting.objective!r}")
    if "unserved_mw_years" in summary:
        got = summary["unserved_mw_years"]
        want = float(plan["unserved"]["unserved_mw"].sum())
        if isinstance(got, bool) or not isinstance(got, int | float) or not abs(
                got - want) <= TOL * max(1.0, want):
            out.append(f"{path} unserved_mw_years: reported {got} != the sum of unserved.csv's "
                       f"unserved_mw {want:.6g}")
    bound = summary.get("bound")
    if isinstance(bound, int | float) and not isinstance(bound, bool) and math.isfinite(bound):
        sign = -1.0 if inst.meta.siting.objective in MAXIMIZED else 1.0
        if sign * (bound - objective) > OBJ_RTOL * max(1.0, abs(objective)):
            side = "below" if sign < 0 else "above"
            out.append(f"{path} bound: reported {bound:.6f} lies {side} the objective "
                       f"{objective:.6f}, which no bound of an optimum can")
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
    report.violations += summary_figures(inst, plan, summary, objective)
    report.violations[:0] = violations
    return FolderCheck(report=report, summary=summary, instance=inst)
