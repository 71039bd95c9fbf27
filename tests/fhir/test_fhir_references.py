"""sync.fhir.references: the one walker over a resource's references and the readers of a reference's target."""

from __future__ import annotations

import json
from typing import Any

from sync.fhir.references import (
    conditional,
    has_conditional,
    literal_key,
    literal_pattern,
    literal_references,
    local_targets,
    references,
    rewrite,
)

REPORT: dict[str, Any] = {
    "resourceType": "DiagnosticReport",
    "id": "r1",
    "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Panel</div>"},
    "contained": [{"resourceType": "Specimen", "id": "s1", "subject": {"reference": "#"}}],
    "subject": {"reference": "Patient/p1", "display": "Ada"},
    "specimen": [{"reference": "#s1"}],
    "result": [
        {"reference": "https://fhir.example.org/r4/Observation/o1/_history/3"},
        {"reference": "urn:uuid:8f0c1a2e-0000-4000-8000-000000000001"},
        {"display": "a result without a reference"},
    ],
    "performer": [{"reference": "Organization?identifier=http://example.org|42"}],
    "extension": [{"url": "http://example.org/x", "valueReference": {"reference": "Practitioner/pr-1.a"}}],
}


def test_every_reference_in_document_order_contained_ones_included() -> None:
    found = [r["reference"] for r in references(REPORT)]
    assert found == [
        "#",
        "Patient/p1",
        "#s1",
        "https://fhir.example.org/r4/Observation/o1/_history/3",
        "urn:uuid:8f0c1a2e-0000-4000-8000-000000000001",
        "Organization?identifier=http://example.org|42",
        "Practitioner/pr-1.a",
    ]


def test_a_reference_that_is_not_a_string_is_no_reference() -> None:
    assert list(references({"subject": {"reference": 42}, "focus": [{"reference": None}]})) == []


def test_literal_keys_relative_absolute_and_versioned() -> None:
    assert literal_key("Patient/p1") == ("Patient", "p1")
    assert literal_key("https://fhir.example.org/r4/Observation/o1/_history/3") == ("Observation", "o1")
    assert literal_key("Observation/" + "a" * 200) == ("Observation", "a" * 200)  # longer than FHIR's 64 (Epic)
    for other in ("#s1", "urn:uuid:8f0c1a2e-0000-4000-8000-000000000001", "Organization?identifier=x", "patient/p1",
                  "Patient/p 1", "", None, 7):  # fmt: skip
        assert literal_key(other) is None, other
    assert list(literal_references(REPORT)) == [("Patient", "p1"), ("Observation", "o1"), ("Practitioner", "pr-1.a")]


def test_local_targets_are_contained_ids_and_the_container() -> None:
    assert local_targets(REPORT) == {"", "s1"}
    assert local_targets({"subject": {"reference": "Patient/p1"}}) == set()


def test_rewrite_points_references_where_told_and_leaves_the_rest() -> None:
    resource = json.loads(json.dumps(REPORT))
    rewrite(resource, lambda ref: "Patient/local" if ref == "Patient/p1" else None)
    assert resource["subject"] == {"reference": "Patient/local", "display": "Ada"}
    assert [r["reference"] for r in references(resource)][2:] == [r["reference"] for r in references(REPORT)][2:]


def test_conditional_references() -> None:
    assert conditional("Organization?identifier=http://example.org|42") == ("Organization", "identifier=http://example.org|42")
    assert conditional("Organization/42") is None
    assert conditional("organization?identifier=42") is None
    assert has_conditional(json.dumps(REPORT).encode())
    assert has_conditional(b'{"subject": {"reference" :  "Patient?identifier=1"}}')
    assert not has_conditional(b'{"subject": {"reference": "Patient/1"}, "note": [{"text": "Patient?x"}]}')


def test_the_raw_pattern_finds_only_the_types_asked_for() -> None:
    raw = json.dumps(REPORT).encode()
    assert literal_pattern({"Practitioner", "Patient"}).findall(raw) == [(b"Patient", b"p1"), (b"Practitioner", b"pr-1.a")]
    assert literal_pattern(()).findall(raw) == []
