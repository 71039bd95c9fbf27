"""Flutter draws Carry on one thread (app/web/carry-renderer.js): in headless Chromium, skwasm's render worker and
the page sometimes waited on each other for good after a theme or text-size change, and the tab froze (about
one change in six). These tests see the single-threaded renderer in the page, and a run of settings changes, each
applied and answered, that froze the worker-drawn page within a few changes."""

from __future__ import annotations

from typing import Any

import pytest

from ui.browser_support import DESKTOP, open_app
from ui.test_ui_browser import ELVINA, expect, nav, unlock

pytestmark = [pytest.mark.browser]


def test_the_page_draws_without_a_render_worker(make_server: Any, browser: Any) -> None:
    server = make_server(ELVINA)
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = open_app(context, server.url)
        assert page.evaluate("window.crossOriginIsolated") is True  # so Flutter would have used a worker
        assert page.evaluate("window._flutter_skwasmInstance.skwasmSingleThreaded") is True
        assert page.workers == []
    finally:
        context.close()


def test_settings_changed_in_a_row_never_freeze_the_tab(make_server: Any, browser: Any) -> None:
    server = make_server(ELVINA)
    context = browser.new_context(viewport=DESKTOP)
    ex = expect()
    try:
        page = open_app(context, server.url)
        unlock(page)
        ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
        nav(page, "Settings")
        labels = ["Dark", "Larger", "US (lb, in, °F)", "Light", "Normal", "Metric (kg, cm, °C)"] * 4
        for i, label in enumerate(labels):
            radio = page.get_by_role("radio", name=label, exact=True)
            radio.click(timeout=10000)
            if i % 3 == 2:  # three changes in quick succession, then each must have been applied
                for done in labels[i - 2 : i + 1]:
                    ex(page.get_by_role("radio", name=done, exact=True)).to_be_checked(timeout=10000)
                page.screenshot(timeout=10000)  # the tab still draws (a frozen one times out here)
    finally:
        context.close()
