"""Files written all or nothing, readable only by their owner: the one "write a partial file, then replace" helper.

The new content goes to a temporary file in the same directory (created with O_EXCL and mode 0600, whatever the
umask, so nobody else can open it even while it is written), is flushed and fsynced, and then replaces the target
in one rename. A failure at any point removes the temporary file and leaves the target as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_writer", "write_atomic"]


@contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write the new content of `path` into; it replaces `path` when the block ends without error."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")  # O_EXCL, 0600
    partial = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, all or nothing, readable only by its owner."""
    with atomic_writer(path) as out:
        out.write(data)
