"""Finding a provider in the app (issue 17 item 10): out of the box only the built-in list is searched and the
connect screen says so; "Update the provider list" downloads the vendors' lists (here from a real HTTP server on
127.0.0.1), shows progress and what was fetched, from where and when; then "kaiser" finds Kaiser Permanente.
Offline, it says that only the built-in list is present and how to update it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from support.ports import free_port
from support.servers import serving

from ui.browser_support import DESKTOP, PHONE, enter_text, field_value, open_app, shot

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

KAISER = (Path(__file__).resolve().parents[1] / "data" / "directory" / "epic_style_kaiser_r4_endpoints.json").read_bytes()
SEARCH = "Hospital or clinic name, city or state"


def expect() -> Any:
    from playwright.sync_api import expect as _expect

    _expect.set_options(timeout=20_000)
    return _expect


@pytest.fixture
def vendor_lists() -> Iterator[str]:
    """One vendor list (Epic's shape, with Kaiser Permanente) at /epic; everything else answers 404."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            body, status = (KAISER, 200) if self.path == "/epic" else (b"not here", 404)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as base:
        yield base


def _sources(path: Path, urls: dict[str, str]) -> None:
    path.write_text(json.dumps({"sources": [{"id": key, "vendor": key.title(), "url": url} for key, url in urls.items()]}))


def _to_connect(page: Any, phone: bool) -> None:
    from test_ui_browser import nav, unlock

    unlock(page)
    if phone:  # the top bar's menu holds Sources at phone width
        page.get_by_role("button", name="More", exact=True).click()
        page.get_by_role("menuitem", name="Sources").click()
    else:
        nav(page, "Sources")
    page.get_by_role("button", name="Connect a provider").click()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_updating_the_provider_list_finds_kaiser_permanente(
    make_server: Any, browser: Any, vendor_lists: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, viewport: Any
) -> None:
    sources = tmp_path / "sources.json"
    _sources(sources, {"epic": f"http://127.0.0.1:{free_port()}/epic"})  # nobody listens there: offline
    monkeypatch.setenv("CARRY_DIRECTORY_SOURCES", str(sources))
    monkeypatch.setenv("CARRY_CACHE_DIR", str(tmp_path / "cache"))
    server = make_server([])
    context = browser.new_context(viewport=viewport)
    try:
        page = open_app(context, server.url)
        ex = expect()
        _to_connect(page, viewport is PHONE)
        status = page.locator('[flt-semantics-identifier="providers-status"]')
        ex(status).to_contain_text("Only Carry's built-in list is here")
        enter_text(page, SEARCH, "kaiser")
        ex(page.get_by_text("No provider matches", exact=False)).to_be_visible()
        # The search ran as it was typed and drew its answer; the field still holds what was typed (it was emptied
        # by that render when the field was drawn without its text).
        field = page.get_by_role("textbox", name=re.compile("^" + re.escape(SEARCH)))
        field_value(page, field, "kaiser", timeout=3.0)

        # Offline: every list fails, and the app says what is present and what to do.
        page.get_by_role("button", name="Update the provider list").click()
        result = page.locator('[flt-semantics-identifier="providers-result"]')
        ex(result).to_contain_text("only Carry's built-in list is present")
        ex(result).to_contain_text("choose Update the provider list again")
        ex(page.get_by_text("No provider matches", exact=False)).to_be_visible()

        # Online: one list arrives, one fails (404); each is reported with where it came from and how many.
        _sources(sources, {"epic": f"{vendor_lists}/epic", "gone": f"{vendor_lists}/gone"})
        page.get_by_role("button", name="Update the provider list").click()
        ex(result).to_contain_text("4 hospitals and clinics from the vendors' lists are now searchable")
        ex(result).to_contain_text("UTC")
        host = vendor_lists.removeprefix("http://")
        ex(page.locator('[flt-semantics-identifier="providers-list-0"]')).to_contain_text(f"Epic: 4 from {host}")
        ex(page.locator('[flt-semantics-identifier="providers-list-1"]')).to_contain_text(
            "Gone: not updated, the server answered 404"
        )
        ex(status).to_contain_text("last updated")
        # The search ran again with the new list.
        ex(page.get_by_role("button", name="Kaiser Permanente - Washington", exact=False)).to_be_visible()
        ex(page.get_by_role("button", name="Kaiser Permanente – Georgia", exact=False)).to_be_visible()
        field_value(page, field, "kaiser", timeout=3.0)
        shot(page, f"providers-updated-{viewport['width']}")
    finally:
        context.close()
