"""Throttling as portals announce it: Retry-After, the IETF draft's RateLimit headers (new and old form) and
X-RateLimit-Reset; the wait holds back every request to that server, and a portal that keeps refusing ends the sync
with one plain sentence, to be resumed by the next."""

from __future__ import annotations

import asyncio
import time

import pytest
from support.clock import TestClock
from sync_support import connect, login_for, snapshot, synced_once

from app.portals import Portals
from app.record import Record
from sync.http import Bearer, HttpClient
from sync.sandbox import SandboxServer


async def _bearer(sandbox: SandboxServer, record: Record) -> tuple[Bearer, str]:
    portals = Portals(record)
    conn = await connect(portals, sandbox, login_for(sandbox, "reyna"))
    tokens = portals.state.tokens(conn.id)
    assert tokens is not None
    return Bearer(sandbox.base_url, tokens.access_token), conn.patient_id


@pytest.mark.asyncio
@pytest.mark.parametrize("header", ["ratelimit", "ratelimit-old", "x-ratelimit"])
async def test_the_wait_the_portal_asks_for_is_honoured_whatever_header_says_it(
    sandbox: SandboxServer, record: Record, header: str
) -> None:
    bearer, patient = await _bearer(sandbox, record)
    sandbox.faults.set("rate_limit", times=1, seconds=2, header=header)
    clock = TestClock()  # the client's waits pass on it (the test below waits for real)
    async with HttpClient(clock=clock, sleep=clock.sleep) as http:
        started = clock()
        response = await http.get(f"{sandbox.base_url}/Condition?patient={patient}", bearer=bearer)
        waited = clock() - started
    assert response.status == 200 and http.stats.retries == 1
    assert 1.9 <= waited <= 3.0, waited  # the two seconds asked (X-RateLimit-Reset's whole second rounds up)


@pytest.mark.asyncio
async def test_a_slow_down_holds_back_every_request_to_that_portal(sandbox: SandboxServer, record: Record) -> None:
    bearer, patient = await _bearer(sandbox, record)
    sandbox.faults.set("rate_limit", resource_type="Condition", times=1, seconds=2, header="ratelimit")
    async with HttpClient() as http:
        started = time.monotonic()
        told = asyncio.create_task(http.get(f"{sandbox.base_url}/Condition?patient={patient}", bearer=bearer))
        for _ in range(1000):  # until the 429 has come back (its wait is then known), not a guessed half second
            if http.stats.retries:
                break
            await asyncio.sleep(0.005)
        assert http.stats.retries == 1
        other = await http.get(f"{sandbox.base_url}/Patient/{patient}", bearer=bearer)
        other_done = time.monotonic() - started
        assert (await told).status == 200 and other.status == 200
    assert other_done >= 1.9, other_done


@pytest.mark.asyncio
async def test_a_portal_that_keeps_refusing_ends_the_sync_in_one_sentence_and_the_next_sync_resumes(
    sandbox: SandboxServer, record: Record
) -> None:
    login, portals, conn = await synced_once(sandbox, record, "reyna")
    complete = snapshot(record, conn.id)
    with record.write() as cur:  # the patient's data is gone from the record, to be fetched again
        cur.execute("DELETE FROM resource_fts WHERE rowid IN (SELECT rowid FROM resource WHERE source_id = ? AND type = 'Condition')", (conn.id,))
        cur.execute("DELETE FROM resource WHERE source_id = ? AND type = 'Condition'", (conn.id,))
    sandbox.faults.set("rate_limit", resource_type="Condition", seconds=0, header="ratelimit")
    report = await portals.sync(conn.id, full=True)
    assert report.outcome == "incomplete"
    assert report.message and "slow down" in report.message and report.message.count(".") == 1
    assert not any("{" in reason or "429" in reason for t in report.types.values() for reason in t.refused)
    sandbox.faults.clear()
    report = await portals.sync(conn.id)
    assert report.outcome == "complete" and report.resumed
    assert snapshot(record, conn.id) == complete


@pytest.mark.asyncio
@pytest.mark.parametrize("header", ["retry-after", "ratelimit"])
async def test_a_portal_asking_for_an_hour_ends_the_sync_at_once_and_the_next_sync_resumes(
    sandbox: SandboxServer, record: Record, header: str
) -> None:
    # Longer than Carry waits within one sync (two minutes): sitting out the cap on every retry would keep the
    # patient in front of a sync that cannot finish for ten minutes.
    login, portals, conn = await synced_once(sandbox, record, "reyna")
    complete = snapshot(record, conn.id)
    with record.write() as cur:  # the Conditions are gone from the record, to be fetched again
        cur.execute("DELETE FROM resource_fts WHERE rowid IN (SELECT rowid FROM resource WHERE source_id = ? AND type = 'Condition')", (conn.id,))
        cur.execute("DELETE FROM resource WHERE source_id = ? AND type = 'Condition'", (conn.id,))
    sandbox.faults.set("rate_limit", resource_type="Condition", seconds=3600, header=header)
    started = time.monotonic()
    report = await asyncio.wait_for(portals.sync(conn.id, full=True), timeout=90)
    assert time.monotonic() - started < 30
    assert report.outcome == "incomplete"
    assert report.message and "slow down" in report.message and report.message.count(".") == 1
    sandbox.faults.clear()
    report = await portals.sync(conn.id)
    assert report.outcome == "complete" and report.resumed
    assert snapshot(record, conn.id) == complete
