"""A new device: "Restore from a backup". The patient picks the backup file and types its passphrase; Carry checks
that the passphrase opens it and that it is a Carry record before it becomes the record here (app/record/backup.py),
then unlocks it. Only offered where there is no record yet: an existing record is never replaced from here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import flet as ft

from app.record.backup import restore_backup

from ..uploads import UPLOAD_LIMIT, UploadFailed, discard, too_large
from ..widgets import banner, heading, labelled, muted, primary_button, secondary_button
from .entry import entry_frame, passphrase_field

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["RestorePanel"]


class RestorePanel:
    def __init__(self, app: CarryApp, back: Callable[[], Awaitable[None] | None]) -> None:
        self.app = app
        self.back = back
        self.picker: ft.FilePicker | None = None
        self.picked: ft.FilePickerFile | None = None
        self.uploaded: Path | None = None  # the picked backup on Carry's side (web mode)

    def build(self) -> ft.Control:
        self.chosen = muted("No file chosen yet.")
        self.field = passphrase_field("Passphrase of the backup", on_submit=self.app.act(self._restore))
        self.error = ft.Container()
        self.button = primary_button("Restore", self.app.act(self._restore), "restore", icon=ft.Icons.RESTORE)
        return entry_frame(
            self.app.page.width,
            heading("Restore from a backup"),
            ft.Text("Pick a backup Carry made, and type the passphrase it was made with. Carry checks that it opens "
                    "before it becomes your record on this device.", size=15),  # fmt: skip
            secondary_button("Choose the backup file", self.app.act(self._pick), "choose-backup",
                             icon=ft.Icons.FOLDER_OPEN_OUTLINED),  # fmt: skip
            labelled(self.chosen, "backup-chosen"),
            labelled(self.field, "restore-passphrase"),
            self.error,
            ft.Row([self.button, ft.TextButton(content="Back", on_click=self.app.act(self._leave))], wrap=True, spacing=10),
        )

    async def _pick(self) -> None:
        if self.picker is None:
            self.picker = ft.FilePicker()
        picked = await self.picker.pick_files(dialog_title="Choose the backup file", allow_multiple=False)
        if picked:
            self._forget_upload()
            self.picked = picked[0]
            self.chosen.value = f"Chosen: {self.picked.name}"

    async def _leave(self) -> None:
        self._forget_upload()
        done = self.back()
        if done is not None:
            await done

    def _forget_upload(self) -> None:
        if self.uploaded is not None:
            discard(self.uploaded)
            self.uploaded = None

    async def _file(self, chosen: ft.FilePickerFile) -> Path:
        """Where the picked backup can be read: where it is (the desktop), or uploaded once to Carry's own server
        into a private folder (the browser), kept there for another try with another passphrase (it is encrypted)
        until the restore is done or the patient leaves."""
        if chosen.path:
            return Path(chosen.path)
        if self.uploaded is None:
            assert self.picker is not None
            uploads = self.app.context.uploads
            token = uploads.expect(chosen.name)
            await self.picker.upload([ft.FilePickerUploadFile(upload_url=f"/upload/{token}", method="PUT",
                                                              id=chosen.id)])  # fmt: skip
            self.uploaded = await uploads.wait(token, timeout=600)
        return self.uploaded

    async def _restore(self) -> None:
        chosen, passphrase = self.picked, self.field.value or ""
        self.field.value = ""
        if chosen is None:
            self.error.content = banner("Choose the backup file first.", "alert", identifier="restore-error")
            return
        if chosen.size > UPLOAD_LIMIT:
            raise UploadFailed(too_large(UPLOAD_LIMIT))
        self.error.content = muted("Checking the backup…")
        self.button.disabled = True
        self.app.page.update()
        try:
            path = await self._file(chosen)
            await self.app.run(restore_backup, path, passphrase, self.app.session.path)
            self._forget_upload()
            await self.app.run(self.app.session.unlock, passphrase)
        except Exception as exc:  # noqa: BLE001 - shown in place
            self.error.content = banner(self.app.message_for(exc), "alert", identifier="restore-error")
            self.button.disabled = False
            return
        await self.app.after_unlock()
        self.app.notify("Your record is restored from the backup and unlocked.", "ok")
