"""The `siteopt` command line: plan, check inputs, bring data in, and study many plans.

Plan: solve, report, verify. Check inputs: validate, explain, graph, export, schema. Bring
data in: import, generate. Study: sweep, batch, value, alternatives.

`solve` finds and writes a verified plan (`--scenarios` for a two-stage plan under
uncertainty); `report` draws any result folder as one HTML page; `verify` re-checks a result
folder on its own; `batch` solves many instances against expected values (CI); `generate`
writes seeded synthetic instances; `value` says what scarce inputs of the optimal plan are
worth and `alternatives` finds near-optimal plans that differ from it.

Exit codes: 0 success (a plan, optimal or the best within limits), 1 internal error,
2 bad input or usage, 3 infeasible, 4 no plan within the limits, 5 batch regression or
failed sweep scenarios, 130 / 143 stopped by SIGINT (Ctrl-C) / SIGTERM (the best plan found
so far is written, marked `interrupted`), 141 stdout closed by its reader (`| head`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from siteopt.cli.options import (
    WORKERS,
    check_out_file,
    check_out_folder,
    gap_value,
    int_in,
    output_file,
    output_folder_problem,
    positive_float,
    scheduler_address,
)
from siteopt.cli.stochastic import STOCHASTIC_METHODS
from siteopt.cli.stochastic import add_arguments as add_stochastic_arguments
from siteopt.errors import ExitCode, InputError, Problem, SiteoptError
from siteopt.solver import METHOD_NAMES as SOLVE_METHODS

if TYPE_CHECKING:
    from rich.console import Console

    from siteopt.data.instance import Instance
    from siteopt.solver.pipeline import Result

# Start-up: each command imports only what it needs, inside its function; `--help` and usage
# errors import no pandas, Pyomo, HiGHS or rich (tests/test_startup.py keeps it so).


def escape(text: str) -> str:
    """Rich's markup escape, imported on first use."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


class _LazyStderr:
    """The standard-error console, made on first use (rich costs start-up time)."""

    _console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from rich.console import Console

            width = None if Console(stderr=True).is_terminal else 120
            self._console = Console(stderr=True, highlight=False, width=width)
        return self._console

    def print(self, *args: object, **kwargs: object) -> None:
        self.get().print(*args, **kwargs)  # type: ignore[arg-type]


_err = _LazyStderr()


def _console() -> Console:
    """Standard output; 120 columns when not a terminal (files, pipes, CI logs)."""
    from rich.console import Console

    probe = Console()
    return Console(highlight=False, width=None if probe.is_terminal else 120)


class _Parser(argparse.ArgumentParser):
    """argparse with siteopt's exit code for usage errors.

    `epilog_factory` and `description_factory`, if set, make those texts when help is
    printed, so that building the parser imports nothing heavy.
    """

    epilog_factory: Callable[[], str] | None = None
    description_factory: Callable[[], str] | None = None

    def format_help(self) -> str:
        if self.epilog_factory is not None and self.epilog is None:
            self.epilog = self.epilog_factory()
        if self.description_factory is not None and self.description is None:
            self.description = self.description_factory()
        return super().format_help()

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"siteopt: error: {message}\n")  # plain: no rich for a usage error
        sys.exit(ExitCode.BAD_INPUT)


class _VersionAction(argparse.Action):
    """`--version`: the package versions, imported only when asked."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help or "show the versions of siteopt and its libraries")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(_version())
        parser.exit()


def _instance_arg(p: argparse.ArgumentParser, optional: bool) -> None:
    help_text = "instance folder (CSV tables + instance.toml)"
    if optional:
        p.add_argument("instance", nargs="?", default=None,
                       help=help_text + "; default: the bundled Vietnam 2026 instance")
    else:
        p.add_argument("instance", help=help_text)


def make_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(prog="siteopt", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("solve", help="solve an instance and print (and write) the plan",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.epilog_factory = _overrides_epilog  # type: ignore[attr-defined]
    _instance_arg(p, optional=True)
    p.add_argument("--out", type=Path, help="write summary.json and result CSVs here "
                   "(atomically: complete or absent)")
    p.add_argument("--time-limit", type=positive_float, metavar="S",
                   help="stop after S seconds with the best plan found and its gap")
    p.add_argument("--gap", type=gap_value, default=None, metavar="G",
                   help="relative optimality gap to stop at (default: the instance's "
                   "solver.gap, 1e-4 unless set)")
    p.add_argument("--threads", type=int_in(0, 256), default=1, metavar="N",
                   help="HiGHS threads (default 1, reproducible; 0 = HiGHS's choice)")
    p.add_argument("--seed", type=int_in(0, 2**31 - 1), default=0,
                   help="HiGHS random seed (default 0)")
    p.add_argument("--method", choices=(*SOLVE_METHODS, *STOCHASTIC_METHODS), default="auto",
                   help="how the model is solved (default auto: chosen by size and structure; "
                   "see README); with --scenarios: extensive or decompose")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a parameter: KEY=VALUE, see below (repeatable)")
    p.add_argument("--log", type=Path, metavar="FILE", help="write HiGHS's log to FILE")
    p.add_argument("--quiet", action="store_true", help="print only the one-line status")
    p.add_argument("--no-report", action="store_true",
                   help="with --out: do not write DIR/report.html")
    p.add_argument("--no-resilience-cost", action="store_true",
                   help="with [resilience.CLASS] rules: skip the one re-solve per rule that "
                   "measures what it costs (binds is then only 'tight in the plan')")
    add_stochastic_arguments(p)

    p = sub.add_parser("report", help="write one self-contained HTML report of a result, "
                       "sweep, value, alternatives or two-stage folder",
                       description="Write a single HTML file (plotly.js, styles and data "
                       "inline; opening it requests nothing from any server): map, timeline, "
                       "grid, money and service views with the numbers of every chart. A sweep "
                       "folder (results.parquet, scenarios/) shows the scenarios side by side "
                       "and one scenario's plan; a value, alternatives or two-stage folder its "
                       "own page, then one plan.")
    p.add_argument("folder", type=Path, metavar="RESULT_DIR",
                   help="a folder written by `solve --out` (also with --scenarios), `sweep`, "
                   "`value --out` or `alternatives --out`")
    p.add_argument("--out", type=Path, metavar="FILE.html",
                   help="the HTML file (default: RESULT_DIR/report.html)")
    p.add_argument("--scenario", metavar="ID",
                   help="the plan shown: a sweep's or two-stage solve's scenario (default: the "
                   "first) or an alternative's id (default: the optimum)")

    p = sub.add_parser("validate", help="check an instance and report every problem")
    _instance_arg(p, optional=True)

    p = sub.add_parser("explain", help="explain why an instance has no plan (pre-solve checks "
                       "and an elastic re-solve with priced violations)")
    _instance_arg(p, optional=False)
    p.add_argument("--time-limit", type=positive_float, metavar="S",
                   help="time limit of the elastic re-solve")
    p.add_argument("--iis", action="store_true",
                   help="also print HiGHS's irreducible infeasible subsystem of the LP "
                   "relaxation, mapped to instance rows")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a parameter, as in `siteopt solve --set` (repeatable)")

    p = sub.add_parser("graph", help="connectivity report, latency matrix, GraphML export")
    _instance_arg(p, optional=True)
    p.add_argument("--graphml", type=Path, metavar="FILE", help="write the fiber graph here")
    p.add_argument("--latency-csv", type=Path, metavar="FILE",
                   help="write the site-region latency table here")

    p = sub.add_parser("export", help="write the model as an LP or MPS file")
    _instance_arg(p, optional=False)
    p.add_argument("--lp", type=Path, metavar="FILE", help="LP file to write")
    p.add_argument("--mps", type=Path, metavar="FILE", help="MPS file to write")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a parameter, as in `siteopt solve --set` (repeatable)")

    p = sub.add_parser("schema", help="print the instance format reference (Markdown)")
    _add_batch_parsers(sub)

    p = sub.add_parser("import", help="turn a published benchmark file into an instance folder",
                       description="Read an OR-Library file and write an ordinary instance "
                       "folder (one year, one phase per site) that `siteopt solve` solves.")
    p.add_argument("kind", choices=("orlib-cap", "orlib-ufl", "orlib-pmed"),
                   help="orlib-cap: capacitated warehouse location (capinfo); orlib-ufl: "
                   "uncapacitated (capinfo format with capacities ignored, or UflLib); "
                   "orlib-pmed: p-median on a graph (pmedinfo)")
    p.add_argument("file", type=Path, help="the benchmark file")
    p.add_argument("out", type=Path, help="instance folder to write (atomically)")
    p.add_argument("--capacity", type=positive_float, metavar="C",
                   help="capacity of every warehouse (needed for capa/capb/capc, whose "
                   "files say 'capacity'; replaces the file's values otherwise)")
    _add_generate_parser(sub)
    _add_verify_parser(sub)
    from siteopt.cli.decide import add_parsers

    add_parsers(sub)
    return parser


def _add_verify_parser(sub: argparse._SubParsersAction) -> None:
    """The `verify` subcommand: re-check a result folder against its instance."""
    p = sub.add_parser("verify", help="re-check a result folder with the independent checker "
                       "(reloads the instance, applies the recorded overrides)")
    p.add_argument("instance", type=Path, help="instance folder the result was solved from")
    p.add_argument("result", type=Path, help="result folder (summary.json and the CSV tables)")
    p.set_defaults(command="verify")


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 if the folder's plan is verified, 1 listing the violations, 2 on bad input."""
    from siteopt.verify.folder import verify_folder
    from siteopt.verify.twostage import is_two_stage, verify_two_stage

    two_stage = is_two_stage(args.result)
    check = (verify_two_stage if two_stage else verify_folder)(args.instance, args.result)
    if check.ok:
        what = ("a two-stage result of" if two_stage else "a valid plan of")
        _console().print(f"verified: {escape(str(args.result))} is {what} "
                         f"{escape(str(args.instance))} (objective {check.report.objective:.6f})"
                         + ("; every scenario's plan, the shared commitments and the summary's "
                            "figures checked" if two_stage else ""))
        return ExitCode.OK
    _err.print(f"[red]not verified:[/red] {len(check.report.violations)} violations")
    for v in check.report.violations:
        _err.print(f"  {escape(v)}", soft_wrap=True)
    return ExitCode.INTERNAL_ERROR


def _add_generate_parser(sub: argparse._SubParsersAction) -> None:
    """The `generate` subcommand: a seeded synthetic instance of a preset or given size."""
    p = sub.add_parser("generate", help="write a seeded synthetic instance folder (metros, "
                       "fiber, grid zones, phases, demand classes, budgets)")
    p.description_factory = _generate_description  # type: ignore[attr-defined]
    p.add_argument("out", type=Path, help="instance folder to write (atomically; an existing "
                   "instance folder is replaced)")
    p.add_argument("--preset", choices=PRESET_NAMES, default="small",
                   help="named size (default: small)")
    p.add_argument("--sites", type=int_in(1, 100_000), metavar="N", help="candidate sites")
    p.add_argument("--regions", type=int_in(1, 1_000_000), metavar="M", help="demand regions")
    p.add_argument("--years", type=int_in(1, 100), metavar="Y", help="years in the horizon")
    p.add_argument("--seed", type=int_in(0, 2**32 - 1), default=0,
                   help="random seed (default 0); the same seed writes the same files")


#: The generator's presets (siteopt.synth.generate.PRESETS; a test keeps them equal).
PRESET_NAMES = ["tiny", "small", "medium", "large", "400k", "xl"]


def _generate_description() -> str:
    from siteopt.synth.generate import PRESETS

    sizes = ", ".join(f"{name} {s.sites}x{s.regions}x{s.years}" for name, s in PRESETS.items())
    return ("Write a synthetic instance whose every number is a seeded assumption (see its "
            "README.md and siteopt/synth/). Sizes of the presets (sites x regions x years): "
            f"{sizes}. --sites, --regions and --years override the preset's.")


def _overrides_epilog() -> str:
    """The override vocabulary of --set and sweep specs, for --help."""
    from siteopt.data.overrides import override_keys, per_id_override_keys, table_override_help

    keys = "\n".join(f"  {k}: {d}" for k, d in {**override_keys(),
                                                 **per_id_override_keys()}.items())
    return (
        "overrides (--set KEY=VALUE; the same keys in sweep specs and the API):\n"
        "  SECTION.NAME=V                       a scalar of instance.toml, listed below\n"
        "  TABLE.scale=F                        multiply the table's quantity column\n"
        "  TABLE[COL=ID,...].COLUMN=V           set a column in the matching rows\n"
        "  TABLE[COL=ID|ID,...].COLUMN.scale=F  multiply (also .add=X); COL=A..B for years;\n"
        "                                       COL= (empty) matches empty cells\n"
        "  e.g. demand[region=hanoi].scale=1.5  headroom[zone=hanoi_west].headroom_mw=75\n"
        "       budgets[year=2028].scale=0.8    latency_targets[region=hanoi].max_rtt_ms=8\n"
        "scalar keys:\n" + keys + "\ntables[key columns] (any column may filter): numeric "
        "columns:\n"
        + table_override_help())


def _add_batch_parsers(sub: argparse._SubParsersAction) -> None:
    """The `sweep` and `batch` subcommands (many scenarios or instances at once)."""
    p = sub.add_parser("sweep", help="solve a grid, list or random sample of override "
                       "scenarios in parallel (Dask) into one tidy table",
                       description="Solve the scenarios of a sweep spec (TOML: instance, [solve], "
                       "[base], [grid] / [[scenarios]] / [sample]; the README's 'Sweeps' "
                       "section) on a local Dask cluster or an existing scheduler. "
                       "Results: OUT/scenarios/<id>/ per scenario and OUT/results.parquet. "
                       "Started again, a sweep skips the scenarios already finished.",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.epilog_factory = _overrides_epilog  # type: ignore[attr-defined]
    p.add_argument("spec", type=Path, help="sweep spec (TOML)")
    p.add_argument("--out", type=Path, help="output folder (default: results/<spec name>)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=WORKERS, default=2, metavar="N",
                       help="local Dask worker processes (default 2; 0 = solve in this "
                       "process, one scenario after another)")
    where.add_argument("--scheduler", type=scheduler_address, metavar="ADDRESS",
                       help="address of a running Dask scheduler, e.g. tcp://HOST:8786")
    p.add_argument("--quiet", action="store_true", help="no progress display")

    p = sub.add_parser("batch", help="solve many instances, compare with expected values, "
                       "write JUnit XML (for CI)")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="instance folder, or a folder of instance folders")
    p.add_argument("--expect", type=Path, metavar="FILE",
                   help="expected status and objective per instance, keyed by folder "
                        "relative to FILE (TOML; see siteopt.scenarios.batch)")
    p.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report here")
    p.add_argument("--record", type=Path, metavar="FILE",
                   help="write the results as an expected-values file (a new baseline)")
    p.add_argument("--strict", action="store_true",
                   help="fail on expected instances not among PATH (default: skip them)")
    p.add_argument("--time-limit", type=positive_float, metavar="S",
                   help="seconds per instance (default: the expected file's entry, else none)")
    p.add_argument("--gap", type=gap_value, default=None, metavar="G",
                   help="relative optimality gap (default: the expected file's entry, else "
                   "the instance's solver.gap, 1e-4 unless set)")


def _version() -> str:
    from siteopt.solver.pipeline import package_versions

    v = package_versions()
    return f"siteopt {v['siteopt']} (pyomo {v['pyomo']}, highspy {v['highspy']})"


def _load(args: argparse.Namespace) -> Instance:
    """The instance named on the command line, with its --set overrides applied."""
    from siteopt.data.load import load_instance
    from siteopt.data.overrides import apply_overrides, parse_assignments

    inst = load_instance(args.instance)
    overrides = parse_assignments(getattr(args, "overrides", []) or [])
    return apply_overrides(inst, overrides)


def cmd_solve(args: argparse.Namespace) -> int:
    """Solve, print the summary, write the results; the exit code says how it went."""
    from siteopt.report.console import print_summary
    from siteopt.solver.highs import SolveOptions
    from siteopt.solver.pipeline import solve

    check_out_folder(args.out)  # before the solve: refused at once, not after an hour
    check_out_file("--log", args.log)
    if args.log and not args.log.parent.is_dir():
        raise InputError(_usage_problem(f"--log: no folder {args.log.parent} for {args.log}"))
    if args.method in STOCHASTIC_METHODS and not args.scenarios:
        raise InputError(_usage_problem(f"--method {args.method} needs --scenarios FILE"))
    if not args.scenarios:
        # they place the scenario solves of the two-stage solve; a plain solve ignored them
        for flag, given in (("--workers", args.workers), ("--scheduler", args.scheduler)):
            if given is not None:  # both default to None: only what the user typed
                raise InputError(Problem(flag, "--scenarios FILE with it (it places the "
                                         "scenario solves of a two-stage solve)",
                                         found=str(given)))
    inst = _load(args)
    out = _console()
    if args.scenarios:
        from siteopt.cli.stochastic import run_stochastic

        return run_stochastic(args, inst, out, _err.get())
    options = SolveOptions(time_limit=args.time_limit, gap=args.gap, threads=args.threads,
                           seed=args.seed, progress=not args.quiet,
                           log_file=str(args.log) if args.log else None, method=args.method)
    started = time.perf_counter()  # --time-limit holds for the solve and its re-solves
    result = solve(inst, options)
    if result.interrupted_by is not None:
        return _interrupted(result, args)
    if inst.meta.resilience and not args.no_resilience_cost and result.has_plan:
        from siteopt.solver.resilience_cost import resilience_costs

        # one re-solve per rule (docs/resilience.md), within what the limit leaves
        resilience_costs(inst, result, options, started)
        if result.interrupted_by is not None:  # stopped while measuring: keep the plan
            return _interrupted(result, args)
    if args.quiet:
        def show(x: float | None) -> str:
            return "-" if x is None else f"{x:.10g}"

        out.print(f"{escape(inst.meta.name)}: {result.status} objective {show(result.objective)} "
                  f"gap {show(result.gap)} verified {result.verified}")
    else:
        print_summary(result, inst, out, _err.get())
    if result.status == "infeasible":
        from siteopt.solver.explain import explain

        _err.print("[red]No plan satisfies every hard constraint (infeasible).[/red]")
        explanation = explain(inst, options)
        reasons = explanation.reasons()
        for reason in reasons[:30]:
            _err.print(f"  - {escape(reason)}", soft_wrap=True)
        if len(reasons) > 30:
            _err.print(f"  ... and {len(reasons) - 30} more")
        caveat = explanation.caveat()  # e.g. the elastic re-solve ran out of --time-limit
        if caveat is not None:
            _err.print(f"  ({escape(caveat)})", soft_wrap=True)
            result.warnings.append(caveat)
        if not reasons:
            _err.print("  no single cause found; " + escape(" ".join(result.violations)))
        result.violations = reasons or result.violations
        if args.out:
            _write(result, args.out)  # summary only: never leave an older plan behind
        return ExitCode.INFEASIBLE
    if not result.has_plan:
        failed = result.status in ("error", "unbounded")  # not a limit: the solve failed
        _err.print(("[red]The solver failed[/red] " if failed else
                    "[red]No plan found within the limits[/red] ")
                   + f"(solver: {escape(result.solver_status)})")
        if args.out:
            _write(result, args.out)
        return ExitCode.INTERNAL_ERROR if failed else ExitCode.NO_PLAN
    if not result.verified:
        _err.print("[red]The solver's plan failed independent verification; this is a bug in "
                   "siteopt. Violations:[/red]\n  " + escape("\n  ".join(result.violations[:20])))
        if args.out:
            _write(result, args.out)
            _report_after_solve(args, out, inst)
        return ExitCode.INTERNAL_ERROR
    if args.out:
        _write(result, args.out)
        if not args.quiet:
            out.print(f"results written to {escape(str(args.out))}")
        _report_after_solve(args, out, inst)
    return ExitCode.OK


def _report_after_solve(args: argparse.Namespace, out: Console, inst: Instance) -> None:
    """Write OUT/report.html unless --no-report; a failure is a warning, not a failed solve."""
    if args.no_report:
        return
    from siteopt.cli.reporting import report_or_warn

    report_or_warn(args.out, out, _err.get(), quiet=args.quiet, instance=inst)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report of a result or sweep folder."""
    from siteopt.report.html import write_report

    check_out_file("--out", args.out)  # before the page is drawn: refused at once
    try:
        path = write_report(args.folder, args.out, args.scenario)
    except OSError as exc:
        if exc.filename is None:
            raise
        # the default RESULT_DIR/report.html in a read-only folder, or --out made unwritable
        # meanwhile: bad input (exit 2), like every output siteopt cannot write
        raise InputError(Problem("--out" if args.out else "RESULT_DIR",
                                 "a place siteopt can write the report to",
                                 found=f"{exc.filename} ({exc.strerror or exc})")) from exc
    _console().print(f"report: {escape(str(path))} ({path.stat().st_size:,} bytes)")
    return ExitCode.OK


def _interrupted(result: Result, args: argparse.Namespace) -> int:
    """A solve stopped by a signal: keep its verified plan (marked interrupted) or nothing."""
    from siteopt.solver.interrupt import Interrupted, signal_name
    from siteopt.solver.pipeline import objective_unit

    name = signal_name(result.interrupted_by)
    code = Interrupted(int(result.interrupted_by or 2)).exit_code
    if result.has_plan and result.verified:
        gap = "-" if result.gap is None else f"{100 * result.gap:.4f}%"
        _err.print(f"[yellow]stopped by {name}[/yellow]: best plan found so far, objective "
                   f"{result.objective:,.2f} "
                   f"{escape(objective_unit(result.objective_name, result.cost_unit))}, "
                   f"gap {gap}, verified")
        if args.out:
            _write(result, args.out)
            _err.print(f"results (marked {result.status}) written to {escape(str(args.out))}")
    else:
        _err.print(f"[yellow]stopped by {name}[/yellow] before a verified plan was found; "
                   "nothing written")
    return code


def _write(result: Result, out: Path) -> None:
    """Write the result folder; a folder that cannot be written is a usage error."""
    from siteopt.io.write import write_result

    try:
        write_result(result, out)
    except OSError as exc:
        raise output_folder_problem(out, exc) from exc


def cmd_validate(args: argparse.Namespace) -> int:
    """Load and check an instance; print its size and warnings."""
    from siteopt.checks.presolve import presolve_checks

    inst = _load(args)
    findings = presolve_checks(inst)
    # the input is well formed either way; "valid" alone would contradict exit 3 below
    verdict = ("valid input, but no plan can exist" if any(f.level == "error" for f in findings)
               else "valid")
    t = inst.tables
    _console().print(
        f"{escape(inst.meta.name)}: {verdict} ({len(t['sites'])} sites, {len(t['phases'])} "
        f"phases, {len(t['zones'])} zones, {len(t['regions'])} regions, {len(t['classes'])} "
        f"classes, {len(t['links'])} links, years {inst.years[0]}-{inst.years[-1]}); "
        f"fingerprint {inst.fingerprint}")
    for w in inst.warnings:
        _err.print(f"[yellow]warning:[/yellow] {escape(w)}", soft_wrap=True)
    for f in findings:
        colour = "red" if f.level == "error" else "yellow"
        _err.print(f"[{colour}]{f.level}:[/{colour}] {escape(str(f))}", soft_wrap=True)
    if any(f.level == "error" for f in findings):
        _err.print("[red]The pre-solve checks prove that no plan exists (infeasible).[/red]")
        return ExitCode.INFEASIBLE
    return ExitCode.OK


def cmd_explain(args: argparse.Namespace) -> int:
    """Pre-solve findings and the elastic plan's violations; exit 3 if no plan can exist."""
    from siteopt.checks.presolve import errors
    from siteopt.solver.explain import KEPT_HARD, explain
    from siteopt.solver.highs import SolveOptions

    inst = _load(args)
    out = _console()
    explanation = explain(inst, SolveOptions(time_limit=args.time_limit))
    for f in explanation.findings:
        colour = "red" if f.level == "error" else "yellow"
        out.print(f"[{colour}]{f.level}[/{colour}] ({f.check}): {escape(str(f))}", soft_wrap=True)
    for v in explanation.violations:
        out.print(f"[red]violation[/red] ({v.kind}): {escape(v.message)}", soft_wrap=True)
    if explanation.elastic_status == "infeasible":
        out.print(f"[red]error[/red] (elastic): {escape(KEPT_HARD)}", soft_wrap=True)
    if args.iis:
        from siteopt.solver.iis import iis_conflict

        conflict = iis_conflict(inst)
        if conflict is None:
            out.print("IIS: the LP relaxation is feasible; the conflict lies in whole-phase "
                      "decisions")
        elif not conflict:
            out.print("IIS: HiGHS found none")
        for item in conflict or []:
            out.print(f"IIS: {escape(item)}", soft_wrap=True)
    name = escape(inst.meta.name)
    status = explanation.elastic_status
    smallest = ("the smallest set of violations that makes a plan possible" if status == "optimal"
                else "a set of violations that makes a plan possible (not proven the smallest)")
    if explanation.infeasible:
        listed = (smallest if explanation.violations else "the pre-solve errors"
                  if errors(explanation.findings) else "why no plan exists")
        out.print(f"{name}: infeasible; {listed} is listed above (elastic re-solve: {status})",
                  soft_wrap=True)
        return ExitCode.INFEASIBLE
    if explanation.feasible:
        out.print(f"{name}: feasible; no hard constraint needs to be relaxed")
        return ExitCode.OK
    # the elastic re-solve stopped (e.g. its time limit) without deciding either way
    found = (f"; {smallest} is listed above, but a better plan may need none"
             if explanation.violations else "")
    out.print(f"{name}: undecided: the elastic re-solve stopped ({status}) before it could "
              f"prove whether a plan exists{found}", soft_wrap=True)
    return ExitCode.NO_PLAN


def cmd_graph(args: argparse.Namespace) -> int:
    """Print connectivity and latencies; optionally export GraphML and the latency table."""
    from siteopt.data.network import components, instance_graph, write_graphml
    from siteopt.report.console import print_graph_report

    check_out_file("--graphml", args.graphml)
    check_out_file("--latency-csv", args.latency_csv)
    inst = _load(args)
    graph = instance_graph(inst.tables, inst.meta.latency)
    lat = inst.latency
    print_graph_report(inst, lat, components(graph), _console())
    if args.graphml:
        with output_file("--graphml", args.graphml) as tmp:
            write_graphml(graph, inst.table("sites"), inst.table("regions"), tmp)
    if args.latency_csv:
        with output_file("--latency-csv", args.latency_csv) as tmp:
            lat.to_csv(tmp, index=False, float_format="%.6g")
    return ExitCode.OK


def cmd_export(args: argparse.Namespace) -> int:
    """Write the model as LP and/or MPS (by HiGHS, with Pyomo's names)."""
    from siteopt.model.compile import compile_model
    from siteopt.solver.highs import SolveOptions, to_highs
    from siteopt.solver.pipeline import build

    if not args.lp and not args.mps:
        raise InputError(_usage_problem("export needs --lp FILE and/or --mps FILE"))
    check_out_file("--lp", args.lp)
    check_out_file("--mps", args.mps)
    inst = _load(args)
    _data, model = build(inst)
    h = to_highs(compile_model(model), SolveOptions(), names=True)
    for flag, path, suffix in (("--lp", args.lp, ".lp"), ("--mps", args.mps, ".mps")):
        if path:
            with output_file(flag, path, suffix=suffix) as tmp:
                h.writeModel(str(tmp))
            _console().print(f"wrote {escape(str(path))}")
    return ExitCode.OK


def cmd_schema(args: argparse.Namespace) -> int:
    """Print the instance format reference."""
    from siteopt.io.formatdoc import instance_format_markdown

    sys.stdout.write(instance_format_markdown())
    return ExitCode.OK


def cmd_import(args: argparse.Namespace) -> int:
    """Import a benchmark file as an instance folder."""
    from siteopt.io.orlib import import_orlib
    from siteopt.io.write import INSTANCE_FOLDER

    if args.capacity is not None and args.kind != "orlib-cap":
        raise InputError(_usage_problem("--capacity applies to orlib-cap only"))
    check_out_folder(args.out, INSTANCE_FOLDER, flag="out")  # refused before reading FILE
    try:
        out = import_orlib(args.kind, args.file, args.out, capacity=args.capacity)
    except OSError as exc:  # reading FILE is InputError already: this is writing OUT
        raise output_folder_problem(args.out, exc, flag="out") from exc
    _console().print(f"wrote instance {out}")
    return ExitCode.OK


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate a synthetic instance and print a one-line summary of what was written."""
    from dataclasses import replace

    from siteopt.io.write import INSTANCE_FOLDER
    from siteopt.synth.generate import PRESETS, generate_tables, write_generated

    check_out_folder(args.out, INSTANCE_FOLDER, flag="out")  # refused before generating
    sizes = {k: getattr(args, k) for k in ("sites", "regions", "years")
             if getattr(args, k) is not None}
    try:
        spec = replace(PRESETS[args.preset], seed=args.seed, **sizes)
    except ValueError as exc:
        raise InputError(_usage_problem(str(exc))) from exc
    meta, tables = generate_tables(spec)
    try:
        out = write_generated(spec, meta, tables, args.out)
    except OSError as exc:
        raise output_folder_problem(args.out, exc, flag="out") from exc
    rows = ", ".join(f"{name} {len(frame)}" for name, frame in tables.items())
    _console().print(
        f"wrote {escape(str(out))}: {spec.sites} sites, {spec.regions} regions, {spec.years} "
        f"years ({spec.first_year}-{spec.last_year}), seed {spec.seed}, "
        f"{len(tables['service_costs'])} site-region pairs within a latency target; rows: "
        f"{rows}", soft_wrap=True)
    return ExitCode.OK


def _usage_problem(text: str) -> Problem:
    return Problem("command line", text)


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep with a progress bar; exit 5 if a scenario raised or failed verification.

    Scenarios without a plan (infeasible, none within the limits) or with one that failed
    verification count as failed in the progress bar (also when a resumed sweep skips
    them); the former are results, written like the others: they do not change the exit code.
    """
    from siteopt.cli.runs import run_sweep_command

    return run_sweep_command(args, _console(), _err.get())


def cmd_batch(args: argparse.Namespace) -> int:
    """Solve instances, compare with --expect, print a table, write JUnit XML."""
    from siteopt.cli.runs import run_batch_command

    return run_batch_command(args, _console(), _err.get())


def cmd_value(args: argparse.Namespace) -> int:
    """Value of scarce inputs: re-solves around the optimum and fixed-plan demand duals."""
    from siteopt.cli.decide import run_value

    return run_value(args, _console(), _err.get())


def cmd_alternatives(args: argparse.Namespace) -> int:
    """Near-optimal alternatives within a cost slack, as different as possible."""
    from siteopt.cli.decide import run_alternatives

    return run_alternatives(args, _console(), _err.get())


COMMANDS = {"solve": cmd_solve, "report": cmd_report, "validate": cmd_validate,
            "explain": cmd_explain, "graph": cmd_graph, "export": cmd_export,
            "schema": cmd_schema, "import": cmd_import, "sweep": cmd_sweep, "batch": cmd_batch,
            "generate": cmd_generate, "verify": cmd_verify, "value": cmd_value,
            "alternatives": cmd_alternatives}


def _left_behind(args: argparse.Namespace) -> str:
    """What a stopped command leaves: a sweep keeps its finished scenarios, others nothing."""
    if args.command == "sweep":
        where = escape(str(args.out)) if args.out else "the output folder"
        return (f"the finished scenarios and the table are kept in {where}; the same command "
                "solves the rest")
    return "nothing written"


#: exit code when stdout's reader has gone, as a shell reports a writer killed by SIGPIPE
#: (Python ignores the signal and raises BrokenPipeError instead): 141
BROKEN_PIPE = 128 + int(signal.SIGPIPE)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `siteopt` console script."""
    from siteopt.solver.interrupt import Interrupted, sigterm_raises

    args = make_parser().parse_args(argv)
    try:
        with sigterm_raises():
            code = COMMANDS[args.command](args)
    except Interrupted as exc:
        _err.print(f"[red]stopped by {exc}[/red]; {_left_behind(args)}")
        return exc.exit_code
    except InputError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        return int(exc.exit_code)
    except SiteoptError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _err.print(f"[red]stopped by SIGINT[/red]; {_left_behind(args)}")
        return 130
    except BrokenPipeError:
        # the reader of stdout left (`siteopt solve | head -3`): what the command writes to
        # files is complete; the shell's convention for a writer whose pipe closed is 141
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return BROKEN_PIPE
    except Exception as exc:  # the last line of defence: no traceback for users
        if os.environ.get("SITEOPT_DEBUG"):
            raise
        _err.print(f"[red]internal error:[/red] {type(exc).__name__}: {escape(str(exc))} "
                   "(set SITEOPT_DEBUG=1 for a traceback; please report it)")
        return int(ExitCode.INTERNAL_ERROR)
    return int(code)


if __name__ == "__main__":
    sys.exit(main())

