"""Who last prescribed a medication, when the newest copy of its order names nobody (issue 20: at a million resources
the summary's first build after unlock read every copy of such orders, thousands each, and took seconds).

The other copies are asked the last stored first, and at most a bounded number of them: an order received again and again
costs what an order received a few times does. SQLite's trace of the statements the reconciliation ran shows which
orders' JSON it read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from support.records import PASSPHRASE

from app.record import Record
from app.record.medications import _COPIES_ASKED, reconcile_medications
from app.record.view_cache import current

COPIES = 3 * _COPIES_ASKED


def _order(n: int, prescriber: str | None = None) -> dict[str, Any]:
    order: dict[str, Any] = {
        "resourceType": "MedicationRequest", "id": f"o{n:04}", "status": "active", "intent": "order",
        "identifier": [{"system": "urn:clinic:orders", "value": "rx-1"}],  # the same order each time it came
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "197361", "display": "Amlodipine 5 MG Oral Tablet"}]},
        "subject": {"reference": "Patient/1"}, "authoredOn": "2024-01-01",
    }  # fmt: skip
    if prescriber:
        order["requester"] = {"display": prescriber}
    return order


def _record(path: Path, named: dict[int, str]) -> Record:
    """One order received COPIES times, in one file (the same times, so the later rowid is the newer copy), none naming who prescribed
    it but the copies in `named`."""
    record = Record.create(path, PASSPHRASE)
    patient = {"resourceType": "Patient", "id": "1", "name": [{"given": ["Ada"], "family": "Park"}]}
    record.import_bytes(json.dumps(patient).encode(), origin="patient.json", source="Clinic")
    body = b"\n".join(json.dumps(_order(n, named.get(n))).encode() for n in range(COPIES))
    record.import_bytes(body, origin="orders.ndjson", source="Clinic")
    return record


def _reconciled(record: Record) -> tuple[list[str | None], int]:
    """The current medications' last prescribers, and how many orders' JSON the reconciliation read."""
    assert current(record)
    ran: list[str] = []
    for db in (record._reader, record._conn()):
        if db is not None:
            db.set_trace_callback(ran.append)
    try:
        meds = reconcile_medications(record)
    finally:
        for db in (record._reader, record._conn()):
            if db is not None:
                db.set_trace_callback(None)
    asked = sum(len(re.findall(r"\d+", m.group(1))) for sql in ran for m in re.finditer(r"WHERE rowid IN \(([^)]*)\)", sql))
    return [e.last_prescriber for e in meds.current], asked


def test_an_order_received_many_times_is_asked_a_bounded_number_of_times(tmp_path: Path) -> None:
    newest = COPIES - 1
    with _record(tmp_path / "far.carry", {0: "Dr. Oldest"}) as record:  # only the oldest copy names someone
        prescribers, asked = _reconciled(record)
        assert len(record.rows("MedicationRequest", limit=COPIES + 1)) == COPIES
    assert prescribers == [None]
    assert asked <= _COPIES_ASKED + 1  # the newest copy, then at most _COPIES_ASKED others
    with _record(tmp_path / "near.carry", {newest - _COPIES_ASKED: "Dr. Near", 3: "Dr. Old"}) as record:
        prescribers, asked = _reconciled(record)
    assert prescribers == ["Dr. Near"]  # the newest copy that names someone, within those asked
    assert asked <= _COPIES_ASKED + 1
    with _record(tmp_path / "newest.carry", {newest: "Dr. Newest", newest - 1: "Dr. Before"}) as record:
        prescribers, asked = _reconciled(record)
    assert prescribers == ["Dr. Newest"]
    assert asked == 1


def test_a_requester_named_by_reference_is_the_practitioner_of_that_source(tmp_path: Path) -> None:
    practitioner = {"resourceType": "Practitioner", "id": "p1", "name": [{"prefix": ["Dr."], "given": ["Lena"],
                                                                          "family": "Ortiz"}]}  # fmt: skip
    order = _order(1) | {"requester": {"reference": "Practitioner/p1"}}
    other = _order(2) | {"id": "o-b", "identifier": [{"system": "urn:clinic:orders", "value": "rx-2"}],
                         "requester": {"reference": "Practitioner/p1"}}  # fmt: skip
    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        patient = {"resourceType": "Patient", "id": "1", "name": [{"given": ["Ada"], "family": "Park"}]}
        record.import_bytes(b"\n".join(json.dumps(r).encode() for r in (patient, practitioner, order)),
                            origin="a.ndjson", source="Clinic A")  # fmt: skip
        # Another clinic's p1 is someone else, and that clinic's order names a p1 it does not hold.
        record.import_bytes(b"\n".join(json.dumps(r).encode() for r in (patient, other)), origin="b.ndjson",
                            source="Clinic B")  # fmt: skip
        prescribers, _ = _reconciled(record)
    assert sorted(prescribers, key=str) == ["Dr. Lena Ortiz", None]  # each clinic's Ada is her own person here
