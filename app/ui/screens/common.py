"""Pieces several sections use: the scrolling page body, the person picker, and opening an item."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import Scope

from ..widgets import labelled

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["open_item", "page_body", "person_picker"]


def page_body(*controls: ft.Control, scroll: bool = True) -> ft.Control:
    return ft.Container(
        content=ft.Column(
            list(controls),
            spacing=14,
            scroll=ft.ScrollMode.AUTO if scroll else None,
            expand=True,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        ),
        padding=ft.Padding.symmetric(horizontal=16, vertical=14),
        expand=True,
    )


def person_picker(app: CarryApp) -> ft.Control | None:
    """Whose record is shown, when the record holds more than one person."""
    if len(app.people) < 2:
        return None

    async def changed(e: Any) -> None:
        chosen = next((p for p in app.people if p.key == e.control.value), None)
        if chosen is None:
            return
        app.scope = Scope(chosen)
        if app.shell is not None:
            app.shell.refresh_person()
            await app.shell.open(app.shell.current)

    current = app.scope.person.key if app.scope.person else None
    dropdown = ft.Dropdown(
        label="Whose record",
        value=current,
        options=[ft.DropdownOption(key=p.key, text=p.name) for p in app.people],
        on_select=app.act(changed),
        width=320,
        dense=True,
    )
    return labelled(dropdown, "person-picker", "Whose record")


async def open_item(app: CarryApp, resource_type: str, resource_id: str, source_id: int | None) -> None:
    from .detail import DetailView

    if app.shell is not None:
        view = DetailView(app, resource_type, resource_id, source_id)
        await app.shell.push(view, "Details")
