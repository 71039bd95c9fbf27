"""The screens' data from facts: Elvina Lemke from two clinics (the second with every id rewritten) shows each thing
once "from 2 sources"; the patient's "Not the same" / "Same thing" change the summary, the timeline and the detail,
and hold over a re-import; the medication list flags conflicting doses and a matching allergy."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from support.copies import confirm_one_person, import_copies, rewrite_ids
from support.medications import PENICILLIN_ALLERGY, import_conflicting_doses
from support.records import ELVINA, PASSPHRASE

from app import views as v
from app.record import FactNotFound, Record

OSTEOPOROSIS = "f378e9ca-694f-47fa-9920-de34c8700e96"
OSTEOARTHRITIS = "f28534df-7850-408a-9477-eadd3cfaf616"
CLINICAL = frozenset({"Visits", "Health problems", "Results", "Immunizations"})


def _two(path: Path, demo_dir: Path) -> tuple[Record, dict[str, dict[str, str]]]:
    record = Record.create(path, PASSPHRASE)
    return record, import_copies(record, demo_dir / ELVINA)


def _titles(items: tuple[v.Item, ...]) -> Counter[str]:
    return Counter(i.title for i in items)


def _everything(record: Record, filt: v.TimelineFilter, limit: int = 41) -> list[v.TimelineEntry]:
    out: list[v.TimelineEntry] = []
    page = v.timeline_page(record, v.Scope(), filt, limit=limit)
    while True:
        out.extend(page.entries)
        if page.cursor is None:
            return out
        page = v.timeline_page(record, v.Scope(), filt, after=page.cursor, limit=limit)


def test_summary_and_timeline_show_each_fact_once_with_both_sources(tmp_path: Path, demo_dir: Path) -> None:
    with Record.create(tmp_path / "one.carry", PASSPHRASE) as one:
        one.import_file(demo_dir / ELVINA)
        single = v.build_dashboard(one, v.Scope())
        single_timeline = _everything(one, v.TimelineFilter(CLINICAL))
    record, _ = _two(tmp_path / "two.carry", demo_dir)
    with record:
        dash = v.build_dashboard(record, v.Scope())
        for name in ("problems", "allergies", "immunizations", "results", "encounters", "medications"):
            items, before = getattr(dash, name), getattr(single, name)
            if name == "results":  # the ten newest; labs of one panel share a time, so which ten may differ
                assert len({(i.title, i.date, i.detail) for i in items}) == len(items) == len(before) == 10
            else:
                assert _titles(items) == _titles(before), name
            assert items and all(i.sources == ("Clinic A", "Clinic B") for i in items), name
            assert all(i.sources_text == "from 2 sources" for i in items), name
        assert all(i.sources == ("Imported files",) and i.sources_text == "" for i in single.problems)
        osteoporosis = next(i for i in dash.problems if i.title == "Osteoporosis")
        assert osteoporosis.fact_id and osteoporosis.date == "18 May 2013"
        # The current medications come from the reconciled list: status, last prescriber, stopped ones apart.
        alendronic = next(i for i in dash.medications if i.title == "Alendronic acid 10 MG Oral Tablet")
        assert alendronic.detail.startswith("Active · last prescribed by ")
        assert dash.stopped_medications and not set(_titles(dash.stopped_medications)) & set(_titles(dash.medications))
        assert dash.medication_notes == ()  # one strength, and shellfish is no ingredient of hers

        timeline = _everything(record, v.TimelineFilter(CLINICAL))
        assert len(timeline) == len(single_timeline) > 250
        assert [e.title for e in timeline] == [e.title for e in single_timeline]
        assert all(e.sources == 2 and e.sources_text == "2 sources" for e in timeline)
        keys = [(e.effective, e.rowid) for e in timeline]
        assert keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)
        months = v.month_counts(record, v.Scope(), v.TimelineFilter(CLINICAL))
        assert sum(n for _, n in months) == len(timeline)
        # Filtered to one source, every fact that source states is there, once.
        clinic_b = next(s.id for s in record.sources() if s.name == "Clinic B")
        only_b = _everything(record, v.TimelineFilter(CLINICAL, clinic_b))
        assert len(only_b) == len(timeline)


def test_detail_lists_every_source_and_not_the_same_splits_for_good(tmp_path: Path, demo_dir: Path) -> None:
    record, maps = _two(tmp_path / "two.carry", demo_dir)
    with record:
        info = v.detail(record, "Condition", OSTEOPOROSIS)
        assert info is not None and info.fact is not None
        fact = info.fact
        assert [c.source for c in fact.copies] == ["Clinic B", "Clinic A"]  # the newest first
        assert [c.newest for c in fact.copies] == [True, False] and [c.shown for c in fact.copies] == [False, True]
        assert fact.confidence == "same" and "code+date" in fact.reasons and not fact.decided
        assert fact.copies[0].id == maps["Clinic B"][OSTEOPOROSIS]

        v.not_the_same(record, "Condition", fact.fact_id)
        dash = v.build_dashboard(record, v.Scope())  # no stale copy of the grouping survives a decision
        split = [i for i in dash.problems if i.title == "Osteoporosis"]
        assert sorted(i.sources for i in split) == [("Clinic A",), ("Clinic B",)]
        assert sorted(i.sources_text for i in split) == ["from Clinic A", "from Clinic B"]  # two alike lines say whose
        entries = [e for e in _everything(record, v.TimelineFilter(frozenset({"Health problems"}))) if e.title == "Osteoporosis"]
        assert len(entries) == 2 and all(e.sources == 1 for e in entries)
        after = v.detail(record, "Condition", OSTEOPOROSIS)
        assert after is not None and after.fact is not None
        assert len(after.fact.copies) == 1 and after.fact.decided and after.fact.suggestions == ()

        # The choice is kept in the record: importing both files again does not put them back together.
        import_copies(record, demo_dir / ELVINA)
        again = v.build_dashboard(record, v.Scope())
        assert sorted(i.sources for i in again.problems if i.title == "Osteoporosis") == [("Clinic A",), ("Clinic B",)]

        v.forget_choices(record, "Condition", after.fact.fact_id)
        undone = v.build_dashboard(record, v.Scope())
        assert [i.sources for i in undone.problems if i.title == "Osteoporosis"] == [("Clinic A", "Clinic B")]


def test_a_suggested_match_becomes_one_fact_when_the_patient_says_so(tmp_path: Path, demo_dir: Path) -> None:
    original = json.loads((demo_dir / ELVINA).read_bytes())
    copy, mapping = rewrite_ids(original, "clinic-b")
    for entry in copy["entry"]:  # Clinic B dates the knee two years later: too far apart to merge on its own
        if entry["resource"]["id"] == mapping[OSTEOARTHRITIS]:
            entry["resource"]["onsetDateTime"] = "2010-05-19T14:59:16+00:00"
    with Record.create(tmp_path / "hint.carry", PASSPHRASE) as record:
        record.import_bytes(json.dumps(original).encode(), origin="a.json", source="Clinic A")
        record.import_bytes(json.dumps(copy).encode(), origin="b.json", source="Clinic B")
        confirm_one_person(record)
        knees = [i for i in v.build_dashboard(record, v.Scope()).problems if i.title == "Osteoarthritis of knee"]
        assert sorted(i.sources for i in knees) == [("Clinic A",), ("Clinic B",)]
        info = v.detail(record, "Condition", OSTEOARTHRITIS)
        assert info is not None and info.fact is not None and len(info.fact.copies) == 1
        (hint,) = info.fact.suggestions
        assert hint.reason == "same code, both active" and hint.sources == ("Clinic B",)
        assert hint.id == mapping[OSTEOARTHRITIS] and hint.date == "19 May 2010"

        merged = v.same_thing(record, "Condition", info.fact.fact_id, hint.fact_id)
        assert merged is not None and merged.confidence == "confirmed" and len(merged.copies) == 2
        knees = [i for i in v.build_dashboard(record, v.Scope()).problems if i.title == "Osteoarthritis of knee"]
        assert [i.sources for i in knees] == [("Clinic A", "Clinic B")]
        with pytest.raises(FactNotFound, match="changed since"):
            v.not_the_same(record, "Condition", "f000000000000000")


def test_a_decision_in_another_window_shows_here_at_once(tmp_path: Path, demo_dir: Path) -> None:
    record, _ = _two(tmp_path / "two.carry", demo_dir)
    with record:
        assert [i.sources for i in v.build_dashboard(record, v.Scope()).problems if i.title == "Osteoporosis"] == [
            ("Clinic A", "Clinic B")
        ]
        with Record.open(tmp_path / "two.carry", PASSPHRASE) as other:  # another tab: its own connection
            info = v.detail(other, "Condition", OSTEOPOROSIS)
            assert info is not None and info.fact is not None
            v.not_the_same(other, "Condition", info.fact.fact_id)
        split = [i.sources for i in v.build_dashboard(record, v.Scope()).problems if i.title == "Osteoporosis"]
        assert sorted(split) == [("Clinic A",), ("Clinic B",)]


def test_summary_flags_conflicting_doses_and_a_matching_allergy_in_words(tmp_path: Path) -> None:
    with Record.create(tmp_path / "meds.carry", PASSPHRASE) as record:
        import_conflicting_doses(record, {**PENICILLIN_ALLERGY, "criticality": "high"})
        dash = v.build_dashboard(record, v.Scope())
        assert [i.title for i in dash.medications] == ["Hydrochlorothiazide 12.5 MG", "Hydrochlorothiazide 25 MG"]
        # (an order two or more years old also says how old it is: views/test_views_presentation.py)
        assert [i.detail.split(" · last ordered ")[0] for i in dash.medications] == [
            "Active · last prescribed by Dr. B1", "Active · last prescribed by Dr. A1"]  # fmt: skip
        assert all(i.flag is not None and i.flag.word == "Different doses" for i in dash.medications)
        assert all("different strengths" in i.notes[0] for i in dash.medications)
        (penicillin,) = dash.stopped_medications
        assert penicillin.flag is not None and penicillin.flag.word == "Allergy match"
        assert penicillin.flag.severity == "alert" and "ask your doctor or pharmacist" in penicillin.notes[0]
        assert penicillin.detail.startswith("Stopped") and (penicillin.resource_type, penicillin.id) == (
            "MedicationRequest", "a2")
        kinds = [(n.kind, n.title) for n in dash.medication_notes]
        assert kinds == [("conflict", "Different doses from two providers"), ("allergy", "May match a recorded allergy")]
        assert "Clinic A" in dash.medication_notes[0].message and "Clinic B" in dash.medication_notes[0].message
        assert [i.title for i in dash.allergies] == ["Allergy to penicillin"]
        assert dash.allergies[0].flag is not None and dash.allergies[0].flag.word == "High risk"


def test_a_recent_window_groups_like_the_whole_record(tmp_path: Path, demo_dir: Path) -> None:
    from app.record import facts
    from app.views.merged import recent_slots, type_slots

    record, _ = _two(tmp_path / "two.carry", demo_dir)
    with record:
        since = "2019-01-01"
        whole = {f.fact_id: f for f in facts(record, "Observation") if f.date and f.date >= since}
        window = facts(record, "Observation", since=since)
        assert window and {f.fact_id for f in window} == set(whole)
        for fact in window:  # the same members, newest first, as when everything is grouped
            assert [m.key for m in fact.members] == [m.key for m in whole[fact.fact_id].members]
            assert len(fact.sources) == 2
        # The summary's "recent" list agrees with the full grouping at its newest end.
        v.merged.forget(record)
        recent = recent_slots(record, "Observation", category="laboratory")
        full = type_slots(record, "Observation")
        newest_full = [s.fact_id for s in sorted(full, key=lambda s: (s.date, s.rowid), reverse=True)[:20]]
        newest_recent = [s.fact_id for s in sorted(recent, key=lambda s: (s.date, s.rowid), reverse=True)[:20]]
        assert newest_recent == newest_full
