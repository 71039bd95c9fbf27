"""Corrections and context in headless Chromium: the patient says a condition is wrong, sees the note beside the
item (the source's details unchanged), sees the item flagged in the list, changes the note and deletes it; at
1280 px and at 390 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.records import ELVINA, PASSPHRASE

from app.record import Record, delete_note, note_history, notes
from ui.browser_support import DESKTOP, PHONE, enter_text, open_app, shot
from ui.test_ui_browser import expect, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


@pytest.fixture(scope="module")
def elvina(make_server: Any) -> Any:
    return make_server([ELVINA])


def _problem(page: Any) -> Any:
    return page.locator('[flt-semantics-identifier="problems"]').get_by_role("button", name="Osteoporosis", exact=False)


def _osteoporosis(context: Any, url: str) -> tuple[Any, Any]:
    """The app unlocked and Osteoporosis opened from the summary: the page, and its "Your notes" card."""
    page: Any = open_app(context, url)
    unlock(page)
    _problem(page).first.click()
    box = page.locator('[flt-semantics-identifier="item-notes"]')
    expect()(box.get_by_role("heading", name="Your notes")).to_be_visible()
    return page, box


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_correction_on_a_condition_is_shown_beside_it_and_flagged_in_the_list(
    elvina: Any, browser: Any, viewport: Any
) -> None:
    with Record.open(elvina.record, PASSPHRASE) as record:  # a rerun starts from no notes
        for left in notes(record):
            delete_note(record, left.id)
    context = browser.new_context(viewport=viewport)
    try:
        page, box = _osteoporosis(context, elvina.url)
        ex = expect()
        ex(page.get_by_role("heading", name="Osteoporosis")).to_be_visible()
        words = f"Wrong: my bone density scan in 2021 was normal ({viewport['width']} px)."
        enter_text(page, "What is wrong or missing", words)
        page.get_by_role("button", name="Add note").click()
        ex(page.get_by_text("kept beside this item", exact=False).first).to_be_visible()
        ex(box.get_by_text(words)).to_be_visible()
        ex(box).to_have_attribute("aria-label", re.compile(r"^Written \d"))
        ex(page.get_by_role("heading", name="Details", level=2)).to_be_visible()  # the source's own details stay shown
        shot(page, f"notes-01-beside-the-item-{viewport['width']}")

        page.get_by_role("button", name="Back").click()
        ex(_problem(page).filter(has_text="your note")).to_have_count(1)
        shot(page, f"notes-02-flagged-in-the-list-{viewport['width']}")

        _problem(page).filter(has_text="your note").click()
        box.get_by_role("button", name="Change").click()
        changed = words.replace("was normal", "was normal, see the attached letter")
        enter_text(page, "What is wrong or missing", changed)
        page.get_by_role("button", name="Save the change").click()
        ex(box.get_by_text(changed)).to_be_visible()
        ex(box).to_have_attribute("aria-label", re.compile(r"\(changed\)"))

        with Record.open(elvina.record, PASSPHRASE) as record:
            mine = [n for n in notes(record) if n.text == changed]
            assert len(mine) == 1 and [n.text for n in note_history(record, mine[0].id)] == [words, changed]

        box.get_by_role("button", name="Delete").click()
        ex(box.get_by_text(changed)).to_have_count(0)
        page.get_by_role("button", name="Back").click()
        ex(_problem(page).filter(has_text="your note")).to_have_count(0)
    finally:
        context.close()


@pytest.fixture(scope="module")
def sandbox() -> Any:
    from sync.sandbox import SandboxServer

    with SandboxServer() as server:
        yield server


def test_a_note_is_sent_from_the_app_to_the_portal_its_item_came_from(make_server: Any, browser: Any,
                                                                      sandbox: Any) -> None:  # fmt: skip
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from support.portal import READ_SCOPES, connect_elvina

    from app.portals import Portals

    server = make_server(create=False)

    async def connect() -> Any:
        with Record.create(server.record, PASSPHRASE) as record:
            portals = Portals(record)
            conn = await connect_elvina(portals, sandbox, [*READ_SCOPES, "patient/DocumentReference.c"])
            await portals.sync(conn.id)
            return conn

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API keeps an event loop running on this thread
        conn = pool.submit(asyncio.run, connect()).result()
    before = len(sandbox.store.for_patient(conn.patient_id, "DocumentReference"))
    context = browser.new_context(viewport=DESKTOP)
    try:
        page, box = _osteoporosis(context, server.url)
        ex = expect()
        enter_text(page, "What is wrong or missing", "My last scan in 2021 was normal.")
        page.get_by_role("button", name="Add note").click()
        send = box.get_by_role("button", name=f"Send to {conn.name}")
        ex(send).to_be_visible()
        send.click()
        ex(page.get_by_text(f"Sent to {conn.name}", exact=False).first).to_be_visible()
        shot(page, "notes-03-sent-to-the-portal")
    finally:
        context.close()
    after = sandbox.store.for_patient(conn.patient_id, "DocumentReference")
    assert len(after) == before + 1 and after[-1]["type"]["coding"][0]["code"] == "51855-5"
    assert after[-1]["context"]["related"][0]["reference"].startswith("Condition/")
