"""The one place where errors become what the patient reads, for the CLI and the UI alike.

Every error Carry raises on purpose derives from sync.errors.CarryError and carries a plain sentence; anything
else is a bug, shown without details that could hold health data.
"""

from __future__ import annotations

from sync.errors import CarryError

__all__ = ["CarryError", "UsageError", "user_message"]


class UsageError(CarryError):
    """The command was asked for something it cannot do as asked (exit status 2 in the CLI)."""


def user_message(exc: BaseException) -> str | None:
    """The sentence to show for `exc`, or None when it is not an error Carry raised on purpose."""
    if isinstance(exc, CarryError):
        return str(exc).strip() or type(exc).__name__
    return None
