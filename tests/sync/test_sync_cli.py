"""`carry connect`, `carry sync`, `carry sources` and `carry disconnect`, run as the patient runs them: in a
subprocess, against the sandbox portal over real HTTP, with the login done by the scripted browser."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from sync_support import PASSPHRASE, connect, login_for, snapshot

from app.portals import Portals
from app.record import Record
from app.record.checking import pending_count
from support.portal import log_in
from sync.sandbox import DEMO_REDIRECT_URI, ClientRegistration, SandboxServer


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "CARRY_PASSPHRASE": PASSPHRASE, "CARRY_NO_BROWSER": "1", **extra}


def carry(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, env=env or _env(), timeout=timeout
    )


class Connecting:
    """`carry connect` running in the background; `.url` is the authorize URL it printed."""

    def __init__(self, base_url: str, record: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "connect", base_url, "--record", str(record), "--no-browser", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or _env(),
        )  # fmt: skip
        self.url = ""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("http"):
                self.url = line.strip()
                break

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


def _new_record(tmp_path: Path, name: str = "cli.carry") -> Path:
    path = tmp_path / name
    Record.create(path, PASSPHRASE).close()
    return path


def test_connect_sync_sources_disconnect(sandbox: SandboxServer, tmp_path: Path) -> None:
    path = _new_record(tmp_path)
    login = login_for(sandbox, "elvina")
    connecting = Connecting(sandbox.base_url, path)
    assert connecting.url.startswith(f"{sandbox.origin}/auth/authorize?")
    query = dict(parse_qsl(urlsplit(connecting.url).query))
    assert query["code_challenge_method"] == "S256" and query["aud"] == sandbox.base_url
    assert len(query["state"]) >= 43  # 256 bits, base64url
    assert set(query["scope"].split()) >= {"launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs"}
    location = log_in(connecting.url, login.username, login.password)
    page = httpx.get(location, timeout=10)
    assert page.status_code == 200 and "close this window" in page.text
    status, out, err = connecting.finish()
    assert status == 0, err
    assert "Connected Carry Demo Hospital" in out and login.patient_id in out

    done = carry("sync", "--record", str(path))
    assert done.returncode == 0, done.stderr
    assert "complete (full)" in done.stdout and "Observation" in done.stdout
    assert "Observation" in done.stderr  # the progress lines
    # What the sync stored was validated before the command ended: nothing is left unchecked.
    assert "against FHIR R4" in done.stderr
    with Record.open(path, PASSPHRASE) as record:
        assert pending_count(record) == 0 and record.count() > 100
    again = carry("sync", "1", "--record", str(path), "--json")
    report = json.loads(again.stdout)["Carry Demo Hospital (synthetic patients)"]
    assert report["mode"] == "incremental" and all(t["imported"] == t["updated"] == 0 for t in report["types"].values())

    listed = json.loads(carry("sources", "--record", str(path), "--json").stdout)
    assert listed[0]["status"] == "connected" and listed[0]["last_outcome"] == "complete" and listed[0]["resources"] > 100
    assert "access_token" not in json.dumps(listed)

    gone = carry("disconnect", "1", "--record", str(path))
    assert gone.returncode == 0 and "the portal withdrew Carry's access" in gone.stdout
    listed = json.loads(carry("sources", "--record", str(path), "--json").stdout)
    assert listed[0]["status"] == "disconnected" and listed[0]["resources"] > 100
    with Record.open(path, PASSPHRASE) as record:
        assert record.read("SELECT count(*) FROM portal_token")[0][0] == 0
    refused = carry("sync", "1", "--record", str(path))
    assert refused.returncode == 1 and "disconnected" in refused.stderr

    forgotten = carry("disconnect", "1", "--forget", "--record", str(path))
    assert forgotten.returncode == 0
    with Record.open(path, PASSPHRASE) as record:
        assert record.count() == 0 and not record.sources()


def _connect_error(
    sandbox: SandboxServer, tmp_path: Path, *extra: str, approve: bool = True, env: dict[str, str] | None = None
) -> tuple[int, str]:
    path = _new_record(tmp_path)
    login = login_for(sandbox, "reyna")
    connecting = Connecting(sandbox.base_url, path, *extra, env=env)
    location = log_in(connecting.url, login.username, login.password, approve=approve)
    httpx.get(location, timeout=10)
    status, _out, err = connecting.finish()
    with Record.open(path, PASSPHRASE) as record:
        assert not record.sources()  # nothing was connected
    return status, err


def test_a_log_says_once_how_many_were_checked_even_when_all_were_checked_beside_the_sync(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from app.cli import _ProgressLine

    # A fast machine validates everything beside the sync: nothing is left for after it, and the log still says it.
    line = _ProgressLine()
    line.checked(12000)
    # A slower one leaves some: the log gets one line with the whole count, not the count left after the sync.
    line = _ProgressLine()
    for done in (500, 1000):
        line.checking(done, 1000)
    line.checked(12000)
    line.checked(0)  # nothing stored new or changed: nothing said
    err = capsys.readouterr().err
    assert err.splitlines() == ["  checked 12,000 new or changed resources against FHIR R4"] * 2


def test_connect_says_when_the_patient_declines(sandbox: SandboxServer, tmp_path: Path) -> None:
    status, err = _connect_error(sandbox, tmp_path, approve=False)
    assert status == 1 and "declined to give Carry access" in err


def test_connect_ignores_a_callback_with_another_state_and_takes_the_real_one(sandbox: SandboxServer, tmp_path: Path) -> None:
    # A stray request to the loopback address (anyone's, with another state) must not end the login.
    path = _new_record(tmp_path)
    login = login_for(sandbox, "reyna")
    connecting = Connecting(sandbox.base_url, path)
    location = log_in(connecting.url, login.username, login.password)
    parts = urlsplit(location)
    stray = parts._replace(query=urlencode({**dict(parse_qsl(parts.query)), "state": "not-the-state-carry-sent"}))
    assert httpx.get(stray.geturl(), timeout=10).status_code == 404
    assert httpx.get(location, timeout=10).status_code == 200
    status, out, err = connecting.finish()
    assert status == 0 and "Connected" in out, err


def test_connect_explains_invalid_scope(sandbox: SandboxServer, tmp_path: Path) -> None:
    path = _new_record(tmp_path)
    connecting = Connecting(sandbox.base_url, path, "--scopes", "system/*.rs")
    # The portal refuses before any login page: it sends the browser straight back with the error.
    location = httpx.get(connecting.url, timeout=10).headers["location"]
    httpx.get(location, timeout=10)
    status, _out, err = connecting.finish()
    assert status == 1 and "invalid_scope" in err


def test_connect_times_out_clearly(sandbox: SandboxServer, tmp_path: Path) -> None:
    path = _new_record(tmp_path)
    connecting = Connecting(sandbox.base_url, path, "--timeout", "1")
    status, _out, err = connecting.finish()
    assert status == 1 and "within 1 seconds" in err


def test_a_confidential_client_with_the_wrong_secret_is_invalid_client(tmp_path: Path) -> None:
    client = ClientRegistration("carry-conf", (DEMO_REDIRECT_URI,), "the-right-secret")
    with SandboxServer(clients=[client]) as sandbox:
        config = Path(os.environ["CARRY_CONFIG_DIR"])
        config.mkdir(parents=True, exist_ok=True)
        (config / "clients.toml").write_text(
            f'[server."{sandbox.base_url}"]\nclient_id = "carry-conf"\nauth = "client_secret_basic"\n'
        )
        # No secret at all: one sentence, and the command line says how to give it (the app never names a command).
        status, _out, err = Connecting(sandbox.base_url, _new_record(tmp_path, "none.carry")).finish()
        assert status == 1 and "carry-conf authenticates with a client secret" in err
        assert f"Set $CARRY_CLIENT_SECRET to it and run `carry connect {sandbox.base_url}` again." in err

        status, err = _connect_error(sandbox, tmp_path / "a", env=_env(CARRY_CLIENT_SECRET="a-wrong-secret"))
        assert status == 1 and "does not accept Carry's client id carry-conf: register Carry" in err
        assert "a-wrong-secret" not in err

        # The right secret connects, is kept in the record, and serves the refresh and the sync later.
        path = _new_record(tmp_path, "b.carry")
        connecting = Connecting(sandbox.base_url, path, env=_env(CARRY_CLIENT_SECRET="the-right-secret"))
        login = login_for(sandbox, "reyna")
        httpx.get(log_in(connecting.url, login.username, login.password), timeout=10)
        status, out, err = connecting.finish()
        assert status == 0, err
        done = carry("sync", "--record", str(path))  # no secret in the environment now
        assert done.returncode == 0, done.stderr


def test_an_unknown_portal_without_a_client_id_says_where_to_register(tmp_path: Path) -> None:
    path = _new_record(tmp_path)
    # A portal the quirk table knows (Epic) but no client registered: nothing is contacted beyond discovery.
    from app.portals import registrations_path
    from sync.pull import detect_vendor
    from sync.smart import missing_client

    quirks = detect_vendor("https://fhir.example.epic.com/api/FHIR/R4")
    message = str(missing_client(quirks.name, quirks.developer_site, "http://127.0.0.1/oauth/callback", registrations_path()))
    assert "Epic" in message and "https://fhir.epic.com/Developer/Apps" in message
    assert "http://127.0.0.1/oauth/callback" in message and "clients.toml" in message
    refused = carry("connect", "http://portal.example.org/fhir", "--record", str(path))
    assert refused.returncode == 1 and "https" in refused.stderr


def test_a_sync_killed_midway_resumes_to_the_same_state(sandbox: SandboxServer, tmp_path: Path) -> None:
    login = login_for(sandbox, "carolyne")
    killed, clean = tmp_path / "killed.carry", tmp_path / "clean.carry"

    async def connected(path: Path) -> int:
        with Record.create(path, PASSPHRASE) as record:
            return int((await connect(Portals(record), sandbox, login)).id)

    source = asyncio.run(connected(killed))
    sandbox.faults.set("slow", delay=0.15)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "sync", "--record", str(killed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while sum("page" in line for line in lines) < 8 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the sync finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    sandbox.faults.clear()

    pending = json.loads(carry("sources", "--record", str(killed), "--json").stdout)[0]
    assert pending["sync_pending"] and 0 < pending["resources"]
    resumed = carry("sync", "--record", str(killed), "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["Carry Demo Hospital (synthetic patients)"]["resumed"] is True

    async def uninterrupted() -> None:
        with Record.create(clean, PASSPHRASE) as record:
            portals = Portals(record)
            conn = await connect(portals, sandbox, login)
            await portals.sync(conn.id)

    asyncio.run(uninterrupted())
    with Record.open(killed, PASSPHRASE) as a, Record.open(clean, PASSPHRASE) as b:
        assert snapshot(a, source) == snapshot(b, 1)
        assert a.read("SELECT count(*) FROM sync_checkpoint")[0][0] == 0
