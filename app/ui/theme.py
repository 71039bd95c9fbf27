"""Carry's look: calm, high-contrast text on soft surfaces; colour never carries meaning alone.

The screens name colours by role (INK, MUTED, SURFACE, …), and each role is a colour of the Material colour scheme,
so one tree of controls shows light or dark as the patient chose (page.theme_mode), switched live. The hex values
of each role, light and dark, are in LIGHT and DARK; tests/ui/test_ui_contrast.py checks every pair the screens use
against WCAG's contrast minimums.
"""

from __future__ import annotations

from dataclasses import dataclass

import flet as ft

__all__ = [
    "ALERT_TEXT", "BACKGROUND", "CHART_LINES", "CHART_GRID", "CHART_RANGE", "DARK", "FALLBACK_FONT", "FALLBACK_FONTS",
    "FONT", "FOCUS_RING", "INK", "LIGHT",
    "MUTED", "MONOSPACE", "OUTLINE", "OUTLINE_STRONG", "Palette", "PHONE_MAX", "PRIMARY", "PRIMARY_SOFT", "SURFACE",
    "TONES", "TOOLTIP_BACKGROUND", "TOOLTIP_TEXT", "ON_PRIMARY", "app_theme", "resolve",
]  # fmt: skip


@dataclass(frozen=True)
class Palette:
    """The hex value of every colour role, in one mode."""

    ink: str  # text
    muted: str  # secondary text, axis labels
    surface: str  # cards, the top bar, dialogs
    background: str  # behind the cards
    primary: str  # filled buttons, links, the first chart line
    on_primary: str  # a filled button's label
    primary_soft: str  # selected things
    on_primary_soft: str
    outline: str  # card borders and dividers (decoration)
    outline_strong: str  # an outlined button's border (a control's edge: 3:1)
    line_2: str  # the second and third lines of a chart
    line_3: str
    chart_range: str  # the reference range band
    chart_grid: str
    tooltip: str  # the chart's tooltip: the inverse of the page
    on_tooltip: str
    nav: str  # the navigation bar and rail
    dialog: str
    focus: str  # the keyboard focus ring
    # The tones of banners, flags and warnings: each a text colour and the fill it sits on. The text colours are
    # also a tone drawn straight on the surface (a refusal in a dialog, the passphrase strength meter).
    alert: str
    alert_fill: str
    warn: str
    warn_fill: str
    ok: str
    ok_fill: str
    info: str
    info_fill: str


LIGHT = Palette(
    ink="#1F2A2E", muted="#55656A", surface="#FFFFFF", background="#F5F7F6", primary="#2B6F6B", on_primary="#FFFFFF",
    primary_soft="#DCEDEA", on_primary_soft="#0E3532", outline="#D5DEDC", outline_strong="#7A8C88",
    line_2="#8A4FBF", line_3="#B35C00", chart_range="#E6F2EF", chart_grid="#EEF2F1", tooltip="#1F2A2E",
    on_tooltip="#FFFFFF", nav="#EDF2F0", dialog="#FFFFFF", focus="#000000",
    alert="#9B1C22", alert_fill="#FDE7E9", warn="#7A4B00", warn_fill="#FFF0D4", ok="#1E5E3A", ok_fill="#E2F3E8",
    info="#234B6E", info_fill="#E3EEF8",
)  # fmt: skip
DARK = Palette(
    ink="#E4ECEA", muted="#A9B9B5", surface="#1B2321", background="#111816", primary="#3FA39A", on_primary="#00201D",
    primary_soft="#1F4A46", on_primary_soft="#CFEDE9", outline="#3A4744", outline_strong="#8A9C98",
    line_2="#CDA8F0", line_3="#F2A766", chart_range="#26403C", chart_grid="#27312F", tooltip="#E4ECEA",
    on_tooltip="#111816", nav="#1F2927", dialog="#232D2B", focus="#FFFFFF",
    alert="#FFA8AC", alert_fill="#55191E", warn="#F5C46A", warn_fill="#453000", ok="#86D9A6", ok_fill="#16402B",
    info="#A3CBF2", info_fill="#1A3A59",
)  # fmt: skip

# The roles, as colours of the Material scheme (app_theme sets them from the palette of the mode on show).
INK = ft.Colors.ON_SURFACE
MUTED = ft.Colors.ON_SURFACE_VARIANT
SURFACE = ft.Colors.SURFACE
BACKGROUND = ft.Colors.SURFACE_CONTAINER_LOWEST
PRIMARY = ft.Colors.PRIMARY
ON_PRIMARY = ft.Colors.ON_PRIMARY
PRIMARY_SOFT = ft.Colors.PRIMARY_CONTAINER
OUTLINE = ft.Colors.OUTLINE_VARIANT
OUTLINE_STRONG = ft.Colors.OUTLINE
CHART_LINES = (ft.Colors.PRIMARY, ft.Colors.TERTIARY, ft.Colors.SECONDARY)
CHART_RANGE = ft.Colors.SURFACE_CONTAINER_HIGHEST
CHART_GRID = ft.Colors.SURFACE_CONTAINER_HIGH
TOOLTIP_BACKGROUND = ft.Colors.INVERSE_SURFACE
TOOLTIP_TEXT = ft.Colors.ON_INVERSE_SURFACE
# Keyboard focus shows as a 3 px ring, black on light and white on dark: at least 3:1 against what it replaces (the
# teal of a filled button, the surface), as WCAG asks of a focus indicator; Material's own focus is a 10 % tint.
# (The scheme's inverse primary carries it: nothing else of Carry's uses that role.)
FOCUS_RING = ft.Colors.INVERSE_PRIMARY
FOCUS_FILL = "#332B6F6B"  # the primary colour at 20 %, behind focused list items

# (text colour, background) per tone, as roles like the rest: a light banner on the light page, a dark one on the
# dark page. The scheme has no roles named for tones; these are ones Material's own controls do not draw with
# (the error container, and the "fixed" colours meant for things that keep their colour). Every flag also has a
# word and an icon.
TONES = {
    "alert": (ft.Colors.ON_ERROR_CONTAINER, ft.Colors.ERROR_CONTAINER),
    "warn": (ft.Colors.ON_TERTIARY_FIXED, ft.Colors.TERTIARY_FIXED),
    "ok": (ft.Colors.ON_SECONDARY_FIXED, ft.Colors.SECONDARY_FIXED),
    "info": (ft.Colors.ON_PRIMARY_FIXED, ft.Colors.PRIMARY_FIXED),
}
# A refusal said in red on a surface (a dialog's), not in a banner: the scheme's error colour, the alert tone's text.
ALERT_TEXT = ft.Colors.ERROR
# Flutter web has no generic "monospace" family (it falls back to the proportional Roboto); Flet's web client
# bundles KaTeX's typewriter face, a fixed-width font with the ASCII that FHIR JSON is made of.
MONOSPACE = "packages/flutter_math_fork/KaTeX_Typewriter"
# Flet's Roboto has no superscript digits but ¹²³ (a unit "10⁶/µL" showed a box), nor many other symbols; Flutter
# would fetch Noto fallbacks from Google's CDN, which Carry never asks. DejaVu Sans, shipped with Carry and served
# by Carry (app/web_client.py, FALLBACK_FONT_URL), draws what Roboto lacks: every text style names it as its fallback.
# Roboto is named, not left implied: a style with a fallback but no family is drawn in the fallback alone.
FONT = "Roboto"  # the family flet_web registers for its roboto.woff2
FALLBACK_FONT = "DejaVu Sans"
FALLBACK_FONTS = [FALLBACK_FONT]
PHONE_MAX = 720  # narrower than this: phone layout (bottom navigation, one column)

# Which palette field each role's scheme colour is (how app_theme sets them), to resolve a control's colour.
_ROLE_FIELDS = {
    INK: "ink", MUTED: "muted", SURFACE: "surface", BACKGROUND: "background", PRIMARY: "primary",
    ON_PRIMARY: "on_primary", PRIMARY_SOFT: "primary_soft", ft.Colors.ON_PRIMARY_CONTAINER: "on_primary_soft",
    OUTLINE: "outline", OUTLINE_STRONG: "outline_strong", ft.Colors.TERTIARY: "line_2", ft.Colors.SECONDARY: "line_3",
    CHART_RANGE: "chart_range", CHART_GRID: "chart_grid", TOOLTIP_BACKGROUND: "tooltip", TOOLTIP_TEXT: "on_tooltip",
    ft.Colors.SURFACE_CONTAINER: "nav", FOCUS_RING: "focus", ALERT_TEXT: "alert",
    **{role: tone + suffix for tone, roles in TONES.items() for role, suffix in zip(roles, ("", "_fill"))},
}  # fmt: skip


def resolve(colour: object, palette: Palette) -> str:
    """The hex value a colour of the screens has in `palette` (a role's, or a fixed hex colour as it is)."""
    field = _ROLE_FIELDS.get(colour) if isinstance(colour, ft.Colors) else None
    return str(getattr(palette, field)) if field else str(colour)


# Material 3's type scale (logical pixels), scaled by the patient's text size.
_TYPE_SCALE = {
    "display_small": 36, "headline_large": 32, "headline_medium": 28, "headline_small": 24, "title_large": 22,
    "title_medium": 16, "title_small": 14, "body_large": 16, "body_medium": 14, "body_small": 12, "label_large": 14,
    "label_medium": 12, "label_small": 11,
}  # fmt: skip


def app_theme(palette: Palette = LIGHT, text_scale: float = 1.0) -> ft.Theme:
    """The Theme for one mode (page.theme with LIGHT, page.dark_theme with DARK) at the patient's text size."""
    p = palette
    scheme = ft.ColorScheme(
        primary=p.primary, on_primary=p.on_primary, primary_container=p.primary_soft,
        on_primary_container=p.on_primary_soft, secondary=p.line_3, tertiary=p.line_2, surface=p.surface,
        on_surface=p.ink, on_surface_variant=p.muted, outline=p.outline_strong, outline_variant=p.outline,
        surface_container_lowest=p.background, surface_container_low=p.surface, surface_container=p.nav,
        surface_container_high=p.dialog, surface_container_highest=p.chart_range, inverse_surface=p.tooltip,
        on_inverse_surface=p.on_tooltip, inverse_primary=p.focus, error=p.alert, on_error_container=p.alert,
        error_container=p.alert_fill, on_tertiary_fixed=p.warn, tertiary_fixed=p.warn_fill, on_secondary_fixed=p.ok,
        secondary_fixed=p.ok_fill, on_primary_fixed=p.info, primary_fixed=p.info_fill,
    )  # fmt: skip
    # Six destinations share a 390 px phone bar: 12 px labels keep "Documents" on one line (at every text size:
    # larger labels break into pieces there; the icons and the screen's own title say where you are).
    label = ft.TextStyle(size=12, weight=ft.FontWeight.W_500, color=p.ink, font_family=FONT,
                         font_family_fallback=FALLBACK_FONTS)  # fmt: skip
    bar = ft.NavigationBarTheme(bgcolor=p.nav, label_text_style=label)
    # Each style names its colour too: a style without one is drawn in Flutter's fallback black, even when dark.
    text = ft.TextTheme(**{role: ft.TextStyle(size=round(size * text_scale), color=p.ink,
                                              font_family=FONT, font_family_fallback=FALLBACK_FONTS)
                           for role, size in _TYPE_SCALE.items()})  # fmt: skip
    return ft.Theme(
        color_scheme_seed=LIGHT.primary, color_scheme=scheme, use_material3=True, scaffold_bgcolor=p.background,
        font_family=FONT, navigation_bar_theme=bar, text_theme=text, focus_color=FOCUS_FILL,
        filled_button_theme=ft.FilledButtonTheme(style=_focus_ring(ft.BorderSide.none())),
        outlined_button_theme=ft.OutlinedButtonTheme(style=_focus_ring(ft.BorderSide(1, OUTLINE_STRONG))),
        text_button_theme=ft.TextButtonTheme(style=_focus_ring(ft.BorderSide.none())),
        icon_button_theme=ft.IconButtonTheme(style=_focus_ring(ft.BorderSide.none())),
    )  # fmt: skip


def _focus_ring(normal: ft.BorderSide) -> ft.ButtonStyle:
    # No focus tint over the ring: Material's white tint on a filled button would grey the black ring.
    return ft.ButtonStyle(side={ft.ControlState.FOCUSED: ft.BorderSide(3, FOCUS_RING), ft.ControlState.DEFAULT: normal},
                          overlay_color={ft.ControlState.FOCUSED: ft.Colors.TRANSPARENT})  # fmt: skip
