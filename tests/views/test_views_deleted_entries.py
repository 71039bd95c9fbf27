"""The patient's deleted entries as a screen gets them: each named as the lists name it, with when it was deleted and
every version; restored from there, it is back on the timeline and gone from the deleted list. Only the person on
screen's deleted entries are listed."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.records import ELVINA, KARENA, PASSPHRASE

from app import views as v
from app.record import EntryRefused, Record
from app.record.entries import Note, Reading


def test_a_deleted_reading_is_listed_with_its_history_and_restored(elvina: Record) -> None:
    (person,) = v.people(elvina)
    scope = v.Scope(person)
    reading = v.store_entry(elvina, scope, Reading("blood-pressure", "141/92", when="2025-06-01T09:00"))
    v.store_entry(elvina, scope, Reading("blood-pressure", "139/90", when="2025-06-01T09:00"), reading.ref)
    diary = v.store_entry(elvina, scope, Note("Started the new walking group.", when="2025-06-02T18:00"))
    assert v.deleted_entries(elvina, scope) == []
    fresh = v.Scope(*v.people(elvina))  # the person now holds the entries' stand-in Patient too (the screens ask again)
    v.remove_entry(elvina, reading.ref)
    v.remove_entry(elvina, diary.ref)

    listed = v.deleted_entries(elvina, scope)  # with the scope from before the first entry too
    assert listed == v.deleted_entries(elvina, fresh)
    assert [(d.ref, d.kind, d.text, d.date) for d in listed] == [
        (diary.ref, "Diary note", "Note: Started the new walking group.", "2 Jun 2025"),
        (reading.ref, "Blood pressure reading", "Blood pressure 139/90 mmHg", "1 Jun 2025"),
    ]  # the last deleted first
    pressure = listed[1]
    assert [(line.label, line.text) for line in pressure.versions] == [
        ("Version 3, deleted", "Blood pressure 139/90 mmHg"),
        ("Version 2, edited", "Blood pressure 139/90 mmHg"),
        ("Version 1, added", "Blood pressure 141/92 mmHg"),
    ]
    assert pressure.deleted == pressure.versions[0].saved and pressure.deleted  # "2 Dec 2026, 17:20"
    assert v.entry_versions(elvina, reading.ref) == list(pressure.versions)
    assert not [e for e in v.timeline_page(elvina, fresh, v.TimelineFilter()).entries if e.id == reading.id]

    back = v.restore_entry(elvina, reading.ref)
    assert back.version == 4 and not back.deleted
    assert [d.ref for d in v.deleted_entries(elvina, scope)] == [diary.ref]
    (shown,) = [e for e in v.timeline_page(elvina, fresh, v.TimelineFilter()).entries if e.id == reading.id]
    assert (shown.kind, shown.detail, shown.sources_text) == ("Blood pressure reading", "139/90 mmHg", "Added by you")
    page = v.detail(elvina, "Observation", reading.id)
    assert page is not None and [label for label, _ in page.history][:2] == ["Version 4, restored", "Version 3, deleted"]
    with pytest.raises(EntryRefused, match="not deleted"):
        v.restore_entry(elvina, reading.ref)
    with pytest.raises(EntryRefused, match="not one of your own entries"):
        v.entry_versions(elvina, "Observation/not-an-entry")


def test_only_the_person_on_screen_s_deleted_entries_are_listed(tmp_path: Path, demo_dir: Path) -> None:
    with Record.create(tmp_path / "family.carry", PASSPHRASE) as record:
        record.import_file(demo_dir / ELVINA)
        record.import_file(demo_dir / KARENA)
        first, second = v.people(record)
        entry = v.store_entry(record, v.Scope(first), Note("Flu jab at the pharmacy."))
        v.remove_entry(record, entry.ref)
        first, second = v.people(record)  # the first now holds the entries' stand-in Patient too
        assert [d.ref for d in v.deleted_entries(record, v.Scope(first))] == [entry.ref]
        assert v.deleted_entries(record, v.Scope(second)) == []
        assert [d.ref for d in v.deleted_entries(record, v.Scope())] == [entry.ref]  # everyone's record
