"""The facts kept in the record (app.record.view_cache) equal a grouping from scratch, whatever happened (hypothesis).

Random sequences of imports (new and changed resources, from several sources whose ids collide), removals at the
source, forgotten sources, people merged and split, facts confirmed and split: after every step the kept facts of
every type -- for the whole record and for each person -- and the timeline's slots are exactly what `facts()`
makes from scratch, and the views were brought up to date without regrouping everything when the change was small.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.clock import TestClock
from support.records import PASSPHRASE

from app.record import Record, confirm, facts, latest_version, merge_people, people, reset, split, split_person
from app.record.facts import regroup
from app.record.portal_state import PortalPullStore, PortalState
from app.record.view_cache import current, kept_facts, kept_months, kept_or_grouped, kept_page, kept_recent_slots, kept_slots
from app.record.view_cache import (
    _fill_slots, head_of, kept_copies, kept_heads, kept_newest_recent_slots, newest_copies, person_of,
)
from app.record.view_labs import OTHER_SHOWN_APART, PANELS_WITHOUT_VALUE, labs_current, others_current
from app.record.view_queries import lab_test_rows, other_test_rows
from app.views.merged import _as_slots

SOURCES = ("Clinic A", "Clinic B", "Clinic C")
TYPES = ("Condition", "MedicationRequest", "AllergyIntolerance", "Observation", "Encounter", "Immunization")
CATEGORIES = "http://terminology.hl7.org/CodeSystem/observation-category"
NAMES = (("Ada", "Park"), ("ADA", "PARK"), ("Bo", "Lin"))

resource = st.fixed_dictionaries(
    {
        "type": st.sampled_from(TYPES),
        "id": st.sampled_from(["1", "2", "3", "4"]),  # small ids: a later import changes an earlier resource
        "subject": st.sampled_from(["1", "2", "9"]),  # Patient/9 is nobody's
        "code": st.sampled_from(["1", "1", "2"]),  # few codes, days and values: copies are common
        "day": st.sampled_from(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-20", "2024-03-01", None]),
        "value": st.sampled_from([1.0, 1.0, 2.0]),
        "identifier": st.sampled_from([None, "x", "y"]),
        "status": st.sampled_from(["active", "resolved"]),
        "org": st.sampled_from(["Org/1", "Org/2"]),
        "category": st.sampled_from(["laboratory", "laboratory", "vital-signs", None, "survey"]),
        "coded": st.sampled_from([True, True, False]),  # an uncoded Observation: an OTHER result named by its text
        "medication": st.sampled_from([None, None, "1", "2"]),  # an order of a Medication resource (by reference)
    }
)
# What may arrive with new resources, in the same import: an Organization or a Medication (new, or changed) that
# gives the source's encounters or orders their keys.
companion = st.sampled_from([None, None, ("Organization", "1", "General Hospital"), ("Organization", "2", "Other Clinic"),
                             ("Medication", "1", "1"), ("Medication", "2", "2"), ("Medication", "1", "2")])
step = st.one_of(
    st.tuples(st.just("import"), st.sampled_from(SOURCES), st.lists(resource, min_size=1, max_size=6)),
    # New resources only (ids never used before), as a sync brings: the kept lists count them from themselves alone.
    st.tuples(st.just("arrive"), st.sampled_from(SOURCES), st.lists(resource, min_size=1, max_size=6), companion),
    st.tuples(st.just("patient"), st.sampled_from(SOURCES), st.sampled_from(["1", "2"]), st.sampled_from(NAMES)),
    st.tuples(st.just("organization"), st.sampled_from(SOURCES), st.sampled_from(["1", "2"]),
              st.sampled_from(["General Hospital", "Other Clinic"])),  # fmt: skip
    st.tuples(st.just("remove"), st.sampled_from(SOURCES), st.sampled_from(TYPES)),
    st.tuples(st.just("forget"), st.sampled_from(SOURCES)),
    st.tuples(st.just("merge"), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("split person"), st.integers(0, 3)),
    st.tuples(st.just("confirm"), st.sampled_from(TYPES), st.integers(0, 5), st.integers(0, 5)),
    st.tuples(st.just("split fact"), st.sampled_from(TYPES), st.integers(0, 5)),
)


def _fhir(spec: dict[str, Any]) -> dict[str, Any]:
    rtype, code, day = spec["type"], spec["code"], spec["day"]
    out: dict[str, Any] = {"resourceType": rtype, "id": f"{rtype[:3].lower()}{spec['id']}"}
    ref = {"reference": f"Patient/{spec['subject']}"}
    coding = {"coding": [{"system": "http://snomed.info/sct", "code": f"10{code}", "display": f"Thing {code}"}]}
    if spec["identifier"]:
        out["identifier"] = [{"system": "urn:test", "value": spec["identifier"]}]
    if rtype == "Condition":
        out |= {"subject": ref, "code": coding, "clinicalStatus": {"coding": [{"code": spec["status"]}]}}
        if day:
            out["onsetDateTime"] = day
    elif rtype == "MedicationRequest":
        out |= {"status": spec["status"], "intent": "order", "subject": ref,
                "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                          "code": f"30{code}", "display": f"Drug{code} 10 MG Oral Tablet"}]}}  # fmt: skip
        if spec.get("medication"):  # its code read from the Medication (when the source has it)
            del out["medicationCodeableConcept"]
            out["medicationReference"] = {"reference": f"Medication/{spec['medication']}"}
        if day:
            out["authoredOn"] = day
    elif rtype == "AllergyIntolerance":
        out |= {"patient": ref, "code": coding, "clinicalStatus": {"coding": [{"code": spec["status"]}]}}
    elif rtype == "Observation":
        out |= {"status": "final", "subject": ref, "code": {"coding": [{"system": "http://loinc.org", "code": f"1-{code}"}]},
                "valueQuantity": {"value": spec["value"], "unit": "mg"}}  # fmt: skip
        if not spec.get("coded", True):
            out |= {"code": {"text": f"Question {code}"}, "valueString": f"answer {spec['value']}"}
            del out["valueQuantity"]
        if spec.get("category"):
            out["category"] = [{"coding": [{"system": CATEGORIES, "code": spec["category"]}]}]
        if day:
            out["effectiveDateTime"] = day
    elif rtype == "Encounter":
        out |= {"status": "finished", "class": {"code": "AMB"}, "subject": ref,
                "serviceProvider": {"reference": f"Organization/{spec['org'][-1]}"}}  # fmt: skip
        if day:
            out["period"] = {"start": day}
    else:  # Immunization
        out |= {"status": "completed", "patient": ref, "vaccineCode": coding}
        if day:
            out["occurrenceDateTime"] = day
    return out


def _companion(what: tuple[str, str, str]) -> dict[str, Any]:
    """An Organization (by name) or a Medication (by code) that gives the encounters or orders naming it their keys."""
    rtype, rid, value = what
    if rtype == "Organization":
        return {"resourceType": rtype, "id": rid, "name": value}
    return {"resourceType": rtype, "id": rid, "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                                   "code": f"30{value}", "display": f"Drug{value} 10 MG"}]}}  # fmt: skip


def _import(record: Record, source: str, resources: list[dict[str, Any]]) -> None:
    body = b"\n".join(json.dumps(r).encode() for r in resources)
    record.import_bytes(body, origin=f"{source}.ndjson", source=source)


def _apply(record: Record, move: tuple[Any, ...]) -> None:
    kind = move[0]
    if kind == "import":
        _import(record, move[1], [_fhir(spec) for spec in move[2]])
    elif kind == "arrive":
        fresh = record.count()
        arriving = [_fhir(spec | {"id": f"{spec['id']}-{fresh}-{n}"}) for n, spec in enumerate(move[2])]
        _import(record, move[1], arriving + [_companion(c) for c in move[3:] if c])
    elif kind == "patient":
        given, family = move[3]
        _import(record, move[1], [{"resourceType": "Patient", "id": move[2], "birthDate": "1970-01-01",
                                   "name": [{"given": [given], "family": family}]}])  # fmt: skip
    elif kind == "organization":
        _import(record, move[1], [{"resourceType": "Organization", "id": move[2], "name": move[3]}])
    elif kind == "remove":  # a sync that served nothing of this type: what it had is removed at the source
        found = [s for s in record.sources() if s.name == move[1]]
        if found:
            run = record.start_run(found[0].id, "sync", "test")
            PortalPullStore(record, found[0].id).mark_removed(run, [move[2]])
    elif kind == "forget":
        found = [s for s in record.sources() if s.name == move[1]]
        if found:
            PortalState(record).disconnect(found[0].id, forget=True)
    elif kind == "merge":
        everyone = people(record)
        if move[1] < len(everyone) and move[2] < len(everyone) and move[1] != move[2]:
            merge_people(record, everyone[move[1]], everyone[move[2]])
    elif kind == "split person":
        everyone = people(record)
        if move[1] < len(everyone) and len(everyone[move[1]].members) > 1:
            split_person(record, everyone[move[1]])
    elif kind == "confirm":
        pool = facts(record, move[1])
        if move[2] < len(pool) and move[3] < len(pool) and move[2] != move[3]:
            if pool[move[2]].person == pool[move[3]].person:  # the app offers only one person's facts
                confirm(record, pool[move[2]], pool[move[3]])
    elif kind == "split fact":
        pool = [f for f in facts(record, move[1]) if len(f.members) > 1]
        if move[2] < len(pool):
            split(record, pool[move[2]])


def _check(record: Record) -> None:
    assert current(record)
    everyone = people(record)
    for rtype in (*TYPES, "Patient", "Organization"):
        fresh = facts(record, rtype)
        kept = kept_facts(record, rtype)
        assert kept == fresh
        assert [f.as_json() for f in kept] == [f.as_json() for f in fresh]
        assert kept_slots(record, rtype) == _as_slots(fresh)
        assert kept_heads(record, rtype) == [head_of(f) for f in fresh]  # what the summary reads of them
        recent = [f for f in fresh if any(m.date and m.date >= "2024-01-15" for m in f.members)]
        assert kept_recent_slots(record, rtype, None, "2024-01-15") == _as_slots(recent)
        for fact in fresh:  # a fact's other copies, the last stored first (who prescribed an order is read there)
            others = sorted((m.rowid for m in fact.members if not m.newest), reverse=True)
            assert kept_copies(record, (rtype,), fact.fact_id) == newest_copies(fact) == others
            assert kept_copies(record, (rtype,), fact.fact_id, limit=1) == newest_copies(fact, 1) == others[:1]
        for count in (1, 2, 5):  # the head of that list, read by date from the slot index, when it has that many
            head = kept_newest_recent_slots(record, rtype, None, "2024-01-15", count)
            dated = [s for s in _as_slots(recent) if s.date >= "2024-01-15"]
            assert head == dated[:count] and (len(head) < count or head == _as_slots(recent)[:count])
        for person in everyone:
            number = person_of(record, person.subjects)
            assert number == str(person.id)
            mine = facts(record, rtype, subjects=person.subjects)
            assert kept_facts(record, rtype, number) == mine
            assert kept_slots(record, rtype, number) == _as_slots(mine)
            assert kept_heads(record, rtype, number) == [head_of(f) for f in mine]
    _check_pages(record, None, None)
    for one in everyone:
        _check_pages(record, str(one.id), one.subjects)
    _check_labs(record, [None, *(person.subjects for person in everyone)])


def _check_pages(record: Record, number: str | None, subjects: Any) -> None:
    """Timeline pages read by key (and the month counts) are those of every fact's slot, sorted, from scratch."""
    every = sorted((s for rtype in TYPES for s in _as_slots(facts(record, rtype, subjects=subjects))),
                   key=lambda s: (s.date, s.rowid), reverse=True)  # fmt: skip
    keys: list[Any] = [("\uffff",), ("2024-01-20",), ("2024-01-02",)] + [(s.date, s.rowid) for s in every[:4]]
    for key in keys:
        for limit in (1, 3):
            assert kept_page(record, TYPES, number, key, limit) == [s for s in every if (s.date, s.rowid) < key][:limit]
    assert kept_months(record, TYPES, number) == sorted(Counter(s.date[:7] for s in every).items(), reverse=True)


def _check_labs(record: Record, scopes: list[Any]) -> None:
    """The kept lab-tests rows of every category and scope, and the kept OTHER results, equal a computation from
    scratch."""
    assert labs_current(record) and others_current(record)
    for subjects in scopes:
        kept_others = other_test_rows(record, subjects, OTHER_SHOWN_APART)
        fresh_others = other_test_rows(record, subjects, OTHER_SHOWN_APART, kept=False)
        assert sorted(kept_others, key=repr) == sorted(fresh_others, key=repr)
    for category in ("laboratory", "vital-signs"):
        for subjects in scopes:
            kept = lab_test_rows(record, subjects, category, PANELS_WITHOUT_VALUE)
            fresh = lab_test_rows(record, subjects, category, PANELS_WITHOUT_VALUE, kept=False)
            assert sorted(kept, key=repr) == sorted(fresh, key=repr)


SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(steps=st.lists(step, min_size=2, max_size=8))
def test_kept_facts_equal_a_grouping_from_scratch(tmp_path_factory: Any, steps: list[tuple[Any, ...]]) -> None:
    with Record.create(tmp_path_factory.mktemp("views") / "v.carry", PASSPHRASE) as record:
        for move in steps:
            _apply(record, move)
            _check(record)


def _kept(record: Record) -> tuple[Any, ...]:
    """Everything the kept views hold, with each fact named by its fact id (its number is the record's own)."""
    named = dict(record._query("SELECT id, fact FROM view_fact"))
    found = sorted(record._query(
        "SELECT fact, type, person, confidence, reasons, matches, date, top, top_source, sources FROM view_fact"
    ))  # fmt: skip
    members = sorted((rowid, named[fid], *rest) for rowid, fid, *rest in record._query(
        "SELECT rowid, fid, type, person, source_id, effective, changed_at, last_seen FROM view_member"
    ))  # fmt: skip
    return found, members, sorted(record._query("SELECT key, member FROM view_key"))


def _regroup_all(record: Record, empty: bool) -> None:
    with record._transaction() as cur:  # as after a migration (empty views) or a change to the sources' keys
        if empty:
            for table in ("view_fact", "view_member", "view_key"):
                cur.execute(f"DELETE FROM {table}")
        cur.execute("INSERT INTO view_state (name, value) VALUES ('full', '1') ON CONFLICT (name) DO UPDATE SET value = '1'")
    assert current(record)


@SETTINGS
@given(steps=st.lists(step, min_size=2, max_size=8))
def test_a_full_regroup_keeps_what_the_changes_kept(tmp_path_factory: Any, steps: list[tuple[Any, ...]]) -> None:
    """The views kept step by step, the same views regrouped in full over them (writing what differs: nothing) and
    written anew into empty tables (indexes made after) are one and the same, slots included."""
    with Record.create(tmp_path_factory.mktemp("views") / "v.carry", PASSPHRASE) as record:
        for move in steps:
            _apply(record, move)
            assert current(record)
        arrived = _kept(record)
        numbers = sorted(record._query("SELECT id, fact FROM view_fact"))
        _regroup_all(record, empty=False)
        assert _kept(record) == arrived
        assert sorted(record._query("SELECT id, fact FROM view_fact")) == numbers  # nothing differed: nothing written
        _regroup_all(record, empty=True)
        assert _kept(record) == arrived
        with record._transaction() as cur:  # the slots written with the facts are those the members' rows give
            _fill_slots(cur, "1")
        assert _kept(record) == arrived
        assert {name for (name,) in record._query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
                                                  "('view_fact', 'view_member', 'view_key')")} >= {  # fmt: skip
            "view_fact_type", "view_fact_slot", "view_fact_person_slot", "view_member_fact", "view_member_type",
            "view_key_member"}  # fmt: skip
        _check(record)


def test_a_full_regroup_of_facts_from_several_sources_fills_their_slots_as_their_members_give(tmp_path: Path) -> None:
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        for source in SOURCES:
            _apply(record, ("patient", source, "1", NAMES[0]))
        for source, day in zip(SOURCES, ("2024-01-20", "2024-01-01", None)):
            _import(record, source, [_fhir(_BASE | {"type": "Observation", "id": "1", "day": "2024-01-01"}),
                                     _fhir(_BASE | {"type": "Condition", "id": "1", "day": day})])  # fmt: skip
        _apply(record, ("merge", 0, 1))
        _apply(record, ("merge", 0, 1))
        _check(record)
        shared = [f for f in kept_facts(record, "Condition") if len(f.members) > 1]
        assert shared and len({m.source_id for m in shared[0].members}) > 1  # a fact of several sources and dates
        arrived = _kept(record)
        for empty in (False, True):
            _regroup_all(record, empty=empty)
            assert _kept(record) == arrived
            _check(record)
        with record._transaction() as cur:
            _fill_slots(cur, "1")
        assert _kept(record) == arrived


def test_a_small_change_regroups_only_what_it_reaches(tmp_path: Path) -> None:
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        many = [{"type": "Observation", "id": str(n), "subject": "1", "code": str(n % 7), "day": "2024-01-01",
                 "value": float(n), "identifier": None, "status": "active", "org": "Org/1"} for n in range(300)]  # fmt: skip
        _import(record, "Clinic A", [_fhir(s) | {"id": f"o{s['id']}"} for s in many])
        _check(record)
        before = dict(record._query("SELECT rowid, fid FROM view_member"))
        # One new copy of one observation (the same code, time and value): it joins that fact, which keeps its
        # number (renamed for its new smallest member key, "copy"); the rest untouched.
        _import(record, "Clinic A", [_fhir(many[5]) | {"id": "copy"}])
        _check(record)
        after = dict(record._query("SELECT rowid, fid FROM view_member"))
        assert sum(1 for rowid, fid in before.items() if after.get(rowid) != fid) == 0
        assert len(after) == len(before) + 1
        shared = [f for f in kept_facts(record, "Observation") if len(f.members) == 2]
        assert len(shared) == 1 and {m.id for m in shared[0].members} == {"o5", "copy"}


def test_an_older_record_is_filled_once_by_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.carry"
    with Record.create(path, PASSPHRASE) as record:
        _import(record, "Clinic A", [_fhir(s) for s in [
            {"type": t, "id": "1", "subject": "1", "code": "1", "day": "2024-01-01", "value": 1.0, "identifier": None,
             "status": "active", "org": "Org/1"} for t in TYPES]])  # fmt: skip
        with record.write(counted=False) as cur:  # back to before the views existed, as an older Carry left it
            triggers = cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'view_%'")
            for (name,) in triggers.fetchall():
                cur.execute(f"DROP TRIGGER {name}")
            for table in ("view_member", "view_fact", "view_key", "view_dirty", "view_state", "view_lab", "view_lab_dirty",
                          "view_other", "view_other_dirty"):
                cur.execute(f"DROP TABLE {table}")
            cur.execute("DROP INDEX resource_invalid")  # version 16's
            for name in ("annotation_fts_insert", "annotation_fts_change", "annotation_fts_delete"):  # version 15's
                cur.execute(f"DROP TRIGGER {name}")
            cur.execute("DROP TABLE annotation_fts")
            cur.execute("DROP TABLE run_prior")  # version 17's
            cur.execute("DROP TABLE record_change")  # version 21's
            cur.execute("DROP TABLE kept_summary")
            cur.execute("PRAGMA user_version = 11")
    with Record.open(path, PASSPHRASE) as record:
        assert record.schema_version == latest_version()
        assert record._query("SELECT count(*) FROM view_dirty")[0][0] == 0
        assert record._query("SELECT count(*) FROM view_member")[0][0] == len(TYPES)
        _check(record)


# Each way a resource's fact can change without its content changing, step by step (the random sequences above
# reach them only now and then).

_BASE = {"subject": "1", "code": "1", "value": 1.0, "identifier": None, "status": "active", "org": "Org/1"}


def test_decisions_made_and_undone_regroup_their_resources(tmp_path: Path) -> None:
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        # The same code 60 days apart: two conditions (beyond the 30-day window), until the patient says otherwise.
        _import(record, "Clinic A", [_fhir(_BASE | {"type": "Condition", "id": n, "day": day})
                                     for n, day in (("1", "2024-01-01"), ("2", "2024-03-01"))])  # fmt: skip
        _check(record)
        one = confirm(record, *facts(record, "Condition"))
        _check(record)
        assert [len(f.members) for f in kept_facts(record, "Condition")] == [2]
        split(record, one)
        _check(record)
        assert [len(f.members) for f in kept_facts(record, "Condition")] == [1, 1]
        reset(record, kept_facts(record, "Condition")[0])
        _check(record)


def test_an_organisation_renamed_regroups_the_encounters_it_names(tmp_path: Path) -> None:
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        _import(record, "Clinic A", [
            {"resourceType": "Organization", "id": "1", "name": "General Hospital"},
            {"resourceType": "Organization", "id": "2", "name": "Other Clinic"},
            _fhir(_BASE | {"type": "Encounter", "id": "1", "day": "2024-01-01", "org": "Org/1"}),
            _fhir(_BASE | {"type": "Encounter", "id": "2", "day": "2024-01-01", "org": "Org/2"}),
        ])  # fmt: skip
        _check(record)
        assert [len(f.members) for f in kept_facts(record, "Encounter")] == [1, 1]
        _import(record, "Clinic A", [{"resourceType": "Organization", "id": "2", "name": "General Hospital"}])
        _check(record)
        assert [len(f.members) for f in kept_facts(record, "Encounter")] == [2]


def test_a_sync_that_only_sees_resources_again_regroups_what_their_identifiers_join(tmp_path: Path) -> None:
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        first, second = (_fhir(_BASE | {"type": "Condition", "id": n, "day": day, "identifier": "x"})
                         for n, day in (("1", "2024-01-01"), ("2", "2024-06-01")))  # fmt: skip
        _import(record, "Clinic A", [first])
        _import(record, "Clinic A", [second])  # one identifier in two runs: a re-issued id, the same condition
        _check(record)
        assert [len(f.members) for f in kept_facts(record, "Condition")] == [2]
        _import(record, "Clinic A", [first, second])  # nothing changed, but now one run carried both: two things
        assert record._query("SELECT DISTINCT kind FROM view_dirty") == [(2,)]
        _check(record)
        assert [len(f.members) for f in kept_facts(record, "Condition")] == [1, 1]


def test_the_copy_seen_last_speaks_for_its_fact(tmp_path: Path) -> None:
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        copies = [_fhir(_BASE | {"type": "Observation", "id": n, "day": "2024-01-01"}) for n in ("1", "2")]
        clock = TestClock(time.time())
        record.clock = clock
        _import(record, "Clinic A", copies)  # the same code, time and value: one fact of two copies
        _check(record)
        clock.advance(1)  # the record's clock counts seconds
        _import(record, "Clinic A", [copies[0]])  # unchanged, seen again: now the newest
        assert record._query("SELECT DISTINCT kind FROM view_dirty") == [(2,)]
        _check(record)
        (slot,) = kept_slots(record, "Observation")
        assert slot.rowid == record._query("SELECT rowid FROM resource WHERE id = 'obs1'")[0][0]


def test_a_busy_record_is_read_from_scratch_until_its_views_can_catch_up(tmp_path: Path) -> None:
    path = tmp_path / "v.carry"
    with Record.create(path, PASSPHRASE) as record:
        _import(record, "Clinic A", [_fhir(_BASE | {"type": "Condition", "id": "1", "day": "2024-01-01"})])
        other = Record.open(path, PASSPHRASE)  # another Carry window
        try:
            record._query("PRAGMA busy_timeout = 200")  # not the usual 10 s: the test waits for it
            with other._transaction():  # holds the write lock: the views cannot be brought up to date
                assert not current(record)
                assert kept_or_grouped(record, "Condition") == facts(record, "Condition")
                assert record._query("SELECT count(*) FROM view_dirty")[0][0] == 1  # nothing half-written
        finally:
            other.close()
        assert current(record)
        assert kept_facts(record, "Condition") == facts(record, "Condition")


def test_a_changed_result_recomputes_only_its_test(tmp_path: Path) -> None:
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        results = [_fhir(_BASE | {"type": "Observation", "id": f"{n}-{category}", "code": str(n % 3), "value": float(n),
                                  "day": f"2024-01-{n + 1:02d}", "category": category})
                   for n in range(9) for category in ("laboratory", "vital-signs")]  # fmt: skip
        _import(record, "Clinic A", results)
        _check_labs(record, [None, *(p.subjects for p in people(record))])
        before = dict(record._query("SELECT rowid, count FROM view_lab"))
        assert len(before) == 6  # three codes in each of two categories
        # A newer value of one laboratory test: that group alone is recomputed (the same code's vital sign is not).
        _import(record, "Clinic A", [_fhir(_BASE | {"type": "Observation", "id": "new", "code": "1", "value": 7.5,
                                                    "day": "2024-02-01", "category": "laboratory"})])  # fmt: skip
        assert record._query("SELECT count(*) FROM view_lab_dirty")[0][0] == 1
        _check_labs(record, [None, *(p.subjects for p in people(record))])
        after = dict(record._query("SELECT rowid, count FROM view_lab"))
        assert len(after) == 6 and len(set(before) & set(after)) == 5
        (row,) = [r for r in lab_test_rows(record, None, "laboratory", PANELS_WITHOUT_VALUE) if r.code == "1-1"]
        assert (row.count, row.latest, row.value) == (4, "2024-02-01", 7.5)
        # Removed at the source: it leaves the list, and the previous value is the latest again.
        run = record.start_run(record.sources()[0].id, "sync", "test")
        PortalPullStore(record, record.sources()[0].id).mark_removed(run, ["Observation"])
        _check_labs(record, [None])
        assert lab_test_rows(record, None, "laboratory", PANELS_WITHOUT_VALUE) == []


def test_the_other_results_keep_every_answer_of_the_newest_day(tmp_path: Path) -> None:
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        # One test answered by two subjects, three times on the newest day and once before: a regimen's answers.
        answers = [_fhir(_BASE | {"type": "Observation", "id": f"{n}", "subject": subject, "value": float(n),
                                  "day": day, "category": None})
                   for n, subject, day in ((1, "1", "2024-01-01"), (2, "1", "2024-02-01"), (3, "2", "2024-02-01"),
                                           (4, "1", "2024-02-01"))]  # fmt: skip
        _import(record, "Clinic A", answers)
        _check_labs(record, [None, *(p.subjects for p in people(record))])
        (row,) = other_test_rows(record, None, OTHER_SHOWN_APART)
        assert (row.code, row.count, row.latest) == ("1-1", 4, "2024-02-01")
        assert [value for value, _, _ in row.answers] == [4.0, 3.0, 2.0]
        # A newer answer of one subject: only its group is recomputed, and it alone is the newest day's answer.
        _import(record, "Clinic A", [_fhir(_BASE | {"type": "Observation", "id": "5", "value": 5.0, "day": "2024-03-01",
                                                    "category": None})])  # fmt: skip
        assert record._query("SELECT count(*) FROM view_other_dirty")[0][0] == 1
        _check_labs(record, [None, *(p.subjects for p in people(record))])
        (row,) = other_test_rows(record, None, OTHER_SHOWN_APART)
        assert (row.count, row.latest, len(row.answers)) == (5, "2024-03-01", 1)


def test_an_other_result_named_like_a_code_is_counted_with_it(tmp_path: Path) -> None:
    # An uncoded answer whose text is another result's code (of no system): one kind of result (as grouped from
    # scratch), kept so whichever of them changes.
    bare = _fhir(_BASE | {"type": "Observation", "id": "bare", "day": "2024-01-01", "category": None, "coded": False})
    bare["code"] = {"text": "1-1"}
    del bare["valueString"]
    coded = _fhir(_BASE | {"type": "Observation", "id": "coded", "day": "2024-01-02", "category": None})
    del coded["code"]["coding"][0]["system"]
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        _import(record, "Clinic A", [bare])
        _check_labs(record, [None])
        _import(record, "Clinic A", [coded])
        _check_labs(record, [None])
        assert [(r.code, r.count) for r in other_test_rows(record, None, OTHER_SHOWN_APART)] == [("1-1", 2)]
        bare["effectiveDateTime"] = "2024-01-03"  # the uncoded one changes: the group is recomputed with both
        _import(record, "Clinic A", [bare])
        _check_labs(record, [None])
        found = other_test_rows(record, None, OTHER_SHOWN_APART)
        assert [(r.code, r.count, r.latest) for r in found] == [("1-1", 2, "2024-01-03")]


def test_new_results_are_counted_from_themselves_alone(tmp_path: Path) -> None:
    def result(n: str, code: str, day: str, value: float | None = 1.0, category: str | None = "laboratory") -> dict[str, Any]:
        made = _fhir(_BASE | {"type": "Observation", "id": n, "code": code, "day": day, "value": value or 0.0,
                              "category": category})  # fmt: skip
        if value is None:  # no number: not counted in the lab list
            del made["valueQuantity"]
        return made

    scopes: list[Any] = [None]
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        _import(record, "Clinic A", [result("a1", "1", "2024-01-10", 1.0), result("a2", "1", "2024-01-20", 2.0),
                                     result("b1", "2", "2024-01-10"), result("o1", "3", "2024-01-10", 4.0, None),
                                     result("o2", "3", "2024-01-20", 5.0, None)])  # fmt: skip
        _check_labs(record, scopes)
        untouched = record._query("SELECT rowid FROM view_lab WHERE code = '1-2'")
        # A sync brings: a newer value of test 1, an older one of test 1, a first value of test 4, one without a
        # number, and two more answers of the OTHER test, one on its newest day.
        _import(record, "Clinic A", [result("a3", "1", "2024-02-01", 3.0), result("a0", "1", "2023-12-01", 0.5),
                                     result("d1", "4", "2024-01-05"), result("b2", "2", "2024-03-01", None),
                                     result("o3", "3", "2024-01-20", 6.0, None),
                                     result("o0", "3", "2023-01-01", 3.0, None)])  # fmt: skip
        assert record._query("SELECT count(*) FROM view_lab_dirty WHERE added IS NULL")[0][0] == 0
        _check_labs(record, scopes)
        assert record._query("SELECT count(*) FROM view_lab_dirty")[0][0] == 0
        assert record._query("SELECT rowid FROM view_lab WHERE code = '1-2'") == untouched  # no new value of its own
        rows = {r.code: (r.count, r.latest, r.value) for r in lab_test_rows(record, None, "laboratory", PANELS_WITHOUT_VALUE)}
        assert rows == {"1-1": (4, "2024-02-01", 3.0), "1-2": (1, "2024-01-10", 1.0), "1-4": (1, "2024-01-05", 1.0)}
        (other,) = other_test_rows(record, None, OTHER_SHOWN_APART)
        assert (other.count, other.latest, [v for v, _, _ in other.answers]) == (4, "2024-01-20", [6.0, 5.0])
        # A new value and a change to an old one of the same test, in one sync: that test is recomputed from all.
        _import(record, "Clinic A", [result("a4", "1", "2024-03-01", 4.0), result("a1", "1", "2024-01-10", 9.0)])
        assert record._query("SELECT count(*) FROM view_lab_dirty WHERE added IS NULL")[0][0] == 2
        _check_labs(record, scopes)
        rows = {r.code: (r.count, r.latest, r.value) for r in lab_test_rows(record, None, "laboratory", PANELS_WITHOUT_VALUE)}
        assert rows["1-1"] == (5, "2024-03-01", 4.0)


def test_a_small_change_in_a_larger_record_rewrites_only_what_differs(tmp_path: Path) -> None:
    # Twenty unrelated results keep every change below the share that regroups everything, so each step takes the
    # incremental path: facts that gain, lose or trade members keep their numbers, and what they show follows.
    padding = [_fhir(_BASE | {"type": "Observation", "id": f"p{n}", "code": str(n + 10), "day": "2023-01-01"})
               for n in range(20)]  # fmt: skip

    def condition(n: str, day: str, code: str = "1", name: str = "Asthma") -> dict[str, Any]:
        made = _fhir(_BASE | {"type": "Condition", "id": n, "day": day, "code": code})
        made["code"]["coding"][0]["display"] = name
        return made

    def keys_as_regrouped() -> None:
        _, keys = regroup(record, None)
        assert sorted(record._query("SELECT key, member FROM view_key")) == sorted(
            (key, rowid) for rowid, numbers in keys.items() for key in numbers
        )

    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        _import(record, "Clinic A", padding + [condition("1", "2024-01-01"), condition("2", "2024-03-01")])
        _check(record)
        numbers = dict(record._query("SELECT fact, id FROM view_fact"))
        merged = confirm(record, *facts(record, "Condition"))  # one fact of two: its newest member is the later one
        _check(record)
        (slot,) = kept_slots(record, "Condition")
        assert slot.date == "2024-03-01" and numbers[merged.fact_id] == dict(record._query("SELECT fact, id FROM view_fact"))[merged.fact_id]
        split(record, merged)  # the fact keeps its number and loses its newest member: its slot follows
        _check(record)
        keys_as_regrouped()
        _import(record, "Clinic A", [condition("3", "2024-01-02", code="2")])  # another code, the same name
        _check(record)
        _import(record, "Clinic A", [condition("2", "2024-01-01")])  # a changed date joins the first one
        _check(record)
        keys_as_regrouped()
        run = record.start_run(record.sources()[0].id, "sync", "test")
        PortalPullStore(record, record.sources()[0].id).mark_removed(run, ["Condition"])
        _check(record)
        keys_as_regrouped()
