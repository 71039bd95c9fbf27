"""The summary, search and the own-entry form as routes, in headless Chromium: a link to a form opened while
locked shows that form once unlocked; a refused value is said beside Save and nothing is saved; an entry's edit
link opens its latest version; the browser's Back returns to the last search's hits; the first-run greeting
gives way to the plain empty summary once the patient went elsewhere."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.records import PASSPHRASE

from app.record import Record
from app.record.entries import entry_history, own_entries
from ui.browser_support import by_id, enter_text, field_value, focus_field, open_app, open_unlocked, shot
from ui.test_ui_browser import ELVINA, expect, nav, unlock
from ui.test_ui_browser import desktop, phone  # noqa: F401 - the browser tabs at 1280 and 390 px, as its tests use them

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


def _entries(server: Any) -> list[Any]:
    with Record.open(server.record, PASSPHRASE) as record:
        return own_entries(record)


def test_a_link_to_the_blood_pressure_form_opened_while_locked_shows_it_after_unlocking(  # noqa: F811
    make_server: Any, phone: Any
) -> None:
    server = make_server(ELVINA)
    page = open_app(phone, server.url + "/add/blood-pressure")
    ex = expect()
    ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
    unlock(page)
    ex(by_id(page, "entry-title")).to_have_accessible_name("Add your own entry")
    ex(by_id(page, "entry-reading")).to_have_accessible_name("Reading: Blood pressure")
    ex(by_id(page, "entry-unit")).to_have_accessible_name("Unit: mmHg")
    assert page.url.endswith("/add/blood-pressure")
    shot(page, "summary-links-390-01-form-from-link")

    # Wrong way round: one sentence beside Save, the form still there, nothing in the record.
    enter_text(page, "Value", "80/130")
    page.get_by_role("button", name="Save").click()
    ex(by_id(page, "entry-error")).to_contain_text("must be greater than the diastolic")
    ex(by_id(page, "entry-title")).to_be_visible()
    assert _entries(server) == []

    enter_text(page, "Value", "143/91")
    page.get_by_role("button", name="Save").click()
    ex(page.get_by_text("Saved: Blood pressure 143/91", exact=False).first).to_be_visible()
    # Opened from a link, the form has nothing before it: Back after saving is the summary.
    ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
    saved = _entries(server)
    assert len(saved) == 1 and "143/91" in saved[0].display
    shot(page, "summary-links-390-02-saved")

    # The entry's edit link: the latest version in the form, the kind fixed; saving makes version 2.
    page.goto(f"{server.url}/edit/{saved[0].resource_type}/{saved[0].id}")
    page.wait_for_selector("#loading", state="detached", timeout=30000)
    page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
    ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()  # a reload locks the tab's record
    unlock(page)
    ex(by_id(page, "entry-title")).to_have_accessible_name("Edit your entry")
    field_value(page, focus_field(page, "Value"), "143/91")  # a field's text is in the page while it has the focus
    enter_text(page, "Value", "141/90")
    page.get_by_role("button", name="Save").click()
    ex(page.get_by_text("Saved: Blood pressure 141/90", exact=False).first).to_be_visible()
    with Record.open(server.record, PASSPHRASE) as record:
        versions = entry_history(record, f"{saved[0].resource_type}/{saved[0].id}")
    assert [v.action for v in versions] == ["added", "edited"]


def test_add_a_symptom_from_the_summary_then_switch_kinds(make_server: Any, desktop: Any) -> None:  # noqa: F811
    server = make_server(ELVINA)
    page = open_unlocked(desktop, server.url, "Elvina Lemke")
    ex = expect()
    # Each section's "Add" says to a screen reader what it adds, and opens the form on that kind.
    ex(page.get_by_role("button", name="Add a medicine", exact=True)).to_be_visible()
    page.get_by_role("button", name="Add an allergy", exact=True).click()
    ex(by_id(page, "entry-kind")).to_have_accessible_name("What you are adding: Allergy or intolerance")
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Add a symptom").click()
    ex(by_id(page, "entry-kind")).to_have_accessible_name("What you are adding: Symptom")
    assert page.url.endswith("/add/symptom")
    enter_text(page, "Symptom", "Aching knees")
    # Another kind gets a fresh form: what was typed for the symptom is not carried into the note.
    by_id(page, "entry-kind").click()
    page.get_by_role("button", name="Diary note", exact=True).click()
    ex(by_id(page, "entry-kind")).to_have_accessible_name("What you are adding: Diary note")
    field_value(page, focus_field(page, "Note"), "")
    by_id(page, "entry-kind").click()
    page.get_by_role("button", name="Symptom", exact=True).click()
    field_value(page, focus_field(page, "Symptom"), "")
    enter_text(page, "Symptom", "Aching knees")
    page.get_by_role("button", name="Save").click()
    ex(by_id(page, "notice").first).to_contain_text("Aching knees")
    problems = page.locator('[flt-semantics-identifier="problems"]')
    ex(problems.get_by_role("button", name="Aching knees", exact=False)).to_contain_text("Added by you")
    shot(page, "summary-links-1280-03-symptom-on-summary")


def test_back_from_a_hit_shows_the_same_search(make_server: Any, desktop: Any) -> None:  # noqa: F811
    server = make_server(ELVINA)
    page = open_unlocked(desktop, server.url, "Elvina Lemke")
    ex = expect()
    nav(page, "Search")
    page.get_by_role("button", name="Search", exact=True).click()
    ex(page.get_by_text("Type a word to search for.")).to_be_visible()
    enter_text(page, "Search your record", "osteopor")
    page.keyboard.press("Enter")
    hit = page.get_by_role("button", name="Osteoporosis Health problem", exact=False)
    ex(hit.first).to_be_visible()
    ex(page.get_by_text(re.compile("^1 found for “osteopor”"))).to_be_visible()
    assert "osteopor" not in page.url  # what the patient searched for stays out of the address
    hit.first.click()
    ex(page).to_have_url(re.compile(r"/item/Condition/"))
    page.go_back()
    ex(page).to_have_url(re.compile(r"/search$"))
    ex(hit.first).to_be_visible()
    field_value(page, focus_field(page, "Search your record"), "osteopor")


def test_the_first_run_greeting_gives_way_to_the_empty_summary(make_server: Any, phone: Any) -> None:  # noqa: F811
    server = make_server(create=False)
    page = open_app(phone, server.url)
    ex = expect()
    page.get_by_role("button", name="Create my record").click()
    enter_text(page, "New passphrase", "correct horse battery")
    enter_text(page, "Repeat the passphrase", "correct horse battery")
    page.get_by_role("button", name="Create record").click()
    ex(page.get_by_role("heading", name="Your record is ready")).to_be_visible()
    shot(page, "summary-links-390-04-ready")
    nav(page, "Search")
    ex(page.get_by_role("textbox", name=re.compile("^Search your record"))).to_be_visible()
    nav(page, "Summary")
    ex(page.get_by_role("heading", name="Your record is empty")).to_be_visible()
    ex(page.get_by_role("heading", name="Your record is ready")).to_have_count(0)
    page.get_by_role("button", name="Try the demo hospital").click()
    ex(page).to_have_url(re.compile(r"/connect/demo$"))


def test_a_long_section_shows_its_first_rows_and_the_rest_on_request(make_server: Any, desktop: Any,  # noqa: F811
                                                                      tmp_path: Any) -> None:  # fmt: skip
    """A lifetime of care plans (hundreds on a long record) does not bury the summary: ten rows, then "Show all"."""
    import json

    server = make_server(ELVINA)
    with Record.open(server.record, PASSPHRASE) as record:
        patient = next(r for r in record.rows("Patient"))
        plans = [{"resourceType": "CarePlan", "id": f"plan-{n}", "status": "active", "intent": "plan",
                  "subject": {"reference": f"Patient/{patient.id}"},
                  "period": {"start": f"20{10 + n}-01-0{1 + n % 9}"},
                  "category": [{"text": f"Home exercise plan {n + 1}"}]} for n in range(14)]  # fmt: skip
        bundle = tmp_path / "plans.json"
        bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                      "entry": [{"resource": p} for p in plans]}))  # fmt: skip
        record.import_file(bundle)
    page = open_unlocked(desktop, server.url, "Elvina Lemke")
    ex = expect()
    ex(by_id(page, "treatment-9")).to_have_count(1)
    ex(by_id(page, "treatment-10")).to_have_count(0)
    more = page.get_by_role("button", name=re.compile(r"^Show all 1\d$"))  # her own plans and the fourteen
    ex(more).to_be_visible()
    more.click()
    ex(by_id(page, "treatment-16")).to_have_count(1)
    ex(page.get_by_role("button", name="Show fewer")).to_be_visible()
