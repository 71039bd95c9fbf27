"""Any item in full (/item/<type>/<id>[/<source>]): the readable view, the patient's own notes on it, every source
that states it, its provenance, and the FHIR JSON exactly as stored; the patient can say a suggested item is the
same thing, or that merged copies are not, and can say the item is wrong or incomplete (a note kept beside it,
which may be sent to its portal). The patient's own entries can be changed or deleted here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

import flet as ft

from app.record import Record
from app.shares import send_note
from app.views import (
    ADDED_BY_YOU,
    Attachment,
    Copy,
    FactInfo,
    ItemNote,
    NoteBlock,
    add_correction,
    attachments,
    change_correction,
    current_draft,
    detail,
    entry_text,
    forget_choices,
    not_the_same,
    remove_correction,
    remove_entry,
    same_thing,
)
from app.views import Detail as ItemDetail
from app.views.pdf_pages import FIRST_PAGES, PdfPages, pdf_pages

from ..context import AttachmentLinks
from ..hooks import Box, component, use_app_state, use_load, use_session, use_state, use_title, use_value
from ..paths import edit_path, item_path
from ..session import UiSession
from ..theme import INK, MONOSPACE, MUTED, OUTLINE
from ..widgets import banner, card, heading, labelled, loading, muted, primary_button, row_tile, secondary_button
from .common import BackButton, loaded_or, page_body

__all__ = ["Detail", "attachment_controls"]

_WITH_ATTACHMENTS = ("DocumentReference", "DiagnosticReport")


@dataclass(frozen=True)
class _Shown:
    """What the page shows: the item (None once it is gone from the record), its attachments, and a link for each
    PDF among them (offered while loading, so rendering again makes no new link)."""

    key: tuple[str, str, int | None]  # the item asked for (type, id, source)
    info: ItemDetail | None
    parts: tuple[Attachment, ...] = ()
    pdf_links: tuple[str | None, ...] = ()


def _load(record: Record, links: AttachmentLinks | None, rtype: str, rid: str, source_id: int | None) -> _Shown:
    key = (rtype, rid, source_id)
    info = detail(record, rtype, rid, source_id)
    if info is None:
        return _Shown(key, None)
    parts: list[Attachment] = []
    if rtype in _WITH_ATTACHMENTS:
        stored = record.get(rtype, rid, source_id)
        parts = attachments(record, stored) if stored is not None else []
    pdfs = tuple(
        links.offer(p.data, "application/pdf") if links is not None and p.kind == "pdf" and p.data else None
        for p in parts
    )
    return _Shown(key, info, tuple(parts), pdfs)


def _table(rows: tuple[tuple[str, str], ...] | list[tuple[str, str]], narrow: bool) -> ft.Control:
    lines: list[ft.Control] = []
    for label, value in rows:
        name = ft.Text(label, size=13, color=MUTED, weight=ft.FontWeight.W_500, width=None if narrow else 170)
        text = ft.Text(value, size=14, color=INK, expand=not narrow)
        lines.append(ft.Column([name, text], spacing=0) if narrow else ft.Row([name, text],
                     vertical_alignment=ft.CrossAxisAlignment.START))  # fmt: skip
    return ft.Column(lines, spacing=8)


def _note_block(block: NoteBlock) -> ft.Control:
    """One block of a Markdown note: its headings under the card's "Note" (level 2), items after a bullet."""
    if block.kind == "heading":
        return heading(block.text, min(6, block.level + 2))
    # Each block its own node for a screen reader, read in the note's order (else the note's node would say every
    # paragraph in one label, apart from its headings).
    if block.kind == "item":
        bullet = ft.Row([ft.Text("•", size=15, color=INK), ft.Text(block.text, size=15, color=INK, expand=True)],
                        spacing=8, vertical_alignment=ft.CrossAxisAlignment.START)  # fmt: skip
        return ft.Semantics(content=bullet, container=True)
    return ft.Semantics(content=ft.Text(block.text, size=15, color=INK), container=True)


def parts_heading(parts: tuple[Attachment, ...]) -> str:
    """What the card of a document's readable parts is called: a note, a photo, or a document (a PDF, or a mix)."""
    kinds = {part.kind for part in parts}
    if kinds <= {"text", "html"}:
        return "Note"
    return "Photo" if kinds == {"image"} else "Document"


def attachment_controls(parts: tuple[Attachment, ...], pdf_links: tuple[str | None, ...], web: bool) -> list[ft.Control]:
    """A document's readable parts: its text, a photo shown, a PDF's pages shown (and the file offered through
    Carry's own server)."""
    out: list[ft.Control] = []
    for n, part in enumerate(parts):
        link = pdf_links[n] if n < len(pdf_links) else None
        if part.blocks:
            out.append(ft.Semantics(identifier=f"note-text-{n}", content=ft.Column(
                [_note_block(block) for block in part.blocks], spacing=8)))  # fmt: skip
        elif part.kind in ("text", "html"):
            out.append(ft.Semantics(identifier=f"note-text-{n}", content=ft.Text(part.text or "(empty)", size=15,
                                                                                  color=INK)))  # fmt: skip
        elif part.kind == "image" and part.data:
            out.append(ft.Image(src=part.data, semantics_label=f"{part.title} (image)", fit=ft.BoxFit.CONTAIN,
                                width=640))  # fmt: skip
        elif part.kind == "pdf" and part.data:
            out.append(PdfPageImages(part.data, n))
            if web and link is not None:
                button = ft.OutlinedButton(content=f"Open the PDF ({part.size_text})",
                                           icon=ft.Icons.PICTURE_AS_PDF_OUTLINED,
                                           url=ft.Url(link, target=ft.UrlTarget.BLANK))  # fmt: skip
                out.append(labelled(button, f"open-pdf-{n}"))
                out.append(muted("Opens in a new tab, from this computer only; the link works for five minutes.",
                                 size=12))  # fmt: skip
            else:
                out.append(muted(f"PDF ({part.size_text}): to open the file itself, open Carry in a browser.",
                                 size=13))  # fmt: skip
        elif part.url:
            out.append(muted(f"{part.title}: kept at {part.url} (not downloaded).", size=13))
        else:
            out.append(muted(f"{part.title}: a {part.content_type} attachment Carry cannot show.", size=13))
    return out


_PAGE_PIXELS_PHONE = 800  # pages drawn this wide: sharp at a phone's 2x pixels, where they fill the width
_PAGE_PIXELS_WIDE = 1200
_PAGE_WIDTH_WIDE = 680  # and shown this wide on a large screen (about as big as the sheet of paper)


@component
def PdfPageImages(data: bytes, n: int) -> ft.Control:
    """A PDF's pages as images in the page: the first few at once, "Show N more pages" for the rest. Drawn on a
    worker thread, in memory; pages already drawn are kept when more are asked for."""
    state = use_app_state()
    width = _PAGE_PIXELS_PHONE if state.phone else _PAGE_PIXELS_WIDE
    wanted, set_wanted = use_state(FIRST_PAGES)
    drawn: Box[tuple[bytes, PdfPages] | None] = use_value(None)  # the pages drawn so far, and of which PDF

    def draw() -> PdfPages:
        before = drawn.current[1] if drawn.current is not None and drawn.current[0] == data else None
        pages = pdf_pages(data, wanted, width, before)
        drawn.current = (data, pages)
        return pages

    shown = use_load(draw, [wanted, width, len(data)])
    found = shown.data
    if found is None:
        if shown.error:
            return muted(f"This PDF could not be shown: {shown.error}", size=13)
        return ft.Container(content=ft.ProgressRing(width=24, height=24, semantics_label="Drawing the PDF's pages"),
                            alignment=ft.Alignment.CENTER, padding=16)  # fmt: skip
    if found.problem:
        return ft.Semantics(identifier=f"pdf-problem-{n}", content=muted(found.problem, size=14))
    pages: list[ft.Control] = [
        ft.Container(
            content=ft.Image(src=page.png, semantics_label=found.label(page), fit=ft.BoxFit.CONTAIN,
                             width=None if state.phone else _PAGE_WIDTH_WIDE),  # fmt: skip
            border=ft.Border.all(1, OUTLINE),
        )
        for page in found.pages
    ]
    if found.left:
        more = secondary_button(found.more_text, lambda: set_wanted(len(found.pages) + found.more),
                                f"pdf-more-{n}", icon=ft.Icons.EXPAND_MORE, disabled=shown.loading)  # fmt: skip
        pages.append(ft.Row([more, muted(f"{len(found.pages)} of {found.total} pages shown", size=13)], wrap=True,
                            vertical_alignment=ft.CrossAxisAlignment.CENTER))  # fmt: skip
    return ft.Column(pages, spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH if state.phone else
                     ft.CrossAxisAlignment.START)  # fmt: skip


@component
def Detail() -> ft.Control:
    session = use_session()
    state = use_app_state()
    params = ft.use_route_params()
    rtype = unquote(params.get("type", ""))
    rid = unquote(params.get("id", ""))
    source = params.get("source") or ""
    source_id = int(source) if source.isdigit() else None
    use_title("Details")
    web = session.context.web
    shown = use_load(
        lambda: _load(session.require(), session.context.links if web else None, rtype, rid, source_id),
        [rtype, rid, source_id],
    )
    raw_open, set_raw_open = ft.use_state(False)

    def render(found: _Shown) -> ft.Control:
        if found.key != (rtype, rid, source_id):
            # Another item opened from this one: its page (and its notes' field, made anew) once it is loaded.
            return loading()
        info = found.info
        if info is None:
            return page_body(BackButton(), banner("This item is no longer in your record.", "warn"))
        narrow = state.phone
        blocks: list[ft.Control] = [
            BackButton(),
            ft.Column([muted(f"{info.kind} · {info.date}" if info.date else info.kind),
                       heading(info.title, 1, identifier="detail-title")], spacing=2),  # fmt: skip
        ]
        if info.own:
            blocks.append(OwnEntry(info, rtype, rid))
        if not info.valid:
            blocks.append(banner(f"This item did not pass FHIR validation and is shown as received: "
                                 f"{info.invalid_reason}", "warn"))  # fmt: skip
        if found.parts:
            blocks.append(card(ft.Column([heading(parts_heading(found.parts), 2),
                                          *attachment_controls(found.parts, found.pdf_links, web)],
                                         spacing=10)))  # fmt: skip
        blocks.append(card(ft.Column([heading("Details", 2), _table(info.fields, narrow)], spacing=10)))
        blocks.append(ItemNotes(info, rtype, rid, source_id))
        if info.fact is not None and (len(info.fact.copies) > 1 or info.fact.suggestions or info.fact.decided):
            blocks.append(FactSources(info.fact, rtype))
        blocks.append(card(ft.Column([heading("Where this came from", 2), _table(info.provenance, narrow)],
                                     spacing=10)))  # fmt: skip
        toggle = secondary_button("Hide the FHIR JSON" if raw_open else "Show the FHIR JSON",
                                  lambda: set_raw_open(not raw_open), "toggle-json", icon=ft.Icons.DATA_OBJECT)  # fmt: skip
        raw: list[ft.Control] = []
        if raw_open:
            raw.append(ft.Semantics(identifier="raw-json", content=ft.Text(info.raw_json, font_family=MONOSPACE,
                                                                            size=13, color=INK)))  # fmt: skip
        blocks.append(card(ft.Column([heading("Exactly as received", 2), muted("The FHIR JSON the source sent."),
                                      toggle, *raw], spacing=10)))  # fmt: skip
        return page_body(*blocks)

    return loaded_or(shown, render)


async def _decided(session: UiSession, message: str) -> None:
    """A decision changed the record: every screen (this one and those behind it) loads again, then it is said."""
    await session.record_changed()
    session.notify(message, "ok")


# --- the patient's own entries --------------------------------------------------------------------------------


@component
def OwnEntry(info: ItemDetail, rtype: str, rid: str) -> ft.Control:
    session = use_session()
    ref = f"{rtype}/{rid}"

    async def delete() -> None:
        record = session.require()
        draft = await session.run(current_draft, record, ref)
        await session.run(remove_entry, record, ref)
        session.notify(f"Deleted: {entry_text(draft)}. Its earlier versions are kept in your record.", "ok")
        await session.record_changed()
        session.back()

    history = [ft.Row([ft.Text(label, size=13, color=MUTED, width=150), ft.Text(text, size=13, color=INK,
                                                                                expand=True)])  # fmt: skip
               for label, text in info.history]
    return labelled(card(ft.Column([
        ft.Row([ft.Icon(ft.Icons.PERSON_OUTLINE, color=INK, size=18),
                ft.Text(ADDED_BY_YOU, size=15, color=INK, weight=ft.FontWeight.W_600)], spacing=6),
        muted("You added this yourself. Changing it keeps the earlier versions; deleting it takes it out of your "
              "record and your shares, and keeps its history.", size=13),
        ft.Row([secondary_button("Edit", session.act(lambda: session.navigate(edit_path(rtype, rid))), "edit-entry",
                                 icon=ft.Icons.EDIT_OUTLINED),
                secondary_button("Delete", session.act(delete), "delete-entry", icon=ft.Icons.DELETE_OUTLINE)],
               wrap=True),
        heading("History", 3),
        *history,
    ], spacing=8)), "own-entry")  # fmt: skip


# --- the patient's corrections and context --------------------------------------------------------------------


@component
def ItemNotes(info: ItemDetail, rtype: str, rid: str, source_id: int | None) -> ft.Control:
    session = use_session()
    nothing: int | None = None
    editing, set_editing = ft.use_state(nothing)  # the note being changed (its id), or None for a new one
    field_round, set_field_round = ft.use_state(0)  # a new field (emptied, or holding the note to change)
    typed = use_value("")

    def start_edit(note: ItemNote) -> None:
        typed.current = note.text
        set_editing(note.id)
        set_field_round(field_round + 1)

    async def save() -> None:
        record = session.require()
        text = typed.current
        if editing is not None:
            await session.run(change_correction, record, editing, text)
            message = "Your note is changed; the earlier version stays in your record's history."
        else:
            sid = source_id
            if sid is None:
                stored = await session.run(record.get, rtype, rid)
                sid = stored.row.source_id if stored is not None else 0
            await session.run(add_correction, record, rtype, rid, sid, text)
            message = "Your note is kept beside this item and goes into your shares as your own words."
        typed.current = ""
        set_editing(None)
        set_field_round(field_round + 1)
        await _decided(session, message)

    async def delete(note: ItemNote) -> None:
        await session.run(remove_correction, session.require(), note.id)
        if editing == note.id:
            typed.current = ""
            set_editing(None)
            set_field_round(field_round + 1)
        await _decided(session, "Your note is deleted; it is no longer shown or shared.")

    async def send(note: ItemNote) -> None:
        name, _ = await send_note(session.require_portals(), note.id)
        session.notify(f"Sent to {name}, marked as your own words; your care team may review it first.", "ok")

    def changed(e: ft.Event[ft.TextField]) -> None:
        typed.current = e.control.value or ""

    rows = [_note_row(session, note, n, start_edit, delete, send) for n, note in enumerate(info.notes)]
    explain = muted("Is something here wrong or incomplete? Say so in your words: the note stays beside this item "
                    "(the source's copy is kept as it is) and goes into your shares as your own words.", size=13)  # fmt: skip
    # A new field (by its key) whenever it must be emptied or hold another note: typing renders nothing.
    field = ft.TextField(label="What is wrong or missing", multiline=True, min_lines=2, max_lines=8, max_length=4000,
                         value=typed.current, on_change=changed, key=f"note-field-{field_round}")  # fmt: skip
    button = primary_button("Save the change" if editing is not None else "Add note", session.act(save), "add-note",
                            icon=ft.Icons.EDIT_NOTE)  # fmt: skip
    return ft.Semantics(
        container=True, identifier="item-notes",
        content=card(ft.Column([heading("Your notes", 2), *rows, explain, labelled(field, "note-field"), button],
                               spacing=8)),
    )  # fmt: skip


def _note_row(
    session: UiSession,
    note: ItemNote,
    n: int,
    start_edit: Callable[[ItemNote], None],
    delete: Callable[[ItemNote], Awaitable[None]],
    send: Callable[[ItemNote], Awaitable[None]],
) -> ft.Control:
    where = "" if note.this_copy else f" · on the copy from {note.source}"
    second = f"Written {note.written}" + (" (changed)" if note.changed else "") + where
    actions: list[ft.Control] = [
        ft.TextButton(content="Change", icon=ft.Icons.EDIT, on_click=session.act(lambda: start_edit(note))),
        ft.TextButton(content="Delete", icon=ft.Icons.DELETE_OUTLINE, on_click=session.act(lambda: delete(note))),
    ]
    if note.portal:
        actions.append(ft.TextButton(content=f"Send to {note.source}", icon=ft.Icons.SEND,
                                     on_click=session.act(lambda: send(note))))  # fmt: skip
    body = ft.Column([
        ft.Semantics(identifier=f"note-{n}", content=ft.Text(note.text, size=15, color=INK, italic=True)),
        muted(second, size=12),
        ft.Row(actions, wrap=True, spacing=4),
    ], spacing=2)  # fmt: skip
    return ft.Container(content=body, border=ft.Border.only(left=ft.BorderSide(3, MUTED)),
                        padding=ft.Padding.only(left=10))  # fmt: skip


# --- one record across providers ------------------------------------------------------------------------------


@component
def FactSources(fact: FactInfo, rtype: str) -> ft.Control:
    session = use_session()

    async def split(copy: Copy | None) -> None:
        await session.run(not_the_same, session.require(), rtype, fact.fact_id, copy)
        who = f"The copy from {copy.source} is" if copy else "These copies are"
        await _decided(session, f"{who} kept apart from now on, also after later syncs.")

    async def confirm(other: str) -> None:
        await session.run(same_thing, session.require(), rtype, fact.fact_id, other)
        await _decided(session, "Merged: these now show as one item, also after later syncs.")

    async def reset() -> None:
        await session.run(forget_choices, session.require(), rtype, fact.fact_id)
        await _decided(session, "Your choices are forgotten; Carry groups this item on its own again.")

    def open_item(resource_type: str, resource_id: str, source_id: int) -> Callable[..., Awaitable[None]]:
        return session.act(lambda: session.navigate(item_path(resource_type, resource_id, source_id)))

    rows: list[ft.Control] = []
    many = len(fact.copies) > 1
    if many:
        how = "you said they are the same" if fact.confidence == "confirmed" else "Carry matched them"
        rows.append(muted(f"{len(fact.sources)} sources state this ({how}). The newest copy speaks for it.", size=13))
    for n, copy in enumerate(fact.copies):
        marks = [m for m in ("newest" if copy.newest else "", "shown here" if copy.shown else "") if m]
        title = copy.source + (f" ({', '.join(marks)})" if marks else "")
        trailing = None
        if len(fact.copies) > 2:
            trailing = labelled(ft.TextButton(content="Not the same", on_click=session.act(lambda c=copy: split(c))),
                                f"split-copy-{n}", f"Not the same: {copy.source}")  # fmt: skip
        rows.append(row_tile(title, f"Last checked {copy.last_seen}", trailing=trailing, identifier=f"copy-{n}",
                             on_click=None if copy.shown else open_item(copy.resource_type, copy.id, copy.source_id)))  # fmt: skip
    actions: list[ft.Control] = []
    if many:
        actions.append(secondary_button("Not the same", session.act(lambda: split(None)), "split-fact",
                                        icon=ft.Icons.CALL_SPLIT))  # fmt: skip
    if fact.decided:
        actions.append(secondary_button("Undo my choices", session.act(reset), "reset-fact", icon=ft.Icons.UNDO))
    if actions:
        rows.append(ft.Row(actions, wrap=True, spacing=8))
    if many:
        rows.append(muted("\"Not the same\" keeps these copies apart from now on, through every later sync.", size=12))
    for n, hint in enumerate(fact.suggestions):
        second = " · ".join(p for p in (hint.date, f"from {', '.join(hint.sources)}", f"why: {hint.reason}") if p)
        same = labelled(ft.FilledTonalButton(content="Same thing", icon=ft.Icons.MERGE,
                                             on_click=session.act(lambda h=hint: confirm(h.fact_id))), f"confirm-{n}")  # fmt: skip
        if n == 0:
            rows.append(heading("Possibly the same as", 3))
        rows.append(row_tile(hint.title, second, trailing=same, identifier=f"suggestion-{n}",
                             on_click=open_item(hint.resource_type, hint.id, hint.source_id)))  # fmt: skip
    title = "Also from" if many else "Sources"
    return ft.Semantics(container=True, identifier="fact-sources",
                        content=card(ft.Column([heading(title, 2), *rows], spacing=6)))  # fmt: skip
