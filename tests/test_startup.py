"""Start-up: `siteopt --help` and usage errors import none of the heavy libraries.

Not a timing test (the machine's load would make it flaky): it checks `sys.modules` in a
fresh interpreter, which is what start-up time follows (`python -X importtime` shows it).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

HEAVY = ("pandas", "numpy", "scipy", "networkx", "pyomo", "highspy", "rich", "pydantic",
         "distributed", "dask", "matplotlib", "siteopt.data", "siteopt.solver.pipeline")

PROBE = """
import json, sys
from siteopt.cli.main import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules
                        if any(m == h or m.startswith(h + ".") for h in {heavy!r}))))
"""


@pytest.mark.parametrize("argv", [["--help"], ["no-such-command"]])
def test_help_and_usage_errors_import_no_heavy_module(argv):
    code = PROBE.format(argv=argv, heavy=HEAVY)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded == [], f"`siteopt {' '.join(argv)}` imported {loaded}"


def test_generate_preset_names_match_the_generator():
    from siteopt.cli.main import PRESET_NAMES
    from siteopt.synth.generate import PRESETS

    assert list(PRESETS) == PRESET_NAMES
