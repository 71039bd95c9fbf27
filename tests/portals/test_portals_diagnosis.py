"""The plain-language diagnosis table (sync.smart.diagnosis): one test per row, each against a real server on
127.0.0.1 that fails the way real portals do, checking the code, the fields and both wordings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from authlib_portal import AuthlibPortal
from support.portal import log_in_async

from app.portals import Portals
from app.record import Record
from sync.sandbox import DEMO_REDIRECT_URI, ClientRegistration, SandboxServer
from sync.smart import DIAGNOSES, Diagnosed

PASSPHRASE = "correct horse battery staple"
REDIRECT = "http://127.0.0.1:8123/oauth/callback"


@pytest.fixture
def portal() -> Iterator[AuthlibPortal]:
    with AuthlibPortal(REDIRECT) as server:
        yield server


@pytest.fixture
def record(tmp_path: Path) -> Iterator[Record]:
    rec = Record.create(tmp_path / "record.carry", PASSPHRASE)
    yield rec
    rec.close()


def _worded(exc: Diagnosed) -> None:
    """Both wordings are whole sentences with every field filled in; the app's shows no command line."""
    for text in (str(exc), exc.cli_text()):
        assert text.endswith(".") and "(not known)" not in text and "{" not in text
    assert "carry " not in str(exc) and "--" not in str(exc)


@pytest.mark.asyncio
async def test_invalid_client_names_the_developer_site_and_the_redirect_uri(record: Record) -> None:
    conf = ClientRegistration("carry-conf", (DEMO_REDIRECT_URI,), "the-right-secret")
    with SandboxServer(clients=[conf]) as sandbox:
        portals = Portals(record)
        pending = await portals.begin_connect(sandbox.base_url, REDIRECT, client_id="carry-conf", client_secret="wrong")
        login = sandbox.logins[0]
        location = await log_in_async(pending.authorize_url, login.username, login.password)
        with pytest.raises(Diagnosed) as caught:
            await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))
    assert caught.value.diagnosis == "invalid_client" and caught.value.code == "connect.invalid_client"
    assert caught.value.fields["client_id"] == "carry-conf" and caught.value.fields["redirect_uri"] == REDIRECT
    assert REDIRECT in str(caught.value) and "developer site" in str(caught.value)
    _worded(caught.value)
    assert portals.sources() == []


@pytest.mark.asyncio
async def test_oracle_healths_unknown_tenant(portal: AuthlibPortal, record: Record) -> None:
    portal.unknown_tenant = True
    with pytest.raises(Diagnosed) as caught:
        await Portals(record).begin_connect(portal.base_url, REDIRECT, client_id=portal.client_id)
    assert caught.value.diagnosis == "unknown_tenant" and caught.value.fields["base_url"] == portal.base_url
    _worded(caught.value)


@pytest.mark.asyncio
async def test_an_eclinicalworks_practice_without_patient_access(portal: AuthlibPortal, record: Record) -> None:
    portal.software, portal.smart_off = "eClinicalWorks FHIR Server", True
    with pytest.raises(Diagnosed) as caught:
        await Portals(record).begin_connect(portal.base_url, REDIRECT, client_id=portal.client_id)
    assert caught.value.diagnosis == "patient_access_off" and caught.value.fields["vendor"] == "eClinicalWorks"
    _worded(caught.value)


@pytest.mark.asyncio
async def test_a_token_endpoint_that_answers_html(portal: AuthlibPortal, record: Record) -> None:
    portals = Portals(record)
    pending = await portals.begin_connect(portal.base_url, REDIRECT, client_id=portal.client_id)
    location = await log_in_async(pending.authorize_url, portal.username, portal.password)
    portal.token_html = True
    with pytest.raises(Diagnosed) as caught:
        await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))
    assert caught.value.diagnosis == "token_html"
    _worded(caught.value)


@pytest.mark.asyncio
async def test_a_tls_failure(portal: AuthlibPortal, record: Record) -> None:
    # The portal speaks plain HTTP: asked for https, the handshake fails as with a bad certificate.
    with pytest.raises(Diagnosed) as caught:
        await Portals(record).begin_connect(portal.base_url.replace("http://", "https://"), REDIRECT)
    assert caught.value.diagnosis == "tls" and caught.value.fields["host"] == "127.0.0.1"
    _worded(caught.value)


@pytest.mark.asyncio
async def test_every_type_refused_after_a_good_connect(portal: AuthlibPortal, record: Record, tmp_path: Path) -> None:
    portals = Portals(record)
    pending = await portals.begin_connect(portal.base_url, REDIRECT, client_id=portal.client_id)
    location = await log_in_async(pending.authorize_url, portal.username, portal.password)
    conn = await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))
    portal.refuse_all = True
    report = await portals.sync(conn.id)
    assert report.outcome == "incomplete" and report.diagnosis and report.diagnosis["code"] == "connect.refused_everywhere"
    assert report.message and "refused every kind of record" in report.message and "carry " not in report.message
    record.close()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "sync", "--record", str(tmp_path / "record.carry")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "CARRY_PASSPHRASE": PASSPHRASE},
    )  # fmt: skip
    assert done.returncode == 1
    assert f"run `carry connect {portal.base_url}` again" in done.stdout, done.stdout


def test_every_row_of_the_table_has_a_test() -> None:
    tested = {"invalid_client", "unknown_tenant", "patient_access_off", "token_html", "tls", "refused_everywhere"}
    assert set(DIAGNOSES) - tested == {"dns"}  # a name lookup would leave this machine: see the note in the report
