"""Fixtures for importer tests: a real record, and a real HTTP server on 127.0.0.1 for issuers' key sets."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from support.records import PASSPHRASE, snapshot
from support.servers import serving

from app.record import ImportRefused, Record
from app.record.imports import import_path


@pytest.fixture
def record(tmp_path: Path) -> Iterator[Record]:
    opened = Record.create(tmp_path / "record.carry", PASSPHRASE)
    yield opened
    opened.close()


def refusal(record: Record, path: Path) -> str:
    """The message `carry import` refuses `path` with; fails the test if anything in the record changed."""
    before = snapshot(record)
    with pytest.raises(ImportRefused) as refused:
        import_path(record, path, online=False)
    assert snapshot(record) == before
    return str(refused.value)


@dataclass
class Files:
    """Paths served as fixed bodies, and every path asked for (to see what was fetched)."""

    base: str = ""
    bodies: dict[str, bytes] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)


@pytest.fixture
def issuer_server() -> Iterator[Files]:
    files = Files()

    class Serve(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            files.asked.append(self.path)
            body = files.bodies.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Serve) as files.base:
        yield files
