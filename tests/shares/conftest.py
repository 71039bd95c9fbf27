"""Fixtures for the sharing service and CLI: records with demo patients, and Carry's own app server (the real
`carry serve`, in a subprocess on a free port) hosting the /shl routes from a data directory of the test's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from shares_support import HOSPITAL, CarryServer, make_record

from app.record import Record
from support.records import PASSPHRASE


@pytest.fixture(scope="session")
def elvina_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_record(tmp_path_factory.mktemp("template") / "elvina.carry", [*HOSPITAL, "Elvina_Lemke_*.json"])


@pytest.fixture
def elvina_path(tmp_path: Path, elvina_template: Path) -> Path:
    target = tmp_path / "elvina.carry"
    target.write_bytes(elvina_template.read_bytes())
    return target


@pytest.fixture
def elvina(elvina_path: Path) -> Iterator[Record]:
    record = Record.open(elvina_path, PASSPHRASE)
    yield record
    record.close()


@pytest.fixture(scope="module")
def carry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarryServer]:
    server = CarryServer(tmp_path_factory.mktemp("server"))
    yield server
    server.stop()
