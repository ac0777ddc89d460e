"""Importers that turn published benchmark files into ordinary siteopt instance folders."""
