"""Search finds what only the patient's words hold: a note on an item (saying the note matched), the text of a diary
note or a symptom of their own, the note in a reading of their own; only in the record of the person on screen.
And the patient's own entries are named as they are on every list: "Diary note", "Symptom", "Blood pressure
reading", never "Result" or "Condition"."""

from __future__ import annotations

from pathlib import Path

from support.records import ELVINA, KARENA, PASSPHRASE

from app import views as v
from app.record import Record, add_note, delete_note, edit_note
from app.record.entries import Medicine, Note, Reading, Symptom, add_entry

PREDIABETES = "024e4a57-498d-44f5-a1d3-2efad384a57d"


def _scope(record: Record) -> v.Scope:
    (person,) = v.people(record)  # asked again after an entry: the person then holds its stand-in Patient too
    return v.Scope(person)


def test_a_word_only_in_the_patient_s_note_finds_the_item_and_says_so(elvina: Record) -> None:
    scope = _scope(elvina)
    assert v.search(elvina, scope, "glucometer") == []
    note = add_note(elvina, "Condition", PREDIABETES, None, "Checked with my own glucometer every week since 2021.")
    (hit,) = v.search(elvina, scope, "glucometer")
    assert (hit.resource_type, hit.id) == ("Condition", PREDIABETES)
    assert hit.in_note and hit.noted and hit.matched_note == note.text
    assert hit.title == "Prediabetes" and hit.kind == "Health problem"
    # Found by its name, it is not said to match the note; the note's words only add a way in.
    by_name = next(h for h in v.search(elvina, scope, "prediabetes") if h.id == PREDIABETES)
    assert by_name.noted and not by_name.in_note
    # A long note is shortened where the hit shows it.
    edit_note(elvina, note.id, "Glucometer readings: " + "normal, " * 40 + "always.")
    (long,) = v.search(elvina, scope, "glucometer")
    assert len(long.matched_note) == 120 and long.matched_note.endswith("…")
    (current,) = [n for n in v.detail(elvina, "Condition", PREDIABETES).notes]  # type: ignore[union-attr]
    delete_note(elvina, current.id)
    assert v.search(elvina, scope, "glucometer") == []


def test_the_patient_s_own_words_in_their_entries_are_found(elvina: Record) -> None:
    diary = add_entry(elvina, Note("Dizzy after the new tablets, sat down for an hour.", when="2025-05-02T10:00"))
    symptom = add_entry(elvina, Symptom("Tingling fingers", onset="2025-04-01", severity="mild"))
    reading = add_entry(elvina, Reading("blood-pressure", "150/95", when="2025-05-03T08:00", note="after climbing stairs"))
    scope = _scope(elvina)
    (found,) = v.search(elvina, scope, "dizzy")
    assert (found.id, found.kind, found.source) == (diary.id, "Diary note", v.ADDED_BY_YOU)
    assert not found.in_note  # the diary note's text is what it is: its title holds the word
    (found,) = v.search(elvina, scope, "tingling")
    assert (found.id, found.kind) == (symptom.id, "Symptom")
    (found,) = v.search(elvina, scope, "stairs")
    assert (found.id, found.kind, found.matched_note) == (reading.id, "Blood pressure reading", "after climbing stairs")


def test_a_note_is_found_only_in_the_record_of_its_person(tmp_path: Path, demo_dir: Path) -> None:
    with Record.create(tmp_path / "family.carry", PASSPHRASE) as record:
        record.import_file(demo_dir / ELVINA)
        record.import_file(demo_dir / KARENA)
        add_note(record, "Condition", PREDIABETES, None, "Grandmother's side has it as well.")
        everyone = v.people(record)
        assert len(everyone) == 2
        found = {p.name: [h.id for h in v.search(record, v.Scope(p), "grandmother")] for p in everyone}
        assert sorted(found.values()) == [[], [PREDIABETES]]
        assert [h.id for h in v.search(record, v.Scope(), "grandmother")] == [PREDIABETES]  # everyone's record


def test_the_patient_s_entries_are_named_as_they_are_on_every_list(elvina: Record) -> None:
    diary = add_entry(elvina, Note("Slept badly all week.", when="2025-05-02T10:00"))
    pressure = add_entry(elvina, Reading("blood-pressure", "141/92", when="2025-05-03T08:00"))
    weight = add_entry(elvina, Reading("weight", "71.5", when="2025-05-03T08:05"))
    glucose = add_entry(elvina, Reading("glucose", "6.1", unit="mmol/L", when="2025-05-03T08:10"))
    symptom = add_entry(elvina, Symptom("Aching knees", onset="2025-04-01"))
    medicine = add_entry(elvina, Medicine("Ibuprofen 200 mg", dose="when needed"))
    named = {diary.id: "Diary note", pressure.id: "Blood pressure reading", weight.id: "Weight reading",
             glucose.id: "Blood glucose reading", symptom.id: "Symptom", medicine.id: "Medicine"}  # fmt: skip
    scope = _scope(elvina)

    timeline = v.timeline_page(elvina, scope, v.TimelineFilter(), limit=500).entries
    kinds = {e.id: e.kind for e in timeline if e.id in named}
    dated = {k: n for k, n in named.items() if k != medicine.id}  # a medicine with no start date has no place there
    assert {k: n for k, n in kinds.items() if k != medicine.id} == dated and kinds.get(medicine.id, "Medicine") == "Medicine"
    for entry in (diary, pressure, weight, glucose, symptom, medicine):
        shown = v.detail(elvina, entry.resource_type, entry.id)
        assert shown is not None and shown.kind == named[entry.id]
    hits = {h.id: h.kind for text in ("slept", "aching", "ibuprofen") for h in v.search(elvina, scope, text)}
    assert {i: k for i, k in hits.items() if i in named} == {diary.id: "Diary note", symptom.id: "Symptom",
                                                             medicine.id: "Medicine"}  # fmt: skip
    assert {k for i, k in hits.items() if i not in named} == {"Medicine"}  # the clinic's ibuprofen: a medicine too
    board = v.build_dashboard(elvina, scope)
    mine = {i.id: i.kind for i in (*board.problems, *board.medications) if i.id in named}
    assert mine.get(medicine.id) == "Medicine" and all(k == named[i] for i, k in mine.items())

    others = {t.newest[1]: t.name for t in v.lab_tests(elvina, scope, v.OTHER) if t.newest}  # Results, Other
    assert others[diary.id] == "Diary note" and "Patient Note" not in others.values()

    # The clinic's own records keep their names: a diary note is not a "Result", but a clinic's vital sign is one.
    clinic = [e for e in timeline if e.id not in named and e.resource_type == "Observation"]
    assert {e.kind for e in clinic} >= {"Vital sign", "Lab result"} and "Diary note" not in {e.kind for e in clinic}
