"""id_token verification (OpenID Connect Core §3.1.3.7, as SMART 2.2 asks): find the issuer's JWKS through its
openid-configuration, check the signature, `iss`, `aud` and `exp`, and return the claims (notably `fhirUser`)."""

from __future__ import annotations

import json
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..http import HttpClient, NetworkError
from .discovery import SmartConfiguration
from .errors import IdTokenInvalid

__all__ = ["verify_id_token"]

_ALGS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384"]
_LEEWAY = 120  # seconds of clock difference tolerated on exp/iat


async def _json(http: HttpClient, url: str) -> Any:
    try:
        response = await http.get(url, headers={"Accept": "application/json"})
    except NetworkError as exc:
        raise IdTokenInvalid(f"The portal's signing keys could not be fetched: {exc}") from None
    if not response.ok:
        raise IdTokenInvalid(f"The portal's signing keys could not be fetched (HTTP {response.status}).")
    try:
        return json.loads(response.content)
    except ValueError:
        raise IdTokenInvalid("The portal's signing keys are not JSON.") from None


async def verify_id_token(http: HttpClient, config: SmartConfiguration, id_token: str, client_id: str) -> dict[str, Any]:
    issuer = config.issuer
    jwks_uri = config.jwks_uri
    if issuer:
        try:
            oidc = await _json(http, issuer.rstrip("/") + "/.well-known/openid-configuration")
        except IdTokenInvalid:
            if not jwks_uri:
                raise
            oidc = None  # the SMART configuration's jwks_uri will do
        if isinstance(oidc, dict) and isinstance(oidc.get("jwks_uri"), str):
            jwks_uri = oidc["jwks_uri"]
    if not jwks_uri:
        raise IdTokenInvalid("The portal returned an id_token but publishes no keys to check it with.")
    keys = await _json(http, jwks_uri)
    try:
        key_set = KeySet.import_key_set(keys)
        token = jwt.decode(id_token, key_set, algorithms=_ALGS)
    except (JoseError, ValueError, TypeError, KeyError):
        raise IdTokenInvalid("The portal's id_token signature does not verify; Carry did not connect.") from None
    claims = dict(token.claims)
    options: dict[str, Any] = {"exp": {"essential": True}, "aud": {"essential": True, "value": client_id}}
    if issuer:
        options["iss"] = {"essential": True, "value": issuer}
    registry = jwt.JWTClaimsRegistry(leeway=_LEEWAY, **options)
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise IdTokenInvalid(f"The portal's id_token is not valid for Carry ({exc.error}).") from None
    return claims

