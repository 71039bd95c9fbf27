"""Encrypted backups, restoring onto a new device, changing the passphrase, removing a source, and the patient's
preferences (issue 18 item 5): real SQLCipher files, the CLI run as a patient runs it (a subprocess)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support.records import ELVINA, KARENA, PASSPHRASE

from app.record import NotARecord, Record, RecordError, RecordExists, WrongPassphrase
from app.record.backup import make_backup, restore_backup
from app.record.portal_state import remove_source
from app.views import RecordSession
from app.views.format import format_value, use_units
from app.views.preferences import PreferenceRefused, load_preferences, save_preference
from sync.assets import DEMO_PATIENTS

NEW = "a brand new passphrase"


def _filled(path: Path) -> Record:
    record = Record.create(path, PASSPHRASE)
    record.import_file(DEMO_PATIENTS / ELVINA)
    return record


def _counts(record: Record) -> tuple[int, dict[str, int], list[str]]:
    info = record.info()
    return info.total, info.counts, [s["name"] for s in info.sources]


def test_a_backup_restores_on_a_fresh_data_directory_with_the_same_counts(tmp_path: Path) -> None:
    record = _filled(tmp_path / "phone" / "record.carry")
    try:
        before = _counts(record)
        report = make_backup(record, tmp_path / "usb" / "carry.backup", PASSPHRASE)
    finally:
        record.close()
    backup = tmp_path / "usb" / "carry.backup"
    assert report.resources == before[0] > 300
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert b"Elvina" not in backup.read_bytes() and not backup.read_bytes().startswith(b"SQLite format 3")
    assert not list((tmp_path / "usb").glob("*.partial*"))

    env = dict(os.environ, CARRY_DATA_DIR=str(tmp_path / "new-device"), CARRY_PASSPHRASE=PASSPHRASE)
    env.pop("CARRY_RECORD", None)
    done = subprocess.run([sys.executable, "-m", "app.cli", "restore", str(backup)], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    restored = next((tmp_path / "new-device").rglob("*.carry"))
    with Record.open(restored, PASSPHRASE) as again:
        assert _counts(again) == before
        assert again.audit_log(action="restore")
    with pytest.raises(WrongPassphrase):
        Record.open(restored, "not the passphrase at all")


def test_restore_refuses_a_wrong_passphrase_a_non_backup_and_an_existing_record(tmp_path: Path) -> None:
    with _filled(tmp_path / "a.carry") as record:
        make_backup(record, tmp_path / "b.backup", PASSPHRASE)
    target = tmp_path / "new" / "record.carry"
    with pytest.raises(WrongPassphrase, match="does not open b.backup"):
        restore_backup(tmp_path / "b.backup", "wrong passphrase here", target)
    assert not target.parent.exists()
    # A file of text cannot be told from a backup under another passphrase: the sentence says both.
    (tmp_path / "notes.txt").write_text("not a backup, just some words that are long enough")
    with pytest.raises(WrongPassphrase, match="not a Carry backup"):
        restore_backup(tmp_path / "notes.txt", PASSPHRASE, target)
    plain = tmp_path / "plain.sqlite"
    plain.write_bytes(b"SQLite format 3\x00" + bytes(4080))
    with pytest.raises(NotARecord):
        restore_backup(plain, PASSPHRASE, target)
    # Another Carry file that opens but is no record (an encrypted empty database) is refused too.
    empty = Record.create(tmp_path / "empty.carry", PASSPHRASE)
    empty._db.execute("DROP TABLE resource_fts")
    empty._db.execute("DROP TABLE resource")
    empty.close()
    with pytest.raises(NotARecord, match="not a Carry record"):
        restore_backup(tmp_path / "empty.carry", PASSPHRASE, target)

    restore_backup(tmp_path / "b.backup", PASSPHRASE, target)
    with Record.open(target, PASSPHRASE) as opened:
        opened.set_setting("marker", "mine")
    with pytest.raises(RecordExists):
        restore_backup(tmp_path / "b.backup", PASSPHRASE, target)
    with Record.open(target, PASSPHRASE) as opened:
        assert opened.get_setting("marker") == "mine"  # never overwritten silently
    replaced = restore_backup(tmp_path / "b.backup", PASSPHRASE, target, replace=True).replaced
    assert replaced is not None and replaced.exists()
    with Record.open(replaced, PASSPHRASE) as kept:
        assert kept.get_setting("marker") == "mine"


def test_a_backup_needs_the_records_passphrase_and_another_file_name(tmp_path: Path) -> None:
    with _filled(tmp_path / "a.carry") as record:
        with pytest.raises(WrongPassphrase):
            make_backup(record, tmp_path / "b.backup", "not my passphrase")
        with pytest.raises(RecordError, match="over the record itself"):
            make_backup(record, tmp_path / "a.carry", PASSPHRASE)
        with pytest.raises(RecordError, match="folder"):
            make_backup(record, tmp_path, PASSPHRASE)
    assert not (tmp_path / "b.backup").exists()


def test_the_passphrase_changes_only_when_the_current_one_is_right(tmp_path: Path) -> None:
    path = tmp_path / "record.carry"
    _filled(path).close()
    session = RecordSession(path)
    session.unlock(PASSPHRASE)
    total = session.require().count()
    with pytest.raises(WrongPassphrase, match="current passphrase is not right"):
        session.change_passphrase("wrong wrong wrong", NEW, NEW)
    with pytest.raises(RecordError, match="not the same"):
        session.change_passphrase(PASSPHRASE, NEW, NEW + "x")
    with pytest.raises(RecordError, match="at least"):
        session.change_passphrase(PASSPHRASE, "short", "short")
    session.lock()
    Record.open(path, PASSPHRASE).close()  # nothing changed so far
    session.unlock(PASSPHRASE)
    session.change_passphrase(PASSPHRASE, NEW, NEW)
    assert session.require().count() == total  # reopened, and the same record
    session.lock()
    with pytest.raises(WrongPassphrase):
        Record.open(path, PASSPHRASE)
    with Record.open(path, NEW) as again:
        assert again.count() == total


def test_a_fresh_record_knows_its_own_passphrase(tmp_path: Path) -> None:
    # All of a new record's pages may still be in its WAL: the check must not pass a wrong passphrase then.
    with Record.create(tmp_path / "fresh.carry", PASSPHRASE) as record:
        assert record.passphrase_opens(PASSPHRASE)
        assert not record.passphrase_opens("something else entirely")


def test_a_kept_shared_source_and_a_file_source_can_be_removed(tmp_path: Path) -> None:
    with _filled(tmp_path / "a.carry") as record:
        elvina = record.count()
        record.import_file(DEMO_PATIENTS / KARENA, source="Shared: summary from Dr. Okafor")
        shared = record.source("Shared: summary from Dr. Okafor")
        files = record.source("Imported files")
        assert record.count() > elvina
        assert remove_source(record, shared.id) == "Shared: summary from Dr. Okafor"
        assert [s.name for s in record.sources()] == ["Imported files"]
        assert record.count() == elvina
        assert record.search("Karena") == []
        remove_source(record, files.id)
        assert record.count() == 0 and record.sources() == []
        with pytest.raises(RecordError, match="no longer"):
            remove_source(record, files.id)
        assert [e["action"] for e in record.audit_log(action="remove-source")] == ["remove-source"] * 2


def test_preferences_are_kept_in_the_record_and_bad_values_change_nothing(tmp_path: Path) -> None:
    try:
        with Record.create(tmp_path / "a.carry", PASSPHRASE) as record:
            assert load_preferences(record).units == "metric"
            prefs = save_preference(record, "units", "us")
            assert prefs.units == "us" and format_value(70, "kg") == "154 lb"
            save_preference(record, "appearance", "dark")
            save_preference(record, "text_size", "larger")
            with pytest.raises(PreferenceRefused, match="nothing was changed"):
                save_preference(record, "units", "imperial-ish")
            with pytest.raises(PreferenceRefused):
                save_preference(record, "colour", "red")
        with Record.open(tmp_path / "a.carry", PASSPHRASE) as record:
            prefs = load_preferences(record)
            assert (prefs.units, prefs.dark, prefs.text_scale) == ("us", True, 1.4)
    finally:
        use_units("metric")


def test_cli_backup_and_export_files_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "record.carry"
    with _filled(path) as record:
        total = record.count()
    env = dict(os.environ, CARRY_RECORD=str(path), CARRY_PASSPHRASE=PASSPHRASE)

    def carry(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True,
                              timeout=120)  # fmt: skip

    old_umask = os.umask(0o022)  # a usual umask: the files are 0600 all the same
    try:
        done = carry("export", "--ndjson", "--out", str(tmp_path / "all.ndjson"))
        assert done.returncode == 0 and "not encrypted" in done.stderr, done.stderr
        backup = carry("backup", str(tmp_path / "copy.carry"))
        assert backup.returncode == 0 and "opened with your passphrase" in backup.stdout, backup.stderr
    finally:
        os.umask(old_umask)
    lines = (tmp_path / "all.ndjson").read_text().splitlines()
    assert len(lines) == total and all(line.startswith("{") for line in lines)
    for name in ("all.ndjson", "copy.carry"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    with Record.open(tmp_path / "copy.carry", PASSPHRASE) as copy:
        assert copy.count() == total
    refused = carry("restore", str(tmp_path / "copy.carry"))  # onto the record that is there: refused
    assert refused.returncode == 1 and "will not overwrite" in refused.stderr
