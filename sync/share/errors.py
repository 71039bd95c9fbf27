"""Errors of sharing: building the summary, SMART Health Links, hosting and opening shared links.

Every message is a plain sentence for the patient (or the doctor opening a link). None holds a share key, a
passcode or health data.
"""

from __future__ import annotations

from collections.abc import Mapping

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

    code = "share.error"
    default_message = "Carry could not share that; nothing was shared."


class IPSError(ShareError):
    """The patient summary cannot be built from what was selected."""

    code = "share.summary"
    default_message = "The summary cannot be made from what was chosen."


class LinkError(ShareError):
    """A SMART Health Link (or its manifest) is malformed, too new to read, or breaks the rules for one."""

    code = "share.link-invalid"
    default_message = "This is not a SMART Health Link Carry can read."


class DecryptionFailed(ShareError):
    """Shared content could not be decrypted with the link's key (wrong key, or the content was altered)."""

    code = "share.decryption-failed"
    default_message = "The shared content cannot be opened with this link's key."


class PasscodeRefused(ShareError):
    """The server refused the passcode; `remaining` attempts are left before the link is disabled."""

    code = "share.passcode-refused"
    default_message = "The passcode was refused."

    def __init__(self, message: str | None, remaining: int | None) -> None:
        self.remaining = remaining
        super().__init__(message)

    @property
    def fields(self) -> Mapping[str, object]:
        return {"remaining": self.remaining}


class LinkInactive(ShareError):
    """The link has expired, was revoked, ran out of passcode attempts, or never existed."""

    code = "share.link-inactive"
    default_message = "This link has expired, was revoked or does not exist."


class ShareHostError(ShareError):
    """The share host's own storage failed or was given something it cannot keep."""

    code = "share.host"
    default_message = "The share host could not keep that."


class QuotaExceeded(ShareHostError):
    """A publishing device asked a standalone share host to keep more than its quota allows."""

    code = "share.host-quota"
    default_message = "This device has used all the room the share host allows it."
