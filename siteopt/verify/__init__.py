"""The independent checker: re-verifies a plan against the raw instance, without the model."""

# the resilience rules ([resilience.CLASS]) add themselves to checker.RULES when imported
from siteopt.verify import resilience as _resilience  # noqa: F401
