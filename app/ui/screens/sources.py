"""TEMPORARY (declarative rewrite in progress): port the screen from `git show main:app/ui/screens/sources.py`."""

from __future__ import annotations

import flet as ft

from ..hooks import component, use_title

__all__ = ['Sources']


@component
def Sources() -> ft.Control:
    use_title('Sources')
    return ft.Text("Sources is not converted yet.")
