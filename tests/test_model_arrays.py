"""The fast model (array families, siteopt's compiler) equals the plain Pyomo model.

Each instance is built twice: as siteopt builds it, compiled by `siteopt.model.compile`,
and with the array families replaced by the rule-based ones of `tests/reference_families`,
compiled by Pyomo's standard-form compiler alone. Rows, columns, coefficients, bounds and
objective must agree by name, so the optimizations cannot change the formulation. (Rows
left with fixed variables only are dropped by siteopt after checking them; Pyomo's compiler
keeps them empty. siteopt's compiler also writes `phase_on` for a phase's online columns
where a row holds them all, an identity the reference applies by name in `_with_phase_on`.)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyomo.common.errors import InfeasibleConstraintException
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

import siteopt
from siteopt.data.load import from_tables, load_instance
from siteopt.data.overrides import apply_overrides, parse_assignments
from siteopt.errors import InputError
from siteopt.model.arrays import (
    ArrayConstraint,
    array_linear_expression,
    array_terms,
    csr_rows,
)
from siteopt.model.build import create_model
from siteopt.model.compile import TrivialInfeasibilityError, compile_model
from siteopt.model.data import build_data
from siteopt.model.objective import add_objective_bound
from tests.conftest import TINY, VIETNAM
from tests.reference_families import rule_model
from tests.test_properties import instances

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


def _with_phase_on(ref: Canonical, model: pyo.ConcreteModel) -> Canonical:
    """`ref` with the phase_on identity of `siteopt.model.tightening.phase_on_in_rows` applied.

    Written row by row on names, apart from the compiler's array code: a row that holds
    every unfixed online[s,p,k,y] of a phase and year with one coefficient, and not
    phase_on[s,p,y] itself, holds phase_on[s,p,y] with that coefficient instead.
    """
    rows, cost, offset = ref
    phase_on = model.component("phase_on")
    if phase_on is None:
        return ref
    groups: dict[str, list[str]] = {}
    for (s, p, y), v in phase_on.items():
        ons = [o for (s2, p2, _k, y2), o in model.online.items() if (s2, p2, y2) == (s, p, y)]
        if not any(o.fixed and o.value for o in ons):
            groups[v.name] = [o.name for o in ons if not o.fixed]
    out = {}
    for name, (lo, up, terms) in rows.items():
        terms = dict(terms)
        for q, members in groups.items():
            if (members and q not in terms and all(m in terms for m in members)
                    and len({terms[m] for m in members}) == 1):
                terms[q] = terms[members[0]]
                for m in members:
                    del terms[m]
        out[name] = (lo, up, terms)
    return out, cost, offset


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
    ref = rule_model(create_model(d), d)
    _assert_same(_fast(create_model(d)), _with_phase_on(_reference(ref), ref))


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
    ["resilience.sens.min_sites=2", "resilience.sens.from_year=2028",
     "resilience.sens.n_minus_1_sites=true", "resilience.sens.n_minus_1_links=true",
     "resilience.flex.n_minus_1_sites=true"],
    ["resilience.sens.min_sites=2", "resilience.sens.from_year=2028",
     "resilience.sens.min_km_apart=15", "resilience.sens.distinct_zones=false",
     "resilience.ai.n_minus_1_sites=true", "resilience.sens.n_minus_1_sites=true"],
    ["service.single_source=true"],
    ["service.single_source=true", "service.allow_unserved=true"],
    ["siting.objective=backup_uncovered_mw", "siting.sites=4"],
    ["siting.objective=min_separation_km", "siting.sites=3"],
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
    _assert_same(_fast(fast), _with_phase_on(_reference(ref), ref))


def test_rows_keep_the_model_order_and_keys() -> None:
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


def test_array_columns_follow_the_variables_index_order() -> None:
    """The fast read of a variable's elements gives values() order, so positions hold."""
    from siteopt.model.indexing import Columns

    d = build_data(load_instance(VIETNAM))
    m = create_model(d)
    cols = Columns(m)
    for name in Columns.NAMES:
        start = cols.start[name]
        var = getattr(m, name)
        assert list(cols.x[start:start + len(var)]) == list(var.values())
    assert array_terms(m, m.cost["service_cost", d.Y[0]].expr) is not None


def test_deactivated_rows_and_user_constraints_are_compiled() -> None:
    """A row switched off is left out; a constraint added by a user is compiled too."""
    d = build_data(load_instance(VIETNAM))
    m = create_model(d)
    before = compile_model(m).shape
    m.demand_balance[d.RCY[0]].deactivate()
    m.extra = pyo.Constraint(expr=sum(m.serve[k] for k in d.SRCY[:3]) <= 1.5)
    mat = compile_model(m)
    assert mat.shape[0] == before[0]
    names = [con.name for con, _ in mat.rows]
    assert "extra" in names and f"demand_balance[{','.join(map(str, d.RCY[0]))}]" not in names


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances(), st.sampled_from([[], ["siting.objective=max_rtt"],
                                     ["siting.objective=uncovered_mw", "siting.sites=1"],
                                     ["service.single_source=true"]]))
def test_random_instances_compile_to_the_rule_based_model(drawn, overrides) -> None:
    """Every feature (existing, committed, coolings, classes, budgets, unserved on or off)."""
    meta, tables = drawn
    try:
        inst = apply_overrides(from_tables(meta, tables), parse_assignments(overrides))
    except InputError:
        return  # e.g. a class no site can host: not a model
    d = build_data(inst)
    try:
        fast = _fast(create_model(d))
    except TrivialInfeasibilityError:  # then Pyomo's compilation has an infeasible row too
        with pytest.raises((AssertionError, InfeasibleConstraintException)):
            _reference(rule_model(create_model(d), d))
        return
    ref = rule_model(create_model(d), d)
    _assert_same(fast, _with_phase_on(_reference(ref), ref))


def test_array_constraint_rows_behave_like_pyomo_rows() -> None:
    """Keys, lookup, names, bounds, body values, (de)activation of an ArrayConstraint."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(["a", "b", "c"], bounds=(0, 10))
    x = tuple(m.x.values())
    A = csr_rows(2, np.array([0, 0, 1]), np.array([0, 1, 2]), np.array([1.0, 2.0, -1.0]), 3)
    m.fam = ArrayConstraint([("p", 1), ("q", 2)], A, np.array([-np.inf, 3.0]),
                            np.array([4.0, 3.0]), x)
    assert list(m.fam) == [("p", 1), ("q", 2)] and ("q", 2) in m.fam and ("z", 0) not in m.fam
    row = m.fam["p", 1]
    assert row.name == "fam[p,1]" and row.index() == ("p", 1)
    assert row.lower is None and row.upper == 4.0 and m.fam["q", 2].equality
    m.x["a"].set_value(1.0)
    m.x["b"].set_value(1.5)
    m.x["c"].set_value(3.0)
    assert pyo.value(row.body) == pytest.approx(4.0) and m.fam["q", 2]() == pytest.approx(-3.0)
    m.fam["q", 2].deactivate()
    assert list(m.fam.active_rows()) == [True, False]
    m.fam.deactivate()
    m.fam.activate()  # the family only: the row switched off stays off
    assert list(m.fam.active_rows()) == [True, False]
    names = [con.name for con, _ in compile_model(_with_objective(m)).rows]
    assert names == ["fam[p,1]"]
    with pytest.raises(ValueError, match="ranged"):
        m.bad = ArrayConstraint([0], csr_rows(1, np.array([0]), np.array([0]), np.ones(1), 3),
                                np.array([1.0]), np.array([2.0]), x)


def _with_objective(m: pyo.ConcreteModel) -> pyo.ConcreteModel:
    m.obj = pyo.Objective(expr=sum(m.x.values()))
    return m


def test_array_kept_expressions_are_plain_pyomo_expressions() -> None:
    """Pyomo's visitors, writers and clones see an ordinary LinearExpression."""
    from pyomo.repn import generate_standard_repn

    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(4), initialize=2.0, bounds=(0, 5))
    e = array_linear_expression(m, np.array([1.0, -3.0]), np.array([0, 3]), tuple(m.x.values()))
    assert pyo.value(e) == pytest.approx(-4.0) and array_terms(m, e).value() == pytest.approx(-4.0)
    repn = generate_standard_repn(2 * e)
    assert [v.name for v in repn.linear_vars] == ["x[0]", "x[3]"]
    assert list(repn.linear_coefs) == [2.0, -6.0]
    m.c = pyo.Constraint(expr=e + m.x[1] >= -9)  # Pyomo's own compiler reads it in a row
    info = LinearStandardFormCompiler().write(m, mixed_form=True)
    assert info.A.nnz == 3
    clone = m.clone()
    assert array_terms(clone, clone.c.body) is None  # a copy is read term by term
    assert pyo.value(clone.c.body) == pytest.approx(-2.0)


def test_objective_reader_and_its_fallback_agree() -> None:
    """Minimizing -e (read by siteopt) and maximizing e (left to Pyomo's compiler, which
    turns it into minimizing -e) compile to the same costs."""
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(3), bounds=(0, 1))
    m.y = pyo.Var(bounds=(0, 1))
    m.y.fix(0.5)
    m.e = pyo.Expression(expr=2 * m.x[0] - m.x[1] / 4 + 3 * m.y + 7)
    m.c = pyo.Constraint(expr=m.x[0] + m.x[2] <= 1)
    m.obj = pyo.Objective(expr=-(m.e + array_linear_expression(
        m, np.array([5.0]), np.array([2]), tuple(m.x.values()))))
    low = compile_model(m)
    m.obj.deactivate()
    m.obj2 = pyo.Objective(expr=m.e + 5 * m.x[2], sense=pyo.maximize)
    high = compile_model(m)
    cost_low = {v.name: c for v, c in zip(low.columns, low.cost, strict=True)}
    cost_high = {v.name: c for v, c in zip(high.columns, high.cost, strict=True)}
    assert cost_low == pytest.approx(cost_high)
    assert low.offset == pytest.approx(-8.5) and high.offset == pytest.approx(-8.5)
    assert cost_low == pytest.approx({"x[0]": -2.0, "x[1]": 0.25, "x[2]": -5.0})


def test_row_list_indexes_like_a_list() -> None:
    d = build_data(load_instance(VIETNAM))
    mat = compile_model(create_model(d))
    rows = list(mat.rows)
    assert len(rows) == len(mat.rows) == mat.shape[0]
    for i in (0, 1, len(rows) // 2, len(rows) - 1, -1):
        assert mat.rows[i] == rows[i]
    with pytest.raises(IndexError):
        mat.rows[len(rows)]


def test_pyomo_writers_and_solver_interfaces_read_the_fast_model(tmp_path: Path) -> None:
    """The model stays a Pyomo model: LP/NL writers and Pyomo's HiGHS interface work on it."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    inst = load_instance(TINY / "service-cost")
    d = build_data(inst)
    m = create_model(d)
    for ext in ("lp", "nl", "mps"):
        m.write(str(tmp_path / f"model.{ext}"),
                io_options={"symbolic_solver_labels": True} if ext != "nl" else {})
        assert (tmp_path / f"model.{ext}").stat().st_size > 0
    assert "demand_balance(" in (tmp_path / "model.lp").read_text()
    results = SolverFactory("highs").solve(m)
    expected = siteopt.solve(inst).objective
    assert results.incumbent_objective == pytest.approx(expected, rel=1e-6)
    row = next(iter(m.demand_balance.values()))
    assert row.expr is not None and row.lb == row.ub and row() == pytest.approx(row.ub)


def test_backup_cover_and_n1_site_loss_in_one_model() -> None:
    # LSCP-B's backed_up beside N-1's backup (tiny/n1-site: every region-year has two sites)
    _check(TINY / "n1-site", ["siting.objective=backup_uncovered_mw"])
