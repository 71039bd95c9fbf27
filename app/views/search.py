"""Full-text search across the whole record, narrowed to the person shown."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from app.record import EntryRefused, Record, ResourceRow, noted_items, search_notes
from app.record.entries import ADDED_BY_YOU, draft_of

from .format import format_date, kind_name, readable_measurements, source_label, tidy_name
from .people import Scope

__all__ = ["Hit", "search"]

# Reference data (the hospitals' and clinicians' directories) matches everything and answers nothing.
_DIRECTORY_TYPES = {"Organization", "Location", "Practitioner", "PractitionerRole"}


@dataclass(frozen=True)
class Hit:
    resource_type: str
    id: str
    source_id: int
    title: str
    date: str
    category: str | None = None
    source: str = ""  # the source as lists say it ("Added by you" for the patient's own entries)
    noted: bool = False  # the patient wrote a note on it (a correction or context)
    code: str | None = None  # its main code: which of the patient's own entries it is (a diary note, a reading)
    # The patient's own words that matched, shortened (their note on the item, or the note in an entry of their own)
    # when the item was found by them; empty when it was found by itself.
    matched_note: str = ""

    @property
    def kind(self) -> str:
        return kind_name(self.resource_type, self.category, code=self.code, own=self.source == ADDED_BY_YOU)

    @property
    def in_note(self) -> bool:
        """Found by the patient's note ("Found in your note: ..." beside it)."""
        return bool(self.matched_note)


def search(record: Record, scope: Scope, text: str, *, limit: int = 50) -> list[Hit]:
    """What matches, most relevant first: items whose name holds every word come before those that match only
    in a code or a note, and within each, newest first (a patient looking for "a1c" wants the latest). An item the
    patient wrote a note on is found by the words of that note too, and says so (`matched_note`), as one of their
    own entries found by the note in it does."""
    if not text.strip():
        return []
    words = [w.lower() for w in _WORD.findall(text)]
    hits: dict[tuple[int, str, str], tuple[int, str, Hit]] = {}
    noted = noted_items(record)
    where, params = scope.where()
    for row in record.search(text, limit=limit * 4, where=where, params=params):
        if row.resource_type in _DIRECTORY_TYPES or not scope.admits(row.source_id, row.subject):
            continue
        hit = _hit(row, (row.source_id, row.resource_type, row.id) in noted)
        tier = 0 if _names_all(hit.title, words) else 1
        if tier and hit.source == ADDED_BY_YOU:
            hit = replace(hit, matched_note=_shortened(_entry_note(record, row, words)))
        hits[(row.source_id, row.resource_type, row.id)] = (tier, row.date or "", hit)
        if len(hits) == limit:
            break
    for match in search_notes(record, text, limit=limit, where=where, params=params):
        row = match.row
        key = (row.source_id, row.resource_type, row.id)
        if row.resource_type in _DIRECTORY_TYPES or not scope.admits(row.source_id, row.subject):
            continue
        tier, when, hit = hits.get(key, (1, row.date or "", _hit(row, True)))
        hits[key] = (tier, when, replace(hit, noted=True, matched_note=_shortened(match.note.text)))
    ranked = list(hits.values())
    ranked.sort(key=lambda r: r[1], reverse=True)
    ranked.sort(key=lambda r: r[0])  # stable: newest first within each tier
    return [hit for _, _, hit in ranked][:limit]


def _hit(row: ResourceRow, noted: bool) -> Hit:
    return Hit(row.resource_type, row.id, row.source_id, tidy_name(readable_measurements(row.display)),
               format_date(row.date), row.category, source_label(row.source), noted, row.code)  # fmt: skip


def _entry_note(record: Record, row: ResourceRow, words: list[str]) -> str:
    """The note in one of the patient's own entries (a reading's "after a run"), when it holds every word."""
    stored = record.get(row.resource_type, row.id, row.source_id)
    if stored is None:
        return ""
    try:
        note = str(getattr(draft_of(stored.json()), "note", ""))
    except EntryRefused:  # not shaped as an entry of Carry's own (another copy of one): no note to point at
        return ""
    return note if note and _names_all(note, words) else ""


def _shortened(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


_WORD = re.compile(r"\w+")


def _names_all(title: str, words: list[str]) -> bool:
    """Every searched word starts a word of the title (the last may be half typed)."""
    title_words = [w.lower() for w in _WORD.findall(title)]
    return all(any(t.startswith(w) for t in title_words) for w in words)
