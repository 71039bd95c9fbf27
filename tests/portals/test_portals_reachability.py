"""A source never claims "Connected" over a server that did not answer (issue 17 item 9): the record keeps why the
last try failed until the server answers again, and `carry sources` says so beside when it was last reached."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.portal import connect_sandbox

from app.portals import PortalError, Portals
from app.record import Record
from sync.sandbox import SandboxServer

PASSPHRASE = "correct horse battery staple"
REDIRECT = "http://127.0.0.1:8123/oauth/callback"


@pytest.mark.asyncio
async def test_an_unreachable_server_is_noted_until_it_answers_again(tmp_path: Path) -> None:
    path = tmp_path / "record.carry"
    sandbox = SandboxServer().start()
    try:
        with Record.create(path, PASSPHRASE) as record:
            portals = Portals(record)
            conn = await connect_sandbox(portals, sandbox, REDIRECT)
            assert (await portals.sync(conn.id)).outcome == "complete"
            synced = portals.source(conn.id)
            assert synced.reached and synced.last_sync

            sandbox.stop()  # the portal goes away
            with pytest.raises(PortalError, match="could not be reached"):
                await portals.sync(conn.id)
            gone = portals.source(conn.id)
            assert gone.status == "connected" and not gone.reached
            assert gone.status_reason and "could not be reached" in gone.status_reason
            assert gone.last_sync == synced.last_sync  # when it was last reached stays as it was

        env = {**os.environ, "CARRY_RECORD": str(path), "CARRY_PASSPHRASE": PASSPHRASE}
        out = subprocess.run([sys.executable, "-m", "app.cli", "sources"], env=env, capture_output=True, text=True,
                             timeout=60)  # fmt: skip
        assert out.returncode == 0, out.stderr
        assert "NOT REACHED last time" in out.stdout and f"last sync {synced.last_sync}" in out.stdout

        sandbox.start()  # back at the same address, with the grant it gave
        with Record.open(path, PASSPHRASE) as record:
            portals = Portals(record)
            assert (await portals.sync(conn.id)).outcome == "complete"
            assert portals.source(conn.id).reached
    finally:
        sandbox.stop()
