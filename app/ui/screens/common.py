"""Pieces several screens use: the scrolling page body, the person picker, the Back button, a load's outcome, a
dialog at the patient's text size, a sync's live panel, importing a file picked by the patient, and the button that
opens the form for the patient's own entries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import flet as ft

from app.record.imports import Whose, document_proposal, import_path

from ..appearance import scale_text
from ..hooks import Loaded, TextScale, component, use_app_state, use_once, use_session, use_state, use_value
from ..paths import add_path
from ..session import UiSession
from ..syncing import SyncRun
from ..theme import INK, MUTED, OUTLINE, PRIMARY, SURFACE
from ..uploads import UPLOAD_LIMIT, UploadFailed, discard, too_large
from ..widgets import banner, heading, labelled, loading, muted, secondary_button, tidying_note

__all__ = [
    "AddEntryButton",
    "BackButton",
    "ImportFileButton",
    "PassphraseField",
    "PersonPicker",
    "PickedBackup",
    "SyncPanel",
    "loaded_or",
    "page_body",
    "use_modal",
]


def page_body(*controls: ft.Control | None, scroll: bool = True) -> ft.Control:
    return ft.Container(
        content=ft.Column(
            [c for c in controls if c is not None],
            spacing=14,
            scroll=ft.ScrollMode.AUTO if scroll else None,
            expand=True,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        ),
        padding=ft.Padding.symmetric(horizontal=16, vertical=14),
        expand=True,
    )


@component
def PassphraseField(
    label: str,
    identifier: str,
    on_change: Callable[[str], Any],
    *,
    word: str = "passphrase",
    on_submit: Callable[..., Any] | None = None,
    autofocus: bool = False,
    clear: int = 0,
    hint: str | None = None,
    width: float | None = None,
    button_always_shown: bool = False,
) -> ft.Control:
    """A hidden-text field (a passphrase, a passcode: `word`) with its own show/hide button whose name a screen
    reader says ("Show the passcode"; a tooltip alone, or Flutter's built-in button, gives it none).

    What is typed goes to `on_change` at each keystroke, so the app holds it before any button is pressed (a key
    typed just before a click is never behind). The field is emptied when `clear` changes (after an attempt, the
    secret is not left in the page). The button sits at the field's end while the field has the focus, or always
    (`button_always_shown`: a suffix icon, for a field in a row of others); `width` fixes the field's width."""
    shown, set_shown = use_state(False)
    cleared = use_value(clear)
    reset = cleared.current != clear
    cleared.current = clear
    name = f"Hide the {word}" if shown else f"Show the {word}"
    reveal = ft.IconButton(
        ft.Icons.VISIBILITY_OFF_OUTLINED if shown else ft.Icons.VISIBILITY_OUTLINED,
        tooltip=name,
        on_click=lambda: set_shown(not shown),
        icon_size=20,
    )
    button = ft.Semantics(content=reveal, label=name, button=True, exclude_semantics=True)
    field = ft.TextField(
        label=label,
        hint_text=hint,
        password=not shown,
        autofocus=autofocus,
        width=width,
        border_radius=10,
        # Uncontrolled while typing (the browser keeps the text); "" once to empty it after an attempt.
        value="" if reset else None,  # type: ignore[arg-type]
        on_change=lambda e: on_change(str(e.control.value or "")),
        on_submit=on_submit,
        suffix_icon=button if button_always_shown else None,
        suffix=None if button_always_shown else button,
    )
    return labelled(field, identifier)


class PickedBackup:
    """A backup file the patient chose (Welcome's restore, Settings' restore), and where it is on Carry's side once
    uploaded (web mode); kept across renders (use_once)."""

    def __init__(self) -> None:
        self.picker: ft.FilePicker | None = None
        self.file: ft.FilePickerFile | None = None
        self.uploaded: Path | None = None

    async def choose(self) -> str | None:
        """The file picker: the chosen file's name, or None when the patient chose none."""
        if self.picker is None:
            self.picker = ft.FilePicker()
        files = await self.picker.pick_files(dialog_title="Choose the backup file", allow_multiple=False)
        if not files:
            return None
        self.forget_upload()
        self.file = files[0]
        return files[0].name

    async def path(self, session: UiSession) -> Path:
        """Where the chosen backup can be read: where it is (the desktop), or uploaded once to Carry's own server
        into a private folder (the browser), kept there for another try with another passphrase (it is encrypted)
        until the restore is done or the patient leaves."""
        chosen = self.file
        if chosen is None:
            raise UploadFailed("Choose the backup file first.")
        if chosen.size > UPLOAD_LIMIT:
            raise UploadFailed(too_large(UPLOAD_LIMIT))
        if chosen.path:
            return Path(chosen.path)
        if self.uploaded is None:
            assert self.picker is not None
            uploads = session.context.uploads
            token = uploads.expect(chosen.name)
            await self.picker.upload([ft.FilePickerUploadFile(upload_url=f"/upload/{token}", method="PUT",
                                                              id=chosen.id)])  # fmt: skip
            self.uploaded = await uploads.wait(token, timeout=600)
        return self.uploaded

    def forget_upload(self) -> None:
        if self.uploaded is not None:
            discard(self.uploaded)
            self.uploaded = None


def loaded_or(result: Loaded[Any], render: Callable[[Any], ft.Control]) -> ft.Control:
    """The screen once its data is there; a ring before; the reason when the first load failed. A reload that
    fails keeps the last data on screen, with the reason above it."""
    if not result.ready:
        if result.error:
            return page_body(banner(result.error, "alert", identifier="load-error"))
        return loading()
    body = render(result.data)
    if result.error:
        return ft.Column([banner(result.error, "alert", identifier="load-error"), body], spacing=14)
    return body


@component
def PersonPicker() -> ft.Control | None:
    """Whose record is shown, when the record holds more than one person."""
    session = use_session()
    state = use_app_state()
    if len(state.people) < 2:
        return None
    current = state.scope.person.key if state.scope.person else None
    dropdown = ft.Dropdown(
        label="Whose record",
        value=current,
        options=[ft.DropdownOption(key=p.key, text=p.name) for p in state.people],
        on_select=session.act(lambda e: session.set_scope(e.control.value)),
        width=320,
        dense=True,
    )
    return labelled(dropdown, "person-picker", "Whose record")


@component
def BackButton(fallback: str = "/") -> ft.Control:
    """Back to the screen this one was opened from (the browser's Back does the same)."""
    session = use_session()
    button = ft.TextButton(content="Back", icon=ft.Icons.ARROW_BACK, on_click=session.act(lambda: session.back(fallback)))
    return ft.Row([labelled(button, "back")])


def use_modal(dialog: ft.AlertDialog | None) -> None:
    """Show `dialog` over the page while it is given (None: closed), at the patient's text size."""
    factor = ft.use_context(TextScale)
    if dialog is not None and factor != 1.0:
        scale_text(dialog, factor)
    ft.use_dialog(dialog)


@component
def SyncPanel(run: SyncRun) -> ft.Control:
    """One sync's progress: what it is doing, the share of the work done, a bar per kind of record, and the
    outcome once it ended. Renders again when the run moves on (its observable tick), nothing else does."""
    tick, set_tick = cast(Any, ft.use_state)(lambda: run.tick)  # observed: renders again when the tick moves
    if tick is not run.tick:  # another run in this place: observe its tick instead
        set_tick(run.tick)
    state = use_app_state()
    phone = state.phone  # narrower name and count columns: the bars keep some width on a phone
    rows: list[ft.Control] = [
        ft.Row(
            [
                ft.Text(row.name, size=13, color=INK, width=128 if phone else 170),
                ft.Container(
                    content=ft.ProgressBar(value=row.fraction, bar_height=5, border_radius=3, color=PRIMARY,
                                           semantics_label=f"{row.name} progress"),  # fmt: skip
                    expand=True,
                ),
                ft.Text(row.count_text, size=12, color=MUTED, width=96 if phone else 110, text_align=ft.TextAlign.RIGHT),
            ],
            vertical_alignment=ft.CrossAxisAlignment.CENTER,
        )
        for row in run.rows()
    ]
    outcome: ft.Control | None = None
    if run.finished:
        outcome = (banner(run.error, "alert", identifier="sync-error") if run.error is not None
                   else banner(run.summary(), "ok", identifier="sync-done"))  # fmt: skip
    overall = ft.ProgressBar(value=run.overall, bar_height=6, border_radius=3, color=PRIMARY,
                             semantics_label=f"Syncing {run.name}")  # fmt: skip
    body = [heading(f"Sync from {run.name}", 2), ft.Text(run.status, size=14, color=INK), overall,
            ft.Column(rows, spacing=6), outcome, tidying_note(state.tidying) if run.tidies else None]  # fmt: skip
    return labelled(
        ft.Container(
            content=ft.Column([c for c in body if c is not None], spacing=10),
            bgcolor=SURFACE,
            border_radius=14,
            padding=16,
            border=ft.Border.all(1, OUTLINE),
        ),
        "sync-panel",
    )


class _Asked:
    """A PDF's or photo's title and date, asked in a dialog: the proposal shown, what is typed, the answer awaited."""

    def __init__(self, content_type: str, title: str, day: str | None) -> None:
        self.content_type = content_type
        self.title = title
        self.day = day or ""
        self.answer: asyncio.Future[tuple[str, str | None] | None] = asyncio.get_running_loop().create_future()

    def give(self, value: tuple[str, str | None] | None) -> None:
        if not self.answer.done():
            self.answer.set_result(value)


@component
def ImportFileButton(label: str, identifier: str, whose: Whose) -> ft.Control:
    """A button that imports one file the patient picks. In the browser the file is uploaded to Carry's own server
    (app/ui/uploads.py), imported and deleted at once; on the desktop it is read where it is. A PDF or a photo
    first has its title and date confirmed by the patient. `whose`: the person a file that names nobody is for."""
    session = use_session()
    tidying = use_app_state().tidying
    holder = use_once(lambda: cast(list[ft.FilePicker], []))  # the picker, made at first use in the page it serves
    tidies, set_tidies = ft.use_state(False)  # this button's import is followed by a rewrite of the record file
    asked, set_asked = ft.use_state(cast(_Asked | None, None))
    typed_title = use_value("")
    typed_day = use_value("")
    waiting = use_value(cast(_Asked | None, None))  # the question open now: answered "cancel" if the screen goes

    def gone() -> None:
        if waiting.current is not None:
            waiting.current.give(None)

    ft.use_effect(lambda: None, [], cleanup=gone)

    async def ask(content_type: str, title: str, day: str | None) -> tuple[str, str | None] | None:
        question = _Asked(content_type, title, day)
        typed_title.current, typed_day.current = title, day or ""
        waiting.current = question
        set_asked(question)
        try:
            return await question.answer
        finally:
            waiting.current = None
            set_asked(None)

    async def import_file(path: Path, name: str) -> None:
        title: str | None = None
        day: str | None = None
        proposal = await session.run(document_proposal, path, name)
        if proposal is not None:
            answer = await ask(proposal.content_type, proposal.title, proposal.date)
            if answer is None:
                session.notify(f"{name}: nothing was imported.", "info")
                return
            title, day = answer[0] or proposal.title, answer[1]
        report = await session.run(import_path, session.require(), path, whose=whose, title=title, date=day)
        set_tidies(session.require().rewriting() is not None)  # a big import: the file is rewritten, said below
        session.follow_rewrite()
        c = report.counts
        notes = " ".join(getattr(report, "notes", ()))
        await session.record_changed()
        session.notify(f"{title or report.origin}: {c.imported:,} new, {c.updated:,} updated, {c.unchanged:,} unchanged."
                       + (f" {notes}" if notes else ""), "ok")  # fmt: skip

    async def pick() -> None:
        if not holder:
            holder.append(ft.FilePicker())
        picker = holder[0]
        picked = await picker.pick_files(dialog_title="Import a file", allow_multiple=False)
        if not picked:
            return
        chosen = picked[0]
        if chosen.size > UPLOAD_LIMIT:
            raise UploadFailed(too_large(UPLOAD_LIMIT))
        if chosen.path:
            await import_file(Path(chosen.path), chosen.name)
            return
        uploads = session.context.uploads
        token = uploads.expect(chosen.name)
        await picker.upload([ft.FilePickerUploadFile(upload_url=f"/upload/{token}", method="PUT", id=chosen.id)])
        path = await uploads.wait(token, timeout=600)
        try:
            await import_file(path, chosen.name)
        finally:
            discard(path)

    dialog: ft.AlertDialog | None = None
    if asked is not None:
        question = asked
        what = "a PDF" if question.content_type == "application/pdf" else "a photo"
        explain = ("Carry proposes the file's name and the date the file states; correct them as you like. The file is "
                   "kept whole inside your encrypted record.")  # fmt: skip

        def title_typed(e: ft.Event[ft.TextField]) -> None:
            typed_title.current = str(e.control.value or "")

        def day_typed(e: ft.Event[ft.TextField]) -> None:
            typed_day.current = str(e.control.value or "")

        def confirm() -> None:
            question.give((typed_title.current.strip(), typed_day.current.strip() or None))

        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(f"Import {what}"),
            content=ft.Column([
                muted(explain, size=13),
                labelled(ft.TextField(label="Title", value=question.title, max_length=200, on_change=title_typed),
                         "document-title"),
                labelled(ft.TextField(label="Date (YYYY-MM-DD)", value=question.day, hint_text="e.g. 2024-03-18",
                                      on_change=day_typed), "document-date"),
            ], tight=True, spacing=10),
            actions=[
                ft.TextButton(content="Cancel", on_click=lambda: question.give(None)),
                labelled(ft.FilledButton(content="Import", on_click=confirm), "document-import"),
            ],
        )  # fmt: skip
    use_modal(dialog)
    button = secondary_button(label, session.act(pick), identifier, icon=ft.Icons.UPLOAD_FILE)
    note = tidying_note(tidying) if tidies else None
    return button if note is None else ft.Column([button, note], spacing=10)


@component
def AddEntryButton(identifier: str, kind: str = "reading", label: str = "Add", name: str | None = None) -> ft.Control:
    """Opens the form for the patient's own entries on `kind` (a section's header, the results list). `name` is
    what a screen reader says when the visible `label` alone ("Add") would not tell two such buttons apart."""
    session = use_session()
    button = ft.TextButton(content=label, icon=ft.Icons.ADD, on_click=session.act(lambda: session.navigate(add_path(kind))))
    if name is None:
        return labelled(button, identifier)
    return ft.Semantics(content=button, label=name, button=True, exclude_semantics=True, identifier=identifier)
