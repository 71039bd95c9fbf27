"""The loopback redirect listener for the CLI and desktop (RFC 8252 §7.3): http://127.0.0.1:<port>/oauth/callback.

RFC 8252 asks portals to accept any port on a loopback redirect URI, but many match the registered URI exactly,
port included. So Carry listens on a fixed port by default (CALLBACK_PORT, the URI to register is
`redirect_uri_for()`); when another program holds it, it falls back to the next two ports and then to any free
port (and says so, since an exact-matching portal will refuse that). A port the user chose gets no fallback.

It is Carry's one loopback receiver, used two ways:
- one login (the CLI): `expect(state)`, then `wait()`. It answers exactly one callback: to its own path, addressed
  to its own host and port (the Host header: a page in the browser cannot rebind another name to it) and carrying
  the `state` of the login in progress. Anything else, from anyone, gets a 404 and leaves the login waiting: a
  stray request must not end it.
- every login of a running app (the desktop window): `deliver` is given each callback to its own path, host and
  port, and says whether a login was waiting for its state and what the browser tab should read.
"""

from __future__ import annotations

import asyncio
import html
import secrets
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import parse_qsl, urlsplit

from ..errors import CarryError
from .errors import AuthorizationError, AuthorizationTimeout

__all__ = ["CALLBACK_PATH", "CALLBACK_PORT", "FALLBACK_PORTS", "Deliver", "LoopbackListener", "redirect_uri_for"]

# Hands a callback's query to the login waiting for its state: (a login was waiting, the sentence for the tab).
Deliver = Callable[[dict[str, str]], Awaitable[tuple[bool, str]]]

CALLBACK_PATH = "/oauth/callback"
CALLBACK_PORT = 47321  # the default; an unassigned port (IANA) in the registered range, stable across runs
FALLBACK_PORTS = (CALLBACK_PORT + 1, CALLBACK_PORT + 2, 0)


def redirect_uri_for(port: int = CALLBACK_PORT, host: str = "127.0.0.1") -> str:
    """The exact redirect URI Carry's loopback listener uses on this port (what to register at a portal)."""
    return f"http://{host}:{port}{CALLBACK_PATH}"
_PAGE = (
    "<!doctype html><meta charset=utf-8><title>Carry</title>"
    "<body style='font-family:sans-serif;margin:3em'><h1>{title}</h1><p>{text}</p></body>"
)


class LoopbackListener:
    """`async with LoopbackListener() as listener: ... params = await listener.wait(timeout)` for one login, or
    `LoopbackListener(deliver=...)` to hand every callback on while it listens."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, fallback: Sequence[int] = (), deliver: Deliver | None = None
    ) -> None:
        self._deliver = deliver
        self._host = host
        self._port = port
        self._fallback = tuple(fallback)
        self.fell_back = False  # listening on another port than the one asked for
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[dict[str, str]] | None = None
        self._state: str | None = None

    def expect(self, state: str) -> None:
        """The `state` of the login this listener waits for (until it is set, no callback is taken)."""
        self._state = state

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the listener is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def redirect_uri(self) -> str:
        return redirect_uri_for(self.port, self._host)

    async def __aenter__(self) -> LoopbackListener:
        self._result = asyncio.get_running_loop().create_future()
        for port in (self._port, *self._fallback):
            try:
                self._server = await asyncio.start_server(self._handle, self._host, port)
            except OSError:
                continue
            self.fell_back = port != self._port
            return self
        raise AuthorizationError(
            f"Port {self._port} on this computer is taken by another program, so Carry cannot receive the portal's "
            "answer there; close that program or use another registered port.",
            oauth_error="port_taken",
        )

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait(self, timeout: float) -> dict[str, str]:
        assert self._result is not None
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except asyncio.TimeoutError:
            raise AuthorizationTimeout(
                f"Nobody came back from the portal's login page within {timeout:g} seconds; nothing was connected.",
                oauth_error="timeout",
            ) from None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            parts = urlsplit(target)
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            if method == "GET" and parts.path == CALLBACK_PATH and _host(head) == self._authority and self._deliver:
                await self._hand_on(writer, self._deliver, params)
                return
            if (
                method != "GET"
                or parts.path != CALLBACK_PATH
                or _host(head) != self._authority
                or not self._expected(params.get("state"))
                or self._result is None
                or self._result.done()
            ):
                await self._reply(writer, 404, "Not found", "This address only receives Carry's login callback.")
                return
            ok = "code" in params and "error" not in params
            await self._reply(
                writer,
                200,
                "Carry is connecting" if ok else "Carry could not connect",
                "You can close this window and go back to Carry." if ok else "Go back to Carry to see what happened.",
            )
            self._result.set_result(params)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError, OSError):
            pass
        finally:
            writer.close()

    async def _hand_on(self, writer: asyncio.StreamWriter, deliver: Deliver, params: dict[str, str]) -> None:
        if "state" not in params:
            ok, message = False, "This address is for a portal's sign-in to return to Carry; it needs a state."
        else:
            try:
                ok, message = await deliver(params)
            except CarryError as exc:
                ok, message = False, str(exc)
        await self._reply(writer, 200 if ok else 400, "You can close this window" if ok else "Sign-in not completed",
                          message)  # fmt: skip

    @property
    def _authority(self) -> str:
        return self.redirect_uri.split("/")[2]

    def _expected(self, state: str | None) -> bool:
        return bool(self._state and state and secrets.compare_digest(state.encode(), self._state.encode()))

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        reason = {200: "OK", 400: "Bad Request"}.get(status, "Not Found")
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()


def _host(head: bytes) -> str | None:
    """The Host header of a request head (lower case), None when there is not exactly one."""
    hosts = [
        line.split(b":", 1)[1].strip().decode("latin-1").lower()
        for line in head.split(b"\r\n")[1:]
        if line.lower().startswith(b"host:")
    ]
    return hosts[0] if len(hosts) == 1 else None
