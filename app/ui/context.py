"""What every UI session shares with the process that serves it, and nothing else.

The server (web mode) or the desktop launcher builds one AppContext; each session gets it. It holds no record
and no passphrase: only where the record lives, the OAuth states this process is waiting for (each bound to
the session that began the sign-in), short-lived links for attachments, and the demo hospital once started.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .uploads import Uploads

__all__ = ["AppContext", "AttachmentLinks", "ConnectCallbacks", "DemoHospital", "DemoLogin"]

CallbackHandler = Callable[[dict[str, str]], Awaitable[str]]
_STATE_TTL = 15 * 60
_LINK_TTL = 5 * 60


class ConnectCallbacks:
    """OAuth `state` values this process is waiting for, each with the session handler that completes it."""

    def __init__(self) -> None:
        self._waiting: dict[str, tuple[float, CallbackHandler]] = {}
        self._lock = threading.Lock()

    def expect(self, state: str, handler: CallbackHandler) -> None:
        with self._lock:
            now = time.monotonic()
            self._waiting = {s: v for s, v in self._waiting.items() if now - v[0] < _STATE_TTL}
            self._waiting[state] = (now, handler)

    def cancel(self, state: str) -> None:
        with self._lock:
            self._waiting.pop(state, None)

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    async def deliver(self, params: dict[str, str]) -> tuple[bool, str]:
        """Hand the callback's query to the session waiting for its state: (handled, sentence for the tab)."""
        state = params.get("state", "")
        with self._lock:
            entry = self._waiting.pop(state, None)
        if entry is None or time.monotonic() - entry[0] >= _STATE_TTL:
            return False, (
                "This sign-in is not one Carry is waiting for: it may have expired or been used already. "
                "Go back to Carry and start connecting again."
            )
        return True, await entry[1](params)


@dataclass(frozen=True)
class _Link:
    data: bytes
    content_type: str
    created: float
    filename: str | None = None  # a download (Content-Disposition: attachment) under this name; else shown inline


class AttachmentLinks:
    """Unguessable, short-lived URLs that serve one decrypted attachment (a PDF) to the browser that asked.

    The bytes stay in memory only, for five minutes at most; nothing is written to disk.
    """

    def __init__(self) -> None:
        self._links: dict[str, _Link] = {}
        self._lock = threading.Lock()

    def offer(self, data: bytes, content_type: str, filename: str | None = None) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self._links = {t: v for t, v in self._links.items() if now - v.created < _LINK_TTL}
            self._links[token] = _Link(data, content_type, now, filename)
        return f"/attachment/{token}"

    def take(self, token: str) -> tuple[bytes, str] | None:
        found = self.take_file(token)
        return (found[0], found[1]) if found is not None else None

    def take_file(self, token: str) -> tuple[bytes, str, str | None] | None:
        """(data, content type, file name for a download or None) while the offer lasts."""
        with self._lock:
            link = self._links.get(token)
            if link is None or time.monotonic() - link.created >= _LINK_TTL:
                self._links.pop(token, None)
                return None
        return link.data, link.content_type, link.filename

    def forget_all(self) -> None:
        with self._lock:
            self._links.clear()


@dataclass(frozen=True)
class DemoLogin:
    full_name: str
    username: str
    password: str


def _software_answers(base_url: str, software: str) -> bool:
    """Whether the FHIR server at the loopback address `base_url` answers, its CapabilityStatement naming it
    `software`."""
    from sync.http import NetworkError, request_blocking

    try:
        answer = request_blocking("GET", f"{base_url.rstrip('/')}/metadata", headers={"Accept": "application/fhir+json"},
                                  timeout=2.0)  # fmt: skip
        return answer.status == 200 and json.loads(answer.content).get("software", {}).get("name") == software
    except (NetworkError, ValueError, AttributeError):
        return False


DEMO_PORT = 47330  # the demo hospital's address is saved as its source's: it must be the same after a restart


class DemoHospital:
    """The built-in sandbox portal, started in this process the first time a patient asks for it, on a stable
    port (DEMO_PORT, or any free one when another program holds it), and started again on its source's port when
    that source syncs after Carry restarted."""

    def __init__(self, port: int = DEMO_PORT) -> None:
        self._server: Any = None
        self._lock = threading.Lock()
        self._port = port

    def start(self, port: int | None = None) -> Any:
        """Start it (once) and return the SandboxServer; blocking, call from a worker thread. With `port`, there
        and nowhere else (a saved source's address); without, DEMO_PORT or else any free port."""
        with self._lock:
            if self._server is None:
                from sync.sandbox import SandboxError, SandboxServer

                candidates = (port,) if port else (self._port, 0)
                for n, candidate in enumerate(candidates, 1):
                    server = SandboxServer(port=candidate)
                    try:
                        server.start()
                    except SandboxError:
                        if n == len(candidates):
                            raise
                        continue
                    self._server = server
                    break
            return self._server

    def serve(self, base_url: str) -> bool:
        """Before a demo source syncs: when its hospital is not running in this process (Carry restarted), start
        it again at the saved address. Blocking. Whether a demo hospital answers there: this process's, or one that
        another program runs at that address (`carry sandbox` in a terminal, another Carry); False when the port is
        held by something else, for the sync to say so."""
        from urllib.parse import urlsplit

        from sync.http import is_loopback
        from sync.sandbox import SandboxError
        from sync.sandbox.conformance import SOFTWARE_NAME

        parts = urlsplit(base_url)
        if not is_loopback(base_url) or not parts.port:
            return True  # not one Carry starts: the sync reaches it or says why not
        with self._lock:
            if self._server is not None:
                return True
        try:
            self.start(parts.port)
        except SandboxError:
            return _software_answers(base_url, SOFTWARE_NAME)
        return True

    @property
    def running(self) -> bool:
        return self._server is not None

    def logins(self) -> list[DemoLogin]:
        server = self.start()
        return [DemoLogin(login.full_name, login.username, login.password) for login in server.logins]

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.stop()


@dataclass
class AppContext:
    record_path: Path
    public_url: str  # where this app is reached, e.g. http://127.0.0.1:8550 (no trailing slash)
    callbacks: ConnectCallbacks = field(default_factory=ConnectCallbacks)
    links: AttachmentLinks = field(default_factory=AttachmentLinks)
    uploads: Uploads = field(default_factory=Uploads)  # files picked in the browser, on their way to an import
    demo: DemoHospital = field(default_factory=DemoHospital)
    web: bool = True  # False for the desktop window
    share: Any = None  # app.shares.ShareHost when this process serves the /shl routes (web mode)
    login: bool = False  # the server asks for a login (serving beyond this computer): the UI offers to log out

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_url}/oauth/callback"

    def shutdown(self) -> None:
        self.links.forget_all()
        self.demo.stop()

