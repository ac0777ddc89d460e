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
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


def run_measured(cmd: list[str], timeout: float
                 ) -> tuple[subprocess.CompletedProcess, float, float, float]:
    """Run `cmd` in a fresh process; return it, its wall and CPU seconds and peak RSS in MB.

    CPU seconds (user + system) of a single-threaded run equal its wall time on an idle
    machine and are robust to other jobs sharing the cores, so both are recorded.

    Output goes to temporary files and the child is reaped with os.wait4, whose resource
    usage is that child's alone (RUSAGE_CHILDREN would be the maximum over all children).
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, cwd=REPO)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    return done, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def siteopt_cmd(*args: str) -> list[str]:
    """The siteopt CLI of this checkout, in a fresh interpreter."""
    return [sys.executable, "-m", "siteopt", *args]


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows already measured."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def append_row(path: Path, row: dict[str, object], fields: list[str]) -> None:
    """Append one row, writing the header first if the file is new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
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
    """HiGHS alone on a model's MPS export: its JSON line (None if it failed) and usage."""

    result: dict[str, float | str] | None
    returncode: int
    wall: float
    cpu: float
    peak_mb: float


def highs_alone(folder: Path, mps: Path, time_limit: float, gap: float,
                timeout: float) -> HighsAlone:
    """HiGHS alone on the instance in `folder`, exported to `mps` (not timed).

    A fresh process with siteopt's options: 1 thread, seed 0, `gap`, `time_limit`.
    """
    subprocess.run(siteopt_cmd("export", str(folder), "--mps", str(mps)), check=True,
                   capture_output=True, cwd=REPO)
    proc, wall, cpu, peak = run_measured(
        [sys.executable, "-c", HIGHS_ALONE, str(mps), str(time_limit), str(gap)],
        timeout=timeout)
    result = (json.loads(proc.stdout.strip().splitlines()[-1])
              if proc.returncode == 0 and proc.stdout.strip() else None)
    return HighsAlone(result, proc.returncode, wall, cpu, peak)


def benchmark_parser(doc: str, default_orlib: Path, default_out: Path,
                     default_time_limit: float) -> argparse.ArgumentParser:
    """The options every benchmark script shares (its own are added by the caller)."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--orlib", type=Path, default=default_orlib, help="OR-Library folder")
    ap.add_argument("--out", type=Path, default=default_out, help="results CSV (appended)")
    ap.add_argument("--time-limit", type=float, default=default_time_limit,
                    help="HiGHS time limit per solve, seconds (siteopt and HiGHS alone)")
    ap.add_argument("--only", nargs="*", help="instance names to run (default: all)")
    ap.add_argument("--redo", action="store_true",
                    help="measure again instances already in the CSV (appends a row)")
    ap.add_argument("--table", action="store_true", help="print the Markdown table(s) and exit")
    ap.add_argument("--lock", type=Path, help="hold an exclusive flock on this file while "
                    "measuring each instance (keeps other heavy jobs from overlapping)")
    return ap
