"""Nothing leaves the device: every request the browser makes during the whole demo journey (first page, unlock,
the demo hospital's sign-in in a second tab, the sync, every section) goes to 127.0.0.1, where Carry and its
demo portal run. Before Carry's offline script, Flet's client asked cdn.jsdelivr.net for the Rive runtime on
every page load."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from ui.browser_support import DESKTOP, open_app, shot, sign_in_at_demo_portal
from ui.test_ui_browser import expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

SECTIONS = ("Timeline", "Results", "Documents", "Search", "Share", "Sources", "Settings", "Summary")


def test_the_demo_journey_asks_no_other_host(make_server: Any, browser: Any) -> None:
    server = make_server([])
    context = browser.new_context(viewport=DESKTOP)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    try:
        page = open_app(context, server.url)
        ex = expect()
        unlock(page)
        page.get_by_role("button", name="Try the demo hospital").click()
        sign_in_at_demo_portal(context, page).get_by_role("button", name="Allow").click()
        ex(page.locator('[flt-semantics-identifier="sync-done"]')).to_contain_text("new,", timeout=90_000)
        page.get_by_role("button", name="See your summary").click()
        ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
        for section in SECTIONS:
            nav(page, section)
            ex(page.get_by_role("heading", name=section if section != "Summary" else "Elvina Lemke").first).to_be_visible()
        page.wait_for_timeout(1000)  # anything the client starts late
        shot(page, "offline-journey-end")
    finally:
        context.close()
    assert any(url.startswith(server.url) for url in requested)
    schemes = {"http", "https", "ws", "wss"}
    elsewhere = sorted({url for url in requested if urlsplit(url).scheme in schemes and urlsplit(url).hostname != "127.0.0.1"})
    assert not elsewhere, f"requests to other hosts: {elsewhere}"
