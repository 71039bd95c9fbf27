"""Short access tokens (a minute) are used for most of their life: refreshed when a tenth of it is left, not before
every request; the age of a token kept in the record counts from when it was saved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sync_support import connect, login_for

from app.portals import Portals
from app.record import Record
from sync.sandbox import SandboxServer


@pytest.fixture(scope="module")
def minute_portal() -> Iterator[SandboxServer]:
    with SandboxServer(access_token_lifetime=60) as server:
        yield server


@pytest.mark.asyncio
async def test_a_sixty_second_token_is_not_refreshed_per_request(minute_portal: SandboxServer, record: Record) -> None:
    portals = Portals(record)
    conn = await connect(portals, minute_portal, login_for(minute_portal, "elvina"))
    report = await portals.sync(conn.id)
    assert report.outcome == "complete" and report.requests > 20
    assert report.refreshes == 0, report.as_json()

    # 55 seconds later (less than a tenth of its life left), one refresh, and the new token lasts the sync.
    with record.write() as cur:
        cur.execute(
            "UPDATE portal_token SET expires_at = expires_at - 55, "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', updated_at, '-55 seconds') WHERE source_id = ?",
            (conn.id,),
        )
    report = await portals.sync(conn.id, full=True)
    assert report.outcome == "complete" and report.refreshes == 1, report.as_json()
