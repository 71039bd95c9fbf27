"""A PDF read in the app, in headless Chromium at 390 and 1280 px: a five-page letter imported from the app opens
with its first three pages drawn as images ("Page 1 of 5"…), "Show 2 more pages" draws the other two, and the
"Open the PDF" link is still offered, and a word inside the PDF finds it in search; a PDF that cannot be read says
so in one sentence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from support.records import ELVINA
from ui.browser_support import DESKTOP, PHONE, by_id, enter_text, open_app, pick_file, shot
from ui.test_ui_browser import expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


def letter(folder: Path, name: str) -> Path:
    """A five-page letter (its words name the screen size, so each test's file is a document of its own)."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=30)
    for n in range(1, 6):
        pdf.add_page()
        pdf.cell(0, 30, f"Page {n} of the {name} letter")
        pdf.rect(20, 60, 170, 200 - 30 * n)
    pdf.set_xy(20, 240)
    pdf.cell(0, 20, f"Seen for siderosis{name}")  # a word only the PDF's text holds, on its last page
    path = folder / f"{name}_letter.pdf"
    path.write_bytes(bytes(pdf.output()))
    return path


@pytest.fixture(scope="module")
def elvina(make_server: Any) -> Any:
    return make_server([ELVINA])


def _imported_and_opened(context: Any, url: str, path: Path, title: str) -> Any:
    """The app unlocked, `path` imported for Elvina under `title` from the app, and its page opened from Documents."""
    page: Any = open_app(context, url)
    unlock(page)
    by_id(page, "whose-record").click()
    pick_file(page, "import-for-0", path)
    enter_text(page, "Title", title)
    by_id(page, "document-import").click()
    expect()(by_id(page, "notice")).to_contain_text(f"{title}: 1 new")
    nav(page, "Documents")
    page.get_by_role("button", name=title, exact=False).first.click()
    return page


def _page(page: Any, n: int) -> Any:
    return page.get_by_role("img", name=f"Page {n} of 5", exact=True)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_pdf_s_pages_are_shown_three_then_all(elvina: Any, browser: Any, tmp_path: Path, size: str) -> None:
    context = browser.new_context(viewport=PHONE if size == "phone" else DESKTOP)
    try:
        page = _imported_and_opened(context, elvina.url, letter(tmp_path, size), f"Five-page letter ({size})")
        ex = expect()
        ex(_page(page, 1)).to_be_visible()
        shot(page, f"pdf-pages-01-first-{size}")
        for n in (2, 3):
            _page(page, n).scroll_into_view_if_needed()
            ex(_page(page, n)).to_be_visible()
        ex(_page(page, 4)).to_have_count(0)
        more = page.get_by_role("button", name="Show 2 more pages")
        more.scroll_into_view_if_needed()
        ex(more).to_be_visible()
        ex(page.get_by_text("3 of 5 pages shown")).to_be_visible()
        shot(page, f"pdf-pages-02-more-{size}")
        more.click()
        for n in (4, 5):
            _page(page, n).scroll_into_view_if_needed()
            ex(_page(page, n)).to_be_visible()
        ex(page.get_by_role("button", name="Show", exact=False).filter(has_text="more page")).to_have_count(0)
        shot(page, f"pdf-pages-03-all-{size}")
        # The file itself is still offered, below its pages.
        link = page.get_by_role("button", name="Open the PDF", exact=False)
        link.scroll_into_view_if_needed()
        ex(link).to_be_visible()
        # A word only the PDF's text holds finds the document.
        nav(page, "Search")
        enter_text(page, "Search your record", f"siderosis{size}")
        page.keyboard.press("Enter")
        ex(page.get_by_role("button", name=f"Five-page letter ({size})", exact=False).first).to_be_visible()
        shot(page, f"pdf-pages-05-search-{size}")
    finally:
        context.close()


def test_a_pdf_that_cannot_be_read_says_so_and_is_still_offered(elvina: Any, browser: Any, tmp_path: Path) -> None:
    locked = FPDF()
    locked.set_encryption(owner_password="owner-secret", user_password="user-secret")
    locked.add_page()
    locked.set_font("Helvetica", size=14)
    locked.cell(0, 10, "Biopsy result")
    path = tmp_path / "biopsy.pdf"
    path.write_bytes(bytes(locked.output()))
    context = browser.new_context(viewport=PHONE)
    try:
        page = _imported_and_opened(context, elvina.url, path, "Biopsy result, locked")
        ex = expect()
        ex(page.get_by_text("This PDF could not be shown: it is protected by a password.")).to_be_visible()
        ex(page.get_by_role("img", name="Page 1", exact=False)).to_have_count(0)
        ex(page.get_by_role("button", name="Open the PDF", exact=False)).to_be_visible()
        shot(page, "pdf-pages-04-locked-phone")
    finally:
        context.close()
