"""Browser fixtures (see ui/browser_support.py): app servers and Debian's Chromium, module-scoped."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ui.browser_support import AppServer, build_record, chromium


@pytest.fixture(scope="module")
def make_server() -> Iterator[object]:
    servers: list[AppServer] = []
    root = Path(tempfile.mkdtemp(prefix="carry-ui-"))

    def make(files: list[str] | None = None, *, create: bool = True) -> AppServer:
        folder = root / f"s{len(servers)}"
        folder.mkdir()
        record = folder / "record.carry"
        if create:
            build_record(record, files or [])
        server = AppServer(record, folder / "config")
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


