"""FHIR that the R4B models let through but the specification forbids is stored, and flagged with the reason; JSON
whose objects repeat a key is refused, since readers disagree about which value it means."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.records import snapshot

from app.record import ImportRefused, Record

XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'

# name -> (the resource's JSON text, what the stored reason says)
FORBIDDEN: dict[str, tuple[str, str]] = {
    "a number of 1e400": (
        '{"resourceType": "Observation", "id": "big", "status": "final", "code": {"text": "Weight"}, '
        '"valueQuantity": {"value": 1e400, "unit": "kg"}}',
        "valueQuantity.value: the number is outside the range FHIR decimals have",
    ),
    "an escaped NUL": (
        '{"resourceType": "Patient", "id": "nul", "name": [{"family": "Quill\\u0000DROP"}]}',
        "name[0].family: a string holds the control character U+0000",
    ),
    "an escape character": (
        '{"resourceType": "Condition", "id": "esc", "subject": {"reference": "Patient/p"}, '
        '"code": {"text": "\\u001b[2J\\u001b[31mcleared"}}',
        "code.text: a string holds the control character U+001B",
    ),
    "a contained-resource loop": (
        '{"resourceType": "Patient", "id": "loop", "contained": ['
        '{"resourceType": "Organization", "id": "a", "partOf": {"reference": "#b"}}, '
        '{"resourceType": "Organization", "id": "b", "partOf": {"reference": "#a"}}]}',
        "contained: the contained resource 'a' is not referred to from the resource (FHIR dom-3)",
    ),
    "contained resources inside a contained resource": (
        '{"resourceType": "Patient", "id": "nest", "managingOrganization": {"reference": "#a"}, "contained": ['
        '{"resourceType": "Organization", "id": "a", "contained": [{"resourceType": "Organization", "id": "b"}]}]}',
        "contained: a contained resource holds contained resources of its own (FHIR dom-2)",
    ),
    '"id": null': ('{"resourceType": "Patient", "id": null, "gender": "female"}', "id: null is not a value in FHIR JSON"),
    "a script in the narrative": (
        json.dumps({"resourceType": "Patient", "id": "xss", "text": {"status": "generated",
                    "div": f"<div {XHTML}><p>Hello</p><script>fetch('//evil')</script></div>"}}),  # fmt: skip
        "text.div: the narrative holds a <script> element, which FHIR narratives may not (txt-1)",
    ),
    "an event handler in the narrative": (
        json.dumps({"resourceType": "Patient", "id": "onerror", "text": {"status": "generated",
                    "div": f'<div {XHTML}><img src="x" onerror="alert(1)"/></div>'}}),  # fmt: skip
        "text.div: the narrative has an event handler attribute (onerror), which FHIR narratives may not (txt-1)",
    ),
    "a javascript: link in the narrative": (
        json.dumps({"resourceType": "Patient", "id": "jslink", "text": {"status": "generated",
                    "div": f'<div {XHTML}><a href=" JavaScript:alert(1)">results</a></div>'}}),  # fmt: skip
        "text.div: the narrative links to a script, which FHIR narratives may not (txt-1)",
    ),
}


@pytest.mark.parametrize("case", sorted(FORBIDDEN))
def test_forbidden_fhir_is_stored_and_flagged(record: Record, tmp_path: Path, case: str) -> None:
    text, reason = FORBIDDEN[case]
    path = tmp_path / "odd.json"
    path.write_text(text, encoding="utf-8")
    report = record.import_file(path)
    assert report.counts.imported == 1 and report.counts.invalid == 1
    (row,) = record.rows()
    assert not row.valid and row.invalid_reason == reason
    assert record.get(row.resource_type, row.id) is not None  # kept, raw JSON and all


def test_allowed_fhir_close_to_the_forbidden_stays_valid(record: Record, tmp_path: Path) -> None:
    # null padding a primitive array, contained resources referred to from the resource, a plain narrative
    path = tmp_path / "fine.json"
    path.write_text(json.dumps({
        "resourceType": "Patient", "id": "fine", "managingOrganization": {"reference": "#a"},
        "contained": [{"resourceType": "Organization", "id": "a", "partOf": {"reference": "#b"}},
                      {"resourceType": "Organization", "id": "b", "name": "Clinic"}],
        "name": [{"given": ["Ann", "Bo"], "_given": [None, {"extension": [{"url": "http://x.org/n", "valueString": "y"}]}]}],
        "text": {"status": "generated", "div": f"<div {XHTML}><p>Ann <b>Bo</b></p><br/></div>"},
    }))  # fmt: skip
    record.import_file(path)
    (row,) = record.rows()
    assert row.valid, row.invalid_reason


@pytest.mark.parametrize(
    "data",
    [
        b'{"resourceType": "Patient", "id": "first", "gender": "male", "id": "second"}',
        b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Patient", '
        b'"name": [{"family": "A", "family": "B"}]}}]}',
        b'{"resourceType": "Patient", "id": "n1"}\n{"resourceType": "Patient", "id": "n2", "active": true, "active": false}\n',
    ],
    ids=["top level", "inside a bundle entry", "on an NDJSON line"],
)
def test_duplicate_keys_are_refused_not_resolved_last_wins(record: Record, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "twice.json"
    path.write_bytes(data)
    before = snapshot(record)
    with pytest.raises(ImportRefused, match="appears twice in one JSON object, and Carry will not guess") as caught:
        record.import_file(path)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("twice.json: not imported:")
    assert snapshot(record) == before
