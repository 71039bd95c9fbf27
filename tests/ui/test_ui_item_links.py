"""Items and results by their address, in headless Chromium: a link to an item or to one result opened while the
record is locked shows that item or result once the patient has unlocked; the browser's Back from an item returns
to the timeline as it was left (its filter, the month jumped to); the patient's notes on an item opened by its
link (add, change, delete) at 390 px; another source's copy opened from an item, and Back to the first.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.copies import import_copies
from support.records import ELVINA, PASSPHRASE

from app.record import Record, delete_note, notes
from app.ui.paths import item_path, result_key, result_path
from sync.assets import DEMO_PATIENTS
from ui.browser_support import DESKTOP, PHONE, by_id, enter_text, field_value, focus_field, open_app, open_unlocked, shot
from ui.test_ui_browser import expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


@pytest.fixture(scope="module")
def elvina(make_server: Any) -> Any:
    return make_server([ELVINA])


def _osteoporosis(server: Any) -> str:
    """The address of Elvina's osteoporosis (a Condition), read from the record the server serves."""
    with Record.open(server.record, PASSPHRASE) as record:
        found = [r for r in record.search("osteoporosis") if r.resource_type == "Condition"]
    assert found, "the demo patient's osteoporosis is missing"
    return item_path("Condition", found[0].id)


def _timeline(context: Any, url: str) -> Any:
    """The timeline opened by its address, unlocked, its newest month on screen."""
    return open_unlocked(context, url + "/timeline", "November 2020")


def _lock_button(page: Any) -> Any:
    return page.get_by_role("button", name="Lock", exact=True)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_item_link_opened_while_locked_shows_the_item_after_unlocking(elvina: Any, browser: Any,
                                                                          viewport: Any) -> None:  # fmt: skip
    context = browser.new_context(viewport=viewport)
    try:
        page = open_app(context, elvina.url + _osteoporosis(elvina))
        ex = expect()
        ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
        ex(page.get_by_text("Osteoporosis")).to_have_count(0)  # nothing of the record before the passphrase
        unlock(page)
        ex(by_id(page, "detail-title")).to_contain_text("Osteoporosis")
        ex(page.get_by_role("heading", name="Where this came from")).to_be_visible()
        ex(page.get_by_role("heading", name="Details", level=1)).to_be_visible()  # the top bar's title
        page.get_by_role("button", name="Show the FHIR JSON").click()
        ex(by_id(page, "raw-json")).to_contain_text('"resourceType": "Condition"')
        page.get_by_role("button", name="Hide the FHIR JSON").click()
        ex(by_id(page, "raw-json")).to_have_count(0)
        shot(page, f"links-01-item-after-unlock-{viewport['width']}")
        # An address that names nothing in the record says so, in one sentence.
        page.goto(elvina.url + item_path("Condition", "no-such-condition"))
        page.wait_for_selector("#loading", state="detached", timeout=30000)
        page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
        unlock(page)
        ex(page.get_by_text("This item is no longer in your record.").first).to_be_visible()
    finally:
        context.close()


def test_a_result_link_opened_while_locked_shows_its_chart_after_unlocking(elvina: Any, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        a1c = result_path(result_key("laboratory", "http://loinc.org", "4548-4"))
        page = open_app(context, elvina.url + a1c)
        ex = expect()
        ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
        unlock(page)
        chart = by_id(page, "lab-chart")
        ex(chart).to_contain_text("Chart of Hemoglobin A1c")
        ex(chart).to_contain_text("11 values from 14 Feb 2012 to 3 Nov 2020, latest 6.22 % (High)")
        ex(page.get_by_text("4–5.6 % (typical adult range)").first).to_be_visible()
        # The top bar names the result (beside the page's own heading), and still holds Lock at 390 px.
        ex(page.get_by_role("heading", name="Hemoglobin A1c", level=1)).to_have_count(2)
        box = _lock_button(page).bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]
        shot(page, "links-02-result-after-unlock-390")
        # Back from a result opened by its link: the results list.
        page.get_by_role("button", name="Back").click()
        ex(by_id(page, "results-kind")).to_be_visible()
        ex(page.get_by_role("button", name="Hemoglobin A1c", exact=False).first).to_be_visible()
    finally:
        context.close()


def test_the_browsers_back_from_an_item_returns_to_the_timeline_as_it_was(elvina: Any, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = open_unlocked(context, elvina.url)
        ex = expect()
        nav(page, "Timeline")
        ex(page.get_by_role("heading", name="November 2020")).to_be_visible()
        counted = page.get_by_text("entries from", exact=False).first.inner_text()
        page.get_by_role("checkbox", name="Results").click()
        ex(page.get_by_role("checkbox", name="Results")).not_to_be_checked()
        ex(page.get_by_text(counted, exact=True)).to_have_count(0)  # the list of the new filter is on screen
        first = by_id(page, "entry-0")
        title = first.inner_text().split("\n")[0]
        first.click()
        ex(by_id(page, "detail-title")).to_be_visible()
        assert "/item/" in page.url
        page.go_back()
        ex(page.get_by_role("heading", name="Timeline", level=1)).to_be_visible()
        assert page.url.rstrip("/").endswith("/timeline")
        ex(page.get_by_role("checkbox", name="Results")).not_to_be_checked()  # the filter as it was left
        ex(page.get_by_role("button", name="Hemoglobin A1c", exact=False)).to_have_count(0)
        ex(by_id(page, "entry-0")).to_contain_text(title)
        # The app's own Back does the same.
        by_id(page, "entry-0").click()
        ex(by_id(page, "detail-title")).to_be_visible()
        page.get_by_role("button", name="Back").click()
        ex(page.get_by_role("checkbox", name="Results")).not_to_be_checked()
    finally:
        context.close()


def test_jump_to_a_month_lands_on_its_heading_and_back_returns_there(elvina: Any, browser: Any) -> None:
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = _timeline(context, elvina.url)
        ex = expect()
        by_id(page, "timeline-jump").click()
        page.get_by_role("button", name=re.compile(r"^May 2013 \(")).click()  # the menu lists each month with its count
        month = page.get_by_role("heading", name="May 2013")
        ex(month).to_be_visible()
        ex(page.get_by_role("heading", name="November 2020")).to_have_count(0)
        listed = by_id(page, "timeline-list").bounding_box()
        heading = month.bounding_box()
        assert listed is not None and heading is not None
        assert heading["y"] - listed["y"] < 70  # the month's heading is the list's first row, not rows into it
        shot(page, "links-05-jumped-to-may-2013")
        by_id(page, "entry-0").click()
        ex(by_id(page, "detail-title")).to_be_visible()
        page.go_back()
        ex(page.get_by_role("heading", name="May 2013")).to_be_visible()
        ex(page.get_by_role("heading", name="November 2020")).to_have_count(0)
    finally:
        context.close()


def test_the_timeline_filters_fold_behind_one_button_on_a_phone(elvina: Any, browser: Any) -> None:
    context = browser.new_context(viewport=PHONE)
    try:
        page = _timeline(context, elvina.url)
        ex = expect()
        ex(page.get_by_role("checkbox", name="Results")).to_have_count(0)
        heading = page.get_by_role("heading", name="November 2020").bounding_box()
        assert heading is not None and heading["y"] < PHONE["height"] / 2  # the list starts in the top half
        by_id(page, "timeline-filter-toggle").click()
        page.get_by_role("checkbox", name="Results").click()
        ex(page.get_by_role("checkbox", name="Results")).not_to_be_checked()
        by_id(page, "timeline-filter-toggle").click()
        ex(page.get_by_role("checkbox", name="Results")).to_have_count(0)
        ex(by_id(page, "timeline-filter-toggle")).to_contain_text("Filter (1 set)")
        ex(page.get_by_role("button", name="Hemoglobin A1c", exact=False)).to_have_count(0)
        shot(page, "links-03-phone-timeline-filters-folded")
    finally:
        context.close()


def test_a_note_on_an_item_opened_by_its_link_is_added_changed_and_deleted(elvina: Any, browser: Any) -> None:
    with Record.open(elvina.record, PASSPHRASE) as record:  # a rerun starts from no notes
        for left in notes(record):
            delete_note(record, left.id)
    context = browser.new_context(viewport=PHONE)
    try:
        page = open_app(context, elvina.url + _osteoporosis(elvina))
        ex = expect()
        unlock(page)
        box = by_id(page, "item-notes")
        ex(box.get_by_role("heading", name="Your notes")).to_be_visible()
        words = "Wrong: my bone density scan in 2021 was normal."
        enter_text(page, "What is wrong or missing", words)
        page.get_by_role("button", name="Add note").click()
        ex(page.get_by_text("kept beside this item", exact=False).first).to_be_visible()
        ex(box.get_by_text(words)).to_be_visible()
        field_value(page, focus_field(page, "What is wrong or missing"), "")  # emptied for the next note
        box.get_by_role("button", name="Change").click()
        ex(page.get_by_role("button", name="Save the change")).to_be_visible()
        field_value(page, focus_field(page, "What is wrong or missing"), words)  # the field holds the note
        changed = words.replace("was normal", "was normal, see the attached letter")
        enter_text(page, "What is wrong or missing", changed)
        page.get_by_role("button", name="Save the change").click()
        ex(box.get_by_text(changed)).to_be_visible()
        ex(page.get_by_role("button", name="Add note")).to_be_visible()
        with Record.open(elvina.record, PASSPHRASE) as record:
            assert [n.text for n in notes(record)] == [changed]
        shot(page, "links-04-note-changed-390")
        box.get_by_role("button", name="Delete").click()
        ex(box.get_by_text(changed)).to_have_count(0)
        with Record.open(elvina.record, PASSPHRASE) as record:
            assert notes(record) == []
    finally:
        context.close()


def test_another_sources_copy_opens_from_an_item_and_back_returns_to_the_first(make_server: Any, browser: Any) -> None:
    server = make_server(create=False)
    with Record.create(server.record, PASSPHRASE) as record:
        import_copies(record, DEMO_PATIENTS / ELVINA)
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = open_app(context, server.url + _osteoporosis(server))
        ex = expect()
        unlock(page)
        sources = by_id(page, "fact-sources")
        ex(page.get_by_role("heading", name="Also from")).to_be_visible()
        ex(sources.get_by_role("button", name="Last checked", exact=False)).to_have_count(1)  # the copy not shown
        other = "Clinic A" if sources.get_by_role("button", name=re.compile(r"^Clinic A\b")).count() else "Clinic B"
        shown = "Clinic B" if other == "Clinic A" else "Clinic A"

        def copy_button(clinic: str) -> Any:  # the copy's line, when it is not the one shown: "Clinic A (newest) Last…"
            return by_id(page, "fact-sources").get_by_role("button", name=re.compile(rf"^{clinic}\b.*Last checked"))

        enter_text(page, "What is wrong or missing", "Typed on the first copy, never saved.")
        copy_button(other).click()
        ex(copy_button(shown)).to_be_visible()
        ex(copy_button(other)).to_have_count(0)
        # The other item's page: the words typed on the first are not carried over to it.
        field_value(page, focus_field(page, "What is wrong or missing"), "")
        page.go_back()
        ex(copy_button(shown)).to_have_count(0)
        ex(copy_button(other)).to_be_visible()
    finally:
        context.close()
