"""One OAuth loopback receiver (issue 14 item 6): the listener the CLI waits on for one login also serves the desktop
window, handing every callback to the session that began it (app.ui.context.ConnectCallbacks), on 127.0.0.1 only."""

from __future__ import annotations

import httpx
import pytest

from app.ui.context import ConnectCallbacks
from sync.smart import CALLBACK_PATH, LoopbackListener


@pytest.mark.asyncio
async def test_the_desktop_window_receives_each_login_through_the_same_listener() -> None:
    callbacks = ConnectCallbacks()
    received: list[dict[str, str]] = []

    async def session(params: dict[str, str]) -> str:
        received.append(params)
        return "Connected to <Springfield Clinic>."

    callbacks.expect("state-one", session)
    async with LoopbackListener(deliver=callbacks.deliver) as listener, httpx.AsyncClient(timeout=10) as client:
        base = f"http://127.0.0.1:{listener.port}"
        assert listener.redirect_uri == base + CALLBACK_PATH
        done = await client.get(base + CALLBACK_PATH, params={"state": "state-one", "code": "c-1"})
        assert done.status_code == 200 and "Connected to &lt;Springfield Clinic&gt;." in done.text
        assert received == [{"state": "state-one", "code": "c-1"}]

        again = await client.get(base + CALLBACK_PATH, params={"state": "state-one", "code": "c-2"})  # used already
        assert again.status_code == 400 and "not one Carry is waiting for" in again.text
        no_state = await client.get(base + CALLBACK_PATH, params={"code": "c-3"})
        assert no_state.status_code == 400 and "needs a state" in no_state.text

        callbacks.expect("state-two", session)
        for stray in (
            client.get(base + CALLBACK_PATH, params={"state": "state-two"}, headers={"Host": "attacker.example"}),
            client.post(base + CALLBACK_PATH, params={"state": "state-two"}),
            client.get(base + "/elsewhere", params={"state": "state-two"}),
        ):
            assert (await stray).status_code == 404
        assert len(received) == 1 and callbacks.waiting() == 1  # the strays left the second login waiting
