"""The patient's notes from the command line, and sent to the portal their item came from (write-back against the
sandbox portal on 127.0.0.1): only where the portal declares DocumentReference create and the scopes allow it."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.portal import READ_SCOPES, connect_elvina

from app.portals import Portals
from app.record import Record, notes
from support.cli import one_line_refusal, run_carry
from support.records import ELVINA, PASSPHRASE
from sync.fhir import validation_error
from sync.sandbox import SandboxServer
from sync.share import PatientNote, patient_note

READ = READ_SCOPES
WRITE = [*READ, "patient/DocumentReference.c"]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


_connect = connect_elvina


def test_the_note_document_is_valid_us_core_and_marked_as_the_patient_s() -> None:
    doc = patient_note(PatientNote(("Condition", "c1"), "Not mine: I never had this.", "2026-01-02T03:04:05Z",
                                   "Asthma"), "p1")  # fmt: skip
    assert validation_error(doc) is None
    assert doc["type"]["coding"][0]["code"] == "51855-5" and doc["context"]["related"] == [{"reference": "Condition/c1"}]
    assert doc["meta"]["tag"][0]["code"] == "patient-supplied" and doc["meta"]["security"][0]["code"] == "PATAST"
    assert base64.b64decode(doc["content"][0]["attachment"]["data"]).decode() == "Not mine: I never had this."
    assert doc["author"] == [{"reference": "Patient/p1"}] and "About Asthma" in doc["description"]


@pytest.mark.asyncio
async def test_notes_from_the_command_line_and_sent_to_the_portal(
    sandbox: SandboxServer, tmp_path: Path, demo_dir: Path
) -> None:
    path = tmp_path / "cli.carry"
    with Record.create(path, PASSPHRASE) as record:
        portals = Portals(record)
        conn = await _connect(portals, sandbox, WRITE)
        await portals.sync(conn.id)
        record.import_file(demo_dir / ELVINA, source="My old file")
        condition = next(r for r in record.rows("Condition") if r.source_id == conn.id)
        in_file = next(r for r in record.rows("Condition") if r.source_id != conn.id)
    env = {"CARRY_PASSPHRASE": PASSPHRASE, "CARRY_RECORD": str(path)}
    item = f"Condition/{condition.id}"

    # The same Condition is in both sources (the demo file is the portal's patient): say which.
    assert "more than one source" in one_line_refusal(run_carry("note", item, "wrong", env=env))
    added = run_carry("note", item, "-", "--source", str(conn.id), env=env,
                      stdin="Resolved in 2020; the portal still shows it.\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = run_carry("list", "Condition", "--person", "1", env=env).stdout
    assert listed.count("[your note]") == 1
    shown = json.loads(run_carry("notes", "--json", env=env).stdout)
    assert [(n["item"], n["text"]) for n in shown] == [(item, "Resolved in 2020; the portal still shows it.")]
    first = shown[0]["id"]
    edited = run_carry("note", "--edit", str(first), "Resolved in 2020 after treatment.", env=env)
    assert edited.returncode == 0, edited.stderr
    (current,) = json.loads(run_carry("notes", "--json", env=env).stdout)
    history = json.loads(run_carry("notes", "--history", str(first), "--json", env=env).stdout)
    assert [h["text"] for h in history] == ["Resolved in 2020; the portal still shows it.", current["text"]]

    before = len(sandbox.store.for_patient(conn.patient_id, "DocumentReference"))
    sent = run_carry("send-note", str(current["id"]), env=env)
    assert sent.returncode == 0, sent.stderr
    assert "patient-supplied" in sent.stdout
    after = sandbox.store.for_patient(conn.patient_id, "DocumentReference")
    assert len(after) == before + 1
    filed = after[-1]
    assert filed["context"]["related"] == [{"reference": item}]
    assert base64.b64decode(filed["content"][0]["attachment"]["data"]).decode() == "Resolved in 2020 after treatment."

    # Bad input: one sentence each, nothing written or sent.
    usage = run_carry("note", "prediabetes", "text", env=env)
    assert usage.returncode == 2 and "not an item" in usage.stderr and "Traceback" not in usage.stderr
    for args, message in (
        (("note", f"Condition/{in_file.id}", "   ", "--source", "My old file"), "empty"),
        (("note", "--edit", "999", "text"), "no note 999"),
        (("send-note", str(first)), "changed or deleted"),
    ):
        assert message in one_line_refusal(run_carry(*args, env=env)), args
    file_note = run_carry("note", f"Condition/{in_file.id}", "Also wrong here.", "--source", "My old file", env=env)
    assert file_note.returncode == 0, file_note.stderr
    with Record.open(path, PASSPHRASE) as record:
        mine = [n for n in notes(record) if n.source == "My old file"]
    assert "not a connected portal" in one_line_refusal(run_carry("send-note", str(mine[0].id), env=env))
    assert len(sandbox.store.for_patient(conn.patient_id, "DocumentReference")) == before + 1
    deleted = run_carry("note", "--delete", str(current["id"]), env=env)
    assert deleted.returncode == 0, deleted.stderr
    assert "[your note]" not in run_carry("list", "Condition", "--person", "1", env=env).stdout  # deleted: no flag


@pytest.mark.asyncio
async def test_a_portal_without_the_write_scope_gets_no_note(sandbox: SandboxServer, tmp_path: Path) -> None:
    from app.record import add_note
    from app.shares import send_note
    from sync.share import ShareError

    with Record.create(tmp_path / "r.carry", PASSPHRASE) as record:
        portals = Portals(record)
        conn = await _connect(portals, sandbox, READ)
        await portals.sync(conn.id)
        row = next(r for r in record.rows("Condition"))
        note = add_note(record, "Condition", row.id, conn.id, "Never had this.")
        before = len(sandbox.store.for_patient(conn.patient_id, "DocumentReference"))
        with pytest.raises(ShareError, match="not granted"):
            await send_note(portals, note.id)
        assert len(sandbox.store.for_patient(conn.patient_id, "DocumentReference")) == before
        assert record.audit_log(action="writeback") == []


def test_a_note_on_any_source_s_copy_goes_into_the_summary_about_the_copy_shared(tmp_path: Path,
                                                                                demo_dir: Path) -> None:  # fmt: skip
    from app.record import add_note, delete_note, people
    from app.shares import build_check_in, build_summary, candidates
    from support.copies import import_copies
    from sync.share import check_ips, check_ktc

    with Record.create(tmp_path / "two.carry", PASSPHRASE) as record:
        import_copies(record, demo_dir / ELVINA)
        selection = candidates(record, people(record)[0])
        item = next(c for c in selection.chosen() if c.section == "problems" and len(c.copies) == 2)
        older = next(copy for copy in item.copies if copy[2] != item.source_id)
        note = add_note(record, older[0], older[1], older[2], "Clinic A had this wrong: it was ruled out.")
        gone = add_note(record, older[0], older[1], older[2], "A note I took back.")
        delete_note(record, gone.id)
        ips = build_summary(record, selection)
        ktc = build_check_in(record, selection)
    assert check_ips(ips) == [] and check_ktc(ktc) == []
    for bundle in (ips, ktc):
        by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        stories = [r for r in by_url.values() if r["resourceType"] == "DocumentReference"
                   and r["type"]["coding"][0]["code"] == "51855-5"]  # fmt: skip
        assert len(stories) == 1 and validation_error(stories[0]) is None
        (related,) = stories[0]["context"]["related"]
        assert by_url[related["reference"]]["id"] == item.resource["id"]  # the copy that went in
        assert "took back" not in json.dumps(bundle, default=str)
    assert note.text in json.dumps(ips, default=str)
