"""A full regroup a part at a time (issue 20: its memory must not grow with the record): the parts of
`regroup_parts` together are exactly `regroup(record, None)`, and the views written part by part (anew, or over
the kept ones, writing what differs) are those written in one piece."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.records import PASSPHRASE
from test_view_cache_properties import SETTINGS, _apply, _check, _fhir, _import, _kept, _regroup_all, step

from app.record import Record, confirm, facts, merge_people, people, split
from app.record.facts import Fact, newest_first, regroup, regroup_parts
from app.record.view_cache import current, kept_facts

facts_module = importlib.import_module("app.record.facts")  # the module (app.record's `facts` is its function)
view_cache = importlib.import_module("app.record.view_cache")


def _parts_are_the_whole(record: Record, size: int) -> int:
    """Check that the parts of `size` give the whole record's facts and match keys, each resource in one part;
    returns how many parts there were."""
    parts = list(regroup_parts(record, size))
    whole, keys = regroup(record, None)
    found: list[Fact] = [fact for part in parts for fact in part.facts]
    assert newest_first(found) == whole == facts(record)
    assert [f.as_json() for f in newest_first(found)] == [f.as_json() for f in whole]
    placed = [m.rowid for fact in found for m in fact.members]
    assert len(placed) == len(set(placed)) == record.count() - _removed(record)
    merged: dict[int, set[int]] = {}
    for part in parts:
        assert not merged.keys() & part.keys.keys()
        merged.update(part.keys)
        assert {m.resource_type for fact in part.facts for m in fact.members} <= set(part.types)
    assert merged == keys
    # A part is closed: no match key is shared by members of two parts (what makes each part's grouping whole).
    owner: dict[int, int] = {}
    for n, part in enumerate(parts):
        for numbers in part.keys.values():
            for number in numbers:
                assert owner.setdefault(number, n) == n
    return len(parts)


def _removed(record: Record) -> int:
    return int(record._query("SELECT count(*) FROM resource WHERE removed_at IS NOT NULL")[0][0])


@SETTINGS
@given(steps=st.lists(step, min_size=2, max_size=8), size=st.sampled_from([1, 2, 5]))
def test_the_parts_of_a_full_regroup_are_the_whole(tmp_path_factory: Any, steps: list[tuple[Any, ...]], size: int) -> None:
    with Record.create(tmp_path_factory.mktemp("parts") / "v.carry", PASSPHRASE) as record:
        for move in steps:
            _apply(record, move)
        _parts_are_the_whole(record, size)


@SETTINGS
@given(steps=st.lists(step, min_size=2, max_size=8), full=st.lists(st.booleans(), min_size=8, max_size=8),
       compare=st.booleans())  # fmt: skip
def test_views_regrouped_part_by_part_equal_a_grouping_from_scratch(
    tmp_path_factory: Any, steps: list[tuple[Any, ...]], full: list[bool], compare: bool
) -> None:
    """Every full regroup (after a change, over the kept views; into empty views) written in parts of two
    resources: the views are those of a grouping from scratch, and those written in one part. `compare`: every
    full regroup over kept views writes what differs, part by part, however much changed."""
    with pytest.MonkeyPatch.context() as patch, Record.create(tmp_path_factory.mktemp("parts") / "v.carry", PASSPHRASE) as record:
        patch.setattr(facts_module, "PART_SIZE", 2)
        if compare:
            patch.setattr(view_cache, "_REWRITE_SHARE", 1_000_000.0)
        for move, regroup_all in zip(steps, full):
            _apply(record, move)
            if regroup_all:  # the change and a full regroup at once: compared with the kept views, part by part
                with record._transaction() as cur:
                    cur.execute("INSERT INTO view_state (name, value) VALUES ('full', '1') "
                                "ON CONFLICT (name) DO UPDATE SET value = '1'")  # fmt: skip
            _check(record)
        in_parts = _kept(record)
        _regroup_all(record, empty=True)
        assert _kept(record) == in_parts
        patch.setattr(facts_module, "PART_SIZE", 1_000_000)
        _regroup_all(record, empty=True)
        assert _kept(record) == in_parts


def _statement(spec: dict[str, Any]) -> dict[str, Any]:
    """The MedicationRequest of `spec` as the patient's own MedicationStatement."""
    request = _fhir(spec | {"type": "MedicationRequest"})
    return {"resourceType": "MedicationStatement", "id": f"st{spec['id']}", "status": "active",
            "subject": request["subject"], "medicationCodeableConcept": request["medicationCodeableConcept"],
            "effectiveDateTime": "2023-06-01"}  # fmt: skip


_SPEC = {"subject": "1", "code": "1", "day": "2024-01-01", "value": 1.0, "identifier": None, "status": "active",
         "org": "Org/1", "category": "laboratory", "coded": True}  # fmt: skip


def test_a_mixed_record_regrouped_part_by_part(tmp_path: Path) -> None:
    """Two persons, copies from three sources, shared identifiers, a MedicationStatement the patient confirmed as
    the clinic's MedicationRequest (two types in one fact) and a fact the patient split: parts of any size give the
    facts a grouping from scratch gives, and the views written part by part are those written in one piece."""
    with Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        for source in ("Clinic A", "Clinic B", "Clinic C"):
            _import(record, source, [{"resourceType": "Patient", "id": "1", "birthDate": "1970-01-01",
                                      "name": [{"given": ["Ada"], "family": "Park"}]},
                                     {"resourceType": "Patient", "id": "2", "birthDate": "1980-01-01",
                                      "name": [{"given": ["Bo"], "family": "Lin"}]}])  # fmt: skip
            specs = [_SPEC | {"type": rtype, "id": f"{n}{subject}", "subject": subject, "code": str(n % 2),
                              "identifier": "x" if n == 0 else None, "value": float(n % 3)}
                     for n in range(6) for rtype in ("Observation", "Condition", "MedicationRequest", "Encounter")
                     for subject in ("1", "2")]  # fmt: skip
            _import(record, source, [_fhir(spec) for spec in specs])
        _import(record, "Clinic A", [_statement(_SPEC | {"id": "1"}), _statement(_SPEC | {"id": "2", "code": "2"})])
        everyone = people(record)
        ada = [p for p in everyone if "Ada" in p.name]
        if len(ada) > 1:
            merge_people(record, ada[0], ada[1])
        assert len({f.person for f in facts(record)} - {""}) >= 2
        statement = facts(record, "MedicationStatement")[0]
        request = next(f for f in facts(record, "MedicationRequest") if f.person == statement.person)
        confirm(record, statement, request)
        shared = next(f for f in facts(record, "Observation") if len(f.members) > 1)
        split(record, shared, [shared.members[0]])
        mixed = [f for f in facts(record) if len({m.resource_type for m in f.members}) > 1]
        assert mixed and any(f.confidence == "confirmed" for f in mixed)
        for size in (1, 3, 10, 40, 1000):
            parts = _parts_are_the_whole(record, size)
            assert parts > 1 or size == 1000
        assert current(record)
        whole = _kept(record)
        _kept_are_grouped(record)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(facts_module, "PART_SIZE", 3)
            _regroup_all(record, empty=True)
            assert _kept(record) == whole
            _regroup_all(record, empty=False)
            assert _kept(record) == whole
            _kept_are_grouped(record)


def _kept_are_grouped(record: Record) -> None:
    """The kept facts of each type are those of a grouping of every type (a fact the patient confirmed across two
    types is not one that grouping its newest member's type alone makes)."""
    every = facts(record)
    for rtype in sorted({f.resource_type for f in every}):
        assert kept_facts(record, rtype) == [f for f in every if f.resource_type == rtype]


def test_a_fact_one_part_keeps_and_another_leaves_gets_its_slot_from_the_members_it_keeps(tmp_path: Path) -> None:
    """A copy that changed so that it no longer matches the fact it was in: the fact (named by the other copy) is
    kept by the other copy's part, and left by the changed copy's part, which comes after; compared part by part
    with the kept views, the fact's slot is that of the member it keeps (its one source), as a rewrite makes it."""
    spec = _SPEC | {"type": "Observation", "id": "1"}
    with pytest.MonkeyPatch.context() as patch, Record.create(tmp_path / "v.carry", PASSPHRASE) as record:
        patient = {"resourceType": "Patient", "id": "1", "birthDate": "1970-01-01",
                   "name": [{"given": ["Ada"], "family": "Park"}]}  # fmt: skip
        for source in ("Clinic A", "Clinic B"):
            _import(record, source, [patient, _fhir(spec)])
        everyone = people(record)
        if len(everyone) > 1:
            merge_people(record, everyone[0], everyone[1])
        assert current(record)
        (shared,) = facts(record, "Observation")
        assert len(shared.sources) == 2
        _import(record, "Clinic B", [_fhir(spec | {"value": 2.0})])  # no longer the same value: a fact of its own
        patch.setattr(facts_module, "PART_SIZE", 1)
        patch.setattr(view_cache, "_REWRITE_SHARE", 1_000_000.0)  # written part by part over the kept views
        _regroup_all(record, empty=False)
        assert [f.sources for f in kept_facts(record, "Observation")] == [("Clinic A",), ("Clinic B",)] or [
            f.sources for f in kept_facts(record, "Observation")] == [("Clinic B",), ("Clinic A",)]  # fmt: skip
        written = _kept(record)
        slots = sorted(row[-1] for row in written[0] if row[1] == "Observation")
        assert slots == ["1", "2"]  # each fact's slot names its one source
        _regroup_all(record, empty=True)
        assert _kept(record) == written
        _check(record)
