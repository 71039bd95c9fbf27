"""The parse module on its own: document shapes, reference resolution, decimals, validation flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.fhir import FHIRFormatError, content_hash, dumps, loads, parse_document

CONDITION = {
    "resourceType": "Condition",
    "id": "c1",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertension"}]},
    "subject": {"reference": "Patient/p1"},
}
PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Quill", "given": ["Ada"]}]}


def test_single_resource_is_one_resource() -> None:
    doc = parse_document(json.dumps(CONDITION).encode())
    assert doc.kind == "resource"
    [res] = doc.resources
    assert (res.resource_type, res.id, res.error) == ("Condition", "c1", None)
    assert loads(res.raw) == CONDITION


def test_ndjson_lines_become_resources() -> None:
    data = (json.dumps(PATIENT) + "\n\n" + json.dumps(CONDITION) + "\n").encode()
    doc = parse_document(data)
    assert doc.kind == "ndjson"
    assert [r.resource_type for r in doc.resources] == ["Patient", "Condition"]


def test_ndjson_names_the_broken_line() -> None:
    data = (json.dumps(PATIENT) + "\n" + '{"resourceType": "Condition", "id": ' + "\n").encode()
    with pytest.raises(FHIRFormatError, match="line 2"):
        parse_document(data)


def test_decimals_keep_their_precision_through_a_round_trip() -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "Potassium"},
        "valueQuantity": {"value": 4.50, "unit": "mmol/L"},
    }
    text = json.dumps(obs).replace("4.5", "4.50").encode()
    [res] = parse_document(text).resources
    assert b'"value":4.50' in res.raw
    assert res.hash == content_hash(loads(res.raw))


def test_transaction_bundle_urn_uuid_references_become_stored_ids() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
                "resource": {"resourceType": "Patient", "name": [{"family": "Quill"}]},
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
                "resource": {
                    "resourceType": "Condition",
                    "id": "cond-a",
                    "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"},
                },
                "request": {"method": "POST", "url": "Condition"},
            },
        ],
    }
    patient, condition = parse_document(json.dumps(bundle).encode()).resources
    # A resource without an id takes the one its fullUrl gives it, and references follow.
    assert patient.id == "11111111-1111-1111-1111-111111111111"
    assert condition.data["subject"]["reference"] == "Patient/11111111-1111-1111-1111-111111111111"
    assert b"urn:uuid" not in condition.raw


def test_conditional_references_resolve_in_the_bundle_then_through_the_resolver() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001",
                "resource": {
                    "resourceType": "Practitioner",
                    "id": "doc-1",
                    "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "999"}],
                },
            },
            {
                "fullUrl": "urn:uuid:aaaaaaaa-0000-0000-0000-000000000002",
                "resource": {
                    "resourceType": "Encounter",
                    "id": "enc-1",
                    "participant": [
                        {"individual": {"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|999"}}
                    ],
                    "serviceProvider": {"reference": "Organization?identifier=https://example.org|org-7"},
                    "location": [{"location": {"reference": "Location?identifier=https://example.org|nowhere"}}],
                },
            },
        ],
    }
    asked: list[tuple[str, str, str]] = []

    def resolver(rtype: str, system: str, value: str) -> str | None:
        asked.append((rtype, system, value))
        return "org-stored" if value == "org-7" else None

    _, encounter = parse_document(json.dumps(bundle).encode(), resolver=resolver).resources
    assert encounter.data["participant"][0]["individual"]["reference"] == "Practitioner/doc-1"
    assert encounter.data["serviceProvider"]["reference"] == "Organization/org-stored"
    # Unresolvable references are kept as they came, not dropped.
    assert encounter.data["location"][0]["location"]["reference"] == "Location?identifier=https://example.org|nowhere"
    assert ("Practitioner", "http://hl7.org/fhir/sid/us-npi", "999") not in asked


def test_contained_resources_are_preserved() -> None:
    med_request = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "contained": [{"resourceType": "Medication", "id": "m", "code": {"text": "Amoxicillin 250 MG"}}],
        "medicationReference": {"reference": "#m"},
        "subject": {"reference": "Patient/p1"},
    }
    [res] = parse_document(json.dumps(med_request).encode()).resources
    assert res.error is None
    assert loads(res.raw)["contained"] == med_request["contained"]
    assert res.data["medicationReference"]["reference"] == "#m"


def test_invalid_resource_is_kept_with_the_reason() -> None:
    bad = {"resourceType": "Observation", "id": "o-bad", "status": 7, "code": {"text": "x"}}
    doc = parse_document(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": bad}, {"resource": PATIENT}]}).encode())
    flagged, fine = doc.resources
    assert flagged.id == "o-bad" and flagged.error and flagged.error.startswith("status")
    assert fine.error is None


def test_searchset_outcomes_are_not_resources_and_links_are_kept() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "link": [{"relation": "next", "url": "https://ehr.example/fhir/_page/abc"}],
        "entry": [
            {"resource": CONDITION, "search": {"mode": "match"}},
            {
                "resource": {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "suppressed"}]},
                "search": {"mode": "outcome"},
            },
        ],
    }
    doc = parse_document(json.dumps(bundle).encode())
    assert [r.resource_type for r in doc.resources] == ["Condition"]
    assert doc.outcomes[0]["issue"][0]["code"] == "suppressed"
    assert doc.links["next"] == "https://ehr.example/fhir/_page/abc"
    assert doc.bundle_type == "searchset" and doc.total == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"resourceType": "Patient", "id": ', "not valid JSON"),
        (b'{"hello": "world"}', "no resourceType"),
        (b'{"resourceType": "Spaceship"}', "FHIR R4 does not have"),
        (b'{"resourceType": 12}', "not a string"),
        (b"[1, 2]", "JSON array"),
        (b'"Patient"', "bare JSON value"),
        (b'{"resourceType": "Patient", "name": [{"family": "\xff\xfe"}]}', "not UTF-8"),
        (b"\xff\xfe\x00\x00garbage", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": {"resource": {}}}', "entry is not a list"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": [{"fullUrl": "x"}]}', "entry 1 has no resource"),
    ],
)
def test_documents_that_cannot_be_taken_apart_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(FHIRFormatError, match=reason):
        parse_document(data)


def test_a_byte_order_mark_is_tolerated() -> None:
    [res] = parse_document(b"\xef\xbb\xbf" + json.dumps(PATIENT).encode()).resources
    assert res.id == "p1"


def test_ids_made_up_for_resources_without_one_are_stable() -> None:
    anonymous = {"resourceType": "Observation", "status": "final", "code": {"text": "Mood"}}
    first = parse_document(json.dumps(anonymous).encode()).resources[0].id
    second = parse_document(json.dumps(anonymous).encode()).resources[0].id
    assert first == second


def test_every_demo_patient_parses_cleanly(demo_dir: Path) -> None:
    for path in sorted(demo_dir.glob("*.json")):
        doc = parse_document(path.read_bytes(), validate=False)
        assert doc.resources, path.name
        assert dumps(doc.resources[0].data) == doc.resources[0].raw
