"""TEMPORARY (declarative rewrite in progress): port the screen from `git show main:app/ui/screens/share.py`."""

from __future__ import annotations

import flet as ft

from ..hooks import component, use_title

__all__ = ['Share']


@component
def Share() -> ft.Control:
    use_title('Share')
    return ft.Text("Share is not converted yet.")
