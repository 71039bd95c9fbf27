"""Token responses with fields of the wrong kind (a number or an object where SMART says text): a clear sentence,
and nothing in the record changes."""

from __future__ import annotations

import pytest
from sync_support import connect, login_for, snapshot, synced_once

from app.portals import Portals
from app.record import Record
from sync.sandbox import SandboxServer
from sync.smart import TokenError


@pytest.mark.asyncio
@pytest.mark.parametrize(("name", "value"), [("patient", 12345), ("patient", {"id": "x"}), ("refresh_token", ["a"]),
                                              ("access_token", 7), ("scope", {"a": 1})])  # fmt: skip
async def test_a_login_whose_token_answer_has_a_field_of_the_wrong_kind_is_refused_plainly(
    sandbox: SandboxServer, record: Record, name: str, value: object
) -> None:
    portals = Portals(record)
    sandbox.faults.set("token_field", times=1, name=name, value=value)
    with pytest.raises(TokenError, match=f"its {name} is not text") as caught:
        await connect(portals, sandbox, login_for(sandbox, "reyna"))
    assert str(caught.value).count(".") == 1  # one sentence
    assert portals.sources() == []


@pytest.mark.asyncio
async def test_a_refresh_whose_answer_has_a_field_of_the_wrong_kind_keeps_the_tokens(
    sandbox: SandboxServer, record: Record
) -> None:
    _login, portals, conn = await synced_once(sandbox, record, "reyna")
    with record.write() as cur:
        cur.execute("UPDATE portal_token SET expires_at = 0 WHERE source_id = ?", (conn.id,))
    before_tokens = portals.state.tokens(conn.id)
    before = snapshot(record, conn.id)
    sandbox.faults.set("token_field", times=1, name="refresh_token", value={"nested": True})
    with pytest.raises(TokenError, match="its refresh_token is not text"):
        await portals.sync(conn.id)
    assert portals.state.tokens(conn.id) == before_tokens and snapshot(record, conn.id) == before
    assert portals.source(conn.id).status == "connected"
