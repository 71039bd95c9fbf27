"""Errors of the importers. Each message is one plain sentence about the file, without any of its content."""

from __future__ import annotations

from ..errors import CarryError

__all__ = ["ImportFailed"]


class ImportFailed(CarryError):
    """The file cannot be imported; nothing of it may be stored."""

    code = "import.failed"
    default_message = "The file cannot be imported; nothing of it was stored."
