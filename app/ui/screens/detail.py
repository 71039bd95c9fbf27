"""TEMPORARY (declarative rewrite in progress): port the screen from `git show main:app/ui/screens/detail.py`."""

from __future__ import annotations

import flet as ft

from ..hooks import component, use_title

__all__ = ['Detail']


@component
def Detail() -> ft.Control:
    use_title('Detail')
    return ft.Text("Detail is not converted yet.")
