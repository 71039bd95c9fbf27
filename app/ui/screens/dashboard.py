"""TEMPORARY (declarative rewrite in progress): port the screen from `git show main:app/ui/screens/dashboard.py`."""

from __future__ import annotations

import flet as ft

from ..hooks import component, use_title

__all__ = ['Summary']


@component
def Summary() -> ft.Control:
    use_title('Summary')
    return ft.Text("Summary is not converted yet.")
