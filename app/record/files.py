"""Reading a file the patient asked Carry to import, safely whatever the path turns out to be.

A path can name a symlink to /dev/zero or /dev/urandom (endless), a FIFO (an open that waits for a writer for
ever), a device or a file far larger than any health record. Only regular files are read, opening never blocks,
and at most MAX_IMPORT_BYTES are read, so a hostile path ends in one plain sentence instead of a hang or an
exhausted memory.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from sync.untrusted import plain_text

from .errors import ImportRefused

__all__ = ["MAX_IMPORT_BYTES", "MAX_WHOLE_BYTES", "check_regular_file", "display_name", "open_import_file",
           "read_import_file"]  # fmt: skip

# A file that is read a resource at a time (NDJSON, a Bundle) costs memory by its largest resource, not its size:
# this only stops a file no patient's record could fill (a bulk export of a million resources is some 2 GB).
MAX_IMPORT_BYTES = 16 * 1024 * 1024 * 1024
# What must be read whole (one document, a card): far above the largest real one seen (a decade of a chronic
# patient's portal data is some 100 MB of FHIR JSON), far below what would exhaust a phone's or a small server's
# memory.
MAX_WHOLE_BYTES = 512 * 1024 * 1024


def display_name(path: str | os.PathLike[str]) -> str:
    """A file's name as text to show and store: bytes that are not UTF-8 (a name is any bytes on Linux) become
    U+FFFD, and control characters go, so the name can neither break an encoder nor drive a terminal."""
    name = Path(path).name or str(path)
    return plain_text(name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))


def _open_regular(target: Path, name: str) -> tuple[int, os.stat_result]:
    """An open descriptor of a regular file and its stat; anything else raises ImportRefused (one sentence)."""
    try:
        # O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ImportRefused(f"{name}: not imported: {_open_reason(exc)}.") from None
    try:
        info = os.fstat(fd)  # of what was opened, not of the name, which may change in between
        if stat.S_ISDIR(info.st_mode):
            raise ImportRefused(f"{name}: not imported: it is a directory, not a file.")
        if not stat.S_ISREG(info.st_mode):
            raise ImportRefused(f"{name}: not imported: it is {_kind(info.st_mode)}, not a regular file.")
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def check_regular_file(path: str | os.PathLike[str]) -> None:
    """Refuse (ImportRefused, one sentence) anything but a regular file, without blocking: an importer that streams
    a file of any size (an Apple Health export) reads it only after this."""
    target = Path(path)
    fd, _ = _open_regular(target, display_name(target))
    os.close(fd)


def open_import_file(path: str | os.PathLike[str], *, limit: int = MAX_IMPORT_BYTES) -> BinaryIO:
    """A regular file of at most `limit` bytes opened for reading (to be read as a stream); anything else raises
    ImportRefused (one sentence)."""
    target = Path(path)
    name = display_name(target)
    fd, info = _open_regular(target, name)
    try:
        if info.st_size > limit:
            raise _too_large(name, limit)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_import_file(path: str | os.PathLike[str], *, limit: int = MAX_WHOLE_BYTES) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else raises ImportRefused (one sentence)."""
    name = display_name(path)
    with open_import_file(path, limit=limit) as stream:
        try:
            data = stream.read(limit + 1)  # a file that grows while being read is still cut off at the limit
        except OSError as exc:
            raise ImportRefused(f"{name}: not imported: it cannot be read ({exc.strerror}).") from None
    if len(data) > limit:
        raise _too_large(name, limit)
    return data


def _too_large(name: str, limit: int) -> ImportRefused:
    return ImportRefused(f"{name}: not imported: it is larger than {_size(limit)}, the most Carry imports from one file.")


def _open_reason(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "there is no such file"
    if exc.errno == errno.ELOOP:
        return "its symbolic links go round in a loop"
    return f"it cannot be read ({exc.strerror})"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _size(limit: int) -> str:
    if limit >= 1024**3:
        return f"{limit // 1024**3} GB"
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"
