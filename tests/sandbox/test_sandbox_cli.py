"""`carry sandbox`: starts in under 3 seconds, prints its base URL and logins, serves, and stops on SIGTERM."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from app.cli import main

_STARTUP_LIMIT = 3.0


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.rstrip("\n"))


def test_carry_sandbox_starts_fast_and_prints_what_a_newcomer_needs() -> None:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "sandbox", "--port", "0", "--client", "my-app", "http://127.0.0.1/cb",
         "--registration"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True).start()
        seen: list[str] = []
        while len([line for line in seen if line.startswith("patient ")]) < 5:
            remaining = _STARTUP_LIMIT + 5 - (time.monotonic() - started)
            assert remaining > 0, f"carry sandbox printed only {seen}"
            seen.append(lines.get(timeout=remaining))
        elapsed = time.monotonic() - started
        assert elapsed < _STARTUP_LIMIT, f"carry sandbox took {elapsed:.2f} s to start"

        base = re.fullmatch(r"base_url (http://127\.0\.0\.1:\d+/fhir)", seen[0])
        assert base is not None, seen
        assert seen[1] == "client_id carry-demo"
        patients = [re.fullmatch(r"patient (.+): username (\S+) password (\S+)", line) for line in seen[2:]]
        assert all(patients), seen
        names = {m.group(2): (m.group(1), m.group(3)) for m in patients if m}
        assert names["elvina"] == ("Elvina Lemke", "elvina-demo")
        assert len(names) == 5

        url = base.group(1)
        assert httpx.get(f"{url}/metadata", timeout=5).json()["resourceType"] == "CapabilityStatement"
        # --registration: dynamic client registration is offered, as Epic does
        config = httpx.get(f"{url}/.well-known/smart-configuration", timeout=5).json()
        assert config["registration_endpoint"] == url.rsplit("/fhir", 1)[0] + "/auth/register"
        # the client registered by flag is known to the portal
        authorize = url.rsplit("/fhir", 1)[0] + "/auth/authorize?" + urlencode(
            {"response_type": "code", "client_id": "my-app", "redirect_uri": "http://127.0.0.1:4000/cb", "state": "s",
             "aud": url, "scope": "launch/patient patient/*.rs",
             "code_challenge": "YPXe7B8ghKrj8PsT4L6ltupgI12NQJ5vblB07F4rGaw", "code_challenge_method": "S256"}
        )
        assert httpx.get(authorize, timeout=5).status_code == 200
    finally:
        process.terminate()
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read()


def test_bad_data_is_a_plain_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--port", "0", "--data", str(tmp_path / "missing.json")]) == 1
    assert "carry: There is no file or directory" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["sandbox", "--port", "0", "--data", str(broken)]) == 1
    assert "is not FHIR the sandbox can load" in capsys.readouterr().err


def test_bad_client_file_is_a_plain_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clients = tmp_path / "clients.json"
    clients.write_text('{"clients": [{"client_id": "x"}]}')
    assert main(["sandbox", "--port", "0", "--clients", str(clients)]) == 1
    assert "redirect_uris" in capsys.readouterr().err


def test_a_latency_out_of_range_is_a_plain_error(capsys: pytest.CaptureFixture[str]) -> None:
    for value in ("-1", "61", "nan"):
        assert main(["sandbox", "--port", "0", f"--latency={value}"]) == 2  # a usage error
        assert "--latency must be between 0 and 60 seconds" in capsys.readouterr().err
