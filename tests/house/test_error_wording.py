"""No command-line syntax in what the app shows (issue 14 item 5): an error's message is one sentence for any
medium and its next step is an Action, which the command line words as a command and the app as what to press.

Two checks: every CarryError the app can show, built with representative fields and given each action, renders
for the app without a `carry ...` command and for the command line with one where the action has a command; and no
`raise` of a CarryError outside the command-line-only places puts command syntax into the message itself."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_error_codes import _every_error

from app.errors import UsageError, cli_message, ui_message
from app.portals import PortalError
from app.record import PersonNeeded
from app.server import ServerError
from app.ui.session import UiSession
from sync.errors import Action, CarryError
from sync.share.errors import PasscodeRefused
from sync.smart.diagnosis import DIAGNOSES, Diagnosed
from sync.smart.errors import NeedsReconnect

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "https://fhir.example.org/r4"

# "`carry people`", "carry connect https://…", "--person NAME": what a terminal takes, not a person in the app.
COMMAND = re.compile(
    r"`carry\b|\bcarry (?:init|people|sources|shares?|entries|notes?|list|facts|connect|host|providers|serve|sync|"
    r"add|edit|delete|info|open|meds|import|sandbox|desktop)\b|(?<![\w-])--[a-z][a-z-]+"
)
# Actions the command line words as a command; the others need no words (RETRY and UNLOCK_AGAIN say it already).
WITH_COMMAND = set(Action) - {Action.NONE, Action.RETRY, Action.UNLOCK_AGAIN}
_SAMPLES: dict[str, Any] = {"status": 403}
# Raised only where nothing but the command line runs: the CLI itself, and `carry serve` refusing to start.
CLI_ONLY: set[type[CarryError]] = {UsageError, ServerError}
CLI_ONLY_MODULES = {ROOT / "app" / "cli.py"} | {  # and `carry host`, the share host run on its own
    path for path in (ROOT / "sync" / "share" / "host" / "hosting").glob("*.py") if path.name != "client.py"
}


def _instances(error: type[CarryError]) -> Iterator[CarryError]:
    """`error` as its raisers make it: with the fields its message and its action are worded from."""
    if error is Diagnosed:
        fields = {"client_id": "carry-123", "developer_site": "https://fhir.example.org/dev", "vendor": "Epic",
                  "redirect_uri": "http://127.0.0.1:8123/cb", "base_url": BASE_URL, "host": "fhir.example.org",
                  "status": "403"}  # fmt: skip
        yield from (Diagnosed(row, **fields) for row in DIAGNOSES)
    elif error is PasscodeRefused:
        yield PasscodeRefused(None, remaining=2)
    elif error is NeedsReconnect:
        yield NeedsReconnect(portal="Springfield Clinic", base_url=BASE_URL)
    elif error is PortalError:
        yield PortalError(portal="Springfield Clinic", base_url=BASE_URL)
    elif error is PersonNeeded:
        yield PersonNeeded("Your record holds 2 persons: 1 Alice; 2 Alice. 1 and 2 may be one person.",
                           merge_pairs=[(1, 2)])  # fmt: skip
    else:  # the keywords a raiser must give (a status code, ...), with a representative value
        needed = [p.name for p in inspect.signature(error).parameters.values()
                  if p.kind is p.KEYWORD_ONLY and p.default is p.empty]  # fmt: skip
        yield error(**{name: _SAMPLES[name] for name in needed})


def _shown_by_the_app() -> list[type[CarryError]]:
    return [error for error in _every_error() if error not in CLI_ONLY]


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
def test_the_app_words_every_action_without_a_command_and_the_cli_with_one(action: Action) -> None:
    errors = _shown_by_the_app()
    assert len(errors) > 40 and PersonNeeded in errors and Diagnosed in errors
    for error in errors:
        for exc in _instances(error):
            exc.action = action
            shown = ui_message(exc) or ""
            assert shown and UiSession.message_for(exc) == shown
            assert not COMMAND.search(shown), f"{error.__name__} ({action.value}) shows the app: {shown}"
            assert not COMMAND.search(exc.message), f"{error.__name__}'s message has command syntax: {exc.message}"
            printed = cli_message(exc) or ""
            assert printed.startswith(exc.message) or isinstance(exc, Diagnosed), printed
            worded = action is not Action.RECONNECT or exc.fields.get("base_url")  # connect needs the address
            if action in WITH_COMMAND and worded and not isinstance(exc, Diagnosed):
                assert COMMAND.search(printed), f"{error.__name__} ({action.value}) prints no command: {printed}"
                assert printed != shown


def test_each_medium_words_the_fields_of_its_action() -> None:
    secret = PortalError("The client c1 authenticates with a client secret.", base_url=BASE_URL,
                         action=Action.GIVE_CLIENT_SECRET)  # fmt: skip
    assert f"`carry connect {BASE_URL}`" in (cli_message(secret) or "")
    assert BASE_URL not in (ui_message(secret) or "") and "client secret" in (ui_message(secret) or "")
    several = PersonNeeded("Your record holds 2 persons.", merge_pairs=[(1, 2)])
    assert "--person NAME or NUMBER" in (cli_message(several) or "")
    assert "`carry people merge 1 2` makes 1 and 2 one." in (cli_message(several) or "")
    assert "Whose record" in (ui_message(several) or "") and "merge them there" in (ui_message(several) or "")
    alone = PersonNeeded("Your record holds 2 persons.")
    assert "merge" not in (cli_message(alone) or "") + (ui_message(alone) or "")


def _raised_messages(path: Path, names: set[str]) -> Iterator[tuple[int, str, str]]:
    """(line, error class, the text of its literal arguments) for each `raise SomeCarryError(...)` in `path`."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        func = node.exc.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in names:
            parts = [n.value for arg in node.exc.args for n in ast.walk(arg)
                     if isinstance(n, ast.Constant) and isinstance(n.value, str)]  # fmt: skip
            yield node.lineno, name, "".join(parts)


def test_no_error_the_app_can_show_is_raised_with_command_syntax() -> None:
    names = {error.__name__ for error in _shown_by_the_app()}
    cli_only = {error.__name__ for error in CLI_ONLY}
    found, checked = [], 0
    for path in sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "sync").rglob("*.py")]):
        if path in CLI_ONLY_MODULES:  # the command line's own refusals may name commands
            continue
        for line, name, text in _raised_messages(path, names | cli_only):
            checked += 1
            if name not in cli_only and COMMAND.search(text):
                found.append(f"{path.relative_to(ROOT)}:{line}: {name}: {text}")
    assert checked > 100, checked
    assert not found, "\n".join(found)


def test_the_scan_sees_command_syntax(tmp_path: Path) -> None:
    source = tmp_path / "refusal.py"
    source.write_text('raise RecordError(f"There is no note {n}; `carry notes` lists them.")\n'
                      'raise RecordError("Say whose with --person NAME.")\n'
                      'raise RecordError("There is no note 3.", action=Action.SEE_NOTES)\n', encoding="utf-8")  # fmt: skip
    hits = [text for _, _, text in _raised_messages(source, {"RecordError"}) if COMMAND.search(text)]
    assert len(hits) == 2
