"""The independent checker: re-verifies a plan against the raw instance, without the model."""
