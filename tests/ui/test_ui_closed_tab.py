"""Issue 13, finding 6 and the CSP and logout of finding 9, in headless Chromium against a real `carry serve`: a closed tab's
record is locked at once, and a tab that restores the closed one's session storage (reopen closed tab, duplicate
tab) finds the unlock screen, not the record; the app loads and unlocks under its Content-Security-Policy, which
refuses nothing of Carry's own; **Log out** in the app ends the login; at 1280 px and 390 px."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.server import build_app, load_login, save_login
from app.ui import AppContext
from support.records import PASSPHRASE
from support.serving import Running, free_port

from ui.browser_support import DESKTOP, PHONE, build_record, enter_text, open_app

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

ELVINA = ["hospitalInformation*.json", "practitionerInformation*.json", "Elvina_Lemke_*.json"]


@pytest.fixture(scope="module")
def elvina(make_server: Any) -> Any:
    return make_server(ELVINA)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_a_closed_tab_is_locked_and_cannot_be_restored(elvina: Any, browser: Any, viewport: Any) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    context = browser.new_context(viewport=viewport)
    violations: list[str] = []

    def watch(page: Any) -> None:
        page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    context.on("page", watch)
    try:
        page = open_app(context, elvina.url)
        expect(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
        enter_text(page, "Passphrase", PASSPHRASE)
        page.get_by_role("button", name="Unlock", exact=True).click()
        expect(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
        stored = page.evaluate("JSON.stringify(Object.assign({}, sessionStorage))")
        assert "_flet_session_id" in stored  # what a restored or duplicated tab brings back
        page.close()

        restored = context.new_page()
        restored.add_init_script(
            f"for (const [k, v] of Object.entries({json.dumps(json.loads(stored))})) sessionStorage.setItem(k, v);"
        )
        restored.goto(elvina.url)
        restored.wait_for_selector("#loading", state="detached", timeout=30000)
        restored.evaluate("document.querySelector('flt-semantics-placeholder').click()")
        restored.wait_for_selector("flt-semantics", state="attached", timeout=10000)
        expect(restored.get_by_role("heading", name="Unlock your record")).to_be_visible()
        expect(restored.get_by_text("Elvina Lemke")).to_have_count(0)
        # The passphrase still opens it, in the restored tab as in any other.
        enter_text(restored, "Passphrase", PASSPHRASE)
        restored.get_by_role("button", name="Unlock", exact=True).click()
        expect(restored.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
    finally:
        context.close()
    # Flet's Rive plugin reaches for a CDN even with no_cdn; the policy blocks that (Carry makes no third-party
    # requests). Nothing of Carry's own origin was refused.
    assert all("'https://" in v and elvina.url not in v for v in violations), violations


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_log_out_from_the_app_ends_the_login(tmp_path: Path, browser: Any, viewport: Any) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)
    save_login("parent", "a long home password")
    login = load_login()
    assert login is not None
    record = build_record(tmp_path / "record.carry", ELVINA)
    context = AppContext(record_path=record, public_url="http://127.0.0.1:0", login=True)
    port = free_port()
    served = Running(build_app(context, port=port, loopback=False, login=login, addresses=("127.0.0.1",)), port)
    browsing = browser.new_context(viewport=viewport)
    try:
        page = browsing.new_page()
        page.goto(served.base)
        assert page.url.endswith("/login")
        page.fill("#u", "parent")
        page.fill("#p", "a long home password")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{served.base}/")
        page.wait_for_selector("#loading", state="detached", timeout=30000)
        page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
        page.wait_for_selector("flt-semantics", state="attached", timeout=10000)
        enter_text(page, "Passphrase", PASSPHRASE)
        page.get_by_role("button", name="Unlock", exact=True).click()
        expect(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
        page.get_by_role("button", name="Log out").first.click()
        page.wait_for_url(f"{served.base}/logout")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{served.base}/login")
        page.goto(served.base)
        assert page.url.endswith("/login")  # the cookie this browser held no longer opens anything
    finally:
        browsing.close()
        served.stop()
