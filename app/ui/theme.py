"""Carry's look: calm, high-contrast text on soft surfaces; colour never carries meaning alone."""

from __future__ import annotations

import flet as ft

__all__ = ["FOCUS_RING", "INK", "MUTED", "MONOSPACE", "PRIMARY", "SURFACE", "BACKGROUND", "TONES", "PHONE_MAX", "app_theme"]

PRIMARY = "#2B6F6B"  # deep teal
PRIMARY_SOFT = "#DCEDEA"
INK = "#1F2A2E"
MUTED = "#55656A"
BACKGROUND = "#F5F7F6"
SURFACE = "#FFFFFF"
OUTLINE = "#D5DEDC"
# (text colour, background) per tone; every flag also has a word and an icon.
TONES = {
    "alert": ("#9B1C22", "#FDE7E9"),
    "warn": ("#7A4B00", "#FFF0D4"),
    "ok": ("#1E5E3A", "#E2F3E8"),
    "info": ("#234B6E", "#E3EEF8"),
}
# Flutter web has no generic "monospace" family (it falls back to the proportional Roboto); Flet's web client
# bundles KaTeX's typewriter face, a fixed-width font with the ASCII that FHIR JSON is made of.
MONOSPACE = "packages/flutter_math_fork/KaTeX_Typewriter"
PHONE_MAX = 720  # narrower than this: phone layout (bottom navigation, one column)


def app_theme() -> ft.Theme:
    # Six destinations share a 390 px phone bar: 12 px labels keep "Documents" on one line.
    bar = ft.NavigationBarTheme(label_text_style=ft.TextStyle(size=12, weight=ft.FontWeight.W_500, color=INK))
    return ft.Theme(
        color_scheme_seed=PRIMARY, use_material3=True, scaffold_bgcolor=BACKGROUND, navigation_bar_theme=bar,
        focus_color=FOCUS_FILL,
        filled_button_theme=ft.FilledButtonTheme(style=_focus_ring(ft.BorderSide.none())),
        outlined_button_theme=ft.OutlinedButtonTheme(style=_focus_ring(ft.BorderSide(1, OUTLINE_STRONG))),
        text_button_theme=ft.TextButtonTheme(style=_focus_ring(ft.BorderSide.none())),
        icon_button_theme=ft.IconButtonTheme(style=_focus_ring(ft.BorderSide.none())),
    )


# Keyboard focus shows as a 3 px black ring: at least 3:1 against what it replaces (3.6:1 on the teal of a filled
# button, 21:1 on white), as WCAG asks of a focus indicator; Material's own focus is a 10 % tint, barely there.
FOCUS_RING = "#000000"
FOCUS_FILL = "#332B6F6B"  # the primary colour at 20 %, behind focused list items
OUTLINE_STRONG = "#7A8C88"  # an outlined button's border when it has no focus


def _focus_ring(normal: ft.BorderSide) -> ft.ButtonStyle:
    # No focus tint over the ring: Material's white tint on a filled button would grey the black ring.
    return ft.ButtonStyle(side={ft.ControlState.FOCUSED: ft.BorderSide(3, FOCUS_RING), ft.ControlState.DEFAULT: normal},
                          overlay_color={ft.ControlState.FOCUSED: ft.Colors.TRANSPARENT})  # fmt: skip
