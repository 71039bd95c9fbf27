"""Fixtures for the views' tests: a real record with a demo patient in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.records import ELVINA, PASSPHRASE

from app.record import Record


@pytest.fixture
def elvina(tmp_path: Path, demo_dir: Path) -> Iterator[Record]:
    """A new record holding one demo patient, Elvina, from a file."""
    record = Record.create(tmp_path / "record.carry", PASSPHRASE)
    record.import_file(demo_dir / ELVINA)
    yield record
    record.close()
