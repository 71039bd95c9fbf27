"""Fixtures for the sandbox tests: one portal per test module over real HTTP, and a scripted app that connects."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from support.clock import TestClock
from support.portal import log_in
from sync.assets import DEMO_PATIENTS
from sync.sandbox import ClientRegistration, Faults, SandboxServer

CONFIDENTIAL = ClientRegistration(
    "confidential-app", ("https://app.example/callback",), "a-long-client-secret", "Example confidential app"
)
EXTRA_PUBLIC = ClientRegistration("other-app", ("http://127.0.0.1/other/callback",), None, "Another app")
FULL_SCOPE = "launch/patient openid fhirUser offline_access patient/*.rs"
LOOPBACK = "http://127.0.0.1:53682/oauth/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Connection:
    body: dict[str, Any] = field(repr=False)  # holds tokens: keep them out of failure reports
    verifier: str = field(repr=False)

    @property
    def access_token(self) -> str:
        return str(self.body["access_token"])

    @property
    def patient(self) -> str:
        return str(self.body["patient"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class App:
    """An app connecting to the sandbox the way a SMART client must, step by step, so each step can be bent."""

    def __init__(self, sandbox: SandboxServer, client_id: str | None = None, redirect_uri: str = LOOPBACK) -> None:
        self.sandbox = sandbox
        self.client_id = client_id or sandbox.demo_client_id
        self.redirect_uri = redirect_uri
        self.verifier, self.challenge = pkce()
        self.state = secrets.token_urlsafe(16)
        self.http = httpx.Client(timeout=10)

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.sandbox.origin}/auth/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.sandbox.origin}/auth/token"

    def params(self, **overrides: str | None) -> dict[str, str]:
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": FULL_SCOPE,
            "state": self.state,
            "aud": self.sandbox.base_url,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize_url(self, **overrides: str | None) -> str:
        return f"{self.authorize_endpoint}?{urlencode(self.params(**overrides))}"

    def code(self, username: str = "elvina", **overrides: str | None) -> str:
        location = log_in(self.authorize_url(**overrides), username, f"{username}-demo")
        reply = query_of(location)
        assert reply.get("state") == self.state, location
        assert "code" in reply, location
        return reply["code"]

    def exchange(self, code: str, **overrides: str | None) -> httpx.Response:
        form: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
            "client_id": self.client_id,
        }
        form.update(overrides)
        return self.http.post(self.token_endpoint, data={k: v for k, v in form.items() if v is not None})

    def connect(self, username: str = "elvina", scope: str = FULL_SCOPE, scopes: list[str] | None = None) -> Connection:
        location = log_in(self.authorize_url(scope=scope), username, f"{username}-demo", scopes=scopes)
        reply = query_of(location)
        assert reply.get("state") == self.state and "code" in reply, location
        response = self.exchange(reply["code"])
        assert response.status_code == 200, response.text
        return Connection(response.json(), self.verifier)

    def refresh(self, refresh_token: str, **extra: str) -> httpx.Response:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": self.client_id, **extra}
        return self.http.post(self.token_endpoint, data=form)


CLOCK = TestClock()  # the shared sandbox's: a test waits for a code or token to expire with CLOCK.advance()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(clients=[CONFIDENTIAL, EXTRA_PUBLIC], clock=CLOCK).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app(sandbox: SandboxServer) -> Iterator[App]:
    client = App(sandbox)
    yield client
    client.http.close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def faults(sandbox: SandboxServer) -> Iterator[Faults]:
    sandbox.faults.clear()
    yield sandbox.faults
    sandbox.faults.clear()


@pytest.fixture(scope="module")
def elvina_file() -> Any:
    return next(DEMO_PATIENTS.glob("Elvina_*.json"))
