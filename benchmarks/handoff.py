"""Benchmark: the ways Pyomo can hand siteopt's model to HiGHS, timed on the same model.

Each method runs in a fresh process that first builds the model (not timed), then times
only the hand-off: everything until HiGHS holds the model and could start solving.

* `siteopt`: siteopt's compiler (array families taken whole, the rest through Pyomo's
  standard-form compiler) and highspy's array `passModel`, the path every solve takes;
* `pyomo-standard-form`: Pyomo's `LinearStandardFormCompiler` over the whole model (every
  row through Pyomo's expression walker), then the same `passModel`;
* `lp-file`: Pyomo's LP writer to a file, read by highspy;
* `mps-file`: Pyomo's MPS writer to a file, read by highspy;
* `appsi`: the APPSI persistent interface (`appsi_highs`, `set_instance`);
* `contrib`: the `pyomo.contrib.solver` HiGHS interface (`highs`), a 0-second solve (its
  model loading cannot be called alone).

    python benchmarks/handoff.py INSTANCE [--methods siteopt lp-file ...] [--timeout S]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import failure, num, run_measured

METHODS = ("siteopt", "pyomo-standard-form", "lp-file", "mps-file", "appsi", "contrib")

WORKER = r"""
import json, sys, time, tempfile, os
from pyomo.common.gc_manager import PauseGC
import pyomo.environ as pyo
import highspy
from siteopt.data.load import load_instance
from siteopt.model.build import create_model
from siteopt.model.data import build_data

method, path = sys.argv[1], sys.argv[2]
m = create_model(build_data(load_instance(path)))
t = time.perf_counter()
with PauseGC():
    if method == "siteopt":
        from siteopt.model.compile import compile_model
        from siteopt.solver.highs import SolveOptions, to_highs
        h = to_highs(compile_model(m), SolveOptions())
        size = h.getNumCol(), h.getNumRow(), h.getNumNz()
    elif method == "pyomo-standard-form":
        import numpy as np
        from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler
        info = LinearStandardFormCompiler().write(m, mixed_form=True)
        A = info.A.tocsc()
        sense = np.array([mult for _c, mult in info.rows])
        rhs = np.asarray(info.rhs, dtype=float)
        cols = info.columns
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.passModel(len(cols), A.shape[0], A.nnz, 1, 1, float(info.c_offset[0]),
                    np.asarray(info.c.toarray()).ravel(),
                    np.array([-1e30 if v.lb is None else v.lb for v in cols]),
                    np.array([1e30 if v.ub is None else v.ub for v in cols]),
                    np.where(sense == 1, -1e30, rhs), np.where(sense == -1, 1e30, rhs),
                    A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data,
                    np.array([1 if v.is_integer() else 0 for v in cols], dtype=np.int32))
        size = h.getNumCol(), h.getNumRow(), h.getNumNz()
    elif method in ("lp-file", "mps-file"):
        ext = "lp" if method == "lp-file" else "mps"
        f = os.path.join(tempfile.mkdtemp(), "model." + ext)
        m.write(f)
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.readModel(f)
        size = h.getNumCol(), h.getNumRow(), h.getNumNz()
    elif method == "appsi":
        opt = pyo.SolverFactory("appsi_highs")
        opt.set_instance(m)
        size = None
    elif method == "contrib":
        from pyomo.contrib.solver.common.factory import SolverFactory
        opt = SolverFactory("highs")
        opt.solve(m, time_limit=0.0, load_solutions=False,
                  raise_exception_on_nonoptimal_result=False)
        size = None
print(json.dumps({"seconds": time.perf_counter() - t, "size": size}))
"""


def main(argv: list[str] | None = None) -> int:
    """Command line: time each hand-off method on one instance and print a table.

    Exit 1 when a method failed (its row says why), 0 when every one was timed.
    """
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance", type=Path, help="instance folder")
    ap.add_argument("--methods", nargs="*", default=list(METHODS), choices=METHODS)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per method")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    results = {}
    broken = False
    print("| method | hand-off s | peak MB | columns, rows, nonzeros in HiGHS |")
    print("|---|---|---|---|")
    for method in args.methods:
        proc, _wall, _cpu, peak = run_measured(
            [sys.executable, "-c", WORKER, method, str(args.instance.resolve())],
            timeout=args.timeout)
        if proc.returncode == 0:
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            results[method] = {**out, "peak_mb": round(peak)}
            size = out["size"] or "–"
            print(f"| {method} | {num(out['seconds'])} | {round(peak):,} | {size} |",
                  flush=True)
        else:
            results[method] = {"error": failure(proc, keep=300)}
            broken = True
            print(f"| {method} | failed: {results[method]['error'][-80:]} | | |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
