"""Benchmark: two-stage stochastic solves (issue 14), in fresh processes.

Cases (each one row of benchmarks/results/stochastic.csv):

- `tiny`: the hand-derived two-scenario instance (tests/data/stochastic-hedge), extensive
  form and decomposition: a smoke test for CI (a few seconds).
- `vietnam-12`: the shipped 12-scenario set of vietnam-2026 through the extensive form;
  target: proven within 0.5 % in <= 10 minutes (the `ef_seconds` column: the extensive form
  alone; `wall_seconds` adds the wait-and-see, mean-value and deterministic comparisons).
- `vietnam-100`: 100 scenarios drawn with seed 2026 (`siteopt.stochastic.sample`) through the
  decomposition on a 2-worker local Dask cluster; target gap <= 2 % in <= 30 minutes, peak
  memory <= 8 GiB (summed resident memory of the process tree: `harness.run_measured`).
  `--scenarios N` runs another count.

    python benchmarks/stochastic.py --only tiny          # CI smoke (seconds)
    python benchmarks/stochastic.py --only vietnam-12
    python benchmarks/stochastic.py --only vietnam-100 --scenarios 100
    python benchmarks/stochastic.py --table              # Markdown table of the CSV
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    REPO,
    append_row,
    failure,
    machine,
    num,
    pct,
    read_rows,
    run_measured,
    table_parser,
    table_rows,
)

OUT = REPO / "benchmarks" / "results" / "stochastic.csv"
#: HiGHS log of the extensive form and the progress events of each case (not committed)
LOGS = Path("/tmp") / "siteopt-stochastic-bench"
FIELDS = ["case", "method", "scenarios", "workers", "status", "verified", "objective", "bound",
          "gap", "ef_seconds", "wall_seconds", "peak_rss_mb", "evpi", "vss", "expected_cost",
          "commitments", "load_avg_1min", "date", "machine"]

#: Runs one case in a fresh interpreter: argv = case json; prints the summary path.
RUNNER = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
from siteopt.data.load import load_instance
from siteopt.solver.highs import SolveOptions
from siteopt.stochastic.engine import StochasticOptions, solve_stochastic
from siteopt.stochastic.output import write_stochastic
from siteopt.stochastic.sample import sampled_scenarios
from siteopt.stochastic.spec import load_scenario_set
inst = load_instance(spec["instance"])
if spec.get("sample"):
    sset = sampled_scenarios(inst, spec["sample"], spec["seed"], spec["decision_year"])
else:
    sset = load_scenario_set(spec["scenarios"], inst)
def listen(event):
    print(time.strftime("%H:%M:%S"), {k: v for k, v in event.items() if v is not None},
          file=sys.stderr, flush=True)
how = StochasticOptions(method=spec["method"], workers=spec["workers"],
                        compare_gap=spec.get("compare_gap"),
                        target_gap=spec.get("target_gap", 0.02),
                        max_candidates=spec.get("max_candidates", 8),
                        time_limit=spec.get("time_limit"))
options = SolveOptions(gap=spec.get("gap"), time_limit=spec.get("solve_time_limit"),
                       log_file=spec.get("log"))
result = solve_stochastic(inst, sset, options, how, listen)
write_stochastic(result, spec["out"])
"""


def cases(n_sampled: int, workers: int, limit: float = 1800
          ) -> dict[str, list[dict[str, object]]]:
    """The benchmark cases by name."""
    hedge = REPO / "tests" / "data" / "stochastic-hedge"
    vn = REPO / "instances" / "vietnam-2026"
    return {
        "tiny": [{"instance": str(hedge), "scenarios": str(hedge / "scenarios.toml"),
                  "method": m, "workers": 0} for m in ("extensive", "decompose")],
        "vietnam-12": [{"instance": str(vn), "scenarios": str(vn / "scenarios.toml"),
                        "method": "extensive", "workers": workers, "gap": 0.005,
                        "compare_gap": 1e-3}],
        "vietnam-100": [{"instance": str(vn), "sample": n_sampled, "seed": 2026,
                         "decision_year": 2027, "method": "decompose", "workers": workers,
                         # each subproblem to a quarter of the 2 % target, at most 60 s:
                         # its bound (below) and its verified plan (above) stay valid
                         "gap": 0.005, "solve_time_limit": 60.0, "target_gap": 0.02,
                         "time_limit": limit, "compare_gap": 1e-3}],
    }


def measure(spec: dict[str, object], timeout: float) -> dict[str, object]:
    """Run one case; wall time and peak summed memory of the whole process tree."""
    with tempfile.TemporaryDirectory() as tmp:
        logs = LOGS / f"{spec['method']}-{Path(str(spec['instance'])).name}"
        logs.parent.mkdir(parents=True, exist_ok=True)
        spec = dict(spec, out=str(Path(tmp) / "out"), log=f"{logs}.highs.log")
        proc, wall, _cpu, peak = run_measured(
            [sys.executable, "-c", RUNNER, json.dumps(spec)], timeout,
            stderr_log=Path(f"{logs}.progress.log"))
        summary_path = Path(spec["out"]) / "summary.json"  # type: ignore[arg-type]
        row: dict[str, object] = {"method": spec["method"], "workers": spec["workers"],
                                  "wall_seconds": round(wall, 1), "peak_rss_mb": round(peak),
                                  "load_avg_1min": round(os.getloadavg()[0], 2),
                                  "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine()}
        if not summary_path.exists():
            row.update(status=failure(proc, keep=300))
            return row
        s = json.loads(summary_path.read_text())
        row.update(status=s["status"], verified=s["verified"], objective=s["objective"],
                   bound=s["bound"], gap=s["gap"], scenarios=len(s["scenarios"]),
                   ef_seconds=s["timings_seconds"].get("recourse_problem"), evpi=s["evpi"],
                   vss=s["vss"], expected_cost=s["expected_cost"],
                   commitments="; ".join(_commitment(c) for c in s["commitments"]))
        return row


def _commitment(c: dict[str, object]) -> str:
    if c["kind"] == "phase":
        return f"{c['site']}/{c['phase']} {c['cooling']} {c['construction_start']}"
    return f"{c['upgrade']} {c['construction_start']}"


def table(rows: list[dict[str, str]]) -> str:
    """CSV rows as a Markdown table."""
    lines = ["| case | method | scenarios | workers | status | gap | EF s | wall s | peak MB | "
             "EVPI | VSS | load |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['method']} | {r['scenarios']} | {r['workers']} | "
                     f"{r['status']} | {pct(r['gap'])} | {num(r['ef_seconds'], 1)} | "
                     f"{num(r['wall_seconds'], 1)} | {r['peak_rss_mb']} | {num(r['evpi'])} | "
                     f"{num(r['vss'])} | {r['load_avg_1min']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen cases, print a table, append rows to the CSV."""
    p = table_parser(__doc__, OUT)
    p.add_argument("--only", nargs="+", choices=("tiny", "vietnam-12", "vietnam-100"),
                   default=["tiny", "vietnam-12", "vietnam-100"])
    p.add_argument("--scenarios", type=int, default=100, help="vietnam-100: scenario count")
    p.add_argument("--workers", type=int, default=2, help="Dask workers of the Vietnam cases")
    p.add_argument("--timeout", type=float, default=3600.0,
                   help="seconds per case before its process group is killed")
    p.add_argument("--time-limit", type=float, default=1800.0,
                   help="vietnam-100: the decomposition's time limit (seconds)")
    args = p.parse_args(argv)
    if args.table:
        print(table(table_rows(p, args.out, args.rows)))
        return 0
    failed = False
    for name in args.only:
        for spec in cases(args.scenarios, args.workers, args.time_limit)[name]:
            row = measure(spec, args.timeout)
            row["case"] = name if name != "vietnam-100" else f"vietnam-{args.scenarios}"
            append_row(args.out, row, FIELDS)
            failed |= not str(row.get("status", "")).startswith(("optimal", "gap"))
            print(f"{row['case']:12} {row['method']:9} {row.get('status')} gap "
                  f"{pct(row.get('gap'))} wall {row['wall_seconds']} s peak "
                  f"{row['peak_rss_mb']} MB evpi {num(row.get('evpi'))} vss "
                  f"{num(row.get('vss'))}", flush=True)
    print(table(read_rows(args.out)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
