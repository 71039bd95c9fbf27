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


def _cli_client_secret(exc: CarryError) -> str:
    base_url = exc.fields.get("base_url") or "FHIR_BASE_URL"
    return f"Set $CARRY_CLIENT_SECRET to it and run `carry connect {base_url}` again."


def _merge_pairs(exc: CarryError) -> list[tuple[int, int]]:
    pairs = exc.fields.get("merge_pairs")
    return [(int(a), int(b)) for a, b in pairs] if isinstance(pairs, (list, tuple)) else []


def _cli_choose_person(exc: CarryError) -> str:
    merges = "".join(f" `carry people merge {a} {b}` makes {a} and {b} one." for a, b in _merge_pairs(exc))
    return f"Say whose with --person NAME or NUMBER.{merges}"


def _ui_choose_person(exc: CarryError) -> str:
    merge = " If two of them are one person, merge them there." if _merge_pairs(exc) else ""
    return f"Choose one under Whose record.{merge}"


def _fixed(text: str) -> Callable[[CarryError], str]:
    return lambda exc: text


# How each medium words an action; an action missing here needs no words beyond the message (RETRY messages
# already say "try again", UNLOCK_AGAIN is the passphrase prompt itself). The command line names the command to
# run; the app names what to press or where to look, never a command.
_CLI_ACTIONS: Mapping[Action, Callable[[CarryError], str | None]] = {
    Action.RECONNECT: _cli_reconnect,
    Action.CREATE_RECORD: _fixed("Create one with `carry init`."),
    Action.CHOOSE_PERSON: _cli_choose_person,
    Action.SEE_PEOPLE: _fixed("`carry people` lists them."),
    Action.SEE_SOURCES: _fixed("`carry sources` lists them."),
    Action.SEE_SHARES: _fixed("`carry shares` lists them."),
    Action.SEE_ENTRIES: _fixed("`carry entries` lists them."),
    Action.SEE_NOTES: _fixed("`carry notes` lists them."),
    Action.SEE_FACTS: _fixed(
        "`carry list --merged` lists the facts and their ids; `carry facts show FACT_ID` lists one fact's records."
    ),
    Action.SEE_SUMMARY_ITEMS: _fixed("`carry share --dry-run` lists them."),
    Action.GIVE_CLIENT_SECRET: _cli_client_secret,
    Action.SET_SHARE_HOST: _fixed("Run `carry share settings --host URL` again with a publish credential."),
    Action.GET_PUBLISH_CREDENTIAL: _fixed("`carry host add-device NAME` on the host makes one."),
}
_UI_ACTIONS: Mapping[Action, Callable[[CarryError], str | None]] = {
    Action.RECONNECT: _fixed("Connect it again with Reconnect under Sources."),
    Action.CREATE_RECORD: _fixed("Create one on the welcome page."),
    Action.CHOOSE_PERSON: _ui_choose_person,
    Action.SEE_PEOPLE: _fixed("Whose record lists them."),
    Action.SEE_SOURCES: _fixed("Sources lists them."),
    Action.SEE_SHARES: _fixed("Share lists them."),
    Action.SEE_ENTRIES: _fixed("Open it again from the Timeline; it may have changed."),
    Action.SEE_NOTES: _fixed("Open the item again to see its notes."),
    Action.SEE_FACTS: _fixed("Open the item again from the Summary; it may have changed."),
    Action.SEE_SUMMARY_ITEMS: _fixed("Pick the items again under Share."),
    Action.GIVE_CLIENT_SECRET: _fixed(
        "The app cannot take a client secret yet: connect this portal once from Carry's command line with it; the "
        "app uses it from then on."
    ),
    Action.SET_SHARE_HOST: _fixed("Choose the Carry host again under Settings, with a publish credential."),
    Action.GET_PUBLISH_CREDENTIAL: _fixed("Ask the host's owner to add this device there; it gives you one."),
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
