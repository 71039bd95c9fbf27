"""Resources the sandbox no longer serves: a full sync marks them removed at the source (an incremental one, under
_lastUpdated, cannot tell), and a resource served again is current again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_support import PASSPHRASE, connect, login_for

from app.portals import Portals
from app.record import Record
from sync.sandbox import SandboxServer


@pytest.fixture
def own_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:  # its own: this test deletes data
        yield server


@pytest.mark.asyncio
async def test_a_full_sync_marks_what_the_sandbox_deleted_and_a_return_undoes_it(own_sandbox: SandboxServer, tmp_path: Path) -> None:
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        login = login_for(own_sandbox, "reyna")
        portals = Portals(record)
        conn = await connect(portals, own_sandbox, login)
        await portals.sync(conn.id)
        gone = own_sandbox.store.for_patient(login.patient_id, "Condition")[0]
        own_sandbox.store.delete("Condition", gone["id"])
        assert (await portals.sync(conn.id)).types["Condition"].removed == 0  # incremental: not noticed yet
        report = await portals.sync(conn.id, full=True)
        assert report.types["Condition"].removed == 1
        assert gone["id"] not in {r.id for r in record.rows("Condition", source_id=conn.id)}
        own_sandbox.store.put(gone)
        report = await portals.sync(conn.id, full=True)
        assert report.types["Condition"].removed == 0
        assert gone["id"] in {r.id for r in record.rows("Condition", source_id=conn.id)}
