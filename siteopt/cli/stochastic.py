"""The console side of `siteopt solve INSTANCE --scenarios FILE`: progress, tables, exit code."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

from siteopt.cli.options import WORKERS, output_folder_problem, scheduler_address
from siteopt.errors import ExitCode, InputError, Problem

if TYPE_CHECKING:
    from rich.console import Console

    from siteopt.stochastic.result import StochasticResult

#: `--method` values that only make sense with --scenarios
STOCHASTIC_METHODS = ("extensive", "decompose")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """--scenarios, --workers and --scheduler of `siteopt solve`."""
    p.add_argument("--scenarios", metavar="FILE",
                   help="two-stage stochastic solve over the scenarios of FILE (TOML: "
                   "decision_year, [[scenario]] id/probability/set, optional [risk] alpha/weight;"
                   " see `siteopt schema`); --method extensive|decompose (auto: extensive up to "
                   "24 scenarios)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=WORKERS, default=None, metavar="N",
                       help="with --scenarios: local Dask worker processes for the scenario "
                       "solves (default: 2 for decompose, 0 = in this process for extensive)")
    where.add_argument("--scheduler", type=scheduler_address, metavar="ADDRESS",
                       help="with --scenarios: a running Dask scheduler, e.g. tcp://HOST:8786")


def run_stochastic(args: argparse.Namespace, inst: object, out: Console, err: Console) -> int:
    """Solve with --scenarios, print the hedge, write OUT; exit 0 if verified."""
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from siteopt.solver.highs import SolveOptions
    from siteopt.stochastic.engine import StochasticOptions, solve_stochastic
    from siteopt.stochastic.output import write_stochastic
    from siteopt.stochastic.spec import load_scenario_set

    sset = load_scenario_set(args.scenarios, inst)  # type: ignore[arg-type]
    method = "auto" if args.method == "auto" else args.method
    if method not in ("auto", *STOCHASTIC_METHODS):
        raise InputError(Problem("--method", "auto, extensive or decompose with --scenarios",
                                 found=method))
    workers = args.workers
    if workers is None:
        workers = 2 if (method == "decompose" or (method == "auto" and len(sset.scenarios) > 24)
                        ) else 0
    options = SolveOptions(time_limit=args.time_limit, gap=args.gap, threads=args.threads,
                           seed=args.seed, progress=False,
                           log_file=str(args.log) if args.log else None)
    # --time-limit: each HiGHS run's, and the decomposition's whole run's (read after every
    # scenario solve once the wait-and-see round is done, models/stochastic.md section 5)
    how = StochasticOptions(method=method, workers=workers, scheduler=args.scheduler,
                            time_limit=args.time_limit)
    progress = Progress(TextColumn("[bold]{task.fields[phase]}[/bold]"), BarColumn(),
                        TextColumn("{task.completed}/{task.total} {task.fields[unit]}  "
                                   "{task.fields[what]}"),
                        TimeElapsedColumn(), console=err, disable=args.quiet)
    task = progress.add_task("scenarios", total=None, phase="two-stage", what="",
                             unit="scenarios")

    def listen(event: dict[str, object]) -> None:
        what = []
        if event.get("bound") is not None:
            what.append(f"bound {event['bound']:,.1f}")
        if event.get("incumbent") is not None:
            what.append(f"incumbent {event['incumbent']:,.1f}")
        gap = event.get("gap")
        if isinstance(gap, float) and math.isfinite(gap):
            what.append(f"gap {100 * gap:.2f}%")
        progress.update(task, completed=event["done"], total=event["total"],
                        phase=str(event["phase"]), what="  ".join(what),
                        unit="groups" if event["phase"] == "groups" else "scenarios")

    with progress:
        result = solve_stochastic(inst, sset, options, how, listen)  # type: ignore[arg-type]
    for w in inst.warnings:  # on stderr, as `solve` and `validate` print them
        err.print(f"[yellow]warning:[/yellow] {escape(w)}", soft_wrap=True)
    if args.quiet:  # the one-line status, as `solve --quiet` without --scenarios
        def show(x: float | None) -> str:
            return "-" if x is None else f"{x:.10g}"

        out.print(f"{escape(result.instance_name)}: {result.status} objective "
                  f"{show(result.objective)} gap {show(result.gap)} verified {result.verified}")
    else:
        print_stochastic(result, out)
    if args.out:
        try:
            write_stochastic(result, args.out)
        except OSError as exc:
            raise output_folder_problem(args.out, exc) from exc
        if not args.quiet:
            out.print(f"results written to {escape(str(args.out))}")
        if not args.no_report:
            from siteopt.cli.reporting import report_or_warn

            report_or_warn(args.out, out, err, quiet=args.quiet)
    if result.status == "infeasible":
        err.print("[red]No plan satisfies every scenario (infeasible):[/red] "
                  + escape("; ".join(result.violations[:10])))
        return ExitCode.INFEASIBLE
    if not result.has_plan:
        err.print("[red]No plan found within the limits[/red]")
        return ExitCode.NO_PLAN
    if not result.verified:
        err.print("[red]A scenario plan failed independent verification; this is a bug in "
                  "siteopt.[/red]\n  " + escape("\n  ".join(result.violations[:20])))
        return ExitCode.INTERNAL_ERROR
    return ExitCode.OK


def _money(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:,.2f}"


def _interval(pair: object) -> str:
    """' (true value in [lo, hi])' for an EVPI or VSS interval, '' without one.

    Also '' where lo and hi print alike (every gap closed): the figure is then exact, as the
    report and the notebook have it.
    """
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return ""
    lo, hi = _money(pair[0]), _money(pair[1])
    return "" if lo == hi else f" (true value in [{lo}, {hi}])"


def print_stochastic(result: StochasticResult, out: Console) -> None:
    """The planner's view: commitments, what changed, cost distribution, EVPI, VSS."""
    from rich.markup import escape
    from rich.table import Table

    s = result.summary()
    gap = result.gap
    out.print(f"[bold]{escape(result.instance_name)}[/bold] two-stage ({result.method}), "
              f"{len(result.probabilities)} scenarios, decision year "
              f"{result.scenario_set.decision_year}: {result.status}, objective "
              f"{_money(result.objective)} USD M, bound {_money(result.bound)}, gap "
              f"{'-' if gap is None else f'{100 * gap:.3f}%'}, verified {result.verified}")
    table = Table(title="Here-and-now commitments (construction starts by the decision year)")
    for col in ("commitment", "start", "deterministic plan", "mean-value plan"):
        table.add_column(col)
    for r in result.commitments().itertuples(index=False):
        what = (f"{r.site}/{r.phase} ({r.cooling})" if r.kind == "phase"
                else f"upgrade {r.upgrade}")
        table.add_row(escape(what), str(r.construction_start), _yes(r.in_deterministic_plan),
                      _yes(r.in_mean_value_plan))
    out.print(table)
    changes = result.commitment_changes()
    if len(changes):
        out.print("Differs from the deterministic plan:")
        for r in changes.itertuples(index=False):
            what = (f"{r.site}/{r.phase} ({r.cooling})" if r.kind == "phase"
                    else f"upgrade {r.upgrade}")
            out.print(f"  {escape(r.change)}: {escape(what)} starts {r.construction_start}")
    else:
        out.print("Same commitments as the deterministic plan.")
    dist = Table(title="Cost by scenario (USD M present value)")
    for col in ("scenario", "p", "this plan", "perfect foresight", "mean-value plan",
                "verified"):
        dist.add_column(col, justify="right" if col not in ("scenario",) else "left")
    for r in result.distribution().itertuples(index=False):
        dist.add_row(escape(r.scenario), f"{r.probability:.3f}", _money(r.cost_usd_m),
                     _money(r.wait_and_see_usd_m), _money(r.mean_value_plan_usd_m),
                     _yes(r.verified))
    out.print(dist)
    risk = s["risk"]
    out.print(f"expected cost {_money(s['expected_cost'])}, CVaR {risk['alpha']:g} "  # type: ignore[index]
              f"{_money(risk['cvar'])}, worst {_money(risk['worst_cost'])}; EVPI "  # type: ignore[index]
              f"{_money(s['evpi'])}{_interval(s.get('evpi_interval'))}, VSS "
              f"{_money(s['vss'])}{_interval(s.get('vss_interval'))} USD M")  # type: ignore[arg-type]
    for key, what in (("mean_value_plan_infeasible_in", "mean-value"),
                      ("deterministic_plan_infeasible_in", "deterministic")):
        bad = s.get(key) or []
        if bad:
            out.print(f"the {what} plan's commitments leave no feasible plan in {len(bad)} "
                      f"scenario(s) ({escape(', '.join(bad[:4]))}{' ...' if len(bad) > 4 else ''})"
                      + ("; VSS is unbounded" if what == "mean-value" else ""))


def _yes(v: object) -> str:
    return "-" if v is None else ("yes" if v else "no")

