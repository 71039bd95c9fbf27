"""WCAG 2.x contrast of every text and background pair Carry's theme uses, light and dark, and of the chart:
4.5:1 for text, 3:1 for large text and for what is not text (a control's edge, the focus ring, a chart's line).
The ratio is computed here from the sRGB definition in WCAG (relative luminance), not taken from a library."""

from __future__ import annotations

import pytest

from app.ui.screens.welcome import meter_colour
from app.ui.theme import ALERT_TEXT, DARK, LIGHT, TONES, Palette, resolve

TEXT, NON_TEXT = 4.5, 3.0


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    hex_ = colour.lstrip("#")
    assert len(hex_) == 6, colour
    r, g, b = (int(hex_[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_formula_gives_wcags_known_values() -> None:
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)  # the classic just-fails grey
    assert contrast("#2B6F6B", "#2B6F6B") == pytest.approx(1.0)


def _pairs(p: Palette) -> list[tuple[str, str, str, float]]:
    """(what, foreground, background, minimum) for everything the screens draw in this mode."""
    pairs = []
    for name, bg in (("surface", p.surface), ("background", p.background), ("navigation", p.nav),
                     ("dialog", p.dialog), ("selected", p.primary_soft)):  # fmt: skip
        pairs += [(f"text on {name}", p.ink, bg, TEXT), (f"muted text on {name}", p.muted, bg, TEXT)]
    for name, bg in (("surface", p.surface), ("background", p.background), ("dialog", p.dialog)):
        pairs += [(f"link and text button on {name}", p.primary, bg, TEXT),
                  (f"outlined button edge on {name}", p.outline_strong, bg, NON_TEXT),
                  (f"focus ring on {name}", p.focus, bg, NON_TEXT)]  # fmt: skip
    pairs += [
        ("filled button label", p.on_primary, p.primary, TEXT),
        ("focus ring on a filled button", p.focus, p.primary, NON_TEXT),
        ("text on a selected item", p.on_primary_soft, p.primary_soft, TEXT),
        ("chart tooltip", p.on_tooltip, p.tooltip, TEXT),
        ("chart axis labels", p.muted, p.surface, TEXT),
    ]
    for n, line in enumerate((p.primary, p.line_2, p.line_3), 1):
        pairs += [(f"chart line {n} on the chart", line, p.surface, NON_TEXT),
                  (f"chart line {n} on the reference range", line, p.chart_range, NON_TEXT),
                  (f"chart legend {n} text colour", line, p.surface, NON_TEXT)]  # fmt: skip
    return pairs


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=["light", "dark"])
def test_every_pair_of_the_theme_is_readable(palette: Palette) -> None:
    failing = [f"{what}: {fg} on {bg} is {contrast(fg, bg):.2f}:1, needs {need}:1"
               for what, fg, bg, need in _pairs(palette) if contrast(fg, bg) < need]  # fmt: skip
    assert not failing, "\n".join(failing)


@pytest.mark.parametrize("palette", [LIGHT, DARK], ids=["light", "dark"])
def test_every_tone_is_readable_in_both_modes(palette: Palette) -> None:
    """A banner's or a flag's text on its fill, a tone's text straight on the surfaces it is drawn on (a refusal in
    a dialog, the strength meter on the create card), each as the mode on show resolves the tone's roles."""
    failing = []
    for tone, roles in TONES.items():
        fg, bg = (resolve(role, palette) for role in roles)
        assert fg.startswith("#") and bg.startswith("#"), f"{tone}: {roles} is not a role of the palette"
        if contrast(fg, bg) < TEXT:
            failing.append(f"{tone} banner: {fg} on {bg} is {contrast(fg, bg):.2f}:1")
        for name, under in (("surface", palette.surface), ("dialog", palette.dialog)):
            if contrast(fg, under) < TEXT:
                failing.append(f"{tone} text on the {name}: {fg} on {under} is {contrast(fg, under):.2f}:1")
    refusal = resolve(ALERT_TEXT, palette)
    if contrast(refusal, palette.dialog) < TEXT:
        failing.append(f"a refusal in a dialog: {refusal} on {palette.dialog}")
    for score in range(5):
        meter = resolve(meter_colour(score), palette)
        if contrast(meter, palette.surface) < NON_TEXT:
            failing.append(f"strength meter at {score}: {meter} on {palette.surface}")
    assert not failing, "\n".join(failing)


def test_tones_follow_the_mode() -> None:
    # The tones are roles of the theme, so a dark page gets dark banners (a light one kept would pass the checks
    # above only by accident of its own fill).
    for tone, roles in TONES.items():
        light_fill, dark_fill = (resolve(roles[1], p) for p in (LIGHT, DARK))
        assert luminance(light_fill) > 0.7 and luminance(dark_fill) < 0.05, tone
    assert resolve(ALERT_TEXT, LIGHT) != resolve(ALERT_TEXT, DARK)


def test_the_two_modes_differ_where_it_matters() -> None:
    # A dark mode that kept the light page would fail nothing above: check it is dark.
    assert luminance(DARK.background) < 0.05 < 0.8 < luminance(LIGHT.background)
    assert luminance(DARK.ink) > 0.7 and luminance(LIGHT.ink) < 0.05
