"""Errors of connecting to a portal. Each message is one plain sentence; none holds a token, code or verifier."""

from __future__ import annotations

from ..errors import CarryError

__all__ = [
    "AuthorizationDenied",
    "AuthorizationError",
    "AuthorizationTimeout",
    "ClientNotConfigured",
    "DiscoveryError",
    "IdTokenInvalid",
    "NeedsReconnect",
    "SmartError",
    "StateMismatch",
    "TokenError",
]


class SmartError(CarryError):
    """Base of every error raised by sync.smart."""


class DiscoveryError(SmartError):
    """The server's SMART configuration could not be found or is not usable."""


class ClientNotConfigured(SmartError):
    """No client id is known for this portal; the message says where to register one."""


class AuthorizationError(SmartError):
    """The portal answered the authorization request with an OAuth error."""

    def __init__(self, message: str, *, code: str = "error") -> None:
        super().__init__(message)
        self.code = code


class AuthorizationDenied(AuthorizationError):
    """The patient (or the portal on their behalf) said no: `access_denied`."""


class StateMismatch(AuthorizationError):
    """The callback's `state` is not the one Carry sent, or it was already used or has expired."""


class AuthorizationTimeout(AuthorizationError):
    """Nobody came back from the portal's login page in time."""


class TokenError(SmartError):
    """The token endpoint refused the code or the client (invalid_client, invalid_grant, ...)."""

    def __init__(self, message: str, *, code: str = "error") -> None:
        super().__init__(message)
        self.code = code


class NeedsReconnect(SmartError):
    """The portal no longer accepts the refresh token (or never gave one): the patient must connect again."""


class IdTokenInvalid(SmartError):
    """The id_token the portal returned does not verify."""
