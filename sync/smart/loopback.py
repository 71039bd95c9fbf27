"""The loopback redirect listener for the CLI and desktop (RFC 8252 §7.3): http://127.0.0.1:<free port>/oauth/callback.

It answers exactly one callback to its path and hands the query parameters over; everything else gets a 404.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlsplit

from .errors import AuthorizationTimeout

__all__ = ["CALLBACK_PATH", "LoopbackListener"]

CALLBACK_PATH = "/oauth/callback"
_PAGE = (
    "<!doctype html><meta charset=utf-8><title>Carry</title>"
    "<body style='font-family:sans-serif;margin:3em'><h1>{title}</h1><p>{text}</p></body>"
)


class LoopbackListener:
    """`async with LoopbackListener() as listener: ... params = await listener.wait(timeout)`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[dict[str, str]] | None = None

    @property
    def redirect_uri(self) -> str:
        if self._server is None:
            raise RuntimeError("the listener is not started")
        port = self._server.sockets[0].getsockname()[1]
        return f"http://{self._host}:{port}{CALLBACK_PATH}"

    async def __aenter__(self) -> LoopbackListener:
        self._result = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        return self

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
                code="timeout",
            ) from None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            parts = urlsplit(target)
            if method != "GET" or parts.path != CALLBACK_PATH or self._result is None or self._result.done():
                await self._reply(writer, 404, "Not found", "This address only receives Carry's login callback.")
                return
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
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

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=title, text=text).encode()
        reason = "OK" if status == 200 else "Not Found"
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
