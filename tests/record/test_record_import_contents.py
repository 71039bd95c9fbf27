"""What an import stores, exactly: every row, column, index entry and search result of a mixed file is what the
resources themselves say (read back through an independent path: the JSON as received, the extraction, the
validator), and the record is the same whether the file was validated in this process or in worker processes that
also pack each resource's JSON (sync.fhir.parse.validated_stream's `beside`)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from support.records import ELVINA, PASSPHRASE

from app.record import Record
from app.record.extract import extract
from app.record.packed import pack, unpack
from sync.assets import DEMO_PATIENTS
from sync.fhir import dumps, loads
from sync.fhir.parse import ValidationWorkers, validation_error

_COLUMNS = (
    "type, id, hash, valid, invalid_reason, effective, category, code_system, code, code_display, status, display, "
    "subject, value_num, value_unit"
)


def _mixed() -> list[dict[str, Any]]:
    """A demo patient's resources, then what a file may hold besides: a resource twice (the later one changed), one
    that fails validation, a note with its words inline, identifiers, a value with a unit, a code's display only."""
    resources = [e["resource"] for e in loads((DEMO_PATIENTS / ELVINA).read_bytes())["entry"]][:400]
    patient = next(r for r in resources if r["resourceType"] == "Patient")["id"]
    subject = {"reference": f"Patient/{patient}"}
    note = base64.b64encode("Follow-up: knee swelling resolved after physiotherapy.".encode()).decode()
    extra = [
        {"resourceType": "Observation", "id": "twice", "status": "final", "subject": subject,
         "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}]},
         "valueQuantity": {"value": 95, "unit": "mg/dL"}},
        {"resourceType": "Observation", "id": "bad", "status": 17, "subject": subject, "code": {"text": "Broken"}},
        {"resourceType": "DocumentReference", "id": "note-1", "status": "current", "subject": subject,
         "identifier": [{"system": "urn:clinic", "value": "DOC-77"}],
         "content": [{"attachment": {"contentType": "text/plain", "data": note}}]},
        {"resourceType": "Observation", "id": "twice", "status": "amended", "subject": subject,
         "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                   "code": "laboratory"}]}],
         "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}], "text": "Glucose, fasting"},
         "valueQuantity": {"value": 101.5, "unit": "mg/dL"}, "effectiveDateTime": "2024-05-01T08:00:00Z"},
        {"resourceType": "Condition", "id": "knee", "subject": subject,
         "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                        "code": "active"}]},
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "239873007", "display": "Osteoarthritis of knee"}]},
         "identifier": [{"system": "urn:clinic", "value": "C-1"}, {"value": "no-system"}]},
    ]  # fmt: skip
    return resources + extra


def _ndjson(resources: list[dict[str, Any]]) -> bytes:
    """One resource a line: compact as msgspec writes it, or (every other line) with spaces, as the stdlib does."""
    lines = [dumps(r) if n % 2 else json.dumps(json.loads(dumps(r))).encode() for n, r in enumerate(resources)]
    return b"".join(line + b"\n" for line in lines)


def _contents(record: Record) -> dict[str, Any]:
    """Everything an import writes that the patient finds again, without the times it happened at."""
    return {
        "resources": record.read(f"SELECT {_COLUMNS}, raw FROM resource ORDER BY rowid"),
        "identifiers": record.read(
            "SELECT r.type, r.id, i.system, i.value FROM identifier i JOIN resource r ON r.rowid = i.resource "
            "ORDER BY i.rowid"
        ),
        "search": {word: [(row.resource_type, row.id) for row in record.search(word, limit=500)]
                   for word in ("glucose", "knee", "physiotherapy", "DOC", "Lemke", "encounter")},  # fmt: skip
        "changed": record.read("SELECT member, kind FROM view_dirty ORDER BY member"),
        "runs": record.read("SELECT imported, updated, unchanged, invalid FROM run ORDER BY id"),
    }


def _workers_up() -> ValidationWorkers:
    pool = ValidationWorkers(1)
    pool.start()
    deadline = time.monotonic() + 60
    while not pool.ready():
        assert time.monotonic() < deadline, "the validation worker did not start"
        time.sleep(0.05)
    return pool


def test_an_import_stores_what_the_resources_say(tmp_path: Path) -> None:
    source = tmp_path / "mixed.ndjson"
    source.write_bytes(_ndjson(_mixed()))
    resources = [loads(line) for line in source.read_bytes().splitlines()]  # what the file says
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        report = record.import_file(source)
        contents = _contents(record)
    last = {(r["resourceType"], r["id"]): r for r in resources}  # the later of two with one id is the one kept
    assert report.counts.imported == len(last) and report.counts.invalid == 1
    rows = {(row[0], row[1]): row for row in contents["resources"]}
    assert rows.keys() == last.keys()
    for key, resource in last.items():
        row = rows[key]
        ex = extract(resource)
        expected = (*key, row[2], 1 if validation_error(resource) is None else 0, validation_error(resource),
                    ex.effective, ex.category, ex.code_system, ex.code, ex.code_display, ex.status, ex.display,
                    ex.subject, ex.value_num, ex.value_unit)  # fmt: skip
        assert row[:-1] == expected
        assert loads(unpack(row[-1], *key)) == resource  # the JSON as received, key order included
        assert unpack(row[-1], *key) == dumps(resource).decode()
        assert row[-1] == pack(dumps(resource), *key)
    assert rows[("Observation", "bad")][3] == 0 and rows[("Observation", "twice")][10] == "amended"
    assert contents["identifiers"] == [
        (*key, system, value) for key, resource in last.items() for system, value in extract(resource).identifiers
    ]
    assert [hit for hit in contents["identifiers"] if hit[1] in ("note-1", "knee")] == [
        ("DocumentReference", "note-1", "urn:clinic", "DOC-77"), ("Condition", "knee", "urn:clinic", "C-1"),
        ("Condition", "knee", "", "no-system"),
    ]  # fmt: skip
    assert contents["search"]["physiotherapy"] == [("DocumentReference", "note-1")]
    assert ("Condition", "knee") in contents["search"]["knee"]
    assert ("Observation", "twice") in contents["search"]["glucose"]
    assert contents["search"]["Lemke"] and contents["search"]["encounter"]
    assert len(contents["changed"]) == len(last)  # every new resource is noted for the kept views
    assert contents["runs"] == [(len(last), 0, 0, 1)]


def test_the_record_is_the_same_whether_validated_here_or_in_workers(tmp_path: Path) -> None:
    source = tmp_path / "mixed.ndjson"
    source.write_bytes(_ndjson(_mixed()))
    results = []
    pool = _workers_up()  # up before the import: every chunk goes to the worker (packed there, at least the first)
    try:
        for name, parallel_from, workers in (("here", 10**9, None), ("workers", 1, pool)):
            with Record.create(tmp_path / f"{name}.carry", PASSPHRASE) as record:
                record.parallel_from, record.validation_workers = parallel_from, workers
                report = record.import_file(source)
                results.append((report.counts, _contents(record)))
    finally:
        pool.close()
    assert results[0] == results[1]
