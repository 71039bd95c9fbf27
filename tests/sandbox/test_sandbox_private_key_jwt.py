"""The sandbox's asymmetric client authentication (private_key_jwt), each rule and refusal."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from sync.sandbox import ClientRegistration, SandboxServer

from sandbox_support import App  # noqa: I001 - the sandbox tests' scripted app

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "ES384": ECKey.generate_key("P-384", parameters={"alg": "ES384", "kid": "ec-1"}, private=True),
        "RS384": RSAKey.generate_key(2048, parameters={"alg": "RS384", "kid": "rsa-1"}, private=True),
    }


@pytest.fixture(scope="module")
def jwt_sandbox(keys: dict[str, Any]) -> Iterator[SandboxServer]:
    jwks = {"keys": [dict(key.as_dict(private=False)) for key in keys.values()]}
    client = ClientRegistration("jwt-app", ("http://127.0.0.1/oauth/callback",), jwks=jwks)
    with SandboxServer(clients=[client]) as server:
        yield server


def assertion(key: Any, alg: str, aud: str, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": "jwt-app", "sub": "jwt-app", "aud": aud, "exp": now + 240, "jti": secrets.token_hex(16), **claims}
    header = {"alg": alg, "typ": "JWT", "kid": key.kid}
    return jwt.encode(header, {k: v for k, v in body.items() if v is not None}, key, algorithms=[alg])


def exchange(app: App, signed: str | None, **extra: str) -> Any:
    code = app.code("reyna")
    form = {"client_assertion_type": ASSERTION_TYPE, **({"client_assertion": signed} if signed else {}), **extra}
    return app.exchange(code, client_id=None, **form)


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_a_valid_assertion_gets_tokens(jwt_sandbox: SandboxServer, keys: dict[str, Any], alg: str) -> None:
    app = App(jwt_sandbox, "jwt-app", "http://127.0.0.1:40001/oauth/callback")
    response = exchange(app, assertion(keys[alg], alg, app.token_endpoint))
    assert response.status_code == 200, response.text
    assert response.json()["patient"]


def test_discovery_offers_it(jwt_sandbox: SandboxServer) -> None:
    app = App(jwt_sandbox)
    config = app.http.get(jwt_sandbox.base_url + "/.well-known/smart-configuration").json()
    assert "private_key_jwt" in config["token_endpoint_auth_methods_supported"]
    assert "client-confidential-asymmetric" in config["capabilities"]
    assert set(config["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"aud": "http://127.0.0.1:1/auth/token"}, "aud is another endpoint"),
        ({"sub": "someone-else"}, "sub is not the client"),
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"exp": int(time.time()) + 3600}, "lives longer than five minutes"),
        ({"jti": None}, "no jti"),
    ],
)
def test_bad_assertions_are_invalid_client(
    jwt_sandbox: SandboxServer, keys: dict[str, Any], change: dict[str, Any], why: str
) -> None:
    app = App(jwt_sandbox, "jwt-app", "http://127.0.0.1:40001/oauth/callback")
    claims = {"aud": app.token_endpoint, **change}
    response = exchange(app, assertion(keys["ES384"], "ES384", **claims))
    assert response.status_code == 401, why
    assert response.json()["error"] == "invalid_client", why


def test_a_replayed_assertion_is_refused(jwt_sandbox: SandboxServer, keys: dict[str, Any]) -> None:
    app = App(jwt_sandbox, "jwt-app", "http://127.0.0.1:40001/oauth/callback")
    signed = assertion(keys["ES384"], "ES384", app.token_endpoint)
    assert exchange(app, signed).status_code == 200
    again = App(jwt_sandbox, "jwt-app", "http://127.0.0.1:40001/oauth/callback")
    replay = exchange(again, signed)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"


def test_a_key_the_client_did_not_register_is_refused(jwt_sandbox: SandboxServer) -> None:
    stranger = ECKey.generate_key("P-384", parameters={"alg": "ES384", "kid": "ec-1"}, private=True)
    app = App(jwt_sandbox, "jwt-app", "http://127.0.0.1:40001/oauth/callback")
    response = exchange(app, assertion(stranger, "ES384", app.token_endpoint))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_the_client_must_authenticate(jwt_sandbox: SandboxServer) -> None:
    app = App(jwt_sandbox, "jwt-app", "http://127.0.0.1:40001/oauth/callback")
    code = app.code("reyna")
    response = app.exchange(code)  # as a public client: no assertion
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    missing = exchange(App(jwt_sandbox, "jwt-app", "http://127.0.0.1:40001/oauth/callback"), None)
    assert missing.status_code == 401
