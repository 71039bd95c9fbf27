"""What the on-demand campaigns (kills, faults) share: the sandbox on 127.0.0.1, a record connected to it as a demo
patient, `carry sync` as its own process, and what a record holds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.portals import Portals
from app.record import Record
from support.portal import log_in_async
from sync.sandbox import Login, SandboxServer

__all__ = ["PASSPHRASE", "carry_sync", "connected_record", "contents", "log_in", "sandbox", "sync_env"]

PASSPHRASE = "campaign passphrase"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


def sync_env() -> dict[str, str]:
    return {**os.environ, "CARRY_PASSPHRASE": PASSPHRASE, "CARRY_NO_BROWSER": "1"}


def connected_record(sandbox: SandboxServer, path: Path, username: str) -> None:
    """A new record at `path`, connected to the sandbox as `username` and not yet synced."""
    login = next(login for login in sandbox.logins if login.username == username)

    async def connect() -> None:
        with Record.create(path, PASSPHRASE) as record:
            await log_in(Portals(record), sandbox, login)

    asyncio.run(connect())


async def log_in(portals: Portals, sandbox: SandboxServer, login: Login) -> None:
    """Connect (or reconnect) to the sandbox as `login`, through its login and consent pages."""
    pending = await portals.begin_connect(sandbox.base_url, "http://127.0.0.1:8123/oauth/callback")
    location = await log_in_async(pending.authorize_url, login.username, login.password)
    await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))


def contents(path: Path) -> tuple[dict[tuple[str, str], str], int]:
    """(type, id) -> content hash of every resource, and the number of sync checkpoints left."""
    with Record.open(path, PASSPHRASE) as record:
        rows = record.read("SELECT type, id, hash FROM resource")
        checkpoints = record.read("SELECT count(*) FROM sync_checkpoint")[0][0]
    return {(t, i): h for t, i, h in rows}, checkpoints


def carry_sync(path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "sync", "--record", str(path), *args],
        capture_output=True, text=True, env=sync_env(), timeout=timeout,
    )  # fmt: skip


