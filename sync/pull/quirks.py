"""The vendor quirks: how each vendor's portal wants to be searched, from the vendor registry (sync/vendors.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..vendors import OTHER, REGISTRY_FILE, identify, read_registry
from ..fhir.capabilities import ServerCapabilities

__all__ = ["QUIRKS_FILE", "SearchSpec", "VendorQuirks", "detect_vendor", "load_quirks"]

QUIRKS_FILE = REGISTRY_FILE


@dataclass(frozen=True)
class SearchSpec:
    params: tuple[tuple[str, str], ...] = ()
    fallback: tuple[tuple[str, str], ...] | None = None


@dataclass(frozen=True)
class VendorQuirks:
    key: str  # a registry key; "other" when no vendor matched
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


def load_quirks(key: str | None = None, path: Path = QUIRKS_FILE) -> VendorQuirks:
    """The quirks of a registry key; the defaults (key "other") for an unknown key or none."""
    table = read_registry(path)
    vendors = table.get("vendors", {})
    if key and key in vendors:
        return _build(key, table["default"], vendors[key])
    return _build(OTHER, table["default"], {})


def detect_vendor(base_url: str, capabilities: ServerCapabilities | None = None, path: Path = QUIRKS_FILE) -> VendorQuirks:
    """The quirks of the vendor whose host or software this server shows; the defaults when none matches."""
    return load_quirks(identify(base_url, capabilities.label if capabilities else "", path), path)
