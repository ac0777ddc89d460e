"""Benchmark: time to a proven optimum (or the gap at a fixed limit), siteopt against HiGHS alone.

The reference is HiGHS alone on *today's formulation*: the model as siteopt built it at the
baseline commit (`BASELINE`, before this round's solve work), exported to MPS by that
commit's own code (`git archive` into a temporary folder, `python -m siteopt export`), so the
reference stays reproducible however the model changes later. Both sides run in fresh
processes in the same run, one after the other, with the same time limit and the same gap:
the one siteopt solved to (its summary.json; the instance's `solver.gap`, 1e-4 for Vietnam
and the generated presets, 0 for the OR-Library imports).

siteopt runs `siteopt solve DIR --method M` (default `auto`); its `summary.json` gives the
status, gap, method and the per-phase times. The table reports wall seconds, the gap at the
limit, and the ratios HiGHS alone / siteopt (> 1: siteopt is faster) of the whole process
(wall) and of the solve alone (HiGHS's solve against siteopt's `solve` stage, which holds
every phase of the method).

    python benchmarks/solve_speed.py                          # every case (about an hour)
    python benchmarks/solve_speed.py --only vietnam gen-small
    python benchmarks/solve_speed.py --only vietnam --method highs   # one method
    python benchmarks/solve_speed.py --table                  # Markdown table of the CSV
    python benchmarks/solve_speed.py --table --rows 1-6       # one table of the benchmarks doc
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    REPO,
    append_row,
    benchmark_parser,
    exclusive,
    failed,
    failure,
    highs_alone,
    machine,
    num,
    pct,
    read_rows,
    require_dir,
    run_checked,
    run_measured,
    siteopt_cmd,
    table_rows,
)

#: The commit whose formulation is "today's" for this round: main before the solve work.
BASELINE = "0483af4"

DEFAULT_ORLIB = REPO.parent / "shared" / "benchmarks" / "orlib"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "solve_speed.csv"

FREE_COOLING = "phases[committed_year=].cooling=air|dlc|immersion"

FIELDS = ["instance", "method", "time_limit_s", "columns", "integer_columns", "status",
          "objective", "bound", "gap", "solve_s", "siteopt_wall_s", "siteopt_cpu_s",
          "siteopt_peak_mb", "method_used", "phases", "highs_status", "highs_objective",
          "highs_gap", "highs_solve_s", "highs_wall_s", "highs_peak_mb", "speedup",
          "solve_speedup", "baseline"]


@dataclass
class Case:
    """One benchmark instance: how to make its folder, its overrides and its time limit."""

    name: str
    source: str  # bundled | generate | orlib-cap | orlib-pmed
    arg: str = ""
    time_limit: float = 600.0
    overrides: list[str] = field(default_factory=list)
    capacity: float | None = None


def cases() -> list[Case]:
    """The cases of the solve-speed targets."""
    out = [Case("gen-tiny", "generate", "tiny", time_limit=60),  # CI runs it: the script works
           Case("vietnam", "bundled", time_limit=600),
           Case("vietnam-free-cooling", "bundled", time_limit=600, overrides=[FREE_COOLING]),
           Case("gen-small", "generate", "small", time_limit=600),
           Case("gen-medium", "generate", "medium", time_limit=60),
           Case("gen-large", "generate", "large", time_limit=180),
           Case("gen-400k", "generate", "400k", time_limit=300)]
    out += [Case("capa_14000", "orlib-cap", "capa.txt", 180, capacity=14000),
            Case("capb_5000", "orlib-cap", "capb.txt", 180, capacity=5000),
            Case("capc_5750", "orlib-cap", "capc.txt", 180, capacity=5750)]
    out += [Case("pmed5-pcenter-33", "orlib-pmed", "pmed5.txt", 300,
                 ["siting.objective=max_rtt", "siting.sites=33"]),
            Case("pmed10-pcenter-67", "orlib-pmed", "pmed10.txt", 300,
                 ["siting.objective=max_rtt", "siting.sites=67"])]
    out += [Case(f"pmed{k}", "orlib-pmed", f"pmed{k}.txt", 60) for k in (10, 20, 30, 40)]
    return out


def prepare(case: Case, work: Path, orlib: Path) -> Path:
    """Make the instance folder of `case` in `work` (not timed)."""
    if case.source == "bundled":
        return REPO / "instances" / "vietnam-2026"
    folder = work / case.name
    if case.source == "generate":
        args = ["generate", str(folder), "--preset", case.arg, "--seed", "0"]
    else:
        sub = "cap" if case.source == "orlib-cap" else "pmed"
        args = ["import", case.source, str(orlib / sub / case.arg), str(folder)]
        if case.capacity is not None:
            args += ["--capacity", str(case.capacity)]
    run_checked(siteopt_cmd(*args), f"siteopt {args[0]} ({case.name})")
    return folder


def solve_gap(summary: dict[str, object] | None, folder: Path) -> float:
    """The relative gap siteopt solved to, which HiGHS alone is given too.

    summary.json's `options.gap` when siteopt wrote one (the instance's `solver.gap` once
    resolved); otherwise the instance's `[solver] gap`, 1e-4 when it sets none (siteopt's
    default). The OR-Library imports ask for 0: a fixed 1e-4 would let HiGHS alone stop
    earlier than siteopt on them.
    """
    options = (summary or {}).get("options")
    if isinstance(options, dict) and options.get("gap") is not None:
        return float(options["gap"])
    meta = tomllib.loads((folder / "instance.toml").read_text(encoding="utf-8"))
    return float(meta.get("solver", {}).get("gap", 1e-4))


def baseline_checkout(work: Path) -> Path:
    """The baseline commit's files in `work/baseline` (from `git archive`, no work tree)."""
    dest = work / "baseline"
    if not dest.exists():
        dest.mkdir()
        archive = work / "baseline.tar"
        with open(archive, "wb") as f:
            subprocess.run(["git", "archive", BASELINE], check=True, stdout=f, cwd=REPO)
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
    return dest


def baseline_available() -> bool:
    """Whether this checkout holds the baseline commit (a shallow clone may not)."""
    return subprocess.run(["git", "cat-file", "-e", f"{BASELINE}^{{commit}}"], cwd=REPO,
                          capture_output=True).returncode == 0


def export_baseline(case: Case, folder: Path, mps: Path, work: Path) -> str:
    """Today's formulation of the case as MPS, written by the baseline commit's own code.

    Returns the formulation exported: the baseline commit, or (where the checkout lacks it)
    the current one, said so in the result row.
    """
    sets = [a for o in case.overrides for a in ("--set", o)]
    if not baseline_available():
        print(f"warning: commit {BASELINE} is not in this checkout; HiGHS alone runs on the "
              "current formulation", file=sys.stderr)
        run_checked(siteopt_cmd("export", str(folder), "--mps", str(mps), *sets),
                    "siteopt export")
        return "current (baseline commit unavailable)"
    base = baseline_checkout(work)
    if case.source == "bundled":  # the baseline's own copy: its reader predates new columns
        folder = base / "instances" / "vietnam-2026"
    run_checked([sys.executable, "-m", "siteopt", "export", str(folder), "--mps", str(mps),
                 *sets], f"siteopt export at {BASELINE}", cwd=base,
                env={"PYTHONPATH": str(base), "PATH": "/usr/bin:/bin"})
    return BASELINE


def bench_one(case: Case, method: str, work: Path, orlib: Path) -> dict[str, object]:
    """Measure one case: siteopt with `method`, then HiGHS alone on the baseline export."""
    folder = prepare(case, work, orlib)
    res = work / f"{case.name}-result"
    sets = [a for o in case.overrides for a in ("--set", o)]
    limit = case.time_limit
    proc, wall, cpu, peak = run_measured(
        siteopt_cmd("solve", str(folder), "--out", str(res), "--time-limit", str(limit),
                    "--method", method, "--quiet", *sets), timeout=limit * 3 + 600)
    row: dict[str, object] = {"instance": case.name, "method": method, "time_limit_s": limit,
                              "siteopt_wall_s": round(wall, 2), "siteopt_cpu_s": round(cpu, 2),
                              "siteopt_peak_mb": round(peak)}
    summary = res / "summary.json"
    s: dict[str, object] | None = None
    if summary.exists():
        s = json.loads(summary.read_text())
        row.update(status=s["status"] if s["verified"] else f"{s['status']} (NOT verified)",
                   objective=s["objective"], bound=s["bound"], gap=s["gap"],
                   solve_s=round(s["timings_seconds"].get("solve", 0.0), 2),
                   columns=s["model_size"].get("columns"),
                   integer_columns=s["model_size"].get("integer_columns"),
                   method_used=s.get("method", {}).get("name", ""),
                   phases=json.dumps(s.get("method", {}).get("phases", [])))
    else:
        row["status"] = failure(proc)
    mps = work / f"{case.name}.mps"
    row["baseline"] = export_baseline(case, folder, mps, work)
    h = highs_alone(mps, limit, solve_gap(s, folder), timeout=limit * 3 + 600)
    row.update(h.columns())
    if h.result is not None:
        row["speedup"] = round(h.wall / wall, 2) if wall > 0 else None
        solve = float(row.get("solve_s") or 0.0)
        row["solve_speedup"] = round(float(h.result["solve"]) / solve, 2) if solve > 0 else None
    return row


def markdown_table(rows: list[dict[str, str]]) -> str:
    """Siteopt against HiGHS alone on today's formulation, one row per (instance, method)."""
    head = ("| instance | limit s | siteopt method | status | objective | gap % | wall s | "
            "peak MB | HiGHS alone (baseline) status | objective | gap % | wall s | peak MB | "
            "speed-up (wall) | speed-up (solve) |")
    lines = [head, "|" + "---|" * 15]
    for r in rows:
        lines.append(
            f"| {r['instance']} | {num(r.get('time_limit_s'), 0)} | "
            f"{r.get('method_used') or r.get('method')} | {r.get('status')} | "
            f"{num(r.get('objective'))} | {pct(r.get('gap'))} | {num(r.get('siteopt_wall_s'))} | "
            f"{num(r.get('siteopt_peak_mb'), 0)} | {r.get('highs_status', '–')} | "
            f"{num(r.get('highs_objective'))} | {pct(r.get('highs_gap'))} | "
            f"{num(r.get('highs_wall_s'))} | {num(r.get('highs_peak_mb'), 0)} | "
            f"{num(r.get('speedup'))} | {num(r.get('solve_speedup'))} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line of the benchmark; exit 1 when a measured run failed (its row says why)."""
    ap = benchmark_parser(__doc__, DEFAULT_ORLIB, DEFAULT_OUT, 0.0,
                          "; default: each case's own (60-600 s)")
    ap.add_argument("--method", default="auto", help="siteopt's --method (default auto)")
    args = ap.parse_args(argv)
    names = [c.name for c in cases()]
    if args.table:  # the CSV's rows in its order (--rows: the ones a table of the doc cites)
        print(f"Machine: {machine()}\n")
        print(markdown_table(table_rows(ap, args.out, args.rows)))
        return 0
    unknown = set(args.only or ()) - set(names)
    if unknown:
        ap.error(f"unknown cases {sorted(unknown)}; one of {names}")
    if any(c.source.startswith("orlib") for c in cases() if not args.only or c.name in args.only):
        require_dir(ap, args.orlib, "--orlib", "the OR-Library files of the capa/b/c and "
                    "pmed cases; --only gen-tiny vietnam gen-small need none")
    done = {(r["instance"], r["method"]) for r in read_rows(args.out)}
    print(f"# {machine()}; baseline formulation {BASELINE}", flush=True)
    broken = False
    for case in cases():
        if args.only and case.name not in args.only:
            continue
        if (case.name, args.method) in done and not args.redo:
            continue
        if args.time_limit:
            case.time_limit = args.time_limit
        with exclusive(args.lock), tempfile.TemporaryDirectory(prefix="siteopt-speed-") as work:
            row = bench_one(case, args.method, Path(work), args.orlib)
        append_row(args.out, row, FIELDS)
        broken |= failed(row)
        print(f"{case.name} [{row.get('method_used') or args.method}]: {row.get('status')} "
              f"gap {pct(row.get('gap'))} % in {row.get('siteopt_wall_s')} s; HiGHS alone "
              f"{row.get('highs_status')} gap {pct(row.get('highs_gap'))} % in "
              f"{row.get('highs_wall_s')} s; speed-up {row.get('speedup')}", flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
