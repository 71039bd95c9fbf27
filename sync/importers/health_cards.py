"""SMART Health Cards as an importer: `.smart-health-card` files and text holding `shc:/` QR numbers.

Every resource of a card is stored whether or not its signature was verified, tagged with the outcome: "verified"
only when a key of the issuer's published key set verifies the signature, "not verified" otherwise (unknown
issuer, bad signature, offline with no cached keys). `meta.source` names the issuer.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..fhir.parse import ParsedResource, content_hash
from ..share.errors import LinkError
from ..share.codec.shc import HealthCard, card_tokens, qr_token, read_card
from .base import ImportContext, parsed, read_whole, stable_id
from .errors import ImportFailed
from .issuer_keys import Verification, verify

__all__ = ["NOT_VERIFIED", "VERIFICATION_SYSTEM", "VERIFIED", "HealthCardImporter"]

VERIFICATION_SYSTEM = "urn:carry:health-card-verification"
VERIFIED = "verified"
NOT_VERIFIED = "not-verified"
_MAX_FILE = 4 * 1024 * 1024  # a file of cards is a few KB; far larger is not one


class HealthCardImporter:
    kind = "SMART Health Card"

    def recognises(self, head: bytes, path: Path) -> bool:
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        return text.startswith(b"shc:/") or (text.startswith(b"{") and b'"verifiableCredential"' in head)

    def resources(self, path: Path, context: ImportContext) -> Iterator[ParsedResource]:
        # Not a generator: every card is read and verified (online if need be) when this is called, before the
        # caller opens the record for writing.
        made: list[ParsedResource] = []
        for token in _tokens(path):
            try:
                card = read_card(token)
            except LinkError as exc:
                raise ImportFailed(str(exc)) from None
            verification = verify(card, context)
            if not verification.verified:
                context.notes.append(f"A health card from {card.issuer} is not verified: {_lower(verification.reason)}")
            made.extend(card_resources(card, verification))
        return iter(made)


def _lower(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]


def _tokens(path: Path) -> list[str]:
    data = read_whole(path, _MAX_FILE, "It is far larger than a SMART Health Card file can be.")
    try:
        text = data.decode("utf-8-sig").strip()
        if not text.startswith("shc:/"):
            return card_tokens(data)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        # Numbers of one card split over several QR codes (shc:/1/3/…) make one card; plain ones a card each.
        if any(line.count("/") > 1 for line in lines):
            return [qr_token(lines)]
        return [qr_token([line]) for line in lines]
    except UnicodeDecodeError:
        raise ImportFailed("It is not a SMART Health Card file: it is not text.") from None
    except LinkError as exc:
        raise ImportFailed(str(exc)) from None


def card_resources(card: HealthCard, verification: Verification) -> Iterator[ParsedResource]:
    """The card's resources with ids made from their content, `resource:N` references pointing at those ids,
    and the verification outcome on each."""
    entries = card.bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise ImportFailed("The health card holds no FHIR resources.")
    resources: list[dict[str, Any]] = []
    local: dict[str, str] = {}
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise ImportFailed("The health card holds an entry that is not a FHIR resource.")
        resource = copy.deepcopy(resource)
        resource["id"] = stable_id("shc", card.issuer, content_hash(resource))
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str):
            local[full_url] = f"{resource['resourceType']}/{resource['id']}"
        resources.append(resource)
    tag = {
        "system": VERIFICATION_SYSTEM,
        "code": VERIFIED if verification.verified else NOT_VERIFIED,
        "display": "Health card signature verified" if verification.verified else "Health card not verified",
    }
    for resource in resources:
        _point(resource, local)
        meta = resource.setdefault("meta", {})
        meta["source"] = card.issuer
        tags = meta.get("tag") if isinstance(meta.get("tag"), list) else []
        meta["tag"] = [t for t in tags if not isinstance(t, dict) or t.get("system") != VERIFICATION_SYSTEM] + [tag]
        yield parsed(resource)


def _point(node: Any, local: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref in local:
            node["reference"] = local[ref]
        for value in node.values():
            _point(value, local)
    elif isinstance(node, list):
        for value in node:
            _point(value, local)
