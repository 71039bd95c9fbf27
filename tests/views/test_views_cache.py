"""Lists kept between visits until the record changes (issue 20: the lab-tests list was never kept, 0.3-0.4 s a
visit at 100,000 resources).

SQLite's own trace of the statements shows whether a list was read from the record again or kept.
"""

from __future__ import annotations

import json
import re

import pytest
from support.records import PASSPHRASE

from app import views as v
from app.record import Record, facts, reconcile_medications
from app.record.view_cache import current
from app.views.format import use_units
from app.views.merged import cached_facts, cached_medications


@pytest.fixture
def record(elvina: Record) -> Record:
    return elvina


def _statements(record: Record, fn: object) -> tuple[object, list[str]]:
    ran: list[str] = []
    record._reader.set_trace_callback(ran.append)
    try:
        result = fn()  # type: ignore[operator]
    finally:
        record._reader.set_trace_callback(None)
    # The list's rows, from scratch (r: the resources) or as kept in the record (l: app.record.view_labs).
    return result, [sql for sql in ran if re.search(r"GROUP BY [rl]\.code_system, [rl]\.code$", sql)]


def test_the_lab_tests_list_is_kept_until_the_record_changes(record: Record) -> None:
    scope = v.Scope(v.people(record)[0])
    first, read = _statements(record, lambda: v.lab_tests(record, scope))
    assert read and first
    again, read = _statements(record, lambda: v.lab_tests(record, scope))
    assert again == first and read == []  # kept: the record was not asked again
    vitals, read = _statements(record, lambda: v.lab_tests(record, scope, "vital-signs"))
    assert read and vitals != first  # another category is another list

    # A new result changes the record: the next visit reads it again and shows the new test.
    patient = next(p for p in record.rows("Patient"))
    new = {
        "resourceType": "Observation", "id": "new-ferritin", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2276-4", "display": "Ferritin"}]},
        "subject": {"reference": f"Patient/{patient.id}"}, "effectiveDateTime": "2024-05-01",
        "valueQuantity": {"value": 80, "unit": "ng/mL"},
    }  # fmt: skip
    record.import_bytes(json.dumps(new).encode(), origin="ferritin.json", source=patient.source)
    after, read = _statements(record, lambda: v.lab_tests(record, v.Scope(v.people(record)[0])))
    assert read and "2276-4" in {t.code for t in after} and "2276-4" not in {t.code for t in first}  # type: ignore[attr-defined]


def test_a_caller_changing_its_list_does_not_change_the_kept_one(record: Record) -> None:
    scope = v.Scope(v.people(record)[0])
    mine = v.lab_tests(record, scope)
    count = len(mine)
    mine.clear()
    assert len(v.lab_tests(record, scope)) == count > 0


def _condition(record: Record, rid: str) -> None:
    patient = next(p for p in record.rows("Patient"))
    new = {
        "resourceType": "Condition", "id": rid, "subject": {"reference": f"Patient/{patient.id}"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertension"}]},
        "onsetDateTime": "2024-05-01",
    }  # fmt: skip
    record.import_bytes(json.dumps(new).encode(), origin=f"{rid}.json", source=patient.source)


def test_a_change_drops_only_what_the_changed_types_made(record: Record) -> None:
    scope = v.Scope(v.people(record)[0])
    labs = v.lab_tests(record, scope)
    observations, conditions = cached_facts(record, "Observation"), cached_facts(record, "Condition")
    _condition(record, "new-condition")  # a new condition: the results are what they were
    again, read = _statements(record, lambda: v.lab_tests(record, scope))
    assert again == labs and read == []
    assert cached_facts(record, "Observation") is observations
    fresh = cached_facts(record, "Condition")
    assert fresh is not conditions and len(fresh) == len(conditions) + 1
    assert fresh == facts(record, "Condition")

    # Another window brings the views up to date after its own change: what changed is not known here any more,
    # so everything is read again.
    other = Record.open(record.path, PASSPHRASE)
    try:
        _condition(other, "other-condition")
        assert current(other)
    finally:
        other.close()
    again, read = _statements(record, lambda: v.lab_tests(record, scope))
    assert again == labs and read != []
    assert cached_facts(record, "Observation") is not observations
    assert cached_facts(record, "Condition") == facts(record, "Condition")


def test_the_medication_list_is_kept_through_changes_it_is_not_made_from(record: Record) -> None:
    subjects = v.people(record)[0].subjects
    meds = cached_medications(record, subjects)
    assert cached_medications(record, subjects) is meds  # kept (and this cache now follows the record's changes)
    _condition(record, "new-condition")  # a condition is none of what the medication list reads
    assert cached_medications(record, subjects) is meds
    patient = next(p for p in record.rows("Patient"))
    order = {
        "resourceType": "MedicationRequest", "id": "new-order", "status": "active", "intent": "order",
        "subject": {"reference": f"Patient/{patient.id}"}, "authoredOn": "2024-05-01",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "999001", "display": "Newdrug 5 MG Oral Tablet"}]},
    }  # fmt: skip
    record.import_bytes(json.dumps(order).encode(), origin="order.json", source=patient.source)
    fresh = cached_medications(record, subjects)
    assert fresh is not meds and "Newdrug 5 MG Oral Tablet" in {e.display for e in fresh.current}
    assert fresh == reconcile_medications(record, subjects=subjects)


def test_the_lab_tests_list_follows_the_units_in_use(record: Record) -> None:
    scope = v.Scope(v.people(record)[0])
    try:
        use_units("metric")
        metric = {t.code: t.latest_value for t in v.lab_tests(record, scope, "vital-signs")}
        use_units("us")
        us = {t.code: t.latest_value for t in v.lab_tests(record, scope, "vital-signs")}
    finally:
        use_units("metric")
    assert "kg" in metric["29463-7"] and "lb" in us["29463-7"]  # body weight
