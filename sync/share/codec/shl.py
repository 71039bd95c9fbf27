"""SMART Health Links (HL7 SMART Health Cards and Links 1.0.0, links-specification): the payload and its
`shlink:/` URI, the rules a link must follow, file encryption (re-exported from .jose) and manifest JSON.

The payload holds the key, so a payload's repr never shows it; links leave Carry only as the patient hands them on.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...http import is_https_or_loopback
from ..errors import LinkError
from .jose import decrypt, encrypt

__all__ = [
    "CONTENT_TYPES",
    "MAX_LABEL",
    "MAX_URL",
    "SHLinkPayload",
    "check_manifest_url",
    "decode_link",
    "decrypt",
    "encode_link",
    "encrypt",
    "manifest",
    "manifest_file",
    "new_key",
    "new_link_id",
    "new_payload",
]

MAX_URL = 128
MAX_LABEL = 80
SCHEME = "shlink:/"
KNOWN_FLAGS = "LPU"
CONTENT_TYPES = ("application/fhir+json", "application/smart-health-card", "application/smart-api-access")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_ID_SEGMENT = re.compile(r"[A-Za-z0-9_-]{43,}")  # 43 base64url characters carry 256 bits


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _B64URL.match(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_key() -> bytes:
    return secrets.token_bytes(32)


def new_link_id() -> str:
    """43 base64url characters from 32 random bytes: 256 bits, the entropy the spec asks of a manifest URL. Never
    starting with "-", so the id can be typed as a command's argument (`carry share revoke ID`) without being taken
    for an option (one id in 64 is drawn again: a negligible loss of entropy)."""
    while True:
        link_id = _b64encode(secrets.token_bytes(32))
        if not link_id.startswith("-"):
            return link_id


@dataclass(frozen=True, slots=True)
class SHLinkPayload:
    url: str
    key: bytes = field(repr=False)
    exp: int | None = None
    flag: str = ""
    label: str | None = field(default=None, repr=False)  # often names the patient
    v: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"url": self.url, "key": _b64encode(self.key)}
        if self.exp is not None:
            out["exp"] = self.exp
        if self.flag:
            out["flag"] = self.flag
        if self.label is not None:
            out["label"] = self.label
        if self.v is not None:
            out["v"] = self.v
        return out

    def expired(self, now: float | None = None) -> bool:
        return self.exp is not None and (time.time() if now is None else now) >= self.exp


def _check_flags(flag: str) -> None:
    unknown = [c for c in flag if c not in KNOWN_FLAGS]
    if unknown:
        raise LinkError(f"{unknown[0]!r} is not a SMART Health Link flag (use L, P or U).")
    if len(set(flag)) != len(flag):
        raise LinkError("A SMART Health Link flag may appear only once.")
    if "".join(sorted(flag)) != flag:
        raise LinkError("SMART Health Link flags must be in alphabetical order.")
    if "U" in flag and "P" in flag:
        raise LinkError("A link fetched directly (flag U) cannot also need a passcode (flag P).")


def _check_label(label: str | None) -> None:
    if label is not None and len(label) > MAX_LABEL:
        raise LinkError(f"The link's label is {len(label)} characters long; at most {MAX_LABEL} are allowed.")


def check_manifest_url(url: str) -> None:
    """The rules for a manifest URL Carry hands out: https (or loopback http), at most 128 characters, and a path
    segment of at least 43 base64url characters (256 bits of entropy)."""
    if len(url) > MAX_URL:
        raise LinkError(f"The link's address is {len(url)} characters long; at most {MAX_URL} are allowed.")
    if not is_https_or_loopback(url):
        raise LinkError("The link's address must start with https://.")
    if not any(_ID_SEGMENT.fullmatch(part) for part in url.split("?")[0].split("/")):
        raise LinkError("The link's address does not carry 256 bits of randomness.")


def new_payload(
    base_url: str,
    *,
    link_id: str | None = None,
    key: bytes | None = None,
    flag: str = "",
    label: str | None = None,
    exp: int | float | None = None,
) -> SHLinkPayload:
    """A payload for a link served at `{base_url}/{link_id}`, checked against every rule of the spec."""
    link_id = link_id or new_link_id()
    url = f"{base_url.rstrip('/')}/{link_id}"
    check_manifest_url(url)
    _check_flags(flag)
    _check_label(label)
    key = key if key is not None else new_key()
    if len(key) != 32:
        raise LinkError("A SMART Health Link key must be 32 bytes.")
    return SHLinkPayload(url=url, key=key, exp=int(exp) if exp is not None else None, flag=flag, label=label)


def encode_link(payload: SHLinkPayload, *, viewer: str | None = None) -> str:
    """`shlink:/` + base64url(minified JSON), optionally after a viewer URL (`https://viewer.example#shlink:/…`)."""
    body = json.dumps(payload.to_json(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    link = SCHEME + _b64encode(body)
    if viewer:
        if not viewer.startswith(("https://", "http://127.", "http://localhost")) or "#" in viewer.rstrip("#"):
            raise LinkError("The viewer address must be an https:// URL (or this computer's) without a fragment.")
        return viewer.rstrip("#") + "#" + link
    return link


def decode_link(text: str) -> SHLinkPayload:
    """Parse a `shlink:/…` URI, bare or after a viewer URL. Unknown properties and unknown flags are ignored, as
    the spec asks of receivers; a newer `v`, a missing url or key, or a malformed exp are refused."""
    text = text.strip()
    at = text.find("#" + SCHEME)
    if at >= 0:
        text = text[at + 1 :]
    if not text.startswith(SCHEME):
        raise LinkError("This is not a SMART Health Link (it should start with shlink:/).")
    try:
        data = json.loads(_b64decode(text[len(SCHEME) :]))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise LinkError("This SMART Health Link is damaged: its content cannot be read.") from exc
    if not isinstance(data, dict):
        raise LinkError("This SMART Health Link is damaged: its content cannot be read.")
    v = data.get("v", 1)
    if not isinstance(v, int) or isinstance(v, bool):
        raise LinkError("This SMART Health Link has an invalid version.")
    if v > 1:
        raise LinkError(f"This SMART Health Link uses version {v}; Carry can open version 1 links only.")
    url = data.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise LinkError("This SMART Health Link has no valid address.")
    raw_key = data.get("key")
    try:
        key = _b64decode(raw_key) if isinstance(raw_key, str) and len(raw_key) == 43 else b""
    except (ValueError, binascii.Error):
        key = b""
    if len(key) != 32:
        raise LinkError("This SMART Health Link has no valid key.")
    exp = data.get("exp")
    if exp is not None and (isinstance(exp, bool) or not isinstance(exp, (int, float))):
        raise LinkError("This SMART Health Link has an expiry that is not a number of seconds.")
    flag = data.get("flag", "")
    if not isinstance(flag, str):
        raise LinkError("This SMART Health Link has invalid flags.")
    flag = "".join(c for c in flag if c in KNOWN_FLAGS)
    if "U" in flag and "P" in flag:
        raise LinkError("This SMART Health Link asks for both a passcode and a direct download, which is not allowed.")
    label = data.get("label")
    if label is not None and not isinstance(label, str):
        label = None
    return SHLinkPayload(
        url=url,
        key=key,
        exp=int(exp) if exp is not None else None,
        flag=flag,
        label=label[:MAX_LABEL] if label else label,
        v=data.get("v"),
    )


def manifest_file(
    content_type: str,
    *,
    location: str | None = None,
    embedded: str | None = None,
    last_updated: str | None = None,
    status: str | None = None,
    fhir_version: str | None = None,
) -> dict[str, Any]:
    if content_type not in CONTENT_TYPES:
        raise LinkError(f"{content_type!r} is not a content type a SMART Health Link may carry.")
    if (location is None) == (embedded is None):
        raise LinkError("A manifest file needs exactly one of location or embedded.")
    out: dict[str, Any] = {"contentType": content_type}
    if location is not None:
        out["location"] = location
    if embedded is not None:
        out["embedded"] = embedded
    if last_updated is not None:
        out["lastUpdated"] = last_updated
    if status is not None:
        out["status"] = status
    if fhir_version is not None:
        out["fhirVersion"] = fhir_version
    return out


def manifest(files: Sequence[Mapping[str, Any]], *, fhir_list: Mapping[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"files": [dict(f) for f in files]}
    if fhir_list is not None:
        out["list"] = dict(fhir_list)
    return out
