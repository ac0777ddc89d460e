"""What the benchmark scripts share: fresh-process measurement, HiGHS alone, result rows.

Not a test and not part of the package: the scripts in this folder import it by path.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the checkout's siteopt, installed or not

#: HiGHS alone on an MPS file, in a fresh interpreter: argv = file, time limit, gap.
#: Same options as siteopt's solve (threads 1, seed 0); prints one JSON line.
HIGHS_ALONE = r"""
import json, sys, time
t0 = time.perf_counter()
import highspy
h = highspy.Highs()
h.setOptionValue("output_flag", False)
h.readModel(sys.argv[1])
t1 = time.perf_counter()
h.setOptionValue("mip_rel_gap", float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
h.setOptionValue("threads", 1)
h.setOptionValue("random_seed", 0)
h.setOptionValue("time_limit", float(sys.argv[2]))
h.run()
info = h.getInfo()
status = h.modelStatusToString(h.getModelStatus())
print(json.dumps({"status": status, "objective": info.objective_function_value,
                  "bound": info.mip_dual_bound, "gap": info.mip_gap,
                  "read": t1 - t0, "solve": time.perf_counter() - t1,
                  "wall": time.perf_counter() - t0}))
"""


#: Seconds between two samples of a measured process tree's resident memory.
SAMPLE_SECONDS = 0.5


def tree_rss_mb(root: psutil.Process) -> float:
    """Resident memory of `root` and all its descendants now, summed, in MB.

    A process that ends between listing and reading counts 0: the sum is of what is alive.
    """
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


class TreePeak:
    """The largest summed resident memory of a process tree, sampled in a thread.

    Used as `with TreePeak(pid) as peak: ...` around the wait for `pid`; `peak.mb` then holds
    the largest sum seen (Dask workers, a HiGHS helper process and the like included).
    """

    def __init__(self, pid: int, every: float = SAMPLE_SECONDS) -> None:
        self.mb = 0.0
        self._root = psutil.Process(pid)
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            self.mb = max(self.mb, tree_rss_mb(self._root))
            if self._stop.wait(self._every):
                return

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def kill_group(pgid: int) -> None:
    """SIGKILL every process of the process group `pgid` still alive (none: nothing to do)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def run_measured(cmd: list[str], timeout: float, stderr_log: Path | None = None
                 ) -> tuple[subprocess.CompletedProcess, float, float, float]:
    """Run `cmd` in a fresh process; return it, its wall and CPU seconds and peak memory in MB.

    The process starts in a session (and process group) of its own, so that a timeout, an
    interrupt of this script, or the end of the run kills the whole tree it started (Dask
    workers, HiGHS in a helper process), not only the direct child: a survivor would go on
    using a core and memory through the next measurement. A run stopped by the timeout
    says so at the end of its stderr (exit -9).

    CPU seconds (user + system) of a single-threaded run equal its wall time on an idle
    machine and are robust to other jobs sharing the cores, so both are recorded. They come
    from os.wait4: the child's together with the descendants it reaped itself. The parent's
    RUSAGE_CHILDREN would instead hold every child this script ever ran.

    Peak memory is the largest summed resident memory of the whole process tree, sampled
    every `SAMPLE_SECONDS` (`TreePeak`), or, when larger, the largest single process's own
    peak from os.wait4 (a run shorter than one sample, or a peak between two samples).
    Summed resident memory counts pages shared between processes once per process.

    stdout goes to a temporary file, stderr to `stderr_log` when given (to be followed while
    the case runs) or to a temporary file; both are returned in the CompletedProcess.
    """
    with tempfile.TemporaryFile("w+") as out, (
            open(stderr_log, "w+") if stderr_log is not None
            else tempfile.TemporaryFile("w+")) as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, cwd=REPO,
                                start_new_session=True)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            kill_group(proc.pid)

        timer = threading.Timer(timeout, expire)
        try:
            with TreePeak(proc.pid) as peak:
                timer.start()
                _pid, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # KeyboardInterrupt above all: no orphaned solve goes on
            kill_group(proc.pid)
            with contextlib.suppress(ChildProcessError):  # not reaped yet
                os.waitpid(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            raise
        finally:
            timer.cancel()
            kill_group(proc.pid)  # whatever of the tree outlived its root
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stderr = err.read()
        if expired.is_set():
            stderr += (f"\n[benchmark harness] killed the process group after the {timeout:g} s"
                       " timeout\n")
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), stderr)
    return done, wall, usage.ru_utime + usage.ru_stime, max(peak.mb, usage.ru_maxrss / 1024)


def siteopt_cmd(*args: str) -> list[str]:
    """The siteopt CLI of this checkout, in a fresh interpreter."""
    return [sys.executable, "-m", "siteopt", *args]


def failure(proc: subprocess.CompletedProcess, keep: int = 200) -> str:
    """A failed run as one status cell: `exit N: ` and the end of its stderr, on one line.

    A status goes into a CSV cell and a Markdown table row: the traceback's line breaks
    would break the row, its `|` would split the cell.
    """
    tail = " ".join(proc.stderr.split())[-keep:].replace("|", "/")
    return f"exit {proc.returncode}: {tail}".rstrip()


def failed(row: dict[str, object]) -> bool:
    """Whether a side of a result row did not run to its end (a `failure` status cell)."""
    return any(key.endswith("status") and str(value).startswith("exit ")
               for key, value in row.items())


def run_checked(cmd: list[str], what: str, cwd: Path = REPO,
                env: dict[str, str] | None = None) -> None:
    """Run a preparation step (import, generate, export); on failure exit with its message.

    The step's own error (e.g. siteopt's "expected a readable file") is what the user needs,
    not a CalledProcessError traceback that hides it behind `capture_output`.
    """
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-1500:]
        raise SystemExit(f"{what} failed (exit {proc.returncode}): {detail}")


def require_dir(ap: argparse.ArgumentParser, folder: Path, option: str, why: str) -> None:
    """Stop with a usage error (exit 2) when a folder the chosen cases read is missing."""
    if not folder.is_dir():
        ap.error(f"{option} {folder}: no such folder ({why})")


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows already measured."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def parse_rows(spec: str) -> list[int]:
    """CSV data rows by 1-based number: "1-6", "7,9,12-14" (the header is not counted)."""
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            first, last = int(lo), int(hi or lo)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a row list: {spec!r} (e.g. 1-6,9)") from None
        if first < 1 or last < first:
            raise argparse.ArgumentTypeError(f"not a row range: {part!r} (rows start at 1)")
        out += range(first, last + 1)
    return out


def table_rows(ap: argparse.ArgumentParser, path: Path, rows: list[int] | None
               ) -> list[dict[str, str]]:
    """The CSV rows a `--table` prints: all of them, or those numbered in `rows`.

    A missing or empty CSV, or a row number past its end, is a usage error, not an empty
    table that looks like a measurement of nothing.
    """
    have = read_rows(path)
    if not have:
        ap.error(f"{path}: no measured rows (the file is missing or empty)")
    if rows is None:
        return have
    past = [k for k in rows if k > len(have)]
    if past:
        ap.error(f"--rows {past}: {path} has {len(have)} rows")
    return [have[k - 1] for k in rows]


def append_row(path: Path, row: dict[str, object], fields: list[str]) -> None:
    """Append one row, writing the header first if the file is new.

    An existing file must have exactly `fields` as its header: appending under another
    header would put every value in the wrong column.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists() or path.stat().st_size == 0
    if not new:
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
        if header != fields:
            raise SystemExit(f"{path} has the columns {header}, this script writes {fields}: "
                             "write to a new --out file")
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        if new:
            w.writeheader()
        w.writerow(row)
        f.flush()
        os.fsync(f.fileno())


def machine() -> str:
    """The machine and versions, for the benchmarks document."""
    from siteopt.solver.pipeline import package_versions

    v = package_versions()
    cpus = os.cpu_count()
    return (f"{platform.platform()}, {cpus} cores, Python {v['python']}, pyomo {v['pyomo']}, "
            f"highspy {v['highspy']}, HiGHS threads 1")


@contextlib.contextmanager
def exclusive(lock: Path | None) -> Iterator[None]:
    """Hold an exclusive flock on `lock` (no-op without one)."""
    if lock is None:
        yield
        return
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def num(x: object, digits: int = 2) -> str:
    """A CSV cell as a number with thousands separators, or a dash."""
    try:
        return f"{float(x):,.{digits}f}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(x) if x not in (None, "") else "–"


def pct(x: object) -> str:
    """A relative gap as a percentage with three decimals, or a dash."""
    try:
        return f"{100 * float(x):.3f}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"


@dataclass
class HighsAlone:
    """HiGHS alone on an MPS file: its JSON line (None if it failed) and usage."""

    result: dict[str, float | str] | None
    returncode: int
    wall: float
    cpu: float
    peak_mb: float
    error: str = ""  # `failure` of the run when result is None

    def columns(self) -> dict[str, object]:
        """The `highs_*` columns of a result row (a script's CSV keeps those it has).

        A failed run has its `failure` status (exit -9 and the timeout named: killed) and
        wall time only.
        """
        r = self.result
        if r is None:
            return {"highs_status": self.error or f"exit {self.returncode}",
                    "highs_wall_s": round(self.wall, 2)}
        return {"highs_status": r["status"], "highs_objective": r["objective"],
                "highs_gap": r["gap"], "highs_read_s": round(float(r["read"]), 3),
                "highs_solve_s": round(float(r["solve"]), 3), "highs_wall_s": round(self.wall, 2),
                "highs_cpu_s": round(self.cpu, 2), "highs_peak_mb": round(self.peak_mb)}


def export_mps(folder: Path, mps: Path) -> None:
    """The model of the instance in `folder` as MPS in `mps`, by this checkout (not timed)."""
    run_checked(siteopt_cmd("export", str(folder), "--mps", str(mps)), "siteopt export")


def highs_alone(mps: Path, time_limit: float, gap: float, timeout: float) -> HighsAlone:
    """HiGHS alone on `mps` in a fresh process with siteopt's options.

    1 thread, seed 0, `gap`, `time_limit` (`HIGHS_ALONE`); measured like every case.
    """
    proc, wall, cpu, peak = run_measured(
        [sys.executable, "-c", HIGHS_ALONE, str(mps), str(time_limit), str(gap)],
        timeout=timeout)
    result = (json.loads(proc.stdout.strip().splitlines()[-1])
              if proc.returncode == 0 and proc.stdout.strip() else None)
    return HighsAlone(result, proc.returncode, wall, cpu, peak,
                      "" if result is not None else failure(proc))


def table_parser(doc: str, default_out: Path) -> argparse.ArgumentParser:
    """The options of every script that keeps a results CSV: --out, --table, --rows."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=default_out, help="results CSV (appended)")
    ap.add_argument("--table", action="store_true", help="print the Markdown table(s) and exit")
    ap.add_argument("--rows", type=parse_rows, help="with --table: only these CSV rows, by "
                    "1-based number (e.g. 1-6,9), as each table of docs/benchmarks.md cites them")
    return ap


def benchmark_parser(doc: str, default_orlib: Path, default_out: Path,
                     default_time_limit: float, time_limit_help: str = ""
                     ) -> argparse.ArgumentParser:
    """The options of the scripts that solve instance by instance (their own added after)."""
    ap = table_parser(doc, default_out)
    ap.add_argument("--orlib", type=Path, default=default_orlib, help="OR-Library folder")
    ap.add_argument("--time-limit", type=float, default=default_time_limit,
                    help="HiGHS time limit per solve, seconds (siteopt and HiGHS alone)"
                    + (time_limit_help or f"; default {default_time_limit:g}"))
    ap.add_argument("--only", nargs="*", help="instance names to run (default: all)")
    ap.add_argument("--redo", action="store_true",
                    help="measure again instances already in the CSV (appends a row)")
    ap.add_argument("--lock", type=Path, help="hold an exclusive flock on this file while "
                    "measuring each instance (keeps other heavy jobs from overlapping)")
    return ap
