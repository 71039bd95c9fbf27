"""The root of every error Carry raises on purpose.

Each package has its own base error (FHIRError, RecordError, ...) deriving from CarryError, so the CLI and the UI
can tell a plain, patient-facing failure from a bug with one isinstance check. Messages never hold tokens or PHI.
"""

from __future__ import annotations

__all__ = ["CarryError"]


class CarryError(Exception):
    """A failure with a message fit to show the patient as it is."""
