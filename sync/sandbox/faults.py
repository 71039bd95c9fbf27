"""Misbehaviour on request, so tests can see how a client copes with a portal having a bad day.

`faults.set(kind, resource_type=None, times=None, **params)` switches one on, for the whole server or one resource
type, for `times` requests (None: until `clear()`). Several can be on at once; the newest of a kind wins.

Transport faults (rate_limit, server_error, unavailable, slow, drop_connection, redirect) hit FHIR data requests (read,
search, next pages, Binary, create), not discovery, /metadata or the OAuth endpoints. Search faults (repeat_ids,
outcome_entry, foreign_next) change searchset Bundles. foreign_next and redirect point elsewhere: another `host`,
`port` or `scheme` (http <-> https), each defaulting to the server's own. Token faults (expire_token_early, revoke_refresh, token_field) act at
the token endpoint. rate_limit says how long to wait in one `header` style: "retry-after", "ratelimit" (the IETF
draft's `RateLimit: "default";r=0;t=N`), "ratelimit-old" (its older `limit=, remaining=, reset=`) or "x-ratelimit"
(X-RateLimit-Reset as an epoch moment). token_field sets one field of the token response to any JSON `value` (a number, an object).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "Faults"]

# kind -> the parameters it takes, with their defaults
FAULT_KINDS: dict[str, dict[str, Any]] = {
    "rate_limit": {"seconds": 1, "header": "retry-after"},
    "server_error": {},
    "unavailable": {"seconds": None},
    "slow": {"delay": 1.0},
    "drop_connection": {},
    "expire_token_early": {"seconds": 0},
    "revoke_refresh": {},
    "token_field": {"name": "patient", "value": None},
    "repeat_ids": {"count": 2},
    "outcome_entry": {},
    "foreign_next": {"host": "127.0.0.2", "port": None, "scheme": None},
    "redirect": {"host": None, "port": None, "scheme": None},
}


@dataclass(slots=True)
class Fault:
    kind: str
    resource_type: str | None
    times: int | None
    params: dict[str, Any] = field(default_factory=dict)

    def applies_to(self, resource_type: str | None) -> bool:
        return self.resource_type is None or self.resource_type == resource_type


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[Fault] = []

    def set(self, kind: str, *, resource_type: str | None = None, times: int | None = None, **params: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        allowed = FAULT_KINDS[kind]
        if kind == "slow" and "seconds" in params and "delay" not in params:
            params["delay"] = params.pop("seconds")
        unknown = set(params) - set(allowed)
        if unknown:
            raise ValueError(f"fault {kind!r} takes {sorted(allowed) or 'no parameters'}, not {sorted(unknown)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for until cleared)")
        with self._lock:
            self._active.append(Fault(kind, resource_type, times, {**allowed, **params}))

    def clear(self, kind: str | None = None) -> None:
        with self._lock:
            self._active = [f for f in self._active if kind is not None and f.kind != kind]

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._active)

    def take(self, kind: str, resource_type: str | None = None) -> Fault | None:
        """The fault of this kind that applies now, counting one use of it."""
        with self._lock:
            for fault in reversed(self._active):
                if fault.kind == kind and fault.applies_to(resource_type):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._active.remove(fault)
                    return fault
        return None
