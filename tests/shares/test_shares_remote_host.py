"""A share host people can reach (issue 16): `carry host` in a process and data directory of its own, and the
patient's Carry (this test's process, with another data directory) publishing to it over the publish API with a
device credential. The host never holds a key, a name or a label; revoking and the sealed access log work as they
do on the patient's own computer; one device's credential reaches none of another device's links."""

from __future__ import annotations

import base64
import json
import sqlite3
import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from support.carry_host import CarryHost, the_one_link_opened_by
from support.clock import TestClock

from app.cli import main
from support.records import PASSPHRASE
from sync.share import SQLiteShareHostStore, build_ips, decode_link, new_access_keypair, publish
from sync.share.host.hosting import RemoteHostStore, host_app
from sync.fhir import dumps

CODE = "2718-okafor"


@pytest.fixture
def host(tmp_path: Path) -> Iterator[CarryHost]:
    started = CarryHost(tmp_path)
    yield started
    started.stop()


@pytest.fixture
def app(elvina_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The patient's Carry: its own record, data and config directories (nothing shared with the host's)."""
    monkeypatch.setenv("CARRY_RECORD", str(elvina_path))
    monkeypatch.setenv("CARRY_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("CARRY_SHARE_PASSCODE", CODE)
    monkeypatch.setenv("CARRY_DATA_DIR", str(tmp_path / "app-data"))
    monkeypatch.setenv("CARRY_CONFIG_DIR", str(tmp_path / "app-config"))
    monkeypatch.delenv("CARRY_SHARE_PUBLIC_URL", raising=False)
    monkeypatch.delenv("CARRY_SHARE_VIEWER_URL", raising=False)
    return tmp_path


def _use_host(host: CarryHost, credential: str, monkeypatch: pytest.MonkeyPatch,
              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("CARRY_HOST_CREDENTIAL", credential)
    code = main(["share", "settings", "--host", host.url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"Links live on: the Carry host at {host.url}" in out


def _share(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code = main(["share", "--label", "For Dr Okafor", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.strip().splitlines()[-1]


def test_a_link_published_to_a_carry_host_opens_there_and_revokes_and_reports_back(
    host: CarryHost, app: Path, elvina_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    _use_host(host, host.add_device("laptop"), monkeypatch, capsys)
    uri = _share(capsys, "--passcode")
    assert uri.startswith(f"{host.url}/shl/view#shlink:/")
    payload = decode_link(uri)
    assert payload.url.startswith(f"{host.url}/shl/")
    link_id = payload.url.rsplit("/", 1)[1]
    # Nothing of the share is kept on the patient's computer outside the record, and the credential is in the record.
    assert not (app / "app-data" / "share-host.sqlite").exists()
    settings = (app / "app-config" / "share.json").read_text()
    assert "carryhost_" not in settings and host.url in settings

    # The host holds ciphertext, flags, expiry and the passcode's scrypt hash: no key, no label, no name.
    with sqlite3.connect(host.data / "host.sqlite") as db:
        dumped = "\n".join(db.iterdump())
    assert "scrypt$" in dumped and link_id in dumped
    key = base64.urlsafe_b64encode(payload.key).rstrip(b"=").decode()
    for secret in (key, "For Dr Okafor", "Elvina", "Lemke", CODE):
        assert secret not in dumped, secret

    # A doctor's reader opens it from the host (Carry's own receiver, in a process with nothing of the patient's).
    code = main(["open", uri, "--passcode", "--recipient", "Dr. Okafor"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Elvina" in out

    # The access log comes back into the patient's record and its audit log.
    assert the_one_link_opened_by(elvina_path, main, capsys)["status"] == "active"

    # Revoked through the host: an independent reader gets 404 at once.
    assert main(["share", "revoke", link_id[:8]]) == 0
    capsys.readouterr()
    gone = httpx.post(payload.url, json={"recipient": "Someone", "passcode": CODE}, timeout=30)
    assert gone.status_code == 404 and gone.json()["reason"] == "revoked"
    assert main(["shares", "--json"]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out)[0]["status"] == "revoked"

    # The host's log: method, path with ids cut short, status; never a whole link id, nor a recipient.
    log = host.log.read_text(errors="replace")
    assert f"POST /shl/{link_id[:6]}… 200" in log
    assert link_id not in log and "Okafor" not in log and "recipient" not in log


def test_one_device_cannot_read_or_revoke_anothers_links_and_a_removed_device_stops_at_once(
    host: CarryHost, app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    laptop, phone = host.add_device("laptop"), host.add_device("phone")
    _use_host(host, laptop, monkeypatch, capsys)
    uri = _share(capsys)
    payload = decode_link(uri)
    link_id = payload.url.rsplit("/", 1)[1]
    opened = httpx.post(payload.url, json={"recipient": "Dr. Okafor"}, timeout=30)
    assert opened.status_code == 200

    # The phone's credential: the laptop's link is as unknown as one that never existed, and stays up.
    assert host.api("GET", f"/links/{link_id}", phone).status_code == 404
    assert host.api("DELETE", f"/links/{link_id}", phone).status_code == 404
    assert host.api("GET", "/access", phone).json() == {"entries": []}
    assert host.api("POST", "/access/forget", phone, json={"upto": 10**9}).json() == {"forgotten": 0}
    assert httpx.post(payload.url, json={"recipient": "Dr. Okafor"}, timeout=30).status_code == 200
    mine = host.api("GET", "/access", laptop).json()["entries"]
    assert len(mine) == 2 and {e["link"] for e in mine} == {link_id}
    assert host.api("GET", f"/links/{link_id}", laptop).json()["revoked"] is False

    listed = host.run("devices")
    assert listed.returncode == 0 and "laptop" in listed.stdout and "1 live link," in listed.stdout
    assert laptop not in listed.stdout + host.log.read_text(errors="replace")

    # Removed while the host runs: the laptop's credential stops working with the next request.
    removed = host.run("remove-device", "laptop")
    assert removed.returncode == 0, removed.stderr
    assert host.api("GET", "/device", laptop).status_code == 401
    code = main(["share", "--label", "Again"])
    _, err = capsys.readouterr()
    assert code == 1 and "refused this device's publish credential" in err
    assert host.api("GET", "/device", phone).status_code == 200
    assert host.run("remove-device", "laptop").returncode == 2
    # A new device given the old name inherits nothing; the link itself stays up for the doctor until it expires.
    again = host.add_device("laptop")
    assert host.api("GET", f"/links/{link_id}", again).status_code == 404
    assert host.api("DELETE", f"/links/{link_id}", again).status_code == 404
    assert host.api("GET", "/access", again).json() == {"entries": []}
    assert httpx.post(payload.url, json={"recipient": "Dr. Okafor"}, timeout=30).status_code == 200


def test_a_check_in_link_on_a_carry_host(
    host: CarryHost, app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The Kill the Clipboard kind (flag U, one file fetched with GET) works from the host as from this computer."""
    _use_host(host, host.add_device("laptop"), monkeypatch, capsys)
    payload = decode_link(_share(capsys, "--ktc"))
    assert payload.flag == "U" and payload.url.startswith(f"{host.url}/shl/")
    got = httpx.get(payload.url, params={"recipient": "Riverside Clinic"}, timeout=30)
    assert got.status_code == 200 and got.headers["content-type"] == "application/jose"
    assert main(["shares", "--json"]) == 0
    out, _ = capsys.readouterr()
    assert [(a["recipient"], a["event"]) for a in json.loads(out)[0]["accesses"]] == [("Riverside Clinic", "direct")]


def test_settings_refuse_a_bad_host_or_credential_and_change_nothing(
    host: CarryHost, app: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("CARRY_HOST_CREDENTIAL", "carryhost_not-a-credential")
    assert main(["share", "settings", "--host", host.url]) == 1
    _, err = capsys.readouterr()
    assert "refused this device's publish credential" in err and "Nothing was changed" in err
    assert main(["share", "settings", "--host", "http://share.example.org"]) == 1
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "https://" in err
    assert not (app / "app-config" / "share.json").exists()
    assert main(["share", "--host", host.url]) == 2  # the option belongs to settings
    capsys.readouterr()
    # Back to this computer: new links point at the local host again.
    monkeypatch.setenv("CARRY_HOST_CREDENTIAL", host.add_device("laptop"))
    assert main(["share", "settings", "--host", host.url]) == 0
    assert main(["share", "settings", "--host", ""]) == 0
    out, _ = capsys.readouterr()
    assert "Links live on: this computer" in out
    assert _share(capsys).startswith("http://127.0.0.1:8550/shl/view#shlink:/")


def test_health_quotas_rate_limit_and_the_scheduled_purge(tmp_path: Path) -> None:
    host = CarryHost(tmp_path, "--max-links", "2", "--max-mb", "1", "--rate-per-minute", "8", "--purge-every", "0.5")
    try:
        health = httpx.get(f"{host.url}/healthz", timeout=10)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert health.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in health.headers["content-security-policy"]
        assert httpx.get(f"{host.url}/", timeout=10).status_code == 404  # nothing else of Carry
        store = RemoteHostStore(host.url, host.add_device("laptop"))
        _private, public = new_access_keypair()
        summary = [("application/fhir+json", dumps(build_ips({"resourceType": "Patient", "id": "p"}, {})))]
        soon = publish(store, f"{host.url}/shl", summary, access_key=public, exp=int(time.time()) + 2)
        publish(store, f"{host.url}/shl", summary, access_key=public)
        with pytest.raises(Exception, match="2 live links on the host, its limit"):
            publish(store, f"{host.url}/shl", summary, access_key=public)
        big = [("application/fhir+json", b"x" * 2 * 1024 * 1024)]
        store.revoke(soon.link_id)
        with pytest.raises(Exception, match="storage this device may use"):
            publish(store, f"{host.url}/shl", big, access_key=public, compress=False)
        # Eight requests a minute: the next ones are refused until the minute has passed.
        answers = [store._call("GET", "/device", missing_ok=True) for _ in range(2)]
        assert all(a is not None for a in answers)
        with pytest.raises(Exception, match="Too many requests"):
            for _ in range(8):
                store.whoami()
        # Expired ciphertext goes on the host's schedule (`--purge-every`), with nobody asking for it: a link put in
        # its store already expired is gone within a purge or two. (Expiry by the host's clock is in-process below.)
        local = SQLiteShareHostStore(host.data / "host.sqlite")
        expired = publish(local, f"{host.url}/shl", summary, access_key=public, exp=int(time.time()) - 60)
        assert local.files(expired.link_id)
        assert _soon(lambda: local.files(expired.link_id) == [], within=10.0)
        assert _soon(lambda: "purged" in host.log.read_text(errors="replace"), within=5.0)
    finally:
        host.stop()


def _soon(done: Callable[[], bool], within: float) -> bool:
    """Whether `done()` comes true within `within` seconds (a scheduled task's work, checked every 50 ms)."""
    deadline = time.monotonic() + within
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_the_scheduled_purge_drops_ciphertext_once_the_hosts_clock_passes_its_expiry(tmp_path: Path) -> None:
    store = SQLiteShareHostStore(tmp_path / "host.sqlite")
    clock = TestClock(time.time())
    app = host_app(store, "http://127.0.0.1:9", purge_every=0.01, clock=clock)
    _private, public = new_access_keypair()
    summary = [("application/fhir+json", dumps(build_ips({"resourceType": "Patient", "id": "p"}, {})))]
    past = publish(store, "http://127.0.0.1:9/shl", summary, access_key=public, exp=int(clock()) - 1)
    expiring = publish(store, "http://127.0.0.1:9/shl", summary, access_key=public, exp=int(clock()) + 60)
    lasting = publish(store, "http://127.0.0.1:9/shl", summary, access_key=public)

    async def until_gone(link_id: str) -> None:
        for _ in range(500):  # the task purges every 10 ms: at most a few seconds on a busy machine
            if not store.files(link_id):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the scheduled purge never dropped the expired link's ciphertext")

    async def run() -> None:
        async with app.router.lifespan_context(app):  # the purge task runs while the app does
            await until_gone(past.link_id)  # a purge has run by the host's clock: the minute link stays
            assert store.files(expiring.link_id) and store.files(lasting.link_id)
            clock.advance(61)
            await until_gone(expiring.link_id)
            assert store.files(lasting.link_id)

    asyncio.run(run())


REFUSED: list[tuple[dict[str, object], str]] = [
    ({"accessKey": {"kty": "OKP", "crv": "X25519", "x": "A" * 43, "d": "B" * 43}}, "public X25519 key"),
    ({"files": [{"contentType": "application/fhir+json", "jwe": "{\"resourceType\": \"Patient\"}"}]},
     "must be encrypted"),
    ({"flag": "PU"}, "passcode hash goes with flag P"),
    ({"flag": "P", "passcodeHash": "plain-passcode", "attempts": 5}, "scrypt hash"),
    ({"id": "../../etc"}, "43 base64url characters"),
    ({"exp": 1}, "in the future"),
    ({"files": []}, "1 to 10 files"),
]  # fmt: skip


def test_the_publish_api_refuses_what_is_not_ciphertext_and_keeps_nothing(host: CarryHost) -> None:
    credential = host.add_device("laptop")
    body: dict[str, object] = {
        "id": "A" * 43, "flag": "", "exp": None, "passcodeHash": None, "attempts": None,
        "accessKey": {"kty": "OKP", "crv": "X25519", "x": "A" * 43},
        "files": [{"contentType": "application/fhir+json", "jwe": "a.b.c.d.e", "lastUpdated": None}],
    }  # fmt: skip
    assert host.api("POST", "/links", credential, json=body).status_code == 201  # the well-formed one is kept
    for change, said in REFUSED:
        refused = host.api("POST", "/links", credential, json={**body, "id": "B" * 43, **change})
        assert refused.status_code == 400 and said in refused.json()["error"], change
        assert refused.json()["error"].count(".") <= 1  # one sentence
    assert host.api("GET", "/device", credential).json()["links"] == 1
    big = host.api("POST", "/links", credential, content=b"x" * (9 * 1024 * 1024))
    assert big.status_code == 413
