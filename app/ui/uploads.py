"""Files the patient picks in the browser on their way into the record (web mode).

Flet's own upload storage writes every upload into a plain directory; health data must not lie there. Here a UI
session asks for a one-time upload address (`expect`), the browser PUTs the file to it (app/server.py's
/upload route), and the body is streamed into a file that only this user can read (0600, in a 0700 directory of
its own), refused as soon as it passes the limit. The session imports it and deletes it at once (`discard`).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sync.errors import CarryError
from sync.untrusted import plain_text

__all__ = ["UPLOAD_LIMIT", "UploadFailed", "Uploads", "discard", "too_large"]

# An Apple Health export of years is a few hundred MB; a file past this is not something Carry imports.
UPLOAD_LIMIT = 1024 * 1024 * 1024
_TTL = 10 * 60


class UploadFailed(CarryError):
    """The picked file did not reach Carry (too large, cancelled, or the address expired)."""

    code = "ui.upload-failed"
    default_message = "The file did not reach Carry; pick it again."


@dataclass
class _Slot:
    name: str
    limit: int
    created: float
    done: asyncio.Event = field(default_factory=asyncio.Event)
    path: Path | None = None
    error: str | None = None


class Uploads:
    """One-time upload addresses, each waited for by the UI session that asked for it."""

    def __init__(self) -> None:
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()

    def expect(self, name: str, limit: int = UPLOAD_LIMIT) -> str:
        """A new upload address for a file called `name` (only its last part is kept, as plain text)."""
        token = secrets.token_urlsafe(24)
        shown = plain_text(Path(name.replace("\\", "/")).name, limit=120).strip(". ") or "upload"
        with self._lock:
            now = time.monotonic()
            self._slots = {t: s for t, s in self._slots.items() if now - s.created < _TTL}
            self._slots[token] = _Slot(shown, limit, now)
        return token

    async def receive(self, token: str, declared: str | None, body: AsyncIterator[bytes]) -> int:
        """Store the body for `token` (once); the HTTP status to answer."""
        with self._lock:
            slot = self._slots.get(token)
            if slot is None or slot.path is not None or slot.error is not None:
                return 404
        if declared is not None and declared.strip().isdigit() and int(declared) > slot.limit:
            return self._fail(slot, too_large(slot.limit), 413)
        folder = Path(tempfile.mkdtemp(prefix="carry-upload-"))  # 0700: nobody else can list or open it
        target = folder / slot.name
        size = 0
        try:
            handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "wb") as out:
                async for chunk in body:
                    size += len(chunk)
                    if size > slot.limit:
                        discard(target)
                        return self._fail(slot, too_large(slot.limit), 413)
                    out.write(chunk)
        except BaseException:
            discard(target)
            self._fail(slot, "The file did not arrive completely; nothing was imported.", 400)
            raise
        with self._lock:
            waited = self._slots.get(token) is slot
        if not waited:  # the session stopped waiting (timed out, closed) while the body streamed in: nobody imports it
            discard(target)
            return 410
        slot.path = target
        slot.done.set()
        return 200

    async def wait(self, token: str, timeout: float) -> Path:
        """The uploaded file (the caller imports it, then discards it); UploadFailed otherwise."""
        with self._lock:
            slot = self._slots.get(token)
        if slot is None:
            raise UploadFailed("The upload address has expired; pick the file again.")
        try:
            await asyncio.wait_for(slot.done.wait(), timeout)
        except TimeoutError:
            raise UploadFailed("The file did not arrive in time; nothing was imported.") from None
        finally:
            with self._lock:
                self._slots.pop(token, None)
        if slot.path is None:
            raise UploadFailed(slot.error or "The file did not arrive; nothing was imported.")
        return slot.path

    def _fail(self, slot: _Slot, message: str, status: int) -> int:
        slot.error = message
        slot.done.set()
        return status


def too_large(limit: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if limit >= size:
            return f"The file is larger than Carry imports ({limit / size:g} {unit} at most)."
    return f"The file is larger than Carry imports ({limit} bytes at most)."


def discard(path: Path) -> None:
    """Delete an uploaded file and the private directory it was put in."""
    shutil.rmtree(path.parent, ignore_errors=True)
