"""What every subcommand checks the same way: numeric option values and output paths.

Numeric options are parsed by one of three types (`positive_float`, `nonneg_float`,
`int_in`), so `--time-limit 0`, `--gap nan` or `--workers -1` are refused by argparse
(exit 2, "argument --X: expected ..., got ...") with the same words whichever command
they are given to, before an instance is loaded. Output paths are checked before the
work that fills them (`check_out_folder`, `check_out_file`): one whose writing would
delete something, or that lies where siteopt may not create files (a read-only folder or
file system), is refused at once, not after the solve. A write that still fails (the disk
fills, permissions change meanwhile) is bad input too, not an internal error
(`output_file`, `output_folder_problem`).

Imports nothing heavy at module level: building the parser stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from siteopt.errors import InputError, Problem

if TYPE_CHECKING:
    from siteopt.io.write import FolderKind


def _finite(text: str, expected: str) -> float:
    """`text` as a finite float, or the argparse error naming what was `expected`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (seconds, capacities)."""
    value = _finite(text, "a number > 0")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def nonneg_float(text: str) -> float:
    """A finite number >= 0 (gaps, slacks, steps where 0 means none)."""
    value = _finite(text, "a number >= 0")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def gap_value(text: str) -> float:
    """A relative gap from 0 to 1 (as `solver.gap` in instance.toml): 0.01 is 1 %."""
    value = _finite(text, "a relative gap from 0 to 1")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a relative gap from 0 to 1, got {text}")
    return value


def int_in(low: int, high: int) -> Callable[[str], int]:
    """A whole number from `low` to `high` (threads, workers, seeds, counts)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, "
                                             f"got {text}")
        return value

    return parse


#: `--workers`: local Dask worker processes (0: in this process)
WORKERS = int_in(0, 1024)


def scheduler_address(text: str) -> str:
    """`--scheduler`: `[SCHEME://]HOST:PORT` of a Dask scheduler, refused before any work.

    Only the form is checked here (no connection): an address that cannot be one exits 2
    at once instead of after the instance is loaded.
    """
    from siteopt.solver.cluster import ADDRESS, address_problem

    why = address_problem(text)
    if why is not None:
        raise argparse.ArgumentTypeError(f"expected {ADDRESS}, got {text!r}: {why}")
    return text


def check_out_folder(path: Path | None, kind: FolderKind | None = None,
                     flag: str = "--out") -> None:
    """Refuse, before any work, an output folder whose writing would delete something or fail.

    DIR must be new, empty or a folder of `kind` (default: a result folder, with
    summary.json), which is replaced (`siteopt.io.write.check_replaceable`), and lie where
    siteopt may create files (`_check_creatable`). `flag` names the option (or, for a
    positional argument, the path) in the message.
    """
    if path is None:
        return
    from siteopt.io.write import RESULT_FOLDER, check_replaceable

    check_replaceable(path, kind or RESULT_FOLDER)
    _check_creatable(flag, path, "a folder siteopt can create and write")


def check_out_file(flag: str, path: Path | None) -> None:
    """Refuse, before any work, an output FILE that siteopt could not write.

    That is a folder, a path under a file, or a place where siteopt may not create files
    (`_check_creatable`).
    """
    if path is None:
        return
    if path.is_dir():
        raise InputError(Problem(flag, "a file to write, not a folder", found=str(path)))
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(Problem(flag, "a file in a folder siteopt can create",
                                 found=f"{path} ({parent} is a file)"))
    _check_creatable(flag, path, "a file siteopt can create and write")


def _check_creatable(flag: str, path: Path, expected: str) -> None:
    """Refuse `path` if siteopt cannot create files beside it (read-only folder or disk).

    Output is written into a temporary sibling that is then renamed (`atomic_dir`,
    `atomic_file`), so what must be writable is the nearest existing folder above `path`.
    The probe makes and removes an empty folder there: only a real attempt answers for
    every cause (permissions, a read-only mount, root's rights, ACLs).
    """
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".siteopt-probe-", dir=parent))
    except OSError as exc:
        raise InputError(Problem(flag, expected,
                                 found=f"{path} ({exc.strerror or exc})")) from exc


@contextlib.contextmanager
def output_file(flag: str, path: Path, suffix: str = "") -> Iterator[Path]:
    """`atomic_file` for a file named by an option: an OSError writing it is exit 2."""
    from siteopt.io.write import atomic_file

    try:
        with atomic_file(path, suffix=suffix) as tmp:
            yield tmp
    except OSError as exc:
        raise InputError(Problem(flag, "a file siteopt can create and write",
                                 found=f"{path} ({exc.strerror or exc})")) from exc


def output_folder_problem(path: Path, exc: OSError, flag: str = "--out") -> InputError:
    """The bad-input error of an output folder the system refused (read-only, no space).

    `flag` names the option, or the path itself for a positional argument (`import`,
    `generate`).
    """
    return InputError(Problem(flag, "a folder siteopt can create and write",
                              found=f"{path} ({exc.strerror or exc})"))


__all__ = ["WORKERS", "check_out_file", "check_out_folder", "gap_value", "int_in",
           "nonneg_float", "output_file", "output_folder_problem", "positive_float",
           "scheduler_address"]
