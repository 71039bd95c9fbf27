"""The authorization server's state: requests waiting for login and consent, codes, grants and tokens.

Everything here is in memory and guarded by one lock. Codes, tokens and request ids are random (secrets module)
and never appear in a repr. A grant is what the patient approved for one app; its access and refresh tokens all
die with it (revocation, a replayed refresh token, a replayed code).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .clients import ClientRegistration
from .scopes import Access

__all__ = [
    "CODE_LIFETIME",
    "MAX_LOGIN_FAILURES",
    "REQUEST_LIFETIME",
    "AccessToken",
    "AuthorizationCode",
    "Grant",
    "Grants",
    "PendingAuthorization",
    "RefreshToken",
    "s256",
]

CODE_LIFETIME = 60.0
REQUEST_LIFETIME = 600.0
MAX_LOGIN_FAILURES = 5


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(slots=True)
class PendingAuthorization:
    id: str = field(repr=False)
    client: ClientRegistration
    redirect_uri: str
    state: str = field(repr=False)
    requested: Access
    aud: str
    code_challenge: str = field(repr=False)
    nonce: str | None = field(repr=False)
    session: str = field(repr=False)
    created: float
    patient_id: str | None = None
    failures: int = 0


@dataclass(slots=True)
class AuthorizationCode:
    code: str = field(repr=False)
    client_id: str
    redirect_uri: str
    code_challenge: str = field(repr=False)
    access: Access
    patient_id: str
    aud: str
    nonce: str | None = field(repr=False)
    expires_at: float
    used: bool = False
    grant_id: str | None = None


@dataclass(slots=True)
class Grant:
    id: str
    client_id: str
    client_name: str
    patient_id: str
    access: Access
    aud: str
    created: float
    revoked: bool = False


@dataclass(slots=True)
class AccessToken:
    token: str = field(repr=False)
    grant_id: str
    access: Access
    patient_id: str
    client_id: str
    aud: str
    issued_at: float
    expires_at: float


@dataclass(slots=True)
class RefreshToken:
    token: str = field(repr=False)
    grant_id: str
    access: Access
    used: bool = False


class Grants:
    """Pending logins, codes, grants and tokens. `clock` (monotonic seconds) decides when codes and access tokens
    expire: tests give one they advance instead of sleeping."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.pending: dict[str, PendingAuthorization] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}

    # --- authorize ---------------------------------------------------------------------------------------------

    def add_pending(self, pending: PendingAuthorization) -> None:
        with self.lock:
            now = self.clock()
            for key in [k for k, p in self.pending.items() if now - p.created > REQUEST_LIFETIME]:
                del self.pending[key]
            self.pending[pending.id] = pending

    def get_pending(self, request_id: str, session: str | None) -> PendingAuthorization | None:
        with self.lock:
            pending = self.pending.get(request_id)
            if pending is None or self.clock() - pending.created > REQUEST_LIFETIME:
                return None
            if session is None or not secrets.compare_digest(pending.session, session):
                return None
            return pending

    def drop_pending(self, request_id: str) -> None:
        with self.lock:
            self.pending.pop(request_id, None)

    def issue_code(self, pending: PendingAuthorization, access: Access, lifetime: float = CODE_LIFETIME) -> str:
        assert pending.patient_id is not None
        code = secrets.token_urlsafe(32)
        with self.lock:
            self.pending.pop(pending.id, None)
            self.codes[code] = AuthorizationCode(
                code,
                pending.client.client_id,
                pending.redirect_uri,
                pending.code_challenge,
                access,
                pending.patient_id,
                pending.aud,
                pending.nonce,
                self.clock() + lifetime,
            )
        return code

    # --- tokens ------------------------------------------------------------------------------------------------

    def new_grant(self, client: ClientRegistration, patient_id: str, access: Access, aud: str) -> Grant:
        grant = Grant(secrets.token_urlsafe(12), client.client_id, client.display_name, patient_id, access, aud, time.time())
        with self.lock:
            self.grants[grant.id] = grant
        return grant

    def new_access_token(self, grant: Grant, access: Access, lifetime: float) -> AccessToken:
        now = self.clock()
        token = AccessToken(
            secrets.token_urlsafe(32), grant.id, access, grant.patient_id, grant.client_id, grant.aud, now, now + lifetime
        )
        with self.lock:
            self.access_tokens[token.token] = token
        return token

    def new_refresh_token(self, grant: Grant, access: Access) -> RefreshToken:
        token = RefreshToken(secrets.token_urlsafe(32), grant.id, access)
        with self.lock:
            self.refresh_tokens[token.token] = token
        return token

    def revoke_grant(self, grant_id: str) -> None:
        with self.lock:
            grant = self.grants.get(grant_id)
            if grant is not None:
                grant.revoked = True
            for key in [k for k, t in self.access_tokens.items() if t.grant_id == grant_id]:
                del self.access_tokens[key]
            for key in [k for k, t in self.refresh_tokens.items() if t.grant_id == grant_id]:
                del self.refresh_tokens[key]

    def live_grant(self, grant_id: str) -> Grant | None:
        grant = self.grants.get(grant_id)
        return grant if grant is not None and not grant.revoked else None

    def check_access_token(self, token: str) -> AccessToken | None:
        with self.lock:
            found = self.access_tokens.get(token)
            if found is None:
                return None
            if self.clock() >= found.expires_at or self.live_grant(found.grant_id) is None:
                return None
            return found

    def grants_of(self, patient_id: str) -> list[Grant]:
        with self.lock:
            return [g for g in self.grants.values() if g.patient_id == patient_id and not g.revoked]
