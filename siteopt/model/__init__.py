"""The build-out MILP: derived data (`data`) and the Pyomo model (`build`)."""
