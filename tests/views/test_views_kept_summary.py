"""The summary kept in the record (issue 20: an unlock on a big record read thousands of pages to build it again).

A summary is kept with the record's change count; an unlock reads it back in one row while nothing was written since,
and any write (this window's, another window's, a note, a sync) means it is built again. What is read back equals a
fresh build. SQLite's trace shows what a read-back reads.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

from support.records import PASSPHRASE

from app import views as v
from app.record import Record, add_note, keep_summary, kept_summary
from app.views.dashboard import _build_dashboard, _says_the_same_until, _summary_key

ELVINA = "Elvina_*.json"


def _record(path: Path, demo_dir: Path) -> Path:
    with Record.create(path, PASSPHRASE) as record:
        record.import_file(next(demo_dir.glob(ELVINA)))
        record.import_file(next(demo_dir.glob("Karena_*.json")))
    return path


def _scopes(record: Record) -> list[v.Scope]:
    return [v.Scope(person) for person in v.people(record)]


def _traced(record: Record, act: object) -> list[str]:
    ran: list[str] = []
    for db in (record._reader, record._conn()):
        db.set_trace_callback(ran.append)
    try:
        assert callable(act)
        act()
    finally:
        for db in (record._reader, record._conn()):
            db.set_trace_callback(None)
    return ran


def test_an_unlock_reads_the_kept_summary_back_and_it_equals_a_fresh_build(tmp_path: Path, demo_dir: Path) -> None:
    path = _record(tmp_path / "r.carry", demo_dir)
    with Record.open(path, PASSPHRASE) as record:
        built = {s.person.key: v.build_dashboard(record, s) for s in _scopes(record) if s.person}
        assert len(built) == 2 and all(b.problems or b.medications for b in built.values())
    with Record.open(path, PASSPHRASE) as record:
        for scope in _scopes(record):
            assert scope.person is not None
            ran = _traced(record, lambda scope=scope: v.build_dashboard(record, scope))
            assert not [sql for sql in ran if "view_fact" in sql or "FROM resource" in sql], ran  # one row read
            again = v.build_dashboard(record, scope)
            assert again == built[scope.person.key] == _build_dashboard(record, scope)


def test_any_write_means_the_summary_is_built_again(tmp_path: Path, demo_dir: Path) -> None:
    path = _record(tmp_path / "r.carry", demo_dir)
    with Record.open(path, PASSPHRASE) as record, Record.open(path, PASSPHRASE) as other:
        scope = next(s for s in _scopes(record) if s.person and "Elvina" in s.person.name)
        first = v.build_dashboard(record, scope)
        problem = first.problems[0]
        assert not problem.noted
        # Another window writes a note on the first problem: this window's next summary shows it noted.
        add_note(other, problem.resource_type, problem.id, problem.source_id, "Resolved in 2019, says my GP.")
        ran = _traced(record, lambda: v.build_dashboard(record, scope))
        assert any("view_fact" in sql or "FROM resource" in sql for sql in ran)  # built again
        noted = v.build_dashboard(record, scope)
        assert noted.problems[0].noted and noted == _build_dashboard(record, scope)
        # This window's own import of a new problem: built again too.
        count = record.change_count()
        record.import_bytes(b'{"resourceType":"Condition","id":"new-1","clinicalStatus":{"coding":[{"code":"active"}]},'
                            b'"code":{"text":"Plantar fasciitis"},"subject":{"reference":"Patient/x"}}',
                            origin="new.json")  # fmt: skip
        assert record.change_count() != count
        assert v.build_dashboard(record, v.Scope()) == _build_dashboard(record, v.Scope())


def test_a_summary_built_while_a_write_came_in_is_not_kept(tmp_path: Path, demo_dir: Path) -> None:
    path = _record(tmp_path / "r.carry", demo_dir)
    with Record.open(path, PASSPHRASE) as record:
        count = record.change_count()
        assert count is not None
        record.import_bytes(b'{"resourceType":"Condition","id":"late","code":{"text":"Gout"}}', origin="late.json")
        assert keep_summary(record, "k", count, "{}") is False  # the count moved since the build began
        assert kept_summary(record, "k", count) is None and kept_summary(record, "k", record.change_count()) is None
        assert keep_summary(record, "k", record.change_count(), "{}") is True
        assert kept_summary(record, "k", record.change_count()) == "{}"
        assert record.change_count() == count + 1  # keeping a summary is not a change of the record


def test_a_kept_summary_is_built_again_on_the_day_an_order_gets_a_year_older(tmp_path: Path, demo_dir: Path) -> None:
    today = date(2026, 12, 3)
    assert _says_the_same_until([], today) == "9999-12-31"
    assert _says_the_same_until(["2019-12-10", "2020-01-05T10:00:00Z", None, "garbage"], today) == "2026-12-10"
    assert _says_the_same_until(["2019-12-03"], today) == "2027-12-03"  # today's birthday has passed for today
    assert _says_the_same_until(["2016-02-29"], today) == "2027-03-01"  # counted on 1 March when February is short
    assert _says_the_same_until(["2016-02-29"], date(2027, 12, 1)) == "2028-02-29"
    assert _says_the_same_until(["2019"], today) == "2027-01-01"
    path = _record(tmp_path / "r.carry", demo_dir)
    with Record.open(path, PASSPHRASE) as record:
        scope = v.Scope()
        board = v.build_dashboard(record, scope)
        count = record.change_count()
        key = _summary_key(scope)
        body = kept_summary(record, key, count)
        assert body is not None and '"until":"' in body
        stale = body.rsplit('"until":"', 1)[0] + f'"until":"{date.today().isoformat()}"}}'
        assert keep_summary(record, key, count, stale.replace('"title":"', '"title":"OLD ', 1))
        assert v.build_dashboard(record, scope) == board  # its day has come: built again, not read back


def test_keeping_a_summary_never_waits_for_a_write_in_progress(tmp_path: Path, demo_dir: Path) -> None:
    path = _record(tmp_path / "r.carry", demo_dir)
    with Record.open(path, PASSPHRASE) as record:
        count = record.change_count()
        writing, done = threading.Event(), threading.Event()

        def sync_batch() -> None:  # a sync's batch, holding the writer
            with record.write():
                writing.set()
                done.wait(10)

        batch = threading.Thread(target=sync_batch)
        batch.start()
        try:
            assert writing.wait(5)
            start = time.perf_counter()
            assert keep_summary(record, "k", count, "{}") is False
            assert time.perf_counter() - start < 1  # not kept, at once: the summary is shown without waiting
        finally:
            done.set()
            batch.join()
