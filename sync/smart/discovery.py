"""SMART discovery: `{base}/.well-known/smart-configuration`, falling back to the CapabilityStatement's oauth-uris.

SMART App Launch 2.2 (conformance.md): the configuration SHALL be JSON, endpoint URLs SHALL be absolute (legacy
servers' relative ones are resolved against the FHIR base), and `code_challenge_methods_supported` SHALL hold S256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..http import HttpClient, NetworkError, is_loopback
from .diagnosis import Diagnosed
from .errors import DiscoveryError

__all__ = ["SmartConfiguration", "discover", "normalise_base"]

_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
_OAUTH_URI_KEYS = {
    "authorize": "authorization_endpoint",
    "token": "token_endpoint",
    "revoke": "revocation_endpoint",
    "manage": "management_endpoint",
    "introspect": "introspection_endpoint",
    "register": "registration_endpoint",
}


@dataclass(frozen=True)
class SmartConfiguration:
    base_url: str
    authorization_endpoint: str
    token_endpoint: str
    capabilities: frozenset[str] = frozenset()
    issuer: str | None = None
    jwks_uri: str | None = None
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    management_endpoint: str | None = None
    registration_endpoint: str | None = None
    scopes_supported: tuple[str, ...] = ()
    code_challenge_methods: tuple[str, ...] = ()
    token_endpoint_auth_methods: tuple[str, ...] = ()
    signing_algs: tuple[str, ...] = ()
    from_capability_statement: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    def to_json(self) -> str:
        return json.dumps(
            {"raw": self.raw, "from_capability_statement": self.from_capability_statement, "base_url": self.base_url}
        )

    @classmethod
    def from_json(cls, text: str) -> SmartConfiguration:
        data = json.loads(text)
        return _build(data["base_url"], data["raw"], from_capability_statement=data["from_capability_statement"])


def normalise_base(base_url: str) -> str:
    """The FHIR base as Carry keys it: no trailing slash, no query; https unless the server is on this machine."""
    base = base_url.strip().split("#")[0].split("?")[0].rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise DiscoveryError(f"{base_url!r} is not a web address; give the portal's FHIR base URL (https://...).")
    if base.startswith("http://") and not is_loopback(base):
        raise DiscoveryError(
            "Carry only connects to portals over https; the address given starts with http://."
        )
    return base


async def discover(http: HttpClient, base_url: str) -> SmartConfiguration:
    base = normalise_base(base_url)
    wellknown = await _get_json(http, f"{base}/.well-known/smart-configuration")
    if isinstance(wellknown, dict) and wellknown.get("token_endpoint"):
        return _build(base, wellknown, from_capability_statement=False)
    statement = await _get_json(http, f"{base}/metadata", accept="application/fhir+json")
    if not isinstance(statement, dict) or statement.get("resourceType") != "CapabilityStatement":
        raise DiscoveryError(
            f"{base} does not look like a FHIR server: it has neither a SMART configuration nor a CapabilityStatement."
        )
    return _build(base, _from_capability_statement(statement), from_capability_statement=True)


async def _get_json(http: HttpClient, url: str, accept: str = "application/json") -> Any:
    try:
        response = await http.get(url, headers={"Accept": accept})
    except NetworkError as exc:
        if exc.kind in ("tls", "dns"):
            raise Diagnosed(exc.kind, host=urlsplit(url).hostname or url) from None
        raise DiscoveryError(str(exc)) from None
    if not response.ok:
        if b"unknown-tenant" in response.content[:20_000].lower():  # Oracle Health's answer for an unknown tenant
            raise Diagnosed("unknown_tenant", base_url=url.split("/.well-known/")[0].removesuffix("/metadata"))
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _from_capability_statement(statement: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for rest in statement.get("rest", []) or []:
        security = rest.get("security") or {}
        for ext in security.get("extension", []) or []:
            if ext.get("url") != _OAUTH_URIS:
                continue
            for sub in ext.get("extension", []) or []:
                key = _OAUTH_URI_KEYS.get(sub.get("url"))
                if key and isinstance(sub.get("valueUri"), str):
                    found[key] = sub["valueUri"]
    if "authorization_endpoint" not in found or "token_endpoint" not in found:
        raise DiscoveryError("The portal does not say where to log in (no SMART configuration, no oauth-uris).")
    # Servers from before SMART 2 did PKCE without saying so; Carry still sends S256 and nothing weaker.
    found.setdefault("code_challenge_methods_supported", ["S256"])
    found.setdefault("capabilities", ["launch-standalone", "client-public", "permission-v1", "context-standalone-patient"])
    return found


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _build(base: str, data: dict[str, Any], *, from_capability_statement: bool) -> SmartConfiguration:
    def url(key: str) -> str | None:
        value = data.get(key)
        return urljoin(base + "/", value) if isinstance(value, str) and value else None

    authorize, token = url("authorization_endpoint"), url("token_endpoint")
    if authorize is None or token is None:
        raise DiscoveryError("The portal's SMART configuration has no authorization or token endpoint.")
    methods = _strings(data.get("code_challenge_methods_supported"))
    if "S256" not in methods:
        raise DiscoveryError("The portal does not offer PKCE with S256, which Carry requires to log in safely.")
    return SmartConfiguration(
        base_url=base,
        authorization_endpoint=authorize,
        token_endpoint=token,
        capabilities=frozenset(_strings(data.get("capabilities"))),
        issuer=data.get("issuer") if isinstance(data.get("issuer"), str) else None,
        jwks_uri=url("jwks_uri"),
        revocation_endpoint=url("revocation_endpoint"),
        introspection_endpoint=url("introspection_endpoint"),
        management_endpoint=url("management_endpoint"),
        registration_endpoint=url("registration_endpoint"),
        scopes_supported=_strings(data.get("scopes_supported")),
        code_challenge_methods=methods,
        token_endpoint_auth_methods=_strings(data.get("token_endpoint_auth_methods_supported")),
        signing_algs=_strings(data.get("token_endpoint_auth_signing_alg_values_supported")),
        from_capability_statement=from_capability_statement,
        raw=data,
    )
