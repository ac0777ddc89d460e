"""Re-solve with reuse (persistent HiGHS + warm start) against a full rebuild, measured.

    flock /work/heavy.lock python benchmarks/resolve.py [--scenarios N] [--gap G]

Solves a sequence of Vietnam scenarios that change numbers only (the energy tariff) twice:
each one from scratch with `siteopt.solve`, and in order with `siteopt.resolve.Resolver`,
which updates the previous HiGHS object in place and warm-starts it from the previous plan.
Prints the time of each stage and the speed-up, and checks that both paths agree within the
gap. Both paths run on one thread with the same seed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import siteopt
from siteopt.overrides import apply_overrides
from siteopt.resolve import Resolver
from siteopt.solver import SolveOptions


def main() -> None:
    """Run the comparison and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.005)
    parser.add_argument("--time-limit", type=float, default=120)
    args = parser.parse_args()
    base = siteopt.load_instance()
    options = SolveOptions(gap=args.gap, time_limit=args.time_limit)
    tariffs = [70.0 + 2.5 * i for i in range(args.scenarios)]
    scenarios = [apply_overrides(base, {"economics.tariff_usd_per_mwh": t}) for t in tariffs]

    def stages(result: siteopt.Result) -> tuple[float, float, float]:
        t = result.timings
        model = t["data"] + t["build"] + t["handoff"]
        return model, t["solve"], t["total"]

    fresh, again = [], []
    resolver = Resolver(options)
    for inst in scenarios:
        start = time.perf_counter()
        r = siteopt.plan.solve(inst, options)
        fresh.append((r, time.perf_counter() - start))
    for inst in scenarios:
        start = time.perf_counter()
        r = resolver.solve(inst)
        again.append((r, time.perf_counter() - start))
    print(f"vietnam-2026, tariff {tariffs[0]:g}..{tariffs[-1]:g} USD/MWh, gap {args.gap:g}")
    print(f"{'tariff':>7} | {'rebuild: model s':>16} {'solve s':>8} {'wall s':>7} {'obj':>10} |"
          f" {'reuse: model s':>14} {'solve s':>8} {'wall s':>7} {'obj':>10} reused warm")
    for i, t in enumerate(tariffs):
        (a, wa), (b, wb) = fresh[i], again[i]
        ma, sa, _ = stages(a)
        mb, sb, _ = stages(b)
        print(f"{t:7.1f} | {ma:16.3f} {sa:8.2f} {wa:7.2f} {a.objective:10.2f} | {mb:14.3f} "
              f"{sb:8.2f} {wb:7.2f} {b.objective:10.2f} {resolver.stats.reused[i]!s:>6} "
              f"{resolver.stats.warm[i]!s:>4}")
        assert a.verified and b.verified
        assert abs(a.objective - b.objective) <= 2 * args.gap * abs(a.objective)
    later = slice(1, None)  # the first reuse solve has nothing to reuse
    wall_a = sum(w for _, w in fresh[later])
    wall_b = sum(w for _, w in again[later])
    model_a = statistics.median(stages(r)[0] for r, _ in fresh[later])
    model_b = statistics.median(stages(r)[0] for r, _ in again[later])
    print(f"scenarios 2..{len(tariffs)}: rebuild {wall_a:.2f} s, reuse {wall_b:.2f} s, "
          f"speed-up x{wall_a / wall_b:.2f}; modelling layer median {model_a:.3f} s vs "
          f"{model_b:.3f} s")


if __name__ == "__main__":
    main()
