"""Ctrl-C (SIGINT) and SIGTERM: stop HiGHS cleanly and keep the best plan, or stop at once.

During a solve both signals ask HiGHS to stop (`cancel_on_signals`); the solve then returns
with status `interrupted` and the best plan found so far, if any, and the caller decides
what to keep. Outside a solve the command line turns SIGTERM into the same exception as
Ctrl-C (`sigterm_raises`), so that a batch job killed with SIGTERM unwinds exactly like an
interactive Ctrl-C: temporary result folders are removed and nothing half-written remains.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

#: The signals treated as a request to stop.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A stop requested by a signal; the command line exits with 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process stopped by a signal."""
        return 128 + self.signum


def signal_name(signum: int | None) -> str | None:
    """`SIGINT` for 2, and so on (None stays None)."""
    return None if signum is None else signal.Signals(signum).name


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def cancel_on_signals(cancel: Callable[[], None]) -> Iterator[list[int]]:
    """Within the block, SIGINT and SIGTERM call `cancel()` instead of raising.

    Yields the list of signals received (in order). Outside the main thread (where Python
    cannot install handlers) the block runs with the handlers untouched.
    """
    received: list[int] = []
    if not _in_main_thread():
        yield received
        return

    def handler(signum: int, _frame: object) -> None:
        received.append(signum)
        cancel()

    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, handler)
    try:
        yield received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises `Interrupted` (as Ctrl-C raises KeyboardInterrupt)."""
    if not _in_main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def as_helper_process() -> None:
    """Signal dispositions of a forked helper process (a search beside HiGHS).

    SIGTERM, its parent's way to stop it, ends it at once; Ctrl-C, which the terminal sends
    to the whole process group, is the parent's to handle, so the helper ignores it.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
