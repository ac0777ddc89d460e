"""models/siteplan.md and the Pyomo model use the same names, in both directions.

The built models of the tiny instances are compared with the `## Symbols` table; the model
source is read as well (every component any function of `siteopt/model` declares, even one
no tiny instance builds), and every constraint and objective in the table must also be
stated in the formulation's prose, where its algebra is.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

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


def _split(text: str) -> tuple[str, str]:
    """(prose, symbols table) of a formulation document, split at its `## Symbols` heading."""
    parts = re.split(r"^## Symbols[ \t]*$", text, maxsplit=1, flags=re.M)
    assert len(parts) == 2, "no '## Symbols' heading"
    return parts[0], parts[1]


def _symbol_rows(section: str) -> dict[str, str]:
    rows = re.findall(r"^\|\s*`([^`]+)`\s*\|\s*(\w+)\s*\|", section, flags=re.M)
    assert rows, "no symbol rows found"
    names = [n for n, _ in rows]
    assert len(names) == len(set(names)), "a symbol is listed twice"
    return dict(rows)


def _symbols() -> dict[str, str]:
    return _symbol_rows(_split((models_path() / "siteplan.md").read_text())[1])


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


def test_every_model_data_field_is_documented():
    """A ModelData field added without a Symbols row fails (K, R, C are data-level lists)."""
    fields = {f.name for f in dataclasses.fields(ModelData)}
    doc = _symbols()
    missing = fields - set(doc) - {"K", "R", "C"}  # upgrade_capex: also the expression
    assert not missing, f"ModelData fields not in siteplan.md's Symbols: {sorted(missing)}"


#: Functions of siteopt/model that declare components of other models than siteplan:
#: Pyomo's self-test of the internals siteopt relies on, and explain's elastic copy
#: (docs/failure-modes.md), which adds `{family}_slack` columns and a `violation` objective.
NOT_SITEPLAN = {("pyomo_internals.py", "check_pyomo"), ("elastic.py", "make_elastic")}

#: Constructors whose result, assigned to `m.NAME`, is a model component of that kind.
CONSTRUCTORS = {"Set": "set", "Var": "variable", "Expression": "expression",
                "Constraint": "constraint", "ArrayConstraint": "constraint",
                "Objective": "objective"}


def declared_components(root: Path) -> dict[str, list[tuple[str, str, str]]]:
    """Every `m.NAME = <constructor>(...)` in the functions of the modules under `root`.

    name -> [(module file, function, kind)], read from the source (no model is built), so a
    family that only some switch turns on is found too.
    """
    found: dict[str, list[tuple[str, str, str]]] = {}
    for path in sorted(root.glob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.value, ast.Call)):
                    continue
                target, func = node.targets[0], node.value.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                        and target.value.id == "m" and name in CONSTRUCTORS):
                    found.setdefault(target.attr, []).append(
                        (path.name, fn.name, CONSTRUCTORS[name]))
    return found


MODEL_SOURCE = Path(siteopt.__file__).parent / "model"


def test_every_declared_component_is_documented_with_its_kind():
    """A family declared in siteopt/model but missing (or mis-kinded) in the table fails,
    even if no tiny instance builds it."""
    doc = _symbols()
    declared = declared_components(MODEL_SOURCE)
    skipped = {(f, fn) for sites in declared.values() for f, fn, _k in sites} & NOT_SITEPLAN
    assert skipped == NOT_SITEPLAN, "NOT_SITEPLAN names a function that declares nothing"
    for name, sites in declared.items():
        for file, fn, kind in sites:
            if (file, fn) not in NOT_SITEPLAN:
                assert doc.get(name) == kind, (
                    f"{file}:{fn} declares {name} ({kind}), missing or mis-kinded in siteplan.md")


def test_one_function_per_family():
    """Each constraint (and objective) is declared by exactly one function of siteopt/model."""
    for name, sites in declared_components(MODEL_SOURCE).items():
        where = {(f, fn) for f, fn, kind in sites if kind in ("constraint", "objective")}
        assert len(where - NOT_SITEPLAN) <= 1, f"{name} is declared in {sorted(where)}"


def _prose_and_tables() -> tuple[dict[str, str], dict[str, str]]:
    """Each models/*.md's prose (outside its Symbols table), and every table's symbols."""
    prose: dict[str, str] = {}
    tables: dict[str, str] = {}
    for p in sorted(models_path().glob("*.md")):
        text = p.read_text()
        if re.search(r"^## Symbols[ \t]*$", text, flags=re.M):
            prose[p.name], table = _split(text)
            tables |= _symbol_rows(table)
        else:
            prose[p.name] = text
    return prose, tables


def test_every_constraint_and_objective_is_stated_in_the_prose():
    """The table alone is not the formulation: each row's rule is stated in some models/*.md
    text (outside the Symbols tables) under its name, as a **`name`** paragraph, a bullet
    `* `name`` or a section heading, so a family listed without its rule fails (a passing
    mention elsewhere does not count)."""
    prose = "\n".join(_prose_and_tables()[0].values())

    def stated(sym: str) -> bool:
        name = re.escape(f"`{sym}`")
        return any(re.search(p, prose, flags=re.M)
                   for p in (rf"\*\*{name}\*\*", rf"^\s*\* {name}", rf"^##.*{name}"))

    missing = [sym for sym, kind in _symbols().items()
               if kind in ("constraint", "objective") and not stated(sym)]
    assert not missing, f"constraints/objectives with no rule in models/*.md prose: {missing}"


def test_prose_family_names_are_symbols():
    """A family heading (**`name`**) in the prose names a listed symbol: renaming a family in
    the code and the table but not in its heading fails."""
    prose, tables = _prose_and_tables()
    stale = sorted({(doc, name) for doc, text in prose.items()
                    for name in re.findall(r"\*\*`([^`]+)`\*\*", text) if name not in tables})
    assert not stale, f"family headings that are no symbol: {stale}"
