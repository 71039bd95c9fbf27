"""Pieces several screens use: the scrolling page body, the person picker, the Back button, a load's outcome, the
button that opens the form for the patient's own entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from ..hooks import Loaded, component, use_app_state, use_session
from ..paths import add_path
from ..widgets import banner, labelled, loading

__all__ = ["AddEntryButton", "BackButton", "PersonPicker", "loaded_or", "page_body"]


def page_body(*controls: ft.Control | None, scroll: bool = True) -> ft.Control:
    return ft.Container(
        content=ft.Column(
            [c for c in controls if c is not None],
            spacing=14,
            scroll=ft.ScrollMode.AUTO if scroll else None,
            expand=True,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        ),
        padding=ft.Padding.symmetric(horizontal=16, vertical=14),
        expand=True,
    )


def loaded_or(result: Loaded[Any], render: Callable[[Any], ft.Control]) -> ft.Control:
    """The screen once its data is there; a ring before; the reason when the first load failed. A reload that
    fails keeps the last data on screen, with the reason above it."""
    if not result.ready:
        if result.error:
            return page_body(banner(result.error, "alert", identifier="load-error"))
        return loading()
    body = render(result.data)
    if result.error:
        return ft.Column([banner(result.error, "alert", identifier="load-error"), body], spacing=14)
    return body


@component
def PersonPicker() -> ft.Control | None:
    """Whose record is shown, when the record holds more than one person."""
    session = use_session()
    state = use_app_state()
    if len(state.people) < 2:
        return None
    current = state.scope.person.key if state.scope.person else None
    dropdown = ft.Dropdown(
        label="Whose record",
        value=current,
        options=[ft.DropdownOption(key=p.key, text=p.name) for p in state.people],
        on_select=session.act(lambda e: session.set_scope(e.control.value)),
        width=320,
        dense=True,
    )
    return labelled(dropdown, "person-picker", "Whose record")


@component
def BackButton(fallback: str = "/") -> ft.Control:
    """Back to the screen this one was opened from (the browser's Back does the same)."""
    session = use_session()
    button = ft.TextButton(content="Back", icon=ft.Icons.ARROW_BACK, on_click=session.act(lambda: session.back(fallback)))
    return ft.Row([labelled(button, "back")])


@component
def AddEntryButton(identifier: str, kind: str = "reading", label: str = "Add") -> ft.Control:
    """Opens the form for the patient's own entries on `kind` (a section's header, the results list)."""
    session = use_session()
    button = ft.TextButton(content=label, icon=ft.Icons.ADD, on_click=session.act(lambda: session.navigate(add_path(kind))))
    return labelled(button, identifier)
