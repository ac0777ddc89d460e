"""`--scheduler ADDRESS`: what is refused before any work, what a worker must run, and that
nothing depends on the worker's working folder or keeps a worker busy for a stopped client."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading

import pytest

import siteopt
from siteopt.cli.main import main as cli_main
from siteopt.errors import ExitCode
from siteopt.solver import highs as highs_module
from siteopt.solver.cluster import address_problem, build, task_released
from siteopt.solver.highs import SolveOptions, solve_matrices
from siteopt.solver.pipeline import solve
from tests.conftest import REPO, TINY, dask_scheduler

GRID_SPEC = f"""
instance = "{(TINY / 'grid-upgrade').as_posix()}"
[grid]
"demand.scale" = [0.8, 1.0]
"""


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786",
                                     "tls://scheduler.example:8786", "tcp://[::1]:8786",
                                     "inproc://10.0.0.1/123/1"])
def test_addresses_dask_connects_by_pass(address):
    assert address_problem(address) is None


@pytest.mark.parametrize("address, why", [
    ("", "an empty address"), ("  ", "an empty address"),
    ("http://127.0.0.1:8786", "unknown scheme 'http'"),
    ("tcp://127.0.0.1", "no HOST:PORT"), ("tcp://", "no HOST:PORT"),
    ("tcp://127.0.0.1:notaport", "port 'notaport'"), ("tcp://h:0", "port '0'"),
    ("tcp://h:70000", "port '70000'")])
def test_addresses_that_cannot_be_a_scheduler_say_why(address, why):
    assert why in str(address_problem(address))


@pytest.mark.parametrize("command", ["sweep", "value", "alternatives", "solve"])
@pytest.mark.parametrize("address", ["http://127.0.0.1:8786", ""])
def test_a_malformed_scheduler_address_exits_2_before_any_work(command, address, tmp_path,
                                                               capsys):
    """Dask's "unknown address scheme 'http'" was an internal error (exit 1), after the
    instance was loaded and the sweep's output folder written; an empty address was taken
    for none and ran on a local cluster."""
    spec = tmp_path / "spec.toml"
    spec.write_text(GRID_SPEC)
    target = [str(spec)] if command == "sweep" else [str(TINY / "grid-upgrade")]
    extra = ["--scenarios", str(tmp_path / "s.toml")] if command == "solve" else []
    with pytest.raises(SystemExit) as stop:  # argparse's own exit: before any work
        cli_main([command, *target, *extra, "--scheduler", address,
                  "--out", str(tmp_path / "out")])
    err = " ".join(capsys.readouterr().err.split())
    assert stop.value.code == ExitCode.BAD_INPUT, err
    assert "argument --scheduler: expected the address of a running Dask scheduler" in err
    assert "internal error" not in err
    assert not (tmp_path / "out").exists()


def test_a_result_names_its_instance_folder_from_any_working_folder(tmp_path, monkeypatch):
    """An instance loaded by a relative path was solved on a Dask worker whose working
    folder is another one: the result's instance_path was resolved there (a folder that
    does not exist), and the report could not find the instance."""
    monkeypatch.chdir(TINY)
    inst = siteopt.load_instance("cheapest-site")
    monkeypatch.chdir(tmp_path)  # the worker's
    assert solve(inst).instance_path == str((TINY / "cheapest-site").resolve())


#: What `_waits_for_release` (run in an in-process worker thread) tells the test.
_STARTED = threading.Event()
_SEEN: list[bool] = []


def _waits_for_release() -> None:
    """A task that notes whether it learns, within 30 s, that it was released."""
    _STARTED.set()
    pause = threading.Event()
    for _ in range(600):
        if task_released():
            _SEEN.append(True)
            return
        pause.wait(0.05)
    _SEEN.append(False)


def test_a_task_released_by_its_client_is_seen_as_released():
    """The solve inside a task learns that nobody waits for it any more."""
    from distributed import Client, LocalCluster

    _STARTED.clear()
    _SEEN.clear()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        future = client.submit(_waits_for_release, pure=False)
        assert _STARTED.wait(30)
        future.cancel()
        client.submit(len, [], pure=False).result(timeout=60)  # runs once the task ended
    assert _SEEN == [True]
    assert task_released() is False  # not in a task


def test_highs_stops_when_its_task_is_released(monkeypatch, tmp_path):
    """Ctrl-C of a client releases its tasks, but their HiGHS runs went on to the time
    limit, holding the workers from the next run."""
    folder = tmp_path / "g"
    siteopt.generate_instance(siteopt.GeneratorSpec(sites=14, regions=40, years=5, seed=3),
                              folder)
    from siteopt.model.compile import compile_model
    from siteopt.solver.pipeline import build as build_model

    _data, model = build_model(siteopt.load_instance(folder))
    mat = compile_model(model)
    monkeypatch.setattr(highs_module, "task_released", lambda: True)
    out = solve_matrices(mat, SolveOptions(gap=0.0, time_limit=60))
    assert out.status == "interrupted" and out.interrupted_by is None


@pytest.mark.slow
def test_a_worker_running_another_siteopt_build_is_refused(tmp_path):
    """A worker with an older checkout of the same version ran the tasks with its own code
    and the results were written as this build's; one without siteopt failed every task,
    each with its own "No module named 'siteopt'"."""
    other = tmp_path / "other"
    shutil.copytree(REPO / "siteopt", other / "siteopt",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with (other / "siteopt" / "solver" / "highs.py").open("a") as f:
        f.write("\n# an edit the client does not have\n")
    spec = tmp_path / "spec.toml"
    spec.write_text(GRID_SPEC)
    with dask_scheduler(tmp_path, worker_path=other) as address:
        proc = subprocess.run([sys.executable, "-m", "siteopt", "sweep", str(spec),
                               "--scheduler", address, "--out", str(tmp_path / "out"),
                               "--quiet"], capture_output=True, text=True, cwd=REPO,
                              timeout=120)
    err = " ".join(proc.stderr.split())
    assert proc.returncode == ExitCode.BAD_INPUT, err
    version, formulation, mine = build()
    assert f"whose workers run this siteopt ({version}, formulation {formulation}, " \
           f"code {mine};" in err
    assert f"runs siteopt {version}, formulation {formulation}, code " in err
    assert f"code {mine}'" not in err and not (tmp_path / "out" / "scenarios").exists()
