"""Tokens as Carry holds them, the Protocol through which they are persisted, and the session that keeps the
access token fresh (refreshing before expiry and after a 401, one refresh at a time)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from .errors import NeedsReconnect, TokenError

__all__ = ["TokenSession", "TokenSet", "TokenStore"]

REFRESH_LEEWAY = 60.0  # refresh at most this many seconds before the access token expires...
REFRESH_SHARE = 0.1  # ...and at most this share of its lifetime before (a 60-second token lives 54 seconds)


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    token_type: str = "Bearer"
    expires_at: float | None = None  # epoch seconds
    scope: str = ""
    patient: str | None = None
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    issued_at: float | None = None  # epoch seconds; with expires_at, how long the token lives

    @classmethod
    def from_response(cls, data: Mapping[str, Any], *, previous: TokenSet | None = None, now: float | None = None) -> TokenSet:
        now = time.time() if now is None else now
        for name in ("access_token", "token_type", "scope", "patient", "refresh_token", "id_token"):
            value = data.get(name)
            if value is not None and not isinstance(value, str) or (name == "access_token" and not value):
                raise TokenError(
                    f"The portal's token response is not usable: its {name} is "
                    f"{'missing' if value is None or value == '' else 'not text'}; nothing was changed.",
                    oauth_error="format",
                )
        expires_in = data.get("expires_in")
        expires_at: float | None = None
        if isinstance(expires_in, (int, float)) or (isinstance(expires_in, str) and expires_in.isdigit()):
            expires_at = now + float(expires_in)
        elif isinstance(data.get("expires_at"), (int, float)):
            expires_at = float(data["expires_at"])
        # A refresh response may omit what did not change (scope, refresh token, patient): keep the old values.
        return cls(
            access_token=str(data["access_token"]),
            token_type=str(data.get("token_type") or "Bearer"),
            expires_at=expires_at,
            scope=str(data.get("scope") or (previous.scope if previous else "")),
            patient=data.get("patient") or (previous.patient if previous else None),
            refresh_token=data.get("refresh_token") or (previous.refresh_token if previous else None),
            id_token=data.get("id_token") or (previous.id_token if previous else None),
            issued_at=now,
        )

    @property
    def leeway(self) -> float:
        """How long before expiry to refresh: min(60 s, 10 % of the lifetime), so short tokens are used, not
        refreshed before every request."""
        if self.expires_at is None or self.issued_at is None:
            return REFRESH_LEEWAY
        return max(0.0, min(REFRESH_LEEWAY, REFRESH_SHARE * (self.expires_at - self.issued_at)))

    def expires_soon(self, leeway: float | None = None, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) >= self.expires_at - (self.leeway if leeway is None else leeway)


class TokenStore(Protocol):
    """Where a source's tokens are kept (the encrypted record). `save_tokens` must replace them atomically."""

    def save_tokens(self, tokens: TokenSet) -> None: ...

    def mark_needs_reconnect(self, reason: str) -> None: ...


Refresher = Callable[[str], Awaitable[TokenSet]]
Renewer = Callable[[], Awaitable[TokenSet]]


class TokenSession:
    """The current access token of one connected source.

    `refresher(refresh_token)` asks the portal for new tokens (sync.smart.oauth.refresh bound to the client); it
    raises NeedsReconnect when the portal refuses the refresh token. A device client (sync.smart.device) passes
    `renew` instead: it needs no refresh token, only its key.
    """

    def __init__(
        self, tokens: TokenSet, store: TokenStore, refresher: Refresher | None, *, renew: Renewer | None = None
    ) -> None:
        self._tokens = tokens
        self._store = store
        self._refresher = refresher
        self._renew = renew
        self._lock = asyncio.Lock()
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"<TokenSession patient={self._tokens.patient!r}>"

    @property
    def tokens(self) -> TokenSet:
        return self._tokens

    async def access_token(self) -> str:
        if self._tokens.expires_soon():
            await self.refresh(stale=self._tokens.access_token)
        return self._tokens.access_token

    async def refresh(self, *, stale: str) -> str:
        """New tokens, unless another task already replaced `stale` while this one waited for the lock."""
        async with self._lock:
            if self._tokens.access_token != stale:
                return self._tokens.access_token
            current = self._tokens
            if self._renew is None and (not current.refresh_token or self._refresher is None):
                reason = "The portal gave Carry no refresh token, so the connection ended when the access expired."
                await asyncio.to_thread(self._store.mark_needs_reconnect, reason)
                raise NeedsReconnect(reason + " Connect again to continue.")
            try:
                if self._renew is not None:
                    fresh = await self._renew()
                else:
                    assert self._refresher is not None and current.refresh_token
                    fresh = await self._refresher(current.refresh_token)
            except NeedsReconnect as exc:
                await asyncio.to_thread(self._store.mark_needs_reconnect, str(exc))
                raise
            fresh = replace(
                fresh,
                refresh_token=fresh.refresh_token or current.refresh_token,
                patient=fresh.patient or current.patient,
                scope=fresh.scope or current.scope,
            )
            # The rotated refresh token replaces the old one in one transaction before it is used anywhere.
            await asyncio.to_thread(self._store.save_tokens, fresh)
            self._tokens = fresh
            self.refreshes += 1
            return fresh.access_token
