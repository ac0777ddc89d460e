"""Pre-solve checks: what the data alone proves about feasibility, before any model."""
