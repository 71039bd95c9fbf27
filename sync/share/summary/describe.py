"""Plain-text descriptions of FHIR resources for people: one row per resource, the same in the IPS narrative and
in the PDF, so what the doctor reads in either is what the patient picked.

Every function takes raw FHIR JSON (dicts) and never raises on odd input: a summary must still render when a
portal sent something unusual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ...fhir.dates import day

__all__ = ["Row", "concept_text", "describe", "patient_name"]

Lookup = Callable[[str], "dict[str, Any] | None"]
"""reference string -> the resource it points at, when it is at hand."""


@dataclass(frozen=True, slots=True)
class Row:
    item: str
    details: str
    status: str
    date: str
    source: str = ""  # where the item came from, when the Bundle says so (a Provenance naming it)


def _none(_: str) -> dict[str, Any] | None:
    return None


def describe(resource: Mapping[str, Any], lookup: Lookup = _none) -> Row:
    """One row describing `resource`: what it is, the details that matter, its status and its date."""
    rtype = resource.get("resourceType")
    handler = _HANDLERS.get(rtype if isinstance(rtype, str) else "", _generic)
    try:
        return handler(resource, lookup)
    except (AttributeError, TypeError, KeyError, IndexError, ValueError):  # odd shapes: say what little we can
        return Row(str(rtype or "Resource"), "", _text(resource.get("status")), "")


def concept_text(concept: Any) -> str:
    """The best human label of a CodeableConcept (its text, else the first coding's display, else its code)."""
    if not isinstance(concept, Mapping):
        return ""
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    for coding in concept.get("coding") or []:
        if isinstance(coding, Mapping):
            display = coding.get("display")
            if isinstance(display, str) and display.strip():
                return display.strip()
    for coding in concept.get("coding") or []:
        if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return ""


def patient_name(patient: Mapping[str, Any]) -> str:
    names = [n for n in patient.get("name") or [] if isinstance(n, Mapping)]
    names.sort(key=lambda n: 0 if n.get("use") == "official" else 1 if n.get("use") in (None, "usual") else 2)
    for name in names:
        if isinstance(name.get("text"), str) and name["text"].strip():
            return str(name["text"]).strip()
        parts = [p for p in name.get("given") or [] if isinstance(p, str)]
        if isinstance(name.get("family"), str):
            parts.append(name["family"])
        if parts:
            return " ".join(parts)
    return "Unnamed patient"


# --- per type ----------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _status(concept: Any) -> str:
    if isinstance(concept, Mapping):
        for coding in concept.get("coding") or []:
            if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
                return str(coding["code"])
        return concept_text(concept)
    return _text(concept)


def _when(resource: Mapping[str, Any], *names: str) -> str:
    for name in names:
        for key, value in resource.items():
            if not key.startswith(name):
                continue
            if isinstance(value, str):
                return day(value) if key != f"{name}String" else value
            if isinstance(value, Mapping):
                start = value.get("start") or value.get("end")
                if isinstance(start, str):
                    return day(start)
                if "value" in value:  # Age
                    return f"age {_number(value.get('value'))}".strip()
    return ""


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{round(value, 2):g}" if abs(value) < 1e9 else f"{value:g}"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return _text(value)


def _quantity(q: Any) -> str:
    if not isinstance(q, Mapping):
        return ""
    unit = q.get("unit") or q.get("code") or ""
    comparator = q.get("comparator") or ""
    return f"{comparator}{_number(q.get('value'))} {unit}".strip()


def _value(holder: Mapping[str, Any]) -> str:
    for key, value in holder.items():
        if not key.startswith("value"):
            continue
        kind = key[len("value") :]
        if kind == "Quantity":
            return _quantity(value)
        if kind == "CodeableConcept":
            return concept_text(value)
        if kind == "Range" and isinstance(value, Mapping):
            return f"{_quantity(value.get('low'))} - {_quantity(value.get('high'))}".strip(" -")
        if kind == "Ratio" and isinstance(value, Mapping):
            return f"{_quantity(value.get('numerator'))} / {_quantity(value.get('denominator'))}"
        if kind == "Period" and isinstance(value, Mapping):
            return f"{day(value.get('start'))} - {day(value.get('end'))}".strip(" -")
        if kind in ("String", "DateTime", "Time"):
            return _text(value)
        if kind in ("Boolean", "Integer"):
            return _number(value)
        if kind == "SampledData":
            return "sampled data"
    absent = holder.get("dataAbsentReason")
    if absent is not None:
        return f"no value ({concept_text(absent)})"
    return ""


def _medication(resource: Mapping[str, Any], lookup: Lookup) -> str:
    concept = resource.get("medicationCodeableConcept")
    if concept is not None:
        return concept_text(concept)
    ref = resource.get("medicationReference")
    if isinstance(ref, Mapping):
        target = lookup(ref["reference"]) if isinstance(ref.get("reference"), str) else None
        if target is not None:
            return concept_text(target.get("code")) or _text(ref.get("display")) or "Medication"
        return _text(ref.get("display")) or "Medication"
    return "Medication"


def _dosage(dosages: Any) -> str:
    for dosage in dosages or []:
        if isinstance(dosage, Mapping):
            text = _text(dosage.get("text")) or _text(dosage.get("patientInstruction"))
            if text:
                return text
            timing = dosage.get("timing", {}).get("repeat", {}) if isinstance(dosage.get("timing"), Mapping) else {}
            parts = []
            for dose in dosage.get("doseAndRate") or []:
                if isinstance(dose, Mapping) and dose.get("doseQuantity"):
                    parts.append(_quantity(dose["doseQuantity"]))
            if timing.get("frequency") and timing.get("period"):
                parts.append(f"{timing['frequency']} per {_number(timing['period'])} {timing.get('periodUnit', '')}")
            if dosage.get("asNeededBoolean"):
                parts.append("as needed")
            if parts:
                return ", ".join(p.strip() for p in parts if p.strip())
    return ""


def _condition(r: Mapping[str, Any], lookup: Lookup) -> Row:
    details = ", ".join(
        x for x in (concept_text(r.get("severity")), _status(r.get("verificationStatus"))) if x and x != "confirmed"
    )
    return Row(
        concept_text(r.get("code")) or "Condition",
        details,
        _status(r.get("clinicalStatus")),
        _when(r, "onset") or day(r.get("recordedDate")),
    )


def _allergy(r: Mapping[str, Any], lookup: Lookup) -> Row:
    parts = [", ".join(c for c in r.get("category") or [] if isinstance(c, str))]
    if isinstance(r.get("criticality"), str):
        parts.append(f"criticality {r['criticality']}")
    for reaction in r.get("reaction") or []:
        if isinstance(reaction, Mapping):
            shown = [concept_text(m) for m in reaction.get("manifestation") or []]
            if shown:
                parts.append("reaction: " + ", ".join(s for s in shown if s))
    return Row(
        concept_text(r.get("code")) or "Allergy or intolerance",
        "; ".join(p for p in parts if p),
        _status(r.get("clinicalStatus")),
        _when(r, "onset") or day(r.get("recordedDate")),
    )


def _medication_request(r: Mapping[str, Any], lookup: Lookup) -> Row:
    return Row(_medication(r, lookup), _dosage(r.get("dosageInstruction")), _text(r.get("status")),
               day(r.get("authoredOn")))


def _medication_statement(r: Mapping[str, Any], lookup: Lookup) -> Row:
    return Row(_medication(r, lookup), _dosage(r.get("dosage")), _text(r.get("status")),
               _when(r, "effective") or day(r.get("dateAsserted")))


def _medication_use(r: Mapping[str, Any], lookup: Lookup) -> Row:  # MedicationAdministration, MedicationDispense
    return Row(_medication(r, lookup), _dosage(r.get("dosageInstruction")), _text(r.get("status")),
               _when(r, "effective", "whenHandedOver", "whenPrepared"))


def _immunization(r: Mapping[str, Any], lookup: Lookup) -> Row:
    details = []
    for protocol in r.get("protocolApplied") or []:
        if isinstance(protocol, Mapping):
            dose = protocol.get("doseNumberPositiveInt") or protocol.get("doseNumberString")
            if dose:
                details.append(f"dose {dose}")
    if isinstance(r.get("lotNumber"), str):
        details.append(f"lot {r['lotNumber']}")
    return Row(concept_text(r.get("vaccineCode")) or "Vaccine", ", ".join(details), _text(r.get("status")),
               _when(r, "occurrence"))


def _observation(r: Mapping[str, Any], lookup: Lookup) -> Row:
    value = _value(r)
    if not value and r.get("component"):
        parts = []
        for comp in r["component"]:
            if isinstance(comp, Mapping):
                parts.append(f"{concept_text(comp.get('code'))}: {_value(comp)}".strip(": "))
        value = "; ".join(p for p in parts if p)
    if not value and r.get("hasMember"):
        value = f"{len(r['hasMember'])} results"
    flags = [concept_text(i) for i in r.get("interpretation") or []]
    ranges = []
    for ref in r.get("referenceRange") or []:
        if isinstance(ref, Mapping):
            shown = _text(ref.get("text")) or (
                f"{_quantity(ref.get('low'))} - {_quantity(ref.get('high'))}".strip(" -")
            )
            if shown:
                ranges.append(f"range {shown}")
    details = "; ".join(x for x in [value, *flags, *ranges] if x)
    return Row(concept_text(r.get("code")) or "Observation", details, _text(r.get("status")),
               _when(r, "effective") or day(r.get("issued")))


def _diagnostic_report(r: Mapping[str, Any], lookup: Lookup) -> Row:
    details = _text(r.get("conclusion"))
    if not details and r.get("result"):
        details = f"{len(r['result'])} results"
    return Row(concept_text(r.get("code")) or "Report", details, _text(r.get("status")),
               _when(r, "effective") or day(r.get("issued")))


def _procedure(r: Mapping[str, Any], lookup: Lookup) -> Row:
    sites = ", ".join(concept_text(s) for s in r.get("bodySite") or [])
    return Row(concept_text(r.get("code")) or "Procedure", sites, _text(r.get("status")), _when(r, "performed"))


def _device_name(device: Mapping[str, Any]) -> str:
    for name in device.get("deviceName") or []:
        if isinstance(name, Mapping) and isinstance(name.get("name"), str):
            return str(name["name"])
    return concept_text(device.get("type")) or "Device"


def _device_use(r: Mapping[str, Any], lookup: Lookup) -> Row:
    device = r.get("device")
    ref: Mapping[str, Any] = device if isinstance(device, Mapping) else {}
    target = lookup(ref["reference"]) if isinstance(ref.get("reference"), str) else None
    name = _device_name(target) if target else (_text(ref.get("display")) or "Device")
    return Row(name, concept_text(r.get("bodySite")), _text(r.get("status")),
               _when(r, "timing") or day(r.get("recordedOn")))


def _device(r: Mapping[str, Any], lookup: Lookup) -> Row:
    return Row(_device_name(r), concept_text(r.get("type")) if r.get("deviceName") else "", _text(r.get("status")),
               "")


def _involved(r: Mapping[str, Any], lookup: Lookup) -> Row:  # Practitioner, PractitionerRole, Organization, Location
    if isinstance(r.get("name"), str):
        name = _text(r.get("name"))
    elif r.get("name"):
        name = patient_name(r)
    else:
        name = _text((r.get("practitioner") or {}).get("display")) or concept_text((r.get("code") or [None])[0])
    kind = {"Practitioner": "practitioner", "PractitionerRole": "practitioner role", "Organization": "organization",
            "Location": "location"}.get(str(r.get("resourceType")), "")
    return Row(name or kind.capitalize() or "Unnamed", kind, "active" if r.get("active") is True else "", "")


def _medication_product(r: Mapping[str, Any], lookup: Lookup) -> Row:
    form = concept_text(r.get("form"))
    return Row(concept_text(r.get("code")) or "Medication", form, _text(r.get("status")), "")


def _provenance(r: Mapping[str, Any], lookup: Lookup) -> Row:
    names = [str(a["who"]["display"]) for a in r.get("agent") or []
             if isinstance(a, Mapping) and isinstance(a.get("who"), Mapping) and a["who"].get("display")]  # fmt: skip
    count = len(r.get("target") or [])
    return Row(", ".join(names) or "Source", f"source of {count} {'record' if count == 1 else 'records'} here",
               "", day(r.get("recorded")))  # fmt: skip


def _document(r: Mapping[str, Any], lookup: Lookup) -> Row:
    label = concept_text(r.get("type")) or "Document"
    details = r.get("description") if isinstance(r.get("description"), str) else ""
    return Row(label, str(details), _text(r.get("status")), day(r.get("date")))


def _generic(r: Mapping[str, Any], lookup: Lookup) -> Row:
    label = concept_text(r.get("code")) or concept_text(r.get("type")) or str(r.get("resourceType") or "Resource")
    return Row(label, "", _text(r.get("status")), _when(r, "effective", "occurrence", "performed", "date"))


_HANDLERS: dict[str, Callable[[Mapping[str, Any], Lookup], Row]] = {
    "Condition": _condition,
    "AllergyIntolerance": _allergy,
    "MedicationRequest": _medication_request,
    "MedicationStatement": _medication_statement,
    "MedicationAdministration": _medication_use,
    "MedicationDispense": _medication_use,
    "Immunization": _immunization,
    "Observation": _observation,
    "DiagnosticReport": _diagnostic_report,
    "Procedure": _procedure,
    "DeviceUseStatement": _device_use,
    "Device": _device,
    "Practitioner": _involved,
    "PractitionerRole": _involved,
    "Organization": _involved,
    "Location": _involved,
    "Medication": _medication_product,
    "Provenance": _provenance,
    "DocumentReference": _document,
}
