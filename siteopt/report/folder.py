"""Reading a result folder (written by `siteopt solve --out` or a sweep) for the HTML report.

A folder holds `summary.json` and, when the solve found a plan, one CSV per result table
(`siteopt.solver.results.RESULT_TABLES`). The instance is found from the summary
(`instance_path`, else the bundled instance of the same name) and checked against the
summary's fingerprint; a sweep scenario's `scenario.json` overrides are applied to it.
Whatever cannot be found is listed in `ResultFolder.notes`, never raised, except a missing
or unreadable `summary.json` (an `InputError`, exit code 2, naming the file). A column named
as before a rename (`siteopt.io.write.RENAMED_COLUMNS`, e.g. power.csv's `headroom_mw`, now
`derated_headroom_mw`) is read under its current name, with a note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from siteopt.data.instance import Instance
from siteopt.errors import InputError, Problem, SiteoptError
from siteopt.io.write import old_columns
from siteopt.solver.results import RESULT_TABLES, derive

#: Tables a plan's report needs (budgets.csv is derived again from the others if missing).
PLAN_TABLES = tuple(t for t in RESULT_TABLES if t != "budgets")


@dataclass
class ResultFolder:
    """A result folder as read: summary, tables, the instance (or None) and what is missing."""

    path: Path
    summary: dict[str, object]
    tables: dict[str, pd.DataFrame]
    instance: Instance | None
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # file names of missing tables
    scenario: dict[str, object] | None = None

    @property
    def has_plan(self) -> bool:
        """Whether the folder holds a plan (a schedule and the tables the report draws)."""
        return "schedule" in self.tables and "sites" in self.tables


def read_result_folder(path: str | Path, instance: Instance | None = None) -> ResultFolder:
    """Read `path`; raises `InputError` if it is not a result folder (no summary.json).

    `instance`: the instance the plan was solved on, if the caller has it (e.g. `solve`,
    with its overrides applied); otherwise it is looked up from the summary.
    """
    folder = Path(path)
    summary_file = folder / "summary.json"
    if not folder.is_dir():
        raise InputError(Problem(str(folder), "a result folder (summary.json and CSV tables)",
                                 found="no such folder"))
    if not summary_file.is_file():
        raise InputError(Problem(str(summary_file), "the summary.json of a result folder",
                                 found="missing"))
    try:
        summary = json.loads(summary_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(Problem(str(summary_file), "a JSON summary", found=str(exc))) from exc
    scenario = None
    scenario_file = folder / "scenario.json"
    if scenario_file.is_file():
        scenario = json.loads(scenario_file.read_text(encoding="utf-8"))
    rf = ResultFolder(path=folder, summary=summary, tables={}, instance=None, scenario=scenario)
    for name in RESULT_TABLES:
        file = folder / f"{name}.csv"
        if file.is_file():
            try:
                table = pd.read_csv(file, keep_default_na=False, na_values=[""])
            except (OSError, ValueError, pd.errors.ParserError) as exc:
                rf.notes.append(f"{file.name} could not be read ({exc})")
                rf.missing.append(file.name)
                continue
            renamed = old_columns(name, table.columns)
            if renamed:
                rf.notes.append(f"{file.name} predates a rename: " + ", ".join(
                    f"{old} read as {new}" for old, new in renamed.items()))
            rf.tables[name] = table.rename(columns=renamed)
        else:
            rf.missing.append(file.name)
    if not rf.tables:
        rf.missing = []  # no plan at all: the summary says why
        rf.notes.append(f"no plan in this folder (status {summary.get('status')}): only "
                        "summary.json was written")
    elif rf.missing:
        rf.notes.append("missing from the folder: " + ", ".join(rf.missing))
    for name in ("sponsor", "budget"):
        for table in ("sites", "budgets"):
            if table in rf.tables and name in rf.tables[table]:
                rf.tables[table][name] = [
                    "" if pd.isna(v) else str(v) for v in rf.tables[table][name]]
    rf.instance = instance if instance is not None else _find_instance(rf)
    if rf.instance is not None and rf.has_plan and _needs_derive(rf):
        try:
            rf.tables = derive(rf.instance, rf.tables)
            rf.notes.append("budgets, decision years, binding flags and unserved reasons were "
                            "derived again from the tables and the instance (older folder)")
            rf.missing = [m for m in rf.missing if m != "budgets.csv"]
        except (KeyError, ValueError) as exc:
            rf.notes.append(f"derived values unavailable ({exc})")
    return rf


def _needs_derive(rf: ResultFolder) -> bool:
    t = rf.tables
    if any(name not in t for name in PLAN_TABLES):
        return False
    return ("budgets" not in t or "decision_year" not in t["schedule"]
            or "binding" not in t["power"] or "reason" not in t["unserved"])


def _find_instance(rf: ResultFolder) -> Instance | None:
    """The instance the plan was solved on, or None with a note saying why not."""
    from siteopt.data.load import load_instance
    from siteopt.data.overrides import apply_overrides

    summary = rf.summary
    name = str(summary.get("instance") or "")
    wanted = str(summary.get("instance_fingerprint") or "")
    candidates: list[Path] = []
    if summary.get("instance_path"):
        candidates.append(Path(str(summary["instance_path"])))
    try:
        from siteopt.io.bundled import default_instance_path

        bundled = default_instance_path()
        if bundled.name == name:
            candidates.append(bundled)
    except (OSError, SiteoptError):
        pass
    for path in candidates:
        if not path.is_dir():
            continue
        try:
            inst = load_instance(path)
        except SiteoptError as exc:
            rf.notes.append(f"instance {path} could not be read: {exc}")
            continue
        overrides = (rf.scenario or {}).get("overrides") or {}
        if overrides:
            try:
                inst = apply_overrides(inst, overrides)
            except SiteoptError as exc:
                rf.notes.append(f"the scenario's overrides do not apply to {path}: {exc}")
                continue
        if wanted and inst.fingerprint != wanted:
            if inst.fingerprint.split("+")[0] == wanted.split("+")[0]:
                rf.notes.append(f"instance {path}: solved with overrides ({wanted}); the map "
                                "shows the instance's geometry, the tables the solved values")
            else:
                rf.notes.append(f"instance {path} has fingerprint {inst.fingerprint}, the plan "
                                f"was solved on {wanted}: the instance changed since")
        return inst
    where = ", ".join(str(p) for p in candidates) or "no instance_path in summary.json"
    rf.notes.append(f"instance {name or '?'} not found ({where}): the map, the construction "
                    "years and the latency targets need it; the rest is drawn from the tables")
    return None
