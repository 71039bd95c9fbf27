"""TEMPORARY (declarative rewrite in progress): port the screen from `git show main:app/ui/screens/results.py`."""

from __future__ import annotations

import flet as ft

from ..hooks import component, use_title

__all__ = ['Results', 'Result']


@component
def Results() -> ft.Control:
    use_title('Results')
    return ft.Text("Results is not converted yet.")


@component
def Result() -> ft.Control:
    use_title('Result')
    return ft.Text("Result is not converted yet.")
