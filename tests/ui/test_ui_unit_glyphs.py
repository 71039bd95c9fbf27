"""Units drawn as written: '10⁶/µL' on a phone shows a raised 6, not a box.

Flet's Roboto has superscript ¹²³ but no ⁶ (or ⁹, ⁴ …), and the web client's own fallback would be Google's
Noto fonts from a CDN Carry never asks: the glyph was drawn as Roboto's empty box, sitting on the baseline as tall
as a capital. Carry serves DejaVu Sans as the fallback font (app/ui/theme.py, FALLBACK_FONT). The test reads the
pixels of a real result's value line: among its glyphs there must be one raised above the middle of the digits
(the superscript; the box stood on the baseline, as tall as the digits, so this fails with it).
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from PIL import Image

from ui.browser_support import PHONE, open_app, shot
from ui.test_ui_browser import ELVINA, expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]



class Glyph:
    """One connected group of dark pixels (ink on the light card)."""

    def __init__(self, pixels: list[tuple[int, int]]) -> None:
        self.pixels = set(pixels)
        xs, ys = [p[0] for p in pixels], [p[1] for p in pixels]
        self.left, self.top, self.right, self.bottom = min(xs), min(ys), max(xs), max(ys)

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    def __repr__(self) -> str:
        return f"Glyph(x={self.left}-{self.right}, y={self.top}-{self.bottom})"


def glyphs(image: Image.Image) -> list[Glyph]:
    """The glyphs of a line of text, left to right."""
    grey = image.convert("L")
    width, height = grey.size
    data = list(grey.getdata())
    ink = {(x, y) for y in range(height) for x in range(width) if data[y * width + x] < 140}
    found: list[Glyph] = []
    while ink:
        start = ink.pop()
        group, todo = [start], [start]
        while todo:
            x, y = todo.pop()
            for near in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if near in ink:
                    ink.remove(near)
                    group.append(near)
                    todo.append(near)
        found.append(Glyph(group))
    return sorted(found, key=lambda g: g.left)


def test_a_superscript_unit_is_drawn_raised_not_as_a_box(make_server: Any, browser: Any) -> None:
    server = make_server(ELVINA)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    try:
        page = open_app(context, server.url)
        ex = expect()
        unlock(page)
        ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
        nav(page, "Results")
        page.get_by_role("button", name="Red blood cells", exact=False).first.click()
        # The row of Synthea's 3.9170796885740327 10*6/uL: its value, then the flag and the date on the right.
        value = page.get_by_role("button", name="3.92 10⁶/µL Low", exact=False)
        ex(value).to_be_visible()
        shot(page, "ui-unit-superscript-phone")
        box = value.bounding_box()
        assert box is not None
        scale = 2  # the context's device pixels per CSS pixel
        png = Image.open(BytesIO(page.screenshot()))
        line = png.crop((round(box["x"] * scale), round(box["y"] * scale),
                         round((box["x"] + box["width"] * 0.5) * scale), round((box["y"] + box["height"]) * scale)))
    finally:
        context.close()
    found = glyphs(line)
    tall = [g for g in found if g.height >= 12]  # digits, letters, '/' (and a box): not the point or noise
    assert len(tall) >= 6, f"expected the digits and letters of '3.92 10⁶/µL', found {found}"
    tops = sorted(g.top for g in tall)
    bottoms = sorted(g.bottom for g in tall)
    top, baseline = tops[len(tops) // 2], bottoms[len(bottoms) // 2]  # a digit's top and bottom
    middle = (top + baseline) / 2
    raised = [g for g in found if g.bottom < middle and g.height >= 5]
    assert raised, f"no glyph is raised above the digits' middle (the ⁶ is not drawn as a superscript): {found}"
