"""The frame the welcome, create, restore and unlock screens share: one calm card, centred, readable on a phone;
and the passphrase field they use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from ..hooks import component, use_value
from ..theme import OUTLINE, PRIMARY, SURFACE

__all__ = ["PassphraseField", "entry_frame"]

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


@component
def PassphraseField(
    label: str,
    identifier: str,
    on_change: Callable[[str], Any],
    *,
    on_submit: Callable[..., Any] | None = None,
    autofocus: bool = False,
    clear: int = 0,
    hint: str | None = None,
) -> ft.Control:
    """A hidden-text field with its own labelled show/hide button (the built-in one has no accessible name).

    What is typed goes to `on_change` at each keystroke, so the app holds it before any button is pressed. The
    field is emptied when `clear` changes (after an attempt, the passphrase is not left in the page)."""
    shown, set_shown = ft.use_state(False)
    value = use_value("")
    cleared = use_value(clear)
    reset = cleared.current != clear
    cleared.current = clear

    def changed(e: ft.Event[ft.TextField]) -> None:
        value.current = e.control.value or ""
        on_change(value.current)

    reveal = ft.IconButton(
        ft.Icons.VISIBILITY_OFF_OUTLINED if shown else ft.Icons.VISIBILITY_OUTLINED,
        tooltip="Hide the passphrase" if shown else "Show the passphrase",
        on_click=lambda: set_shown(not shown),
        icon_size=20,
    )
    field = ft.TextField(
        label=label,
        hint_text=hint,
        password=not shown,
        autofocus=autofocus,
        border_radius=10,
        # Uncontrolled while typing (the browser keeps the text); "" once to empty it after an attempt.
        value="" if reset else None,  # type: ignore[arg-type]
        on_change=changed,
        on_submit=on_submit,
        suffix=ft.Semantics(content=reveal, label="Show or hide the passphrase", button=True, exclude_semantics=True),
    )
    return ft.Semantics(content=field, identifier=identifier)
