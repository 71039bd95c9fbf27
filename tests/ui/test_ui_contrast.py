"""WCAG 2.x contrast of every text and background pair Carry's theme uses, light and dark, and of the chart:
4.5:1 for text, 3:1 for large text and for what is not text (a control's edge, the focus ring, a chart's line).
The ratio is computed here from the sRGB definition in WCAG (relative luminance), not taken from a library."""

from __future__ import annotations

import pytest

from app.ui.theme import DARK, LIGHT, TONES, Palette

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


def test_every_tone_banner_is_readable() -> None:
    for tone, (fg, bg) in TONES.items():
        assert contrast(fg, bg) >= TEXT, tone


def test_the_two_modes_differ_where_it_matters() -> None:
    # A dark mode that kept the light page would fail nothing above: check it is dark.
    assert luminance(DARK.background) < 0.05 < 0.8 < luminance(LIGHT.background)
    assert luminance(DARK.ink) > 0.7 and luminance(LIGHT.ink) < 0.05
