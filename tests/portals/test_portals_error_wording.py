"""The two ways Portals.sync refuses a source (disconnected, needs reconnecting) carry a code and an action, not
command-line syntax: the app words "connect again" as what to press, the command line as `carry connect URL`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.portal import connect_sandbox

from app.errors import cli_message, ui_message
from app.portals import PortalError, Portals
from app.record import Record
from app.ui.session import UiSession
from sync.errors import Action, CarryError
from sync.sandbox import SandboxServer
from sync.smart import NeedsReconnect

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.mark.asyncio
async def test_sync_refusals_are_worded_for_each_medium(tmp_path: Path, sandbox: SandboxServer) -> None:
    refused: list[CarryError] = []
    with Record.create(tmp_path / "record.carry", PASSPHRASE) as record:
        portals = Portals(record)
        conn = await connect_sandbox(portals, sandbox, "http://127.0.0.1:8123/oauth/callback")
        for status, expected in (("needs-reconnect", NeedsReconnect), ("disconnected", PortalError)):
            portals.state.set_status(conn.id, status, "the portal refused the saved access")
            with pytest.raises(expected) as caught:
                await portals.sync(conn.id)
            refused.append(caught.value)
    for exc in refused:
        assert exc.action is Action.RECONNECT and exc.fields["base_url"] == conn.base_url
        assert exc.code in {"portal.needs-reconnect", "portal.error"}
        for shown in (str(exc), ui_message(exc), UiSession.message_for(exc)):
            assert shown and "carry " not in shown and conn.name in shown, shown
        assert "Reconnect" in UiSession.message_for(exc)
        assert f"Run `carry connect {conn.base_url}`" in (cli_message(exc) or "")

    env = {**os.environ, "CARRY_RECORD": str(tmp_path / "record.carry"), "CARRY_PASSPHRASE": PASSPHRASE}
    refused_cli = subprocess.run([sys.executable, "-m", "app.cli", "sync", str(conn.id)], env=env,
                                 capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused_cli.returncode == 1
    assert f"is disconnected; connect it again to sync it. Run `carry connect {conn.base_url}`" in refused_cli.stderr
