"""Properties of people (issue 12), on made-up records of several sources whose patient ids collide (hypothesis).

Whatever the data and whatever the patient merged: every resource with a subject belongs to exactly one person,
or to nobody (unassigned) when its source holds no such Patient; and nothing shown or shared for a person — facts,
medications, search, share candidates — is another person's resource.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.records import PASSPHRASE

from app.record import (
    Record,
    facts,
    merge_people,
    people,
    person_clause,
    reconcile_medications,
    subject_clause,
    unassigned,
)
from app.shares import candidates
from app.views import Scope, TimelineFilter, search, timeline_page
from sync.share import ShareError

SOURCES = ("Clinic A", "Clinic B", "Clinic C")
NAMES = (("Ada", "Park"), ("ADA", "PARK"), ("Bo", "Lin"))
IDS = ("1", "2")  # small ids, as real portals use: they collide across sources

patient = st.tuples(st.sampled_from(SOURCES), st.sampled_from(IDS), st.sampled_from(NAMES))
item = st.fixed_dictionaries(
    {
        "source": st.sampled_from(SOURCES),
        "subject": st.sampled_from([*IDS, "9"]),  # Patient/9 is nobody's anywhere
        "type": st.sampled_from(["Condition", "MedicationRequest", "AllergyIntolerance"]),
        "code": st.sampled_from(["1", "2"]),
    }
)


def _resource(n: int, spec: dict[str, Any]) -> dict[str, Any]:
    ref = {"reference": f"Patient/{spec['subject']}"}
    text = f"Thing{spec['code']}"
    if spec["type"] == "Condition":
        return {"resourceType": "Condition", "id": f"c{n}", "subject": ref, "onsetDateTime": "2024-01-01",
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": f"10{spec['code']}", "display": text}]}}  # fmt: skip
    if spec["type"] == "MedicationRequest":
        return {"resourceType": "MedicationRequest", "id": f"m{n}", "status": "active", "intent": "order",
                "subject": ref, "authoredOn": "2024-01-01",
                "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                          "code": f"30{spec['code']}", "display": f"{text} 10 MG Oral Tablet"}]}}  # fmt: skip
    return {"resourceType": "AllergyIntolerance", "id": f"a{n}", "patient": ref,
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": f"20{spec['code']}", "display": text}]}}  # fmt: skip


def _record(folder: Path, patients: list[tuple[str, str, tuple[str, str]]], items: list[dict[str, Any]]) -> Record:
    by_source: dict[str, list[dict[str, Any]]] = {name: [] for name in SOURCES}
    seen: set[tuple[str, str]] = set()
    for source, rid, (given, family) in patients:
        if (source, rid) not in seen:
            seen.add((source, rid))
            by_source[source].append({"resourceType": "Patient", "id": rid, "birthDate": "1970-01-01",
                                      "name": [{"given": [given], "family": family}]})  # fmt: skip
    for n, spec in enumerate(items):
        by_source[spec["source"]].append(_resource(n, spec))
    record = Record.create(folder / "people.carry", PASSPHRASE)
    for name, resources in by_source.items():
        if resources:
            record.import_bytes(b"\n".join(json.dumps(r).encode() for r in resources), origin=f"{name}.ndjson",
                                source=name)  # fmt: skip
    return record


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(
    patients=st.lists(patient, min_size=1, max_size=5),
    items=st.lists(item, min_size=1, max_size=12),
    merges=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=2),
)
def test_every_resource_has_one_owner_and_no_person_sees_anothers(
    tmp_path_factory: Any, patients: list[tuple[str, str, tuple[str, str]]], items: list[dict[str, Any]],
    merges: list[tuple[int, int]],
) -> None:  # fmt: skip
    with _record(tmp_path_factory.mktemp("people"), patients, items) as record:
        for a, b in merges:  # whatever the patient merged
            everyone = people(record)
            if a < len(everyone) and b < len(everyone) and a != b:
                merge_people(record, everyone[a], everyone[b])
        everyone = people(record)
        sources = {s.id: s.name for s in record.sources()}
        held = {(source, f"Patient/{rid}") for source, rid, _ in patients}
        loose = {r.rowid for r in unassigned(record, everyone)}
        for row in record.rows(where="r.subject IS NOT NULL"):
            owners = [p.id for p in everyone if p.admits(row.source_id, row.subject)]
            placed = (sources[row.source_id], row.subject) in held
            assert len(owners) == (1 if placed else 0), row
            assert (row.rowid in loose) == (not placed)
        for person in everyone:
            clause, params = subject_clause(person.subjects)
            mine = {r.rowid for r in record.rows(where=clause, params=params)}
            for fact in facts(record, subjects=person.subjects):
                assert {m.rowid for m in fact.members} <= mine
            assert all(r.rowid in mine for r in record.search("Thing", where=clause, params=params, limit=500))
            found = {(h.source_id, h.id) for h in search(record, Scope(person), "Thing", limit=500)}
            assert found <= {(r.source_id, r.id) for r in record.rows(where=clause, params=params)}
            page = timeline_page(record, Scope(person), TimelineFilter(), limit=500)
            assert {e.rowid for e in page.entries} <= mine
            exported, context = person_clause(record, person)
            assert {r.rowid for r in record.rows(where=f"({exported}) AND r.subject IS NOT NULL", params=context)} <= mine
            meds = reconcile_medications(record, subjects=person.subjects)
            assert {f for e in [*meds.current, *meds.stopped] for f in e.fact_ids} <= {
                f.fact_id for f in facts(record, subjects=person.subjects)
            }
            try:
                selection = candidates(record, person)
            except ShareError:
                continue  # nothing of theirs to share
            for c in selection.items:
                subject = c.resource.get("subject") or c.resource.get("patient") or {}
                assert person.admits(c.source_id, subject.get("reference")), c
        # A fact never joins resources of two persons (or of a person and nobody).
        owner = {s: p.id for p in everyone for s in p.subjects}
        for fact in facts(record):
            assert len({owner.get((m.source_id, m.row.subject)) for m in fact.members if m.row.subject}) <= 1
