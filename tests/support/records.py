"""Building blocks for tests that use a real record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.record import Record
from sync.assets import DEMO_PATIENTS

PASSPHRASE = "correct horse battery"
ELVINA = "Elvina_Lemke_f2a4f241-ad65-4a1b-8b54-b5717a2338b6.json"
KARENA = "Karena_Pfeffer_1f99a0cb-594b-476a-b9cb-502594c1ee6b.json"


def demo_record(path: Path, *patterns: str) -> Record:
    """A new record at `path` with the demo patients' files that match `patterns` imported, open."""
    record = Record.create(path, PASSPHRASE)
    for pattern in patterns:
        for found in sorted(DEMO_PATIENTS.glob(pattern)):
            record.import_file(found)
    return record


def snapshot(record: Record) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a patient could lose: resources, sources, runs, identifiers, the index, the import log."""
    return {
        "resources": record.read(
            "SELECT source_id, type, id, raw, hash, first_seen, last_seen, valid FROM resource ORDER BY rowid"
        ),
        "sources": record.read("SELECT * FROM source ORDER BY id"),
        "runs": record.read("SELECT * FROM run ORDER BY id"),
        "identifiers": record.read("SELECT * FROM identifier ORDER BY rowid"),
        "fts": record.read("SELECT rowid FROM resource_fts ORDER BY rowid"),
        "imports": record.read("SELECT count(*) FROM audit WHERE action = 'import'"),
    }


_RESOURCE_COLUMNS = (
    "source_id, type, raw, hash, first_seen, last_seen, changed_at, first_run, last_run, valid, invalid_reason, "
    "effective, category, code_system, code, code_display, status, display, subject, value_num, value_unit, removed_at"
)


def record_before_packing(path: Path, copies: int) -> Path:
    """A record left at schema 17 (each resource's JSON stored as text, before migration 18 packed it) holding one
    demo patient `copies` times over (copies under ids of their own): opening it with today's Carry runs a long
    update. Closed; its path."""
    record = Record(path, Record._connect(path, PASSPHRASE))
    try:
        record._migrate(target=17)
        record.import_file(DEMO_PATIENTS / ELVINA)
        with record.write() as cur:
            cur.execute("UPDATE resource SET raw = resource_json(raw, type, id)")  # as version 17 stored it
            for copy in range(1, copies):
                cur.execute(
                    f"INSERT INTO resource (id, {_RESOURCE_COLUMNS}) SELECT id || '~{copy}', {_RESOURCE_COLUMNS} "
                    "FROM resource WHERE id NOT LIKE '%~%'"
                )
    finally:
        record.close()
    return path
