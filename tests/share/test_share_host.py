"""The share host over real HTTP: manifests, passcodes with a lifetime limit under parallel attempts, expiry,
revocation, file locations, U links, sealed access entries, and a host file that holds no plaintext."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from share_helpers import Host

from sync.fhir import dumps
from sync.share import (
    DecryptionFailed,
    LinkError,
    PublishedLink,
    decrypt,
    new_access_keypair,
    open_access,
    publish,
    update_files,
)

FHIR = "application/fhir+json"


def _publish(host: Host, ips: dict[str, Any], **kwargs: Any) -> PublishedLink:
    return publish(host.store, host.base, [(FHIR, dumps(ips))], access_key=host.public_jwk, **kwargs)


async def _manifest(client: httpx.AsyncClient, link: PublishedLink, body: dict[str, Any]) -> httpx.Response:
    return await client.post(link.payload.url, json=body)


@pytest.mark.asyncio
async def test_manifest_with_passcode_then_file(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, passcode="1234", label="For Dr. Rivera")
    assert link.payload.flag == "P"
    async with httpx.AsyncClient(timeout=10) as client:
        response = await _manifest(client, link, {"recipient": "Dr. Rivera", "passcode": "1234"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.headers["cache-control"] == "no-store"
        files = response.json()["files"]
        assert [f["contentType"] for f in files] == [FHIR]
        location = files[0]["location"]
        assert location.startswith(host.base + "/file/") and "embedded" not in files[0]
        fetched = await client.get(location)
        assert fetched.status_code == 200
        assert fetched.headers["content-type"] == "application/jose"
        content_type, plaintext = decrypt(fetched.text, link.payload.key)
        assert content_type == FHIR and json.loads(plaintext) == json.loads(dumps(ips))
        # A location is single-use.
        assert (await client.get(location)).status_code == 404


@pytest.mark.asyncio
async def test_wrong_passcode_counts_down(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, passcode="1234", max_attempts=3)
    async with httpx.AsyncClient(timeout=10) as client:
        wrong = await _manifest(client, link, {"recipient": "Mallory", "passcode": "0000"})
        assert wrong.status_code == 401 and wrong.json() == {"remainingAttempts": 2}
        missing = await _manifest(client, link, {"recipient": "Mallory"})
        assert missing.status_code == 401 and missing.json() == {"remainingAttempts": 1}
        # The right passcode does not spend an attempt.
        assert (await _manifest(client, link, {"recipient": "Dr. Rivera", "passcode": "1234"})).status_code == 200
        last = await _manifest(client, link, {"recipient": "Mallory", "passcode": "9999"})
        assert last.status_code == 401 and last.json() == {"remainingAttempts": 0}
        # No attempts left: the link is dead, even for the right passcode.
        assert (await _manifest(client, link, {"recipient": "Dr. Rivera", "passcode": "1234"})).status_code == 404


@pytest.mark.asyncio
async def test_lifetime_limit_holds_under_parallel_attempts(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, passcode="correct horse", max_attempts=5)
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        responses = await asyncio.gather(*[
            _manifest(client, link, {"recipient": f"attacker {i}", "passcode": f"guess {i}"}) for i in range(20)
        ])
        refused = [r for r in responses if r.status_code == 401]
        assert len(refused) == 5
        assert sorted(r.json()["remainingAttempts"] for r in refused) == [0, 1, 2, 3, 4]
        assert sorted(r.status_code for r in responses) == [401] * 5 + [404] * 15
        assert (await _manifest(client, link, {"recipient": "Dr. Rivera", "passcode": "correct horse"})
                ).status_code == 404
    stored = host.store.link(link.link_id)
    assert stored is not None and stored.attempts_left == 0


@pytest.mark.asyncio
async def test_expired_link_is_gone(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, exp=host.clock.now + 60)
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await _manifest(client, link, {"recipient": "Dr. Rivera"})).status_code == 200
        host.clock.advance(61)
        gone = await _manifest(client, link, {"recipient": "Dr. Rivera"})
        assert gone.status_code == 404 and "expired" in gone.json()["error"]


@pytest.mark.asyncio
async def test_revoked_link_and_its_locations_are_gone(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips)
    async with httpx.AsyncClient(timeout=10) as client:
        location = (await _manifest(client, link, {"recipient": "Dr. Rivera"})).json()["files"][0]["location"]
        assert host.store.revoke(link.link_id)
        assert (await _manifest(client, link, {"recipient": "Dr. Rivera"})).status_code == 404
        assert (await client.get(location)).status_code == 404
    assert host.store.files(link.link_id) == []  # the ciphertext itself is gone


@pytest.mark.asyncio
async def test_locations_live_at_most_an_hour(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips)
    async with httpx.AsyncClient(timeout=10) as client:
        early = (await _manifest(client, link, {"recipient": "Dr. Rivera"})).json()["files"][0]["location"]
        late = (await _manifest(client, link, {"recipient": "Dr. Rivera"})).json()["files"][0]["location"]
        host.clock.advance(3599)
        assert (await client.get(early)).status_code == 200
        host.clock.advance(1)
        assert (await client.get(late)).status_code == 404


@pytest.mark.asyncio
async def test_location_never_outlives_the_link(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, exp=host.clock.now + 120)
    async with httpx.AsyncClient(timeout=10) as client:
        location = (await _manifest(client, link, {"recipient": "Dr. Rivera"})).json()["files"][0]["location"]
        host.clock.advance(121)
        assert (await client.get(location)).status_code == 404


@pytest.mark.asyncio
async def test_embedded_when_it_fits(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips)
    async with httpx.AsyncClient(timeout=10) as client:
        big = (await _manifest(client, link, {"recipient": "Dr. Rivera", "embeddedLengthMax": 10_000_000})).json()
        assert "embedded" in big["files"][0] and "location" not in big["files"][0]
        assert decrypt(big["files"][0]["embedded"], link.payload.key)[0] == FHIR
        small = (await _manifest(client, link, {"recipient": "Dr. Rivera", "embeddedLengthMax": 10})).json()
        assert "location" in small["files"][0] and "embedded" not in small["files"][0]


@pytest.mark.asyncio
async def test_bad_requests(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips)
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await _manifest(client, link, {})).status_code == 400
        assert (await _manifest(client, link, {"recipient": "  "})).status_code == 400
        assert (await _manifest(client, link, {"recipient": "x", "embeddedLengthMax": "big"})).status_code == 400
        assert (await client.post(link.payload.url, content=b"not json")).status_code == 400
        unknown = host.base + "/" + "A" * 43
        assert (await client.post(unknown, json={"recipient": "x"})).status_code == 404
        assert (await client.get(host.base + "/file/nothing")).status_code == 404
        # A manifest link cannot be fetched directly with GET.
        assert (await client.get(link.payload.url, params={"recipient": "x"})).status_code == 404
        # Viewers in browsers fetch across origins.
        preflight = await client.options(link.payload.url, headers={
            "Origin": "https://viewer.example.org", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "*"


@pytest.mark.asyncio
async def test_u_flag_direct_get(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, direct=True, label="Summary")
    assert link.payload.flag == "U"
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(link.payload.url, params={"recipient": "Dr. Rivera"})
        assert response.status_code == 200 and response.headers["content-type"] == "application/jose"
        assert json.loads(decrypt(response.text, link.payload.key)[1]) == json.loads(dumps(ips))
        assert (await client.get(link.payload.url)).status_code == 400  # recipient is required
        host.store.revoke(link.link_id)
        assert (await client.get(link.payload.url, params={"recipient": "Dr. Rivera"})).status_code == 404


def test_publish_refuses_bad_combinations(host: Host, ips: dict[str, Any]) -> None:
    with pytest.raises(LinkError, match="cannot have a passcode"):
        _publish(host, ips, direct=True, passcode="1234")
    with pytest.raises(LinkError, match="exactly one file"):
        publish(host.store, host.base, [(FHIR, b"{}"), (FHIR, b"{}")], access_key=host.public_jwk, direct=True)
    with pytest.raises(LinkError, match="nothing to share"):
        publish(host.store, host.base, [], access_key=host.public_jwk)
    with pytest.raises(LinkError, match="not a content type"):
        publish(host.store, host.base, [("text/html", b"x")], access_key=host.public_jwk)
    with pytest.raises(LinkError, match="passcode is empty"):
        _publish(host, ips, passcode=" ")


@pytest.mark.asyncio
async def test_long_term_link_content_can_be_replaced(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, long_term=True, passcode="1234")
    assert link.payload.flag == "LP"
    update_files(host.store, link.payload, [(FHIR, b'{"resourceType":"Bundle","type":"document"}')])
    async with httpx.AsyncClient(timeout=10) as client:
        files = (await _manifest(client, link, {"recipient": "Dr. R", "passcode": "1234",
                                                "embeddedLengthMax": 100_000})).json()["files"]
        assert decrypt(files[0]["embedded"], link.payload.key)[1] == b'{"resourceType":"Bundle","type":"document"}'
    with pytest.raises(LinkError, match="long-term"):
        update_files(host.store, _publish(host, ips).payload, [(FHIR, b"{}")])


@pytest.mark.asyncio
async def test_access_entries_are_sealed_to_the_patient(host: Host, ips: dict[str, Any]) -> None:
    link = _publish(host, ips, passcode="1234")
    async with httpx.AsyncClient(timeout=10) as client:
        await _manifest(client, link, {"recipient": "Mallory", "passcode": "0000"})
        await _manifest(client, link, {"recipient": "Dr. Rivera", "passcode": "1234"})
    records = host.store.access_since(0)
    assert len(records) == 2 and all(r.link_id == link.link_id for r in records)
    opened = [open_access(host.private_jwk, r.sealed) for r in records]
    assert [(o["recipient"], o["event"]) for o in opened] == [("Mallory", "passcode-refused"),
                                                              ("Dr. Rivera", "manifest")]
    assert all(o["link"] == link.link_id and o["at"].endswith("+00:00") for o in opened)
    assert all("Rivera" not in r.sealed and "Mallory" not in r.sealed for r in records)
    stranger, _ = new_access_keypair()
    with pytest.raises(DecryptionFailed):
        open_access(stranger, records[0].sealed)
    assert host.store.access_since(records[0].cursor) == records[1:]
    assert host.store.forget_access(records[-1].cursor) == 2 and host.store.access_since(0) == []


@pytest.mark.asyncio
async def test_host_files_hold_no_plaintext(host: Host, ips: dict[str, Any], demo: Any) -> None:
    label = "Summary for Dr. Rivera"
    link = _publish(host, ips, passcode="sesame-4711", label=label, compress=False)
    async with httpx.AsyncClient(timeout=10) as client:
        await _manifest(client, link, {"recipient": "Dr. Rivera", "passcode": "wrong"})
        await _manifest(client, link, {"recipient": "Dr. Rivera", "passcode": "sesame-4711"})
    raw = b"".join(p.read_bytes() for p in host.store_path.parent.iterdir() if p.is_file())
    assert len(raw) > 10_000  # the ciphertext is there
    for secret in ("Lemke", "Elvina", "Prediabetes", "Shellfish", "Rivera", label, "sesame-4711"):
        assert secret.encode() not in raw, secret
    assert link.payload.key not in raw
    assert oct(host.store_path.stat().st_mode & 0o777) == "0o600"


def test_purge_drops_dead_ciphertext(host: Host, ips: dict[str, Any]) -> None:
    alive = _publish(host, ips)
    expired = _publish(host, ips, exp=host.clock.now + 10)
    revoked = _publish(host, ips)
    host.store.revoke(revoked.link_id)
    host.store.purge(host.clock.now + 11)
    assert host.store.files(alive.link_id) and not host.store.files(expired.link_id)
    assert host.store.link(expired.link_id) is not None  # still answers 404, id never reused


@pytest.mark.asyncio
async def test_a_refused_link_says_why(host: Host, ips: dict[str, Any]) -> None:
    """404s carry a reason a viewer can put in a plain sentence: unknown, expired, revoked or locked."""
    revoked = _publish(host, ips)
    host.store.revoke(revoked.link_id)
    expired = _publish(host, ips, exp=host.clock.now + 60)
    locked = _publish(host, ips, passcode="1234", max_attempts=1)
    direct = _publish(host, ips, direct=True)
    host.store.revoke(direct.link_id)
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await _manifest(client, locked, {"recipient": "x", "passcode": "0000"})).status_code == 401
        host.clock.advance(120)
        body = {"recipient": "Dr. Rivera"}
        for link, reason in ((revoked, "revoked"), (expired, "expired"), (locked, "locked")):
            response = await _manifest(client, link, body)
            assert response.status_code == 404 and response.json()["reason"] == reason
        unknown = await client.post(host.base + "/" + "A" * 43, json=body)
        assert unknown.status_code == 404 and unknown.json()["reason"] == "unknown"
        got = await client.get(direct.payload.url, params={"recipient": "Front desk"})
        assert got.status_code == 404 and got.json()["reason"] == "revoked"


@pytest.mark.asyncio
async def test_the_viewer_is_served_from_the_package(host: Host) -> None:
    """GET /view is the doctor's page; its script and style come from the same host, under a policy that loads
    nothing from elsewhere and keeps the address (with the key in its fragment) out of referrers."""
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(host.base + "/view")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script src="view/viewer.js"' in page.text and "<label for=\"recipient\">" in page.text
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert page.headers["referrer-policy"] == "no-referrer"
        script = await client.get(host.base + "/view/viewer.js")
        assert script.status_code == 200 and "crypto.subtle.decrypt" in script.text
        assert "DecompressionStream" in script.text
        assert (await client.get(host.base + "/view/viewer.css")).status_code == 200
        assert (await client.get(host.base + "/view/index.html")).status_code == 404
        assert (await client.get(host.base + "/view/..%2Fhost.py")).status_code == 404
