"""A standalone launch from start to end, minus persistence: the parts app.portals strings together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..http import HttpClient, NetworkError
from .errors import AuthorizationError
from .idtoken import verify_id_token
from .oauth import PendingAuthorization, callback_code, exchange_code
from .scopes import GrantedScope
from .tokens import TokenSet

__all__ = ["Authorization", "check_authorize_url", "complete_authorization"]


@dataclass(frozen=True)
class Authorization:
    """What a finished login gives: tokens, the patient they are for, and the id_token's claims when verified."""

    tokens: TokenSet = field(repr=False)
    patient_id: str
    granted: GrantedScope
    claims: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def fhir_user(self) -> str | None:
        value = self.claims.get("fhirUser") or self.claims.get("profile")
        return value if isinstance(value, str) else None


async def check_authorize_url(http: HttpClient, pending: PendingAuthorization) -> None:
    """Ask for the login page once before the browser does, to catch a portal that refuses Carry's redirect URI
    (many match it exactly, port included) while Carry can still say so; a browser would only show the portal's
    error page, and Carry would wait for a callback that never comes. Other answers are left to the browser."""
    try:
        response = await http.get(pending.authorize_url, headers={"Accept": "text/html"}, retry=False)
    except NetworkError:
        return
    location = response.headers.get("location", "")
    if 300 <= response.status < 400 and location.startswith(pending.redirect_uri):
        params = dict(parse_qsl(urlsplit(location).query))
        complaint = f"{params.get('error', '')} {params.get('error_description', '')}"
    elif 400 <= response.status < 500:
        complaint = response.content[:20_000].decode("utf-8", "replace")
    else:
        return
    if "redirect" in complaint.lower():
        raise AuthorizationError(
            f"The portal refused Carry's redirect URI {pending.redirect_uri}: it must be registered for the client "
            f"{pending.client.client_id} exactly as written, port included.",
            oauth_error="redirect_uri",
        )


async def complete_authorization(
    http: HttpClient, pending: PendingAuthorization, params: Mapping[str, str]
) -> Authorization:
    """Check the callback, exchange the code, and check what was granted. Raises a SmartError subclass."""
    code = callback_code(pending, params)
    tokens = await exchange_code(pending, code)
    granted = GrantedScope(tokens.scope or " ".join(pending.scopes))
    if not tokens.patient:
        raise AuthorizationError(
            "The portal did not say which patient record the access is for (no patient in the token response).",
            oauth_error="no_patient",
        )
    if not granted.any_data:
        raise AuthorizationError(
            "The portal granted Carry no access to any health data (only: "
            f"{' '.join(granted.scopes) or 'nothing'}); connect again and allow access.",
            oauth_error="no_data_scope",
        )
    claims: dict[str, Any] = {}
    if tokens.id_token:
        claims = await verify_id_token(http, pending.config, tokens.id_token, pending.client.client_id)
    return Authorization(tokens, str(tokens.patient), granted, claims)
