"""Health card issuers' public keys: kept in the record, fetched from `{iss}/.well-known/jwks.json` when allowed.

A card is verified with the cached key set first; only when that fails (an issuer never seen, or a key it rotated
in) and going online is allowed is the key set fetched, over HTTPS (plain HTTP on loopback only, for tests), and
kept for next time. A key set that cannot be had leaves the card "not verified"; it never stops the import.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from ..errors import CarryError
from ..http import HttpClient, RetryPolicy, is_loopback
from ..share.codec.shc import HealthCard, verify_card
from .base import ImportContext, KeyCache

__all__ = ["Verification", "cached_keys", "keep_keys", "verify"]

_SETTING = "shc.jwks "  # + issuer URL
_MAX_JWKS = 256 * 1024


@dataclass(frozen=True, slots=True)
class Verification:
    verified: bool
    reason: str  # why not, in one sentence; "" when verified


def cached_keys(cache: KeyCache, issuer: str) -> dict[str, Any] | None:
    stored = cache.get_setting(_SETTING + issuer)
    if stored is None:
        return None
    keys = json.loads(stored)["keys"]
    return keys if isinstance(keys, dict) else None


def keep_keys(cache: KeyCache, issuer: str, key_set: dict[str, Any]) -> None:
    """Keep an issuer's key set in the record (also how a patient or a test trusts an issuer known offline)."""
    if not isinstance(key_set.get("keys"), list):
        raise CarryError("A key set must be a JWKS: a JSON object with a list of keys.")
    fetched = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    cache.set_setting(_SETTING + issuer, json.dumps({"keys": key_set, "fetched": fetched}, sort_keys=True))


def verify(card: HealthCard, context: ImportContext) -> Verification:
    known = cached_keys(context.cache, card.issuer)
    if known is not None and verify_card(card, known):
        return Verification(True, "")
    fetched = _fetch(card.issuer) if context.online else None
    if fetched is not None:
        keep_keys(context.cache, card.issuer, fetched)
        if verify_card(card, fetched):
            return Verification(True, "")
        return Verification(False, "Its signature does not match its issuer's published keys.")
    if known is not None:
        return Verification(False, "Its signature does not match the keys kept for its issuer.")
    return Verification(False, "Its issuer's keys are not known to Carry, so its signature could not be checked.")


def _jwks_url(issuer: str) -> str | None:
    parts = urlsplit(issuer)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(issuer)):
        return issuer.rstrip("/") + "/.well-known/jwks.json"
    return None


def _fetch(issuer: str) -> dict[str, Any] | None:
    url = _jwks_url(issuer)
    if url is None:
        return None
    try:
        body = _get(url)
        key_set = json.loads(body) if len(body) <= _MAX_JWKS else None
    except (CarryError, ValueError):
        return None
    if not isinstance(key_set, dict) or not isinstance(key_set.get("keys"), list):
        return None
    return key_set


def _get(url: str) -> bytes:
    async def get() -> bytes:
        async with HttpClient(concurrency=1, timeout=15.0, retry=RetryPolicy(attempts=2)) as http:
            response = await http.get(url)
        if not response.ok:
            raise CarryError("The issuer's key set could not be fetched.")
        return response.content

    return asyncio.run(get())
