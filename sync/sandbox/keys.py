"""The sandbox's id_token signing key (RS256, kept in memory only) and its JWKS.

The key is made on first use, not at start: RSA key generation can take half a second, and `carry sandbox` must
be up in well under three. The only module of the sandbox that imports joserfc.
"""

from __future__ import annotations

import threading
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

__all__ = ["SigningKey"]


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
