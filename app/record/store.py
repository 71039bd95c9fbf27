"""The encrypted record: one SQLCipher 4 file that only the patient's passphrase opens.

This is the only module of Carry that imports sqlcipher3. SQLCipher 4 defaults are used as they are (AES-256,
HMAC-SHA512 per page, PBKDF2-HMAC-SHA512 with 256,000 iterations); no compatibility settings are applied. The
journal is a WAL whose frames are encrypted pages; temporary tables and indices stay in memory (the one exception:
the VACUUM after a migration that frees space, or after a big import, writes its copy to a temporary file, keyed like
the record); deleted content is overwritten (secure_delete). A resource's JSON is stored packed (app.record.packed).

Two connections on the one file, each with its own lock: the writer (SQLite allows one writer at a time) and a
reader beside it. The WAL lets the reader see the last committed state while a write is in progress, so a screen's
read never waits for a sync's write. The passphrase is stretched once per unlock (PBKDF2 as SQLCipher does it) and
both connections are keyed with the result, so a second connection costs no second key derivation.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import sqlcipher3
from sqlcipher3 import dbapi2

from sync.errors import Action
from sync.fhir import FHIRFormatError, ParsedResource
from sync.fhir.parse import PARALLEL_THRESHOLD, ValidationWorkers, validated_stream
from sync.fhir.stream import read_stream
from sync.heap import heap_set_aside
from sync.untrusted import plain_text

from .errors import (
    ImportRefused,
    NotARecord,
    PassphraseRefused,
    RecordBusy,
    RecordError,
    RecordExists,
    RecordFull,
    RecordNotFound,
    RecordReadOnly,
    WrongPassphrase,
)
from .extract import extract
from .files import display_name, open_import_file
from .packed import SQL_FUNCTION, forget_unpacked, pack, unpack
from .schema import CHANGE_COUNT_VERSION, MIGRATIONS, latest_version, migration_weight, reporting

__all__ = [
    "FILE_SOURCE",
    "ImportReport",
    "MIN_PASSPHRASE",
    "RANKED_MATCHES",
    "Record",
    "RecordInfo",
    "ResourceRow",
    "Source",
    "StoredResource",
    "Transaction",
    "UpdateShare",
    "UpsertCounts",
    "audit_in",
    "forget_priors",
    "fts_match",
]

MIN_PASSPHRASE = 8
FILE_SOURCE = "Imported files"
# How many of a word's matches a search ranks at most, the newest (Record.search).
RANKED_MATCHES = 5000
_PLAIN_SQLITE = b"SQLite format 3\x00"
# SQLCipher 4's default key derivation (PBKDF2-HMAC-SHA512, 256,000 iterations, a 256-bit key from the 16-byte salt
# that opens the file); Carry derives the key so once per unlock and keys both connections with it.
_KDF_ITER = 256_000
_SALT_SIZE = 16
_WORD = re.compile(r"\w+", re.UNICODE)
# resource.valid: validated against R4B and valid, invalid (invalid_reason says why), or not checked yet (a sync
# stores first and validates afterwards, see app.record.checking).
VALID_YES, VALID_NO, VALID_UNCHECKED = 1, 0, -1
_AUDIT_TEXT_LIMIT = 500  # per text in an audit entry's detail
# An import that grows the record by more than this share of what it was, and by at least this many bytes, is
# followed by a rewrite of the file (VACUUM): the indexes it filled in random order (ids, hashes) leave their pages a
# third empty, and the rewrite packs them (a record of 10,000 to 100,000 resources takes 4-6 % less room). Its CPU
# is a few % of the import's own (2.7 s at 100,000 resources), and it runs after the import has returned.
_REWRITE_AFTER_GROWTH = 0.25
_REWRITE_FROM_BYTES = 8 * 1024 * 1024
_REWRITE_CACHE_KIB = 4096  # the rewrite's page cache at most (the record's own when that is smaller)
# How far a rewrite is (VACUUM says nothing of it), estimated. It first copies the record into a temporary file with
# SQLite's own program, whose steps a progress handler hears (every _STEPS_PER_TICK): measured at 121-220 steps per
# page of the record (a record of the facts benchmark 121, the UI benchmark's of 10,000 to 100,000 resources 156-157,
# observations alone 218-220), so the first part is counted against _STEPS_PER_PAGE. Then it copies the new file
# back through the WAL, page by page inside SQLite, with no step to hear: that took 1.5-1.9 times as long as the
# first part on the same records (0.04 s to 3 s in all), so it is counted by the clock, at _COPY_BACK times the first
# part's time. The share said stays below 100 % (_SAID_AT_MOST) until the rewrite has ended.
_STEPS_PER_PAGE = 160
_STEPS_PER_TICK = 5_000
_COPY_BACK = 1.7
_FIRST_PART_OVER = 0.15  # seconds without a step: the copy back has begun
_SAID_AT_MOST = 0.99
_REWRITE_TICK = 0.1  # seconds between two looks at a rewrite's progress
_ROW_COLUMNS = (
    "r.rowid, r.source_id, s.name, r.type, r.id, r.effective, r.category, r.code_system, r.code, r.code_display, "
    "r.status, r.display, r.subject, r.value_num, r.value_unit, r.valid, r.invalid_reason, r.first_seen, r.last_seen"
)


def _now(at: float | None = None) -> str:
    """The record's way of writing a time (UTC, to the second): now, or `at` (seconds since the epoch)."""
    moment = datetime.now(timezone.utc) if at is None else datetime.fromtimestamp(at, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Source:
    id: int
    kind: str
    name: str
    base_url: str | None
    created_at: str


@dataclass(frozen=True)
class ResourceRow:
    """A resource as the lists show it: the extracted columns, not the JSON."""

    rowid: int
    source_id: int
    source: str
    resource_type: str
    id: str
    date: str | None
    category: str | None
    code_system: str | None
    code: str | None
    code_display: str | None
    status: str | None
    display: str
    subject: str | None
    value: float | None
    unit: str | None
    valid: bool
    invalid_reason: str | None
    first_seen: str
    last_seen: str
    checked: bool = True  # False until a synced resource has been validated (valid is presumed until then)

    def as_json(self) -> dict[str, Any]:
        """The stable `--json` shape (documented in README.md)."""
        return {
            "source": self.source,
            "resourceType": self.resource_type,
            "id": self.id,
            "date": self.date,
            "category": self.category,
            "code": {"system": self.code_system, "code": self.code, "display": self.code_display},
            "status": self.status,
            "display": self.display,
            "valid": self.valid,
            "invalid_reason": self.invalid_reason,
            "checked": self.checked,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


@dataclass(frozen=True)
class StoredResource:
    row: ResourceRow
    raw: str  # the JSON as received (after urn:uuid / conditional references were resolved)
    hash: str
    run_origin: str | None  # the file or portal it last came from

    def json(self) -> Any:
        from sync.fhir import loads

        return loads(self.raw)


@dataclass
class UpsertCounts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    per_type: dict[str, dict[str, int]] = field(default_factory=dict)
    invalid_items: list[tuple[str, str, str]] = field(default_factory=list)

    def count(self, rtype: str, outcome: str, by: int = 1) -> None:
        setattr(self, outcome, getattr(self, outcome) + by)
        bucket = self.per_type.setdefault(rtype, {"imported": 0, "updated": 0, "unchanged": 0, "invalid": 0})
        bucket[outcome] += by

    def recount(self, rtype: str, was: str, now: str) -> None:
        """One resource counted `was` is `now` after all (written again in the same run)."""
        self.count(rtype, was, -1)
        self.count(rtype, now)


_PRIORS_VERSION = 17  # the schema version that keeps what a run changed (run_prior)


def _keeps_priors(cur: Any) -> bool:
    # A record still below version 17 (written to by a migration test, or before it is brought up) has no run_prior.
    return int(cur.execute("PRAGMA user_version").fetchone()[0]) >= _PRIORS_VERSION


def forget_priors(cur: Any, run_id: int) -> None:
    """A run is over: what it changed no longer needs its hash from before the run."""
    if _keeps_priors(cur):
        cur.execute("DELETE FROM run_prior WHERE run = ?", (run_id,))


@dataclass(frozen=True)
class ImportReport:
    origin: str
    source: str
    counts: UpsertCounts

    def as_json(self) -> dict[str, Any]:
        c = self.counts
        return {
            "file": self.origin,
            "source": self.source,
            "imported": c.imported,
            "updated": c.updated,
            "unchanged": c.unchanged,
            "invalid": c.invalid,
            "per_type": c.per_type,
            "invalid_resources": [
                {"resourceType": t, "id": i, "reason": reason} for t, i, reason in c.invalid_items
            ],
        }


@dataclass(frozen=True)
class RecordInfo:
    path: str
    schema_version: int
    size_bytes: int
    total: int
    invalid: int
    counts: dict[str, int]
    sources: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "schema_version": self.schema_version,
            "size_bytes": self.size_bytes,
            "resources": self.total,
            "invalid": self.invalid,
            "counts": self.counts,
            "sources": self.sources,
        }




def _quote(passphrase: str) -> str:
    if not isinstance(passphrase, str) or not passphrase:
        raise PassphraseRefused("The passphrase is empty.")
    if "\x00" in passphrase:
        raise PassphraseRefused("The passphrase cannot contain a NUL character.")
    return "'" + passphrase.replace("'", "''") + "'"


def _check_new_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise PassphraseRefused(f"Choose a passphrase of at least {MIN_PASSPHRASE} characters.")


# The views' first fill after an update from before they were kept, in shares of the update (`migration_weight`).
_FILL_WEIGHT = 20
# How much of a migration with a rewrite of the file is done when its data is (the rewrite is the rest).
_BEFORE_VACUUM = 0.6


class UpdateShare(float):
    """How far an update is (0 to 1, what `Record.open`'s progress hears), and whether the record file is being
    rewritten then (`tidying`: the words a screen shows change)."""

    tidying: bool

    def __new__(cls, share: float, tidying: bool = False) -> UpdateShare:
        made = super().__new__(cls, share)
        made.tidying = tidying
        return made


class _Progress:
    """An update's progress over its parts (migrations, the views' fill), each weighed: what a listener hears,
    only when the whole percent moves (with whether the file is being rewritten then: `tidying`)."""

    def __init__(self, listener: Callable[[float], None] | None, weights: Sequence[int]) -> None:
        self.listener = listener
        self.weights = list(weights)
        self.total = sum(self.weights) or 1
        self.done = 0  # the parts finished
        self.before = 0  # their weight
        self.said = -1
        self.tidying = False  # the part under way is rewriting the file (said with the shares)
        self.within(0.0)

    def within(self, share: float) -> None:
        """The part under way is `share` done."""
        if self.listener is None or self.done >= len(self.weights):
            return
        percent = int(100 * (self.before + share * self.weights[self.done]) / self.total)
        if percent > self.said:
            self.said = percent
            self.listener(UpdateShare(percent / 100, self.tidying))

    def part(self, scale: float) -> Callable[[float], None]:
        """What hears a step of the part under way that is `scale` of it (its share done: `within` that much)."""

        def heard(share: float) -> None:
            self.within(share * scale)

        return heard

    def next(self) -> None:
        """The part under way is done."""
        if self.done < len(self.weights):
            self.before += self.weights[self.done]
            self.done += 1
        if self.done == len(self.weights) and self.listener is not None and self.said < 100 and self.weights:
            self.said = 100
            self.listener(UpdateShare(1.0))
        else:
            self.within(0.0)


class _RewriteProgress:
    """How far a rewrite of a record of `pages` pages is (0 to `_SAID_AT_MOST`, never going back): `tick` is the
    rewrite's progress handler, `share` the estimate, read from any thread."""

    def __init__(self, pages: int) -> None:
        self.expected = max(pages, 1) * _STEPS_PER_PAGE
        self.steps = 0
        self.began = self.last = time.monotonic()
        self.said = 0.0
        # Tests slow each step by this many seconds, to watch a rewrite of a small record under way.
        self.pause = float(os.environ.get("CARRY_TEST_REWRITE_PAUSE", "0") or 0)

    def tick(self) -> int:
        self.steps += _STEPS_PER_TICK
        self.last = time.monotonic()
        if self.pause:
            time.sleep(self.pause)
        return 0  # go on: a rewrite is only ever stopped whole (see Record._vacuum)

    def share(self) -> float:
        first = 1 / (1 + _COPY_BACK)  # the first part's share of the whole
        quiet = time.monotonic() - self.last
        took = self.last - self.began
        if self.steps and quiet > max(_FIRST_PART_OVER, 0.2 * took):  # copying back: by the clock
            estimate = first + (1 - first) * min(quiet / (_COPY_BACK * max(took, 1e-3)), 1.0)
        else:
            estimate = first * min(self.steps / self.expected, 1.0)
        self.said = min(max(self.said, estimate), _SAID_AT_MOST)
        return self.said


def _followed(thread: threading.Thread, share: Callable[[], float | None], progress: Callable[[float], None]) -> None:
    """Wait for a rewrite's `thread` to end, `progress` hearing its `share` (when there is one) a few times a second
    from this thread, and 1.0 at the end."""
    while thread.is_alive():
        said = share()
        if said is not None:
            progress(said)
        thread.join(_REWRITE_TICK)
    progress(1.0)


class Record:
    """An open, unlocked record. Create one with Record.create or Record.open; close it with close()."""

    def __init__(self, path: Path, connection: Any, reader: Any = None, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only  # the file cannot be written: reading works, changes raise RecordReadOnly
        self._counting = False  # whether write transactions are counted in the record (schema 21 on)
        self._db = connection  # the writer: write transactions, migrations, the audit log, rekey
        self._lock = threading.RLock()  # held by the writer's user, for a whole write transaction
        # The reader: Record.read outside a write. A record built on one connection (the migration tests build old
        # records so) has none, and reads through the writer under its lock.
        self._reader = reader
        self._read_lock = threading.Lock()  # one statement (or one snapshot) at a time on the reader
        self._writing: int | None = None  # the thread inside write(): its reads see its own uncommitted changes
        self._commits = 0  # write transactions committed through this record (half of generation())
        self._rewriting: threading.Thread | None = None  # the last rewrite after a big import (close waits for it)
        self._rewrite_watch: _RewriteProgress | None = None  # how far the rewrite under way is
        self.parallel_from = PARALLEL_THRESHOLD  # imports of this many resources validate in worker processes
        # Workers started by the caller that imports use when they validate in parallel (None: each starts its own).
        self.validation_workers: ValidationWorkers | None = None
        # The time imports and syncs are stamped with (first and last seen, runs): seconds since the epoch. Tests
        # move a clock of their own instead of sleeping until the stamp changes.
        self.clock: Callable[[], float] = time.time

    def __repr__(self) -> str:  # never show more than where it is
        return f"<Record {str(self.path)!r} {'open' if self._db is not None else 'locked'}>"

    def _stamp(self) -> str:
        """Now by the record's clock, written the record's way."""
        return _now(self.clock())

    # --- opening and closing --------------------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike[str], passphrase: str) -> Record:
        target = Path(path).expanduser()
        _check_new_passphrase(passphrase)
        if target.exists():
            raise RecordExists(f"There is already a file at {target}; Carry will not overwrite it.")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        old_umask = os.umask(0o077)  # the record, its WAL and shared-memory files: owner only
        record: Record | None = None
        try:
            record = cls._unlock(target, passphrase, os.urandom(_SALT_SIZE))
            record._migrate()
            record.audit("create", schema_version=latest_version())
        except BaseException:
            if record is not None:
                with contextlib.suppress(Exception):
                    record.close()
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    Path(str(target) + suffix).unlink()
            raise
        finally:
            os.umask(old_umask)
        return record

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], passphrase: str, *, migrate: bool = True,
        progress: Callable[[float], None] | None = None,
    ) -> Record:
        """The record at `path`, unlocked, brought up to this Carry's version first (`migrate`); `progress(share)`
        hears how far that update is (0 to 1, from this thread) when the record needs one, and nothing when not."""
        target = Path(path).expanduser()
        if not target.exists():
            raise RecordNotFound(f"There is no record at {target}.", action=Action.CREATE_RECORD)
        if target.is_dir():
            raise NotARecord(f"{target} is a directory, not a Carry record.")
        try:
            with target.open("rb") as handle:
                header = handle.read(16)
        except OSError as exc:
            raise NotARecord(f"The record at {target} cannot be read ({exc.strerror}).") from exc
        if header == _PLAIN_SQLITE:
            raise NotARecord(f"{target} is an unencrypted SQLite file, not a Carry record.")
        read_only = not _writable(target)
        if read_only and _has_unsaved_journal(target):
            raise RecordReadOnly(
                f"The record at {target} is read-only and its journal still holds changes; make it writable and "
                "open it once, so they are saved into it."
            )
        old_umask = os.umask(0o077)
        try:
            record = cls._unlock(target, passphrase, header, read_only=read_only)
        finally:
            os.umask(old_umask)
        try:
            version = record.schema_version
            if version > latest_version():
                raise NotARecord(
                    f"The record at {target} was written by a newer Carry (schema {version}); update Carry to open it."
                )
            if read_only and version < latest_version():
                raise RecordReadOnly(
                    f"The record at {target} needs an update to this Carry's format, and it is read-only; make it "
                    "writable and open it once."
                )
            if migrate:
                record._migrate(progress=progress)
            record.audit("unlock")
        except BaseException:
            record.close()
            raise
        return record

    @classmethod
    def _unlock(cls, path: Path, passphrase: str, salt: bytes, *, read_only: bool = False) -> Record:
        """The writer and the reader, both keyed with the key stretched once from the passphrase and the file's
        salt (a new record's salt is chosen here). A wrong passphrase fails on the writer and opens nothing."""
        key = _RawKey(passphrase, salt)
        writer = cls._connect(path, key, read_only=read_only)
        try:
            reader = cls._connect(path, key, read_only=read_only, reader=True)
        except BaseException:
            writer.close()
            raise
        return cls(path, writer, reader, read_only=read_only)

    @staticmethod
    def _connect(path: Path, passphrase: str | _RawKey, *, read_only: bool = False, reader: bool = False) -> Any:
        quoted = passphrase.literal if isinstance(passphrase, _RawKey) else _quote(passphrase)
        if read_only:
            # immutable: SQLite takes no locks and writes no journal or shared-memory file beside it, which a
            # read-only file or disk would refuse; nothing else can be changing a file nobody may write.
            where = "file:" + urllib.parse.quote(str(path.resolve())) + "?immutable=1"
            db = sqlcipher3.connect(where, uri=True, timeout=10.0, isolation_level=None, check_same_thread=False)
        else:
            db = sqlcipher3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA cipher_log_level = NONE")
            db.execute(f"PRAGMA key = {quoted}")
            try:
                db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except dbapi2.DatabaseError as exc:
                if "not a database" in str(exc):
                    raise WrongPassphrase(
                        f"Wrong passphrase for the record at {path} (or the file is not a Carry record)."
                    ) from None
                raise _plain_error(exc, path) or RecordError(f"The record at {path} cannot be opened ({exc}).") from None
            if reader:
                db.execute("PRAGMA query_only = ON")  # the reader never changes the record, even by mistake
            elif not read_only:
                with _plain_errors(path):
                    db.execute("PRAGMA journal_mode = WAL")  # kept in the file; the reader finds it there
            # In WAL mode NORMAL keeps every commit atomic and safe against a killed process; only a power cut can
            # undo the last commits, and then whole transactions (a file, or a page with its sync checkpoint) go
            # together, so nothing is half-written and an interrupted sync resumes from its checkpoint.
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA temp_store = MEMORY")
            db.execute("PRAGMA secure_delete = ON")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA busy_timeout = 10000")
            # A large page cache keeps index pages decrypted in memory during big imports (64 MiB at most).
            db.execute("PRAGMA cache_size = -65536")
            # A resource's JSON is stored packed (app.record.packed); SQL reads it through this function.
            db.create_function(SQL_FUNCTION, 3, unpack, deterministic=True)  # (raw, type, id): what rows hold
            db.create_function(SQL_FUNCTION, 1, unpack, deterministic=True)  # a value of a format that needs no more
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        """Lock the record: close the reader, checkpoint the WAL into the encrypted file and close the writer;
        closing a connection drops its key from memory."""
        with self._lock, self._read_lock:  # a rewrite under way holds the writer's lock: it is let finish
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self._db is None:
                return
            with contextlib.suppress(dbapi2.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
            self._db = None
            forget_unpacked()  # nothing read from the record stays in memory once it is locked

    lock = close

    @property
    def is_open(self) -> bool:
        return self._db is not None

    def __enter__(self) -> Record:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def passphrase_opens(self, passphrase: str) -> bool:
        """Whether `passphrase` opens this record's file (checked with a connection of its own; changes nothing)."""
        if not self.read_only:  # all pages into the file first: a fresh record's may all be in the WAL still
            with self._lock, _plain_errors(self.path):
                self._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            self._connect(self.path, passphrase, read_only=True).close()
        except (WrongPassphrase, PassphraseRefused):
            return False
        return True

    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-encrypt every page under a new passphrase (PRAGMA rekey); the data stays byte for byte."""
        _check_new_passphrase(new_passphrase)
        quoted = _quote(new_passphrase)
        with self._lock, self._read_lock, _plain_errors(self.path):
            db = self._conn()
            if self._reader is not None:  # keyed with the old key: closed, and opened again with the new one
                self._reader.close()
                self._reader = None
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute(f"PRAGMA rekey = {quoted}")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.audit("passphrase-change")
            with self.path.open("rb") as handle:
                salt = handle.read(_SALT_SIZE)
            self._reader = self._connect(self.path, _RawKey(new_passphrase, salt), reader=True)

    # --- schema ---------------------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        with self._snapshot() as db:
            return int(db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, target: int | None = None, progress: Callable[[float], None] | None = None) -> None:
        """Bring the record to version `target` (the latest), one migration per transaction. `progress(share)` hears
        how far the update is (0 to 1; from this thread, a few hundred times at most) when there is one to make."""
        goal = latest_version() if target is None else target
        with self._lock:
            current = self.schema_version
            from .view_cache import VIEW_VERSION, refresh

            pending = [m for m in MIGRATIONS if current < m.version <= goal]
            fill = current < VIEW_VERSION <= goal  # an older record's views are filled once, at the end
            report = _Progress(progress, [migration_weight(m) for m in pending] + ([_FILL_WEIGHT] if fill else []))
            for migration in pending:
                # The share of the migration its data is (a rewrite of the file is the rest).
                with self._transaction() as cur, reporting(report.part(_BEFORE_VACUUM if migration.vacuum else 1.0)):
                    if migration.sql:
                        cur.executescript_in_tx(migration.sql)
                    if migration.step is not None:
                        migration.step(cur.raw)
                    report.within(_BEFORE_VACUUM if migration.vacuum else 1.0)
                    cur.execute(f"PRAGMA user_version = {int(migration.version)}")
                if migration.vacuum:  # the rest of the migration's share, as the rewrite goes
                    report.tidying = True
                    self._vacuum(None if progress is None else
                                 lambda share: report.within(_BEFORE_VACUUM + (1 - _BEFORE_VACUUM) * share))
                    report.tidying = False
                report.next()
            if fill:
                refresh(self)
                report.next()

    def _vacuum(self, progress: Callable[[float], None] | None = None) -> None:
        """Rewrite the file to hand back the pages a migration freed. VACUUM builds the new copy as a temporary
        database, which SQLCipher keys with the record's key: it goes to a temporary file (encrypted; in memory it
        would take the whole record's size) for as long as the rewrite lasts. A rewrite that fails (a full disk)
        changes nothing, and the record is used as it is: its free pages are filled before the file grows again.
        It is one transaction: stopped part way (an interrupt, the process ended) it leaves the file as it was.
        How far it is can be read meanwhile (`rewriting`); `progress(share)` hears it from this thread, a few
        times a second, while the rewrite runs on a thread of its own."""
        db = self._conn()
        (cache,) = db.execute("PRAGMA cache_size").fetchone()
        db.execute("PRAGMA temp_store = FILE")
        # The new copy's page cache is sized as the record's: a small one, so a rewrite after a big import does not
        # add the record's whole cache to the import's memory (100,000 resources: 258 -> 194 MiB at the peak).
        kib = -int(cache) if int(cache) < 0 else int(cache) * int(db.execute("PRAGMA page_size").fetchone()[0]) // 1024
        db.execute(f"PRAGMA cache_size = {-min(kib, _REWRITE_CACHE_KIB)}")
        watch = _RewriteProgress(int(db.execute("PRAGMA page_count").fetchone()[0]))
        self._rewrite_watch = watch
        db.set_progress_handler(watch.tick, _STEPS_PER_TICK)

        def vacuum() -> None:
            with contextlib.suppress(dbapi2.Error):
                db.execute("VACUUM")

        try:
            if progress is None:
                vacuum()
            else:
                rewriting = threading.Thread(target=vacuum, name="carry-record-vacuum", daemon=True)
                rewriting.start()
                try:
                    _followed(rewriting, watch.share, progress)
                except BaseException:
                    db.interrupt()  # stopped: the rewrite is rolled back (or, copying back already, let finish)
                    rewriting.join()
                    raise
        finally:
            db.set_progress_handler(None, 0)
            # The watch stays until the next rewrite: the rewrite's thread folds the WAL in after this, and its share
            # goes on from where it is (it read 0 there once, the watch gone).
            db.execute(f"PRAGMA cache_size = {int(cache)}")
            db.execute("PRAGMA temp_store = MEMORY")

    def rewriting(self) -> float | None:
        """How far the rewrite of the file after a big import or sync is (0 to 1, below 1 until it ends; an estimate:
        `_RewriteProgress`); None when none is under way."""
        thread = self._rewriting
        if thread is None or not thread.is_alive():
            return None
        watch = self._rewrite_watch
        return 0.0 if watch is None else watch.share()

    def wait_for_rewrite(self, progress: Callable[[float], None] | None = None) -> bool:
        """Wait until the rewrite after a big import or sync has ended, `progress(share)` hearing how far it is (from
        this thread, a few times a second, and 1.0 at the end); whether there was one under way."""
        thread = self._rewriting
        if thread is None or not thread.is_alive():
            return False
        if progress is None:
            thread.join()
        else:
            _followed(thread, self.rewriting, progress)
        return True

    # --- connection plumbing --------------------------------------------------------------------------------

    def _conn(self) -> Any:
        if self._db is None:
            raise RecordError("The record is locked. Unlock it with your passphrase.")
        return self._db

    # --- the door: every read and write of the record goes through these two --------------------------------
    # SQL text lives in app/record only: the views and services call named functions (app/record/view_queries.py,
    # people, facts, portal_state, share_state...) that call these. One writer at a time (BEGIN IMMEDIATE on the
    # writer, under the record's lock). A read runs on the reader, under its own lock, and sees the last committed
    # state: it does not wait for a write in progress. Inside a write, the writing thread's reads go to the writer
    # and see the transaction's own changes. The UI calls both from worker threads.

    @contextlib.contextmanager
    def write(self, *, counted: bool = True, wait: bool = True) -> Iterator[Transaction]:
        """A write transaction: everything done on the yielded Transaction is committed together when the block
        ends, or nothing of it when it raises (SQLite's full-disk, read-only and busy errors become RecordErrors
        with a plain sentence). It is counted in the record (`change_count`, schema 21), so what is kept of the
        record's state (the summary) knows it changed; `counted=False` is for writing that kept state itself.
        `wait=False`: RecordBusy at once when this process is writing already (a sync's batch), instead of waiting."""
        if not self._lock.acquire(blocking=wait):
            raise RecordBusy("Carry is writing to your record; try again in a moment.")
        try:
            with _plain_errors(self.path):
                db = self._conn()
                db.execute("BEGIN IMMEDIATE")
                outer, self._writing = self._writing, threading.get_ident()
                try:
                    yield Transaction(db.cursor())
                    if counted and self._counts_writes(db):
                        db.execute("UPDATE record_change SET n = n + 1")
                    db.execute("COMMIT")
                    self._commits += 1
                except BaseException:
                    # SQLite may have rolled back already (a full disk does), so there may be nothing left to undo.
                    if db.in_transaction:
                        with contextlib.suppress(dbapi2.Error):
                            db.execute("ROLLBACK")
                    raise
                finally:
                    self._writing = outer
        finally:
            self._lock.release()

    def _counts_writes(self, db: Any) -> bool:
        """Whether the record counts its writes (schema 21 on: known for good once it does)."""
        if not self._counting:
            self._counting = int(db.execute("PRAGMA user_version").fetchone()[0]) >= CHANGE_COUNT_VERSION
        return self._counting

    def change_count(self) -> int | None:
        """How many write transactions the record has committed since it began counting (schema 21); None before.
        Read before anything else a kept state is made from: any write after it moves it."""
        if self.schema_version < CHANGE_COUNT_VERSION:
            return None
        return int(self.read("SELECT n FROM record_change")[0][0])

    def read(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        """Every row of one statement (SQL written in app/record, never text from outside; values as params)."""
        with self._snapshot() as db:
            return list(db.execute(sql, tuple(params)).fetchall())

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Any]:
        """A connection to read from, holding one snapshot of the record until the block ends: the reader (in a
        read transaction, so every statement in the block sees the same committed state), or the writer for the
        thread inside write() and for a record built on one connection."""
        if self._reader is None or self._writing == threading.get_ident():
            with self._lock, _plain_errors(self.path):
                yield self._conn()
            return
        with self._read_lock, _plain_errors(self.path):
            db = self._reader
            if db is None:
                raise RecordError("The record is locked. Unlock it with your passphrase.")
            db.execute("BEGIN")
            try:
                yield db
            finally:
                with contextlib.suppress(dbapi2.Error):
                    db.execute("COMMIT")  # a read transaction: it only lets go of its snapshot

    def generation(self) -> tuple[int, int]:
        """A marker that moves whenever the record changes (a cache kept for the record is good while it stays the
        same): the write transactions committed through this record, and `PRAGMA data_version` on the reader,
        which moves when any other connection (this record's writer, another process) commits."""
        with self._snapshot() as db:
            (version,) = db.execute("PRAGMA data_version").fetchone()
        return (self._commits, int(version))

    # The names the record's own modules used before the door had public ones.
    _transaction = write
    _query = read

    # --- audit log ------------------------------------------------------------------------------------------

    def audit(self, action: str, **detail: Any) -> None:
        """Append to the audit log (it cannot be changed or deleted: triggers refuse it)."""
        if self.read_only:  # a read-only file cannot take the entry; reading (the only thing possible) goes on
            return
        with self._lock, _plain_errors(self.path):
            audit_in(self._conn(), action, **detail)

    def audit_log(self, limit: int = 200, action: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE action = ?", [action]) if action else ("", [])
        rows = self._query(f"SELECT id, at, action, detail FROM audit {where} ORDER BY id DESC LIMIT ?", [*params, limit])
        return [{"id": i, "at": at, "action": a, "detail": json.loads(d)} for i, at, a, d in rows]

    # --- settings -------------------------------------------------------------------------------------------

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        rows = self._query("SELECT value FROM setting WHERE key = ?", [key])
        return rows[0][0] if rows else default

    def set_setting(self, key: str, value: str) -> None:
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # --- sources --------------------------------------------------------------------------------------------

    def source(self, name: str, *, kind: str = "file", base_url: str | None = None, create: bool = True) -> Source:
        rows = self._query(
            "SELECT id, kind, name, base_url, created_at FROM source WHERE kind = ? AND name = ?", [kind, name]
        )
        if rows:
            return Source(*rows[0])
        if not create:
            raise RecordError(f"There is no source called {name!r}.")
        with self._transaction() as cur:
            sid = self._source_in(cur, name, kind, base_url)
        return Source(sid, kind, name, base_url, self._query("SELECT created_at FROM source WHERE id=?", [sid])[0][0])

    @staticmethod
    def _source_in(cur: _Tx, name: str, kind: str, base_url: str | None) -> int:
        """The id of the source called `name`, added inside the caller's transaction when it is new."""
        row = cur.execute("SELECT id FROM source WHERE kind = ? AND name = ?", (kind, name)).fetchone()
        if row is not None:
            return int(row[0])
        cur.execute(
            "INSERT INTO source (kind, name, base_url, created_at) VALUES (?, ?, ?, ?)", (kind, name, base_url, _now())
        )
        return cur.lastrowid

    def sources(self) -> list[Source]:
        return [Source(*r) for r in self._query("SELECT id, kind, name, base_url, created_at FROM source ORDER BY id")]

    # --- writing resources ----------------------------------------------------------------------------------

    def import_bytes(self, data: bytes, *, origin: str, source: str = FILE_SOURCE) -> ImportReport:
        """Import one FHIR document (Bundle, resource or NDJSON) all-or-nothing.

        A document that cannot be taken apart raises ImportRefused and leaves the record exactly as it was.
        """
        return self.import_stream(io.BytesIO(data), origin=origin, source=source)

    def import_file(self, path: str | os.PathLike[str], *, source: str = FILE_SOURCE) -> ImportReport:
        with open_import_file(path) as stream:
            return self.import_stream(stream, origin=display_name(path), source=source)

    def import_stream(
        self,
        stream: IO[bytes],
        *,
        origin: str,
        source: str = FILE_SOURCE,
        prepare: Callable[[_Tx, int, Iterator[ParsedResource]], Iterator[ParsedResource]] | None = None,
    ) -> ImportReport:
        """Import a FHIR file read as a stream (sync.fhir.stream: a resource at a time), validated as it is stored
        (in worker processes for a big file) and written a batch at a time, all in one transaction: a file broken
        anywhere, its last line included, raises ImportRefused and leaves the record exactly as it was.
        `prepare` may change the resources on their way in, inside the transaction (imports.py gives those that
        name no patient the chosen person's); what it raises undoes the import too."""
        counts = UpsertCounts()
        before = self._bytes_in_use()
        try:
            # What the process held before (the app, its modules, the FHIR models) is set aside from the garbage
            # collector while the file streams in, as for an importer's file (imports.import_with): its full passes
            # walked all of it again and again as the resources came and went (about 9 us of 150 a resource).
            with heap_set_aside(), self._transaction() as cur:
                now = self._stamp()
                source_id = self._source_in(cur, source, "file", None)
                cur.execute(
                    "INSERT INTO run (source_id, kind, origin, started_at) VALUES (?, 'import', ?, ?)",
                    (source_id, origin, now),
                )
                run_id = cur.lastrowid
                resources = read_stream(stream, resolver=self.resolve_identifier)
                if prepare is not None:
                    resources = prepare(cur, run_id, resources)
                # Worker processes that validate a big file pack each resource's JSON too (on their cores, not this
                # one's): what is stored is the same either way (`_upsert` packs what comes without).
                for chunk in validated_stream(
                    resources, parallel_from=self.parallel_from, beside=pack, pool=self.validation_workers
                ):
                    self._upsert(cur, source_id, run_id, chunk, now, counts)
                self._finish_run(cur, run_id, counts)
                self._audit_in(cur, "import", file=origin, source=source, **_summary(counts))
        except FHIRFormatError as exc:
            raise ImportRefused(f"{origin}: not imported: {exc}.") from None
        except OSError as exc:
            raise ImportRefused(f"{origin}: not imported: it cannot be read ({exc.strerror}).") from None
        self._rewrite_if_grown(before)
        return ImportReport(origin, source, counts)

    def _bytes_in_use(self) -> int:
        """The size of the record's database (its pages, those still in the WAL included)."""
        with self._lock:
            db = self._conn()
            return int(db.execute("PRAGMA page_count").fetchone()[0]) * int(db.execute("PRAGMA page_size").fetchone()[0])

    def _rewrite_if_grown(self, before: int) -> None:
        """After an import that grew the record much (`_REWRITE_AFTER_GROWTH`, `_REWRITE_FROM_BYTES`), the file is
        rewritten packed, on a thread of its own, so the import returns at once (a record of 100,000 resources: 2.7 s
        of CPU, and the time to write it three times, to a temporary file, the WAL and the file): reads go on meanwhile (on the reader, from the last commit), the next write waits for it, and so
        does close (a record locked before the rewrite began is not rewritten). The rewrite is one transaction:
        stopped (a crash, the process ended) it leaves the record as the import left it."""
        with self._lock:
            db = self._conn()
            if self.read_only or db.in_transaction:  # an import inside a larger write: no rewrite in the middle
                return
            grown = self._bytes_in_use() - before
            if grown < _REWRITE_FROM_BYTES or grown < _REWRITE_AFTER_GROWTH * before:
                return
            rewriting = threading.Thread(target=self._rewrite, name="carry-record-rewrite", daemon=True)
            self._rewrite_watch = None  # the last rewrite's: this one has none until it begins
            self._rewriting = rewriting
            rewriting.start()

    def _rewrite(self) -> None:
        """The rewrite after a big import (`_vacuum`), then the WAL that held the new copy folded into the file and
        emptied (it is as big as the record until then)."""
        with self._lock:
            if self._db is None:  # locked meanwhile
                return
            self._vacuum()
            with contextlib.suppress(dbapi2.Error):
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def store_resources(
        self, source_id: int, run_id: int, resources: Iterable[ParsedResource], counts: UpsertCounts
    ) -> None:
        """Upsert a batch of parsed resources in one transaction (what a sync does per page)."""
        with self._transaction() as cur:
            self._upsert(cur, source_id, run_id, list(resources), self._stamp(), counts)

    def start_run(self, source_id: int, kind: str, origin: str) -> int:
        with self._transaction() as cur:
            cur.execute(
                "INSERT INTO run (source_id, kind, origin, started_at) VALUES (?, ?, ?, ?)",
                (source_id, kind, origin, self._stamp()),
            )
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, counts: UpsertCounts) -> None:
        with self._transaction() as cur:
            self._finish_run(cur, run_id, counts)

    def resolve_identifier(self, rtype: str, system: str, value: str) -> str | None:
        """The id of a stored resource of `rtype` with this identifier (for conditional references)."""
        rows = self._query(
            "SELECT r.id FROM identifier i JOIN resource r ON r.rowid = i.resource "
            "WHERE i.value = ? AND i.system = ? AND r.type = ? LIMIT 1",
            [value, system, rtype],
        )
        return rows[0][0] if rows else None

    def _upsert(
        self,
        cur: Transaction,
        source_id: int,
        run_id: int,
        resources: Sequence[ParsedResource],
        now: str,
        counts: UpsertCounts | Sequence[UpsertCounts],
    ) -> None:
        """Insert new resources, update changed ones, mark unchanged ones seen. `counts` is one tally for all, or
        one per resource (a sync's batch counts each page apart). A batch is looked up with one query per type and
        written with a few statements per table (rowids are given out here, inside the transaction): few
        statements, because each one hands the GIL back and forth, and that is what keeps a sync's storing close
        to the speed of fetching."""
        tally = (lambda _n: counts) if isinstance(counts, UpsertCounts) else counts.__getitem__
        firsts: dict[tuple[str, str], tuple[ParsedResource, UpsertCounts]] = {}
        repeats: list[tuple[ParsedResource, UpsertCounts]] = []  # the same (type, id) again: stored after the first
        for n, res in enumerate(resources):
            key = (res.resource_type, res.id)
            if key in firsts:
                repeats.append((res, tally(n)))
            else:
                firsts[key] = (res, tally(n))
        if not firsts:
            return
        existing = self._existing(cur, source_id, firsts)
        seen: list[int] = []
        writes: list[tuple[Any, ...]] = []  # new and changed resources alike: one upsert statement takes both
        changed: list[int] = []
        fts: list[tuple[Any, ...]] = []
        identifiers: list[tuple[Any, ...]] = []
        next_rowid: int | None = None
        priors: list[tuple[Any, ...]] = []  # (run, rowid, hash before the run) of what this batch changes first
        for key, (res, counted) in firsts.items():
            found = existing.get(key)
            if found is not None and run_id is not None and found[3] == run_id:
                # Stored or seen earlier in this very run (a day an Apple Health export's late sample came for):
                # counted once, by what it was before the run.
                if found[1] == res.hash or not self._counted_again(cur, run_id, found, res, counted):
                    continue
                rowid = found[0]
                changed.append(rowid)
            elif found is not None and found[1] == res.hash:
                seen.append(found[0])
                counted.count(res.resource_type, "unchanged")
                continue
            elif found is None:
                if next_rowid is None:
                    next_rowid = int(cur.execute("SELECT COALESCE(MAX(rowid), 0) + 1 FROM resource").fetchone()[0])
                rowid, next_rowid = next_rowid, next_rowid + 1
                counted.count(res.resource_type, "imported")
            else:
                rowid = found[0]
                changed.append(rowid)
                if run_id is not None:
                    priors.append((run_id, rowid, found[1]))
                counted.count(res.resource_type, "updated")
            ex = extract(res.data)
            packed = res.made if res.made is not None else pack(res.raw, res.resource_type, res.id)  # made: a worker's
            writes.append((
                rowid, packed, res.hash, now, run_id,
                VALID_UNCHECKED if not res.checked else VALID_NO if res.error else VALID_YES, res.error,
                ex.effective, ex.category, ex.code_system, ex.code, ex.code_display, ex.status, ex.display, ex.subject,
                ex.value_num, ex.value_unit, source_id, res.resource_type, res.id, now, now, run_id,
            ))  # fmt: skip
            if res.error:
                counted.invalid += 1
                counted.per_type[res.resource_type]["invalid"] += 1
                counted.invalid_items.append((res.resource_type, res.id, res.error))
            fts.append((rowid, ex.display, ex.codes, ex.notes))
            identifiers.extend((rowid, system, value) for system, value in ex.identifiers)
        # Many rows to a statement, not executemany: sqlite steps once per statement with the GIL released, where
        # executemany takes the GIL back after every row and queues behind the event loop each time.
        if seen:
            cur.execute_rows(
                "UPDATE resource SET last_seen = ?, last_run = ? WHERE rowid IN ({rows})", seen, (now, run_id)
            )
        if priors and _keeps_priors(cur):
            cur.execute_rows("INSERT OR IGNORE INTO run_prior (run, resource, hash) VALUES {rows}", priors)
        if changed:
            cur.execute_rows("DELETE FROM resource_fts WHERE rowid IN ({rows})", changed)
            cur.execute_rows("DELETE FROM identifier WHERE resource IN ({rows})", changed)
        if writes:
            cur.execute_rows(
                "INSERT INTO resource (rowid, raw, hash, last_seen, last_run, valid, invalid_reason, effective, category, "
                "code_system, code, code_display, status, display, subject, value_num, value_unit, "
                "source_id, type, id, first_seen, changed_at, first_run) VALUES {rows} "
                "ON CONFLICT (rowid) DO UPDATE SET raw = excluded.raw, hash = excluded.hash, "
                "last_seen = excluded.last_seen, last_run = excluded.last_run, valid = excluded.valid, "
                "invalid_reason = excluded.invalid_reason, effective = excluded.effective, category = excluded.category, "
                "code_system = excluded.code_system, code = excluded.code, code_display = excluded.code_display, "
                "status = excluded.status, display = excluded.display, subject = excluded.subject, "
                "value_num = excluded.value_num, value_unit = excluded.value_unit, changed_at = excluded.changed_at",
                writes,
            )
        if fts:
            cur.execute_rows("INSERT INTO resource_fts (rowid, display, codes, notes) VALUES {rows}", fts)
        if identifiers:
            cur.execute_rows("INSERT INTO identifier (resource, system, value) VALUES {rows}", identifiers)
        for res, counted in repeats:
            self._upsert(cur, source_id, run_id, [res], now, counted)
        if any(key[0] == "Patient" for key in firsts):
            # A new (source, Patient) gets its person in the same transaction, so reading never has to write
            # (a read-only record is read as it is). A record still below the people migration has no persons
            # yet: that migration places everything it holds.
            from .people import PEOPLE_VERSION, place_patients

            if int(cur.execute("PRAGMA user_version").fetchone()[0]) >= PEOPLE_VERSION:
                place_patients(cur.raw)

    @staticmethod
    def _counted_again(cur: Transaction, run_id: int, found: tuple[int, str, Any, Any], res: ParsedResource,
                       counted: UpsertCounts) -> bool:  # fmt: skip
        """A resource this run stored or saw before comes again, changed: its count moves to what it is against the
        record before the run (first stored by this run: still imported, once). True: write it."""
        rowid, digest, first_run, _ = found
        if first_run == run_id:
            return True
        if not _keeps_priors(cur):  # an older record: counted again, as before version 17
            counted.count(res.resource_type, "updated")
            return True
        before = cur.execute("SELECT hash FROM run_prior WHERE run = ? AND resource = ?", (run_id, rowid)).fetchone()
        if before is None:  # seen unchanged earlier in the run, changed now
            cur.execute("INSERT INTO run_prior (run, resource, hash) VALUES (?, ?, ?)", (run_id, rowid, digest))
            counted.recount(res.resource_type, "unchanged", "updated")
        elif before[0] == res.hash:  # changed earlier in the run, back to what it was before it now
            counted.recount(res.resource_type, "updated", "unchanged")
        return True

    @staticmethod
    def _existing(
        cur: Transaction, source_id: int, keys: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[int, str, Any, Any]]:
        """(type, id) -> (rowid, hash, first run, last run) of the ones this source already has."""
        by_type: dict[str, list[str]] = {}
        for rtype, rid in keys:
            by_type.setdefault(rtype, []).append(rid)
        found: dict[tuple[str, str], tuple[int, str, Any, Any]] = {}
        for rtype, ids in by_type.items():
            for start in range(0, len(ids), 512):
                chunk = ids[start : start + 512]
                # One row that holds them all: a row at a time would hand the GIL back and forth for each.
                rows = cur.value_in(
                    "SELECT json_group_array(json_array(id, rowid, hash, first_run, last_run)) FROM resource "
                    "WHERE source_id = ? AND type = ? AND id IN ({rows})",
                    chunk,
                    (source_id, rtype),
                )
                for rid, rowid, digest, first_run, last_run in json.loads(rows):
                    found[(rtype, rid)] = (rowid, digest, first_run, last_run)
        return found

    @staticmethod
    def _finish_run(cur: Transaction, run_id: int, counts: UpsertCounts) -> None:
        cur.execute(
            "UPDATE run SET finished_at = ?, imported = ?, updated = ?, unchanged = ?, invalid = ? WHERE id = ?",
            (_now(), counts.imported, counts.updated, counts.unchanged, counts.invalid, run_id),
        )
        forget_priors(cur, run_id)

    @staticmethod
    def _audit_in(cur: Transaction, action: str, **detail: Any) -> None:
        audit_in(cur, action, **detail)

    # --- reading --------------------------------------------------------------------------------------------

    def count(self, resource_type: str | None = None) -> int:
        if resource_type:
            return int(self._query("SELECT count(*) FROM resource WHERE type = ?", [resource_type])[0][0])
        return int(self._query("SELECT count(*) FROM resource")[0][0])

    def rows(
        self,
        resource_type: str | None = None,
        *,
        source_id: int | None = None,
        where: str = "",
        params: Iterable[Any] = (),
        order: str = "r.effective DESC, r.rowid DESC",  # NULLs sort last in DESC, so undated items come last
        limit: int | None = None,
        offset: int = 0,
        removed: bool = False,
    ) -> list[ResourceRow]:
        """Resources as list rows, newest first. `where` is trusted SQL from our own views, never user text.
        Resources removed at the source are left out unless `removed` is True."""
        clauses: list[str] = [] if removed else ["r.removed_at IS NULL"]
        args: list[Any] = []
        if resource_type:
            clauses.append("r.type = ?")
            args.append(resource_type)
        if source_id is not None:
            clauses.append("r.source_id = ?")
            args.append(source_id)
        if where:
            clauses.append(f"({where})")
            args.extend(params)
        sql = f"SELECT {_ROW_COLUMNS} FROM resource r JOIN source s ON s.id = r.source_id"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args.extend([limit, offset])
        return [_row(r) for r in self._query(sql, args)]

    def get(self, resource_type: str, resource_id: str, source_id: int | None = None) -> StoredResource | None:
        clause = "r.type = ? AND r.id = ?" + (" AND r.source_id = ?" if source_id is not None else "")
        args: list[Any] = [resource_type, resource_id] + ([source_id] if source_id is not None else [])
        rows = self._query(
            f"SELECT {_ROW_COLUMNS}, resource_json(r.raw, r.type, r.id), r.hash, run.origin FROM resource r JOIN source s ON s.id = r.source_id "
            f"LEFT JOIN run ON run.id = r.last_run WHERE {clause} ORDER BY r.source_id LIMIT 1",
            args,
        )
        if not rows:
            return None
        *cols, raw, digest, origin = rows[0]
        return StoredResource(_row(cols), raw, digest, origin)

    def search(self, text: str, *, limit: int = 50, where: str = "", params: Iterable[Any] = ()) -> list[ResourceRow]:
        """Full-text search over display text, codes and notes; every word must match (the last as a prefix).
        `where` (trusted SQL over `r`, from our own code) narrows it, to one person's resources for instance.

        FTS ranks the matches on its own (rowid and score only) and only the best are joined to the resources: a
        join of every match before ranking grew with the record. When `where` drops some of them, the next ranks
        are fetched, more each round, until `limit` rows pass it or the matches run out, so a narrowed search
        returns exactly the best `limit` of the rows it admits.

        A word found in very many resources (a lifetime of blood pressures) ranks only its newest RANKED_MATCHES
        matches (the last received): scoring every one grew with the record (influenza, 64,000 matches in a
        million resources: 76 ms). Fewer matches than that are all ranked."""
        query = fts_match(text)
        if query is None or limit <= 0:
            return []
        args = tuple(params)
        rows_sql = (
            f"SELECT {_ROW_COLUMNS} FROM resource r JOIN source s ON s.id = r.source_id "
            "WHERE r.rowid IN (SELECT value FROM json_each(?)) AND r.removed_at IS NULL"
            + (f" AND ({where})" if where else "")
        )
        found: list[ResourceRow] = []
        batch, offset = limit, 0
        with self._snapshot() as db:  # one consistent ranking across the rounds: no write comes in between
            # FTS reads a word's matches newest first without scoring them: the newest RANKED_MATCHES end here.
            oldest = db.execute(
                "SELECT rowid FROM resource_fts WHERE resource_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                [query, RANKED_MATCHES - 1],
            ).fetchone()
            since = oldest[0] if oldest else 0
            while True:
                ranked = [
                    rowid
                    for (rowid,) in db.execute(
                        "SELECT rowid FROM resource_fts WHERE resource_fts MATCH ? AND rowid >= ? "
                        "ORDER BY bm25(resource_fts, 10.0, 5.0, 1.0), rowid LIMIT ? OFFSET ?",
                        [query, since, batch, offset],
                    )
                ]
                if ranked:
                    kept = {r[0]: r for r in db.execute(rows_sql, [json.dumps(ranked), *args])}
                    found.extend(_row(kept[rowid]) for rowid in ranked if rowid in kept)
                if len(found) >= limit or len(ranked) < batch:
                    return found[:limit]
                offset += batch
                batch = min(batch * 4, 65536)

    def info(self) -> RecordInfo:
        counts = dict(self._query("SELECT type, count(*) FROM resource GROUP BY type ORDER BY count(*) DESC, type"))
        invalid = int(self._query("SELECT count(*) FROM resource WHERE valid = 0")[0][0])
        sources = [
            {
                "id": sid,
                "kind": kind,
                "name": name,
                "base_url": base_url,
                "resources": n,
                "last_run": last,
            }
            for sid, kind, name, base_url, n, last in self._query(
                "SELECT s.id, s.kind, s.name, s.base_url, "
                "(SELECT count(*) FROM resource r WHERE r.source_id = s.id), "
                "(SELECT max(finished_at) FROM run WHERE run.source_id = s.id) FROM source s ORDER BY s.id"
            )
        ]
        size = sum(
            Path(str(self.path) + suffix).stat().st_size
            for suffix in ("", "-wal", "-shm")
            if Path(str(self.path) + suffix).exists()
        )
        return RecordInfo(str(self.path), self.schema_version, size, sum(counts.values()), invalid, counts, sources)

    def export(
        self, out: IO[bytes], *, resource_type: str | None = None, where: str = "", params: Iterable[Any] = (),
        ndjson: bool = False,
    ) -> int:
        """Write every resource (of this type; that `where`, trusted SQL over `r`, keeps) as a FHIR Bundle (type
        collection), or with `ndjson` one resource per line (FHIR Bulk Data's NDJSON), each resource's JSON exactly
        as stored."""
        parts = [p for p in ("r.type = ?" if resource_type else "", f"({where})" if where else "") if p]
        clause = ("WHERE " + " AND ".join(parts)) if parts else ""
        args = [*([resource_type] if resource_type else []), *params]
        if not ndjson:
            out.write(
                b'{"resourceType":"Bundle","type":"collection","timestamp":"' + _now().encode() + b'","entry":['
            )
        written = 0
        with self._snapshot() as db:
            cursor = db.execute(
                # Source by source, each one's rows in the unique index's order (type, id): nothing is sorted.
                f"SELECT resource_json(r.raw, r.type, r.id), r.type, r.id, s.base_url FROM source s CROSS JOIN resource r ON r.source_id = s.id "
                f"{clause} ORDER BY s.id, r.type, r.id",
                args,
            )
            for raw, rtype, rid, base_url in cursor:
                if ndjson:  # stored JSON is compact: one line each
                    out.write(raw.encode("utf-8").replace(b"\n", b" ") + b"\n")
                    written += 1
                    continue
                if written:
                    out.write(b",")
                if base_url:
                    full_url = json.dumps(f"{base_url.rstrip('/')}/{rtype}/{rid}")
                    out.write(b'{"fullUrl":' + full_url.encode() + b',"resource":' + raw.encode("utf-8") + b"}")
                else:
                    out.write(b'{"resource":' + raw.encode("utf-8") + b"}")
                written += 1
        if not ndjson:
            out.write(b"]}")
        self.audit("export", resources=written, type=resource_type, format="ndjson" if ndjson else "bundle")
        return written


def audit_in(cur: Any, action: str, **detail: Any) -> None:
    """Append an entry to the audit log inside the caller's transaction (a Transaction, or the raw cursor a
    migration step gets): the one way an audit entry is written, so every text in it is made plain first."""
    cur.execute("INSERT INTO audit (at, action, detail) VALUES (?, ?, ?)", (_now(), action, _audit_detail(detail)))


def _audit_detail(detail: dict[str, Any]) -> str:
    """An audit entry's detail as JSON, every text in it made one plain line: file names, recipients and reasons
    come from outside, and the audit log is read in terminals and shown in the app."""

    def plain(value: Any) -> Any:
        if isinstance(value, str):
            return plain_text(value, limit=_AUDIT_TEXT_LIMIT)
        if isinstance(value, dict):
            return {plain(key): plain(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(item) for item in value]
        return value

    return json.dumps(plain(detail), sort_keys=True)


class _RawKey:
    """The key SQLCipher would derive from the passphrase and the salt, as the literal `PRAGMA key` takes (a raw
    key with its salt: SQLCipher uses it as it is, and writes the salt into a new file). Made once per unlock and
    dropped when both connections are keyed; SQLCipher wipes its own copy when a connection closes."""

    __slots__ = ("literal",)

    def __init__(self, passphrase: str, salt: bytes) -> None:
        _quote(passphrase)  # the same refusals as a passphrase given to SQLCipher
        if len(salt) != _SALT_SIZE:
            raise NotARecord("The file is too short to be a Carry record.")
        key = hashlib.pbkdf2_hmac("sha512", passphrase.encode("utf-8"), salt, _KDF_ITER, 32)
        self.literal = f"\"x'{key.hex()}{salt.hex()}'\""

    def __repr__(self) -> str:  # never show the key
        return "<key>"


def _writable(path: Path) -> bool:
    """Whether the record file can be opened for writing (a read-only file or disk, or no permission: not)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return False
        raise NotARecord(f"The record at {path} cannot be opened ({exc.strerror}).") from None
    os.close(fd)
    return True


def _has_unsaved_journal(path: Path) -> bool:
    wal = Path(str(path) + "-wal")
    return wal.exists() and wal.stat().st_size > 0


def _plain_error(exc: BaseException, path: Path) -> RecordError | None:
    """The plain sentence for an SQLite error a patient can act on (full disk, read-only file, busy record)."""
    text = str(exc).lower()
    # A write that hits a full disk is SQLITE_FULL when SQLite notices, a plain I/O error when the WAL's write does.
    if "disk is full" in text or "disk full" in text or ("disk i/o error" in text and _nearly_full(path)):
        return RecordFull(
            f"The disk that holds your record ({path.parent}) is full; free some space and try again. "
            "Nothing was changed."
        )
    if "readonly" in text or "read-only" in text:
        return RecordReadOnly(
            f"The record at {path} is read-only: it can be read, but changing it needs write access to the file "
            "and its folder."
        )
    if "locked" in text or "busy" in text:
        return RecordBusy("The record is busy in another Carry window; try again in a moment.")
    if "disk i/o error" in text:
        return RecordError(f"The disk that holds your record ({path.parent}) failed to read or write; nothing was changed.")
    return None


def _nearly_full(path: Path) -> bool:
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 1024 * 1024  # less than a MiB: less than a sync page or two needs


@contextlib.contextmanager
def _plain_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's full-disk, read-only and busy errors into RecordErrors with a plain sentence."""
    try:
        yield
    except dbapi2.Error as exc:
        plain = _plain_error(exc, path)
        if plain is None:
            raise
        raise plain from None


_ROW_GROUP = 256  # rows per statement in Transaction.execute_rows (256 x 23 columns: far below SQLite's 32766 parameters)


@lru_cache(maxsize=256)
def _grouped(sql: str, rows: int, width: int) -> str:
    one = "(" + ", ".join("?" * width) + ")" if width else "?"
    return sql.replace("{rows}", ", ".join([one] * rows))


class Transaction:
    """A cursor inside an open write transaction (Record.write), with executescript that does not commit."""

    def __init__(self, cursor: Any) -> None:
        self.raw = cursor

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self.raw.execute(sql, tuple(params))

    def execute_rows(self, sql: str, rows: Sequence[Any], params: tuple[Any, ...] = ()) -> None:
        """Run `sql` once per group of rows, `{rows}` standing for the group: `(?, ?), (?, ?)` for tuples (after
        VALUES) or `?, ?` for single values (in an IN list); `params` go before the rows' values. Groups come in a
        few fixed sizes so that the prepared statements are reused."""
        start = 0
        while start < len(rows):
            size = _ROW_GROUP
            while size > len(rows) - start:
                size //= 2
            group = rows[start : start + size]
            start += size
            if isinstance(group[0], tuple):
                values: list[Any] = [value for row in group for value in row]
                self.raw.execute(_grouped(sql, size, len(group[0])), (*params, *values))
            else:
                self.raw.execute(_grouped(sql, size, 0), (*params, *group))

    def value_in(self, sql: str, values: Sequence[Any], params: tuple[Any, ...] = ()) -> Any:
        """The one value of the one row `sql` gives, `{rows}` standing for an IN list of `values` (after `params`).
        The list is padded with its last value to a power-of-two length, so a few statement shapes serve every
        count (a repeated value matches nothing new)."""
        size = 1 << (len(values) - 1).bit_length()
        padded = [*values, *[values[-1]] * (size - len(values))]
        return self.raw.execute(_grouped(sql, size, 0), (*params, *padded)).fetchone()[0]

    @property
    def lastrowid(self) -> int:
        return int(self.raw.lastrowid)

    def executescript_in_tx(self, script: str) -> None:
        # sqlite3's executescript() commits first; run the statements one by one to stay in the transaction.
        buffer = ""
        for line in script.splitlines(keepends=True):
            buffer += line
            if sqlcipher3.complete_statement(buffer):
                self.raw.execute(buffer)
                buffer = ""
        if buffer.strip():
            raise RecordError("incomplete SQL statement in a migration")


def fts_match(text: str) -> str | None:
    """The full-text query for what the patient typed: every word must match, the last as a prefix (it may be half
    typed); None when there is no word in it. Each word is quoted, so nothing typed is read as FTS syntax."""
    words = _WORD.findall(text)
    if not words:
        return None
    last = f'"{words[-1]}"*'
    return " AND ".join([*(f'"{w}"' for w in words[:-1]), last])


def _row(cols: Any) -> ResourceRow:
    (rowid, source_id, source, rtype, rid, date, category, system, code, code_display, status, display, subject,
     value, unit, valid, reason, first_seen, last_seen) = cols  # fmt: skip
    return ResourceRow(
        rowid, source_id, source, rtype, rid, date, category, system, code, code_display, status, display or rtype,
        subject, value, unit, valid != VALID_NO, reason, first_seen, last_seen, valid != VALID_UNCHECKED,
    )  # fmt: skip


def _summary(counts: UpsertCounts) -> dict[str, int]:
    return {
        "imported": counts.imported,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "invalid": counts.invalid,
    }



_Tx = Transaction  # the name the record's own modules used before
