"""A per-device client where the portal offers dynamic client registration (RFC 7591), as Epic does for patient
apps: after the first authorization Carry makes a key pair for this device, registers a client with its public
JWKS (authorised by the access token just issued), and from then on gets access tokens with the JWT bearer grant
(RFC 7523) — an assertion signed with the device key — instead of refresh tokens.

The private key never leaves the encrypted record; the portal only ever sees the public JWKS.
"""

from __future__ import annotations

import json
from typing import Any

from ..http import HttpClient, NetworkError
from .discovery import SmartConfiguration
from .errors import SmartError
from .oauth import JWT_BEARER, new_private_key, public_jwks
from .registrations import DEVICE_AUTH, ClientCredentials

__all__ = ["DEVICE_AUTH", "JWT_BEARER", "register_device"]

DEVICE_ALG = "ES384"


async def register_device(
    http: HttpClient, config: SmartConfiguration, access_token: str, software_id: str
) -> ClientCredentials:
    """Register this device as a client of the portal; the credentials hold the new private key (to be stored)."""
    if not config.registration_endpoint:
        raise SmartError("This portal offers no client registration.")
    key = new_private_key(DEVICE_ALG)
    body = {
        "software_id": software_id,  # the client the patient just authorised (Epic's pattern)
        "client_name": "Carry",
        "grant_types": [JWT_BEARER],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": public_jwks(key),
    }
    try:
        response = await http.post_json(
            config.registration_endpoint, json.dumps(body).encode(), headers={"Authorization": f"Bearer {access_token}"}
        )
    except NetworkError:
        raise SmartError("Carry could not reach the portal's client registration.") from None
    answer: Any = None
    if response.ok:
        try:
            answer = json.loads(response.content)
        except ValueError:
            answer = None
    client_id = answer.get("client_id") if isinstance(answer, dict) else None
    if not isinstance(client_id, str) or not client_id.strip():
        raise SmartError(f"The portal did not register this device as a client (HTTP {response.status}).")
    return ClientCredentials(client_id.strip(), DEVICE_AUTH, DEVICE_ALG, private_jwk=key)
