"""Later runs: type the passphrase to unlock; a wrong one says so and nothing else happens."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from ..widgets import banner, heading, labelled, muted, primary_button
from .entry import entry_frame, passphrase_field

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["UnlockScreen"]


class UnlockScreen:
    def __init__(self, app: CarryApp, notice: str | None = None) -> None:
        self.app = app
        self.notice = notice

    def build(self) -> ft.Control:
        self.field = passphrase_field("Passphrase", autofocus=True, on_submit=self.app.act(self._unlock))
        self.error = ft.Container(content=banner(self.notice, "info", identifier="lock-notice") if self.notice else None)
        self.button = primary_button("Unlock", self.app.act(self._unlock), "unlock", icon=ft.Icons.LOCK_OPEN)
        return entry_frame(
            self.app.page.width,
            heading("Unlock your record"),
            muted("Your record is encrypted. Type your passphrase to open it."),
            labelled(self.field, "unlock-passphrase"),
            self.error,
            self.button,
        )

    async def _unlock(self) -> None:
        self.error.content = muted("Unlocking…")
        self.button.disabled = True
        self.app.page.update()
        try:
            await self.app.run(self.app.session.unlock, self.field.value or "")
        except Exception as exc:  # noqa: BLE001 - shown in place
            self.error.content = banner(self.app.message_for(exc), "alert", identifier="unlock-error")
            self.button.disabled = False
            self.field.value = ""
            return
        self.field.value = ""
        await self.app.after_unlock()
