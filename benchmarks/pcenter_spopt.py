"""Benchmark: p-center, siteopt against spopt + CBC on the same problems, side by side.

Cases: spopt's own San Francisco test case (205 census tracts, 16 candidate stores,
network distances, p = 4; `tests/data/spopt/README.md`) and the OR-Library p-median
graphs pmed5 (p = 33) and pmed10 (p = 67) as p-center problems. siteopt gets each as an
instance folder and runs `siteopt solve --out DIR --no-report` as a planner would (`--method
auto`, checker and result tables included; spopt writes no report either). San Francisco:
the stores as sites, the tracts as regions of one unit of demand, the distances as the round
trips of `latency.csv` (1 ms per metre); pmed: as `siteopt import orlib-pmed` writes it
(round trip = shortest-path length), with `siting.objective=max_rtt` and `siting.sites=p`.
spopt runs `PCenter.from_cost_matrix(cost, p).solve(pulp.PULP_CBC_CMD(msg=False))` on the
same distances pivoted to a matrix, in the Python given by `--spopt-python` (an environment
with spopt and PuLP, e.g. `pip install spopt`). Every run is a fresh process, one at a
time; each side runs `--repeat` times and the run of median wall time is reported with the
optimum it found.

    python benchmarks/pcenter_spopt.py --spopt-python /path/to/venv/bin/python
    python benchmarks/pcenter_spopt.py --spopt-python ... --only sf-205x16
    python benchmarks/pcenter_spopt.py --table
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (
    REPO,
    append_row,
    failed,
    failure,
    machine,
    num,
    require_dir,
    run_measured,
    siteopt_cmd,
    table_parser,
    table_rows,
)

DATA = REPO / "tests" / "data" / "spopt" / (
    "SF_network_distance_candidateStore_16_censusTract_205_new.csv")
DEFAULT_OUT = REPO / "benchmarks" / "results" / "pcenter_spopt.csv"
DEFAULT_ORLIB = REPO.parent / "shared" / "benchmarks" / "orlib"
#: case name: p, and the OR-Library pmed file (None: spopt's San Francisco case)
CASES: dict[str, tuple[int, str | None]] = {"sf-205x16": (4, None),
                                            "pmed5-p33": (33, "pmed5.txt"),
                                            "pmed10-p67": (67, "pmed10.txt")}

FIELDS = ["case", "p", "repeat", "siteopt_status", "siteopt_objective", "siteopt_verified",
          "siteopt_method", "siteopt_solve_s", "siteopt_wall_s", "siteopt_peak_mb",
          "spopt_status", "spopt_objective", "spopt_solve_s", "spopt_wall_s", "spopt_peak_mb",
          "spopt_version", "speedup", "machine"]

#: spopt's side, run in the spopt environment: the pivot of spopt's own test, then CBC.
SPOPT = r"""
import json, sys, time
import pandas as pd, pulp, spopt
from spopt.locate import PCenter
t0 = time.perf_counter()
dist = pd.read_csv(sys.argv[1])
cost = dist.pivot_table(values="distance", index="DestinationName", columns="name").to_numpy()
t1 = time.perf_counter()
model = PCenter.from_cost_matrix(cost, p_facilities=int(sys.argv[2]))
model = model.solve(pulp.PULP_CBC_CMD(msg=False))
print(json.dumps({"status": pulp.LpStatus[model.problem.status],
                  "objective": pulp.value(model.problem.objective),
                  "solve": time.perf_counter() - t1, "version": spopt.__version__}))
"""


def sf_instance(out: Path, p: int) -> Path:
    """The San Francisco case of spopt as a siteopt p-center instance folder."""
    from siteopt.io.folder import write_instance

    dist = pd.read_csv(DATA, dtype={"DestinationName": str})
    stores = sorted(dist["name"].unique())
    tracts = sorted(dist["DestinationName"].unique())
    region = {t: f"T{i + 1:03d}" for i, t in enumerate(tracts)}
    tables = {
        "sites": pd.DataFrame({"site": stores, "zone": "grid"}),
        "zones": pd.DataFrame({"zone": ["grid"]}),
        "cooling": pd.DataFrame({"cooling": ["none"], "pue": [1.0]}),
        "headroom": pd.DataFrame({"zone": ["grid"], "year": [2026],
                                  "headroom_mw": [float(len(tracts) * len(stores))]}),
        "phases": pd.DataFrame({"site": stores, "phase": "P1", "it_mw": float(len(tracts)),
                                "capex_usd_m": 0.0, "fixed_om_usd_m_per_year": 0.0,
                                "lead_months": 0}),
        "regions": pd.DataFrame({"region": [region[t] for t in tracts], "node": ""}),
        "classes": pd.DataFrame({"class": ["load"]}),
        "demand": pd.DataFrame({"region": [region[t] for t in tracts], "class": "load",
                                "year": 2026, "it_mw": 1.0}),
        "latency": pd.DataFrame({"site": dist["name"],
                                 "region": dist["DestinationName"].map(region),
                                 "rtt_ms": dist["distance"]}),
    }
    meta = {"name": "spopt-sf-pcenter",
            "description": ("spopt's San Francisco p-center test case: 16 stores, 205 tracts, "
                            "network distance in metres as the round trip in ms."),
            "horizon": {"first_year": 2026, "last_year": 2026},
            "service": {"allow_unserved": False, "max_utilization": 1.0},
            "siting": {"objective": "max_rtt", "sites": p},
            "solver": {"gap": 0.0}}
    return write_instance(out, meta, tables, readme=(
        "spopt's San Francisco p-center case (tests/data/spopt/README.md); every "
        "number is from that file.\n"))


def pmed_case(source: Path, work: Path) -> tuple[Path, Path]:
    """An OR-Library pmed graph: siteopt's instance folder and the distances, long format."""
    import networkx as nx

    from siteopt.io.orlib import pmedian_instance, read_pmed

    problem = read_pmed(source)
    folder = pmedian_instance(problem, work / problem.name)
    dist = dict(nx.all_pairs_dijkstra_path_length(problem.graph, weight="length"))
    rows = [(float(d), f"V{i}", f"V{j}") for i, row in dist.items() for j, d in row.items()]
    long = work / f"{problem.name}-distances.csv"
    pd.DataFrame(rows, columns=["distance", "name", "DestinationName"]).to_csv(long, index=False)
    return folder, long


def run_siteopt(folder: Path, work: Path, p: int) -> dict[str, object]:
    """One `siteopt solve` of a case in a fresh process."""
    res = work / "result"
    proc, wall, _cpu, peak = run_measured(
        siteopt_cmd("solve", str(folder), "--out", str(res), "--quiet", "--no-report",
                    "--set", "siting.objective=max_rtt", "--set", f"siting.sites={p}"),
        timeout=900)
    if proc.returncode != 0:
        return {"siteopt_status": failure(proc)}
    s = json.loads((res / "summary.json").read_text())
    return {"siteopt_status": s["status"], "siteopt_objective": s["objective"],
            "siteopt_verified": s["verified"], "siteopt_method": s["method"]["name"],
            "siteopt_solve_s": round(s["timings_seconds"].get("solve", 0.0), 3),
            "siteopt_wall_s": round(wall, 3), "siteopt_peak_mb": round(peak)}


def run_spopt(python: str, distances: Path, p: int) -> dict[str, object]:
    """One spopt + CBC solve of a case in a fresh process of `python`."""
    proc, wall, _cpu, peak = run_measured([python, "-c", SPOPT, str(distances), str(p)],
                                          timeout=900)
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"spopt_status": failure(proc)}
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"spopt_status": r["status"], "spopt_objective": r["objective"],
            "spopt_solve_s": round(r["solve"], 3), "spopt_wall_s": round(wall, 3),
            "spopt_peak_mb": round(peak), "spopt_version": r["version"]}


def median_row(runs: list[dict[str, object]], side: str) -> dict[str, object]:
    """The run of median wall time of one side (its other fields kept with it)."""
    ok = [r for r in runs if isinstance(r.get(f"{side}_wall_s"), float)]
    if not ok:
        return runs[-1]
    wall = statistics.median_low(r[f"{side}_wall_s"] for r in ok)  # type: ignore[misc]
    return next(r for r in ok if r[f"{side}_wall_s"] == wall)


def markdown_table(rows: list[dict[str, str]]) -> str:
    """One line per measurement: both sides' optimum, median wall and solve seconds."""
    lines = ["| case | p | runs | siteopt status | worst distance | method | solve s | wall s | "
             "peak MB | spopt + CBC status | worst distance | solve s | wall s | peak MB | "
             "speed-up (wall) |", "|" + "---|" * 15]
    for r in rows:
        lines.append(
            f"| {r['case']} | {r['p']} | {r['repeat']} | {r['siteopt_status']} | "
            f"{num(r.get('siteopt_objective'))} | {r.get('siteopt_method')} | "
            f"{num(r.get('siteopt_solve_s'))} | {num(r.get('siteopt_wall_s'))} | "
            f"{num(r.get('siteopt_peak_mb'), 0)} | {r.get('spopt_status')} | "
            f"{num(r.get('spopt_objective'))} | {num(r.get('spopt_solve_s'))} | "
            f"{num(r.get('spopt_wall_s'))} | {num(r.get('spopt_peak_mb'), 0)} | "
            f"{num(r.get('speedup'))} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line of the benchmark; exit 1 when a measured run failed (its row says why)."""
    ap = table_parser(__doc__, DEFAULT_OUT)
    ap.add_argument("--spopt-python", help="Python of an environment with spopt and PuLP")
    ap.add_argument("--repeat", type=int, default=3, help="runs per side (median reported)")
    ap.add_argument("--orlib", type=Path, default=DEFAULT_ORLIB, help="OR-Library folder")
    ap.add_argument("--only", nargs="*", help=f"cases to run (default: all of {list(CASES)})")
    args = ap.parse_args(argv)
    if args.table:
        print(f"Machine: {machine()}\n")
        print(markdown_table(table_rows(ap, args.out, args.rows)))
        return 0
    if not args.spopt_python:
        ap.error("--spopt-python is required to measure (spopt is not a siteopt dependency)")
    if not Path(args.spopt_python).is_file():
        ap.error(f"--spopt-python {args.spopt_python}: no such file (the Python of an "
                 "environment with spopt and PuLP)")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    unknown = set(args.only or ()) - set(CASES)
    if unknown:
        ap.error(f"unknown cases {sorted(unknown)}; one of {list(CASES)}")
    if any(CASES[c][1] for c in (args.only or CASES)):
        require_dir(ap, args.orlib, "--orlib", "the OR-Library pmed files of the pmed cases; "
                    "--only sf-205x16 needs none")
    broken = False
    for case, (p, pmed) in CASES.items():
        if args.only and case not in args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="siteopt-pcenter-") as tmp:
            work = Path(tmp)
            if pmed is None:
                folder, distances = sf_instance(work / "sf", p), DATA
            else:
                folder, distances = pmed_case(args.orlib / "pmed" / pmed, work)
            ours = [run_siteopt(folder, work, p) for _ in range(args.repeat)]
            theirs = [run_spopt(args.spopt_python, distances, p) for _ in range(args.repeat)]
        row: dict[str, object] = {"case": case, "p": p, "repeat": args.repeat,
                                  "machine": machine()}
        row.update(median_row(ours, "siteopt"))
        row.update(median_row(theirs, "spopt"))
        a, b = row.get("siteopt_wall_s"), row.get("spopt_wall_s")
        if isinstance(a, float) and isinstance(b, float) and a > 0:
            row["speedup"] = round(b / a, 2)
        append_row(args.out, row, FIELDS)
        broken |= failed(row)
        print(markdown_table([{k: str(v) for k, v in row.items()}]), flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
