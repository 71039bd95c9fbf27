"""The local app server: the Flet web UI (offline, no CDN), the OAuth callback, and the guards around them.

    carry / carry serve [--host 127.0.0.1] [--port 8550]

Routes (all on one origin):
    GET  /oauth/callback      a portal's sign-in returns here; the query goes to the UI session that began it
    GET  /attachment/{token}  a decrypted PDF the patient asked to open (in memory, five minutes, unguessable)
    PUT  /upload/{token}      a file the patient picked to import, once per address (app/ui/uploads.py: 0600,
                              bounded, deleted right after the import)
    GET  /login, POST /login  the login page, only when serving beyond this machine (see LoginConfig)
    GET  /logout, POST /logout  end this browser's login (the cookie is refused from then on)
    /shl/...                  the SMART Health Link host (sync/share/host/routes.py): no login, no Origin check, since a
                              doctor's viewer calls it cross-site; the only routes a self-hoster exposes
    /ws                       the Flet WebSocket
    /                         the Flet web client (index.html, CanvasKit/skwasm served locally)

Guards, in front of everything:
    - Host: only the names it was started on are answered (DNS rebinding): on loopback 127.0.0.1 / localhost /
      [::1] with our port; beyond it also the address given to --host (for 0.0.0.0, this machine's names and
      addresses: started_addresses) and the `allowed_hosts` of server.json.
    - Origin: the WebSocket and every state-changing request must come from this origin (cross-site pages
      cannot drive the UI; Flet itself does not check).
    - Login: serving on a non-loopback address needs a login configured in server.json; without one the
      server refuses to start. A signed, HttpOnly, SameSite=Strict cookie (itsdangerous, with a random nonce, so
      no two logins share one) then gates every route but /login. Tries are limited per client and in total
      (app/login_throttle.py); the password hash runs on a worker thread, never on the event loop.
    - Bodies: /login reads at most 16 KiB, refused while streaming (sync/bounded_body.py).
    - Headers on every response: a Content-Security-Policy with frame-ancestors 'none' (and X-Frame-Options),
      X-Content-Type-Options nosniff, Referrer-Policy same-origin; Flet's `Access-Control-Allow-Origin: *` is
      removed outside /shl; FastAPI's /docs and /openapi.json do not exist.

This is the one module that imports starlette, uvicorn and flet_web.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import ipaddress
import json
import os
import secrets
import socket
import sys
import threading
import time
import webbrowser
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sync.atomic import write_atomic
from sync.bounded_body import BodyTooLarge, read_form
from sync.errors import CarryError
from sync.passwords import check_secret, hash_secret

from .errors import ui_message
from .locations import config_dir, record_path
from .login_throttle import LoginThrottle
from .ui.context import AppContext

__all__ = [
    "LoginConfig",
    "LoginSessions",
    "SECURITY_HEADERS",
    "SHARE_MOUNT",
    "ServerError",
    "build_app",
    "load_login",
    "run_desktop",
    "save_login",
    "serve",
    "started_addresses",
]

SHARE_MOUNT = "/shl"  # sync/share/host/routes.py's ASGI app goes here: build_app(..., share_app=...)
_PURGE_SECONDS = 3600
SERVER_CONFIG = "server.json"
_COOKIE = "carry_login"
_COOKIE_DAYS = 7
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_MAX_LOGIN_BODY = 16 * 1024
_API_DOCS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
# The Flet web client runs inline bootstrap scripts and compiles CanvasKit (WebAssembly), and its Flutter engine
# sets inline styles; everything else comes from this origin. No page may frame Carry (clickjacking).
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", _CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on form posts, which the
    # Origin guard (rightly) refuses; other sites still learn nothing of Carry's addresses.
    (b"referrer-policy", b"same-origin"),
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServerError(CarryError):
    """The app server cannot start as asked."""

    code = "server.error"
    default_message = "The app server cannot start as asked."


# --- login configuration ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginConfig:
    """A login for serving beyond this machine, kept in <config dir>/server.json (the password only as scrypt)."""

    username: str
    password_hash: str  # "scrypt$n$r$p$salt_b64$hash_b64"
    secret: str  # signs the login cookie
    allowed_hosts: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"LoginConfig(username={self.username!r})"

    def check(self, username: str, password: str) -> bool:
        same_user = hmac.compare_digest(username.encode(), self.username.encode())
        return check_secret(password, self.password_hash) and same_user


def _config_file() -> Path:
    return config_dir() / SERVER_CONFIG


def load_login() -> LoginConfig | None:
    path = _config_file()
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
        login = data["login"]
        return LoginConfig(
            str(login["username"]),
            str(login["password_hash"]),
            str(data["secret"]),
            tuple(str(h) for h in data.get("allowed_hosts", [])),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ServerError(f"{path} cannot be read as Carry's server settings ({exc}); fix or delete it.") from None


def save_login(username: str, password: str, allowed_hosts: tuple[str, ...] = ()) -> Path:
    if not username.strip() or len(password) < 10:
        raise ServerError("Choose a user name and a password of at least 10 characters for the login.")
    path = _config_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {
        "login": {"username": username.strip(), "password_hash": hash_secret(password)},
        "secret": secrets.token_urlsafe(32),
        "allowed_hosts": list(allowed_hosts),
    }
    write_atomic(path, json.dumps(data, indent=2).encode())
    return path


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --- the guards ------------------------------------------------------------------------------------------------


def _with_port(host: str, port: int) -> str:
    """'carry.home' -> 'carry.home:8550'; 'carry.home:443' and '[fd00::1]:8550' stay as they are."""
    tail = host.rsplit("]", 1)[-1]
    return host if ":" in tail else f"{host}:{port}"


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def _refuse(scope: Scope, send: Send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        # Refusing before accept() makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class LoginSessions:
    """The login cookies of one server: signed with the secret of server.json (itsdangerous), each holding a random
    nonce, so a cookie is never predictable from the user name and time; a logged-out cookie is refused from then
    on, even though its signature is still good."""

    def __init__(self, login: LoginConfig) -> None:
        from itsdangerous import URLSafeTimedSerializer

        self.login = login
        self._signer = URLSafeTimedSerializer(login.secret, salt="carry-login")
        self._ended: dict[str, float] = {}  # nonce -> when its cookie would have expired anyway
        self._lock = threading.Lock()

    def make(self) -> str:
        return str(self._signer.dumps({"u": self.login.username, "n": secrets.token_urlsafe(16)}))

    def _nonce(self, value: str) -> str | None:
        from itsdangerous import BadData

        try:
            data = self._signer.loads(value, max_age=_COOKIE_DAYS * 86400)
        except BadData:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str) or not isinstance(data.get("u"), str):
            return None
        if not hmac.compare_digest(data["u"].encode(), self.login.username.encode()):
            return None
        return str(data["n"])

    def valid(self, value: str) -> bool:
        nonce = self._nonce(value)
        with self._lock:
            return nonce is not None and nonce not in self._ended

    def end(self, value: str) -> None:
        nonce = self._nonce(value)
        if nonce is None:
            return
        with self._lock:
            now = time.time()
            self._ended = {n: t for n, t in self._ended.items() if t > now}
            self._ended[nonce] = now + _COOKIE_DAYS * 86400


def _cookie(cookie_header: str) -> str | None:
    for part in cookie_header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == _COOKIE:
            return value
    return None


def _securing(send: Send, shared: bool) -> Send:
    """`send`, with the security headers added to a response that has none of its own, and Flet's blanket
    `Access-Control-Allow-Origin: *` dropped outside the share routes (which are cross-origin by design)."""

    async def secured(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", [])
                       if shared or k.lower() != b"access-control-allow-origin"]  # fmt: skip
            present = {k.lower() for k, _ in headers}
            headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
            message = {**message, "headers": headers}
        await send(message)

    return secured


class Guard:
    """Host, Origin and login checks in front of the whole app (pure ASGI, so it covers the WebSocket too), and
    the security headers on every response."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        port: int,
        loopback: bool,
        login: LoginConfig | None,
        addresses: Sequence[str] = (),
        sessions: LoginSessions | None = None,
    ) -> None:
        self.app = app
        self.port = port
        self.loopback = loopback
        self.login = login
        self.sessions = sessions if sessions is not None or login is None else LoginSessions(login)
        hosts = {f"{name}:{port}" for name in _LOOPBACK_NAMES}
        if not loopback:
            hosts.update(_with_port(_host_name(address), port) for address in addresses)
        if login is not None:
            hosts.update(_with_port(extra, port) for extra in login.allowed_hosts)
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        # The share routes are called cross-origin by design (a doctor's SMART Health Link viewer); they carry
        # their own checks (sync/share/host/routes.py). Everything else must come from Carry's own page.
        shared = path == SHARE_MOUNT or path.startswith(SHARE_MOUNT + "/")
        if scope["type"] == "http":
            send = _securing(send, shared)
        headers = _headers(scope)
        host = headers.get("host", "")
        if host not in self.hosts:
            await _refuse(scope, send, 421, "Carry answers only at 127.0.0.1 or localhost." if self.loopback else
                          "Carry answers only at the addresses it was started on; to use another name, run "
                          "`carry serve --set-login --allow-host NAME`.")  # fmt: skip
            return
        method = scope.get("method", "GET")
        needs_origin = not shared and (scope["type"] == "websocket" or method not in ("GET", "HEAD", "OPTIONS"))
        if needs_origin and not self._same_origin(headers.get("origin"), host):
            await _refuse(scope, send, 403, "Refused: this request did not come from Carry's own page.")
            return
        if self.sessions is not None and path not in ("/login", "/favicon.png") and not shared:
            value = _cookie(headers.get("cookie", ""))
            if value is None or not self.sessions.valid(value):
                if scope["type"] == "http" and method in ("GET", "HEAD"):
                    await _redirect(send, "/login")
                else:
                    await _refuse(scope, send, 401, "Log in first.")
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _same_origin(origin: str | None, host: str) -> bool:
        if not origin or not host:
            return False
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc == host


def _host_name(address: str) -> str:
    """An address as it appears in a Host header: IPv6 literals in brackets."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def started_addresses(host: str) -> tuple[str, ...]:
    """The names a server bound to `host` may be reached at: `host` itself, or for a wildcard (0.0.0.0, ::) this
    machine's name and the addresses it resolves to."""
    if host not in ("0.0.0.0", "::", ""):
        return (host,)
    names = {socket.gethostname(), socket.getfqdn()}
    for name in list(names):
        try:
            names.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
        except OSError:
            continue
    # The address of the interface other machines most likely reach: connecting a UDP socket only picks a route,
    # it sends nothing.
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as udp:
                udp.connect((probe, 9))
                names.add(str(udp.getsockname()[0]))
        except OSError:
            continue
    return tuple(sorted(n for n in names if n))


async def _redirect(send: Send, location: str, cookie: str | None = None) -> None:
    headers = [(b"location", location.encode()), (b"content-length", b"0")]
    if cookie:
        headers.append((b"set-cookie", cookie.encode()))
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


# --- pages -----------------------------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f5f7f6; color: #1f2a2e;
       margin: 0; display: flex; min-height: 100vh; align-items: center; justify-content: center; }}
main {{ background: #fff; border-radius: 16px; padding: 32px; max-width: 420px; width: calc(100% - 48px);
        box-shadow: 0 1px 3px rgba(0,0,0,.08); }}
h1 {{ font-size: 1.4rem; margin: 0 0 12px; }} p {{ line-height: 1.5; }}
label {{ display: block; margin: 12px 0 4px; }} input {{ width: 100%; padding: 10px; font-size: 1rem;
        box-sizing: border-box; border: 1px solid #b8c4c2; border-radius: 8px; }}
button, a.button {{ margin-top: 20px; background: #2b6f6b; color: #fff; border: 0; border-radius: 20px;
        padding: 10px 22px; font-size: 1rem; text-decoration: none; display: inline-block; cursor: pointer; }}
.error {{ color: #a4262c; }}
</style></head><body><main>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> Any:
    from starlette.responses import HTMLResponse

    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


def _callback_page(ok: bool, message: str) -> Any:
    heading = "You can close this tab" if ok else "Sign-in not completed"
    body = (
        f"<h1>{heading}</h1><p{' class=error' if not ok else ''}>{html.escape(message)}</p>"
        '<p><a class="button" href="/">Back to Carry</a></p>'
        # Tabs a script opened may close themselves; others simply stay, with the message above.
        + ("<script>setTimeout(function(){ window.close(); }, 1500);</script>" if ok else "")
    )
    return _page("Carry: " + heading, body, 200 if ok else 400)


def _routes(context: AppContext, sessions: LoginSessions | None) -> list[Any]:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def oauth_callback(request: Request) -> Any:
        params = {k: v for k, v in request.query_params.items()}
        if "state" not in params:
            return _callback_page(False, "This address is for a portal's sign-in to return to Carry; it needs a state.")
        try:
            handled, message = await context.callbacks.deliver(params)
        except CarryError as exc:
            return _callback_page(False, ui_message(exc) or exc.message)
        return _callback_page(handled, message)

    async def attachment(request: Request) -> Any:
        found = context.links.take_file(request.path_params["token"])
        if found is None:
            return _page("Carry", "<h1>This link has expired</h1><p>Open the document again from Carry.</p>", 404)
        data, content_type, filename = found
        # A download the patient asked for keeps a name they recognise (not the random token of its address).
        disposition = f'attachment; filename="{filename}"' if filename else "inline"
        return Response(
            data,
            media_type=content_type,
            headers={"Cache-Control": "no-store", "Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
        )

    async def upload(request: Request) -> Any:
        status = await context.uploads.receive(
            request.path_params["token"], request.headers.get("content-length"), request.stream()
        )
        return Response(status_code=status, headers={"Cache-Control": "no-store"})

    throttle = LoginThrottle()
    hashing = asyncio.Semaphore(2)  # at most two scrypt runs at once: a flood cannot take every worker thread

    async def login_page(request: Request) -> Any:
        if sessions is None:
            return _page("Carry", "<h1>No login needed</h1><p>This Carry serves only this computer.</p>", 404)
        error = ""
        status = 200
        headers: dict[str, str] = {}
        if request.method == "POST":
            try:
                form = await read_form(request, _MAX_LOGIN_BODY)
            except BodyTooLarge:
                return _page("Carry", "<h1>Too large</h1><p>That login form was too large.</p>", 413)
            user, password = (value if isinstance(value := form.get(k), str) else "" for k in ("username", "password"))
            client = request.client.host if request.client else ""
            wait = throttle.begin(client)
            if wait:
                error = f"Too many tries. Wait {int(wait)} seconds, then try again."
                status, headers = 429, {"Retry-After": str(int(wait))}
            else:
                async with hashing:
                    ok = await asyncio.to_thread(sessions.login.check, user, password)
                if ok:
                    throttle.succeeded(client)
                    cookie = f"{_COOKIE}={sessions.make()}; Path=/; HttpOnly; SameSite=Strict; Max-Age={_COOKIE_DAYS * 86400}"
                    if request.url.scheme == "https":
                        cookie += "; Secure"
                    return Response(status_code=303, headers={"location": "/", "set-cookie": cookie})
                error, status = "That user name and password do not match.", 401
        body = (
            "<h1>Log in to Carry</h1><p>This Carry is shared on your network. Log in to reach the unlock screen.</p>"
            + (f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "")
            + '<form method="post" action="/login"><label for="u">User name</label>'
            '<input id="u" name="username" autocomplete="username" required>'
            '<label for="p">Password</label><input id="p" name="password" type="password" '
            'autocomplete="current-password" required><button type="submit">Log in</button></form>'
        )
        page = _page("Log in to Carry", body, status)
        page.headers.update(headers)
        return page

    async def logout(request: Request) -> Any:
        if sessions is None:
            return _page("Carry", "<h1>No login needed</h1><p>This Carry serves only this computer.</p>", 404)
        if request.method == "GET":
            body = ('<h1>Log out of Carry</h1><p>This browser will need the user name and password again.</p>'
                    '<form method="post" action="/logout"><button type="submit">Log out</button></form>')
            return _page("Log out of Carry", body)
        value = _cookie(request.headers.get("cookie", ""))
        if value is not None:
            sessions.end(value)
        gone = f"{_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        return Response(status_code=303, headers={"location": "/login", "set-cookie": gone})

    return [
        Route("/oauth/callback", oauth_callback, methods=["GET"]),
        Route("/attachment/{token}", attachment, methods=["GET"]),
        Route("/upload/{token}", upload, methods=["PUT"]),
        Route("/login", login_page, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["GET", "POST"]),
    ]


# --- the app ---------------------------------------------------------------------------------------------------


def build_app(
    context: AppContext,
    *,
    port: int,
    loopback: bool = True,
    login: LoginConfig | None = None,
    share_app: ASGIApp | None = None,
    addresses: Sequence[str] = (),
) -> ASGIApp:
    """The whole ASGI app: guards, Carry's routes, the share mount point, then the Flet web client."""
    import flet_web.fastapi as flet_fastapi

    from .ui import make_main
    from .web_client import client_dir

    if not loopback and login is None:
        raise ServerError("Serving beyond this computer needs a login first: run `carry serve --set-login`.")
    flet_app = flet_fastapi.app(
        make_main(context),
        no_cdn=True,
        assets_dir=str(client_dir()),
        app_name="Carry",
        app_short_name="Carry",
        app_description="Your health record, encrypted on your own device.",
        session_timeout_seconds=60,
    )
    # flet_web's own FastAPI app keeps FastAPI's API documentation routes; Carry publishes no API.
    flet_app.router.routes = [r for r in flet_app.router.routes if getattr(r, "path", None) not in _API_DOCS]
    startup: list[Callable[[], Awaitable[None]]] = []
    if share_app is None and context.share is not None:
        share_app = context.share.asgi()
        startup.append(_purging(context.share))
    outer = flet_fastapi.FastAPI(
        docs_url=None, redoc_url=None, openapi_url=None, on_startup=startup, on_shutdown=[context.shutdown]
    )
    sessions = LoginSessions(login) if login is not None else None
    for route in _routes(context, sessions):
        outer.router.routes.append(route)
    if share_app is not None:
        outer.mount(SHARE_MOUNT, share_app)
    outer.mount("/", flet_app)
    return Guard(outer, port=port, loopback=loopback, login=login, addresses=addresses, sessions=sessions)


def _purging(host: Any) -> Callable[[], Awaitable[None]]:
    """Drop used file addresses and the ciphertext of dead links now, then every hour while the server runs."""

    async def start() -> None:
        async def loop() -> None:
            while True:
                try:
                    await asyncio.to_thread(host.purge)
                except CarryError:
                    pass  # the store may be busy; the next round catches up
                await asyncio.sleep(_PURGE_SECONDS)

        _background.add(asyncio.get_running_loop().create_task(loop()))

    return start


_background: set[asyncio.Task[None]] = set()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (98, 48, 10048):
            raise ServerError(
                f"Port {port} on {host} is already in use (is Carry already running?). Try --port {port + 1}."
            ) from None
        raise ServerError(f"Cannot listen on {host}:{port} ({exc.strerror}).") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _can_open_browser() -> bool:
    if os.environ.get("CARRY_NO_BROWSER"):
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def serve(host: str = "127.0.0.1", port: int = 8550, *, open_browser: bool = True, record: str | None = None) -> None:
    """Run the app server in the foreground until interrupted."""
    import uvicorn

    loopback = _is_loopback(host)
    login = None if loopback else load_login()
    if not loopback and login is None:
        raise ServerError(
            f"Serving on {host} lets other computers reach Carry, so it needs a login first: "
            "run `carry serve --set-login`, then start it again."
        )
    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown_host if ':' not in shown_host else f'[{shown_host}]'}:{actual_port}"
    from .shares import ShareHost

    context = AppContext(record_path=record_path(record), public_url=url, share=ShareHost.open(url),
                         login=login is not None)
    app = build_app(context, port=actual_port, loopback=loopback, login=login, addresses=started_addresses(host))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", ws_ping_interval=20, ws_ping_timeout=20)
    server = uvicorn.Server(config)
    print(f"Carry is running at {url}  (press Ctrl+C to stop)", flush=True)
    print(f"Shared links point at {context.share.public_base}", flush=True)
    reach = context.share.reach_warning()  # said here too, not only when a link is made
    if reach:
        from sync.share import REACH_CLI_HINT

        print(f"{reach} {REACH_CLI_HINT}", flush=True)
    if not loopback:
        print("Other computers on your network can reach it; they will see the login page first.", flush=True)
    if open_browser and _can_open_browser():
        threading.Timer(0.8, lambda: webbrowser.open(url)).start()
    server.run(sockets=[sock])


def run_desktop(record: str | None = None) -> None:
    """`carry desktop`: the same UI in a native Flet window. Portal sign-ins return to Carry's loopback receiver
    (RFC 8252, sync.smart.loopback) on 127.0.0.1, on a loop of its own, which hands each to the session that began it."""
    import flet as ft

    from sync.smart import LoopbackListener

    from .ui import make_main

    contexts: list[AppContext] = []  # the context needs the listener's port; callbacks come only once it exists
    listener = LoopbackListener(deliver=lambda params: contexts[0].callbacks.deliver(params))
    loop = asyncio.new_event_loop()
    loop.run_until_complete(listener.__aenter__())
    contexts.append(AppContext(record_path=record_path(record), public_url=f"http://127.0.0.1:{listener.port}", web=False))
    thread = threading.Thread(target=loop.run_forever, name="carry-callback", daemon=True)
    thread.start()
    try:
        ft.run(make_main(contexts[0]), view=ft.AppView.FLET_APP)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.run_until_complete(listener.__aexit__(None, None, None))
        loop.close()
        contexts[0].shutdown()
