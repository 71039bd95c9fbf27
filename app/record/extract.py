"""What the views need from a resource, pulled out of its JSON once, when it is stored.

Nothing here validates: it reads whatever shape arrived and leaves a field empty when it is not there.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sync.fhir.dates import sortable
from sync.pdf_pages import PdfUnreadable, pdf_text

__all__ = ["Extracted", "extract", "human_name", "search_text"]

# Where each type keeps the date a patient would file it under, most telling first.
_DATE_FIELDS = (
    "effectiveDateTime",
    "effectiveInstant",
    "effectivePeriod.start",
    "occurrenceDateTime",
    "occurrenceString",
    "performedDateTime",
    "performedPeriod.start",
    "onsetDateTime",
    "onsetPeriod.start",
    "authoredOn",
    "period.start",
    "recordedDate",
    "date",
    "issued",
    "started",
    "created",
    "dateWritten",
    "whenHandedOver",
    "recorded",
    "sent",
    "startDate",
    "billablePeriod.start",
)
_DATE_PATHS = tuple((d.partition(".")[0], d.partition(".")[2] or None) for d in _DATE_FIELDS)
# Where each type keeps the coded "what" of the resource.
_CODE_FIELDS = {
    "Immunization": "vaccineCode",
    "MedicationRequest": "medicationCodeableConcept",
    "MedicationStatement": "medicationCodeableConcept",
    "MedicationDispense": "medicationCodeableConcept",
    "MedicationAdministration": "medicationCodeableConcept",
    "Encounter": "type",
    "DocumentReference": "type",
    "Claim": "type",
    "ExplanationOfBenefit": "type",
    "Device": "type",
    "ImagingStudy": "procedureCode",
    "Goal": "description",
    "CarePlan": "category",
    "CareTeam": "category",
    "Coverage": "type",
    "Location": "type",
    "Organization": "type",
}
_NOTE_LIMIT = 20_000
# The types whose inline attachments (text, HTML, a PDF's text layer) are searched by their words.
_INLINE_TYPES = ("DocumentReference", "DiagnosticReport")
_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class Extracted:
    effective: str | None
    category: str | None
    code_system: str | None
    code: str | None
    code_display: str | None
    status: str | None
    display: str
    subject: str | None
    value_num: float | None
    value_unit: str | None
    identifiers: tuple[tuple[str, str], ...]
    codes: str  # codes, their displays and concept texts, for the full-text index
    notes: str  # notes, descriptions and inline text documents, for the full-text index


def extract(resource: dict[str, Any]) -> Extracted:
    rtype = resource.get("resourceType", "")
    coding = _main_coding(resource, rtype)
    value_num, value_unit = _quantity(resource.get("valueQuantity"))
    codes, notes = _codes_and_notes(resource, rtype)
    return Extracted(
        effective=_effective(resource),
        category=_category(resource, rtype),
        code_system=_str(coding.get("system")),
        code=_str(coding.get("code")),
        code_display=_str(coding.get("display")),
        status=_status(resource),
        display=_display(resource, rtype),
        subject=_subject(resource, rtype),
        value_num=value_num,
        value_unit=value_unit,
        identifiers=_identifiers(resource),
        codes=codes,
        notes=notes,
    )


def search_text(resource: dict[str, Any]) -> tuple[str, str, str]:
    """(display, codes, notes) for the full-text index (what `extract` gives too)."""
    rtype = resource.get("resourceType", "")
    return (_display(resource, rtype), *_codes_and_notes(resource, rtype))


def _codes_and_notes(resource: dict[str, Any], rtype: str) -> tuple[str, str]:
    codes: list[str] = []
    for concept in _concepts(resource, rtype):
        for coding in concept.get("coding", []) or []:
            if isinstance(coding, dict):
                codes.extend(str(coding[k]) for k in ("code", "display") if isinstance(coding.get(k), str))
        if isinstance(concept.get("text"), str):
            codes.append(concept["text"])
    notes: list[str] = []
    for note in resource.get("note", []) or []:
        if isinstance(note, dict) and isinstance(note.get("text"), str):
            notes.append(note["text"])
    for key in ("description", "conclusion", "comment", "title"):
        if isinstance(resource.get(key), str):
            notes.append(resource[key])
    if rtype in _INLINE_TYPES:
        notes.extend(_inline_text(_attachments(resource, rtype)))
    return " ".join(codes), " ".join(notes)[:_NOTE_LIMIT]


def human_name(names: Any) -> str:
    if not isinstance(names, list):
        return ""
    chosen = next((n for n in names if isinstance(n, dict) and n.get("use") == "official"), None)
    chosen = chosen or next((n for n in names if isinstance(n, dict)), None)
    if not chosen:
        return ""
    if isinstance(chosen.get("text"), str) and chosen["text"].strip():
        return str(chosen["text"]).strip()
    parts = [p for p in chosen.get("prefix", []) or [] if isinstance(p, str)]
    parts += [g for g in chosen.get("given", []) or [] if isinstance(g, str)]
    if isinstance(chosen.get("family"), str):
        parts.append(chosen["family"])
    return " ".join(parts)


# --- internals ---------------------------------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _effective(resource: dict[str, Any]) -> str | None:
    for first, rest in _DATE_PATHS:
        value = resource.get(first)
        if value is None:
            continue
        if rest is not None:
            value = value.get(rest) if isinstance(value, dict) else None
        if isinstance(value, str) and value[:4].isdigit():
            return sortable(value)
    # A document the patient brought in has a day, not an instant: DocumentReference.context.period.start holds it.
    period = resource.get("context", {}).get("period") if isinstance(resource.get("context"), dict) else None
    start = period.get("start") if isinstance(period, dict) else None
    return sortable(start) if isinstance(start, str) and start[:4].isdigit() else None


def _first_concept(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, dict)), None)
    return value if isinstance(value, dict) else {}


def _concepts(resource: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    found = []
    for key in ("code", _CODE_FIELDS.get(rtype, "code"), "category", "reasonCode", "vaccineCode"):
        value = resource.get(key)
        for concept in value if isinstance(value, list) else [value]:
            if isinstance(concept, dict) and concept not in found:
                found.append(concept)
    return found


def _main_coding(resource: dict[str, Any], rtype: str) -> dict[str, Any]:
    concept = _first_concept(resource.get(_CODE_FIELDS.get(rtype, "code")))
    codings = [c for c in concept.get("coding", []) or [] if isinstance(c, dict)]
    chosen = next((c for c in codings if c.get("code")), None)
    if chosen is None:
        return {"display": concept["text"]} if isinstance(concept.get("text"), str) else {}
    if not chosen.get("display") and isinstance(concept.get("text"), str):
        return {**chosen, "display": concept["text"]}
    return chosen


def _concept_text(value: Any) -> str | None:
    concept = _first_concept(value)
    if isinstance(concept.get("text"), str) and concept["text"].strip():
        return str(concept["text"]).strip()
    for coding in concept.get("coding", []) or []:
        if isinstance(coding, dict) and isinstance(coding.get("display"), str):
            return str(coding["display"])
    for coding in concept.get("coding", []) or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def _category(resource: dict[str, Any], rtype: str) -> str | None:
    if rtype == "Encounter":
        klass = resource.get("class")
        return _str(klass.get("code")) if isinstance(klass, dict) else None
    concept = _first_concept(resource.get("category"))
    for coding in concept.get("coding", []) or []:
        if isinstance(coding, dict) and _str(coding.get("code")):
            return str(coding["code"])
    if isinstance(resource.get("category"), str):  # AllergyIntolerance.category is a list of codes
        return str(resource["category"])
    if isinstance(resource.get("category"), list) and resource["category"] and isinstance(
        resource["category"][0], str
    ):
        return str(resource["category"][0])
    return None


def _status(resource: dict[str, Any]) -> str | None:
    clinical = _first_concept(resource.get("clinicalStatus"))
    for coding in clinical.get("coding", []) or []:
        if isinstance(coding, dict) and _str(coding.get("code")):
            return str(coding["code"])
    if isinstance(resource.get("status"), str):
        return str(resource["status"])
    if isinstance(resource.get("lifecycleStatus"), str):
        return str(resource["lifecycleStatus"])
    return None


def _subject(resource: dict[str, Any], rtype: str) -> str | None:
    if rtype == "Patient" and isinstance(resource.get("id"), str):
        return f"Patient/{resource['id']}"
    for key in ("subject", "patient", "beneficiary"):
        value = resource.get(key)
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            return str(value["reference"])
    return None


def _quantity(value: Any) -> tuple[float | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    number = value.get("value")
    unit = _str(value.get("unit")) or _str(value.get("code"))
    if isinstance(number, (int, float, Decimal)) and not isinstance(number, bool):
        return float(number), unit
    return None, unit


def _format_number(value: Any) -> str:
    if isinstance(value, Decimal):
        value = value.normalize() if value == value.to_integral_value() else value
        return format(value, "f")
    return str(value)


def _value_text(node: dict[str, Any]) -> str | None:
    quantity = node.get("valueQuantity")
    if isinstance(quantity, dict) and quantity.get("value") is not None:
        unit = quantity.get("unit") or quantity.get("code") or ""
        return f"{_format_number(quantity['value'])} {unit}".strip()
    for key in ("valueString", "valueBoolean", "valueInteger", "valueDateTime"):
        if key in node and not isinstance(node[key], (dict, list)):
            return str(node[key])
    if "valueCodeableConcept" in node:
        return _concept_text(node["valueCodeableConcept"])
    return None


def _observation(resource: dict[str, Any]) -> str:
    name = _concept_text(resource.get("code")) or "Observation"
    value = _value_text(resource)
    if value is None:
        parts = []
        for component in resource.get("component", []) or []:
            if isinstance(component, dict):
                text = _value_text(component)
                if text:
                    parts.append(f"{_concept_text(component.get('code')) or ''} {text}".strip())
        value = "; ".join(parts) or None
    return f"{name}: {value}" if value else name


def _display(resource: dict[str, Any], rtype: str) -> str:
    if rtype in ("Patient", "Practitioner", "RelatedPerson", "Person"):
        return human_name(resource.get("name")) or rtype
    if rtype in ("Organization", "Location", "CareTeam", "HealthcareService", "Endpoint"):
        return _str(resource.get("name")) or rtype
    if rtype == "Observation":
        return _observation(resource)
    if rtype in ("MedicationRequest", "MedicationStatement", "MedicationDispense", "MedicationAdministration"):
        ref = resource.get("medicationReference")
        named = _concept_text(resource.get("medicationCodeableConcept"))
        if named is None and isinstance(ref, dict):
            named = _str(ref.get("display"))
        return named or "Medication"
    if rtype == "DocumentReference":
        return _str(resource.get("description")) or _concept_text(resource.get("type")) or "Document"
    if rtype == "Goal":
        return _concept_text(resource.get("description")) or "Goal"
    if rtype == "CarePlan":
        return _str(resource.get("title")) or _concept_text(resource.get("category")) or "Care plan"
    if rtype == "Device":
        names = resource.get("deviceName")
        if isinstance(names, list) and names and isinstance(names[0], dict) and _str(names[0].get("name")):
            return str(names[0]["name"])
    if rtype == "ImagingStudy":
        return _str(resource.get("description")) or _concept_text(resource.get("procedureCode")) or "Imaging study"
    field = _CODE_FIELDS.get(rtype, "code")
    return _concept_text(resource.get(field)) or _concept_text(resource.get("code")) or rtype


def _identifiers(resource: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for ident in resource.get("identifier", []) or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            system = ident["system"] if isinstance(ident.get("system"), str) else ""
            found.append((str(system), str(ident["value"])))
    return tuple(found)


def _attachments(resource: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    # A document's content, a report's presented form (the report as the lab or clinic printed it).
    if rtype == "DiagnosticReport":
        found = resource.get("presentedForm", []) or []
    else:
        found = [content.get("attachment") for content in resource.get("content", []) or [] if isinstance(content, dict)]
    return [attachment for attachment in found if isinstance(attachment, dict)]


def _inline_text(attachments: list[dict[str, Any]]) -> list[str]:
    texts = []
    for attachment in attachments:
        if not isinstance(attachment.get("data"), str):
            continue
        ctype = str(attachment.get("contentType", "")).split(";")[0].strip().lower()
        is_pdf = ctype == "application/pdf"
        if not (is_pdf or ctype.startswith(("text/", "application/xhtml"))):
            continue
        try:
            raw = base64.b64decode(attachment["data"], validate=False)
        except (binascii.Error, ValueError):
            continue
        if is_pdf:
            # A PDF's words find it in search (its text layer; a scan without one adds nothing).
            try:
                texts.append(pdf_text(raw, _NOTE_LIMIT))
            except PdfUnreadable:
                pass
            continue
        text = raw.decode("utf-8", "replace")
        if "html" in ctype:
            text = _TAGS.sub(" ", text)
        texts.append(text[:_NOTE_LIMIT])
    return texts
