"""The patient's own entries on every screen's data: "Added by you" in the summary, the timeline, search, the
results chart and the item page (with its history); a home blood pressure joins the clinic's on one chart."""

from __future__ import annotations

from app import views as v
from app.record import Record
from app.record.entries import Allergy, Medicine, Reading, add_entry, edit_entry


def _scope(record: Record) -> v.Scope:
    (person,) = v.people(record)  # asked again after an entry: the person then holds its stand-in Patient too
    return v.Scope(person)


def test_a_home_blood_pressure_is_on_the_clinics_chart_added_by_you(elvina: Record) -> None:
    before = {t.code: t for t in v.lab_tests(elvina, _scope(elvina), "vital-signs")}
    entry = add_entry(elvina, Reading("blood-pressure", "141/92", when="2025-06-01T09:00"))
    scope = _scope(elvina)  # the person now holds the entries' stand-in Patient too
    tests = [t for t in v.lab_tests(elvina, scope, "vital-signs") if t.code in v.labs.BLOOD_PRESSURE]
    assert len(tests) == 1  # one blood pressure test, the clinic's and the patient's
    (pressure,) = tests
    assert pressure.count == before[pressure.code].count + 1
    series = v.lab_series(elvina, scope, pressure.code, pressure.code_system)
    own = [p for line in series.lines for p in line.points if p.own]
    assert [(p.value, p.id) for p in own] == [(141.0, entry.id), (92.0, entry.id)]
    assert not [p for line in series.lines for p in line.points if p.own and p.id != entry.id]
    assert "1 of them added by you" in series.describe()

    found = v.timeline_page(elvina, scope, v.TimelineFilter()).entries
    mine = [e for e in found if e.id == entry.id]
    assert mine and mine[0].sources_text == "Added by you"

    info = v.detail(elvina, "Observation", entry.id)
    assert info is not None and info.own
    assert dict(info.provenance)["Source"].startswith("Added by you")
    assert [label for label, _ in info.history] == ["Version 1, added"]
    edit_entry(elvina, entry.ref, value="139/90")
    info = v.detail(elvina, "Observation", entry.id)
    assert info is not None
    assert [label for label, _ in info.history] == ["Version 2, edited", "Version 1, added"]
    assert "139/90" in info.history[0][1] and "141/92" in info.history[1][1]
    portal = next(p for line in series.lines for p in line.points if not p.own)
    other = v.detail(elvina, portal.resource_type, portal.id)
    assert other is not None and not other.own and other.history == ()


def test_the_summary_and_search_say_added_by_you(elvina: Record) -> None:
    add_entry(elvina, Allergy("Shellfish", reaction="swollen lips"))
    meds = v.same_as_choices(elvina, _scope(elvina), "medicine")
    assert meds  # Elvina's clinic medications are offered as what a medicine may be the same as
    add_entry(elvina, Medicine("Alendronic acid", same_as=meds[0][0]))
    scope = _scope(elvina)
    board = v.build_dashboard(elvina, scope, tuple(v.people(elvina)))
    shellfish = [i for i in board.allergies if "Shellfish" in i.title]
    assert shellfish and shellfish[0].sources_text == "Added by you"
    joined = [i for i in (*board.medications, *board.stopped_medications) if any("Your own" in s for s in i.sources)]
    assert joined and joined[0].sources_text == "Added by you and from 1 other source"
    hits = v.search(elvina, scope, "shellfish")
    assert hits and hits[0].source == "Added by you"
    assert v.same_as_choices(elvina, scope, "note") == []
