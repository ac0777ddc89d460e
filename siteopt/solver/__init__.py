"""Solving: HiGHS options and runs, the solve pipeline, result tables, infeasibility diagnosis."""
