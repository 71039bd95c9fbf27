"""Small building blocks the screens share. They render; they hold no logic."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import flet as ft

from app.views import Flag

from .theme import INK, MUTED, OUTLINE, PRIMARY, SURFACE, TONES

__all__ = [
    "banner",
    "card",
    "empty",
    "flag_chip",
    "heading",
    "icon_button",
    "labelled",
    "loading",
    "muted",
    "named_radios",
    "present",
    "primary_button",
    "row_tile",
    "secondary_button",
    "section",
]

Handler = Callable[..., Any]


def labelled(control: ft.Control, identifier: str, label: str | None = None) -> ft.Control:
    """A stable test id (and optionally an accessible name) on a control, via Flutter semantics."""
    return ft.Semantics(content=control, identifier=identifier, label=label)


def named_radios(name: str, group: ft.RadioGroup, *, shown: bool = False) -> ft.Control:
    """A radio group whose name a screen reader says as it enters it: Flutter's radiogroup node takes no name, so
    the group sits in a named container. `shown` also prints the name above the radios, for the eye only (a
    screen reader reads it once, as the group's name, not again as a text beside it)."""
    named = ft.Semantics(label=name, container=True, content=group)
    if not shown:
        return named
    title = ft.Text(name, size=15, weight=ft.FontWeight.W_600, color=INK)
    return ft.Column([ft.Semantics(content=title, exclude_semantics=True), named], spacing=2)


def icon_button(icon: Any, label: str, on_click: Handler | None, identifier: str, *, url: Any = None) -> ft.Control:
    """An icon-only button whose accessible name is `label` (a tooltip alone gives it none in Flutter web)."""
    button = ft.IconButton(icon, tooltip=label, on_click=on_click, url=url)
    return ft.Semantics(content=button, label=label, button=True, exclude_semantics=True, identifier=identifier)


def heading(text: str, level: int = 1, *, identifier: str | None = None) -> ft.Control:
    sizes = {1: 26, 2: 19, 3: 16}
    control = ft.Text(text, size=sizes.get(level, 16), weight=ft.FontWeight.W_600, color=INK)
    return ft.Semantics(content=control, header=True, heading_level=level, identifier=identifier)


def muted(text: str, size: int = 14, **kwargs: Any) -> ft.Text:
    return ft.Text(text, size=size, color=MUTED, **kwargs)


def primary_button(text: str, on_click: Handler | None, identifier: str, *, icon: Any = None, **kwargs: Any) -> ft.Control:
    button = ft.FilledButton(content=text, icon=icon, on_click=on_click, **kwargs)
    return labelled(button, identifier)


def secondary_button(text: str, on_click: Handler | None, identifier: str, *, icon: Any = None, **kwargs: Any) -> ft.Control:
    button = ft.OutlinedButton(content=text, icon=icon, on_click=on_click, **kwargs)
    return labelled(button, identifier)


def flag_chip(flag: Flag | None) -> ft.Control | None:
    """An out-of-range or high-risk marker: a word, an icon and a colour, so colour is never the only signal."""
    if flag is None:
        return None
    fg, bg = TONES[flag.severity]
    icon = ft.Icons.ERROR_OUTLINE if flag.severity == "alert" else ft.Icons.ARROW_UPWARD if "High" in flag.word else (
        ft.Icons.ARROW_DOWNWARD if "Low" in flag.word else ft.Icons.WARNING_AMBER
    )
    return ft.Container(
        content=ft.Row(
            [ft.Icon(icon, size=14, color=fg), ft.Text(flag.word, size=12, weight=ft.FontWeight.W_600, color=fg)],
            spacing=4,
            tight=True,
        ),
        bgcolor=bg,
        border_radius=10,
        padding=ft.Padding.symmetric(horizontal=8, vertical=2),
    )


def banner(text: str, tone: str = "info", *, identifier: str = "message") -> ft.Control:
    fg, bg = TONES[tone]
    icon = {"alert": ft.Icons.ERROR_OUTLINE, "warn": ft.Icons.WARNING_AMBER, "ok": ft.Icons.CHECK_CIRCLE_OUTLINE}.get(
        tone, ft.Icons.INFO_OUTLINE
    )
    return ft.Semantics(
        identifier=identifier,
        live_region=True,
        content=ft.Container(
            content=ft.Row(
                [ft.Icon(icon, color=fg, size=20), ft.Text(text, color=fg, size=14, expand=True)],
                vertical_alignment=ft.CrossAxisAlignment.START,
            ),
            bgcolor=bg,
            border_radius=10,
            padding=12,
        ),
    )


def card(content: ft.Control, *, padding: int = 16, expand: bool | int | None = None, col: Any = None) -> ft.Container:
    return ft.Container(
        content=content,
        bgcolor=SURFACE,
        border_radius=14,
        border=ft.Border.all(1, OUTLINE),
        padding=padding,
        expand=expand,
        col=col if col is not None else 12,
    )


def empty(text: str) -> ft.Control:
    return ft.Container(content=muted(text, italic=True), padding=ft.Padding.symmetric(vertical=6))


def row_tile(
    title: str,
    subtitle: str = "",
    *,
    on_click: Handler | None = None,
    trailing: ft.Control | None = None,
    date: str = "",
    identifier: str | None = None,
    note: str = "",
) -> ft.Control:
    """One line of a list: title, a muted second line, a date and an optional flag; opens the item when tapped.
    `note` adds a quoted third line (a document's first words)."""
    texts: list[ft.Control] = [ft.Text(title, size=15, color=INK, weight=ft.FontWeight.W_500, max_lines=2,
                                       overflow=ft.TextOverflow.ELLIPSIS)]  # fmt: skip
    if subtitle:
        texts.append(muted(subtitle, size=13, max_lines=2, overflow=ft.TextOverflow.ELLIPSIS))
    if note:
        texts.append(ft.Text(note, size=13, color=INK, italic=True, max_lines=2, overflow=ft.TextOverflow.ELLIPSIS))
    right: list[ft.Control] = []
    if trailing is not None:
        right.append(trailing)
    if date:
        right.append(muted(date, size=12))
    body = ft.Row(
        [
            ft.Column(texts, spacing=2, expand=True),
            ft.Column(right, spacing=4, horizontal_alignment=ft.CrossAxisAlignment.END, tight=True),
        ],
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )
    tile = ft.Container(
        content=body,
        padding=ft.Padding.symmetric(horizontal=8, vertical=8),
        border_radius=8,
        on_click=on_click,
        ink=on_click is not None,
    )
    if identifier:
        return ft.Semantics(content=tile, identifier=identifier, button=on_click is not None)
    return tile


def section(
    title: str,
    rows: Sequence[ft.Control],
    empty_text: str,
    *,
    identifier: str,
    icon: Any = None,
    col: Any = None,
    action: ft.Control | None = None,
) -> ft.Control:
    header: list[ft.Control] = []
    if icon is not None:
        header.append(ft.Icon(icon, color=PRIMARY, size=20))
    header.append(heading(title, 2))
    if action is not None:
        header.extend([ft.Container(expand=True), action])
    body: list[ft.Control] = [ft.Row(header, spacing=8)]
    body.extend(rows if rows else [empty(empty_text)])
    return ft.Semantics(
        container=True, identifier=identifier, content=card(ft.Column(body, spacing=2), col=col), col=col or 12
    )


def tidying_note(percent: int | None) -> ft.Control | None:
    """While the record file is rewritten after a big import or sync: how far, in words and a bar (its label says
    the percent to a screen reader); None otherwise."""
    if percent is None:
        return None
    return ft.Column(
        [
            # The number and its % kept on one line (a no-break space).
            labelled(muted(f"Tidying the record file… {percent}\u00a0%"), "tidying"),
            ft.ProgressBar(value=percent / 100, bar_height=5, border_radius=3, color=PRIMARY,
                           semantics_label=f"Tidying the record file {percent}\u00a0%"),  # fmt: skip
            muted("Carry packs your record after a big import or sync. You can go on meanwhile.", size=13),
        ],
        spacing=6,
    )


def loading(label: str = "Loading") -> ft.Control:
    """A screen's place while its data loads (it fits in a scrolling page: no expand)."""
    return ft.Container(content=ft.ProgressRing(width=32, height=32, semantics_label=label),
                        alignment=ft.Alignment.CENTER, padding=40)  # fmt: skip


def present(*controls: ft.Control | None) -> list[ft.Control]:
    """The controls that are there (a message shown only after a press is None before)."""
    return [c for c in controls if c is not None]
