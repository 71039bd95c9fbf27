"""Slow salted hashes of what people type to get in: the app server's login password and the passcodes of SMART
Health Links (kept on the share host). One module, one format: "scrypt$N$r$p$salt$hash", both in URL-safe base64.

A leaked config file or host database then gives no password or passcode back cheaply. Hashes stored by earlier
versions still verify: the login password was written in standard base64, which `check_secret` reads as well
(URL-safe decoding accepts both alphabets).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = ["check_secret", "hash_secret"]

# 16 MiB of memory and ~50 ms per check: slow for a guesser, fine for a person typing.
_N, _R, _P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024  # a stored hash asking for more than this is refused, not computed


def _derive(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def hash_secret(secret: str) -> str:
    """A new hash of `secret` with a fresh salt."""
    salt = secrets.token_bytes(16)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(_derive(secret, salt, _N, _R, _P)).decode()}"


def check_secret(secret: str, stored: str) -> bool:
    """Whether `secret` is the one `stored` was made from (in constant time; False for a malformed hash)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = _derive(secret, base64.urlsafe_b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)
