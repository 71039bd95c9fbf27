"""The patient's own words on their records, as FHIR: corrections and context ("this is wrong or incomplete")
carried as patient-asserted DocumentReferences (LOINC 51855-5 "Patient Note", `PATAST` in meta.security), linked to
the item they are about through `context.related`; the item itself is shared exactly as its source sent it.

Used three ways: one note per item inside an IPS section (a text attachment), the CMS Kill the Clipboard "Patient
Story" (one PDF of every note), and a note sent to the portal the item came from (write-back).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...fhir.attachment import inline_attachment

__all__ = ["PATAST", "PATIENT_STORY", "PatientNote", "note_document"]

LOINC = "http://loinc.org"
PATIENT_STORY = "51855-5"  # LOINC "Patient Note"
PATAST = ("http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "PATAST")


@dataclass(frozen=True)
class PatientNote:
    """What the patient wrote about one item: the item by (resourceType, id) as its source sent it."""

    about: tuple[str, str]
    text: str
    written: str  # ISO 8601
    about_display: str = ""  # what the item is, in words ("Prediabetes")

    def sentence(self) -> str:
        what = self.about_display or self.about[0]
        return f"About {what}: {self.text}"


def note_document(
    *,
    subject: Mapping[str, Any],
    related: Sequence[Mapping[str, Any]],
    content_type: str,
    data: bytes,
    title: str,
    description: str,
    date: str,
    category: Sequence[Mapping[str, Any]] = (),
    tags: Sequence[Mapping[str, Any]] = (),
    resource_id: str | None = None,
) -> dict[str, Any]:
    """A DocumentReference of the patient's own words: authored by the patient (`subject`), marked patient
    asserted, typed Patient Note, pointing at the items it is about (`related`: references)."""
    meta: dict[str, Any] = {"security": [{"system": PATAST[0], "code": PATAST[1], "display": "patient asserted"}]}
    if tags:
        meta["tag"] = [dict(t) for t in tags]
    document: dict[str, Any] = {"resourceType": "DocumentReference"}
    if resource_id is not None:
        document["id"] = resource_id
    document.update({
        "meta": meta,
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": PATIENT_STORY, "display": "Patient Note"}],
                 "text": "Note from the patient"},
        "subject": dict(subject),
        "author": [dict(subject)],
        "date": date,
        "description": description,
        "content": [{"attachment": inline_attachment(data, content_type, title, date)}],
    })  # fmt: skip
    if category:
        document["category"] = [dict(c) for c in category]
    if related:
        document["context"] = {"related": [dict(r) for r in related]}
    return document
