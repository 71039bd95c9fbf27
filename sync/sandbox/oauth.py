"""The authorization server: SMART App Launch 2.2 standalone patient launch, OAuth 2.0 with PKCE.

Routes (under the origin, beside the FHIR base): /auth/authorize (GET or POST), /auth/login, /auth/consent,
/auth/token, /auth/revoke (RFC 7009), /auth/introspect (RFC 7662), /auth/manage, /auth/jwks, and with registration
/auth/register (RFC 7591; device clients that renew with the RFC 7523 JWT bearer grant).

Authorize errors follow RFC 6749 §4.1.2.1: when the client or its redirect_uri cannot be trusted the error is shown
on the page and the browser goes nowhere; every other error goes back to the redirect_uri with `error`,
`error_description` and `state`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .clients import ClientRegistration, redirect_matches
from .conformance import JWT_BEARER
from .grants import MAX_LOGIN_FAILURES, AccessToken, Grant, PendingAuthorization, s256
from .keys import AssertionRefused, read_client_assertion
from .pages import consent_page, error_page, login_page, manage_login_page, manage_page, message_page
from .scopes import Access, describe_scope
from .state import PortalState, fhir_base, origin_url

__all__ = ["SESSION_COOKIE", "OAuthError", "oauth_routes"]

SESSION_COOKIE = "carry_sandbox_session"
_PKCE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_MANAGE_LIFETIME = 600.0


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=_PAGE_HEADERS)


def _redirect_with(uri: str, params: dict[str, str]) -> RedirectResponse:
    parts = urlsplit(uri)
    query = (parts.query + "&" if parts.query else "") + urlencode(params)
    target = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


def _uses_basic(request: Request) -> bool:
    """Whether the client tried HTTP Basic: its errors then answer with a Basic challenge (RFC 6749 §5.2)."""
    return request.headers.get("authorization", "")[:6].lower() == "basic "


def _unverified_claims(assertion: str) -> dict[str, Any]:
    """The claims of a JWT before its signature is checked: only to learn which client's keys to check it with."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWT")
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("unreadable JWT payload") from None
    if not isinstance(claims, dict):
        raise ValueError("JWT payload is not an object")
    return claims


def _token_error(exc: OAuthError, *, basic: bool = False) -> JSONResponse:
    headers = dict(_TOKEN_HEADERS)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="carry-sandbox"' if basic else 'Bearer realm="carry-sandbox"'
    return JSONResponse({"error": exc.error, "error_description": exc.description}, exc.status, headers=headers)


def _single(form: FormData | Any, name: str) -> str | None:
    values = form.getlist(name)
    if len(values) > 1:
        raise OAuthError("invalid_request", f"The parameter {name} was sent more than once.")
    value = values[0] if values else None
    return value if isinstance(value, str) and value != "" else None


async def _form(request: Request) -> FormData:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "Send the request as application/x-www-form-urlencoded.")
    return await request.form()


def _cookie_path(request: Request) -> str:
    return (request.scope.get("root_path") or "") + "/auth"


@dataclass(frozen=True, slots=True)
class _Authenticated:
    client: ClientRegistration
    basic: bool


def oauth_routes(state: PortalState) -> list[Route]:
    grants = state.grants
    manage_sessions: dict[str, tuple[str, float]] = {}

    # --- authorize ---------------------------------------------------------------------------------------------

    async def authorize(request: Request) -> Response:
        if request.method == "POST":
            try:
                params: Any = await _form(request)
            except OAuthError as exc:
                return _html(error_page("This sign-in link is broken", exc.description), 400)
        else:
            params = request.query_params
        for name in ("client_id", "redirect_uri"):
            if len(params.getlist(name)) > 1:
                return _html(error_page("This sign-in link is broken", f"It carries {name} more than once."), 400)
        client_id = params.get("client_id") or ""
        redirect_uri = params.get("redirect_uri") or ""
        client = state.clients.get(client_id)
        if client is None:
            return _html(
                error_page("Unknown app", "The app that sent you here is not registered with this hospital."), 400
            )
        if not redirect_uri or not redirect_matches(client.redirect_uris, redirect_uri):
            return _html(
                error_page(
                    "This sign-in link is broken",
                    "The address to return to after signing in is not one registered for this app, so you were not"
                    " sent back to it.",
                ),
                400,
            )
        state_param = params.get("state")
        try:
            for name in ("response_type", "state", "scope", "aud", "code_challenge", "code_challenge_method", "nonce"):
                if len(params.getlist(name)) > 1:
                    raise OAuthError("invalid_request", f"The parameter {name} was sent more than once.")
            response_type = params.get("response_type")
            if response_type is None:
                raise OAuthError("invalid_request", "response_type is missing.")
            if response_type != "code":
                raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
            if not state_param:
                raise OAuthError("invalid_request", "state is required.")
            if params.get("launch") is not None:
                raise OAuthError("invalid_request", "This server supports the standalone launch only; omit launch.")
            aud = params.get("aud") or params.get("resource")
            base = fhir_base(request)
            if not aud:
                raise OAuthError("invalid_request", "aud is required: the FHIR base URL of this server.")
            if aud.rstrip("/") != base:
                raise OAuthError("invalid_request", "aud is not the FHIR base URL of this server.")
            method = params.get("code_challenge_method")
            challenge = params.get("code_challenge")
            if not challenge:
                raise OAuthError("invalid_request", "PKCE is required: send code_challenge and code_challenge_method=S256.")
            if method != "S256":
                raise OAuthError("invalid_request", "code_challenge_method must be S256 (plain is not accepted).")
            if not _CHALLENGE.match(challenge):
                raise OAuthError("invalid_request", "code_challenge is not a base64url SHA-256 digest.")
            scope = params.get("scope")
            if not scope:
                raise OAuthError("invalid_scope", "scope is required.")
            requested = Access.of(scope.split())
            if not requested.resource_scopes and not requested.openid:
                raise OAuthError("invalid_scope", "None of the requested scopes can be granted.")
        except OAuthError as exc:
            reply = {"error": exc.error, "error_description": exc.description}
            if state_param:
                reply["state"] = state_param
            return _redirect_with(redirect_uri, reply)

        session = request.cookies.get(SESSION_COOKIE) or secrets.token_urlsafe(24)
        pending = PendingAuthorization(
            secrets.token_urlsafe(24),
            client,
            redirect_uri,
            state_param,
            requested,
            base,
            challenge,
            params.get("nonce"),
            session,
            grants.clock(),
        )
        grants.add_pending(pending)
        response = _html(login_page(pending.id, client.display_name, hints=state.hints()))
        response.set_cookie(SESSION_COOKIE, session, path=_cookie_path(request), httponly=True, samesite="lax")
        return response

    def _expired_page() -> Response:
        return _html(
            error_page(
                "This sign-in has expired",
                "It took too long, or it was started in another browser. Go back to the app and connect again.",
            ),
            400,
        )

    async def login(request: Request) -> Response:
        try:
            form = await _form(request)
            request_id = _single(form, "request") or ""
            username = _single(form, "username") or ""
            password = _single(form, "password") or ""
        except OAuthError as exc:
            return _html(error_page("Sign-in failed", exc.description), 400)
        pending = grants.get_pending(request_id, request.cookies.get(SESSION_COOKIE))
        if pending is None:
            return _expired_page()
        account = state.login(username, password)
        if account is None:
            pending.failures += 1
            if pending.failures >= MAX_LOGIN_FAILURES:
                grants.drop_pending(pending.id)
                return _redirect_with(
                    pending.redirect_uri,
                    {"error": "access_denied", "error_description": "Too many failed sign-ins.", "state": pending.state},
                )
            page = login_page(
                pending.id, pending.client.display_name, error="That username and password do not match.", hints=state.hints()
            )
            return _html(page, 401)
        pending.patient_id = account.patient_id
        return RedirectResponse(f"consent?{urlencode({'request': pending.id})}", status_code=303, headers=_PAGE_HEADERS)

    async def consent(request: Request) -> Response:
        if request.method == "GET":
            pending = grants.get_pending(request.query_params.get("request") or "", request.cookies.get(SESSION_COOKIE))
            if pending is None or pending.patient_id is None:
                return _expired_page()
            account = state.login_for(pending.patient_id)
            shown = [(s, describe_scope(s)) for s in pending.requested.scopes]
            name = account.full_name if account else pending.patient_id
            return _html(consent_page(pending.id, pending.client.display_name, name, shown))
        try:
            form = await _form(request)
            request_id = _single(form, "request") or ""
            decision = _single(form, "decision")
        except OAuthError as exc:
            return _html(error_page("Something went wrong", exc.description), 400)
        pending = grants.get_pending(request_id, request.cookies.get(SESSION_COOKIE))
        if pending is None or pending.patient_id is None:
            return _expired_page()
        if decision not in ("approve", "deny"):
            return _html(error_page("Something went wrong", "Choose Allow or Deny."), 400)
        refusal = {"error": "access_denied", "state": pending.state}
        if decision == "deny":
            grants.drop_pending(pending.id)
            return _redirect_with(pending.redirect_uri, {**refusal, "error_description": "The patient denied access."})
        # Only scopes that were asked for can be granted, whatever a tampered form says.
        chosen = pending.requested.narrowed([s for s in form.getlist("scope") if isinstance(s, str)])
        if not chosen.resource_scopes and not chosen.openid:
            grants.drop_pending(pending.id)
            return _redirect_with(pending.redirect_uri, {**refusal, "error_description": "The patient allowed nothing."})
        code = grants.issue_code(pending, chosen, state.code_lifetime)
        return _redirect_with(pending.redirect_uri, {"code": code, "state": pending.state})

    # --- token -------------------------------------------------------------------------------------------------

    def authenticate(request: Request, form: FormData) -> _Authenticated:
        if _single(form, "client_assertion") or _single(form, "client_assertion_type"):
            return authenticate_assertion(request, form)
        if form.get("client_secret") is not None:
            raise OAuthError("invalid_client", "Send the client secret with HTTP Basic (client_secret_basic).", 401)
        header = request.headers.get("authorization", "")
        form_client = _single(form, "client_id")
        if header[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError("invalid_client", "The Basic credentials cannot be read.", 401) from None
            raw_id, colon, raw_secret = decoded.partition(":")
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            client = state.clients.get(client_id)
            if not colon or client is None or client.client_secret is None:
                raise OAuthError("invalid_client", "Client authentication failed.", 401)
            if not secrets.compare_digest(client.client_secret.encode(), secret.encode()):
                raise OAuthError("invalid_client", "Client authentication failed.", 401)
            if form_client is not None and form_client != client_id:
                raise OAuthError("invalid_request", "client_id does not match the authenticated client.")
            return _Authenticated(client, True)
        if header:
            raise OAuthError("invalid_client", "Only HTTP Basic client authentication is supported.", 401)
        if form_client is None:
            raise OAuthError("invalid_client", "client_id is required for a public client.", 401)
        client = state.clients.get(form_client)
        if client is None:
            raise OAuthError("invalid_client", "Unknown client.", 401)
        if not client.public:
            raise OAuthError("invalid_client", "This client must authenticate (client_secret_basic or private_key_jwt).", 401)
        return _Authenticated(client, False)

    def authenticate_assertion(request: Request, form: FormData) -> _Authenticated:
        # SMART App Launch 2.2, client-confidential-asymmetric: a JWT signed with a registered key (RS384/ES384).
        if request.headers.get("authorization"):
            raise OAuthError("invalid_request", "Use one way of client authentication, not two.")
        if _single(form, "client_assertion_type") != _ASSERTION_TYPE or not _single(form, "client_assertion"):
            raise OAuthError("invalid_client", "The client assertion or its type is missing or wrong.", 401)
        client = verify_assertion(request, str(_single(form, "client_assertion")), "invalid_client", 401)
        form_client = _single(form, "client_id")
        if form_client is not None and form_client != client.client_id:
            raise OAuthError("invalid_request", "client_id does not match the authenticated client.")
        return _Authenticated(client, False)

    def verify_assertion(request: Request, assertion: str, error: str, status: int) -> ClientRegistration:
        """A JWT signed with a client's registered key: iss = sub = client_id, aud = the token endpoint, exp at most
        five minutes ahead, a jti never seen before. Refused with `error` (invalid_client when it authenticates a
        client, invalid_grant when it is the grant itself, RFC 7523)."""
        try:
            unverified = _unverified_claims(assertion)
        except ValueError:
            raise OAuthError(error, "The assertion cannot be read.", status) from None
        client = state.clients.get(str(unverified.get("iss", "")))
        if client is None or client.jwks is None:
            raise OAuthError(error, "Client authentication failed.", status)
        try:
            claims = read_client_assertion(assertion, client.jwks)
        except AssertionRefused:
            raise OAuthError(error, "Client authentication failed.", status) from None
        now = time.time()
        token_endpoint = origin_url(request, "/auth/token")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        exp = claims.get("exp")
        jti = claims.get("jti")
        if claims.get("sub") != client.client_id or token_endpoint not in audiences:
            raise OAuthError(error, "The assertion's sub or aud is wrong.", status)
        if not isinstance(exp, (int, float)) or exp <= now or exp > now + 300 + 5:
            raise OAuthError(error, "The assertion has expired or lives longer than 5 minutes.", status)
        if not isinstance(jti, str) or not jti:
            raise OAuthError(error, "The assertion has no jti.", status)
        for seen, until in list(state.used_assertions.items()):
            if until < now:
                del state.used_assertions[seen]
        if jti in state.used_assertions:
            raise OAuthError(error, "This assertion was already used.", status)
        state.used_assertions[jti] = float(exp)
        return client

    def token_response(request: Request, grant: Grant, access: Access, *, nonce: str | None, refresh: bool) -> JSONResponse:
        lifetime: float = state.access_token_lifetime
        early = state.faults.take("expire_token_early")
        if early is not None:
            lifetime = float(early.params.get("seconds") or 0)
        token = grants.new_access_token(grant, access, lifetime)
        body: dict[str, Any] = {
            "access_token": token.token,
            "token_type": "Bearer",
            "expires_in": state.access_token_lifetime,
            "scope": access.text,
        }
        if access.patient_context:
            body["patient"] = grant.patient_id
            body["need_patient_banner"] = True
        if refresh and grant.access.refresh:
            body["refresh_token"] = grants.new_refresh_token(grant, grant.access).token
        if access.openid:
            body["id_token"] = id_token(grant, access, nonce)
        odd = state.faults.take("token_field")
        if odd is not None:
            body[str(odd.params["name"])] = odd.params["value"]
        return JSONResponse(body, headers=_TOKEN_HEADERS)

    def id_token(grant: Grant, access: Access, nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": grant.aud,
            "sub": grant.patient_id,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + state.access_token_lifetime,
            "auth_time": int(grant.created),
        }
        if nonce:
            claims["nonce"] = nonce
        if access.fhir_user:
            claims["fhirUser"] = f"{grant.aud}/Patient/{grant.patient_id}"
        if "profile" in access.scopes:
            account = state.login_for(grant.patient_id)
            if account is not None:
                claims["name"] = account.full_name
        return state.key.sign(claims)

    async def token(request: Request) -> Response:
        basic = _uses_basic(request)
        try:
            form = await _form(request)
            if state.registration and _single(form, "grant_type") == JWT_BEARER:
                return bearer_grant(request, form)  # the assertion is the grant and the client's proof at once
            who = authenticate(request, form)
            grant_type = _single(form, "grant_type")
            if grant_type == "authorization_code":
                return exchange_code(request, form, who.client)
            if grant_type == "refresh_token":
                return refresh(request, form, who.client)
            if grant_type is None:
                raise OAuthError("invalid_request", "grant_type is missing.")
            raise OAuthError("unsupported_grant_type", f"grant_type {grant_type} is not supported.")
        except OAuthError as exc:
            return _token_error(exc, basic=basic)

    def exchange_code(request: Request, form: FormData, client: ClientRegistration) -> Response:
        code_value = _single(form, "code")
        redirect_uri = _single(form, "redirect_uri")
        verifier = _single(form, "code_verifier")
        if code_value is None:
            raise OAuthError("invalid_request", "code is missing.")
        with grants.lock:
            code = grants.codes.get(code_value)
            if code is None:
                raise OAuthError("invalid_grant", "The authorization code is not valid.")
            if code.used:
                # A replayed code: whatever it was exchanged for is no longer trustworthy (RFC 6749 §4.1.2).
                if code.grant_id is not None:
                    grants.revoke_grant(code.grant_id)
                raise OAuthError("invalid_grant", "The authorization code was already used.")
            if grants.clock() >= code.expires_at:
                del grants.codes[code_value]
                raise OAuthError("invalid_grant", "The authorization code has expired.")
            if code.client_id != client.client_id:
                raise OAuthError("invalid_grant", "The authorization code was issued to another client.")
            if redirect_uri is None or redirect_uri != code.redirect_uri:
                raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request.")
            if verifier is None or not _PKCE.match(verifier):
                raise OAuthError("invalid_grant", "code_verifier is missing or malformed.")
            if not secrets.compare_digest(s256(verifier), code.code_challenge):
                raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge.")
            code.used = True
            grant = grants.new_grant(client, code.patient_id, code.access, code.aud)
            code.grant_id = grant.id
        return token_response(request, grant, code.access, nonce=code.nonce, refresh=True)

    def refresh(request: Request, form: FormData, client: ClientRegistration) -> Response:
        value = _single(form, "refresh_token")
        if value is None:
            raise OAuthError("invalid_request", "refresh_token is missing.")
        with grants.lock:
            stored = grants.refresh_tokens.get(value)
            grant = grants.live_grant(stored.grant_id) if stored is not None else None
            if stored is None or grant is None:
                raise OAuthError("invalid_grant", "The refresh token is not valid.")
            if grant.client_id != client.client_id:
                raise OAuthError("invalid_grant", "The refresh token was issued to another client.")
            if stored.used:
                # Replay of a rotated refresh token: someone else may hold it, so the whole grant dies.
                grants.revoke_grant(grant.id)
                raise OAuthError("invalid_grant", "The refresh token was already used; access has been revoked.")
            if state.faults.take("revoke_refresh") is not None:
                grants.revoke_grant(grant.id)
                raise OAuthError("invalid_grant", "The refresh token has been revoked.")
            access = stored.access
            asked = _single(form, "scope")
            if asked is not None:
                wanted = asked.split()
                if not set(wanted) <= set(stored.access.scopes):
                    raise OAuthError("invalid_scope", "A refresh cannot ask for more than was granted.")
                access = stored.access.narrowed(wanted)
            stored.used = True
        return token_response(request, grant, access, nonce=None, refresh=True)

    def bearer_grant(request: Request, form: FormData) -> Response:
        # RFC 7523 §2.1 for a device client: new access for the grant that registered it, no refresh token.
        assertion = _single(form, "assertion")
        if not assertion:
            raise OAuthError("invalid_request", "assertion is missing.")
        client = verify_assertion(request, assertion, "invalid_grant", 400)
        form_client = _single(form, "client_id")
        if form_client is not None and form_client != client.client_id:
            raise OAuthError("invalid_request", "client_id does not match the assertion.")
        with grants.lock:
            grant = grants.live_grant(client.grant_id) if client.grant_id else None
        if grant is None:
            raise OAuthError("invalid_grant", "This client's access has been withdrawn.")
        return token_response(request, grant, grant.access, nonce=None, refresh=False)

    async def register(request: Request) -> Response:
        # RFC 7591, authorised as Epic does: by an access token the patient's login issued; the new client lives as
        # long as that login's grant, and holds only the public keys it sent.
        header = request.headers.get("authorization", "")
        token = grants.check_access_token(header[7:].strip()) if header[:7].lower() == "bearer " else None
        if token is None:
            return JSONResponse({"error": "invalid_token", "error_description": "A valid access token is required."},
                                401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})  # fmt: skip
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        jwks = body.get("jwks") if isinstance(body, dict) else None
        keys = jwks.get("keys") if isinstance(jwks, dict) else None
        if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) and "d" not in k for k in keys):
            return JSONResponse({"error": "invalid_client_metadata",
                                 "error_description": "jwks must hold the client's public keys."}, 400)  # fmt: skip
        grant_types = body.get("grant_types") if isinstance(body, dict) else None
        if grant_types != [JWT_BEARER]:
            return JSONResponse({"error": "invalid_client_metadata",
                                 "error_description": f"grant_types must be [{JWT_BEARER!r}]."}, 400)  # fmt: skip
        assert isinstance(body, dict)
        name = body.get("client_name") if isinstance(body.get("client_name"), str) else ""
        client_id = "device-" + secrets.token_urlsafe(16)
        state.clients[client_id] = ClientRegistration(client_id, (), None, str(name), {"keys": keys}, token.grant_id)
        return JSONResponse(
            {"client_id": client_id, "client_id_issued_at": int(time.time()), "grant_types": [JWT_BEARER],
             "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": keys}, "client_name": name},
            201, headers=_TOKEN_HEADERS,
        )  # fmt: skip

    # --- revocation and introspection -------------------------------------------------------------------------

    async def revoke(request: Request) -> Response:
        basic = _uses_basic(request)
        try:
            form = await _form(request)
            who = authenticate(request, form)
            value = _single(form, "token")
            if value is None:
                raise OAuthError("invalid_request", "token is missing.")
            with grants.lock:
                stored_refresh = grants.refresh_tokens.get(value)
                stored_access = grants.access_tokens.get(value)
                stored = stored_refresh or stored_access
                grant = grants.grants.get(stored.grant_id) if stored is not None else None
                if grant is not None and grant.client_id != who.client.client_id:
                    raise OAuthError("unauthorized_client", "The token was not issued to this client.")
                if stored_refresh is not None:
                    grants.revoke_grant(stored_refresh.grant_id)  # RFC 7009 §2.1: the grant goes with it
                elif stored_access is not None:
                    del grants.access_tokens[value]
        except OAuthError as exc:
            return _token_error(exc, basic=basic)
        return Response(status_code=200, headers=_TOKEN_HEADERS)

    async def introspect(request: Request) -> Response:
        basic = _uses_basic(request)
        try:
            form = await _form(request)
            who = authenticate(request, form)
            value = _single(form, "token")
            if value is None:
                raise OAuthError("invalid_request", "token is missing.")
        except OAuthError as exc:
            return _token_error(exc, basic=basic)
        found: AccessToken | None = grants.check_access_token(value)
        if found is None or found.client_id != who.client.client_id:
            return JSONResponse({"active": False}, headers=_TOKEN_HEADERS)
        wall = time.time() + (found.expires_at - grants.clock())
        body: dict[str, Any] = {
            "active": True,
            "scope": found.access.text,
            "client_id": found.client_id,
            "token_type": "Bearer",
            "exp": int(wall),
            "iat": int(wall - (found.expires_at - found.issued_at)),
            "sub": found.patient_id,
            "aud": found.aud,
            "iss": found.aud,
        }
        if found.access.patient_context:
            body["patient"] = found.patient_id
        if found.access.fhir_user:
            body["fhirUser"] = f"{found.aud}/Patient/{found.patient_id}"
        return JSONResponse(body, headers=_TOKEN_HEADERS)

    # --- the patient's own page of apps with access -----------------------------------------------------------

    def _grants_listing(patient_id: str) -> list[tuple[str, str, str]]:
        return [(g.id, g.client_name, g.access.text) for g in grants.grants_of(patient_id)]

    async def manage(request: Request) -> Response:
        if request.method == "GET":
            return _html(manage_login_page())
        try:
            form = await _form(request)
        except OAuthError as exc:
            return _html(error_page("Something went wrong", exc.description), 400)
        account = state.login(str(form.get("username") or ""), str(form.get("password") or ""))
        if account is None:
            return _html(manage_login_page(error="That username and password do not match."), 401)
        session = secrets.token_urlsafe(24)
        now = time.monotonic()
        for key in [k for k, (_, t) in manage_sessions.items() if now - t > _MANAGE_LIFETIME]:
            del manage_sessions[key]
        manage_sessions[session] = (account.patient_id, now)
        return _html(manage_page(session, account.full_name, _grants_listing(account.patient_id)))

    async def manage_revoke(request: Request) -> Response:
        try:
            form = await _form(request)
        except OAuthError as exc:
            return _html(error_page("Something went wrong", exc.description), 400)
        entry = manage_sessions.get(str(form.get("session") or ""))
        if entry is None or time.monotonic() - entry[1] > _MANAGE_LIFETIME:
            return _html(error_page("Signed out", "Sign in again to manage app access."), 400)
        grant = grants.grants.get(str(form.get("grant") or ""))
        if grant is None or grant.patient_id != entry[0]:
            return _html(error_page("Not found", "There is no such app access."), 404)
        grants.revoke_grant(grant.id)
        return _html(message_page("Access revoked", f"{grant.client_name} can no longer read your record."))

    async def jwks(request: Request) -> Response:
        return JSONResponse(state.key.jwks(), headers={"Cache-Control": "public, max-age=300"})

    return [
        Route("/auth/authorize", authorize, methods=["GET", "POST"]),
        Route("/auth/login", login, methods=["POST"]),
        Route("/auth/consent", consent, methods=["GET", "POST"]),
        Route("/auth/token", token, methods=["POST"]),
        Route("/auth/register", register, methods=["POST"]),
        Route("/auth/revoke", revoke, methods=["POST"]),
        Route("/auth/introspect", introspect, methods=["POST"]),
        Route("/auth/manage", manage, methods=["GET", "POST"]),
        Route("/auth/manage/revoke", manage_revoke, methods=["POST"]),
        Route("/auth/jwks", jwks, methods=["GET"]),
    ]
