"""The app's built-in demo hospital on day two: its address is stable, so after Carry restarts, the hospital is
started again at its source's saved address, the source says honestly that it needs connecting again, and trying
the demo again renews the same source instead of adding "Demo hospital (2)"."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from support.ports import free_port
from sync_support import PASSPHRASE, connect, login_for

from app.portals import Portals
from app.record import Record
from app.ui.context import DemoHospital
from sync.smart import NeedsReconnect



@pytest.mark.asyncio
async def test_the_demo_hospital_keeps_its_address_across_a_restart(tmp_path: Path) -> None:
    port = free_port()
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        portals = Portals(record)
        before = DemoHospital(port=port)
        sandbox = before.start()
        assert sandbox.port == port
        conn = await connect(portals, sandbox, login_for(sandbox, "reyna"))
        assert (await portals.sync(conn.id)).outcome == "complete"
        before.stop()  # Carry quits; the demo hospital goes with it

        after = DemoHospital(port=port)  # Carry starts again
        after.serve(conn.base_url)  # what "Sync now" does first for a demo source
        try:
            # The hospital is back at the same address; it forgot the grant it gave (it keeps none on disk), so the
            # source says it needs connecting again, not "Connected" over a sync that fails for ever.
            with pytest.raises(NeedsReconnect):
                await portals.sync(conn.id)
            assert portals.source(conn.id).status == "needs-reconnect"
            # Trying the demo again renews the same source: no "Demo hospital (2)", no item "from 2 sources".
            again = await connect(portals, after.start(), login_for(after.start(), "reyna"))
            assert again.id == conn.id and [s.name for s in portals.sources()] == [conn.name]
            assert (await portals.sync(again.id)).outcome == "complete"
        finally:
            after.stop()


def test_a_taken_demo_port_falls_back_for_a_new_demo_but_not_for_a_saved_one() -> None:
    from sync.sandbox import SandboxError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        fresh = DemoHospital(port=port)
        try:
            assert fresh.start().port != port
        finally:
            fresh.stop()
        with pytest.raises(SandboxError):
            DemoHospital().start(port)


def test_a_demo_hospital_another_program_runs_at_the_saved_address_is_synced_from_not_refused() -> None:
    from sync.sandbox import SandboxServer

    # `carry sandbox` in a terminal (or another Carry) holds the saved address: the sync goes to it.
    with SandboxServer() as elsewhere:
        here = DemoHospital()
        assert here.serve(elsewhere.base_url) and not here.running
    # Another program holds it and answers nothing (or not as the demo hospital): the sync says so.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        assert not DemoHospital().serve(f"http://127.0.0.1:{taken.getsockname()[1]}/fhir")
    # A portal that is not on this machine is not Carry's to start: the sync reaches it or says why.
    assert DemoHospital().serve("https://launch.smarthealthit.org/v/r4/fhir")
