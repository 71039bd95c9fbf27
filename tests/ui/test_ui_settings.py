"""App Settings, "Where your links live" (issue 16), in headless Chromium at phone and desktop width: the patient
moves their links to a Carry host (a real `carry host` in another process, with its own data directory) with the
credential its owner made, and the next link made on the Share screen points at the host and opens from it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.carry_host import CarryHost
from sync.share import decode_link

from ui.browser_support import DESKTOP, PHONE, enter_text, open_unlocked, shot
from ui.test_ui_browser import ELVINA, expect, nav
from ui.test_ui_share import _link_text

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


@pytest.fixture
def host(tmp_path: Path) -> Iterator[CarryHost]:
    started = CarryHost(tmp_path)
    yield started
    started.stop()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_links_move_to_a_carry_host_from_settings(make_server: Any, browser: Any, host: CarryHost,
                                                  viewport: Any) -> None:  # fmt: skip
    server = make_server(ELVINA)
    context = browser.new_context(viewport=viewport)
    try:
        page = open_unlocked(context, server.url, "Elvina Lemke")
        ex = expect()
        nav(page, "Settings")
        ex(page.get_by_role("heading", name="Where your links live")).to_be_visible()
        ex(page.get_by_text("Now: this computer.", exact=False)).to_be_visible()
        page.get_by_role("radio", name="A Carry host", exact=True).click()
        enter_text(page, "Carry host address", host.url)
        # A wrong credential is refused in one sentence, and nothing changes.
        enter_text(page, "Publish credential", "carryhost_wrong")
        page.get_by_role("button", name="Save where links live").click()
        # (said beside the button: a passing notice at the foot of the page would cover the next click)
        ex(page.locator('[flt-semantics-identifier="where-result"]')).to_contain_text(
            "refused this device's publish credential")
        # The refusal drew the card again: the address is still in its field (it was drawn empty).
        page.wait_for_timeout(1000)  # what a later render would draw
        assert page.get_by_role("textbox", name=re.compile("^Carry host address")).input_value() == host.url
        assert not (server.config / "share.json").exists()
        enter_text(page, "Publish credential", host.add_device("phone"))
        page.get_by_role("button", name="Save where links live").click()
        # (the notice of it comes and goes; the settings card says it for good)
        ex(page.get_by_text(f"Now: the Carry host at {host.url}.", exact=True)).to_be_visible()
        shot(page, f"settings-link-host-{viewport['width']}")
        saved = json.loads((server.config / "share.json").read_text())
        assert saved["host_url"] == host.url and "carryhost_" not in json.dumps(saved)

        nav(page, "Share")
        ex(page.get_by_role("heading", name="What to share")).to_be_visible()
        page.get_by_role("button", name="Create link").click()
        ex(page.get_by_role("heading", name="Your link is ready")).to_be_visible()
        link = _link_text(page)
        assert link.startswith(f"{host.url}/shl/view#shlink:/")
        payload = decode_link(link)
        opened = httpx.post(payload.url, json={"recipient": "Dr. Okafor"}, timeout=30)
        assert opened.status_code == 200 and opened.json()["files"]
    finally:
        context.close()
