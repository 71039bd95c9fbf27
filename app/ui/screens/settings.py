"""Settings: how Carry looks (units, light or dark, text size), when it locks itself, the passphrase, a backup and an
export to keep, a backup restored over the record here, where the record is, where shared links live. The work is
app/views' and app/record's; this wires it.

Every passphrase and address typed here reaches the session at each keystroke (use_value), so a button reads what
the patient typed, never a field's value at the moment of the click."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flet as ft

from app.portals import Portals
from app.record import RecordBusy
from app.record.backup import check_backup, record_counts, restore_backup
from app.shares import ShareSettings, use_carry_host, use_this_computer
from app.views.keeping import EXPORT_FORMATS, EXPORT_WARNING, Download, backup_download, export_download
from app.views.preferences import APPEARANCES, TEXT_SIZES, UNIT_CHOICES

from ..hooks import (
    component,
    use_app_state,
    use_load,
    use_once,
    use_optional,
    use_session,
    use_state,
    use_title,
    use_value,
)
from ..session import UiSession
from ..theme import INK
from ..uploads import discard
from ..widgets import banner, card, heading, labelled, muted, named_radios, present, primary_button, secondary_button
from .common import PassphraseField, PickedBackup, page_body, use_modal

__all__ = ["Settings"]

_THIS_COMPUTER, _CARRY_HOST = "this-computer", "carry-host"


@dataclass(frozen=True)
class _Said:
    """What a card says after its button was pressed: a sentence, or a download ready."""

    text: str
    tone: str
    url: str | None = None  # a short-lived link to the file (Carry's own server)


@component
def Settings() -> ft.Control:
    session = use_session()
    state = use_app_state()
    use_title("Settings")
    prefs = state.prefs
    minutes = session.record_session.autolock_minutes

    async def autolock(e: Any) -> None:
        chosen = int(e.control.value)
        await session.run(session.record_session.set_autolock, chosen)
        session.notify(f"Carry will lock after {chosen} minute{'s' if chosen != 1 else ''} without activity.", "ok")

    choice = ft.Dropdown(
        label="Lock after this long without activity",
        value=str(minutes),
        options=[ft.DropdownOption(key=str(m), text=f"{m} minute{'s' if m != 1 else ''}")
                 for m in session.record_session.autolock_choices()],  # fmt: skip
        on_select=session.act(autolock),
        width=320,
    )
    looks = card(ft.Column([
        heading("How Carry looks", 2),
        _choice(session, "Units", "units", prefs.units, UNIT_CHOICES),
        _choice(session, "Light or dark", "appearance", prefs.appearance, APPEARANCES),
        _choice(session, "Text size", "text_size", prefs.text_size, {k: v[0] for k, v in TEXT_SIZES.items()}),
    ], spacing=10))  # fmt: skip
    return page_body(
        looks,
        card(ft.Column([heading("Automatic lock", 2),
                        muted("Carry locks your record when you have not used it for a while; "
                              "you unlock it again with your passphrase."),
                        labelled(choice, "autolock", "Lock after this long without activity")], spacing=10)),  # fmt: skip
        PassphraseCard(),
        BackupCard(),
        RestoreCard(),
        ExportCard(),
        card(ft.Column([heading("Your record", 2),
                        ft.Text(str(session.record_session.path), size=14, color=INK),
                        muted("Encrypted with SQLCipher 4. Only your passphrase opens it; a lost passphrase "
                              "cannot be recovered.")], spacing=8)),  # fmt: skip
        LinkHostCard(),
    )


def _choice(session: UiSession, title: str, name: str, value: str, options: dict[str, str]) -> ft.Control:
    async def changed(e: Any) -> None:
        await session.set_preference(name, e.control.value)

    group = ft.RadioGroup(value=value, on_change=session.act(changed), content=ft.Row(
        [ft.Radio(value=key, label=text) for key, text in options.items()], wrap=True, spacing=12))  # fmt: skip
    # The group is named by its title, so a screen reader says what the choice is about (once).
    return named_radios(title, group, shown=True)


def _said(said: _Said | None, identifier: str, label: str = "") -> ft.Control | None:
    if said is None:
        return None
    if said.url is None:
        return banner(said.text, said.tone, identifier=identifier)
    # An attachment (Content-Disposition), so opening it in this tab saves it and Carry stays open.
    button = ft.FilledButton(content=label, icon=ft.Icons.DOWNLOAD, action=ft.OpenUrl(said.url, target=ft.UrlTarget.SELF))
    return ft.Column([
        banner(said.text, said.tone, identifier=f"{identifier}-ready"),
        labelled(button, identifier),
        muted("The download works for five minutes, from this computer only.", size=12),
    ], spacing=8)  # fmt: skip


def _offer(session: UiSession, download: Download, tone: str) -> _Said:
    url = session.context.links.offer(download.data, download.content_type, download.file_name)
    return _Said(download.sentence, tone, url)


@component
def PassphraseCard() -> ft.Control:
    session = use_session()
    current, new, repeat = use_value(""), use_value(""), use_value("")
    said, set_said = use_optional(_Said)
    attempts, set_attempts = use_state(0)

    async def change() -> None:
        if any(not run.finished for run in session.syncs.values()):
            raise RecordBusy("A sync is running; change the passphrase when it has finished. Nothing was changed.")
        typed = (current.current, new.current, repeat.current)
        current.current = new.current = repeat.current = ""
        set_attempts(attempts + 1)  # the three fields are emptied, whatever the outcome
        try:
            await session.run(session.record_session.change_passphrase, *typed)
        except Exception as exc:  # noqa: BLE001 - said in place, beside the fields
            set_said(_Said(session.message_for(exc), "alert"))
            return
        session.portals = Portals(session.require())  # the record was reopened under the new passphrase
        set_said(_Said("Your passphrase is changed. Use the new one from now on.", "ok"))

    return card(ft.Column(present(
        heading("Change your passphrase", 2),
        muted("Carry re-encrypts your record under the new passphrase. Backups you made before still open "
              "with the old one."),
        PassphraseField("Current passphrase", "current-passphrase", current.set, clear=attempts),
        PassphraseField("New passphrase", "changed-passphrase", new.set, clear=attempts),
        PassphraseField("Repeat the new passphrase", "repeat-changed-passphrase", repeat.set,
                        on_submit=session.act(change), clear=attempts),
        primary_button("Change passphrase", session.act(change), "change-passphrase", icon=ft.Icons.PASSWORD),
        _said(said, "passphrase-result"),
    ), spacing=10))  # fmt: skip


@component
def BackupCard() -> ft.Control:
    session = use_session()
    typed = use_value("")
    said, set_said = use_optional(_Said)
    attempts, set_attempts = use_state(0)

    async def backup() -> None:
        passphrase, typed.current = typed.current, ""
        set_attempts(attempts + 1)
        set_said(_Said("Making the backup and checking that it opens…", "info"))
        try:
            download, _ = await session.run(backup_download, session.require(), passphrase)
        except Exception as exc:  # noqa: BLE001 - said in place, beside the button (a notice would cover it)
            set_said(_Said(session.message_for(exc), "alert"))
            return
        set_said(_offer(session, download, "ok"))

    return card(ft.Column(present(
        heading("Back up your record", 2),
        muted("A backup is a copy of your encrypted record: it opens only with your passphrase, on this device "
              "or a new one (\"Restore from a backup\" when Carry starts, or \"Restore a backup\" below). Carry checks that it opens before "
              "offering it."),
        PassphraseField("Your passphrase", "backup-passphrase", typed.set, on_submit=session.act(backup), clear=attempts),
        primary_button("Make a backup", session.act(backup), "make-backup", icon=ft.Icons.BACKUP_OUTLINED),
        _said(said, "backup-result" if said is None or said.url is None else "download-backup", "Download the backup"),
    ), spacing=10))  # fmt: skip


@dataclass(frozen=True)
class _Replacing:
    """A checked backup waiting for the patient's yes: where it is, and what it and the record here hold."""

    path: Path
    backup: tuple[int, int]  # (items, sources)
    current: tuple[int, int]


def _holds(counts: tuple[int, int]) -> str:
    items, sources = counts
    return f"{items:,} item{'s' if items != 1 else ''} from {sources} source{'s' if sources != 1 else ''}"


@component
def RestoreCard() -> ft.Control:
    """Replace the record on this device with a backup: checked with the passphrase typed for the backup, a yes
    that says what is replaced, the record here kept beside (still encrypted) until the restored one has opened;
    then Carry locks, and the backup's passphrase unlocks it."""
    session = use_session()
    picked = use_once(PickedBackup)
    typed = use_value("")
    passphrase = use_value("")  # the backup's, between the check and the yes; never in state or on screen
    chosen_name, set_chosen_name = use_state("")
    said, set_said = use_optional(_Said)
    attempts, set_attempts = use_state(0)
    asking, set_asking = use_optional(_Replacing)
    ft.use_effect(lambda: None, [], cleanup=picked.forget_upload)

    async def pick() -> None:
        name = await picked.choose()
        if name is not None:
            set_chosen_name(name)
            set_said(None)

    async def check() -> None:
        secret, typed.current = typed.current, ""
        set_attempts(attempts + 1)
        set_said(_Said("Checking the backup…", "info"))
        try:
            path = await picked.path(session)
            backup = await session.run(check_backup, path, secret)
            current = await session.run(record_counts, session.require())
        except Exception as exc:  # noqa: BLE001 - said in place, beside the button
            set_said(_Said(session.message_for(exc), "alert"))
            return
        passphrase.current = secret
        set_said(None)
        set_asking(_Replacing(path, backup, current))

    def cancel() -> None:
        passphrase.current = ""
        set_asking(None)

    async def replace() -> None:
        chosen, secret = asking, passphrase.current
        passphrase.current = ""
        set_asking(None)
        if chosen is None:
            return
        target = session.record_session.path
        # This card goes when Carry locks (and with it the picked file's cleanup): the upload is the restore's now.
        uploaded, picked.uploaded = picked.uploaded, None
        # The record is closed before its file is set aside; the unlock screen says how the restore went.
        session.replacing = True
        try:
            await session.lock("Replacing your record with the backup…")
            report = await session.run(restore_backup, chosen.path, secret, target, replace=True)
        except Exception as exc:  # noqa: BLE001 - the record here is as it was; said on the unlock screen
            session.state.lock_notice = session.message_for(exc)
            return
        finally:
            session.replacing = False
            if uploaded is not None:
                discard(uploaded)
        kept = report.replaced.name if report.replaced is not None else ""
        session.state.lock_notice = (
            f"Your record is replaced by the backup ({_holds((report.resources, report.sources))}); the one before "
            f"is kept beside it as {kept}. Unlock with the backup's passphrase."
        )

    dialog = ft.AlertDialog(
        modal=True,
        title=ft.Text("Replace your record with this backup?"),
        content=labelled(ft.Column([
            ft.Text(f"Your record on this device holds {_holds(asking.current)}.", size=15),
            ft.Text(f"The backup holds {_holds(asking.backup)}.", size=15),
            ft.Text("Carry replaces your record with the backup. The record now on this device is kept beside it, "
                    "still encrypted, and opens with its own passphrase. Then Carry locks: unlock with the "
                    "backup's passphrase.", size=14),
        ], tight=True, spacing=10), "restore-confirm"),
        actions=[
            ft.TextButton(content="Cancel", on_click=cancel),
            labelled(ft.FilledButton(content="Replace my record", on_click=session.act(replace)), "confirm-restore"),
        ],
    ) if asking is not None else None  # fmt: skip
    use_modal(dialog)
    return card(ft.Column(present(
        heading("Restore a backup", 2),
        muted("Replace the record on this device with a backup Carry made. Carry checks that the backup opens with "
              "the passphrase it was made with and asks before anything is replaced."),
        secondary_button("Choose the backup file", session.act(pick), "settings-choose-backup",
                         icon=ft.Icons.FOLDER_OPEN_OUTLINED),
        labelled(muted(f"Chosen: {chosen_name}" if chosen_name else "No file chosen yet."), "settings-backup-chosen"),
        PassphraseField("Passphrase of the backup", "settings-restore-passphrase", typed.set,
                        on_submit=session.act(check), clear=attempts),
        primary_button("Check the backup", session.act(check), "check-backup", icon=ft.Icons.RESTORE),
        _said(said, "restore-result"),
    ), spacing=10))  # fmt: skip


@component
def ExportCard() -> ft.Control:
    session = use_session()
    state = use_app_state()
    fmt, set_fmt = use_state("bundle")
    said, set_said = use_optional(_Said)

    async def export() -> None:
        person = state.scope.person if len(state.people) > 1 else None
        download = await session.run(export_download, session.require(), fmt, person)
        set_said(_offer(session, download, "warn"))

    group = ft.RadioGroup(value=fmt, on_change=lambda e: set_fmt(e.control.value or "bundle"), content=ft.Column(
        [ft.Radio(value=key, label=text) for key, text in EXPORT_FORMATS.items()], spacing=4))  # fmt: skip
    return card(ft.Column(present(
        heading("Export your records", 2),
        muted("Every record, exactly as Carry received it, in a format other health apps read."),
        named_radios("Export format", group),
        banner(EXPORT_WARNING, "warn", identifier="export-warning"),
        primary_button("Prepare the export", session.act(export), "prepare-export", icon=ft.Icons.FILE_DOWNLOAD_OUTLINED),
        _said(said, "download-export", "Download the export"),
    ), spacing=10))  # fmt: skip


def _now_text(host_url: str | None) -> str:
    if host_url:
        return f"Now: the Carry host at {host_url}."
    return "Now: this computer. A doctor can open them only while this computer is on and reachable."


@component
def LinkHostCard() -> ft.Control:
    session = use_session()
    loaded = use_load(ShareSettings.load, [])
    where, set_where = use_optional(str)  # None: as saved
    host_now, set_host_now = use_optional(str)  # after a save: the host now in use ("" for this computer)
    url = use_value("")
    credential = use_value("")
    said, set_said = use_optional(_Said)
    attempts, set_attempts = use_state(0)
    saved: ShareSettings | None = loaded.data
    saved_host = saved.host_url if saved is not None else None
    current_host = (host_now or None) if host_now is not None else saved_host
    chosen = where if where is not None else (_CARRY_HOST if saved_host else _THIS_COMPUTER)
    if not url.current and saved_host:
        url.current = saved_host

    async def save() -> None:
        set_said(None)
        if chosen == _THIS_COMPUTER:
            await session.run(use_this_computer)
            set_host_now("")
            session.notify("New links live on this computer; links made on a Carry host stay there.", "ok")
            return
        address, secret = url.current.strip(), credential.current
        try:
            device = await session.run(use_carry_host, session.require(), address, secret)
        except Exception as exc:  # noqa: BLE001 - said in place, beside the button (a notice would cover it)
            set_said(_Said(session.message_for(exc), "alert"))
            return
        credential.current = ""  # shown once, kept only in the record
        set_attempts(attempts + 1)
        set_host_now(address.rstrip("/"))
        session.notify(f"New links live on the Carry host at {address.rstrip('/')} (this device is "
                       f"{str(device.get('device', ''))[:64]!r} there).", "ok")  # fmt: skip

    group = ft.RadioGroup(value=chosen, on_change=lambda e: set_where(e.control.value), content=ft.Column([
        ft.Radio(value=_THIS_COMPUTER, label="This computer"),
        ft.Radio(value=_CARRY_HOST, label="A Carry host"),
    ], spacing=4))  # fmt: skip
    host_field = ft.TextField(label="Carry host address", hint_text="https://share.example.org", width=420,
                              value=url.current, on_change=url.typed)  # fmt: skip
    return card(ft.Column(present(
        heading("Where your links live", 2),
        muted("The links you share are encrypted before they leave Carry: the host keeps only encrypted files, "
              "never the key, your name or the label. A Carry host runs on a server a doctor's phone can reach; "
              "its owner gives you a credential."),
        ft.Text(_now_text(current_host), size=14, color=INK),
        named_radios("Where new links live", group),
        host_field,
        PassphraseField("Publish credential", "publish-credential", credential.set, clear=attempts,
                        hint="the one the host's owner made for this device"),
        primary_button("Save where links live", session.act(save), "save-link-host"),
        _said(said, "where-result"),
    ), spacing=10))  # fmt: skip
