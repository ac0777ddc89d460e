"""siteopt: plan data-center build-outs (sites, phases, cooling, grid power, latency, budgets).

The Python API mirrors the command line::

    import siteopt
    inst = siteopt.load_instance("instances/vietnam-2026")   # or no argument: the bundled one
    result = siteopt.solve(inst, time_limit=60)
    result.tables["schedule"]                                # pandas DataFrames
    table = siteopt.run_scenarios("out", grid={"demand.scale": [0.9, 1.1]})  # a sweep
    two = siteopt.solve_stochastic(inst, "instances/vietnam-2026/scenarios.toml")  # two-stage
    two.commitments(), two.evpi, two.vss; siteopt.write_stochastic(two, "out")
    siteopt.generate_instance(siteopt.GeneratorSpec(sites=20, regions=50, years=5), "gen")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from siteopt.version import __version__

if TYPE_CHECKING:
    from siteopt.data.instance import Instance
    from siteopt.data.load import from_tables, load_instance
    from siteopt.data.overrides import apply_overrides
    from siteopt.decide.alternatives import near_optimal_plans
    from siteopt.decide.value import value_of_inputs
    from siteopt.errors import ExitCode, InputError, Problem, SiteoptError, UnverifiedPlanError
    from siteopt.io.write import write_result
    from siteopt.report import plots
    from siteopt.scenarios.sweep import read_table, run_scenarios
    from siteopt.solver.highs import SolveOptions
    from siteopt.solver.pipeline import Result, build
    from siteopt.stochastic.api import solve_stochastic
    from siteopt.stochastic.output import write_stochastic
    from siteopt.stochastic.result import StochasticResult
    from siteopt.stochastic.spec import load_scenario_set
    from siteopt.synth.generate import GeneratorSpec, generate_instance
    from siteopt.verify.checker import CheckReport, check_plan

#: Where each name of the API lives; imported on first use, so that `python -m siteopt`
#: (which imports this package first) does not load plotting or Dask for a solve.
_LAZY = {
    "CheckReport": "siteopt.verify.checker", "check_plan": "siteopt.verify.checker",
    "ExitCode": "siteopt.errors", "InputError": "siteopt.errors", "Problem": "siteopt.errors",
    "SiteoptError": "siteopt.errors", "UnverifiedPlanError": "siteopt.errors",
    "GeneratorSpec": "siteopt.synth.generate",
    "generate_instance": "siteopt.synth.generate", "Instance": "siteopt.data.instance",
    "from_tables": "siteopt.data.load", "load_instance": "siteopt.data.load",
    "write_result": "siteopt.io.write", "apply_overrides": "siteopt.data.overrides",
    "Result": "siteopt.solver.pipeline", "build": "siteopt.solver.pipeline",
    "SolveOptions": "siteopt.solver.highs",
    "read_table": "siteopt.scenarios.sweep", "run_scenarios": "siteopt.scenarios.sweep",
    "value_of_inputs": "siteopt.decide.value",
    "near_optimal_plans": "siteopt.decide.alternatives",
    "load_scenario_set": "siteopt.stochastic.spec", "write_stochastic": "siteopt.stochastic.output",
    "StochasticResult": "siteopt.stochastic.result", "solve_stochastic": "siteopt.stochastic.api",
}


def __getattr__(name: str) -> object:
    if name == "plots":
        return importlib.import_module("siteopt.report.plots")
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'siteopt' has no attribute {name!r}")




def solve(instance: Instance, *, time_limit: float | None = None, gap: float | None = None,
          threads: int = 1, seed: int = 0, overrides: dict[str, object] | None = None,
          progress: bool = False, strict: bool = True, method: str = "auto") -> Result:
    """Solve an instance and return its verified plan (see `Result`).

    A plan the independent checker rejects raises `UnverifiedPlanError` (its `result`
    holds the plan and `violations`); with `strict=False` it is returned instead, flagged by
    `result.verified == False` and `result.violations`. Results without a plan (infeasible,
    no plan within the limits) are returned either way. `method` is `siteopt solve
    --method`: `auto` (chosen by size and structure) or one of `siteopt.solver.METHOD_NAMES`.
    """
    from siteopt.data.overrides import apply_overrides
    from siteopt.solver.highs import SolveOptions
    from siteopt.solver.pipeline import solve as _solve

    if overrides:
        instance = apply_overrides(instance, overrides)
    options = SolveOptions(time_limit=time_limit, gap=gap, threads=threads, seed=seed,
                           progress=progress, method=method)
    result = _solve(instance, options)
    if strict and result.has_plan and not result.verified:
        from siteopt.errors import UnverifiedPlanError

        raise UnverifiedPlanError(result, result.violations)
    return result


__all__ = [
    "CheckReport", "ExitCode", "GeneratorSpec", "InputError", "Instance", "Problem", "Result",
    "SiteoptError", "SolveOptions", "StochasticResult", "UnverifiedPlanError", "__version__",
    "apply_overrides", "build", "check_plan", "from_tables", "generate_instance",
    "load_instance", "load_scenario_set", "near_optimal_plans", "plots", "read_table",
    "run_scenarios", "solve", "solve_stochastic", "value_of_inputs", "write_result",
    "write_stochastic",
]
