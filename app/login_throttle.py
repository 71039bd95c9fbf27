"""How often the server's login may be tried: per client and in total, with a growing wait (issue 13, finding 4).

An attempt is counted when it *starts*, before the password is hashed, so a burst of parallel guesses cannot slip
past the limit while the first ones are still being checked; a right password takes its own attempt back.
Every client gets `per_client` free tries, then waits 5, 10, 20 … seconds (at most `max_wait`) between tries; the
whole server accepts at most `global_limit` failed tries a `window`, whichever clients send them, so an attacker
with many addresses is slowed as well. The owner's right password is accepted again once the wait is over.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LoginThrottle"]


@dataclass
class _Client:
    failures: int = 0
    last: float = 0.0


class LoginThrottle:
    """Thread-safe attempt counting for one server process."""

    def __init__(
        self,
        *,
        per_client: int = 5,
        global_limit: int = 30,
        window: float = 60.0,
        first_wait: float = 5.0,
        max_wait: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client = per_client
        self.global_limit = global_limit
        self.window = window
        self.first_wait = first_wait
        self.max_wait = max_wait
        self.clock = clock
        self._clients: dict[str, _Client] = {}
        self._recent: deque[float] = deque()  # when the server-wide failed (or pending) tries happened
        self._lock = threading.Lock()

    def begin(self, client: str) -> float:
        """Take an attempt for `client`: 0 when it may go ahead (then call `succeeded` or leave it counted as a
        failure), else the seconds it must wait first (nothing is counted then)."""
        with self._lock:
            now = self.clock()
            while self._recent and now - self._recent[0] >= self.window:
                self._recent.popleft()
            state = self._clients.setdefault(client, _Client())
            wait = 0.0
            if state.failures >= self.per_client:
                backoff = min(self.first_wait * 2.0 ** (state.failures - self.per_client), self.max_wait)
                wait = max(wait, state.last + backoff - now)
            if len(self._recent) >= self.global_limit:
                wait = max(wait, self._recent[0] + self.window - now)
            if wait > 0:
                return math.ceil(wait)
            state.failures += 1
            state.last = now
            self._recent.append(now)
            self._forget_old(now)
            return 0.0

    def succeeded(self, client: str) -> None:
        """The attempt `begin` took was the right password: the client starts afresh and the try is not held
        against the server-wide count."""
        with self._lock:
            state = self._clients.pop(client, None)
            if state is not None and self._recent:
                self._recent.pop()

    def _forget_old(self, now: float) -> None:
        if len(self._clients) > 10_000:  # bounded memory under a flood of addresses
            stale = [c for c, s in self._clients.items() if now - s.last > self.max_wait]
            for client in stale:
                del self._clients[client]
