"""Many solves: sensitivity sweeps on Dask and batch runs against expected results."""
