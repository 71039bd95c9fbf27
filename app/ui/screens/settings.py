"""Settings: when Carry locks itself, where the record is, where shared links live."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from ..theme import INK
from ..widgets import card, heading, labelled, muted, primary_button
from .common import page_body

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["SettingsView"]

_THIS_COMPUTER, _CARRY_HOST = "this-computer", "carry-host"


class SettingsView:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.control: ft.Control | None = None
        self.where = ft.RadioGroup(value=_THIS_COMPUTER, content=ft.Column([
            ft.Radio(value=_THIS_COMPUTER, label="This computer"),
            ft.Radio(value=_CARRY_HOST, label="A Carry host"),
        ], spacing=4))  # fmt: skip
        self.now = ft.Text("", size=14, color=INK)
        self.host_url = ft.TextField(label="Carry host address", hint_text="https://share.example.org", width=420)
        self.credential = ft.TextField(label="Publish credential", password=True, can_reveal_password=True,
                                       width=420, hint_text="from carry host add-device on the host")  # fmt: skip

    async def load(self) -> ft.Control:
        from app.shares import ShareSettings

        session = self.app.session
        choice = ft.Dropdown(
            label="Lock after this long without activity",
            value=str(session.autolock_minutes),
            options=[ft.DropdownOption(key=str(m), text=f"{m} minute{'s' if m != 1 else ''}")
                     for m in session.autolock_choices()],  # fmt: skip
            on_select=self.app.act(self._autolock),
            width=320,
        )
        settings = await self.app.run(ShareSettings.load)
        self.where.value = _CARRY_HOST if settings.host_url else _THIS_COMPUTER
        self.host_url.value = settings.host_url or ""
        self.now.value = _now_text(settings.host_url)
        return page_body(
            card(ft.Column([heading("Automatic lock", 2),
                            muted("Carry locks your record when you have not used it for a while; "
                                  "you unlock it again with your passphrase."),
                            labelled(choice, "autolock", "Lock after this long without activity")], spacing=10)),  # fmt: skip
            card(ft.Column([heading("Your record", 2),
                            ft.Text(str(session.path), size=14, color=INK),
                            muted("Encrypted with SQLCipher 4. Only your passphrase opens it; a lost passphrase "
                                  "cannot be recovered.")], spacing=8)),  # fmt: skip
            card(ft.Column([heading("Where your links live", 2),
                            muted("The links you share are encrypted before they leave Carry: the host keeps only "
                                  "ciphertext, never the key, your name or the label. A Carry host (`carry host`) "
                                  "runs on a server a doctor's phone can reach; its owner gives you a credential."),
                            self.now,
                            self.where, self.host_url, self.credential,
                            primary_button("Save where links live", self.app.act(self._save_where), "save-link-host")],
                           spacing=10)),  # fmt: skip
        )

    async def _autolock(self, e: Any) -> None:
        minutes = int(e.control.value)
        await self.app.run(self.app.session.set_autolock, minutes)
        self.app.notify(f"Carry will lock after {minutes} minute{'s' if minutes != 1 else ''} without activity.", "ok")

    async def _save_where(self) -> None:
        from app.shares import use_carry_host, use_this_computer

        if self.where.value == _THIS_COMPUTER:
            await self.app.run(use_this_computer)
            self.now.value = _now_text(None)
            self.app.notify("New links live on this computer; links made on a Carry host stay there.", "ok")
            return
        url = (self.host_url.value or "").strip()
        device = await self.app.run(use_carry_host, self.app.session.require(), url, self.credential.value or "")
        self.credential.value = ""  # shown once, kept only in the record
        self.now.value = _now_text(url.rstrip("/"))
        self.app.notify(f"New links live on the Carry host at {url.rstrip('/')} (this device is "
                        f"{str(device.get('device', ''))[:64]!r} there).", "ok")  # fmt: skip


def _now_text(host_url: str | None) -> str:
    if host_url:
        return f"Now: the Carry host at {host_url}."
    return "Now: this computer. A doctor can open them only while this computer is on and reachable."
