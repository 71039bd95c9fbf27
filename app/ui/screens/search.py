"""TEMPORARY (declarative rewrite in progress): port the screen from `git show main:app/ui/screens/search.py`."""

from __future__ import annotations

import flet as ft

from ..hooks import component, use_title

__all__ = ['Search']


@component
def Search() -> ft.Control:
    use_title('Search')
    return ft.Text("Search is not converted yet.")
