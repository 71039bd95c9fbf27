"""Settings: how Carry looks (units, light or dark, text size), when it locks itself, the passphrase, a backup and an
export to keep, where the record is, where shared links live. The work is app/views' and app/record's; this wires it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.views.keeping import EXPORT_FORMATS, EXPORT_WARNING, Download, backup_download, export_download
from app.views.preferences import APPEARANCES, TEXT_SIZES, UNIT_CHOICES

from ..theme import INK
from ..widgets import banner, card, heading, labelled, muted, named_radios, primary_button
from .common import page_body
from .entry import passphrase_field

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
        host = ft.TextField(label="Carry host address", hint_text="https://share.example.org", width=420)
        self.host_url = Typed(host)
        # (Flutter's own reveal button has no accessible name: the passphrase field's has.)
        self.credential = Typed(passphrase_field("Publish credential"))
        self.credential.field.hint_text = "the one the host's owner made for this device"

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
        prefs = self.app.prefs
        looks = card(ft.Column([
            heading("How Carry looks", 2),
            self._choice("Units", "units", prefs.units, UNIT_CHOICES),
            self._choice("Light or dark", "appearance", prefs.appearance, APPEARANCES),
            self._choice("Text size", "text_size", prefs.text_size, {k: v[0] for k, v in TEXT_SIZES.items()}),
        ], spacing=10))  # fmt: skip
        settings = await self.app.run(ShareSettings.load)
        self.where.value = _CARRY_HOST if settings.host_url else _THIS_COMPUTER
        self.host_url.set(settings.host_url or "")
        self.now.value = _now_text(settings.host_url)
        self.where_result = ft.Container()  # a refusal is said here, beside the button, not in a passing notice
        return page_body(
            looks,
            card(ft.Column([heading("Automatic lock", 2),
                            muted("Carry locks your record when you have not used it for a while; "
                                  "you unlock it again with your passphrase."),
                            labelled(choice, "autolock", "Lock after this long without activity")], spacing=10)),  # fmt: skip
            self._passphrase_card(),
            self._backup_card(),
            self._export_card(),
            card(ft.Column([heading("Your record", 2),
                            ft.Text(str(session.path), size=14, color=INK),
                            muted("Encrypted with SQLCipher 4. Only your passphrase opens it; a lost passphrase "
                                  "cannot be recovered.")], spacing=8)),  # fmt: skip
            card(ft.Column([heading("Where your links live", 2),
                            muted("The links you share are encrypted before they leave Carry: the host keeps only "
                                  "ciphertext, never the key, your name or the label. A Carry host "
                                  "runs on a server a doctor's phone can reach; its owner gives you a credential."),
                            self.now,
                            named_radios("Where new links live", self.where),
                            self.host_url.field, self.credential.field,
                            primary_button("Save where links live", self.app.act(self._save_where), "save-link-host"),
                            self.where_result],
                           spacing=10)),  # fmt: skip
        )

    def _choice(self, title: str, name: str, value: str, options: dict[str, str]) -> ft.Control:
        async def changed(e: Any) -> None:
            await self.app.set_preference(name, e.control.value)

        group = ft.RadioGroup(value=value, on_change=self.app.act(changed), content=ft.Row(
            [ft.Radio(value=key, label=text) for key, text in options.items()], wrap=True, spacing=12))  # fmt: skip
        return named_radios(title, group, shown=True)

    # --- the passphrase -------------------------------------------------------------------------------------

    def _passphrase_card(self) -> ft.Control:
        self.current = Typed(passphrase_field("Current passphrase"))
        self.new = Typed(passphrase_field("New passphrase"))
        change = self.app.act(self._change_passphrase)
        self.repeat = Typed(passphrase_field("Repeat the new passphrase", on_submit=change))
        self.passphrase_result = ft.Container()
        return card(ft.Column([
            heading("Change your passphrase", 2),
            muted("Carry re-encrypts your record under the new passphrase. Backups you made before still open "
                  "with the old one."),
            labelled(self.current.field, "current-passphrase"), labelled(self.new.field, "changed-passphrase"),
            labelled(self.repeat.field, "repeat-changed-passphrase"),
            primary_button("Change passphrase", change, "change-passphrase",
                           icon=ft.Icons.PASSWORD),
            self.passphrase_result,
        ], spacing=10))  # fmt: skip

    async def _change_passphrase(self) -> None:
        from app.portals import Portals
        from app.record import RecordBusy

        if any(not run.finished for run in self.app.syncs.values()):
            raise RecordBusy("A sync is running; change the passphrase when it has finished. Nothing was changed.")
        fields = (self.current, self.new, self.repeat)
        try:
            await self.app.run(self.app.session.change_passphrase, *(f.text for f in fields))
        except Exception as exc:  # noqa: BLE001 - said in place, beside the fields
            self.passphrase_result.content = self.app.scaled(banner(self.app.message_for(exc), "alert",
                                                                    identifier="passphrase-result"))  # fmt: skip
            return
        finally:
            for field in fields:
                field.clear()
        self.app.portals = Portals(self.app.session.require())  # the record was reopened under the new passphrase
        self.passphrase_result.content = self.app.scaled(banner("Your passphrase is changed. Use the new one from now "
                                                                "on.", "ok", identifier="passphrase-result"))  # fmt: skip

    # --- a backup and an export to keep ---------------------------------------------------------------------

    def _backup_card(self) -> ft.Control:
        self.backup_passphrase = Typed(passphrase_field("Your passphrase", on_submit=self.app.act(self._backup)))
        self.backup_ready = ft.Container()
        return card(ft.Column([
            heading("Back up your record", 2),
            muted("A backup is a copy of your encrypted record: it opens only with your passphrase, on this device "
                  "or a new one (\"Restore from a backup\" when Carry starts). Carry checks that it opens before "
                  "offering it."),
            labelled(self.backup_passphrase.field, "backup-passphrase"),
            primary_button("Make a backup", self.app.act(self._backup), "make-backup", icon=ft.Icons.BACKUP_OUTLINED),
            self.backup_ready,
        ], spacing=10))  # fmt: skip

    async def _backup(self) -> None:
        passphrase = self.backup_passphrase.text
        self.backup_passphrase.clear()
        try:
            download, _ = await self.app.run(backup_download, self.app.session.require(), passphrase)
        except Exception as exc:  # noqa: BLE001 - said in place, beside the button (a notice would cover it)
            self.backup_ready.content = self.app.scaled(banner(self.app.message_for(exc), "alert",
                                                               identifier="backup-result"))  # fmt: skip
            return
        self.backup_ready.content = self._download(download, "Download the backup", "download-backup", "ok")

    def _export_card(self) -> ft.Control:
        self.export_format = ft.RadioGroup(value="bundle", content=ft.Column(
            [ft.Radio(value=key, label=text) for key, text in EXPORT_FORMATS.items()], spacing=4))  # fmt: skip
        self.export_ready = ft.Container()
        return card(ft.Column([
            heading("Export your records", 2),
            muted("Every record, exactly as Carry received it, in a format other health apps read."),
            named_radios("Export format", self.export_format),
            banner(EXPORT_WARNING, "warn", identifier="export-warning"),
            primary_button("Prepare the export", self.app.act(self._export), "prepare-export",
                           icon=ft.Icons.FILE_DOWNLOAD_OUTLINED),
            self.export_ready,
        ], spacing=10))  # fmt: skip

    async def _export(self) -> None:
        person = self.app.scope.person if len(self.app.people) > 1 else None
        download = await self.app.run(export_download, self.app.session.require(), self.export_format.value or
                                      "bundle", person)  # fmt: skip
        self.export_ready.content = self._download(download, "Download the export", "download-export", "warn")

    def _download(self, download: Download, label: str, identifier: str, tone: str) -> ft.Control:
        url = self.app.context.links.offer(download.data, download.content_type, download.file_name)
        # An attachment (Content-Disposition), so opening it in this tab saves it and Carry stays open.
        button = ft.FilledButton(content=label, icon=ft.Icons.DOWNLOAD, action=ft.OpenUrl(url, target=ft.UrlTarget.SELF))
        return self.app.scaled(ft.Column([
            banner(download.sentence, tone, identifier=f"{identifier}-ready"),
            labelled(button, identifier),
            muted("The download works for five minutes, from this computer only.", size=12),
        ], spacing=8))  # fmt: skip

    async def _autolock(self, e: Any) -> None:
        minutes = int(e.control.value)
        await self.app.run(self.app.session.set_autolock, minutes)
        self.app.notify(f"Carry will lock after {minutes} minute{'s' if minutes != 1 else ''} without activity.", "ok")

    async def _save_where(self) -> None:
        from app.shares import use_carry_host, use_this_computer

        self.where_result.content = None
        if self.where.value == _THIS_COMPUTER:
            await self.app.run(use_this_computer)
            self.now.value = _now_text(None)
            self.app.notify("New links live on this computer; links made on a Carry host stay there.", "ok")
            return
        url = self.host_url.text.strip()
        try:
            device = await self.app.run(use_carry_host, self.app.session.require(), url, self.credential.text)
        except Exception as exc:  # noqa: BLE001 - said in place, beside the button (a notice would cover it)
            self.where_result.content = self.app.scaled(banner(self.app.message_for(exc), "alert",
                                                               identifier="where-result"))  # fmt: skip
            return
        self.credential.clear()  # shown once, kept only in the record
        self.now.value = _now_text(url.rstrip("/"))
        self.app.notify(f"New links live on the Carry host at {url.rstrip('/')} (this device is "
                        f"{str(device.get('device', ''))[:64]!r} there).", "ok")  # fmt: skip


class Typed:
    """A text field and what the patient typed into it, as its change events said it; handlers read `text`, never
    `field.value`.

    Flet's web client sends a field's text two ways: as the control's `value` property, and as the data of its
    change event when it has an on_change handler. The property is sent only if the client finds the control in its
    index by id (FletBackend.updateControl) and is dropped without a word otherwise; an event is sent by id, without
    that look-up. After a backup at 1280 px, the three passphrase fields showed what was typed while no value of
    theirs reached this server (their clicks did), so `field.value` was "" when "Change passphrase" was pressed
    (issue 18). The events carry the text."""

    def __init__(self, field: ft.TextField) -> None:
        self.field = field
        self._said: str | None = None
        field.on_change = self._changed

    def _changed(self, e: Any) -> None:
        self._said = e.data if isinstance(e.data, str) else ""

    @property
    def text(self) -> str:
        return self._said if self._said is not None else self.field.value or ""

    def set(self, text: str) -> None:
        self.field.value = text
        self._said = None

    def clear(self) -> None:
        """Empty the field here and on the page. The control is first given the text the page shows, so that ""
        is a change Flet sends even when the page's text never reached the control."""
        self.field.value = self.text
        self.field.value = ""
        self._said = None


def _now_text(host_url: str | None) -> str:
    if host_url:
        return f"Now: the Carry host at {host_url}."
    return "Now: this computer. A doctor can open them only while this computer is on and reachable."
