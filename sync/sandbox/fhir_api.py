"""The FHIR R4 JSON API of the sandbox, under {origin}/fhir, enforcing the bearer token on every data request.

- 401 without a live token for this base; 403 when the granted scopes do not cover the type or action; a resource
  outside the token's patient compartment does not exist for it (404).
- Reads (Binary by content negotiation), US Core searches (see search.py), paging with opaque next links that map
  to server-side state, `_revinclude=Provenance:target`, and create of DocumentReference and Observation.
- Every other write is 405. Faults (faults.py) are applied here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..fhir import FHIRFormatError, dumps, loads, validation_error
from ..fhir.r4types import R4_RESOURCE_TYPES
from .conformance import CREATABLE_TYPES, capability_statement, openid_configuration, smart_configuration
from .grants import AccessToken
from .search import SearchPlan, SearchRefused, constraint_criteria, plan_search, satisfies
from .state import FHIR_PATH, PortalState, fhir_base, origin_url

__all__ = ["PAGE_LIFETIME", "fhir_routes"]

PAGE_LIFETIME = 600.0
FHIR_JSON = "application/fhir+json; charset=utf-8"
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def _outcome(code: str, message: str, severity: str = "error") -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


def _fhir(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(body), status_code=status, headers={"Content-Type": FHIR_JSON, **(headers or {})})


def _refusal(exc: _Refused) -> Response:
    return _fhir(_outcome(exc.code, exc.message), exc.status, exc.headers)


class _Dropped(Response):
    """Sends the headers and part of the body, then ends without the rest: the server closes the connection."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": bytes(self.body[: max(1, len(self.body) // 2)]), "more_body": True})


@dataclass(frozen=True, slots=True)
class _Page:
    resource_type: str
    patient_id: str
    ids: tuple[str, ...]
    offset: int
    count: int
    revinclude: bool
    previous: tuple[str, ...]
    expires: float


class _Pages:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, _Page] = {}

    def add(self, page: _Page) -> str:
        token = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            for key in [k for k, p in self._pages.items() if p.expires < now]:
                del self._pages[key]
            self._pages[token] = page
        return token

    def get(self, token: str) -> _Page | None:
        with self._lock:
            page = self._pages.get(token)
        if page is None or page.expires < time.monotonic():
            return None
        return page


def _media_types(accept: str) -> list[str]:
    return [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]


def _check_accept(request: Request) -> None:
    fmt = request.query_params.get("_format")
    if fmt is not None and fmt not in ("json", *_JSON_TYPES):
        raise _Refused(406, "not-supported", "This server only speaks FHIR JSON.")
    types = _media_types(request.headers.get("accept", ""))
    if types and not any(t in (*_JSON_TYPES, "*/*", "application/*") for t in types):
        raise _Refused(406, "not-supported", "This server only speaks FHIR JSON (application/fhir+json).")


def fhir_routes(state: PortalState) -> list[Route]:
    store = state.store
    faults = state.faults
    pages = _Pages()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")

    # --- common steps ------------------------------------------------------------------------------------------

    async def transport_faults(resource_type: str | None) -> Response | None:
        fault = faults.take("rate_limit", resource_type)
        if fault is not None:
            return _fhir(_outcome("throttled", "Too many requests; try again later."), 429, _throttle_headers(fault.params))
        fault = faults.take("unavailable", resource_type)
        if fault is not None:
            headers = {"Retry-After": str(fault.params["seconds"])} if fault.params.get("seconds") is not None else {}
            return _fhir(_outcome("transient", "The service is temporarily unavailable."), 503, headers)
        fault = faults.take("server_error", resource_type)
        if fault is not None:
            return _fhir(_outcome("exception", "Internal server error."), 500)
        fault = faults.take("slow", resource_type)
        if fault is not None:
            await asyncio.sleep(float(fault.params.get("delay", 1.0)))
        return None

    def redirect_fault(request: Request, resource_type: str | None) -> Response | None:
        fault = faults.take("redirect", resource_type)
        if fault is None:
            return None
        return Response(status_code=307, headers={"Location": _elsewhere(str(request.url), fault.params)})

    def authenticate(request: Request) -> AccessToken:
        header = request.headers.get("authorization", "")
        realm = f'Bearer realm="{fhir_base(request)}"'
        if header[:7].lower() != "bearer " or not header[7:].strip():
            raise _Refused(401, "login", "A bearer access token is required.", {"WWW-Authenticate": realm})
        token = state.grants.check_access_token(header[7:].strip())
        if token is None or token.aud != fhir_base(request):
            raise _Refused(
                401,
                "expired",
                "The access token is not valid (expired, revoked or unknown).",
                {"WWW-Authenticate": realm + ', error="invalid_token"'},
            )
        return token

    def require_scope(token: AccessToken, resource_type: str, permission: str) -> None:
        if not token.access.allows(resource_type, permission):
            action = {"r": "read", "s": "search", "c": "create"}[permission]
            raise _Refused(
                403, "forbidden", f"The granted scopes do not allow you to {action} {resource_type}.",
                {"WWW-Authenticate": 'Bearer realm="carry-sandbox", error="insufficient_scope"'},
            )

    def permitted(token: AccessToken, resource: dict[str, Any], permission: str) -> bool:
        rtype = resource["resourceType"]
        constraints = token.access.constraints(rtype, permission)
        if constraints is None:
            return True
        owner = store.owner(rtype, resource["id"])
        return any(satisfies(resource, constraint_criteria(rtype, query), owner) for query in constraints)

    async def guarded(request: Request, resource_type: str | None, handler: Any) -> Response:
        if state.latency:  # a portal across the internet: every answer takes this long to come back
            await asyncio.sleep(state.latency)
        drop = faults.take("drop_connection", resource_type)
        failed = redirect_fault(request, resource_type) or await transport_faults(resource_type)
        try:
            response = failed if failed is not None else await handler()
        except _Refused as exc:
            response = _refusal(exc)
        except SearchRefused as exc:
            response = _fhir(_outcome(exc.code, exc.message), exc.status)
        if drop is not None:
            return _Dropped(response.body, response.status_code, dict(response.headers))
        return response

    def entry_url(request: Request, rtype: str, rid: str) -> str:
        return f"{fhir_base(request)}/{rtype}/{rid}"

    def version_headers(resource: dict[str, Any]) -> dict[str, str]:
        meta = resource.get("meta") or {}
        headers = {}
        if meta.get("versionId"):
            headers["ETag"] = f'W/"{meta["versionId"]}"'
        if meta.get("lastUpdated"):
            moment = datetime.fromisoformat(meta["lastUpdated"].replace("Z", "+00:00"))
            headers["Last-Modified"] = moment.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return headers

    # --- discovery ---------------------------------------------------------------------------------------------

    async def smart_config(request: Request) -> Response:
        return JSONResponse(
            smart_configuration(fhir_base(request), origin_url(request, ""), registration=state.registration)
        )

    async def openid_config(request: Request) -> Response:
        return JSONResponse(openid_configuration(fhir_base(request), origin_url(request, "")))

    async def metadata(request: Request) -> Response:
        try:
            _check_accept(request)
        except _Refused as exc:
            return _refusal(exc)
        statement = capability_statement(fhir_base(request), origin_url(request, ""), store.types(), started)
        return _fhir(statement)

    # --- read --------------------------------------------------------------------------------------------------

    async def instance(request: Request) -> Response:
        rtype = request.path_params["type"]
        rid = request.path_params["id"]
        if request.method not in ("GET", "HEAD"):
            return not_allowed(request, "GET")
        if rtype not in R4_RESOURCE_TYPES:
            return _refusal(_Refused(404, "not-supported", f"{rtype} is not a FHIR R4 resource type."))

        async def run() -> Response:
            if rtype != "Binary":
                _check_accept(request)
            token = authenticate(request)
            require_scope(token, rtype, "r")
            resource = store.readable_by(token.patient_id, rtype, rid)
            if resource is None:
                if store.deleted_for(token.patient_id, rtype, rid):
                    raise _Refused(410, "deleted", f"{rtype}/{rid} has been deleted.")
                raise _Refused(404, "not-found", f"There is no {rtype}/{rid}.")
            if not permitted(token, resource, "r"):
                raise _Refused(403, "forbidden", "The granted scopes do not cover this resource.")
            if rtype == "Binary":
                return binary(request, resource)
            return _fhir(resource, headers=version_headers(resource))

        return await guarded(request, rtype, run)

    def binary(request: Request, resource: dict[str, Any]) -> Response:
        content_type = str(resource.get("contentType") or "application/octet-stream")
        native = content_type.split(";")[0].strip().lower()
        for wanted in _media_types(request.headers.get("accept", "")) or ["*/*"]:
            if wanted in _JSON_TYPES:
                return _fhir(resource, headers=version_headers(resource))
            if wanted in (native, "*/*", native.split("/")[0] + "/*"):
                try:
                    raw = base64.b64decode(str(resource.get("data") or ""), validate=False)
                except (binascii.Error, ValueError):
                    raise _Refused(500, "exception", "The stored Binary cannot be decoded.") from None
                return Response(raw, headers={"Content-Type": content_type, **version_headers(resource)})
        raise _Refused(406, "not-supported", f"This Binary is {native}; ask for that or application/fhir+json.")

    # --- search ------------------------------------------------------------------------------------------------

    async def type_level(request: Request) -> Response:
        rtype = request.path_params["type"]
        if rtype not in R4_RESOURCE_TYPES:
            return _refusal(_Refused(404, "not-supported", f"{rtype} is not a FHIR R4 resource type."))
        if request.method == "POST":
            if rtype not in CREATABLE_TYPES:
                return not_allowed(request, "GET")
            return await guarded(request, rtype, lambda: create(request, rtype))
        if request.method not in ("GET", "HEAD"):
            return not_allowed(request, "GET, POST" if rtype in CREATABLE_TYPES else "GET")
        query = list(request.query_params.multi_items())
        return await guarded(request, rtype, lambda: search(request, rtype, query))

    async def post_search(request: Request) -> Response:
        rtype = request.path_params["type"]
        if rtype not in R4_RESOURCE_TYPES:
            return _refusal(_Refused(404, "not-supported", f"{rtype} is not a FHIR R4 resource type."))

        async def run() -> Response:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media != "application/x-www-form-urlencoded":
                raise _Refused(415, "not-supported", "POST _search takes application/x-www-form-urlencoded.")
            form = await request.form()
            pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
            return await search(request, rtype, list(request.query_params.multi_items()) + pairs)

        return await guarded(request, rtype, run)

    async def search(request: Request, rtype: str, query: list[tuple[str, str]]) -> Response:
        _check_accept(request)
        token = authenticate(request)
        require_scope(token, rtype, "s")
        if rtype == "Binary":
            raise _Refused(400, "not-supported", "Binary cannot be searched; read it by id.")
        strict = "handling=strict" in request.headers.get("prefer", "").replace(" ", "")
        plan = plan_search(rtype, query, strict=strict)
        if plan.patient is not None and plan.patient != token.patient_id:
            raise _Refused(403, "forbidden", "This access token is for another patient.")
        if rtype == "Patient":
            own = store.find("Patient", token.patient_id)
            candidates = [own] if own is not None else []
        else:
            candidates = store.visible(token.patient_id, rtype)
        found = [
            r["id"] for r in candidates if satisfies(r, plan.criteria, token.patient_id) and permitted(token, r, "s")
        ]
        page = _Page(rtype, token.patient_id, tuple(found), 0, plan.count, plan.revinclude_provenance, (), time.monotonic() + PAGE_LIFETIME)
        return render_page(request, token, page, self_url=self_link(request, rtype, plan), plan=plan)

    def self_link(request: Request, rtype: str, plan: SearchPlan) -> str:
        query = urlencode(plan.used)
        return f"{fhir_base(request)}/{rtype}" + (f"?{query}" if query else "")

    async def next_page(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return not_allowed(request, "GET")
        page = pages.get(request.path_params["token"])
        rtype = page.resource_type if page is not None else None

        async def run() -> Response:
            _check_accept(request)
            token = authenticate(request)
            if page is None:
                raise _Refused(410, "expired", "This page link has expired or was never issued; search again.")
            if page.patient_id != token.patient_id:
                raise _Refused(403, "forbidden", "This page belongs to another patient's search.")
            require_scope(token, page.resource_type, "s")
            return render_page(request, token, page, self_url=str(request.url), plan=None)

        return await guarded(request, rtype, run)

    def render_page(
        request: Request, token: AccessToken, page: _Page, *, self_url: str, plan: SearchPlan | None
    ) -> Response:
        rtype = page.resource_type
        window = page.ids[page.offset : page.offset + page.count]
        shown: list[dict[str, Any]] = []
        for rid in window:
            resource = store.readable_by(token.patient_id, rtype, rid)
            if resource is not None:  # deleted since the search ran
                shown.append(resource)
        repeat = faults.take("repeat_ids", rtype) if page.previous else None
        if repeat is not None:
            again = [store.readable_by(token.patient_id, rtype, rid) for rid in page.previous[-int(repeat.params["count"]) :]]
            shown = [r for r in again if r is not None] + shown
        entries: list[dict[str, Any]] = [
            {"fullUrl": entry_url(request, rtype, r["id"]), "resource": r, "search": {"mode": "match"}} for r in shown
        ]
        if page.revinclude and window and token.access.allows("Provenance", "r"):
            targets = {f"{rtype}/{rid}" for rid in window}
            for prov in store.visible(token.patient_id, "Provenance"):
                refs = {t.get("reference") for t in prov.get("target") or [] if isinstance(t, dict)}
                if refs & targets:
                    entries.append(
                        {"fullUrl": entry_url(request, "Provenance", prov["id"]), "resource": prov, "search": {"mode": "include"}}
                    )
        if plan is not None and plan.ignored:
            warning = _outcome("not-supported", "Ignored unsupported search parameters: " + ", ".join(plan.ignored), "warning")
            entries.append({"resource": warning, "search": {"mode": "outcome"}})
        if faults.take("outcome_entry", rtype) is not None:
            note = _outcome("informational", "Some results may be hidden by the patient's privacy settings.", "warning")
            entries.append({"resource": note, "search": {"mode": "outcome"}})
        links = [{"relation": "self", "url": self_url}]
        end = page.offset + page.count
        if page.count and end < len(page.ids):
            following = _Page(rtype, page.patient_id, page.ids, end, page.count, page.revinclude, tuple(window), time.monotonic() + PAGE_LIFETIME)
            url = f"{fhir_base(request)}/_page/{pages.add(following)}"
            foreign = faults.take("foreign_next", rtype)
            if foreign is not None:
                url = _elsewhere(url, foreign.params)
            links.append({"relation": "next", "url": url})
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "id": secrets.token_hex(8),
            "meta": {"lastUpdated": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")},
            "type": "searchset",
            "total": len(page.ids),
            "link": links,
        }
        if entries:
            bundle["entry"] = entries
        return _fhir(bundle)

    # --- create ------------------------------------------------------------------------------------------------

    async def create(request: Request, rtype: str) -> Response:
        token = authenticate(request)
        require_scope(token, rtype, "c")
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in ("application/fhir+json", "application/json"):
            raise _Refused(415, "not-supported", "Send the resource as application/fhir+json.")
        try:
            body = loads(await request.body())
        except FHIRFormatError as exc:
            raise _Refused(400, "structure", f"The body is not JSON: {exc}") from None
        if not isinstance(body, dict) or body.get("resourceType") != rtype:
            raise _Refused(400, "structure", f"The body must be a {rtype} resource.")
        subject = body.get("subject")
        ref = subject.get("reference") if isinstance(subject, dict) else None
        if not isinstance(ref, str) or not ref.startswith("Patient/"):
            raise _Refused(422, "required", f"A {rtype} must have subject Patient/<id>.")
        if ref != f"Patient/{token.patient_id}":
            raise _Refused(403, "forbidden", "You can only add to your own record.")
        body.pop("id", None)
        problem = validation_error(body)
        if problem is not None:
            raise _Refused(422, "invalid", f"The {rtype} is not valid FHIR: {problem}")
        stored = store.put(body)
        location = f"{fhir_base(request)}/{rtype}/{stored['id']}/_history/{stored['meta']['versionId']}"
        headers = {"Location": location, **version_headers(stored)}
        if request.headers.get("prefer", "").replace(" ", "") == "return=minimal":
            return Response(status_code=201, headers=headers)
        return _fhir(stored, 201, headers)

    def not_allowed(request: Request, allow: str) -> Response:
        message = f"{request.method} is not allowed here; this server is read-only except for creating " + " and ".join(
            CREATABLE_TYPES
        ) + "."
        return _fhir(_outcome("not-supported", message), 405, {"Allow": allow})

    async def other(request: Request) -> Response:
        return _fhir(_outcome("not-supported", "This operation is not supported."), 404)

    async def any_other_method(request: Request) -> Response:
        return not_allowed(request, "GET")

    return [
        Route(f"{FHIR_PATH}/.well-known/smart-configuration", smart_config, methods=["GET"]),
        Route(f"{FHIR_PATH}/.well-known/openid-configuration", openid_config, methods=["GET"]),
        Route(f"{FHIR_PATH}/metadata", metadata, methods=["GET"]),
        Route(f"{FHIR_PATH}/_page/{{token}}", next_page, methods=_ALL_METHODS),
        Route(f"{FHIR_PATH}/{{type}}/_search", post_search, methods=["POST"]),
        Route(f"{FHIR_PATH}/{{type}}/{{id}}", instance, methods=_ALL_METHODS),
        Route(f"{FHIR_PATH}/{{type}}", type_level, methods=_ALL_METHODS),
        Route(f"{FHIR_PATH}/{{path:path}}", other, methods=["GET"]),
        Route(f"{FHIR_PATH}/{{path:path}}", any_other_method, methods=["POST", "PUT", "PATCH", "DELETE"]),
        Route(FHIR_PATH, any_other_method, methods=["POST", "PUT", "PATCH", "DELETE"]),
    ]


def _elsewhere(url: str, params: dict[str, Any]) -> str:
    """The same URL on another host, port or scheme (what a fault asks for; unset parts stay as they are)."""
    parts = urlsplit(url)
    scheme = params.get("scheme") or parts.scheme
    host = params.get("host") or parts.hostname or ""
    port = params.get("port") or parts.port
    return str(urlunsplit((scheme, f"{host}:{port}" if port else host, parts.path, parts.query, "")))


def _throttle_headers(params: dict[str, Any]) -> dict[str, str]:
    """How long to wait, said the way the fault asks (real portals use any of these)."""
    seconds = params.get("seconds", 1)
    style = params.get("header", "retry-after")
    if style == "ratelimit":
        return {"RateLimit": f'"default";r=0;t={seconds}', "RateLimit-Policy": '"default";q=100;w=60'}
    if style == "ratelimit-old":
        return {"RateLimit": f"limit=100, remaining=0, reset={seconds}"}
    if style == "x-ratelimit":
        return {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time() + float(seconds)) + 1)}
    return {"Retry-After": str(seconds)}
