"""Where the record's data came from: each source with its size and its last sync or import."""

from __future__ import annotations

from dataclasses import dataclass

from app.record import Record

from .format import format_timestamp

__all__ = ["SourceStatus", "source_statuses"]

_KIND_WORDS = {"portal": "Patient portal", "file": "Imported files", "shared": "Shared with you"}


@dataclass(frozen=True)
class SourceStatus:
    id: int
    name: str
    kind: str
    base_url: str | None
    resources: int
    last_run: str  # formatted, or "never"
    last_result: str  # "12 new, 3 updated" for the last run

    @property
    def kind_text(self) -> str:
        return _KIND_WORDS.get(self.kind, self.kind)


def source_statuses(record: Record) -> list[SourceStatus]:
    rows = record._query(
        "SELECT s.id, s.name, s.kind, s.base_url, "
        "(SELECT count(*) FROM resource r WHERE r.source_id = s.id), "
        "run.finished_at, run.imported, run.updated, run.unchanged, run.invalid "
        "FROM source s LEFT JOIN run ON run.id = (SELECT max(id) FROM run WHERE run.source_id = s.id "
        "AND run.finished_at IS NOT NULL) ORDER BY s.id"
    )
    out = []
    for sid, name, kind, base_url, count, finished, imported, updated, unchanged, invalid in rows:
        if finished:
            parts = [f"{imported} new", f"{updated} updated", f"{unchanged} unchanged"]
            if invalid:
                parts.append(f"{invalid} failed validation (kept)")
            result = ", ".join(parts)
        else:
            result = ""
        out.append(
            SourceStatus(sid, name, kind, base_url, int(count), format_timestamp(finished) or "never", result)
        )
    return out
