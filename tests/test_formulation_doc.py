"""models/siteplan.md and the Pyomo model use the same names, in both directions."""

from __future__ import annotations

import dataclasses
import re

import pyomo.environ as pyo
import pytest

import siteopt
from siteopt.io.bundled import models_path
from siteopt.model.data import ModelData
from siteopt.model.objective import add_objective_bound
from siteopt.solver.pipeline import build
from tests.conftest import TINY

KINDS = {pyo.Set: "set", pyo.Var: "variable", pyo.Expression: "expression",
         pyo.Constraint: "constraint", pyo.Objective: "objective"}


def _symbols() -> dict[str, str]:
    text = (models_path() / "siteplan.md").read_text()
    section = text.split("## Symbols", 1)[1]
    rows = re.findall(r"^\|\s*`([^`]+)`\s*\|\s*(\w+)\s*\|", section, flags=re.M)
    assert rows, "no symbol rows found"
    names = [n for n, _ in rows]
    assert len(names) == len(set(names)), "a symbol is listed twice"
    return dict(rows)


#: Instances whose models, together, hold every component (the classic objectives included;
#: p-center also gets the lexicographic second stage's objective_bound).
INSTANCES = ["cooling-class", "grid-upgrade", "committed-phase", "p-median", "p-center",
             "max-covering", "set-covering", "geo-zones", "n1-site", "backup-cover",
             "p-dispersion", "single-source"]


def _components(name: str) -> dict[str, str]:
    _data, model = build(siteopt.load_instance(TINY / name))
    if name == "p-center":
        add_objective_bound(model, 1.0)
    out = {}
    for comp in model.component_objects(descend_into=True):
        kind = KINDS.get(comp.ctype)
        if kind is None or "SetProduct" in type(comp).__name__:
            continue  # product sets Pyomo creates implicitly for multi-set indexing
        out[comp.name] = kind
    return out


@pytest.mark.parametrize("name", INSTANCES)
def test_every_model_component_is_documented_with_its_kind(name):
    doc = _symbols()
    for comp, kind in _components(name).items():
        assert doc.get(comp) == kind, f"{comp} ({kind}) missing or mis-kinded in siteplan.md"


def test_every_documented_component_exists_in_the_model():
    doc = _symbols()
    found: dict[str, str] = {}
    for name in INSTANCES:
        found.update(_components(name))
    for sym, kind in doc.items():
        if kind == "parameter":
            continue
        assert found.get(sym) == kind, f"siteplan.md lists {sym} ({kind}) not in the model"


def test_documented_parameters_are_model_data_fields():
    fields = {f.name for f in dataclasses.fields(ModelData)}
    params = {sym for sym, kind in _symbols().items() if kind == "parameter"}
    assert params, "siteplan.md lists no parameter (the check would pass vacuously)"
    assert params <= fields, f"parameters that are not ModelData fields: {sorted(params - fields)}"
