"""TEMPORARY (declarative rewrite in progress): port the screen from `git show main:app/ui/screens/timeline.py`."""

from __future__ import annotations

import flet as ft

from ..hooks import component, use_title

__all__ = ['Timeline']


@component
def Timeline() -> ft.Control:
    use_title('Timeline')
    return ft.Text("Timeline is not converted yet.")
