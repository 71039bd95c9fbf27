"""The vendor quirk table (assets/vendor-quirks.json): how each vendor's portal wants to be searched."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..assets import ASSETS
from ..http import is_loopback
from .capabilities import ServerCapabilities
from .errors import FHIRError

__all__ = ["QUIRKS_FILE", "SearchSpec", "VendorQuirks", "detect_vendor", "load_quirks"]

QUIRKS_FILE = ASSETS / "vendor-quirks.json"


@dataclass(frozen=True)
class SearchSpec:
    params: tuple[tuple[str, str], ...] = ()
    fallback: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class VendorQuirks:
    key: str  # "default" when no vendor matched
    name: str | None
    developer_site: str | None
    accept: str
    page_size: int
    scope_style: str  # "wildcard" or "per-type"
    everything: str  # "never" or "if-declared"
    revinclude_provenance: str  # "never" or "if-declared"
    types: tuple[str, ...]
    reference_types: tuple[str, ...]
    searches: Mapping[str, tuple[SearchSpec, ...]] = field(default_factory=dict)
    extra_scopes: tuple[str, ...] = ()
    default_client_id: str | None = None

    def searches_for(self, resource_type: str) -> tuple[SearchSpec, ...]:
        return self.searches.get(resource_type, (SearchSpec(),))


def _specs(items: Any) -> tuple[SearchSpec, ...]:
    specs = []
    for item in items:
        params = tuple(sorted((k, str(v)) for k, v in item.items() if k != "fallback"))
        fallback = item.get("fallback")
        specs.append(
            SearchSpec(params, tuple(sorted((k, str(v)) for k, v in fallback.items())) if fallback is not None else None)
        )
    return tuple(specs)


def _build(key: str, default: dict[str, Any], vendor: dict[str, Any]) -> VendorQuirks:
    merged = {**default, **vendor}
    searches = {**default.get("searches", {}), **vendor.get("searches", {})}
    return VendorQuirks(
        key=key,
        name=vendor.get("name"),
        developer_site=vendor.get("developer_site"),
        accept=merged["accept"],
        page_size=int(merged["page_size"]),
        scope_style=merged["scope_style"],
        everything=merged["everything"],
        revinclude_provenance=merged["revinclude_provenance"],
        types=tuple(merged["types"]),
        reference_types=tuple(merged["reference_types"]),
        searches={t: _specs(items) for t, items in searches.items()},
        extra_scopes=tuple(vendor.get("extra_scopes", ())),
        default_client_id=vendor.get("default_client_id"),
    )


@lru_cache(maxsize=4)
def _table(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FHIRError(f"The vendor quirk table {path.name} cannot be read ({exc}).") from None
    return data


def load_quirks(key: str | None = None, path: Path = QUIRKS_FILE) -> VendorQuirks:
    table = _table(path)
    vendors = table.get("vendors", {})
    if key and key in vendors:
        return _build(key, table["default"], vendors[key])
    return _build("default", table["default"], {})


def detect_vendor(base_url: str, capabilities: ServerCapabilities | None = None, path: Path = QUIRKS_FILE) -> VendorQuirks:
    """The quirks of the vendor whose host or software this server shows; the defaults when none matches."""
    table = _table(path)
    host = (urlsplit(base_url).hostname or "").lower()
    label = capabilities.label.lower() if capabilities else ""
    for key, vendor in table.get("vendors", {}).items():
        match = vendor.get("match", {})
        if any(host == h or host.endswith("." + h) for h in match.get("hosts", [])):
            return _build(key, table["default"], vendor)
        if label and any(s in label for s in match.get("software", [])):
            return _build(key, table["default"], vendor)
        if match.get("loopback") and is_loopback(base_url):
            return _build(key, table["default"], vendor)
    return _build("default", table["default"], {})
