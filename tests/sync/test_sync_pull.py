"""A full pull from the sandbox portal over real HTTP, into real encrypted records."""

from __future__ import annotations

import asyncio
import gc
import re

import pytest
from sync_support import connect, login_for, snapshot, synced_once

from app.portals import Portals
from app.record import Record
from sync.fhir import content_hash
from sync.pull import SyncProgress
from sync.sandbox import SandboxServer
from sync.smart import NeedsReconnect

REFERENCE_TYPES = {"Practitioner", "PractitionerRole", "Organization", "Location", "Medication", "Endpoint", "HealthcareService"}
_REF = re.compile(r'"reference":"([A-Z][A-Za-z]+)/([^"]+)"')


def expected(sandbox: SandboxServer, patient_id: str) -> dict[tuple[str, str], str]:
    """What the sandbox serves this patient (its own records, not the hospital's reference data)."""
    return {
        (rtype, r["id"]): content_hash(r)
        for rtype in sandbox.store.types()
        if rtype not in REFERENCE_TYPES
        for r in sandbox.store.for_patient(patient_id, rtype)
    }


def patient_part(snap: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    return {k: v for k, v in snap.items() if k[0] not in REFERENCE_TYPES}


@pytest.mark.asyncio
@pytest.mark.parametrize("username", ["carolyne", "elvina", "jesus", "karena", "reyna"])
async def test_each_demo_patient_is_pulled_completely(sandbox: SandboxServer, record: Record, username: str) -> None:
    login = login_for(sandbox, username)
    portals = Portals(record)
    conn = await connect(portals, sandbox, login)
    events: list[SyncProgress] = []
    report = await portals.sync(conn.id, progress=events.append)

    assert report.outcome == "complete" and report.mode == "full"
    held = snapshot(record, conn.id)
    # Exactly what the portal serves the patient: same resources, same content, per type.
    assert patient_part(held) == expected(sandbox, login.patient_id)
    for rtype in {t for t, _ in held}:
        assert report.types[rtype].imported == sum(1 for t, _ in held if t == rtype)
    # Every practitioner, organization and location the records refer to was resolved, and each matches the portal.
    for (rtype, rid), digest in held.items():
        if rtype in REFERENCE_TYPES:
            assert digest == content_hash(sandbox.store.get(rtype, rid))
    raws = record.read("SELECT resource_json(raw, type, id) FROM resource WHERE source_id = ?", [conn.id])
    wanted = {(t, i) for (raw,) in raws for t, i in _REF.findall(raw) if t in ("Practitioner", "Organization", "Location")}
    assert wanted and wanted <= set(held)
    # Attachments behind Binary/<id> URLs were fetched into the record (the equality above covers them too).
    assert any(t == "Binary" for t, _ in held) == bool(sandbox.store.for_patient(login.patient_id, "Binary"))
    assert any(e.phase == "search" and e.page >= 1 for e in events) and events[-1].phase == "done"
    stored = Portals(record).state.reports(conn.id)
    assert stored and stored[0].as_json() == report.as_json()


@pytest.mark.asyncio
async def test_a_second_sync_with_no_changes_writes_nothing(sandbox: SandboxServer, record: Record) -> None:
    _login, portals, conn = await synced_once(sandbox, record, "reyna")
    before = record.read("SELECT type, id, hash, raw, changed_at FROM resource ORDER BY type, id")

    for full in (False, True):
        report = await portals.sync(conn.id, full=full)
        totals = report.totals
        assert report.mode == ("full" if full else "incremental")
        assert (totals.imported, totals.updated, totals.invalid) == (0, 0, 0)
        assert totals.unchanged == len(before)
        assert record.read("SELECT type, id, hash, raw, changed_at FROM resource ORDER BY type, id") == before


@pytest.mark.asyncio
async def test_changes_at_the_portal_arrive_with_the_next_sync(sandbox: SandboxServer, record: Record) -> None:
    login, portals, conn = await synced_once(sandbox, record, "karena")

    condition = sandbox.store.for_patient(login.patient_id, "Condition")[0]
    changed = sandbox.store.put({**condition, "clinicalStatus": {"text": "changed for the test"}})
    added = sandbox.store.put(
        {
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"text": "Body weight"},
            "subject": {"reference": f"Patient/{login.patient_id}"},
            "valueQuantity": {"value": 61.5, "unit": "kg"},
        }
    )
    try:
        report = await portals.sync(conn.id)
        assert report.mode == "incremental"
        assert report.types["Condition"].updated == 1
        assert report.types["Observation"].imported == 1
        stored = record.get("Condition", changed["id"])
        assert stored is not None and stored.json()["clinicalStatus"]["text"] == "changed for the test"
        assert record.get("Observation", added["id"]) is not None
        assert patient_part(snapshot(record, conn.id)) == expected(sandbox, login.patient_id)
    finally:
        sandbox.store.put(condition)
        sandbox.store.delete("Observation", added["id"])


FAULTS = [
    ("rate_limit", {"times": 4, "seconds": 1}),
    ("server_error", {"times": 4}),
    ("unavailable", {"times": 3, "seconds": 1}),
    ("slow", {"times": 6, "delay": 0.3}),
    ("drop_connection", {"times": 4}),
    ("expire_token_early", {"seconds": 0, "times": 1}),
    ("repeat_ids", {"resource_type": "Observation"}),
    ("outcome_entry", {"resource_type": "Encounter"}),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("kind", "params"), FAULTS, ids=[k for k, _ in FAULTS])
async def test_a_misbehaving_portal_loses_nothing(
    sandbox: SandboxServer, record: Record, kind: str, params: dict[str, object]
) -> None:
    login = login_for(sandbox, "elvina")
    portals = Portals(record)
    token_fault = kind == "expire_token_early"  # acts on the next token issued: the one connecting gets
    if token_fault:
        sandbox.faults.set(kind, **params)  # type: ignore[arg-type]
    conn = await connect(portals, sandbox, login)
    if not token_fault:
        sandbox.faults.set(kind, **params)  # type: ignore[arg-type]
    report = await portals.sync(conn.id)
    assert report.outcome == "complete", report.as_json()
    held = snapshot(record, conn.id)
    assert patient_part(held) == expected(sandbox, login.patient_id)
    if kind in ("rate_limit", "server_error", "unavailable", "drop_connection"):
        assert report.retries >= 1
    if kind == "expire_token_early":
        assert report.refreshes >= 1
    if kind == "outcome_entry":
        assert report.warnings
    if kind == "repeat_ids":
        # A repeated id is stored once and counted once.
        assert report.types["Observation"].imported == sum(1 for t, _ in held if t == "Observation")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "kind, params, where",
    [
        ("foreign_next", {"host": "127.0.0.2"}, "127.0.0.2"),
        ("foreign_next", {"host": "127.0.0.1", "scheme": "https"}, "https://127.0.0.1"),
        ("foreign_next", {"host": "127.0.0.1", "port": 9}, "127.0.0.1:9"),
        ("redirect", {"host": "127.0.0.2"}, "127.0.0.2"),
        ("redirect", {"port": 9}, "127.0.0.1:9"),
    ],
)
async def test_a_next_link_or_redirect_elsewhere_leaves_the_sync_incomplete_and_the_next_sync_completes_it(
    sandbox: SandboxServer, record: Record, kind: str, params: dict[str, object], where: str
) -> None:
    login = login_for(sandbox, "carolyne")
    portals = Portals(record)
    conn = await connect(portals, sandbox, login)
    # The second page of the Observation search points elsewhere (or the portal redirects it there).
    sandbox.faults.set(kind, resource_type="Observation", times=1, **params)
    report = await portals.sync(conn.id)
    refused = " ".join(report.types["Observation"].refused)
    assert report.outcome == "incomplete", report.as_json()
    assert where in refused and "access token" in refused
    if kind == "foreign_next":  # what lay behind the refused link is missing until the next sync
        assert patient_part(snapshot(record, conn.id)) != expected(sandbox, login.patient_id)
    # The next sync (not --full) resumes and completes the Observations.
    report = await portals.sync(conn.id)
    assert report.outcome == "complete" and report.resumed, report.as_json()
    assert not report.types["Observation"].refused
    assert patient_part(snapshot(record, conn.id)) == expected(sandbox, login.patient_id)


@pytest.mark.asyncio
async def test_a_refused_refresh_token_leaves_the_data_and_asks_to_reconnect(sandbox: SandboxServer, record: Record) -> None:
    login, portals, conn = await synced_once(sandbox, record, "jesus")
    before = snapshot(record, conn.id)

    # The access token dies at once and the portal refuses the refresh token.
    with record.write() as cur:
        cur.execute("UPDATE portal_token SET expires_at = 0 WHERE source_id = ?", (conn.id,))
    sandbox.faults.set("revoke_refresh")
    with pytest.raises(NeedsReconnect):
        await portals.sync(conn.id)
    status = portals.source(conn.id)
    assert status.status == "needs-reconnect" and status.status_reason
    assert snapshot(record, conn.id) == before
    with pytest.raises(NeedsReconnect, match="connect"):
        await portals.sync(conn.id)

    # Connecting again (same portal, same patient) revives the same source with its data.
    sandbox.faults.clear()
    again = await connect(portals, sandbox, login)
    assert again.id == conn.id and again.status == "connected"
    report = await portals.sync(conn.id)
    assert report.outcome == "complete" and snapshot(record, conn.id) == before


@pytest.mark.asyncio
async def test_a_narrowed_grant_syncs_what_was_granted(sandbox: SandboxServer, record: Record) -> None:
    from support.portal import log_in_async
    from urllib.parse import parse_qsl, urlsplit

    login = login_for(sandbox, "elvina")
    portals = Portals(record)
    identity = ["launch/patient", "openid", "fhirUser", "offline_access", "patient/Patient.rs", "patient/Condition.rs"]
    pending = await portals.begin_connect(
        sandbox.base_url, "http://127.0.0.1:8123/oauth/callback", scopes=[*identity, "patient/Observation.rs"]
    )
    # The patient unticks Observation on the consent page.
    location = await log_in_async(pending.authorize_url, login.username, login.password, scopes=identity)
    conn = await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))
    report = await portals.sync(conn.id)
    assert report.types["Condition"].imported == len(sandbox.store.for_patient(login.patient_id, "Condition"))
    assert "not granted" in " ".join(report.types["Observation"].refused)
    assert not record.rows("Observation", source_id=conn.id)


@pytest.mark.asyncio
async def test_a_sync_keeps_the_existing_heap_out_of_garbage_collection_and_gives_it_back(
    sandbox: SandboxServer, record: Record
) -> None:
    # Full collections during a sync walked every object of the app with the GIL held (a tenth of a big sync's time);
    # the sync sets the heap it starts with aside and must hand it back, also when it stops on an error.
    portals = Portals(record)
    conn = await connect(portals, sandbox, login_for(sandbox, "elvina"))
    assert gc.get_freeze_count() == 0
    during: list[int] = []
    report = await portals.sync(conn.id, progress=lambda _event: during.append(gc.get_freeze_count()))
    assert report.outcome == "complete"
    assert during and min(during) > 0
    assert gc.get_freeze_count() == 0

    # A sync stopped halfway (the patient closed the app) hands it back too.
    def stop(_event: object) -> None:
        running.cancel()

    running = asyncio.create_task(portals.sync(conn.id, full=True, progress=stop))
    with pytest.raises(asyncio.CancelledError):
        await running
    assert gc.get_freeze_count() == 0
