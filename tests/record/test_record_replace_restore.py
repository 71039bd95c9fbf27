"""Replacing the record on this device with a backup (Settings, "Restore a backup"): the backup is checked and
counted before anything is touched, the record that was there is kept beside the restored one (still encrypted,
opening with its own passphrase), and when the restored record does not open the one that was there is put back."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.records import ELVINA, KARENA, PASSPHRASE

from app.record import NotARecord, Record, WrongPassphrase
from app.record.backup import check_backup, make_backup, record_counts, restore_backup
from sync.assets import DEMO_PATIENTS

OTHER = "the backup's own passphrase"


def _record(path: Path, patient: str, passphrase: str) -> tuple[int, int]:
    with Record.create(path, passphrase) as record:
        record.import_file(DEMO_PATIENTS / patient)
        return record_counts(record)


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_replacing_a_record_checks_counts_and_keeps_the_old_one_beside(tmp_path: Path) -> None:
    here = tmp_path / "device" / "record.carry"
    mine = _record(here, ELVINA, PASSPHRASE)
    theirs = _record(tmp_path / "old.carry", KARENA, OTHER)
    with Record.open(tmp_path / "old.carry", OTHER) as old:
        make_backup(old, tmp_path / "karena.backup", OTHER)
    assert mine[0] > 300 and mine[1] == 1 and theirs != mine
    assert check_backup(tmp_path / "karena.backup", OTHER) == theirs
    before = here.read_bytes()
    # A wrong passphrase or a file that is no backup: one sentence, the record and its folder as they were.
    with pytest.raises(WrongPassphrase, match="does not open karena.backup"):
        check_backup(tmp_path / "karena.backup", PASSPHRASE)
    (tmp_path / "junk.backup").write_bytes(b"SQLite format 3\x00" + bytes(2000))
    with pytest.raises(NotARecord, match="not a Carry backup"):
        restore_backup(tmp_path / "junk.backup", OTHER, here, replace=True)
    assert _files(here.parent) == {"record.carry"} and here.read_bytes() == before

    report = restore_backup(tmp_path / "karena.backup", OTHER, here, replace=True)
    assert (report.resources, report.sources) == theirs
    with Record.open(here, OTHER) as restored:
        assert record_counts(restored) == theirs
    assert report.replaced is not None and report.replaced.parent == here.parent
    assert report.replaced.name.startswith("record.carry.before-restore-")
    with Record.open(report.replaced, PASSPHRASE) as kept:
        assert record_counts(kept) == mine


def test_when_the_restored_record_does_not_open_the_old_one_is_put_back(tmp_path: Path) -> None:
    here = tmp_path / "device" / "record.carry"
    mine = _record(here, ELVINA, PASSPHRASE)
    _record(tmp_path / "odd.carry", KARENA, OTHER)
    # A backup whose schema number says it is older than its tables are: checking it passes, but bringing it up to
    # this Carry's schema fails when it is opened as the record.
    db = Record._connect(tmp_path / "odd.carry", OTHER)
    db.execute("PRAGMA user_version = 1")
    db.close()
    check_backup(tmp_path / "odd.carry", OTHER)
    with pytest.raises(Exception):
        restore_backup(tmp_path / "odd.carry", OTHER, here, replace=True)
    assert _files(here.parent) <= {"record.carry", "record.carry-wal", "record.carry-shm"}
    with Record.open(here, PASSPHRASE) as back:
        assert record_counts(back) == mine
