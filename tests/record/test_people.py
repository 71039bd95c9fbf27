"""Issue 12 in the record: who a resource is about is decided in one place (app.record.people).

Same name and birth date from two sources is a proposal, not a merge; the patient's merge and split are kept
(through a re-sync and a forgotten source) and audited; a summary that would name two Patients is refused.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from support.people import alice_bundle, bram_bundle
from support.records import PASSPHRASE
from test_facts_properties import _forget

from app.record import (
    PersonError,
    Record,
    choose_person,
    facts,
    merge_people,
    people,
    proposals,
    rename_person,
    split_person,
    unassigned,
)
from app.shares import ShareHost, candidates, create_share
from sync.share import ShareError


def _import(record: Record, bundle: dict[str, object], source: str) -> None:
    record.import_bytes(json.dumps(bundle).encode(), origin=f"{source}.json", source=source)


def test_same_name_and_birth_date_in_another_case_is_proposed_then_confirmed_then_split(tmp_path: Path) -> None:
    # Clinic A writes her name in capitals; Clinic B with an accent and extra spaces; both call her Patient/1.
    shouting = alice_bundle(family="QUARRINGTON", given="ALICE")
    accented = alice_bundle(family="Quarríngton ", given=" Alice")
    with Record.create(tmp_path / "same.carry", PASSPHRASE) as record:
        _import(record, shouting, "Clinic A")
        _import(record, accented, "Clinic B")
        before = people(record)
        assert len(before) == 2  # two until she says so
        (proposal,) = proposals(record)
        assert {proposal.a.id, proposal.b.id} == {p.id for p in before}
        assert all(len(f.members) == 1 for f in facts(record, "Condition"))  # nothing of two persons groups

        merged = merge_people(record, before[0], before[1])
        assert people(record) == [merged] and merged.sources == ("Clinic A", "Clinic B")
        assert proposals(record) == []
        (asthma,) = facts(record, "Condition", subjects=merged.subjects)
        assert len(asthma.members) == 2  # one person now: the same problem from both clinics is one fact

        kept, apart = split_person(record, merged, ["Clinic B:Patient/1"])
        assert kept.sources == ("Clinic A",) and apart.sources == ("Clinic B",)
        # A re-sync of both sources, and forgetting one and syncing it again, keep the split, with no proposal back.
        _import(record, shouting, "Clinic A")
        _import(record, accented, "Clinic B")
        assert [p.sources for p in people(record)] == [("Clinic A",), ("Clinic B",)] and proposals(record) == []
        _forget(record, "Clinic B")
        assert [p.sources for p in people(record)] == [("Clinic A",)]
        _import(record, accented, "Clinic B")
        assert [p.sources for p in people(record)] == [("Clinic A",), ("Clinic B",)] and proposals(record) == []
        actions = [a["action"] for a in record.audit_log() if a["action"].startswith("person-")]
        # Each clinic's Patient was placed once, as it was first stored; re-syncs and forgetting placed nobody anew.
        assert actions[:2] == ["person-split", "person-merge"] and actions.count("person-add") == 2


def test_a_merge_survives_forgetting_a_source_and_syncing_it_again(tmp_path: Path) -> None:
    with Record.create(tmp_path / "merge.carry", PASSPHRASE) as record:
        _import(record, alice_bundle(), "Clinic A")
        _import(record, alice_bundle(), "Clinic B")
        a, b = people(record)
        merge_people(record, a, b)
        _forget(record, "Clinic B")
        _import(record, alice_bundle(), "Clinic B")
        (only,) = people(record)
        assert only.id == a.id and only.sources == ("Clinic A", "Clinic B")


def test_two_clinics_with_the_same_patient_id_are_two_persons(tmp_path: Path) -> None:
    with Record.create(tmp_path / "two.carry", PASSPHRASE) as record:
        _import(record, alice_bundle(), "Clinic A")
        _import(record, bram_bundle(), "Clinic B")
        alice, bram = people(record)
        assert (alice.name, bram.name) == ("Alice Quarrington", "Bram Okafor") and proposals(record) == []
        # Every resource with a subject belongs to exactly one person, or to nobody (unassigned), never two.
        for row in record.rows(where="r.subject IS NOT NULL"):
            owners = [p for p in (alice, bram) if p.admits(row.source_id, row.subject)]
            assert len(owners) == (0 if row.subject == "Patient/99" else 1), row
        assert [r.display for r in unassigned(record)] == ["Cholesterol stray: 190 mg/dL"]
        # No fact joins the two: the same LOINC-less, code-less fields never matter across persons.
        for fact in facts(record):
            assert len({(m.source_id) for m in fact.members}) == 1
        with pytest.raises(PersonError, match="holds 2 persons: 1. Alice Quarrington"):
            choose_person(record, None)
        assert choose_person(record, "2") == bram and choose_person(record, "alice") == alice


def test_a_summary_that_would_name_two_patients_is_refused(tmp_path: Path) -> None:
    with Record.create(tmp_path / "refuse.carry", PASSPHRASE) as record:
        _import(record, alice_bundle(), "Clinic A")
        _import(record, bram_bundle(), "Clinic B")
        alice, bram = people(record)
        mine, theirs = candidates(record, alice), candidates(record, bram)
        gout = next(c for c in theirs.items if c.display == "Gout")
        # Bram's Gout slipped into Alice's selection (its subject is Patient/1, as hers is, but at Clinic B).
        mixed = replace(mine, items=(*mine.items, gout), picked=mine.picked | {gout.key})
        with pytest.raises(ShareError, match="exactly one person"):
            create_share(record, ShareHost.open(), mixed)
        assert record.audit_log(action="share-create") == []
        made = create_share(record, ShareHost.open(), mine)
        patients = [e["resource"] for e in made.bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
        assert [p["name"][0]["family"] for p in patients] == ["Quarrington"]


def test_rename_and_bad_requests_change_nothing(tmp_path: Path) -> None:
    with Record.create(tmp_path / "rename.carry", PASSPHRASE) as record:
        _import(record, alice_bundle(), "Clinic A")
        (alice,) = people(record)
        assert rename_person(record, alice, "  Mum\n").name == "Mum"
        assert choose_person(record, "mum") is not None
        before = record.read("SELECT * FROM person_member")
        for attempt in (lambda: rename_person(record, alice, "x" * 81), lambda: split_person(record, alice),
                        lambda: merge_people(record, alice, alice), lambda: choose_person(record, "Nobody")):  # fmt: skip
            with pytest.raises(PersonError):
                attempt()
        assert record.read("SELECT * FROM person_member") == before
        assert rename_person(record, alice, "").name == "Alice Quarrington"  # back to the portal's name
        assert [a["action"] for a in record.audit_log() if a["action"] == "person-rename"] == ["person-rename"] * 2
