"""PDFs and photos brought in from the app, in headless Chromium: picked in the browser and uploaded to Carry's own
server, the title and date proposed from the file (its name, the PDF's metadata) and confirmed or corrected by the
patient, then found in Documents and readable (the PDF offered through Carry's own server, the photo shown)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from PIL import Image
from support.records import ELVINA
from ui.browser_support import DESKTOP, PHONE, by_id, enter_text, field_value, open_app, pick_file, shot
from ui.test_ui_browser import expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


_id = by_id


def _opened_and_picked(context: Any, url: str, path: Path) -> Any:
    """The app unlocked, "Import a file for them" clicked for Elvina, and `path` picked: the confirmation is open."""
    page: Any = open_app(context, url)
    unlock(page)
    _id(page, "whose-record").click()
    pick_file(page, "import-for-0", path)
    expect()(page.get_by_role("textbox", name="Title")).to_be_visible()
    return page


def _holds(page: Any, name: str, value: str) -> None:
    box = page.get_by_role("textbox", name=name)
    box.click()  # Flutter web fills the field's DOM value once it has focus
    field_value(page, box, value)


def discharge_letter(folder: Path) -> Path:
    """A one-page PDF, discharge_letter.pdf, made on 17 May 2023."""
    pdf = FPDF()
    pdf.set_creation_date(datetime(2023, 5, 17, 9, 0))
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.cell(0, 10, "Discharge letter")
    path = folder / "discharge_letter.pdf"
    path.write_bytes(bytes(pdf.output()))
    return path


@pytest.fixture(scope="module")
def elvina(make_server: Any) -> Any:
    return make_server([ELVINA])


def test_a_pdf_is_imported_with_the_title_and_date_the_patient_confirms(elvina: Any, browser: Any,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    path = discharge_letter(tmp_path)
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = _opened_and_picked(context, elvina.url, path)
        ex = expect()
        _holds(page, "Title", "discharge letter")
        _holds(page, "Date (YYYY-MM-DD)", "2023-05-17")
        shot(page, "documents-import-01-confirm")
        enter_text(page, "Title", "Discharge letter, Riverside Hospital")
        _id(page, "document-import").click()
        ex(_id(page, "notice")).to_contain_text("Discharge letter, Riverside Hospital: 1 new")
        nav(page, "Documents")
        row = page.get_by_role("button", name="Discharge letter, Riverside Hospital", exact=False)
        ex(row).to_be_visible()
        row.first.click()
        ex(page.get_by_role("button", name="Open the PDF", exact=False)).to_be_visible()
        # Headed by the patient's title; its pages under "Document" (not "Note", which is for a note's text).
        ex(by_id(page, "detail-title")).to_have_text("Discharge letter, Riverside Hospital")
        ex(page.get_by_role("heading", name="Document", exact=True)).to_be_visible()
        ex(page.get_by_role("heading", name="Note", exact=True)).to_have_count(0)
        shot(page, "documents-import-02-opened")
    finally:
        context.close()


def test_a_photo_is_shown_and_a_cancelled_import_adds_nothing(elvina: Any, browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "rash_on_arm.png"
    Image.new("RGB", (120, 80), (200, 60, 60)).save(path, "PNG")
    context = browser.new_context(viewport=PHONE)
    try:
        page = _opened_and_picked(context, elvina.url, path)
        ex = expect()
        page.get_by_role("button", name="Cancel").click()
        ex(_id(page, "notice")).to_contain_text("nothing was imported")
        pick_file(page, "import-for-0", path)
        _holds(page, "Title", "rash on arm")
        enter_text(page, "Date (YYYY-MM-DD)", "2024-02-03")
        _id(page, "document-import").click()
        ex(_id(page, "notice")).to_contain_text("rash on arm: 1 new")
        nav(page, "Documents")
        page.get_by_role("button", name="rash on arm", exact=False).first.click()
        ex(page.get_by_role("img", name="rash on arm (image)", exact=False)).to_be_visible()
        ex(page.get_by_role("heading", name="Photo", exact=True)).to_be_visible()
        shot(page, "documents-import-03-photo")
    finally:
        context.close()
