"""A sync that grew the record much is followed by a rewrite of the record file, as a big import is: after every write
of the sync (its pages and their validation), and, for a sync interrupted and resumed, counted from its first start.
The sandbox portal over real HTTP; the growth that calls for a rewrite is lowered to 1 MiB so that a sync of a few
thousand resources is big."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sync_support import PASSPHRASE, connect, login_for, snapshot

from app.portals import Portals
from app.record import Record, store
from app.record.checking import pending_count
from sync.sandbox import Login, SandboxServer

_MANY = 2500


@pytest.fixture
def big_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_REWRITE_FROM_BYTES", 1024 * 1024)


@contextmanager
def _readings(sandbox: SandboxServer, login: Login, conditions: int = 0) -> Iterator[list[dict[str, Any]]]:
    """`_MANY` heart rates in the patient's portal (and `conditions` Conditions) while inside; the readings."""
    more = [
        sandbox.store.put({
            "resourceType": "Condition", "code": {"text": f"Finding {n}"},
            "subject": {"reference": f"Patient/{login.patient_id}"}, "onsetDateTime": "2020-01-01",
        })  # fmt: skip
        for n in range(conditions)
    ]
    made = [
        sandbox.store.put({
            "resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": f"Heart rate {n}"},
            "subject": {"reference": f"Patient/{login.patient_id}"},
            "effectiveDateTime": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
            "valueQuantity": {"value": 50 + n % 60, "unit": "/min", "system": "http://unitsofmeasure.org",
                              "code": "/min"},
        })  # fmt: skip
        for n in range(_MANY)
    ]
    try:
        yield made
    finally:
        for resource in made + more:
            sandbox.store.delete(resource["resourceType"], resource["id"])


def _pending_sizes(record: Record) -> list[str]:
    return [key for (key,) in record.read("SELECT key FROM setting WHERE key LIKE 'sync.size_before.%'")]


@pytest.mark.asyncio
async def test_a_big_sync_is_followed_by_the_rewrite_and_a_small_one_is_not(
    sandbox: SandboxServer, record: Record, big_threshold: None
) -> None:
    login = login_for(sandbox, "karena")
    with _readings(sandbox, login) as made:
        portals = Portals(record)
        conn = await connect(portals, sandbox, login)
        before = record._bytes_in_use()
        report, _ = await portals.sync_checked(conn.id)
        assert report.outcome == "complete" and report.types["Observation"].imported >= _MANY
        # Everything the sync wrote is written (its validation too) when the rewrite begins; it runs beside.
        assert pending_count(record) == 0
        rewrite = record._rewriting  # the rewrite's thread (it may have ended already: this record is small)
        assert rewrite is not None
        record.wait_for_rewrite()
        assert record.read("PRAGMA freelist_count") == [(0,)]
        assert record._bytes_in_use() > before + 1024 * 1024
        assert _pending_sizes(record) == []
        assert {key[1] for key in snapshot(record, conn.id) if key[0] == "Observation"} >= {r["id"] for r in made}
        # The next sync brings nothing new: no rewrite.
        report, _ = await portals.sync_checked(conn.id)
        assert report.outcome == "complete"
        assert record._rewriting is rewrite
        assert _pending_sizes(record) == []


@pytest.mark.asyncio
async def test_a_resumed_sync_counts_its_growth_from_its_first_start(
    sandbox: SandboxServer, record: Record, big_threshold: None
) -> None:
    login = login_for(sandbox, "jesus")
    with _readings(sandbox, login, conditions=150) as made:
        portals = Portals(record)
        conn = await connect(portals, sandbox, login)
        # The second page of the Conditions points elsewhere: the sync stores the many readings, not that page, and
        # ends incomplete.
        sandbox.faults.set("foreign_next", resource_type="Condition", times=1)
        report, _ = await portals.sync_checked(conn.id)
        assert report.outcome == "incomplete"
        assert record._rewriting is None  # not finished: no rewrite yet, its start's size is kept
        assert len(_pending_sizes(record)) == 1
        sandbox.faults.clear()
        # Resumed, it brings the rest of the Conditions (a little), but since it first started it grew the record much.
        middle = record._bytes_in_use()
        report, _ = await portals.sync_checked(conn.id)
        assert report.outcome == "complete" and report.resumed
        assert record._bytes_in_use() - middle < 1024 * 1024  # the resumed part alone would call for no rewrite
        assert record._rewriting is not None
        record.wait_for_rewrite()
        assert _pending_sizes(record) == []
        # And the record holds what the portal holds, as an uninterrupted sync leaves it.
        held = snapshot(record, conn.id)
        assert {key[1] for key in held if key[0] == "Observation"} >= {r["id"] for r in made}
        assert any(key[0] == "Condition" for key in held)
        assert record.read("PRAGMA integrity_check") == [("ok",)]


def test_carry_sync_says_how_far_the_rewrite_after_it_is(
    sandbox: SandboxServer, tmp_path: Path, big_threshold: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import main

    login = login_for(sandbox, "reyna")
    path = tmp_path / "cli.carry"
    with Record.create(path, PASSPHRASE) as record:
        asyncio.run(connect(Portals(record), sandbox, login))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CARRY_TEST_REWRITE_PAUSE", "0.02")
    with _readings(sandbox, login):
        assert main(["sync", "--record", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "complete" in out
    readings = next(line for line in out.splitlines() if line.lstrip().startswith("Observation"))
    assert re.search(r" 2,\d\d\d new ", readings), readings  # her portal's own and the many readings, read '2,602'
    said = [line for line in err.splitlines() if "tidying" in line]
    assert len(said) == 2 and said[-1] == "  tidying the record file… 100 %", err
    assert err.rindex("checked") < err.index("tidying")  # after the validation, the sync's last writes
    with Record.open(path, PASSPHRASE) as record:
        assert record.read("PRAGMA freelist_count") == [(0,)] and _pending_sizes(record) == []
