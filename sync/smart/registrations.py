"""Client registrations: which client id (and which kind of client authentication) Carry uses at a portal.

They live in `clients.toml` in Carry's config directory (the app passes the path). The file holds no secrets:
a client secret is asked for once and kept in the encrypted record, and private keys are made by Carry and
kept there too. Format (documented in README.md):

    [vendor.epic]                       # applies to every portal the quirk table recognises as Epic
    client_id = "0f7c..."
    auth = "private_key_jwt"            # "none" (public client, the default), "client_secret_basic", "private_key_jwt"
    alg = "ES384"                       # private_key_jwt only: "RS384" or "ES384"
    callback_port = 8123                # the loopback port registered with this client (exact-matching portals)

    [server."https://fhir.example.org/r4"]   # one FHIR base; wins over the vendor table
    client_id = "carry-at-example"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..vendors import vendors as registry
from .errors import ClientNotConfigured, SmartError

__all__ = ["AUTH_METHODS", "DEVICE_AUTH", "ClientCredentials", "ClientSettings", "Registrations", "load_registrations"]

AUTH_METHODS = ("none", "client_secret_basic", "private_key_jwt")
SIGNING_ALGS = ("ES384", "RS384")
# A client Carry registered for this device itself (sync.smart.device): it gets tokens with a signed assertion.
# Never written in clients.toml, so not one of AUTH_METHODS.
DEVICE_AUTH = "jwt-bearer"
FILE_NAME = "clients.toml"


@dataclass(frozen=True)
class ClientSettings:
    client_id: str
    auth_method: str = "none"
    alg: str = "ES384"
    callback_port: int | None = None


@dataclass(frozen=True)
class ClientCredentials:
    """Settings plus the secret material from the record (never shown in a repr)."""

    client_id: str
    auth_method: str = "none"
    alg: str = "ES384"
    client_secret: str | None = field(default=None, repr=False)
    private_jwk: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def settings(self) -> ClientSettings:
        return ClientSettings(self.client_id, self.auth_method, self.alg)


@dataclass(frozen=True)
class Registrations:
    path: Path
    vendors: dict[str, ClientSettings] = field(default_factory=dict)
    servers: dict[str, ClientSettings] = field(default_factory=dict)

    def lookup(self, base_url: str, vendor: str | None) -> ClientSettings | None:
        found = self.servers.get(base_url.rstrip("/"))
        if found is None and vendor:
            found = self.vendors.get(vendor)
        return found


def _settings(where: str, table: Any) -> ClientSettings:
    if not isinstance(table, dict) or not isinstance(table.get("client_id"), str) or not table["client_id"].strip():
        raise SmartError(f"{where} in {FILE_NAME} needs a client_id.")
    auth = table.get("auth", "none")
    if auth not in AUTH_METHODS:
        raise SmartError(f"{where} in {FILE_NAME}: auth must be one of {', '.join(AUTH_METHODS)}, not {auth!r}.")
    alg = table.get("alg", "ES384")
    if alg not in SIGNING_ALGS:
        raise SmartError(f"{where} in {FILE_NAME}: alg must be RS384 or ES384, not {alg!r}.")
    port = table.get("callback_port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535):
        raise SmartError(f"{where} in {FILE_NAME}: callback_port must be a port number (1-65535), not {port!r}.")
    return ClientSettings(table["client_id"].strip(), auth, alg, port)


def load_registrations(path: Path) -> Registrations:
    """Read clients.toml; a missing file means no registrations (the sandbox needs none)."""
    if not path.exists():
        return Registrations(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SmartError(f"{path} cannot be read ({exc}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise SmartError(f"{path} is not valid TOML ({exc}).") from None
    vendors = {name: _settings(f"[vendor.{name}]", t) for name, t in (data.get("vendor") or {}).items()}
    unknown = sorted(set(vendors) - set(registry()))
    if unknown:  # a misspelt key would otherwise never match a portal, silently
        raise SmartError(f"[vendor.{unknown[0]}] in {path} names no vendor Carry knows; use one of: "
                         f"{', '.join(registry())}.")  # fmt: skip
    servers = {
        base.rstrip("/"): _settings(f'[server."{base}"]', t) for base, t in (data.get("server") or {}).items()
    }
    return Registrations(path, vendors, servers)


def missing_client(
    vendor_name: str | None, developer_site: str | None, redirect_uri: str, path: Path, *, vendor_key: str | None = None
) -> ClientNotConfigured:
    who = vendor_name or "this portal's vendor"
    where = f" at {developer_site}" if developer_site else ""
    # The table is keyed by the registry's vendor key ("oracle-health"), which the display name is not.
    table = f"[vendor.{vendor_key}]" if vendor_name and vendor_key else '[server."<FHIR base URL>"]'
    return ClientNotConfigured(
        f"Carry has no client id for {who}. Register Carry as a patient app{where} with the redirect URI "
        f"{redirect_uri}, then put the client id in {path} under {table} as client_id = \"...\" "
        "(or pass --client-id)."
    )
