"""The patient's notes as the screens get them: beside the item on its page (also a note on another source's copy
of it), and flagged on the summary's lists and the timeline; a deleted note is neither."""

from __future__ import annotations

from pathlib import Path

from support.copies import import_copies
from support.records import ELVINA, PASSPHRASE

import app.views as v
from app.record import Record, add_note, delete_note


def test_a_note_is_beside_its_item_and_flagged_in_the_lists(tmp_path: Path, demo_dir: Path) -> None:
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        import_copies(record, demo_dir / ELVINA)
        scope = v.Scope(v.people(record)[0])
        problem = v.build_dashboard(record, scope).problems[0]
        assert not problem.noted
        shown = v.detail(record, problem.resource_type, problem.id, problem.source_id)
        assert shown is not None and shown.notes == () and shown.fact is not None
        other = next(c for c in shown.fact.copies if not c.shown)
        # A note on the copy shown, and one on the other source's copy of the same condition.
        v.add_correction(record, problem.resource_type, problem.id, problem.source_id, "Resolved in 2020.")
        note = add_note(record, other.resource_type, other.id, other.source_id, "Clinic A dates it wrongly.")
        shown = v.detail(record, problem.resource_type, problem.id, problem.source_id)
        assert shown is not None
        assert [(n.text, n.this_copy) for n in shown.notes] == [("Resolved in 2020.", True),
                                                                ("Clinic A dates it wrongly.", False)]
        assert not any(n.portal for n in shown.notes) and not shown.from_portal  # files: nowhere to send them
        assert [p.id for p in v.build_dashboard(record, scope).problems if p.noted] == [problem.id]
        entries = v.timeline_page(record, scope, v.TimelineFilter(frozenset({"Health problems"}))).entries
        assert [e.id for e in entries if e.noted] == [problem.id]
        hits = v.search(record, scope, problem.title)
        assert {h.id for h in hits if h.noted} == {problem.id, other.id}  # search lists each source's copy

        v.change_correction(record, shown.notes[0].id, "Resolved in 2020 after treatment.")
        changed = v.detail(record, problem.resource_type, problem.id, problem.source_id)
        assert changed is not None and changed.notes[0].changed and changed.notes[0].text.endswith("treatment.")
        v.remove_correction(record, changed.notes[0].id)
        delete_note(record, note.id)
        assert not any(p.noted for p in v.build_dashboard(record, scope).problems)
        gone = v.detail(record, problem.resource_type, problem.id, problem.source_id)
        assert gone is not None and gone.notes == ()
