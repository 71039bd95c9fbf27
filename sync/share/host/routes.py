"""The SMART Health Link host: a small ASGI app (Starlette) that Carry's server mounts (e.g. at `/shl`) and a
self-hoster may expose to the internet alone, behind a reverse proxy.

Routes, relative to the mount point:
- `POST /{link_id}` with `{recipient, passcode?, embeddedLengthMax?}`: the manifest (200), a wrong passcode
  (401 `{"remainingAttempts": n}`, counted against a lifetime limit), or 404 for an unknown, expired, revoked or
  exhausted link; 400 when the request is malformed, 413 as soon as its body passes 16 KiB.
- `GET /{link_id}?recipient=…`: the single file of a `U` link (application/jose).
- `GET /file/{token}`: a file location from a manifest, usable once and for at most an hour.
- `GET /view` (and `/view/viewer.js`, `/view/viewer.css`): the doctor-facing viewer, opened as
  `…/view#shlink:/…`; it decrypts in the reader's browser (sync/share/host/viewer_assets.py).

A 404 says why in `reason` (`unknown`, `expired`, `revoked` or `locked`), so a viewer can tell the reader plainly.

The host only ever holds ciphertext (see store); who opened what is sealed to the patient's public key.
The recipient a caller names is untrusted text: it is neutralised (sync.untrusted.plain_text) before it is sealed,
so nothing a caller sends can reach the patient's terminal, audit log or record encoder as anything but plain text.

A passcode attempt is taken from the link's budget in the store *before* the passcode is checked (and given back
when it was right), so no number of parallel requests, processes or hosts sharing a store checks more guesses
than the limit allows.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...bounded_body import BodyTooLarge, read_bounded
from ...passwords import check_secret, hash_secret
from ...untrusted import plain_text
from ..errors import LinkError, ShareHostError
from .store import HostedFile, HostedLink, ShareHostStore, seal_access
from ..codec.jose import encrypt
from ..codec.shl import CONTENT_TYPES, SHLinkPayload, encode_link, manifest, manifest_file, new_payload
from .viewer_assets import VIEWER_FILES, VIEWER_HEADERS, viewer_file

__all__ = [
    "DEFAULT_ATTEMPTS",
    "LOCATION_LIFETIME",
    "MAX_REQUEST_BODY",
    "NO_STORE_HEADERS",
    "PublishedLink",
    "publish",
    "share_app",
    "update_files",
]

LOCATION_LIFETIME = 3600  # seconds; the spec's ceiling for `files.location`
DEFAULT_ATTEMPTS = 5
MAX_REQUEST_BODY = 16 * 1024  # a manifest request is a few hundred bytes; anything past this is refused unread
_MAX_RECIPIENT = 200
# On every answer of the host, also when it runs alone (`carry host`): data only, never a page to frame or run.
NO_STORE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True, slots=True)
class PublishedLink:
    link_id: str
    payload: SHLinkPayload  # holds the key: keep it in the encrypted record only
    uri: str = field(repr=False)  # `shlink:/…`, or viewer-prefixed when a viewer was given


def publish(
    store: ShareHostStore,
    public_base: str,
    files: Sequence[tuple[str, bytes]],
    *,
    access_key: dict[str, Any],
    passcode: str | None = None,
    max_attempts: int = DEFAULT_ATTEMPTS,
    label: str | None = None,
    exp: int | float | None = None,
    direct: bool = False,
    long_term: bool = False,
    compress: bool = True,
    viewer: str | None = None,
) -> PublishedLink:
    """Encrypt `files` [(content type, plaintext)] under a fresh key and put them on the host as a new link.

    `direct` makes a `U` link (one file, fetched with GET, no passcode); `passcode` makes a `P` link with a lifetime
    limit of `max_attempts` wrong tries; `long_term` sets `L` (the files may be replaced with `update_files`).
    `access_key` is the public JWK of the patient's record that access entries are sealed to.
    """
    if not files:
        raise LinkError("There is nothing to share.")
    if direct and len(files) != 1:
        raise LinkError("A direct-download link (flag U) carries exactly one file.")
    if direct and passcode:
        raise LinkError("A direct-download link (flag U) cannot have a passcode.")
    if passcode is not None and not passcode.strip():
        raise LinkError("The passcode is empty.")
    if passcode is not None and max_attempts < 1:
        raise LinkError("A passcode link needs at least one attempt.")
    for content_type, _ in files:
        if content_type not in CONTENT_TYPES:
            raise LinkError(f"{content_type!r} is not a content type a SMART Health Link may carry.")
    flag = "".join(sorted(("L" if long_term else "") + ("P" if passcode else "") + ("U" if direct else "")))
    payload = new_payload(public_base, flag=flag, label=label, exp=exp)
    link_id = payload.url.rsplit("/", 1)[1]
    hosted = [HostedFile(ct, encrypt(data, payload.key, ct, zip=compress), _now_iso()) for ct, data in files]
    store.add_link(
        HostedLink(
            id=link_id,
            flag=flag,
            exp=payload.exp,
            passcode_hash=hash_secret(passcode) if passcode else None,
            attempts_left=max_attempts if passcode else None,
            access_key=dict(access_key),
        ),
        hosted,
    )
    return PublishedLink(link_id, payload, encode_link(payload, viewer=viewer))


def update_files(
    store: ShareHostStore, payload: SHLinkPayload, files: Sequence[tuple[str, bytes]], *, compress: bool = True
) -> None:
    """Replace the files of an `L` link (same key, fresh IVs); locations handed out before stop working."""
    if "L" not in payload.flag:
        raise LinkError("Only a long-term link (flag L) can have its content replaced.")
    link_id = payload.url.rsplit("/", 1)[1]
    hosted = [HostedFile(ct, encrypt(data, payload.key, ct, zip=compress), _now_iso()) for ct, data in files]
    store.replace_files(link_id, hosted)


def share_app(
    store: ShareHostStore,
    *,
    public_base: str,
    clock: Callable[[], float] = time.time,
    location_lifetime: int = LOCATION_LIFETIME,
) -> Starlette:
    """The ASGI app serving the links in `store`. `public_base` is the address the app is reachable at from the
    internet (e.g. `https://share.example.org/shl`): file locations are built on it."""
    if not 0 < location_lifetime <= LOCATION_LIFETIME:
        raise ValueError("file locations may live at most one hour")
    host = _Host(store, public_base.rstrip("/"), clock, location_lifetime)
    return Starlette(
        routes=host.routes(),
        middleware=[
            # Browser viewers (the receiving side of a QR code) fetch manifests across origins.
            Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"],
                       allow_headers=["content-type"]),
        ],
    )


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=NO_STORE_HEADERS)


_NOT_FOUND = "This link does not exist, has expired or was revoked."


def _gone(link: HostedLink | None, now: float) -> JSONResponse:
    """404 for a link that cannot be opened, with the reason a viewer turns into a plain sentence."""
    if link is None:
        reason = "unknown"
    elif link.revoked:
        reason = "revoked"
    elif link.exp is not None and now >= link.exp:
        reason = "expired"
    else:
        reason = "locked"
    return JSONResponse({"error": _NOT_FOUND, "reason": reason}, status_code=404, headers=NO_STORE_HEADERS)


async def _viewer(request: Request) -> Response:
    name = request.path_params.get("name", "index.html")
    if name not in VIEWER_FILES or name == "index.html" and "name" in request.path_params:
        return _error(404, "There is no such file.")
    return Response(viewer_file(name), media_type=VIEWER_FILES[name], headers=VIEWER_HEADERS)


class _Host:
    def __init__(self, store: ShareHostStore, base: str, clock: Callable[[], float], lifetime: int) -> None:
        self.store = store
        self.base = base
        self.clock = clock
        self.lifetime = lifetime

    def routes(self) -> list[Route]:
        """The host's routes; fixed paths (such as `/file/…`) go before the catch-all `/{link_id}`."""
        return [
            Route("/view", _viewer, methods=["GET"]),
            Route("/view/{name}", _viewer, methods=["GET"]),
            Route("/file/{token}", self.location, methods=["GET"]),
            Route("/{link_id}", self.manifest, methods=["POST"]),
            Route("/{link_id}", self.direct, methods=["GET"]),
        ]

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return await run_in_threadpool(fn, *args)
        except ShareHostError:
            raise
        except Exception as exc:  # storage trouble must not leak details to the internet
            raise ShareHostError("The share host's storage failed.") from exc

    async def _log(self, link: HostedLink, recipient: str, event: str) -> None:
        if link.access_key is None:
            return
        sealed = seal_access(link.access_key, recipient, self.clock(), link.id, event)
        await self._call(self.store.add_access, link.id, sealed)

    async def manifest(self, request: Request) -> Response:
        link_id = request.path_params["link_id"]
        try:
            body = await read_bounded(request, MAX_REQUEST_BODY)
        except BodyTooLarge:
            return _error(413, "The request is too large.")
        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python's stack
            return _error(400, "The request body must be JSON.")
        if not isinstance(data, dict):
            return _error(400, "The request body must be a JSON object.")
        raw_recipient = data.get("recipient")
        recipient = plain_text(raw_recipient, limit=_MAX_RECIPIENT) if isinstance(raw_recipient, str) else ""
        if not recipient:
            return _error(400, "The request must name its recipient.")
        passcode = data.get("passcode")
        if passcode is not None and not isinstance(passcode, str):
            return _error(400, "The passcode must be a string.")
        limit = data.get("embeddedLengthMax")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            return _error(400, "embeddedLengthMax must be a non-negative integer.")

        link: HostedLink | None = await self._call(self.store.link, link_id)
        now = self.clock()
        if link is None or not link.active(now):
            return _gone(link, now)
        if link.passcode_hash is not None:
            # Take the attempt first, in the store, then check: a guess that finds no attempt left is never checked.
            remaining = await self._call(self.store.spend_attempt, link.id)
            if remaining is None:  # other requests used the last attempts first
                return _gone(link, now)
            ok = passcode is not None and await run_in_threadpool(check_secret, passcode, link.passcode_hash)
            if not ok:
                await self._log(link, recipient, "passcode-refused")
                return JSONResponse({"remainingAttempts": remaining}, status_code=401, headers=NO_STORE_HEADERS)
            await self._call(self.store.return_attempt, link.id)  # the right passcode costs nothing

        files: list[HostedFile] = await self._call(self.store.files, link.id)
        if not files:  # purged meanwhile (its last attempt was taken while this request was being checked)
            return _error(404, _NOT_FOUND)
        listed = []
        expires = now + self.lifetime if link.exp is None else min(now + self.lifetime, link.exp)
        for index, hosted in enumerate(files):
            if limit is not None and len(hosted.jwe) <= limit:
                listed.append(manifest_file(hosted.content_type, embedded=hosted.jwe,
                                            last_updated=hosted.last_updated))
                continue
            token = secrets.token_urlsafe(32)
            await self._call(self.store.issue_location, token, link.id, index, expires)
            listed.append(manifest_file(hosted.content_type, location=f"{self.base}/file/{token}",
                                        last_updated=hosted.last_updated))
        await self._log(link, recipient, "manifest")
        return JSONResponse(manifest(listed), headers=NO_STORE_HEADERS)

    async def direct(self, request: Request) -> Response:
        link_id = request.path_params["link_id"]
        recipient = plain_text(request.query_params.get("recipient", ""), limit=_MAX_RECIPIENT)
        link: HostedLink | None = await self._call(self.store.link, link_id)
        now = self.clock()
        if link is None or "U" not in link.flag or not link.active(now):
            return _gone(link if link is not None and "U" in link.flag else None, now)
        if not recipient:
            return _error(400, "The request must name its recipient (?recipient=…).")
        files: list[HostedFile] = await self._call(self.store.files, link.id)
        if not files:
            return _error(404, _NOT_FOUND)
        await self._log(link, recipient, "direct")
        return Response(files[0].jwe, media_type="application/jose", headers=NO_STORE_HEADERS)

    async def location(self, request: Request) -> Response:
        now = self.clock()
        taken = await self._call(self.store.take_location, request.path_params["token"], now)
        if taken is None:
            return _error(404, "This file address has expired or was used already; ask for the manifest again.")
        link_id, index = taken
        link: HostedLink | None = await self._call(self.store.link, link_id)
        files: list[HostedFile] = await self._call(self.store.files, link_id)
        if link is None or link.revoked or (link.exp is not None and now >= link.exp) or index >= len(files):
            return _error(404, _NOT_FOUND)
        return Response(files[index].jwe, media_type="application/jose", headers=NO_STORE_HEADERS)
