"""The options of a two-stage solve and its unit of parallel work: one scenario's solve."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from siteopt.data.instance import Instance
from siteopt.solver.highs import SolveOptions
from siteopt.stochastic.blocks import BlockSolve, solve_blocks
from siteopt.stochastic.firststage import FirstStage
from siteopt.stochastic.spec import Risk

#: Receives progress events: {"phase": str, "done": int, "total": int, ...bound, incumbent}.
Listener = Callable[[dict[str, object]], None]

#: `auto` uses the extensive form up to this many scenarios, the decomposition beyond.
EXTENSIVE_MAX = 24
METHODS = ("auto", "extensive", "decompose")


@dataclass(frozen=True)
class StochasticOptions:
    """How a two-stage problem is solved and what is compared with it."""

    method: str = "auto"
    workers: int | None = 0
    scheduler: str | None = None
    #: compute wait-and-see, mean-value and deterministic comparisons (EVPI, VSS)
    compare: bool = True
    #: decomposition: stop at this relative gap, after this many candidates or seconds
    #: (the time limit is read after each scenario solve once the wait-and-see round, which
    #: gives the first bound, is done; a candidate or Lagrangian round it cuts short is
    #: dropped, since an expected cost or a Lagrangian bound needs every scenario)
    target_gap: float = 0.02
    max_candidates: int = 8
    time_limit: float | None = None
    #: decomposition, expectation objective: Lagrangian (subgradient, Polyak step) rounds
    #: that raise the bound above wait-and-see
    lagrangian_rounds: int = 4
    #: decomposition, expectation objective: scenarios per group of the group bound (the
    #: extensive form of each group of this many scenarios; 1: no group round)
    group_size: int = 2
    #: relative gap of the comparison solves (wait-and-see, mean-value, deterministic and
    #: their evaluations); None: the same as the recourse problem's
    compare_gap: float | None = None


def solve_one(inst: Instance, decision_year: int, options: SolveOptions,
              fixed: FirstStage | None = None, floor: float | None = None) -> BlockSolve:
    """One scenario alone: its wait-and-see plan, or its recourse to fixed commitments.

    `floor`: a proven lower bound of its cost (e.g. its wait-and-see bound for a recourse),
    see `solve_blocks`.
    """
    return solve_blocks([inst], [1.0], decision_year, Risk(), options, fixed, floor=floor)


def solve_group(insts: list[Instance], probabilities: list[float], decision_year: int,
                options: SolveOptions, floor: float | None = None) -> BlockSolve:
    """The extensive form of a group of scenarios (conditional probabilities), expectation.

    `floor`: a proven lower bound of its expected cost (e.g. the probability-weighted
    wait-and-see bounds of its scenarios), see `solve_blocks`.
    """
    return solve_blocks(insts, probabilities, decision_year, Risk(), options, floor=floor)


def solve_priced(inst: Instance, decision_year: int, options: SolveOptions,
                 penalty: dict[tuple, float], only: set[tuple]) -> BlockSolve:
    """One scenario's Lagrangian subproblem: cost + sum w * started, starts outside `only` 0."""
    return solve_blocks([inst], [1.0], decision_year, Risk(), options, penalty=penalty,
                        only=only)


def quiet(options: SolveOptions) -> SolveOptions:
    """The options of a background single-scenario solve: no progress, no log file."""
    return replace(options, progress=False, log_file=None)


