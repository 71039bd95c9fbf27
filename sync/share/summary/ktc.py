"""The CMS "Kill the Clipboard" profile (patient-shared health documents via SMART Health Links, draft 0.9.0): the
PatientSharedBundle a clinic's check-in scanner files in the chart, and the rules a receiver checks it against.

The Bundle is a `collection` with a `timestamp`, exactly one Patient, the picked resources as the portals sent them
(without `meta.profile`, which receivers must not need), and a PatientSharedDocumentReference (LOINC 60591-5)
holding a PDF that renders every other resource, for a clinic that cannot file FHIR.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from .describe import patient_name
from ..errors import IPSError
from .ips import _Entries
from ..render.pdf import notes_pdf, rendered_pdf
from .story import PATAST, PATIENT_STORY, PatientNote, note_document

__all__ = [
    "FHIR_RENDERED_PDF",
    "PATIENT_SHARED",
    "PATIENT_STORY",
    "build_ktc",
    "check_ktc",
]

LOINC = "http://loinc.org"
FHIR_RENDERED_PDF = "60591-5"  # LOINC "Patient summary Document"
PATIENT_SHARED = ("https://cms.gov/fhir/CodeSystem/patient-shared-category", "patient-shared")


def _without_profile(resource: Mapping[str, Any]) -> dict[str, Any]:
    copy = dict(resource)
    meta = copy.get("meta")
    if isinstance(meta, Mapping) and "profile" in meta:
        rest = {k: v for k, v in meta.items() if k != "profile"}
        if rest:
            copy["meta"] = rest
        else:
            copy.pop("meta")
    return copy


def build_ktc(
    patient: Mapping[str, Any],
    resources: Sequence[Mapping[str, Any]],
    *,
    supporting: Sequence[Mapping[str, Any]] = (),
    now: datetime | None = None,
    sources: Mapping[tuple[str, str], str] | None = None,
    notes: Sequence[PatientNote] = (),
) -> dict[str, Any]:
    """The PatientSharedBundle of `resources` about `patient` (plus the `supporting` resources they refer to:
    medications, practitioners, organisations), with its FHIR-rendered PDF. `sources` ((resourceType, id) -> the
    source's name) become Provenance entries, leaving the resources themselves as received. `notes` (the patient's
    corrections and context on shared items) become the Patient Story: one PDF of them, pointing at the items."""
    if patient.get("resourceType") != "Patient":
        raise IPSError("The check-in records need the patient's own Patient resource.")
    missing = [what for what, key in (("name", "name"), ("birth date", "birthDate"), ("sex", "gender"))
               if not patient.get(key)]  # fmt: skip
    if missing:
        raise IPSError(f"A clinic cannot match these records to you: your Patient record has no {missing[0]}.")
    if not resources:
        raise IPSError("Nothing is picked; choose at least one item to share.")
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    stamp = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    entries = _Entries()
    patient_url = entries.add(_without_profile(patient))
    for resource in resources:
        if resource.get("resourceType") in ("Patient", "DocumentReference"):
            raise IPSError("Only records about you go in, not another Patient or a document.")
        entries.add(_without_profile(resource))
    entries.add_referenced([_without_profile(r) for r in supporting if r.get("resourceType") != "DocumentReference"])
    entries.rewrite_references(patient_url)
    entries.add_provenance(sources or {}, stamp)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "collection",
        "timestamp": stamp,
        "entry": [{"fullUrl": url, "resource": resource} for url, resource in entries.items()],
    }
    pdf = rendered_pdf(bundle, generated=moment)
    document_id = str(uuid.uuid4())
    bundle["entry"].append({"fullUrl": f"urn:uuid:{document_id}", "resource": {
        "resourceType": "DocumentReference",
        "id": document_id,
        "meta": {"security": [{"system": PATAST[0], "code": PATAST[1], "display": "patient asserted"}]},
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": FHIR_RENDERED_PDF, "display": "Patient summary Document"}]},
        "category": [{"coding": [{"system": PATIENT_SHARED[0], "code": PATIENT_SHARED[1],
                                  "display": "Patient shared"}]}],
        "subject": {"reference": patient_url, "display": patient_name(patient)},
        "author": [{"reference": patient_url, "display": patient_name(patient)}],
        "date": stamp,
        "description": "All of these records as a PDF",
        "content": [{"attachment": {"contentType": "application/pdf", "data": base64.b64encode(pdf).decode("ascii"),
                                    "title": "Shared records.pdf", "creation": stamp}}],
    }})  # fmt: skip
    story = _patient_story(entries, patient, patient_url, notes, moment, stamp)
    if story is not None:
        bundle["entry"].append({"fullUrl": f"urn:uuid:{story['id']}", "resource": story})
    return bundle


def _patient_story(
    entries: _Entries, patient: Mapping[str, Any], patient_url: str, notes: Sequence[PatientNote],
    moment: datetime, stamp: str,
) -> dict[str, Any] | None:  # fmt: skip
    """The PatientSharedDocumentReference typed Patient Story (51855-5) of the notes on items in the Bundle."""
    shared = [(note, url) for note in notes if (url := entries.url_of(note.about)) is not None]
    if not shared:
        return None
    pdf = notes_pdf(patient, [(n.about_display or n.about[0], n.written, n.text) for n, _ in shared], generated=moment)
    count = len(shared)
    return note_document(
        subject={"reference": patient_url, "display": patient_name(patient)},
        related=[{"reference": url} for url in dict.fromkeys(url for _, url in shared)],
        content_type="application/pdf", data=pdf, title="Notes from the patient.pdf",
        description=_story_text(f"{count} {'note' if count == 1 else 'notes'} from the patient: "
                                + " ".join(n.sentence() for n, _ in shared)),
        date=stamp, resource_id=str(uuid.uuid4()),
        category=[{"coding": [{"system": PATIENT_SHARED[0], "code": PATIENT_SHARED[1], "display": "Patient shared"}]}],
    )  # fmt: skip


def _story_text(text: str, limit: int = 2000) -> str:
    """The notes in words too, for a receiver that shows a document's description but not its PDF."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _codes(concept: Any) -> set[tuple[str, str]]:
    if not isinstance(concept, Mapping):
        return set()
    return {(str(c.get("system")), str(c.get("code"))) for c in concept.get("coding") or [] if isinstance(c, Mapping)}


def check_ktc(bundle: Mapping[str, Any]) -> list[str]:
    """What breaks the profile's rules, as sentences (empty when it conforms)."""
    problems: list[str] = []
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "collection":
        problems.append("Bundle.type must be collection.")
    if not isinstance(bundle.get("timestamp"), str):
        problems.append("Bundle.timestamp is missing.")
    entries = [e for e in bundle.get("entry") or [] if isinstance(e, Mapping)]
    resources: list[Mapping[str, Any]] = [e["resource"] for e in entries if isinstance(e.get("resource"), Mapping)]
    if len(resources) < 2:
        problems.append("The Bundle needs at least two entries.")
    patients = [e for e in entries if isinstance(e.get("resource"), Mapping) and e["resource"].get("resourceType") == "Patient"]
    if len(patients) != 1:
        problems.append(f"The Bundle must hold exactly one Patient, not {len(patients)}.")
    patient_url = patients[0].get("fullUrl") if len(patients) == 1 else None
    for resource in resources:
        meta = resource.get("meta")
        if isinstance(meta, Mapping) and meta.get("profile"):
            problems.append(f"{resource.get('resourceType')}/{resource.get('id')} carries meta.profile.")
    for resource in resources:
        if resource.get("resourceType") != "DocumentReference":
            continue
        kinds = {code for system, code in _codes(resource.get("type")) if system == LOINC}
        if len(kinds & {FHIR_RENDERED_PDF, PATIENT_STORY}) != 1:
            problems.append("A DocumentReference must be typed LOINC 60591-5 or 51855-5.")
        if not any(PATIENT_SHARED in _codes(c) for c in resource.get("category") or []):
            problems.append("A DocumentReference must have the patient-shared category.")
        if resource.get("status") != "current":
            problems.append("A DocumentReference must be current.")
        subject = (resource.get("subject") or {}).get("reference")
        authors = [a.get("reference") for a in resource.get("author") or [] if isinstance(a, Mapping)]
        if subject != patient_url or patient_url not in authors:
            problems.append("A DocumentReference's subject and author must be the Bundle's Patient.")
        attachments = [c.get("attachment") or {} for c in resource.get("content") or [] if isinstance(c, Mapping)]
        if not attachments or any(a.get("contentType") != "application/pdf" or not a.get("data") for a in attachments):
            problems.append("A DocumentReference must hold a PDF as base64 data.")
    return problems
