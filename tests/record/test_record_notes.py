"""The patient's corrections and context on items: kept beside the item (never in it), edited with history,
deleted but remembered, found again after the source is forgotten and imported again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.records import ELVINA, PASSPHRASE

from app.record import (
    NoteError,
    Record,
    add_note,
    delete_note,
    edit_note,
    note_history,
    noted_items,
    notes,
    notes_for,
    people,
)

PREDIABETES = "024e4a57-498d-44f5-a1d3-2efad384a57d"


def test_a_note_is_kept_beside_the_item_and_edited_with_history(record: Record, demo_dir: Path) -> None:
    record.import_file(demo_dir / ELVINA)
    before = record.get("Condition", PREDIABETES)
    assert before is not None
    note = add_note(record, "Condition", PREDIABETES, None, "  My A1c was retested in 2021: it is normal now. ")
    assert note.text == "My A1c was retested in 2021: it is normal now." and note.current
    assert note.person_id == people(record)[0].id
    sid = before.row.source_id
    assert [n.id for n in notes_for(record, "Condition", PREDIABETES, sid)] == [note.id]
    assert noted_items(record) == {(sid, "Condition", PREDIABETES)}
    # The source's copy is untouched.
    after = record.get("Condition", PREDIABETES)
    assert after is not None and after.raw == before.raw and after.hash == before.hash

    changed = edit_note(record, note.id, "My A1c was retested in March 2021 and is normal.")
    assert [n.text for n in notes_for(record, "Condition", PREDIABETES, sid)] == [changed.text]
    history = note_history(record, note.id)
    assert [n.id for n in history] == [note.id, changed.id] and not history[0].current
    with pytest.raises(NoteError, match=f"current version is note {changed.id}"):
        edit_note(record, note.id, "again")

    delete_note(record, changed.id)
    assert notes_for(record, "Condition", PREDIABETES, sid) == [] and notes(record) == []
    assert len(note_history(record, changed.id)) == 2  # deleted, but its history stays
    # The audit log names the item and the note, never the words.
    entries = record.audit_log(action="note-add") + record.audit_log(action="note-edit")
    assert len(entries) == 2 and "A1c" not in json.dumps(entries)


def test_bad_notes_are_refused_and_nothing_is_written(record: Record, demo_dir: Path) -> None:
    record.import_file(demo_dir / ELVINA)
    for text, message in (("   ", "empty"), ("x" * 4001, "at most 4000")):
        with pytest.raises(NoteError, match=message):
            add_note(record, "Condition", PREDIABETES, None, text)
    with pytest.raises(NoteError, match="no Condition/nope"):
        add_note(record, "Condition", "nope", None, "wrong")
    with pytest.raises(NoteError, match="no note 99"):
        edit_note(record, 99, "text")
    assert record._query("SELECT count(*) FROM annotation")[0][0] == 0
    assert record.audit_log(action="note-add") == []


def test_notes_survive_forgetting_the_source_and_importing_it_again(tmp_path: Path, demo_dir: Path) -> None:
    path = tmp_path / "r.carry"
    with Record.create(path, PASSPHRASE) as record:
        record.import_file(demo_dir / ELVINA)
        add_note(record, "Condition", PREDIABETES, None, "Diagnosed at another clinic first, in 2019.")
        with record._transaction() as cur:  # the source goes (as `carry disconnect --forget` does)
            cur.execute("DELETE FROM source")
        assert noted_items(record) == set()
        record.import_file(demo_dir / ELVINA)
    with Record.open(path, PASSPHRASE) as record:
        stored = record.get("Condition", PREDIABETES)
        assert stored is not None
        (note,) = notes_for(record, "Condition", PREDIABETES, stored.row.source_id)
        assert note.text.startswith("Diagnosed at another clinic")
