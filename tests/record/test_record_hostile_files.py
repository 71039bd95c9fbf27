"""Files that are not what they seem: endless devices, pipes, giant files. Each ends in one plain sentence, fast,
without reading more than the limit and without changing the record; what the patient exports is theirs alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from support.cli import one_line_refusal, run_carry
from support.records import ELVINA, PASSPHRASE, snapshot

from app.record import ImportRefused, Record
from app.record.files import MAX_IMPORT_BYTES


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    record_file = tmp_path / "r.carry"
    Record.create(record_file, PASSPHRASE).close()
    return {"CARRY_RECORD": str(record_file), "CARRY_PASSPHRASE": PASSPHRASE}


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_symlink_to_an_endless_device_is_refused_at_once(
    tmp_path: Path, env: dict[str, str], demo_dir: Path, device: str
) -> None:
    link = tmp_path / "records.json"
    link.symlink_to(device)
    line = one_line_refusal(run_carry("import", str(link), env=env, timeout=60))
    assert line == "carry: records.json: not imported: it is a device, not a regular file."
    with Record.open(env["CARRY_RECORD"], PASSPHRASE) as record:
        assert record.count() == 0
        # A symlink to a regular file is still an ordinary import.
        (tmp_path / "mine.json").symlink_to(demo_dir / ELVINA)
        assert record.import_file(tmp_path / "mine.json").counts.imported > 0


def test_a_fifo_does_not_block_the_import(tmp_path: Path, env: dict[str, str]) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    # Nobody ever writes to the pipe: an import that opened it blocking would wait until the timeout.
    line = one_line_refusal(run_carry("import", str(fifo), env=env, timeout=60))
    assert line == "carry: pipe.json: not imported: it is a pipe (FIFO), not a regular file."


def test_a_file_over_the_size_limit_is_refused_without_reading_it(record: Record, tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as out:  # sparse: takes no disk, but says it holds more than the limit
        out.truncate(MAX_IMPORT_BYTES + 1)
    before = snapshot(record)
    with pytest.raises(ImportRefused) as caught:
        record.import_file(huge)
    assert str(caught.value) == "huge.json: not imported: it is larger than 16 GB, the most Carry imports from one file."
    assert snapshot(record) == before


def test_a_symlink_loop_is_refused(record: Record, tmp_path: Path) -> None:
    (tmp_path / "a.json").symlink_to(tmp_path / "b.json")
    (tmp_path / "b.json").symlink_to(tmp_path / "a.json")
    with pytest.raises(ImportRefused, match="^a.json: not imported: its symbolic links go round in a loop.$"):
        record.import_file(tmp_path / "a.json")


def test_export_out_is_readable_by_its_owner_only(tmp_path: Path, env: dict[str, str], demo_dir: Path) -> None:
    assert run_carry("import", str(demo_dir / ELVINA), env=env).returncode == 0
    out = tmp_path / "export.json"
    out.write_text("an older file anyone could read")
    out.chmod(0o644)
    done = run_carry("export", "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes().startswith(b'{"resourceType":"Bundle"')
    fresh = tmp_path / "fresh.json"
    assert run_carry("export", "--out", str(fresh), env=env).returncode == 0
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600


def test_a_file_name_that_is_not_utf8_imports_and_is_shown_plainly(
    tmp_path: Path, env: dict[str, str], demo_dir: Path
) -> None:
    # On Linux a file name is any bytes: this one has a CESU-8 surrogate, a stray 0xFF and an escape sequence.
    name = tmp_path / os.fsdecode(b"labs\xed\xa0\x80\xff\x1b[2J.json")
    name.write_bytes((demo_dir / ELVINA).read_bytes())
    done = run_carry("import", str(name), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("labs\ufffd\ufffd\ufffd\ufffd[2J.json: ")
    with Record.open(env["CARRY_RECORD"], PASSPHRASE) as record:
        (entry,) = record.audit_log(action="import")
    assert entry["detail"]["file"] == "labs\ufffd\ufffd\ufffd\ufffd[2J.json"
