"""A worker process that dies mid-task costs that task a retry, not the run: the instance
every task takes is shared as a task (`siteopt.solver.cluster.share`), which Dask computes
again when the workers holding it are gone; scattered data was lost with them and every
task waiting on it failed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import siteopt
from siteopt.decide.engine import Pool
from siteopt.stochastic.pool import ScenarioPool
from tests.conftest import TINY

pytestmark = pytest.mark.slow


def _dies_once(instance: siteopt.Instance, marker: str) -> str:
    """Kills its worker process the first time it runs for `marker`, then answers."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died once")
        os._exit(3)
    return instance.meta.name


def _tasks(tmp_path: Path) -> list[str]:
    """Four tasks, the first two of which (one on each of the two workers) die once: every
    copy of scattered data would be gone. Only two deaths, so that no task is counted
    "suspicious" (running on a worker that died) more often than Dask allows before it
    gives up on it (3 by default; 4 dying tasks made that flaky)."""
    names = [str(tmp_path / f"m{i}") for i in range(4)]
    for done in names[2:]:
        Path(done).write_text("never dies")
    return names


def test_the_value_pool_survives_its_workers_dying(tmp_path):
    inst = siteopt.load_instance(TINY / "cheapest-site")
    markers = _tasks(tmp_path)
    with Pool(inst, workers=2) as pool:
        done = pool.map(_dies_once, [(str(i), (m,)) for i, m in enumerate(markers)])
    assert done == {str(i): inst.meta.name for i in range(len(markers))}


def test_the_scenario_pool_survives_its_workers_dying(tmp_path):
    inst = siteopt.load_instance(TINY / "cheapest-site")
    markers = _tasks(tmp_path)
    with ScenarioPool([inst, inst], workers=2) as pool:
        done = dict(pool.run(_dies_once, [(i % 2, (m,)) for i, m in enumerate(markers)]))
    assert done == {i: inst.meta.name for i in range(len(markers))}
