"""Clinical notes and other documents, newest first; each opens readable in the app."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import DocumentSummary, document_kinds, documents

from ..widgets import card, empty, labelled, muted, row_tile
from .common import open_item, page_body, person_picker

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["DocumentsView"]


class DocumentsView:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.control: ft.Control | None = None
        self.search = ""
        self.kind = ""
        self.list = ft.Column(spacing=2)
        self.count = muted("")

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        kinds: list[str] = await self.app.run(document_kinds, record, self.app.scope)
        await self._fill()
        search = ft.TextField(label="Search the notes", value=self.search, prefix_icon=ft.Icons.SEARCH, dense=True,
                              width=320, on_submit=self.app.act(self._searched))  # fmt: skip
        kind = ft.Dropdown(
            label="Kind of document",
            dense=True,
            width=280,
            value=self.kind or "all",
            options=[ft.DropdownOption(key="all", text="All kinds"), *(ft.DropdownOption(key=k, text=k) for k in kinds)],
            on_select=self.app.act(self._kind_chosen),
        )
        picker = person_picker(self.app)
        filters = ft.Row([labelled(search, "documents-search"), labelled(kind, "documents-kind", "Kind of document")],
                         wrap=True, spacing=12, run_spacing=8)  # fmt: skip
        return page_body(*([picker] if picker else []), filters, self.count, card(self.list))

    async def _fill(self) -> None:
        record = self.app.session.require()
        docs: list[DocumentSummary] = await self.app.run(documents, record, self.app.scope, search=self.search,
                                                         kind=self.kind)  # fmt: skip
        self.count.value = f"{len(docs)} document{'s' if len(docs) != 1 else ''}, newest first"
        self.list.controls = [
            row_tile(
                doc.title,
                " · ".join(p for p in (doc.kind if doc.kind != doc.title else "", doc.author, doc.formats) if p),
                date=doc.date,
                note=doc.preview,
                on_click=self.app.act(lambda d=doc: open_item(self.app, d.resource_type, d.id, d.source_id)),
                identifier=f"document-{n}",
            )
            for n, doc in enumerate(docs)
        ] or [empty("No documents match." if self.search or self.kind else "No documents or notes yet.")]

    async def _searched(self, e: Any) -> None:
        self.search = str(e.control.value or "").strip()
        await self._fill()

    async def _kind_chosen(self, e: Any) -> None:
        self.kind = "" if e.control.value in (None, "all") else str(e.control.value)
        await self._fill()
