"""Two-stage stochastic build-out: plans that hold up when demand, grid and tariffs are uncertain.

`spec.py` reads and validates a scenario file (decision year, scenarios with probabilities and
overrides, risk settings); `firststage.py` says which decisions are here-and-now (construction
or spending starts on or before the decision year) and how they are read from a plan or fixed
in a model; `extensive.py` builds the extensive form from one ordinary `create_model` block per
scenario joined by non-anticipativity rows; `blocks.py` solves such a model (or a single
scenario with a fixed first stage) through the ordinary compile, HiGHS, polish and checker;
`measures.py` holds expectation and CVaR; `engine.py` runs the whole analysis (recourse problem,
wait-and-see, mean-value plan, EVPI, VSS) and `decompose.py` the bounded decomposition for many
scenarios on Dask; `output.py` writes the result folder. The formulation is
`models/stochastic.md`.
"""
