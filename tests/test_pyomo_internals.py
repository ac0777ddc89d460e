"""The private Pyomo attributes behind the fast compile path: checked, and loud when they move."""

import pyomo.version
import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from siteopt.model import pyomo_internals
from siteopt.model.pyomo_internals import SUPPORTED, UnsupportedPyomoError, check_pyomo


def test_the_installed_pyomo_is_supported():
    """The installed Pyomo is in the supported range and passes the probe, once per process."""
    assert Version(pyomo.version.version) in SpecifierSet(SUPPORTED)
    check_pyomo.cache_clear()
    assert check_pyomo() is None  # raises UnsupportedPyomoError when an attribute moved
    check_pyomo()
    info = check_pyomo.cache_info()
    assert (info.misses, info.hits) == (1, 1)  # the probe ran once, the second call is cached


def test_a_pyomo_without_the_attributes_fails_loudly(monkeypatch):
    """A Pyomo that renamed `_x` is named in the error, not a wrong matrix later."""
    def moved(block):
        return block._columns  # what a future Pyomo might call it

    monkeypatch.setattr(pyomo_internals, "matrix_variables", moved)
    check_pyomo.cache_clear()
    with pytest.raises(UnsupportedPyomoError, match=r"Pyomo \d+\.\d+.*supports Pyomo >=6.9,<7"):
        check_pyomo()
    check_pyomo.cache_clear()
