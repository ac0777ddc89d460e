"""Benchmark: the N-1 fibre-cut pruning (models/siteplan.md §8) on a generated instance.

Generates `siteopt generate OUT --preset large` (or reads a given folder), loads it, then
times `siteopt.data.resilience.n1_latency` — the worst round trip over single-link failures
for every connected (site, region) pair, by one Dijkstra per link of the sites' shortest-path
trees — and, for comparison, the intact latency table and the pruned pair count. Target
(issue 16): the pruning within 30 s on two cores.

    python benchmarks/n1_pruning.py [INSTANCE] [--preset large] [--out results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import run_checked, siteopt_cmd  # also puts this checkout's siteopt first


def measure(folder: Path) -> dict[str, float]:
    """Seconds of the intact latency table and of the N-1 pruning, with the sizes."""
    from siteopt.data.load import load_instance
    from siteopt.data.network import instance_graph, latency_table
    from siteopt.data.resilience import n1_latency

    inst = load_instance(folder)
    tables, meta = inst.tables, inst.meta
    t = time.perf_counter()
    graph = instance_graph(tables, meta.latency)
    lat = latency_table(graph, tables["sites"], tables["regions"], meta.latency)
    intact_s = time.perf_counter() - t
    t = time.perf_counter()
    worst = n1_latency(tables, meta.latency, lat)
    n1_s = time.perf_counter() - t
    rtt = lat["rtt_ms"].to_numpy()
    return {"nodes": graph.number_of_nodes(), "links": len(tables["links"]),
            "sites": len(tables["sites"]), "regions": len(tables["regions"]),
            "pairs": len(lat), "intact_seconds": round(intact_s, 3),
            "n1_seconds": round(n1_s, 3),
            "pairs_disconnected_by_one_cut": int(np.isinf(worst).sum()),
            "pairs_slower_after_worst_cut": int((worst > rtt + 1e-9).sum())}


def main(argv: list[str] | None = None) -> int:
    """Generate (or read) the instance, measure, print and optionally write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("instance", nargs="?", type=Path)
    from siteopt.cli.main import PRESET_NAMES  # the generator's presets, without its stack

    parser.add_argument("--preset", default="large", choices=PRESET_NAMES)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.instance is not None and not args.instance.is_dir():
        parser.error(f"{args.instance}: no such instance folder")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.instance
        if folder is None:
            folder = Path(tmp) / args.preset
            run_checked(siteopt_cmd("generate", str(folder), "--preset", args.preset),
                        "siteopt generate")
        result = measure(folder)
    result["instance"] = str(args.instance or f"generate --preset {args.preset}")
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
