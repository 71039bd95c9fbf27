"""Clinical notes (DocumentReference) and their attachments, made readable without a browser plug-in.

Text is shown as text. HTML is turned into plain text here (never rendered: a note is data, not a page). A note
written in Markdown (Synthea's notes: "# Chief Complaint", "- echocardiography") is read into headings, list items
and paragraphs of plain text (note_blocks): no "#" on screen, and nothing in it is fetched or followed (an image is
its description, a link its words).
PDFs and images are handed to the UI as bytes to open or draw. An attachment that points at a Binary stored
in the record is read from the record; one that points elsewhere is named, not fetched.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from app.record import Record, StoredResource
from app.record.view_queries import document_extras, document_types

from .format import format_date, tidy_name
from .people import Scope

__all__ = ["Attachment", "DocumentSummary", "NoteBlock", "attachments", "document_kinds", "documents", "html_to_text",
           "is_markdown", "markdown_to_text", "note_blocks"]


@dataclass(frozen=True)
class DocumentSummary:
    resource_type: str
    id: str
    source_id: int
    title: str
    date: str
    author: str
    formats: str
    kind: str = ""  # the document's type ("History and physical note")
    preview: str = ""  # the first lines of its text, where it has text in the record


@dataclass(frozen=True)
class NoteBlock:
    """One block of a Markdown note: a heading (its level, 1 for "#"), a list item, or a paragraph."""

    kind: str  # "heading", "item", "text"
    text: str
    level: int = 0


@dataclass(frozen=True)
class Attachment:
    kind: str  # "text", "html", "pdf", "image", "other"
    content_type: str
    title: str
    text: str | None = None  # for text and html (already converted; a Markdown note as plain text)
    data: bytes | None = None  # for pdf and image
    url: str | None = None  # when the content is elsewhere and not in the record
    blocks: tuple[NoteBlock, ...] = ()  # a Markdown note, block by block (empty for any other text)

    @property
    def size_text(self) -> str:
        if self.data is None:
            return ""
        size = len(self.data)
        return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{max(1, size // 1000)} kB"


def _format_name(content_type: str) -> str:
    ctype = content_type.split(";")[0].strip().lower()
    if ctype.startswith("text/html") or ctype == "application/xhtml+xml":
        return "HTML"
    if ctype.startswith("text/"):
        return "Text"
    if ctype == "application/pdf":
        return "PDF"
    if ctype.startswith("image/"):
        return "Image"
    return ctype or "File"


_PREVIEW_CHARS = 160
_DATE_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# Markdown as notes use it (CommonMark's ATX headings, bullet and numbered lists, emphasis, code, links, images).
_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_MD_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+(.*)$")
_MD_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [words](address), ![description](address)
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)(?=\S)(.+?)(?<=\S)\1")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])")


def is_markdown(text: str, content_type: str = "") -> bool:
    """Whether a note is Markdown: said so by its type, or with a "# heading" line of its own."""
    return "markdown" in content_type.lower() or any(
        _MD_HEADING.match(line) and line.lstrip().startswith("# ") for line in text.splitlines())


def _inline(text: str) -> str:
    """A line's words without Markdown's marks: links and images by their words, no emphasis marks or escapes."""
    text = _MD_LINK.sub(r"\1", text)
    for _ in range(2):  # **bold *and italic***
        text = _MD_EMPHASIS.sub(r"\2", text)
    return re.sub(r"\s+", " ", _MD_ESCAPE.sub(r"\1", text)).strip()


def note_blocks(text: str) -> list[NoteBlock]:
    """A Markdown note as headings, list items and paragraphs. The lines of a paragraph (or of a list item) are one
    text, as Markdown joins them ("Carolyne559" then " is a newborn" is "Carolyne559 is a newborn"); a list item
    takes only indented lines."""
    blocks: list[NoteBlock] = []
    open_block: NoteBlock | None = None  # a paragraph or list item that the next plain line continues

    def close() -> None:
        nonlocal open_block
        if open_block is not None and _inline(open_block.text):
            blocks.append(NoteBlock(open_block.kind, _inline(open_block.text), open_block.level))
        open_block = None

    for line in text.splitlines():
        heading, item = _MD_HEADING.match(line), _MD_ITEM.match(line)
        if not line.strip() or _MD_RULE.match(line):
            close()
        elif heading:
            close()
            if _inline(heading.group(2) or ""):
                blocks.append(NoteBlock("heading", _inline(heading.group(2) or ""), len(heading.group(1))))
        elif item:
            close()
            open_block = NoteBlock("item", item.group(1))
        elif open_block is not None and (open_block.kind == "text" or line[:1].isspace()):
            # A paragraph's next line, or an item's indented one; an unindented line after a list starts a
            # paragraph ("- catheter ablation" then "The patient was prescribed …": two things, as the note means).
            open_block = NoteBlock(open_block.kind, f"{open_block.text} {line.strip()}")
        else:
            close()
            open_block = NoteBlock("text", line.strip())
    close()
    return blocks


def markdown_to_text(text: str) -> str:
    """A Markdown note as plain text: headings as lines of their own, list items after a bullet, one per line, a
    blank line between other blocks."""
    out = ""
    last: NoteBlock | None = None
    for block in note_blocks(text):
        if last is not None:
            out += "\n" if block.kind == last.kind == "item" else "\n\n"
        out += ("• " + block.text) if block.kind == "item" else block.text
        last = block
    return out


def _preview(text: str) -> str:
    """The first words of a note, as a line under its title: headings and a leading date left out, a Markdown
    note's marks too."""
    if is_markdown(text):
        lines = [block.text for block in note_blocks(text) if block.kind != "heading"]
    else:
        lines = [line.strip() for line in text.splitlines()]
    words = " ".join(line for line in lines if line and not line.startswith("#") and not _DATE_LINE.match(line))
    words = re.sub(r"\s+", " ", words).strip()
    return words if len(words) <= _PREVIEW_CHARS else words[:_PREVIEW_CHARS].rsplit(" ", 1)[0] + "…"


def _inline_text(data: str | None, content_type: str | None) -> str:
    """The text of an attachment held inline (text or HTML), else nothing."""
    kind = _format_name(content_type or "")
    if not data or kind not in ("Text", "HTML"):
        return ""
    raw = _decode(data)
    if raw is None:
        return ""
    text = raw.decode("utf-8", "replace")
    return html_to_text(text) if kind == "HTML" else text


def documents(
    record: Record, scope: Scope, *, limit: int = 200, offset: int = 0, search: str = "", kind: str = ""
) -> list[DocumentSummary]:
    """Notes and documents, newest first, with type, date, author and a preview; `kind` keeps one type, `search`
    those whose title, author or text holds every word."""
    clause, params = scope.where()
    rows = record.rows("DocumentReference", where=clause, params=params, limit=limit, offset=offset)
    extra = {
        rowid: (e.author, e.custodian, e.content_types, _inline_text(e.first_data, e.first_type))
        for rowid, e in document_extras(record, [r.rowid for r in rows]).items()
    }
    words = [w.lower() for w in search.split()]
    out = []
    for row in rows:
        author, custodian, types, text = extra.get(row.rowid, (None, None, None, ""))
        formats = sorted({_format_name(t) for t in (types or "").split("|") if t})
        by = " · ".join(p for p in (author, custodian) if p)
        type_name = tidy_name(row.code_display or "") or "Document"
        if kind and type_name != kind:
            continue
        if words and not all(w in f"{row.display} {by} {text}".lower() for w in words):
            continue
        out.append(
            DocumentSummary(
                row.resource_type, row.id, row.source_id, tidy_name(row.display), format_date(row.date), by,
                ", ".join(formats), type_name, _preview(text),
            )  # fmt: skip
        )
    return out


def document_kinds(record: Record, scope: Scope) -> list[str]:
    """The types of document the person has, for the filter."""
    return sorted({tidy_name(name or "") or "Document" for name in document_types(record, scope.subjects)})


class _TextOfHTML(HTMLParser):
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "ul", "ol"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("• ")
        if tag in ("td", "th"):
            self.parts.append("  ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(markup: str) -> str:
    parser = _TextOfHTML()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # noqa: BLE001 - malformed markup: fall back to stripping tags
        return html.unescape(re.sub(r"<[^>]+>", " ", markup)).strip()
    text = "".join(parser.parts)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _decode(data: str) -> bytes | None:
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def _binary(record: Record, url: str, source_id: int) -> tuple[bytes, str] | None:
    parts = url.rstrip("/").split("/")
    if len(parts) < 2 or parts[-2] != "Binary":
        return None
    stored = record.get("Binary", parts[-1], source_id) or record.get("Binary", parts[-1])
    if stored is None:
        return None
    resource = stored.json()
    data = _decode(resource.get("data", "")) if isinstance(resource.get("data"), str) else None
    if data is None:
        return None
    return data, str(resource.get("contentType", "application/octet-stream"))


def attachments(record: Record, stored: StoredResource) -> list[Attachment]:
    """The readable content of a DocumentReference (or any resource with content[].attachment / presentedForm)."""
    resource = stored.json()
    found: list[dict[str, Any]] = []
    for content in resource.get("content", []) or []:
        if isinstance(content, dict) and isinstance(content.get("attachment"), dict):
            found.append(content["attachment"])
    for form in resource.get("presentedForm", []) or []:
        if isinstance(form, dict):
            found.append(form)
    out = []
    for number, att in enumerate(found, 1):
        ctype = str(att.get("contentType") or "application/octet-stream")
        title = str(att.get("title") or f"Part {number}")
        data = _decode(att["data"]) if isinstance(att.get("data"), str) else None
        url = att.get("url") if isinstance(att.get("url"), str) else None
        if data is None and url:
            binary = _binary(record, url, stored.row.source_id)
            if binary is not None:
                data, ctype = binary[0], att.get("contentType") or binary[1]
        kind = _format_name(ctype).lower()
        if data is None:
            out.append(Attachment("other", ctype, title, url=url))
        elif kind == "html":
            out.append(Attachment("html", ctype, title, text=html_to_text(data.decode("utf-8", "replace"))))
        elif kind == "text":
            text = data.decode("utf-8", "replace").strip()
            if is_markdown(text, ctype):
                blocks = tuple(note_blocks(text))
                out.append(Attachment("text", ctype, title, text=markdown_to_text(text), blocks=blocks))
            else:
                out.append(Attachment("text", ctype, title, text=text))
        elif kind in ("pdf", "image"):
            out.append(Attachment(kind, ctype, title, data=data))
        else:
            out.append(Attachment("other", ctype, title, data=data))
    return out
