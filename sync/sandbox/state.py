"""What every endpoint of the sandbox shares: data, accounts, clients, grants, faults, the signing key."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.requests import Request

from .clients import ClientRegistration
from .faults import Faults
from .grants import Grants
from .keys import SigningKey
from .store import Login, SandboxStore

__all__ = ["FHIR_PATH", "PortalState", "fhir_base", "origin_url"]

FHIR_PATH = "/fhir"


@dataclass(eq=False)
class PortalState:
    store: SandboxStore
    logins: list[Login]
    clients: dict[str, ClientRegistration]
    faults: Faults
    access_token_lifetime: int
    show_logins: bool
    code_lifetime: float = 60.0
    latency: float = 0.0  # seconds every FHIR data request waits before it is answered
    registration: bool = False  # offer dynamic client registration and the JWT bearer grant
    grants: Grants = field(default_factory=Grants)
    key: SigningKey = field(default_factory=SigningKey)
    # jti of every client assertion accepted, with its expiry: a replayed assertion is refused.
    used_assertions: dict[str, float] = field(default_factory=dict)

    def login(self, username: str, password: str) -> Login | None:
        found = None
        for login in self.logins:
            # Compare every account, in constant time, so timing does not tell which usernames exist.
            same_user = secrets.compare_digest(login.username.encode(), username.strip().lower().encode())
            same_password = secrets.compare_digest(login.password.encode(), password.encode())
            if same_user and same_password:
                found = login
        return found

    def login_for(self, patient_id: str) -> Login | None:
        return next((login for login in self.logins if login.patient_id == patient_id), None)

    def hints(self) -> Sequence[tuple[str, str, str]]:
        return [(l.full_name, l.username, l.password) for l in self.logins] if self.show_logins else ()


def origin_url(request: Request, path: str) -> str:
    return str(request.base_url).rstrip("/") + path


def fhir_base(request: Request) -> str:
    return origin_url(request, FHIR_PATH)
