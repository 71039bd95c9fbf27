"""Carry on a phone (390 × 844) and a desktop (1280 × 800) in headless Chromium: the top bar keeps Lock on screen
under the longest title, the bottom bar reaches Share, the menu reaches Sources and Settings, and the other
results and assessments (surveys) have their own list. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest

from ui.browser_support import PHONE, open_app, open_unlocked, shot
from ui.test_ui_browser import CAROLYNE, expect, nav

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

LAPTOP: Any = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def carolyne(make_server: Any) -> Any:
    return make_server(CAROLYNE)


def _summary(context: Any, url: str) -> Any:
    """A new tab on Carolyne's record, unlocked, on her summary."""
    return open_unlocked(context, url, "Carolyne559 Koelpin146")


def _inside(box: dict[str, float] | None, width: float) -> bool:
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width and box["width"] > 0


def test_phone_top_bar_keeps_lock_under_a_long_title_and_every_screen_is_reachable(carolyne: Any,
                                                                                  browser: Any) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2)
    try:
        page = _summary(context, carolyne.url)
        ex = expect()
        nav(page, "Results")
        page.get_by_role("button", name="Other", exact=False).first.click()
        ex(page.locator('[flt-semantics-identifier="other-results"]')).to_be_visible()
        shot(page, "phone-other-results")
        page.get_by_role("button", name="Current antiretroviral drugs used for treatment", exact=False).first.click()
        ex(page.locator('[flt-semantics-identifier="values-title"]')).to_be_visible()
        # The longest title there is: the top bar cuts it, and Lock stays on screen and in the accessibility tree.
        lock = page.get_by_role("button", name="Lock", exact=True)
        ex(lock).to_be_visible()
        assert _inside(lock.bounding_box(), PHONE["width"])
        more = page.get_by_role("button", name="More", exact=True)
        assert _inside(more.bounding_box(), PHONE["width"])
        shot(page, "phone-long-title")
        # Share is on the bottom bar, and the bar says where you are.
        share = page.get_by_role("tab", name="Share", exact=False)
        share.click()
        ex(page.get_by_role("heading", name="Share").first).to_be_visible()
        ex(share).to_have_attribute("aria-selected", "true")
        # Sources and Settings are in the menu, by name and icon.
        more.click()
        page.get_by_role("menuitem", name="Sources").click()
        ex(page.get_by_role("heading", name="Sources").first).to_be_visible()
        more.click()
        page.get_by_role("menuitem", name="Settings").click()
        ex(page.get_by_role("heading", name="Settings").first).to_be_visible()
        shot(page, "phone-settings")
        lock.click()
        ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
    finally:
        context.close()


def test_desktop_summary_shows_treatment_and_other_results(carolyne: Any, browser: Any) -> None:
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = _summary(context, carolyne.url)
        ex = expect()
        treatment = page.locator('[flt-semantics-identifier="treatment"]')
        ex(treatment).to_contain_text("Current antiretroviral drugs used for treatment")
        shot(page, "desktop-summary-treatment")
        nav(page, "Results")
        page.get_by_role("button", name="Other", exact=False).first.click()
        ex(page.get_by_role("button", name="Patient reported current TB treatment", exact=False).first).to_be_visible()
        shot(page, "desktop-other-results")
    finally:
        context.close()


def test_timeline_jump_lands_on_the_month_heading_and_documents_show_type_author_preview(carolyne: Any,
                                                                                         browser: Any) -> None:
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = _summary(context, carolyne.url)
        ex = expect()
        nav(page, "Timeline")
        listing = page.locator('[flt-semantics-identifier="timeline-list"]')
        ex(listing).to_be_visible()
        page.mouse.move(640, 500)
        page.mouse.wheel(0, 1500)  # scrolled down first: the jump must not keep this offset
        page.wait_for_timeout(800)
        page.get_by_role("button", name="Jump to month").click()
        page.get_by_role("button", name="August 1973 (61)").click()
        month = page.get_by_role("heading", name="August 1973")
        ex(month).to_be_visible()
        page.wait_for_timeout(500)
        top, heading_box = listing.bounding_box(), month.bounding_box()
        assert top and heading_box and abs(heading_box["y"] - top["y"]) < 8, (top, heading_box)
        shot(page, "desktop-timeline-jump")
        nav(page, "Documents")
        first = page.locator('[flt-semantics-identifier="document-0"]')
        ex(first).to_contain_text("Dr. ")
        ex(first).not_to_contain_text("#")  # the preview: the note's words, not its markdown
        ex(page.get_by_text("80 documents, newest first")).to_be_visible()
        shot(page, "desktop-documents")
    finally:
        context.close()


def _luminance(rgb: tuple[int, ...]) -> float:
    lin = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_keyboard_focus_shows_a_ring_of_at_least_three_to_one(carolyne: Any, browser: Any) -> None:
    import io

    from PIL import Image

    from ui.browser_support import focus_field

    context = browser.new_context(viewport=LAPTOP)
    try:
        page = open_app(context, carolyne.url)
        focus_field(page, "Passphrase")
        button = page.locator('[flt-semantics-identifier="unlock"]')
        box = button.bounding_box()
        assert box
        clip = {"x": box["x"] - 6, "y": box["y"] - 6, "width": box["width"] + 12, "height": box["height"] + 12}
        page.wait_for_timeout(400)
        before = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")
        on_unlock = "() => { const e = document.activeElement; return !!(e && e.closest('[flt-semantics-identifier=\"unlock\"]')); }"
        for _ in range(4):  # from the passphrase (past its show/hide control) to Unlock
            page.keyboard.press("Tab")
            page.wait_for_timeout(400)
            if page.evaluate(on_unlock):
                break
        assert page.evaluate(on_unlock), "Tab never reached the Unlock button"
        after = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")
        pairs = zip(before.tobytes(), after.tobytes())
        pixels = list(zip(*[pairs] * 3))  # (r, g, b) of before and after, pixel by pixel
        changed = sum(
            _contrast(tuple(p[0] for p in px), tuple(p[1] for p in px)) >= 3.0 for px in pixels
        )
        # A ring all round the button, 2 px or more thick, each pixel at least 3:1 against the unfocused look.
        assert changed >= 2 * 2 * (box["width"] + box["height"]), changed
    finally:
        context.close()
