"""The engine many solves run on: a Dask client to a running scheduler or a local cluster.

Sweeps, value curves and near-optimal alternatives all hand their solves to it, so one
`--workers N` or `--scheduler tcp://HOST:PORT` means the same thing for every command.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from siteopt.errors import InputError, Problem

#: Seconds to wait for a scheduler to answer, and then for it to have a worker.
WAIT = 10.0

#: The address schemes a Dask client can connect by (`distributed.comm.registry.backends`;
#: listed here so that checking an address imports nothing heavy).
SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")

#: What `--scheduler` expects, in every message about it.
ADDRESS = "the address of a running Dask scheduler (tcp://HOST:PORT)"


def address_problem(address: str) -> str | None:
    """Why `address` cannot be a Dask scheduler's address, or None if it can be.

    `[SCHEME://]HOST:PORT` with a scheme Dask knows (tcp if none is given) and a port from 1
    to 65535. Checked before any work: Dask's own check comes only at connect time, after
    the instance is loaded, and its ValueError ("unknown address scheme 'http'") surfaced
    as an internal error (exit 1); an empty address was taken for none and ran locally.
    """
    text = address.strip()
    if not text:
        return "an empty address"
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    if scheme not in SCHEMES:
        return f"unknown scheme {scheme!r} (Dask knows {', '.join(SCHEMES)})"
    if scheme == "inproc":
        return None
    host, colon, port = rest.rpartition(":")
    if not colon or not host.strip("[]"):
        return "no HOST:PORT after the scheme"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"port {port!r} is not a whole number from 1 to 65535"
    return None


@contextlib.contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[object]:
    """A Dask client: to `scheduler` if given, else to a new local cluster of processes.

    An address that is not one (`address_problem`), a scheduler that cannot be reached, one
    that has no worker within `WAIT` (nothing would ever run: the first scatter failed
    with a bare "No valid workers found"), or one with a worker that cannot import siteopt
    or runs another build of it (`_check_workers`) is bad input naming `--scheduler`.
    """
    from distributed import Client

    if scheduler is not None:
        why = address_problem(scheduler)
        if why is not None:
            raise InputError(Problem("--scheduler", ADDRESS, found=f"{scheduler} ({why})"))
        try:
            client = Client(scheduler, timeout=WAIT)
        except (OSError, ValueError) as exc:
            raise InputError(Problem("--scheduler", ADDRESS,
                                     found=f"{scheduler} ({exc})")) from exc
        with client:
            try:
                client.wait_for_workers(1, timeout=WAIT)
            except TimeoutError as exc:
                raise InputError(Problem("--scheduler", "a Dask scheduler with at least one "
                                         "worker", found=f"{scheduler} (no worker joined "
                                         f"within {WAIT:g} s)")) from exc
            _check_workers(client, scheduler)
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


def build() -> tuple[str, int, str]:
    """The siteopt of the calling process: version, formulation version, digest of its code.

    A worker must run the same build as the client: its results are written, and resumed
    sweeps skip scenarios, under the client's versions. The version strings alone do not
    tell a worker with an older checkout of the same version apart, so the digest covers
    the text of every module of the package.
    """
    from siteopt.model import FORMULATION_VERSION
    from siteopt.version import __version__

    return __version__, FORMULATION_VERSION, _code_digest()


@functools.cache
def _code_digest() -> str:
    """sha256 (first 12 hex digits) of siteopt's module names and texts, in name order."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def _check_workers(client: Any, scheduler: str) -> None:
    """Refuse a scheduler with a worker that lacks siteopt or runs another build of it.

    Without this check such a worker failed every task given to it, each scenario or
    re-solve with its own "No module named 'siteopt'" (or, with another build, solved with
    other code and wrote the results as this build's). Workers that join later are not
    checked.
    """
    mine = build()
    answers = client.run(build, on_error="return")
    wrong = []
    for worker, answer in sorted(answers.items()):
        if isinstance(answer, BaseException):
            wrong.append(f"{worker} cannot run siteopt ({type(answer).__name__}: {answer})")
        elif tuple(answer) != mine:
            version, formulation, digest = answer
            wrong.append(f"{worker} runs siteopt {version}, formulation {formulation}, "
                         f"code {digest}")
    if wrong:
        raise InputError(Problem(
            "--scheduler", f"a Dask scheduler whose workers run this siteopt ({mine[0]}, "
            f"formulation {mine[1]}, code {mine[2]}; install the same on every worker)",
            found=f"{scheduler}: {'; '.join(wrong)}"))


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


def task_released() -> bool:
    """Whether this thread runs a Dask task that no client wants any more.

    A client stopped by Ctrl-C (or a pool cancelling a task) releases its futures and the
    scheduler forgets the tasks, but Dask cannot stop a task's thread: a HiGHS run went on
    to its time limit (or, without one, for hours), holding the worker from the next run.
    HiGHS polls this (`siteopt.solver.highs.solve_matrices`) and stops. Outside a Dask task
    (or before distributed is imported) it is always False.
    """
    if "distributed" not in sys.modules:
        return False
    from distributed.worker import get_worker, thread_state

    key = getattr(thread_state, "key", None)
    if key is None:
        return False
    try:
        worker = get_worker()
    except ValueError:
        return False
    task = worker.state.tasks.get(key)
    return task is None or task.state in ("cancelled", "released", "forgotten")


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
