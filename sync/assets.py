"""Where Carry's shipped data lives (demo patients, vendor quirk table, directory seed data)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ASSETS", "DEMO_PATIENTS"]

ASSETS = Path(__file__).resolve().parent.parent / "assets"
DEMO_PATIENTS = ASSETS / "demo-patients"
