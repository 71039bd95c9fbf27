"""Text from outside (a portal's error_description, a file's content and name) reaches the patient's terminal and
the audit log as one plain line: no escape sequences, no line floods, no half characters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from support.cli import run_carry
from sync_support import PASSPHRASE

from app.record import Record
from sync.sandbox import SandboxServer

# A title change and a screen clear (7-bit and 8-bit CSI), a bidi override, and a 3,000-line flood
HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b[31m\x9b2JYour record was deleted\u202e" + "\n!" * 3000


def _assert_plain(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text and "\x9b" not in text
    assert len(text.splitlines()) < 20, f"{len(text.splitlines())} lines"


def test_a_portals_error_description_reaches_the_terminal_as_one_plain_line(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    record_file = tmp_path / "r.carry"
    Record.create(record_file, PASSPHRASE).close()
    env = {**os.environ, "CARRY_PASSPHRASE": PASSPHRASE, "CARRY_NO_BROWSER": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "connect", sandbox.base_url, "--record", str(record_file), "--no-browser"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = next(line.strip() for line in proc.stdout if line.startswith("http"))
        query = dict(parse_qsl(urlsplit(url).query))
        # What the portal's login page sends the browser back with when it fails.
        answer = {"error": "invalid_request", "error_description": HOSTILE, "state": query["state"]}
        httpx.get(f"{query['redirect_uri']}?{urlencode(answer)}", timeout=10)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert proc.returncode == 1
    _assert_plain(out + err)
    assert "Your record was deleted" in err and "! ! !" in err
    assert len(err.splitlines()[-1]) < 1100  # the flood is cut, with an ellipsis


def test_file_content_and_names_reach_the_terminal_and_audit_log_as_plain_lines(tmp_path: Path) -> None:
    record_file = tmp_path / "r.carry"
    Record.create(record_file, PASSPHRASE).close()
    env = {"CARRY_RECORD": str(record_file), "CARRY_PASSPHRASE": PASSPHRASE}
    name = tmp_path / "labs\x1b[2J\x1b]0;owned\x07.json"
    name.write_text(json.dumps({
        "resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"},
        "code": {"text": HOSTILE}, "clinicalStatus": {"text": "active\x1b[8m"},
    }))  # fmt: skip
    imported = run_carry("import", str(name), env=env)
    assert imported.returncode == 0, imported.stderr
    _assert_plain(imported.stdout + imported.stderr)
    for command in (("list",), ("search", "deleted"), ("list", "--merged")):
        done = run_carry(*command, env=env)
        assert done.returncode == 0 and "Your record was deleted" in done.stdout, done.stderr
        _assert_plain(done.stdout + done.stderr)
    as_json = run_carry("list", "--json", env=env)
    assert as_json.returncode == 0 and "\x9b" not in as_json.stdout and "\u202e" not in as_json.stdout
    assert json.loads(as_json.stdout)[0]["display"].startswith("\x1b]0;owned\x07\x1b[2J\x1b[31m\x9b2JYour record")
    broken = tmp_path / "broken\x1b[2J.json"
    broken.write_text('{"resourceType": "Patient", "\\u001b[2J": 1, "\\u001b[2J": 2}')
    refused = run_carry("import", str(broken), env=env)
    assert refused.returncode == 1 and "appears twice" in refused.stderr
    _assert_plain(refused.stdout + refused.stderr)
    with Record.open(record_file, PASSPHRASE) as record:
        entries = record.audit_log(action="import")
    assert entries and all("\x1b" not in json.dumps(e["detail"], ensure_ascii=False) for e in entries)
