"""Expectation and CVaR of a discrete cost distribution, and the risk-weighted objective.

CVaR_alpha (Rockafellar-Uryasev) = min_eta eta + E[(cost - eta)+] / (1 - alpha): the mean of
the worst (1 - alpha) probability mass of costs; alpha = 0 gives the expectation and alpha -> 1
the worst case. The objective of a two-stage solve is (1 - lambda) E + lambda CVaR_alpha. Both
are monotone in each scenario's cost, so scenario-wise lower bounds give a lower bound of it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from siteopt.stochastic.spec import Risk


def expectation(costs: Sequence[float], probabilities: Sequence[float]) -> float:
    """sum_i p_i cost_i."""
    return math.fsum(p * c for p, c in zip(probabilities, costs, strict=True))


def _infinite(costs: Sequence[float]) -> float | None:
    """+inf if some cost is +inf (a scenario without a plan), else -inf if some is -inf.

    A -inf cost is a lower bound with nothing known below it: whatever the others, the
    objective is then bounded by nothing better than -inf, never +inf (monotone in each).
    """
    if any(c == math.inf for c in costs):
        return math.inf
    if any(c == -math.inf for c in costs):
        return -math.inf
    return None


def cvar(costs: Sequence[float], probabilities: Sequence[float], alpha: float) -> float:
    """CVaR_alpha of the distribution: the mean of its worst (1 - alpha) probability tail."""
    infinite = _infinite(costs)
    if infinite is not None:
        return infinite
    tail = 1.0 - alpha
    if tail <= 0:
        return max(costs)
    left, total = tail, 0.0
    for c, p in sorted(zip(costs, probabilities, strict=True), reverse=True):
        take = min(p, left)
        total += take * c
        left -= take
        if left <= 1e-15:
            break
    return total / tail


def risk_objective(costs: Sequence[float], probabilities: Sequence[float], risk: Risk) -> float:
    """(1 - lambda) E[cost] + lambda CVaR_alpha[cost], the two-stage objective's value.

    +inf if a scenario has no plan; -inf if a scenario's cost is a bound of -inf.
    """
    infinite = _infinite(costs)
    if infinite is not None:
        return infinite
    e = expectation(costs, probabilities)
    if not risk.active:
        return e
    return (1.0 - risk.weight) * e + risk.weight * cvar(costs, probabilities, risk.alpha)
