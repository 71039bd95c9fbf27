"""Vendor keys for directory entries, from the one vendor registry (sync/vendors.py) that sync uses too."""

from __future__ import annotations

from ..vendors import OTHER, identify, vendor_by_name, vendors
from .text import fold

__all__ = ["VENDOR_KEYS", "VENDOR_NAMES", "guess_vendor_key", "vendor_key"]

VENDOR_KEYS: tuple[str, ...] = (*vendors(), OTHER)

# How to show a vendor when a list does not name it.
VENDOR_NAMES: dict[str, str] = {**{key: v.name for key, v in vendors().items()}, OTHER: ""}


def vendor_key(name: str) -> str:
    """ "Epic Systems Corporation" -> "epic", "Cerner Corporation" -> "oracle-health"; unknown -> "other"."""
    folded = fold(name)
    for candidate in (folded, folded.replace(" ", "-")):
        if candidate in VENDOR_KEYS:
            return candidate
    return vendor_by_name(folded)


def guess_vendor_key(url: str) -> str:
    """The vendor of a FHIR base from its address alone, where the address says so; else "other"."""
    return identify(url)
