"""Benchmark: the large OR-Library problems, siteopt against HiGHS alone on the same model.

For each problem this script
1. imports the OR-Library file into an instance folder (`siteopt import`, not timed);
2. runs `siteopt solve DIR --out R --time-limit T --gap 0` in a fresh process and takes its
   wall time (start-up, load + validation, graph, build, hand-off, HiGHS, extraction,
   independent verification, atomic write) and peak memory;
3. exports the same model to MPS (`siteopt export`, not timed) and runs HiGHS alone on it in a
   fresh process (highspy: read the MPS, solve with the same options), wall time and memory;
4. appends one row to the results CSV (existing rows are kept, so an interrupted run resumes).

Run from the repository root (takes hours with the default limit; see docs/benchmarks.md):

    python benchmarks/orlib.py                       # capa/b/c x 4 capacities, pmed1..pmed40
    python benchmarks/orlib.py --only capa_8000 pmed6 --time-limit 60
    python benchmarks/orlib.py --only pmed16 --siteopt-only   # siteopt's side alone
    python benchmarks/orlib.py --table               # print the Markdown table of the CSV
    python benchmarks/orlib.py --summary --rows 1-55 # per set: proven, matched, median wall

The published optima come from `../shared/benchmarks/orlib/optima.csv` (or --orlib).
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    REPO,
    append_row,
    benchmark_parser,
    exclusive,
    export_mps,
    failed,
    failure,
    highs_alone,
    machine,
    read_rows,
    require_dir,
    run_checked,
    run_measured,
    siteopt_cmd,
    table_rows,
)
from harness import num as _num

DEFAULT_ORLIB = REPO.parent / "shared" / "benchmarks" / "orlib"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "orlib.csv"

#: Beasley (1988), Table 1: the four capacities of each of capa, capb, capc.
CAPACITIES = {"capa": (8000, 10000, 12000, 14000), "capb": (5000, 6000, 7000, 8000),
              "capc": (5000, 5750, 6500, 7250)}

FIELDS = ["instance", "kind", "published", "status", "objective", "bound", "gap", "matched",
          "siteopt_wall_s", "siteopt_cpu_s", "siteopt_highs_s", "siteopt_overhead_s",
          "siteopt_peak_mb", "highs_status", "highs_objective", "highs_wall_s", "highs_cpu_s",
          "highs_peak_mb", "wall_ratio", "cpu_ratio",
          "time_limit_s", "rows", "columns", "nonzeros", "method"]

@dataclass
class Problem:
    """One benchmark problem: its name, importer, file and capacity."""

    name: str
    kind: str
    file: Path
    capacity: float | None = None


def problems(orlib: Path) -> list[Problem]:
    """capa/b/c at four capacities, pmed1..pmed40, the UflLib samples too slow for tests.

    cap41..cap134, the uncapacitated small files and pmed1..pmed5 are also tests
    (tests/test_orlib.py).
    """
    out = [Problem(f"{base}_{c}", "orlib-cap", orlib / "cap" / f"{base}.txt", c)
           for base, caps in CAPACITIES.items() for c in caps]
    out += [Problem(f"pmed{k}", "orlib-pmed", orlib / "pmed" / f"pmed{k}.txt")
            for k in range(1, 41)]
    out += [Problem(name, "orlib-ufl", orlib / "ufl" / "uflLib" / name)
            for name in ("E10.1", "MO1", "MP1")]
    return out


def published(orlib: Path) -> dict[str, float]:
    """Published optima by instance name (family cap and pmed)."""
    with open(orlib / "optima.csv", newline="") as f:
        return {r["instance"]: float(r["optimal_value"]) for r in csv.DictReader(f)
                if r["family"] in ("cap", "pmed", "ufl_uflLib")}


def bench_one(p: Problem, opt: float | None, time_limit: float, work: Path,
              highs: bool = True) -> dict[str, object]:
    """Measure one problem (see the module docstring); without `highs`, siteopt only."""
    inst = work / p.name
    args = ["import", p.kind, str(p.file), str(inst)]
    if p.capacity is not None:
        args += ["--capacity", str(p.capacity)]
    run_checked(siteopt_cmd(*args), f"siteopt import ({p.name})")
    res = work / f"{p.name}-result"
    proc, wall, cpu, peak = run_measured(
        siteopt_cmd("solve", str(inst), "--out", str(res), "--time-limit", str(time_limit),
                    "--gap", "0", "--quiet"), timeout=time_limit * 3 + 600)
    row: dict[str, object] = {"instance": p.name, "kind": p.kind, "published": opt,
                              "siteopt_wall_s": round(wall, 2), "siteopt_cpu_s": round(cpu, 2),
                              "siteopt_peak_mb": round(peak),
                              "time_limit_s": time_limit}
    summary_path = res / "summary.json"
    if summary_path.exists():
        s = json.loads(summary_path.read_text())
        highs_s = s["timings_seconds"].get("solve", 0.0)
        row.update(status=s["status"], objective=s["objective"], bound=s["bound"], gap=s["gap"],
                   siteopt_highs_s=round(highs_s, 2),
                   siteopt_overhead_s=round(wall - highs_s, 2),
                   rows=s["model_size"].get("rows"), columns=s["model_size"].get("columns"),
                   nonzeros=s["model_size"].get("nonzeros"),
                   method=(s.get("method") or {}).get("name", ""))
        if opt is not None and s["objective"] is not None:
            row["matched"] = abs(s["objective"] - opt) <= 1e-3 + 1e-9 * abs(opt)
    else:
        row.update(status=failure(proc))
    if not highs:
        return row
    mps = work / f"{p.name}.mps"
    export_mps(inst, mps)
    h = highs_alone(mps, time_limit, 0.0, timeout=time_limit * 3 + 600)
    row.update(h.columns())
    if h.result is not None:
        row["wall_ratio"] = round(wall / h.wall, 3) if h.wall > 0 else None
        row["cpu_ratio"] = round(cpu / h.cpu, 3) if h.cpu > 0 else None
    return row


def markdown_table(rows: list[dict[str, str]]) -> str:
    """The results as a Markdown table, in problem order."""
    head = ("| instance | published | siteopt objective | bound | gap % | status | matched | "
            "siteopt wall s | HiGHS in siteopt s | HiGHS alone wall s | wall ratio | "
            "siteopt CPU s | HiGHS alone CPU s | CPU ratio | peak MB siteopt / alone |")
    lines = [head, "|" + "---|" * 15]
    for r in rows:
        gap = "–" if r.get("gap") in ("", None) else f"{100 * float(r['gap']):.4f}"
        lines.append(
            f"| {r['instance']} | {_num(r['published'], 3)} | {_num(r['objective'], 3)} | "
            f"{_num(r['bound'], 3)} | {gap} | {r['status']} | "
            f"{'yes' if r.get('matched') == 'True' else 'no'} | {_num(r['siteopt_wall_s'])} | "
            f"{_num(r['siteopt_highs_s'])} | {_num(r['highs_wall_s'])} | "
            f"{_num(r['wall_ratio'], 3)} | {_num(r['siteopt_cpu_s'])} | "
            f"{_num(r['highs_cpu_s'])} | {_num(r['cpu_ratio'], 3)} | "
            f"{r['siteopt_peak_mb'] or '–'} / {r['highs_peak_mb'] or '–'} |")
    return "\n".join(lines) + "\n"


#: How the summary names each kind of problem, in its order.
SETS = {"orlib-pmed": "p-median", "orlib-ufl": "UflLib", "orlib-cap": "capa/capb/capc"}


def summary_table(rows: list[dict[str, str]]) -> str:
    """One line per kind of problem: how many proven, at the published optimum, median wall.

    The counts the targets of docs/benchmarks.md are stated in; "slowest proven" is the
    proven problem with the longest HiGHS time inside siteopt.
    """
    head = ("| set | problems | limit s | method | proven optimal | objective = published "
            "optimum | median wall s | slowest proven | peak MB |")
    lines = [head, "|" + "---|" * 9]
    for kind, label in SETS.items():
        group = [r for r in rows if r["kind"] == kind]
        if not group:
            continue
        proven = [r for r in group if r["status"] == "optimal"]
        slowest = max(proven, key=lambda r: float(r["siteopt_highs_s"]), default=None)
        peaks = [int(float(r["siteopt_peak_mb"])) for r in group]
        lines.append(
            f"| {label} ({group[0]['instance']}–{group[-1]['instance']}) | {len(group)} | "
            f"{', '.join(sorted({_num(r['time_limit_s'], 0) for r in group}))} | "
            f"{', '.join(sorted({r['method'] for r in group}))} | {len(proven)} | "
            f"{sum(r.get('matched') == 'True' for r in group)} | "
            f"{statistics.median(float(r['siteopt_wall_s']) for r in group):.1f} | "
            + (f"{slowest['instance']}: {float(slowest['siteopt_highs_s']):.1f} s of solve, "
               f"{float(slowest['siteopt_wall_s']):.1f} s wall" if slowest else "–")
            + f" | {min(peaks):,}–{max(peaks):,} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line of the benchmark; exit 1 when a measured run failed (its row says why)."""
    ap = benchmark_parser(__doc__, DEFAULT_ORLIB, DEFAULT_OUT, 300.0)
    ap.add_argument("--siteopt-only", action="store_true",
                    help="measure siteopt only (skip HiGHS alone on the MPS export)")
    ap.add_argument("--summary", action="store_true", help="print the per-set summary of the "
                    "CSV (or of --rows) and exit")
    args = ap.parse_args(argv)
    if args.table or args.summary:
        rows = table_rows(ap, args.out, args.rows)
        print(f"Machine: {machine()}\n")
        print(summary_table(rows) if args.summary else markdown_table(rows))
        return 0
    names = [p.name for p in problems(args.orlib)]
    unknown = set(args.only or ()) - set(names)
    if unknown:
        ap.error(f"unknown problems {sorted(unknown)}; one of {names}")
    require_dir(ap, args.orlib, "--orlib", "the OR-Library files and optima.csv, "
                "e.g. ../shared/benchmarks/orlib")
    optima = published(args.orlib)
    done = {r["instance"] for r in read_rows(args.out)}
    todo = [p for p in problems(args.orlib) if not args.only or p.name in args.only]
    print(f"# {machine()}", flush=True)
    broken = False
    for p in todo:
        if p.name in done and not args.redo:
            continue
        with exclusive(args.lock), tempfile.TemporaryDirectory(prefix="siteopt-bench-") as work:
            row = bench_one(p, optima.get(p.name), args.time_limit, Path(work),
                            highs=not args.siteopt_only)
        append_row(args.out, row, FIELDS)
        broken |= failed(row)
        print(f"{p.name}: {row.get('status')} obj {row.get('objective')} "
              f"(published {row.get('published')}) gap {row.get('gap')} "
              f"siteopt {row.get('siteopt_wall_s')} s, HiGHS alone {row.get('highs_wall_s')} s, "
              f"ratio {row.get('wall_ratio')} (CPU {row.get('cpu_ratio')})", flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
