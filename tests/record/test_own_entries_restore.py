"""A deleted entry of the patient's own comes back as it was when deleted: the next version, "restored", is again
the source's resource (found by search, in the facts and the lists), and its history keeps every version, the
deletion too. What cannot be restored is refused with one sentence and nothing changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.records import ELVINA, PASSPHRASE

from app.record import EntryRefused, Record, facts
from app.record.entries import OWN_SOURCE, Note, Symptom, add_entry, delete_entry, edit_entry, entry_history
from app.record.entries import own_entries, restore_entry


PREDIABETES = "024e4a57-498d-44f5-a1d3-2efad384a57d"


def _state(record: Record) -> list[Any]:
    return [record._query(f"SELECT * FROM {table} ORDER BY 1, 2") for table in ("resource", "entry_version", "run")]


def test_a_deleted_entry_comes_back_as_it_was_and_keeps_its_history(record: Record) -> None:
    first = add_entry(record, Symptom("Stiff neck", onset="2025-01-10", severity="mild"))
    edit_entry(record, first.ref, severity="moderate", note="worse after driving")
    delete_entry(record, first.ref)
    assert not record.search("stiff")

    back = restore_entry(record, first.id)  # an id alone names it, as it does for delete
    assert (back.ref, back.version, back.deleted, back.display) == (first.ref, 4, False, "Symptom: Stiff neck (moderate)")
    stored = record.get("Condition", first.id, record.source(OWN_SOURCE).id)
    assert stored is not None
    resource = stored.json()
    assert resource["meta"]["versionId"] == "4" and resource["severity"]["text"] == "moderate"
    assert resource["note"] == [{"text": "worse after driving"}] and resource["subject"] == entry_history(
        record, first.ref)[0].resource["subject"]  # fmt: skip
    assert [(v.version, v.action) for v in entry_history(record, first.ref)] == [
        (1, "added"), (2, "edited"), (3, "deleted"), (4, "restored")]  # fmt: skip
    assert [r.id for r in record.search("stiff neck")] == [first.id]
    assert any(m.id == first.id for f in facts(record, "Condition") for m in f.members)
    assert [e.ref for e in own_entries(record)] == [first.ref] and own_entries(record, deleted=True) == []
    (audit,) = record.audit_log(action="entry-restore")
    assert audit["detail"] == {"type": "Condition", "id": first.id, "version": 4}  # never what it says

    # It can be deleted and restored again; every round stays in its history.
    delete_entry(record, first.ref)
    assert restore_entry(record, first.ref).version == 6
    assert [v.action for v in entry_history(record, first.ref)][-3:] == ["restored", "deleted", "restored"]


@pytest.mark.parametrize(
    ("which", "sentence"),
    [("current", "is not deleted; there is nothing to restore"), ("Condition/nothing", "not one of your own entries"),
     ("", "not one of your own entries")],
)  # fmt: skip
def test_what_cannot_be_restored_is_refused_and_nothing_changes(record: Record, which: str, sentence: str) -> None:
    kept = add_entry(record, Note("Walked 5 km today."))
    gone = add_entry(record, Note("Forgot my tablets."))
    delete_entry(record, gone.ref)
    before = _state(record)
    with pytest.raises(EntryRefused, match=sentence) as caught:
        restore_entry(record, kept.ref if which == "current" else which)
    assert "\n" not in str(caught.value) and _state(record) == before


def test_an_entry_whose_person_is_gone_is_not_restored(record: Record) -> None:
    gone = add_entry(record, Note("Forgot my tablets."))
    delete_entry(record, gone.ref)
    with record._transaction() as cur:  # the stand-in Patient of the entries' person leaves the record
        cur.execute("DELETE FROM resource WHERE type = 'Patient'")
    before = _state(record)
    with pytest.raises(EntryRefused, match="no longer in the record"):
        restore_entry(record, gone.ref)
    assert _state(record) == before


def test_undelete_and_a_search_for_a_note_s_words_from_the_command_line(
    record_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], demo_dir: Path
) -> None:
    from app.cli import main
    from app.record import add_note

    with Record.create(record_path, PASSPHRASE) as record:
        record.import_file(demo_dir / ELVINA)
        gone = add_entry(record, Note("Forgot my tablets."))
        delete_entry(record, gone.ref)
        add_note(record, "Condition", PREDIABETES, None, "Checked with my own glucometer.")
    monkeypatch.setenv("CARRY_RECORD", str(record_path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    assert main(["undelete", gone.id]) == 0
    assert capsys.readouterr().out == f"Restored {gone.ref} (Note: Forgot my tablets.) as version 3; its history is kept.\n"
    assert main(["undelete", gone.id]) == 1
    assert "is not deleted" in capsys.readouterr().err
    assert main(["search", "glucometer"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert "Prediabetes" in line and line.endswith("[your note]")
