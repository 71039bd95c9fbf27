"""Errors of sharing: building the summary, SMART Health Links, hosting and opening shared links.

Every message is a plain sentence for the patient (or the doctor opening a link). None holds a share key, a
passcode or health data.
"""

from __future__ import annotations

from ..errors import CarryError

__all__ = [
    "DecryptionFailed",
    "IPSError",
    "LinkError",
    "LinkInactive",
    "PasscodeRefused",
    "QuotaExceeded",
    "ShareError",
    "ShareHostError",
]


class ShareError(CarryError):
    """Base of every error raised by sync.share."""


class IPSError(ShareError):
    """The patient summary cannot be built from what was selected."""


class LinkError(ShareError):
    """A SMART Health Link (or its manifest) is malformed, too new to read, or breaks the rules for one."""


class DecryptionFailed(ShareError):
    """Shared content could not be decrypted with the link's key (wrong key, or the content was altered)."""


class PasscodeRefused(ShareError):
    """The server refused the passcode; `remaining` attempts are left before the link is disabled."""

    def __init__(self, message: str, remaining: int | None) -> None:
        super().__init__(message)
        self.remaining = remaining


class LinkInactive(ShareError):
    """The link has expired, was revoked, ran out of passcode attempts, or never existed."""


class ShareHostError(ShareError):
    """The share host's own storage failed or was given something it cannot keep."""


class QuotaExceeded(ShareHostError):
    """A publishing device asked a standalone share host to keep more than its quota allows."""
