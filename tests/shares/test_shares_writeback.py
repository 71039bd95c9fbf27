"""Write-back against the sandbox portal's create support: the summary as a DocumentReference and a patient-measured
vital sign, only where the CapabilityStatement declares create AND the granted scopes allow it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.portal import READ_SCOPES, connect_elvina

from app.portals import Portals
from app.record import Record, people
from app.shares import ShareHost, ShareSettings, candidates, create_share, send_summary, send_vital_sign, writeback_targets
from support.people import child_bundle
from support.records import PASSPHRASE
from sync.fhir import ServerCapabilities
from sync.sandbox import SandboxServer
from sync.share import ShareError, accepts, check_ips, scope_allows_create, summary_document, vital_sign

READ = READ_SCOPES
WRITE = [*READ, "patient/DocumentReference.c", "patient/Observation.c"]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


_connect = connect_elvina


def test_scopes_and_capabilities_decide_together() -> None:
    caps = ServerCapabilities.from_statement({
        "resourceType": "CapabilityStatement",
        "rest": [{"mode": "server", "resource": [{"type": "Observation", "interaction": [{"code": "create"}]},
                                                 {"type": "DocumentReference", "interaction": [{"code": "read"}]}]}],
    })  # fmt: skip
    assert accepts(caps, "patient/Observation.c", "Observation") == (True, "")
    assert accepts(caps, "patient/*.cruds", "Observation")[0]
    assert accepts(caps, "patient/*.write", "Observation")[0]
    ok, why = accepts(caps, "patient/*.rs", "Observation")
    assert not ok and "not granted" in why
    ok, why = accepts(caps, "patient/*.cruds", "DocumentReference")
    assert not ok and "does not accept" in why
    assert not scope_allows_create("patient/Observation.rs user/Patient.c", "Observation")


def test_builders_make_valid_us_core_resources(elvina: Record, tmp_path: Path) -> None:
    from sync.fhir import validation_error

    made = create_share(elvina, ShareHost.open(settings=ShareSettings("https://share.example.org")),
                        candidates(elvina))  # fmt: skip
    doc = summary_document(made.bundle, "p1")
    assert validation_error(doc) is None
    inner = json.loads(base64.b64decode(doc["content"][0]["attachment"]["data"]))
    assert inner["id"] == made.bundle["id"] and check_ips(inner) == []
    obs = vital_sign("weight", "72,5", "p1")
    assert validation_error(obs) is None
    assert obs["meta"]["tag"][0]["code"] == "patient-supplied" and obs["performer"] == [{"reference": "Patient/p1"}]
    assert str(obs["valueQuantity"]["value"]) == "72.5"
    with pytest.raises(ShareError, match="not plausible"):
        vital_sign("weight", "7250", "p1")
    with pytest.raises(ShareError, match="not a vital sign"):
        vital_sign("mood", "3", "p1")


@pytest.mark.asyncio
async def test_sending_the_summary_and_a_vital_sign_to_the_sandbox(
    sandbox: SandboxServer, elvina: Record, tmp_path: Path
) -> None:
    made = create_share(elvina, ShareHost.open(settings=ShareSettings("https://share.example.org")),
                        candidates(elvina))  # fmt: skip
    with Record.create(tmp_path / "patient.carry", PASSPHRASE) as record:
        portals = Portals(record)
        conn = await _connect(portals, sandbox, WRITE)
        assert "patient/DocumentReference.c" in conn.granted_scope
        (target,) = await writeback_targets(portals)
        assert target.summary and target.vitals and target.name == conn.name
        # A child's file in the same record: the summary never goes into the child's portal chart, nor the
        # child's summary into this one (issue 12).
        record.import_bytes(json.dumps(child_bundle()).encode(), origin="theo.json", source="Children's Hospital")
        theo = next(p for p in people(record) if p.name == "Theo Quarrington")
        mine = next(p for p in people(record) if p != theo)
        with pytest.raises(ShareError, match="another person's record"):
            await send_summary(portals, conn.id, made.bundle, person=theo)
        location = await send_summary(portals, conn.id, made.bundle, person=mine)
        assert "/DocumentReference/" in location
        assert "/Observation/" in await send_vital_sign(portals, conn.id, "heart-rate", "64")
        assert {e["detail"]["type"] for e in record.audit_log(action="writeback")} == {"DocumentReference",
                                                                                        "Observation"}
        # The portal has them: a sync brings them back, tagged as the patient's own.
        await portals.sync(conn.id)
        docs = [r.json() for r in (record.get("DocumentReference", row.id) for row in record.rows("DocumentReference"))
                if r is not None]  # fmt: skip
        sent = [d for d in docs if d.get("description", "").startswith("International Patient Summary sent")]
        assert len(sent) == 1 and sent[0]["content"][0]["attachment"]["contentType"] == "application/fhir+json"
        heart = [r for r in record.rows("Observation") if r.code == "8867-4" and r.value == 64]
        assert heart


@pytest.mark.asyncio
async def test_a_portal_without_the_write_scope_says_so(sandbox: SandboxServer, elvina: Record, tmp_path: Path) -> None:
    made = create_share(elvina, ShareHost.open(settings=ShareSettings("https://share.example.org")),
                        candidates(elvina))  # fmt: skip
    with Record.create(tmp_path / "patient.carry", PASSPHRASE) as record:
        portals = Portals(record)
        conn = await _connect(portals, sandbox, READ)
        (target,) = await writeback_targets(portals)
        assert not target.summary and "not granted" in target.summary_reason
        with pytest.raises(ShareError, match="not granted"):
            await send_summary(portals, conn.id, made.bundle)
        assert record.audit_log(action="writeback") == []


@pytest.mark.asyncio
async def test_carry_send_vital_from_the_command_line(sandbox: SandboxServer, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    path = tmp_path / "cli.carry"
    with Record.create(path, PASSPHRASE) as record:
        writable = await _connect(Portals(record), sandbox, WRITE)
    env = {**os.environ, "CARRY_PASSPHRASE": PASSPHRASE, "CARRY_RECORD": str(path)}
    before = len(sandbox.store.for_patient(writable.patient_id, "Observation"))

    def send(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app.cli", "send-vital", *args], env=env, capture_output=True,
                              text=True, timeout=120)  # fmt: skip

    done = send(str(writable.id), "weight", "71.5")
    assert done.returncode == 0, done.stderr
    assert "patient-supplied" in done.stdout
    after = sandbox.store.for_patient(writable.patient_id, "Observation")
    assert len(after) == before + 1
    new = [o for o in after if o.get("meta", {}).get("tag") and o["code"]["coding"][0]["code"] == "29463-7"]
    assert new and str(new[-1]["valueQuantity"]["value"]) == "71.5"

    for args, message in ((("weight", "7150"), "not plausible"), (("mood", "3"), "not a vital sign")):
        refused = send(str(writable.id), *args)
        assert refused.returncode == 1 and message in refused.stderr and "Traceback" not in refused.stderr
    assert len(sandbox.store.for_patient(writable.patient_id, "Observation")) == before + 1
