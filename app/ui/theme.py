"""Carry's look: calm, high-contrast text on soft surfaces; colour never carries meaning alone."""

from __future__ import annotations

import flet as ft

__all__ = ["INK", "MUTED", "MONOSPACE", "PRIMARY", "SURFACE", "BACKGROUND", "TONES", "PHONE_MAX", "app_theme"]

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
    return ft.Theme(color_scheme_seed=PRIMARY, use_material3=True, scaffold_bgcolor=BACKGROUND,
                    navigation_bar_theme=bar)  # fmt: skip
