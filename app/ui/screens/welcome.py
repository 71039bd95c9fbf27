"""First run: what Carry is, then creating the record (passphrase twice, strength, the unrecoverable warning), or
restoring one from a backup.

A new device: "Restore from a backup". The patient picks the backup file and types its passphrase; Carry checks
that the passphrase opens it and that it is a Carry record before it becomes the record here (app/record/backup.py),
then unlocks it. Only offered where there is no record yet: an existing record is never replaced from here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.record.backup import restore_backup
from app.views import strength

from ..hooks import component, use_once, use_session, use_value
from ..theme import TONES
from ..widgets import banner, heading, labelled, muted, primary_button, secondary_button
from .common import PassphraseField, PickedBackup
from .entry import entry_frame

__all__ = ["Restore", "Welcome", "meter_colour"]

_STRENGTH_TONES = {0: "alert", 1: "alert", 2: "warn", 3: "ok", 4: "ok"}


def meter_colour(score: int) -> Any:
    """The strength meter's colour for a score: its tone's text colour, a role that follows light and dark (the
    meter sits on the card's surface, as a tone's text colour may; its words say the strength too)."""
    return TONES[_STRENGTH_TONES[score]][0]


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
    meter = ft.ProgressBar(value=(result.score / 4) if result is not None else 0, bar_height=6, border_radius=3,
                           color=meter_colour(result.score if result is not None else 0),
                           semantics_label="Passphrase strength")  # fmt: skip
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
        PassphraseField("Repeat the passphrase", "repeat-passphrase", second.set, on_submit=session.act(create),
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


@component
def Restore(back: Callable[[], Any]) -> ft.Control:
    session = use_session()
    picked = use_once(PickedBackup)
    typed = use_value("")
    chosen_name, set_chosen_name = ft.use_state("")
    busy, set_busy = ft.use_state(False)
    error, set_error = ft.use_state("")
    attempts, set_attempts = ft.use_state(0)
    ft.use_effect(lambda: None, [], cleanup=picked.forget_upload)

    async def pick() -> None:
        name = await picked.choose()
        if name is not None:
            set_chosen_name(name)

    async def restore() -> None:
        chosen, passphrase = picked.file, typed.current
        typed.current = ""
        set_attempts(attempts + 1)
        if chosen is None:
            set_error("Choose the backup file first.")
            return
        set_busy(True)
        set_error("")
        try:
            path = await picked.path(session)
            await session.run(restore_backup, path, passphrase, session.record_session.path)
            picked.forget_upload()
            await session.unlock(passphrase)
        except Exception as exc:  # noqa: BLE001 - shown in place
            set_error(session.message_for(exc))
            set_busy(False)
            return
        session.notify("Your record is restored from the backup and unlocked.", "ok")

    def leave() -> None:
        picked.forget_upload()
        back()

    status: ft.Control | None = (
        muted("Checking the backup…") if busy else banner(error, "alert", identifier="restore-error") if error else None
    )
    return entry_frame(
        ft.context.page.width,
        heading("Restore from a backup"),
        ft.Text("Pick a backup Carry made, and type the passphrase it was made with. Carry checks that it opens "
                "before it becomes your record on this device.", size=15),  # fmt: skip
        secondary_button("Choose the backup file", session.act(pick), "choose-backup", icon=ft.Icons.FOLDER_OPEN_OUTLINED),
        labelled(muted(f"Chosen: {chosen_name}" if chosen_name else "No file chosen yet."), "backup-chosen"),
        PassphraseField("Passphrase of the backup", "restore-passphrase", typed.set, on_submit=session.act(restore),
                        clear=attempts),  # fmt: skip
        status,
        ft.Row([primary_button("Restore", session.act(restore), "restore", icon=ft.Icons.RESTORE, disabled=busy),
                ft.TextButton(content="Back", on_click=session.act(leave))], wrap=True, spacing=10),  # fmt: skip
    )
