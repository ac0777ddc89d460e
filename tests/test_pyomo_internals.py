"""The private Pyomo attributes behind the fast compile path: checked, and loud when they move."""

import pytest

from siteopt.model import pyomo_internals
from siteopt.model.pyomo_internals import UnsupportedPyomoError, check_pyomo


def test_the_installed_pyomo_is_supported():
    check_pyomo.cache_clear()
    check_pyomo()


def test_a_pyomo_without_the_attributes_fails_loudly(monkeypatch):
    """A Pyomo that renamed `_x` is named in the error, not a wrong matrix later."""
    def moved(block):
        return block._columns  # what a future Pyomo might call it

    monkeypatch.setattr(pyomo_internals, "matrix_variables", moved)
    check_pyomo.cache_clear()
    with pytest.raises(UnsupportedPyomoError, match=r"Pyomo \d+\.\d+.*supports Pyomo >=6.9,<7"):
        check_pyomo()
    check_pyomo.cache_clear()
