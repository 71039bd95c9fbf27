"""Full-text search across the whole record, narrowed to the person shown."""

from __future__ import annotations

from dataclasses import dataclass

from app.record import Record

from .format import format_date, kind_name, tidy_name
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

    @property
    def kind(self) -> str:
        return kind_name(self.resource_type)


def search(record: Record, scope: Scope, text: str, *, limit: int = 50) -> list[Hit]:
    if not text.strip():
        return []
    hits = []
    where, params = scope.where()
    for row in record.search(text, limit=limit * 4, where=where, params=params):
        if row.resource_type in _DIRECTORY_TYPES or not scope.admits(row.source_id, row.subject):
            continue
        hits.append(Hit(row.resource_type, row.id, row.source_id, tidy_name(row.display), format_date(row.date)))
        if len(hits) == limit:
            break
    return hits
