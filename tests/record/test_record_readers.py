"""Readers aside: Record.read runs on its own connection and sees the last committed state while a write is in
progress (a sync's batch), so a screen never waits for it; the writing thread sees its own changes; both
connections share one key derivation, are rekeyed together and are closed together."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from support.records import PASSPHRASE

from app.record import Record, RecordError

PROMPT = 2.0  # seconds: a read that waited for the held write would take as long as the write is held (30 s)
HELD = 30.0


@contextmanager
def write_held_open(record: Record, key: str, value: str) -> Iterator[None]:
    """A write transaction, in another thread, that has changed `key` and waits (as a slow sync batch does) until
    the block ends; then it commits."""
    changed, finish = threading.Event(), threading.Event()

    def slow_batch() -> None:
        with record.write() as tx:
            tx.execute(
                "INSERT INTO setting (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
            changed.set()
            finish.wait(HELD)

    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(slow_batch)
        assert changed.wait(10)
        try:
            yield
        finally:
            finish.set()
            done.result(10)


def timed_read(record: Record, sql: str, params: tuple[str, ...] = ()) -> tuple[list[object], float]:
    """The rows a screen's worker thread reads, and how long it took; a read still waiting after 10 s fails."""
    got: list[list[object]] = []
    worker = threading.Thread(target=lambda: got.append(record.read(sql, params)), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(10)
    assert got, "the read was still waiting for the write"
    return got[0], time.monotonic() - started


def test_a_read_does_not_wait_for_a_write_in_progress_and_sees_the_last_commit(record: Record) -> None:
    record.set_setting("theme", "dark")
    before = record.generation()
    with write_held_open(record, "theme", "light"):
        rows, took = timed_read(record, "SELECT value FROM setting WHERE key = ?", ("theme",))
        assert rows == [("dark",)]  # the committed state, not the write's half-done one
        assert took < PROMPT
        assert record.generation() == before  # nothing committed yet: a screen's cache stays good
        assert record.search("zzz") == [] and record.count() == 0  # several statements, one snapshot
    assert record.read("SELECT value FROM setting WHERE key = ?", ["theme"]) == [("light",)]
    assert record.generation() != before


def test_the_writing_thread_reads_its_own_changes_and_a_failed_write_leaves_readers_nothing(record: Record) -> None:
    with record.write() as tx:
        tx.execute("INSERT INTO setting (key, value) VALUES ('a', '1')")
        assert record.get_setting("a") == "1"  # inside the write: through the writer
        assert timed_read(record, "SELECT value FROM setting WHERE key = 'a'")[0] == []  # elsewhere: not yet
    with pytest.raises(ZeroDivisionError), record.write() as tx:
        tx.execute("UPDATE setting SET value = '2' WHERE key = 'a'")
        _ = 1 / 0
    assert record.get_setting("a") == "1"


def test_many_readers_meanwhile_all_see_one_committed_state(record: Record) -> None:
    record.set_setting("n", "0")
    with write_held_open(record, "n", "1"), ThreadPoolExecutor(4) as pool:
        started = time.monotonic()
        values = list(pool.map(lambda _: record.get_setting("n"), range(40)))
        assert time.monotonic() - started < PROMPT
    assert values == ["0"] * 40
    assert record.get_setting("n") == "1"


def test_the_shared_key_is_the_one_sqlcipher_derives_from_the_passphrase(record_path: Path) -> None:
    Record.create(record_path, PASSPHRASE).close()
    # One connection keyed the ordinary way (SQLCipher stretches the passphrase itself) opens what Carry wrote.
    plain = Record(record_path, Record._connect(record_path, PASSPHRASE))
    try:
        assert plain.read("SELECT action FROM audit ORDER BY id") == [("create",)]
    finally:
        plain.close()


def test_a_new_passphrase_reaches_the_reader_too(record_path: Path) -> None:
    record = Record.create(record_path, PASSPHRASE)
    try:
        record.set_setting("kept", "yes")
        record.change_passphrase("a brand new passphrase")
        with write_held_open(record, "kept", "changed"):
            assert timed_read(record, "SELECT value FROM setting WHERE key = 'kept'")[0] == [("yes",)]
    finally:
        record.close()
    with Record.open(record_path, "a brand new passphrase") as again:
        assert again.get_setting("kept") == "changed"


def test_locking_closes_both_connections(record_path: Path) -> None:
    record = Record.create(record_path, PASSPHRASE)
    record.close()
    with pytest.raises(RecordError, match="locked"):
        record.read("SELECT 1")
    with pytest.raises(RecordError, match="locked"):
        record.generation()
    with pytest.raises(RecordError, match="locked"):
        record.search("anything")
    assert not Path(str(record_path) + "-wal").exists() or Path(str(record_path) + "-wal").stat().st_size == 0

