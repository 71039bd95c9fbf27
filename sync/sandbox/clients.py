"""The OAuth clients the sandbox knows, and how a redirect_uri is matched against a registration.

Redirect URIs match exactly, with one exception from RFC 8252 §7.3: a registered loopback URI
(`http://127.0.0.1/path` or `http://[::1]/path`) matches the same URI with any port, because a native app binds
an ephemeral port at run time. `localhost` gets no such allowance (RFC 8252 §8.3 advises against it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import SandboxError

__all__ = [
    "DEMO_CLIENT",
    "DEMO_CLIENT_ID",
    "DEMO_REDIRECT_URI",
    "ClientRegistration",
    "load_clients",
    "redirect_matches",
]

DEMO_CLIENT_ID = "carry-demo"
DEMO_REDIRECT_URI = "http://127.0.0.1/oauth/callback"
_LOOPBACK_HOSTS = ("127.0.0.1", "[::1]")


@dataclass(frozen=True, slots=True)
class ClientRegistration:
    """One registered app: public (no secret, no keys), confidential with a secret (client_secret_basic), or
    confidential with registered public keys (private_key_jwt, SMART's asymmetric client authentication)."""

    client_id: str
    redirect_uris: tuple[str, ...]
    client_secret: str | None = field(default=None, repr=False)
    name: str = ""
    jwks: dict[str, Any] | None = None
    # A client an app registered for one device (RFC 7591, /auth/register): it exists for the grant whose access
    # token registered it, and gets tokens only with the JWT bearer grant.
    grant_id: str | None = None

    @property
    def public(self) -> bool:
        return self.client_secret is None and self.jwks is None

    @property
    def display_name(self) -> str:
        return self.name or self.client_id


DEMO_CLIENT = ClientRegistration(DEMO_CLIENT_ID, (DEMO_REDIRECT_URI,), None, "Carry (demo client)")


def redirect_matches(registered: Sequence[str], requested: str) -> bool:
    if requested in registered:
        return True
    try:
        asked = urlsplit(requested)
        asked_port = asked.port
    except ValueError:
        return False
    if asked.scheme != "http" or asked.fragment or asked_port is None:
        return False
    asked_host = asked.netloc.rsplit(":", 1)[0]
    if asked_host not in _LOOPBACK_HOSTS:
        return False
    for uri in registered:
        reg = urlsplit(uri)
        reg_host = reg.netloc.rsplit(":", 1)[0] if reg.port is not None else reg.netloc
        if (
            reg.scheme == "http"
            and reg_host == asked_host
            and (reg.path or "/") == (asked.path or "/")
            and reg.query == asked.query
        ):
            return True
    return False


def load_clients(path: Path | str) -> list[ClientRegistration]:
    """Read client registrations from a JSON file: `{"clients": [{"client_id", "redirect_uris", "client_secret"?,
    "jwks"?, "name"?}]}` or the bare list."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SandboxError(f"Cannot read the client file {path}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise SandboxError(f"The client file {path} is not valid JSON.") from exc
    items = data.get("clients") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise SandboxError(f"The client file {path} must hold a list of clients.")
    clients = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise SandboxError(f"Client {number} in {path} is not a JSON object.")
        client_id = item.get("client_id")
        uris = item.get("redirect_uris")
        secret = item.get("client_secret")
        name = item.get("name", "")
        if not isinstance(client_id, str) or not client_id:
            raise SandboxError(f"Client {number} in {path} has no client_id.")
        if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and u for u in uris):
            raise SandboxError(f"Client {client_id!r} in {path} needs a non-empty list of redirect_uris.")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise SandboxError(f"Client {client_id!r} in {path} has a client_secret that is not a string.")
        jwks = item.get("jwks")
        if jwks is not None and not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list) and jwks["keys"]):
            raise SandboxError(f"Client {client_id!r} in {path} has a jwks that is not a JWK Set with keys.")
        if jwks is not None and secret is not None:
            raise SandboxError(f"Client {client_id!r} in {path} has both a client_secret and a jwks; choose one.")
        clients.append(
            ClientRegistration(client_id, tuple(uris), secret, name if isinstance(name, str) else "", jwks)
        )
    return clients
