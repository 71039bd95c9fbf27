"""C-CDA documents through `carry import`: HL7's example CCDs become R4 resources, the original XML is kept as a
DocumentReference linked by a Provenance, the same document again changes nothing, the converter prints nothing,
and bad documents are refused with the record unchanged."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from importers.conftest import refusal
from support.records import PASSPHRASE

from app.record import Record
from app.record.imports import import_path

DATA = Path(__file__).resolve().parent.parent / "data" / "ccda"


def _stored(record: Record) -> list[dict[str, Any]]:
    return [json.loads(raw) for (raw,) in record.read("SELECT resource_json(raw, type, id) FROM resource ORDER BY rowid")]


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["reference"]] if isinstance(node.get("reference"), str) else []
        return found + [r for value in node.values() for r in _references(value)]
    if isinstance(node, list):
        return [r for value in node for r in _references(value)]
    return []


def test_hl7_ccd_becomes_fhir_with_the_document_kept(record: Record) -> None:
    report = import_path(record, DATA / "CCD1.xml")
    assert report.counts.invalid == 0
    stored = _stored(record)
    types = Counter(r["resourceType"] for r in stored)
    assert types["Condition"] == 4 and types["AllergyIntolerance"] == 2 and types["Immunization"] == 5
    assert types["MedicationStatement"] == 2 and types["Procedure"] >= 1 and types["Encounter"] == 1
    vitals = [r for r in stored if r["resourceType"] == "Observation"
              and r["category"][0]["coding"][0]["code"] == "vital-signs"]  # fmt: skip
    assert vitals
    [patient] = [r for r in stored if r["resourceType"] == "Patient"]
    conditions = [r for r in stored if r["resourceType"] == "Condition"]
    assert {c["subject"]["reference"] for c in conditions} == {f"Patient/{patient['id']}"}
    # Every reference points at a resource of this document: none dangles.
    ids = {f"{r['resourceType']}/{r['id']}" for r in stored}
    assert set(_references(stored)) <= ids
    # The original document, byte for byte, and the Provenance that links everything made from it to it.
    [document] = [r for r in stored if r["resourceType"] == "DocumentReference"
                  and r["content"][0]["attachment"]["contentType"] == "application/xml"]  # fmt: skip
    assert base64.b64decode(document["content"][0]["attachment"]["data"]) == (DATA / "CCD1.xml").read_bytes()
    assert document["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert "could not be turned into FHIR and are readable here only" in document["description"]
    [provenance] = [r for r in stored if r["resourceType"] == "Provenance"
                    and r["entity"][0]["what"]["reference"] == f"DocumentReference/{document['id']}"]  # fmt: skip
    assert {t["reference"] for t in provenance["target"]} == ids - {f"DocumentReference/{document['id']}",
                                                                     f"Provenance/{provenance['id']}"}  # fmt: skip
    assert record.read("SELECT DISTINCT valid FROM resource") == [(1,)]


def test_the_same_document_again_changes_nothing(record: Record) -> None:
    first = import_path(record, DATA / "CCD2.xml")
    again = import_path(record, DATA / "CCD2.xml")
    assert first.counts.imported > 10
    assert (again.counts.imported, again.counts.updated, again.counts.unchanged) == (0, 0, first.counts.imported)


def test_carry_import_prints_only_its_report(tmp_path: Path) -> None:
    env = {**os.environ, "CARRY_RECORD": str(tmp_path / "cli.carry"), "CARRY_PASSPHRASE": PASSPHRASE,
           "CARRY_NEW_PASSPHRASE": PASSPHRASE}  # fmt: skip
    subprocess.run([sys.executable, "-m", "app.cli", "init"], env=env, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "app.cli", "import", "--json", str(DATA / "CCD1.xml")],
                          env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0 and done.stderr == ""
    [report] = json.loads(done.stdout)  # the converter's log lines would break the JSON
    assert report["file"] == "CCD1.xml" and report["imported"] > 50


def _truncated(tmp_path: Path) -> Path:
    data = (DATA / "CCD2.xml").read_bytes()
    path = tmp_path / "visit.xml"
    path.write_bytes(data[: len(data) // 2])
    return path


def _with_entities(tmp_path: Path) -> Path:
    path = tmp_path / "visit.xml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [<!ENTITY a "aaaaaaaa">]>\n'
                    '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&a;</title></ClinicalDocument>\n')  # fmt: skip
    return path


def _empty_document(tmp_path: Path) -> Path:
    path = tmp_path / "visit.xml"
    path.write_text('<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Visit</title></ClinicalDocument>\n')
    return path


def _without_patient(tmp_path: Path) -> Path:
    path = tmp_path / "visit.xml"
    path.write_text(re.sub(r"<recordTarget>.*?</recordTarget>", "<recordTarget/>", (DATA / "CCD2.xml").read_text(),
                           flags=re.S))  # fmt: skip
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_truncated, "it is not well-formed XML, or it declares a DTD, which C-CDA documents never do."),
        (_with_entities, "it is not well-formed XML, or it declares a DTD, which C-CDA documents never do."),
        (_empty_document, "it is a C-CDA document that names no patient (its recordTarget is missing)."),
        (_without_patient, "it is a C-CDA document that names no patient (its recordTarget is missing)."),
    ],
)
def test_bad_documents_are_refused_and_change_nothing(record: Record, tmp_path: Path, make: Any, reason: str) -> None:
    import_path(record, DATA / "CCD2.xml")
    assert refusal(record, make(tmp_path)) == f"visit.xml: not imported: {reason}"
