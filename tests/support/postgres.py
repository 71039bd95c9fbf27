"""A real PostgreSQL for a test: Debian's `postgresql` binaries, a cluster initialised in a temporary directory,
listening on 127.0.0.1 on a free port (no Unix socket elsewhere), stopped and deleted by the test that started it.

Without PostgreSQL the tests that need it skip with a loud reason, except in CI (CI=true: .ci/run installs it),
where they fail, as the browser tests do. PostgreSQL refuses to run as root, so as root the cluster belongs to the
`postgres` user Debian's package creates."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["postgres_server"]


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason + " CI=true, so this is a failure, not a skip.")
    pytest.skip("!!! " + reason + " (apt-get install postgresql; .ci/run does) !!!")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a fresh database (user `carry`, no password: trust on 127.0.0.1 only)."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        _missing("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb.")
        raise AssertionError("unreachable")
    root = Path(tempfile.mkdtemp(prefix="carry-pg-"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    log = root / "server.log"
    try:
        subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "carry", "--auth=trust",
                        "--encoding=UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)  # fmt: skip
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o",
                        f"-h 127.0.0.1 -p {port} -k {root} -c max_connections=200 -c fsync=off", "start"],
                       check=True, capture_output=True, timeout=90)  # fmt: skip
        yield f"postgresql://carry@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
