"""One record across providers, in headless Chromium: Elvina Lemke from two clinics shows each condition once,
"from 2 sources"; the item lists both; "Not the same" splits it, and the split holds after both files come in again.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.copies import import_copies
from support.medications import import_conflicting_doses
from support.records import ELVINA, PASSPHRASE

from app.record import Record
from sync.assets import DEMO_PATIENTS
from ui.browser_support import DESKTOP, open_app, open_unlocked, shot
from ui.test_ui_browser import expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


@pytest.fixture
def desktop(browser: Any) -> Any:
    context = browser.new_context(viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture(scope="module")
def two_clinics(make_server: Any) -> Any:
    server = make_server(create=False)
    with Record.create(server.record, PASSPHRASE) as record:
        import_copies(record, DEMO_PATIENTS / ELVINA)
    return server


def _problem(page: Any) -> Any:
    return page.locator('[flt-semantics-identifier="problems"]').get_by_role("button", name="Osteoporosis", exact=False)


def test_a_condition_from_two_clinics_shows_once_and_not_the_same_splits_it(two_clinics: Any, desktop: Any) -> None:
    page: Any = open_unlocked(desktop, two_clinics.url, "Elvina Lemke")
    ex = expect()
    ex(_problem(page)).to_have_count(1)
    ex(_problem(page)).to_contain_text("from 2 sources")
    ex(page.get_by_role("button", name="Alendronic acid 10 MG Oral Tablet", exact=False)).to_contain_text(
        "last prescribed by"
    )
    ex(page.get_by_role("button", name="Show", exact=False).filter(has_text="stopped medications")).to_be_visible()
    shot(page, "facts-01-dashboard-two-sources")

    _problem(page).click()
    ex(page.get_by_role("heading", name="Osteoporosis")).to_be_visible()
    ex(page.get_by_role("heading", name="Also from")).to_be_visible()
    sources = page.locator('[flt-semantics-identifier="fact-sources"]')
    # The summary opens the newest copy; the other source is listed beneath it, and opens too.
    ex(sources).to_contain_text("Clinic B (newest, shown here)")
    ex(sources.get_by_role("button", name="Clinic A Last checked", exact=False)).to_be_visible()
    shot(page, "facts-02-detail-also-from")

    page.get_by_role("button", name="Not the same").click()
    ex(page.get_by_text("kept apart from now on", exact=False).first).to_be_visible()
    ex(page.get_by_role("heading", name="Also from")).to_have_count(0)
    ex(sources).not_to_contain_text("Clinic A")
    ex(page.get_by_role("button", name="Undo my choices")).to_be_visible()
    shot(page, "facts-03-detail-after-split")

    page.get_by_role("button", name="Back").click()
    ex(_problem(page)).to_have_count(2)
    ex(_problem(page).filter(has_text="from 2 sources")).to_have_count(0)
    ex(_problem(page).filter(has_text="from Clinic A")).to_have_count(1)

    # Both files come in again (as a later sync would bring both portals' copies): the split holds.
    with Record.open(two_clinics.record, PASSPHRASE) as record:
        import_copies(record, DEMO_PATIENTS / ELVINA)
    nav(page, "Timeline")
    ex(page.get_by_role("heading", name="November 2020")).to_be_visible()
    ex(page.get_by_role("button", name="2 sources", exact=False).first).to_be_visible()
    shot(page, "facts-04-timeline-one-entry-per-fact")
    nav(page, "Summary")
    ex(page.get_by_role("heading", name="Active problems")).to_be_visible()
    ex(_problem(page)).to_have_count(2)
    ex(_problem(page).filter(has_text="from 2 sources")).to_have_count(0)
    shot(page, "facts-05-dashboard-after-split-and-reimport")


def test_medications_say_conflicting_doses_and_a_matching_allergy_in_words(make_server: Any, desktop: Any) -> None:
    server = make_server(create=False)
    with Record.create(server.record, PASSPHRASE) as record:
        import_conflicting_doses(record)
    page: Any = open_app(desktop, server.url)
    ex = expect()
    unlock(page)
    meds = page.locator('[flt-semantics-identifier="medications"]')
    ex(meds).to_contain_text("Different doses from two providers")
    ex(meds).to_contain_text("is current at different strengths")
    ex(meds).to_contain_text("May match a recorded allergy")
    ex(meds.get_by_role("button", name="Hydrochlorothiazide 25 MG", exact=False)).to_contain_text("Different doses")
    ex(meds.get_by_role("button", name="Hydrochlorothiazide 25 MG", exact=False)).to_contain_text("Dr. A1")
    ex(meds.get_by_role("button", name="Penicillin V", exact=False)).to_have_count(0)  # stopped: apart, folded
    page.get_by_role("button", name="Show 1 stopped medication").click()
    penicillin = meds.get_by_role("button", name="Penicillin V", exact=False)
    ex(penicillin).to_contain_text("Allergy match")
    ex(penicillin).to_contain_text("Stopped")
    shot(page, "facts-06-medication-warnings")
