"""The one module that configures HTTP clients for Carry: timeouts, connection limits, retries, and the rule that a
bearer token is only ever sent to URLs under the FHIR base it was issued for.

Everything that crosses the network from `sync` goes through `HttpClient` (authlib's OAuth client, which is an
httpx client itself, is built with `oauth_client_options()` so it gets the same timeouts). httpx errors are
translated into `NetworkError` here, so no other module needs to know httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import heapq
import ipaddress
import itertools
import random
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx

from .errors import Action, CarryError

__all__ = [
    "Bearer",
    "ClientFailure",
    "ForeignURLRefused",
    "HttpClient",
    "HttpStats",
    "NetworkError",
    "Response",
    "RetryPolicy",
    "is_https_or_loopback",
    "is_loopback",
    "failure_status",
    "is_under",
    "oauth_client_options",
    "request_blocking",
    "throttle_wait",
    "where",
]

USER_AGENT = "Carry/0.1 (personal health record; +https://github.com/carry-phr)"
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_TRANSIENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadError,
    httpx.ReadTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
    httpx.PoolTimeout,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


# What an httpx-based client built with oauth_client_options() raises (for authlib's callers to catch).
ClientFailure = httpx.HTTPError


def failure_status(exc: BaseException) -> int | None:
    """The HTTP status behind a ClientFailure, when it was a status error."""
    return exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None


class NetworkError(CarryError):
    """A server could not be reached, or kept failing after the retries allowed. `kind` says why, for diagnosis:
    "tls" (certificate), "dns" (unknown name), or "other"."""

    code = "network.unreachable"
    default_message = "The server could not be reached; try again later."
    default_action = Action.RETRY

    def __init__(self, message: str | None = None, *, kind: str = "other") -> None:
        self.kind = kind
        super().__init__(message)

    @property
    def fields(self) -> Mapping[str, object]:
        return {"kind": self.kind}


class ForeignURLRefused(CarryError):
    """A URL outside the FHIR base was about to receive the access token; Carry refused to send it."""

    code = "network.foreign-url"
    default_message = "A server asked Carry to send your access to another address; Carry refused."


def _timeout(total: float) -> httpx.Timeout:
    return httpx.Timeout(total, connect=min(total, 15.0))


@functools.lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """The TLS settings every client uses: the same trust store httpx uses by default (certifi), loaded once per
    process rather than once per client (loading it is most of what making a client costs)."""
    return ssl.create_default_context(cafile=certifi.where())


def oauth_client_options(timeout: float = 30.0) -> dict[str, Any]:
    """Keyword arguments for an httpx-based client built elsewhere (authlib's AsyncOAuth2Client)."""
    return {
        "timeout": _timeout(timeout),
        "headers": {"User-Agent": USER_AGENT},
        "follow_redirects": False,
        "verify": tls_context(),
    }


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def is_under(url: str, base: str) -> bool:
    """True when `url` is the FHIR base itself or a path below it (same scheme, host and port; no userinfo)."""
    target, root = urlsplit(url), urlsplit(base)
    if target.username is not None or target.password is not None:
        return False
    if _origin(url) != _origin(base) or not target.hostname:
        return False
    segments = target.path.replace("%2e", ".").replace("%2E", ".").split("/")
    if ".." in segments or "." in segments:  # /fhir/../admin is not under /fhir
        return False
    base_path = root.path.rstrip("/")
    return target.path == base_path or target.path.startswith(base_path + "/")


def is_loopback(url: str) -> bool:
    """True when `url` names this machine: `localhost`, or an IP address in 127.0.0.0/8 or ::1.

    Decided by parsing the host as an address, never by its first characters: `127.attacker.example` is a name
    anyone can point anywhere, and `127.0.0.1@attacker.example` is userinfo before another host.
    """
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # a malformed address (an unclosed [ for example) is not this machine
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_https_or_loopback(url: str) -> bool:
    """The rule for addresses Carry talks to or hands out: https anywhere, plain http only to this machine."""
    scheme = url.split(":", 1)[0].lower()
    return (scheme == "https" and url[:8].lower() == "https://") or (
        scheme == "http" and url[:7].lower() == "http://" and is_loopback(url)
    )


@dataclass(frozen=True)
class Bearer:
    """An access token and the FHIR base it may be sent to."""

    base_url: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries in all, the first included
    backoff: float = 0.5  # first wait; doubles each time, with full jitter
    max_backoff: float = 20.0
    retry_after_cap: float = 120.0  # the longest wait honoured; a portal asking for more is not retried in this sync


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names
    content: bytes
    url: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass
class HttpStats:
    requests: int = 0
    bytes: int = 0
    retries: int = 0


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_RATELIMIT_RESET = re.compile(r"(?:^|[;,\s])(?:t|reset)\s*=\s*(\d+(?:\.\d+)?)", re.I)
_RATELIMIT_LEFT = re.compile(r"(?:^|[;,\s])(?:r|remaining)\s*=\s*(\d+)", re.I)
_RATELIMIT_WINDOW = re.compile(r"(?:^|[;,\s])w\s*=\s*(\d+(?:\.\d+)?)", re.I)
_EPOCH = 1_000_000_000.0  # an X-RateLimit-Reset this large is a moment (epoch seconds), not a duration


def throttle_wait(headers: Mapping[str, str], *, exhausted: bool) -> float | None:
    """Seconds the server asked Carry to wait, from whichever header it used: Retry-After; the IETF draft's
    RateLimit (`"default";r=0;t=10`, or the older `limit=100, remaining=0, reset=10` and RateLimit-Reset) with
    RateLimit-Policy's window when no reset is given; X-RateLimit-Reset (seconds, or an epoch moment). On a
    successful answer (`exhausted` False) only a quota used up (remaining 0) asks for a wait."""
    wait = _retry_after(headers.get("retry-after")) if exhausted else None
    if wait is not None:
        return wait
    limit = headers.get("ratelimit", "")
    remaining = headers.get("ratelimit-remaining", "").strip()
    left = _RATELIMIT_LEFT.search(limit) or (_RATELIMIT_LEFT.search(f"r={remaining}") if remaining else None)
    left_x = headers.get("x-ratelimit-remaining", "").strip()
    used_up = (left is not None and int(left.group(1)) == 0) or left_x == "0"
    if not exhausted and not used_up:
        return None
    reset = _RATELIMIT_RESET.search(limit) or _RATELIMIT_RESET.search(f"t={headers.get('ratelimit-reset', '').strip()}")
    if reset is not None:
        return float(reset.group(1))
    x_reset = headers.get("x-ratelimit-reset", "").strip()
    try:
        value = float(x_reset)
    except ValueError:
        value = None
    if value is not None:
        return max(0.0, value - time.time()) if value >= _EPOCH else value
    window = _RATELIMIT_WINDOW.search(headers.get("ratelimit-policy", ""))
    return float(window.group(1)) if window is not None else None


class _Gate:
    """At most `slots` requests at a time. When one ends, its slot goes to the waiting request with the lowest
    priority number (first come, first served among equals)."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()

    @contextlib.asynccontextmanager
    async def slot(self, priority: int) -> AsyncIterator[None]:
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, priority: int) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, next(self._arrival), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # the slot was handed over just as this request was cancelled: pass it on
            raise

    def _release(self) -> None:
        while self._waiting:
            turn = heapq.heappop(self._waiting)[2]
            if not turn.done():  # (a cancelled waiter is skipped)
                turn.set_result(None)
                return
        self._free += 1


class HttpClient:
    """An async HTTP client with bounded concurrency and retries. Use as `async with HttpClient() as http:`."""

    def __init__(
        self,
        *,
        concurrency: int = 4,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        transport: Any = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.retry = retry or RetryPolicy()
        # How the waits a server asks for (and the backoff between retries) pass: a test's clock may move instead.
        self._clock = clock
        self._sleep = sleep
        self.stats = HttpStats()
        self.concurrency = max(1, concurrency)
        self._gate = _Gate(self.concurrency)
        # When a server says "slow down", every request to it waits, not only the one that was told.
        self._paused_until: dict[tuple[str, str, int | None], float] = {}
        self._client = httpx.AsyncClient(
            timeout=_timeout(timeout),
            limits=httpx.Limits(max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            verify=tls_context(),
            transport=transport,
        )

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        bearer: Bearer | None = None,
        retry: bool = True,
        priority: int = 0,
    ) -> Response:
        return await self.request("GET", url, headers=headers, bearer=bearer, retry=retry, priority=priority)

    async def post_form(
        self, url: str, data: Mapping[str, str], *, headers: Mapping[str, str] | None = None, retry: bool = False
    ) -> Response:
        return await self.request("POST", url, headers=headers, data=data, retry=retry)

    async def post_json(
        self, url: str, body: bytes, *, headers: Mapping[str, str] | None = None, retry: bool = False
    ) -> Response:
        """POST a JSON body; not retried unless asked (a repeated POST may spend something, e.g. a passcode try)."""
        send = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        return await self.request("POST", url, headers=send, content=body, retry=retry)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        bearer: Bearer | None = None,
        data: Mapping[str, str] | None = None,
        content: bytes | None = None,
        retry: bool = True,
        priority: int = 0,
    ) -> Response:
        """One request, retried on 429, 5xx and dropped connections (GETs only, unless asked otherwise). When
        requests wait for one of the `concurrency` slots, those with a lower `priority` number go first.

        Raises NetworkError when the server cannot be reached after the retries allowed; an HTTP error status is
        returned as a Response, for the caller to judge.
        """
        send_headers = dict(headers or {})
        if bearer is not None:
            if not is_under(url, bearer.base_url):
                raise ForeignURLRefused(
                    f"The server pointed Carry to {_where(url)}, outside {bearer.base_url}; Carry did not send your "
                    "access token there."
                )
            send_headers["Authorization"] = f"Bearer {bearer.token}"
        attempts = self.retry.attempts if retry else 1
        host = _origin(url)
        for attempt in range(1, attempts + 1):
            wait: float | None = None
            await self._host_pause(host)  # (outside the slot, so requests to other servers go on meanwhile)
            try:
                async with self._gate.slot(priority):
                    await self._host_pause(host)
                    self.stats.requests += 1
                    raw = await self._client.request(method, url, headers=send_headers, data=data, content=content)
            except _TRANSIENT as exc:
                if attempt >= attempts or _kind(exc) != "other":  # (a bad certificate or name will not get better)
                    raise NetworkError(
                        f"Carry could not reach {_where(url)} ({_describe(exc)}), even after {attempts} tries.",
                        kind=_kind(exc),
                    ) from None
            except httpx.HTTPError as exc:
                raise NetworkError(f"Carry could not talk to {_where(url)} ({_describe(exc)}).", kind=_kind(exc)) from None
            else:
                self.stats.bytes += len(raw.content)
                response = Response(
                    raw.status_code, {k.lower(): v for k, v in raw.headers.items()}, raw.content, str(raw.url)
                )
                throttled = response.status in (429, 503)
                wait = throttle_wait(response.headers, exhausted=throttled)
                if wait is not None:
                    if throttled and wait > self.retry.retry_after_cap:
                        # Longer than Carry waits within one sync: retrying after the cap, attempt after attempt,
                        # would hold the patient for many minutes and still fail. The answer stands; the caller
                        # ends this part of the sync and the next sync continues it.
                        return response
                    self._pause(host, wait)
                if response.status not in _RETRY_STATUS or attempt >= attempts:
                    return response
                if wait is not None:
                    wait = 0.0  # the pause above holds this request back with every other one to the host
            if wait is None:
                ceiling = min(self.retry.max_backoff, self.retry.backoff * (2 ** (attempt - 1)))
                wait = random.uniform(ceiling / 2, ceiling)
            self.stats.retries += 1
            await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises


    def _pause(self, host: tuple[str, str, int | None], seconds: float) -> None:
        until = self._clock() + seconds
        if until > self._paused_until.get(host, 0.0):
            self._paused_until[host] = until

    async def _host_pause(self, host: tuple[str, str, int | None]) -> None:
        while (left := self._paused_until.get(host, 0.0) - self._clock()) > 0:
            await self._sleep(left)


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else "an invalid address"


# scheme://host:port of a URL, for messages: never its path or query (they can hold ids or tokens).
where = _where


def _kind(exc: BaseException) -> str:
    """Why a connection failed, from the exceptions under httpx's: a certificate, an unknown name, or other."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return "tls"
        if isinstance(seen, socket.gaierror):
            return "dns"
        seen = seen.__cause__ or seen.__context__
    return "other"


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "it did not answer in time"
    if isinstance(exc, httpx.ConnectError):
        return "the connection was refused or the name is unknown"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return "the connection dropped"
    return type(exc).__name__


def request_blocking(
    method: str, url: str, *, headers: Mapping[str, str] | None = None, json: Any = None, timeout: float = 30.0
) -> Response:
    """One request from synchronous code (the app's side of a remote share host: publish, revoke, read access
    entries), with the same timeouts, TLS settings and no redirects; no retries (publishing twice is not safe)."""
    try:
        with httpx.Client(**oauth_client_options(timeout)) as client:
            raw = client.request(method, url, headers=dict(headers or {}), json=json)
    except httpx.HTTPError as exc:
        raise NetworkError(f"{_where(url)} could not be reached: {_describe(exc)}.") from None
    return Response(raw.status_code, {k.lower(): v for k, v in raw.headers.items()}, raw.content, str(raw.url))
