"""The own-entry form's values without a browser: which form a path opens, and an entry's latest version through
the form's fields and back into the record, on a real SQLCipher record."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.records import PASSPHRASE

from app.record import Record
from app.ui.screens.add_entry import draft_from, fields_of, form_for
from app.views import Scope, current_draft, store_entry
from app.views.entries import Allergy, Draft, Medicine, Note, Reading, Symptom


def test_a_path_names_a_kind_or_a_reading_and_an_unknown_one_is_said() -> None:
    assert form_for("") == ("reading", {}, "")
    assert form_for("symptom") == ("symptom", {}, "")
    assert form_for("blood-pressure") == ("reading", {"reading": "blood-pressure"}, "")
    kind, fields, notice = form_for("teleportation")
    assert (kind, fields) == ("reading", {})
    assert notice == "Carry has no form for “teleportation”. Choose what you are adding below."


DRAFTS: list[Draft] = [
    Reading("blood-pressure", "143/91", "mm[Hg]", "2026-03-14T08:30", "after a walk"),
    Symptom("Aching knees", "2026-03-01", "moderate", "2026-03-10", "stairs"),
    Note("Slept badly", "2026-03-02"),
    Medicine("Ibuprofen 200 mg", "one when needed", "2026-01-01", None, "for the knees"),
    Allergy("penicillin", "rash", "intolerance", "high", "as a child"),
]


@pytest.mark.parametrize("draft", DRAFTS, ids=lambda d: type(d).__name__)
def test_what_the_form_shows_is_what_it_saves(draft: Draft) -> None:
    kind, fields = fields_of(draft)
    assert draft_from(kind, fields) == draft


def test_unsaid_choices_and_blank_text_are_none() -> None:
    assert draft_from("symptom", {"text": "  Headache ", "severity": "none", "same_as": "none", "onset": " "}) == (
        Symptom("Headache", None, None, None, "", None)
    )
    assert draft_from("allergy", {"substance": "peanuts"}) == Allergy("peanuts", "", "allergy", None, "", None)


def test_an_entry_edited_through_the_form_keeps_what_was_not_changed(tmp_path: Path) -> None:
    with Record.create(tmp_path / "record.carry", PASSPHRASE) as record:
        saved = store_entry(record, Scope(), Medicine("Ibuprofen 200 mg", "one when needed", "2026-01-01"))
        ref = f"{saved.resource_type}/{saved.id}"
        kind, fields = fields_of(current_draft(record, ref))
        assert kind == "medicine" and fields["name"] == "Ibuprofen 200 mg"
        fields["until"] = "2026-02-01"
        store_entry(record, Scope(), draft_from(kind, fields), ref)
        again = current_draft(record, ref)
    assert again == Medicine("Ibuprofen 200 mg", "one when needed", "2026-01-01", "2026-02-01")
