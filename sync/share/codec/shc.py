"""Reading SMART Health Cards: `.smart-health-card` files, `shc:/` QR numbers (chunked ones too), and the cards
that arrive inside a SMART Health Link (`application/smart-health-card`).

A card is a compact JWS signed by its issuer (ES256), whose payload is raw-DEFLATEd JSON claims with the FHIR Bundle
at `vc.credentialSubject.fhirBundle`. `read_card` takes a card apart WITHOUT checking the signature; `verify_card`
checks it against the issuer's key set (published at `{iss}/.well-known/jwks.json`). A card that was not verified
must be shown as not verified.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import DecryptionFailed, LinkError
from .jose import verify_signed

__all__ = ["HealthCard", "card_tokens", "health_card_bundles", "qr_token", "read_card", "verify_card"]

_MAX_INFLATED = 8 * 1024 * 1024
# shc:/ followed by digits, or shc:/<part>/<of>/ and digits for a card split over several QR codes.
_QR = re.compile(r"^shc:/(?:(\d+)/(\d+)/)?(\d+)$")
_DAMAGED = "The health card could not be read: its content is damaged."


@dataclass(frozen=True, slots=True)
class HealthCard:
    token: str  # the compact JWS, as issued
    issuer: str  # `iss`: the issuer's base URL
    key_id: str | None  # `kid` of the signing key
    issued: float | None  # `nbf`, seconds since the epoch
    types: tuple[str, ...]  # vc.type, e.g. https://smarthealth.cards#immunization
    bundle: dict[str, Any]


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def card_tokens(data: bytes) -> list[str]:
    """The JWS of each card in a `.smart-health-card` file ({"verifiableCredential": [JWS, …]})."""
    try:
        wrapper = json.loads(data)
        cards = wrapper["verifiableCredential"]
        if not isinstance(cards, list) or not cards or not all(isinstance(c, str) for c in cards):
            raise TypeError
    except (ValueError, KeyError, TypeError) as exc:
        raise LinkError("The health card could not be read: it is not a SMART Health Card file.") from exc
    return list(cards)


def qr_token(chunks: Sequence[str]) -> str:
    """The JWS held by the `shc:/` numeric content of one QR code, or of all the QR codes of a chunked card."""
    parts: dict[int, str] = {}
    total: int | None = None
    for chunk in chunks:
        match = _QR.match(chunk.strip())
        if match is None or len(match.group(3)) % 2:
            raise LinkError("The health card could not be read: it is not SMART Health Card QR content.")
        index, of = (int(match.group(1)), int(match.group(2))) if match.group(1) else (1, 1)
        if total is not None and of != total or not 1 <= index <= of or index in parts:
            raise LinkError("The health card could not be read: its QR parts do not belong together.")
        total = of
        parts[index] = match.group(3)
    if total is None or len(parts) != total:
        raise LinkError("The health card could not be read: some of its QR parts are missing.")
    digits = "".join(parts[n] for n in range(1, total + 1))
    # Each pair of digits is one character of the JWS, offset by 45 ('-').
    return "".join(chr(int(digits[i : i + 2]) + 45) for i in range(0, len(digits), 2))


def read_card(token: str) -> HealthCard:
    """The card's claims and FHIR Bundle, signature NOT checked."""
    try:
        header_b64, payload_b64, _signature = token.strip().split(".")
        header = json.loads(_b64(header_b64))
        raw = _b64(payload_b64)
        if header.get("zip") == "DEF":
            unpacker = zlib.decompressobj(-zlib.MAX_WBITS)
            raw = unpacker.decompress(raw, _MAX_INFLATED)
            if unpacker.unconsumed_tail:
                raise ValueError("too large")
        claims = json.loads(raw)
        vc = claims["vc"]
        bundle = vc["credentialSubject"]["fhirBundle"]
        issuer = claims.get("iss")
        kid = header.get("kid")
        nbf = claims.get("nbf")
        types = vc.get("type") or []
    except (ValueError, KeyError, TypeError, AttributeError, zlib.error) as exc:
        raise LinkError(_DAMAGED) from exc
    if not isinstance(bundle, dict):
        raise LinkError("The health card could not be read: it holds no FHIR Bundle.")
    if not isinstance(issuer, str) or not issuer:
        raise LinkError("The health card could not be read: it does not name its issuer.")
    return HealthCard(
        token=token.strip(),
        issuer=issuer,
        key_id=kid if isinstance(kid, str) else None,
        issued=float(nbf) if isinstance(nbf, (int, float)) else None,
        types=tuple(t for t in types if isinstance(t, str)) if isinstance(types, list) else (),
        bundle=bundle,
    )


def verify_card(card: HealthCard, key_set: dict[str, Any]) -> bool:
    """True when a key of the issuer's key set verifies the card's signature."""
    try:
        verify_signed(card.token, key_set)
    except DecryptionFailed:
        return False
    return True


def health_card_bundles(data: bytes) -> list[dict[str, Any]]:
    """The FHIR Bundles of a `.smart-health-card` file, unverified."""
    return [read_card(token).bundle for token in card_tokens(data)]
