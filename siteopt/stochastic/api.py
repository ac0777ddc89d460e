"""`siteopt.solve_stochastic`: the API of `siteopt solve INSTANCE --scenarios FILE`."""

from __future__ import annotations

from pathlib import Path

from siteopt.data.instance import Instance
from siteopt.errors import UnverifiedPlanError
from siteopt.solver.highs import SolveOptions
from siteopt.stochastic.engine import StochasticOptions
from siteopt.stochastic.engine import solve_stochastic as _solve
from siteopt.stochastic.result import StochasticResult
from siteopt.stochastic.spec import ScenarioSet, load_scenario_set


def solve_stochastic(instance: Instance, scenarios: ScenarioSet | str | Path, *,
                     method: str = "auto", workers: int | None = 0,
                     scheduler: str | None = None, time_limit: float | None = None,
                     gap: float | None = None, compare: bool = True,
                     strict: bool = True) -> StochasticResult:
    """Two-stage stochastic solve of `instance` over a scenario file (or `ScenarioSet`).

    The API of `siteopt solve INSTANCE --scenarios FILE --method extensive|decompose`:
    here-and-now commitments (`commitments()`), each scenario's checked plan (`plans`), cost
    distribution, EVPI and VSS (with `compare`). `time_limit` and `gap` apply to each HiGHS
    run; `time_limit` also bounds a decomposition's run after its wait-and-see round (as
    `--time-limit` does). With `strict`, a scenario plan the checker rejects raises
    `UnverifiedPlanError`.
    """
    sset = (scenarios if isinstance(scenarios, ScenarioSet)
            else load_scenario_set(scenarios, instance))
    result = _solve(instance, sset, SolveOptions(time_limit=time_limit, gap=gap),
                    StochasticOptions(method=method, workers=workers, scheduler=scheduler,
                                      compare=compare, time_limit=time_limit))
    if strict and result.has_plan and not result.verified:
        raise UnverifiedPlanError(result, result.violations)
    return result
