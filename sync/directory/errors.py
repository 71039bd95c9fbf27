"""Errors raised by the provider directory. Messages are plain sentences: directory data is public, never PHI."""

from __future__ import annotations

from ..errors import Action, CarryError

__all__ = ["DirectoryError", "ListFormatError", "RefreshFailed"]


class DirectoryError(CarryError):
    """Base of every error in sync.directory."""

    code = "directory.error"
    default_message = "The provider directory cannot be used just now."


class ListFormatError(DirectoryError):
    """A file or download is not an endpoint list Carry can read (broken JSON, an unknown shape, no endpoints)."""

    code = "directory.list-format"
    default_message = "This is not an endpoint list Carry can read."


class RefreshFailed(DirectoryError):
    """None of the vendor lists could be refreshed; the previous copies are kept."""

    code = "directory.refresh-failed"
    default_message = "None of the provider lists could be downloaded; the previous copies are kept."
    default_action = Action.RETRY
