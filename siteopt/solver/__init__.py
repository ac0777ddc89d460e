"""Solving: HiGHS options and runs, the solve pipeline, result tables, infeasibility diagnosis."""

#: The names `siteopt solve --method` accepts (`siteopt.solver.methods` implements them);
#: kept here so the command line can list them without importing the solver stack.
METHOD_NAMES = ("auto", "highs", "radius", "race", "benders", "highs-search",
                "highs-rens")
