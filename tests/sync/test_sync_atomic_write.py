"""The one atomic-write helper (issue 14 item 6): what it writes is the owner's only (0600, whatever the umask),
and a write that fails half-way leaves the old file as it was and no partial file behind."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.atomic import atomic_writer, write_atomic


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)  # the most permissive umask: the helper must not rely on it
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_a_new_and_a_replaced_file_are_the_owners_only(tmp_path: Path) -> None:
    target = tmp_path / "export.ndjson"
    write_atomic(target, b'{"resourceType": "Patient"}\n')
    assert target.read_bytes() == b'{"resourceType": "Patient"}\n' and _mode(target) == 0o600
    target.chmod(0o644)  # an older file others could read is replaced by one they cannot
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second" and _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["export.ndjson"]


def test_a_write_that_fails_half_way_changes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "summary.pdf"
    write_atomic(target, b"the old summary")
    with pytest.raises(RuntimeError, match="half-way"), atomic_writer(target) as out:
        out.write(b"the first half of the new one")
        partial = [p for p in tmp_path.iterdir() if p != target]
        assert len(partial) == 1 and _mode(partial[0]) == 0o600  # private while it is being written, too
        raise RuntimeError("failed half-way")
    assert target.read_bytes() == b"the old summary"
    assert list(tmp_path.iterdir()) == [target]


def test_a_directory_that_is_not_there_is_an_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "export.ndjson", b"data")
    assert list(tmp_path.iterdir()) == []
