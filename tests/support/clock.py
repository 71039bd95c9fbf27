"""A clock a test moves by hand, for code that takes `clock: Callable[[], float]`: waiting for a token or a link
to expire becomes `clock.advance(seconds)` instead of a sleep."""

from __future__ import annotations

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
