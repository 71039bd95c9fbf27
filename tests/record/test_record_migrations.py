"""Forward-only numbered migrations: from an empty record, and from every earlier version with data in it."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from support.records import KARENA, PASSPHRASE, record_before_packing

from app.record import NotARecord, Record, facts, latest_version, search_notes
from app.record.packed import FORMAT_DEFLATE_1, FORMAT_DEFLATE_2, pack
from app.record.schema import MIGRATIONS
from app.record.view_cache import current, kept_slots
from app.record.view_labs import OTHER_SHOWN_APART, PANELS_WITHOUT_VALUE, labs_current
from app.record.view_queries import lab_test_rows, other_test_rows
from app.views.merged import _as_slots

CONDITION = {
    "resourceType": "Condition",
    "id": "old-1",
    "clinicalStatus": {"coding": [{"code": "active"}]},
    "code": {"text": "Seasonal allergic rhinitis"},
    "subject": {"reference": "Patient/p1"},
}


def _seed_v1(record: Record) -> None:
    # What Carry at schema 1 wrote: a source, a run, a resource with its columns, an identifier, an audit entry.
    now = "2025-01-01T00:00:00Z"
    with record.write() as cur:
        cur.execute("INSERT INTO source (kind, name, created_at) VALUES ('file', 'Imported files', ?)", (now,))
        cur.execute(
            "INSERT INTO run (source_id, kind, origin, started_at, finished_at, imported) "
            "VALUES (1, 'import', 'old.json', ?, ?, 1)",
            (now, now),
        )
        cur.execute(
            "INSERT INTO resource (source_id, type, id, raw, hash, first_seen, last_seen, changed_at, first_run, "
            "last_run, valid, display, status) VALUES (1, 'Condition', 'old-1', ?, 'h', ?, ?, ?, 1, 1, 1, ?, 'active')",
            (json.dumps(CONDITION), now, now, now, "Seasonal allergic rhinitis"),
        )
        cur.execute("INSERT INTO identifier (resource, system, value) VALUES (1, 'urn:test', 'id-1')")
        cur.execute("INSERT INTO audit (at, action, detail) VALUES (?, 'import', '{}')", (now,))


def _seed_v2(record: Record) -> None:
    _seed_v1(record)
    with record.write() as cur:
        cur.execute(
            "INSERT INTO resource_fts (rowid, display, codes, notes) VALUES (1, 'Seasonal allergic rhinitis', '', '')"
        )


def _seed_v3(record: Record) -> None:
    # Version 3 added portal connections: a connected portal with a (made-up, non-secret) token beside the old data.
    _seed_v2(record)
    now = "2025-02-01T00:00:00Z"
    with record.write() as cur:
        cur.execute(
            "INSERT INTO source (kind, name, base_url, created_at) VALUES ('portal', 'Demo portal', ?, ?)",
            ("https://portal.example/fhir", now),
        )
        cur.execute(
            "INSERT INTO portal (source_id, base_url, patient_id, vendor, client_id, auth_method, status, "
            "granted_scope, smart_config, connected_at) VALUES (2, ?, 'p1', 'generic', 'carry', 'none', 'connected', "
            "'patient/*.rs', '{}', ?)",
            ("https://portal.example/fhir", now),
        )
        cur.execute(
            "INSERT INTO portal_token (source_id, access_token, token_type, scope, updated_at) "
            "VALUES (2, 'not-a-real-token', 'Bearer', 'patient/*.rs', ?)",
            (now,),
        )


def _seed_v4(record: Record) -> None:
    # Version 4 added the patient's grouping decisions.
    _seed_v3(record)
    with record.write() as cur:
        cur.execute(
            "INSERT INTO fact_decision (decision, a_source, a_type, a_id, b_source, b_type, b_id, decided_at) "
            "VALUES ('same', 'file:Imported files', 'Condition', 'old-1', 'https://portal.example/fhir', 'Condition', "
            "'x-1', '2025-03-01T00:00:00Z')"
        )


def _seed_v5(record: Record) -> None:
    # Version 5 added sharing: a link the patient made, and one access to it.
    _seed_v4(record)
    with record.write() as cur:
        cur.execute(
            "INSERT INTO share_link (link_id, payload, uri, label, flag, sections, ips, sources, created_at) "
            "VALUES ('link-1', '{}', 'shlink:/e30', 'For Dr. Old', '', '[]', '{}', '[]', '2025-04-01T00:00:00Z')"
        )
        cur.execute(
            "INSERT INTO share_access (link_id, recipient, at, event, host_cursor) "
            "VALUES ('link-1', 'Dr. Old', '2025-04-02T00:00:00Z', 'manifest', 1)"
        )


def _seed_v6(record: Record) -> None:
    # Version 6 let a sync store resources before validating them (valid = -1).
    _seed_v5(record)
    with record.write() as cur:
        cur.execute("UPDATE resource SET valid = -1 WHERE id = 'old-1'")


def _seed_v7(record: Record) -> None:
    # Version 7 dropped an index; its records hold Patients that version 8 places in persons: two sources that both
    # call their patient p1 (two people, whatever the ids say).
    _seed_v6(record)
    now = "2025-05-01T00:00:00Z"
    with record.write() as cur:
        for source_id, name in ((1, "Ada Park"), (2, "Bo Park")):
            raw = json.dumps({"resourceType": "Patient", "id": "p1", "name": [{"text": name}]})
            cur.execute(
                "INSERT INTO resource (source_id, type, id, raw, hash, first_seen, last_seen, changed_at, valid, "
                "display, subject) VALUES (?, 'Patient', 'p1', ?, ?, ?, ?, ?, 1, ?, 'Patient/p1')",
                (source_id, raw, f"h{source_id}", now, now, now, name),
            )


def _seed_v8(record: Record) -> None:
    # Version 8 placed the Patients in persons; a sync's report sits beside the old data.
    _seed_v7(record)
    with record.write() as cur:
        cur.execute(
            "INSERT INTO run (source_id, kind, origin, started_at) VALUES (2, 'sync', 'https://portal.example/fhir', "
            "'2025-05-01T00:00:00Z')"
        )


def _seed_v9(record: Record) -> None:
    # Version 9 remembered what a portal refuses to share; a refusal sits beside the old data.
    _seed_v8(record)
    with record._transaction() as cur:
        cur.execute(
            "INSERT INTO portal_refusal (source_id, task, resource_type, reason, since) "
            "VALUES (2, 'Coverage', 'Coverage', 'forbidden', '2025-06-01T00:00:00Z')"
        )


def _seed_v10(record: Record) -> None:
    # Version 10 kept the patient's notes on items; a note on the old condition sits beside the old data.
    _seed_v9(record)
    with record._transaction() as cur:
        cur.execute(
            "INSERT INTO annotation (source_key, item_type, item_id, person_id, text, created_at) "
            "VALUES ('file:old', 'Condition', 'old-1', NULL, 'Ruled out since', '2025-07-01T00:00:00Z')"
        )


def _seed_v11(record: Record) -> None:
    # Version 11 kept every version of the patient's own entries; an old entry's version sits beside the old data.
    _seed_v10(record)
    with record._transaction() as cur:
        cur.execute(
            "INSERT INTO entry_version (type, id, version, action, raw, saved_at) VALUES ('Observation', 'own-1', 1, "
            "'added', '{\"resourceType\": \"Observation\", \"id\": \"own-1\"}', '2025-08-01T00:00:00Z')"
        )


def _seed_v12(record: Record) -> None:
    # Version 12 kept the facts; the old data's are filled by the migration to 12 and stay beside it.
    _seed_v11(record)


def _seed_v13(record: Record) -> None:
    # Version 13 kept the lab tests; an answer of no category (an OTHER result) was not kept yet: the migration to
    # 14 has it filled on the first read.
    _seed_v12(record)
    with record.write() as cur:
        cur.execute(
            "INSERT INTO resource (source_id, type, id, raw, hash, first_seen, last_seen, changed_at, first_run, "
            "last_run, valid, display, status, effective, value_num, value_unit) VALUES (1, 'Observation', 'old-2', "
            "'{\"resourceType\": \"Observation\", \"id\": \"old-2\"}', 'h2', ?, ?, ?, 1, 1, 1, 'Mood: good', "
            "'final', '2025-01-01', NULL, NULL)",
            ("2025-01-01T00:00:00Z",) * 3,
        )


def _seed_v14(record: Record) -> None:
    # Version 14 kept notes unsearched: a current note on the old condition (under its source's key), one version of
    # it replaced and one deleted; the migration to 15 indexes only the current one.
    _seed_v13(record)
    with record._transaction() as cur:
        for text, replaced, deleted in (("Pollen, said the allergist", None, None), ("Dust, said the nurse", 1, None),
                                        ("Cats, said nobody", None, "2025-09-02T00:00:00Z")):  # fmt: skip
            cur.execute(
                "INSERT INTO annotation (source_key, item_type, item_id, person_id, text, created_at, replaced_by, "
                "deleted_at) VALUES ('file:Imported files', 'Condition', 'old-1', NULL, ?, '2025-09-01T00:00:00Z', ?, ?)",
                (text, replaced, deleted),
            )


def _seed_v15(record: Record) -> None:
    # Version 15 kept no timeline slots (the migration to 16 fills them, once) and its lab triggers said no resource
    # that arrived: a laboratory result stored but not yet counted (its group noted the old way) is counted after.
    _seed_v14(record)
    with record.write() as cur:
        cur.execute(
            "INSERT INTO resource (source_id, type, id, raw, hash, first_seen, last_seen, changed_at, first_run, "
            "last_run, valid, display, status, effective, category, code_system, code, value_num, value_unit) VALUES "
            "(1, 'Observation', 'old-3', '{\"resourceType\": \"Observation\", \"id\": \"old-3\"}', 'h3', ?, ?, ?, 1, "
            "1, 1, 'Glucose: 5.5 mmol/L', 'final', '2025-02-01', 'laboratory', 'http://loinc.org', '2345-7', 5.5, "
            "'mmol/L')",
            ("2025-02-01T00:00:00Z",) * 3,
        )


def _pdf_of(words: str) -> str:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, words)
    return base64.b64encode(bytes(pdf.output())).decode()


def _seed_v16(record: Record) -> None:
    # Version 16 indexed a document's title but not its PDF's words, and a report's presented form not at all: a
    # letter and a report (their words only in their PDFs), each with the index row that version wrote.
    _seed_v15(record)
    letter = {"resourceType": "DocumentReference", "id": "old-letter", "status": "current",
              "description": "Letter from the clinic",
              "content": [{"attachment": {"contentType": "application/pdf", "data": _pdf_of("Spirometry normal")}}]}
    report = {"resourceType": "DiagnosticReport", "id": "old-report", "status": "final", "code": {"text": "Imaging"},
              "presentedForm": [{"contentType": "application/pdf", "data": _pdf_of("Meniscus tear seen")}]}  # fmt: skip
    with record.write() as cur:
        for rowid, resource, display, codes, notes in ((10, letter, "Letter from the clinic", "", "Letter from the clinic"),
                                                       (11, report, "Imaging", "Imaging", "")):  # fmt: skip
            cur.execute(
                "INSERT INTO resource (rowid, source_id, type, id, raw, hash, first_seen, last_seen, changed_at, "
                "first_run, last_run, valid, display, status) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, 1, 1, 1, ?, ?)",
                (rowid, resource["resourceType"], resource["id"], json.dumps(resource), f"h{rowid}",
                 *("2025-03-01T00:00:00Z",) * 3, display, resource["status"]),
            )  # fmt: skip
            cur.execute(
                "INSERT INTO resource_fts (rowid, display, codes, notes) VALUES (?, ?, ?, ?)", (rowid, display, codes, notes)
            )


# A resource as a portal sends it (compact, keys in its own order, words beyond ASCII), stored as text before 18.
RESULT_TEXT = (
    '{"resourceType":"Observation","id":"old-4","status":"final","code":{"coding":[{"system":"http://loinc.org",'
    '"code":"2345-7"}],"text":"Glukose (nüchtern) – Blut"},"subject":{"reference":"Patient/p1"},'
    '"effectiveDateTime":"2025-03-01","valueQuantity":{"value":5.10,"unit":"mmol/L"}}'
)


def _seed_v17(record: Record) -> None:
    # Version 17 stored every resource's JSON as text; the migration to 18 packs it.
    _seed_v16(record)
    with record.write() as cur:
        cur.execute(
            "INSERT INTO resource (source_id, type, id, raw, hash, first_seen, last_seen, changed_at, first_run, "
            "last_run, valid, display, status, effective) VALUES (1, 'Observation', 'old-4', ?, 'h4', ?, ?, ?, 1, 1, "
            "1, 'Glukose', 'final', '2025-03-01')",
            (RESULT_TEXT, *("2025-03-01T00:00:00Z",) * 3),
        )


def _seed_v18(record: Record) -> None:
    # Version 18 keyed the grouping index by (type, source, id) and stored every resource's JSON packed: the rows of
    # 17, packed, and three active Conditions of one code from a second source, stored against the order of their
    # ids, so the index's order (type, source, id) is not the order they were stored in.
    _seed_v17(record)
    with record.write() as cur:
        texts = cur.execute("SELECT rowid, raw FROM resource WHERE typeof(raw) = 'text'").fetchall()
        for rowid, raw in texts:
            cur.execute("UPDATE resource SET raw = ? WHERE rowid = ?", (pack(raw), rowid))
        cur.execute("INSERT INTO source (id, kind, name, created_at) VALUES (3, 'file', 'Clinic B', '2025-03-01')")
        for n in (3, 2, 1):
            resource = {**CONDITION, "id": f"b-{n}", "onsetDateTime": f"{2015 + 3 * n}-05-01"}
            cur.execute(
                "INSERT INTO resource (source_id, type, id, raw, hash, first_seen, last_seen, changed_at, valid, "
                "status, display, subject, code_system, code, effective) VALUES (3, 'Condition', ?, ?, ?, ?, ?, ?, 1, "
                "'active', 'Seasonal allergic rhinitis', 'Patient/p1', 'http://snomed.info/sct', '367498001', ?)",
                (resource["id"], pack(json.dumps(resource)), f"b{n}", *("2025-03-01T00:00:00Z",) * 3,
                 resource["onsetDateTime"]),
            )  # fmt: skip



def _seed_v19(record: Record) -> None:
    # Version 19 kept the members' sources, dates and times in the index of the members by type too: its views kept
    # (as a first read leaves them), then a change noted and not read yet; the migration to 20 keeps both.
    _seed_v18(record)
    assert current(record)
    with record.write() as cur:
        cur.execute("UPDATE resource SET display = 'Hay fever' WHERE id = 'old-1'")


def _seed_v20(record: Record) -> None:
    # Version 20 slimmed an index only: the rows of 19. Its writes were not counted (record_change came with 21).
    _seed_v19(record)


# One seed per schema version a record can be left at. A new migration adds the seed of the version before it.
SEEDS: dict[int, Callable[[Record], None]] = {
    1: _seed_v1, 2: _seed_v2, 3: _seed_v3, 4: _seed_v4, 5: _seed_v5, 6: _seed_v6, 7: _seed_v7, 8: _seed_v8,
    9: _seed_v9, 10: _seed_v10, 11: _seed_v11, 12: _seed_v12, 13: _seed_v13, 14: _seed_v14, 15: _seed_v15,
    16: _seed_v16, 17: _seed_v17, 18: _seed_v18, 19: _seed_v19, 20: _seed_v20,
}  # fmt: skip


def _record_at(path: Path, version: int) -> Record:
    record = Record(path, Record._connect(path, PASSPHRASE))
    record._migrate(target=version)
    assert record.schema_version == version
    return record


def test_versions_are_numbered_one_by_one_from_one() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert latest_version() == len(MIGRATIONS)
    assert all(m.description for m in MIGRATIONS)


def test_a_new_record_is_at_the_latest_version(tmp_path: Path, demo_dir: Path) -> None:
    with Record.create(tmp_path / "new.carry", PASSPHRASE) as record:
        assert record.schema_version == latest_version()
        record.import_file(demo_dir / KARENA)
        assert record.search("Pfeffer")


def test_every_version_but_the_last_has_a_seed() -> None:
    assert set(range(1, latest_version())) <= set(SEEDS)


def _opened_from(tmp_path: Path, version: int) -> Record:
    """A record left at `version` with that version's seed, opened (and so migrated) by today's Carry."""
    path = tmp_path / f"v{version}.carry"
    old = _record_at(path, version)
    SEEDS[version](old)
    old.close()
    return Record.open(path, PASSPHRASE)


@pytest.mark.parametrize("version", range(1, latest_version()))
def test_migrating_from_an_earlier_version_keeps_the_data(tmp_path: Path, version: int, demo_dir: Path) -> None:
    with _opened_from(tmp_path, version) as record:
        assert record.schema_version == latest_version()
        stored = record.get("Condition", "old-1")
        assert stored is not None and json.loads(stored.raw) == CONDITION
        assert record.resolve_identifier("Condition", "urn:test", "id-1") == "old-1"
        assert [row.id for row in record.search("rhinitis")] == ["old-1"]
        assert len(record.audit_log(action="import")) == 1
        # The migrated record takes new data like a new one does, with the indexes a new one has.
        assert record.import_file(demo_dir / KARENA).counts.imported > 0
        indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        with Record.create(tmp_path / "fresh.carry", PASSPHRASE) as fresh:
            assert record.read(indexes) == fresh.read(indexes)


def test_version_8_places_each_source_s_patient_in_a_person_of_its_own(tmp_path: Path) -> None:
    with _opened_from(tmp_path, 7) as record:
        rows = record.read("SELECT source_key, patient, person_id FROM person_member ORDER BY source_key")
        # The portal's own patient (p1 at the demo portal) and each source's Patient/p1: one person each.
        assert [(k, p) for k, p, _ in rows] == [("file:Imported files", "Patient/p1"), ("https://portal.example/fhir", "Patient/p1")]
        assert len({person for _, _, person in rows}) == 2
        assert [a["detail"] for a in record.audit_log(action="person-add")] == [{"placed": 2}]


def test_version_14_keeps_the_other_results_of_an_older_record(tmp_path: Path) -> None:
    with _opened_from(tmp_path, 13) as record:
        kept = other_test_rows(record, None, OTHER_SHOWN_APART)
        assert kept == other_test_rows(record, None, OTHER_SHOWN_APART, kept=False)
        assert [(r.code, r.count, r.latest, r.answers) for r in kept] == [("Mood: good", 1, "2025-01-01", ((None, None, "Mood: good"),))]
        assert record._query("SELECT count(*) FROM view_other")[0][0] == 1


def test_version_15_makes_an_older_record_s_current_notes_searchable(tmp_path: Path) -> None:
    with _opened_from(tmp_path, 14) as record:
        assert [(m.row.id, m.note.text) for m in search_notes(record, "allergist")] == [("old-1", "Pollen, said the allergist")]
        assert search_notes(record, "nurse") == [] and search_notes(record, "cats") == []  # replaced, deleted
        # The entries' versions are all there, and a restore is a version the table now takes.
        assert record.read("SELECT id, version, action FROM entry_version") == [("own-1", 1, "added")]
        with record._transaction() as cur:
            cur.execute("INSERT INTO entry_version (type, id, version, action, raw, saved_at) VALUES "
                        "('Observation', 'own-1', 2, 'restored', '{}', '2025-10-01T00:00:00Z')")  # fmt: skip


def test_version_16_fills_the_slots_and_counts_what_an_older_record_had_not(tmp_path: Path) -> None:
    before = max(m.version for m in MIGRATIONS if m.version < 16)
    path = tmp_path / f"v{before}.carry"
    old = _record_at(path, before)
    _seed_v15(old)
    assert old._query("SELECT count(*) FROM view_lab_dirty")[0][0] >= 1  # noted, not yet counted
    old.close()
    with Record.open(path, PASSPHRASE) as record:
        assert current(record) and labs_current(record)
        assert record._query("SELECT count(*) FROM view_fact WHERE top IS NULL")[0][0] == 0
        for rtype in ("Condition", "Observation"):
            assert kept_slots(record, rtype) == _as_slots(facts(record, rtype))
        kept = lab_test_rows(record, None, "laboratory", PANELS_WITHOUT_VALUE)
        assert kept == lab_test_rows(record, None, "laboratory", PANELS_WITHOUT_VALUE, kept=False)
        assert [(r.code, r.count, r.latest, r.value) for r in kept] == [("2345-7", 1, "2025-02-01", 5.5)]


def test_version_17_finds_an_older_record_s_documents_by_the_words_of_their_pdfs(tmp_path: Path) -> None:
    path = tmp_path / "v16.carry"
    old = _record_at(path, 16)
    _seed_v16(old)
    assert old.search("spirometry") == [] and old.search("meniscus") == []  # what version 16 left
    assert [row.id for row in old.search("clinic")] == ["old-letter"]
    old.close()
    with Record.open(path, PASSPHRASE) as record:
        assert [row.id for row in record.search("spirometry")] == ["old-letter"]
        assert [row.id for row in record.search("meniscus")] == ["old-report"]
        assert [row.id for row in record.search("clinic")] == ["old-letter"]  # its title still finds it, once
        assert [row.id for row in record.search("rhinitis")] == ["old-1"]  # the others' rows are as they were


def test_version_18_packs_every_resource_s_json_and_notes_no_change_in_the_views(tmp_path: Path) -> None:
    path = tmp_path / "v17.carry"
    old = _record_at(path, 17)
    _seed_v17(old)
    dirty = old._query("SELECT member, kind FROM view_dirty ORDER BY member")
    old.close()
    with Record.open(path, PASSPHRASE) as record:
        assert record.schema_version >= 18
        stored = record._query("SELECT id, raw FROM resource ORDER BY rowid")
        assert {"old-1", "old-2", "old-3", "old-4"} <= {rid for rid, _ in stored}
        assert all(isinstance(raw, bytes) and raw[:1] in (bytes((FORMAT_DEFLATE_1,)), bytes((FORMAT_DEFLATE_2,))) for _, raw in stored)
        assert b"Glukose" not in dict(stored)["old-4"]
        result = record.get("Observation", "old-4")
        assert result is not None and result.raw == RESULT_TEXT  # the very text, down to "5.10"
        assert record.read("SELECT json_extract(resource_json(raw, type, id), '$.code.text') FROM resource WHERE id = 'old-4'") == [
            ("Glukose (nüchtern) – Blut",)
        ]
        assert record._query("SELECT member, kind FROM view_dirty ORDER BY member") == dirty


def test_version_18_gives_back_the_space_the_text_took(tmp_path: Path, demo_dir: Path) -> None:
    # A record of version 17 whose resources are text (as Carry wrote them then) shrinks when it is migrated.
    path = tmp_path / "v17-big.carry"
    old = _record_at(path, 17)
    _seed_v17(old)
    documents = [
        entry["resource"] for entry in json.loads((demo_dir / KARENA).read_text())["entry"]
        if entry["resource"]["resourceType"] in ("Observation", "Claim", "ExplanationOfBenefit", "Encounter")
    ][:600]
    with old.write() as cur:
        for n, resource in enumerate(documents):
            cur.execute(
                "INSERT INTO resource (source_id, type, id, raw, hash, first_seen, last_seen, changed_at, valid) "
                "VALUES (1, ?, ?, ?, ?, '2025-01-01', '2025-01-01', '2025-01-01', 1)",
                (resource["resourceType"], f"copy-{n}", json.dumps(resource, separators=(",", ":")), f"c{n}"),
            )
    text = sum(len(raw) for (raw,) in old._query("SELECT raw FROM resource"))
    old.close()
    before = path.stat().st_size
    with Record.open(path, PASSPHRASE) as record:
        packed = sum(len(raw) for (raw,) in record._query("SELECT raw FROM resource"))
        assert record.read("SELECT count(*) FROM resource WHERE typeof(raw) != 'blob'") == [(0,)]
    after = path.stat().st_size
    assert packed < text / 3
    assert after < before - text / 2, (before, after, text)


def test_version_19_keys_the_grouping_index_by_the_order_of_storing_and_groups_as_before(tmp_path: Path) -> None:
    path = tmp_path / "v18.carry"
    old = _record_at(path, 18)
    _seed_v18(old)
    before = facts(old)
    old.close()
    with Record.open(path, PASSPHRASE) as record:
        assert record.schema_version >= 19
        keyed = [name for _, _, name in record._query("PRAGMA index_info(resource_facts)")]
        assert keyed[:4] == ["type", "source_id", "rowid", "id"]
        assert set(_GROUPING_COLUMNS) <= set(keyed)  # still covering what the grouping reads
        assert facts(record) == before  # the same facts, hints of possible matches included
        assert any(f.possible_matches for f in before if f.resource_type == "Condition")
        plans = {
            "grouping": "SELECT r.type, r.id, r.display FROM resource r INDEXED BY resource_facts WHERE r.type = 'Condition'",
            "lookup": "SELECT hash FROM resource WHERE source_id = 3 AND type = 'Condition' AND id IN ('b-1', 'b-2')",
            "export": "SELECT r.id FROM source s CROSS JOIN resource r ON r.source_id = s.id WHERE r.type = 'Condition' "
                      "ORDER BY s.id, r.type, r.id",
        }  # fmt: skip
        found = {what: " ".join(row[-1] for row in record._query(f"EXPLAIN QUERY PLAN {sql}")) for what, sql in plans.items()}
        assert "COVERING INDEX resource_facts (type=?)" in found["grouping"]
        assert "sqlite_autoindex_resource_1 (source_id=? AND type=? AND id=?)" in found["lookup"]
        assert "TEMP B-TREE" not in found["export"] and "TEMP B-TREE" not in found["grouping"]


_GROUPING_COLUMNS = ("source_id", "type", "id", "effective", "category", "code_system", "code", "code_display", "status",
                     "display", "subject", "value_num", "value_unit", "valid", "invalid_reason", "first_seen",
                     "last_seen", "changed_at", "last_run", "removed_at")  # fmt: skip


def test_version_20_slims_the_index_of_the_members_by_type_and_keeps_the_views_warm(tmp_path: Path) -> None:
    path = tmp_path / "v19.carry"
    old = _record_at(path, 19)
    _seed_v19(old)
    members = old._query("SELECT * FROM view_member ORDER BY rowid")
    dirty = old._query("SELECT member, kind FROM view_dirty ORDER BY member")
    assert members and dirty  # kept views, and a change they have not read yet
    old.close()
    with Record.open(path, PASSPHRASE) as record:
        assert record.schema_version >= 20
        assert record._query("SELECT name FROM pragma_index_info('view_member_type') ORDER BY seqno") == [
            ("type",), ("person",), ("fid",)
        ]
        assert record._query("SELECT * FROM view_member ORDER BY rowid") == members
        assert record._query("SELECT member, kind FROM view_dirty ORDER BY member") == dirty
        # What a type's members are read for comes from the index alone, and the kept facts read as grouping makes them.
        plan = " ".join(row[3] for row in record._query("EXPLAIN QUERY PLAN SELECT rowid, fid FROM view_member "
                                                        "WHERE type = ? AND person = ?", ["Condition", "1"]))  # fmt: skip
        assert "COVERING INDEX view_member_type" in plan, plan
        assert current(record)
        for rtype in ("Condition", "Observation"):
            assert kept_slots(record, rtype) == _as_slots(facts(record, rtype))
        condition = next(f for f in facts(record, "Condition") if any(m.id == "old-1" for m in f.members))
        assert condition.display == "Hay fever"


def test_a_record_from_a_newer_carry_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.carry"
    record = Record.create(path, PASSPHRASE)
    with record.write() as tx:
        tx.execute(f"PRAGMA user_version = {latest_version() + 1}")
    record.close()
    before = path.read_bytes()
    with pytest.raises(NotARecord, match="newer Carry"):
        Record.open(path, PASSPHRASE)
    assert path.read_bytes() == before


def test_a_failing_migration_leaves_the_record_at_its_version(tmp_path: Path, monkeypatch: Any) -> None:
    from app.record import schema

    path = tmp_path / "half.carry"
    record = _record_at(path, 1)
    _seed_v1(record)
    record.close()

    def boom(cur: Any) -> None:
        raise RuntimeError("disk fell off")

    broken = schema.Migration(2, MIGRATIONS[1].description, MIGRATIONS[1].sql, boom)
    monkeypatch.setattr("app.record.store.MIGRATIONS", (MIGRATIONS[0], broken, *MIGRATIONS[2:]))
    with pytest.raises(RuntimeError):
        Record.open(path, PASSPHRASE)
    monkeypatch.undo()
    record = Record(path, Record._connect(path, PASSPHRASE))
    try:
        assert record.schema_version == 1
        assert record.read("SELECT name FROM sqlite_master WHERE name = 'resource_fts'") == []
    finally:
        record.close()


def test_an_update_says_how_far_it_is(tmp_path: Path) -> None:
    # A record from before the JSON was packed (7,000 resources as text): the packing step says how far it is, batch
    # by batch, between the update's start (0) and its end (1); each share once, rising.
    path = record_before_packing(tmp_path / "v17.carry", 20)
    heard: list[float] = []
    with Record.open(path, PASSPHRASE, progress=heard.append) as record:
        assert record.schema_version == latest_version()
    assert heard[0] == 0.0 and heard[-1] == 1.0
    assert heard == sorted(set(heard))
    assert len([share for share in heard if 0 < share < 0.6]) >= 3  # the packing, before the file is rewritten
    # Up to date: nothing to say.
    again: list[float] = []
    Record.open(path, PASSPHRASE, progress=again.append).close()
    assert again == []
    # From much further back (the views filled at the end): every migration and the fill move it on.
    old = _record_at(tmp_path / "v11.carry", 11)
    SEEDS[11](old)
    old.close()
    steps: list[float] = []
    Record.open(tmp_path / "v11.carry", PASSPHRASE, progress=steps.append).close()
    assert steps[0] == 0.0 and steps[-1] == 1.0 and steps == sorted(set(steps)) and len(steps) >= len(MIGRATIONS) - 11
