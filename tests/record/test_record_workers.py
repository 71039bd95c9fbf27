"""The worker processes that validate a big import die with the `carry` that started them, even when it is killed
with SIGKILL, and never hold the passphrase (or any other secret) in their environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.processes import kill_while_workers_run
from support.records import PASSPHRASE

from app.record import Record
from sync.fhir.parse import PARALLEL_THRESHOLD


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
    kill_while_workers_run(proc, {"CARRY_PASSPHRASE": PASSPHRASE, "CARRY_CLIENT_SECRET": env["CARRY_CLIENT_SECRET"]})
