"""The console side of `siteopt sweep` and `siteopt batch`: progress, tables, exit codes."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from siteopt.cli.options import (
    check_out_file,
    check_out_folder,
    output_file,
    output_folder_problem,
)
from siteopt.errors import ExitCode, InputError, Problem


def _fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def run_sweep_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Load the spec, run the scenarios with a progress bar, print where the table is."""
    from siteopt.scenarios.sweep import (
        SWEEP_FOLDER,
        Scenario,
        has_verified_plan,
        load_sweep,
        run_sweep,
        scenario_folder,
    )
    from siteopt.solver.pipeline import Result

    target = args.out or Path("results") / args.spec.stem
    check_out_folder(target, SWEEP_FOLDER, flag="--out")  # before any scenario is solved
    sweep = load_sweep(args.spec)
    total = len(sweep.scenarios)
    counts = {"done": 0, "failed": 0}
    progress = Progress(
        TextColumn("[bold]sweep[/bold]"), BarColumn(),
        TextColumn("{task.completed}/{task.total}  done {task.fields[done]}  "
                   "failed {task.fields[failed]}  remaining {task.fields[remaining]}"),
        TimeElapsedColumn(), console=err, disable=args.quiet)
    task = progress.add_task("sweep", total=total, done=0, failed=0, remaining=total)
    where = args.scheduler or (f"{args.workers} local worker(s)" if args.workers
                               else "this process")
    if not args.quiet:
        err.print(f"{sweep.instance.meta.name}: {total} scenario(s) on {where} -> {target}")

    def listener(event: str, s: Scenario, result: Result | None, error: str | None) -> None:
        if event == "skipped":  # finished earlier: done if its folder holds a verified plan
            ok = has_verified_plan(target, s.id)
        else:
            ok = result is not None and result.has_plan and result.verified
        counts["done" if ok else "failed"] += 1
        if event == "skipped":
            verb = "already done"
        elif result is not None:
            verb = (f"{result.status} objective {_fmt(result.objective)} gap "
                    f"{_fmt(None if result.gap is None else 100 * result.gap, 3)}% "
                    f"({result.timings.get('total', 0.0):.1f} s)")
        else:
            verb = f"error: {error}"
        if not args.quiet and event != "skipped":
            progress.console.print(f"  {s.id} {escape(_short(s.overrides))}: {escape(verb)}",
                                   highlight=False)
        progress.update(task, advance=1, done=counts["done"], failed=counts["failed"],
                        remaining=total - counts["done"] - counts["failed"])

    try:
        with progress:
            report = run_sweep(sweep, target, workers=args.workers, scheduler=args.scheduler,
                               listener=listener)
    except OSError as exc:
        if exc.filename is None:  # not the file system (a Dask connection, a timeout)
            raise
        raise output_folder_problem(target, exc) from exc
    out.print(f"{len(report.table)} of {total} scenarios finished "
              f"({len(report.skipped)} already done, {len(report.solved)} solved now, "
              f"{len(report.errors)} errors) in {report.seconds:.1f} s; "
              f"table: {target / 'results.parquet'}")
    table = report.table
    if len(table) and not table["has_plan"].all():
        statuses = table.loc[~table["has_plan"], "status"].value_counts()
        out.print("without a plan: " + ", ".join(f"{n} {s}" for s, n in statuses.items())
                  + " (results of the scenario, not errors)")
    if report.errors or not report.ok:
        for sid, message in report.errors.items():
            err.print(f"[red]scenario {sid} failed:[/red] {escape(message)}")
        if len(table):  # the other reason for exit 5: say which plans and why
            for row in table[table["has_plan"] & ~table["verified"].astype(bool)].itertuples():
                folder = scenario_folder(target, str(row.scenario))
                err.print(f"[red]scenario {row.scenario} failed verification:[/red] "
                          f"{escape(_violations(folder))} (see {escape(str(folder))})")
        return ExitCode.REGRESSION
    return ExitCode.OK


def _violations(folder: Path, shown: int = 3) -> str:
    """The first violations recorded in a scenario folder's summary.json, for the message."""
    from siteopt.scenarios.sweep import read_json

    summary = read_json(folder / "summary.json")
    found = None if summary is None else summary.get("violations")
    if not isinstance(found, list):
        return "its summary.json cannot be read"
    text = "; ".join(str(v) for v in found[:shown]) or "no violation recorded"
    return text + (f"; and {len(found) - shown} more" if len(found) > shown else "")


def _short(overrides: dict[str, object], width: int = 70) -> str:
    text = " ".join(f"{k}={v}" for k, v in overrides.items())
    return text if len(text) <= width else text[: width - 3] + "..."


def run_batch_command(args: argparse.Namespace, out: Console, err: Console) -> int:
    """Solve, judge, print the table, write JUnit XML; exit 5 on any failure or error."""
    from siteopt.scenarios.batch import expected_toml, read_expected, run_batch, write_junit
    from siteopt.solver.highs import SolveOptions

    if args.strict and not args.expect:  # it judges the expected file's instances: no-op
        raise InputError(Problem("--strict", "--expect FILE with it (it fails the expected "
                                 "instances not among PATH)", found="no --expect"))
    check_out_file("--junit", args.junit)  # before the solves, not after them
    check_out_file("--record", args.record)
    expect = read_expected(args.expect) if args.expect else None
    options = SolveOptions(time_limit=args.time_limit, gap=args.gap)

    def show(case: object) -> None:
        err.print(f"  {case.name}: {case.verdict} ({case.seconds:.1f} s)",  # type: ignore[attr-defined]
                  highlight=False)

    base = args.expect.parent if args.expect else Path(".")
    cases = run_batch(args.paths, expect, options, on_case=show, base=base,
                      strict=args.strict)
    tab = Table(title="siteopt batch", title_justify="left")
    for col in ("instance", "status", "objective", "expected", "gap %", "verified", "s",
                "verdict"):
        tab.add_column(col)
    for c in cases:
        colour = {"pass": "green", "fail": "red", "error": "red", "skip": "yellow"}[c.verdict]
        tab.add_row(c.name, c.status or "-", _fmt(c.objective, 4), _fmt(c.expected, 4),
                    _fmt(None if c.gap is None else 100 * c.gap, 4),
                    "-" if c.verified is None else str(c.verified), f"{c.seconds:.1f}",
                    f"[{colour}]{c.verdict}[/{colour}]")
    out.print(tab)
    if args.junit:
        with output_file("--junit", args.junit, suffix=".xml") as tmp:
            write_junit(cases, tmp)
        out.print(f"JUnit XML written to {args.junit}")
    if args.record:
        with output_file("--record", args.record, suffix=".toml") as tmp:
            tmp.write_text(expected_toml(cases, base=args.record.parent), encoding="utf-8")
        out.print(f"expected values recorded in {args.record}")
    bad = [c for c in cases if c.verdict not in ("pass", "skip")]
    skipped = [c for c in cases if c.verdict == "skip"]
    for c in bad + skipped:  # in full: table cells wrap long messages
        out.print(f"{c.verdict.upper()} {c.name}: {escape(c.message)}", highlight=False,
                  soft_wrap=True)
    out.print(f"{len(cases) - len(bad) - len(skipped)} passed, {len(bad)} failed"
              + (f", {len(skipped)} skipped (not among the paths given)" if skipped else ""))
    return ExitCode.REGRESSION if bad else ExitCode.OK
