"""`python -m siteopt` runs the command line."""

import sys

from siteopt.cli.main import main

sys.exit(main())
