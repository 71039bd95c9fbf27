"""Fault campaign (issue 13's figures, on demand): every misbehaviour the sandbox's fault switch offers
(sync/sandbox/faults.py), with its parameters varied, during `carry sync` run as the patient runs it. A scenario
survives when the sync either completes or ends with a plain message (exit 1, no traceback, no "unexpected", no
escape characters, a sentence and not a dump), and, once the portal behaves again, the next plain `carry sync`
(not --full) completes the record to exactly what an undisturbed sync holds (same resources, same hashes). When a
message asks the patient to connect again (a refresh token the portal rotated in an answer Carry refused), the
campaign does so and says it did.

Run with `python -m pytest tests/benchmarks/test_fault_campaign.py -s -p no:cacheprovider` (a few minutes).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from campaign import PASSPHRASE, carry_sync, connected_record, contents, log_in, sandbox

from app.portals import Portals
from app.record import Record
from sync.sandbox import FAULT_KINDS, SandboxServer

__all__ = ["sandbox"]

PATIENT = "elvina"


@dataclass(frozen=True)
class Scenario:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    resource_type: str | None = None
    times: int | None = None
    before_connect: bool = False  # token faults that act on the token the login gets
    expire_first: bool = False  # the stored access token is made to expire, so the sync must refresh

    @property
    def name(self) -> str:
        where = f"@{self.resource_type}" if self.resource_type else ""
        count = "x∞" if self.times is None else f"x{self.times}"
        args = ",".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.kind}{where}{count}({args})"


SCENARIOS = [
    *(Scenario("rate_limit", {"seconds": 1, "header": h}, times=3) for h in ("retry-after", "ratelimit", "ratelimit-old", "x-ratelimit")),
    Scenario("rate_limit", {"seconds": 0, "header": "ratelimit"}, resource_type="Condition"),
    Scenario("rate_limit", {"seconds": 3600, "header": "retry-after"}, resource_type="Condition"),
    Scenario("server_error", times=3),
    Scenario("server_error", resource_type="Condition"),
    Scenario("unavailable", {"seconds": 1}, times=2),
    Scenario("unavailable", times=2),
    Scenario("unavailable", {"seconds": 1}, resource_type="Observation"),
    Scenario("slow", {"delay": 0.3}, times=10),
    Scenario("slow", {"delay": 0.02}),
    Scenario("drop_connection", times=3),
    Scenario("drop_connection", resource_type="Condition"),
    Scenario("expire_token_early", {"seconds": 0}, times=1, before_connect=True),
    Scenario("expire_token_early", {"seconds": 1}, before_connect=True),
    Scenario("revoke_refresh", expire_first=True),
    *(Scenario("token_field", {"name": n, "value": v}, times=1, expire_first=True) for n, v in (
        ("access_token", 123), ("access_token", None), ("refresh_token", {"x": 1}), ("refresh_token", 7),
        ("patient", 42), ("expires_in", "soon"), ("token_type", "MAC"), ("scope", ["a"]))),
    Scenario("repeat_ids", {"count": 3}, resource_type="Observation"),
    Scenario("outcome_entry", resource_type="Encounter"),
    Scenario("outcome_entry"),
    Scenario("foreign_next", {"host": "127.0.0.2"}, resource_type="Observation", times=1),
    Scenario("foreign_next", {"host": "127.0.0.1", "scheme": "https"}, resource_type="Observation", times=1),
    Scenario("foreign_next", {"host": "127.0.0.1", "port": 9}, resource_type="Observation", times=1),
    Scenario("foreign_next", {"host": "attacker.example"}, resource_type="Observation"),
    Scenario("redirect", {"host": "127.0.0.2"}, resource_type="Observation", times=1),
    Scenario("redirect", {"port": 9}, times=1),
    Scenario("redirect", {"scheme": "https"}, resource_type="Condition"),
    Scenario("redirect", {"host": "attacker.example"}, resource_type="Observation"),
]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain(text: str) -> bool:
    return bool(text.strip()) and len(text) < 600 and not _CONTROL.search(text) and "{" not in text and "Traceback" not in text


def verdict(done: subprocess.CompletedProcess[str]) -> tuple[bool, str]:
    """Whether `carry sync --json` ended cleanly (completed, or said plainly why not), and what it said."""
    if "Traceback" in done.stderr or "unexpected" in done.stderr.lower() or done.returncode not in (0, 1):
        return False, done.stderr.strip()[-300:]
    reports = json.loads(done.stdout) if done.stdout.strip() else {}
    if done.returncode == 0:
        complete = bool(reports) and all(r["outcome"] == "complete" for r in reports.values())
        return complete, "complete" if complete else f"exit 0 but {[r['outcome'] for r in reports.values()]}"
    said = [line for line in done.stderr.splitlines() if line.startswith("carry:")]
    for report in reports.values():
        said += [report.get("message") or ""] + [r for t in report["types"].values() for r in t.get("refused", [])]
    said = [s for s in said if s]
    return bool(said) and all(_plain(s) for s in said), " | ".join(said)[:300]


def reconnect(sandbox: SandboxServer, path: Path) -> None:
    login = next(login for login in sandbox.logins if login.username == PATIENT)

    async def again() -> None:
        with Record.open(path, PASSPHRASE) as record:
            await log_in(Portals(record), sandbox, login)

    asyncio.run(again())


@pytest.fixture(scope="module")
def expected(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], str]:
    path = tmp_path_factory.mktemp("clean") / "clean.carry"
    connected_record(sandbox, path, PATIENT)
    assert carry_sync(path).returncode == 0
    return contents(path)[0]


def test_every_kind_of_fault_is_covered() -> None:
    assert {s.kind for s in SCENARIOS} == set(FAULT_KINDS)
    assert len(SCENARIOS) >= 28


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_fault(sandbox: SandboxServer, tmp_path: Path, expected: dict[tuple[str, str], str], scenario: Scenario) -> None:
    sandbox.faults.clear()
    path = tmp_path / "faulted.carry"
    fault = {"resource_type": scenario.resource_type, "times": scenario.times, **scenario.params}
    try:
        if scenario.before_connect:
            sandbox.faults.set(scenario.kind, **fault)
        connected_record(sandbox, path, PATIENT)
        if scenario.expire_first:
            with Record.open(path, PASSPHRASE) as record, record.write() as cur:
                cur.execute("UPDATE portal_token SET expires_at = 0")
        if not scenario.before_connect:
            sandbox.faults.set(scenario.kind, **fault)
        first = carry_sync(path, "--json")
    finally:
        sandbox.faults.clear()
    clean, said = verdict(first)
    reconnected = False
    after = first
    for _ in range(2):
        if after.returncode == 1 and "connect again" in after.stderr:
            reconnect(sandbox, path)  # what the message asks the patient to do
            reconnected = True
        after = carry_sync(path)
        if after.returncode == 0 or "connect again" not in after.stderr:
            break
    got, checkpoints = contents(path)
    completed = after.returncode == 0 and got == expected and checkpoints == 0
    print(f"\n{scenario.name}: exit {first.returncode}, {'clean' if clean else 'NOT CLEAN'}: {said}; "
          f"{'after connecting again as asked, ' if reconnected else ''}"
          f"next sync {'completes the record' if completed else 'DOES NOT complete: ' + after.stderr[-300:]}")  # fmt: skip
    assert clean, said
    assert completed, (after.returncode, after.stderr[-500:], len(set(expected) - set(got)), checkpoints)
