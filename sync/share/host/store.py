"""What a SMART Health Link host keeps, and a small SQLite implementation of it.

The host is the one part of sharing that faces the internet, so it holds nothing readable: per link only the id,
the ciphertext of each file, the flags, the expiry, a slow hash of the passcode, the attempts left, whether it
was revoked, the file locations handed out (with their expiry), the public key that access entries are sealed
to, and the sealed access entries themselves. The label, the key and every name stay with the patient.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from ..errors import QuotaExceeded, ShareHostError
from ..codec.jose import open_sealed, seal

__all__ = [
    "AccessRecord",
    "DeviceQuota",
    "DeviceUsage",
    "PublishStore",
    "SQLShareHostStore",
    "HostedFile",
    "HostedLink",
    "ShareHostStore",
    "SQLiteShareHostStore",
    "open_access",
    "seal_access",
]


@dataclass(frozen=True, slots=True)
class HostedFile:
    content_type: str
    jwe: str = field(repr=False)
    last_updated: str | None = None


@dataclass(frozen=True, slots=True)
class HostedLink:
    id: str
    flag: str
    exp: int | None
    passcode_hash: str | None = field(default=None, repr=False)
    attempts_left: int | None = None  # None when there is no passcode
    revoked: bool = False
    access_key: dict[str, Any] | None = field(default=None, repr=False)  # public JWK access entries are sealed to

    def active(self, now: float) -> bool:
        if self.revoked or (self.exp is not None and now >= self.exp):
            return False
        return self.attempts_left is None or self.attempts_left > 0


@dataclass(frozen=True, slots=True)
class AccessRecord:
    cursor: int
    link_id: str
    sealed: str = field(repr=False)


class ShareHostStore(Protocol):
    """Storage for the share host. Every method is safe to call from several threads at once."""

    def add_link(self, link: HostedLink, files: Sequence[HostedFile]) -> None: ...

    def link(self, link_id: str) -> HostedLink | None: ...

    def files(self, link_id: str) -> list[HostedFile]: ...

    def replace_files(self, link_id: str, files: Sequence[HostedFile]) -> None: ...

    def spend_attempt(self, link_id: str) -> int | None:
        """Atomically take one passcode attempt, *before* the passcode is checked: the attempts left afterwards, or
        None when none were left (then the guess must not be checked). One conditional decrement in the database
        (`UPDATE … SET attempts_left = attempts_left - 1 WHERE attempts_left > 0 RETURNING …`), never a read
        followed by a write, so parallel requests from any number of threads, processes or hosts sharing the
        store take at most the budget between them."""
        ...

    def return_attempt(self, link_id: str) -> None:
        """Give back an attempt taken by `spend_attempt` whose passcode turned out right."""
        ...

    def revoke(self, link_id: str) -> bool: ...

    def issue_location(self, token: str, link_id: str, index: int, expires: float) -> None: ...

    def take_location(self, token: str, now: float) -> tuple[str, int] | None:
        """Use a file location once: (link id, file index) while it is valid, else None."""
        ...

    def add_access(self, link_id: str, sealed: str) -> int: ...

    def access_since(self, cursor: int = 0, limit: int = 1000) -> list[AccessRecord]: ...

    def forget_access(self, upto: int) -> int: ...

    def purge(self, now: float) -> int: ...


@dataclass(frozen=True, slots=True)
class DeviceQuota:
    """What one publishing device may keep on a standalone host at a time: live links, and their ciphertext."""

    links: int = 500
    bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class DeviceUsage:
    name: str
    created_at: str
    links: int
    bytes: int


class PublishStore(ShareHostStore, Protocol):
    """A standalone host's store: the links, and the devices allowed to publish them. A device's credential is kept
    only as a hash; every link remembers the device that published it, and a device sees only its own links."""

    def add_device(self, name: str, credential_hash: str, created_at: str) -> None: ...

    def remove_device(self, name: str, removed_at: str) -> bool: ...

    def device_for(self, credential_hash: str) -> str | None: ...

    def devices(self, now: float) -> list[DeviceUsage]: ...

    def add_device_link(
        self, device: str, link: HostedLink, files: Sequence[HostedFile], quota: DeviceQuota, now: float
    ) -> None: ...

    def owner(self, link_id: str) -> str | None: ...

    def device_access_since(self, device: str, cursor: int = 0, limit: int = 1000) -> list[AccessRecord]: ...

    def forget_device_access(self, device: str, upto: int) -> int: ...


def seal_access(
    public_jwk: dict[str, Any], recipient: str, at: datetime | float, link_id: str, event: str = "manifest"
) -> str:
    """An access entry readable only with the patient's private key: who opened which link, when, and how."""
    when = at if isinstance(at, datetime) else datetime.fromtimestamp(at, timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return seal(
        public_jwk,
        {"link": link_id, "recipient": recipient, "at": when.isoformat(timespec="seconds"), "event": event},
    )


def open_access(private_jwk: dict[str, Any], sealed: str) -> dict[str, Any]:
    """{link, recipient, at (ISO 8601), event} of a sealed access entry."""
    return open_sealed(private_jwk, sealed)


# The same statements run on SQLite and on PostgreSQL (hosting/postgres.py): `?` placeholders (turned into `%s`
# there), standard SQL and `RETURNING`. Only the table definitions differ, in a few words.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS link (
    id TEXT PRIMARY KEY,
    flag TEXT NOT NULL,
    exp {bigint},
    passcode_hash TEXT,
    attempts_left INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0,
    access_key TEXT
){strict};
CREATE TABLE IF NOT EXISTS file (
    link_id TEXT NOT NULL REFERENCES link(id),
    idx INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    jwe TEXT NOT NULL,
    last_updated TEXT,
    PRIMARY KEY (link_id, idx)
){strict};
CREATE TABLE IF NOT EXISTS location (
    token TEXT PRIMARY KEY,
    link_id TEXT NOT NULL REFERENCES link(id),
    idx INTEGER NOT NULL,
    expires {real} NOT NULL
){strict};
CREATE TABLE IF NOT EXISTS access (
    cursor {serial},
    link_id TEXT NOT NULL,
    sealed TEXT NOT NULL
){strict};
CREATE TABLE IF NOT EXISTS device (
    name TEXT PRIMARY KEY,
    credential_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
){strict};
CREATE TABLE IF NOT EXISTS link_owner (
    link_id TEXT PRIMARY KEY REFERENCES link(id),
    device TEXT NOT NULL
){strict};
CREATE INDEX IF NOT EXISTS link_owner_device ON link_owner (device);
"""
SQLITE_SCHEMA = _SCHEMA.format(strict=" STRICT", bigint="INTEGER", real="REAL", serial="INTEGER PRIMARY KEY AUTOINCREMENT")
POSTGRES_SCHEMA = _SCHEMA.format(strict="", bigint="BIGINT", real="DOUBLE PRECISION", serial="BIGSERIAL PRIMARY KEY")
_LINK_COLUMNS = "id, flag, exp, passcode_hash, attempts_left, revoked, access_key"
# A link counts against its device's quota while its ciphertext is kept (until it expires or is revoked).
_LIVE = "l.revoked = 0 AND (l.exp IS NULL OR l.exp > ?)"


class Executor(Protocol):
    """What the statements below need of a connection: sqlite3.Connection, or psycopg's behind a small adapter."""

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...


class SQLShareHostStore:
    """ShareHostStore and PublishStore over SQL: every method is one short transaction, and the attempt counter and
    file locations change in single conditional statements, so parallel requests from any number of threads,
    processes or hosts sharing the database cannot overspend them. Subclasses say how to connect."""

    lock_suffix = ""  # PostgreSQL: " FOR UPDATE", so parallel publishes of one device count its quota one by one

    @contextmanager
    def _connect(self) -> Iterator[Executor]:  # a connection in autocommit: each statement stands alone
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def _write(self) -> Iterator[Executor]:  # one transaction, taking the write lock before the first read
        raise NotImplementedError
        yield  # pragma: no cover

    def add_link(self, link: HostedLink, files: Sequence[HostedFile]) -> None:
        with self._write() as db:
            self._insert_link(db, link, files)

    def _insert_link(self, db: Executor, link: HostedLink, files: Sequence[HostedFile]) -> None:
        if db.execute("SELECT 1 FROM link WHERE id = ?", (link.id,)).fetchone():
            raise ShareHostError("A link with this id already exists on the share host.")
        db.execute(
            f"INSERT INTO link ({_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                link.id,
                link.flag,
                link.exp,
                link.passcode_hash,
                link.attempts_left,
                int(link.revoked),
                json.dumps(link.access_key) if link.access_key is not None else None,
            ),
        )
        self._put_files(db, link.id, files)

    @staticmethod
    def _put_files(db: Executor, link_id: str, files: Sequence[HostedFile]) -> None:
        db.execute("DELETE FROM location WHERE link_id = ?", (link_id,))
        db.execute("DELETE FROM file WHERE link_id = ?", (link_id,))
        db.executemany(
            "INSERT INTO file (link_id, idx, content_type, jwe, last_updated) VALUES (?, ?, ?, ?, ?)",
            [(link_id, i, f.content_type, f.jwe, f.last_updated) for i, f in enumerate(files)],
        )

    def link(self, link_id: str) -> HostedLink | None:
        with self._connect() as db:
            row = db.execute(f"SELECT {_LINK_COLUMNS} FROM link WHERE id = ?", (link_id,)).fetchone()
        if row is None:
            return None
        return HostedLink(
            id=row[0],
            flag=row[1],
            exp=row[2],
            passcode_hash=row[3],
            attempts_left=row[4],
            revoked=bool(row[5]),
            access_key=json.loads(row[6]) if row[6] else None,
        )

    def files(self, link_id: str) -> list[HostedFile]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT content_type, jwe, last_updated FROM file WHERE link_id = ? ORDER BY idx", (link_id,)
            ).fetchall()
        return [HostedFile(r[0], r[1], r[2]) for r in rows]

    def replace_files(self, link_id: str, files: Sequence[HostedFile]) -> None:
        with self._write() as db:
            if not db.execute("SELECT 1 FROM link WHERE id = ?", (link_id,)).fetchone():
                raise ShareHostError("There is no such link on the share host.")
            self._put_files(db, link_id, files)

    def spend_attempt(self, link_id: str) -> int | None:
        with self._connect() as db:
            row = db.execute(
                "UPDATE link SET attempts_left = attempts_left - 1 "
                "WHERE id = ? AND attempts_left > 0 RETURNING attempts_left",
                (link_id,),
            ).fetchone()
        return None if row is None else int(row[0])

    def return_attempt(self, link_id: str) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE link SET attempts_left = attempts_left + 1 WHERE id = ? AND attempts_left IS NOT NULL",
                (link_id,),
            )

    def revoke(self, link_id: str) -> bool:
        with self._write() as db:
            changed = db.execute("UPDATE link SET revoked = 1 WHERE id = ?", (link_id,)).rowcount
            # The ciphertext is of no further use to anyone: drop it with every location handed out.
            db.execute("DELETE FROM location WHERE link_id = ?", (link_id,))
            db.execute("DELETE FROM file WHERE link_id = ?", (link_id,))
        return bool(changed)

    def issue_location(self, token: str, link_id: str, index: int, expires: float) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO location (token, link_id, idx, expires) VALUES (?, ?, ?, ?)",
                (token, link_id, index, expires),
            )

    def take_location(self, token: str, now: float) -> tuple[str, int] | None:
        with self._connect() as db:
            row = db.execute(
                "DELETE FROM location WHERE token = ? RETURNING link_id, idx, expires", (token,)
            ).fetchone()
        if row is None or now >= row[2]:
            return None
        return str(row[0]), int(row[1])

    def add_access(self, link_id: str, sealed: str) -> int:
        with self._connect() as db:
            row = db.execute(
                "INSERT INTO access (link_id, sealed) VALUES (?, ?) RETURNING cursor", (link_id, sealed)
            ).fetchone()
        return int(row[0])

    def access_since(self, cursor: int = 0, limit: int = 1000) -> list[AccessRecord]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT cursor, link_id, sealed FROM access WHERE cursor > ? ORDER BY cursor LIMIT ?",
                (cursor, limit),
            ).fetchall()
        return [AccessRecord(int(r[0]), r[1], r[2]) for r in rows]

    def forget_access(self, upto: int) -> int:
        """Drop access entries up to `upto` once the patient's record has merged them."""
        with self._connect() as db:
            return int(db.execute("DELETE FROM access WHERE cursor <= ?", (upto,)).rowcount)

    def purge(self, now: float) -> int:
        """Drop used-up locations, and the ciphertext of links that expired, were revoked or ran out of attempts.
        The link row stays (a dead link keeps answering 404, and its id is never reused)."""
        with self._write() as db:
            removed = int(db.execute("DELETE FROM location WHERE expires <= ?", (now,)).rowcount)
            removed += int(
                db.execute(
                    "DELETE FROM file WHERE link_id IN (SELECT id FROM link WHERE revoked = 1 "
                    "OR (exp IS NOT NULL AND exp <= ?) OR attempts_left = 0)",
                    (now,),
                ).rowcount
            )
        return removed

    # --- devices that publish (a standalone `carry host`) --------------------------------------------------------

    def add_device(self, name: str, credential_hash: str, created_at: str) -> None:
        with self._write() as db:
            if db.execute("SELECT 1 FROM device WHERE name = ?", (name,)).fetchone():
                raise ShareHostError(f"A device called {name!r} exists already; remove it first or pick another name.")
            db.execute(
                "INSERT INTO device (name, credential_hash, created_at) VALUES (?, ?, ?)",
                (name, credential_hash, created_at),
            )

    def remove_device(self, name: str, removed_at: str) -> bool:
        """Remove a device: its credential stops working with the next request. Its links stay (a doctor may be
        about to open one) until they expire, owned by a name no device can take ("laptop (removed …)"), so a new
        device given the old name cannot revoke or read them."""
        with self._write() as db:
            if not db.execute("DELETE FROM device WHERE name = ?", (name,)).rowcount:
                return False
            db.execute("UPDATE link_owner SET device = ? WHERE device = ?", (f"{name} (removed {removed_at})", name))
        return True

    def device_for(self, credential_hash: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT name FROM device WHERE credential_hash = ?", (credential_hash,)).fetchone()
        return None if row is None else str(row[0])

    def devices(self, now: float) -> list[DeviceUsage]:
        with self._connect() as db:
            rows = db.execute("SELECT name, created_at FROM device ORDER BY name").fetchall()
            return [DeviceUsage(str(r[0]), str(r[1]), *self._usage(db, str(r[0]), now)) for r in rows]

    def _usage(self, db: Executor, device: str, now: float) -> tuple[int, int]:
        """(live links, bytes of their ciphertext) of one device."""
        row = db.execute(
            "SELECT COUNT(DISTINCT l.id), COALESCE(SUM(LENGTH(f.jwe)), 0) FROM link_owner o "
            f"JOIN link l ON l.id = o.link_id LEFT JOIN file f ON f.link_id = l.id WHERE o.device = ? AND {_LIVE}",
            (device, now),
        ).fetchone()
        return int(row[0]), int(row[1])

    def add_device_link(
        self, device: str, link: HostedLink, files: Sequence[HostedFile], quota: DeviceQuota, now: float
    ) -> None:
        """Add a link published by `device`, refused (QuotaExceeded) when it would pass the device's quota."""
        with self._write() as db:
            if db.execute(f"SELECT 1 FROM device WHERE name = ?{self.lock_suffix}", (device,)).fetchone() is None:
                raise ShareHostError("This device was removed from the share host.")
            links, used = self._usage(db, device, now)
            size = sum(len(f.jwe) for f in files)
            if links + 1 > quota.links:
                raise QuotaExceeded(f"This device has {links} live links on the host, its limit; revoke some first.")
            if used + size > quota.bytes:
                raise QuotaExceeded("This link would pass the storage this device may use on the host.")
            self._insert_link(db, link, files)
            db.execute("INSERT INTO link_owner (link_id, device) VALUES (?, ?)", (link.id, device))

    def owner(self, link_id: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT device FROM link_owner WHERE link_id = ?", (link_id,)).fetchone()
        return None if row is None else str(row[0])

    def device_access_since(self, device: str, cursor: int = 0, limit: int = 1000) -> list[AccessRecord]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT a.cursor, a.link_id, a.sealed FROM access a JOIN link_owner o ON o.link_id = a.link_id "
                "WHERE o.device = ? AND a.cursor > ? ORDER BY a.cursor LIMIT ?",
                (device, cursor, limit),
            ).fetchall()
        return [AccessRecord(int(r[0]), r[1], r[2]) for r in rows]

    def forget_device_access(self, device: str, upto: int) -> int:
        with self._connect() as db:
            return int(
                db.execute(
                    "DELETE FROM access WHERE cursor <= ? AND link_id IN "
                    "(SELECT link_id FROM link_owner WHERE device = ?)",
                    (upto, device),
                ).rowcount
            )


class SQLiteShareHostStore(SQLShareHostStore):
    """The store in one SQLite file (WAL). A connection per call keeps it safe across threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                assert isinstance(db, sqlite3.Connection)
                db.executescript(SQLITE_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ShareHostError(f"Carry could not open the share host's storage at {self.path}.") from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
                db.execute("PRAGMA foreign_keys=ON")
                db.execute("PRAGMA secure_delete=ON")  # revoked ciphertext does not linger in free pages
                yield db
        except sqlite3.Error as exc:
            raise ShareHostError("The share host's storage failed; try again.") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
