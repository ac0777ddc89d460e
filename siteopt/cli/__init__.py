"""The `siteopt` command line."""
