"""One record across providers: the same Synthea patient from three sources gives each fact once, with all sources.

Clinic B is Elvina Lemke's Bundle with every id rewritten (and every reference to it); Clinic C is another such
copy with small changes: one condition resolved, one onset three days later, one resource more and one fewer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.copies import confirm_one_person, rewrite_ids
from support.medications import PENICILLIN_ALLERGY, import_conflicting_doses
from support.records import ELVINA, PASSPHRASE

from app.record import Record, confirm, decisions, fact_for, facts, find_fact, reconcile_medications, reset, split
from app.record.errors import RecordError

# Types Carry groups by codes and dates (identifiers alone would not find these copies: their ids are new).
GROUPED = (
    "Condition", "AllergyIntolerance", "MedicationRequest", "Immunization", "Observation", "Procedure", "Encounter",
    "DiagnosticReport", "Patient",
)  # fmt: skip
PREDIABETES = "024e4a57-498d-44f5-a1d3-2efad384a57d"  # resolved at Clinic C
ANAEMIA = "f5b423a4-5929-4706-ae92-2244ccccf4ea"  # onset three days later at Clinic C
DROPPED = "f10603ff-95ce-4f30-8f28-ec45f558b94d"  # an influenza vaccination Clinic C does not have
NAPROXEN = "fda7cbd7-d37d-44e4-afcb-41220694b05a"


def _entry(bundle: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(e for e in bundle["entry"] if e["resource"]["id"] == rid)


def clinic_c(bundle: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    copy, mapping = rewrite_ids(bundle, "clinic-c")
    _entry(copy, mapping[PREDIABETES])["resource"]["clinicalStatus"]["coding"][0]["code"] = "resolved"
    _entry(copy, mapping[ANAEMIA])["resource"]["onsetDateTime"] = "1987-08-28T14:59:16+00:00"
    copy["entry"] = [e for e in copy["entry"] if e["resource"]["id"] != mapping[DROPPED]]
    patient = copy["entry"][0]["fullUrl"]
    extra = {
        "fullUrl": "urn:uuid:0f0f0f0f-0000-4000-8000-000000000001",
        "resource": {
            "resourceType": "Condition",
            "id": "0f0f0f0f-0000-4000-8000-000000000001",
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003", "display": "Hypertension"}]},
            "subject": {"reference": patient},
            "onsetDateTime": "2020-01-15",
        },
        "request": {"method": "POST", "url": "Condition"},
    }
    copy["entry"].append(extra)
    return copy, mapping


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Iterator[tuple[Record, dict[str, Any]]]:
    original = json.loads((demo_dir / ELVINA).read_bytes())
    copy_b, map_b = rewrite_ids(original, "clinic-b")
    copy_c, map_c = clinic_c(original)
    record = Record.create(tmp_path_factory.mktemp("facts") / "three.carry", PASSPHRASE)
    record.import_bytes(json.dumps(original).encode(), origin="a.json", source="Clinic A")
    record.import_bytes(json.dumps(copy_b).encode(), origin="b.json", source="Clinic B")
    record.import_bytes(json.dumps(copy_c).encode(), origin="c.json", source="Clinic C")
    confirm_one_person(record)  # one patient from three clinics: she says so once
    yield record, {"original": original, "B": map_b, "C": map_c}
    record.close()


def _members(fact: Any) -> set[tuple[str, str]]:
    return {(m.source, m.id) for m in fact.members}


def test_each_fact_appears_once_with_all_its_sources(three: tuple[Record, dict[str, Any]]) -> None:
    record, data = three
    found = facts(record, GROUPED)
    by_member = {(m.source, m.id): f for f in found for m in f.members}
    checked = 0
    for entry in data["original"]["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] not in GROUPED:
            continue
        rid = resource["id"]
        expected = {("Clinic A", rid), ("Clinic B", data["B"][rid])}
        if rid != DROPPED:
            expected.add(("Clinic C", data["C"][rid]))
        fact = by_member[("Clinic A", rid)]
        assert _members(fact) == expected, (resource["resourceType"], resource.get("code"))
        assert fact.confidence == "same"
        checked += 1
    # Every grouped resource of the three copies is in exactly one fact: A's, plus Clinic C's extra condition.
    assert len(found) == checked + 1
    assert sum(len(f.members) for f in found) == record.count() - sum(
        record.count(t) for t in record.info().counts if t not in GROUPED
    )
    assert checked > 250


def test_the_newest_source_speaks_for_the_fact(three: tuple[Record, dict[str, Any]]) -> None:
    record, data = three
    fact = fact_for(record, "Condition", PREDIABETES)
    assert fact is not None
    assert fact.status == "resolved"  # Clinic C, imported last, resolved it
    assert fact.newest.source == "Clinic C" and [m.newest for m in fact.members].count(True) == 1
    assert fact.row.id == data["C"][PREDIABETES]
    assert "code+date" in fact.reasons
    as_json = fact.as_json()
    assert {s["source"] for s in as_json["sources"]} == {"Clinic A", "Clinic B", "Clinic C"}
    assert [s["newest"] for s in as_json["sources"]].count(True) == 1


def test_a_slightly_different_onset_is_the_same_condition_but_a_new_one_stands_alone(
    three: tuple[Record, dict[str, Any]],
) -> None:
    record, data = three
    anaemia = fact_for(record, "Condition", ANAEMIA)
    assert anaemia is not None and len(anaemia.members) == 3
    extra = fact_for(record, "Condition", "0f0f0f0f-0000-4000-8000-000000000001")
    assert extra is not None and _members(extra) == {("Clinic C", "0f0f0f0f-0000-4000-8000-000000000001")}
    assert extra.confidence == "single"


def test_separate_episodes_from_one_source_stay_separate(three: tuple[Record, dict[str, Any]]) -> None:
    record, _ = three
    bronchitis = [f for f in facts(record, "Condition") if f.row.code == "10509002"]
    assert len(bronchitis) == 3  # three episodes years apart, each from three clinics
    assert all(len(f.members) == 3 for f in bronchitis)


def test_carry_list_still_shows_every_original(three: tuple[Record, dict[str, Any]]) -> None:
    record, _ = three
    assert len(record.rows("Condition")) == 12 + 12 + 13
    assert len(facts(record, "Condition")) == 13


def test_the_medication_list_has_each_medication_once(three: tuple[Record, dict[str, Any]]) -> None:
    record, _ = three
    meds = reconcile_medications(record)
    names = [e.display for e in meds.current]
    assert names == sorted(set(names), key=str.lower)
    assert "Naproxen sodium 220 MG Oral Tablet" in names and "Alendronic acid 10 MG Oral Tablet" in names
    naproxen = next(e for e in meds.current if e.display.startswith("Naproxen"))
    assert naproxen.sources == ("Clinic A", "Clinic B", "Clinic C") or set(naproxen.sources) == {
        "Clinic A", "Clinic B", "Clinic C"
    }  # fmt: skip
    assert naproxen.last_prescriber == "Dr. Shonta Sanford"
    assert naproxen.drug is not None and naproxen.drug.ingredients == ("naproxen sodium",)
    stopped = {e.display for e in meds.stopped}
    assert "Acetaminophen 325 MG Oral Tablet" in stopped and not stopped & set(names)
    # Two orders of acetaminophen 325 mg on different days: one entry, two facts, each from three clinics.
    acetaminophen = next(e for e in meds.stopped if e.display == "Acetaminophen 325 MG Oral Tablet")
    assert len(acetaminophen.fact_ids) == 2
    assert meds.conflicts == () and meds.allergy_flags == ()  # shellfish is no ingredient of hers


def test_json_shapes_are_stable(three: tuple[Record, dict[str, Any]]) -> None:
    record, _ = three
    fact = facts(record, "MedicationRequest")[0]
    assert set(fact.as_json()) == {
        "fact_id", "resourceType", "display", "date", "status", "confidence", "reasons", "sources", "possible_matches"
    }  # fmt: skip
    assert set(fact.as_json()["sources"][0]) == {
        "source", "resourceType", "id", "date", "status", "display", "last_seen", "changed_at", "newest"
    }  # fmt: skip
    assert set(reconcile_medications(record).as_json()) == {"current", "stopped", "conflicts", "allergy_flags"}
    json.dumps([f.as_json() for f in facts(record)])


def test_facts_are_stable_across_runs(three: tuple[Record, dict[str, Any]]) -> None:
    record, _ = three
    first = [(f.fact_id, tuple(m.key for m in f.members)) for f in facts(record)]
    assert first == [(f.fact_id, tuple(m.key for m in f.members)) for f in facts(record)]
    assert len({fid for fid, _ in first}) == len(first)


def test_split_and_confirm_are_kept_and_undone(tmp_path: Path, demo_dir: Path) -> None:
    original = json.loads((demo_dir / ELVINA).read_bytes())
    copy_b, map_b = rewrite_ids(original, "clinic-b")
    with Record.create(tmp_path / "split.carry", PASSPHRASE) as record:
        record.import_bytes(json.dumps(original).encode(), origin="a.json", source="Clinic A")
        record.import_bytes(json.dumps(copy_b).encode(), origin="b.json", source="Clinic B")
        confirm_one_person(record)
        fact = fact_for(record, "MedicationRequest", NAPROXEN)
        assert fact is not None and len(fact.members) == 2
        parts = split(record, fact, ["Clinic B:MedicationRequest/" + map_b[NAPROXEN]])
        assert sorted(len(p.members) for p in parts) == [1, 1]
        apart = [p for p in parts if p.members[0].source == "Clinic B"][0]
        assert fact_for(record, "MedicationRequest", NAPROXEN).fact_id != apart.fact_id  # type: ignore[union-attr]
        assert [d.decision for d in decisions(record)] == ["different"]
        # A re-sync of both sources (unchanged and changed alike) keeps them apart.
        changed = json.loads(json.dumps(copy_b))
        _entry(changed, map_b[NAPROXEN])["resource"]["status"] = "on-hold"
        record.import_bytes(json.dumps(original).encode(), origin="a.json", source="Clinic A")
        record.import_bytes(json.dumps(changed).encode(), origin="b.json", source="Clinic B")
        assert len(fact_for(record, "MedicationRequest", NAPROXEN).members) == 1  # type: ignore[union-attr]
        # The patient changes her mind: confirming the two puts them back together, as confirmed.
        merged = confirm(record, fact_for(record, "MedicationRequest", NAPROXEN), apart.fact_id)  # type: ignore[arg-type]
        assert len(merged.members) == 2 and merged.confidence == "confirmed"
        assert [d.decision for d in decisions(record)] == ["same"]
        again = reset(record, merged)
        assert again is not None and again.confidence == "same" and decisions(record) == []
        actions = [a["action"] for a in record.audit_log() if a["action"].startswith("fact-")]
        assert actions == ["fact-reset", "fact-confirm", "fact-split"]


def test_confirm_merges_a_possible_match(tmp_path: Path) -> None:
    # Two sources name the same medicine, one by RxNorm code and one only in words: a possible match, not merged.
    lines: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "p", "name": [{"given": ["Ada"], "family": "Park"}], "birthDate": "1970-01-01"},
        {
            "resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": "308182", "display": "Amoxicillin 250 MG Oral Capsule"}]},
            "subject": {"reference": "Patient/p"}, "authoredOn": "2024-03-01",
        },
    ]  # fmt: skip
    other = [
        {**lines[0], "id": "q"},
        {
            "resourceType": "MedicationStatement", "id": "s1", "status": "active",
            "medicationCodeableConcept": {"text": "amoxicillin 250 mg oral capsule"},
            "subject": {"reference": "Patient/q"}, "effectiveDateTime": "2024-03-02",
        },
        {
            "resourceType": "MedicationRequest", "id": "s2", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": "Amoxicillin 250 MG Oral Capsule"},
            "subject": {"reference": "Patient/q"}, "authoredOn": "2024-03-02",
        },
    ]  # fmt: skip
    with Record.create(tmp_path / "possible.carry", PASSPHRASE) as record:
        record.import_bytes(b"\n".join(json.dumps(x).encode() for x in lines), origin="a.ndjson", source="Clinic A")
        record.import_bytes(b"\n".join(json.dumps(x).encode() for x in other), origin="b.ndjson", source="Clinic B")
        confirm_one_person(record)
        coded = fact_for(record, "MedicationRequest", "m1")
        assert coded is not None and len(coded.members) == 1
        assert [(p.reason, p.fact_id) for p in coded.possible_matches] == [
            ("same drug name", fact_for(record, "MedicationRequest", "s2").fact_id)  # type: ignore[union-attr]
        ]
        merged = confirm(record, coded, coded.possible_matches[0].fact_id)
        assert {m.id for m in merged.members} == {"m1", "s2"} and merged.possible_matches == ()
        with pytest.raises(RecordError, match="nothing to split"):
            split(record, fact_for(record, "MedicationStatement", "s1"))  # type: ignore[arg-type]
        with pytest.raises(RecordError, match="no fact"):
            find_fact(record, "f000000000000000")


def test_conflicting_doses_and_allergies_are_flagged(tmp_path: Path) -> None:
    allergy = PENICILLIN_ALLERGY
    with Record.create(tmp_path / "meds.carry", PASSPHRASE) as record:
        import_conflicting_doses(record, allergy)
        meds = reconcile_medications(record)
        assert [e.display for e in meds.current] == ["Hydrochlorothiazide 12.5 MG", "Hydrochlorothiazide 25 MG"]
        assert [e.last_prescriber for e in meds.current] == ["Dr. B1", "Dr. A1"]
        (conflict,) = meds.conflicts
        assert conflict.ingredients == ("hydrochlorothiazide",)
        assert "Clinic A" in conflict.message and "Clinic B" in conflict.message
        (flag,) = meds.allergy_flags
        assert flag.medication.display.startswith("Penicillin V") and flag.basis == "name"
        assert flag.substance == "penicillin" and not flag.medication.current
        # A refuted allergy is no reason to worry.
        refuted = {**allergy, "verificationStatus": {"coding": [{"code": "refuted"}]}}
        record.import_bytes(json.dumps(refuted).encode(), origin="fix.json", source="Clinic A")
        assert reconcile_medications(record).allergy_flags == ()


def test_documents_and_encounters_of_carolyne_from_two_sources(tmp_path: Path, demo_dir: Path) -> None:
    # Her references are conditional (Practitioner?identifier=...): the directory files go in first.
    carolyne = next(demo_dir.glob("Carolyne559_*.json"))
    original = json.loads(carolyne.read_bytes())
    copy_b, map_b = rewrite_ids(original, "clinic-b")
    with Record.create(tmp_path / "carolyne.carry", PASSPHRASE) as record:
        for path in sorted(demo_dir.glob("*Information*.json")):
            record.import_file(path, source="Clinic A")
        record.import_bytes(json.dumps(original).encode(), origin="a.json", source="Clinic A")
        record.import_bytes(json.dumps(copy_b).encode(), origin="b.json", source="Clinic B")
        confirm_one_person(record)
        documents = facts(record, "DocumentReference")
        assert len(documents) == 80
        assert all(len(f.members) == 2 and "attachment" in f.reasons for f in documents)
        encounters = facts(record, "Encounter")
        assert len(encounters) == 80 and all(len(f.members) == 2 for f in encounters)
        assert all("encounter" in f.reasons for f in encounters)  # start + class + organisation
        immunizations = facts(record, "Immunization")
        assert len(immunizations) == 59 and all(len(f.members) == 2 for f in immunizations)
        one = next(e for e in original["entry"] if e["resource"]["resourceType"] == "DocumentReference")["resource"]
        fact = fact_for(record, "DocumentReference", map_b[one["id"]])
        assert fact is not None and {m.id for m in fact.members} == {one["id"], map_b[one["id"]]}
