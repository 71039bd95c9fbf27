"""Importing any file the patient brings: the importers of sync.importers first (health cards, Apple Health
exports, recognised by content), FHIR JSON through the record's own import otherwise.

A file is imported whole or not at all: an importer's resources are stored as they stream in, inside one
transaction that is rolled back if the importer fails part way. They are stored "not checked yet" and validated
right after, as a sync's are (app.record.checking).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from itertools import islice
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.fhir.parse import ParsedResource
from sync.importers import ImportContext, ImportFailed, Importer, recognise

from .checking import check_pending
from .errors import ImportRefused
from .files import check_regular_file
from .store import FILE_SOURCE, ImportReport, Record, UpsertCounts, _now, _summary

__all__ = ["FileImportReport", "import_path", "import_with"]

_BATCH = 1000


@dataclass(frozen=True)
class FileImportReport(ImportReport):
    """An import's report with what the importer had to say besides the counts (a card not verified)."""

    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {**super().as_json(), "notes": list(self.notes)}


def import_path(
    record: Record, path: str | os.PathLike[str], *, source: str = FILE_SOURCE, online: bool = True
) -> ImportReport:
    """Import one file of any kind Carry reads. Raises ImportRefused (one sentence) and stores nothing when the
    file cannot be read. `online=False` keeps importers off the network (health card keys come from the cache)."""
    target = Path(path)
    if target.is_dir():
        return record.import_file(target, source=source)
    check_regular_file(target)  # a pipe, a device or a socket is refused before anything reads from it
    importer = recognise(target)
    if importer is None:
        return record.import_file(target, source=source)
    report = import_with(record, importer, target, source=source, online=online)
    checked = check_pending(record)
    report.counts.invalid += checked.invalid_total
    report.counts.invalid_items.extend(checked.invalid_items)
    return report


def import_with(
    record: Record, importer: Importer, path: Path, *, source: str = FILE_SOURCE, online: bool = True
) -> FileImportReport:
    """Store what `importer` makes of `path`, all or nothing, not validated yet."""
    origin = path.name
    settings = _Settings(record)
    context = ImportContext(cache=settings, online=online)
    src = record.source(source, kind="file")
    counts = UpsertCounts()
    try:
        # Called before the transaction: an importer that must go online (for a card issuer's keys) does it here,
        # not while holding the record; a streaming importer only starts reading when iterated.
        stream = importer.resources(path, context)
        with record._transaction() as cur:
            now = _now()
            cur.execute(
                "INSERT INTO run (source_id, kind, origin, started_at) VALUES (?, 'import', ?, ?)", (src.id, origin, now)
            )
            run_id = cur.lastrowid
            for batch in _batches(stream):
                record._upsert(cur, src.id, run_id, batch, now, counts)
            for key, value in settings.pending.items():
                cur.execute(
                    "INSERT INTO setting (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
            record._finish_run(cur, run_id, counts)
            record._audit_in(cur, "import", file=origin, source=source, kind=importer.kind, **_summary(counts))
    except ImportFailed as exc:
        raise ImportRefused(f"{origin}: not imported: {_sentence(exc)}") from None
    return FileImportReport(origin, source, counts, tuple(context.notes))


class _Settings:
    """The record's settings as an importer sees them during its import: what it keeps (an issuer's keys) is
    written in the import's own transaction, so it is kept exactly when the file's resources are."""

    def __init__(self, record: Record) -> None:
        self.record = record
        self.pending: dict[str, str] = {}

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        return self.pending[key] if key in self.pending else self.record.get_setting(key, default)

    def set_setting(self, key: str, value: str) -> None:
        self.pending[key] = value


def _batches(resources: Iterable[ParsedResource]) -> Iterator[list[ParsedResource]]:
    it = iter(resources)
    while batch := list(islice(it, _BATCH)):
        yield batch


def _sentence(exc: Exception) -> str:
    text = str(exc).strip()
    return text[0].lower() + text[1:] if text[:1].isupper() and not text[1:2].isupper() else text
