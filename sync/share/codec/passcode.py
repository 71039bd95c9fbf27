"""Passcodes of SMART Health Links, kept on the share host only as a slow salted hash (scrypt).

A leaked host database then gives no passcode back cheaply; the lifetime attempt limit guards the live link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["check_passcode", "hash_passcode"]

# 16 MiB of memory and ~50 ms per check: slow for a guesser, fine for a doctor typing a passcode.
_N, _R, _P = 2**14, 8, 1
_MAXMEM = 64 * 1024 * 1024


def _derive(passcode: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(passcode.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def hash_passcode(passcode: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _derive(passcode, salt, _N, _R, _P)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_passcode(passcode: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = _derive(passcode, base64.urlsafe_b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
