"""The engine many solves run on: a Dask client to a running scheduler or a local cluster.

Sweeps, value curves and near-optimal alternatives all hand their solves to it, so one
`--workers N` or `--scheduler tcp://HOST:PORT` means the same thing for every command.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from siteopt.errors import InputError, Problem

#: Seconds to wait for a scheduler to answer, and then for it to have a worker.
WAIT = 10.0


@contextlib.contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[object]:
    """A Dask client: to `scheduler` if given, else to a new local cluster of processes.

    A scheduler that cannot be reached, or that has no worker within `WAIT` (nothing would
    ever run: the first scatter failed with a bare "No valid workers found"), is bad input
    naming `--scheduler`.
    """
    from distributed import Client

    if scheduler:
        try:
            client = Client(scheduler, timeout=WAIT)
        except OSError as exc:
            raise InputError(Problem("--scheduler", "the address of a running Dask scheduler "
                                     "(tcp://HOST:PORT)", found=f"{scheduler} ({exc})")) from exc
        with client:
            try:
                client.wait_for_workers(1, timeout=WAIT)
            except TimeoutError as exc:
                raise InputError(Problem("--scheduler", "a Dask scheduler with at least one "
                                         "worker", found=f"{scheduler} (no worker joined "
                                         f"within {WAIT:g} s)")) from exc
            yield client
        return
    cluster = _local_cluster(workers or 1)
    levels: dict[str, int] = {}
    try:
        with cluster, Client(cluster) as client:
            try:
                yield client
            except BaseException:
                # stopped mid-task (Ctrl-C, SIGTERM, an error): closing the cluster then
                # cancels its coroutines, which distributed logs as errors with tracebacks;
                # the command reports the stop itself
                levels = _mute("distributed")
                raise
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _local_cluster(workers: int) -> Any:
    """A started `LocalCluster` of `workers` processes.

    Stopped while it starts (Ctrl-C, SIGTERM as `Interrupted`, a worker that fails), the
    half-started cluster is closed here, quietly, and left out of distributed's exit hook:
    that hook would otherwise close it again at interpreter exit and print an "Exception
    ignored in atexit callback" traceback (its workers are still starting) after the
    command's one-line message.
    """
    from distributed import LocalCluster
    from distributed.deploy.spec import SpecCluster

    before = set(SpecCluster._instances)
    try:
        # the scheduler's HTTP routes on a free port: a second run beside one on the default
        # 8787 (another siteopt command, a user's own cluster) then starts without a warning
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=":0", silence_logs=logging.ERROR)
    except BaseException:
        levels = _mute("distributed")
        try:
            for half in set(SpecCluster._instances) - before:
                _abandon(half)
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
        raise


def _abandon(cluster: Any) -> None:
    """Close a cluster that never finished starting, as far as it goes; never raises.

    Its exit hook is switched off (`shutdown_on_close`) whether or not the close succeeds:
    a worker still starting fails distributed's own close with an assertion. A worker whose
    process the same Ctrl-C stopped leaves a start-up task that failed with nobody to ask
    for its result; its event loop (the cluster's own) is told not to print it.
    """
    with contextlib.suppress(Exception):
        cluster.loop.asyncio_loop.set_exception_handler(_quiet_unretrieved)
    # best effort: the stop that got here is already on its way to the user (a second
    # Ctrl-C during the close is swallowed with it)
    with contextlib.suppress(BaseException):
        cluster.close(timeout=WAIT)
    cluster.shutdown_on_close = False


def _quiet_unretrieved(loop: Any, context: dict[str, Any]) -> None:
    """An event loop's exception handler that drops "Task exception was never retrieved"."""
    if not str(context.get("message", "")).startswith("Task exception was never retrieved"):
        loop.default_exception_handler(context)


def share(client: Any, value: object) -> object:
    """`value` on the cluster for many tasks to take as an argument (a future).

    Sent as a task, not scattered data: a worker that dies (a crash in one solve) takes
    scattered data with it, and every task still waiting on it is cancelled; a task's
    result is computed again.
    """
    return client.submit(_same, value, pure=False)


def _same(value: object) -> object:
    """The value itself: the task behind `share`."""
    return value


def _mute(prefix: str) -> dict[str, int]:
    """Raise every `prefix` logger to CRITICAL; returns their levels before."""
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] == prefix]
    before = {n: logging.getLogger(n).level for n in [prefix, *names]}
    for n in before:
        logging.getLogger(n).setLevel(logging.CRITICAL)
    return before
