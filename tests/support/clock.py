"""A clock a test moves by hand, for code that takes `clock: Callable[[], float]`: waiting for a token or a link
to expire becomes `clock.advance(seconds)` instead of a sleep. For code that also takes `sleep` (an awaitable
wait, such as sync.http.HttpClient), `clock.sleep` moves the clock by the time asked instead of waiting it."""

from __future__ import annotations

import asyncio
import time

__all__ = ["TestClock"]


class TestClock:
    """`clock()` is the time (it starts at the real monotonic time); `advance(seconds)` moves it on."""

    __test__ = False  # not a test class, whatever its name says

    def __init__(self, start: float | None = None) -> None:
        self.now = time.monotonic() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """What `asyncio.sleep` would wait, passed at once: the clock moves on, other tasks get their turn."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
