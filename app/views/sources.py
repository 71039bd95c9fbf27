"""Where the record's data came from: each source with its size and its last sync or import."""

from __future__ import annotations

from dataclasses import dataclass

from app.record import Record
from app.record.view_queries import source_rows

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
    out = []
    for row in source_rows(record):
        if row.finished_at:
            parts = [f"{row.imported} new", f"{row.updated} updated", f"{row.unchanged} unchanged"]
            if row.invalid:
                parts.append(f"{row.invalid} failed validation (kept)")
            result = ", ".join(parts)
        else:
            result = ""
        out.append(
            SourceStatus(row.id, row.name, row.kind, row.base_url, row.resources,
                         format_timestamp(row.finished_at) or "never", result)  # fmt: skip
        )
    return out
