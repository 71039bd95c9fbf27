"""HttpClient's request slots: at most `concurrency` requests in flight, and a freed slot goes to the most urgent
waiting request (a search going on to its next page before a search starting), against the sandbox over HTTP."""

from __future__ import annotations

import asyncio

import pytest

from sync.http import HttpClient
from sync.sandbox import SandboxServer


@pytest.mark.asyncio
async def test_a_freed_slot_goes_to_the_lowest_priority_number_and_a_cancelled_wait_loses_nothing() -> None:
    with SandboxServer(latency=0.3) as portal:  # every FHIR request takes 0.3 s: long enough to queue others behind
        async with HttpClient(concurrency=1) as http:
            finished: list[str] = []

            async def get(name: str, priority: int) -> None:
                response = await http.get(f"{portal.base_url}/Patient/{name}", priority=priority)
                assert response.status == 401  # no token: refused, after the portal's delay
                finished.append(name)

            first = asyncio.create_task(get("first", 0))
            await asyncio.sleep(0.05)  # it holds the only slot
            starting = asyncio.create_task(get("starting", 1))
            await asyncio.sleep(0.01)
            abandoned = asyncio.create_task(get("abandoned", 0))
            going_on = asyncio.create_task(get("going-on", 0))
            await asyncio.sleep(0.01)
            abandoned.cancel()
            await asyncio.gather(first, starting, going_on)
            assert finished == ["first", "going-on", "starting"]
            assert abandoned.cancelled()
            # The slot was not lost with the cancelled wait: the next request goes through on its own.
            await asyncio.wait_for(get("after", 1), timeout=10)
            assert http.stats.requests == 4
