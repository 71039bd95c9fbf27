"""The Share screen in headless Chromium: pick items, make a link (QR code, link, PDF), see who opened it, revoke
it; and open a shared link and keep it. The link is opened over HTTP by Carry's receiver, as a doctor's Carry
would, against the same `carry serve` that shows the UI."""

from __future__ import annotations

import asyncio
import re
import time
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pypdf
import pytest

from app.shares import open_shared, received_sections
from sync.share import LinkInactive, decode_link

from ui.browser_support import DESKTOP, PHONE, enter_text, field_value, focus_field, open_app, open_unlocked, shot
from ui.test_ui_browser import ELVINA, expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


@pytest.fixture
def desktop(browser: Any) -> Any:
    context = browser.new_context(viewport=DESKTOP)
    yield context
    context.close()


def _open_link(link: str, recipient: str) -> Any:
    """open_shared on a thread of its own: Playwright's sync API keeps an event loop running on this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, open_shared(link, recipient=recipient)).result()


def _link_text(page: Any) -> str:
    box = page.get_by_role("textbox", name="The link")
    box.click()  # Flutter web fills the field's DOM value once it has focus
    return field_value(page, box, lambda value: "#shlink:/" in value)


def test_pick_share_see_who_opened_revoke(make_server: Any, desktop: Any) -> None:
    server = make_server(ELVINA)
    page = open_unlocked(desktop, server.url, "Elvina Lemke")
    ex = expect()
    nav(page, "Share")
    ex(page.get_by_role("heading", name="What to share")).to_be_visible()
    ex(page.get_by_role("checkbox", name="Active problems (5 of 5)")).to_be_checked()
    ex(page.get_by_role("checkbox", name="Immunizations (12 of 12)")).to_be_checked()
    # Older results are offered too, a year at a time, none ticked.
    ex(page.get_by_role("checkbox", name="Results from 2019 (0 of", exact=False)).not_to_be_checked()
    ex(page.get_by_role("checkbox", name="Vital signs from 2019 (0 of", exact=False)).not_to_be_checked()
    enter_text(page, "Label (the doctor sees it)", "For Dr Rivera")
    # Single items: leave one problem out; the section says so.
    page.get_by_role("checkbox", name="Prediabetes", exact=False).click()
    ex(page.get_by_role("checkbox", name="Active problems (4 of 5)")).not_to_be_checked()
    # Whole sections: no procedures at all.
    page.get_by_role("checkbox", name="Procedures", exact=False).first.click()
    ex(page.get_by_role("checkbox", name="Procedures (0 of", exact=False)).to_be_visible()
    ex(page.get_by_role("checkbox", name="Immunizations (12 of 12)")).to_be_checked()
    # Each tick drew the screen again: the label is still in its field (it was drawn empty, though kept).
    page.wait_for_timeout(1000)  # what a later render would draw
    assert page.get_by_role("textbox", name=re.compile(r"^Label \(the doctor sees it\)")).input_value() == "For Dr Rivera"
    shot(page, "share-01-pick")
    page.get_by_role("button", name="Create link").click()
    ex(page.get_by_role("heading", name="Your link is ready")).to_be_visible()
    ex(page.get_by_role("img", name="QR code of the link")).to_be_visible()
    link = _link_text(page)
    payload = decode_link(link)
    assert payload.url.startswith(f"{server.url}/shl/") and payload.label == "For Dr Rivera"
    shot(page, "share-02-link-ready")

    # The PDF downloads from memory, under a name the patient recognises.
    with page.expect_download() as saved:
        page.get_by_role("button", name="Download the PDF").click()
    assert saved.value.suggested_filename == "health-summary-elvina-lemke.pdf"
    pdf = Path(saved.value.path()).read_bytes()
    text = "".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Osteoporosis" in text and "Prediabetes" not in text

    # A doctor opens it; the patient sees who, when the share screen shows again.
    received = _open_link(link, "Dr Rivera")
    problems = [row.item for row in received_sections(received)[0][2]]
    assert "Osteoporosis (disorder)" in problems and "Prediabetes" not in problems
    assert "Procedures" not in [title for title, *_ in received_sections(received)]
    nav(page, "Search")
    nav(page, "Share")
    ex(page.get_by_text("opened by Dr Rivera at", exact=False).first).to_be_visible()
    ex(page.get_by_role("group", name="4 active problems, 1 allergy or intolerance, 2 medications, "
                        "12 immunizations opened by Dr Rivera", exact=False)).to_be_visible()  # fmt: skip
    shot(page, "share-03-opened-by")

    page.get_by_role("button", name="Revoke").first.click()
    ex(page.get_by_text("For Dr Rivera · revoked", exact=False).first).to_be_visible()
    with pytest.raises(LinkInactive):
        _open_link(link, "Dr Rivera")


def _shared_then_pasted(make_server: Any, desktop: Any, field: str, value: str) -> tuple[Any, str]:
    """Elvina's Carry makes a link (with `value` typed in the share screen's `field`); a second, empty Carry opens
    "Open a shared link" and pastes it. Returns that page, ready for Open, and the link."""
    sharer = make_server(ELVINA)
    receiver = make_server([])
    page = open_app(desktop, sharer.url)
    unlock(page)
    nav(page, "Share")
    enter_text(page, field, value)
    page.get_by_role("button", name="Create link").click()
    link = _link_text(page)
    page.close()

    page = open_app(desktop, receiver.url)
    unlock(page)
    nav(page, "Share")
    page.get_by_role("button", name="Open a shared link").click()
    expect()(page.get_by_role("heading", name="Open a shared link")).to_be_visible()
    box = focus_field(page, "Shared link")
    page.keyboard.insert_text(link)
    field_value(page, box, link)
    return page, link


def test_open_a_shared_link_and_keep_it(make_server: Any, desktop: Any) -> None:
    page, link = _shared_then_pasted(make_server, desktop, "Label (the doctor sees it)", "Elvina")
    ex = expect()
    enter_text(page, "Your name (the sharer sees it)", "Dr Okafor")
    page.get_by_role("button", name="Open", exact=True).click()
    # Whose summary it is comes first.
    ex(page.get_by_role("heading", name="Elvina Lemke, born 1953-06-02, female")).to_be_visible()
    # Above it, the link and the name opened with are still in their fields (they were drawn empty, or reset).
    page.wait_for_timeout(1000)  # what a later render would draw
    assert page.get_by_role("textbox", name=re.compile("^Shared link")).input_value() == link
    assert page.get_by_role("textbox", name=re.compile(r"^Your name \(the sharer sees it\)")).input_value() == "Dr Okafor"
    ex(page.get_by_role("heading", name="Active problems")).to_be_visible()
    ex(page.get_by_role("group", name="Osteoporosis (disorder) active", exact=False)).to_be_visible()
    where = page.get_by_role("group", name=re.compile(r"Osteoporosis \(disorder\) active.* from \w"))
    ex(where.first).to_be_visible()  # and where it came from
    shot(page, "share-04-received")
    page.get_by_role("button", name="Keep in my record").click()
    ex(page.get_by_text("Kept as the read-only source “Shared: Elvina”", exact=False).first).to_be_visible()


def test_a_passcode_typed_just_before_open_is_not_lost(make_server: Any, desktop: Any) -> None:
    """On "Open a shared link", the passcode's last keys and the click on Open come with no pause between them:
    the link still opens with that passcode."""
    page, link = _shared_then_pasted(make_server, desktop, "Passcode (optional)", "4711-fast")
    assert decode_link(link).flag == "P"
    focus_field(page, "Passcode, if it has one")
    page.keyboard.type("4711-fast")
    page.get_by_role("button", name="Open", exact=True).click()
    expect()(page.get_by_role("heading", name="Elvina Lemke, born 1953-06-02, female")).to_be_visible()


def test_share_at_phone_width(make_server: Any, browser: Any) -> None:
    """At 390 px "Create link" shows the QR code, the link and both downloads (it used to show Flutter's grey error
    box); a link on this computer's address says who can open it instead of promising the QR code to a doctor; the
    passcode's show button has a name; Enter in the passcode field creates the link."""
    server = make_server(ELVINA)
    context = browser.new_context(viewport=PHONE)
    try:
        page = open_app(context, server.url)
        ex = expect()
        unlock(page)
        nav(page, "Share")  # on a phone, a tab of the bottom bar
        ex(page.get_by_role("heading", name="Make a link")).to_be_visible()
        ex(page.get_by_text("Only devices that can reach this computer can open this link", exact=False).first
           ).to_be_visible()  # fmt: skip
        # The way out reads as a sentence in the app and names where in the app (no terminal command: issue 14).
        ex(page.get_by_text('Under Settings, "Where your links live" gives Carry a share host.', exact=False).first
           ).to_be_visible()  # fmt: skip
        assert page.get_by_text("carry share settings", exact=False).count() == 0
        ex(page.get_by_text("The doctor opens the link in a browser", exact=False).first).to_be_visible()
        page.get_by_role("button", name="Show the passcode").click()
        ex(page.get_by_role("button", name="Hide the passcode")).to_be_visible()
        enter_text(page, "Passcode (optional)", "4711-x")
        page.keyboard.press("Enter")
        ex(page.get_by_role("heading", name="Your link is ready")).to_be_visible()
        ex(page.get_by_role("img", name="QR code of the link")).to_be_visible()
        assert "#shlink:/" in _link_text(page)
        ex(page.get_by_role("button", name="Download the PDF")).to_be_visible()
        ex(page.get_by_role("button", name="Download the FHIR file")).to_be_visible()
        assert page.get_by_text("Show the QR code to the doctor", exact=False).count() == 0
        assert decode_link(_link_text(page)).flag == "P"
        shot(page, "share-05-phone-link-ready")
        with page.expect_download() as saved:
            page.get_by_role("button", name="Download the FHIR file").click()
        assert saved.value.suggested_filename == "health-summary-elvina-lemke.json"
    finally:
        context.close()


def test_a_link_for_a_clinics_check_in_scanner(make_server: Any, desktop: Any) -> None:
    """"For a clinic's check-in scanner" makes a Kill the Clipboard link: flag U, no passcode, 15 minutes."""
    server = make_server(ELVINA)
    page = open_app(desktop, server.url)
    ex = expect()
    unlock(page)
    nav(page, "Share")
    ex(page.get_by_role("textbox", name="Passcode (optional)")).to_have_count(1)  # for a doctor, the default
    ex(page.get_by_role("button", name="Link works for")).to_have_count(1)
    page.get_by_role("button", name="Who opens it").click()
    page.get_by_text("For a clinic's check-in scanner, on screen (15 minutes)").last.click()
    ex(page.get_by_role("button", name="Who opens it")).to_be_visible()
    # The form asks only what a check-in link has: no passcode, no length of its own; it says what the link is.
    ex(page.get_by_text("A clinic's check-in scanner reads this link", exact=False).first).to_be_visible()
    ex(page.get_by_role("textbox", name="Passcode (optional)")).to_have_count(0)
    ex(page.get_by_role("button", name="Link works for")).to_have_count(0)
    made_at = time.time()
    page.get_by_role("button", name="Create link").click()
    ex(page.get_by_role("heading", name="Your link is ready")).to_be_visible()
    payload = decode_link(_link_text(page))
    assert payload.flag == "U" and payload.exp is not None and 14 * 60 <= payload.exp - made_at <= 15 * 60 + 5
    with page.expect_download() as saved:
        page.get_by_role("button", name="Download the PDF").click()
    assert saved.value.suggested_filename == "check-in-records-elvina-lemke.pdf"
    shot(page, "share-06-check-in")
