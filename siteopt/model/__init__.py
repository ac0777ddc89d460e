"""The build-out MILP: derived data (`data`) and the Pyomo model (`build`)."""

#: Version of the formulation (models/siteplan.md): raise it whenever a change to the model
#: can change a plan or an objective, so that stored results (sweep scenarios) are not mixed.
FORMULATION_VERSION = 2  # 2: tightening rows, lifted serve_link, polished plans
