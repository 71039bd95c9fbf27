"""Errors of connecting to a portal. Each message is one plain sentence; none holds a token, code or verifier."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import Action, CarryError

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

    code = "connect.error"
    default_message = "Carry could not connect to the portal; nothing was connected."


class DiscoveryError(SmartError):
    """The server's SMART configuration could not be found or is not usable."""

    code = "connect.discovery"
    default_message = "The portal's SMART configuration could not be found or is not usable."


class ClientNotConfigured(SmartError):
    """No client id is known for this portal; the message says where to register one."""

    code = "connect.no-client"
    default_message = "Carry has no client id for this portal; register Carry as a patient app with it first."


class AuthorizationError(SmartError):
    """The portal answered the authorization request with an OAuth error; `oauth_error` is its error code (or
    Carry's own short name for what went wrong: "timeout", "state_mismatch", "no_code", ...)."""

    code = "connect.authorization"
    default_message = "The portal did not let Carry in ({oauth_error}); nothing was connected."

    def __init__(self, message: str | None = None, *, oauth_error: str = "error") -> None:
        self.oauth_error = oauth_error
        super().__init__(message)

    @property
    def fields(self) -> Mapping[str, object]:
        return {"oauth_error": self.oauth_error}


class AuthorizationDenied(AuthorizationError):
    """The patient (or the portal on their behalf) said no: `access_denied`."""

    code = "connect.access-denied"
    default_message = "Access was not allowed at the portal; nothing was connected."


class StateMismatch(AuthorizationError):
    """The callback's `state` is not the one Carry sent, or it was already used or has expired."""

    code = "connect.state-mismatch"
    default_message = "The portal's answer does not belong to a login Carry started; nothing was connected."


class AuthorizationTimeout(AuthorizationError):
    """Nobody came back from the portal's login page in time."""

    code = "connect.timeout"
    default_message = "Nobody came back from the portal's login page in time; start connecting again."


class TokenError(SmartError):
    """The token endpoint refused the code or the client; `oauth_error` is its error code (invalid_client,
    invalid_grant, ...) or Carry's short name for the failure ("http", "network", "format")."""

    code = "connect.token"
    default_message = "The portal's token endpoint refused Carry ({oauth_error}); nothing was connected."

    def __init__(self, message: str | None = None, *, oauth_error: str = "error") -> None:
        self.oauth_error = oauth_error
        super().__init__(message)

    @property
    def fields(self) -> Mapping[str, object]:
        return {"oauth_error": self.oauth_error}


class NeedsReconnect(SmartError):
    """The portal no longer accepts the refresh token (or never gave one): the patient must connect again.

    `portal` names the connection and `base_url` is its FHIR base (what `carry connect` takes), when known."""

    code = "portal.needs-reconnect"
    default_message = "{portal} needs to be connected again. Your data from it is kept."
    default_action = Action.RECONNECT

    def __init__(self, message: str | None = None, *, portal: str = "The portal", base_url: str = "") -> None:
        self.portal = portal
        self.base_url = base_url
        super().__init__(message)

    @property
    def fields(self) -> Mapping[str, object]:
        return {"portal": self.portal, "base_url": self.base_url}


class IdTokenInvalid(SmartError):
    """The id_token the portal returned does not verify."""

    code = "connect.id-token"
    default_message = "The portal's identity token does not verify; nothing was connected."
