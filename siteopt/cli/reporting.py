"""Writing a result folder's report.html after a command has written its results."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from siteopt.data.instance import Instance


def report_or_warn(folder: Path, out: Console, err: Console, quiet: bool = False,
                   instance: Instance | None = None) -> None:
    """Write FOLDER/report.html; a report that fails is a warning, not a failed command.

    The results are already written when this runs, so a failure is said (with its type)
    and the command goes on; SITEOPT_DEBUG=1 raises it instead.
    """
    from rich.markup import escape

    from siteopt.report.html import write_report

    try:
        path = write_report(folder, instance=instance)
    except Exception as exc:
        if os.environ.get("SITEOPT_DEBUG"):
            raise
        err.print(f"[yellow]warning:[/yellow] no report written: {type(exc).__name__}: "
                  f"{escape(str(exc))}")
        return
    if not quiet:
        out.print(f"report: {escape(str(path))}")
