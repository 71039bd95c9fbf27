"""The IPS document: structure, references, empty required sections, narrative, and check_ips on our own output
and on three published IPS examples."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Any

import pytest
from share_helpers import DATA, Demo

from sync.fhir import validation_error
from sync.share import IPSError, build_ips, check_ips, default_selection, section_rows

LOINC = "http://loinc.org"
XHTML = "{http://www.w3.org/1999/xhtml}"


def _composition(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["entry"][0]["resource"]


def _section(bundle: dict[str, Any], code: str) -> dict[str, Any]:
    return next(s for s in _composition(bundle)["section"] if s["code"]["coding"][0]["code"] == code)


def _references(node: Any) -> list[str]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            found.append(node["reference"])
        for key, value in node.items():
            if key != "text":
                found.extend(_references(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_references(value))
    return found


def test_built_ips_is_a_valid_document(ips: dict[str, Any]) -> None:
    assert check_ips(ips) == []
    assert ips["type"] == "document"
    assert ips["identifier"]["value"].startswith("urn:uuid:")
    assert ips["timestamp"]
    types = [e["resource"]["resourceType"] for e in ips["entry"]]
    assert types[0] == "Composition" and types.count("Composition") == 1
    assert types.count("Patient") == 1
    composition = _composition(ips)
    assert composition["type"]["coding"][0] == {
        "system": LOINC, "code": "60591-5", "display": "Patient summary Document"}
    assert composition["subject"]["reference"] == ips["entry"][1]["fullUrl"]
    assert composition["author"] and composition["date"] and composition["title"]
    codes = [s["code"]["coding"][0]["code"] for s in composition["section"]]
    assert codes == ["11450-4", "48765-2", "10160-0", "11369-6", "30954-2", "47519-4"]
    for section in composition["section"]:
        assert section["text"]["status"] == "generated"
        assert section["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        assert section["entry"] and "emptyReason" not in section
    for entry in ips["entry"]:
        assert validation_error(entry["resource"]) is None


def test_every_reference_is_a_urn_uuid_inside_the_bundle(ips: dict[str, Any], demo: Demo) -> None:
    urls = [e["fullUrl"] for e in ips["entry"]]
    assert len(urls) == len(set(urls))
    assert all(u.startswith("urn:uuid:") for u in urls)
    for entry in ips["entry"]:
        for ref in _references(entry["resource"]):
            assert ref in urls, ref
    patient_url = ips["entry"][1]["fullUrl"]
    conditions = [e["resource"] for e in ips["entry"] if e["resource"]["resourceType"] == "Condition"]
    assert conditions and all(c["subject"]["reference"] == patient_url for c in conditions)
    # Encounters were not selected: their references are gone, not left dangling.
    assert all("encounter" not in c for c in conditions)
    # Practitioners were offered as supporting resources: the requester of a medication came along.
    requests = [e["resource"] for e in ips["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    assert any("requester" in r for r in requests)
    assert "Practitioner" in {e["resource"]["resourceType"] for e in ips["entry"]}


def test_original_resources_are_not_modified(demo: Demo) -> None:
    sections = demo.sections()
    before = copy.deepcopy(sections)
    build_ips(demo.patient, sections)
    assert sections == before


def test_references_to_absent_resources_keep_their_display_or_go(demo: Demo) -> None:
    patient = {**demo.patient, "id": "portal-a"}
    request = {
        "resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
        "medicationReference": {"reference": "Medication/med1"},
        "subject": {"reference": "https://portal-b.example/fhir/Patient/other-id"},
        "requester": {"reference": "Practitioner/nobody", "display": "Dr. Who"},
        "encounter": {"reference": "Encounter/e1"},
    }
    medication = {"resourceType": "Medication", "id": "med1", "code": {"text": "Metformin 500 mg"}}
    with_med = build_ips(patient, {"medications": [request]}, supporting=[medication])
    assert check_ips(with_med) == []
    urls = {e["resource"]["resourceType"]: e["fullUrl"] for e in with_med["entry"]}
    placed = next(e["resource"] for e in with_med["entry"] if e["resource"]["resourceType"] == "MedicationRequest")
    assert placed["medicationReference"] == {"reference": urls["Medication"]}
    assert placed["subject"] == {"reference": urls["Patient"]}  # another portal's id for the same patient
    assert placed["requester"] == {"display": "Dr. Who"}
    assert "encounter" not in placed
    assert "Metformin 500 mg" in _section(with_med, "10160-0")["text"]["div"]

    without_med = build_ips(patient, {"medications": [request]})
    assert check_ips(without_med) == []
    placed = next(e["resource"] for e in without_med["entry"]
                  if e["resource"]["resourceType"] == "MedicationRequest")
    assert placed["medicationReference"] == {"display": "Medication not included in this summary"}
    assert "Medication" not in {e["resource"]["resourceType"] for e in without_med["entry"]}


def test_supporting_resources_only_join_when_referenced(demo: Demo) -> None:
    unrelated = {"resourceType": "Medication", "id": "never-referenced", "code": {"text": "x"}}
    bundle = build_ips(demo.patient, {"problems": demo.sections()["problems"]}, supporting=[unrelated])
    assert "Medication" not in {e["resource"]["resourceType"] for e in bundle["entry"]}


def test_empty_required_sections_carry_an_empty_reason(demo: Demo) -> None:
    bundle = build_ips(demo.patient, {"immunizations": demo.by_type["Immunization"][:2], "allergies": []},
                       empty_reasons={"allergies": "nilknown"})
    assert check_ips(bundle) == []
    codes = [s["code"]["coding"][0]["code"] for s in _composition(bundle)["section"]]
    assert codes == ["11450-4", "48765-2", "10160-0", "11369-6"]  # unselected optional sections are left out
    problems = _section(bundle, "11450-4")
    assert "entry" not in problems
    assert problems["emptyReason"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason", "code": "unavailable",
        "display": "Unavailable"}
    assert "No information available." in problems["text"]["div"]
    allergies = _section(bundle, "48765-2")
    assert allergies["emptyReason"]["coding"][0]["code"] == "nilknown"
    assert "None known." in allergies["text"]["div"]


def test_narrative_escapes_markup(demo: Demo) -> None:
    evil = {
        "resourceType": "Condition", "id": "c-evil",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"text": '<script>alert("x")</script> & <b onclick="y">bold</b>'},
        "subject": {"reference": "Patient/whoever"},
    }
    bundle = build_ips(demo.patient, {"problems": [evil]})
    assert check_ips(bundle) == []
    div = _section(bundle, "11450-4")["text"]["div"]
    assert "<script>" not in div and "onclick=" not in div.replace("onclick=&quot;", "")
    assert "&lt;script&gt;" in div
    tree = ET.fromstring(div)
    assert [el.tag for el in tree.iter() if el.tag in (f"{XHTML}script", f"{XHTML}b")] == []
    cells = [el.text for el in tree.iter(f"{XHTML}td")]
    assert '<script>alert("x")</script> & <b onclick="y">bold</b>' in cells


def test_bad_selection_is_refused(demo: Demo) -> None:
    with pytest.raises(IPSError, match="cannot go into the active problems section"):
        build_ips(demo.patient, {"problems": demo.by_type["Immunization"][:1]})
    with pytest.raises(IPSError, match="does not know the summary section 'gossip'"):
        build_ips(demo.patient, {"gossip": []})
    with pytest.raises(IPSError, match="not a reason"):
        build_ips(demo.patient, {}, empty_reasons={"problems": "because"})
    with pytest.raises(IPSError, match="Patient resource"):
        build_ips(demo.by_type["Condition"][0], {})


def test_dates_and_author(demo: Demo) -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    organization = {"resourceType": "Organization", "id": "o1", "name": "Family practice"}
    bundle = build_ips(demo.patient, {}, now=moment, organization=organization)
    composition = _composition(bundle)
    assert bundle["timestamp"] == composition["date"] == "2026-03-04T05:06:07+00:00"
    author = next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == composition["author"][0]["reference"])
    assert author["resourceType"] == "Device"  # software-assembled, as IPS marks it
    custodian = next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == composition["custodian"]["reference"])
    assert custodian["name"] == "Family practice"
    assert check_ips(bundle) == []


# --- check_ips catches what it should ----------------------------------------------------------------------------


def test_check_ips_flags_broken_documents(ips: dict[str, Any]) -> None:
    moved = copy.deepcopy(ips)
    moved["entry"].append(moved["entry"].pop(0))
    assert any("first entry is not the Composition" in p for p in check_ips(moved))

    no_reason = copy.deepcopy(ips)
    problems = _section(no_reason, "11450-4")
    del problems["entry"]
    assert any("neither entries nor an emptyReason (ips-comp-1)" in p for p in check_ips(no_reason))

    dangling = copy.deepcopy(ips)
    dangling["entry"][3]["resource"]["asserter"] = {"reference": "Practitioner/not-here"}
    assert any("Practitioner/not-here does not resolve" in p for p in check_ips(dangling))

    no_text = copy.deepcopy(ips)
    del _section(no_text, "48765-2")["text"]
    assert any("has no narrative text" in p for p in check_ips(no_text))

    two_patients = copy.deepcopy(ips)
    two_patients["entry"].append({"fullUrl": "urn:uuid:0e8f4a4e-5d7c-4e45-9a55-2b0b2a6c1f01",
                                  "resource": {"resourceType": "Patient", "id": "p2", "name": [{"text": "X"}]}})
    assert any("2 Patients" in p for p in check_ips(two_patients))

    no_value = copy.deepcopy(ips)
    observation = next(e["resource"] for e in no_value["entry"] if e["resource"]["resourceType"] == "Observation")
    for key in [k for k in observation if k.startswith("value") or k in ("component", "hasMember")]:
        del observation[key]
    observation["effectiveDateTime"] = "2020-05"
    found = check_ips(no_value)
    assert any("(ips-2)" in p for p in found) and any("(ips-1)" in p for p in found)

    repeated = copy.deepcopy(ips)
    repeated["entry"][-1]["fullUrl"] = repeated["entry"][-2]["fullUrl"]
    assert any("repeats the fullUrl" in p for p in check_ips(repeated))

    model = copy.deepcopy(ips)
    model["entry"][2]["resource"]["no-such-element"] = 1
    assert any("R4B model" in p for p in check_ips(model))

    not_document = {**copy.deepcopy(ips), "type": "collection"}
    assert any("not 'document'" in p for p in check_ips(not_document))


# --- the published examples, read with the same code -------------------------------------------------------------


def _example(name: str) -> dict[str, Any]:
    return json.loads((DATA / "ips" / name).read_text(encoding="utf-8"))


def test_ig_example_passes() -> None:
    bundle = _example("IPS_IG-bundle-01.json")
    assert check_ips(bundle) == []
    titles = [title for title, _, rows, _ in section_rows(bundle)]
    assert len(titles) == 6
    rows = {title: rows for title, _, rows, _ in section_rows(bundle)}
    assert sum(len(r) for r in rows.values()) == 9  # 1 + 2 + 2 + 1 + 0 + 3 entries


def test_au_empty_reason_example_passes() -> None:
    bundle = _example("Bundle-aups-section-emptyreason.json")
    assert check_ips(bundle) == []
    sections = section_rows(bundle)
    assert all(rows == [] and empty == "No information available." for _, _, rows, empty in sections)


def test_epic_example_has_dangling_references() -> None:
    # Epic's connectathon IPS points at Practitioners and an Encounter it did not put in the Bundle: a real
    # finding (IPS asks that references resolve inside the document). Its Patient's narrative is HTML, not the
    # XHTML FHIR asks for (an unclosed <br>): the other real finding.
    problems = check_ips(_example("US_Epic_Connectathon_Sept.json"))
    assert problems[0] == (
        "The Bundle does not match the FHIR R4B model: entry[1].resource.text.div: the narrative is not well-formed XHTML"
    )
    problems = problems[1:]
    assert len(problems) == 11
    assert all("does not resolve inside the Bundle" in p for p in problems)
    assert {p.split("the reference ")[1].split("/")[0] for p in problems} == {"Practitioner", "Encounter"}
    rows = {title: rows for title, _, rows, _ in section_rows(_example("US_Epic_Connectathon_Sept.json"))}
    assert [len(r) for r in rows.values()] == [4, 3, 2, 4]


def test_default_selection(demo: Demo) -> None:
    everything = [r for resources in demo.by_type.values() for r in resources]
    labs = [o for o in demo.by_type["Observation"]
            if o["category"][0]["coding"][0]["code"] == "laboratory"]
    latest = max(o["effectiveDateTime"] for o in labs)
    now = datetime.fromisoformat(latest).astimezone(timezone.utc)
    picked = default_selection(everything, now=now)
    assert {c["code"]["text"] for c in picked["problems"]} >= {"Prediabetes", "Osteoporosis (disorder)"}
    assert all(c["clinicalStatus"]["coding"][0]["code"] == "active" for c in picked["problems"])
    assert all(m["status"] == "active" for m in picked["medications"])
    assert picked["allergies"] and picked["immunizations"] and picked["procedures"]
    assert picked["results"] and all(
        r["effectiveDateTime"] >= (now.replace(year=now.year - 1)).isoformat()[:10] for r in picked["results"])
    assert len(picked["results"]) < len(labs)
    assert check_ips(build_ips(demo.patient, picked)) == []
