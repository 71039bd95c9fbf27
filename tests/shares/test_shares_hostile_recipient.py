"""Issue 13, findings 1 and 7: whoever holds a shared link names any `recipient` they like. A lone surrogate once
made the access-log merge on the next unlock raise UnicodeEncodeError and locked the patient out of every `carry`
command; escape sequences and line floods reached the patient's terminal and audit log. The real `carry serve`
hosts the link; the real `carry` command line unlocks the record afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.cli import main
from app.record import Record
from app.record.share_state import AccessEntry, ShareState
from app.shares import ShareHost, candidates, create_share
from support.records import PASSPHRASE
from sync.share import decode_link
from sync.share.codec.jose import seal

HOSTILE = [
    '"\\ud800"',  # a lone surrogate, as the JSON escape a caller sends
    '"Dr \\udfff Evil \\ud83d"',
    '"\\u001b[2J\\u001b]0;owned\\u0007Dr Escape\\u009b31m"',  # clear screen, retitle the terminal, C1 CSI
    '"Dr Flood' + "\\n:" * 3000 + '"',  # 3,000 lines
    '"\\u202eDr Reversed\\u200b"',  # bidi override, zero-width space
]


def _post(url: str, recipient_json: str, passcode: str | None = None) -> int:
    body = '{"recipient": ' + recipient_json + (f', "passcode": "{passcode}"' if passcode else "") + "}"
    return httpx.post(url, content=body.encode("ascii"), headers={"content-type": "application/json"}).status_code


def _plain(text: str) -> bool:
    return text.isprintable() and len(text) <= 200 and text.encode("utf-8") is not None


@pytest.mark.parametrize("passcode", [None, "tulip-42"])
def test_a_hostile_recipient_cannot_lock_the_patient_out(
    elvina_path: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    passcode: str | None,
) -> None:
    carry_server.use(monkeypatch)
    record = Record.open(elvina_path, PASSPHRASE)
    try:
        made = create_share(record, ShareHost.open(), candidates(record), passcode=passcode)
    finally:
        record.close()
    url = decode_link(made.uri).url
    # With a passcode, a wrong guess is logged too: no passcode is needed to plant the entry.
    statuses = [_post(url, hostile, "wrong" if passcode else None) for hostile in HOSTILE]
    # A name that is nothing but a lone surrogate names no one: refused, and nothing is logged for it.
    assert statuses == [400] + [401 if passcode else 200] * (len(HOSTILE) - 1)

    monkeypatch.setenv("CARRY_RECORD", str(elvina_path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    code = main(["shares"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "\x1b" not in out + err and "\x9b" not in out + err and "\x07" not in out + err
    merged = [line for line in err.splitlines() if made.link_id[:8] in line]
    assert len(merged) == len(HOSTILE) - 1  # one line each: the flood did not reach the terminal as 3,000 lines
    assert all(line.isprintable() and len(line) < 300 for line in merged)
    # The next command still opens the record, and what was stored is plain, printable text.
    assert main(["shares"]) == 0
    record = Record.open(elvina_path, PASSPHRASE)
    try:
        action = "share-passcode-refused" if passcode else "share-opened"
        recipients = [entry["detail"]["recipient"] for entry in record.audit_log(action=action)]
    finally:
        record.close()
    assert len(recipients) == len(HOSTILE) - 1
    assert all(_plain(r) and r for r in recipients)
    assert "Dr Escape" in " ".join(recipients) and "Dr Reversed" in recipients


def test_an_access_entry_neutralises_whatever_a_host_stored() -> None:
    # A host other than Carry's own (the standalone or PostgreSQL host) may hold anything in a sealed entry.
    for data in ({"recipient": "\ud800", "at": "\x1b[2J", "event": "rm -rf"}, {"recipient": 7, "at": None},
                 ["not", "a", "mapping"], None):  # fmt: skip
        entry = AccessEntry.opened("link\x1b", data)
        for text in (entry.link_id, entry.recipient, entry.at, entry.event, entry.sentence()):
            text.encode("utf-8")
            assert text.isprintable()
        assert entry.event in ("manifest", "direct", "passcode-refused")


def test_no_stored_access_entry_can_stop_the_record_from_opening(
    elvina_path: Path, carry_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    # What a share host other than Carry's own (or an older Carry) may have stored: entries sealed to the
    # patient's key that were never neutralised.
    carry_server.use(monkeypatch)
    host = ShareHost.open()
    record = Record.open(elvina_path, PASSPHRASE)
    try:
        made = create_share(record, host, candidates(record))
        public = ShareState(record).access_keys()[1]
    finally:
        record.close()
    for payload in ({"link": made.link_id, "recipient": "\ud800\x1b[2JDr Lone", "at": "\udfff", "event": "manifest"},
                    {"link": made.link_id, "recipient": {"nested": ["x"] * 50}, "at": 12, "event": "\x1b[31m"},
                    {"link": made.link_id, "recipient": 42}):  # fmt: skip
        host.store.add_access(made.link_id, seal(public, payload))
    monkeypatch.setenv("CARRY_RECORD", str(elvina_path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    assert main(["shares"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "Dr Lone" in err
    record = Record.open(elvina_path, PASSPHRASE)
    try:
        recipients = [entry["detail"]["recipient"] for entry in record.audit_log(action="share-opened")]
    finally:
        record.close()
    assert len(recipients) == 3 and all(_plain(r) and r for r in recipients)
