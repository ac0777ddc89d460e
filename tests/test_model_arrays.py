"""The fast model (array families, siteopt's compiler) equals the plain Pyomo model.

Each instance is built twice: as siteopt builds it, compiled by `siteopt.model.compile`,
and with the array families replaced by the rule-based ones of `tests/reference_families`,
compiled by Pyomo's standard-form compiler alone. Rows, columns, coefficients, bounds and
objective must agree by name, so the optimizations cannot change the formulation. (Rows
left with fixed variables only are dropped by siteopt after checking them; Pyomo's compiler
keeps them empty.)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from siteopt.instance import load_instance
from siteopt.model.build import add_objective_bound, create_model
from siteopt.model.compile import compile_model
from siteopt.model.data import build_data
from siteopt.overrides import apply_overrides, parse_assignments
from tests.conftest import TINY, VIETNAM
from tests.reference_families import rule_model

Canonical = tuple[dict[str, tuple[float, float, dict[str, float]]], dict[str, float], float]


def _fast(model: object) -> Canonical:
    mat = compile_model(model)
    names = [v.name for v in mat.columns]
    A = mat.A.tocsr()
    rows = {}
    for i, (con, _mult) in enumerate(mat.rows):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        rows[con.name] = (float(mat.row_lower[i]), float(mat.row_upper[i]),
                          {names[j]: float(v) for j, v in zip(A.indices[lo:hi], A.data[lo:hi],
                                                               strict=True) if v != 0})
    cost = {names[j]: float(c) for j, c in enumerate(mat.cost) if c != 0}
    return rows, cost, mat.offset


def _reference(model: object) -> Canonical:
    """Pyomo's own compiler; ranged rows (two entries) merged into one lower/upper pair."""
    info = LinearStandardFormCompiler().write(model, mixed_form=True)
    names = [v.name for v in info.columns]
    A = info.A.tocsr()
    rows: dict[str, tuple[float, float, dict[str, float]]] = {}
    for i, (con, mult) in enumerate(info.rows):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        terms = {names[j]: float(v) for j, v in zip(A.indices[lo:hi], A.data[lo:hi],
                                                     strict=True) if v != 0}
        rhs = float(info.rhs[i])
        low, up = (rhs, rhs) if mult == 0 else ((-math.inf, rhs) if mult == 1
                                                else (rhs, math.inf))
        if not terms:  # every variable fixed: Pyomo keeps the empty row, siteopt drops it
            assert low <= 1e-9 and up >= -1e-9, f"{con.name} is infeasible"
            continue
        if con.name in rows:
            old = rows[con.name]
            low, up = max(low, old[0]), min(up, old[1])
        rows[con.name] = (low, up, terms)
    c = np.asarray(info.c.toarray()).ravel() if info.c.shape[0] else np.zeros(len(names))
    cost = {names[j]: float(v) for j, v in enumerate(c) if v != 0}
    return rows, cost, float(info.c_offset[0]) if len(info.c_offset) else 0.0


def _assert_same(fast: Canonical, ref: Canonical) -> None:
    rows_f, cost_f, off_f = fast
    rows_r, cost_r, off_r = ref
    assert sorted(rows_f) == sorted(rows_r)
    for name, (lo, up, terms) in rows_r.items():
        flo, fup, fterms = rows_f[name]
        assert flo == pytest.approx(lo, rel=1e-12, abs=1e-9), name
        assert fup == pytest.approx(up, rel=1e-12, abs=1e-9), name
        assert fterms.keys() == terms.keys(), name
        for col, v in terms.items():
            assert fterms[col] == pytest.approx(v, rel=1e-12, abs=1e-12), (name, col)
    assert cost_f.keys() == cost_r.keys()
    for col, v in cost_r.items():
        assert cost_f[col] == pytest.approx(v, rel=1e-12, abs=1e-12), col
    assert off_f == pytest.approx(off_r, rel=1e-12, abs=1e-9)


def _check(path: Path, overrides: list[str] = ()) -> None:
    inst = load_instance(path)
    if overrides:
        inst = apply_overrides(inst, parse_assignments(list(overrides)))
    d = build_data(inst)
    _assert_same(_fast(create_model(d)), _reference(rule_model(create_model(d), d)))


@pytest.mark.parametrize("name", sorted(p.name for p in TINY.iterdir() if p.is_dir()))
def test_tiny_instances_compile_to_the_rule_based_model(name: str) -> None:
    _check(TINY / name)


def test_vietnam_compiles_to_the_rule_based_model() -> None:
    _check(VIETNAM)


@pytest.mark.parametrize("overrides", [
    ["siting.objective=max_rtt", "siting.sites=3"],
    ["service.strong_linking=false"],
    ["service.allow_unserved=false"],
    ["siting.objective=uncovered_mw", "siting.sites=2", "latency.max_rtt_ms=8"],
])
def test_vietnam_variants_compile_to_the_rule_based_model(overrides: list[str]) -> None:
    _check(VIETNAM, overrides)


def test_second_stage_bound_on_an_array_objective() -> None:
    """objective_bound (a rule row over the p-center objective) joins the array rows."""
    d = build_data(apply_overrides(load_instance(TINY / "p-center"),
                                   parse_assignments(["siting.objective=max_rtt"])))
    fast, ref = create_model(d), rule_model(create_model(d), d)
    for m in (fast, ref):
        add_objective_bound(m, 5.0)
    _assert_same(_fast(fast), _reference(ref))


def test_rows_keep_the_model_order_and_keys() -> None:
    import pyomo.environ as pyo

    d = build_data(load_instance(VIETNAM))
    m = create_model(d)
    mat = compile_model(m)
    families = [con.parent_component().name for con, _ in mat.rows]
    order = [c.name for c in m.component_objects(pyo.Constraint)]
    seen = list(dict.fromkeys(families))
    assert seen == [name for name in order if name in seen]
    key = d.SRCY[0]
    row = m.serve_link[key] if key in m.serve_link else next(iter(m.serve_link.values()))
    assert row.name.startswith("serve_link[") and row.index() in m.serve_link
    assert m.demand_balance[d.RCY[0]].upper == pytest.approx(d.demand[d.RCY[0]])


def test_deactivated_rows_and_user_constraints_are_compiled() -> None:
    """A row switched off is left out; a constraint added by a user is compiled too."""
    import pyomo.environ as pyo

    d = build_data(load_instance(VIETNAM))
    m = create_model(d)
    before = compile_model(m).shape
    m.demand_balance[d.RCY[0]].deactivate()
    m.extra = pyo.Constraint(expr=sum(m.serve[k] for k in d.SRCY[:3]) <= 1.5)
    mat = compile_model(m)
    assert mat.shape[0] == before[0]
    names = [con.name for con, _ in mat.rows]
    assert "extra" in names and f"demand_balance[{','.join(map(str, d.RCY[0]))}]" not in names
