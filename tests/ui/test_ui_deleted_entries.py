"""The patient's deleted entries in the app (issue 19), in headless Chromium at phone and desktop width: the
own-entries source leads to them, each shows what it was with its versions, and Restore brings one back as it was
with its history kept; the page is also a link of its own."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.records import PASSPHRASE

from app.record import Record
from app.record.entries import Note, add_entry, delete_entry, edit_entry, entry_history, own_entries
from ui.browser_support import DESKTOP, PHONE, by_id, open_app, open_unlocked, shot
from ui.test_ui_browser import ELVINA, expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_a_deleted_entry_is_listed_with_its_history_and_restored(make_server: Any, browser: Any, viewport: Any) -> None:
    server = make_server(ELVINA)
    with Record.open(server.record, PASSPHRASE) as record:
        kept = add_entry(record, Note("Walked 5 km today."))
        gone = add_entry(record, Note("Forgot my tablets."))
        edit_entry(record, f"{gone.resource_type}/{gone.id}", text="Forgot my evening tablets.")
        delete_entry(record, f"{gone.resource_type}/{gone.id}")
    context = browser.new_context(viewport=viewport)
    try:
        page = open_unlocked(context, server.url)
        ex = expect()
        nav(page, "Sources")
        by_id(page, "deleted-entries").click()
        ex(by_id(page, "deleted-entry-0")).to_have_accessible_name(re.compile("Forgot my evening tablets.*Diary note"))
        ex(by_id(page, "deleted-entry-1")).to_have_count(0)  # the entry still there is not listed
        page.get_by_text("History (3 versions)", exact=False).click()
        # Every version, the first one's words too (the card reads as one group: its texts are its name).
        ex(by_id(page, "deleted-entry-0")).to_have_accessible_name(
            re.compile("Version 3, deleted.*Version 2, edited.*Version 1, added.*Forgot my tablets"))
        shot(page, f"deleted-entries-{viewport['width']}")
        by_id(page, "restore-entry-0").click()
        ex(page.get_by_text("Restored your entry: Note: Forgot my evening tablets.", exact=False).first).to_be_visible()
        ex(page.get_by_text("You have not deleted any of your entries.")).to_be_visible()
        with Record.open(server.record, PASSPHRASE) as record:
            texts = sorted(e.display for e in own_entries(record))
            history = entry_history(record, f"{gone.resource_type}/{gone.id}")
        assert any("evening tablets" in t for t in texts) and any(kept.display in t for t in texts)
        assert [v.action for v in history] == ["added", "edited", "deleted", "restored"]
        # The list is a page of its own: reachable by its address.
        page.close()
        page = open_app(context, server.url + "/entries/deleted")
        ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
        unlock(page)
        ex(page.get_by_text("You have not deleted any of your entries.")).to_be_visible()
    finally:
        context.close()
