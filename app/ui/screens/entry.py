"""The frame the welcome, create and unlock screens share: one calm card, centred, readable on a phone."""

from __future__ import annotations

from typing import Any

import flet as ft

from ..theme import OUTLINE, PRIMARY, SURFACE

__all__ = ["entry_frame", "passphrase_field"]

_CARD_WIDTH = 480


def entry_frame(page_width: float | None, *controls: ft.Control) -> ft.Control:
    width = min(_CARD_WIDTH, float(page_width) - 24) if page_width else _CARD_WIDTH
    logo = ft.Row(
        [ft.Icon(ft.Icons.FAVORITE_BORDER, color=PRIMARY, size=28),
         ft.Text("Carry", size=22, weight=ft.FontWeight.W_700, color=PRIMARY)],
        spacing=8,
    )  # fmt: skip
    card = ft.Container(
        content=ft.Column([logo, *controls], spacing=16, tight=True),
        bgcolor=SURFACE,
        border_radius=18,
        padding=24 if width < _CARD_WIDTH else 28,
        width=width,
        border=ft.Border.all(1, OUTLINE),
    )
    return ft.Column(
        [ft.Container(content=card, padding=12, alignment=ft.Alignment.CENTER)],
        scroll=ft.ScrollMode.AUTO,
        expand=True,
        alignment=ft.MainAxisAlignment.CENTER,
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
    )


def passphrase_field(label: str, *, autofocus: bool = False, on_submit: Any = None, on_change: Any = None) -> ft.TextField:
    """A hidden-text field with its own labelled show/hide button (the built-in one has no accessible name)."""
    field = ft.TextField(
        label=label,
        password=True,
        autofocus=autofocus,
        border_radius=10,
        on_submit=on_submit,
        on_change=on_change,
    )

    def toggle(e: Any) -> None:
        field.password = not field.password
        reveal.icon = ft.Icons.VISIBILITY_OFF_OUTLINED if not field.password else ft.Icons.VISIBILITY_OUTLINED
        reveal.tooltip = "Hide the passphrase" if not field.password else "Show the passphrase"

    reveal = ft.IconButton(ft.Icons.VISIBILITY_OUTLINED, tooltip="Show the passphrase", on_click=toggle, icon_size=20)
    field.suffix = ft.Semantics(content=reveal, label="Show or hide the passphrase", button=True, exclude_semantics=True)
    return field
