"""Reading SMART Health Cards that arrive inside a SMART Health Link (`application/smart-health-card`).

Only the FHIR Bundle is taken out: the ES256 signature is NOT verified here (that needs the issuer's key set,
fetched from `{iss}/.well-known/jwks.json`), so what this returns must be shown as unverified.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

from .errors import LinkError

__all__ = ["health_card_bundles"]

_MAX_INFLATED = 8 * 1024 * 1024


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def health_card_bundles(data: bytes) -> list[dict[str, Any]]:
    """The FHIR Bundles of a `.smart-health-card` file ({"verifiableCredential": [JWS, …]}), unverified."""
    try:
        wrapper = json.loads(data)
        cards = wrapper["verifiableCredential"]
        if not isinstance(cards, list):
            raise TypeError
    except (ValueError, KeyError, TypeError) as exc:
        raise LinkError("A shared health card could not be read: it is not a SMART Health Card file.") from exc
    bundles = []
    for card in cards:
        try:
            header_b64, payload_b64, _signature = str(card).split(".")
            header = json.loads(_b64(header_b64))
            raw = _b64(payload_b64)
            if header.get("zip") == "DEF":
                unpacker = zlib.decompressobj(-zlib.MAX_WBITS)
                raw = unpacker.decompress(raw, _MAX_INFLATED)
                if unpacker.unconsumed_tail:
                    raise ValueError("too large")
            claims = json.loads(raw)
            bundle = claims["vc"]["credentialSubject"]["fhirBundle"]
        except (ValueError, KeyError, TypeError, zlib.error) as exc:
            raise LinkError("A shared health card could not be read: its content is damaged.") from exc
        if not isinstance(bundle, dict):
            raise LinkError("A shared health card could not be read: it holds no FHIR Bundle.")
        bundles.append(bundle)
    return bundles
