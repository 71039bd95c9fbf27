"""Helpers of the sharing tests (a module of its own name, so test files can import it unambiguously)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.record import Record
from support.processes import stop_process, wait_listening
from support.records import PASSPHRASE
from sync.assets import DEMO_PATIENTS

REPO = Path(__file__).resolve().parents[2]
HOSPITAL = ["hospitalInformation*.json", "practitionerInformation*.json"]


def make_record(path: Path, files: list[str], *, source: str = "Imported files") -> Path:
    record = Record.open(path, PASSPHRASE) if path.exists() else Record.create(path, PASSPHRASE)
    try:
        for name in files:
            for found in sorted(DEMO_PATIENTS.glob(name)):
                record.import_file(found, source=source)
    finally:
        record.close()
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CarryServer:
    """`carry serve` in a subprocess: the Flet app, the guards and the share host at /shl."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.config = root / "config"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CARRY_RECORD": str(root / "server.carry"), "CARRY_CONFIG_DIR": str(self.config),
               "CARRY_DATA_DIR": str(self.data), "CARRY_NO_BROWSER": "1"}  # fmt: skip
        env.pop("DISPLAY", None)
        env.pop("CARRY_PASSPHRASE", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port), "--no-browser"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
        wait_listening(self.proc, self.port, "carry serve",
                       lambda: self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else "")  # fmt: skip

    def use(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point this test's Carry (CLI or service) at the server: its share store and its address."""
        monkeypatch.setenv("CARRY_DATA_DIR", str(self.data))
        monkeypatch.setenv("CARRY_SHARE_PUBLIC_URL", self.url)

    def stop(self) -> None:
        stop_process(self.proc)
