"""private_key_jwt (SMART client-confidential-asymmetric) against the sandbox, with both signing algorithms."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from app.portals import Portals
from app.record import Record
from support.portal import log_in_async
from sync.sandbox import ClientRegistration, SandboxServer
from sync.smart import SmartError

CALLBACK = "http://127.0.0.1:8123/oauth/callback"


def register_with(sandbox: SandboxServer, client_id: str, jwks: dict[str, object]) -> None:
    """What the patient does at the vendor's developer site: register the client with Carry's public keys."""
    sandbox.register(ClientRegistration(client_id, ("http://127.0.0.1/oauth/callback",), jwks=jwks))


def _configure(sandbox: SandboxServer, client_id: str, alg: str) -> None:
    config = Path(os.environ["CARRY_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "clients.toml").write_text(
        f'[server."{sandbox.base_url}"]\nclient_id = "{client_id}"\nauth = "private_key_jwt"\nalg = "{alg}"\n'
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("alg", ["ES384", "RS384"])
async def test_a_private_key_jwt_client_connects_and_syncs(sandbox: SandboxServer, record: Record, alg: str) -> None:
    client_id = f"carry-jwt-{alg.lower()}"
    _configure(sandbox, client_id, alg)
    portals = Portals(record)
    pending = await portals.begin_connect(sandbox.base_url, CALLBACK)
    assert pending.jwks, "Carry shows the public keys to register when it has just made them"
    public = json.loads(pending.jwks)
    assert all("d" not in key for key in public["keys"])  # never the private part
    assert public["keys"][0]["alg"] == alg
    register_with(sandbox, client_id, public)

    location = await log_in_async(pending.authorize_url, "karena", "karena-demo")
    connection = await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))
    report = await portals.sync(connection.id)
    assert report.outcome == "complete"
    assert record.count("Patient") == 1

    # The private key lives only in the encrypted record, and a second connect reuses it (nothing new to register).
    stored = record.read("SELECT secret FROM client_secret WHERE client_id = ?", [client_id])
    assert stored and json.loads(stored[0][0]).get("d")
    again = await portals.begin_connect(sandbox.base_url, CALLBACK)
    assert again.jwks is None
    portals.cancel_connect(again)


@pytest.mark.asyncio
async def test_keys_the_portal_does_not_know_are_invalid_client(sandbox: SandboxServer, record: Record) -> None:
    client_id = "carry-jwt-unknown-key"
    _configure(sandbox, client_id, "ES384")
    portals = Portals(record)
    pending = await portals.begin_connect(sandbox.base_url, CALLBACK)
    other = Record.create(Path(str(record.path) + "-other"), "another passphrase here")
    try:
        other_pending = await Portals(other).begin_connect(sandbox.base_url, CALLBACK)
        assert other_pending.jwks is not None
        register_with(sandbox, client_id, json.loads(other_pending.jwks))  # someone else's keys
    finally:
        other.close()
    location = await log_in_async(pending.authorize_url, "karena", "karena-demo")
    with pytest.raises(SmartError) as refused:
        await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))
    assert "invalid_client" in str(refused.value) or "client" in str(refused.value).lower()
    assert record.count() == 0
