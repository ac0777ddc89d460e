"""Re-verifying a result folder on its own: `siteopt verify INSTANCE RESULT_DIR`.

The folder's `summary.json` records the instance fingerprint and the overrides applied
(`--set`, sweep scenarios, the API), so the instance is reloaded, the overrides applied
again, the fingerprint compared, the result CSV files read back and the independent checker
(`siteopt.verify.checker.check_plan`) run on them. Imports no model, no solver.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from siteopt.data.load import load_instance
from siteopt.data.overrides import apply_recorded
from siteopt.errors import InputError, Problem
from siteopt.verify.checker import CheckReport, check_plan

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


@dataclass
class FolderCheck:
    """The outcome of re-verifying a result folder."""

    report: CheckReport
    summary: dict[str, object] = field(default_factory=dict)

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
    plan = {}
    for name, ids in PLAN_FILES.items():
        frame = pd.read_csv(folder / f"{name}.csv", dtype=dict.fromkeys(ids, str))
        for col in ids:
            if col in frame.columns:
                frame[col] = frame[col].fillna("").astype(object)
        plan[name] = frame
    return plan


def verify_folder(instance: str | Path | None, folder: str | Path) -> FolderCheck:
    """Reload `instance`, apply the folder's recorded overrides and check its plan.

    Raises InputError (exit 2) for a folder without `summary.json` or a plan, missing
    result files, or an instance whose fingerprint differs from the recorded one.
    """
    folder = Path(folder)
    path = folder / "summary.json"
    if not path.is_file():
        raise InputError(Problem(str(path), "the summary of a siteopt result folder",
                                 found="no such file"))
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(Problem(str(path), "JSON", found=str(exc))) from exc
    if not (folder / "schedule.csv").is_file() and summary.get("status") not in (
            "optimal", "time_limit", "interrupted", "limit"):
        raise InputError(Problem(str(path), "a result with a plan to verify",
                                 column="status", found=str(summary.get("status"))))
    inst = load_instance(instance)
    recorded = summary.get("overrides") or []
    inst = apply_recorded(inst, [(str(k), v) for k, v in recorded])
    expected = summary.get("instance_fingerprint")
    if expected != inst.fingerprint:
        raise InputError(Problem(str(path), f"the fingerprint of instance {inst.path} with "
                                 f"the recorded overrides ({inst.fingerprint}): the result was "
                                 "solved from another instance or other overrides",
                                 column="instance_fingerprint", found=str(expected)))
    plan = read_plan(folder)
    objective = summary.get("objective")
    report = check_plan(inst, plan, None if objective is None else float(objective))
    return FolderCheck(report=report, summary=summary)
