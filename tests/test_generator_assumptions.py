"""The generator's assumed numbers live in one documented dataclass, not in its stages."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from siteopt import load_instance
from siteopt.synth import generate as generate_module
from siteopt.synth import spec as spec_module
from siteopt.synth.spec import ASSUMPTIONS, Assumptions
from tests.conftest import VIETNAM

SYNTH = Path(spec_module.__file__).resolve().parent
STAGES = ("geography", "phases", "demand", "grid", "generate")
#: floats a stage may write: identities, the lat/lon wrap, numerical tolerances
ALLOWED = {0.0, 1.0, 89.0, 180.0, 360.0}


def test_stages_hold_no_assumed_numbers():
    found = []
    for name in STAGES:
        tree = ast.parse((SYNTH / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, float)
                    and node.value not in ALLOWED and abs(node.value) >= 1e-5):
                found.append(f"{name}.py line {node.lineno}: {node.value}")
    assert not found, f"assumed numbers outside Assumptions: {found}"


def test_every_assumption_is_documented():
    source = (SYNTH / "spec.py").read_text(encoding="utf-8")
    body = source[source.index("class Assumptions"):source.index("ASSUMPTIONS = ")]
    undocumented = []
    for f in dataclasses.fields(Assumptions):
        before = body[:body.index(f"    {f.name}:")].rstrip().splitlines()
        # its own `#:` comment, or one shared with the fields right above it
        lines = [ln.strip() for ln in before[-4:]]
        if not any(ln.startswith("#:") for ln in lines):
            undocumented.append(f.name)
    assert not undocumented, undocumented


def test_the_values_called_vietnams_are_vietnams():
    """spec.py and the generated README say the generator reuses the Vietnam instance's
    cooling, economics, latency model and unserved penalty: they must equal that instance's,
    and the one service value that differs, max_utilization, must be stated in the rules the
    generated README copies."""
    vietnam = load_instance(VIETNAM)
    meta = vietnam.meta
    cooling = vietnam.table("cooling").set_index("cooling")
    for cid, _name, pue, factor in ASSUMPTIONS.cooling:
        assert (pue, factor) == (cooling.loc[cid, "pue"], cooling.loc[cid, "capex_factor"]), cid
    for key, value in ASSUMPTIONS.economics.items():
        assert getattr(meta.economics, key) == value, key
    for key, value in ASSUMPTIONS.latency.items():
        assert getattr(meta.latency, key) == value, key
    penalty = ASSUMPTIONS.service["unserved_penalty_usd_m_per_mw_year"]
    assert meta.service.unserved_penalty_usd_m_per_mw_year == penalty
    util = ASSUMPTIONS.service["max_utilization"]
    if util != meta.service.max_utilization:
        assert f"`max_utilization` {util:g}" in (generate_module.__doc__ or "")
