"""The OAuth 2 side of a SMART standalone launch, built on authlib (the only module of Carry that imports it).

Authorization code with PKCE S256, a single-use `state` of 256 bits that expires, `aud` = the FHIR base; token
exchange, refresh and revocation with a public client, client_secret_basic or private_key_jwt (RS384/ES384).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import warnings

with warnings.catch_warnings():
    # authlib 1.9 announces a future rename of its httpx integration; nothing for Carry to act on yet. Its
    # deprecate module turns the warning on when imported, so import it first and then silence it.
    import authlib.deprecate

    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey, import_key

from ..http import ClientFailure, failure_status, oauth_client_options
from .diagnosis import Diagnosed
from .discovery import SmartConfiguration
from .errors import (
    AuthorizationDenied,
    AuthorizationError,
    AuthorizationTimeout,
    NeedsReconnect,
    SmartError,
    StateMismatch,
    TokenError,
)
from .registrations import DEVICE_AUTH, ClientCredentials
from .tokens import TokenSet

__all__ = [
    "PendingAuthorization",
    "begin_authorization",
    "callback_code",
    "exchange_code",
    "new_private_key",
    "public_jwks",
    "JWT_BEARER",
    "refresh",
    "renew_with_assertion",
    "revoke",
]

STATE_TTL = 600.0  # seconds a login may take before its state expires
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"  # RFC 7523 authorization grant


@dataclass(frozen=True)
class PendingAuthorization:
    """One login in progress. Held in memory only: the verifier never touches disk."""

    authorize_url: str
    state: str = field(repr=False)
    redirect_uri: str
    config: SmartConfiguration = field(repr=False)
    client: ClientCredentials = field(repr=False)
    scopes: tuple[str, ...]
    expires_at: float
    code_verifier: str = field(repr=False)

    @property
    def base_url(self) -> str:
        return self.config.base_url

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at


def begin_authorization(
    config: SmartConfiguration,
    client: ClientCredentials,
    redirect_uri: str,
    scopes: list[str],
    *,
    ttl: float = STATE_TTL,
) -> PendingAuthorization:
    state = secrets.token_urlsafe(32)  # 256 bits
    verifier = secrets.token_urlsafe(64)  # 86 characters of the unreserved alphabet (RFC 7636 allows 43-128)
    url = prepare_grant_uri(
        config.authorization_endpoint,
        client_id=client.client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=" ".join(scopes),
        state=state,
        aud=config.base_url,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    return PendingAuthorization(
        url, state, redirect_uri, config, client, tuple(scopes), time.time() + ttl, verifier
    )


_ERROR_SENTENCES = {
    "access_denied": "You (or the portal) declined to give Carry access; nothing was connected.",
    "invalid_client": "The portal does not accept Carry's client id{client}; check the client registration.",
    "unauthorized_client": "The portal does not allow Carry's client id{client} to log in this way.",
    "invalid_scope": "The portal refused the access Carry asked for (invalid_scope){detail}.",
    "invalid_request": "The portal rejected the login request (invalid_request){detail}.",
    "server_error": "The portal had an internal error during login; try again later.",
    "temporarily_unavailable": "The portal's login is temporarily unavailable; try again later.",
    "unsupported_response_type": "The portal does not support the authorization code flow Carry uses.",
}


def _error_sentence(code: str, description: str | None, client_id: str) -> str:
    detail = f": {_clean(description)}" if description else ""
    template = _ERROR_SENTENCES.get(code, "The portal returned an error ({code}){detail}.")
    return template.format(code=_clean(code), detail=detail, client=f" ({_clean(client_id)})")


def _clean(text: str | None, limit: int = 200) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def callback_code(pending: PendingAuthorization, params: Mapping[str, str]) -> str:
    """Check a callback's query parameters against the login in progress and return the authorization code."""
    if pending.expired():
        raise AuthorizationTimeout(
            "The login took too long and its request expired; start connecting again.", oauth_error="timeout"
        )
    state = params.get("state")
    if not state or not secrets.compare_digest(state, pending.state):
        raise StateMismatch(
            "The portal's answer did not match the login Carry started (state mismatch); nothing was connected.",
            oauth_error="state_mismatch",
        )
    error = params.get("error")
    if error:
        sentence = _error_sentence(error, params.get("error_description"), pending.client.client_id)
        cls = AuthorizationDenied if error == "access_denied" else AuthorizationError
        raise cls(sentence, oauth_error=error)
    code = params.get("code")
    if not code:
        raise AuthorizationError("The portal came back without an authorization code.", oauth_error="no_code")
    return code


# --- client authentication ---------------------------------------------------------------------------------------


def new_private_key(alg: str) -> dict[str, Any]:
    """A fresh key pair for private_key_jwt, as a private JWK (kept in the record)."""
    kid = uuid.uuid4().hex
    if alg == "RS384":
        return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": alg}, private=True).as_dict(private=True)
    if alg == "ES384":
        return ECKey.generate_key("P-384", parameters={"kid": kid, "alg": alg}, private=True).as_dict(private=True)
    raise SmartError(f"Carry signs client assertions with RS384 or ES384, not {alg}.")


def public_jwks(private_jwk: dict[str, Any]) -> dict[str, Any]:
    """The JWKS to register at the portal for a private_key_jwt client."""
    public: dict[str, Any] = dict(import_key(private_jwk).as_dict(private=False))
    public.update({"alg": private_jwk.get("alg"), "kid": private_jwk.get("kid"), "use": "sig"})
    return {"keys": [public]}


def _assertion(client: ClientCredentials, audience: str) -> str:
    if not client.private_jwk:
        raise SmartError("This portal needs a signed client assertion, but Carry has no key for the client.")
    key = import_key(client.private_jwk)
    now = int(time.time())
    header = {"alg": client.alg, "kid": client.private_jwk.get("kid"), "typ": "JWT"}
    claims = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": audience,
        "exp": now + 240,  # SMART: no more than five minutes ahead
        "iat": now,
        "jti": secrets.token_urlsafe(24),
    }
    return jwt.encode(header, claims, key, algorithms=[client.alg])


def _oauth_client(config: SmartConfiguration, client: ClientCredentials) -> AsyncOAuth2Client:
    # A device client authenticates by the assertion it sends as its grant; to the endpoints it is public.
    method = "none" if client.auth_method == DEVICE_AUTH else client.auth_method
    if method == "client_secret_basic" and not client.client_secret:
        raise SmartError("This portal's client needs a client secret, and Carry has none stored for it.")
    answered: dict[str, str] = {}

    async def note(response: Any) -> None:  # what kind of answer came back, for the diagnosis of one that is no JSON
        answered["type"] = response.headers.get("content-type", "")

    oauth = AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        event_hooks={"response": [note]},
        **oauth_client_options(),
    )
    setattr(oauth, "answered", answered)  # (read by _token_failure's callers)
    if method == "private_key_jwt":

        def sign(auth: Any, http_method: str, uri: str, headers: Any, body: str) -> tuple[str, Any, str]:
            from authlib.common.urls import add_params_to_qs

            body = add_params_to_qs(
                body or "",
                [("client_assertion_type", _ASSERTION_TYPE), ("client_assertion", _assertion(client, uri))],
            )
            return uri, headers, body

        oauth.register_client_auth_method(("private_key_jwt", sign))
    return oauth


def _token_failure(exc: BaseException, *, during: str, client_id: str, answered: Mapping[str, str]) -> SmartError:
    if isinstance(exc, ValueError) and "html" in answered.get("type", "").lower():
        return Diagnosed("token_html")
    if isinstance(exc, OAuthError):
        code = str(exc.error or "error")
        if code == "invalid_client":
            return TokenError(_error_sentence(code, exc.description, client_id), oauth_error=code)
        if code == "invalid_grant":
            return TokenError(
                f"The portal refused the {during} (invalid_grant){': ' + _clean(exc.description) if exc.description else ''}.",
                oauth_error=code,
            )
        return TokenError(_error_sentence(code, exc.description, client_id), oauth_error=code)
    status = failure_status(exc)
    if status is not None:
        return TokenError(f"The portal's token endpoint failed with HTTP {status} during the {during}.", oauth_error="http")
    if isinstance(exc, ClientFailure):
        return TokenError(f"Carry could not reach the portal's token endpoint during the {during}.", oauth_error="network")
    return TokenError(f"The portal's token endpoint gave an answer Carry cannot read during the {during}.", oauth_error="format")


async def exchange_code(pending: PendingAuthorization, code: str) -> TokenSet:
    """Trade the authorization code for tokens (once: the code and verifier are single-use)."""
    oauth = _oauth_client(pending.config, pending.client)
    try:
        async with oauth:
            data = await oauth.fetch_token(
                pending.config.token_endpoint,
                grant_type="authorization_code",
                code=code,
                redirect_uri=pending.redirect_uri,
                code_verifier=pending.code_verifier,
            )
    except (OAuthError, ClientFailure, ValueError, KeyError) as exc:
        raise _token_failure(exc, during="login", client_id=pending.client.client_id, answered=getattr(oauth, "answered", {})) from None
    if not isinstance(data, Mapping) or not data.get("access_token"):
        raise TokenError("The portal's token endpoint returned no access token.", oauth_error="format")
    return TokenSet.from_response(data)


async def refresh(config: SmartConfiguration, client: ClientCredentials, refresh_token: str) -> TokenSet:
    """New tokens for a refresh token. A refused refresh token raises NeedsReconnect."""
    oauth = _oauth_client(config, client)
    try:
        async with oauth:
            # authlib adds client_id to the body for a public client ("none"), as SMART's example does.
            data = await oauth.refresh_token(config.token_endpoint, refresh_token=refresh_token)
    except OAuthError as exc:
        if exc.error in ("invalid_grant", "invalid_client", "unauthorized_client", "invalid_token"):
            raise NeedsReconnect(
                "The portal no longer accepts Carry's saved access (the refresh was refused); connect again."
            ) from None
        raise _token_failure(exc, during="token refresh", client_id=client.client_id, answered=getattr(oauth, "answered", {})) from None
    except (ClientFailure, ValueError, KeyError) as exc:
        raise _token_failure(exc, during="token refresh", client_id=client.client_id, answered=getattr(oauth, "answered", {})) from None
    return TokenSet.from_response(data)


async def renew_with_assertion(config: SmartConfiguration, client: ClientCredentials) -> TokenSet:
    """New tokens for a device client (sync.smart.device): the JWT bearer grant with an assertion signed by the
    device key. A refused assertion raises NeedsReconnect."""
    oauth = _oauth_client(config, client)
    try:
        async with oauth:
            data = await oauth.fetch_token(
                config.token_endpoint, grant_type=JWT_BEARER, assertion=_assertion(client, config.token_endpoint)
            )
    except OAuthError as exc:
        if exc.error in ("invalid_grant", "invalid_client", "unauthorized_client"):
            raise NeedsReconnect(
                "The portal no longer accepts this device's registration (the signed token request was refused); "
                "connect again."
            ) from None
        raise _token_failure(exc, during="token renewal", client_id=client.client_id, answered=getattr(oauth, "answered", {})) from None
    except (ClientFailure, ValueError, KeyError) as exc:
        raise _token_failure(exc, during="token renewal", client_id=client.client_id, answered=getattr(oauth, "answered", {})) from None
    if not isinstance(data, Mapping) or not data.get("access_token"):
        raise TokenError("The portal's token endpoint returned no access token.", oauth_error="format")
    return TokenSet.from_response(data)


async def revoke(config: SmartConfiguration, client: ClientCredentials, token: str, hint: str) -> bool:
    """RFC 7009 revocation; False when the portal has no revocation endpoint or the request failed."""
    if not config.revocation_endpoint:
        return False
    oauth = _oauth_client(config, client)
    try:
        async with oauth:
            response = await oauth.revoke_token(config.revocation_endpoint, token=token, token_type_hint=hint)
    except (OAuthError, ClientFailure, ValueError):
        return False
    return 200 <= int(response.status_code) < 300

