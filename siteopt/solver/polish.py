"""The plan a MILP solve reports, made independent of HiGHS's integrality tolerance.

HiGHS accepts an integer column within `mip_feasibility_tolerance` of a whole number: a
closed site's `open` may sit at 1e-6 and still serve 1e-6 MW. Rounding such a plan afterwards
can break a row. So every plan is *polished*: its integer columns are fixed at their rounded
values and the continuous rest is re-solved as an LP. The polished plan is feasible with
exact 0/1 decisions and costs no more than the incumbent with the same decisions.
"""

from __future__ import annotations

import numpy as np

from siteopt.model.compile import Matrices
from siteopt.solver.highs import (
    SolveOptions,
    SolverOutcome,
    new_highs,
    relative_gap,
    run_here,
    set_threads,
)

__all__ = ["polish", "relative_gap"]


def polish(mat: Matrices, outcome: SolverOutcome, options: SolveOptions
           ) -> tuple[SolverOutcome, str | None]:
    """`outcome` with its continuous columns re-solved at the rounded integer decisions.

    Returns the polished outcome and None, or the outcome unchanged and a warning saying why
    it could not be polished (the LP at the rounded decisions was not solved to optimality).
    A plan a method built exactly (`outcome.exact`, e.g. Benders' cheapest-site service) is
    returned as it is.
    """
    if outcome.x is None or not mat.integrality.any() or outcome.exact:
        return outcome, None
    ints = mat.integrality == 1
    lower = mat.col_lower.copy()
    upper = mat.col_upper.copy()
    fixed = np.round(outcome.x[ints])
    lower[ints] = fixed
    upper[ints] = fixed
    h = new_highs()
    h.setOptionValue("output_flag", False)
    set_threads(h, int(options.threads))
    A = mat.A
    n_rows, n_cols, nnz = mat.shape
    h.passModel(n_cols, n_rows, nnz, 1, 1, mat.offset, mat.cost, lower, upper,
                mat.row_lower, mat.row_upper, A.indptr.astype(np.int32, copy=False),
                A.indices.astype(np.int32, copy=False), A.data,
                np.zeros(n_cols, dtype=np.int32))
    run_here(h)
    status = h.modelStatusToString(h.getModelStatus())
    if status != "Optimal":
        return outcome, (f"the plan could not be re-solved at its rounded decisions ({status}); "
                         "it is reported as HiGHS returned it")
    x = np.asarray(h.getSolution().col_value, dtype=float)
    x[ints] = fixed
    objective = float(h.getInfo().objective_function_value)
    # the exact re-solve may land a rounding below HiGHS's bound: a bound above the plan's
    # cost would be no bound, so it is held at the plan's cost
    bound = min(outcome.bound, objective)
    gap = relative_gap(objective, bound)
    polished = SolverOutcome(status=outcome.status, model_status=outcome.model_status, x=x,
                             objective=objective, bound=bound, gap=gap,
                             solve_seconds=outcome.solve_seconds, nodes=outcome.nodes,
                             incumbents=outcome.incumbents,
                             interrupted_by=outcome.interrupted_by,
                             pass_seconds=outcome.pass_seconds)
    return polished, None
