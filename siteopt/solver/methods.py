"""Solve methods: how the compiled model is handed to HiGHS, chosen by `--method`.

Every method returns a `SolverOutcome` whose bound is a valid bound of the model and whose
plan (if any) the pipeline polishes and checks like any other. `auto` picks a method by the
model's size and structure; the choice and each phase's time are recorded in summary.json.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from siteopt.model.compile import Matrices
from siteopt.model.data import ModelData
from siteopt.solver.highs import SolveOptions, SolverOutcome, solve_matrices


@dataclass
class MethodReport:
    """Which method ran (and which was asked for) and what each of its phases took."""

    requested: str
    name: str = ""
    reason: str = ""
    phases: list[dict[str, object]] = field(default_factory=list)

    def phase(self, name: str, seconds: float, outcome: SolverOutcome | None = None,
              **extra: object) -> None:
        """Record one phase (e.g. a heuristic, a HiGHS run, a decomposition round)."""
        row: dict[str, object] = {"phase": name, "seconds": round(seconds, 3)}
        if outcome is not None:
            row.update(status=outcome.status, objective=_finite(outcome.objective),
                       bound=_finite(outcome.bound), nodes=outcome.nodes)
        row.update(extra)
        self.phases.append(row)

    def as_json(self) -> dict[str, object]:
        """The `method` entry of summary.json."""
        return {"requested": self.requested, "name": self.name, "reason": self.reason,
                "phases": self.phases}


Method = Callable[[Matrices, ModelData, SolveOptions, MethodReport], SolverOutcome]


def run_highs(mat: Matrices, data: ModelData, options: SolveOptions,
              report: MethodReport) -> SolverOutcome:
    """One HiGHS branch-and-cut run on the whole model."""
    start = time.perf_counter()
    outcome = solve_matrices(mat, options)
    report.phase("highs", time.perf_counter() - start, outcome)
    return outcome


#: Every method by name (`auto` is resolved by `choose`).
METHODS: dict[str, Method] = {"highs": run_highs}


def choose(mat: Matrices, data: ModelData, options: SolveOptions) -> tuple[str, str]:
    """The method `auto` runs for this model, and why."""
    return "highs", "one HiGHS run on the strengthened model"


def run_method(mat: Matrices, data: ModelData, options: SolveOptions
               ) -> tuple[SolverOutcome, MethodReport]:
    """Run the method `options.method` asks for (resolving `auto`)."""
    report = MethodReport(requested=options.method)
    name = options.method
    if name == "auto":
        name, report.reason = choose(mat, data, options)
    elif name not in METHODS:
        raise ValueError(f"unknown method {name!r}; one of auto, {', '.join(METHODS)}")
    report.name = name
    return METHODS[name](mat, data, options, report), report


def _finite(x: float) -> float | None:
    return None if x != x or abs(x) == float("inf") else float(x)
