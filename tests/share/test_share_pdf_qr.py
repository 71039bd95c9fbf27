"""The QR code (error correction M, PNG and SVG) and the PDF summary (text a machine can read back).

No QR decoder (zbar, pyzbar, zxing) is installed on the project's machines, so the QR is checked structurally:
the PNG is decoded here module by module and compared with the code's matrix, and the error-correction level is
read from the format information bits, as a scanner would.
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime, timezone
from typing import Any

import pypdf
import pytest
from share_helpers import Demo

from sync.share import build_ips, qr_matrix, qr_png, qr_svg, summary_pdf

LINK = "https://viewer.example.org/shlink.html#shlink:/" + "eyJ1cmwiOiJodHRwczovL3NoYXJlLmV4YW1wbGUub3JnL3NobC" * 5


def _ec_level(matrix: tuple[tuple[int, ...], ...]) -> str:
    # Format information next to the top-left finder pattern (ISO/IEC 18004): 15 bits, masked with 0x5412;
    # the top two give the error-correction level.
    bits = [matrix[8][c] for c in (0, 1, 2, 3, 4, 5, 7, 8)] + [matrix[r][8] for r in (7, 5, 4, 3, 2, 1, 0)]
    value = int("".join(map(str, bits)), 2) ^ 0b101010000010010
    return {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}[value >> 13]


def _png_modules(png: bytes, scale: int, border: int) -> list[list[int]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        chunks.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, color, interlace) == (1, 0, 0)  # 1-bit greyscale, not interlaced
    raw = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    stride = (width + 7) // 8
    rows, prior = [], bytes(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prior))
        else:
            assert kind == 0
        prior = bytes(line)
        rows.append([(line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
    size = width // scale - 2 * border
    # Dark modules are black (0) in the image.
    return [[1 - rows[(r + border) * scale + scale // 2][(c + border) * scale + scale // 2] for c in range(size)]
            for r in range(size)]


def test_qr_uses_error_correction_m() -> None:
    assert _ec_level(qr_matrix(LINK)) == "M"
    assert _ec_level(qr_matrix("short")) == "M"  # segno would raise it for short data unless told not to


def test_qr_png_shows_exactly_the_code() -> None:
    png = qr_png(LINK, scale=4, border=4)
    matrix = [list(row) for row in qr_matrix(LINK)]
    assert _png_modules(png, 4, 4) == matrix
    assert len(matrix) >= 57  # a link of this length needs version 10 or so at level M


def test_qr_svg() -> None:
    svg = qr_svg(LINK)
    assert svg.startswith("<svg") and "<path" in svg and "</svg>" in svg
    assert "<title>SMART Health Link</title>" in svg
    assert LINK not in svg  # the key travels in the modules only


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.parametrize("unicode_font", [True, False])
def test_pdf_contains_problems_link_and_sources(ips: dict[str, Any], demo: Demo, unicode_font: bool) -> None:
    generated = datetime(2026, 11, 21, 9, 30, tzinfo=timezone.utc)
    pdf = summary_pdf(ips, link=LINK, qr_png=qr_png(LINK), sources=["Demo Hospital (sandbox portal)"],
                      generated=generated, unicode_font=unicode_font)
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert "Elvina" in text and "Lemke" in text
    for condition in demo.sections()["problems"]:
        assert condition["code"]["text"] in text
    assert "Shellfish allergy" in text
    assert "Naproxen sodium 220 MG Oral Tablet" in text
    assert LINK in "".join(text.split())  # wrapped over lines, but all there
    assert "Demo Hospital (sandbox portal)" in text
    assert "2026-11-21 09:30 UTC" in text
    for title in ("Active problems", "Allergies and intolerances", "Medications", "Immunizations", "Results"):
        assert title in text
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages[0].images) == 1  # the QR code


@pytest.mark.parametrize("unicode_font", [True, False])
def test_pdf_copes_with_names_in_any_script(demo: Demo, unicode_font: bool) -> None:
    patient = {**demo.patient, "name": [{"given": ["Zoë", "王"], "family": "Ångström–Nguyễn"}]}
    condition = {**demo.sections()["problems"][0], "code": {"text": "Diabète <type 2> “sucré”"}}
    bundle = build_ips(patient, {"problems": [condition]})
    pdf = summary_pdf(bundle, link=None, qr_png=None, sources=[], generated=datetime.now(timezone.utc),
                      unicode_font=unicode_font)
    text = _text(pdf)
    assert "Zoë" in text and "Diab" in text
    assert "No information available." in text  # the empty required sections
    if unicode_font:
        assert "Ångström–Nguyễn" in text
    else:
        assert "Ångström-Nguyen" in text  # kept where Latin-1 has the letter, reduced to its base where not
