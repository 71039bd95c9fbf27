"""The parts of connecting and syncing that need no portal: the token-to-base rule, scopes, the quirk table, the
loopback listener, and the record's migration to schema version 3."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.record import Record, latest_version
from sync.assets import DEMO_PATIENTS
from sync.fhir import ServerCapabilities
from sync.pull import detect_vendor, load_quirks, plan_tasks
from sync.http import is_under
from sync.smart import (
    AuthorizationTimeout,
    GrantedScope,
    LoopbackListener,
    TokenSet,
    choose_scopes,
)

BASE = "https://fhir.example.org/r4/tenant-1"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        (BASE, True),
        (BASE + "/Observation?patient=1", True),
        (BASE + "/Binary/abc", True),
        ("https://fhir.example.org:443/r4/tenant-1/Patient/1", True),
        ("https://FHIR.example.org/r4/tenant-1/Patient/1", True),
        ("https://fhir.example.org/r4/tenant-10/Patient/1", False),
        ("https://fhir.example.org/r4/Patient/1", False),
        ("http://fhir.example.org/r4/tenant-1/Patient/1", False),
        ("https://fhir.example.org:8443/r4/tenant-1/Patient/1", False),
        ("https://fhir.example.org.evil.test/r4/tenant-1/Patient/1", False),
        ("https://user@fhir.example.org/r4/tenant-1/Patient/1", False),
        ("https://127.0.0.2/r4/tenant-1/Patient/1", False),
        ("https://fhir.example.org/r4/tenant-1/../tenant-2/Patient/1", False),
        ("https://fhir.example.org/r4/tenant-1/%2e%2e/tenant-2/Patient/1", False),
    ],
)
def test_the_token_only_goes_under_its_base(url: str, allowed: bool) -> None:
    assert is_under(url, BASE) is allowed


def test_scopes_follow_the_server_capabilities() -> None:
    v2 = choose_scopes(["permission-v2", "permission-v1"])
    assert v2 == ["launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs"]
    assert choose_scopes(["permission-v1"])[-1] == "patient/*.read"
    per_type = choose_scopes(["permission-v1"], per_type=["Observation", "Binary"], extra=["user/Practitioner.read"])
    assert per_type[-3:] == ["patient/Observation.read", "patient/Binary.read", "user/Practitioner.read"]


def test_granted_scopes_are_read_as_granted() -> None:
    wildcard = GrantedScope("launch/patient openid patient/*.rs")
    assert wildcard.allows("Observation") and wildcard.allows("Binary")
    narrow = GrantedScope("launch/patient patient/Condition.read patient/Observation.rs?category=laboratory")
    assert narrow.allows("Condition") and narrow.allows("Observation") and not narrow.allows("Encounter")
    assert not GrantedScope("openid fhirUser launch").any_data
    assert not GrantedScope("patient/Observation.c").allows("Observation")


def test_tokens_never_show_in_a_repr() -> None:
    tokens = TokenSet.from_response(
        {"access_token": "AT-secret", "refresh_token": "RT-secret", "id_token": "ID-secret", "expires_in": 60, "patient": "p1"}
    )
    assert "secret" not in repr(tokens) and tokens.patient == "p1"


@pytest.mark.parametrize(("lifetime", "leeway"), [(30, 3.0), (60, 6.0), (300, 30.0), (3600, 60.0)])
def test_tokens_are_refreshed_when_a_tenth_of_their_life_or_a_minute_is_left(lifetime: int, leeway: float) -> None:
    tokens = TokenSet.from_response({"access_token": "AT", "expires_in": lifetime}, now=1000.0)
    assert tokens.leeway == leeway
    assert not tokens.expires_soon(now=1000.0 + lifetime - leeway - 0.5)
    assert tokens.expires_soon(now=1000.0 + lifetime - leeway)


def test_the_quirk_table_shapes_the_searches() -> None:
    assert detect_vendor("https://fhir.epic.com/interconnect-fhir-oauth/api/FHIR/R4").key == "epic"
    assert detect_vendor("https://fhir-myrecord.cerner.com/r4/abc").scope_style == "per-type"
    assert detect_vendor("https://unknown.example.org/fhir").key == "other"
    caps = ServerCapabilities.from_statement(
        {
            "resourceType": "CapabilityStatement",
            "rest": [
                {
                    "mode": "server",
                    "resource": [
                        {"type": "Observation", "searchParam": [{"name": "patient"}, {"name": "_lastUpdated"}],
                         "searchRevInclude": ["Provenance:target"]},
                        {"type": "MedicationRequest", "searchParam": [{"name": "patient"}]},
                        {"type": "Claim", "searchParam": [{"name": "patient"}]},
                        {"type": "Practitioner", "searchParam": [{"name": "name"}]},
                    ],
                }
            ],
        }
    )  # fmt: skip
    tasks = plan_tasks("p1", caps, load_quirks(), lambda rtype: rtype != "Claim", since="2026-01-01T00:00:00Z")
    by_key = {t.key: t for t in tasks}
    assert by_key["Patient/p1"].read
    lab = dict(by_key["Observation?category=laboratory"].params)
    assert lab["patient"] == "p1" and lab["_revinclude"] == "Provenance:target" and lab["_lastUpdated"] == "gt2026-01-01T00:00:00Z"
    assert "intent" in dict(by_key[next(k for k in by_key if k.startswith("MedicationRequest"))].params)
    assert by_key["Claim"].skip == "not granted by the portal"
    assert not any(k.startswith(("Practitioner", "Encounter")) for k in by_key)  # not searched / not offered


@pytest.mark.asyncio
async def test_the_loopback_listener_takes_one_callback() -> None:
    async with LoopbackListener() as listener:
        assert listener.redirect_uri.startswith("http://127.0.0.1:") and listener.redirect_uri.endswith("/oauth/callback")
        listener.expect("xyz")
        async with httpx.AsyncClient() as client:
            other = await client.get(listener.redirect_uri.replace("/oauth/callback", "/favicon.ico"))
            assert other.status_code == 404
            first = await client.get(listener.redirect_uri + "?code=abc&state=xyz")
            assert first.status_code == 200
            assert await listener.wait(1) == {"code": "abc", "state": "xyz"}
            second = await client.get(listener.redirect_uri + "?code=again&state=xyz")
            assert second.status_code == 404
    async with LoopbackListener() as listener:
        with pytest.raises(AuthorizationTimeout):
            await listener.wait(0.1)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "stray",
    [
        {"query": "?code=abc&state=not-this-login"},  # another login's (or anyone's) state
        {"query": "?code=abc"},  # no state at all
        {"query": "?error=access_denied&state=not-this-login"},  # an error that is not for this login
        {"query": "?code=abc&state=THE-STATE", "host": "evil.example:80"},  # another name rebound to 127.0.0.1
    ],
)
async def test_a_stray_request_does_not_end_the_loopback_login(stray: dict[str, str]) -> None:
    async with LoopbackListener() as listener:
        listener.expect("THE-STATE")
        url = listener.redirect_uri + stray["query"]
        async with httpx.AsyncClient() as client:
            headers = {"Host": stray["host"]} if "host" in stray else {}
            assert (await client.get(url, headers=headers)).status_code == 404
            # The login goes on: the portal's own callback still arrives and is taken.
            ok = await client.get(listener.redirect_uri + "?code=real&state=THE-STATE")
            assert ok.status_code == 200
        assert await listener.wait(1) == {"code": "real", "state": "THE-STATE"}


def test_a_version_2_record_with_data_migrates_to_3(tmp_path: Path) -> None:
    path = tmp_path / "old.carry"
    db = Record._connect(path, "a passphrase of old")
    old = Record(path, db)
    old._migrate(target=2)
    assert old.schema_version == 2
    old.import_file(DEMO_PATIENTS / "Reyna_Ziemann_08f8bfce-34cf-4b5a-a398-8e49650c6e3c.json")
    before = old.read("SELECT type, id, hash FROM resource ORDER BY type, id")
    old.close()

    with Record.open(path, "a passphrase of old") as record:
        assert record.schema_version == latest_version() >= 3
        assert record.read("SELECT type, id, hash FROM resource ORDER BY type, id") == before
        tables = {name for (name,) in record.read("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"portal", "portal_token", "client_secret", "sync_session", "sync_checkpoint", "sync_report"} <= tables
        assert record.count() == len(before) and record.search("Reyna")



@pytest.mark.asyncio
async def test_a_taken_callback_port_falls_back_only_when_allowed() -> None:
    import socket

    from sync.smart import AuthorizationError

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        async with LoopbackListener(port=port, fallback=(0,)) as listener:
            assert listener.fell_back and f":{port}/" not in listener.redirect_uri
        with pytest.raises(AuthorizationError, match=f"Port {port} .* taken") as caught:
            async with LoopbackListener(port=port):
                pass
        assert caught.value.oauth_error == "port_taken"
