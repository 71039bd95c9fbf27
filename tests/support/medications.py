"""Two clinics that prescribe the same ingredient at different strengths, and a penicillin allergy beside a
(stopped) penicillin prescription: the medication conflicts the record, the views and the UI must point out."""

from __future__ import annotations

import json
from typing import Any

from app.record import Record

from .copies import confirm_one_person

__all__ = ["PENICILLIN_ALLERGY", "import_conflicting_doses", "medication_request"]

_RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

PENICILLIN_ALLERGY: dict[str, Any] = {
    "resourceType": "AllergyIntolerance", "id": "al", "patient": {"reference": "Patient/p"},
    "clinicalStatus": {"coding": [{"code": "active"}]},
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91936005", "display": "Allergy to penicillin"}]},
}  # fmt: skip


def medication_request(rid: str, code: str, text: str, patient: str, when: str, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": _RXNORM, "code": code, "display": text}]},
        "subject": {"reference": f"Patient/{patient}"}, "authoredOn": when, "requester": {"display": f"Dr. {rid.upper()}"},
    }  # fmt: skip


def import_conflicting_doses(record: Record, allergy: dict[str, Any] = PENICILLIN_ALLERGY) -> None:
    """Clinic A: Ada, `allergy`, hydrochlorothiazide 25 MG (a1) and a stopped penicillin V (a2); Clinic B: the same
    patient under id q, hydrochlorothiazide 12.5 MG (b1)."""
    patient = {"resourceType": "Patient", "id": "p", "name": [{"given": ["Ada"], "family": "Park"}], "birthDate": "1970-01-01"}
    a = [patient, allergy, medication_request("a1", "316049", "Hydrochlorothiazide 25 MG", "p", "2024-01-01"),
         medication_request("a2", "834061", "Penicillin V Potassium 250 MG Oral Tablet", "p", "2023-01-01", "stopped")]  # fmt: skip
    b = [{**patient, "id": "q"}, medication_request("b1", "316052", "Hydrochlorothiazide 12.5 MG", "q", "2024-02-01")]
    record.import_bytes(b"\n".join(json.dumps(x).encode() for x in a), origin="a.ndjson", source="Clinic A")
    record.import_bytes(b"\n".join(json.dumps(x).encode() for x in b), origin="b.ndjson", source="Clinic B")
    confirm_one_person(record)  # Ada Park at both clinics: she confirms it once
