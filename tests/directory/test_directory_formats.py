"""Reading each endpoint-list shape into Providers (fixtures in tests/data/directory, see its README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.directory import (
    Directory,
    ListFormatError,
    Place,
    Provider,
    guess_vendor_key,
    read_list,
    read_list_file,
    read_slim,
    slim_document,
    usable_base,
    vendor_key,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "directory"


def test_lantern_file_gives_vendor_from_its_name_and_skips_unusable_addresses() -> None:
    found = read_list_file(DATA / "Example_Health_Systems_Inc_EndpointSources.json")
    names = [p.name for p in found]
    assert {p.vendor for p in found} == {"Example Health Systems Inc"}
    assert {p.source for p in found} == {"Example_Health_Systems_Inc_EndpointSources.json"}
    for refused in ("Internal test box", "Local only", "Plain HTTP Clinic", "Old Version Clinic", "Broken"):
        assert refused not in names
    # Three rows for the same hospital stay three until the Directory merges them.
    assert names.count("Hôpital Saint-Éloi") == 2 and "HOPITAL SAINT-ELOI" in names
    assert "Example Health Systems Inc (tenant7.example-health.org)" in names  # no name: vendor and host


def test_lantern_state_prefix_and_zip_plus_four() -> None:
    found = {p.name: p for p in read_list_file(DATA / "Example_Health_Systems_Inc_EndpointSources.json")}
    assert found["St. Mary's Pediatrics"].state == "MA"
    assert found["Riverside Family Practice"].zip == "01002"


def test_oracle_style_bundle_pairs_organizations_with_their_endpoints() -> None:
    found = read_list_file(DATA / "oracle_style_patient_r4_endpoints.json", vendor="Oracle Health")
    by_name = {p.name: p for p in found}
    assert set(by_name) == {"Lakeside Regional Medical Center", "Mountain View Clinic", "Desert Sun Hospital"}  # "off" left out
    lakeside = by_name["Lakeside Regional Medical Center"]
    assert lakeside.fhir_base == "https://fhir-myrecord.cerner.com/r4/tenant-1/"  # kept exactly, trailing slash too
    assert lakeside.place == Place("Springfield", "IL", "62701")
    assert by_name["Mountain View Clinic"].place == Place("Boulder", "CO", "80301")  # state name -> code, ZIP+4 -> 5
    assert {p.vendor_key for p in found} == {"oracle-health"}


def test_oracle_style_bundle_without_vendor_guesses_it_from_the_address() -> None:
    found = read_list_file(DATA / "oracle_style_patient_r4_endpoints.json")
    assert {(p.vendor, p.vendor_key) for p in found} == {("Oracle Health", "oracle-health")}


def test_epic_legacy_bundle_reads_contained_organizations() -> None:
    found = {p.name: p for p in read_list_file(DATA / "epic_style_r4_endpoints.json", vendor="Epic Systems Corporation")}
    assert set(found) == {"Northwind Health", "Contoso Clinics"}  # the Direct (non-FHIR) endpoint is left out
    assert found["Northwind Health"].place == Place("Madison", "WI", "")
    assert found["Northwind Health"].vendor == "Epic" and found["Northwind Health"].vendor_key == "epic"


def test_brands_bundle_reads_brands_facilities_aliases_and_portals() -> None:
    found = read_list_file(DATA / "brands-example2.json")
    by_name = {p.name: p for p in found}
    health = by_name["ExampleHealth"]
    assert health.fhir_base == "https://ehr.example.com/ProdFHIR/api/FHIR/R4"  # the DSTU2 endpoint is left out
    assert "GoodHealth Hospital" in health.aliases and "My ExampleHealth Portal" in health.aliases
    assert {p.city for p in health.places} >= {"Madison", "Cedar Rapids", "Sioux City"}
    # A facility without endpoints of its own uses its brand's (partOf), and is findable by the brand's name.
    facility = by_name["ExampleHealth Community Hospital"]
    assert facility.fhir_base == health.fhir_base and "ExampleHealth" in facility.aliases
    assert facility.place == Place("Lake City", "IA", "")


def test_brands_bundle_with_two_portals_gives_one_entry_per_endpoint() -> None:
    found = read_list_file(DATA / "brands-example3.json")
    assert sorted(p.fhir_base for p in found) == [
        "https://ehr1.example.org/ExampleHospital/api/FHIR/R4",
        "https://ehr2.example.org/ExampleHospital/api/FHIR/R4",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"Endpoints": [{"URL": "https://a.example/fhir", ', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'{"resourceType": "Patient"}', "not an endpoint list"),
        (b"[1, 2]", "not an endpoint list"),
        (b'{"Endpoints": []}', "no usable FHIR R4 endpoints"),
        (b'{"Endpoints": [{"URL": "http://insecure.example/fhir", "OrganizationName": "X"}]}', "no usable"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": []}', "no usable"),
        (
            b'{"resourceType": "Bundle", "link": [{"relation": "next", "url": "https://x.example/p2"}], "entry": []}',
            "only the first page",
        ),
    ],
)
def test_unreadable_lists_are_refused_with_a_plain_sentence(data: bytes, message: str) -> None:
    with pytest.raises(ListFormatError, match=message):
        read_list(data, source="vendor.json")


def test_missing_file_is_a_directory_error(tmp_path: Path) -> None:
    with pytest.raises(ListFormatError, match="Cannot read missing.json"):
        read_list_file(tmp_path / "missing.json")


def test_slim_round_trip_keeps_every_field() -> None:
    original = Provider(
        "Hôpital", "https://h.example/fhir", "Epic", "epic", (Place("Québec", "QC", ""),), ("Alias",), "src", "note"
    )
    document = json.loads(json.dumps(slim_document([original], sources=[{"id": "src"}])))
    assert read_slim(document) == [original]
    assert read_list(json.dumps(document).encode()) == [original]
    with pytest.raises(ListFormatError, match="malformed"):
        read_slim(document | {"providers": [["only", "two"]]})


@pytest.mark.parametrize(
    ("url", "usable"),
    [
        ("https://fhir.example.org/r4", True),
        ("  https://fhir.example.org/r4 ", True),
        ("http://127.0.0.1:8551/fhir", True),
        ("http://fhir.example.org/r4", False),
        ("https://192.168.1.10/fhir", False),
        ("https://8.8.8.8/fhir", True),
        ("https://user:pw@fhir.example.org/r4", False),
        ("https://intranet/fhir", False),
        ("https://fhir.example.org:notaport/r4", False),
        ("https://fhir.example.org/api/FHIR/DSTU2/", False),
        (None, False),
    ],
)
def test_usable_base(url: object, usable: bool) -> None:
    assert (usable_base(url) is not None) is usable


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Epic Systems Corporation", "epic"),
        ("Cerner Corporation", "oracle-health"),
        ("Oracle Health", "oracle-health"),
        ("athenahealth, Inc.", "athenahealth"),
        ("Medical Information Technology, Inc. (MEDITECH)", "meditech"),
        ("eClinicalWorks, LLC", "eclinicalworks"),
        ("NextGen Healthcare", "nextgen"),
        ("Veradigm", "veradigm"),
        ("Greenway Health, LLC", "greenway"),
        ("Practice Fusion", "practice-fusion"),
        ("Altera Digital Health Inc.", "altera"),
        ("Allscripts", "altera"),
        ("practice-fusion", "practice-fusion"),
        ("Carry sandbox", "sandbox"),
        ("Epicure Dental", "other"),  # a word that starts with "epic" is not Epic
        ("MEDHOST", "other"),
    ],
)
def test_vendor_key(name: str, key: str) -> None:
    assert vendor_key(name) == key


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://fhir-myrecord.cerner.com/r4/abc/", "oracle-health"),
        ("https://api.platform.athenahealth.com/fhir/r4", "athenahealth"),
        ("https://fhir4.eclinicalworks.com/fhir/r4/ABC", "eclinicalworks"),
        ("https://fhir.fhirpoint.open.allscripts.com/fhirroute/fhir/1421", "veradigm"),
        ("https://open.allscripts.com/fhir", "altera"),
        ("https://mychart.example.org/FHIR/api/FHIR/R4/", "epic"),
        ("https://mtrestapis-live01.hospital.example/v2/uscore/R4", "meditech"),
        ("https://launch.smarthealthit.org/v/r4/fhir", "sandbox"),
        ("https://fhir.example.org/r4", "other"),
    ],
)
def test_guess_vendor_key(url: str, key: str) -> None:
    assert guess_vendor_key(url) == key


def test_directory_merges_entries_with_the_same_base_and_name() -> None:
    directory = Directory(read_list_file(DATA / "Example_Health_Systems_Inc_EndpointSources.json"))
    eloi = [p for p in directory if p.name.casefold().startswith(("hôpital", "hopital"))]
    assert len(eloi) == 1  # three rows: accents, case, port 443 and trailing slash differ only
    assert eloi[0].name == "Hôpital Saint-Éloi" and eloi[0].zip == "02115"  # the first name, the places of all
    # Same base, different names: different entries (athenahealth serves thousands of practices from one base).
    assert sum(p.fhir_base.startswith("https://fhir.example-health.org/") for p in directory) == 3
