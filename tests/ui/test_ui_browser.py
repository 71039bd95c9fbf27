"""The Carry app in headless Chromium: create, unlock, lock, read, search, chart, phone width.

Each test opens its own tab (its own Flet session, its own unlocked Record) on a real `carry serve` subprocess.
Flutter's semantics tree gives every control a role and a name; the tests find them the way a screen reader does.
"""

from __future__ import annotations

from typing import Any

import pytest

from ui.browser_support import (  # expect and unlock: many test modules import them from here
    DESKTOP,
    PHONE,
    enter_text,
    expect,
    open_app,
    open_unlocked,
    shot,
    sign_in_at_demo_portal,
    unlock,
)

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

HOSPITAL = ["hospitalInformation*.json", "practitionerInformation*.json"]
ELVINA = [*HOSPITAL, "Elvina_Lemke_*.json"]
CAROLYNE = [*HOSPITAL, "Carolyne559_*.json"]


def nav(page: Any, name: str) -> None:
    """Go to a section: the desktop rail's destinations are buttons, the phone bar's are tabs, and what the phone
    bar has no room for (Sources, Settings) is in the top bar's More menu."""
    rail = page.get_by_role("button", name=f"{name} Tab", exact=False)
    bar = page.get_by_role("tab", name=name, exact=False)
    more = page.get_by_role("button", name="More", exact=True)
    rail.or_(bar).or_(more).first.wait_for()
    if rail.or_(bar).count() == 0:
        more.click()
        page.get_by_role("menuitem", name=name).click()
    else:
        rail.or_(bar).first.click()


@pytest.fixture(scope="module")
def elvina(make_server: Any) -> Any:
    return make_server(ELVINA)


@pytest.fixture
def desktop(browser: Any) -> Any:
    context = browser.new_context(viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture
def phone(browser: Any) -> Any:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=False, has_touch=False)
    yield context
    context.close()


def test_first_run_creates_a_record(make_server: Any, desktop: Any) -> None:
    server = make_server(create=False)
    page = open_app(desktop, server.url)
    ex = expect()
    ex(page.get_by_role("heading", name="Welcome to Carry")).to_be_visible()
    shot(page, "01-welcome")
    page.get_by_role("button", name="Create my record").click()
    ex(page.get_by_text("If you lose your passphrase, nobody can open your record").first).to_be_visible()
    enter_text(page, "New passphrase", "correct horse battery")
    ex(page.get_by_text("Strong.", exact=False).first).to_be_visible()
    enter_text(page, "Repeat the passphrase", "correct horse batterY")
    page.get_by_role("button", name="Create record").click()
    ex(page.get_by_text("The two passphrases are not the same.").first).to_be_visible()
    assert not server.record.exists()
    shot(page, "02-create-record")
    enter_text(page, "Repeat the passphrase", "correct horse battery")
    page.get_by_role("button", name="Create record").click()
    ex(page.get_by_role("heading", name="Your record is ready")).to_be_visible()
    ex(page.get_by_role("button", name="Try the demo hospital")).to_be_visible()
    ex(page.get_by_role("button", name="Connect your provider")).to_be_visible()
    assert server.record.exists()
    shot(page, "03-empty-record")


def test_wrong_passphrase_says_so_and_unlock_then_lock(elvina: Any, desktop: Any) -> None:
    page = open_app(desktop, elvina.url)
    ex = expect()
    ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
    unlock(page, "not my passphrase")
    ex(page.get_by_text("That passphrase does not open this record.").first).to_be_visible()
    shot(page, "04-wrong-passphrase")
    unlock(page)
    ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
    page.get_by_role("button", name="Lock", exact=True).click()
    ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
    ex(page.get_by_text("Elvina Lemke")).to_have_count(0)
    unlock(page)
    ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()


def test_dashboard_shows_problems_medications_allergies_and_flagged_results(elvina: Any, desktop: Any) -> None:
    page = open_unlocked(desktop, elvina.url, "Elvina Lemke")
    ex = expect()
    ex(page.get_by_role("heading", name="Active problems")).to_be_visible()
    ex(page.get_by_role("button", name="Osteoporosis", exact=False)).to_be_visible()
    ex(page.get_by_role("button", name="Alendronic acid 10 MG Oral Tablet", exact=False)).to_be_visible()
    ex(page.get_by_role("button", name="Shellfish allergy", exact=False)).to_be_visible()
    ex(page.get_by_text("Low risk").first).to_be_visible()
    # An out-of-range value carries the word, not only a colour.
    ex(page.get_by_role("button", name="Hemoglobin A1c", exact=False).first).to_contain_text("6.22 %")
    ex(page.get_by_role("button", name="Hemoglobin A1c", exact=False).first).to_contain_text("High")
    shot(page, "05-dashboard")


def test_search_finds_a_condition_and_opens_its_detail(elvina: Any, desktop: Any) -> None:
    page = open_unlocked(desktop, elvina.url, "Elvina Lemke")
    ex = expect()
    nav(page, "Search")
    enter_text(page, "Search your record", "osteopor")
    page.keyboard.press("Enter")
    hit = page.get_by_role("button", name="Osteoporosis Health problem", exact=False)
    ex(hit.first).to_be_visible()
    shot(page, "06-search")
    hit.first.click()
    ex(page.get_by_role("heading", name="Osteoporosis")).to_be_visible()
    ex(page.get_by_role("heading", name="Where this came from")).to_be_visible()
    ex(page.get_by_text("Elvina_Lemke_f2a4f241-ad65-4a1b-8b54-b5717a2338b6.json").first).to_be_visible()
    page.get_by_role("button", name="Show the FHIR JSON").click()
    ex(page.locator('[flt-semantics-identifier="raw-json"]')).to_contain_text('"resourceType": "Condition"')
    shot(page, "07-detail")


def test_lab_chart_renders_with_its_range(elvina: Any, desktop: Any) -> None:
    page = open_unlocked(desktop, elvina.url, "Elvina Lemke")
    ex = expect()
    nav(page, "Results")
    page.get_by_role("button", name="Hemoglobin A1c", exact=False).first.click()
    chart = page.locator('[flt-semantics-identifier="lab-chart"]')
    ex(chart).to_be_visible()
    # The chart's accessible description says what a sighted reader sees.
    ex(chart).to_contain_text("Chart of Hemoglobin A1c")
    ex(chart).to_contain_text("11 values from 14 Feb 2012 to 3 Nov 2020, latest 6.22 % (High)")
    ex(page.get_by_text("4–5.6 % (typical adult range)").first).to_be_visible()
    box = chart.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200
    shot(page, "08-lab-chart")
    page.get_by_role("button", name="Back").click()
    page.get_by_role("button", name="Vital signs").click()
    page.get_by_role("button", name="Blood Pressure", exact=False).first.click()
    ex(page.locator('[flt-semantics-identifier="lab-chart"]')).to_be_visible()
    shot(page, "09-vitals-chart")


def test_timeline_groups_by_month_and_filters(elvina: Any, desktop: Any) -> None:
    page = open_unlocked(desktop, elvina.url, "Elvina Lemke")
    ex = expect()
    nav(page, "Timeline")
    ex(page.get_by_role("heading", name="November 2020")).to_be_visible()
    ex(page.get_by_text("entries from", exact=False).first).to_be_visible()
    shot(page, "10-timeline")
    page.get_by_role("checkbox", name="Results").click()
    ex(page.get_by_role("checkbox", name="Results")).not_to_be_checked()
    ex(page.get_by_role("button", name="Hemoglobin A1c", exact=False)).to_have_count(0)


def test_documents_are_readable(make_server: Any, desktop: Any) -> None:
    server = make_server(CAROLYNE)
    page = open_unlocked(desktop, server.url, "Carolyne559 Koelpin146")
    ex = expect()
    nav(page, "Documents")
    page.get_by_role("button", name="History and physical note", exact=False).first.click()
    note = page.locator('[flt-semantics-identifier="note-text-0"]')
    ex(note).to_contain_text("Chief Complaint")
    # Synthea writes its notes in Markdown: "# Chief Complaint" is a heading a screen reader can jump to, no "#"
    # on screen, and each paragraph is read where it stands, after its heading.
    ex(note.get_by_role("heading", name="Chief Complaint", exact=True)).to_be_visible()
    ex(note.get_by_role("heading", name="History of Present Illness", exact=True)).to_be_visible()
    text = note.text_content() or ""
    assert "#" not in text, text
    assert text.index("Chief Complaint") < text.index("No complaints.") < text.index("History of Present Illness")
    shot(page, "11-document")


def test_phone_width_layout(elvina: Any, phone: Any) -> None:
    page = open_app(phone, elvina.url)
    ex = expect()
    ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
    shot(page, "12-phone-unlock")
    unlock(page)
    ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
    # The bottom navigation bar replaces the rail; Sources and Settings move to the top bar's menu.
    ex(page.get_by_role("button", name="Lock", exact=True)).to_be_visible()
    ex(page.get_by_role("button", name="More", exact=True)).to_be_visible()
    problems = page.locator('[flt-semantics-identifier="problems"]').bounding_box()
    medications = page.locator('[flt-semantics-identifier="medications"]').bounding_box()
    assert problems and medications
    assert problems["width"] <= PHONE["width"] and medications["y"] > problems["y"]  # one column
    shot(page, "13-phone-dashboard")
    nav(page, "Timeline")
    ex(page.get_by_role("heading", name="November 2020")).to_be_visible()
    shot(page, "14-phone-timeline")


def test_demo_hospital_connect_login_sync_then_dashboard(make_server: Any, desktop: Any) -> None:
    server = make_server([])  # an empty record, as after the first run
    page = open_unlocked(desktop, server.url, "Your record is empty")
    ex = expect()
    page.get_by_role("button", name="Try the demo hospital").click()
    # The demo login is shown in Carry, before the patient goes to the portal.
    ex(page.get_by_text("user name elvina, password elvina-demo", exact=False).first).to_be_visible()
    shot(page, "15-demo-hospital")
    portal = sign_in_at_demo_portal(desktop, page)
    shot(portal, "16-portal-consent")
    portal.get_by_role("button", name="Allow").click()
    # The portal returns to Carry's /oauth/callback, which completes the connection in the Carry tab's session.
    ex(portal.get_by_role("heading", name="You can close this tab")).to_be_visible()
    assert portal.url.startswith(f"{server.url}/oauth/callback?") or portal.is_closed()
    ex(page.locator('[flt-semantics-identifier="sync-panel"]')).to_be_visible()
    done = page.locator('[flt-semantics-identifier="sync-done"]')
    ex(done).to_contain_text("new,", timeout=90_000)
    ex(page.get_by_role("progressbar", name="Lab results progress 100")).to_be_visible()
    # Nothing on the finished panel still says it is fetching (the README's screenshot showed both at once).
    ex(page.get_by_role("heading", name="Sync from Demo hospital")).to_be_visible()
    ex(page.locator('[flt-semantics-identifier="connected"]')).not_to_contain_text("fetching")
    shot(page, "17-sync-finished")
    page.get_by_role("button", name="See your summary").click()
    ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
    ex(page.get_by_role("button", name="Osteoporosis", exact=False)).to_be_visible()
    ex(page.get_by_role("button", name="Alendronic acid 10 MG Oral Tablet", exact=False)).to_be_visible()
    ex(page.get_by_role("button", name="Hemoglobin A1c", exact=False).first).to_contain_text("6.22 %")
    shot(page, "18-dashboard-after-sync")
    nav(page, "Sources")
    ex(page.get_by_role("heading", name="Demo hospital")).to_be_visible()
    ex(page.get_by_text("Connected").first).to_be_visible()
    ex(page.get_by_role("button", name="Sync now")).to_be_visible()
    ex(page.get_by_role("button", name="Disconnect")).to_be_visible()
    # The exact redirect URI to register at a portal that matches it exactly.
    ex(page.get_by_text(f"Its redirect URI is {server.url}/oauth/callback", exact=False)).to_be_visible()
    shot(page, "19-sources")
