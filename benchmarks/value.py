"""Benchmark: `siteopt value` on vietnam-2026 against one solve (issue 13), fresh processes.

Each run measures `siteopt solve` (the "one solve" of the target) and then `siteopt value`
with the default ladder (every binding zone-year and budget) on a local Dask cluster, with
the screen of the largest relaxations (`screen`) or without it (`no-screen`), and appends a
row to benchmarks/results/value.csv. Target: the value run in <= 10 x one solve. Each
mode's value folder is kept in /tmp/siteopt-value-bench/<mode>/ (not committed), so that the
two modes' curves can be compared point by point.

    python benchmarks/value.py                       # screen, then no-screen
    python benchmarks/value.py --modes screen        # one mode
    python benchmarks/value.py --table               # Markdown table of the CSV
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    REPO,
    append_row,
    machine,
    num,
    read_rows,
    run_measured,
    siteopt_cmd,
    table_parser,
    table_rows,
)

OUT = REPO / "benchmarks" / "results" / "value.csv"
#: each mode's `siteopt value --out` folder of the last run (not committed)
KEPT = Path("/tmp") / "siteopt-value-bench"
FIELDS = ["instance", "mode", "workers", "one_solve_seconds", "wall_seconds", "ratio",
          "base_solve_seconds", "re_solves", "points", "not_computed", "all_verified",
          "screen_candidates", "screen_solves", "screen_seconds", "screen_save",
          "screen_save_nothing", "peak_rss_mb", "load_avg_1min", "date", "machine"]


def measure(instance: Path | None, mode: str, workers: int, max_seconds: float,
            timeout: float) -> dict[str, object]:
    """One `siteopt solve` and one `siteopt value` run; the row of the CSV.

    `instance` None is the bundled vietnam-2026 (siteopt's default instance).
    """
    load = os.getloadavg()[0]
    kept = KEPT / mode
    shutil.rmtree(kept, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        # absolute: the runs start in the checkout, not in the caller's folder
        folder = [] if instance is None else [str(instance.resolve())]
        solved, one, _cpu, _rss = run_measured(
            siteopt_cmd("solve", *folder, "--out", f"{tmp}/solve", "--quiet"), timeout)
        if solved.returncode != 0:
            raise SystemExit(f"siteopt solve failed: {solved.stderr[-2000:]}")
        flags = ["--no-screen"] if mode == "no-screen" else []
        done, wall, _cpu, rss = run_measured(siteopt_cmd(
            "value", *folder, "--workers", str(workers), "--max-seconds", str(max_seconds),
            "--out", str(kept), "--no-report", "--quiet", *flags), timeout)
        if done.returncode != 0:
            raise SystemExit(f"siteopt value failed: {done.stderr[-2000:]}")
    summary = json.loads((kept / "summary.json").read_text())
    screen = summary.get("screen") or {}
    name = "vietnam-2026" if instance is None else instance.resolve().name
    return {"instance": name, "mode": mode, "workers": workers,
            "one_solve_seconds": round(one, 1), "wall_seconds": round(wall, 1),
            "ratio": round(wall / one, 1), "base_solve_seconds":
            round(float(summary["base_solve_seconds"]), 1), "re_solves": summary["re_solves"],
            "points": sum(summary["points"].values()), "not_computed": summary["not_computed"],
            "all_verified": summary["all_verified"],
            "screen_candidates": screen.get("candidates", ""),
            "screen_solves": screen.get("solves", ""),
            "screen_seconds": round(float(screen["seconds"]), 1) if screen else "",
            "screen_save": screen.get("save", ""),
            "screen_save_nothing": screen.get("save_nothing", ""),
            "peak_rss_mb": round(rss), "load_avg_1min": round(load, 2),
            "date": time.strftime("%Y-%m-%d"), "machine": machine()}


def compare(modes: list[str]) -> str:
    """How far the two modes' curves agree, point by point, when this run measured both.

    A folder kept from an earlier run may be of another instance or another ladder (and
    /tmp is shared): its curves say nothing about this run's.
    """
    import pandas as pd

    if not {"screen", "no-screen"} <= set(modes):
        return "compare: only a run of both modes (the default) compares their curves"
    res = max(float(json.loads((KEPT / m / "summary.json").read_text())["resolution_usd_m"])
              for m in ("screen", "no-screen"))
    out = []
    for name in ("headroom_values.csv", "budget_values.csv", "site_cap_values.csv",
                 "latency_values.csv"):
        a, b = (pd.read_csv(KEPT / m / name) for m in ("screen", "no-screen"))
        diff = (a["objective"] - b["objective"]).abs()
        both = a["objective"].notna() & b["objective"].notna()
        off = int((diff[both] > 2 * res).sum()) + int((a["objective"].isna()
                                                       != b["objective"].isna()).sum())
        out.append(f"{name}: {len(a)} points, {off} differ by more than twice the "
                   f"resolution ({2 * res:.2f} USD M); largest difference "
                   f"{diff[both].max() if both.any() else 0:.3f}")
    return "\n".join(out)


def table(rows: list[dict[str, str]]) -> str:
    """CSV rows as a Markdown table."""
    lines = ["| instance | mode | one solve (s) | value (s) | ratio | re-solves | screen "
             "(candidates / solves / s) | points (not computed) | verified |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        screen = (f"{r['screen_candidates']} / {r['screen_solves']} / "
                  f"{num(r['screen_seconds'], 1)}" if r["screen_candidates"] else "-")
        lines.append(f"| {r['instance']} | {r['mode']} | {num(r['one_solve_seconds'], 1)} | "
                     f"{num(r['wall_seconds'], 1)} | {r['ratio']} | {r['re_solves']} | "
                     f"{screen} | {r['points']} ({r['not_computed']}) | "
                     f"{r['all_verified']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the modes, print a table, append rows to the CSV."""
    p = table_parser(__doc__, OUT)
    p.add_argument("--instance", type=Path,
                   help="instance folder (default: the bundled vietnam-2026)")
    p.add_argument("--modes", nargs="+", choices=("screen", "no-screen"),
                   default=["screen", "no-screen"])
    p.add_argument("--workers", type=int, default=2, help="Dask workers of `siteopt value`")
    p.add_argument("--max-seconds", type=float, default=1800.0,
                   help="`siteopt value --max-seconds`: its own time budget")
    p.add_argument("--timeout", type=float, default=3600.0,
                   help="seconds per run before its process group is killed")
    args = p.parse_args(argv)
    if args.table:
        print(table(table_rows(p, args.out, args.rows)))
        return 0
    if args.instance is not None and not args.instance.is_dir():
        p.error(f"--instance {args.instance}: no such folder")
    for mode in args.modes:
        row = measure(args.instance, mode, args.workers, args.max_seconds, args.timeout)
        append_row(args.out, row, FIELDS)
        print(f"{mode:10} one solve {row['one_solve_seconds']} s, value "
              f"{row['wall_seconds']} s ({row['ratio']} x), {row['re_solves']} re-solves, "
              f"{row['not_computed']} not computed", flush=True)
    print(table(read_rows(args.out)))
    print(compare(args.modes))
    return 0

if __name__ == "__main__":
    sys.exit(main())
