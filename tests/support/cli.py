"""Running the real `carry` command in a child process, bounded so that a regression cannot take the machine down."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Mapping

# A command that tries to read /dev/zero into memory stops at this much address space instead of exhausting the
# machine the tests share.
MEMORY_LIMIT = 3 * 1024 * 1024 * 1024


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_carry(
    *args: str, env: Mapping[str, str], timeout: float = 120, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`carry ARGS` with `env` added to the test's environment; raises TimeoutExpired when it hangs."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        preexec_fn=_limit_memory,
    )


def one_line_refusal(done: subprocess.CompletedProcess[str]) -> str:
    """The one-line message of a command that refused cleanly (exit 1, no traceback); fails the test otherwise."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr[-2000:]
    return lines[0]
