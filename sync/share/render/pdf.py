"""The printable summary: a PDF of an IPS document (fpdf2; the only module importing it).

A doctor reads it on paper: the patient at the top, each section as a table, the QR code and link that open the
same summary digitally, where the data came from, and when it was made. DejaVu Sans, shipped with Carry
(assets/fonts), is embedded, so names in any Latin, Greek or Cyrillic script print as written on every
installation; should the font be missing the PDF falls back to a built-in font and text is reduced to Latin-1
rather than failing.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from fpdf.errors import FPDFException

from ...assets import FONTS
from ...fhir.dates import day
from ..summary.describe import patient_name
from ..errors import ShareError
from ..summary.collection import collection_rows
from ..summary.ips import section_rows

__all__ = ["UNICODE_FONTS", "notes_pdf", "rendered_pdf", "summary_pdf"]

UNICODE_FONTS = (FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf")  # regular, bold
_PUNCTUATION = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2018": "'", "\u2019": "'", "\u201c": '"',
                              "\u201d": '"', "\u2026": "...", "\u2022": "*", "\u00a0": " "})


def _unicode_fonts() -> tuple[Path, Path] | None:
    return UNICODE_FONTS if all(font.is_file() for font in UNICODE_FONTS) else None


def _latin1(ch: str) -> str:
    """The character itself when Latin-1 has it, else its base letter (ễ -> e), else '?'."""
    if ord(ch) < 256:
        return ch
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base and all(ord(c) < 256 for c in base) else "?"


class _Summary(FPDF):
    def __init__(self, *, unicode_font: bool, footer_text: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer_text
        fonts = _unicode_fonts() if unicode_font else None
        if fonts is not None:
            self.add_font("Body", "", str(fonts[0]))
            self.add_font("Body", "B", str(fonts[1]))
            self.family = "Body"
            self.latin1 = False
        else:
            self.family = "Helvetica"
            self.latin1 = True
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)
        self.alias_nb_pages()

    def clean(self, text: Any) -> str:
        value = "" if text is None else str(text)
        value = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
        if not self.latin1:
            return value
        return "".join(_latin1(ch) for ch in value.translate(_PUNCTUATION))

    def use(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def footer(self) -> None:
        self.set_y(-12)
        self.use(8)
        self.set_text_color(90, 90, 90)
        self.cell(0, 5, self.clean(f"{self.footer_text}  -  page {self.page_no()} of {{nb}}"), align="C")
        self.set_text_color(0, 0, 0)


def summary_pdf(
    ips_bundle: Mapping[str, Any],
    *,
    link: str | None,
    qr_png: bytes | None,
    sources: Sequence[str],
    generated: datetime,
    unicode_font: bool = True,
) -> bytes:
    """Render an IPS document Bundle as a PDF. `link` and `qr_png` open the same summary; `sources` name where its
    data came from. `unicode_font=False` forces the built-in Latin-1 font (for tests of that path)."""
    stamp = generated.strftime("%Y-%m-%d %H:%M %Z").strip()
    pdf = _Summary(unicode_font=unicode_font, footer_text=f"Patient summary generated {stamp} with Carry")
    patient = _patient(ips_bundle)
    try:
        pdf.add_page()
        _header(pdf, patient, stamp, "PATIENT SUMMARY (International Patient Summary)")
        if link or qr_png:
            _share_box(pdf, link, qr_png)
        for title, item, rows, empty in section_rows(ips_bundle):
            _section(pdf, title, item, rows, empty)
        _sources(pdf, sources)
        return bytes(pdf.output())
    except (FPDFException, OSError, ValueError) as exc:
        raise ShareError("Carry could not make the PDF of this summary.") from exc


def rendered_pdf(
    bundle: Mapping[str, Any],
    *,
    generated: datetime,
    link: str | None = None,
    qr_png: bytes | None = None,
    unicode_font: bool = True,
) -> bytes:
    """The "FHIR-rendered PDF" of a collection Bundle (CMS Kill the Clipboard, LOINC 60591-5): the Patient on top,
    then every other resource but DocumentReferences as rows of tables, so a clinic that cannot file FHIR still has
    all of it on paper."""
    stamp = generated.strftime("%Y-%m-%d %H:%M %Z").strip()
    pdf = _Summary(unicode_font=unicode_font, footer_text=f"Records shared by the patient {stamp} with Carry")
    try:
        pdf.add_page()
        _header(pdf, _patient(bundle), stamp, "RECORDS SHARED BY THE PATIENT (for check-in)")
        if link or qr_png:
            _share_box(pdf, link, qr_png)
        for title, item, rows, empty in collection_rows(bundle):
            _section(pdf, title, item, rows, empty)
        pdf.use(9)
        pdf.multi_cell(0, 5, pdf.clean("The patient chose what these records contain. They are a copy of their "
                                       "records, not a complete medical history."), new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)  # fmt: skip
        return bytes(pdf.output())
    except (FPDFException, OSError, ValueError) as exc:
        raise ShareError("Carry could not make the PDF of these records.") from exc


def notes_pdf(
    patient: Mapping[str, Any], notes: Sequence[tuple[str, str, str]], *, generated: datetime, unicode_font: bool = True
) -> bytes:
    """The patient's own words on their records as a PDF (the CMS "Patient Story"): per note, what it is about,
    when it was written, and the note. `notes` are (about, written, text)."""
    stamp = generated.strftime("%Y-%m-%d %H:%M %Z").strip()
    pdf = _Summary(unicode_font=unicode_font, footer_text=f"Notes from the patient, shared {stamp} with Carry")
    try:
        pdf.add_page()
        _header(pdf, patient, stamp, "NOTES FROM THE PATIENT (corrections and context, in their own words)")
        for about, written, text in notes:
            pdf.use(11, bold=True)
            pdf.multi_cell(0, 6, pdf.clean(f"About: {about}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.use(9)
            pdf.set_text_color(90, 90, 90)
            pdf.cell(0, 5, pdf.clean(f"Written {day(written)}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(0, 0, 0)
            pdf.use(10)
            pdf.multi_cell(0, 5.5, pdf.clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.ln(4)
        return bytes(pdf.output())
    except (FPDFException, OSError, ValueError) as exc:
        raise ShareError("Carry could not make the PDF of your notes.") from exc


def _patient(bundle: Mapping[str, Any]) -> Mapping[str, Any]:
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping) and resource.get("resourceType") == "Patient":
            return resource
    return {}


def _header(pdf: _Summary, patient: Mapping[str, Any], stamp: str, kind: str) -> None:
    pdf.use(10)
    pdf.set_text_color(90, 90, 90)
    pdf.cell(0, 5, pdf.clean(kind), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.use(20, bold=True)
    pdf.multi_cell(0, 10, pdf.clean(patient_name(patient) if patient else "Unknown patient"),
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    facts = []
    if patient.get("birthDate"):
        facts.append(f"Born {day(patient.get('birthDate'))}")
    if isinstance(patient.get("gender"), str):
        facts.append(f"Sex: {patient['gender']}")
    facts.append(f"Generated {stamp}")
    pdf.use(10)
    pdf.multi_cell(0, 6, pdf.clean("   |   ".join(facts)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _share_box(pdf: _Summary, link: str | None, qr_png: bytes | None) -> None:
    top = pdf.get_y()
    size = 42.0
    text_x = pdf.l_margin
    if qr_png:
        pdf.image(io.BytesIO(qr_png), x=pdf.l_margin, y=top, w=size, h=size)
        text_x = pdf.l_margin + size + 5
    pdf.set_xy(text_x, top + 2)
    width = pdf.w - pdf.r_margin - text_x
    pdf.use(11, bold=True)
    pdf.multi_cell(width, 6, pdf.clean("Open this summary on a computer or phone"), new_x=XPos.LEFT,
                   new_y=YPos.NEXT)
    pdf.use(9)
    pdf.multi_cell(width, 5, pdf.clean("Scan the QR code, or open the link below in a SMART Health Link viewer. "
                                       "The passcode, if any, comes from the patient."),
                   new_x=XPos.LEFT, new_y=YPos.NEXT)
    if link:
        pdf.set_font("Courier", "", 7)
        pdf.multi_cell(width, 3.5, link, wrapmode=WrapMode.CHAR, new_x=XPos.LEFT, new_y=YPos.NEXT,
                       link=link if link.startswith("https://") else None)
    pdf.set_y(max(pdf.get_y(), top + (size if qr_png else 0)) + 5)


def _section(pdf: _Summary, title: str, item: str, rows: Sequence[Any], empty: str | None) -> None:
    if pdf.get_y() > pdf.h - 50:
        pdf.add_page()
    pdf.use(13, bold=True)
    pdf.cell(0, 8, pdf.clean(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.use(9)
    if not rows:
        pdf.multi_cell(0, 5, pdf.clean(empty or "No information available."), new_x=XPos.LMARGIN,
                       new_y=YPos.NEXT)
        pdf.ln(3)
        return
    sourced = any(row.source for row in rows)  # a Source column only when the Bundle says where items came from
    widths = (52, 58, 20, 22, 28) if sourced else (62, 70, 22, 26)
    with pdf.table(col_widths=widths, line_height=5, text_align="LEFT", first_row_as_headings=True) as table:
        header = table.row()
        for heading in (item, "Details", "Status", "Date", "Source")[: len(widths)]:
            header.cell(pdf.clean(heading))
        for row in rows:
            cells = table.row()
            for value in (row.item, row.details, row.status, row.date, row.source)[: len(widths)]:
                cells.cell(pdf.clean(value))
    pdf.ln(4)


def _sources(pdf: _Summary, sources: Sequence[str]) -> None:
    if pdf.get_y() > pdf.h - 40:
        pdf.add_page()
    pdf.use(13, bold=True)
    pdf.cell(0, 8, pdf.clean("Sources"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.use(9)
    lines = list(sources) or ["Entered or collected by the patient."]
    for source in lines:
        pdf.multi_cell(0, 5, pdf.clean(f"- {source}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.multi_cell(0, 5, pdf.clean("The patient chose what this summary contains. It is a copy of their records, "
                                   "not a complete medical history."), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
