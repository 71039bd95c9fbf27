"""Loading Synthea bundles, the store tests use between syncs, logins, client files, and the server's lifecycle."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from sync.assets import DEMO_PATIENTS
from sync.fhir import dumps
from sync.sandbox import (
    ClientRegistration,
    SandboxDataError,
    SandboxError,
    SandboxServer,
    SandboxStore,
    load_clients,
)
from sync.sandbox.store import make_logins


@pytest.fixture(scope="module")
def demo() -> SandboxStore:
    store = SandboxStore()
    store.load([DEMO_PATIENTS])
    return store


def _every(store: SandboxStore) -> list[dict]:
    return [r for rtype in store.types() for r in store._resources[rtype].values()]  # noqa: SLF001


def test_loading_is_deterministic(demo: SandboxStore) -> None:
    again = SandboxStore()
    again.load(sorted(DEMO_PATIENTS.glob("*.json"), reverse=True))  # order of the files does not matter
    assert demo.types() == again.types()
    for rtype in demo.types():
        assert sorted(r["id"] for r in _every(demo) if r["resourceType"] == rtype) == sorted(
            r["id"] for r in _every(again) if r["resourceType"] == rtype
        ), rtype
    assert make_logins(demo.patients()) == make_logins(again.patients())


def test_references_are_resolved(demo: SandboxStore) -> None:
    text = dumps(_every(demo)).decode()
    assert '"reference":"urn:uuid:' not in text
    assert "?identifier=" not in text
    carolyne = next(p["id"] for p in demo.patients() if p["name"][0]["given"][0].startswith("Carolyne"))
    encounter = demo.for_patient(carolyne, "Encounter")[0]
    practitioner = encounter["participant"][0]["individual"]["reference"].split("/")
    assert demo.get(practitioner[0], practitioner[1]) is not None


def test_every_resource_has_meta(demo: SandboxStore) -> None:
    for resource in _every(demo):
        assert resource["meta"]["lastUpdated"].endswith("Z") and resource["meta"]["versionId"] == "1"


def test_compartments(demo: SandboxStore) -> None:
    patients = [p["id"] for p in demo.patients()]
    assert len(patients) == 5
    for rtype in ("Observation", "Condition", "Encounter", "Claim", "ExplanationOfBenefit"):
        counted = sum(len(demo.for_patient(p, rtype)) for p in patients)
        assert counted == len([r for r in _every(demo) if r["resourceType"] == rtype]), rtype
    for patient in patients:
        assert [p["id"] for p in demo.for_patient(patient, "Patient")] == [patient]
    assert len(demo.for_patient(patients[0], "Practitioner")) > 1000  # reference data: all of it


def test_documents_split_deterministically(demo: SandboxStore) -> None:
    carolyne = next(p["id"] for p in demo.patients() if p["name"][0]["given"][0].startswith("Carolyne"))
    docs = demo.for_patient(carolyne, "DocumentReference")
    by_url = [d for d in docs if "url" in d["content"][0]["attachment"]]
    assert len(by_url) == 40 and len(docs) == 80
    binaries = demo.for_patient(carolyne, "Binary")
    assert {f"Binary/{b['id']}" for b in binaries} == {d["content"][0]["attachment"]["url"] for d in by_url}
    assert all(b["securityContext"]["reference"].startswith("DocumentReference/") for b in binaries)


def test_logins() -> None:
    logins = make_logins(
        [
            {"resourceType": "Patient", "id": "a", "name": [{"given": ["Ann12"], "family": "Lee3"}]},
            {"resourceType": "Patient", "id": "b", "name": [{"given": ["Ann"], "family": "Oak"}]},
            {"resourceType": "Patient", "id": "c"},
        ]
    )
    assert [(l.username, l.password, l.patient_id) for l in logins] == [
        ("ann", "ann-demo", "b"),
        ("ann2", "ann2-demo", "a"),
        ("patient", "patient-demo", "c"),
    ]
    assert logins[1].full_name == "Ann12 Lee3"


def test_put_get_delete(tmp_path: Path) -> None:
    store = SandboxStore()
    created = store.put({"resourceType": "Patient", "name": [{"family": "Test"}]})
    assert created["id"] and created["meta"]["versionId"] == "1"
    again = store.put({**created, "gender": "other"})
    assert again["meta"]["versionId"] == "2" and again["meta"]["lastUpdated"] > created["meta"]["lastUpdated"]
    copy = store.get("Patient", created["id"])
    assert copy is not None
    copy["gender"] = "changed outside"
    assert store.get("Patient", created["id"])["gender"] == "other"  # type: ignore[index]
    obs = store.put({"resourceType": "Observation", "subject": {"reference": f"Patient/{created['id']}"}})
    assert [o["id"] for o in store.for_patient(created["id"], "Observation")] == [obs["id"]]
    store.delete("Observation", obs["id"])
    assert store.for_patient(created["id"], "Observation") == [] and store.get("Observation", obs["id"]) is None
    assert store.deleted_for(created["id"], "Observation", obs["id"])
    assert not store.deleted_for("someone-else", "Observation", obs["id"])
    with pytest.raises(SandboxDataError):
        store.delete("Observation", obs["id"])
    with pytest.raises(SandboxDataError):
        store.put({"resourceType": "Spaceship"})
    with pytest.raises(SandboxDataError):
        store.put({"no": "type"})


def test_moving_a_resource_to_another_patient(demo: SandboxStore) -> None:
    store = SandboxStore()
    a = store.put({"resourceType": "Patient", "id": "a"})["id"]
    b = store.put({"resourceType": "Patient", "id": "b"})["id"]
    store.put({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/a"}})
    store.put({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/b"}})
    assert store.for_patient(a, "Condition") == [] and len(store.for_patient(b, "Condition")) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"{not json", "not FHIR"), (b'{"resourceType": "Spaceship"}', "not FHIR"), (b"", "not FHIR")],
)
def test_bad_data_files_are_refused_plainly(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    with pytest.raises(SandboxDataError, match=message):
        SandboxStore().load([bad])


def test_missing_or_empty_data(tmp_path: Path) -> None:
    with pytest.raises(SandboxDataError, match="no file or directory"):
        SandboxStore().load([tmp_path / "nope.json"])
    with pytest.raises(SandboxDataError, match="No FHIR JSON"):
        SandboxStore().load([tmp_path])


def test_patient_bundle_alone_keeps_unresolved_references() -> None:
    store = SandboxStore()
    store.load([next(DEMO_PATIENTS.glob("Carolyne559_*.json"))])
    assert len(store.patients()) == 1
    encounter = store.for_patient(store.patients()[0]["id"], "Encounter")[0]
    assert encounter["participant"][0]["individual"]["reference"].startswith("Practitioner?identifier=")


def test_load_clients(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_text(
        json.dumps(
            {
                "clients": [
                    {"client_id": "pub", "redirect_uris": ["http://127.0.0.1/cb"]},
                    {"client_id": "conf", "redirect_uris": ["https://a.example/cb"], "client_secret": "zebra-secret-42", "name": "A"},
                ]
            }
        )
    )
    clients = load_clients(path)
    assert clients[0] == ClientRegistration("pub", ("http://127.0.0.1/cb",))
    assert clients[0].public and not clients[1].public and clients[1].display_name == "A"
    assert "zebra-secret-42" not in repr(clients[1])
    for bad, message in [
        ("[1]", "not a JSON object"),
        ('{"clients": [{"redirect_uris": ["x"]}]}', "no client_id"),
        ('{"clients": [{"client_id": "x", "redirect_uris": []}]}', "redirect_uris"),
        ('{"clients": [{"client_id": "x", "redirect_uris": ["y"], "client_secret": 5}]}', "client_secret"),
        ('{"clients": 3}', "list of clients"),
        ("{oops", "not valid JSON"),
    ]:
        path.write_text(bad)
        with pytest.raises(SandboxError, match=message):
            load_clients(path)
    with pytest.raises(SandboxError, match="Cannot read"):
        load_clients(tmp_path / "missing.json")


def test_server_lifecycle(tmp_path: Path) -> None:
    elvina = next(DEMO_PATIENTS.glob("Elvina_*.json"))
    server = SandboxServer([elvina])
    with pytest.raises(SandboxError, match="not been started"):
        _ = server.base_url
    with server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/fhir")
        assert httpx.get(server.base_url + "/metadata").status_code == 200
        with pytest.raises(SandboxError, match="already running"):
            server.start()
        busy = SandboxServer([elvina], port=server.port)
        with pytest.raises(SandboxError, match="Cannot listen"):
            busy.start()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.base_url + "/metadata")


def test_fixed_port(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = SandboxServer([next(DEMO_PATIENTS.glob("Elvina_*.json"))], port=port)
    assert server.base_url == f"http://127.0.0.1:{port}/fhir"  # known before start when the port is fixed
    with server:
        assert httpx.get(server.base_url + "/metadata").status_code == 200


@pytest.mark.asyncio
async def test_the_asgi_app_can_be_mounted_in_process() -> None:
    server = SandboxServer([next(DEMO_PATIENTS.glob("Elvina_*.json"))])
    transport = httpx.ASGITransport(app=server.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hospital.test") as client:
        config = (await client.get("/fhir/.well-known/smart-configuration")).json()
    assert config["issuer"] == "http://hospital.test/fhir"
    assert config["token_endpoint"] == "http://hospital.test/auth/token"
