"""Any item in full: the readable view, the patient's own notes on it, every source that states it, its provenance,
and the FHIR JSON exactly as stored; the patient can say a suggested item is the same thing, or that merged copies
are not, and can say the item is wrong or incomplete (a note kept beside it, which may be sent to its portal)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import (
    ADDED_BY_YOU,
    Attachment,
    Copy,
    Detail,
    FactInfo,
    ItemNote,
    add_correction,
    attachments,
    change_correction,
    detail,
    forget_choices,
    not_the_same,
    remove_correction,
    same_thing,
)

from ..theme import INK, MONOSPACE, MUTED
from ..widgets import banner, card, heading, labelled, muted, primary_button, row_tile, secondary_button
from .common import page_body

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["DetailView", "attachment_controls"]


def _table(rows: tuple[tuple[str, str], ...] | list[tuple[str, str]], narrow: bool) -> ft.Control:
    lines: list[ft.Control] = []
    for label, value in rows:
        name = ft.Text(label, size=13, color=MUTED, weight=ft.FontWeight.W_500, width=None if narrow else 170)
        text = ft.Text(value, size=14, color=INK, expand=not narrow)
        lines.append(ft.Column([name, text], spacing=0) if narrow else ft.Row([name, text],
                     vertical_alignment=ft.CrossAxisAlignment.START))  # fmt: skip
    return ft.Column(lines, spacing=8)


def attachment_controls(app: CarryApp, parts: list[Attachment]) -> list[ft.Control]:
    out: list[ft.Control] = []
    for n, part in enumerate(parts):
        if part.kind in ("text", "html"):
            out.append(
                ft.Semantics(
                    identifier=f"note-text-{n}",
                    content=ft.Text(part.text or "(empty)", size=15, color=INK),
                )
            )
        elif part.kind == "image" and part.data:
            out.append(ft.Image(src=part.data, semantics_label=f"{part.title} (image)", fit=ft.BoxFit.CONTAIN,
                                width=640))  # fmt: skip
        elif part.kind == "pdf" and part.data:
            if app.context.web:
                url = app.context.links.offer(part.data, "application/pdf")
                button = ft.OutlinedButton(
                    content=f"Open the PDF ({part.size_text})",
                    icon=ft.Icons.PICTURE_AS_PDF_OUTLINED,
                    action=ft.OpenUrl(url, target=ft.UrlTarget.BLANK),
                )
                out.append(labelled(button, f"open-pdf-{n}"))
                out.append(muted("Opens in a new tab, from this computer only; the link works for five minutes.",
                                 size=12))  # fmt: skip
            else:
                out.append(muted(f"PDF ({part.size_text}): open it from Carry in a browser.", size=13))
        elif part.url:
            out.append(muted(f"{part.title}: kept at {part.url} (not downloaded).", size=13))
        else:
            out.append(muted(f"{part.title}: a {part.content_type} attachment Carry cannot show.", size=13))
    return out


class DetailView:
    def __init__(self, app: CarryApp, resource_type: str, resource_id: str, source_id: int | None) -> None:
        self.app = app
        self.key = (resource_type, resource_id, source_id)
        self.control: ft.Control | None = None

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        info: Detail | None = await self.app.run(detail, record, *self.key)
        back = self.app.shell.back_button() if self.app.shell else ft.Container()
        if info is None:
            return page_body(back, banner("This item is no longer in your record.", "warn"))
        parts: list[Attachment] = []
        if self.key[0] in ("DocumentReference", "DiagnosticReport"):
            stored = await self.app.run(record.get, self.key[0], self.key[1], self.key[2])
            parts = await self.app.run(attachments, record, stored) if stored else []
        narrow = self.app.phone
        blocks: list[ft.Control] = [
            back,
            ft.Column([muted(f"{info.kind} · {info.date}" if info.date else info.kind),
                       heading(info.title, 1, identifier="detail-title")], spacing=2),  # fmt: skip
        ]
        if info.own:
            blocks.append(self._own_card(info))
        if not info.valid:
            blocks.append(banner(f"This item did not pass FHIR validation and is shown as received: "
                                 f"{info.invalid_reason}", "warn"))  # fmt: skip
        if parts:
            blocks.append(card(ft.Column([heading("Note", 2), *attachment_controls(self.app, parts)], spacing=10)))
        blocks.append(card(ft.Column([heading("Details", 2), _table(info.fields, narrow)], spacing=10)))
        blocks.append(self._notes_card(info))
        if info.fact is not None and (len(info.fact.copies) > 1 or info.fact.suggestions or info.fact.decided):
            blocks.append(self._sources_card(info.fact))
        blocks.append(card(ft.Column([heading("Where this came from", 2), _table(info.provenance, narrow)],
                                     spacing=10)))  # fmt: skip
        self.raw = ft.Container(visible=False)
        self.raw_text = info.raw_json
        self.toggle = secondary_button("Show the FHIR JSON", self.app.act(self._toggle_raw), "toggle-json",
                                       icon=ft.Icons.DATA_OBJECT)  # fmt: skip
        blocks.append(card(ft.Column([heading("Exactly as received", 2), muted("The FHIR JSON the source sent."),
                                      self.toggle, self.raw], spacing=10)))  # fmt: skip
        return page_body(*blocks)

    # --- the patient's own entries -----------------------------------------------------------------------------

    def _own_card(self, info: Detail) -> ft.Control:
        ref = f"{self.key[0]}/{self.key[1]}"

        async def edit() -> None:
            from .add_entry import AddEntryView

            if self.app.shell is not None:
                self.stale = True  # back from the form: show the new version
                await self.app.shell.push(AddEntryView(self.app, ref=ref), "Edit your entry")

        async def delete() -> None:
            from app.views import current_draft, entry_text, remove_entry

            record = self.app.session.require()
            draft = await self.app.run(current_draft, record, ref)
            await self.app.run(remove_entry, record, ref)
            self.app.notify(f"Deleted: {entry_text(draft)}. Its earlier versions are kept in your record.", "ok")
            if self.app.shell is not None:
                for _, view in self.app.shell.back_stack:
                    view.stale = True
                await self.app.shell.back()

        history = [ft.Row([ft.Text(label, size=13, color=MUTED, width=150), ft.Text(text, size=13, color=INK,
                                                                                    expand=True)])  # fmt: skip
                   for label, text in info.history]
        return labelled(card(ft.Column([
            ft.Row([ft.Icon(ft.Icons.PERSON_OUTLINE, color=INK, size=18),
                    ft.Text(ADDED_BY_YOU, size=15, color=INK, weight=ft.FontWeight.W_600)], spacing=6),
            muted("You added this yourself. Changing it keeps the earlier versions; deleting it takes it out of your "
                  "record and your shares, and keeps its history.", size=13),
            ft.Row([secondary_button("Edit", self.app.act(edit), "edit-entry", icon=ft.Icons.EDIT_OUTLINED),
                    secondary_button("Delete", self.app.act(delete), "delete-entry", icon=ft.Icons.DELETE_OUTLINE)],
                   wrap=True),
            heading("History", 3),
            *history,
        ], spacing=8)), "own-entry")  # fmt: skip

    # --- the patient's corrections and context ----------------------------------------------------------------

    def _notes_card(self, info: Detail) -> ft.Control:
        self.editing: int | None = None
        self.note_field = ft.TextField(label="What is wrong or missing", multiline=True, min_lines=2, max_lines=8,
                                       max_length=4000)  # fmt: skip
        self.note_button = primary_button("Add note", self.app.act(self._save_note), "add-note",
                                          icon=ft.Icons.EDIT_NOTE)  # fmt: skip
        rows: list[ft.Control] = []
        for n, note in enumerate(info.notes):
            rows.append(self._note_row(note, n))
        explain = muted("Is something here wrong or incomplete? Say so in your words: the note stays beside this item "
                        "(the source's copy is kept as it is) and goes into your shares as your own words.", size=13)  # fmt: skip
        return ft.Semantics(
            container=True, identifier="item-notes",
            content=card(ft.Column([heading("Your notes", 2), *rows, explain, labelled(self.note_field, "note-field"),
                                    self.note_button], spacing=8)),
        )  # fmt: skip

    def _note_row(self, note: ItemNote, n: int) -> ft.Control:
        where = "" if note.this_copy else f" · on the copy from {note.source}"
        second = f"Written {note.written}" + (" (changed)" if note.changed else "") + where
        actions: list[ft.Control] = [
            ft.TextButton(content="Change", icon=ft.Icons.EDIT, on_click=self.app.act(lambda: self._start_edit(note))),
            ft.TextButton(content="Delete", icon=ft.Icons.DELETE_OUTLINE,
                          on_click=self.app.act(lambda: self._delete(note))),
        ]  # fmt: skip
        if note.portal:
            actions.append(ft.TextButton(content=f"Send to {note.source}", icon=ft.Icons.SEND,
                                         on_click=self.app.act(lambda: self._send(note))))  # fmt: skip
        body = ft.Column([
            ft.Semantics(identifier=f"note-{n}", content=ft.Text(note.text, size=15, color=INK, italic=True)),
            muted(second, size=12),
            ft.Row(actions, wrap=True, spacing=4),
        ], spacing=2)  # fmt: skip
        return ft.Container(content=body, border=ft.Border.only(left=ft.BorderSide(3, MUTED)),
                            padding=ft.Padding.only(left=10))  # fmt: skip

    def _start_edit(self, note: ItemNote) -> None:
        self.editing = note.id
        self.note_field.value = note.text
        button: Any = self.note_button.content  # type: ignore[attr-defined]
        button.content = "Save the change"
        self.app.page.update()

    async def _save_note(self) -> None:
        record = self.app.session.require()
        text = self.note_field.value or ""
        if self.editing is not None:
            await self.app.run(change_correction, record, self.editing, text)
            message = "Your note is changed; the earlier version stays in your record's history."
        else:
            rtype, rid, sid = self.key
            if sid is None:
                stored = await self.app.run(record.get, rtype, rid)
                sid = stored.row.source_id if stored is not None else 0
            await self.app.run(add_correction, record, rtype, rid, sid, text)
            message = "Your note is kept beside this item and goes into your shares as your own words."
        await self._decided(message)

    async def _delete(self, note: ItemNote) -> None:
        record = self.app.session.require()
        await self.app.run(remove_correction, record, note.id)
        await self._decided("Your note is deleted; it is no longer shown or shared.")

    async def _send(self, note: ItemNote) -> None:
        from app.shares import send_note

        name, _ = await send_note(self.app.require_portals(), note.id)
        self.app.notify(f"Sent to {name}, marked as your own words; your care team may review it first.", "ok")

    # --- one record across providers -------------------------------------------------------------------------

    def _sources_card(self, fact: FactInfo) -> ft.Control:
        rtype = self.key[0]
        rows: list[ft.Control] = []
        many = len(fact.copies) > 1
        if many:
            how = "you said they are the same" if fact.confidence == "confirmed" else "Carry matched them"
            rows.append(muted(f"{len(fact.sources)} sources state this ({how}). The newest copy speaks for it.",
                              size=13))  # fmt: skip
        for n, copy in enumerate(fact.copies):
            marks = [m for m in ("newest" if copy.newest else "", "shown here" if copy.shown else "") if m]
            title = copy.source + (f" ({', '.join(marks)})" if marks else "")
            trailing = None
            if len(fact.copies) > 2:
                trailing = labelled(
                    ft.TextButton(content="Not the same", on_click=self.app.act(lambda c=copy: self._split(fact, c))),
                    f"split-copy-{n}", f"Not the same: {copy.source}",
                )  # fmt: skip
            rows.append(
                row_tile(title, f"Last checked {copy.last_seen}", trailing=trailing, identifier=f"copy-{n}",
                         on_click=None if copy.shown else self.app.act(lambda c=copy: self._open_copy(c)))  # fmt: skip
            )
        actions: list[ft.Control] = []
        if many:
            actions.append(secondary_button("Not the same", self.app.act(lambda: self._split(fact, None)), "split-fact",
                                            icon=ft.Icons.CALL_SPLIT))  # fmt: skip
        if fact.decided:
            actions.append(secondary_button("Undo my choices", self.app.act(lambda: self._reset(fact)), "reset-fact",
                                            icon=ft.Icons.UNDO))  # fmt: skip
        if actions:
            rows.append(ft.Row(actions, wrap=True, spacing=8))
        if many:
            rows.append(muted("\"Not the same\" keeps these copies apart from now on, through every later sync.", size=12))
        for n, hint in enumerate(fact.suggestions):
            second = " · ".join(p for p in (hint.date, f"from {', '.join(hint.sources)}", f"why: {hint.reason}") if p)
            same = labelled(
                ft.FilledTonalButton(content="Same thing", icon=ft.Icons.MERGE,
                                     on_click=self.app.act(lambda h=hint: self._confirm(fact, h.fact_id))),
                f"confirm-{n}",
            )  # fmt: skip
            if n == 0:
                rows.append(heading("Possibly the same as", 3))
            rows.append(
                row_tile(hint.title, second, trailing=same, identifier=f"suggestion-{n}",
                         on_click=self.app.act(lambda h=hint: self._open_other(h.resource_type, h.id, h.source_id)))  # fmt: skip
            )
        title = "Also from" if many else "Sources"
        return ft.Semantics(
            container=True, identifier="fact-sources",
            content=card(ft.Column([heading(title, 2), *rows], spacing=6)),
        )  # fmt: skip

    async def _decided(self, message: str) -> None:
        if self.app.shell is not None:
            for _, view in self.app.shell.back_stack:  # what is behind this page shows the old grouping
                view.stale = True
            await self.app.shell.refresh()
        self.app.notify(message, "ok")

    async def _split(self, fact: FactInfo, copy: Copy | None) -> None:
        record = self.app.session.require()
        await self.app.run(not_the_same, record, self.key[0], fact.fact_id, copy)
        who = f"The copy from {copy.source} is" if copy else "These copies are"
        await self._decided(f"{who} kept apart from now on, also after later syncs.")

    async def _confirm(self, fact: FactInfo, other: str) -> None:
        record = self.app.session.require()
        await self.app.run(same_thing, record, self.key[0], fact.fact_id, other)
        await self._decided("Merged: these now show as one item, also after later syncs.")

    async def _reset(self, fact: FactInfo) -> None:
        record = self.app.session.require()
        await self.app.run(forget_choices, record, self.key[0], fact.fact_id)
        await self._decided("Your choices are forgotten; Carry groups this item on its own again.")

    async def _open_copy(self, copy: Copy) -> None:
        await self._open_other(copy.resource_type, copy.id, copy.source_id)

    async def _open_other(self, resource_type: str, resource_id: str, source_id: int) -> None:
        from .common import open_item

        await open_item(self.app, resource_type, resource_id, source_id)

    def _toggle_raw(self) -> None:
        showing = not self.raw.visible
        if showing and self.raw.content is None:
            self.raw.content = ft.Semantics(
                identifier="raw-json",
                content=ft.Text(self.raw_text, font_family=MONOSPACE, size=13, color=INK),
            )
        self.raw.visible = showing
        button: Any = self.toggle.content  # type: ignore[attr-defined]
        button.content = "Hide the FHIR JSON" if showing else "Show the FHIR JSON"
        self.app.page.update()


