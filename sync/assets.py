"""Where Carry's shipped data lives: the `assets` package (demo patients, vendor registry, directory seed, fonts).

The data are found through importlib.resources, so the same code reads them from a checkout, an editable install
and an installed wheel (pyproject.toml lists them as package data). Wheels install unpacked, so the package is a
folder of ordinary files and callers get a Path they can glob and open.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["ASSETS", "DEMO_PATIENTS", "FONTS"]


def _root() -> Path:
    found = resources.files("assets")
    if not isinstance(found, Path):  # a zipped install; pip never makes one, and the sandbox needs real folders
        raise RuntimeError("Carry's data package (assets) must be installed unpacked, as pip installs wheels.")
    return found


ASSETS = _root()
DEMO_PATIENTS = ASSETS / "demo-patients"
FONTS = ASSETS / "fonts"
