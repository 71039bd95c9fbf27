"""C-CDA documents (CCD, discharge summaries, referral and visit notes) as FHIR, through `ccda-to-fhir`.

Why that converter (see the issue 19 closing note for the evidence): it maps C-CDA R2.1 to R4B following the
C-CDA on FHIR IG, its output on HL7's examples validates, it reports what it skipped, and it is MIT-licensed.
What Carry adds around it:
- the document is checked with defusedxml first (no DTD, no entities), so no XML bomb reaches lxml;
- the converter gives random ids on every run: Carry renumbers each resource from the document's hash, its type
  and its place, so importing the same document again changes nothing; references to resources the converter did
  not emit keep only their display text;
- the original XML is kept as a DocumentReference, linked to every resource made from it by a Provenance, and
  what the converter skipped is named there: nothing in a section is lost, it stays readable in the document;
- the converter logs (with names and values) to standard output; its loggers are switched off.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import pkgutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from ..fhir.parse import ParsedResource
from .base import ImportContext, parsed, read_whole, stable_id
from .errors import ImportFailed

__all__ = ["CCDAImporter", "convert"]

_MAX_BYTES = 64 * 1024 * 1024  # a CCD with years of history is a few MB
_CDA = "{urn:hl7-org:v3}ClinicalDocument"
# The converter keeps per-conversion state in module globals: one conversion at a time.
_converting = threading.Lock()


class CCDAImporter:
    kind = "C-CDA document"

    def recognises(self, head: bytes, path: Path) -> bool:
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        return text.startswith(b"<") and b"<ClinicalDocument" in head and b"urn:hl7-org:v3" in head

    def resources(self, path: Path, context: ImportContext) -> Iterator[ParsedResource]:
        # Converted when called, before the record is opened for writing (a large document takes a second or two).
        data = read_whole(path, _MAX_BYTES, "It is larger than any C-CDA document Carry accepts (64 MB).")
        return iter([parsed(resource) for resource in convert(data)])


def convert(data: bytes) -> list[dict[str, Any]]:
    """The document's resources: what the converter made, renumbered, plus the kept document and its Provenance."""
    try:
        root = fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, SyntaxError, ValueError):
        raise ImportFailed("It is not well-formed XML, or it declares a DTD, which C-CDA documents never do.") from None
    if root.tag != _CDA:
        raise ImportFailed("It is XML, but not a C-CDA document.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFailed("It is not UTF-8 text.") from None
    from ccda_to_fhir import convert_document  # lxml and the converter load only when a document comes

    with _converting:
        _silence()
        try:
            result = convert_document(text)
        except Exception as exc:  # noqa: BLE001 - the converter raises many kinds; none may carry PHI out
            raise ImportFailed(
                f"It is a C-CDA document that Carry could not convert ({type(exc).__name__})."
            ) from None
    digest = hashlib.sha256(data).hexdigest()
    resources = _renumbered(result["bundle"], digest)
    if not any(r["resourceType"] == "Patient" for r in resources):
        raise ImportFailed("It is a C-CDA document that names no patient (its recordTarget is missing).")
    document = _document(data, digest, resources, result.get("metadata") or {})
    provenance = _provenance(digest, document, resources)
    return [*resources, document, provenance]


@functools.cache
def _silence() -> None:
    """Switch off the converter's loggers: each of its modules makes one that prints to standard output, some only
    part way through a conversion. Made here first, disabled, they stay so when the converter takes them."""
    import ccda_to_fhir

    names = ["ccda_to_fhir"] + [m.name for m in pkgutil.walk_packages(ccda_to_fhir.__path__, "ccda_to_fhir.")]
    for name in names:
        logging.getLogger(name).disabled = True


def _renumbered(bundle: dict[str, Any], digest: str) -> list[dict[str, Any]]:
    entries = bundle.get("entry") or []
    local: dict[str, str] = {}
    resources: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for entry in entries:
        resource = entry["resource"]
        rtype = resource["resourceType"]
        seen[rtype] = seen.get(rtype, 0) + 1
        new_id = stable_id("ccda", digest, rtype, str(seen[rtype]))
        for old in (entry.get("fullUrl"), f"urn:uuid:{resource.get('id')}", f"{rtype}/{resource.get('id')}"):
            if old:
                local[old] = f"{rtype}/{new_id}"
        resource["id"] = new_id
        resources.append(resource)
    for resource in resources:
        _point(resource, local)
    return resources


def _point(node: Any, local: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str):
            if ref in local:
                node["reference"] = local[ref]
            elif ref.startswith("urn:uuid:"):  # a resource the converter did not emit: keep what it said
                del node["reference"]
                if not node:
                    node["display"] = "not in the document"
        for value in node.values():
            _point(value, local)
    elif isinstance(node, list):
        for value in node:
            _point(value, local)


def _document(data: bytes, digest: str, resources: list[dict[str, Any]], metadata: dict[str, Any]) -> dict[str, Any]:
    composition = next((r for r in resources if r["resourceType"] == "Composition"), {})
    patient = next((r for r in resources if r["resourceType"] == "Patient"), None)
    skipped = metadata.get("skipped_templates") or {}
    failed = metadata.get("errors") or []
    note = "Original C-CDA document, as received."
    if skipped or failed:
        kept = sum(int(s.get("count", 1)) for s in skipped.values()) + len(failed)
        note += f" {kept} of its entries could not be turned into FHIR and are readable here only."
    document: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": stable_id("ccda-document", digest),
        "status": "current",
        "type": composition.get("type") or {"text": "Clinical document"},
        "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                                  "code": "clinical-note", "display": "Clinical Note"}]}],  # fmt: skip
        "description": note,
        "content": [{
            "attachment": {
                "contentType": "application/xml",
                "data": base64.b64encode(data).decode("ascii"),
                "size": len(data),
                "title": composition.get("title") or "C-CDA document",
            },
            "format": {"system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
                       "code": "urn:hl7-org:sdwg:ccda-structuredBody:2.1"},
        }],
    }  # fmt: skip
    if composition.get("date"):
        document["date"] = _instant(composition["date"])
    if patient is not None:
        document["subject"] = {"reference": f"Patient/{patient['id']}"}
    return document


def _instant(value: str) -> str:
    """FHIR instants need a time and a zone; a document dated by day only is filed at midnight UTC."""
    return value if "T" in value and (value.endswith("Z") or "+" in value[10:] or "-" in value[10:]) else (
        value[:10] + "T00:00:00Z"
    )


def _provenance(digest: str, document: dict[str, Any], resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Provenance",
        "id": stable_id("ccda-provenance", digest),
        "target": [{"reference": f"{r['resourceType']}/{r['id']}"} for r in resources],
        "recorded": document.get("date", "1970-01-01T00:00:00Z"),
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                                 "code": "TRANSFORM", "display": "transform"}]},  # fmt: skip
        "agent": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                 "code": "assembler", "display": "Assembler"}]},
            "who": {"display": "Carry, converting with ccda-to-fhir"},
        }],
        "entity": [{"role": "source", "what": {"reference": f"DocumentReference/{document['id']}"}}],
    }  # fmt: skip
