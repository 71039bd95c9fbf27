"""Safe at rest from the first byte: encryption settings, nothing readable on disk, passphrases."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from pathlib import Path

import pytest
from support.records import ELVINA, PASSPHRASE

from app.errors import cli_message, ui_message
from app.record import NotARecord, PassphraseRefused, Record, RecordExists, RecordNotFound, WrongPassphrase


def _files_state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _assert_nothing_readable(folder: Path, secrets: list[bytes]) -> list[str]:
    seen = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        seen.append(path.name)
        data = path.read_bytes()
        for secret in secrets:
            assert secret not in data, f"{secret!r} readable in {path.name}"
            assert secret.lower() not in data.lower(), f"{secret!r} readable in {path.name}"
    return seen


def test_current_sqlcipher_defaults_and_safe_pragmas(record: Record) -> None:
    def pragma(name: str) -> object:
        return record.read(f"PRAGMA {name}")[0][0]

    assert str(pragma("cipher_version")).startswith("4.")
    assert pragma("kdf_iter") == "256000"
    assert pragma("cipher_page_size") == "4096"
    assert pragma("cipher_hmac_algorithm") == "HMAC_SHA512"
    assert pragma("cipher_kdf_algorithm") == "PBKDF2_HMAC_SHA512"
    assert pragma("cipher_use_hmac") == "1"
    assert pragma("cipher_plaintext_header_size") == "0"
    assert record.read("PRAGMA cipher_compatibility") == []  # no legacy compatibility mode
    assert pragma("temp_store") == 2  # MEMORY
    assert pragma("secure_delete") == 1
    assert pragma("journal_mode") == "wal"


def test_nothing_readable_on_disk_while_open_and_after_close(record: Record, record_path: Path, demo_dir: Path) -> None:
    record.import_file(demo_dir / ELVINA)
    record.search("osteoporosis")  # let FTS and sorting touch temp storage
    secrets = [b"Lemke", b"resourceType", b"Osteoporosis", b"Elvina"]
    while_open = _assert_nothing_readable(record_path.parent, secrets)
    assert "record.carry" in while_open and "record.carry-wal" in while_open  # the WAL was checked too
    record.close()
    _assert_nothing_readable(record_path.parent, secrets)
    # No temp files were left anywhere beside the record.
    assert {p.name for p in record_path.parent.iterdir()} <= {"record.carry", "record.carry-wal", "record.carry-shm"}


def test_record_files_are_for_the_owner_only(record: Record, record_path: Path, demo_dir: Path) -> None:
    record.import_file(demo_dir / ELVINA)
    for path in record_path.parent.iterdir():
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is readable by others ({oct(mode)})"


def test_wrong_passphrase_raises_and_changes_nothing(record: Record, record_path: Path, demo_dir: Path) -> None:
    record.import_file(demo_dir / ELVINA)
    record.close()
    before = _files_state(record_path.parent)
    with pytest.raises(WrongPassphrase, match="Wrong passphrase"):
        Record.open(record_path, "not the passphrase")
    assert _files_state(record_path.parent) == before
    with Record.open(record_path, PASSPHRASE) as reopened:
        assert reopened.count() > 300


def test_change_passphrase_keeps_every_byte_of_data(record: Record, record_path: Path, demo_dir: Path) -> None:
    record.import_file(demo_dir / ELVINA)
    before = record.read("SELECT type, id, raw, hash, first_seen, last_seen FROM resource ORDER BY rowid")
    record.change_passphrase("a brand new passphrase")
    record.close()
    with pytest.raises(WrongPassphrase):
        Record.open(record_path, PASSPHRASE)
    with Record.open(record_path, "a brand new passphrase") as reopened:
        after = reopened.read("SELECT type, id, raw, hash, first_seen, last_seen FROM resource ORDER BY rowid")
        assert after == before
        assert reopened.audit_log(action="passphrase-change")


def test_passphrases_carry_will_not_take(record_path: Path) -> None:
    with pytest.raises(PassphraseRefused, match="at least 8"):
        Record.create(record_path, "short")
    assert not record_path.exists()
    rec = Record.create(record_path, "it's got 'quotes' and ünïcode")
    rec.close()
    Record.open(record_path, "it's got 'quotes' and ünïcode").close()
    with Record.open(record_path, "it's got 'quotes' and ünïcode") as reopened, pytest.raises(PassphraseRefused):
        reopened.change_passphrase("tiny")


def test_open_and_create_say_what_is_wrong(tmp_path: Path, record_path: Path) -> None:
    with pytest.raises(RecordNotFound, match="There is no record at") as missing:
        Record.open(tmp_path / "nothing-here.carry", PASSPHRASE)
    assert "carry init" in (cli_message(missing.value) or "") and "carry " not in (ui_message(missing.value) or "")
    with pytest.raises(NotARecord, match="directory"):
        Record.open(tmp_path, PASSPHRASE)
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(NotARecord, match="unencrypted"):
        Record.open(plain, PASSPHRASE)
    Record.create(record_path, PASSPHRASE).close()
    with pytest.raises(RecordExists):
        Record.create(record_path, PASSPHRASE)


def test_repr_never_shows_secrets(record: Record) -> None:
    assert PASSPHRASE not in repr(record)
