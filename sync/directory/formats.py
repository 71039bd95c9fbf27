"""Readers for the shapes vendor endpoint lists come in, each turned into Providers.

* FHIR Bundles of Organization + Endpoint: SMART User-access Brands bundles (Epic's current list), Oracle Health's
  ignite-endpoints files, and Epic's older R4 list (Endpoints with a *contained* Organization).
* ONC Lantern's normalised mirror of each certified vendor's list: `{"Endpoints": [{"URL", "OrganizationName",
  "NPIID", "OrganizationZipCode"}]}`.
* Carry's own slim index (see slim.py).

Directory data is public, so it is read with the standard json module, not the FHIR validation layer: these are
lists of addresses, and one malformed entry must not cost the patient the other thousands.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..http import is_loopback
from .errors import ListFormatError
from .places import STATES, Place, split_state_prefix, state_code, zip5
from .provider import Provider
from .slim import SLIM_FORMAT, read_slim
from .vendors import VENDOR_NAMES, guess_vendor_key, vendor_key

__all__ = ["read_list", "read_list_file", "usable_base", "vendor_from_file_name"]

_OLD_FHIR = {"dstu2", "r2", "dstu1", "stu3", "r3"}  # Carry speaks R4; these bases would only fail later
_REST = "hl7-fhir-rest"
_BRAND = "http://hl7.org/fhir/StructureDefinition/organization-brand"
_PORTAL = "http://hl7.org/fhir/StructureDefinition/organization-portal"
_LANTERN_SUFFIX = re.compile(r"(?:_\d+)?_?EndpointSources(?:\.json)?$", re.IGNORECASE)


def read_list_file(path: Path | str, *, vendor: str | None = None) -> list[Provider]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ListFormatError(f"Cannot read {path.name}: {exc.strerror or exc}.") from None
    return read_list(data, source=path.name, vendor=vendor)


def read_list(
    data: bytes, *, source: str = "", vendor: str | None = None, label: str | None = None
) -> list[Provider]:
    """The providers in one endpoint list. Raises ListFormatError for a shape Carry does not know or no endpoints.

    `vendor` names the EHR vendor when the caller knows it (from the list's publisher); otherwise it is taken from
    a Lantern file name, or guessed per endpoint from its address. `label` names the list in messages.
    """
    label = label or source or "The list"
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise ListFormatError(f"{label} is not valid JSON (it may have been cut short).") from None
    if isinstance(document, dict) and document.get("format") == SLIM_FORMAT:
        found = read_slim(document, label)
    elif isinstance(document, dict) and isinstance(document.get("Endpoints"), list):
        found = list(_lantern(document["Endpoints"], source, vendor or vendor_from_file_name(source)))
    elif isinstance(document, dict) and document.get("resourceType") == "Bundle":
        if any(isinstance(link, dict) and link.get("relation") == "next" for link in document.get("link") or ()):
            raise ListFormatError(f"{label} is only the first page of a longer list.")
        found = list(_bundle(document, source, vendor))
    else:
        raise ListFormatError(
            f"{label} is not an endpoint list Carry can read: expected a FHIR Bundle of Organization and Endpoint "
            'resources or a Lantern {"Endpoints": [...]} file.'
        )
    if not found:
        raise ListFormatError(f"{label} holds no usable FHIR R4 endpoints.")
    return found


def vendor_from_file_name(name: str) -> str:
    """Lantern names each mirror after the CHPL developer: "Epic_Systems_Corporation_1_EndpointSources.json"."""
    stem = Path(name).name
    if not _LANTERN_SUFFIX.search(stem):
        return ""
    return _LANTERN_SUFFIX.sub("", stem).replace("_", " ").strip()


def usable_base(url: object) -> str | None:
    """The FHIR base trimmed, or None when a patient's app could never use it.

    Vendor lists carry internal hosts ("services.local", 10.x addresses), plain http and DSTU2 bases; only https on
    a public name passes (http only to this machine, for sandboxes).
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a broken port
    except ValueError:
        return None
    loopback = is_loopback(url)
    if parts.scheme.lower() != "https" and not (parts.scheme.lower() == "http" and loopback):
        return None
    if not host or parts.username or parts.password:
        return None
    if not loopback:
        try:
            if not ipaddress.ip_address(host).is_global:
                return None
        except ValueError:
            if "." not in host or host.endswith((".local", ".internal", ".lan", ".localdomain", ".corp")):
                return None
    if any(segment.lower() in _OLD_FHIR for segment in parts.path.split("/")):
        return None
    return url


def _vendor_fields(vendor: str | None, base: str) -> tuple[str, str]:
    if vendor:
        key = vendor_key(vendor)
        return VENDOR_NAMES.get(key) or vendor, key
    key = guess_vendor_key(base)
    return VENDOR_NAMES.get(key, ""), key


# --- Lantern ------------------------------------------------------------------------------------------------------


def _lantern(rows: list[Any], source: str, vendor: str) -> Iterator[Provider]:
    medicaid = Path(source).name.lower().startswith("medicaidstate")
    for row in rows:
        if not isinstance(row, dict):
            continue
        base = usable_base(row.get("URL"))
        if base is None:
            continue
        name = str(row.get("OrganizationName") or "").strip()
        zip_code = zip5(str(row.get("OrganizationZipCode") or ""))
        shown_vendor, key = _vendor_fields(vendor, base)
        if medicaid:
            # Lantern's state Medicaid list names each entry by its state alone.
            state = state_code(name)
            name = f"{STATES.get(state, name)} Medicaid"
            place = Place("", state, zip_code)
            yield Provider(name, base, "State Medicaid agency", "other", (place,), ("Medicaid",), source)
            continue
        state, name = split_state_prefix(name)
        if not name:
            host = urlsplit(base).hostname or base
            name = f"{shown_vendor} ({host})" if shown_vendor else host
        place = Place("", state, zip_code)
        yield Provider(name, base, shown_vendor, key, (place,) if place else (), (), source)


# --- FHIR Bundles ---------------------------------------------------------------------------------------------------


def _bundle(bundle: dict[str, Any], source: str, vendor: str | None) -> Iterator[Provider]:
    by_ref: dict[str, dict[str, Any]] = {}
    organizations: list[dict[str, Any]] = []
    endpoints: list[dict[str, Any]] = []
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        rtype, rid = resource.get("resourceType"), resource.get("id")
        if rid:
            by_ref[f"{rtype}/{rid}"] = resource
        if isinstance(entry.get("fullUrl"), str):
            by_ref[entry["fullUrl"]] = resource
        if rtype == "Organization":
            organizations.append(resource)
        elif rtype == "Endpoint":
            endpoints.append(resource)

    def resolve(ref: Any, rtype: str) -> dict[str, Any] | None:
        target = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(target, str):
            return None
        found = by_ref.get(target) or by_ref.get(f"{rtype}/{target.rsplit('/', 1)[-1]}")
        return found if found is not None and found.get("resourceType") == rtype else None

    def own_endpoints(org: dict[str, Any]) -> list[dict[str, Any]]:
        refs = list(org.get("endpoint") or ())
        for ext in _extensions(org, _PORTAL):
            subs = ext.get("extension") or ()
            refs.extend(sub.get("valueReference") for sub in subs if sub.get("url") == "portalEndpoint")
        found = (resolve(ref, "Endpoint") for ref in refs)
        unique = {id(ep): ep for ep in found if ep is not None}
        return list(unique.values())

    used: set[int] = set()
    for org in organizations:
        eps, parents = own_endpoints(org), []
        parent = org
        # Facilities point at their brand with partOf and use the brand's endpoints (Epic's Brands bundle).
        for _ in range(4):
            if eps:
                break
            parent = resolve(parent.get("partOf"), "Organization") or {}
            if not parent:
                break
            parents.append(str(parent.get("name") or ""))
            eps = own_endpoints(parent)
        for ep in eps:
            used.add(id(ep))
            provider = _org_provider(org, ep, parents, source, vendor)
            if provider is not None:
                yield provider

    for ep in endpoints:
        if id(ep) in used:
            continue
        org = _contained_org(ep) or resolve(ep.get("managingOrganization"), "Organization") or {}
        provider = _org_provider(org, ep, [], source, vendor)
        if provider is not None:
            yield provider


def _extensions(resource: dict[str, Any], url: str) -> Iterable[dict[str, Any]]:
    return (ext for ext in resource.get("extension") or () if isinstance(ext, dict) and ext.get("url") == url)


def _contained_org(endpoint: dict[str, Any]) -> dict[str, Any] | None:
    ref = (endpoint.get("managingOrganization") or {}).get("reference")
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None
    for res in endpoint.get("contained") or ():
        if isinstance(res, dict) and res.get("resourceType") == "Organization" and res.get("id") == ref[1:]:
            return res
    return None


def _endpoint_base(ep: dict[str, Any]) -> str | None:
    if ep.get("status") not in (None, "active"):
        return None
    connection = ep.get("connectionType")
    codings = connection if isinstance(connection, list) else [connection] if isinstance(connection, dict) else []
    codes = {c.get("code") for c in codings if isinstance(c, dict) and c.get("code")}
    if codes and _REST not in codes:
        return None
    return usable_base(ep.get("address"))


def _org_provider(
    org: dict[str, Any], ep: dict[str, Any], parents: list[str], source: str, vendor: str | None
) -> Provider | None:
    base = _endpoint_base(ep)
    if base is None or org.get("active") is False:
        return None
    name = str(org.get("name") or ep.get("name") or "").strip()
    if not name:
        return None
    aliases = [str(a).strip() for a in org.get("alias") or () if isinstance(a, str) and a.strip()]
    aliases += [p for p in parents if p and p != name]
    for ext in _extensions(org, _PORTAL):
        for sub in ext.get("extension") or ():
            if sub.get("url") == "portalName" and isinstance(sub.get("valueString"), str):
                aliases.append(sub["valueString"].strip())
    state, name = split_state_prefix(name)
    places = [_place(a) for a in org.get("address") or () if isinstance(a, dict)]
    kept = tuple(p for p in places if p) or ((Place("", state),) if state else ())
    shown_vendor, key = _vendor_fields(vendor, base)
    unique = tuple(dict.fromkeys(a for a in aliases if a and "..." not in a))
    return Provider(name, base, shown_vendor, key, kept, unique, source)


def _place(address: dict[str, Any]) -> Place:
    def text(field: str) -> str:
        value = address.get(field)
        return value.strip() if isinstance(value, str) and "..." not in value else ""

    return Place(text("city"), state_code(text("state")), zip5(text("postalCode")))
