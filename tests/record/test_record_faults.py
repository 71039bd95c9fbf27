"""A full disk, a read-only record and a busy record each get one plain sentence, change nothing, and a read-only
record can still be read: list, search, info and export work on it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from support.cli import one_line_refusal, run_carry
from support.disks import fill, make_read_only, small_disk
from support.records import ELVINA, KARENA, PASSPHRASE, snapshot

from app.record import Record


def _env(record_file: Path) -> dict[str, str]:
    return {"CARRY_RECORD": str(record_file), "CARRY_PASSPHRASE": PASSPHRASE}


def _record_on(disk: Path, demo_dir: Path) -> tuple[Path, dict[str, Any]]:
    """A record on `disk` holding one patient, and its snapshot."""
    record_file = disk / "r.carry"
    with Record.create(record_file, PASSPHRASE) as record:
        record.import_file(demo_dir / KARENA)
        return record_file, snapshot(record)


def test_a_full_disk_gets_a_plain_sentence_and_changes_nothing(tmp_path: Path, demo_dir: Path) -> None:
    with small_disk(tmp_path / "disk", "24m") as disk:
        record_file, before = _record_on(disk, demo_dir)
        filler = fill(disk)
        line = one_line_refusal(run_carry("import", str(demo_dir / ELVINA), env=_env(record_file)))
        assert line == (
            f"carry: The disk that holds your record ({disk}) is full; free some space and try again. Nothing was changed."
        )
        filler.unlink()
        with Record.open(record_file, PASSPHRASE) as record:
            assert snapshot(record) == before


def test_a_read_only_record_can_be_read_but_not_changed(tmp_path: Path, demo_dir: Path) -> None:
    with small_disk(tmp_path / "disk", "24m") as disk:
        record_file, before = _record_on(disk, demo_dir)
        make_read_only(disk)
        env = _env(record_file)
        listed = run_carry("list", "Condition", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        assert len(json.loads(listed.stdout)) == len([r for r in before["resources"] if r[1] == "Condition"])
        for command in (("meds",), ("list", "--merged")):
            done = run_carry(*command, env=env)
            assert done.returncode == 0 and done.stdout, done.stderr
        found = run_carry("search", "Pfeffer", env=env)
        assert found.returncode == 0 and "Patient" in found.stdout, found.stderr
        info = run_carry("info", "--json", env=env)
        assert info.returncode == 0 and json.loads(info.stdout)["resources"] == len(before["resources"]), info.stderr
        out = tmp_path / "export.json"
        exported = run_carry("export", "--out", str(out), env=env)
        assert exported.returncode == 0, exported.stderr
        assert len(json.loads(out.read_bytes())["entry"]) == len(before["resources"])
        line = one_line_refusal(run_carry("import", str(demo_dir / ELVINA), env=env))
        assert line == (
            f"carry: The record at {record_file} is read-only: it can be read, but changing it needs write access "
            "to the file and its folder."
        )
        with Record.open(record_file, PASSPHRASE) as record:
            assert record.read_only and snapshot(record) == before


def test_a_busy_record_gets_a_plain_sentence(tmp_path: Path, demo_dir: Path) -> None:
    record_file = tmp_path / "r.carry"
    with Record.create(record_file, PASSPHRASE) as record:
        before = snapshot(record)
        with record.write():  # another Carry holds the write lock for longer than carry waits (10 s)
            try:
                done = run_carry("import", str(demo_dir / KARENA), env=_env(record_file), timeout=60)
            except subprocess.TimeoutExpired:
                raise AssertionError("carry waited for the lock for ever") from None
        assert one_line_refusal(done) == "carry: The record is busy in another Carry window; try again in a moment."
        assert snapshot(record) == before
