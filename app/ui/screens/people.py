"""TEMPORARY (declarative rewrite in progress): port the screen from `git show main:app/ui/screens/people.py`."""

from __future__ import annotations

import flet as ft

from ..hooks import component, use_title

__all__ = ['People']


@component
def People() -> ft.Control:
    use_title('People')
    return ft.Text("People is not converted yet.")
