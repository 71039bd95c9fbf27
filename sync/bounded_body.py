"""Request bodies read with a ceiling while they stream in, for the routes that take a body from outside
(the share host's `POST /shl/{id}`, the server's `POST /login`), and forms parsed from such a body.

Reading a body whole and measuring it afterwards lets one caller park hundreds of megabytes in the server; here a
declared Content-Length over the limit is refused before a byte is read, and a chunked body is refused at the
first chunk that crosses it, so at most `limit` bytes (plus one chunk) are ever held.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import Message

from .errors import CarryError

__all__ = ["BodyTooLarge", "read_bounded", "read_form"]


class BodyTooLarge(CarryError):
    """The request body is larger than the route accepts."""

    code = "request.too-large"
    default_message = "The request is larger than Carry accepts here."


class _Streaming(Protocol):
    """What read_bounded needs of a request (a Starlette Request has it)."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    def stream(self) -> AsyncIterator[bytes]: ...


async def read_bounded(request: _Streaming, limit: int) -> bytes:
    """The body of `request`, or BodyTooLarge as soon as it is known to pass `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLarge("The request is too large.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge("The request is too large.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request, limit: int, *, max_fields: int = 10) -> FormData:
    """The form of `request` as `request.form()` parses it (urlencoded or multipart, Starlette's own parsers), with
    the body refused by BodyTooLarge as soon as it passes `limit` bytes while it streams in, as read_bounded does.

    request.form() alone reads the whole stream (its part limit is per field and 1 MiB); here it reads through a
    receive that counts, so the parser never sees more than `limit` bytes plus one chunk. No files are taken."""
    declared = request.headers.get("content-length", "")
    if declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLarge("The request is too large.")
    size = 0

    async def receive() -> Message:
        nonlocal size
        message = await request.receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge("The request is too large.")
        return message

    return await Request(request.scope, receive).form(max_files=0, max_fields=max_fields, max_part_size=limit)
