"""Where the record's data came from: each source with its size and its last sync or import."""

from __future__ import annotations

from dataclasses import dataclass

from app.record import Record
from app.record.entries import is_own
from app.record.view_queries import source_rows

from .format import format_timestamp

__all__ = ["SourceStatus", "source_statuses"]

_KIND_WORDS = {"portal": "Patient portal", "file": "Files you imported", "shared": "Shared with you"}
# The patient's own entries are kept as a source of kind "file", but nothing was imported: they typed them here.
_OWN_WORDS = "What you added in Carry: readings, symptoms, notes, medicines and allergies"


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
    def own(self) -> bool:
        """The patient's own entries (added in Carry, not imported)."""
        return self.kind == "file" and is_own(self.name)

    @property
    def kind_text(self) -> str:
        return _OWN_WORDS if self.own else _KIND_WORDS.get(self.kind, self.kind)

    @property
    def last_run_text(self) -> str:
        """'Last import: 2 Dec 2026, 15:40', or for the patient's own entries 'Last added: …'."""
        return f"{'Last added' if self.own else 'Last import'}: {self.last_run}"


def source_statuses(record: Record) -> list[SourceStatus]:
    out = []
    for row in source_rows(record):
        if row.finished_at:
            parts = [f"{row.imported:,} new", f"{row.updated:,} updated", f"{row.unchanged:,} unchanged"]
            if row.invalid:
                parts.append(f"{row.invalid:,} failed validation (kept)")
            result = ", ".join(parts)
        else:
            result = ""
        out.append(
            SourceStatus(row.id, row.name, row.kind, row.base_url, row.resources,
                         format_timestamp(row.finished_at) or "never", result)  # fmt: skip
        )
    return out
