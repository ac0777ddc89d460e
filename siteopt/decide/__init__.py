"""Decisions around an optimal plan: what scarce inputs are worth, and near-optimal alternatives.

`value.py` (value of grid headroom, budgets, site caps and latency targets by re-solves, and
of demand by LP duals of the fixed plan), `alternatives.py` (near-optimal plans that differ
from the optimum and from each other), both on `engine.py` (the base plan, warm-started
re-solves through the ordinary pipeline and checker, in-process or on Dask).
"""
