"""Shared test helpers: paths to the bundled instances and a copy-to-tmp fixture."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "instances" / "tiny"
VIETNAM = REPO / "instances" / "vietnam-2026"


@pytest.fixture
def tiny_copy(tmp_path: Path):
    """Copy a tiny instance into tmp_path so a test may corrupt it."""

    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(TINY / name, dest)
        return dest

    return copy
