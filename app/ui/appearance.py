"""The patient's look on the page: light or dark, and the text size, applied live.

Light and dark are two themes of the same colour roles (theme.py); switching is page.theme_mode. The text size
scales the theme's type scale (what controls draw without a size of their own) and every Text that names its size,
walking a screen's controls once when it is built; each Text's own size is remembered, so changing the setting
again scales from it, never from an already scaled size.
"""

from __future__ import annotations

import dataclasses
import weakref
from typing import Any

import flet as ft
from flet.components.component import Component

from app.views.preferences import Preferences

from app.web_client import FALLBACK_FONT_URL

from .theme import DARK, FALLBACK_FONT, LIGHT, app_theme

__all__ = ["apply_appearance", "scale_text"]

_base_size: weakref.WeakKeyDictionary[ft.Text, float | None] = weakref.WeakKeyDictionary()
_children_fields: dict[type, tuple[str, ...]] = {}


def apply_appearance(page: ft.Page, prefs: Preferences) -> None:
    page.fonts = {FALLBACK_FONT: FALLBACK_FONT_URL}  # what Roboto cannot draw (theme.py, FALLBACK_FONT)
    page.theme = app_theme(LIGHT, prefs.text_scale)
    page.dark_theme = app_theme(DARK, prefs.text_scale)
    page.theme_mode = ft.ThemeMode.DARK if prefs.dark else ft.ThemeMode.LIGHT


def scale_text(control: Any, factor: float) -> None:
    """Every Text under `control` at `factor` times its own size (a Text without one follows the theme's)."""
    seen: set[int] = set()
    stack = [control]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen or isinstance(item, Component):
            continue  # a child component scales what it returns itself (app.ui.hooks.component)
        seen.add(id(item))
        if isinstance(item, ft.Text):
            base = _base_size.setdefault(item, item.size)
            if base is not None:
                item.size = round(base * factor, 1)
        for name in _child_fields(type(item)):
            value = getattr(item, name, None)
            if isinstance(value, ft.BaseControl):
                stack.append(value)
            elif isinstance(value, list):
                stack.extend(v for v in value if isinstance(v, ft.BaseControl))


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a control class that can hold controls (content, controls, title, actions, …), once per class."""
    found = _children_fields.get(cls)
    if found is None:
        fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
        found = tuple(f.name for f in fields if "Control" in str(f.type) and not f.name.startswith(("on_", "_")))
        _children_fields[cls] = found
    return found
