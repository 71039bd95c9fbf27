"""The summary PDF's font ships with Carry, so a PDF prints names in any Latin, Greek or Cyrillic script as written
on every installation, not only on machines that happen to have DejaVu installed."""

from __future__ import annotations

from sync.assets import ASSETS, FONTS
from sync.share.render.pdf import UNICODE_FONTS


def test_the_pdf_font_is_shipped_data_with_its_licence() -> None:
    assert FONTS.parent == ASSETS
    for font in UNICODE_FONTS:
        assert font.parent == FONTS
        assert font.read_bytes()[:4] == b"\x00\x01\x00\x00"  # a TrueType font
    notice = (FONTS / "README.md").read_text(encoding="utf-8")
    assert "Bitstream Vera is a trademark of Bitstream, Inc." in notice and "Permission is hereby granted" in notice
