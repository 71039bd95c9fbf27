"""The record's one door: Record.read and Record.write (one writer, all or nothing), the change marker the screens'
caches key on, and every audit entry written through the one audit function (text from outside made plain)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.records import PASSPHRASE

from app.record import Record, RecordError
from app.record.portal_state import PortalState
from app.record.view_queries import scope_where, source_rows
from sync.smart import TokenSet

# A title change and a screen clear (7-bit and 8-bit CSI), a bidi override, and a flood of lines: from a portal.
HOSTILE = "patient/*.read\x1b]0;owned\x07\x1b[2J\x9b2J\u202e" + "\n!" * 3000


def test_a_write_commits_together_and_a_failed_one_leaves_nothing(record: Record) -> None:
    with record.write() as tx:
        tx.execute("INSERT INTO setting (key, value) VALUES (?, ?)", ("a", "1"))
        tx.execute("INSERT INTO setting (key, value) VALUES (?, ?)", ("b", "2"))
    assert record.read("SELECT key, value FROM setting WHERE key IN ('a', 'b') ORDER BY key") == [("a", "1"), ("b", "2")]
    with pytest.raises(ZeroDivisionError), record.write() as tx:
        tx.execute("UPDATE setting SET value = 'changed' WHERE key = 'a'")
        tx.execute("INSERT INTO setting (key, value) VALUES (?, ?)", ("c", "3"))
        _ = 1 / 0
    assert record.get_setting("a") == "1" and record.get_setting("c") is None


def test_values_go_as_parameters_never_into_the_sql(record: Record) -> None:
    hostile = "x'); DELETE FROM setting; --"
    record.set_setting("kept", "yes")
    with record.write() as tx:
        tx.execute("INSERT INTO setting (key, value) VALUES (?, ?)", (hostile, hostile))
    assert record.read("SELECT value FROM setting WHERE key = ?", [hostile]) == [(hostile,)]
    assert record.get_setting("kept") == "yes"


def test_the_change_marker_moves_with_every_write_from_here_or_another_connection(record_path: Path) -> None:
    with Record.create(record_path, PASSPHRASE) as record:
        first = record.generation()
        assert record.generation() == first  # reading changes nothing
        record.set_setting("theme", "dark")
        second = record.generation()
        assert second != first
        with Record.open(record_path, PASSPHRASE) as other:  # another window on the same file
            other.set_setting("theme", "light")
        assert record.generation() != second
        assert record.get_setting("theme") == "light"


def test_a_locked_record_refuses_the_door_with_a_sentence(record_path: Path) -> None:
    record = Record.create(record_path, PASSPHRASE)
    record.close()
    with pytest.raises(RecordError, match="locked"):
        record.read("SELECT 1")
    with pytest.raises(RecordError, match="locked"), record.write():
        pass
    with pytest.raises(RecordError, match="locked"):
        record.generation()


def test_named_view_queries_read_through_the_door(record: Record, tmp_path: Path) -> None:
    bundle = tmp_path / "one.json"
    bundle.write_text(json.dumps({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"},
                                  "code": {"text": "Asthma"}}))  # fmt: skip
    record.import_file(bundle)
    (row,) = source_rows(record)
    assert (row.kind, row.resources, row.imported, row.invalid) == ("file", 1, 1, 0) and row.finished_at
    clause, params = scope_where(None, "r.type = ?", ("Condition",))
    assert [r.id for r in record.rows(where=clause, params=params)] == ["c1"]
    clause, params = scope_where(((row.id, "Patient/nobody"),))
    assert record.rows(where=clause, params=params) == []


def test_a_portals_words_reach_the_audit_log_as_one_plain_line(record: Record) -> None:
    tokens = TokenSet(access_token="secret-access", scope=HOSTILE, patient="p1", refresh_token="secret-refresh")
    conn = PortalState(record).save_connection(
        name="Clinic\x1b[31m", base_url="https://fhir.example.org/r4\x1b[2J", patient_id="p1", vendor="epic",
        client_id="carry", auth_method="public", granted_scope=HOSTILE, smart_config="{}", fhir_user=None,
        tokens=tokens,
    )  # fmt: skip
    PortalState(record).disconnect(conn.id, forget=False)
    (entry,) = record.audit_log(action="connect")
    text = json.dumps(entry["detail"], ensure_ascii=False)
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\u202e" not in text
    assert "\n" not in entry["detail"]["scope"] and len(entry["detail"]["scope"]) <= 501
    assert entry["detail"]["scope"].startswith("patient/*.read")
    assert "secret" not in json.dumps(record.audit_log())  # tokens are never audited
    assert record.audit_log(action="disconnect")[0]["detail"] == {"source": conn.id, "forget": False}
