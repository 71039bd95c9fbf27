"""Write-back where a portal allows it: the resources a patient may send, and whether a portal takes them.

A portal takes a resource type when its CapabilityStatement declares `create` for it AND the granted scopes let
Carry create it (SMART v2 `patient/X.c`, `.cud`, `.cruds`, or v1 `patient/X.write` / `.*`). Facts: SMART App
Launch 2.2 (scopes), US Core "Writing Vital Signs" (one vital sign per create, subject and performer the patient,
meta.tag us-core-tags#patient-supplied), US Core DocumentReference (category, type, content.attachment).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from ...fhir import ServerCapabilities, dumps
from ...fhir.attachment import inline_attachment
from ..errors import ShareError
from .story import PatientNote, note_document

__all__ = [
    "BLOOD_PRESSURE",
    "READINGS",
    "VITAL_SIGNS",
    "VitalSign",
    "accepts",
    "blood_pressure",
    "patient_note",
    "reading",
    "scope_allows_create",
    "summary_document",
    "vital_sign",
]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PATIENT_SUPPLIED = {"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-tags", "code": "patient-supplied",
                    "display": "Patient supplied"}  # fmt: skip


@dataclass(frozen=True)
class VitalSign:
    key: str
    code: str  # LOINC
    display: str
    unit: str  # UCUM
    low: float  # plausible range, to catch typing mistakes
    high: float
    category: str = "vital-signs"
    # Other UCUM units a patient may measure in: (unit, factor, offset, LOINC code in that unit or ""), where
    # (value + offset) * factor is the value in `unit`; the value is stored in the unit it was measured in.
    others: tuple[tuple[str, float, float, str], ...] = ()

    @property
    def units(self) -> tuple[str, ...]:
        return (self.unit, *(other[0] for other in self.others))


VITAL_SIGNS: Mapping[str, VitalSign] = {
    v.key: v
    for v in (
        VitalSign("weight", "29463-7", "Body weight", "kg", 0.5, 400, others=(("[lb_av]", 0.45359237, 0, ""),)),
        VitalSign("height", "8302-2", "Body height", "cm", 20, 260, others=(("[in_i]", 2.54, 0, ""),)),
        VitalSign("heart-rate", "8867-4", "Heart rate", "/min", 20, 250),
        VitalSign("temperature", "8310-5", "Body temperature", "Cel", 30, 45, others=(("[degF]", 5 / 9, -32, ""),)),
        VitalSign("respiratory-rate", "9279-1", "Respiratory rate", "/min", 4, 80),
        VitalSign("oxygen-saturation", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", 50, 100),
    )
}
# Readings a patient takes at home besides the vital signs: blood glucose (mass or molar concentration).
READINGS: Mapping[str, VitalSign] = {
    **VITAL_SIGNS,
    "glucose": VitalSign("glucose", "2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", 10, 1000, "laboratory",
                         others=(("mmol/L", 18.016, 0, "15074-8"),)),  # fmt: skip
}
BLOOD_PRESSURE = {"panel": ("85354-9", "Blood pressure panel with all children optional"),
                  "systolic": ("8480-6", "Systolic blood pressure"),
                  "diastolic": ("8462-4", "Diastolic blood pressure")}  # fmt: skip
_BP_RANGE = {"systolic": (50, 300), "diastolic": (20, 200)}
_MM_HG = "mm[Hg]"


def scope_allows_create(scope: str, resource_type: str) -> bool:
    for item in scope.split():
        context, _, rest = item.partition("/")
        if context not in ("patient", "user") or not rest:
            continue
        rtype, _, perms = rest.partition(".")
        perms = perms.split("?", 1)[0]
        if rtype not in ("*", resource_type):
            continue
        if perms in ("write", "*") or (perms and set(perms) <= set("cruds") and "c" in perms):
            return True
    return False


def accepts(capabilities: ServerCapabilities, scope: str, resource_type: str) -> tuple[bool, str]:
    """(whether the portal takes a created `resource_type`, a plain sentence why not)."""
    caps = capabilities.types.get(resource_type)
    if caps is None or "create" not in caps.interactions:
        return False, f"The portal does not accept new {resource_type} resources from patients' apps."
    if not scope_allows_create(scope, resource_type):
        return False, (f"The portal could accept it, but Carry was not granted permission to send a {resource_type}; "
                       "connect again and allow it.")  # fmt: skip
    return True, ""


def _stamp(now: datetime | None) -> str:
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat(timespec="seconds")


def summary_document(
    ips_bundle: Mapping[str, Any], patient_id: str, *, now: datetime | None = None, title: str = "Patient summary"
) -> dict[str, Any]:
    """A DocumentReference carrying the IPS document as an application/fhir+json attachment."""
    data = dumps(ips_bundle)
    stamp = _stamp(now)
    return {
        "resourceType": "DocumentReference",
        "meta": {"tag": [PATIENT_SUPPLIED]},
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": "60591-5", "display": "Patient summary Document"}]},
        "category": [{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                                  "code": "clinical-note", "display": "Clinical Note"}]}],  # fmt: skip
        "subject": {"reference": f"Patient/{patient_id}"},
        "author": [{"reference": f"Patient/{patient_id}"}],
        "date": stamp,
        "description": "International Patient Summary sent by the patient with Carry",
        "content": [{"attachment": inline_attachment(data, "application/fhir+json", title, stamp)}],
    }  # fmt: skip


def patient_note(note: PatientNote, patient_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The patient's correction or context on one of the portal's own resources, as a US Core DocumentReference
    (a clinical note typed LOINC 51855-5 "Patient Note", text attachment) pointing at that resource; marked
    patient-supplied and patient asserted, so the care team sees whose words they are."""
    rtype, rid = note.about
    return note_document(
        subject={"reference": f"Patient/{patient_id}"},
        related=[{"reference": f"{rtype}/{rid}"}],
        content_type="text/plain; charset=utf-8",
        data=note.text.encode("utf-8"),
        title="Note from the patient",
        description=note.sentence(),
        date=_stamp(now),
        category=[{"coding": [{"system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category",
                               "code": "clinical-note", "display": "Clinical Note"}]}],
        tags=[PATIENT_SUPPLIED],
    )  # fmt: skip


def vital_sign(kind: str, value: float | Decimal | str, patient_id: str, *, when: datetime | None = None) -> dict[str, Any]:
    """One US Core vital-sign Observation the patient measured, tagged patient-supplied."""
    if kind not in VITAL_SIGNS:
        raise ShareError(f"{kind!r} is not a vital sign Carry can send; choose from {', '.join(VITAL_SIGNS)}.")
    return reading(kind, value, patient_id, when=when)


def reading(
    kind: str, value: float | Decimal | str, patient_id: str, *, unit: str | None = None, when: datetime | None = None
) -> dict[str, Any]:
    """One Observation of a reading the patient took (a vital sign or blood glucose), in `unit` (one of the
    reading's UCUM units; its first by default), tagged patient-supplied."""
    sign = READINGS.get(kind)
    if sign is None:
        raise ShareError(f"{kind!r} is not a reading Carry knows; choose from {', '.join(READINGS)}.")
    chosen = unit or sign.unit
    if chosen not in sign.units:
        raise ShareError(f"A {sign.display.lower()} is measured in {' or '.join(sign.units)}, not {chosen!r}.")
    factor, offset, code = next(((f, o, c) for u, f, o, c in sign.others if u == chosen), (1.0, 0.0, ""))
    number = _number(value)
    if not number.is_finite() or not sign.low <= (float(number) + offset) * factor <= sign.high:
        raise ShareError(f"A {sign.display.lower()} of {value} {chosen} is not plausible; check it.")
    display = sign.display if not code else sign.display.replace("Mass/volume", "Moles/volume")
    resource = _observation(sign.category, code or sign.code, display, patient_id, when)
    resource["valueQuantity"] = {"value": number, "unit": chosen, "system": UCUM, "code": chosen}
    return resource


def blood_pressure(
    systolic: float | Decimal | str, diastolic: float | Decimal | str, patient_id: str, *, when: datetime | None = None
) -> dict[str, Any]:
    """A US Core blood pressure Observation (the panel with its systolic and diastolic components, mm[Hg])."""
    values = {"systolic": _number(systolic), "diastolic": _number(diastolic)}
    for part, number in values.items():
        low, high = _BP_RANGE[part]
        if not number.is_finite() or not low <= float(number) <= high:
            raise ShareError(f"A {part} pressure of {number} mm[Hg] is not plausible; it is between {low} and {high}.")
    if values["systolic"] <= values["diastolic"]:
        raise ShareError("The systolic pressure (the first, higher number) must be greater than the diastolic.")
    resource = _observation("vital-signs", *BLOOD_PRESSURE["panel"], patient_id, when)
    # LOINC's long name of the panel ("... with all children optional") is not what a patient calls it.
    resource["code"] = {"coding": [{"system": LOINC, "code": BLOOD_PRESSURE["panel"][0]}], "text": "Blood pressure"}
    resource["component"] = [
        {"code": {"coding": [{"system": LOINC, "code": BLOOD_PRESSURE[part][0], "display": BLOOD_PRESSURE[part][1]}],
                  "text": BLOOD_PRESSURE[part][1]},
         "valueQuantity": {"value": number, "unit": _MM_HG, "system": UCUM, "code": _MM_HG}}
        for part, number in values.items()
    ]  # fmt: skip
    return resource


def _number(value: float | Decimal | str) -> Decimal:
    try:
        return Decimal(str(value).strip().replace(",", "."))
    except ArithmeticError as exc:
        raise ShareError(f"{str(value)[:40]!r} is not a number.") from exc


def _observation(category: str, code: str, display: str, patient_id: str, when: datetime | None) -> dict[str, Any]:
    patient = {"reference": f"Patient/{patient_id}"}
    return {
        "resourceType": "Observation",
        "meta": {"tag": [PATIENT_SUPPLIED]},
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category,
                                  "display": "Vital Signs" if category == "vital-signs" else category.title()}]}],  # fmt: skip
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": patient,
        "performer": [patient],
        "effectiveDateTime": _stamp(when),
    }
