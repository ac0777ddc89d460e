"""Where the instances and documents bundled with siteopt live, installed or from a checkout."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

DEFAULT_INSTANCE = "vietnam-2026"


def _bundled_root() -> Path:
    """`siteopt/_bundled` inside an installed wheel; the repository root in a checkout."""
    packaged = Path(str(files("siteopt"))) / "_bundled"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2]


def default_instance_path() -> Path:
    """The folder of the embedded default instance (the Vietnam 2026 plan)."""
    return _bundled_root() / "instances" / DEFAULT_INSTANCE


def models_path() -> Path:
    """The folder of the formulation documents."""
    return _bundled_root() / "models"
