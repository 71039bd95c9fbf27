"""`carry host` in a subprocess with a data directory of its own, for the tests of a standalone share host."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from app.record import Record
from support.records import PASSPHRASE
from support.processes import stop_process, wait_listening

__all__ = ["CarryHost", "the_one_link_opened_by"]

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CarryHost:
    """The real `carry host` on 127.0.0.1 (its log in `log`), stopped by the test that started it."""

    def __init__(self, root: Path, *extra: str, database: str | None = None) -> None:
        self.root = root
        self.data = root / "host-data"
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        self.log = root / f"host-{self.port}.log"
        self.env = {**os.environ, "CARRY_DATA_DIR": str(self.data), "CARRY_CONFIG_DIR": str(root / "host-config")}
        for name in ("CARRY_RECORD", "CARRY_PASSPHRASE", "CARRY_HOST_CREDENTIAL", "CARRY_SHARE_PASSCODE"):
            self.env.pop(name, None)
        if database:
            self.env["CARRY_HOST_DATABASE"] = database
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "host", "--port", str(self.port), *extra],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
            )  # fmt: skip
        wait_listening(self.proc, self.port, "carry host", lambda: self.log.read_text(errors="replace"))

    def run(self, *words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app.cli", "host", *words], env=self.env, cwd=REPO,
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    def add_device(self, name: str) -> str:
        done = self.run("add-device", name)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    def api(self, method: str, path: str, credential: str, **kwargs: object) -> httpx.Response:
        return httpx.request(method, f"{self.url}/api{path}", headers={"Authorization": f"Bearer {credential}"},
                             timeout=30, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        stop_process(self.proc)


def the_one_link_opened_by(record_path: Path, main: Callable[[list[str]], int], capsys: Any) -> dict[str, Any]:
    """The record's one link as `carry shares --json` lists it (its accesses merged from the host on unlock),
    checked to have been opened once, by Dr. Okafor, in the list and in the record's audit log."""
    assert main(["shares", "--json"]) == 0
    out, _ = capsys.readouterr()
    (listed,) = json.loads(out)
    assert [a["recipient"] for a in listed["accesses"]] == ["Dr. Okafor"]
    record = Record.open(record_path, PASSPHRASE)
    try:
        assert record.audit_log(action="share-opened")[0]["detail"]["recipient"] == "Dr. Okafor"
    finally:
        record.close()
    return dict(listed)
