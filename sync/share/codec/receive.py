"""Opening a SMART Health Link someone shared: fetch the manifest (or the single file of a `U` link), fetch the
files, decrypt them with the link's key and take the FHIR apart, with a plain sentence for each way it can fail.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

from ...fhir import FHIRFormatError, ParsedDocument, dumps, loads, parse_document
from ...http import HttpClient, Response
from ..errors import LinkError, LinkInactive, PasscodeRefused, ShareError
from .jose import MAX_FILE_BYTES, decrypt
from .shc import health_card_bundles
from .shl import CONTENT_TYPES, SHLinkPayload, decode_link

__all__ = ["ReceivedFile", "ReceivedShare", "open_link"]


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ReceivedShare:
    label: str | None = field(repr=False)  # often names the patient
    flag: str
    expires: int | None
    files: list[ReceivedFile] = field(repr=False)
    bundles: list[dict[str, Any]] = field(repr=False)  # FHIR Bundles (or single resources) as JSON objects
    documents: list[ParsedDocument] = field(repr=False)  # the same, taken apart by sync.fhir, ready to store
    unverified_cards: int = 0  # SMART Health Cards whose signature Carry did not check


async def open_link(
    shlink: str,
    *,
    recipient: str,
    passcode: str | None = None,
    http: HttpClient | None = None,
    embedded_length_max: int | None = None,
    now: float | None = None,
) -> ReceivedShare:
    """Fetch, decrypt and parse what a SMART Health Link points at. `recipient` is shown to the patient who shared
    it ("opened by …"). Raises LinkError, PasscodeRefused, LinkInactive, DecryptionFailed or ShareError."""
    payload = decode_link(shlink)
    if not recipient.strip():
        raise LinkError("Say who is opening the link (your name or your practice's); the patient will see it.")
    if payload.expired(now):
        when = datetime.fromtimestamp(payload.exp or 0, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        raise LinkInactive(f"This link expired on {when}.")
    if "P" in payload.flag and not passcode:
        raise PasscodeRefused("This link needs the passcode the patient gave you.", None)
    client = http if http is not None else HttpClient(concurrency=2, timeout=30.0)
    encrypted: list[tuple[str | None, str]]
    try:
        if "U" in payload.flag:
            encrypted = [(None, await _direct(client, payload, recipient))]
        else:
            encrypted = await _via_manifest(client, payload, recipient, passcode, embedded_length_max)
    finally:
        if http is None:
            await client.aclose()

    files: list[ReceivedFile] = []
    for listed_type, token in encrypted:
        cty, plaintext = decrypt(token, payload.key)
        files.append(ReceivedFile(listed_type or cty or _sniff(plaintext), plaintext))
    bundles: list[dict[str, Any]] = []
    documents: list[ParsedDocument] = []
    cards = 0
    for received in files:
        if received.content_type == "application/fhir+json":
            found = [_json_object(received.data)]
        elif received.content_type == "application/smart-health-card":
            found = health_card_bundles(received.data)
            cards += len(found)
        else:
            continue  # smart-api-access and anything newer: kept in `files`, nothing to parse here
        for obj in found:
            try:
                documents.append(parse_document(dumps(obj)))
            except FHIRFormatError as exc:
                raise ShareError(f"The shared file is not FHIR that Carry can read: {exc}") from exc
            bundles.append(obj)
    return ReceivedShare(payload.label, payload.flag, payload.exp, files, bundles, documents, cards)


# --- HTTP --------------------------------------------------------------------------------------------------------


async def _direct(http: HttpClient, payload: SHLinkPayload, recipient: str) -> str:
    joiner = "&" if urlsplit(payload.url).query else "?"
    response = await _fetch(http, "GET", payload.url + joiner + urlencode({"recipient": recipient}))
    _raise_for_status(response)
    return _jwe_body(response)


async def _via_manifest(
    http: HttpClient, payload: SHLinkPayload, recipient: str, passcode: str | None, embedded_max: int | None
) -> list[tuple[str | None, str]]:
    body: dict[str, Any] = {"recipient": recipient}
    if passcode is not None:
        body["passcode"] = passcode
    if embedded_max is not None:
        body["embeddedLengthMax"] = embedded_max
    response = await _fetch(http, "POST", payload.url, json.dumps(body).encode("utf-8"))
    _raise_for_status(response)
    try:
        manifest = json.loads(response.content)
        listed = manifest["files"]
        if not isinstance(listed, list):
            raise TypeError
    except (ValueError, KeyError, TypeError) as exc:
        raise ShareError("The link's server sent a manifest Carry cannot read.") from exc
    out: list[tuple[str | None, str]] = []
    for item in listed:
        if not isinstance(item, Mapping):
            continue
        content_type = item.get("contentType")
        if content_type not in CONTENT_TYPES:
            continue  # receivers ignore what they do not know
        if isinstance(item.get("embedded"), str):
            out.append((str(content_type), item["embedded"]))
        elif isinstance(item.get("location"), str):
            location = item["location"]
            if urlsplit(location).scheme not in ("https", "http"):
                raise ShareError("The link's server listed a file at an address Carry will not open.")
            fetched = await _fetch(http, "GET", location)
            _raise_for_status(fetched, file=True)
            out.append((str(content_type), _jwe_body(fetched)))
    if not out:
        raise ShareError("The link holds nothing Carry can open.")
    return out


async def _fetch(http: HttpClient, method: str, url: str, json_body: bytes | None = None) -> Response:
    if json_body is None:
        response = await http.get(url, headers={"Accept": "application/jose, application/json"})
    else:
        response = await _post_json(http, url, json_body)
    if len(response.content) > MAX_FILE_BYTES * 4 // 3 + 8192:
        raise ShareError("The shared file is larger than Carry accepts (32 MB).")
    return response


async def _post_json(http: HttpClient, url: str, body: bytes) -> Response:
    # Never retried: a repeated wrong passcode would spend a second attempt.
    return await http.post_json(url, body)


def _raise_for_status(response: Response, *, file: bool = False) -> None:
    if response.ok:
        return
    if response.status == 401:
        remaining = None
        try:
            value = json.loads(response.content).get("remainingAttempts")
            remaining = value if isinstance(value, int) and not isinstance(value, bool) else None
        except (ValueError, AttributeError):
            pass
        if remaining == 0:
            raise PasscodeRefused("The passcode is wrong, and the link is now disabled.", 0)
        if remaining is not None:
            raise PasscodeRefused(
                f"The passcode is wrong; {remaining} attempt{'s' if remaining != 1 else ''} left.", remaining
            )
        raise PasscodeRefused("The passcode is wrong.", None)
    if response.status == 404:
        if file:
            raise LinkInactive("A file of this link is no longer available; open the link again.")
        raise LinkInactive("This link does not work any more: it expired, was revoked, or never existed.")
    if response.status == 429:
        raise ShareError("The link's server asks to wait before trying again.")
    raise ShareError(f"The link's server refused the request (HTTP {response.status}).")


def _jwe_body(response: Response) -> str:
    try:
        return response.content.decode("ascii").strip()
    except UnicodeDecodeError as exc:
        raise ShareError("The link's server sent something that is not an encrypted file.") from exc


def _sniff(plaintext: bytes) -> str:
    """The content type of a file whose sender gave none (the HL7 IPS example has no `cty`)."""
    try:
        data = json.loads(plaintext[:MAX_FILE_BYTES])
    except ValueError:
        return "application/octet-stream"
    if isinstance(data, dict) and "verifiableCredential" in data:
        return "application/smart-health-card"
    if isinstance(data, dict) and "resourceType" in data:
        return "application/fhir+json"
    if isinstance(data, dict) and "access_token" in data:
        return "application/smart-api-access"
    return "application/octet-stream"


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = loads(data)
    except FHIRFormatError as exc:
        raise ShareError(f"The shared file is not FHIR that Carry can read: {exc}") from exc
    if not isinstance(value, dict):
        raise ShareError("The shared file is not FHIR that Carry can read.")
    return value

