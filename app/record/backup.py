"""Encrypted backups of the record, and restoring one onto a new device.

A backup is a consistent copy of the encrypted record (SQLCipher's `sqlcipher_export` into an attached file keyed
with the same passphrase, inside one read transaction), written owner-only (0600) beside its final name and
renamed into place only after it was opened with the passphrase and found to hold what the record holds. Restoring
checks the file the same way, copies it (0600) next to where the record lives, checks the copy, and only then
gives it the record's name; an existing record is never replaced unless the caller asks, and then it is kept
beside (still encrypted) under a name that says so.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import NotARecord, RecordError, RecordExists, WrongPassphrase
from .schema import latest_version
from .store import Record, _plain_errors

__all__ = ["BackupReport", "check_backup", "make_backup", "record_counts", "restore_backup"]

_PLAIN_SQLITE = b"SQLite format 3\x00"
_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class BackupReport:
    path: Path
    resources: int
    sources: int
    size_bytes: int
    replaced: Path | None = None  # restore with replace: where the record that was there now lies

    def sentence(self, verb: str) -> str:
        return (f"{verb} {self.path}: {self.resources:,} items from {self.sources} source"
                f"{'s' if self.sources != 1 else ''}, opened with your passphrase to check it.")  # fmt: skip


def make_backup(record: Record, dest: str | os.PathLike[str], passphrase: str) -> BackupReport:
    """Write an encrypted copy of `record` to `dest` that opens with `passphrase` (which must open the record)."""
    target = Path(dest).expanduser()
    if target.is_dir():
        raise RecordError(f"{target} is a folder; give a file name for the backup.")
    if target.resolve() == record.path.resolve():
        raise RecordError("A backup cannot be written over the record itself; choose another file name.")
    if not record.passphrase_opens(passphrase):
        raise WrongPassphrase("That passphrase does not open your record; the backup was not made.")
    partial = target.with_name(target.name + ".partial")
    _remove(partial)
    target.parent.mkdir(parents=True, exist_ok=True)
    old_umask = os.umask(0o077)
    try:
        with record._lock, _plain_errors(target):
            db = record._conn()
            db.execute("ATTACH DATABASE ? AS carry_backup KEY ?", (str(partial), passphrase))
            try:
                db.execute("BEGIN")  # one read snapshot: nothing written meanwhile (another process) splits it
                try:
                    db.execute("SELECT sqlcipher_export('carry_backup')")
                    version = int(db.execute("PRAGMA main.user_version").fetchone()[0])
                    db.execute(f"PRAGMA carry_backup.user_version = {version}")
                    expected = _counts(db, "main")
                finally:
                    db.execute("COMMIT")
            finally:
                db.execute("DETACH DATABASE carry_backup")
        os.chmod(partial, 0o600)
        found = _verified(partial, passphrase, "The backup could not be opened after writing it; nothing was kept.")
        if found != expected:
            raise RecordError("The backup does not hold what the record holds; nothing was kept. Try again.")
        _fsync(partial)
        partial.replace(target)
    except BaseException:
        _remove(partial)
        raise
    finally:
        os.umask(old_umask)
    record.audit("backup", resources=expected[0])
    return BackupReport(target, expected[0], expected[1], target.stat().st_size)


def record_counts(record: Record) -> tuple[int, int]:
    """(resources, sources) the open record holds: what a restore with `replace` would set aside."""
    with record._lock:
        return _counts(record._conn(), "main")


def check_backup(backup: str | os.PathLike[str], passphrase: str) -> tuple[int, int]:
    """(resources, sources) of the backup at `backup`, after checking that it is a whole Carry record that
    `passphrase` opens; nothing is written. Raises with one sentence otherwise."""
    source = Path(backup).expanduser()
    if not source.is_file():
        raise RecordError(f"There is no backup file at {source}.")
    with source.open("rb") as handle:
        header = handle.read(16)
    if len(header) < 16 or header == _PLAIN_SQLITE:
        raise NotARecord(f"{source.name} is not a Carry backup (it is not an encrypted record).")
    return _verified(source, passphrase, _wrong_for(source))


def _wrong_for(source: Path) -> str:
    return f"That passphrase does not open {source.name} (or it is not a Carry backup); nothing was changed."


def restore_backup(backup: str | os.PathLike[str], passphrase: str, target: str | os.PathLike[str], *,
                   replace: bool = False) -> BackupReport:  # fmt: skip
    """Make the backup at `backup` the record at `target`, after checking that `passphrase` opens it. A record
    already at `target` is refused, or with `replace` kept beside it as `<name>.before-restore-<time>`; should the
    restored record then not open, the one that was there is put back (and the error raised)."""
    source, dest = Path(backup).expanduser(), Path(target).expanduser()
    if dest.exists() and source.is_file() and source.resolve() == dest.resolve():
        raise RecordError("That file is the record itself, not a backup of it.")
    counts = check_backup(source, passphrase)
    bad = _wrong_for(source)
    if dest.exists() and not replace:
        raise RecordExists(f"There is already a record at {dest}; Carry will not overwrite it with a backup.")
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = dest.with_name(dest.name + ".restoring")
    _remove(partial)
    old_umask = os.umask(0o077)
    try:
        with source.open("rb") as src, open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        if _verified(partial, passphrase, bad) != counts:
            raise RecordError("The copy of the backup does not match it; nothing was changed. Try again.")
        replaced = _set_aside(dest) if dest.exists() else None
        partial.replace(dest)
    except BaseException:
        _remove(partial)
        raise
    finally:
        os.umask(old_umask)
    try:
        with Record.open(dest, passphrase) as record:  # brings an older backup up to this Carry's schema
            record.audit("restore", resources=counts[0])
    except BaseException:
        if replaced is not None:  # the record that was there comes back; the restored copy goes
            _remove(dest)
            _put_back(replaced, dest)
        raise
    return BackupReport(dest, counts[0], counts[1], dest.stat().st_size, replaced)


def _verified(path: Path, passphrase: str, wrong: str) -> tuple[int, int]:
    """(resources, sources) of the Carry record at `path`, opened read-only with `passphrase` and checked whole."""
    try:
        db = Record._connect(path, passphrase, read_only=True)
    except WrongPassphrase:
        raise WrongPassphrase(wrong) from None
    try:
        with _plain_errors(path):
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if not {"resource", "source", "setting"} <= tables or version < 1:
                raise NotARecord(f"{path.name} opens, but it is not a Carry record.")
            if version > latest_version():
                raise NotARecord(f"{path.name} was written by a newer Carry (schema {version}); update Carry first.")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise NotARecord(f"{path.name} is damaged: its pages do not check out.")
            return _counts(db, "main")
    finally:
        db.close()


def _counts(db: object, schema: str) -> tuple[int, int]:
    execute = getattr(db, "execute")
    resources = int(execute(f"SELECT count(*) FROM {schema}.resource").fetchone()[0])
    sources = int(execute(f"SELECT count(*) FROM {schema}.source").fetchone()[0])
    return resources, sources


def _set_aside(dest: Path) -> Path:
    """Move the record at `dest` (with its journal files) to a name that says it was there before a restore."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = dest.with_name(f"{dest.name}.before-restore-{stamp}")
    for suffix in ("", *_SIDE_FILES):
        here = Path(str(dest) + suffix)
        if here.exists():
            here.replace(Path(str(aside) + suffix))
    return aside


def _put_back(aside: Path, dest: Path) -> None:
    for suffix in ("", *_SIDE_FILES):
        here = Path(str(aside) + suffix)
        if here.exists():
            here.replace(Path(str(dest) + suffix))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for suffix in ("", *_SIDE_FILES):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + suffix).unlink()
