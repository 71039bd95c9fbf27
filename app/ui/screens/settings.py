"""TEMPORARY (declarative rewrite in progress): port the screen from `git show main:app/ui/screens/settings.py`."""

from __future__ import annotations

import flet as ft

from ..hooks import component, use_title

__all__ = ['Settings']


@component
def Settings() -> ft.Control:
    use_title('Settings')
    return ft.Text("Settings is not converted yet.")
