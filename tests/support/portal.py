"""A scripted browser for the sandbox portal: log in and consent as a patient would, with httpx.

    location = log_in(authorize_url, "elvina", "elvina-demo")          # -> redirect_uri?code=...&state=...
    location = log_in(authorize_url, "elvina", "elvina-demo", approve=False)   # -> ...?error=access_denied&state=...
    location = log_in(url, user, password, scopes=["launch/patient", "patient/Observation.rs"])  # narrow the grant

It behaves like a browser: it keeps the portal's cookies, reads each HTML form it is shown and submits it with its
hidden fields, and follows redirects only while they stay on the portal. The first redirect that leaves the portal
(to the app's redirect_uri) is returned, not followed. `log_in_async` does the same with an AsyncClient, for tests
whose portal runs on their own event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx

if TYPE_CHECKING:
    from app.portals import Portals
    from app.record.portal_state import Connection
    from sync.sandbox import SandboxServer

__all__ = ["LoginFailed", "connect_sandbox", "log_in", "log_in_async"]

_TIMEOUT = httpx.Timeout(10.0)
_MAX_STEPS = 10


class LoginFailed(AssertionError):
    """The portal did not get as far as sending the browser back to the app (bad password, expired page, ...)."""


@dataclass
class _Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # hidden and text inputs, in order
    checkboxes: list[tuple[str, str, bool]] = field(default_factory=list)  # name, value, checked
    buttons: list[tuple[str, str]] = field(default_factory=list)  # name, value of submit buttons
    has_password: bool = False


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(_Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            name = a.get("name", "")
            if kind == "checkbox":
                self.forms[-1].checkboxes.append((name, a.get("value", "on"), "checked" in a))
            elif kind == "submit":
                self.forms[-1].buttons.append((name, a.get("value", "")))
            elif name:
                if kind == "password":
                    self.forms[-1].has_password = True
                self.forms[-1].fields.append((name, a.get("value", "")))
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self.forms[-1].buttons.append((a.get("name", ""), a.get("value", "")))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def _encode(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


def _fill(form: _Form, username: str, password: str, approve: bool, scopes: Sequence[str] | None) -> list[tuple[str, str]]:
    data: list[tuple[str, str]] = []
    for name, value in form.fields:
        if name == "username":
            value = username
        elif name == "password":
            value = password
        data.append((name, value))
    if form.has_password:
        return data
    offered = [value for _, value, _ in form.checkboxes]
    if scopes is not None:
        missing = [s for s in scopes if s not in offered]
        if missing:
            raise LoginFailed(f"the consent page does not offer {missing}; it offers {offered}")
        data += [(name, value) for name, value, _ in form.checkboxes if value in scopes]
    else:
        data += [(name, value) for name, value, checked in form.checkboxes if checked]
    wanted = "approve" if approve else "deny"
    button = next(((n, v) for n, v in form.buttons if v == wanted), None)
    if button is None:
        raise LoginFailed(f"the consent page has no {wanted} button")
    data.append(button)
    return data


class _Step:
    """One browser step: decides what to do with a response. Shared by the sync and async drivers."""

    def __init__(self, start: str, username: str, password: str, approve: bool, scopes: Sequence[str] | None) -> None:
        self.start = start
        self.username = username
        self.password = password
        self.approve = approve
        self.scopes = scopes
        self.logged_in = False

    def next(self, response: httpx.Response) -> tuple[str, str, list[tuple[str, str]] | None] | str:
        """(method, url, form data) for the next request, or the final Location as a str."""
        url = str(response.url)
        if response.is_redirect:
            location = urljoin(url, response.headers["location"])
            if not _same_origin(location, self.start):
                return location
            return ("GET", location, None)
        parser = _Forms()
        parser.feed(response.text)
        page_text = " ".join(parser.text)
        if not parser.forms:
            raise LoginFailed(f"the portal answered {response.status_code} without a form: {page_text[:300]}")
        form = parser.forms[0]
        if form.has_password and self.logged_in:
            raise LoginFailed(f"the portal refused the login ({response.status_code}): {page_text[:300]}")
        if form.has_password:
            self.logged_in = True
        if form.method != "post":
            raise LoginFailed("the portal's form is not a POST form")
        return ("POST", urljoin(url, form.action), _fill(form, self.username, self.password, self.approve, self.scopes))


def log_in(
    authorize_url: str,
    username: str,
    password: str,
    *,
    approve: bool = True,
    scopes: Sequence[str] | None = None,
) -> str:
    """Open the authorize URL, sign in, answer the consent page; return the Location the portal sends the browser
    to (the redirect_uri with code and state, or with error and state) without following it."""
    step = _Step(authorize_url, username, password, approve, scopes)
    with httpx.Client(timeout=_TIMEOUT, follow_redirects=False) as client:
        response = client.get(authorize_url)
        for _ in range(_MAX_STEPS):
            action = step.next(response)
            if isinstance(action, str):
                return action
            method, url, data = action
            response = client.request(method, url, data=_encode(data)) if data is not None else client.get(url)
    raise LoginFailed("the portal kept the browser busy for too many steps")


async def log_in_async(
    authorize_url: str,
    username: str,
    password: str,
    *,
    approve: bool = True,
    scopes: Sequence[str] | None = None,
) -> str:
    """log_in with an AsyncClient."""
    step = _Step(authorize_url, username, password, approve, scopes)
    async with httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False) as client:
        response = await client.get(authorize_url)
        for _ in range(_MAX_STEPS):
            action = step.next(response)
            if isinstance(action, str):
                return action
            method, url, data = action
            response = await (client.request(method, url, data=_encode(data)) if data is not None else client.get(url))
    raise LoginFailed("the portal kept the browser busy for too many steps")


async def connect_sandbox(portals: Portals, sandbox: SandboxServer, redirect_uri: str) -> Connection:
    """Connect the sandbox's first demo patient through `portals`, logging in as the patient would."""
    login = sandbox.logins[0]
    pending = await portals.begin_connect(sandbox.base_url, redirect_uri)
    location = await log_in_async(pending.authorize_url, login.username, login.password)
    return await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))


READ_SCOPES = ["launch/patient", "openid", "fhirUser", "offline_access", "patient/*.rs"]


async def connect_elvina(portals: Any, sandbox: Any, scopes: list[str]) -> Any:
    """Connect the sandbox portal as its patient Elvina, granting `scopes` (the write-back tests' portal)."""
    login = next(x for x in sandbox.logins if x.username == "elvina")
    pending = await portals.begin_connect(sandbox.base_url, "http://127.0.0.1:8123/oauth/callback", scopes=scopes)
    location = await log_in_async(pending.authorize_url, login.username, login.password, scopes=scopes)
    return await portals.complete_connect(pending, dict(parse_qsl(urlsplit(location).query)))
