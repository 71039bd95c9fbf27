"""Errors raised by the provider directory. Messages are plain sentences: directory data is public, never PHI."""

from __future__ import annotations

from ..errors import CarryError

__all__ = ["DirectoryError", "ListFormatError", "RefreshFailed"]


class DirectoryError(CarryError):
    """Base of every error in sync.directory."""


class ListFormatError(DirectoryError):
    """A file or download is not an endpoint list Carry can read (broken JSON, an unknown shape, no endpoints)."""


class RefreshFailed(DirectoryError):
    """None of the vendor lists could be refreshed; the previous copies are kept."""
