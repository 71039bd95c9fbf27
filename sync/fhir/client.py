"""The FHIR REST client of one connected source: reads and searches under its base, with the access token.

A 401 triggers one token refresh and one retry; the bearer token is only ever sent under the FHIR base (sync.http
enforces it); relative URLs (`Binary/123`) are resolved against the base.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

from ..errors import Action
from ..http import Bearer, HttpClient, Response, where
from .errors import FHIRError
from .outcome import outcome_text

__all__ = ["AccessTokens", "FHIRClient", "RequestRefused", "Throttled", "Unauthorized"]


class AccessTokens(Protocol):
    async def access_token(self) -> str: ...

    async def refresh(self, *, stale: str) -> str: ...


class RequestRefused(FHIRError):
    """The server answered a request with an error status (the message holds its reason, when it gave one)."""

    code = "fhir.refused"
    default_message = "The portal refused Carry's request (HTTP {status})."

    def __init__(self, message: str | None = None, *, status: int) -> None:
        self.status = status
        super().__init__(message)

    @property
    def fields(self) -> Mapping[str, object]:
        return {"status": self.status}


class Unauthorized(RequestRefused):
    """Still 401 after a fresh token: the portal no longer accepts this connection."""

    code = "fhir.unauthorized"
    default_message = "The portal no longer accepts this connection; connect it again."
    default_action = Action.RECONNECT


class Throttled(RequestRefused):
    """The portal kept asking Carry to slow down after Carry waited as long as it said, or asked for a longer wait
    than one sync makes."""

    code = "fhir.throttled"
    default_message = "The portal asked Carry to slow down; try again later."
    default_action = Action.RETRY


class FHIRClient:
    def __init__(
        self, http: HttpClient, base_url: str, tokens: AccessTokens | None, *, accept: str = "application/fhir+json"
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self.accept = accept

    def url(self, path_or_url: str, params: Sequence[tuple[str, str]] | Mapping[str, str] = ()) -> str:
        if path_or_url.startswith(("http://", "https://")):
            url = path_or_url
        else:
            url = f"{self.base_url}/{path_or_url.lstrip('/')}"
        query = urlencode(list(params.items()) if isinstance(params, Mapping) else list(params))
        return f"{url}{'&' if '?' in url else '?'}{query}" if query else url

    async def get(
        self, path_or_url: str, *, params: Sequence[tuple[str, str]] = (), accept: str | None = None, priority: int = 0
    ) -> Response:
        """GET with the token; raises RequestRefused for an error status, Unauthorized for a lasting 401. Among
        requests waiting for a slot, a lower `priority` number goes first."""
        url = self.url(path_or_url, params)
        headers = {"Accept": accept or self.accept}
        token = await self._tokens.access_token() if self._tokens else None
        bearer = Bearer(self.base_url, token) if token else None
        response = await self.http.get(url, headers=headers, bearer=bearer, priority=priority)
        if response.status == 401 and self._tokens is not None and token is not None:
            token = await self._tokens.refresh(stale=token)
            response = await self.http.get(url, headers=headers, bearer=Bearer(self.base_url, token), priority=priority)
            if response.status == 401:
                raise Unauthorized(
                    "The portal refused Carry's access even with a fresh token; connect again.", status=401
                )
        if response.status == 429:
            raise Throttled(
                "The portal asked Carry to slow down for longer than one sync waits; the next sync continues where "
                "this one stopped.",
                status=429,
            )
        if 300 <= response.status < 400:
            # Redirects are not followed: the token would go wherever the portal pointed.
            raise RequestRefused(
                f"HTTP {response.status}: the portal sent Carry on to {where(response.headers.get('location', ''))} "
                "instead of answering; Carry did not follow it with your access token.",
                status=response.status,
            )
        if not response.ok:
            reason = outcome_text(response.content) or _status_text(response.status)
            raise RequestRefused(f"HTTP {response.status}: {reason}", status=response.status)
        return response

    async def create(self, resource_type: str, body: bytes) -> Response:
        """POST a new resource (JSON bytes) with the token; never retried (a repeat would file it twice).
        Raises RequestRefused with the server's reason for an error status."""
        url = self.url(resource_type)
        headers = {"Accept": self.accept, "Content-Type": "application/fhir+json"}
        token = await self._tokens.access_token() if self._tokens else None
        bearer = Bearer(self.base_url, token) if token else None
        response = await self.http.request("POST", url, headers=headers, bearer=bearer, content=body, retry=False)
        if response.status == 401 and self._tokens is not None and token is not None:
            token = await self._tokens.refresh(stale=token)
            response = await self.http.request("POST", url, headers=headers, bearer=Bearer(self.base_url, token),
                                               content=body, retry=False)  # fmt: skip
        if not response.ok:
            reason = outcome_text(response.content) or _status_text(response.status)
            raise RequestRefused(f"HTTP {response.status}: {reason}", status=response.status)
        return response

    async def read_json(self, path_or_url: str) -> Any:
        response = await self.get(path_or_url)
        try:
            return json.loads(response.content)
        except ValueError:
            raise FHIRError(f"The portal's answer to {path_or_url.split('?')[0]} is not JSON.") from None


def _status_text(status: int) -> str:
    return {
        400: "the server did not accept the search",
        403: "not allowed (insufficient scope)",
        404: "not found",
        410: "gone",
        422: "the server could not process the search",
        429: "too many requests, even after waiting",
    }.get(status, "server error" if status >= 500 else "refused")
