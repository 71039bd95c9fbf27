"""A second SMART on FHIR portal for tests, unlike the sandbox in the ways real portals are unlike it.

Its authorization server is assembled from authlib's server components (rfc6749.AuthorizationServer with the
AuthorizationCodeGrant, the rfc7636 CodeChallenge and a rotating RefreshTokenGrant; with `registration=True` also
the rfc7591 ClientRegistrationEndpoint and the rfc7523 JWTBearerGrant, Epic's pattern for patient apps), not from
the sandbox's OAuth code, and it behaves as production portals were seen to behave:

- redirect URIs are matched exactly, port included (RFC 8252 asks otherwise; many servers do this anyway), and a
  mismatch is answered with an error page (HTTP 400), not a redirect;
- access tokens live 30 seconds (or as long as a test says);
- it throttles with the IETF draft's `RateLimit` / `RateLimit-Policy` headers, never `Retry-After`: at most
  `limit` requests per `window` seconds, a 429 beyond;
- some types are refused with 403 on every search;
- resources can be deleted between syncs (`portal.delete(type, id)`).

    with AuthlibPortal(redirect_uri="http://127.0.0.1:8123/oauth/callback") as portal:
        portal.base_url, portal.client_id, portal.username, portal.password
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html import escape
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

import uvicorn
from authlib.oauth2.rfc6749 import AuthorizationServer, InvalidGrantError, JsonPayload, JsonRequest, OAuth2Error, OAuth2Payload, OAuth2Request
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerGrant
from authlib.oauth2.rfc7591 import ClientRegistrationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

__all__ = ["AuthlibPortal"]

TOKEN_LIFETIME = 30
PAGE_SIZE = 10
PATIENT_ID = "p-ana"
REFUSED_TYPES = ("Encounter", "Immunization", "DocumentReference")
SERVED_TYPES = ("Condition", "Observation", "AllergyIntolerance", "MedicationRequest", "Procedure", "Provenance")


def _data() -> dict[tuple[str, str], dict[str, Any]]:
    """A patient with enough of each type to page: synthetic, deterministic."""
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": PATIENT_ID, "name": [{"family": "Portal", "given": ["Ana"]}],
         "gender": "female", "birthDate": "1980-02-03"},
    ]  # fmt: skip
    subject = {"reference": f"Patient/{PATIENT_ID}"}
    for n in range(23):
        resources.append({
            "resourceType": "Condition", "id": f"cond-{n}", "subject": subject,
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"text": f"Condition number {n}"}, "recordedDate": f"2020-01-{n + 1:02d}",
        })  # fmt: skip
    for n, category in enumerate(["laboratory"] * 27 + ["vital-signs"] * 12):
        resources.append({
            "resourceType": "Observation", "id": f"obs-{n}", "status": "final", "subject": subject,
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
            "code": {"text": f"Measurement {n}"}, "effectiveDateTime": f"2021-03-{n % 28 + 1:02d}",
            "valueQuantity": {"value": n, "unit": "mg/dL"},
        })  # fmt: skip
    for n in range(3):
        resources.append({
            "resourceType": "AllergyIntolerance", "id": f"allergy-{n}", "patient": subject,
            "code": {"text": f"Allergen {n}"},
        })  # fmt: skip
    for n in range(4):
        resources.append({
            "resourceType": "MedicationRequest", "id": f"med-{n}", "status": "active", "intent": "order",
            "subject": subject, "medicationCodeableConcept": {"text": f"Medicine {n}"},
        })  # fmt: skip
    for n in range(5):  # who recorded the first conditions (searchable by patient; _revinclude is not declared)
        resources.append({
            "resourceType": "Provenance", "id": f"prov-{n}", "target": [{"reference": f"Condition/cond-{n}"}],
            "patient": subject, "recorded": "2020-01-05T10:00:00Z",
            "agent": [{"who": {"display": "Dr. Example"}}],
        })  # fmt: skip
    return {(r["resourceType"], r["id"]): r for r in resources}


# --- the OAuth models authlib asks for ------------------------------------------------------------------------


@dataclass
class _Client:
    client_id: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token")
    jwks: dict[str, Any] | None = None  # a registered device client's public keys
    user: str | None = None  # the patient who authorised its registration
    scope: str = ""  # ...and what the patient allowed then (a JWT bearer request that names none gets this)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # the request must name it, and it must match exactly

    def get_allowed_scope(self, scope: str | None) -> str:
        return scope or self.scope

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exactly: scheme, host, port, path

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class _Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    user: str

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass
class _Token:
    client_id: str
    access_token: str
    refresh_token: str | None
    scope: str
    user: str
    expires_at: float
    clock: Callable[[], float]  # the portal's: when the token expires
    revoked: bool = False

    def check_client(self, client: _Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.clock() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked


class _Payload(OAuth2Payload):
    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    @property
    def data(self) -> dict[str, str]:
        return self._values

    @property
    def datalist(self) -> Any:
        return {k: [v] for k, v in self._values.items()}


class _Request(OAuth2Request):
    """An OAuth2Request over what Starlette read (authlib's server side is synchronous; the body is read first)."""

    def __init__(self, method: str, uri: str, headers: dict[str, str], query: dict[str, str], form: dict[str, str]) -> None:
        super().__init__(method, uri, headers=headers)
        self._query = query
        self._form = form
        self.payload = _Payload({**query, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._query

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _JsonPayload(JsonPayload):
    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    @property
    def data(self) -> dict[str, Any]:
        return self._values


class _JsonRequest(JsonRequest):
    def __init__(self, uri: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        super().__init__("POST", uri, headers)
        self.payload = _JsonPayload(body)


@dataclass
class _Store:
    clients: dict[str, _Client] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    tokens: dict[str, _Token] = field(default_factory=dict)  # by access token
    refresh: dict[str, _Token] = field(default_factory=dict)  # by refresh token
    lock: threading.Lock = field(default_factory=threading.Lock)
    lifetime: int = TOKEN_LIFETIME
    token_endpoint: str = ""  # the audience of JWT bearer assertions
    clock: Callable[[], float] = time.monotonic  # decides when access tokens expire (a test may advance its own)


class _Server(AuthorizationServer):
    def __init__(self, store: _Store) -> None:
        super().__init__(scopes_supported=None)
        self.store = store
        self.register_token_generator(
            "default",
            BearerTokenGenerator(lambda **_: secrets.token_urlsafe(24), lambda **_: secrets.token_urlsafe(32),
                                 lambda _client, _grant: store.lifetime),
        )  # fmt: skip

    def query_client(self, client_id: str) -> _Client | None:
        return self.store.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        token["patient"] = PATIENT_ID  # SMART's launch context, in the token response itself
        held = _Token(request.client.client_id, token["access_token"], token.get("refresh_token"),
                      token.get("scope", ""), request.user, self.store.clock() + self.store.lifetime,
                      self.store.clock)  # fmt: skip
        with self.store.lock:
            self.store.tokens[held.access_token] = held
            if held.refresh_token:
                self.store.refresh[held.refresh_token] = held

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request  # already an OAuth2Request, made from the Starlette request by the route

    def create_json_request(self, request: Any) -> Any:
        return request  # already a JsonRequest, made by the registration route

    def handle_response(self, status: int, body: Any, headers: Iterable[tuple[str, str]]) -> Response:
        content = json.dumps(body) if isinstance(body, dict) else (body or "")
        return Response(content, status, headers=dict(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        held = _Code(code, request.client.client_id, data["redirect_uri"], data.get("scope", ""),
                     data.get("code_challenge"), data.get("code_challenge_method"), request.user)  # fmt: skip
        with self.server.store.lock:
            self.server.store.codes[code] = held

    def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
        held: _Code | None = self.server.store.codes.get(code)
        return held if held is not None and held.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        with self.server.store.lock:
            self.server.store.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: _Code) -> str:
        return authorization_code.user


class _RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each refresh token is good once

    def authenticate_refresh_token(self, refresh_token: str) -> _Token | None:
        held: _Token | None = self.server.store.refresh.get(refresh_token)
        return held if held is not None and not held.revoked else None

    def authenticate_user(self, refresh_token: _Token) -> str:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: _Token) -> None:
        refresh_token.revoked = True


class _Registration(ClientRegistrationEndpoint):
    """RFC 7591, authorised as Epic does: by an access token the patient's login just issued."""

    def __init__(self, server: _Server, grant_types: list[str]) -> None:
        super().__init__(server)
        self.grant_types = grant_types

    def authenticate_token(self, request: Any) -> _Token | None:
        header = request.headers.get("authorization", "")
        store: _Store = self.server.store
        held = store.tokens.get(header[7:]) if header.startswith("Bearer ") else None
        return held if held is not None and not held.is_expired() else None

    def resolve_public_key(self, request: Any) -> None:
        return None  # no software statements

    def get_server_metadata(self) -> dict[str, Any]:
        return {"grant_types_supported": self.grant_types, "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"]}

    def save_client(self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any) -> _Client:
        client = _Client(client_info["client_id"], (), tuple(client_metadata.get("grant_types") or ()),
                         client_metadata.get("jwks"), request.credential.user, request.credential.scope)  # fmt: skip
        with self.server.store.lock:
            self.server.store.clients[client.client_id] = client
        return client


class _BearerGrant(JWTBearerGrant):
    """RFC 7523: a registered device client signs an assertion (iss = sub = its client id) for a new access token."""

    def process_assertion_claims(self, assertion: str) -> Any:
        # authlib's own steps, but decoding with SMART's signing algorithms: joserfc accepts only its "recommended"
        # ones (ES256, RS256, ...) unless told, and SMART clients sign with ES384 or RS384.
        _headers, claims = self.extract_assertion(assertion)
        client = self.resolve_issuer_client(claims.get("iss")) if isinstance(claims.get("iss"), str) else None
        if client is None:
            raise InvalidGrantError(description="The client does not exist on this server.")
        try:
            token = jwt.decode(assertion, self.resolve_client_public_key(client), algorithms=["ES384", "RS384"])
        except (JoseError, ValueError) as exc:
            raise InvalidGrantError(description="Invalid JWT assertion.") from exc
        self.verify_claims(token.claims)
        return token.claims

    def resolve_issuer_client(self, issuer: str) -> _Client | None:
        client: _Client | None = self.server.store.clients.get(issuer)
        return client if client is not None and client.jwks else None

    def resolve_client_public_key(self, client: _Client) -> KeySet:
        return KeySet.import_key_set(cast(Any, client.jwks or {"keys": []}))

    def authenticate_user(self, subject: str) -> str | None:
        client = self.resolve_issuer_client(subject)
        return client.user if client is not None else None

    def has_granted_permission(self, client: _Client, user: str) -> bool:
        return client.user == user

    def get_audiences(self) -> list[str]:
        return [self.server.store.token_endpoint]


# --- the portal ------------------------------------------------------------------------------------------------


class AuthlibPortal:
    def __init__(
        self,
        redirect_uri: str,
        *,
        limit: int = 25,
        window: float = 1.0,
        token_lifetime: int = TOKEN_LIFETIME,
        registration: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id = "carry-exact-redirect"
        self.username, self.password = "ana", "ana-portal-pass"
        self.redirect_uri = redirect_uri
        self.limit, self.window = limit, window
        self.data = _data()
        self.store = _Store(lifetime=token_lifetime, clock=clock)
        self.store.clients[self.client_id] = _Client(self.client_id, (redirect_uri,))
        self.oauth = _Server(self.store)
        self.oauth.register_grant(_CodeGrant, [CodeChallenge(required=True)])
        self.oauth.register_grant(_RefreshGrant)
        self.registration = registration  # advertise a registration endpoint and accept the JWT bearer grant
        if registration:
            self.oauth.register_grant(_BearerGrant)
            self.oauth.register_endpoint(_Registration(self.oauth, [_BearerGrant.GRANT_TYPE, "authorization_code"]))
        self.registered: list[_Client] = []  # device clients registered, in order
        self.counts = {"authorize_refused": 0, "token": 0, "refresh": 0, "jwt_bearer": 0, "throttled": 0, "fhir": 0}
        self.provenance_fails = False  # the Provenance search answers 400 (it must not fail a sync)
        # Ways a portal fails that Carry must explain (tests/portals/test_portals_diagnosis.py):
        self.unknown_tenant = False  # Oracle Health's answer for an organisation it does not know
        self.software = "Exact Portal"  # the CapabilityStatement's software name (a vendor is recognised by it)
        self.smart_off = False  # no SMART configuration and no oauth-uris: patient access not turned on
        self.token_html = False  # the token endpoint answers with an HTML page
        self.refuse_all = False  # every search answers 403
        self.asked: dict[str, int] = {}  # FHIR requests answered (not throttled), per resource type
        self._window_start = 0.0
        self._window_used = 0
        self._lock = threading.Lock()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + "/fhir"

    def delete(self, resource_type: str, resource_id: str) -> None:
        """The portal stops serving a resource (deleted, or no longer shared with the patient)."""
        with self._lock:
            del self.data[(resource_type, resource_id)]

    def served(self) -> dict[tuple[str, str], dict[str, Any]]:
        """What a complete sync must hold: every resource of a type the portal shares."""
        with self._lock:
            return {k: v for k, v in self.data.items() if k[0] not in REFUSED_TYPES}

    # --- OAuth ---------------------------------------------------------------------------------------------

    async def _oauth_request(self, request: Request) -> _Request:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True)) if request.method == "POST" else {}
        return _Request(request.method, str(request.url), dict(request.headers), dict(request.query_params), form)

    async def authorize(self, request: Request) -> Response:
        oauth_request = await self._oauth_request(request)
        try:
            self.oauth.get_consent_grant(oauth_request)
        except OAuth2Error as exc:
            # As the server Carry met did: a page, not a redirect, naming the problem.
            with self._lock:
                self.counts["authorize_refused"] += 1
            text = "Invalid redirect URI" if "redirect" in str(exc.description or "").lower() else str(exc.description)
            return HTMLResponse(f"<!doctype html><title>Error</title><h1>{escape(text)}</h1>", 400)
        params = {**oauth_request.args, **oauth_request.form}
        if request.method == "POST":
            if (params.get("username"), params.get("password")) != (self.username, self.password):
                return self._login_page(params, "Wrong username or password.")
            oauth_request.user = self.username
            return self.oauth.create_authorization_response(oauth_request, grant_user=self.username,
                                                            grant=self.oauth.get_consent_grant(oauth_request))  # fmt: skip
        return self._login_page(params, "")

    def _login_page(self, params: dict[str, str], note: str) -> HTMLResponse:
        hidden = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in params.items()
            if k not in ("username", "password")
        )
        return HTMLResponse(
            "<!doctype html><title>Sign in</title>"
            f"<p>{escape(note)}</p><form method=post action='/authorize'>{hidden}"
            "<input name=username><input type=password name=password><button type=submit>Sign in</button></form>"
        )

    async def token(self, request: Request) -> Response:
        if self.token_html:
            return HTMLResponse("<!doctype html><title>Down for maintenance</title><h1>Back soon</h1>", 200)
        oauth_request = await self._oauth_request(request)
        grant = oauth_request.form.get("grant_type")
        with self._lock:
            self.counts[{"refresh_token": "refresh", _BearerGrant.GRANT_TYPE: "jwt_bearer"}.get(grant or "", "token")] += 1
        response: Response = self.oauth.create_token_response(oauth_request)
        return response

    async def register(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"error": "invalid_client_metadata"}, 400)
        before = set(self.store.clients)
        response: Response = self.oauth.create_endpoint_response(
            "client_registration", _JsonRequest(str(request.url), dict(request.headers), body)
        )
        with self._lock:
            self.registered += [self.store.clients[c] for c in set(self.store.clients) - before]
        return response

    def _tenant_unknown(self) -> Response:
        return JSONResponse({"errorId": "7f0c", "error": "unknown-tenant", "message": "Tenant not found"}, 404)

    async def smart_configuration(self, request: Request) -> Response:
        if self.unknown_tenant:
            return self._tenant_unknown()
        if self.smart_off:
            return JSONResponse({"error": "not found"}, 404)
        registration = {"registration_endpoint": f"{self.origin}/register"} if self.registration else {}
        return JSONResponse({
            **registration,
            "authorization_endpoint": f"{self.origin}/authorize",
            "token_endpoint": f"{self.origin}/token",
            "grant_types_supported": ["authorization_code", "refresh_token",
                                      *([_BearerGrant.GRANT_TYPE] if self.registration else [])],
            "token_endpoint_auth_methods_supported": ["none"],
            "code_challenge_methods_supported": ["S256"],
            "response_types_supported": ["code"],
            "scopes_supported": ["launch/patient", "offline_access", "patient/*.rs"],
            "capabilities": ["launch-standalone", "client-public", "context-standalone-patient",
                             "permission-patient", "permission-v2", "permission-offline"],
        })  # fmt: skip

    # --- FHIR ------------------------------------------------------------------------------------------------

    def _throttle(self) -> tuple[Response | None, dict[str, str]]:
        """A fixed window of `limit` requests per `window` seconds for the whole server, told in RateLimit headers
        (the refusal when the window is used up, and the headers for the answer)."""
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= self.window:
                self._window_start, self._window_used = now, 0
            self._window_used += 1
            left = max(0, self.limit - self._window_used)
            reset = max(1, round(self._window_start + self.window - now + 0.5))
            headers = {"RateLimit": f'"default";r={left};t={reset}',
                       "RateLimit-Policy": f'"default";q={self.limit};w={int(self.window)}'}  # fmt: skip
            if self._window_used > self.limit:
                self.counts["throttled"] += 1
                body = {"resourceType": "OperationOutcome",
                        "issue": [{"severity": "error", "code": "throttled", "diagnostics": "Rate limit exceeded"}]}  # fmt: skip
                return JSONResponse(body, 429, headers=headers), headers
            self.counts["fhir"] += 1
        return None, headers

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        held = self.store.tokens.get(header[7:]) if header.startswith("Bearer ") else None
        return held is not None and not held.is_expired()

    async def metadata(self, request: Request) -> Response:
        if self.unknown_tenant:
            return self._tenant_unknown()
        types = [{"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}],
                  "searchParam": [{"name": "patient", "type": "reference"}]
                  + ([{"name": "category", "type": "token"}] if t == "Observation" else [])}
                 for t in (*SERVED_TYPES, *REFUSED_TYPES)]  # fmt: skip
        types.append({"type": "Patient", "interaction": [{"code": "read"}]})
        return JSONResponse({"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
                             "fhirVersion": "4.0.1", "format": ["json"], "software": {"name": self.software},
                             "rest": [{"mode": "server", "resource": types}]}, media_type="application/fhir+json")  # fmt: skip

    async def fhir(self, request: Request) -> Response:
        refused, headers = self._throttle()
        if refused is not None:
            return refused
        if not self._authorised(request):
            return JSONResponse({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login"}]},
                                401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})  # fmt: skip
        rtype, rid = request.path_params["type"], request.path_params.get("id")
        with self._lock:
            self.asked[rtype] = self.asked.get(rtype, 0) + 1
        if rtype == "Provenance" and self.provenance_fails:
            return JSONResponse({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-supported"}]}, 400)
        if rtype in REFUSED_TYPES or (self.refuse_all and rtype != "Patient"):
            body = {"resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "forbidden", "diagnostics": "Access denied by policy"}]}  # fmt: skip
            return JSONResponse(body, 403, headers=headers)
        with self._lock:
            if rid is not None:
                found = self.data.get((rtype, rid))
                if found is None:
                    return JSONResponse({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}, 404)
                return JSONResponse(found, media_type="application/fhir+json", headers=headers)
            category = request.query_params.get("category")
            matches = [
                r for (t, _), r in sorted(self.data.items())
                if t == rtype and (category is None or any(
                    c.get("code") == category for cat in r.get("category", []) for c in cat.get("coding", [])))
            ]  # fmt: skip
        offset = int(request.query_params.get("_offset", "0"))
        page = matches[offset : offset + PAGE_SIZE]
        links = [{"relation": "self", "url": str(request.url)}]
        if offset + PAGE_SIZE < len(matches):
            query = {k: v for k, v in request.query_params.items() if k != "_offset"}
            links.append({"relation": "next", "url": f"{self.base_url}/{rtype}?{urlencode({**query, '_offset': offset + PAGE_SIZE})}"})
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(matches), "link": links,
                  "entry": [{"fullUrl": f"{self.base_url}/{rtype}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                            for r in page]}  # fmt: skip
        return JSONResponse(bundle, media_type="application/fhir+json", headers=headers)

    # --- running -------------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/authorize", self.authorize, methods=["GET", "POST"]),
            Route("/token", self.token, methods=["POST"]),
            Route("/register", self.register, methods=["POST"]),
            Route("/fhir/.well-known/smart-configuration", self.smart_configuration),
            Route("/fhir/metadata", self.metadata),
            Route("/fhir/{type}", self.fhir),
            Route("/fhir/{type}/{id}", self.fhir),
        ])  # fmt: skip

    def __enter__(self) -> AuthlibPortal:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self.store.token_endpoint = f"{self.origin}/token"
        self._server = _Uvicorn(uvicorn.Config(self.app(), log_level="warning", access_log=False, lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the authlib portal did not start")
            time.sleep(0.02)
        self._socket = sock
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()


class _Uvicorn(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # runs in a thread: leave the test runner's signals alone
        pass

