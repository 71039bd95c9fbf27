"""The rewrite of the record file (VACUUM, after an update that frees space or a big import) says how far it is:
shares that grow while it runs, below 1 until it has ended; stopped part way, it leaves the record as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.records import PASSPHRASE, record_before_packing

from app.record import Record
from app.record import store
from app.record.store import UpdateShare

# Each of SQLite's progress ticks is slowed by this much (CARRY_TEST_REWRITE_PAUSE), so a rewrite of a record of a
# few thousand resources lasts long enough to be looked at several times.
_PAUSE = "0.03"


def _observations(count: int, start: int = 0) -> bytes:
    return "\n".join(
        json.dumps({"resourceType": "Observation", "id": f"o{n}", "status": "final",
                    "code": {"text": f"reading {n}"}, "subject": {"reference": "Patient/p"},
                    "effectiveDateTime": f"20{10 + n % 14}-01-0{1 + n % 9}",
                    "valueQuantity": {"value": n, "unit": "mmol/L"}})
        for n in range(start, start + count)
    ).encode()  # fmt: skip


def _rows(record: Record) -> list[tuple[str, str, str]]:
    return [tuple(r) for r in record.read("SELECT type, id, resource_json(raw, type, id) FROM resource ORDER BY rowid")]


def _grows(shares: list[float]) -> None:
    """Shares that never go back, at least five of them strictly between 0 and 1, and 1 only at the end."""
    assert shares == sorted(shares), shares
    assert len({s for s in shares if 0 < s < 1}) >= 5, shares
    assert shares[-1] == 1.0 and all(s < 1 for s in shares[:-1]), shares


def test_a_rewrite_tells_how_far_it_is_in_shares_that_grow(record: Record, monkeypatch: pytest.MonkeyPatch) -> None:
    record.import_bytes(_observations(4000), origin="many.ndjson")
    record.wait_for_rewrite()
    before = _rows(record)
    monkeypatch.setenv("CARRY_TEST_REWRITE_PAUSE", _PAUSE)
    heard: list[float] = []
    record._vacuum(heard.append)
    _grows(heard)
    assert _rows(record) == before
    assert record.read("PRAGMA integrity_check") == [("ok",)]


def test_a_rewrite_of_a_big_record_counts_its_steps_without_slowing(record: Record) -> None:
    """Unslowed, on a record of 12,000 resources (about 2,500 pages): the first part's steps are heard, at about
    the pages' count times the calibrated steps per page (never far from it), and the share ends at 1."""
    record.import_bytes(_observations(12000), origin="many.ndjson")
    record.wait_for_rewrite()
    (pages,) = record.read("PRAGMA page_count")[0]
    ticks: list[int] = []
    original = store._RewriteProgress.tick

    def tick(self: store._RewriteProgress) -> int:
        ticks.append(self.steps)
        return original(self)

    heard: list[float] = []
    try:
        store._RewriteProgress.tick = tick  # type: ignore[method-assign]
        record._vacuum(heard.append)
    finally:
        store._RewriteProgress.tick = original  # type: ignore[method-assign]
    steps = len(ticks) * store._STEPS_PER_TICK
    assert 0.5 < steps / (pages * store._STEPS_PER_PAGE) < 2, (steps, pages)
    assert heard == sorted(heard) and heard[-1] == 1.0


def test_an_update_s_rewrite_moves_the_unlock_percent_and_says_it_is_tidying(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = record_before_packing(tmp_path / "old.carry", copies=6)
    monkeypatch.setenv("CARRY_TEST_REWRITE_PAUSE", _PAUSE)
    heard: list[float] = []
    Record.open(path, PASSPHRASE, progress=heard.append).close()
    assert heard == sorted(heard) and heard[-1] == 1.0
    told = [share for share in heard if isinstance(share, UpdateShare)]
    assert told == heard  # each share says whether the file is being rewritten then
    tidying = [float(s) for s in told if s.tidying]
    assert len(set(tidying)) >= 4, heard  # the percent moves while the file is rewritten, and says so
    assert not told[-1].tidying


def test_the_rewrite_after_a_big_import_can_be_watched(record: Record, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_REWRITE_FROM_BYTES", 0)
    monkeypatch.setenv("CARRY_TEST_REWRITE_PAUSE", _PAUSE)
    record.import_bytes(_observations(4000), origin="many.ndjson")
    seen = record.rewriting()
    assert seen is not None and 0 <= seen < 1  # the import returned; the rewrite goes on, on a thread of its own
    heard: list[float] = []
    assert record.wait_for_rewrite(heard.append)
    _grows(heard)
    assert record.rewriting() is None and not record.wait_for_rewrite()
    assert len(_rows(record)) == 4000


def test_a_rewrite_stopped_part_way_leaves_the_record_as_it_was(
    record: Record, monkeypatch: pytest.MonkeyPatch
) -> None:
    record.import_bytes(_observations(3000), origin="many.ndjson")
    with record.write() as cur:
        cur.execute("DELETE FROM resource WHERE rowid % 2 = 0")  # pages a rewrite would hand back
    before = _rows(record)
    (pages,) = record.read("PRAGMA page_count")[0]
    monkeypatch.setenv("CARRY_TEST_REWRITE_PAUSE", _PAUSE)

    def stop(share: float) -> None:
        if share > 0.1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        record._vacuum(stop)
    assert record.read("PRAGMA page_count")[0][0] == pages  # not rewritten
    assert _rows(record) == before
    record.import_bytes(_observations(10, start=90000), origin="more.ndjson")  # and it takes writes as before
    assert record.read("PRAGMA integrity_check") == [("ok",)]


# A child that rewrites the record (each step slowed) and says so once a third of the first part is done.
_KILLED = r"""
import sys, threading, time
from app.record import Record
record = Record.open(sys.argv[1], sys.argv[2])
threading.Thread(target=record._vacuum, daemon=True).start()
while True:
    watch = record._rewrite_watch
    if watch is not None and watch.steps > watch.expected // 3:
        break
    time.sleep(0.01)
print("rewriting", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="kills a process")
def test_a_process_killed_while_rewriting_leaves_the_record_whole(record_path: Path, record: Record) -> None:
    record.import_bytes(_observations(3000), origin="many.ndjson")
    with record.write() as cur:
        cur.execute("DELETE FROM resource WHERE rowid % 3 = 0")
    before = _rows(record)
    record.close()
    env = {**os.environ, "CARRY_TEST_REWRITE_PAUSE": "0.02", "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen([sys.executable, "-c", _KILLED, str(record_path), PASSPHRASE], env=env,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "rewriting"
        time.sleep(0.1)
    finally:
        child.kill()
        child.wait(timeout=30)
    with Record.open(record_path, PASSPHRASE) as again:
        assert _rows(again) == before
        assert again.read("PRAGMA integrity_check") == [("ok",)]


def test_carry_import_says_how_far_the_rewrite_after_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    path = tmp_path / "cli.carry"
    Record.create(path, PASSPHRASE).close()
    big = tmp_path / "many.ndjson"
    big.write_bytes(_observations(4000))
    small = tmp_path / "few.ndjson"
    small.write_bytes(_observations(20, start=50000))
    monkeypatch.setenv("CARRY_RECORD", str(path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CARRY_TEST_REWRITE_PAUSE", _PAUSE)
    monkeypatch.setattr(store, "_REWRITE_FROM_BYTES", 1024 * 1024)  # 4,000 readings grow the record by ~3 MiB
    assert main(["import", str(big)]) == 0
    out, err = capsys.readouterr()
    assert "many.ndjson: 4,000 new, 0 updated, 0 unchanged" in out
    said = [line for line in err.splitlines() if "tidying" in line]
    # Not a terminal: where it began and its end, after the import's own line.
    assert len(said) == 2 and said[-1] == "  tidying the record file… 100 %", err
    assert said[0].startswith("  tidying the record file… ") and not said[0].endswith(" 100 %")
    # A small import is followed by no rewrite, and says nothing of one.
    assert main(["import", str(small)]) == 0
    out, err = capsys.readouterr()
    assert "few.ndjson: 20 new" in out and "tidying" not in err
    # --json: the report alone (the rewrite runs all the same).
    more = tmp_path / "more.ndjson"
    more.write_bytes(_observations(4000, start=10000))
    assert main(["import", str(more), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)[0]["imported"] == 4000 and "tidying" not in err
