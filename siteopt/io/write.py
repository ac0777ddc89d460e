"""Writing a result folder atomically: it appears complete, or not at all.

Files are written into a temporary sibling folder which is then renamed into place; an
existing folder of the same name is swapped out only after the new one is complete.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np
import pandas as pd

from siteopt.errors import InputError, Problem
from siteopt.io.schema import METADATA_FILE

#: Statuses of a result folder (summary.json `status`) that carries a plan.
PLAN_STATUSES = ("optimal", "time_limit", "interrupted", "limit")

#: Values closer to zero than this are reported as zero (solver noise, MW or USD M).
ZERO = 1e-7
#: A limit binds when its slack is at most this share of the limit (or BINDING_ABS).
BINDING_SHARE = 0.01
#: Absolute slack (MW or USD M) under which a limit always counts as binding.
BINDING_ABS = 1e-4


#: Result columns renamed since an earlier version: table -> {old name: new name}. power.csv's
#: `headroom_mw` held the derated headroom (derate × the listed `headroom.headroom_mw`) under
#: the input's name for the listed one; it is `derated_headroom_mw` now. `siteopt report`
#: reads a folder written before the rename with the new name (`renamed_columns`);
#: `siteopt verify` refuses it, naming the column, and asks for a re-solve.
RENAMED_COLUMNS: dict[str, dict[str, str]] = {
    "power": {"headroom_mw": "derated_headroom_mw"}}


def old_columns(name: str, columns: Iterable[object]) -> dict[str, str]:
    """The columns of result table `name` that carry a name from before a rename, old -> new.

    Only an old name whose new one is absent counts: a table holding both is a current one.
    """
    present = {str(c) for c in columns}
    return {old: new for old, new in RENAMED_COLUMNS.get(name, {}).items()
            if old in present and new not in present}


def renamed_columns(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Result table `name` with any column named as before a rename given its current name.

    The meaning did not change, only the name (`RENAMED_COLUMNS`), so a reader that draws an
    older folder reads the same numbers; a table without old names is returned unchanged.
    """
    old = old_columns(name, frame.columns)
    return frame.rename(columns=old) if old else frame


def binding(slack: pd.Series | float, limit: pd.Series | float) -> pd.Series | bool:
    """Whether a limit binds: slack within `BINDING_SHARE` of the limit or `BINDING_ABS`.

    The meaning of the `binding` columns of power.csv and budgets.csv, here with the result
    folder so that the writer (`siteopt.solver.results.derive`) and `siteopt verify`, which
    imports no solver code, read one definition.
    """
    return slack <= np.maximum(BINDING_ABS, BINDING_SHARE * np.abs(limit))


def budget_label(sponsor: str, year: object) -> str:
    """A budget row's name in budgets.csv: 'all sponsors 2028', 'CMC horizon', ...

    Here with the result folder so that the writer (`siteopt.solver.results`) and
    `siteopt verify`, which imports no solver code, name a row alike.
    """
    who = sponsor or "all sponsors"
    return f"{who} {'horizon' if pd.isna(year) else int(year)}"


def base_plan_words(status: object, gap: object) -> str:
    """What a value or alternatives run may call the plan it compares with.

    "optimum" only for a proven one (`status` optimal); a base solved under a time limit,
    or stopped, is the best plan found, whose cost may lie up to its `gap` above the
    optimum, so a difference from it is a bound, not a value.
    """
    if status == "optimal":
        return "optimum"
    known = isinstance(gap, int | float) and math.isfinite(gap)
    return (f"best plan found ({status}, not proven optimal: "
            + (f"gap {100 * float(gap):.2f}%)" if known else "no bound)"))


class FolderKind(NamedTuple):
    """A kind of folder siteopt writes: the file every such folder holds, and its name.

    `verb` is what writing does to an existing folder of the kind (most are replaced whole;
    a sweep folder is resumed), and `risk` what writing would do to any other folder.
    """

    marker: str
    name: str
    verb: str = "replace"
    risk: str = "replacing it would delete its files"


#: Result folders of `solve --out`, two-stage solves, sweep scenarios, value and alternatives.
RESULT_FOLDER = FolderKind("summary.json", "a siteopt result folder")
#: Instance folders (`generate`, `import`).
INSTANCE_FOLDER = FolderKind(METADATA_FILE, "an instance folder")


def check_replaceable(target: str | Path, kind: FolderKind) -> None:
    """Raise InputError (exit 2) unless `target` may be written as a folder of `kind`.

    Writing a folder whole replaces whatever has its name, so a mistyped `--out` (the
    instance folder itself, the current folder, a file) would be deleted; a sweep would
    scatter its files among the folder's own. Only a new path, an empty folder or a folder
    of the same kind (it holds `kind.marker`) is written; anything else is refused before
    a byte is written.
    """
    target = Path(target)
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        found = f"an existing file, not {kind.name}"
    elif (target / kind.marker).is_file() or not any(target.iterdir()):
        return
    else:
        found = f"a folder that is not {kind.name} (no {kind.marker}); {kind.risk}"
    raise InputError(Problem(str(target), f"a new folder, an empty one or {kind.name} to "
                             f"{kind.verb}", found=found))


def _clean(obj: object) -> object:
    """JSON-safe values: NaN and infinities become null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def json_safe(obj: object) -> object:
    """`obj` ready for json.dumps: NaN and infinities null (what every summary.json uses)."""
    return _clean(obj)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _usual_mode(path: Path, directory: bool) -> None:
    """Give a temporary file or folder the mode a plain open()/mkdir() would have given it."""
    path.chmod((0o777 if directory else 0o666) & ~_umask())


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Clean up after a siteopt process that no longer runs; restore a lost `target`.

    A process killed outright (SIGKILL, power loss) cannot clean up; its temporary folders
    carry its process id (`.NAME.tmp-PID-xxxx`, `.NAME.old-PID-xxxx`), so a later run removes
    them once that process is gone, and a rerun starts from a clean slate. A backup
    (`old`) of a folder whose swap was cut short between its two renames is the previous
    `target`: if `target` is missing it is put back, never removed.
    """
    removed = []
    for path in sorted(target.parent.glob(f".{target.name}.*-*-*")):
        kind, _, rest = path.name[len(target.name) + 2:].partition("-")
        pid = rest.split("-", 1)[0]
        if kind not in ("tmp", "old") or not pid.isdigit() or _alive(int(pid)):
            continue
        if kind == "old" and not target.exists() and not os.path.lexists(target):
            os.replace(path, target)
            _fsync_dir(target.parent)
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _fsync_dir(path: Path) -> None:
    """Flush a folder's entries (renames, new files) to disk, where the platform allows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush every file under `root`, then every folder (so the names are durable too)."""
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb+") as f:
                os.fsync(f.fileno())
    for path in [*(p for p in root.rglob("*") if p.is_dir()), root]:
        _fsync_dir(path)


@contextlib.contextmanager
def atomic_dir(target: Path, kind: FolderKind | None = None) -> Iterator[Path]:
    """Yield a temporary folder that replaces `target` only if the block completes.

    With `kind`, an existing `target` that is not a folder of that kind (or empty) is
    refused first (`check_replaceable`); without it, an existing file is.

    The swap never loses a folder: the new folder's files and names are fsync'ed, the old
    `target` is renamed to a backup (`.NAME.old-PID-xxxx`), the new folder is renamed to
    `target`, then the backup is removed. A failure or signal between the two renames puts
    the backup back; a process killed outright leaves the backup, which the next run
    restores (`remove_stale_temporaries`). The parent folder is fsync'ed after each rename.
    """
    target = Path(target)
    if target.parent.is_dir():  # first put back a folder a killed swap left as its backup
        remove_stale_temporaries(target)
    if kind is not None:
        check_replaceable(target, kind)
    elif os.path.lexists(target) and not target.is_dir():
        raise InputError(Problem(str(target), "a folder to write", found="an existing file"))
    target.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{pid}-", dir=target.parent))
    try:
        yield tmp
        _usual_mode(tmp, directory=True)
        for path in tmp.rglob("*"):
            _usual_mode(path, directory=path.is_dir())
        _fsync_tree(tmp)
        backup = None
        try:  # from the first rename on, anything raised (a signal too) restores the old
            if target.exists():
                holder = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-{pid}-",
                                               dir=target.parent))
                holder.rmdir()  # a free name of the backup pattern: the rename creates it
                backup = holder  # named before the rename: a signal may land right after it
                os.replace(target, holder)
                _fsync_dir(target.parent)
            os.replace(tmp, target)
        except BaseException:
            if (backup is not None and os.path.lexists(backup)
                    and not os.path.lexists(target)):
                os.replace(backup, target)  # put the previous results back
                backup = None
            raise
        finally:
            _fsync_dir(target.parent)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(target: Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path that replaces `target` only if the block completes."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _usual_mode(tmp, directory=False)
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


class ResultLike(Protocol):
    """What a result folder is written from: named tables and a JSON-ready summary."""

    tables: dict[str, pd.DataFrame]

    def summary(self) -> dict[str, object]:
        """The contents of `summary.json`."""
        ...


def write_result(result: ResultLike, out: str | Path,
                 extra_json: Mapping[str, object] | None = None) -> Path:
    """Write `summary.json` and one CSV per result table into `out`, atomically.

    `extra_json` adds `NAME.json` files to the same folder (e.g. a sweep's `scenario.json`),
    so that they appear together with the results or not at all. An existing `out` is
    replaced only if it is a result folder (it holds summary.json) or empty: InputError
    otherwise (`check_replaceable`).
    """
    out = Path(out)
    with atomic_dir(out, RESULT_FOLDER) as tmp:
        for name, value in (extra_json or {}).items():
            (tmp / f"{name}.json").write_text(json.dumps(_clean(value), indent=2) + "\n",
                                              encoding="utf-8")
        for name, table in result.tables.items():
            _write_csv(table, tmp / f"{name}.csv")
        summary = _clean(result.summary())
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=False) + "\n",
                                          encoding="utf-8")
    return out


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format="%.9g", lineterminator="\n")
