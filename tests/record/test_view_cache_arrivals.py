"""A sync's new resources join the facts kept in the record without regrouping those facts (issue 20: the summary
right after a sync of 50 resources grew with the record, as every fact a copy joined was regrouped member by member).

SQLite's own trace of the writer's statements shows which resources a refresh grouped: the grouping reads their
columns by rowid (app.record.facts), so the longest such list is what the refresh regrouped. What the views keep is
compared with a grouping from scratch after every change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from support.records import PASSPHRASE
from test_view_cache_properties import NAMES, SETTINGS, SOURCES, _apply, _check, _fhir, companion, resource

from app import views as v
from app.record import Record, facts
from app.record.facts import regroup
from app.record.view_cache import current, head_of, kept_facts, kept_heads, kept_slots
from app.views.merged import _as_slots

# The grouping's read of the resources it groups, by rowid (app.record.facts._Builder._load).
_LOAD = re.compile(r"FROM resource r WHERE r\.removed_at IS NULL AND r\.rowid IN \(SELECT value FROM json_each\('(\[[^']*\])'\)\)")

# ... and of every resource, in its covering index's order.
_ALL = re.compile(r"FROM resource r INDEXED BY resource_facts")


def _grouped(record: Record, act: Callable[[], Any]) -> int:
    """How many resources the largest grouping that `act` ran had to read (0: none ran)."""
    ran: list[str] = []
    record._db.set_trace_callback(ran.append)
    try:
        act()
    finally:
        record._db.set_trace_callback(None)
    if any(_ALL.search(sql) for sql in ran):  # everything regrouped
        return record.count()
    return max((len(json.loads(m.group(1))) for sql in ran for m in [_LOAD.search(sql)] if m), default=0)


def _import(record: Record, source: str, resources: list[dict[str, Any]]) -> None:
    body = b"\n".join(json.dumps(r).encode() for r in resources)
    record.import_bytes(body, origin=f"{source}.ndjson", source=source)


def _same_as_from_scratch(record: Record, rtype: str) -> None:
    assert current(record)
    fresh = facts(record, rtype)
    kept = kept_facts(record, rtype)
    assert kept == fresh
    assert [f.as_json() for f in kept] == [f.as_json() for f in fresh]  # possible matches, reasons, names included
    assert kept_heads(record, rtype) == [head_of(f) for f in fresh]
    assert kept_slots(record, rtype) == _as_slots(fresh)


def _patient(record: Record, source: str) -> None:
    _import(record, source, [{"resourceType": "Patient", "id": "1", "birthDate": "1970-01-01",
                              "name": [{"given": ["Ada"], "family": "Park"}]}])  # fmt: skip


def _result(rid: str, value: float = 5.0, day: str = "2024-01-01", **more: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final", "subject": {"reference": "Patient/1"},
            "code": {"coding": [{"system": "http://loinc.org", "code": "1-1"}]}, "effectiveDateTime": day,
            "valueQuantity": {"value": value, "unit": "mg"}} | more  # fmt: skip


def _visit(rid: str, start: str = "2024-01-01T10:00:00Z") -> dict[str, Any]:
    # No organisation it could be matched by: visits at one time of one class are only possible matches.
    return {"resourceType": "Encounter", "id": rid, "status": "finished", "class": {"code": "AMB"},
            "subject": {"reference": "Patient/1"}, "period": {"start": start}}  # fmt: skip


def test_a_copy_joins_its_fact_without_regrouping_its_members(tmp_path: Path) -> None:
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        _patient(record, "Clinic A")
        _import(record, "Clinic A", [_result(f"b{n:03}") for n in range(200)] + [_result("other", value=7.0)])
        _same_as_from_scratch(record, "Observation")
        (big,) = [f for f in kept_facts(record, "Observation") if len(f.members) == 200]
        before_members = dict(record._query("SELECT rowid, fid FROM view_member"))
        before_facts = {row[0]: row for row in record._query("SELECT * FROM view_fact")}
        # A sync brings one more copy of the 200 (the same code, time and value): only it is grouped.
        _import(record, "Clinic A", [_result("c-new")])
        assert _grouped(record, lambda: current(record)) == 1
        _same_as_from_scratch(record, "Observation")
        after_members = dict(record._query("SELECT rowid, fid FROM view_member"))
        assert {r: f for r, f in after_members.items() if r in before_members} == before_members
        assert len(after_members) == len(before_members) + 1
        changed = [fid for fid, row in before_facts.items() if record._query("SELECT * FROM view_fact WHERE id = ?", [fid])[0] != row]
        assert len(changed) == 1 and after_members[max(after_members)] == changed[0]  # the one fact it joined
        (grown,) = [f for f in kept_facts(record, "Observation") if len(f.members) == 201]
        assert grown.fact_id == big.fact_id  # named by its smallest member key, still "b000"
        # A copy whose id sorts first names the fact anew, as grouping from scratch does.
        _import(record, "Clinic A", [_result("a-first")])
        assert _grouped(record, lambda: current(record)) == 1
        _same_as_from_scratch(record, "Observation")
        assert big.fact_id not in {f.fact_id for f in kept_facts(record, "Observation")}
        # A new result of its own (another value) is a fact of its own, grouped alone too.
        _import(record, "Clinic A", [_result("c-alone", value=9.0)])
        assert _grouped(record, lambda: current(record)) == 1
        _same_as_from_scratch(record, "Observation")


def test_the_summary_after_a_sync_groups_only_what_arrived(tmp_path: Path) -> None:
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        _patient(record, "Clinic A")
        lab = {"category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                         "code": "laboratory"}]}]}  # fmt: skip
        _import(record, "Clinic A", [_result(f"b{n:03}", value=float(n % 4)) | lab for n in range(120)])
        scope = v.Scope()
        v.build_dashboard(record, scope)
        _import(record, "Clinic A", [_result("s1", value=1.0) | lab, _result("s2", value=2.0) | lab])
        board: list[Any] = []
        assert _grouped(record, lambda: board.append(v.build_dashboard(record, scope))) <= 2
        _same_as_from_scratch(record, "Observation")
        assert board[0].results  # the summary shows the results that arrived with the rest


def test_a_new_visit_at_the_time_of_others_is_offered_as_their_possible_match(tmp_path: Path) -> None:
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        _patient(record, "Clinic A")
        _import(record, "Clinic A", [_visit(f"v{n:02}") for n in range(30)] + [_visit("later", "2024-02-01T10:00:00Z")])
        _same_as_from_scratch(record, "Encounter")
        # One more visit at that time, whose id sorts after the first: it is a possible match of the first one's
        # fact (and that fact of it), without regrouping the thirty.
        _import(record, "Clinic A", [_visit("w-new")])
        assert _grouped(record, lambda: current(record)) == 1
        _same_as_from_scratch(record, "Encounter")
        by_id = {f.members[0].id: f for f in kept_facts(record, "Encounter")}
        assert by_id["w-new"].fact_id in {p.fact_id for p in by_id["v00"].possible_matches}
        assert [p.fact_id for p in by_id["w-new"].possible_matches] == [by_id["v00"].fact_id]
        # One whose id sorts first would take over every link: the visits are regrouped (and still right).
        _import(record, "Clinic A", [_visit("a-first")])
        assert _grouped(record, lambda: current(record)) > 1
        _same_as_from_scratch(record, "Encounter")


def test_an_identifier_decides_as_it_would_from_scratch(tmp_path: Path) -> None:
    tag = {"identifier": [{"system": "urn:lab", "value": "42"}]}
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        _patient(record, "Clinic A")
        _import(record, "Clinic A", [_result(f"pad{n}", value=100.0 + n) for n in range(20)])
        # One identifier stated in two runs on two different results (a re-issued id: one thing, joined).
        _import(record, "Clinic A", [_result("x", value=1.0) | tag])
        _import(record, "Clinic A", [_result("y", value=2.0) | tag])
        _same_as_from_scratch(record, "Observation")
        assert sorted(len(f.members) for f in kept_facts(record, "Observation"))[-1] == 2
        # A third run's result with that identifier and code joins them without regrouping.
        _import(record, "Clinic A", [_result("z", value=3.0) | tag])
        assert _grouped(record, lambda: current(record)) == 1
        _same_as_from_scratch(record, "Observation")
        assert sorted(len(f.members) for f in kept_facts(record, "Observation"))[-1] == 3
        # A fourth with another code in that system: the identifier no longer says one thing, so the three fall
        # apart, as grouping from scratch finds.
        other = _result("w", value=4.0) | tag
        other["code"] = {"coding": [{"system": "http://loinc.org", "code": "2-2"}]}
        _import(record, "Clinic A", [other])
        assert _grouped(record, lambda: current(record)) > 1
        _same_as_from_scratch(record, "Observation")
        assert max(len(f.members) for f in kept_facts(record, "Observation")) == 1
        # Two results of one run sharing an identifier (a claim-group number) were never joined by it: a copy of
        # one of them (the same code, time and value) from a later run joins that one alone, without regrouping.
        group = {"identifier": [{"system": "urn:claim", "value": "7"}]}
        _import(record, "Clinic A", [_result("g1", value=11.0) | group, _result("g2", value=12.0) | group])
        _same_as_from_scratch(record, "Observation")
        _import(record, "Clinic A", [_result("g3", value=11.0) | group])
        assert _grouped(record, lambda: current(record)) == 1
        _same_as_from_scratch(record, "Observation")
        assert sorted(len(f.members) for f in kept_facts(record, "Observation"))[-1] == 2


def _order(rid: str, medication: str = "1", day: str = "2024-01-01") -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
            "subject": {"reference": "Patient/1"}, "authoredOn": day,
            "medicationReference": {"reference": f"Medication/{medication}"}}  # fmt: skip


def test_new_visits_and_orders_that_arrive_with_what_gives_them_their_keys_are_placed_once(tmp_path: Path) -> None:
    # An Organization (or a Medication) that arrives or changes regroups every encounter (or order) of its source,
    # the new ones of the same sync too: those are placed by that regrouping, not joined again (their key rows were
    # written twice: "UNIQUE constraint failed: view_key.key, view_key.member").
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        _patient(record, "Clinic A")
        padding = [_result(f"pad{n:02}", value=float(n)) for n in range(40)]
        _import(record, "Clinic A", padding + [_visit("v1") | {"serviceProvider": {"reference": "Organization/1"}},
                                               _order("m1")])  # fmt: skip
        _same_as_from_scratch(record, "Encounter")
        at = {"serviceProvider": {"reference": "Organization/1"}}
        # The organisation named, with a copy of the kept visit, two copies of a new one and one of its own.
        _import(record, "Clinic A", [{"resourceType": "Organization", "id": "1", "name": "General Hospital"},
                                     _visit("v2") | at, _visit("v3", "2024-02-01T10:00:00Z") | at,
                                     _visit("v4", "2024-02-01T10:00:00Z") | at, _visit("v5", "2024-03-01T10:00:00Z")])  # fmt: skip
        _same_as_from_scratch(record, "Encounter")
        _same_as_from_scratch(record, "Observation")
        # Renamed, in a second batch with more visits: the kept ones and the new are regrouped together again.
        _import(record, "Clinic A", [{"resourceType": "Organization", "id": "1", "name": "Other Clinic"},
                                     _visit("v6") | at, _visit("v7", "2024-02-01T10:00:00Z") | at])  # fmt: skip
        _same_as_from_scratch(record, "Encounter")
        # A Medication with new orders of it: a copy of the kept order, two copies of a new one.
        _import(record, "Clinic A", [{"resourceType": "Medication", "id": "1", "code": {"coding": [
            {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "301", "display": "Drug 10 MG"}]}},
            _order("m2"), _order("m3", day="2024-02-01"), _order("m4", day="2024-02-01")])  # fmt: skip
        _same_as_from_scratch(record, "MedicationRequest")
        _same_as_from_scratch(record, "Encounter")
        # Each placed once: one member row each, and the keys a grouping from scratch gives.
        _, keys = regroup(record, None)
        assert sorted(record._query("SELECT key, member FROM view_key")) == sorted(
            (key, rowid) for rowid, numbers in keys.items() for key in numbers
        )


def _padding(count: int) -> list[dict[str, Any]]:
    """Results of codes of their own: they keep a sync's arrivals under the share that regroups everything."""
    return [_result(f"pad{n:05}") | {"code": {"coding": [{"system": "http://loinc.org", "code": f"9-{n}"}]}}
            for n in range(count)]  # fmt: skip


@SETTINGS
@given(kept=st.lists(resource, min_size=1, max_size=20),
       batches=st.lists(st.tuples(st.sampled_from(SOURCES), st.lists(resource, min_size=1, max_size=30), companion),
                        min_size=1, max_size=3))  # fmt: skip
def test_many_arrivals_in_batches_of_one_sync_are_kept_as_grouped_from_scratch(
    tmp_path_factory: Any, kept: list[dict[str, Any]], batches: list[tuple[str, list[dict[str, Any]], Any]]
) -> None:
    # A record whose views are kept, then a sync that brings many new resources in batches (the views brought up to
    # date between them): copies of kept facts from this source or another, resources sharing identifiers and match
    # keys with kept ones and with each other, of two people and nobody's, with or without the Organization or
    # Medication that gives them their keys. Each batch stays under the share that regroups everything, so the
    # arrivals join (or are regrouped with) the kept facts.
    with Record.create(tmp_path_factory.mktemp("arrivals") / "v.carry", PASSPHRASE) as record:
        for source in SOURCES:
            for subject, name in (("1", NAMES[0]), ("2", NAMES[2])):
                _apply(record, ("patient", source, subject, name))
        _import(record, "Clinic A", _padding(80) + [_fhir(spec) for spec in kept])
        _check(record)
        for source, arriving, with_ in batches:
            _apply(record, ("arrive", source, arriving, with_))
            _check(record)
