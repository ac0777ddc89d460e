"""The few private Pyomo attributes siteopt reads, in one place, with a check of their shape.

siteopt compiles large models without Pyomo's per-row Python work, which needs attributes that
Pyomo does not promise to keep: a variable's own bounds, an indexed component's element dict,
and `MatrixConstraint`'s variable tuple and row data. `check_pyomo` builds a tiny model and
fails with a clear message naming the Pyomo version if any of them has changed, instead of a
wrong matrix or an AttributeError deep in a solve; `tests/test_pyomo_internals.py` runs it.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyomo
import pyomo.environ as pyo
from pyomo.core.base.matrix_constraint import MatrixConstraint, _MatrixConstraintData

from siteopt.errors import SiteoptError

__all__ = [
    "MatrixConstraint",
    "_MatrixConstraintData",
    "check_pyomo",
    "element_dict",
    "has_own_bounds",
    "matrix_variables",
]

#: The Pyomo releases this module was checked against (pyproject pins the same range).
SUPPORTED = ">=6.9,<7"


class UnsupportedPyomoError(SiteoptError):
    """The installed Pyomo lacks a private attribute siteopt's fast compile path reads."""


def has_own_bounds(var: object) -> bool:
    """Whether a variable element carries bounds of its own (else its domain's apply).

    `VarData` keeps them in `_lb`/`_ub` (None: the domain's); the public `bounds` re-derives
    them per call, several times slower over 1e5+ columns.
    """
    return var._lb is not None or var._ub is not None  # type: ignore[attr-defined]


def element_dict(component: object) -> dict:
    """An indexed component's elements keyed by index, in insertion order (`_data`)."""
    return component._data  # type: ignore[attr-defined]


def matrix_variables(block: MatrixConstraint) -> tuple:
    """The variables of a `MatrixConstraint`, one per matrix column (`_x`)."""
    return block._x  # type: ignore[attr-defined]


@cache
def check_pyomo() -> None:
    """Raise `UnsupportedPyomoError` unless every attribute above behaves as siteopt expects.

    Cached: the probe runs once per process, before the first compile.
    """
    try:
        m = pyo.ConcreteModel()
        m.I = pyo.Set(initialize=[1, 2], ordered=True)
        m.x = pyo.Var(m.I, bounds=(0, 1))
        m.y = pyo.Var(m.I, within=pyo.Binary)
        data = element_dict(m.x)
        assert list(data) == [1, 2] and data[1] is m.x[1]
        assert has_own_bounds(m.x[1]) and not has_own_bounds(m.y[1])
        import scipy.sparse as sp

        A = sp.csr_array(np.array([[1.0, 1.0]]))
        m.c = MatrixConstraint(A.data, A.indices, A.indptr, [None], [1.0], [m.x[1], m.x[2]])
        cols = matrix_variables(m.c)
        assert len(cols) == 2 and cols[0] is m.x[1]
        assert isinstance(m.c[0], _MatrixConstraintData)
    except (AttributeError, AssertionError, TypeError) as exc:
        raise UnsupportedPyomoError(
            f"Pyomo {pyomo.version.version} changed a private attribute that siteopt's compile "
            f"path reads ({exc!r}); siteopt supports Pyomo {SUPPORTED}") from exc
