"""The sandbox's id_token signing key (RS256, kept in memory only) and its JWKS.

The key is made on first use, not at start: RSA key generation can take half a second, and `carry sandbox` must
be up in well under three. The only module of the sandbox that imports joserfc.
"""

from __future__ import annotations

import threading
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

__all__ = ["ASSERTION_ALGORITHMS", "AssertionRefused", "SigningKey", "read_client_assertion"]

# SMART's asymmetric client authentication: clients SHALL support both, servers at least one.
ASSERTION_ALGORITHMS = ["RS384", "ES384"]


class AssertionRefused(Exception):
    """A client assertion that does not verify against the client's registered keys."""


def read_client_assertion(assertion: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """Verify a private_key_jwt assertion's signature with the registered JWKS and return its claims.

    The claims themselves (iss, sub, aud, exp, jti) are checked by the caller, which knows the token endpoint.
    """
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        token = jwt.decode(assertion, keys, algorithms=ASSERTION_ALGORITHMS)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise AssertionRefused(type(exc).__name__) from None
    if token.header.get("typ") not in (None, "JWT"):
        raise AssertionRefused("typ")
    return dict(token.claims)


class SigningKey:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: RSAKey | None = None

    def __repr__(self) -> str:
        return "SigningKey(RS256)"

    def _get(self) -> RSAKey:
        with self._lock:
            if self._key is None:
                self._key = RSAKey.generate_key(
                    2048, parameters={"use": "sig", "alg": "RS256"}, private=True, auto_kid=True
                )
            return self._key

    @property
    def kid(self) -> str:
        return str(self._get().kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._get().as_dict(private=False))]}

    def sign(self, claims: dict[str, Any]) -> str:
        key = self._get()
        return jwt.encode({"alg": "RS256", "typ": "JWT", "kid": str(key.kid)}, claims, key)
