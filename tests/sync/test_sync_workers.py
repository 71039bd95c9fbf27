"""`kill -9` of a `carry sync` while it validates what it stored: the worker processes end with it, and none of
them ever held the passphrase in its environment."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from support.processes import kill_while_workers_run
from sync_support import PASSPHRASE, connect, login_for

from app.portals import Portals
from app.record import Record
from sync.fhir.parse import PARALLEL_THRESHOLD
from sync.sandbox import SandboxServer


def _patient_with_many_results(path: Path, count: int) -> Path:
    entries: list[dict[str, object]] = [{"resource": {
        "resourceType": "Patient", "id": "many", "name": [{"family": "Quill", "given": ["Ada"]}],
        "birthDate": "1970-01-01", "gender": "female"}}]  # fmt: skip
    for n in range(count):
        entries.append({"resource": {
            "resourceType": "Observation", "id": f"r{n}", "status": "final", "subject": {"reference": "Patient/many"},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}], "text": "Glucose"},
            "effectiveDateTime": f"2020-01-01T00:{n % 60:02d}:00Z", "valueQuantity": {"value": n % 300, "unit": "mg/dL"},
        }})  # fmt: skip
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    return path


def test_a_killed_sync_leaves_no_validation_workers_and_gives_them_no_secrets(tmp_path: Path) -> None:
    data = _patient_with_many_results(tmp_path / "many.json", PARALLEL_THRESHOLD + 1000)
    record_file = tmp_path / "r.carry"
    with SandboxServer([data]) as sandbox:
        with Record.create(record_file, PASSPHRASE) as record:
            asyncio.run(connect(Portals(record), sandbox, login_for(sandbox, sandbox.logins[0].username)))
        env = {**os.environ, "CARRY_RECORD": str(record_file), "CARRY_PASSPHRASE": PASSPHRASE}
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "sync"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        kill_while_workers_run(proc, {"CARRY_PASSPHRASE": PASSPHRASE})
