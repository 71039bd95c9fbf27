"""A note written in Markdown reads as headings, list items and paragraphs, never with its "#" and "-" marks (issue 18
item 3). Synthea's 80 clinical notes of Carolyne (the demo patient) on a real SQLCipher record: every word of each
note is kept, in order; nothing in a note is fetched or followed (an image is its description, a link its words)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

import pytest

from app import views as v
from app.record import Record
from support.records import demo_record


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    rec = demo_record(tmp_path_factory.mktemp("markdown") / "record.carry", "Carolyne559_*.json")
    yield rec
    rec.close()


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9]+", text)


def test_every_synthea_note_reads_without_marks_and_keeps_every_word(record: Record) -> None:
    docs = v.documents(record, v.Scope(None))
    assert len(docs) == 80
    for doc in docs:
        stored = record.get(doc.resource_type, doc.id, doc.source_id)
        assert stored is not None
        (part,) = v.attachments(record, stored)
        source = stored.json()["content"][0]["attachment"]
        written = base64.b64decode(source["data"]).decode()
        assert "\n# Chief Complaint\n" in written  # Synthea's own Markdown
        assert part.blocks and part.text is not None
        for line in part.text.splitlines():
            assert not line.startswith(("#", "- ")), line
        assert _words(part.text) == _words(written)  # nothing lost, nothing added, in the note's order
        headings = [b.text for b in part.blocks if b.kind == "heading"]
        assert headings[:2] == ["Chief Complaint", "History of Present Illness"], headings
        assert doc.preview and "#" not in doc.preview and not doc.preview.startswith(("- ", "• "))


def test_lists_paragraphs_and_a_broken_line_as_the_note_means_them(record: Record) -> None:
    found = v.documents(record, v.Scope(None), search="echocardiography")
    assert found
    stored = record.get(found[-1].resource_type, found[-1].id, found[-1].source_id)
    assert stored is not None
    (part,) = v.attachments(record, stored)
    blocks = list(part.blocks)
    # Synthea breaks "Carolyne559\n is a 16 year-old …" mid-sentence: Markdown's one paragraph.
    assert any(b.kind == "text" and re.match(r"Carolyne559 is a \d+ year-old", b.text) for b in blocks), blocks
    plan = blocks.index(v.NoteBlock("heading", "Plan", 2))
    after = blocks[plan + 1:]
    assert after[0] == v.NoteBlock("text", "The following procedures were conducted:")
    assert v.NoteBlock("item", "echocardiography (procedure)") in after
    # A plain line after a list is a new paragraph, not the last item's tail.
    told = next(b for b in after if b.text.startswith("The patient was prescribed"))
    assert told.kind == "text"
    assert "• echocardiography (procedure)\n• " in (part.text or "")


def test_markdown_marks_links_and_images_in_words() -> None:
    text = ("# Visit\nSome **bold**, *said* and `code`; see [the leaflet](https://example.org/leaflet) "
            "![a rash](https://example.org/rash.png) \\# not a heading\n\n"
            "1. one\n2) two\n   more of two\n---\n## Plan ##")
    assert v.is_markdown(text) and not v.is_markdown("Plain note\n#hashtag")
    assert v.is_markdown("No heading", "text/markdown")
    assert v.note_blocks(text) == [
        v.NoteBlock("heading", "Visit", 1),
        v.NoteBlock("text", "Some bold, said and code; see the leaflet a rash # not a heading"),
        v.NoteBlock("item", "one"),
        v.NoteBlock("item", "two more of two"),
        v.NoteBlock("heading", "Plan", 2),
    ]
    assert "http" not in v.markdown_to_text(text)


def test_a_plain_text_note_is_shown_as_written() -> None:
    # No "# heading" line: not Markdown, its lines stay as the author broke them.
    assert not v.is_markdown("Blood pressure fine.\n- keep walking\n#1 priority: sleep")
