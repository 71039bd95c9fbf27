"""SMART App Launch 2.2 standalone launch for a patient app: discovery, authorization (PKCE S256, state, aud),
token exchange, refresh, dynamic registration of a device client, revocation, id_token verification, the loopback listener and client registrations.

This package is the only user of authlib. It persists nothing itself: tokens go to a TokenStore the app provides.
"""

from __future__ import annotations

from .device import register_device
from .diagnosis import DIAGNOSES, Diagnosed
from .discovery import SmartConfiguration, discover, normalise_base
from .errors import (
    AuthorizationDenied,
    AuthorizationError,
    AuthorizationTimeout,
    ClientNotConfigured,
    DiscoveryError,
    IdTokenInvalid,
    NeedsReconnect,
    SmartError,
    StateMismatch,
    TokenError,
)
from .launch import Authorization, check_authorize_url, complete_authorization
from .loopback import CALLBACK_PATH, CALLBACK_PORT, FALLBACK_PORTS, LoopbackListener, redirect_uri_for
from .oauth import (
    PendingAuthorization,
    begin_authorization,
    callback_code,
    exchange_code,
    new_private_key,
    public_jwks,
    refresh,
    renew_with_assertion,
    revoke,
)
from .registrations import (
    AUTH_METHODS,
    DEVICE_AUTH,
    FILE_NAME as REGISTRATIONS_FILE,
    ClientCredentials,
    ClientSettings,
    Registrations,
    load_registrations,
    missing_client,
)
from .scopes import IDENTITY_SCOPES, GrantedScope, choose_scopes
from .tokens import TokenSession, TokenSet, TokenStore

__all__ = [
    "AUTH_METHODS",
    "AuthorizationDenied",
    "Authorization",
    "AuthorizationError",
    "AuthorizationTimeout",
    "CALLBACK_PATH",
    "CALLBACK_PORT",
    "FALLBACK_PORTS",
    "ClientCredentials",
    "ClientNotConfigured",
    "ClientSettings",
    "DEVICE_AUTH",
    "DIAGNOSES",
    "Diagnosed",
    "DiscoveryError",
    "GrantedScope",
    "IDENTITY_SCOPES",
    "IdTokenInvalid",
    "LoopbackListener",
    "NeedsReconnect",
    "PendingAuthorization",
    "REGISTRATIONS_FILE",
    "Registrations",
    "SmartConfiguration",
    "SmartError",
    "StateMismatch",
    "TokenError",
    "TokenSession",
    "TokenSet",
    "TokenStore",
    "begin_authorization",
    "callback_code",
    "check_authorize_url",
    "choose_scopes",
    "complete_authorization",
    "discover",
    "exchange_code",
    "load_registrations",
    "missing_client",
    "new_private_key",
    "normalise_base",
    "public_jwks",
    "redirect_uri_for",
    "refresh",
    "register_device",
    "renew_with_assertion",
    "revoke",
]
