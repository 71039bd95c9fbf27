"""The FHIR API enforces the token: 401 without one, the patient compartment, the granted scopes; reads, Binary
content negotiation, create for share-back, and 405 for every other write."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from sandbox_support import App, Connection

from sync.sandbox import SandboxServer

OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def _patient(sandbox: SandboxServer, username: str) -> str:
    return next(login.patient_id for login in sandbox.logins if login.username == username)


@pytest.fixture(scope="module")
def elvina(sandbox: SandboxServer) -> Connection:
    return App(sandbox).connect("elvina")


@pytest.fixture(scope="module")
def carolyne(sandbox: SandboxServer) -> Connection:
    return App(sandbox).connect("carolyne")


def _get(sandbox: SandboxServer, path: str, who: Connection | None, **kwargs: Any) -> httpx.Response:
    headers = {**(who.headers if who else {}), **kwargs.pop("headers", {})}
    return httpx.get(f"{sandbox.base_url}/{path}", headers=headers, timeout=10, **kwargs)


# --- authentication --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["Patient/{p}", "Observation?patient={p}&category=laboratory", "Condition?patient={p}", "Binary/x"]
)
def test_no_token_is_401(sandbox: SandboxServer, elvina: Connection, path: str) -> None:
    response = _get(sandbox, path.format(p=elvina.patient), None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("header", ["Bearer made-up-token", "Basic abc", "Bearer", "made-up-token"])
def test_bad_token_is_401(sandbox: SandboxServer, elvina: Connection, header: str) -> None:
    response = httpx.get(f"{sandbox.base_url}/Patient/{elvina.patient}", headers={"Authorization": header})
    assert response.status_code == 401


def test_own_patient_read(sandbox: SandboxServer, elvina: Connection) -> None:
    response = _get(sandbox, f"Patient/{elvina.patient}", elvina)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["id"] == elvina.patient
    assert body["meta"]["lastUpdated"] and response.headers["etag"] == 'W/"1"'
    assert response.headers["last-modified"].endswith("GMT")


# --- the patient compartment -----------------------------------------------------------------------------------


def test_another_patients_data_does_not_exist_for_this_token(sandbox: SandboxServer, elvina: Connection) -> None:
    jesus = _patient(sandbox, "jesus")
    assert _get(sandbox, f"Patient/{jesus}", elvina).status_code == 404
    their_observation = sandbox.store.for_patient(jesus, "Observation")[0]["id"]
    assert _get(sandbox, f"Observation/{their_observation}", elvina).status_code == 404
    search = _get(sandbox, "Observation", elvina, params={"patient": jesus, "category": "laboratory"})
    assert search.status_code == 403
    assert _get(sandbox, "Condition", elvina, params={"patient": f"Patient/{jesus}"}).status_code == 403


def test_patient_search_finds_only_the_own_patient(sandbox: SandboxServer, elvina: Connection) -> None:
    body = _get(sandbox, "Patient", elvina, params={"name": "a"}).json()
    assert [e["resource"]["id"] for e in body.get("entry", [])] in ([], [elvina.patient])
    own = _get(sandbox, "Patient", elvina, params={"_id": elvina.patient}).json()
    assert [e["resource"]["id"] for e in own["entry"]] == [elvina.patient]
    other = _get(sandbox, "Patient", elvina, params={"_id": _patient(sandbox, "jesus")}).json()
    assert other["total"] == 0


def test_reference_data_is_readable_by_any_patient(sandbox: SandboxServer, elvina: Connection) -> None:
    encounter = sandbox.store.for_patient(_patient(sandbox, "carolyne"), "Encounter")[0]
    practitioner = encounter["participant"][0]["individual"]["reference"]  # resolved from a conditional reference
    assert practitioner.startswith("Practitioner/")
    assert _get(sandbox, practitioner, elvina).status_code == 200
    organization = encounter["serviceProvider"]["reference"]
    assert _get(sandbox, organization, elvina).status_code == 200


def test_reference_data_search_needs_a_parameter(sandbox: SandboxServer, elvina: Connection) -> None:
    assert _get(sandbox, "Practitioner", elvina).status_code == 400
    found = _get(sandbox, "Practitioner", elvina, params={"identifier": "http://hl7.org/fhir/sid/us-npi|9999991489"})
    assert found.status_code == 200 and found.json()["total"] == 1


def test_unknown_resource_and_type(sandbox: SandboxServer, elvina: Connection) -> None:
    assert _get(sandbox, "Observation/does-not-exist", elvina).status_code == 404
    assert _get(sandbox, "Spaceship/1", elvina).status_code == 404
    assert _get(sandbox, "Spaceship", elvina, params={"patient": elvina.patient}).status_code == 404


# --- scopes ----------------------------------------------------------------------------------------------------


def test_scopes_limit_the_types(sandbox: SandboxServer) -> None:
    narrow = App(sandbox).connect("elvina", scope="launch/patient patient/Observation.rs")
    ok = _get(sandbox, "Observation", narrow, params={"patient": narrow.patient, "category": "vital-signs"})
    assert ok.status_code == 200 and ok.json()["total"] > 0
    refused = _get(sandbox, "Condition", narrow, params={"patient": narrow.patient})
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["code"] == "forbidden"
    assert _get(sandbox, f"Patient/{narrow.patient}", narrow).status_code == 403
    assert _get(sandbox, "Practitioner", narrow, params={"name": "a"}).status_code == 403


def test_read_without_search_and_search_without_read(sandbox: SandboxServer) -> None:
    read_only = App(sandbox).connect("elvina", scope="launch/patient patient/Condition.r")
    condition = sandbox.store.for_patient(read_only.patient, "Condition")[0]["id"]
    assert _get(sandbox, f"Condition/{condition}", read_only).status_code == 200
    assert _get(sandbox, "Condition", read_only, params={"patient": read_only.patient}).status_code == 403
    search_only = App(sandbox).connect("elvina", scope="launch/patient patient/Condition.s")
    assert _get(sandbox, f"Condition/{condition}", search_only).status_code == 403
    assert _get(sandbox, "Condition", search_only, params={"patient": read_only.patient}).status_code == 200


def test_granular_scope_limits_by_category(sandbox: SandboxServer) -> None:
    scope = f"launch/patient patient/Observation.rs?category={OBS_CATEGORY}|vital-signs"
    who = App(sandbox).connect("elvina", scope=scope)
    vitals = _get(sandbox, "Observation", who, params={"patient": who.patient, "category": "vital-signs"}).json()
    labs = _get(sandbox, "Observation", who, params={"patient": who.patient, "category": "laboratory"}).json()
    assert vitals["total"] > 0 and labs["total"] == 0
    a_lab = next(
        o for o in sandbox.store.for_patient(who.patient, "Observation") if o["category"][0]["coding"][0]["code"] == "laboratory"
    )
    assert _get(sandbox, f"Observation/{a_lab['id']}", who).status_code == 403


# --- Binary ----------------------------------------------------------------------------------------------------


def _documents(sandbox: SandboxServer, patient: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    docs = sandbox.store.for_patient(patient, "DocumentReference")
    by_url = [d for d in docs if "url" in d["content"][0]["attachment"]]
    inline = [d for d in docs if "data" in d["content"][0]["attachment"]]
    return by_url, inline


def test_documents_come_both_inline_and_as_relative_binary_urls(sandbox: SandboxServer, carolyne: Connection) -> None:
    by_url, inline = _documents(sandbox, carolyne.patient)
    assert by_url and inline and len(by_url) + len(inline) == 80
    for doc in by_url:
        assert doc["content"][0]["attachment"]["url"].startswith("Binary/")  # relative, as Epic serves them
    served = _get(sandbox, "DocumentReference", carolyne, params={"patient": carolyne.patient, "_count": 200}).json()
    forms = {"url" if "url" in e["resource"]["content"][0]["attachment"] else "data" for e in served["entry"]}
    assert forms == {"url", "data"}


def test_binary_raw_bytes_or_fhir_json_by_accept(sandbox: SandboxServer, carolyne: Connection) -> None:
    by_url, _ = _documents(sandbox, carolyne.patient)
    attachment = by_url[0]["content"][0]["attachment"]
    raw = _get(sandbox, attachment["url"], carolyne, headers={"Accept": attachment["contentType"]})
    assert raw.status_code == 200
    assert raw.headers["content-type"] == attachment["contentType"]
    assert len(raw.content) == attachment["size"]
    as_fhir = _get(sandbox, attachment["url"], carolyne, headers={"Accept": "application/fhir+json"})
    assert as_fhir.headers["content-type"].startswith("application/fhir+json")
    binary = as_fhir.json()
    assert binary["resourceType"] == "Binary" and binary["contentType"] == attachment["contentType"]
    assert base64.b64decode(binary["data"]) == raw.content
    assert _get(sandbox, attachment["url"], carolyne, headers={"Accept": "image/png"}).status_code == 406
    assert _get(sandbox, attachment["url"], carolyne).status_code == 200  # no Accept: the native bytes


def test_binary_of_another_patient_and_without_scope(sandbox: SandboxServer, carolyne: Connection, elvina: Connection) -> None:
    by_url, _ = _documents(sandbox, carolyne.patient)
    url = by_url[0]["content"][0]["attachment"]["url"]
    assert _get(sandbox, url, elvina).status_code == 404
    docs_only = App(sandbox).connect("carolyne", scope="launch/patient patient/DocumentReference.rs")
    assert _get(sandbox, url, docs_only).status_code == 403
    assert _get(sandbox, "Binary", carolyne, params={"patient": carolyne.patient}).status_code == 400


def test_xml_is_not_served(sandbox: SandboxServer, elvina: Connection) -> None:
    assert _get(sandbox, f"Patient/{elvina.patient}", elvina, headers={"Accept": "application/fhir+xml"}).status_code == 406
    assert _get(sandbox, f"Patient/{elvina.patient}", elvina, params={"_format": "xml"}).status_code == 406
    assert _get(sandbox, f"Patient/{elvina.patient}", elvina, headers={"Accept": "application/json"}).status_code == 200


# --- writes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "Observation/{o}"),
        ("DELETE", "Observation/{o}"),
        ("PATCH", "Observation/{o}"),
        ("POST", "Condition"),
        ("POST", "Observation/{o}"),
        ("PUT", "Observation"),
        ("DELETE", "Observation"),
        ("POST", ""),
    ],
)
def test_every_other_write_is_405(sandbox: SandboxServer, elvina: Connection, method: str, path: str) -> None:
    observation = sandbox.store.for_patient(elvina.patient, "Observation")[0]["id"]
    url = f"{sandbox.base_url}/{path.format(o=observation)}".rstrip("/")
    response = httpx.request(method, url, headers={**elvina.headers, "Content-Type": "application/fhir+json"}, content=b"{}")
    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"
    assert sandbox.store.get("Observation", observation) is not None


def _note(patient: str) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "34133-9"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "content": [{"attachment": {"contentType": "text/plain", "data": base64.b64encode(b"hello").decode()}}],
    }


def _post(sandbox: SandboxServer, who: Connection, rtype: str, body: Any, content_type: str = "application/fhir+json") -> httpx.Response:
    import json

    return httpx.post(
        f"{sandbox.base_url}/{rtype}", headers={**who.headers, "Content-Type": content_type}, content=json.dumps(body)
    )


def test_create_document_reference_with_the_create_scope(sandbox: SandboxServer) -> None:
    writer = App(sandbox).connect("karena", scope="launch/patient patient/*.rs patient/DocumentReference.c")
    response = _post(sandbox, writer, "DocumentReference", {**_note(writer.patient), "id": "chosen-by-client"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] != "chosen-by-client"
    assert response.headers["location"] == f"{sandbox.base_url}/DocumentReference/{created['id']}/_history/1"
    assert created["meta"]["versionId"] == "1" and created["meta"]["lastUpdated"]
    assert sandbox.store.get("DocumentReference", created["id"]) is not None
    found = _get(sandbox, "DocumentReference", writer, params={"patient": writer.patient}).json()
    assert created["id"] in {e["resource"]["id"] for e in found["entry"]}
    sandbox.store.delete("DocumentReference", created["id"])


def test_create_observation_with_v1_write_scope(sandbox: SandboxServer) -> None:
    writer = App(sandbox).connect("karena", scope="launch/patient patient/Observation.write")
    body = {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{writer.patient}"},
        "valueQuantity": {"value": 61.5, "unit": "/min"},
    }
    response = _post(sandbox, writer, "Observation", body)
    assert response.status_code == 201
    stored = sandbox.store.get("Observation", response.json()["id"])
    assert stored is not None and str(stored["valueQuantity"]["value"]) == "61.5"
    sandbox.store.delete("Observation", stored["id"])


def test_create_refusals(sandbox: SandboxServer) -> None:
    reader = App(sandbox).connect("karena", scope="launch/patient patient/*.rs")
    assert _post(sandbox, reader, "DocumentReference", _note(reader.patient)).status_code == 403
    writer = App(sandbox).connect("karena", scope="launch/patient patient/DocumentReference.c")
    other = _patient(sandbox, "jesus")
    assert _post(sandbox, writer, "DocumentReference", _note(other)).status_code == 403
    assert _post(sandbox, writer, "DocumentReference", _note(writer.patient), "text/plain").status_code == 415
    assert _post(sandbox, writer, "DocumentReference", {"resourceType": "Observation"}).status_code == 400
    no_subject = {k: v for k, v in _note(writer.patient).items() if k != "subject"}
    assert _post(sandbox, writer, "DocumentReference", no_subject).status_code == 422
    invalid = {**_note(writer.patient), "status": 17}
    response = _post(sandbox, writer, "DocumentReference", invalid)
    assert response.status_code == 422 and response.json()["issue"][0]["code"] == "invalid"
    broken = httpx.post(
        f"{sandbox.base_url}/DocumentReference",
        headers={**writer.headers, "Content-Type": "application/fhir+json"},
        content=b"{not json",
    )
    assert broken.status_code == 400
    assert len(sandbox.store.for_patient(writer.patient, "DocumentReference")) == 0
