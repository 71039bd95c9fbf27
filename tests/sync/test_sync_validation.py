"""A sync stores first and validates afterwards (app.record.checking): what it stored is marked "not checked yet",
the check pass flags what fails R4B validation, keeps it, and adds it to the sync's report."""

from __future__ import annotations

import multiprocessing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sync_support import PASSPHRASE, connect, login_for, synced_once

from app.portals import Connection, Portals
from app.record import Record
from app.record.store import VALID_UNCHECKED
from app.record.checking import (
    CheckWhileSyncing,
    WorkersWhenBig,
    _check,
    _store_results,
    check_pending,
    pending_count,
)
from sync.fhir.parse import PARALLEL_THRESHOLD, ValidationWorkers, dumps, validate_chunks
from sync.pull.report import SyncProgress
from sync.sandbox import SandboxServer

LAB = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}


def _broken_observation(patient_id: str) -> dict[str, Any]:
    # status must be a code; 42 is not one, so R4B validation fails, but the resource is well-formed FHIR JSON.
    return {
        "resourceType": "Observation",
        "status": 42,
        "category": [LAB],
        "code": {"text": "Hemoglobin"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "valueQuantity": {"value": 13.1, "unit": "g/dL"},
    }


@asynccontextmanager
async def _connected_with_a_broken_result(
    sandbox: SandboxServer, record: Record, username: str
) -> AsyncIterator[tuple[Portals, Connection, dict[str, Any]]]:
    """The record connected as `username`, whose portal holds one Observation that fails validation (while inside)."""
    login = login_for(sandbox, username)
    broken = sandbox.store.put(_broken_observation(login.patient_id))
    try:
        portals = Portals(record)
        yield portals, await connect(portals, sandbox, login), broken
    finally:
        sandbox.store.delete("Observation", broken["id"])


def _validity(record: Record, rtype: str, rid: str) -> tuple[int, str | None]:
    rows = record.read("SELECT valid, invalid_reason FROM resource WHERE type = ? AND id = ?", [rtype, rid])
    return rows[0][0], rows[0][1]


@pytest.mark.asyncio
@pytest.mark.parametrize("parallel_from", [PARALLEL_THRESHOLD, 1], ids=["in-process", "worker-processes"])
async def test_a_sync_stores_unchecked_and_the_check_flags_what_fails(
    sandbox: SandboxServer, record: Record, parallel_from: int
) -> None:
    login = login_for(sandbox, "reyna")
    broken = sandbox.store.put(_broken_observation(login.patient_id))
    try:
        portals = Portals(record)
        conn = await connect(portals, sandbox, login)
        report = await portals.sync(conn.id)
        assert report.outcome == "complete"

        stored = record.count()
        assert pending_count(record) == stored > 100
        row = next(r for r in record.rows(resource_type="Observation") if r.id == broken["id"])
        assert row.checked is False and row.valid is True  # presumed valid until checked
        assert report.totals.invalid == 0

        seen: list[tuple[int, int]] = []
        result = check_pending(record, progress=lambda done, total: seen.append((done, total)), parallel_from=parallel_from)

        assert result.checked == stored and pending_count(record) == 0
        assert result.invalid == {"Observation": 1}
        assert [item[:2] for item in result.invalid_items] == [("Observation", broken["id"])]
        valid, reason = _validity(record, "Observation", broken["id"])
        assert valid == 0 and reason and "status" in reason
        row = next(r for r in record.rows(resource_type="Observation") if r.id == broken["id"])
        assert row.checked is True and row.valid is False
        # Everything else passed, and the broken one is kept, not dropped.
        assert record.read("SELECT count(*) FROM resource WHERE valid = 1")[0][0] == stored - 1
        assert seen and seen[-1] == (stored, stored)
        # The sync's stored report and its run now tell the same story as an inline validation would have.
        amended = portals.state.reports(conn.id, 1)[0]
        assert amended.types["Observation"].invalid == 1 and amended.totals.invalid == 1
        assert record.read("SELECT invalid FROM run WHERE source_id = ? ORDER BY id DESC LIMIT 1", [conn.id])[0][0] == 1
        # Nothing left: a second pass checks nothing and changes nothing.
        assert check_pending(record).checked == 0
    finally:
        sandbox.store.delete("Observation", broken["id"])


@pytest.mark.asyncio
async def test_a_pass_stores_its_verdicts_in_batches_and_what_it_judged_when_stopped(
    sandbox: SandboxServer, record: Record
) -> None:
    """Beside a sync the verdicts are stored several chunks at a time (each store waits for the sync's writes); a
    pass that is stopped still stores every verdict it reached."""
    await synced_once(sandbox, record, "carolyne")
    total = pending_count(record)
    assert 1000 < total < 2000  # two chunks
    reads = [0]

    def stop_after_one_chunk() -> bool:
        reads[0] += 1
        return reads[0] > 1

    seen: list[int] = []
    stopped = _check(record, total, progress=lambda done, _t: seen.append(done), stop=stop_after_one_chunk,
                     store_every=2500)  # fmt: skip
    assert stopped.checked == 1000 and seen == [1000] and pending_count(record) == total - 1000
    with record.write() as cur:  # all unchecked again
        cur.execute(f"UPDATE resource SET valid = {VALID_UNCHECKED}, invalid_reason = NULL")
    for store_every, stores in ((2500, [total]), (1000, [1000, total])):
        seen.clear()
        result = _check(record, total, progress=lambda done, _t: seen.append(done), store_every=store_every)
        assert result.checked == total
        assert seen == stores and pending_count(record) == 0
        with record.write() as cur:
            cur.execute(f"UPDATE resource SET valid = {VALID_UNCHECKED}, invalid_reason = NULL")


@pytest.mark.asyncio
async def test_an_interrupted_check_leaves_the_rest_for_the_next_one(sandbox: SandboxServer, record: Record) -> None:
    _login, _portals, conn = await synced_once(sandbox, record, "carolyne")
    total = pending_count(record)
    assert total > 1000  # more than one chunk

    class Stop(Exception):
        pass

    def stop_after_first(done: int, _total: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        check_pending(record, progress=stop_after_first)
    # The first chunk was stored before the interruption, the rest is still waiting, nothing is half-done.
    assert 0 < pending_count(record) < total
    assert record.read("SELECT count(*) FROM resource WHERE valid = 1")[0][0] == total - pending_count(record)
    left = pending_count(record)
    assert check_pending(record).checked == left
    assert pending_count(record) == 0


@pytest.mark.asyncio
async def test_a_resource_that_changed_meanwhile_stays_unchecked(sandbox: SandboxServer, record: Record) -> None:
    login, portals, conn = await synced_once(sandbox, record, "karena")
    condition = sandbox.store.for_patient(login.patient_id, "Condition")[0]
    rows = [
        tuple(row)
        for row in record.read(
            "SELECT rowid, type, id, hash, last_run FROM resource WHERE type = 'Condition' AND id = ?", [condition["id"]]
        )
    ]
    # The portal changes the condition and a sync stores the new version while the old one is being validated.
    sandbox.store.put({**condition, "clinicalStatus": {"text": "changed meanwhile"}})
    try:
        report = await portals.sync(conn.id)
        assert report.types["Condition"].updated == 1
        assert _store_results(record, rows, ["made-up reason for the old version"]) == []
        valid, reason = _validity(record, "Condition", condition["id"])
        assert valid == -1 and reason is None  # the new version waits for its own check
        assert _store_results(record, rows, [None]) == []  # a pass for the old version does not count either
        assert _validity(record, "Condition", condition["id"]) == (-1, None)
        check_pending(record)
        assert _validity(record, "Condition", condition["id"]) == (1, None)
    finally:
        sandbox.store.put(condition)


@pytest.mark.asyncio
async def test_a_second_sync_keeps_the_verdicts_and_only_what_changed_is_validated(
    sandbox: SandboxServer, record: Record
) -> None:
    condition = sandbox.store.for_patient(login_for(sandbox, "elvina").patient_id, "Condition")[0]
    async with _connected_with_a_broken_result(sandbox, record, "elvina") as (portals, conn, broken):
        await portals.sync(conn.id)
        stored = record.count()
        assert check_pending(record).checked == stored > 50
        verdicts = record._query("SELECT type, id, valid, invalid_reason FROM resource ORDER BY rowid")

        # Everything fetched again, nothing changed: every verdict stays, nothing waits, nothing is validated again.
        report = await portals.sync(conn.id, full=True)
        assert report.totals.unchanged == stored and report.totals.imported == report.totals.updated == 0
        assert pending_count(record) == 0
        assert record._query("SELECT type, id, valid, invalid_reason FROM resource ORDER BY rowid") == verdicts
        assert _validity(record, "Observation", broken["id"])[0] == 0  # the invalid one is still flagged, with why
        assert check_pending(record).checked == 0

        # One resource changed at the portal: that one, and only that one, waits for (and gets) a new verdict.
        sandbox.store.put({**condition, "clinicalStatus": {"text": "changed at the portal"}})
        try:
            report = await portals.sync(conn.id, full=True)
            assert report.totals.updated == 1 and report.totals.unchanged == stored - 1
            assert pending_count(record) == 1 and _validity(record, "Condition", condition["id"]) == (-1, None)
            result = check_pending(record)
            assert result.checked == 1 and result.invalid_total == 0
            assert _validity(record, "Condition", condition["id"]) == (1, None)
            assert _validity(record, "Observation", broken["id"])[0] == 0
            assert record._query("SELECT count(*) FROM resource WHERE valid = 0")[0][0] == 1
        finally:
            sandbox.store.put(condition)


@pytest.mark.asyncio
async def test_workers_start_while_a_big_sync_runs_and_a_resync_with_nothing_new_starts_none(
    sandbox: SandboxServer, record: Record
) -> None:
    steps: list[SyncProgress] = []
    async with _connected_with_a_broken_result(sandbox, record, "reyna") as (portals, conn, broken):
        with ValidationWorkers(1) as workers:
            await portals.sync(conn.id, progress=WorkersWhenBig(workers, steps.append, start_from=150))
            # Started during the sync, once 150 new resources were stored over several pages (no page alone has as
            # many); the caller's progress still saw every step.
            assert workers.started and steps
            assert max(step.imported + step.updated for step in steps) < 150
            stored = record.count()
            assert stored > 150 and pending_count(record) == stored
            # Started workers take the pass even below the usual threshold, and their verdicts are the same.
            result = check_pending(record, workers=workers)
            assert result.checked == stored and [i[:2] for i in result.invalid_items] == [("Observation", broken["id"])]
            assert pending_count(record) == 0
            assert record._query("SELECT count(*) FROM resource WHERE valid = 1")[0][0] == stored - 1
        assert not workers.started  # closed with its block

        with ValidationWorkers(1) as again:
            await portals.sync(conn.id, full=True, progress=WorkersWhenBig(again, start_from=150))
            assert not again.started and pending_count(record) == 0


def _verdicts(record: Record) -> list[tuple[str, str, int, str | None]]:
    return [tuple(row) for row in record.read("SELECT type, id, valid, invalid_reason FROM resource ORDER BY type, id")]


async def _checked_after_the_sync(sandbox: SandboxServer, login: Any, tmp_path: Path) -> tuple[Any, Any, Any]:
    """The old path, on a record of its own: the whole sync, then one check after it (its result, the verdicts, the
    sync's stored report)."""
    with Record.create(tmp_path / "after.carry", PASSPHRASE) as after:
        portals = Portals(after)
        conn = await connect(portals, sandbox, login)
        await portals.sync(conn.id)
        whole = check_pending(after)
        return whole, _verdicts(after), portals.state.reports(conn.id, 1)[0]


@pytest.mark.asyncio
async def test_validation_beside_the_sync_flags_exactly_what_the_check_after_it_flags(record: Record, tmp_path: Path) -> None:
    # A portal that answers every request after 0.1 s, as one across the internet: pages arrive spread out, and the
    # workers validate the stored ones while the next are on their way.
    with SandboxServer(latency=0.1) as sandbox:
        login = login_for(sandbox, "reyna")
        broken = [
            _broken_observation(login.patient_id),  # status is not a code
            {**_broken_observation(login.patient_id), "status": "final", "effectiveDateTime": "yesterday"},  # no date
            {**_broken_observation(login.patient_id), "status": "final", "category": [LAB, None]},  # a null in a list
            {**_broken_observation(login.patient_id), "status": "final", "valueString": "13.1"},  # value[x] twice
        ]
        stored_broken = [sandbox.store.put(resource) for resource in broken]
        whole, expected, expected_report = await _checked_after_the_sync(sandbox, login, tmp_path)

        # Beside the sync: the worker is up before it (so the test does not wait on its start) and takes pages as
        # soon as 100 resources are stored; what is left when the sync ends is checked by `finish`.
        portals = Portals(record)
        conn = await connect(portals, sandbox, login)
        steps: list[SyncProgress] = []
        with ValidationWorkers(1) as workers, CheckWhileSyncing(record, workers, start_from=100) as checker:
            workers.executor().submit(len, []).result()
            await portals.sync(conn.id, progress=checker.progress(steps.append))
            left = pending_count(record)
            result = checker.finish()
    assert steps and left < record.count()  # some of it was validated while the sync ran
    assert pending_count(record) == 0 and result.checked == whole.checked == record.count()
    assert _verdicts(record) == expected
    assert sorted(result.invalid_items) == sorted(whole.invalid_items)
    assert sorted(rid for _t, rid, _r in result.invalid_items) == sorted(b["id"] for b in stored_broken)
    # The invalid counts reach the run and the report as after the sync (the sync's end does not overwrite them).
    report = portals.state.reports(conn.id, 1)[0]
    assert report.types["Observation"].invalid == expected_report.types["Observation"].invalid == len(broken)
    assert report.totals.invalid == expected_report.totals.invalid == len(broken)
    assert record.read("SELECT invalid FROM run WHERE source_id = ? ORDER BY id DESC LIMIT 1", [conn.id])[0][0] == 4


@pytest.mark.asyncio
async def test_the_app_s_sync_validates_beside_it_and_leaves_nothing_unchecked(record: Record, tmp_path: Path) -> None:
    # The app's sync (Portals.sync_checked, which the UI's sync panel runs): the same flags as the check after a
    # plain sync, in the run and the report too, and nothing left unchecked when it returns (no pass after it).
    with SandboxServer() as sandbox:
        login = login_for(sandbox, "reyna")
        stored_broken = [sandbox.store.put(resource) for resource in (
            _broken_observation(login.patient_id),
            {**_broken_observation(login.patient_id), "status": "final", "effectiveDateTime": "yesterday"},
        )]  # fmt: skip
        whole, expected, expected_report = await _checked_after_the_sync(sandbox, login, tmp_path)
        portals = Portals(record)
        conn = await connect(portals, sandbox, login)
        steps: list[SyncProgress] = []
        told: list[tuple[int, int]] = []
        report, result = await portals.sync_checked(conn.id, progress=steps.append, checking=lambda *n: told.append(n))
    assert steps and told and told[-1] == (told[0][1], told[0][1])
    assert pending_count(record) == 0 and result.checked == whole.checked == record.count()
    assert _verdicts(record) == expected
    assert sorted(result.invalid_items) == sorted(whole.invalid_items)
    assert sorted(rid for _t, rid, _r in result.invalid_items) == sorted(b["id"] for b in stored_broken)
    stored = portals.state.reports(conn.id, 1)[0]
    assert stored.totals.invalid == expected_report.totals.invalid == 2 and report.totals.imported == stored.totals.imported


def test_no_workers_validates_in_this_process_with_the_same_verdicts() -> None:
    """ValidationWorkers(0) (the default on one core): `start` marks it started, so a sync's check runs beside it
    page by page, but no process starts; the verdicts are those of the in-process pass."""
    raws = [dumps(_broken_observation("p")), dumps({**_broken_observation("p"), "status": "final"})]
    before = set(multiprocessing.active_children())
    with ValidationWorkers(0) as workers:
        workers.start()
        assert workers.started
        verdicts = list(validate_chunks([raws, raws[1:]], parallel=True, pool=workers))
        assert set(multiprocessing.active_children()) == before
    assert not workers.started
    assert verdicts == list(validate_chunks([raws, raws[1:]], parallel=False))
    assert verdicts[0][0] is not None and "status" in verdicts[0][0]
    assert verdicts[0][1] is None and verdicts[1] == [None]
