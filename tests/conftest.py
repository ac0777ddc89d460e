"""Shared test helpers: paths to the bundled instances, a copy-to-tmp fixture, a solved
instance whose names hold HTML (`marked_folder`) and a real Dask scheduler with a worker
(`dask_scheduler`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "instances" / "tiny"
VIETNAM = REPO / "instances" / "vietnam-2026"
#: OR-Library pmed1 (p-median, 100 nodes, p = 5) and its optimum (pmedopt.txt)
PMED1 = REPO / "tests" / "data" / "orlib" / "pmed" / "pmed1.txt"
PMED1_OPTIMUM = 5819.0


def after_master_solve(monkeypatch: pytest.MonkeyPatch, rounds: int,
                       then: Callable[[], None]) -> None:
    """Run `then()` right after the `rounds`-th solve of the Benders master (LP rounds
    first), e.g. to move an injected clock past the limit or to send a signal, at a chosen
    point of the run rather than after a guessed time."""
    from siteopt.solver import benders

    real = benders._Master.solve
    solves = [0]

    def solve_then(self, time_limit, gap):  # type: ignore[no-untyped-def]
        answer = real(self, time_limit, gap)
        solves[0] += 1
        if solves[0] == rounds:
            then()
        return answer

    monkeypatch.setattr(benders._Master, "solve", solve_then)


@pytest.fixture
def tiny_copy(tmp_path: Path):
    """Copy a tiny instance into tmp_path so a test may corrupt it."""

    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(TINY / name, dest)
        return dest

    return copy


@contextlib.contextmanager
def dask_scheduler(folder: Path, worker_path: Path | None = None) -> Iterator[str]:
    """A `dask scheduler` and one one-thread worker, as separate processes; yields its address.

    The worker imports siteopt from `worker_path` (default: this checkout) and runs in
    `folder`, not the client's working folder. Both are stopped on leaving, their output
    in `folder/dask.log`.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    log = (folder / "dask.log").open("w")
    run = {"cwd": folder, "stdout": log, "stderr": log, "start_new_session": True}
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                               "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              env={**os.environ, "PYTHONPATH": str(REPO)}, **run)]
    try:
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1",
             "--nthreads", "1", "--no-dashboard"],
            env={**os.environ, "PYTHONPATH": str(worker_path or REPO)}, **run))
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def marked(value: str) -> str:
    """An id or name with HTML in it, as a user may type one."""
    return f"<b>{value}</b>" if value[:1] in "sr" else f"<i>{value}</i>&amp;"


@pytest.fixture(scope="module")
def marked_folder(tmp_path_factory):
    """The generated tiny instance with HTML in every site, zone, region, class, sponsor and
    phase id and site name (the same cell renamed in every table), solved."""
    import pandas as pd

    import siteopt
    from siteopt.io.write import write_result
    from siteopt.synth.generate import PRESETS, generate_instance

    base = tmp_path_factory.mktemp("marked")
    generate_instance(PRESETS["tiny"], base / "inst")
    ids: set[str] = set()
    for table, cols in (("sites", ("site", "name", "zone", "sponsor")), ("regions", ("region",)),
                        ("classes", ("class",)), ("phases", ("phase",))):
        frame = pd.read_csv(base / "inst" / f"{table}.csv", dtype=str, keep_default_na=False)
        ids |= {v for c in cols for v in frame[c] if v}
    for path in (base / "inst").glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = frame.map(lambda v: marked(v) if v in ids else v)
        frame.to_csv(path, index=False)
    result = siteopt.solve(siteopt.load_instance(base / "inst"))
    assert result.verified and result.has_plan
    return write_result(result, base / "plan"), sorted(ids)
