"""Fixtures for record tests: real SQLCipher files in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.records import PASSPHRASE

from app.record import Record


@pytest.fixture
def record_path(tmp_path: Path) -> Path:
    return tmp_path / "vault" / "record.carry"


@pytest.fixture
def record(record_path: Path) -> Iterator[Record]:
    rec = Record.create(record_path, PASSPHRASE)
    yield rec
    rec.close()
