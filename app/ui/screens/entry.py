"""The frame the welcome, create, restore and unlock screens share: one calm card, centred, readable on a phone
(their passphrase field is common.PassphraseField)."""

from __future__ import annotations

import flet as ft

from ..theme import OUTLINE, PRIMARY, SURFACE

__all__ = ["entry_frame"]

_CARD_WIDTH = 480


def entry_frame(page_width: float | None, *controls: ft.Control | None) -> ft.Control:
    width = min(_CARD_WIDTH, float(page_width) - 24) if page_width else _CARD_WIDTH
    logo = ft.Row(
        [ft.Icon(ft.Icons.FAVORITE_BORDER, color=PRIMARY, size=28),
         ft.Text("Carry", size=22, weight=ft.FontWeight.W_700, color=PRIMARY)],
        spacing=8,
    )  # fmt: skip
    card = ft.Container(
        content=ft.Column([logo, *(c for c in controls if c is not None)], spacing=16, tight=True),
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
