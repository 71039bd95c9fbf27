"""The worker processes that validate a big import die with the `carry` that started them, even when it is killed
with SIGKILL, and never hold the passphrase (or any other secret) in their environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.records import PASSPHRASE

from app.record import Record
from sync.fhir.parse import PARALLEL_THRESHOLD


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # an exited orphan waits to be reaped by whatever init this machine has


def _observations(count: int) -> bytes:
    line = {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/p"},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}], "text": "Glucose"}}  # fmt: skip
    return b"\n".join(json.dumps({**line, "id": f"o{n}", "valueQuantity": {"value": n % 300, "unit": "mg/dL"}}).encode()
                      for n in range(count))  # fmt: skip


def test_validation_workers_hold_no_secrets_and_die_with_a_killed_carry(tmp_path: Path) -> None:
    record_file = tmp_path / "r.carry"
    Record.create(record_file, PASSPHRASE).close()
    big = tmp_path / "many.ndjson"
    big.write_bytes(_observations(PARALLEL_THRESHOLD * 10))
    env = {**os.environ, "CARRY_RECORD": str(record_file), "CARRY_PASSPHRASE": PASSPHRASE,
           "CARRY_CLIENT_SECRET": "client-secret-for-the-test"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "import", str(big)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    children: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            workers = [pid for pid in _children(proc.pid) if b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()]
            if len(workers) >= 2 or (workers and os.cpu_count() == 1):
                children = _children(proc.pid)
                break
            time.sleep(0.05)
        assert children, f"no validation workers were seen (carry's exit status: {proc.poll()})"
        for pid in children:
            environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            names = {item.split(b"=", 1)[0] for item in environment}
            assert b"CARRY_PASSPHRASE" not in names and b"CARRY_CLIENT_SECRET" not in names
            assert not any(PASSPHRASE.encode() in item for item in environment)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.1)
        assert not [pid for pid in children if _alive(pid)], "workers outlived the killed carry"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        for pid in children:  # only the processes this test's carry started, by their id
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
