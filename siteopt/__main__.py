"""`python -m siteopt` runs the command line."""

import sys

from siteopt.cli import main

sys.exit(main())
