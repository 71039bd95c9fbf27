"""The vendor registry (assets/vendor-quirks.json): who each EHR vendor is and how to recognise its servers.

One table serves the provider directory (which vendor a list entry belongs to) and sync (which quirks a portal
gets, which `[vendor.KEY]` of clients.toml applies), so the two cannot disagree about a host. A server is
recognised by, in this order: its host name (the longest listed suffix wins, so fhirpoint.open.allscripts.com is
Veradigm's while the rest of allscripts.com is Altera's), the software name its CapabilityStatement gives, a host
name prefix or base path the vendor's installations share, and loopback (Carry's own sandbox).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .assets import ASSETS
from .errors import CarryError
from .http import is_loopback

__all__ = ["OTHER", "REGISTRY_FILE", "RegistryError", "Vendor", "identify", "read_registry", "vendor_by_name", "vendors"]

REGISTRY_FILE = ASSETS / "vendor-quirks.json"
OTHER = "other"  # the key of every server and list no vendor entry recognises


@dataclass(frozen=True, slots=True)
class Vendor:
    key: str
    name: str
    developer_site: str | None = None
    hosts: tuple[str, ...] = ()  # a host matches itself and its subdomains
    host_prefixes: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # lower-case pieces of a base URL's path
    software: tuple[str, ...] = ()  # lower-case pieces of a CapabilityStatement's software name
    names: tuple[str, ...] = ()  # folded words that name the vendor in a list
    loopback: bool = False


class RegistryError(CarryError):
    """The shipped registry cannot be read: the installation is damaged."""

    code = "install.vendor-registry"
    default_message = "The vendor registry shipped with Carry cannot be read: the installation is damaged."


@lru_cache(maxsize=4)
def read_registry(path: Path = REGISTRY_FILE) -> dict[str, Any]:
    """The registry file as JSON (quirks.py reads the search quirks from the same document)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegistryError(f"The vendor registry {path.name} cannot be read ({exc}).") from None
    return data


def _vendor(key: str, entry: Mapping[str, Any]) -> Vendor:
    match = entry.get("match", {})
    return Vendor(
        key=key,
        name=str(entry.get("name") or key),
        developer_site=entry.get("developer_site") or None,
        hosts=tuple(h.lower() for h in match.get("hosts", ())),
        host_prefixes=tuple(h.lower() for h in match.get("host_prefixes", ())),
        paths=tuple(p.lower() for p in match.get("paths", ())),
        software=tuple(s.lower() for s in match.get("software", ())),
        names=tuple(match.get("names", ())),
        loopback=bool(match.get("loopback", False)),
    )


@lru_cache(maxsize=4)
def vendors(path: Path = REGISTRY_FILE) -> Mapping[str, Vendor]:
    """Every vendor of the registry by key, in the registry's order."""
    return {key: _vendor(key, entry) for key, entry in read_registry(path).get("vendors", {}).items()}


def _by_host(host: str, table: Mapping[str, Vendor]) -> str | None:
    best: tuple[int, str] | None = None
    for vendor in table.values():
        for suffix in vendor.hosts:
            if (host == suffix or host.endswith("." + suffix)) and (best is None or len(suffix) > best[0]):
                best = (len(suffix), vendor.key)
    return best[1] if best else None


def identify(base_url: str, software: str = "", path: Path = REGISTRY_FILE) -> str:
    """The key of the vendor whose server this is, from its address and (when known) its software name; else OTHER."""
    table = vendors(path)
    parts = urlsplit(base_url.strip())
    host = (parts.hostname or "").lower()
    found = _by_host(host, table)
    if found:
        return found
    label = software.lower()
    path_part = parts.path.lower()
    rules: tuple[Callable[[Vendor], bool], ...] = (
        lambda v: bool(label) and any(s in label for s in v.software),
        lambda v: any(host.startswith(p) for p in v.host_prefixes) or any(p in path_part for p in v.paths),
        lambda v: v.loopback and is_loopback(base_url),
    )
    for rule in rules:
        for vendor in table.values():
            if rule(vendor):
                return vendor.key
    return OTHER


def vendor_by_name(folded: str, path: Path = REGISTRY_FILE) -> str:
    """The key of the vendor a folded name ("epic systems corporation") names by whole words; else OTHER."""
    padded = f" {folded} "
    for vendor in vendors(path).values():
        if any(f" {words} " in padded for words in vendor.names):  # whole words: "Epicure Dental" is not Epic
            return vendor.key
    return OTHER
