"""Full-text search across the whole record."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from app.views import ADDED_BY_YOU, Hit, search

from ..widgets import card, empty, labelled, muted, row_tile
from .common import open_item, page_body, person_picker

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["SearchView"]


class SearchView:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.control: ft.Control | None = None
        self.results = ft.Column(spacing=2)
        self.status = muted("Search conditions, medications, results, notes and more.")

    async def load(self) -> ft.Control:
        self.box = ft.TextField(
            label="Search your record",
            hint_text="e.g. diabetes, aspirin, hemoglobin",
            prefix_icon=ft.Icons.SEARCH,
            on_submit=self.app.act(self._search),
            border_radius=24,
            autofocus=True,
            expand=True,
        )
        button = labelled(ft.FilledButton(content="Search", on_click=self.app.act(self._search)), "search-button")
        picker = person_picker(self.app)
        return page_body(
            *([picker] if picker else []),
            ft.Row([labelled(self.box, "search-box"), button], vertical_alignment=ft.CrossAxisAlignment.CENTER),
            self.status,
            card(self.results),
        )

    async def _search(self) -> None:
        text = (self.box.value or "").strip()
        if not text:
            self.status.value = "Type a word to search for."
            return
        record = self.app.session.require()
        hits: list[Hit] = await self.app.run(search, record, self.app.scope, text)
        self.status.value = f"{len(hits)} found for “{text}”" if hits else f"Nothing found for “{text}”."
        self.results.controls = [
            row_tile(
                hit.title,
                " · ".join(p for p in (hit.kind, hit.source if hit.source == ADDED_BY_YOU else "",
                                       "your note" if hit.noted else "") if p),
                date=hit.date,
                on_click=self.app.act(lambda h=hit: open_item(self.app, h.resource_type, h.id, h.source_id)),
                identifier=f"hit-{n}",
            )
            for n, hit in enumerate(hits)
        ] or [empty("No matches. Try a shorter word or another spelling.")]
