"""Settings: when Carry locks itself, where the record is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from ..theme import INK
from ..widgets import card, heading, labelled, muted
from .common import page_body

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["SettingsView"]


class SettingsView:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.control: ft.Control | None = None

    async def load(self) -> ft.Control:
        session = self.app.session
        choice = ft.Dropdown(
            label="Lock after this long without activity",
            value=str(session.autolock_minutes),
            options=[ft.DropdownOption(key=str(m), text=f"{m} minute{'s' if m != 1 else ''}")
                     for m in session.autolock_choices()],  # fmt: skip
            on_select=self.app.act(self._autolock),
            width=320,
        )
        return page_body(
            card(ft.Column([heading("Automatic lock", 2),
                            muted("Carry locks your record when you have not used it for a while; "
                                  "you unlock it again with your passphrase."),
                            labelled(choice, "autolock", "Lock after this long without activity")], spacing=10)),  # fmt: skip
            card(ft.Column([heading("Your record", 2),
                            ft.Text(str(session.path), size=14, color=INK),
                            muted("Encrypted with SQLCipher 4. Only your passphrase opens it; a lost passphrase "
                                  "cannot be recovered.")], spacing=8)),  # fmt: skip
        )

    async def _autolock(self, e: Any) -> None:
        minutes = int(e.control.value)
        await self.app.run(self.app.session.set_autolock, minutes)
        self.app.notify(f"Carry will lock after {minutes} minute{'s' if minutes != 1 else ''} without activity.", "ok")
