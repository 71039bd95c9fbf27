"""A new device: "Restore from a backup". The patient picks the backup file and types its passphrase; Carry checks
that the passphrase opens it and that it is a Carry record before it becomes the record here (app/record/backup.py),
then unlocks it. Only offered where there is no record yet: an existing record is never replaced from here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import flet as ft

from app.record.backup import restore_backup

from ..hooks import component, use_once, use_session, use_value
from ..uploads import UPLOAD_LIMIT, UploadFailed, discard, too_large
from ..widgets import banner, heading, labelled, muted, primary_button, secondary_button
from .entry import PassphraseField, entry_frame

__all__ = ["Restore"]


class _Picked:
    """The file chosen, and where it is on Carry's side once uploaded (web mode); kept across renders."""

    def __init__(self) -> None:
        self.picker: ft.FilePicker | None = None
        self.file: ft.FilePickerFile | None = None
        self.uploaded: Path | None = None

    def forget_upload(self) -> None:
        if self.uploaded is not None:
            discard(self.uploaded)
            self.uploaded = None


@component
def Restore(back: Callable[[], Any]) -> ft.Control:
    session = use_session()
    picked = use_once(_Picked)
    typed = use_value("")
    chosen_name, set_chosen_name = ft.use_state("")
    busy, set_busy = ft.use_state(False)
    error, set_error = ft.use_state("")
    attempts, set_attempts = ft.use_state(0)
    ft.use_effect(lambda: None, [], cleanup=picked.forget_upload)

    def changed(text: str) -> None:
        typed.current = text

    async def pick() -> None:
        if picked.picker is None:
            picked.picker = ft.FilePicker()
        files = await picked.picker.pick_files(dialog_title="Choose the backup file", allow_multiple=False)
        if files:
            picked.forget_upload()
            picked.file = files[0]
            set_chosen_name(files[0].name)

    async def file_of(chosen: ft.FilePickerFile) -> Path:
        """Where the picked backup can be read: where it is (the desktop), or uploaded once to Carry's own server
        into a private folder (the browser), kept there for another try with another passphrase (it is encrypted)
        until the restore is done or the patient leaves."""
        if chosen.path:
            return Path(chosen.path)
        if picked.uploaded is None:
            assert picked.picker is not None
            uploads = session.context.uploads
            token = uploads.expect(chosen.name)
            await picked.picker.upload([ft.FilePickerUploadFile(upload_url=f"/upload/{token}", method="PUT",
                                                                id=chosen.id)])  # fmt: skip
            picked.uploaded = await uploads.wait(token, timeout=600)
        return picked.uploaded

    async def restore() -> None:
        chosen, passphrase = picked.file, typed.current
        typed.current = ""
        set_attempts(attempts + 1)
        if chosen is None:
            set_error("Choose the backup file first.")
            return
        if chosen.size > UPLOAD_LIMIT:
            raise UploadFailed(too_large(UPLOAD_LIMIT))
        set_busy(True)
        set_error("")
        try:
            path = await file_of(chosen)
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
        PassphraseField("Passphrase of the backup", "restore-passphrase", changed, on_submit=session.act(restore),
                        clear=attempts),  # fmt: skip
        status,
        ft.Row([primary_button("Restore", session.act(restore), "restore", icon=ft.Icons.RESTORE, disabled=busy),
                ft.TextButton(content="Back", on_click=session.act(leave))], wrap=True, spacing=10),  # fmt: skip
    )
