"""Small real file systems for fault tests: a tmpfs of a chosen size, which a test can fill or make read-only."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (such as "8m") mounted at `where` for the duration; skips the test where mounting is
    impossible (not root, or no mount permission in this container)."""
    where.mkdir(parents=True, exist_ok=True)
    done = _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here ({done.stderr.strip() or 'mount failed'})")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30)


def make_read_only(where: Path) -> None:
    done = _mount("-o", "remount,ro", str(where))
    assert done.returncode == 0, done.stderr


def fill(where: Path) -> Path:
    """Fill the disk at `where` to its last byte with one file; returns the file (delete it to make room)."""
    filler = where / "filler"
    block = b"\0" * 65536
    with filler.open("wb", buffering=0) as out:
        with contextlib.suppress(OSError):
            while out.write(block):
                pass
        with contextlib.suppress(OSError):
            while out.write(b"\0"):  # the last bytes, one at a time
                pass
    return filler
