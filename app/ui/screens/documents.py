"""Clinical notes and other documents, newest first; each opens readable in the app."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from app.views import DocumentSummary, documents

from ..widgets import card, empty, row_tile
from .common import open_item, page_body, person_picker

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["DocumentsView"]


class DocumentsView:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.control: ft.Control | None = None

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        docs: list[DocumentSummary] = await self.app.run(documents, record, self.app.scope)
        rows = [
            row_tile(
                doc.title,
                " · ".join(p for p in (doc.author, doc.formats) if p),
                date=doc.date,
                on_click=self.app.act(lambda d=doc: open_item(self.app, d.resource_type, d.id, d.source_id)),
                identifier=f"document-{n}",
            )
            for n, doc in enumerate(docs)
        ]
        picker = person_picker(self.app)
        return page_body(
            *([picker] if picker else []),
            card(ft.Column(rows or [empty("No documents or notes yet.")], spacing=2)),
        )
