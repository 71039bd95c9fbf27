"""Import, export, idempotent upsert, provenance and the audit log, on real SQLCipher files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from app.record import FILE_SOURCE, Record, RecordError
from sync.fhir import dumps, loads, parse_document

from support.records import ELVINA, KARENA, snapshot


def _export(record: Record) -> dict:
    buffer = io.BytesIO()
    record.export(buffer)
    return loads(buffer.getvalue())


def _by_key(bundle: dict) -> dict[tuple[str, str], dict]:
    return {(e["resource"]["resourceType"], e["resource"]["id"]): e["resource"] for e in bundle["entry"]}


def test_import_then_export_returns_every_resource_with_the_same_json(record: Record, demo_dir: Path) -> None:
    data = (demo_dir / ELVINA).read_bytes()
    report = record.import_bytes(data, origin=ELVINA)
    expected = {(r.resource_type, r.id): r.data for r in parse_document(data).resources}
    assert report.counts.imported == len(expected)

    exported = _export(record)
    assert exported["resourceType"] == "Bundle" and exported["type"] == "collection"
    assert _by_key(exported) == expected
    assert parse_document(json.dumps(exported, default=str).encode()).resources  # a Bundle we can read back


def test_export_of_collection_and_ndjson_input_is_byte_for_byte_the_json_received(record: Record) -> None:
    observation = (
        b'{"resourceType":"Observation","id":"k1","status":"final","code":{"text":"Potassium"},'
        b'"valueQuantity":{"value":4.50,"unit":"mmol/L"},"subject":{"reference":"Patient/p1"}}'
    )
    patient = b'{"resourceType":"Patient","id":"p1","name":[{"family":"Quill","given":["Ada"]}]}'
    record.import_bytes(patient + b"\n" + observation + b"\n", origin="two.ndjson")
    buffer = io.BytesIO()
    record.export(buffer)
    assert observation in buffer.getvalue() and patient in buffer.getvalue()


def test_reimporting_the_same_file_changes_nothing_and_says_so(record: Record, demo_dir: Path) -> None:
    record.import_file(demo_dir / ELVINA)
    before = snapshot(record)
    again = record.import_file(demo_dir / ELVINA)
    after = snapshot(record)

    assert (again.counts.imported, again.counts.updated) == (0, 0)
    assert again.counts.unchanged == len(before["resources"])
    # Same resources, same JSON, same hashes, same first-seen and validity: only last_seen moves on.
    def without_last_seen(rows: object) -> list[tuple[object, ...]]:
        return [(*row[:6], row[7]) for row in rows]  # type: ignore[attr-defined]

    assert without_last_seen(after["resources"]) == without_last_seen(before["resources"])
    assert after["identifiers"] == before["identifiers"] and after["fts"] == before["fts"]


def test_changed_content_is_updated_and_reported(record: Record) -> None:
    first = {"resourceType": "Condition", "id": "c1", "clinicalStatus": {"coding": [{"code": "active"}]},
             "code": {"text": "Asthma"}, "subject": {"reference": "Patient/p1"}}
    record.import_bytes(json.dumps(first).encode(), origin="a.json")
    changed = {**first, "clinicalStatus": {"coding": [{"code": "resolved"}]}}
    report = record.import_bytes(json.dumps(changed).encode(), origin="b.json")
    assert (report.counts.imported, report.counts.updated, report.counts.unchanged) == (0, 1, 0)
    stored = record.get("Condition", "c1")
    assert stored is not None
    assert stored.row.status == "resolved"
    assert stored.run_origin == "b.json"  # provenance: where it last came from
    assert stored.row.first_seen <= stored.row.last_seen


def test_an_update_replaces_the_search_text_and_identifiers_and_keeps_first_seen(record: Record) -> None:
    first = {"resourceType": "Condition", "id": "c1", "identifier": [{"system": "urn:x", "value": "old-id"}],
             "code": {"text": "Asthma"}, "subject": {"reference": "Patient/p1"}}  # fmt: skip
    record.import_bytes(json.dumps(first).encode(), origin="a.json")
    before = record.get("Condition", "c1")
    assert before is not None
    changed = {**first, "identifier": [{"system": "urn:x", "value": "new-id"}], "code": {"text": "Bronchitis"}}
    record.import_bytes(json.dumps(changed).encode(), origin="b.json")
    after = record.get("Condition", "c1")
    assert after is not None
    assert (after.row.rowid, after.row.first_seen) == (before.row.rowid, before.row.first_seen)
    assert [row.id for row in record.search("bronchitis")] == ["c1"] and record.search("asthma") == []
    assert record.resolve_identifier("Condition", "urn:x", "new-id") == "c1"
    assert record.resolve_identifier("Condition", "urn:x", "old-id") is None
    assert record.count() == 1


def test_sources_keep_the_same_id_apart(record: Record) -> None:
    resource = {"resourceType": "Patient", "id": "same", "name": [{"family": "Quill"}]}
    record.import_bytes(json.dumps(resource).encode(), origin="a.json", source="Clinic A")
    record.import_bytes(json.dumps(resource).encode(), origin="a.json", source="Clinic B")
    assert record.count("Patient") == 2
    assert {s.name for s in record.sources()} == {"Clinic A", "Clinic B"}


def test_conditional_references_resolve_against_what_is_already_stored(record: Record, demo_dir: Path) -> None:
    record.import_file(demo_dir / "hospitalInformation1633536936158.json")
    record.import_file(demo_dir / "practitionerInformation1633536936158.json")
    record.import_file(demo_dir / "Carolyne559_Koelpin146_0724714f-947b-6cab-ee85-b0de7a9ad3f7.json")
    raws = [r[0] for r in record.read("SELECT resource_json(raw, type, id) FROM resource WHERE type = 'Encounter'")]
    assert raws
    assert not any("?identifier=" in raw for raw in raws)
    assert not any("urn:uuid:" in json.dumps(loads(raw).get("subject")) for raw in raws)
    some = loads(raws[0])
    practitioner_id = some["participant"][0]["individual"]["reference"].split("/")[1]
    assert record.get("Practitioner", practitioner_id) is not None


def test_invalid_resources_are_stored_flagged_and_do_not_stop_the_file(record: Record) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Observation", "id": "bad", "status": 42, "code": {"text": "Weight"}}},
            {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"family": "Quill"}]}},
        ],
    }
    report = record.import_bytes(json.dumps(bundle).encode(), origin="mixed.json")
    assert (report.counts.imported, report.counts.invalid) == (2, 1)
    [flagged] = record.rows(where="r.valid = 0")
    assert flagged.id == "bad" and flagged.invalid_reason and "status" in flagged.invalid_reason
    assert record.get("Patient", "p1") is not None
    assert record.info().invalid == 1  # counted from their own index (schema 16), not by reading every resource
    assert "resource_invalid" in record._query("EXPLAIN QUERY PLAN SELECT count(*) FROM resource WHERE valid = 0")[0][-1]


def test_every_change_is_in_the_append_only_audit_log(record: Record, record_path: Path, demo_dir: Path) -> None:
    record.import_file(demo_dir / KARENA)
    record.export(io.BytesIO())
    record.close()
    reopened = Record.open(record_path, "correct horse battery")
    try:
        actions = [e["action"] for e in reversed(reopened.audit_log())]
        # The file's patient is placed in a person in the import's own transaction, and says so.
        assert actions == ["create", "person-add", "import", "export", "unlock"]
        imported = reopened.audit_log(action="import")[0]["detail"]
        assert imported["file"] == KARENA and imported["imported"] > 0
        with pytest.raises(Exception, match="append-only"), reopened.write() as tx:
            tx.execute("UPDATE audit SET action = 'nothing'")
        with pytest.raises(Exception, match="append-only"), reopened.write() as tx:
            tx.execute("DELETE FROM audit")
    finally:
        reopened.close()


def test_a_locked_record_refuses_work(record: Record) -> None:
    record.close()
    with pytest.raises(RecordError, match="locked"):
        record.count()


def test_info_counts_types_and_sources(record: Record, demo_dir: Path) -> None:
    record.import_file(demo_dir / KARENA)
    info = record.info()
    assert info.counts["Patient"] == 1
    assert info.total == sum(info.counts.values())
    assert info.sources[0]["name"] == FILE_SOURCE and info.sources[0]["resources"] == info.total
    assert info.schema_version >= 2 and info.size_bytes > 0


def test_big_files_validate_in_worker_processes_with_the_same_result(tmp_path: Path, demo_dir: Path) -> None:
    bundle = loads((demo_dir / ELVINA).read_bytes())
    bundle["entry"][5]["resource"]["status"] = 17  # one resource that fails validation
    data = dumps(bundle)
    results = []
    for name, parallel_from in (("serial", 10**9), ("parallel", 50)):
        with Record.create(tmp_path / f"{name}.carry", "correct horse battery") as record:
            record.parallel_from = parallel_from
            report = record.import_bytes(data, origin="elvina.json")
            rows = record.read("SELECT type, id, hash, valid, invalid_reason, display FROM resource ORDER BY type, id")
            results.append((report.counts.imported, report.counts.invalid, rows))
    assert results[0] == results[1]
    assert results[1][1] == 1
