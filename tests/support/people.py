"""Two clinics that both call their patient `Patient/1` (issue 12): Alice at clinic A, Bram at clinic B.

Synthetic, written for these tests. Each clinic also has its own `Practitioner/1`, so a summary that took the
other clinic's practitioner (or anything else by a bare id) would show it.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

__all__ = ["ALICE", "ALICE_WORDS", "BRAM", "BRAM_WORDS", "RECENT", "alice_bundle", "bram_bundle", "child_bundle", "write_bundle", "write_family"]

# Results a month old: recent enough for a summary's default picks on whatever day the tests run.
RECENT = (date.today() - timedelta(days=30)).isoformat()
ALICE = {"name": "Alice Quarrington", "family": "Quarrington", "given": "Alice", "birth": "1987-02-03", "mrn": "A-1001"}
BRAM = {"name": "Bram Okafor", "family": "Okafor", "given": "Bram", "birth": "1960-07-15", "mrn": "B-2002"}
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"

# What each person has: words that must appear in their own views and in nobody else's.
BRAM_WORDS = ("Okafor", "Gout", "Diabetes", "Allopurinol", "Shellfish", "Hemoglobin A1c", "Podiatry", "Bellweather",
              "B-2002")
ALICE_WORDS = ("Quarrington", "Asthma", "Albuterol", "Peanut", "Glucose", "Spirometry", "Ashworth", "A-1001")


def _patient(who: dict[str, str], rid: str = "1", *, family: str | None = None, given: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": rid,
        "identifier": [{"system": "urn:oid:1.2.3.4", "value": who["mrn"]}],
        "name": [{"family": family or who["family"], "given": [given or who["given"]]}],
        "gender": "female" if who is ALICE else "male",
        "birthDate": who["birth"],
    }


def _condition(rid: str, code: str, text: str, onset: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
        "code": {"coding": [{"system": SNOMED, "code": code, "display": text}], "text": text},
        "subject": {"reference": "Patient/1"},
        "onsetDateTime": onset,
    }  # fmt: skip


def _medication(rid: str, code: str, text: str, authored: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": text}], "text": text},
        "subject": {"reference": "Patient/1"},
        "requester": {"reference": "Practitioner/1"},
        "authoredOn": authored,
    }


def _allergy(rid: str, code: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": rid,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": code, "display": text}], "text": text},
        "patient": {"reference": "Patient/1"},
        "recordedDate": "2024-01-10",
    }  # fmt: skip


def _lab(rid: str, code: str, text: str, value: float, unit: str, when: str, subject: str = "Patient/1") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": text}], "text": text},
        "subject": {"reference": subject},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
    }  # fmt: skip


def _encounter(rid: str, text: str, when: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": rid,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"text": text}],
        "subject": {"reference": "Patient/1"},
        "participant": [{"individual": {"reference": "Practitioner/1"}}],
        "period": {"start": when, "end": when},
    }


def _practitioner(family: str) -> dict[str, Any]:
    return {"resourceType": "Practitioner", "id": "1", "name": [{"family": family, "given": ["Dr"], "prefix": ["Dr."]}]}


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def alice_bundle(*, family: str | None = None, given: str | None = None) -> dict[str, Any]:
    return _bundle(
        _patient(ALICE, family=family, given=given),
        _practitioner("Ashworth"),
        _condition("c1", "195967001", "Asthma", "2019-04-02"),
        _medication("m1", "745679", "Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "2025-03-01"),
        _allergy("a1", "91935009", "Peanut allergy"),
        _lab("o1", "2339-0", "Glucose", 88.0, "mg/dL", f"{RECENT}T09:00:00Z"),
        _encounter("e1", "Spirometry clinic visit", f"{RECENT}T09:00:00Z"),
    )


def bram_bundle() -> dict[str, Any]:
    return _bundle(
        _patient(BRAM),
        _practitioner("Bellweather"),
        _condition("c1", "90560007", "Gout", "2018-09-12"),
        _condition("c2", "44054006", "Diabetes mellitus type 2", "2016-01-20"),
        _medication("m1", "197319", "Allopurinol 100 MG Oral Tablet", "2025-04-01"),
        _allergy("a1", "300913006", "Shellfish allergy"),
        _lab("o1", "4548-4", "Hemoglobin A1c", 7.9, "%", f"{RECENT}T10:00:00Z"),
        _encounter("e1", "Podiatry clinic visit", f"{RECENT}T10:00:00Z"),
        # Nobody at clinic B is Patient/99: Carry keeps this and lists it as unassigned, never as Bram's.
        _lab("o2", "2093-3", "Cholesterol stray", 190.0, "mg/dL", f"{RECENT}T11:00:00Z", subject="Patient/99"),
    )


def child_bundle() -> dict[str, Any]:
    """Alice's son, from a children's hospital: his own Patient/1, his own problem."""
    child = {"name": "Theo Quarrington", "family": "Quarrington", "given": "Theo", "birth": "2019-08-30", "mrn": "K-77"}
    return _bundle(
        _patient(child),
        _condition("c1", "65363002", "Otitis media", "2024-11-05"),
    )


def write_bundle(path: Path, bundle: dict[str, Any]) -> Path:
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def write_family(path: Path) -> Path:
    """A new record at `path` made for Alice (Clinic A), with her son Theo's records (Children's Hospital)."""
    from app.record import Record

    from support.records import PASSPHRASE

    with Record.create(path, PASSPHRASE) as record:
        record.import_bytes(json.dumps(alice_bundle()).encode(), origin="me.json", source="Clinic A")
        record.import_bytes(json.dumps(child_bundle()).encode(), origin="theo.json", source="Children's Hospital")
    return path
