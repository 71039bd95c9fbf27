"""A PDF the patient brought in, read in the app: its pages drawn as PNG images in memory (the first three, then more
on asking, pages already drawn kept), a damaged or password-protected PDF refused with one sentence, and a word that
only the PDF's text holds finding the document in search. Real PDFs made with fpdf2, a real record."""

from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from PIL import Image

from app import views as v
from app.record import Record
from app.record.imports import import_path
from app.views.pdf_pages import FIRST_PAGES, pdf_pages


def five_pages() -> bytes:
    pdf = FPDF()  # A4 portrait: 210 x 297 mm
    pdf.set_font("Helvetica", size=28)
    for n in range(1, 6):
        pdf.add_page()
        pdf.cell(0, 20, f"Page {n}: ferritin 412 ng/mL")
    return bytes(pdf.output())


def _dark_share(png: bytes) -> float:
    image = Image.open(io.BytesIO(png)).convert("L")
    dark = sum(image.histogram()[:128])
    return dark / (image.width * image.height)


def test_the_first_three_pages_are_drawn_then_the_rest_without_drawing_those_again() -> None:
    data = five_pages()
    first = pdf_pages(data, FIRST_PAGES, 800)
    assert first.problem == "" and first.total == 5 and first.width == 800
    assert [p.number for p in first.pages] == [1, 2, 3]
    assert first.left == 2 and first.more == 2 and first.more_text == "Show 2 more pages"
    assert [first.label(p) for p in first.pages] == ["Page 1 of 5", "Page 2 of 5", "Page 3 of 5"]
    for page in first.pages:
        image = Image.open(io.BytesIO(page.png))
        assert image.format == "PNG" and image.size == (page.width, page.height)
        assert page.width == 800 and abs(page.height - 800 * 297 / 210) < 1  # A4's shape, 800 pixels wide
        assert 0.001 < _dark_share(page.png) < 0.2  # the page's words are drawn, on white
    everything = pdf_pages(data, first.total, 800, first)
    assert [p.number for p in everything.pages] == [1, 2, 3, 4, 5] and everything.left == 0
    assert all(a is b for a, b in zip(first.pages, everything.pages[:3], strict=True))  # kept, not drawn again
    assert everything.pages[3].png != everything.pages[4].png  # each page is its own drawing
    # Asking again for what is there draws nothing; another width draws anew.
    assert pdf_pages(data, 5, 800, everything).pages == everything.pages
    narrow = pdf_pages(data, FIRST_PAGES, 400, everything)
    assert [(p.number, p.width) for p in narrow.pages] == [(1, 400), (2, 400), (3, 400)] and narrow.left == 2


def test_a_full_page_of_text_is_small_enough_to_send_to_a_phone() -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    pdf.add_page()
    for n in range(55):
        pdf.cell(0, 4.5, f"Line {n}: ferritin 412 ng/mL, transferrin saturation 68 %, ALT 54 U/L, AST 41 U/L",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    (page,) = pdf_pages(bytes(pdf.output()), 1, 800).pages
    assert 0.01 < _dark_share(page.png) and len(page.png) < 60_000  # full colour: about 350 kB


def test_a_long_pdf_offers_its_pages_twenty_at_a_time() -> None:
    pdf = FPDF()
    for _ in range(25):
        pdf.add_page()
    shown = pdf_pages(bytes(pdf.output()), FIRST_PAGES, 200)
    assert shown.total == 25 and shown.more_text == "Show 20 more pages"
    shown = pdf_pages(bytes(pdf.output()), len(shown.pages) + shown.more, 200, shown)
    assert len(shown.pages) == 23 and shown.more_text == "Show 2 more pages"


def test_a_damaged_or_protected_pdf_is_one_sentence_and_no_pages() -> None:
    data = five_pages()
    cut = pdf_pages(data[: len(data) // 3], FIRST_PAGES, 800)
    assert cut.pages == () and cut.problem == "This PDF could not be shown: it is damaged or is not a PDF."
    assert pdf_pages(b"%PDF-1.7\nnot really", FIRST_PAGES, 800).problem == cut.problem
    locked = FPDF()
    locked.set_encryption(owner_password="owner-secret", user_password="user-secret")
    locked.add_page()
    locked.set_font("Helvetica", size=12)
    locked.cell(0, 10, "Biopsy result")
    shown = pdf_pages(bytes(locked.output()), FIRST_PAGES, 800)
    assert shown.pages == () and shown.problem == "This PDF could not be shown: it is protected by a password."


def test_a_word_inside_an_imported_pdf_finds_the_document(elvina: Record, tmp_path: Path) -> None:
    (person,) = v.people(elvina)
    scope = v.Scope(person)
    assert v.search(elvina, scope, "ferritin") == []
    path = tmp_path / "scan_0412.pdf"
    path.write_bytes(five_pages())
    import_path(elvina, path, title="Letter from the liver clinic")
    (hit,) = v.search(elvina, scope, "ferritin")
    assert hit.resource_type == "DocumentReference" and hit.title == "Letter from the liver clinic"
    assert [h.id for h in v.search(elvina, scope, "liver clinic")] == [hit.id]  # and by its title, as before


def test_a_word_inside_a_report_s_presented_pdf_finds_the_report(tmp_path: Path) -> None:
    import base64
    import json

    from support.records import PASSPHRASE

    report = {"resourceType": "DiagnosticReport", "id": "mri-1", "status": "final", "code": {"text": "MRI knee"},
              "presentedForm": [{"contentType": "application/pdf", "title": "Report",
                                 "data": base64.b64encode(five_pages()).decode()}]}  # fmt: skip
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": report}]}))
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        assert record.import_file(path).counts.imported == 1
        assert [row.id for row in record.search("ferritin")] == ["mri-1"]
