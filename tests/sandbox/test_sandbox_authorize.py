"""The authorize step: who may ask, where the browser may be sent, what must be in the request, and the login and
consent forms as a browser submits them."""

from __future__ import annotations

import re

import httpx
import pytest
from sandbox_support import CONFIDENTIAL, LOOPBACK, App, pkce, query_of

from support.portal import LoginFailed, log_in, log_in_async
from sync.sandbox import SandboxServer


def _page_error(response: httpx.Response) -> None:
    """An error the portal must show on its own page, sending the browser nowhere."""
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


def _redirect_error(response: httpx.Response, app: App, error: str, *, with_state: bool = True) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(app.redirect_uri + "?")
    reply = query_of(location)
    assert reply["error"] == error
    assert reply.get("error_description")
    if with_state:
        assert reply["state"] == app.state
    else:
        assert "state" not in reply
    assert "code" not in reply
    return reply


# --- client and redirect_uri: errors shown on the page -------------------------------------------------------


def test_unknown_client_is_refused_on_the_page(app: App, http: httpx.Client) -> None:
    _page_error(http.get(app.authorize_url(client_id="no-such-app")))
    _page_error(http.get(app.authorize_url(client_id=None)))


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:53682/elsewhere",  # registered path only
        "http://localhost:53682/oauth/callback",  # localhost is not a loopback literal (RFC 8252 §8.3)
        "https://127.0.0.1:53682/oauth/callback",
        "http://127.0.0.1:53682/oauth/callback/extra",
        "http://127.0.0.1:53682/oauth/callback?x=1",
        "http://evil.example/oauth/callback",
        "http://127.0.0.1.evil.example:53682/oauth/callback",
        "http://user@127.0.0.1:53682/oauth/callback",
    ],
)
def test_redirect_uri_must_match_the_registration(app: App, http: httpx.Client, redirect_uri: str) -> None:
    _page_error(http.get(app.authorize_url(redirect_uri=redirect_uri)))


def test_missing_redirect_uri_is_refused_on_the_page(app: App, http: httpx.Client) -> None:
    _page_error(http.get(app.authorize_url(redirect_uri=None)))


def test_another_clients_redirect_uri_is_refused(app: App, http: httpx.Client) -> None:
    _page_error(http.get(app.authorize_url(redirect_uri="http://127.0.0.1:53682/other/callback")))
    _page_error(http.get(app.authorize_url(redirect_uri=CONFIDENTIAL.redirect_uris[0])))


@pytest.mark.parametrize("port", [1024, 53682, 65000])
def test_loopback_redirect_matches_any_port(sandbox: SandboxServer, port: int) -> None:
    app = App(sandbox, redirect_uri=f"http://127.0.0.1:{port}/oauth/callback")
    location = log_in(app.authorize_url(), "elvina", "elvina-demo")
    assert location.startswith(f"http://127.0.0.1:{port}/oauth/callback?code=")
    assert app.exchange(query_of(location)["code"]).status_code == 200


def test_confidential_client_exact_https_redirect(sandbox: SandboxServer, http: httpx.Client) -> None:
    app = App(sandbox, client_id=CONFIDENTIAL.client_id, redirect_uri=CONFIDENTIAL.redirect_uris[0])
    assert log_in(app.authorize_url(), "elvina", "elvina-demo").startswith("https://app.example/callback?code=")
    _page_error(http.get(app.authorize_url(redirect_uri="https://app.example:8443/callback")))


def test_duplicate_client_id_is_refused_on_the_page(app: App, http: httpx.Client) -> None:
    url = app.authorize_url() + f"&client_id={app.client_id}"
    _page_error(http.get(url))


# --- everything else goes back to the redirect_uri (RFC 6749 §4.1.2.1) -------------------------------------------


def test_response_type_must_be_code(app: App, http: httpx.Client) -> None:
    _redirect_error(http.get(app.authorize_url(response_type="token")), app, "unsupported_response_type")
    _redirect_error(http.get(app.authorize_url(response_type=None)), app, "invalid_request")


def test_state_is_required(app: App, http: httpx.Client) -> None:
    _redirect_error(http.get(app.authorize_url(state=None)), app, "invalid_request", with_state=False)


@pytest.mark.parametrize("aud", [None, "http://127.0.0.1:1/fhir", "https://fhir.example/r4"])
def test_aud_must_be_this_fhir_base(app: App, http: httpx.Client, aud: str | None) -> None:
    _redirect_error(http.get(app.authorize_url(aud=aud)), app, "invalid_request")


def test_aud_with_trailing_slash_and_resource_synonym(app: App, http: httpx.Client) -> None:
    assert http.get(app.authorize_url(aud=app.sandbox.base_url + "/")).status_code == 200
    assert http.get(app.authorize_url(aud=None, resource=app.sandbox.base_url)).status_code == 200


def test_pkce_is_required(app: App, http: httpx.Client) -> None:
    _redirect_error(http.get(app.authorize_url(code_challenge=None)), app, "invalid_request")
    _redirect_error(http.get(app.authorize_url(code_challenge_method=None)), app, "invalid_request")


def test_pkce_plain_is_refused(app: App, http: httpx.Client) -> None:
    verifier, _ = pkce()
    reply = _redirect_error(
        http.get(app.authorize_url(code_challenge=verifier[:43], code_challenge_method="plain")), app, "invalid_request"
    )
    assert "S256" in reply["error_description"]


def test_malformed_challenge_is_refused(app: App, http: httpx.Client) -> None:
    _redirect_error(http.get(app.authorize_url(code_challenge="short")), app, "invalid_request")


def test_scope_is_required_and_must_grant_something(app: App, http: httpx.Client) -> None:
    _redirect_error(http.get(app.authorize_url(scope=None)), app, "invalid_scope")
    _redirect_error(http.get(app.authorize_url(scope="system/*.rs launch nonsense")), app, "invalid_scope")


def test_ehr_launch_parameter_is_refused(app: App, http: httpx.Client) -> None:
    _redirect_error(http.get(app.authorize_url(launch="xyz")), app, "invalid_request")


def test_duplicate_state_is_refused(app: App, http: httpx.Client) -> None:
    response = http.get(app.authorize_url() + "&state=another")
    assert response.status_code == 303
    assert query_of(response.headers["location"])["error"] == "invalid_request"


def test_error_is_appended_to_a_redirect_uri_with_a_query(sandbox: SandboxServer, http: httpx.Client) -> None:
    # The registered loopback URI keeps its path and query; the error parameters are added after them.
    app = App(sandbox, redirect_uri=LOOPBACK)
    response = http.get(app.authorize_url(response_type="token"))
    assert response.headers["location"].count("?") == 1


# --- the login page --------------------------------------------------------------------------------------------


def test_login_page_is_a_real_form(app: App, http: httpx.Client) -> None:
    response = http.get(app.authorize_url())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert re.search(r"<form method=post action=login>", response.text)
    assert 'type=password' in response.text
    assert "Carry (demo client)" in response.text


def test_wrong_password_shows_the_form_again(app: App) -> None:
    with pytest.raises(LoginFailed, match="401"):
        log_in(app.authorize_url(), "elvina", "wrong-password")
    with pytest.raises(LoginFailed):
        log_in(app.authorize_url(), "nobody", "elvina-demo")


def test_too_many_failed_logins_end_the_request(app: App, http: httpx.Client) -> None:
    page = http.get(app.authorize_url())
    request_id = re.search(r'name=request value="([^"]+)"', page.text)
    assert request_id is not None
    form = {"request": request_id.group(1), "username": "elvina", "password": "nope"}
    for _ in range(4):
        assert http.post(f"{app.sandbox.origin}/auth/login", data=form).status_code == 401
    _redirect_error(http.post(f"{app.sandbox.origin}/auth/login", data=form), app, "access_denied")
    # the request is gone: even the right password no longer works for it
    form["password"] = "elvina-demo"
    assert http.post(f"{app.sandbox.origin}/auth/login", data=form).status_code == 400


def test_login_needs_the_browser_that_started_it(app: App, http: httpx.Client) -> None:
    page = http.get(app.authorize_url())
    request_id = re.search(r'name=request value="([^"]+)"', page.text)
    assert request_id is not None
    with httpx.Client(timeout=10) as other_browser:  # no session cookie
        response = other_browser.post(
            f"{app.sandbox.origin}/auth/login",
            data={"request": request_id.group(1), "username": "elvina", "password": "elvina-demo"},
        )
    assert response.status_code == 400 and "location" not in response.headers


def test_login_with_an_unknown_request_is_refused(app: App, http: httpx.Client) -> None:
    http.get(app.authorize_url())
    response = http.post(
        f"{app.sandbox.origin}/auth/login", data={"request": "made-up", "username": "elvina", "password": "elvina-demo"}
    )
    assert response.status_code == 400


def test_authorize_by_post(app: App, http: httpx.Client) -> None:
    response = http.post(app.authorize_endpoint, data=app.params())
    assert response.status_code == 200 and "type=password" in response.text


# --- the consent page ------------------------------------------------------------------------------------------


def _consent_page(app: App, http: httpx.Client, scope: str) -> tuple[str, str]:
    page = http.get(app.authorize_url(scope=scope))
    request_id = re.search(r'name=request value="([^"]+)"', page.text)
    assert request_id is not None
    login = http.post(
        f"{app.sandbox.origin}/auth/login",
        data={"request": request_id.group(1), "username": "elvina", "password": "elvina-demo"},
    )
    assert login.status_code == 303
    consent = http.get(f"{app.sandbox.origin}/auth/{login.headers['location']}")
    assert consent.status_code == 200
    return request_id.group(1), consent.text


def test_consent_lists_the_requested_scopes(app: App, http: httpx.Client) -> None:
    _, text = _consent_page(app, http, "launch/patient patient/Observation.rs offline_access system/*.rs")
    assert 'value="patient/Observation.rs" checked' in text
    assert 'value="offline_access" checked' in text
    assert "system/*.rs" not in text  # never grantable, so never offered
    assert "Elvina Lemke" in text


def test_deny_sends_access_denied(app: App) -> None:
    reply = query_of(log_in(app.authorize_url(), "elvina", "elvina-demo", approve=False))
    assert reply["error"] == "access_denied" and reply["state"] == app.state and "code" not in reply


def test_patient_can_narrow_the_grant(app: App) -> None:
    connection = app.connect(
        scope="launch/patient openid fhirUser offline_access patient/Observation.rs patient/Condition.rs",
        scopes=["launch/patient", "patient/Observation.rs"],
    )
    assert connection.body["scope"] == "launch/patient patient/Observation.rs"
    assert "refresh_token" not in connection.body and "id_token" not in connection.body


def test_unticking_everything_is_a_refusal(app: App) -> None:
    reply = query_of(log_in(app.authorize_url(), "elvina", "elvina-demo", scopes=[]))
    assert reply["error"] == "access_denied"


def test_a_tampered_consent_form_cannot_widen_the_grant(app: App, http: httpx.Client) -> None:
    request_id, _ = _consent_page(app, http, "launch/patient patient/Observation.rs")
    response = http.post(
        f"{app.sandbox.origin}/auth/consent",
        data={"request": request_id, "decision": "approve", "scope": ["patient/Observation.rs", "patient/*.rs"]},
    )
    code = query_of(response.headers["location"])["code"]
    assert app.exchange(code).json()["scope"] == "patient/Observation.rs"


def test_consent_without_a_decision_is_refused(app: App, http: httpx.Client) -> None:
    request_id, _ = _consent_page(app, http, "launch/patient patient/Observation.rs")
    response = http.post(f"{app.sandbox.origin}/auth/consent", data={"request": request_id})
    assert response.status_code == 400 and "location" not in response.headers


def test_consent_before_login_is_refused(app: App, http: httpx.Client) -> None:
    page = http.get(app.authorize_url())
    request_id = re.search(r'name=request value="([^"]+)"', page.text)
    assert request_id is not None
    response = http.post(
        f"{app.sandbox.origin}/auth/consent", data={"request": request_id.group(1), "decision": "approve"}
    )
    assert response.status_code == 400


def test_v1_scopes_are_granted_as_v1(app: App) -> None:
    connection = app.connect(scope="launch/patient patient/*.read offline_access")
    assert connection.body["scope"] == "launch/patient patient/*.read offline_access"


def test_unknown_and_system_scopes_are_dropped_from_the_grant(app: App) -> None:
    connection = app.connect(scope="launch/patient patient/Observation.rs system/*.rs patient/Foo.rs patient/Condition.dus")
    assert connection.body["scope"] == "launch/patient patient/Observation.rs"


def test_html_in_parameters_is_escaped(sandbox: SandboxServer, http: httpx.Client) -> None:
    app = App(sandbox)
    page = http.get(app.authorize_url())
    assert "<script" not in page.text
    response = http.get(app.authorize_url(client_id="<script>alert(1)</script>"))
    assert "<script>alert(1)" not in response.text


@pytest.mark.asyncio
async def test_the_async_browser_does_the_same(app: App) -> None:
    location = await log_in_async(app.authorize_url(), "elvina", "elvina-demo")
    assert query_of(location)["state"] == app.state
    assert app.exchange(query_of(location)["code"]).status_code == 200
