"""The patient's own entries in a real record: add, edit, delete with history kept, placed in the right person,
grouped into facts with what a clinic sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.records import ELVINA, KARENA

from app.record import EntryRefused, PersonNeeded, Record, facts, people
from app.record.entries import (
    OWN_SOURCE,
    Allergy,
    Medicine,
    Note,
    Reading,
    Symptom,
    add_entry,
    delete_entry,
    edit_entry,
    entry_history,
    own_entries,
)

CLINIC = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "name": [{"family": "Quinn", "given": ["Ada"]}],
                      "birthDate": "1980-02-03", "gender": "female"}},
        {"resource": {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
                      "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                                "code": "310965", "display": "Ibuprofen 200 MG Oral Tablet"}],
                                                    "text": "Ibuprofen 200 MG Oral Tablet"},
                      "subject": {"reference": "Patient/p1"}, "authoredOn": "2024-05-01"}},
    ],
}  # fmt: skip


def _clinic(record: Record, tmp_path: Path) -> None:
    path = tmp_path / "clinic.json"
    path.write_text(json.dumps(CLINIC))
    record.import_file(path, source="Clinic")


def test_a_blood_pressure_is_stored_tagged_and_in_the_only_person(record: Record, tmp_path: Path) -> None:
    _clinic(record, tmp_path)
    entry = add_entry(record, Reading("blood-pressure", "128/84", when="2025-03-01T08:30"))
    stored = record.get("Observation", entry.id)
    assert stored is not None and stored.row.source == OWN_SOURCE and stored.row.valid
    data = stored.json()
    assert data["meta"]["tag"][0]["code"] == "patient-supplied"
    assert data["meta"]["security"][0]["code"] == "PATAST"
    assert data["meta"]["versionId"] == "1"
    assert data["code"]["coding"][0]["code"] == "85354-9"
    assert [c["valueQuantity"]["value"] for c in data["component"]] == [128, 84]
    (ada,) = people(record)
    assert ada.admits(stored.row.source_id, stored.row.subject)  # the clinic's Ada and her own entries: one person
    assert [e.ref for e in own_entries(record, ada)] == [entry.ref]


@pytest.mark.parametrize(
    ("draft", "sentence"),
    [
        (Reading("blood-pressure", "80/120"), "systolic pressure .* must be greater than the diastolic"),
        (Reading("blood-pressure", "120"), "systolic/diastolic"),
        (Reading("weight", "7150"), "not plausible"),
        (Reading("weight", "160", unit="stone"), "measured in kg or \\[lb_av\\]"),
        (Reading("mood", "3"), "not a reading Carry knows"),
        (Reading("heart-rate", "sixty"), "not a number"),
        (Reading("heart-rate", "60", when="2999-01-01"), "in the future"),
        (Symptom("  "), "empty"),
        (Symptom("headache", onset="2025-02-01", ended="2025-01-01"), "cannot end before"),
        (Medicine("ibuprofen", since="yesterday"), "not a date"),
        (Allergy("peanuts", kind="dislike"), "allergy or an intolerance"),
    ],
)
def test_bad_entries_are_refused_with_one_sentence_and_nothing_changes(
    record: Record, tmp_path: Path, draft: object, sentence: str
) -> None:
    _clinic(record, tmp_path)
    before = record._query("SELECT count(*) FROM resource")[0][0]
    with pytest.raises(EntryRefused, match=sentence) as caught:
        add_entry(record, draft)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
    assert record._query("SELECT count(*) FROM resource")[0][0] == before
    assert record._query("SELECT count(*) FROM entry_version")[0][0] == 0


def test_units_the_patient_measures_in_are_kept(record: Record, tmp_path: Path) -> None:
    _clinic(record, tmp_path)
    weight = add_entry(record, Reading("weight", "165", unit="[lb_av]"))
    glucose = add_entry(record, Reading("glucose", "5.4", unit="mmol/L"))
    temp = add_entry(record, Reading("temperature", "99.1", unit="[degF]"))
    assert record.get("Observation", weight.id).json()["valueQuantity"]["code"] == "[lb_av]"  # type: ignore[union-attr]
    g = record.get("Observation", glucose.id).json()  # type: ignore[union-attr]
    assert g["code"]["coding"][0]["code"] == "15074-8" and g["category"][0]["coding"][0]["code"] == "laboratory"
    assert record.get("Observation", temp.id).row.unit == "[degF]"  # type: ignore[union-attr]
    with pytest.raises(EntryRefused, match="not plausible"):
        add_entry(record, Reading("temperature", "99.1"))  # 99.1 Cel


def test_edit_keeps_every_version_and_delete_keeps_the_history(record: Record, tmp_path: Path) -> None:
    _clinic(record, tmp_path)
    first = add_entry(record, Symptom("headache", onset="2025-01-10", severity="mild"))
    second = edit_entry(record, first.ref, severity="severe", note="worse in the morning")
    assert second.version == 2 and second.id == first.id
    now = record.get("Condition", first.id).json()  # type: ignore[union-attr]
    assert now["severity"]["text"] == "severe" and now["meta"]["versionId"] == "2"
    assert now["category"][0]["coding"][0]["code"] == "health-concern"
    history = entry_history(record, first.ref)
    assert [(v.version, v.action) for v in history] == [(1, "added"), (2, "edited")]
    assert history[0].resource["severity"]["text"] == "mild"  # the old version stays readable

    delete_entry(record, first.id)  # an id alone names it too
    assert record.get("Condition", first.id, record.source(OWN_SOURCE).id) is None
    assert not [f for f in facts(record, "Condition") if any(m.id == first.id for m in f.members)]
    assert not record.search("headache")
    assert own_entries(record) == []
    (gone,) = own_entries(record, deleted=True)
    assert gone.deleted and gone.version == 3
    assert [v.action for v in entry_history(record, first.ref)] == ["added", "edited", "deleted"]
    with pytest.raises(EntryRefused, match="not one of your own entries"):
        edit_entry(record, first.ref, severity="mild")


def test_a_clinic_item_cannot_be_edited_as_an_entry(record: Record, tmp_path: Path) -> None:
    _clinic(record, tmp_path)
    with pytest.raises(EntryRefused, match="not one of your own entries"):
        delete_entry(record, "MedicationRequest/m1")
    assert record.get("MedicationRequest", "m1") is not None


def test_the_patients_ibuprofen_and_the_clinics_are_one_fact(record: Record, tmp_path: Path) -> None:
    _clinic(record, tmp_path)
    (clinic_fact,) = facts(record, ["MedicationRequest", "MedicationStatement"])
    entry = add_entry(record, Medicine("Ibuprofen", dose="200 mg when needed", since="2024-05-02",
                                       same_as=clinic_fact.fact_id))  # fmt: skip
    (fact,) = facts(record, ["MedicationRequest", "MedicationStatement"])
    assert sorted(fact.sources) == sorted(["Clinic", OWN_SOURCE])
    assert {m.id for m in fact.members} == {"m1", entry.id}
    statement = record.get("MedicationStatement", entry.id).json()  # type: ignore[union-attr]
    assert statement["informationSource"]["reference"] == statement["subject"]["reference"]
    assert statement["medicationCodeableConcept"]["coding"][0]["code"] == "310965"

    with pytest.raises(EntryRefused, match="not a medicine in this person"):
        add_entry(record, Medicine("Paracetamol", same_as="nope"))


def test_an_allergy_and_a_note_are_authored_by_the_patient(record: Record, tmp_path: Path) -> None:
    _clinic(record, tmp_path)
    allergy = add_entry(record, Allergy("Penicillin", reaction="hives", criticality="high"))
    note = add_entry(record, Note("Slept badly; dizzy after lunch."))
    a = record.get("AllergyIntolerance", allergy.id).json()  # type: ignore[union-attr]
    assert a["recorder"] == a["asserter"] == a["patient"]
    n = record.get("Observation", note.id).json()  # type: ignore[union-attr]
    assert n["code"]["coding"][0]["code"] == "51855-5" and n["valueString"].startswith("Slept")
    assert record.search("dizzy")


def test_entries_go_to_the_person_named_and_several_persons_need_a_name(
    record: Record, demo_dir: Path
) -> None:
    record.import_file(demo_dir / ELVINA)
    record.import_file(demo_dir / KARENA)
    with pytest.raises(PersonNeeded):
        add_entry(record, Reading("weight", "70"))
    entry = add_entry(record, Reading("weight", "70"), person="Karena")
    karena = next(p for p in people(record) if "Karena" in p.name)
    elvina = next(p for p in people(record) if "Elvina" in p.name)
    assert [e.id for e in own_entries(record, karena)] == [entry.id]
    assert own_entries(record, elvina) == []
    again = add_entry(record, Reading("weight", "71"), person="Karena")
    stored = [record.get("Observation", e).row.subject for e in (entry.id, again.id)]  # type: ignore[union-attr]
    assert stored[0] == stored[1]  # one stand-in Patient per person in the entries' source


def test_a_record_with_nobody_gets_a_person_for_the_entries(record: Record) -> None:
    entry = add_entry(record, Reading("heart-rate", "61"))
    (someone,) = people(record)
    assert [e.id for e in own_entries(record, someone)] == [entry.id]
