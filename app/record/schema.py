"""The record's schema as forward-only numbered migrations; `PRAGMA user_version` holds the version reached.

Never edit a migration that has shipped: add the next one. Every migration runs inside the transaction that
also bumps user_version, so a record is always at exactly one version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["MIGRATIONS", "Migration", "latest_version"]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str = ""
    # Python step for data work SQL cannot do (given the open cursor); runs after `sql`.
    step: Callable[[Any], None] | None = None


_V1 = """
CREATE TABLE source (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('portal', 'file', 'shared')),
    name        TEXT NOT NULL,
    base_url    TEXT,
    created_at  TEXT NOT NULL,
    UNIQUE (kind, name)
);
CREATE TABLE run (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES source(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    origin      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    imported    INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    invalid     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE resource (
    rowid          INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL REFERENCES source(id) ON DELETE CASCADE,
    type           TEXT NOT NULL,
    id             TEXT NOT NULL,
    raw            TEXT NOT NULL,
    hash           TEXT NOT NULL,
    first_seen     TEXT NOT NULL,
    last_seen      TEXT NOT NULL,
    changed_at     TEXT NOT NULL,
    first_run      INTEGER REFERENCES run(id),
    last_run       INTEGER REFERENCES run(id),
    valid          INTEGER NOT NULL,
    invalid_reason TEXT,
    effective      TEXT,
    category       TEXT,
    code_system    TEXT,
    code           TEXT,
    code_display   TEXT,
    status         TEXT,
    display        TEXT,
    subject        TEXT,
    value_num      REAL,
    value_unit     TEXT,
    UNIQUE (source_id, type, id)
);
CREATE INDEX resource_type_effective ON resource (type, effective);
CREATE INDEX resource_effective ON resource (effective);
CREATE INDEX resource_type_code ON resource (type, code_system, code);
CREATE TABLE identifier (
    resource  INTEGER NOT NULL REFERENCES resource(rowid) ON DELETE CASCADE,
    system    TEXT NOT NULL,
    value     TEXT NOT NULL
);
CREATE INDEX identifier_lookup ON identifier (value, system);
CREATE INDEX identifier_resource ON identifier (resource);
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE setting (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
"""

_V2 = """
CREATE VIRTUAL TABLE resource_fts USING fts5 (
    display, codes, notes,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
"""


def _backfill_fts(cur: Any) -> None:
    # Records made at version 1 have resources but no index; index them from the stored JSON.
    from sync.fhir import loads

    from .extract import search_text

    rows = cur.execute("SELECT rowid, raw FROM resource").fetchall()
    for rowid, raw in rows:
        display, codes, notes = search_text(loads(raw))
        cur.execute(
            "INSERT INTO resource_fts (rowid, display, codes, notes) VALUES (?, ?, ?, ?)",
            (rowid, display, codes, notes),
        )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "sources, resources, identifiers, runs, audit log, settings", _V1),
    Migration(2, "full-text index over display text, codes and notes", _V2, _backfill_fts),
)


def latest_version() -> int:
    return MIGRATIONS[-1].version
