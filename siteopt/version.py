"""siteopt's version: one place, read by the package, the build (pyproject) and the sweeps."""

__version__ = "0.1.0"
