"""Properties of the grouping, on made-up records from several sources (hypothesis).

Whatever the data: no resource is lost or in two facts; the same data gives the same facts on every run and in
whatever order it arrives; a split the patient made survives the source being forgotten and synced again.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.copies import confirm_one_person
from support.records import PASSPHRASE

from app.record import Record, facts, split

SOURCES = ("Clinic A", "Clinic B", "Clinic C")
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# One clinical event; each source may hold a copy of it (with its own id, and a day or two of drift).
event = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Condition", "Observation", "MedicationRequest", "Immunization"]),
        "code": st.sampled_from(["1", "2", "3"]),
        "day": st.integers(min_value=1, max_value=40),
        "value": st.sampled_from([1.0, 2.5, 7.0]),
        "copies": st.lists(
            st.tuples(st.sampled_from(SOURCES), st.integers(min_value=0, max_value=2)), min_size=1, max_size=4
        ),
        "status": st.sampled_from(["active", "resolved", "stopped"]),
    }
)


def _resource(kind: str, rid: str, code: str, day: int, value: float, status: str) -> dict[str, Any]:
    when = f"2024-01-{day:02d}" if day <= 31 else f"2024-02-{day - 31:02d}"
    subject = {"reference": "Patient/p"}
    if kind == "Condition":
        return {
            "resourceType": kind, "id": rid, "subject": subject, "onsetDateTime": when,
            "clinicalStatus": {"coding": [{"code": "active" if status == "active" else "resolved"}]},
            "code": {"coding": [{"system": SNOMED, "code": f"10{code}", "display": f"Condition {code}"}]},
        }  # fmt: skip
    if kind == "Observation":
        return {
            "resourceType": kind, "id": rid, "status": "final", "subject": subject,
            "code": {"coding": [{"system": LOINC, "code": f"{code}-1", "display": f"Test {code}"}]},
            "effectiveDateTime": f"{when}T10:00:00Z", "valueQuantity": {"value": value, "unit": "mg"},
        }  # fmt: skip
    if kind == "MedicationRequest":
        return {
            "resourceType": kind, "id": rid, "status": "active" if status == "active" else "stopped",
            "intent": "order", "subject": subject, "authoredOn": when,
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": f"30{code}",
                                                      "display": f"Drug{code} {code}0 MG Oral Tablet"}]},
        }  # fmt: skip
    return {
        "resourceType": kind, "id": rid, "status": "completed", "patient": subject, "occurrenceDateTime": when,
        "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": f"1{code}"}]},
    }  # fmt: skip


def _sources(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    patient = {"resourceType": "Patient", "id": "p", "name": [{"given": ["Ada"], "family": "Park"}],
               "birthDate": "1970-01-01"}  # fmt: skip
    out: dict[str, list[dict[str, Any]]] = {name: [patient] for name in SOURCES}
    for number, item in enumerate(events):
        for copy, (source, drift) in enumerate(item["copies"]):
            day = item["day"] + (drift if item["type"] in ("Condition", "MedicationRequest") else 0)
            rid = f"{source[-1].lower()}-{number}-{copy}"
            out[source].append(_resource(item["type"], rid, item["code"], day, item["value"], item["status"]))
    return out


def _ndjson(resources: list[dict[str, Any]]) -> bytes:
    return b"\n".join(json.dumps(r).encode() for r in resources)


def _import(record: Record, data: dict[str, list[dict[str, Any]]], order: list[str], shuffle: int | None = None) -> None:
    for name in order:
        resources = list(data[name])
        if shuffle is not None:
            random.Random(shuffle).shuffle(resources)
        record.import_bytes(_ndjson(resources), origin=f"{name}.ndjson", source=name)
    confirm_one_person(record)  # Ada Park at every clinic: she confirms it once (issue 12)


def _partition(record: Record) -> list[tuple[str, tuple[tuple[str, str, str], ...]]]:
    return sorted((f.fact_id, tuple(sorted((m.source, m.resource_type, m.id) for m in f.members))) for f in facts(record))


def _forget(record: Record, name: str) -> None:
    # What `carry disconnect --forget` does to a source: it and every resource from it are gone.
    source = record.source(name, create=False)
    with record.write() as cur:
        cur.execute("DELETE FROM resource_fts WHERE rowid IN (SELECT rowid FROM resource WHERE source_id = ?)", (source.id,))
        cur.execute("DELETE FROM resource WHERE source_id = ?", (source.id,))
        cur.execute("DELETE FROM run WHERE source_id = ?", (source.id,))
        cur.execute("DELETE FROM source WHERE id = ?", (source.id,))


SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(events=st.lists(event, min_size=1, max_size=12), seed=st.integers(min_value=0, max_value=1000))
def test_grouping_loses_nothing_and_does_not_depend_on_order(
    tmp_path_factory: Any, events: list[dict[str, Any]], seed: int
) -> None:
    data = _sources(events)
    folder: Path = tmp_path_factory.mktemp("prop")
    with Record.create(folder / "one.carry", PASSPHRASE) as one, Record.create(folder / "two.carry", PASSPHRASE) as two:
        _import(one, data, list(SOURCES))
        _import(two, data, list(reversed(SOURCES)), shuffle=seed)
        first = _partition(one)
        members = [m for _, group in first for m in group]
        stored = sorted((r.source, r.resource_type, r.id) for r in one.rows())
        assert sorted(members) == stored  # every resource in exactly one fact
        assert first == _partition(one)  # the same on every run
        assert first == _partition(two)  # whatever order the sources and their resources came in
        _import(one, data, list(SOURCES))  # a re-sync of unchanged data changes nothing
        assert first == _partition(one)
        # Two resources of one source are in one fact only as copies: the same code on the same day.
        for found in facts(one):
            for source in SOURCES:
                mine = [m.row for m in found.members if m.source == source]
                assert len({((r.date or "")[:10], r.code) for r in mine}) <= 1


@SETTINGS
@given(events=st.lists(event, min_size=1, max_size=10), pick=st.integers(min_value=0, max_value=50))
def test_a_split_survives_forgetting_and_syncing_again(
    tmp_path_factory: Any, events: list[dict[str, Any]], pick: int
) -> None:
    data = _sources(events)
    folder: Path = tmp_path_factory.mktemp("split")
    with Record.create(folder / "split.carry", PASSPHRASE) as record:
        _import(record, data, list(SOURCES))
        merged = [f for f in facts(record) if len({m.source for m in f.members}) > 1 and f.resource_type != "Patient"]
        if not merged:
            return
        fact = merged[pick % len(merged)]
        member = fact.members[pick % len(fact.members)]
        others = {m.key for m in fact.members if m.source != member.source}
        split(record, fact, [member])
        _forget(record, member.source)
        assert all(m.source != member.source for f in facts(record) for m in f.members)
        _import(record, data, [member.source])  # synced again: new rowids, same (source, type, id)
        after = next(f for f in facts(record) if any(m.key == member.key for m in f.members))
        assert not others & {m.key for m in after.members}
        assert sorted(m for _, g in _partition(record) for m in g) == sorted(
            (r.source, r.resource_type, r.id) for r in record.rows()
        )


def test_possible_matches_do_not_depend_on_the_order_resources_were_stored_in(tmp_path: Path) -> None:
    # Three active Conditions of one code years apart, from one source: three facts, each offered as a possible
    # match of the others through the bucket's first member (by type, source and id). The grouping index reads
    # rows in the order they were stored (schema 19), so a record that stored them the other way round must not
    # name other facts in its hints.
    patient = {"resourceType": "Patient", "id": "p", "name": [{"given": ["Ada"], "family": "Park"}]}
    conditions = [_resource("Condition", f"c-{n}", "1", 1, 1.0, "active") for n in (1, 2, 3)]
    for n, condition in enumerate(conditions):
        condition["onsetDateTime"] = f"{2018 + 3 * n}-05-01"

    def hints(name: str, order: list[dict[str, Any]]) -> list[tuple[str, tuple[Any, ...]]]:
        with Record.create(tmp_path / f"{name}.carry", PASSPHRASE) as record:
            record.import_bytes(_ndjson([patient, *order]), origin="a.ndjson", source="Clinic A")
            return sorted((f.fact_id, f.possible_matches) for f in facts(record, "Condition"))

    forward = hints("forward", conditions)
    assert len(forward) == 3 and all(matches for _, matches in forward)
    assert forward == hints("backward", conditions[::-1])
