"""Full-text search across the whole record, narrowed to the person shown."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.record import Record, noted_items

from .format import format_date, kind_name, readable_measurements, source_label, tidy_name
from .people import Scope
from .short_names import RESULT_TYPES, short_result_text

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

    @property
    def kind(self) -> str:
        return kind_name(self.resource_type, self.category)


def search(record: Record, scope: Scope, text: str, *, limit: int = 50) -> list[Hit]:
    """What matches, most relevant first: items whose name holds every word come before those that match only
    in a code or a note, and within each, newest first (a patient looking for "a1c" wants the latest)."""
    if not text.strip():
        return []
    words = [w.lower() for w in _WORD.findall(text)]
    ranked: list[tuple[int, str, Hit]] = []
    noted = noted_items(record)
    where, params = scope.where()
    for row in record.search(text, limit=limit * 4, where=where, params=params):
        if row.resource_type in _DIRECTORY_TYPES or not scope.admits(row.source_id, row.subject):
            continue
        title = short_result_text(row.code, row.display) if row.resource_type in RESULT_TYPES else \
            tidy_name(readable_measurements(row.display))
        hit = Hit(row.resource_type, row.id, row.source_id, title, format_date(row.date), row.category,
                  source_label(row.source), (row.source_id, row.resource_type, row.id) in noted)  # fmt: skip
        ranked.append((0 if _names_all(title, words) else 1, row.date or "", hit))
        if len(ranked) == limit:
            break
    ranked.sort(key=lambda r: r[1], reverse=True)
    ranked.sort(key=lambda r: r[0])  # stable: newest first within each tier
    return [hit for _, _, hit in ranked]


_WORD = re.compile(r"\w+")


def _names_all(title: str, words: list[str]) -> bool:
    """Every searched word starts a word of the title (the last may be half typed)."""
    title_words = [w.lower() for w in _WORD.findall(title)]
    return all(any(t.startswith(w) for t in title_words) for w in words)
