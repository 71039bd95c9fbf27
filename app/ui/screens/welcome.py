"""First run: what Carry is, then creating the record (passphrase twice, strength, the unrecoverable warning), or
restoring one from a backup (app/ui/screens/restore.py)."""

from __future__ import annotations

import flet as ft

from app.views import strength

from ..hooks import component, use_session, use_value
from ..theme import TONES
from ..widgets import banner, heading, muted, primary_button, secondary_button
from .entry import PassphraseField, entry_frame
from .restore import Restore

__all__ = ["Welcome"]

_STRENGTH_TONES = {0: "alert", 1: "alert", 2: "warn", 3: "ok", 4: "ok"}


@component
def Welcome() -> ft.Control:
    session = use_session()
    step, set_step = ft.use_state("welcome")
    if step == "create":
        return CreateRecord(lambda: set_step("welcome"))
    if step == "restore":
        return Restore(lambda: set_step("welcome"))
    return entry_frame(
        ft.context.page.width,
        heading("Welcome to Carry"),
        ft.Text(
            "Carry keeps your health record on this device, encrypted with a passphrase only you know. "
            "Bring in your records from hospital and clinic portals, read them in one place, and share a "
            "summary with a new doctor.",
            size=15,
        ),
        muted("Nothing leaves this device unless you choose to share it."),
        primary_button("Create my record", session.act(lambda: set_step("create")), "create-start"),
        secondary_button("Restore from a backup", session.act(lambda: set_step("restore")), "restore-start",
                         icon=ft.Icons.RESTORE),  # fmt: skip
    )


@component
def CreateRecord(back: object = None) -> ft.Control:
    session = use_session()
    first = use_value("")
    second = use_value("")
    score, set_score = ft.use_state(-1)  # the strength of what is typed, -1 before anything is
    busy, set_busy = ft.use_state(False)
    error, set_error = ft.use_state("")
    attempts, set_attempts = ft.use_state(0)

    def typed_first(text: str) -> None:
        first.current = text
        result = strength(text)
        if result.score != score:
            set_score(result.score)

    def typed_second(text: str) -> None:
        second.current = text

    async def create() -> None:
        if busy:
            return
        set_busy(True)
        set_error("")
        try:
            await session.create(first.current, second.current)
        except Exception as exc:  # noqa: BLE001 - shown in place, next to the fields
            set_error(session.message_for(exc))
            set_busy(False)
            set_attempts(attempts + 1)
            return
        first.current = second.current = ""

    result = strength(first.current) if score >= 0 else None
    tone = _STRENGTH_TONES[result.score] if result is not None else "alert"
    meter = ft.ProgressBar(value=(result.score / 4) if result is not None else 0, bar_height=6, border_radius=3,
                           color=TONES[tone][0], semantics_label="Passphrase strength")  # fmt: skip
    hint = muted(f"{result.label}. {result.hint}" if result is not None
                 else "Use at least 8 characters; four unrelated words work well.", size=13)  # fmt: skip
    status: ft.Control | None = (
        muted("Creating your encrypted record…") if busy
        else banner(error, "alert", identifier="create-error") if error else None
    )  # fmt: skip
    return entry_frame(
        ft.context.page.width,
        heading("Create your record"),
        ft.Text("Choose a passphrase. You will type it each time you open Carry.", size=15),
        PassphraseField("New passphrase", "new-passphrase", typed_first, autofocus=True),
        ft.Column([meter, hint], spacing=4),
        PassphraseField("Repeat the passphrase", "repeat-passphrase", typed_second, on_submit=session.act(create),
                        clear=attempts),  # fmt: skip
        banner(
            "If you lose your passphrase, nobody can open your record, not even Carry. There is no reset. "
            "Write it down and keep it somewhere safe.",
            "warn",
            identifier="lost-passphrase-warning",
        ),
        status,
        primary_button("Create record", session.act(create), "create-record", disabled=busy),
    )
