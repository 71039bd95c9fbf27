"""Errors raised by the sandbox portal. Messages are plain sentences; they never hold tokens or health data."""

from __future__ import annotations

from ..errors import CarryError

__all__ = ["SandboxDataError", "SandboxError"]


class SandboxError(CarryError):
    """Base of every error in sync.sandbox (the server cannot start, its data cannot be loaded, ...)."""

    code = "sandbox.error"
    default_message = "The demo hospital cannot start."


class SandboxDataError(SandboxError):
    """A data file given to the sandbox cannot be read or is not FHIR it can serve."""

    code = "sandbox.data"
    default_message = "A data file given to the demo hospital cannot be read."
