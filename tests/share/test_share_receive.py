"""Opening links end to end against the share host: P and U links, embedded files, wrong passcodes, revoked and
expired links, the HL7 vector served as a U link, and a link whose key does not fit."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import pytest
from share_helpers import DATA, Host

from sync.fhir import dumps, loads
from sync.http import HttpClient, NetworkError, RetryPolicy
from sync.share import (
    DecryptionFailed,
    HostedFile,
    HostedLink,
    LinkError,
    LinkInactive,
    PasscodeRefused,
    check_ips,
    encode_link,
    new_link_id,
    open_access,
    open_link,
    publish,
)

FHIR = "application/fhir+json"


def _publish(host: Host, ips: dict[str, Any], **kwargs: Any) -> str:
    return publish(host.store, host.base, [(FHIR, dumps(ips))], access_key=host.public_jwk, **kwargs).uri


@pytest.mark.asyncio
async def test_open_passcode_link(host: Host, ips: dict[str, Any]) -> None:
    uri = _publish(host, ips, passcode="1234", label="For Dr. Rivera", exp=time.time() + 3600)
    received = await open_link(uri, recipient="Dr. Rivera", passcode="1234")
    assert received.label == "For Dr. Rivera" and received.flag == "P"
    assert [f.content_type for f in received.files] == [FHIR]
    assert received.bundles == [loads(dumps(ips))]
    assert check_ips(received.bundles[0]) == []
    document = received.documents[0]
    assert document.bundle_type == "document"
    names = {r.resource_type for r in document.resources}
    assert {"Composition", "Patient", "Condition", "AllergyIntolerance"} <= names
    assert all(r.valid for r in document.resources)
    opened = [open_access(host.private_jwk, r.sealed) for r in host.store.access_since(0)]
    assert [(o["recipient"], o["event"]) for o in opened] == [("Dr. Rivera", "manifest")]
    assert "Dr. Rivera" not in repr(received) and "Lemke" not in repr(received)


@pytest.mark.asyncio
async def test_open_direct_link_with_shared_client(host: Host, ips: dict[str, Any]) -> None:
    uri = _publish(host, ips, direct=True, viewer="https://viewer.example.org/shlink.html")
    async with HttpClient() as http:
        received = await open_link(uri, recipient="Dr. Rivera", http=http)
    assert received.flag == "U" and received.bundles == [loads(dumps(ips))]


@pytest.mark.asyncio
async def test_open_with_embedded_files(host: Host, ips: dict[str, Any]) -> None:
    uri = _publish(host, ips)
    received = await open_link(uri, recipient="Dr. Rivera", embedded_length_max=10_000_000)
    assert received.bundles == [loads(dumps(ips))]


@pytest.mark.asyncio
async def test_wrong_passcode_says_how_many_attempts_are_left(host: Host, ips: dict[str, Any]) -> None:
    uri = _publish(host, ips, passcode="1234", max_attempts=2)
    with pytest.raises(PasscodeRefused, match="The passcode is wrong; 1 attempt left.") as first:
        await open_link(uri, recipient="Dr. Rivera", passcode="0000")
    assert first.value.remaining == 1
    with pytest.raises(PasscodeRefused, match="the link is now disabled"):
        await open_link(uri, recipient="Dr. Rivera", passcode="0000")
    with pytest.raises(LinkInactive, match="expired, was revoked, or never existed"):
        await open_link(uri, recipient="Dr. Rivera", passcode="1234")
    with pytest.raises(PasscodeRefused, match="needs the passcode"):
        await open_link(uri, recipient="Dr. Rivera")


@pytest.mark.asyncio
async def test_revoked_link(host: Host, ips: dict[str, Any]) -> None:
    published = publish(host.store, host.base, [(FHIR, dumps(ips))], access_key=host.public_jwk, direct=True)
    host.store.revoke(published.link_id)
    with pytest.raises(LinkInactive, match="does not work any more"):
        await open_link(published.uri, recipient="Dr. Rivera")


@pytest.mark.asyncio
async def test_expired_link_is_not_fetched(host: Host, ips: dict[str, Any]) -> None:
    uri = _publish(host, ips, exp=time.time() + 60)
    with pytest.raises(LinkInactive, match="This link expired on"):
        await open_link(uri, recipient="Dr. Rivera", now=time.time() + 120)
    assert host.store.access_since(0) == []  # nothing was asked of the host


@pytest.mark.asyncio
async def test_key_that_does_not_fit(host: Host, ips: dict[str, Any]) -> None:
    published = publish(host.store, host.base, [(FHIR, dumps(ips))], access_key=host.public_jwk, direct=True)
    forged = encode_link(replace(published.payload, key=b"\x01" * 32))
    with pytest.raises(DecryptionFailed, match="could not be decrypted with the link's key"):
        await open_link(forged, recipient="Dr. Rivera")


@pytest.mark.asyncio
async def test_hl7_vector_served_as_a_u_link(host: Host) -> None:
    # The HL7 IPS vector, hosted here: its JWE has no `cty`, so the receiver must tell FHIR JSON by its content.
    details = json.loads((DATA / "shl" / "IPS_IG-bundle-01-shl-details.json").read_text())
    token = (DATA / "shl" / "IPS_IG-bundle-01-enc.txt").read_text().strip()
    link_id = new_link_id()
    host.store.add_link(HostedLink(id=link_id, flag="LU", exp=None), [HostedFile(FHIR, token)])
    payload = {**details["shlinkJsonPayload"], "url": f"{host.base}/{link_id}"}
    from base64 import urlsafe_b64encode

    uri = "shlink:/" + urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    received = await open_link(uri, recipient="Dr. Rivera")
    assert received.label == "Demo SHL for IPS_IG-bundle-01"
    assert received.files[0].content_type == FHIR
    assert received.bundles == [loads((DATA / "ips" / "IPS_IG-bundle-01.json").read_bytes())]


@pytest.mark.asyncio
async def test_plain_errors_for_bad_links_and_unreachable_hosts() -> None:
    with pytest.raises(LinkError, match="not a SMART Health Link"):
        await open_link("https://example.org", recipient="Dr. Rivera")
    with pytest.raises(LinkError, match="Say who is opening the link"):
        await open_link("shlink:/" + _payload_b64("http://127.0.0.1:9/shl/" + "A" * 43), recipient=" ")
    async with HttpClient(retry=RetryPolicy(attempts=1)) as http:
        with pytest.raises(NetworkError, match="could not reach"):
            await open_link("shlink:/" + _payload_b64("http://127.0.0.1:9/shl/" + "A" * 43), recipient="Dr. Rivera",
                            http=http)


def _payload_b64(url: str) -> str:
    from base64 import urlsafe_b64encode

    body = {"url": url, "key": "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q", "flag": "U"}
    return urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
