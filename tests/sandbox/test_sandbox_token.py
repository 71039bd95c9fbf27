"""The token endpoint: code exchange with PKCE, client authentication, refresh rotation, id_token, revocation,
introspection and the patient's own page of apps with access."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sandbox_support import CONFIDENTIAL, EXTRA_PUBLIC, App, pkce, query_of
from jwcrypto import jwk, jwt

from support.clock import TestClock
from support.portal import log_in
from sync.sandbox import SandboxServer


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _fhir_status(sandbox: SandboxServer, token: str) -> int:
    return httpx.get(f"{sandbox.base_url}/Patient", params={"_id": "x"}, headers={"Authorization": f"Bearer {token}"}).status_code


def _patient_read(sandbox: SandboxServer, token: str, patient: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.get(f"{sandbox.base_url}/Patient/{patient}", headers=headers).status_code


# --- authorization_code ----------------------------------------------------------------------------------------


def test_code_exchange_returns_the_smart_token_response(app: App, sandbox: SandboxServer) -> None:
    response = app.exchange(app.code("elvina"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "launch/patient openid fhirUser offline_access patient/*.rs"
    elvina = next(login for login in sandbox.logins if login.username == "elvina")
    assert body["patient"] == elvina.patient_id
    assert body["access_token"] and body["refresh_token"] and body["id_token"]
    assert _patient_read(sandbox, body["access_token"], body["patient"]) == 200


def test_id_token_is_signed_and_names_the_fhir_user(app: App, sandbox: SandboxServer, http: httpx.Client) -> None:
    body = app.exchange(app.code("elvina", nonce="n-0S6_WzA2Mj")).json()
    oidc = http.get(f"{sandbox.base_url}/.well-known/openid-configuration").json()
    keys = jwk.JWKSet.from_json(http.get(oidc["jwks_uri"]).text)
    token = jwt.JWT(jwt=body["id_token"], key=keys, algs=["RS256"])
    claims = json.loads(token.claims)
    assert claims["iss"] == sandbox.base_url == oidc["issuer"]
    assert claims["aud"] == sandbox.demo_client_id
    assert claims["fhirUser"] == f"{sandbox.base_url}/Patient/{body['patient']}"
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["exp"] > time.time()
    assert json.loads(token.header)["alg"] == "RS256"


def test_no_fhir_user_claim_without_the_scope(app: App, http: httpx.Client) -> None:
    body = app.connect(scope="launch/patient openid patient/*.rs").body
    payload = body["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert "fhirUser" not in claims
    assert "refresh_token" not in body


def test_no_id_token_without_openid(app: App) -> None:
    body = app.connect(scope="launch/patient patient/*.rs offline_access").body
    assert "id_token" not in body and "refresh_token" in body


def test_wrong_verifier_is_invalid_grant(app: App) -> None:
    other_verifier, _ = pkce()
    response = app.exchange(app.code(), code_verifier=other_verifier)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_the_spec_pkce_vector(sandbox: SandboxServer) -> None:
    # SMART App Launch, example-app-launch-public: this verifier hashes to this challenge.
    app = App(sandbox)
    app.verifier = (
        "o28xyrYY7-lGYfnKwRjHEZWlFIPlzVnFPYMWbH-g_BsNnQNem-IAg9fDh92X0KtvHCPO5_C-RJd2QhApKQ-2cRp-S_W3qmTidTEPkeWyniKQSF9Q_k10Q5wMc8fGzoyF"
    )
    app.challenge = "YPXe7B8ghKrj8PsT4L6ltupgI12NQJ5vblB07F4rGaw"
    assert app.exchange(app.code()).status_code == 200


def test_missing_verifier_is_invalid_grant(app: App) -> None:
    response = app.exchange(app.code(), code_verifier=None)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_code_is_single_use_and_a_replay_revokes_what_it_gave(app: App, sandbox: SandboxServer) -> None:
    code = app.code()
    first = app.exchange(code).json()
    second = app.exchange(code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert _patient_read(sandbox, first["access_token"], first["patient"]) == 401
    assert app.refresh(first["refresh_token"]).json()["error"] == "invalid_grant"


def test_code_needs_the_same_redirect_uri(app: App) -> None:
    response = app.exchange(app.code(), redirect_uri="http://127.0.0.1:9/oauth/callback")
    assert response.json()["error"] == "invalid_grant"
    assert app.exchange(app.code(), redirect_uri=None).json()["error"] == "invalid_grant"


def test_code_is_bound_to_its_client(app: App, sandbox: SandboxServer) -> None:
    code = app.code()
    response = app.exchange(code, client_id=EXTRA_PUBLIC.client_id)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_unknown_code_and_unknown_client(app: App) -> None:
    assert app.exchange("made-up-code").json()["error"] == "invalid_grant"
    response = app.exchange(app.code(), client_id="no-such-app")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    response = app.exchange(app.code(), client_id=None)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_grant_type_and_content_type(app: App) -> None:
    assert app.exchange(app.code(), grant_type="password").json()["error"] == "unsupported_grant_type"
    assert app.exchange(app.code(), grant_type=None).json()["error"] == "invalid_request"
    response = app.http.post(app.token_endpoint, json={"grant_type": "authorization_code"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_client_secret_in_the_body_is_refused(app: App) -> None:
    response = app.exchange(app.code(), client_secret="anything")
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


CLOCK = TestClock()  # the short-lived server's: the tests move it on instead of sleeping


@pytest.fixture(scope="module")
def short_lived(elvina_file: Path) -> Iterator[SandboxServer]:
    server = SandboxServer([elvina_file], access_token_lifetime=1, code_lifetime=0.5, clock=CLOCK).start()
    try:
        yield server
    finally:
        server.stop()


def test_code_expires(short_lived: SandboxServer) -> None:
    app = App(short_lived)
    code = app.code()
    CLOCK.advance(0.7)
    assert app.exchange(code).json()["error"] == "invalid_grant"


def test_access_token_lifetime_is_configurable_and_enforced(short_lived: SandboxServer) -> None:
    app = App(short_lived)
    body = app.connect().body
    assert body["expires_in"] == 1
    assert _patient_read(short_lived, body["access_token"], body["patient"]) == 200
    CLOCK.advance(1.1)
    response = httpx.get(
        f"{short_lived.base_url}/Patient/{body['patient']}", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    fresh = app.refresh(body["refresh_token"]).json()
    assert _patient_read(short_lived, fresh["access_token"], body["patient"]) == 200


def test_sandbox_with_one_patient_has_one_login(short_lived: SandboxServer) -> None:
    assert [login.username for login in short_lived.logins] == ["elvina"]


# --- confidential client ---------------------------------------------------------------------------------------


def _confidential(sandbox: SandboxServer) -> App:
    return App(sandbox, client_id=CONFIDENTIAL.client_id, redirect_uri=CONFIDENTIAL.redirect_uris[0])


def test_confidential_client_authenticates_with_basic(sandbox: SandboxServer) -> None:
    app = _confidential(sandbox)
    code = app.code()
    assert CONFIDENTIAL.client_secret is not None
    response = app.http.post(
        app.token_endpoint,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": app.redirect_uri, "code_verifier": app.verifier},
        headers=_basic(CONFIDENTIAL.client_id, CONFIDENTIAL.client_secret),
    )
    assert response.status_code == 200, response.text
    refresh = app.http.post(
        app.token_endpoint,
        data={"grant_type": "refresh_token", "refresh_token": response.json()["refresh_token"]},
        headers=_basic(CONFIDENTIAL.client_id, CONFIDENTIAL.client_secret),
    )
    assert refresh.status_code == 200


def test_confidential_client_with_a_wrong_secret_or_none(sandbox: SandboxServer) -> None:
    app = _confidential(sandbox)
    form = {"grant_type": "authorization_code", "code": app.code(), "redirect_uri": app.redirect_uri, "code_verifier": app.verifier}
    wrong = app.http.post(app.token_endpoint, data=form, headers=_basic(CONFIDENTIAL.client_id, "wrong"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    as_public = app.http.post(app.token_endpoint, data={**form, "client_id": CONFIDENTIAL.client_id})
    assert as_public.status_code == 401 and as_public.json()["error"] == "invalid_client"
    garbage = app.http.post(app.token_endpoint, data=form, headers={"Authorization": "Basic %%%"})
    assert garbage.status_code == 401
    # the code was never spent by the failed attempts
    assert CONFIDENTIAL.client_secret is not None
    ok = app.http.post(app.token_endpoint, data=form, headers=_basic(CONFIDENTIAL.client_id, CONFIDENTIAL.client_secret))
    assert ok.status_code == 200


def test_public_client_cannot_use_basic(app: App) -> None:
    response = app.http.post(
        app.token_endpoint,
        data={"grant_type": "authorization_code", "code": app.code(), "redirect_uri": app.redirect_uri, "code_verifier": app.verifier},
        headers=_basic(app.client_id, "made-up"),
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


# --- refresh ---------------------------------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_token_is_dead(app: App, sandbox: SandboxServer) -> None:
    first = app.connect().body
    second = app.refresh(first["refresh_token"])
    assert second.status_code == 200
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert body["patient"] == first["patient"] and body["scope"] == first["scope"]
    assert _patient_read(sandbox, body["access_token"], body["patient"]) == 200
    third = app.refresh(body["refresh_token"])
    assert third.status_code == 200


def test_replaying_a_refresh_token_revokes_the_whole_grant(app: App, sandbox: SandboxServer) -> None:
    first = app.connect().body
    second = app.refresh(first["refresh_token"]).json()
    replay = app.refresh(first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert _patient_read(sandbox, second["access_token"], second["patient"]) == 401
    assert app.refresh(second["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_token_is_bound_to_its_client(app: App) -> None:
    body = app.connect().body
    response = app.refresh(body["refresh_token"], client_id=EXTRA_PUBLIC.client_id)
    assert response.json()["error"] == "invalid_grant"


def test_refresh_can_narrow_but_not_widen(app: App) -> None:
    body = app.connect().body
    narrower = app.refresh(body["refresh_token"], scope="launch/patient patient/*.rs")
    assert narrower.status_code == 200 and narrower.json()["scope"] == "launch/patient patient/*.rs"
    assert "refresh_token" in narrower.json()  # the grant still includes offline_access
    wider = app.refresh(narrower.json()["refresh_token"], scope="launch/patient patient/*.cruds")
    assert wider.json()["error"] == "invalid_scope"


def test_unknown_refresh_token(app: App) -> None:
    assert app.refresh("made-up").json()["error"] == "invalid_grant"
    assert app.http.post(app.token_endpoint, data={"grant_type": "refresh_token", "client_id": app.client_id}).json()[
        "error"
    ] == "invalid_request"


# --- revocation (RFC 7009) and introspection (RFC 7662) ---------------------------------------------------------


def _revoke(app: App, token: str, **extra: str) -> httpx.Response:
    return app.http.post(f"{app.sandbox.origin}/auth/revoke", data={"token": token, "client_id": app.client_id, **extra})


def test_revoking_the_refresh_token_ends_the_grant(app: App, sandbox: SandboxServer) -> None:
    body = app.connect().body
    response = _revoke(app, body["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200
    assert app.refresh(body["refresh_token"]).json()["error"] == "invalid_grant"
    assert _patient_read(sandbox, body["access_token"], body["patient"]) == 401


def test_revoking_the_access_token(app: App, sandbox: SandboxServer) -> None:
    body = app.connect().body
    assert _revoke(app, body["access_token"]).status_code == 200
    assert _patient_read(sandbox, body["access_token"], body["patient"]) == 401
    assert app.refresh(body["refresh_token"]).status_code == 200  # the grant itself lives on


def test_revoking_an_unknown_token_is_fine(app: App) -> None:
    assert _revoke(app, "never-issued").status_code == 200


def test_revocation_needs_the_client_that_holds_the_token(app: App, sandbox: SandboxServer) -> None:
    body = app.connect().body
    response = app.http.post(
        f"{sandbox.origin}/auth/revoke", data={"token": body["refresh_token"], "client_id": EXTRA_PUBLIC.client_id}
    )
    assert response.status_code == 400
    assert app.refresh(body["refresh_token"]).status_code == 200
    assert app.http.post(f"{sandbox.origin}/auth/revoke", data={"token": body["access_token"]}).status_code == 401


def test_introspection(app: App, sandbox: SandboxServer) -> None:
    body = app.connect().body
    url = f"{sandbox.origin}/auth/introspect"
    active = app.http.post(url, data={"token": body["access_token"], "client_id": app.client_id}).json()
    assert active["active"] is True
    assert active["scope"] == body["scope"] and active["patient"] == body["patient"]
    assert active["exp"] > time.time()
    other = app.http.post(url, data={"token": body["access_token"], "client_id": EXTRA_PUBLIC.client_id}).json()
    assert other == {"active": False}
    assert app.http.post(url, data={"token": "nope", "client_id": app.client_id}).json() == {"active": False}


# --- the management page ---------------------------------------------------------------------------------------


def test_patient_sees_and_revokes_app_access(app: App, sandbox: SandboxServer, http: httpx.Client) -> None:
    body = app.connect("reyna").body
    page = http.post(f"{sandbox.origin}/auth/manage", data={"username": "reyna", "password": "reyna-demo"})
    assert page.status_code == 200 and "Carry (demo client)" in page.text
    session = re.search(r'name=session value="([^"]+)"', page.text)
    grant = re.search(r'name=grant value="([^"]+)"', page.text)
    assert session and grant
    # another patient's session can neither see nor revoke it
    other = http.post(f"{sandbox.origin}/auth/manage", data={"username": "karena", "password": "karena-demo"})
    assert grant.group(1) not in other.text
    other_session = re.search(r'name=session value="([^"]+)"', other.text)
    if other_session is None:  # Karena has no grants yet, so her page has no forms: make her one
        App(sandbox).connect("karena")
        other = http.post(f"{sandbox.origin}/auth/manage", data={"username": "karena", "password": "karena-demo"})
        other_session = re.search(r'name=session value="([^"]+)"', other.text)
    assert other_session is not None
    refused = http.post(
        f"{sandbox.origin}/auth/manage/revoke", data={"session": other_session.group(1), "grant": grant.group(1)}
    )
    assert refused.status_code == 404
    assert _patient_read(sandbox, body["access_token"], body["patient"]) == 200
    revoked = http.post(f"{sandbox.origin}/auth/manage/revoke", data={"session": session.group(1), "grant": grant.group(1)})
    assert revoked.status_code == 200
    assert _patient_read(sandbox, body["access_token"], body["patient"]) == 401
    assert app.refresh(body["refresh_token"]).json()["error"] == "invalid_grant"


def test_management_login_is_checked(sandbox: SandboxServer, http: httpx.Client) -> None:
    assert http.post(f"{sandbox.origin}/auth/manage", data={"username": "reyna", "password": "x"}).status_code == 401
    response = http.post(f"{sandbox.origin}/auth/manage/revoke", data={"session": "forged", "grant": "x"})
    assert response.status_code == 400


def test_login_is_the_patient_it_claims(app: App, sandbox: SandboxServer) -> None:
    for login in sandbox.logins:
        location = log_in(app.authorize_url(), login.username, login.password)
        body = app.exchange(query_of(location)["code"]).json()
        assert body["patient"] == login.patient_id
