"""Publish credentials of the devices a host's owner lets publish (`carry host add-device NAME`).

A credential is 256 random bits, shown once; the host keeps only its SHA-256. A fast hash is enough here (unlike a
passcode, nothing about a random 256-bit secret can be guessed from its hash) and lets the host find the device by
the hash alone, without comparing against every device.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from ...errors import ShareHostError

__all__ = ["CREDENTIAL_PREFIX", "credential_hash", "device_name", "new_credential"]

CREDENTIAL_PREFIX = "carryhost_"  # so a leaked one is recognisable (secret scanners, a log reader)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")


def new_credential() -> str:
    return CREDENTIAL_PREFIX + secrets.token_urlsafe(32)


def credential_hash(credential: str) -> str:
    return hashlib.sha256(credential.encode("utf-8")).hexdigest()


def device_name(name: str) -> str:
    """The name checked: 1-64 letters, digits, spaces, dots, dashes or underscores, starting with a letter or digit."""
    if not _NAME.fullmatch(name):
        raise ShareHostError("A device name is 1-64 letters, digits, spaces, dots, dashes or underscores.")
    return name
