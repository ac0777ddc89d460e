"""siteopt: plan data-center build-outs (sites, phases, cooling, grid power, latency, budgets).

The Python API mirrors the command line::

    import siteopt
    inst = siteopt.load_instance("instances/vietnam-2026")   # or no argument: the bundled one
    result = siteopt.solve(inst, time_limit=60)
    result.tables["schedule"]                                # pandas DataFrames
    table = siteopt.run_scenarios("out", grid={"demand.scale": [0.9, 1.1]})  # a sweep
    siteopt.generate_instance(siteopt.GeneratorSpec(sites=20, regions=50, years=5), "gen")
"""

from __future__ import annotations

from siteopt import plots
from siteopt.checker import CheckReport, check_plan
from siteopt.errors import ExitCode, InputError, Problem, SiteoptError
from siteopt.generate import GeneratorSpec, generate_instance
from siteopt.instance import Instance, from_tables, load_instance
from siteopt.output import write_result
from siteopt.overrides import apply_overrides
from siteopt.plan import Result, build
from siteopt.plan import solve as _solve
from siteopt.solver import SolveOptions
from siteopt.sweep import read_table, run_scenarios

__version__ = "0.1.0"


def solve(instance: Instance, *, time_limit: float | None = None, gap: float | None = None,
          threads: int = 1, seed: int = 0, overrides: dict[str, object] | None = None,
          progress: bool = False) -> Result:
    """Solve an instance and return its verified plan (see `Result`)."""
    if overrides:
        instance = apply_overrides(instance, overrides)
    options = SolveOptions(time_limit=time_limit, gap=gap, threads=threads, seed=seed,
                           progress=progress)
    return _solve(instance, options)


__all__ = [
    "CheckReport", "ExitCode", "GeneratorSpec", "InputError", "Instance", "Problem", "Result",
    "SiteoptError", "SolveOptions", "apply_overrides", "build", "check_plan", "from_tables",
    "generate_instance", "load_instance", "plots", "read_table", "run_scenarios", "solve",
    "write_result",
]
