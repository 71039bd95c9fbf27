"""Errors with codes (issue 14 item 5): every error Carry raises on purpose has a stable code of its own and is in
the one documented tree at the top of sync/errors.py, so a reader (and a renderer) finds them all in one place."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import app
import sync
from app.errors import cli_message, ui_message
from sync.errors import Action, CarryError
from sync.share.errors import PasscodeRefused
from sync.smart.diagnosis import DIAGNOSES, Diagnosed
from sync.smart.errors import NeedsReconnect

_TREE_LINE = re.compile(r"^\s*[│├└─\s]*(\w+) \.+ ([a-z][a-z0-9.-]*) \.+ ([\w.]+)", re.M)


def _every_error() -> list[type[CarryError]]:
    found: dict[type[CarryError], None] = {CarryError: None}
    for package in (app, sync):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if inspect.isclass(value) and issubclass(value, CarryError) and value.__module__ == module.__name__:
                    found[value] = None
    return list(found)


def _tree() -> dict[str, tuple[str, str]]:
    doc = inspect.getdoc(importlib.import_module("sync.errors")) or ""
    return {m[1]: (m[2], m[3]) for m in _TREE_LINE.finditer(doc)}


def test_every_error_has_its_own_code_and_is_in_the_documented_tree() -> None:
    errors = _every_error()
    tree = _tree()
    assert len(errors) > 40 and len(tree) == len(errors), sorted(set(tree) ^ {e.__name__ for e in errors})
    codes: dict[str, str] = {}
    for error in errors:
        assert "code" in vars(error), f"{error.__module__}.{error.__name__} has no code of its own"
        assert error.code not in codes, f"{error.__name__} reuses {codes.get(error.code)}'s code {error.code}"
        codes[error.code] = error.__name__
        assert tree.get(error.__name__) == (error.code, error.__module__), (
            f"{error.__name__} ({error.code}, {error.__module__}) is not in sync/errors.py's tree as it is"
        )
        assert error.default_message.strip(), error.__name__


def test_a_default_message_is_made_from_the_fields() -> None:
    assert str(NeedsReconnect(portal="Springfield Clinic", base_url="https://fhir.example/r4")) == (
        "Springfield Clinic needs to be connected again. Your data from it is kept."
    )
    refused = PasscodeRefused(None, remaining=2)
    assert refused.code == "share.passcode-refused" and refused.fields == {"remaining": 2}
    assert CarryError().message == "Carry could not do that; nothing was changed."


def test_each_medium_words_the_action() -> None:
    exc = NeedsReconnect("Carry holds no access for Springfield Clinic.", portal="Springfield Clinic",
                         base_url="https://fhir.example/r4")  # fmt: skip
    assert exc.action is Action.RECONNECT and exc.code == "portal.needs-reconnect"
    assert cli_message(exc) == (
        "Carry holds no access for Springfield Clinic. Run `carry connect https://fhir.example/r4` to connect it again."
    )
    assert ui_message(exc) == "Carry holds no access for Springfield Clinic. Connect it again with Reconnect under Sources."
    assert cli_message(ValueError("x")) is None and ui_message(ValueError("x")) is None


def test_every_diagnosis_has_a_code_and_a_stored_report_keeps_reading() -> None:
    for row in DIAGNOSES:
        made = Diagnosed(row, base_url="https://fhir.example/r4")
        assert made.code == f"connect.{row}" and made.diagnosis == row
        shown = ui_message(made)
        assert shown and "carry " not in shown
        assert Diagnosed(made.code, **made.fields).cli_text() == Diagnosed(row, **made.fields).cli_text()
