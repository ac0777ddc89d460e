"""Benchmark: where siteopt's time and memory go at scale, against HiGHS alone on the same model.

Instances: the generator's presets (`siteopt generate`, seed 0) from tiny to xl; a
capacitated facility-location problem of 200 sites x 2,000 customers in OR-Library format
(seeded here; 400 k variables, the size the modelling-layer target is stated at); and the
large OR-Library problems (capa/capb/capc at one capacity each, pmed30/35/40).

For each instance, one run of `siteopt solve DIR --out R --time-limit T` in a fresh process
gives its wall and CPU time and peak memory, and its summary.json gives the stages: read
(parse + per-table checks), checks (cross-table), graph (fiber graph, latency matrix,
reachability), presolve (pre-solve checks), data (index sets and parameters), build (the
Pyomo model), handoff (compile to matrices and pass to HiGHS), solve (HiGHS), polish
(integers fixed, the continuous part re-solved as an LP), extract (result tables), verify
(independent checker); `other` is the rest of the wall time (interpreter and imports,
printing, the atomic write). Then the same model is exported to
MPS (not timed) and HiGHS alone reads and solves it in a fresh process with the same options.

The table shows the overhead ratio (siteopt wall - HiGHS solve) / HiGHS solve and the
wall ratio siteopt / HiGHS alone. Rows are appended to the CSV (an interrupted run resumes).

    python benchmarks/scale.py                     # everything, 60 s per solve (~35 min)
    python benchmarks/scale.py --only gen-tiny gen-400k --time-limit 20
    python benchmarks/scale.py --table             # the Markdown table of the CSV
    python benchmarks/scale.py --table --rows 3-5  # those CSV rows, not the latest per instance
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
    num,
    pct,
    read_rows,
    require_dir,
    run_checked,
    run_measured,
    siteopt_cmd,
    table_rows,
)

DEFAULT_ORLIB = REPO.parent / "shared" / "benchmarks" / "orlib"
DEFAULT_OUT = REPO / "benchmarks" / "results" / "scale.csv"

#: Stages of summary.json's timings_seconds, in pipeline order; `t_other` is the wall time
#: none of them covers, so a stage missing here would be counted as start-up.
STAGES = ("read", "checks", "graph", "presolve", "data", "build", "handoff", "solve", "polish",
          "extract", "verify")

FIELDS = ["instance", "source", "rows", "columns", "nonzeros", "integer_columns", "status",
          "objective", "gap", *(f"t_{s}" for s in STAGES), "t_other", "build_handoff_s",
          "siteopt_wall_s", "siteopt_cpu_s", "siteopt_peak_mb", "highs_status",
          "highs_objective", "highs_gap", "highs_read_s", "highs_solve_s", "highs_wall_s",
          "highs_cpu_s", "highs_peak_mb", "overhead_ratio", "wall_ratio", "time_limit_s"]


@dataclass
class Case:
    """One benchmark instance and how to make its folder."""

    name: str
    source: str  # generate | cfl | orlib-cap | orlib-pmed
    arg: str = ""  # preset, OR-Library file name
    capacity: float | None = None


def cases() -> list[Case]:
    """Generated presets, the 200 x 2,000 facility-location problem, large OR-Library ones."""
    out = [Case(f"gen-{p}", "generate", p) for p in ("tiny", "small", "medium", "large",
                                                     "400k", "xl")]
    out.append(Case("cfl-200x2000", "cfl"))
    out += [Case("capa_8000", "orlib-cap", "capa.txt", 8000),
            Case("capb_6000", "orlib-cap", "capb.txt", 6000),
            Case("capc_5750", "orlib-cap", "capc.txt", 5750)]
    out += [Case(f"pmed{k}", "orlib-pmed", f"pmed{k}.txt") for k in (30, 35, 40)]
    return out


def write_cfl(path: Path, sites: int = 200, customers: int = 2000, seed: int = 0) -> None:
    """A seeded capacitated facility-location problem in OR-Library `cap` format.

    Capacity 8,000 per site, fixed costs 5,000-20,000, demands 5-99, allocation costs
    100-4,999 for a customer's whole demand (uniform integers): sizes as in the issue's
    Pyomo/linopy measurements, numbers of the capa/b/c kind.
    """
    rng = np.random.default_rng(seed)
    lines = [f"{sites} {customers}"]
    lines += [f"8000 {int(f)}" for f in rng.integers(5000, 20000, sites)]
    for _ in range(customers):
        lines.append(str(int(rng.integers(5, 100))))
        lines.append(" ".join(str(int(c)) for c in rng.integers(100, 5000, sites)))
    path.write_text("\n".join(lines) + "\n")


def prepare(case: Case, work: Path, orlib: Path) -> Path:
    """Make the instance folder of `case` in `work` (not timed)."""
    folder = work / case.name
    if case.source == "generate":
        args = ["generate", str(folder), "--preset", case.arg, "--seed", "0"]
    elif case.source == "cfl":
        raw = work / f"{case.name}.txt"
        write_cfl(raw)
        args = ["import", "orlib-cap", str(raw), str(folder)]
    else:
        sub = "cap" if case.source == "orlib-cap" else "pmed"
        args = ["import", case.source, str(orlib / sub / case.arg), str(folder)]
        if case.capacity is not None:
            args += ["--capacity", str(case.capacity)]
    run_checked(siteopt_cmd(*args), f"siteopt {args[0]} ({case.name})")
    return folder


def bench_one(case: Case, time_limit: float, work: Path, orlib: Path) -> dict[str, object]:
    """Measure one instance (see the module docstring)."""
    folder = prepare(case, work, orlib)
    res = work / f"{case.name}-result"
    proc, wall, cpu, peak = run_measured(
        siteopt_cmd("solve", str(folder), "--out", str(res), "--time-limit", str(time_limit),
                    "--quiet"), timeout=time_limit * 3 + 900)
    row: dict[str, object] = {"instance": case.name, "source": case.source,
                              "siteopt_wall_s": round(wall, 2), "siteopt_cpu_s": round(cpu, 2),
                              "siteopt_peak_mb": round(peak), "time_limit_s": time_limit}
    summary = res / "summary.json"
    gap = 1e-4
    if not summary.exists():
        row["status"] = failure(proc)
        return row
    s = json.loads(summary.read_text())
    t = s["timings_seconds"]
    staged = {f"t_{k}": round(t.get(k, 0.0), 3) for k in STAGES}
    row.update(staged, status=s["status"], objective=s["objective"], gap=s["gap"],
               t_other=round(wall - sum(t.get(k, 0.0) for k in STAGES), 3),
               build_handoff_s=round(t.get("build", 0.0) + t.get("handoff", 0.0), 3),
               **{k: s["model_size"].get(k) for k in ("rows", "columns", "nonzeros",
                                                      "integer_columns")})
    gap = s["options"]["gap"] if s["options"]["gap"] is not None else gap
    solve = t.get("solve", 0.0)
    row["overhead_ratio"] = round((wall - solve) / solve, 3) if solve > 0 else None
    mps = work / f"{case.name}.mps"
    export_mps(folder, mps)
    h = highs_alone(mps, time_limit, gap, timeout=time_limit * 3 + 900)
    row.update(h.columns())
    if h.result is not None:
        row["wall_ratio"] = round(wall / h.wall, 3) if h.wall > 0 else None
    return row


def markdown_tables(rows: list[dict[str, str]]) -> str:
    """Two Markdown tables: the stages of each siteopt run; siteopt against HiGHS alone."""
    head = ("| instance | rows | columns | nonzeros | read | checks | graph | presolve | data | "
            "build | hand-off | **build + hand-off** | HiGHS | polish | extract | verify | "
            "other | wall | peak MB |")
    lines = [head, "|" + "---|" * 19]
    for r in rows:
        cells = [r["instance"], num(r.get("rows"), 0), num(r.get("columns"), 0),
                 num(r.get("nonzeros"), 0)]
        cells += [num(r.get(f"t_{k}")) for k in ("read", "checks", "graph", "presolve",
                                                   "data", "build", "handoff")]
        cells += [f"**{num(r.get('build_handoff_s'))}**", num(r.get("t_solve")),
                  num(r.get("t_polish")), num(r.get("t_extract")), num(r.get("t_verify")),
                  num(r.get("t_other")),
                  num(r.get("siteopt_wall_s")), num(r.get("siteopt_peak_mb"), 0)]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    head2 = ("| instance | status | objective | gap % | HiGHS alone: status | objective | "
             "read s | wall s | peak MB | siteopt wall s | overhead ratio | wall ratio |")
    lines += ["", head2, "|" + "---|" * 12]
    for r in rows:
        lines.append(
            f"| {r['instance']} | {r.get('status')} | {num(r.get('objective'), 2)} | "
            f"{pct(r.get('gap'))} | "
            f"{r.get('highs_status', '–')} | {num(r.get('highs_objective'), 2)} | "
            f"{num(r.get('highs_read_s'))} | {num(r.get('highs_wall_s'))} | "
            f"{num(r.get('highs_peak_mb'), 0)} | {num(r.get('siteopt_wall_s'))} | "
            f"{num(r.get('overhead_ratio'), 3)} | {num(r.get('wall_ratio'), 3)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line of the benchmark; exit 1 when a measured run failed (its row says why)."""
    ap = benchmark_parser(__doc__, DEFAULT_ORLIB, DEFAULT_OUT, 60.0)
    args = ap.parse_args(argv)
    if args.table:  # the latest row of each instance (--redo appends), in suite order
        rows = table_rows(ap, args.out, args.rows)
        if args.rows is None:
            latest = {r["instance"]: r for r in rows}
            rows = [latest[c.name] for c in cases() if c.name in latest]
        print(f"Machine: {machine()}\n")
        print(markdown_tables(rows))
        return 0
    done = {r["instance"] for r in read_rows(args.out)}
    todo = [c for c in cases() if not args.only or c.name in args.only]
    unknown = set(args.only or ()) - {c.name for c in cases()}
    if unknown:
        ap.error(f"unknown instances {sorted(unknown)}; one of {[c.name for c in cases()]}")
    if any(c.source.startswith("orlib") for c in todo):
        require_dir(ap, args.orlib, "--orlib", "the OR-Library files of capa/b/c and pmed; "
                    "--only gen-tiny ... cfl-200x2000 need none")
    print(f"# {machine()}", flush=True)
    broken = False
    for case in todo:
        if case.name in done and not args.redo:
            continue
        with exclusive(args.lock), tempfile.TemporaryDirectory(prefix="siteopt-scale-") as work:
            row = bench_one(case, args.time_limit, Path(work), args.orlib)
        append_row(args.out, row, FIELDS)
        broken |= failed(row)
        print(f"{case.name}: {row.get('columns')} columns, build+handoff "
              f"{row.get('build_handoff_s')} s, HiGHS {row.get('t_solve')} s, siteopt "
              f"{row.get('siteopt_wall_s')} s vs HiGHS alone {row.get('highs_wall_s')} s "
              f"(ratio {row.get('wall_ratio')}), peak {row.get('siteopt_peak_mb')} MB",
              flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
