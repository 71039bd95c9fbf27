"""Fixtures for the sync tests: the sandbox portal over real HTTP, records in tmp_path, a scripted login."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.portals import Connection, Portals
from app.record import Record
from support.portal import log_in_async
from sync.sandbox import Login, SandboxServer

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_faults(sandbox: SandboxServer) -> Iterator[None]:
    sandbox.faults.clear()
    yield
    sandbox.faults.clear()


@pytest.fixture
def record(tmp_path: Path) -> Iterator[Record]:
    rec = Record.create(tmp_path / "record.carry", PASSPHRASE)
    yield rec
    rec.close()


def login_for(sandbox: SandboxServer, username: str = "elvina") -> Login:
    return next(login for login in sandbox.logins if login.username == username)


async def connect(portals: Portals, sandbox: SandboxServer, login: Login, **kwargs: object) -> Connection:
    """A full standalone launch with the sandbox's login and consent pages, as the web app would drive it."""
    pending = await portals.begin_connect(sandbox.base_url, "http://127.0.0.1:8123/oauth/callback", **kwargs)  # type: ignore[arg-type]
    location = await log_in_async(pending.authorize_url, login.username, login.password)
    return await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))


async def synced_once(sandbox: SandboxServer, record: Record, username: str) -> tuple[Login, Portals, Connection]:
    """The record connected to the sandbox as `username` and synced once: where most sync tests start."""
    login = login_for(sandbox, username)
    portals = Portals(record)
    conn = await connect(portals, sandbox, login)
    await portals.sync(conn.id)
    return login, portals, conn


def snapshot(record: Record, source_id: int) -> dict[tuple[str, str], str]:
    """(type, id) -> content hash of everything the record holds from one source."""
    rows = record.read("SELECT type, id, hash FROM resource WHERE source_id = ?", [source_id])
    return {(t, i): h for t, i, h in rows}
