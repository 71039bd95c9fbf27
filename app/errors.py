"""The one place where errors become what the patient reads, for the CLI and the UI alike.

Every error Carry raises on purpose derives from sync.errors.CarryError (its docstring maps them all): a plain
sentence for any medium, a stable `code`, the fields it is made from, and an `action`. Each medium words the
action its own way here: `cli_message` as a command to run, `ui_message` as what to press in the app. Anything
else is a bug, shown without details that could hold health data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sync.errors import Action, CarryError

__all__ = ["Action", "CarryError", "UsageError", "cli_message", "ui_message", "user_message"]


class UsageError(CarryError):
    """The command was asked for something it cannot do as asked (exit status 2 in the CLI)."""

    code = "cli.usage"
    default_message = "Carry cannot do that as asked."


def user_message(exc: BaseException) -> str | None:
    """The sentence to show for `exc` in any medium (no action worded), or None when it is not an error Carry
    raised on purpose."""
    if isinstance(exc, CarryError):
        return exc.message
    return None


def _cli_reconnect(exc: CarryError) -> str | None:
    base_url = exc.fields.get("base_url")
    return f"Run `carry connect {base_url}` to connect it again." if base_url else None


# How each medium words an action; an action missing here needs no words beyond the message (RETRY messages
# already say "try again", UNLOCK_AGAIN is the passphrase prompt itself).
_CLI_ACTIONS: Mapping[Action, Callable[[CarryError], str | None]] = {
    Action.RECONNECT: _cli_reconnect,
}
_UI_ACTIONS: Mapping[Action, Callable[[CarryError], str | None]] = {
    Action.RECONNECT: lambda exc: "Connect it again with Reconnect under Sources.",
}


def _with_action(exc: CarryError, message: str, actions: Mapping[Action, Callable[[CarryError], str | None]]) -> str:
    word = actions.get(exc.action)
    extra = word(exc) if word is not None else None
    return f"{message} {extra}" if extra else message


def cli_message(exc: BaseException) -> str | None:
    """What the command line prints for `exc` (its action as a command to run), or None for a bug."""
    if not isinstance(exc, CarryError):
        return None
    cli_text = getattr(exc, "cli_text", None)  # a diagnosis (sync.smart.diagnosis) has a wording of its own
    if callable(cli_text):
        return str(cli_text())
    return _with_action(exc, exc.message, _CLI_ACTIONS)


def ui_message(exc: BaseException) -> str | None:
    """What the app shows for `exc` (its action as something to press, never a command), or None for a bug."""
    if not isinstance(exc, CarryError):
        return None
    return _with_action(exc, exc.message, _UI_ACTIONS)
