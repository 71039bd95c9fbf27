"""The publish API of a standalone host: what a device's Carry app may do with its own links, and nothing more.

Every request carries `Authorization: Bearer <publish credential>`. Routes, under /api:
- `GET /device`: the device's name and usage (lets the app check a credential before keeping it).
- `POST /links` `{id, flag, exp, passcodeHash, attempts, accessKey, files: [{contentType, jwe, lastUpdated}]}`:
  a new link (201). Only ciphertext (compact JWE), the flags, the expiry, the scrypt hash of the passcode and the
  public key access entries are sealed to ever cross; no key, name or label.
- `GET /links/{id}`: its state; `DELETE /links/{id}`: revoke it (the ciphertext goes at once).
- `GET /access?after=N&limit=M`: the sealed access entries of the device's links; `POST /access/forget {upto}`.

A link of another device answers exactly as an unknown one (404), so a credential learns nothing of others' links.
"""

from __future__ import annotations

import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ....bounded_body import BodyTooLarge, read_bounded
from ...errors import QuotaExceeded, ShareHostError
from ..routes import NO_STORE_HEADERS
from ..store import DeviceQuota, HostedFile, HostedLink, PublishStore
from ...codec.shl import CONTENT_TYPES
from .devices import credential_hash

__all__ = ["HEADERS", "PublishLimits", "publish_routes"]

_LINK_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 random bytes, base64url (shl.new_payload)
_PASSCODE_HASH = re.compile(r"scrypt\$(\d{1,7})\$(\d{1,2})\$(\d{1,2})\$[A-Za-z0-9_=-]{8,64}\$[A-Za-z0-9_=-]{40,64}")
_JWE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_B64 = re.compile(r"[A-Za-z0-9_-]{20,100}")
_MAX_FILES = 10
# On every answer of the API and the health endpoint, as on the host's own: data only, never a page to frame,
# sniff or cache.
HEADERS = NO_STORE_HEADERS


@dataclass(frozen=True, slots=True)
class PublishLimits:
    quota: DeviceQuota = DeviceQuota()
    per_minute: int = 120  # requests of one device to the publish API, in this process
    max_body: int = 8 * 1024 * 1024  # one publish request; a summary with a rendered PDF is well under it


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _answer(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=HEADERS)


class _RateLimit:
    """At most `per_minute` requests per device in any 60 seconds (a sliding window, in this process)."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.seen: dict[str, deque[float]] = {}

    def allow(self, device: str) -> bool:
        now = self.clock()
        times = self.seen.setdefault(device, deque())
        while times and times[0] <= now - 60:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        return True


def _link_from(data: Any, now: float) -> tuple[HostedLink, list[HostedFile]]:
    """The link a device published, checked field by field; _Refused(400) with one sentence otherwise."""
    if not isinstance(data, dict):
        raise _Refused(400, "The request body must be a JSON object.")
    link_id, flag, exp = data.get("id"), data.get("flag"), data.get("exp")
    if not isinstance(link_id, str) or not _LINK_ID.fullmatch(link_id):
        raise _Refused(400, "The link id must be 43 base64url characters.")
    if not isinstance(flag, str) or flag != "".join(sorted(set(flag))) or set(flag) - set("LPU"):
        raise _Refused(400, "The flag must be made of L, P and U, in that order, each at most once.")
    if exp is not None and (isinstance(exp, bool) or not isinstance(exp, int) or exp <= now):
        raise _Refused(400, "The expiry must be a time in the future (seconds since 1970) or null.")
    passcode_hash, attempts = data.get("passcodeHash"), data.get("attempts")
    if ("P" in flag) != (passcode_hash is not None):
        raise _Refused(400, "A passcode hash goes with flag P, and only with it.")
    if passcode_hash is not None:
        shape = _PASSCODE_HASH.fullmatch(passcode_hash) if isinstance(passcode_hash, str) else None
        if shape is None or not 2**14 <= int(shape[1]) <= 2**17:
            raise _Refused(400, "The passcode hash must be an scrypt hash as Carry makes it.")
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100:
            raise _Refused(400, "A passcode link needs between 1 and 100 attempts.")
    key = data.get("accessKey")
    # The public half of the record's access key (jose.new_access_keypair): an X25519 JWK, never a private one.
    if (not isinstance(key, dict) or key.get("kty") != "OKP" or key.get("crv") != "X25519" or "d" in key
            or not isinstance(key.get("x"), str) or not _B64.fullmatch(key["x"])):
        raise _Refused(400, "The access key must be a public X25519 key (JWK).")
    files = data.get("files")
    if not isinstance(files, list) or not 1 <= len(files) <= _MAX_FILES or ("U" in flag and len(files) != 1):
        raise _Refused(400, f"A link carries 1 to {_MAX_FILES} files (a U link exactly one).")
    hosted = []
    for item in files:
        if not isinstance(item, dict) or item.get("contentType") not in CONTENT_TYPES:
            raise _Refused(400, "Each file needs a content type a SMART Health Link may carry.")
        jwe, updated = item.get("jwe"), item.get("lastUpdated")
        if not isinstance(jwe, str) or not _JWE.fullmatch(jwe):
            raise _Refused(400, "Each file must be encrypted: a compact JWE.")
        if updated is not None and (not isinstance(updated, str) or len(updated) > 40):
            raise _Refused(400, "lastUpdated must be a short date-time text.")
        hosted.append(HostedFile(item["contentType"], jwe, updated))
    link = HostedLink(id=link_id, flag=flag, exp=exp, passcode_hash=passcode_hash,
                      attempts_left=attempts if passcode_hash is not None else None,
                      access_key={k: key[k] for k in ("kty", "crv", "x")})  # fmt: skip
    return link, hosted


class _PublishAPI:
    def __init__(self, store: PublishStore, limits: PublishLimits, clock: Callable[[], float]) -> None:
        self.store = store
        self.limits = limits
        self.clock = clock
        self.rate = _RateLimit(limits.per_minute, clock)

    async def _device(self, request: Request) -> str:
        """The device whose credential the request carries, looked up on every request (a removed device's
        credential stops working at once)."""
        scheme, _, credential = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise _Refused(401, "This needs a publish credential (carry host add-device).")
        device = await run_in_threadpool(self.store.device_for, credential_hash(credential.strip()))
        if device is None:
            raise _Refused(401, "This publish credential is not valid on this host (was the device removed?).")
        if not self.rate.allow(device):
            raise _Refused(429, "Too many requests from this device; wait a minute.")
        return device

    async def _own(self, device: str, link_id: str) -> None:
        if await run_in_threadpool(self.store.owner, link_id) != device:
            raise _Refused(404, "There is no such link of this device.")

    def routes(self) -> list[Route]:
        return [
            Route("/device", self._guarded(self.whoami), methods=["GET"]),
            Route("/links", self._guarded(self.add), methods=["POST"]),
            Route("/links/{link_id}", self._guarded(self.state), methods=["GET"]),
            Route("/links/{link_id}", self._guarded(self.revoke), methods=["DELETE"]),
            Route("/access", self._guarded(self.access), methods=["GET"]),
            Route("/access/forget", self._guarded(self.forget), methods=["POST"]),
        ]

    def _guarded(self, handler: Callable[[Request, str], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                answer: Response = await handler(request, await self._device(request))
                return answer
            except _Refused as refused:
                return _answer(refused.status, {"error": refused.message})
            except QuotaExceeded as exc:
                return _answer(429, {"error": str(exc)})
            except ShareHostError as exc:
                return _answer(409 if "exists already" in str(exc) else 503, {"error": str(exc)})

        return endpoint

    async def _json(self, request: Request) -> Any:
        try:
            body = await read_bounded(request, self.limits.max_body)
        except BodyTooLarge:
            raise _Refused(413, "The request is too large.") from None
        try:
            return json.loads(body or b"null")
        except (ValueError, RecursionError):
            raise _Refused(400, "The request body must be JSON.") from None

    async def whoami(self, request: Request, device: str) -> Response:
        usage = next(u for u in await run_in_threadpool(self.store.devices, self.clock()) if u.name == device)
        return _answer(200, {"device": device, "links": usage.links, "bytes": usage.bytes,
                             "quota": {"links": self.limits.quota.links, "bytes": self.limits.quota.bytes}})  # fmt: skip

    async def add(self, request: Request, device: str) -> Response:
        now = self.clock()
        link, files = _link_from(await self._json(request), now)
        if await run_in_threadpool(self.store.link, link.id) is not None:
            raise _Refused(409, "A link with this id exists already.")
        await run_in_threadpool(self.store.add_device_link, device, link, files, self.limits.quota, now)
        return _answer(201, {"id": link.id})

    async def state(self, request: Request, device: str) -> Response:
        link_id = request.path_params["link_id"]
        await self._own(device, link_id)
        link: HostedLink | None = await run_in_threadpool(self.store.link, link_id)
        if link is None:
            raise _Refused(404, "There is no such link of this device.")
        return _answer(200, {"id": link.id, "flag": link.flag, "exp": link.exp, "revoked": link.revoked,
                             "attemptsLeft": link.attempts_left})  # fmt: skip

    async def revoke(self, request: Request, device: str) -> Response:
        link_id = request.path_params["link_id"]
        await self._own(device, link_id)
        await run_in_threadpool(self.store.revoke, link_id)
        return _answer(200, {"revoked": True, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")})

    async def access(self, request: Request, device: str) -> Response:
        try:
            after = int(request.query_params.get("after", "0"))
            limit = min(max(int(request.query_params.get("limit", "500")), 1), 1000)
        except ValueError:
            raise _Refused(400, "after and limit must be whole numbers.") from None
        entries = await run_in_threadpool(self.store.device_access_since, device, after, limit)
        return _answer(200, {"entries": [{"cursor": e.cursor, "link": e.link_id, "sealed": e.sealed}
                                         for e in entries]})  # fmt: skip

    async def forget(self, request: Request, device: str) -> Response:
        data = await self._json(request)
        upto = data.get("upto") if isinstance(data, dict) else None
        if isinstance(upto, bool) or not isinstance(upto, int) or upto < 0:
            raise _Refused(400, "upto must be a cursor (a whole number).")
        return _answer(200, {"forgotten": await run_in_threadpool(self.store.forget_device_access, device, upto)})


def publish_routes(
    store: PublishStore, limits: PublishLimits = PublishLimits(), clock: Callable[[], float] = time.time
) -> list[Route]:
    return _PublishAPI(store, limits, clock).routes()
