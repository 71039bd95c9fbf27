"""The patient's notes are searched (schema 15): a word that is only in a note on an item finds the item; the index
follows the note as it is written, changed and deleted, survives the record being closed and opened, and finds the
item again after its source is forgotten and imported again."""

from __future__ import annotations

from pathlib import Path

from support.records import ELVINA, PASSPHRASE

from app.record import Record, add_note, delete_note, edit_note, search_notes

PREDIABETES = "024e4a57-498d-44f5-a1d3-2efad384a57d"


def _found(record: Record, text: str, **kwargs: object) -> list[tuple[str, str, str]]:
    return [(m.row.resource_type, m.row.id, m.note.text) for m in search_notes(record, text, **kwargs)]  # type: ignore[arg-type]


def test_a_word_only_in_a_note_finds_the_item_while_the_note_is_current(record: Record, demo_dir: Path) -> None:
    record.import_file(demo_dir / ELVINA)
    assert record.search("glucometer") == [] and _found(record, "glucometer") == []
    note = add_note(record, "Condition", PREDIABETES, None, "Retested with my own glucometer in 2021: normal.")
    assert _found(record, "glucometer") == [("Condition", PREDIABETES, note.text)]
    assert _found(record, "own glucom") == [("Condition", PREDIABETES, note.text)]  # every word, the last half typed
    assert _found(record, "glucometer insulin") == []  # a word the note does not hold
    assert record.search("glucometer") == []  # the item itself is untouched: the note is beside it

    changed = edit_note(record, note.id, "Retested at the pharmacy in 2021: normal.")
    assert _found(record, "glucometer") == []  # the old version is history, not found
    assert _found(record, "pharmacy") == [("Condition", PREDIABETES, changed.text)]
    delete_note(record, changed.id)
    assert _found(record, "pharmacy") == [] and _found(record, "retested") == []


def test_the_search_is_narrowed_like_the_record_s_and_refuses_nothing_typed(record: Record, demo_dir: Path) -> None:
    record.import_file(demo_dir / ELVINA)
    add_note(record, "Condition", PREDIABETES, None, "Father had it too.")
    assert _found(record, "father") and _found(record, "father", where="r.type = 'Condition'")
    assert _found(record, "father", where="r.type = ?", params=["Observation"]) == []
    assert _found(record, "father", limit=0) == []
    for typed in ('"', "father*", "NEAR(father)", "father OR -", "", "  ", "père"):
        assert isinstance(search_notes(record, typed), list)  # FTS syntax typed is just words


def test_two_notes_on_one_item_find_it_once(record: Record, demo_dir: Path) -> None:
    record.import_file(demo_dir / ELVINA)
    add_note(record, "Condition", PREDIABETES, None, "Diet changed in spring.")
    add_note(record, "Condition", PREDIABETES, None, "Diet again in autumn.")
    assert [m.row.id for m in search_notes(record, "diet")] == [PREDIABETES]


def test_notes_are_found_after_reopening_and_after_the_source_comes_back(tmp_path: Path, demo_dir: Path) -> None:
    path = tmp_path / "r.carry"
    with Record.create(path, PASSPHRASE) as record:
        record.import_file(demo_dir / ELVINA)
        add_note(record, "Condition", PREDIABETES, None, "Diagnosed first at a walk-in clinic.")
    with Record.open(path, PASSPHRASE) as record:
        assert [m.row.id for m in search_notes(record, "walk-in")] == [PREDIABETES]
        with record._transaction() as cur:  # the source goes (as `carry disconnect --forget` does)
            cur.execute("DELETE FROM source")
        assert search_notes(record, "walk-in") == []  # nothing to point at while the item is not in the record
        record.import_file(demo_dir / ELVINA)
        assert [m.row.id for m in search_notes(record, "walk-in")] == [PREDIABETES]
