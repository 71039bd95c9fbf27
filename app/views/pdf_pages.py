"""A PDF attachment's pages as images the app shows in place: the first few at once, more when the patient asks.

The pages are drawn in memory (PNG bytes, never a file) from the PDF the record holds. A detail page calls
`pdf_pages` on a worker thread and passes back what it already has, so asking for more pages draws only the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.pdf_pages import PageImage, PdfUnreadable, page_images

__all__ = ["FIRST_PAGES", "MORE_PAGES", "PageImage", "PdfPages", "pdf_pages"]

FIRST_PAGES = 3  # drawn when the document opens
MORE_PAGES = 20  # drawn at each "Show N more pages"


@dataclass(frozen=True)
class PdfPages:
    """The pages drawn so far (in order, from page 1) out of `total`; `problem` is the one sentence said instead when
    the PDF cannot be read (then there are no pages)."""

    total: int
    pages: tuple[PageImage, ...] = ()
    width: int = 0  # the pixel width the pages were drawn at
    problem: str = ""

    @property
    def left(self) -> int:
        """Pages not drawn yet."""
        return max(0, self.total - len(self.pages))

    @property
    def more(self) -> int:
        """How many the next "Show N more pages" draws."""
        return min(MORE_PAGES, self.left)

    @property
    def more_text(self) -> str:
        return f"Show {self.more} more page{'s' if self.more != 1 else ''}"

    def label(self, page: PageImage) -> str:
        """What a screen reader says for a page image (and how tests find it)."""
        return f"Page {page.number} of {self.total}"


def pdf_pages(data: bytes, wanted: int, width: int, drawn: PdfPages | None = None) -> PdfPages:
    """The first `wanted` pages of the PDF `data` (all of them if it has fewer), drawn `width` pixels wide. Pages in
    `drawn` (an earlier answer at the same width) are kept, not drawn again. A damaged or password-protected PDF
    gives no pages and a sentence: "This PDF could not be shown: …"."""
    kept = drawn.pages if drawn is not None and drawn.width == width and not drawn.problem else ()
    if drawn is not None and kept and len(kept) >= min(wanted, drawn.total):
        return PdfPages(drawn.total, kept[:max(wanted, 1)], width)
    try:
        total, new = page_images(data, len(kept) + 1, max(wanted, 1) - len(kept), width)
    except PdfUnreadable as exc:
        return PdfPages(0, (), width, f"This PDF could not be shown: {exc.reason}")
    return PdfPages(total, (*kept, *new), width)
