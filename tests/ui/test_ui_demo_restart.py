"""The demo hospital on day two, in the browser (issue 17 item 9): connect and sync it, restart `carry serve` on the
same record, and the source neither claims "Connected" over a hospital that cannot answer nor fails for ever:
it says when it was last reached and why it failed, Sync now says plainly what to do, and trying the demo again
renews the same source."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest

from app.portals import Portals
from app.record import Record
from support.records import PASSPHRASE
from ui.browser_support import DESKTOP, PHONE, AppServer, build_record, open_app, shot, sign_in_at_demo_portal

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


def expect() -> Any:
    from playwright.sync_api import expect as _expect

    _expect.set_options(timeout=30_000)
    return _expect


def _demo_port(record: Path) -> int:
    with Record.open(record, PASSPHRASE) as opened:
        (conn,) = Portals(opened).sources()
    port = int(conn.base_url.split(":")[2].split("/")[0])
    return port


def _to_sources(page: Any, phone: bool) -> None:
    from test_ui_browser import nav

    if phone:  # the top bar's menu holds Sources at phone width
        page.get_by_role("button", name="More", exact=True).click()
        page.get_by_role("menuitem", name="Sources").click()
    else:
        nav(page, "Sources")


def _sources_again(page: Any, phone: bool) -> None:
    """Show the Sources screen afresh (it is drawn when opened)."""
    from test_ui_browser import nav

    nav(page, "Summary")
    _to_sources(page, phone)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_the_demo_hospital_across_a_restart_of_carry_serve(browser: Any, viewport: Any) -> None:
    from test_ui_browser import unlock

    phone = viewport is PHONE

    root = Path(tempfile.mkdtemp(prefix="carry-ui-restart-"))
    record, config = build_record(root / "record.carry", []), root / "config"
    ex = expect()
    server = AppServer(record, config)
    try:
        context = browser.new_context(viewport=viewport)
        page = open_app(context, server.url)
        unlock(page)
        page.get_by_role("button", name="Try the demo hospital").click()
        portal = sign_in_at_demo_portal(context, page)
        portal.get_by_role("button", name="Allow").click()
        ex(page.locator('[flt-semantics-identifier="sync-done"]')).to_contain_text("new,", timeout=90_000)
        context.close()
    finally:
        server.stop()  # Carry quits, and its demo hospital with it

    port = _demo_port(record)
    blocker = socket.socket()  # another program takes the demo hospital's port meanwhile
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", port))
    blocker.listen(1)
    server = AppServer(record, config)  # day two: the same record
    try:
        context = browser.new_context(viewport=viewport)
        page = open_app(context, server.url)
        unlock(page)
        _to_sources(page, phone)
        page.get_by_role("button", name="Sync now").click()
        error = page.locator('[flt-semantics-identifier="sync-error"]')
        ex(error).to_contain_text(f"another program is using port {port}")
        ex(error).to_contain_text("Close that program and sync again")
        _sources_again(page, phone)
        status = page.locator('[flt-semantics-identifier="source-status-0"]')
        ex(status).to_contain_text("Not reached last time")
        ex(status).not_to_contain_text("Connected")
        ex(page.locator('[flt-semantics-identifier="source-reached-0"]')).to_contain_text("Last reached:")
        ex(page.locator('[flt-semantics-identifier="source-reached-0"]')).not_to_contain_text("never")
        shot(page, f"demo-restart-not-reached-{viewport['width']}")

        blocker.close()  # the port is free again: Sync now starts the hospital at the saved address
        page.get_by_role("button", name="Sync now").click()
        ex(error).to_contain_text("connect")  # it forgot the login it gave: connect again, data kept
        _sources_again(page, phone)
        ex(status).to_contain_text("Needs reconnecting")
        shot(page, f"demo-restart-needs-reconnect-{viewport['width']}")

        # Reconnect opens the demo hospital's own panel and renews the same source: one "Demo hospital", connected.
        page.get_by_role("button", name="Reconnect").click()
        portal = sign_in_at_demo_portal(context, page)
        portal.get_by_role("button", name="Allow").click()
        ex(page.locator('[flt-semantics-identifier="sync-done"]')).to_contain_text("unchanged", timeout=90_000)
        _sources_again(page, phone)
        ex(page.get_by_role("heading", name="Demo hospital")).to_have_count(1)
        ex(status).to_contain_text("Connected")
        ex(page.locator('[flt-semantics-identifier="source-reached-0"]')).to_have_count(0)
        context.close()
    finally:
        blocker.close()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
