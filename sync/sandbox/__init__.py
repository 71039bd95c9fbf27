"""The sandbox portal: Carry's built-in demo hospital and the strict SMART on FHIR EHR every test talks to.

A real HTTP server (Starlette under uvicorn) with synthetic patients. It enforces SMART App Launch 2.2 standalone
patient launch (PKCE S256, state, exact redirect URIs with the RFC 8252 loopback rule, aud, consent that the
patient can narrow, refresh-token rotation with replay detection, revocation), serves FHIR R4 JSON limited by the
token's patient and scopes, pages with opaque links, and misbehaves on request (see faults.py).
"""

from __future__ import annotations

from .clients import DEMO_CLIENT_ID, DEMO_REDIRECT_URI, ClientRegistration, load_clients
from .errors import SandboxDataError, SandboxError
from .faults import FAULT_KINDS, Faults
from .server import SandboxServer
from .store import Login, SandboxStore

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_REDIRECT_URI",
    "FAULT_KINDS",
    "ClientRegistration",
    "Faults",
    "Login",
    "SandboxDataError",
    "SandboxError",
    "SandboxServer",
    "SandboxStore",
    "load_clients",
]
