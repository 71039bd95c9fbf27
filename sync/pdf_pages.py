"""A PDF read with PDFium (pypdfium2, imported here only): its pages drawn as PNG images (Pillow encodes them), its
text for search.

Everything stays in memory: the PDF comes in as bytes (from the encrypted record) and the pages go out as PNG bytes;
no file is written. PDFium is not thread-safe, so every call into it holds one lock (a detail page drawing pages on
a worker thread and a store indexing an imported PDF's text may run at the same time).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image

__all__ = ["PageImage", "PdfUnreadable", "page_images", "pdf_text"]

_LOCK = threading.Lock()
_TEXT_PAGES = 500  # text is read from this many pages at most (a scan of thousands of pages holds up no import)
_TALLEST = 4.0  # a page drawn at most this many times as tall as it is wide (a long receipt is cut, not huge)


class PdfUnreadable(Exception):
    """The PDF cannot be read; `reason` says why in words that finish "This PDF could not be shown: …"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PageImage:
    number: int  # from 1
    png: bytes
    width: int  # pixels
    height: int


@contextmanager
def _opened(data: bytes) -> Iterator[pdfium.PdfDocument]:
    with _LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            text = str(exc).lower()
            if "password" in text or "security" in text:
                raise PdfUnreadable("it is protected by a password.") from None
            raise PdfUnreadable("it is damaged or is not a PDF.") from None
        try:
            if len(document) == 0:
                raise PdfUnreadable("it has no pages.")
            yield document
        finally:
            document.close()


def page_images(data: bytes, first: int, count: int, width: int) -> tuple[int, list[PageImage]]:
    """(how many pages the PDF has, pages `first`..`first + count - 1` (from 1) drawn `width` pixels wide, as PNG).
    Raises PdfUnreadable for a damaged or password-protected PDF."""
    pages: list[PageImage] = []
    with _opened(data) as document:
        total = len(document)
        for index in range(max(first, 1) - 1, min(first - 1 + count, total)):
            page = document[index]
            try:
                page_width, page_height = page.get_size()
                if page_width <= 0 or page_height <= 0:
                    raise PdfUnreadable(f"page {index + 1} has no size.")
                scale = width / page_width
                crop_bottom = max(0.0, page_height - page_width * _TALLEST)
                bitmap = page.render(scale=scale, crop=(0, crop_bottom, 0, 0))
                try:
                    image = bitmap.to_pil()
                finally:
                    bitmap.close()
            except pdfium.PdfiumError:
                raise PdfUnreadable(f"page {index + 1} is damaged.") from None
            finally:
                page.close()
            out = io.BytesIO()
            # 256 colours: a page of text is a twentieth of its full-colour size (a websocket carries it), a scan
            # still reads well.
            image.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, "PNG")
            pages.append(PageImage(index + 1, out.getvalue(), image.width, image.height))
    return total, pages


def pdf_text(data: bytes, limit: int) -> str:
    """The PDF's text, page after page, up to `limit` characters or 500 pages ("" for a scan with no text layer).
    Raises PdfUnreadable for a damaged or password-protected PDF."""
    parts: list[str] = []
    length = 0
    with _opened(data) as document:
        for index in range(min(len(document), _TEXT_PAGES)):
            if length >= limit:
                break
            page = document[index]
            try:
                text_page = page.get_textpage()
                try:
                    text = text_page.get_text_bounded()
                finally:
                    text_page.close()
            except pdfium.PdfiumError:
                continue  # a damaged page adds nothing; the others still count
            finally:
                page.close()
            parts.append(text)
            length += len(text) + 1
    return " ".join(parts)[:limit]
