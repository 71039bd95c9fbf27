"""A portal's login answer with a forged or misdirected id_token is refused in one sentence and connects nothing:
no signature (alg none), another key, HS256 signed with the portal's public key (algorithm confusion), and a
genuine signature over claims for another app, another issuer, or an expired login. The same login with a token
signed as the sandbox signs it connects, so the forgeries are what is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sync_support import login_for

from app.portals import Portals
from app.record import Record
from support.portal import log_in_async
from sync.sandbox import SandboxServer
from sync.smart.errors import IdTokenInvalid


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(sandbox: SandboxServer, patient: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": sandbox.base_url, "sub": patient, "aud": sandbox.demo_client_id, "iat": now, "exp": now + 600,
              "fhirUser": f"{sandbox.base_url}/Patient/{patient}"}  # fmt: skip
    return {**claims, **changes}


def _unsigned(claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{_b64(json.dumps(claims).encode())}."


def _hs256_with_public_key(sandbox: SandboxServer, claims: dict[str, Any]) -> str:
    public = sandbox._state.key.jwks()["keys"][0]
    secret = RSAKey.import_key(public).as_pem(private=False)
    head = {"alg": "HS256", "typ": "JWT", "kid": sandbox._state.key.kid}
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def _other_key(sandbox: SandboxServer, claims: dict[str, Any]) -> str:
    other = RSAKey.generate_key(2048, private=True)
    return jwt.encode({"alg": "RS256", "typ": "JWT", "kid": sandbox._state.key.kid}, claims, other)


FORGERIES = {
    "alg-none": lambda s, p: _unsigned(_claims(s, p)),
    "another-key": lambda s, p: _other_key(s, _claims(s, p)),
    "hs256-with-the-public-key": lambda s, p: _hs256_with_public_key(s, _claims(s, p)),
    "another-app": lambda s, p: s._state.key.sign(_claims(s, p, aud="someone-elses-app")),
    "another-issuer": lambda s, p: s._state.key.sign(_claims(s, p, iss="https://attacker.example/fhir")),
    "expired": lambda s, p: s._state.key.sign(_claims(s, p, exp=int(time.time()) - 3600)),
    "not-a-jwt": lambda s, p: "not.a.jwt",
}


async def _connect_with_id_token(sandbox: SandboxServer, record: Record, forge: Any) -> Portals:
    login = login_for(sandbox, "jesus")
    portals = Portals(record)
    pending = await portals.begin_connect(sandbox.base_url, "http://127.0.0.1:8123/oauth/callback")
    location = await log_in_async(pending.authorize_url, login.username, login.password)
    sandbox.faults.set("token_field", times=1, name="id_token", value=forge(sandbox, login.patient_id))
    await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))
    return portals


@pytest.mark.asyncio
async def test_an_id_token_signed_as_the_portal_signs_it_connects(sandbox: SandboxServer, record: Record) -> None:
    portals = await _connect_with_id_token(sandbox, record, lambda s, p: s._state.key.sign(_claims(s, p)))
    assert len(portals.sources()) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_a_forged_or_misdirected_id_token_connects_nothing(sandbox: SandboxServer, record: Record, forgery: str) -> None:
    with pytest.raises(IdTokenInvalid) as refused:
        await _connect_with_id_token(sandbox, record, FORGERIES[forgery])
    said = str(refused.value)
    assert said.count(".") == 1 and "Carry" in said and "\n" not in said
    assert Portals(record).sources() == []
