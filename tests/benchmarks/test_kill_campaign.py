"""Kill campaign (issue 13's figures, on demand): `carry sync` is killed with SIGKILL at random moments and resumed,
and every resumed record must hold exactly what an uninterrupted sync of the same patient holds (same resources,
same content hashes), with no sync checkpoint left and no validation worker outliving its parent.

The sandbox runs in this process on 127.0.0.1; each sync is `carry sync` as its own process, as the patient runs
it. Every FHIR request is answered after a short delay so that a sync lasts long enough for the kills to land in
its fetching, storing and validating phases alike. A kill moment is drawn uniformly over the length of an
uninterrupted run (seeded, so a failure can be replayed: CARRY_KILL_SEED). CARRY_KILLS sets the number (default 40).
Run with `python -m pytest tests/benchmarks/test_kill_campaign.py -s -p no:cacheprovider` (a few minutes).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from campaign import carry_sync, connected_record, contents, sandbox, sync_env

from support.processes import alive, workers
from sync.sandbox import SandboxServer

__all__ = ["sandbox"]

KILLS = int(os.environ.get("CARRY_KILLS", "40"))
SEED = int(os.environ.get("CARRY_KILL_SEED", "13"))
PATIENT = "carolyne"
DELAY = 0.02  # seconds before each FHIR answer


def killed_at(path: Path, moment: float) -> tuple[bool, list[int]]:
    """`carry sync` started and SIGKILLed `moment` seconds later. Whether it was still running when killed, and the
    validation workers it had then."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "sync", "--record", str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=sync_env(),
    )  # fmt: skip
    deadline = time.monotonic() + moment
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    running = proc.poll() is None
    helpers = workers(proc.pid) if running else []
    os.kill(proc.pid, signal.SIGKILL) if running else None
    proc.wait(timeout=30)
    return running, helpers


def orphans(helpers: list[int], within: float = 10) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = [pid for pid in helpers if alive(pid)]
        if not left:
            return []
        time.sleep(0.1)
    return [pid for pid in helpers if alive(pid)]


def test_kill_campaign(sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.faults.set("slow", delay=DELAY)
    clean = tmp_path / "clean.carry"
    connected_record(sandbox, clean, PATIENT)
    started = time.monotonic()
    done = carry_sync(clean)
    length = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    expected, _ = contents(clean)
    assert len(expected) > 100
    print(f"\nuninterrupted `carry sync` of {PATIENT}: {len(expected)} resources in {length:.1f} s")

    chance = random.Random(SEED)
    survived, landed, failures = 0, 0, []
    for n in range(KILLS):
        path = tmp_path / f"killed-{n}.carry"
        connected_record(sandbox, path, PATIENT)
        moment = chance.uniform(0.0, length)
        running, helpers = killed_at(path, moment)
        landed += running
        left = orphans(helpers)
        for pid in left:  # ours to end: a worker of the sync this test started
            os.kill(pid, signal.SIGKILL)
        resumed = carry_sync(path)
        got, checkpoints = contents(path) if resumed.returncode == 0 else ({}, -1)
        ok = resumed.returncode == 0 and got == expected and checkpoints == 0 and not left
        survived += ok
        if not ok:
            missing = len(set(expected) - set(got))
            changed = sum(1 for k in expected if k in got and got[k] != expected[k])
            failures.append(
                f"kill {n} at {moment:.2f} s: exit {resumed.returncode}, {missing} missing, {changed} changed, "
                f"{len(set(got) - set(expected))} extra, {checkpoints} checkpoints, {len(left)} orphaned workers; "
                f"{resumed.stderr.strip()[-300:]}"
            )
        path.unlink(missing_ok=True)
        print(f"kill {n + 1:2d} at {moment:5.2f} s ({'during' if running else 'after'} the sync, "
              f"{len(helpers)} workers): {'same record' if ok else 'DIFFERENT'}")  # fmt: skip
    print(f"kills survived: {survived} of {KILLS} ({landed} landed while the sync ran; seed {SEED})")
    assert not failures, "\n".join(failures)
    assert landed >= KILLS * 3 // 4, "too few kills landed during a sync for the campaign to mean anything"
