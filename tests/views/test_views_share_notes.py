"""What the share screen can say about the patient's own words before sharing: how many of their notes go along,
on which items, how many stay behind on items not picked, and how many picked items they added themselves; the
counts are those of the summary and the check-in Carry then builds."""

from __future__ import annotations

from typing import Any

from app import views as v
from app.record import Record, add_note, delete_note
from app.record.entries import Allergy, add_entry
from app.shares import build_check_in, build_summary
from app.views.share import notes_carried, share_choices


def _patient_notes_in(bundle: dict[str, Any]) -> int:
    return sum(1 for e in bundle["entry"] if e["resource"].get("description", "").startswith("About ")
               and e["resource"].get("type", {}).get("text") == "Note from the patient")  # fmt: skip


def test_the_share_says_how_many_notes_go_along_and_the_summary_carries_them(elvina: Record) -> None:
    scope = v.Scope(*v.people(elvina))
    choices = share_choices(elvina, scope)
    picked = choices.default_keys()
    nothing = notes_carried(choices, picked)
    assert (nothing.notes, nothing.left_out, nothing.own_entries, nothing.sentence, bool(nothing)) == (0, 0, 0, "", False)

    items = choices.selection.items
    problem = next(c for c in items if c.section == "problems" and c.key in picked)
    other = next(c for c in items if c.key in picked and c.section != "problems")
    unpicked = next(c for c in items if c.key not in picked)
    for about, text in ((problem, "Resolved since 2020."), (problem, "Mother had it too."), (other, "Not mine."),
                        (unpicked, "Stays here.")):  # fmt: skip
        add_note(elvina, about.resource_type, about.resource["id"], about.source_id, text)

    choices = share_choices(elvina, scope)
    counts = {i.key: i.notes for s in choices.sections for i in s.items if i.notes}
    assert counts == {problem.key: 2, other.key: 1, unpicked.key: 1}
    carried = notes_carried(choices, picked)
    assert (carried.notes, carried.items, carried.left_out, carried.own_entries) == (3, 2, 1, 0)
    assert set(carried.names) == {v.format.tidy_name(problem.display), v.format.tidy_name(other.display)}
    assert carried.sentence == ("Your 3 notes on 2 items go along, each beside its item and marked as written by you. "
                                "1 note on items you did not pick stays here.")  # fmt: skip
    # What the screen says is what goes: the summary and the check-in carry exactly these notes.
    assert _patient_notes_in(build_summary(elvina, choices.selection)) == 3
    story = next(e["resource"] for e in build_check_in(elvina, choices.selection)["entry"]
                 if e["resource"].get("resourceType") == "DocumentReference" and "from the patient" in
                 e["resource"].get("description", ""))  # fmt: skip
    assert story["description"].startswith("3 notes from the patient")

    # One note on one item, and an entry of the patient's own picked: said in the singular, named.
    for note in (n for n in v.detail(elvina, problem.resource_type, problem.resource["id"], problem.source_id).notes):  # type: ignore[union-attr]
        delete_note(elvina, note.id)
    add_entry(elvina, Allergy("Shellfish", reaction="swollen lips"))
    scope = v.Scope(*v.people(elvina))
    choices = share_choices(elvina, scope)
    shellfish = next(i for s in choices.sections for i in s.items if i.name == "Shellfish")
    assert shellfish.own and not any(i.own for s in choices.sections for i in s.items if i.key != shellfish.key)
    carried = notes_carried(choices, {other.key, shellfish.key})
    assert (carried.notes, carried.items, carried.left_out, carried.own_entries) == (1, 1, 1, 1)
    assert carried.sentence == (f"Your note on {carried.names[0]} goes along, beside it and marked as written by you. "
                                "1 item you added yourself goes marked as yours. "
                                "1 note on items you did not pick stays here.")  # fmt: skip
