"""The summary's first build reads one kept row per fact (app.record.view_cache.kept_heads), not every member of
every fact: what it shows is exactly what the summary built from facts grouped in full shows, on a record of two
patients, one of them sent again by a second clinic (facts of two sources) with some of it changed there, its orders
naming no prescriber (who prescribed is read from the older copy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.records import ELVINA, KARENA, PASSPHRASE

from app import views as v
from app.record import Record, facts, merge_people, people
from app.record.view_cache import current, head_of, kept_heads, person_of
from app.views.merged import forget

SUMMARY_TYPES = ("Condition", "AllergyIntolerance", "Immunization", "CarePlan", "Goal", "Device", "MedicationRequest")


def _second_clinic(path: Path) -> bytes:
    """The patient's file as another clinic sends it: the same resources, the newer ones with another status."""
    bundle: dict[str, Any] = json.loads(path.read_bytes())
    for n, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        if resource["resourceType"] == "Condition" and n % 3 == 0:
            resource["clinicalStatus"] = {"coding": [{"code": "resolved"}]}
        if resource["resourceType"] == "CarePlan" and n % 2 == 0:
            resource["status"] = "completed"
        if resource["resourceType"] == "MedicationRequest":  # the newest copy names no prescriber: an older one does
            resource.pop("requester", None)
    return json.dumps(bundle).encode()


def _mixed(tmp_path: Path, demo_dir: Path) -> Path:
    path = tmp_path / "mixed.carry"
    with Record.create(path, PASSPHRASE) as record:
        record.import_file(demo_dir / ELVINA)
        record.import_file(demo_dir / KARENA)
        record.import_bytes(_second_clinic(demo_dir / ELVINA), origin="clinic-b.json", source="Clinic B")
        elvinas = [p for p in people(record) if "Elvina" in p.name]
        merge_people(record, *elvinas)  # the patient says both clinics' Elvina is her
    return path


def test_kept_heads_are_what_the_full_facts_show(tmp_path: Path, demo_dir: Path) -> None:
    with Record.open(_mixed(tmp_path, demo_dir), PASSPHRASE) as record:
        assert current(record)
        everyone = people(record)
        assert len(everyone) == 2
        two_sources = 0
        for rtype in SUMMARY_TYPES:
            whole = facts(record, rtype)
            assert kept_heads(record, rtype) == [head_of(f) for f in whole]
            two_sources += sum(1 for f in whole if len(f.sources) > 1)
            for person in everyone:
                number = person_of(record, person.subjects)
                mine = facts(record, rtype, subjects=person.subjects)
                assert kept_heads(record, rtype, number) == [head_of(f) for f in mine]
        assert two_sources > 20  # the second clinic's copies joined the first's facts


def test_the_summary_from_kept_rows_is_the_summary_from_full_facts(tmp_path: Path, demo_dir: Path) -> None:
    path = _mixed(tmp_path, demo_dir)
    with Record.open(path, PASSPHRASE) as record:
        scopes = [v.Scope(person) for person in v.people(record)]
        # Another window holds the write lock: the kept views cannot catch up with the imports, so every list is
        # made from facts grouped in full from scratch (the path the summary took before).
        other = Record.open(path, PASSPHRASE)
        try:
            for db in (record._conn(), record._reader):  # not the usual 10 s a write waits: the test waits for it
                db.execute("PRAGMA busy_timeout = 20")
            with other._transaction():
                assert not current(record)
                full = [v.build_dashboard(record, scope) for scope in scopes]
        finally:
            other.close()
        forget(record)
        assert current(record)
        fast = [v.build_dashboard(record, scope) for scope in scopes]
    assert fast == full
    board = next(b for b in fast if b.person is not None and "Elvina" in b.person.name)
    assert board.problems and board.immunizations and board.treatment and board.medications
    assert any(item.sources_text == "from 2 sources" for item in board.immunizations)
    assert any("from 2 sources" in item.sources_text and "last prescribed by" in item.detail for item in board.medications)
