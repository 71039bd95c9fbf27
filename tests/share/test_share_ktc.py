"""The Kill the Clipboard PatientSharedBundle: built from the demo patient's records, held to the profile's rules
by check_ktc, and refused by it where a receiver would refuse it (an IPS document is one of the profile's negative
test vectors)."""

from __future__ import annotations

import base64
import io
from copy import deepcopy
from typing import Any

import pypdf
import pytest
from share_helpers import Demo

from sync.share import IPSError, build_ktc, check_ktc, collection_rows, describe


def _records(demo: Demo) -> list[dict[str, Any]]:
    return [r for rows in demo.sections().values() for r in rows]


def test_the_bundle_follows_the_profile(demo: Demo) -> None:
    patient = deepcopy(demo.patient)
    patient.setdefault("meta", {})["profile"] = ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]
    bundle = build_ktc(patient, _records(demo), supporting=demo.supporting())
    assert check_ktc(bundle) == []
    resources = [e["resource"] for e in bundle["entry"]]
    assert not any("profile" in (r.get("meta") or {}) for r in resources)
    assert {"Medication", "Practitioner"} & {r["resourceType"] for r in resources}  # what the items refer to
    doc = resources[-1]
    pdf = pypdf.PdfReader(io.BytesIO(base64.b64decode(doc["content"][0]["attachment"]["data"])))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in pdf.pages)
    for resource in resources[1:-1]:
        assert " ".join(describe(resource).item.split()) in text
    # Every resource but the Patient and the document is a row somewhere.
    assert sum(len(rows) for _t, _i, rows, _e in collection_rows(bundle)) == len(resources) - 2


def test_what_a_receiver_refuses_is_refused(demo: Demo, ips: dict[str, Any]) -> None:
    assert "Bundle.type must be collection." in check_ktc(ips)
    bundle = build_ktc(demo.patient, _records(demo))
    two_patients = deepcopy(bundle)
    two_patients["entry"].append(deepcopy(bundle["entry"][0]))
    assert any("exactly one Patient" in p for p in check_ktc(two_patients))
    profiled = deepcopy(bundle)
    profiled["entry"][1]["resource"]["meta"] = {"profile": ["http://example.org/p"]}
    assert any("meta.profile" in p for p in check_ktc(profiled))
    wrong_doc = deepcopy(bundle)
    wrong_doc["entry"][-1]["resource"]["type"]["coding"][0]["code"] = "34133-9"
    wrong_doc["entry"][-1]["resource"]["author"] = []
    problems = check_ktc(wrong_doc)
    assert any("60591-5" in p for p in problems) and any("author" in p for p in problems)


def test_a_patient_a_clinic_cannot_match_is_refused(demo: Demo) -> None:
    patient = {k: v for k, v in demo.patient.items() if k != "birthDate"}
    with pytest.raises(IPSError, match="no birth date"):
        build_ktc(patient, _records(demo))
