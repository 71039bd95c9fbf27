"""The record's schema as forward-only numbered migrations; `PRAGMA user_version` holds the version reached.

Never edit a migration that has shipped: add the next one. Every migration runs inside the transaction that
also bumps user_version, so a record is always at exactly one version.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHANGE_COUNT_VERSION", "MIGRATIONS", "Migration", "latest_version", "migration_weight", "reporting", "step_progress",
]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str = ""
    # Python step for data work SQL cannot do (given the open cursor); runs after `sql`.
    step: Callable[[Any], None] | None = None
    # The file is rewritten once the migration is committed (VACUUM), to hand back the space it freed.
    vacuum: bool = False


# How long a migration takes, roughly, in shares of an update that runs several (a progress bar's steps): SQL alone
# is quick, a Python step reads or rewrites data (most of a large record's update), a rewrite of the file is long.
_SQL_WEIGHT, _STEP_WEIGHT, _VACUUM_WEIGHT = 1, 20, 10


def migration_weight(migration: Migration) -> int:
    """A migration's share of an update's work (`_SQL_WEIGHT` and the rest), for the progress an update reports."""
    return _SQL_WEIGHT + (_STEP_WEIGHT if migration.step is not None else 0) + (
        _VACUUM_WEIGHT if migration.vacuum else 0
    )


# The running migration step's progress callback (one migrating thread at a time per record; a thread-local so two
# records opened in two threads never hear each other).
_reporter = threading.local()


@contextlib.contextmanager
def reporting(report: Callable[[float], None]) -> Iterator[None]:
    """While the block runs, `step_progress(share)` in this thread calls `report(share)`."""
    outer = getattr(_reporter, "report", None)
    _reporter.report = report
    try:
        yield
    finally:
        _reporter.report = outer


def step_progress(share: float) -> None:
    """How far the running migration step is (0 to 1), for an update's progress; nothing when nobody listens."""
    report = getattr(_reporter, "report", None)
    if report is not None:
        report(min(max(share, 0.0), 1.0))


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
CREATE INDEX resource_type_category_effective ON resource (type, category, effective);
CREATE INDEX resource_type_status_effective ON resource (type, status, effective);
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
    tokenize = 'unicode61 remove_diacritics 2'
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


_V3 = """
CREATE TABLE portal (
    source_id      INTEGER PRIMARY KEY REFERENCES source(id) ON DELETE CASCADE,
    base_url       TEXT NOT NULL,
    patient_id     TEXT NOT NULL,
    vendor         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    auth_method    TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('connected', 'needs-reconnect', 'disconnected')),
    status_reason  TEXT,
    granted_scope  TEXT NOT NULL,
    smart_config   TEXT NOT NULL,
    fhir_user      TEXT,
    connected_at   TEXT NOT NULL,
    last_sync      TEXT,
    last_outcome   TEXT,
    server_time    TEXT,
    UNIQUE (base_url, patient_id)
);
CREATE TABLE portal_token (
    source_id      INTEGER PRIMARY KEY REFERENCES portal(source_id) ON DELETE CASCADE,
    access_token   TEXT NOT NULL,
    token_type     TEXT NOT NULL,
    expires_at     REAL,
    scope          TEXT NOT NULL,
    patient        TEXT,
    refresh_token  TEXT,
    id_token       TEXT,
    updated_at     TEXT NOT NULL
);
CREATE TABLE client_secret (
    token_endpoint TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    auth_method    TEXT NOT NULL,
    alg            TEXT,
    secret         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (token_endpoint, client_id)
);
CREATE TABLE sync_session (
    source_id      INTEGER PRIMARY KEY REFERENCES portal(source_id) ON DELETE CASCADE,
    run_id         INTEGER NOT NULL REFERENCES run(id),
    full           INTEGER NOT NULL,
    since          TEXT,
    started_at     TEXT NOT NULL
);
CREATE TABLE sync_checkpoint (
    source_id      INTEGER NOT NULL REFERENCES portal(source_id) ON DELETE CASCADE,
    task           TEXT NOT NULL,
    next_url       TEXT,
    pages          INTEGER NOT NULL DEFAULT 0,
    done           INTEGER NOT NULL DEFAULT 0,
    refused        TEXT,
    counts         TEXT NOT NULL DEFAULT '{}',
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (source_id, task)
);
CREATE TABLE sync_report (
    run_id         INTEGER PRIMARY KEY REFERENCES run(id) ON DELETE CASCADE,
    source_id      INTEGER NOT NULL REFERENCES source(id) ON DELETE CASCADE,
    outcome        TEXT NOT NULL,
    report         TEXT NOT NULL
);
CREATE INDEX resource_last_run ON resource (source_id, last_run);
"""

# The patient's own word on which resources describe the same thing. Keyed by (source key, type, id) on both sides,
# never by rowid: a source that is forgotten and synced again gets new rowids but the same keys, so the decision
# still applies. One row per pair; the latest decision about a pair replaces the earlier one.
_V4 = """
CREATE TABLE fact_decision (
    id          INTEGER PRIMARY KEY,
    decision    TEXT NOT NULL CHECK (decision IN ('same', 'different')),
    a_source    TEXT NOT NULL,
    a_type      TEXT NOT NULL,
    a_id        TEXT NOT NULL,
    b_source    TEXT NOT NULL,
    b_type      TEXT NOT NULL,
    b_id        TEXT NOT NULL,
    decided_at  TEXT NOT NULL,
    CHECK ((a_source, a_type, a_id) < (b_source, b_type, b_id)),
    UNIQUE (a_source, a_type, a_id, b_source, b_type, b_id)
);
-- Grouping reads these columns of every resource; a covering index spares it decrypting every row's JSON.
CREATE INDEX resource_facts ON resource (
    type, source_id, id, effective, category, code_system, code, code_display, status, display, subject,
    value_num, value_unit, valid, invalid_reason, first_seen, last_seen, changed_at, last_run
);
"""

# Sharing (issue 6): the record's access keypair (host access entries are sealed to its public half), every link
# the patient made (its URI holds the link's key, so it lives only here), and the accesses merged from the host.
_V5 = """
CREATE TABLE share_key (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    private_jwk  TEXT NOT NULL,
    public_jwk   TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE share_link (
    link_id      TEXT PRIMARY KEY,
    payload      TEXT NOT NULL,
    uri          TEXT NOT NULL,
    label        TEXT,
    flag         TEXT NOT NULL,
    exp          INTEGER,
    sections     TEXT NOT NULL,
    ips          TEXT NOT NULL,
    sources      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);
CREATE TABLE share_access (
    id           INTEGER PRIMARY KEY,
    link_id      TEXT NOT NULL REFERENCES share_link(link_id) ON DELETE CASCADE,
    recipient    TEXT NOT NULL,
    at           TEXT NOT NULL,
    event        TEXT NOT NULL,
    host_cursor  INTEGER NOT NULL,
    UNIQUE (link_id, host_cursor)
);
CREATE INDEX share_access_link ON share_access (link_id, at);
"""

# A sync stores what it fetched first and validates it afterwards (app.record.checking): resources it stored are
# marked valid = -1, "not checked yet", until then. This partial index finds them without reading the table.
_V6 = """
CREATE INDEX resource_unchecked ON resource (rowid) WHERE valid = -1;
"""

# No view filters on status in SQL (the query plans of every view were checked), and each index on a sync's hot path
# costs it time: this one goes.
_V7 = """
DROP INDEX IF EXISTS resource_type_status_effective;
"""

# People (issue 12): a person is a set of (source, Patient reference) pairs. Keyed by the source key (the FHIR base
# of a portal, "kind:name" of other sources) and the reference, never by rowid or source id, so a person and the
# patient's merge and split decisions survive forgetting a source and syncing it again. `name` is the patient's own
# name for the person (a rename); NULL shows the Patient resource's name. `person_apart` holds the pairs the patient
# said are different people, so they are never proposed as one again.
_V8 = """
CREATE TABLE person (
    id          INTEGER PRIMARY KEY,
    name        TEXT,
    created_at  TEXT NOT NULL
);
CREATE TABLE person_member (
    source_key  TEXT NOT NULL,
    patient     TEXT NOT NULL,
    person_id   INTEGER NOT NULL REFERENCES person(id),
    placed_at   TEXT NOT NULL,
    decided_at  TEXT,
    PRIMARY KEY (source_key, patient)
);
CREATE INDEX person_member_person ON person_member (person_id);
CREATE TABLE person_apart (
    a_source    TEXT NOT NULL,
    a_patient   TEXT NOT NULL,
    b_source    TEXT NOT NULL,
    b_patient   TEXT NOT NULL,
    decided_at  TEXT NOT NULL,
    CHECK ((a_source, a_patient) < (b_source, b_patient)),
    PRIMARY KEY (a_source, a_patient, b_source, b_patient)
);
"""


def _place_people(cur: Any) -> None:
    # Records made before version 8 get one person per (source, Patient) they hold; same-name proposals follow.
    from .people import place_patients

    place_patients(cur)


# What a portal refuses to share with apps (a search answered 403 or 404) is remembered per source and search, so
# the next syncs do not ask again and again (they do on --full, or a week after `since`). A resource the portal no
# longer serves is kept, marked removed at the source (`removed_at`), not deleted; the grouping index covers it.
_V9 = """
CREATE TABLE portal_refusal (
    source_id      INTEGER NOT NULL REFERENCES source(id) ON DELETE CASCADE,
    task           TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    reason         TEXT NOT NULL,
    since          TEXT NOT NULL,
    PRIMARY KEY (source_id, task)
);
ALTER TABLE resource ADD COLUMN removed_at TEXT;
DROP INDEX IF EXISTS resource_facts;
CREATE INDEX resource_facts ON resource (
    type, source_id, id, effective, category, code_system, code, code_display, status, display, subject,
    value_num, value_unit, valid, invalid_reason, first_seen, last_seen, changed_at, last_run, removed_at
);
"""

# Corrections and context (issue 19): the patient's own note on an item ("this is wrong or incomplete"), linked to
# the item by its source key, type and id (never a rowid: a source synced again keeps its notes), so the source's
# copy is never altered. Editing adds a version and points the old one at it (`replaced_by`); deleting marks it
# (`deleted_at`): the history stays. `person_id` is whose record the item is in when the note was written.
_V10 = """
CREATE TABLE annotation (
    id           INTEGER PRIMARY KEY,
    source_key   TEXT NOT NULL,
    item_type    TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    person_id    INTEGER,
    text         TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 4000),
    created_at   TEXT NOT NULL,
    replaced_by  INTEGER REFERENCES annotation(id),
    deleted_at   TEXT
);
CREATE INDEX annotation_item ON annotation (item_type, item_id, source_key);
"""

# The patient's own entries (issue 19): every version of each, kept when it is edited or deleted. The current
# version is also a resource of the "Your own entries" source, read like any other; a deleted entry leaves the
# resource table and keeps its versions here, so its history stays readable.
_V11 = """
CREATE TABLE entry_version (
    type        TEXT NOT NULL,
    id          TEXT NOT NULL,
    version     INTEGER NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('added', 'edited', 'deleted')),
    raw         TEXT NOT NULL,
    saved_at    TEXT NOT NULL,
    PRIMARY KEY (type, id, version)
);
"""

# Views kept warm (issue 20): the facts every list shows are kept in the record, so an unlock reads them instead of
# regrouping the record. `view_member` says which fact each resource is in, `view_fact` what grouping found for it
# (the rest is read from the resource's columns when shown), `view_key` every resource's match keys (a change
# regroups only the resources that share a key with it). Triggers note what changed in `view_dirty` (1: content,
# placement or removal; 2: only seen again by a sync) and flag people and decision changes in `view_state`;
# app.record.view_cache brings the views up to date before they are read. The first read fills them ('full').
_V12 = """
CREATE TABLE view_fact (
    id          INTEGER PRIMARY KEY,
    fact        TEXT NOT NULL,
    type        TEXT NOT NULL,
    person      TEXT NOT NULL,
    confidence  TEXT NOT NULL,
    reasons     TEXT NOT NULL,
    matches     TEXT NOT NULL
);
CREATE INDEX view_fact_type ON view_fact (type, person, id, fact);
CREATE TABLE view_member (
    rowid       INTEGER PRIMARY KEY,
    fid         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    person      TEXT NOT NULL,
    source_id   INTEGER NOT NULL,
    effective   TEXT,
    changed_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE INDEX view_member_fact ON view_member (fid);
-- The timeline reads a type's slots from this index alone (which member is newest included).
CREATE INDEX view_member_type ON view_member (
    type, person, fid, rowid, source_id, effective, changed_at, last_seen
);
CREATE TABLE view_key (
    key         INTEGER NOT NULL,
    member      INTEGER NOT NULL,
    PRIMARY KEY (key, member)
) WITHOUT ROWID;
CREATE INDEX view_key_member ON view_key (member);
CREATE TABLE view_dirty (
    member      INTEGER PRIMARY KEY,
    kind        INTEGER NOT NULL
);
CREATE TABLE view_state (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL
);
INSERT INTO view_state (name, value) VALUES ('full', '1');
CREATE TRIGGER view_resource_insert AFTER INSERT ON resource BEGIN
    INSERT INTO view_dirty (member, kind) VALUES (NEW.rowid, 1) ON CONFLICT (member) DO UPDATE SET kind = 1;
END;
CREATE TRIGGER view_resource_change AFTER UPDATE OF raw, effective, category, code_system, code, status, display,
    subject, value_num, value_unit, changed_at, removed_at, type, id, source_id ON resource BEGIN
    INSERT INTO view_dirty (member, kind) VALUES (NEW.rowid, 1) ON CONFLICT (member) DO UPDATE SET kind = 1;
END;
CREATE TRIGGER view_resource_seen AFTER UPDATE OF last_seen, last_run ON resource BEGIN
    INSERT INTO view_dirty (member, kind) VALUES (NEW.rowid, 2) ON CONFLICT (member) DO NOTHING;
END;
CREATE TRIGGER view_resource_delete AFTER DELETE ON resource BEGIN
    INSERT INTO view_dirty (member, kind) VALUES (OLD.rowid, 1) ON CONFLICT (member) DO UPDATE SET kind = 1;
END;
CREATE TRIGGER view_decision_insert AFTER INSERT ON fact_decision BEGIN
    INSERT INTO view_state (name, value) VALUES ('decisions', '1') ON CONFLICT (name) DO UPDATE SET value = '1';
END;
CREATE TRIGGER view_decision_delete AFTER DELETE ON fact_decision BEGIN
    INSERT INTO view_state (name, value) VALUES ('decisions', '1') ON CONFLICT (name) DO UPDATE SET value = '1';
END;
CREATE TRIGGER view_decision_update AFTER UPDATE ON fact_decision BEGIN
    INSERT INTO view_state (name, value) VALUES ('decisions', '1') ON CONFLICT (name) DO UPDATE SET value = '1';
END;
"""
# People (who each resource is about) change with person_member, the sources and the portals' patients.
_V12 += "".join(
    f"CREATE TRIGGER view_{table}_{event.lower()} AFTER {event} ON {table} BEGIN\n"
    "    INSERT INTO view_state (name, value) VALUES ('people', '1') ON CONFLICT (name) DO UPDATE SET value = '1';\nEND;\n"
    for table in ("person_member", "source", "portal")
    for event in ("INSERT", "UPDATE", "DELETE")
)

# The lab-tests list kept warm (issue 20): per (source, subject, category, code) of the coded Observations with a
# number (or a blood pressure panel), how many there are and which is the newest (its date, then its rowid, as
# `latest`: the newest row's effective date followed by its rowid in 20 digits). Triggers note every such group a
# change touches (before and after) in `view_lab_dirty`; app.record.view_labs recomputes only those. A row of
# NULLs there means "recompute all" (how an older record is filled, on its first read).
_V13 = """
CREATE TABLE view_lab (
    source_id   INTEGER NOT NULL,
    subject     TEXT,
    category    TEXT NOT NULL,
    code_system TEXT,
    code        TEXT NOT NULL,
    count       INTEGER NOT NULL,
    latest      TEXT NOT NULL,
    code_display TEXT,
    value_num   REAL,
    value_unit  TEXT
);
CREATE INDEX view_lab_group ON view_lab (category, source_id, subject, code_system, code);
CREATE TABLE view_lab_dirty (
    source_id   INTEGER,
    subject     TEXT,
    category    TEXT,
    code_system TEXT,
    code        TEXT
);
INSERT INTO view_lab_dirty DEFAULT VALUES;
CREATE TRIGGER view_lab_insert AFTER INSERT ON resource
    WHEN NEW.type = 'Observation' AND NEW.category IS NOT NULL AND NEW.code IS NOT NULL BEGIN
    INSERT INTO view_lab_dirty VALUES (NEW.source_id, NEW.subject, NEW.category, NEW.code_system, NEW.code);
END;
CREATE TRIGGER view_lab_change AFTER UPDATE OF type, source_id, subject, category, code_system, code, code_display,
    value_num, value_unit, effective, removed_at ON resource
    WHEN (OLD.type = 'Observation' AND OLD.category IS NOT NULL AND OLD.code IS NOT NULL)
      OR (NEW.type = 'Observation' AND NEW.category IS NOT NULL AND NEW.code IS NOT NULL) BEGIN
    INSERT INTO view_lab_dirty SELECT OLD.source_id, OLD.subject, OLD.category, OLD.code_system, OLD.code
        WHERE OLD.type = 'Observation' AND OLD.category IS NOT NULL AND OLD.code IS NOT NULL;
    INSERT INTO view_lab_dirty SELECT NEW.source_id, NEW.subject, NEW.category, NEW.code_system, NEW.code
        WHERE NEW.type = 'Observation' AND NEW.category IS NOT NULL AND NEW.code IS NOT NULL;
END;
CREATE TRIGGER view_lab_delete AFTER DELETE ON resource
    WHEN OLD.type = 'Observation' AND OLD.category IS NOT NULL AND OLD.code IS NOT NULL BEGIN
    INSERT INTO view_lab_dirty VALUES (OLD.source_id, OLD.subject, OLD.category, OLD.code_system, OLD.code);
END;
"""

# The OTHER results kept warm (issue 20): per (source, subject, system, code or else display) of the Observations of
# no category or of one not shown apart (laboratory, vital signs), how many there are, the newest (as in version 13)
# and every answer of the newest one's date; changed groups are noted in `view_other_dirty` (a row of NULLs: all).
_V14 = """
CREATE TABLE view_other (
    source_id   INTEGER NOT NULL,
    subject     TEXT,
    code_system TEXT,
    code        TEXT,
    count       INTEGER NOT NULL,
    latest      TEXT NOT NULL,
    effective   TEXT,
    name        TEXT,
    value_unit  TEXT,
    id          TEXT NOT NULL,
    answers     TEXT
);
CREATE INDEX view_other_group ON view_other (source_id, subject, code_system, code);
CREATE TABLE view_other_dirty (
    source_id   INTEGER,
    subject     TEXT,
    code_system TEXT,
    code        TEXT
);
INSERT INTO view_other_dirty DEFAULT VALUES;
CREATE TRIGGER view_other_insert AFTER INSERT ON resource
    WHEN NEW.type = 'Observation' AND (NEW.category IS NULL OR NEW.category NOT IN ('laboratory', 'vital-signs')) BEGIN
    INSERT INTO view_other_dirty VALUES (NEW.source_id, NEW.subject, NEW.code_system, coalesce(NEW.code, NEW.display));
END;
CREATE TRIGGER view_other_change AFTER UPDATE OF type, source_id, subject, category, code_system, code, code_display,
    display, value_num, value_unit, effective, removed_at ON resource
    WHEN (OLD.type = 'Observation' AND (OLD.category IS NULL OR OLD.category NOT IN ('laboratory', 'vital-signs')))
      OR (NEW.type = 'Observation' AND (NEW.category IS NULL OR NEW.category NOT IN ('laboratory', 'vital-signs'))) BEGIN
    INSERT INTO view_other_dirty SELECT OLD.source_id, OLD.subject, OLD.code_system, coalesce(OLD.code, OLD.display)
        WHERE OLD.type = 'Observation' AND (OLD.category IS NULL OR OLD.category NOT IN ('laboratory', 'vital-signs'));
    INSERT INTO view_other_dirty SELECT NEW.source_id, NEW.subject, NEW.code_system, coalesce(NEW.code, NEW.display)
        WHERE NEW.type = 'Observation' AND (NEW.category IS NULL OR NEW.category NOT IN ('laboratory', 'vital-signs'));
END;
CREATE TRIGGER view_other_delete AFTER DELETE ON resource
    WHEN OLD.type = 'Observation' AND (OLD.category IS NULL OR OLD.category NOT IN ('laboratory', 'vital-signs')) BEGIN
    INSERT INTO view_other_dirty VALUES (OLD.source_id, OLD.subject, OLD.code_system, coalesce(OLD.code, OLD.display));
END;
"""

# The patient's notes found by search (issue 19): the current version of every note on an item is in a full-text
# index of its own, keyed by the note's id; triggers keep it so whenever a note is written, changed (the old version
# leaves, the new one comes in) or deleted, and the notes an older record holds are indexed here. Search maps a
# matching note to its item by the item's source key, type and id, as the notes themselves are linked.
# A deleted entry of the patient's own can be restored: its versions take a fourth action, 'restored' (SQLite cannot
# change a CHECK in place, so the table is made again with every version it held).
_V15 = """
CREATE VIRTUAL TABLE annotation_fts USING fts5 (
    text,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO annotation_fts (rowid, text)
    SELECT id, text FROM annotation WHERE replaced_by IS NULL AND deleted_at IS NULL;
CREATE TRIGGER annotation_fts_insert AFTER INSERT ON annotation
    WHEN NEW.replaced_by IS NULL AND NEW.deleted_at IS NULL BEGIN
    INSERT INTO annotation_fts (rowid, text) VALUES (NEW.id, NEW.text);
END;
CREATE TRIGGER annotation_fts_change AFTER UPDATE OF text, replaced_by, deleted_at ON annotation BEGIN
    DELETE FROM annotation_fts WHERE rowid = OLD.id;
    INSERT INTO annotation_fts (rowid, text)
        SELECT NEW.id, NEW.text WHERE NEW.replaced_by IS NULL AND NEW.deleted_at IS NULL;
END;
CREATE TRIGGER annotation_fts_delete AFTER DELETE ON annotation BEGIN
    DELETE FROM annotation_fts WHERE rowid = OLD.id;
END;
CREATE TABLE entry_version_15 (
    type        TEXT NOT NULL,
    id          TEXT NOT NULL,
    version     INTEGER NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('added', 'edited', 'deleted', 'restored')),
    raw         TEXT NOT NULL,
    saved_at    TEXT NOT NULL,
    PRIMARY KEY (type, id, version)
);
INSERT INTO entry_version_15 (type, id, version, action, raw, saved_at)
    SELECT type, id, version, action, raw, saved_at FROM entry_version;
DROP TABLE entry_version;
ALTER TABLE entry_version_15 RENAME TO entry_version;
"""

# Warm views at scale (issue 20): what the timeline sorts a fact by is kept beside the fact, so a type's slots are
# one row per fact read from an index (not every member, grouped in Python): its date (the newest member's, else
# the earliest of the others), its newest member (`top`: last changed, last seen, last stored) and that member's
# source, and its members' sources (sorted ids, comma-separated); indexed by date for everyone and for each person, so
# a timeline page is a keyed read of its own rows. The first read fills them ('slots').
# The kept lists' triggers also say which resource arrived (`added`): a group that only gained new resources is
# brought up to date from those alone (its count plus theirs, the newer newest), not recomputed from all of its rows.
# The resources that failed validation are indexed apart: counting them (`carry info`) read every resource's JSON.
_V16 = """
CREATE INDEX resource_invalid ON resource (type) WHERE valid = 0;
ALTER TABLE view_fact ADD COLUMN date TEXT;
ALTER TABLE view_fact ADD COLUMN top INTEGER;
ALTER TABLE view_fact ADD COLUMN top_source INTEGER;
ALTER TABLE view_fact ADD COLUMN sources TEXT;
CREATE INDEX view_fact_slot ON view_fact (type, date, top, fact, sources, top_source, person) WHERE date IS NOT NULL;
CREATE INDEX view_fact_person_slot ON view_fact (type, person, date, top, fact, sources, top_source)
    WHERE date IS NOT NULL;
INSERT INTO view_state (name, value) VALUES ('slots', '1') ON CONFLICT (name) DO UPDATE SET value = '1';
ALTER TABLE view_lab_dirty ADD COLUMN added INTEGER;
ALTER TABLE view_other_dirty ADD COLUMN added INTEGER;
DROP TRIGGER view_lab_insert;
DROP TRIGGER view_lab_change;
DROP TRIGGER view_lab_delete;
DROP TRIGGER view_other_insert;
DROP TRIGGER view_other_change;
DROP TRIGGER view_other_delete;
CREATE TRIGGER view_lab_insert AFTER INSERT ON resource
    WHEN NEW.type = 'Observation' AND NEW.category IS NOT NULL AND NEW.code IS NOT NULL BEGIN
    INSERT INTO view_lab_dirty (source_id, subject, category, code_system, code, added)
        VALUES (NEW.source_id, NEW.subject, NEW.category, NEW.code_system, NEW.code, NEW.rowid);
END;
CREATE TRIGGER view_lab_change AFTER UPDATE OF type, source_id, subject, category, code_system, code, code_display,
    value_num, value_unit, effective, removed_at ON resource
    WHEN (OLD.type = 'Observation' AND OLD.category IS NOT NULL AND OLD.code IS NOT NULL)
      OR (NEW.type = 'Observation' AND NEW.category IS NOT NULL AND NEW.code IS NOT NULL) BEGIN
    INSERT INTO view_lab_dirty (source_id, subject, category, code_system, code)
        SELECT OLD.source_id, OLD.subject, OLD.category, OLD.code_system, OLD.code
        WHERE OLD.type = 'Observation' AND OLD.category IS NOT NULL AND OLD.code IS NOT NULL;
    INSERT INTO view_lab_dirty (source_id, subject, category, code_system, code)
        SELECT NEW.source_id, NEW.subject, NEW.category, NEW.code_system, NEW.code
        WHERE NEW.type = 'Observation' AND NEW.category IS NOT NULL AND NEW.code IS NOT NULL;
END;
CREATE TRIGGER view_lab_delete AFTER DELETE ON resource
    WHEN OLD.type = 'Observation' AND OLD.category IS NOT NULL AND OLD.code IS NOT NULL BEGIN
    INSERT INTO view_lab_dirty (source_id, subject, category, code_system, code)
        VALUES (OLD.source_id, OLD.subject, OLD.category, OLD.code_system, OLD.code);
END;
CREATE TRIGGER view_other_insert AFTER INSERT ON resource
    WHEN NEW.type = 'Observation' AND (NEW.category IS NULL OR NEW.category NOT IN ('laboratory', 'vital-signs')) BEGIN
    INSERT INTO view_other_dirty (source_id, subject, code_system, code, added)
        VALUES (NEW.source_id, NEW.subject, NEW.code_system, coalesce(NEW.code, NEW.display), NEW.rowid);
END;
CREATE TRIGGER view_other_change AFTER UPDATE OF type, source_id, subject, category, code_system, code, code_display,
    display, value_num, value_unit, effective, removed_at ON resource
    WHEN (OLD.type = 'Observation' AND (OLD.category IS NULL OR OLD.category NOT IN ('laboratory', 'vital-signs')))
      OR (NEW.type = 'Observation' AND (NEW.category IS NULL OR NEW.category NOT IN ('laboratory', 'vital-signs'))) BEGIN
    INSERT INTO view_other_dirty (source_id, subject, code_system, code)
        SELECT OLD.source_id, OLD.subject, OLD.code_system, coalesce(OLD.code, OLD.display)
        WHERE OLD.type = 'Observation' AND (OLD.category IS NULL OR OLD.category NOT IN ('laboratory', 'vital-signs'));
    INSERT INTO view_other_dirty (source_id, subject, code_system, code)
        SELECT NEW.source_id, NEW.subject, NEW.code_system, coalesce(NEW.code, NEW.display)
        WHERE NEW.type = 'Observation' AND (NEW.category IS NULL OR NEW.category NOT IN ('laboratory', 'vital-signs'));
END;
CREATE TRIGGER view_other_delete AFTER DELETE ON resource
    WHEN OLD.type = 'Observation' AND (OLD.category IS NULL OR OLD.category NOT IN ('laboratory', 'vital-signs')) BEGIN
    INSERT INTO view_other_dirty (source_id, subject, code_system, code)
        VALUES (OLD.source_id, OLD.subject, OLD.code_system, coalesce(OLD.code, OLD.display));
END;
"""

# What a run changed of what the record held before it: each such resource's hash from before the run, so that a
# resource written again in the same run (an Apple Health day that a late sample came for) is counted once, by what
# it was before the run (imported, updated or unchanged). A run's rows go when it finishes; a sync's run may span
# several transactions and sessions, so they are kept in the record, not in memory.
_V17 = """
CREATE TABLE run_prior (
    run       INTEGER NOT NULL,
    resource  INTEGER NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (run, resource)
) WITHOUT ROWID;
"""


def _reindex_inline_documents(cur: Any) -> None:
    # Records made before a PDF's words were indexed (issue 19): a document with an inline PDF, and a report with a
    # presented form (not indexed at all before), get their index row made again from the stored JSON. One at a
    # time, so a record of many large PDFs is never all in memory at once.
    from sync.fhir import loads

    from .extract import search_text

    rowids = [row[0] for row in cur.execute(
        "SELECT rowid FROM resource WHERE (type = 'DocumentReference' AND raw LIKE '%application/pdf%') "
        "OR (type = 'DiagnosticReport' AND raw LIKE '%presentedForm%')"
    ).fetchall()]  # fmt: skip
    for done, rowid in enumerate(rowids):
        step_progress(done / len(rowids))
        (raw,) = cur.execute("SELECT raw FROM resource WHERE rowid = ?", (rowid,)).fetchone()
        display, codes, notes = search_text(loads(raw))
        cur.execute("DELETE FROM resource_fts WHERE rowid = ?", (rowid,))
        cur.execute(
            "INSERT INTO resource_fts (rowid, display, codes, notes) VALUES (?, ?, ?, ?)", (rowid, display, codes, notes)
        )


# Record size (issue 20): every resource's JSON is stored packed (app.record.packed), which more than halves a record;
# an index no query uses goes too (the query plans of every view were checked: every one that orders by date names
# a type, and (type, effective) serves it; only `carry list` with no type sorts, once, what it reads).
_V18 = """
DROP INDEX IF EXISTS resource_effective;
"""


def _pack_resources(cur: Any) -> None:
    """Every resource's JSON packed (app.record.packed), a batch of rows at a time. The kept views' triggers see
    `raw` change, but nothing a view shows did: what they had noted before is all they note after."""
    from .packed import pack

    cur.execute("CREATE TEMP TABLE dirty_before AS SELECT member, kind FROM view_dirty")
    last = 0
    highest = int(cur.execute("SELECT COALESCE(max(rowid), 0) FROM resource").fetchone()[0]) or 1
    while True:
        step_progress(last / highest)
        rows = cur.execute(
            "SELECT rowid, type, id, raw FROM resource WHERE rowid > ? ORDER BY rowid LIMIT 2000", (last,)
        ).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        packed = [(pack(raw, rtype, rid), rowid) for rowid, rtype, rid, raw in rows if isinstance(raw, str)]
        cur.executemany("UPDATE resource SET raw = ? WHERE rowid = ?", packed)
    cur.execute("DELETE FROM view_dirty")
    cur.execute("INSERT INTO view_dirty (member, kind) SELECT member, kind FROM dirty_before")
    cur.execute("DROP TABLE dirty_before")


# Import speed at scale (issue 19): the grouping index `resource_facts` began with (type, source_id, id), and ids are
# often content hashes (an Apple Health reading's), so every insert went to a random page of the record's widest
# index: once it outgrew the page cache, each one read a page back and decrypted it. Keyed (type, source_id, rowid)
# instead, a file's or a sync's new rows go at the end of their type and source, as they do in the table. It still
# covers every column the grouping reads (app.record.facts._COLUMNS) and those the views' type scans read; what
# the grouping does with its rows does not depend on their order (app.record.facts: `_representative`). Looking a
# resource up by (source, type, id) is the unique index's work, as it always could be.
_V19 = """
DROP INDEX IF EXISTS resource_facts;
CREATE INDEX resource_facts ON resource (
    type, source_id, rowid, id, effective, category, code_system, code, code_display, status, display, subject,
    value_num, value_unit, valid, invalid_reason, first_seen, last_seen, changed_at, last_run, removed_at
);
"""


# Record size (issue 20), again: the index of the members by type keeps only what it is read for (a type's members
# and their facts, `view_cache._member_rows`; SQLite adds the rowid to every index). Since schema 16 the timeline
# reads the facts' slots, not the members: their source, date and times were kept twice for nothing.
_V20 = """
DROP INDEX IF EXISTS view_member_type;
CREATE INDEX view_member_type ON view_member (type, person, fid);
"""


# The summary kept in the record (issue 20): an unlock shows the summary the patient last saw instead of building it
# again from a million resources. Every write transaction counts itself in `record_change` (Record.write); a kept
# summary holds the count it was built at, and is shown only while the count is still that (app.record.summaries).
_V21 = """
CREATE TABLE record_change (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    n    INTEGER NOT NULL
);
INSERT INTO record_change (one, n) VALUES (1, 0);
CREATE TABLE kept_summary (
    key    TEXT PRIMARY KEY,
    stamp  INTEGER NOT NULL,
    body   TEXT NOT NULL
);
"""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "sources, resources, identifiers, runs, audit log, settings", _V1),
    Migration(2, "full-text index over display text, codes and notes", _V2, _backfill_fts),
    Migration(3, "portal connections: tokens, client secrets and keys, sync checkpoints and reports", _V3),
    Migration(4, "the patient's decisions on which records describe the same thing; an index for grouping", _V4),
    Migration(5, "sharing: the access keypair, the links the patient made, and who opened them", _V5),
    Migration(6, "resources a sync stored and has not validated yet", _V6),
    Migration(7, "drop an index no view uses", _V7),
    Migration(8, "people: every (source, Patient) placed in a person; merge and split decisions", _V8, _place_people),
    Migration(9, "what portals refuse to share, per source; resources removed at the source", _V9),
    Migration(10, "the patient's corrections and context on items, with their history", _V10),
    Migration(11, "the patient's own entries: every version of each, kept through edits and deletes", _V11),
    Migration(12, "views kept warm: every resource's fact and match keys, what changed since", _V12),
    Migration(13, "the lab-tests list kept warm: count and newest value per subject and test", _V13),
    Migration(14, "the other results list kept warm: count, newest value and its day's answers per subject and test", _V14),
    Migration(15, "the patient's notes found by search; a deleted entry of their own can be restored", _V15),
    Migration(16, "warm views at scale: each kept fact's timeline slot; which resources the kept lists gained", _V16),
    Migration(17, "a document's PDF and a report's presented form found by their words; what a run changed, counted once",
              _V17, _reindex_inline_documents),
    Migration(18, "every resource's JSON stored packed: deflated with a dictionary of FHIR's own words; an index no "
              "query uses dropped", _V18, _pack_resources, vacuum=True),
    Migration(19, "the grouping index keyed by type, source and the order rows were stored in, so that an import "
              "writes to its end", _V19),
    Migration(20, "the index of the kept facts' members by type slimmed to what it is read for", _V20, vacuum=True),
    Migration(21, "every write counted; the summary kept, with the count it was built at", _V21),
)


# The version from which every write transaction is counted (record_change).
CHANGE_COUNT_VERSION = 21


def latest_version() -> int:
    return MIGRATIONS[-1].version
