"""Seeded synthetic instances with the structure of the Vietnam instance, from tiny to xl."""
