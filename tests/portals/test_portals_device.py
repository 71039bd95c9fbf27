"""A client of this device's own (issue 17 item 2): where the portal advertises a registration endpoint, Carry
registers a per-device client after the first authorization (RFC 7591, its public JWKS only), keeps the private key
in the record, and renews access with the JWT bearer grant (RFC 7523) instead of refresh tokens. Against the
authlib portal (authlib's own ClientRegistrationEndpoint and JWTBearerGrant) and against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from authlib_portal import AuthlibPortal
from joserfc.jwk import import_key
from support.clock import TestClock
from support.portal import log_in_async
from test_portals_authlib import REDIRECT, _connect, _held

from app.portals import PortalError, Portals
from app.record import Record
from app.record.portal_state import PortalState
from sync.fhir import content_hash
from sync.sandbox import SandboxServer
from sync.smart import DEVICE_AUTH, NeedsReconnect, SmartConfiguration

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def record(tmp_path: Path) -> Iterator[Record]:
    rec = Record.create(tmp_path / "record.carry", PASSPHRASE)
    yield rec
    rec.close()


def _device_key(record: Record, conn_id: int) -> tuple[str, dict[str, Any]]:
    conn = PortalState(record).connection(conn_id)
    stored = PortalState(record).client_secret(SmartConfiguration.from_json(conn.smart_config).token_endpoint, conn.client_id)
    assert stored is not None and stored[0] == DEVICE_AUTH
    return conn.client_id, json.loads(stored[1])


@pytest.mark.asyncio
async def test_carry_registers_a_device_client_and_renews_access_with_its_signed_assertion(record: Record) -> None:
    clock = TestClock()
    with AuthlibPortal(REDIRECT, limit=1000, token_lifetime=3, registration=True, clock=clock) as portal:
        portals = Portals(record)
        conn = await _connect(portals, portal)
        # One client registered for this device, authorised by the patient's login, holding only a public key.
        assert len(portal.registered) == 1
        device = portal.registered[0]
        assert conn.client_id == device.client_id != portal.client_id and conn.auth_method == DEVICE_AUTH
        assert device.user == portal.username and device.grant_types == ("urn:ietf:params:oauth:grant-type:jwt-bearer",)
        assert device.jwks is not None and len(device.jwks["keys"]) == 1 and "d" not in device.jwks["keys"][0]
        # The private half is in the record, and it is the key the portal was given.
        client_id, private = _device_key(record, conn.id)
        assert client_id == device.client_id and "d" in private
        assert import_key(private).as_dict(private=False)["x"] == device.jwks["keys"][0]["x"]
        # The refresh token of the first login is not kept: renewal goes by the key.
        held_tokens = PortalState(record).tokens(conn.id)
        assert held_tokens is not None and held_tokens.refresh_token is None

        clock.advance(3.2)  # the portal no longer takes the access token: Carry renews it with the device key
        report = await portals.sync(conn.id)
        assert report.outcome == "complete", report.as_json()
        assert _held(record, conn.id) == {k: content_hash(v) for k, v in portal.served().items()}
        assert portal.counts["jwt_bearer"] >= 1 and report.refreshes == portal.counts["jwt_bearer"]
        assert portal.counts["refresh"] == 0 and portal.counts["token"] == 1


@pytest.mark.asyncio
async def test_a_device_registration_the_portal_withdrew_asks_for_a_new_connection(record: Record) -> None:
    clock = TestClock()
    with AuthlibPortal(REDIRECT, limit=1000, token_lifetime=2, registration=True, clock=clock) as portal:
        portals = Portals(record)
        conn = await _connect(portals, portal)
        portal.registered[0].jwks = None  # the patient removed the app at the portal
        clock.advance(2.2)
        with pytest.raises(NeedsReconnect):
            await portals.sync(conn.id)
        assert portals.source(conn.id).status == "needs-reconnect" and portal.counts["jwt_bearer"] == 1


def _device_keys(record: Record) -> list[str]:
    return [client_id for (client_id,) in record.read("SELECT client_id FROM client_secret WHERE auth_method = ?", [DEVICE_AUTH])]


@pytest.mark.asyncio
async def test_a_device_key_lives_only_as_long_as_its_connection(record: Record) -> None:
    with AuthlibPortal(REDIRECT, limit=1000, registration=True) as portal:
        portals = Portals(record)
        first = await _connect(portals, portal)
        again = await _connect(portals, portal)  # connecting again registers a new device client...
        assert again.id == first.id and again.client_id != first.client_id and len(portal.registered) == 2
        assert _device_keys(record) == [again.client_id]  # ...and the old device's key is not kept
        await portals.disconnect(again.id)
        assert _device_keys(record) == []  # disconnected: no key left that could get new tokens
        with pytest.raises(PortalError):
            await portals.sync(again.id)


@pytest.mark.asyncio
async def test_the_sandbox_registers_a_device_client_and_renews_it_by_jwt_bearer(record: Record) -> None:
    clock = TestClock()
    with SandboxServer(registration=True, access_token_lifetime=3, clock=clock) as sandbox:
        portals = Portals(record)
        login = sandbox.logins[0]
        pending = await portals.begin_connect(sandbox.base_url, REDIRECT)
        location = await log_in_async(pending.authorize_url, login.username, login.password)
        conn = await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))
        devices = [c for c in sandbox.clients if c.grant_id is not None]
        assert len(devices) == 1 and conn.client_id == devices[0].client_id and conn.auth_method == DEVICE_AUTH
        assert devices[0].jwks is not None and all("d" not in key for key in devices[0].jwks["keys"])
        client_id, private = _device_key(record, conn.id)
        assert import_key(private).as_dict(private=False)["x"] == devices[0].jwks["keys"][0]["x"]
        first = PortalState(record).tokens(conn.id)
        assert first is not None and first.refresh_token is None

        clock.advance(3.2)  # expired at the portal: only the device key can get Carry in again
        report = await portals.sync(conn.id)
        assert report.outcome == "complete" and report.refreshes >= 1 and report.totals.imported > 0
        renewed = PortalState(record).tokens(conn.id)
        assert renewed is not None and renewed.access_token != first.access_token and renewed.refresh_token is None

        # The patient withdraws the app at the portal: the device client's grant goes with it.
        sandbox._state.grants.revoke_grant(str(devices[0].grant_id))
        clock.advance(3.2)
        with pytest.raises(NeedsReconnect):
            await portals.sync(conn.id)
        assert portals.source(conn.id).status == "needs-reconnect"
