"""Bringing records in, in headless Chromium on a real `carry serve`: the demo hospital's address opened while
locked shows its panel once unlocked; signing in there connects and syncs with a live panel that ends with the
outcome; Sources lists the hospital, syncs it again, disconnects it (records kept) and removes it with its
records; the browser's Back leaves the connect screen for the screen before it; a PDF imported from Sources, the
patient's own entries as a source of their own, and removing imported files with their records."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app.record import Record
from app.record.checking import pending_count
from app.record.entries import Reading, add_entry
from support.records import ELVINA, PASSPHRASE
from ui.browser_support import DESKTOP, PHONE, by_id, enter_text, open_app, pick_file, shot, sign_in_at_demo_portal
from ui.test_ui_browser import expect, nav, unlock
from ui.test_ui_document_files import discharge_letter
from ui.test_ui_read_once import problems

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_demo_hospital_from_its_address_then_sync_disconnect_and_remove(make_server: Any, browser: Any,
                                                                      viewport: Any) -> None:  # fmt: skip
    server = make_server([])
    width = viewport["width"]
    context = browser.new_context(viewport=viewport)
    try:
        page = open_app(context, f"{server.url}/connect/demo")
        ex = expect()
        ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
        unlock(page)
        # The link opened while locked is shown once unlocked: the demo hospital's logins, before its sign-in page.
        ex(page.get_by_text("user name elvina, password elvina-demo", exact=False).first).to_be_visible()
        ex(page.get_by_role("heading", name="Sign in at Demo hospital")).to_be_visible()
        shot(page, f"connect-demo-{width}")
        portal = sign_in_at_demo_portal(context, page)
        portal.get_by_role("button", name="Allow").click()
        ex(portal.get_by_role("heading", name="You can close this tab")).to_be_visible()
        ex(by_id(page, "sync-panel")).to_be_visible()
        ex(by_id(page, "sync-done")).to_contain_text("new,", timeout=90_000)
        ex(page.get_by_role("progressbar", name="Lab results progress 100")).to_be_visible()
        ex(page.get_by_role("group", name="Sync finished.", exact=False)).to_be_visible()
        ex(by_id(page, "connected")).not_to_contain_text("fetching")
        shot(page, f"connect-demo-synced-{width}")
        with Record.open(server.record, PASSPHRASE) as record:
            total = record.count()
            # Validated beside the sync and before it said it finished: nothing waits for a pass after it.
            assert pending_count(record) == 0
        assert total > 100

        # Sources: the hospital, connected; Sync now shows a live panel that ends with "unchanged".
        nav(page, "Sources")
        ex(by_id(page, "source-status-0")).to_contain_text("Connected")
        ex(page.get_by_role("heading", name="Demo hospital", exact=True)).to_be_visible()
        ex(page.get_by_role("group", name=f"{total:,} items in your record", exact=False)).to_be_visible()
        ex(page.get_by_text(f"Its redirect URI is {server.url}/oauth/callback", exact=False)).to_be_visible()
        page.get_by_role("button", name="Sync now").click()
        ex(by_id(page, "sync-done")).to_contain_text("unchanged", timeout=90_000)
        shot(page, f"sources-synced-again-{width}")

        # Disconnect: the tokens go, the records stay.
        page.get_by_role("button", name="Disconnect", exact=True).click()
        ex(page.get_by_text("The records already in your record stay.")).to_be_visible()
        page.get_by_role("button", name="Disconnect", exact=True).last.click()
        ex(by_id(page, "source-status-0")).to_contain_text("Disconnected")
        ex(page.get_by_role("button", name="Reconnect")).to_be_visible()
        with Record.open(server.record, PASSPHRASE) as record:
            assert record.count() == total

        # Remove, with its records: cancelling first changes nothing.
        by_id(page, "remove-source-0").click()
        ex(page.get_by_text("this cannot be undone", exact=False)).to_be_visible()
        page.get_by_role("button", name="Cancel").click()
        ex(page.get_by_text("this cannot be undone", exact=False)).to_have_count(0)
        with Record.open(server.record, PASSPHRASE) as record:
            assert record.count() == total
        by_id(page, "remove-source-0").click()
        page.get_by_role("button", name=f"Remove it and its {total:,} records").click()
        ex(page.get_by_text("are removed from your record", exact=False).first).to_be_visible()
        ex(page.get_by_text("No sources yet", exact=False)).to_be_visible()
        with Record.open(server.record, PASSPHRASE) as record:
            assert record.count() == 0 and record.sources() == []
    finally:
        context.close()


def test_connect_screen_and_the_browsers_back(make_server: Any, browser: Any) -> None:
    server = make_server([])
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = open_app(context, server.url)
        ex = expect()
        unlock(page)
        nav(page, "Sources")
        page.get_by_role("button", name="Connect a provider").click()
        ex(page.get_by_role("heading", name="Find your provider")).to_be_visible()
        assert page.url.endswith("/connect")
        page.wait_for_timeout(800)  # the provider list's status loads after the screen
        assert problems(page.locator("body").aria_snapshot()) == []  # nothing read twice, nothing unnamed
        # A FHIR address that is no address is refused in a sentence, and nothing is connected.
        page.get_by_role("textbox", name="FHIR address (https://…)").fill("portal.example")
        page.get_by_role("button", name="Connect", exact=True).click()
        ex(page.get_by_text("Type the full address, starting with https://").first).to_be_visible()
        # What was typed stays in the field to be corrected (the refusal's render drew it empty).
        page.wait_for_timeout(1000)  # what a later render would draw
        assert page.get_by_role("textbox", name=re.compile("^FHIR address")).input_value() == "portal.example"
        page.go_back()
        ex(page.get_by_role("button", name="Connect a provider")).to_be_visible()
        assert page.url.endswith("/sources")
        assert problems(page.locator("body").aria_snapshot()) == []
        page.go_forward()
        ex(page.get_by_role("heading", name="Find your provider")).to_be_visible()
        page.get_by_role("button", name="Try the demo hospital").click()
        ex(page.get_by_role("heading", name="Demo hospital logins")).to_be_visible()
        assert page.url.endswith("/connect/demo")
        assert problems(page.locator("body").aria_snapshot()) == []
        page.get_by_role("button", name="Back").click()
        ex(page.get_by_role("heading", name="Find your provider")).to_be_visible()
    finally:
        context.close()


def test_a_pdf_imported_from_sources_and_imported_files_removed_with_their_records(make_server: Any, browser: Any,
                                                                                   tmp_path: Path) -> None:  # fmt: skip
    server = make_server([ELVINA])
    with Record.open(server.record, PASSPHRASE) as record:
        before = record.count()
        add_entry(record, Reading("blood-pressure", "128/84", when="2025-03-01T08:30"))
        own = record.count() - before
    path = discharge_letter(tmp_path)
    context = browser.new_context(viewport=PHONE)
    try:
        page = open_app(context, f"{server.url}/sources")
        ex = expect()
        unlock(page)
        ex(page.get_by_role("group", name="What you added in Carry", exact=False)).to_be_visible()
        pick_file(page, "import-file", path)
        ex(page.get_by_role("textbox", name="Title")).to_be_visible()
        enter_text(page, "Title", "Discharge letter, Riverside Hospital")
        by_id(page, "document-import").click()
        ex(by_id(page, "notice")).to_contain_text("Discharge letter, Riverside Hospital: 1 new")
        with Record.open(server.record, PASSPHRASE) as record:
            assert record.count() == before + own + 1  # the PDF joined the imported files (the first source)
            assert [s.name for s in record.sources()][1:] == ["Your own entries"]
        ex(page.get_by_role("group", name=f"{before + 1:,} items in your record", exact=False)).to_be_visible()
        shot(page, "sources-imported-390")
        # Imported files go with their records; the patient's own entry stays.
        by_id(page, "remove-source-0").click()
        ex(page.get_by_text("this cannot be undone", exact=False)).to_be_visible()
        page.get_by_role("button", name=f"Remove it and its {before + 1:,} records").click()
        ex(page.get_by_text("are removed from your record", exact=False).first).to_be_visible()
        with Record.open(server.record, PASSPHRASE) as record:
            assert record.count() == own and [s.name for s in record.sources()] == ["Your own entries"]
    finally:
        context.close()
