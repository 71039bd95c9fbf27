"""The sandbox's dynamic client registration (RFC 7591) and JWT bearer grant (RFC 7523), each rule and refusal."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from sync.sandbox import SandboxServer

from sandbox_support import App  # noqa: I001 - the sandbox tests' scripted app

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(registration=True) as server:
        yield server


@pytest.fixture(scope="module")
def key() -> ECKey:
    return ECKey.generate_key("P-384", parameters={"alg": "ES384", "kid": "device-1"}, private=True)


def _register(app: App, token: str | None, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.http.post(f"{app.sandbox.origin}/auth/register", json=body, headers=headers)


def _device(key: ECKey) -> dict[str, Any]:
    return {"client_name": "Carry", "grant_types": [JWT_BEARER], "jwks": {"keys": [dict(key.as_dict(private=False))]}}


def _assertion(key: ECKey, client_id: str, aud: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": aud, "exp": now + 240, "jti": secrets.token_hex(16), **claims}
    return jwt.encode({"alg": "ES384", "typ": "JWT", "kid": key.kid}, body, key, algorithms=["ES384"])


def _bearer(app: App, assertion: str) -> httpx.Response:
    return app.http.post(app.token_endpoint, data={"grant_type": JWT_BEARER, "assertion": assertion})


def test_discovery_offers_registration_and_the_grant(sandbox: SandboxServer) -> None:
    config = httpx.get(sandbox.base_url + "/.well-known/smart-configuration").json()
    assert config["registration_endpoint"] == f"{sandbox.origin}/auth/register"
    assert JWT_BEARER in config["grant_types_supported"]
    with SandboxServer() as plain:  # not offered unless asked for
        assert "registration_endpoint" not in httpx.get(plain.base_url + "/.well-known/smart-configuration").json()


def test_a_registered_device_gets_tokens_for_the_patient_who_registered_it(sandbox: SandboxServer, key: ECKey) -> None:
    app = App(sandbox)
    login = app.connect("reyna")
    answer = _register(app, login.access_token, _device(key))
    assert answer.status_code == 201, answer.text
    client_id = answer.json()["client_id"]
    response = _bearer(app, _assertion(key, client_id, app.token_endpoint))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["patient"] == login.patient and "refresh_token" not in body
    data = app.http.get(f"{sandbox.base_url}/Patient/{login.patient}", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert data.status_code == 200


@pytest.mark.parametrize(
    ("token", "change", "error"),
    [
        (None, {}, "invalid_token"),
        ("bogus", {}, "invalid_token"),
        ("good", {"jwks": {"keys": []}}, "invalid_client_metadata"),
        ("good", {"private": True}, "invalid_client_metadata"),
        ("good", {"grant_types": ["authorization_code"]}, "invalid_client_metadata"),
    ],
)
def test_registration_refusals(sandbox: SandboxServer, key: ECKey, token: str | None, change: dict[str, Any], error: str) -> None:
    app = App(sandbox)
    body = _device(key)
    if change.pop("private", False):
        body["jwks"] = {"keys": [dict(key.as_dict(private=True))]}
    body.update(change)
    before = len(sandbox.clients)
    answer = _register(app, app.connect("reyna").access_token if token == "good" else token, body)
    assert answer.status_code in (400, 401) and answer.json()["error"] == error
    assert len(sandbox.clients) == before


def test_bad_bearer_assertions_are_invalid_grant(sandbox: SandboxServer, key: ECKey) -> None:
    app = App(sandbox)
    client_id = _register(app, app.connect("reyna").access_token, _device(key)).json()["client_id"]
    other = ECKey.generate_key("P-384", parameters={"alg": "ES384", "kid": "device-1"}, private=True)
    once = _assertion(key, client_id, app.token_endpoint)
    assert _bearer(app, once).status_code == 200
    for bad in (
        once,  # replayed
        _assertion(other, client_id, app.token_endpoint),  # not the registered key
        _assertion(key, client_id, sandbox.base_url),  # another audience
        _assertion(key, client_id, app.token_endpoint, exp=int(time.time()) + 3600),  # lives too long
        _assertion(key, "device-unknown", app.token_endpoint),
    ):
        refused = _bearer(app, bad)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    assert _bearer(app, "").json()["error"] == "invalid_request"


def test_withdrawing_the_login_withdraws_its_device_client(sandbox: SandboxServer, key: ECKey) -> None:
    app = App(sandbox)
    client_id = _register(app, app.connect("reyna").access_token, _device(key)).json()["client_id"]
    device = next(c for c in sandbox.clients if c.client_id == client_id)
    sandbox._state.grants.revoke_grant(str(device.grant_id))
    refused = _bearer(app, _assertion(key, client_id, app.token_endpoint))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
