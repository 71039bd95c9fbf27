"""First run: what Carry is, then creating the record (passphrase twice, strength, the unrecoverable warning)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import strength

from ..theme import TONES
from ..widgets import banner, heading, labelled, muted, primary_button, secondary_button
from .entry import entry_frame, passphrase_field

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["WelcomeScreen"]

_STRENGTH_TONES = {0: "alert", 1: "alert", 2: "warn", 3: "ok", 4: "ok"}


def meter_colour(score: int) -> Any:
    """The strength meter's colour for a score: its tone's text colour, a role that follows light and dark (the
    meter sits on the card's surface, as a tone's text colour may; its words say the strength too)."""
    return TONES[_STRENGTH_TONES[score]][0]


class WelcomeScreen:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.frame = ft.Container(expand=True)

    def build(self) -> ft.Control:
        self.frame.content = self._welcome()
        return self.frame

    def _welcome(self) -> ft.Control:
        return entry_frame(
            self.app.page.width,
            heading("Welcome to Carry"),
            ft.Text(
                "Carry keeps your health record on this device, encrypted with a passphrase only you know. "
                "Bring in your records from hospital and clinic portals, read them in one place, and share a "
                "summary with a new doctor.",
                size=15,
            ),
            muted("Nothing leaves this device unless you choose to share it."),
            primary_button("Create my record", self.app.act(self._show_create), "create-start"),
            secondary_button("Restore from a backup", self.app.act(self._show_restore), "restore-start",
                             icon=ft.Icons.RESTORE),  # fmt: skip
        )

    def _show_restore(self) -> None:
        from .restore import RestorePanel

        self.frame.content = self.app.scaled(RestorePanel(self.app, self._show_welcome).build())

    def _show_welcome(self) -> None:
        self.frame.content = self.app.scaled(self._welcome())

    def _show_create(self) -> None:
        self.first = labelled(passphrase_field("New passphrase", autofocus=True, on_change=self.app.act(self._typed)),
                              "new-passphrase")  # fmt: skip
        self.second = labelled(
            passphrase_field("Repeat the passphrase", on_submit=self.app.act(self._create)), "repeat-passphrase"
        )
        self.meter = ft.ProgressBar(value=0, bar_height=6, border_radius=3, color=meter_colour(0),
                                    semantics_label="Passphrase strength")  # fmt: skip
        self.hint = muted("Use at least 8 characters; four unrelated words work well.", size=13)
        self.error = ft.Container()
        self.button = primary_button("Create record", self.app.act(self._create), "create-record")
        self.frame.content = entry_frame(
            self.app.page.width,
            heading("Create your record"),
            ft.Text("Choose a passphrase. You will type it each time you open Carry.", size=15),
            self.first,
            ft.Column([self.meter, self.hint], spacing=4),
            self.second,
            banner(
                "If you lose your passphrase, nobody can open your record, not even Carry. There is no reset. "
                "Write it down and keep it somewhere safe.",
                "warn",
                identifier="lost-passphrase-warning",
            ),
            self.error,
            self.button,
        )

    def _fields(self) -> tuple[ft.TextField, ft.TextField]:
        first = self.first.content  # type: ignore[attr-defined]
        second = self.second.content  # type: ignore[attr-defined]
        return first, second

    def _typed(self, e: Any) -> None:
        first, _ = self._fields()
        result = strength(first.value or "")
        self.meter.value = result.score / 4
        self.meter.color = meter_colour(result.score)
        self.hint.value = f"{result.label}. {result.hint}"

    async def _create(self) -> None:
        first, second = self._fields()
        self.error.content = muted("Creating your encrypted record…")
        self.button.disabled = True
        self.app.page.update()
        try:
            await self.app.run(self.app.session.create, first.value or "", second.value or "")
        except Exception as exc:  # noqa: BLE001 - shown in place, next to the fields
            self.error.content = banner(self.app.message_for(exc), "alert", identifier="create-error")
            self.button.disabled = False
            return
        first.value = second.value = ""
        await self.app.after_unlock(first_run=True)

