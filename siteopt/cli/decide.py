"""The console side of `siteopt value` and `siteopt alternatives`: options, progress, tables."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from siteopt.cli.options import (
    WORKERS,
    check_out_folder,
    gap_value,
    int_in,
    nonneg_float,
    output_folder_problem,
    positive_float,
    scheduler_address,
)
from siteopt.errors import ExitCode

if TYPE_CHECKING:  # rich is imported when a command runs: `siteopt --help` stays fast
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table


def _float_list(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text}"
                                         ) from None
    if not values or any(not math.isfinite(v) or v == 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected non-zero finite numbers, got {text}")
    return values


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("instance", nargs="?", default=None,
                   help="instance folder; default: the bundled Vietnam 2026 instance")
    p.add_argument("--out", type=Path, help="output folder (with its report.html)")
    p.add_argument("--no-report", action="store_true",
                   help="with --out: do not write DIR/report.html")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a parameter of the base instance (repeatable)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=WORKERS, default=2, metavar="N",
                       help="local Dask worker processes (default 2; 0 = in this process)")
    where.add_argument("--scheduler", type=scheduler_address, metavar="ADDRESS",
                       help="address of a running Dask scheduler, e.g. tcp://HOST:8786")
    p.add_argument("--time-limit", type=positive_float, metavar="S",
                   help="seconds per re-solve (default none: each to the gap)")
    p.add_argument("--gap", type=gap_value, default=None, metavar="G",
                   help="relative gap of each re-solve")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The `value` and `alternatives` subcommands."""
    p = sub.add_parser(
        "value", help="value of grid headroom, budgets, site caps, latency targets (exact "
        "re-solves) and demand (duals of the fixed plan)",
        description="Re-solve the instance with each binding zone-year's headroom, each "
        "binding budget and site cap and each latency target changed by a step, and price "
        "demand by LP duals with the optimal plan fixed. Writes summary.json and "
        "headroom_values.csv, budget_values.csv, site_cap_values.csv, latency_values.csv, "
        "demand_values.csv (see models/value-and-alternatives.md).")
    _common(p)
    p.add_argument("--deltas", type=_float_list, metavar="D,D,...",
                   help="headroom steps in facility MW (default -50,-20,-10,10,20,50,100)")
    p.add_argument("--budget-deltas", type=_float_list, metavar="D,D,...",
                   help="budget steps in USD M (default -100,-50,50,100)")
    p.add_argument("--cap-deltas", type=_float_list, metavar="D,D,...",
                   help="site cap steps in IT MW (default -20,-10,10,20,50)")
    p.add_argument("--latency-step", type=nonneg_float, default=1.0, metavar="MS",
                   help="latency target step in ms (default 1; 0 = no latency points)")
    p.add_argument("--headroom-scope", choices=("year", "onward"), default="year",
                   help="year: change that zone-year only (default); onward: from that year "
                   "to the end of the horizon")
    p.add_argument("--max-curves", type=int_in(0, 1_000_000), default=None, metavar="N",
                   help="headroom curves only for the N zone-years closest to binding")
    p.add_argument("--max-seconds", type=positive_float, default=None, metavar="S",
                   help="stop the whole run after S seconds, the base solve included: what "
                   "is settled by then is printed and written, the rest marked not_computed "
                   "(Ctrl-C and SIGTERM do the same)")
    p.add_argument("--no-screen", action="store_true",
                   help="re-solve every largest relaxation on its own instead of screening "
                   "them together in one model (models/value-and-alternatives.md)")

    p = sub.add_parser(
        "alternatives", help="near-optimal plans that differ from the optimum and each other",
        description="Plans whose total cost is within (1 + slack) x the optimum that differ "
        "as much as possible (Hamming distance over open/online binaries, random weights per "
        "seed). Writes alternatives.csv, distances.csv, summary.json and DIR/<id>/ per plan.")
    _common(p)
    p.add_argument("--slack", type=nonneg_float, default=0.03, metavar="S",
                   help="cost slack, a share of the optimum (default 0.03: within 3 %%)")
    p.add_argument("--count", type=int_in(1, 10_000), default=10, metavar="N",
                   help="alternatives (default 10)")
    p.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0, metavar="S",
                   help="seed of the search (default 0)")
    p.add_argument("--min-distance", type=int_in(1, 1_000_000), default=1, metavar="D",
                   help="least Hamming distance between any two plans (default 1)")
    p.add_argument("--batch", type=int_in(1, 1024), default=2, metavar="B",
                   help="searches in flight at a time (default 2; fixes the result for a "
                   "seed whatever the number of workers)")


def _load(args: argparse.Namespace) -> object:
    from siteopt.data.load import load_instance
    from siteopt.data.overrides import apply_overrides, parse_assignments

    inst = load_instance(args.instance)
    return apply_overrides(inst, parse_assignments(args.overrides or []))


def _options(args: argparse.Namespace) -> object:
    """The solve options of every re-solve (their values are checked by the parser)."""
    from siteopt.solver.highs import SolveOptions

    return SolveOptions(time_limit=args.time_limit, gap=args.gap)


def _progress(title: str, err: Console, quiet: bool) -> tuple[Progress, object]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn(f"[bold]{title}[/bold]"), BarColumn(),
                        TextColumn("{task.completed}/{task.total}  {task.fields[what]}"),
                        TimeElapsedColumn(), console=err, disable=quiet)
    task = progress.add_task(title, total=None, what="")
    return progress, task


def _write(report: object, args: argparse.Namespace, out: Console, err: Console) -> None:
    """Write a value or alternatives report to `--out`, then its report.html.

    A folder it cannot make is bad input; a report that fails is a warning (the results
    are written). `--no-report` skips the report.
    """
    from rich.markup import escape

    folder = args.out
    try:
        report.write(folder)  # type: ignore[attr-defined]
    except OSError as exc:
        raise output_folder_problem(folder, exc) from exc
    out.print(f"written to {escape(str(folder))}")
    if not args.no_report:
        from siteopt.cli.reporting import report_or_warn

        report_or_warn(folder, out, err)


def run_value(args: argparse.Namespace, out: Console, err: Console) -> int:
    """`siteopt value`: the value curves, the printout and the files."""
    from rich.markup import escape

    from siteopt.decide.value import (
        BUDGET_DELTAS,
        HEADROOM_DELTAS,
        SITE_CAP_DELTAS,
        screen_line,
        value_of_inputs,
    )

    check_out_folder(args.out)  # before the re-solves: refused at once
    inst = _load(args)
    options = _options(args)
    progress, task = _progress("value", err, args.quiet)

    def listener(what: str, done: int, total: int) -> None:
        progress.update(task, completed=done, total=total or None, what=escape(what[:60]))

    with progress:
        report = value_of_inputs(
            inst, headroom_deltas=args.deltas or HEADROOM_DELTAS,
            budget_deltas=args.budget_deltas or BUDGET_DELTAS,
            site_cap_deltas=args.cap_deltas or SITE_CAP_DELTAS,
            latency_step=args.latency_step or None, headroom_scope=args.headroom_scope,
            max_curves=args.max_curves, options=options, workers=args.workers,
            scheduler=args.scheduler, listener=listener, max_seconds=args.max_seconds,
            screen=not args.no_screen)
    base = report.base.result
    if report.stopped:
        missing = int(report.summary()["not_computed"])  # type: ignore[call-overload]
        err.print(f"[yellow]stopped ({report.stopped})[/yellow]: {missing} points not "
                  "computed; everything settled before is kept")
    from siteopt.io.write import base_plan_words

    out.print(f"{escape(base.instance_name)}: {base_plan_words(base.status, base.gap)} USD "
              f"{base.objective:,.2f} M (gap {100 * (base.gap or 0):.3f}%, verified "
              f"{base.verified}); "
              f"{report.solves} re-solves in {report.seconds:.1f} s; differences below "
              f"USD {report.resolution:,.2f} M are within the solvers' gap", soft_wrap=True)
    if report.screen is not None:
        out.print(escape(screen_line(report.screen)), soft_wrap=True)
    for line in report.lines():
        out.print(escape(line), soft_wrap=True)
    if args.out:
        _write(report, args, out, err)
    bad = [f for f in (report.headroom, report.budgets, report.site_caps, report.latency)
           if len(f) and (f["verified"] == False).any()]  # noqa: E712 (object column)
    if bad:
        err.print("[red]a re-solved plan failed independent verification (a bug)[/red]")
        return ExitCode.INTERNAL_ERROR
    if report.stopped in ("SIGINT", "SIGTERM"):  # the shell's code for a signalled process
        import signal

        return 128 + int(getattr(signal, report.stopped))
    return ExitCode.OK


def run_alternatives(args: argparse.Namespace, out: Console, err: Console) -> int:
    """`siteopt alternatives`: the search, the comparison table and the files."""
    from rich.markup import escape

    from siteopt.decide.alternatives import near_optimal_plans

    check_out_folder(args.out)  # before the search: refused at once
    inst = _load(args)
    options = _options(args)
    progress, task = _progress("alternatives", err, args.quiet)

    def listener(what: str, done: int, total: int) -> None:
        progress.update(task, completed=done, total=total, what=escape(what[:60]))

    with progress:
        report = near_optimal_plans(inst, slack=args.slack, count=args.count, seed=args.seed,
                                    min_distance=args.min_distance, batch=args.batch,
                                    options=options, workers=args.workers,
                                    scheduler=args.scheduler, listener=listener)
    from siteopt.io.write import base_plan_words

    out.print(comparison_table(report.table))
    best = base_plan_words(report.optimum_status, report.optimum_gap)
    out.print(f"{len(report.plans) - 1} alternative(s) within {100 * report.slack:g}% of the "
              f"{escape(best)} USD {report.optimum:,.2f} M, pairwise Hamming distance >= "
              f"{report.min_distance}, seed {report.seed}, in {report.seconds:.1f} s; all "
              f"verified: {all(p.result.verified for p in report.plans)}", soft_wrap=True)
    if report.stopped:
        out.print(f"stopped early: {escape(report.stopped)}", soft_wrap=True)
    if args.out:
        _write(report, args, out, err)
    return ExitCode.OK


def comparison_table(table: object) -> Table:
    """The plans side by side: cost, sites, first online years, MW per zone and cooling."""
    from rich.table import Table
    t = Table(title="near-optimal plans")
    frame = table  # a DataFrame
    for col in ("id", "USD M", "+%", "min dist", "sites"):
        t.add_column(col, justify="right" if col not in ("id", "sites") else "left")
    zones = [c for c in frame.columns if c.startswith("mw.")]
    coolings = [c for c in frame.columns if c.startswith("cooling_mw.")]
    firsts = [c for c in frame.columns if c.startswith("first_online.")]
    t.add_column("first online")
    t.add_column("MW per zone (last year)")
    t.add_column("cooling MW")
    for r in frame.to_dict("records"):
        first = " ".join(f"{c.split('.', 1)[1]}:{r[c]}" for c in firsts
                         if r[c] is not None and str(r[c]) != "<NA>")
        mw = " ".join(f"{c[3:]}:{r[c]:.0f}" for c in zones if r[c])
        cool = " ".join(f"{c.split('.', 1)[1]}:{r[c]:.0f}" for c in coolings if r[c])
        dist = "-" if r["min_distance"] is None else str(r["min_distance"])
        t.add_row(r["id"], f"{r['objective']:,.2f}", f"{r['pct_over_optimum']:.2f}", dist,
                  str(r["sites"]).replace("|", " "), first, mw, cool)
    return t
