"""Timeline: every dated item, newest first, under month headings; filter by kind and source, jump to a month.

One row per fact: copies of the same thing from several sources are one row, "2 sources".
The list is virtualised twice over: Flutter builds only the rows on screen (fixed item extent), and rows are
fetched from the record a page at a time as the patient scrolls (keyset paging), so 10,000+ entries stay smooth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import GROUPS, TimelineEntry, TimelineFilter, format_month, month_counts, timeline_page

from ..theme import INK, MUTED, OUTLINE, PRIMARY, SURFACE
from ..widgets import labelled, muted
from .common import open_item, person_picker

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["TimelineView"]

ROW_HEIGHT = 64
PAGE = 150
_ICONS = {
    "Encounter": ft.Icons.EVENT_NOTE_OUTLINED,
    "Condition": ft.Icons.MEDICAL_INFORMATION_OUTLINED,
    "Observation": ft.Icons.SCIENCE_OUTLINED,
    "DiagnosticReport": ft.Icons.ASSIGNMENT_OUTLINED,
    "MedicationRequest": ft.Icons.MEDICATION_OUTLINED,
    "Immunization": ft.Icons.VACCINES_OUTLINED,
    "Procedure": ft.Icons.HEALING_OUTLINED,
    "AllergyIntolerance": ft.Icons.WARNING_AMBER_OUTLINED,
    "DocumentReference": ft.Icons.DESCRIPTION_OUTLINED,
}


class TimelineView:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.control: ft.Control | None = None
        self.filter = TimelineFilter()
        self.cursor: tuple[str, int] | None = None
        self.last_month: str | None = None
        self.loading = False
        self.count = 0

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        sources = await self.app.run(record.sources)
        self.list = ft.ListView(
            expand=True,
            item_extent=ROW_HEIGHT,
            on_scroll=self.app.act(self._scrolled),
            scroll_interval=200,
            padding=ft.Padding.symmetric(horizontal=12),
        )
        self.more = labelled(ft.TextButton(content="Load more", on_click=self.app.act(self._more)), "timeline-more")
        self.more.visible = False
        self.summary = muted("", size=13)
        self.jump = ft.Dropdown(label="Jump to", dense=True, width=220, on_select=self.app.act(self._jumped))
        chips: list[ft.Control] = [
            ft.Chip(
                label=ft.Text(name),
                selected=name in self.filter.groups,
                on_select=self.app.act(lambda e, n=name: self._toggle(n, e)),
                show_checkmark=True,
            )
            for name in GROUPS
        ]
        source_pick = ft.Dropdown(
            label="Source",
            value="all",
            dense=True,
            width=220,
            options=[ft.DropdownOption(key="all", text="All sources")]
            + [ft.DropdownOption(key=str(s.id), text=s.name) for s in sources],
            on_select=self.app.act(self._source_changed),
        )
        picker = person_picker(self.app)
        filters = ft.Column(
            [
                ft.Row([*([picker] if picker else []), labelled(source_pick, "timeline-source", "Source"),
                        labelled(self.jump, "timeline-jump", "Jump to month")], wrap=True, spacing=12, run_spacing=8),  # fmt: skip
                labelled(ft.Row(chips, wrap=True, spacing=6, run_spacing=6), "timeline-filters"),
                self.summary,
            ],
            spacing=8,
        )
        await self._reload()
        return ft.Column(
            [
                ft.Container(content=filters, padding=ft.Padding.only(left=16, right=16, top=12, bottom=4)),
                ft.Container(content=labelled(self.list, "timeline-list"), expand=True),
                ft.Container(content=self.more, padding=ft.Padding.only(left=16, bottom=8)),
            ],
            spacing=0,
            expand=True,
        )

    # --- data -----------------------------------------------------------------------------------------------

    async def _reload(self, before_month: str | None = None) -> None:
        record = self.app.session.require()
        months = await self.app.run(month_counts, record, self.app.scope, self.filter)
        total = sum(n for _, n in months)
        self.summary.value = f"{total:,} entries" + (f" from {months[-1][0][:4]} to {months[0][0][:4]}" if months else "")
        self.jump.options = [ft.DropdownOption(key=m, text=f"{format_month(m)} ({n})") for m, n in months]
        self.jump.value = before_month
        self.list.controls = []
        self.last_month = None
        self.count = 0
        page = await self.app.run(
            timeline_page, record, self.app.scope, self.filter, before_month=before_month, limit=PAGE
        )
        self._append(page.entries)
        self.cursor = page.cursor
        self.more.visible = self.cursor is not None
        if not page.entries:
            self.list.controls = [ft.Container(muted("Nothing in the timeline for these filters.", italic=True),
                                               padding=12)]  # fmt: skip

    async def _more(self) -> None:
        if self.loading or self.cursor is None:
            return
        self.loading = True
        try:
            record = self.app.session.require()
            page = await self.app.run(timeline_page, record, self.app.scope, self.filter, after=self.cursor, limit=PAGE)
            self._append(page.entries)
            self.cursor = page.cursor
            self.more.visible = self.cursor is not None
        finally:
            self.loading = False

    def _append(self, entries: tuple[TimelineEntry, ...]) -> None:
        rows: list[ft.Control] = []
        for entry in entries:
            if entry.month != self.last_month:
                self.last_month = entry.month
                rows.append(self._month_row(entry.month))
            rows.append(self._entry_row(entry, self.count))
            self.count += 1
        self.list.controls.extend(rows)

    # --- rows -----------------------------------------------------------------------------------------------

    @staticmethod
    def _month_row(month: str) -> ft.Control:
        return ft.Container(
            content=ft.Semantics(
                header=True, heading_level=2,
                content=ft.Text(format_month(month), size=16, weight=ft.FontWeight.W_600, color=PRIMARY),
            ),  # fmt: skip
            alignment=ft.Alignment.BOTTOM_LEFT,
            padding=ft.Padding.only(left=4, bottom=6),
            height=ROW_HEIGHT,
            border=ft.Border.only(bottom=ft.BorderSide(1, OUTLINE)),
        )

    def _entry_row(self, entry: TimelineEntry, n: int) -> ft.Control:
        noted = "your note" if entry.noted else ""
        second = " · ".join(p for p in (entry.kind, entry.detail, entry.sources_text, noted) if p)
        body = ft.Row(
            [
                ft.Icon(_ICONS.get(entry.resource_type, ft.Icons.CIRCLE_OUTLINED), color=PRIMARY, size=20),
                ft.Column(
                    [
                        ft.Text(entry.title, size=14, color=INK, weight=ft.FontWeight.W_500, max_lines=1,
                                overflow=ft.TextOverflow.ELLIPSIS),  # fmt: skip
                        ft.Text(second, size=12, color=MUTED, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS),
                    ],
                    spacing=1,
                    expand=True,
                    alignment=ft.MainAxisAlignment.CENTER,
                ),
                ft.Text(entry.date, size=12, color=MUTED),
            ],
            spacing=12,
        )
        tile = ft.Container(
            content=body,
            height=ROW_HEIGHT,
            padding=ft.Padding.symmetric(horizontal=8),
            bgcolor=SURFACE,
            border=ft.Border.only(bottom=ft.BorderSide(1, OUTLINE)),
            on_click=self.app.act(lambda: open_item(self.app, entry.resource_type, entry.id, entry.source_id)),
            ink=True,
        )
        return ft.Semantics(content=tile, identifier=f"entry-{n}", button=True)

    # --- events ---------------------------------------------------------------------------------------------

    async def _scrolled(self, e: Any) -> None:
        if self.cursor is not None and e.pixels >= e.max_scroll_extent - 10 * ROW_HEIGHT:
            await self._more()

    async def _toggle(self, name: str, e: Any) -> None:
        groups = set(self.filter.groups)
        groups.symmetric_difference_update({name})
        self.filter = TimelineFilter(frozenset(groups), self.filter.source_id)
        e.control.selected = name in groups
        await self._reload()

    async def _source_changed(self, e: Any) -> None:
        value = e.control.value
        self.filter = TimelineFilter(self.filter.groups, None if value in (None, "all") else int(value))
        await self._reload()

    async def _jumped(self, e: Any) -> None:
        await self._reload(before_month=e.control.value)
        # The list now starts with the chosen month's heading; without this it kept the old scroll offset and
        # the jump landed rows into the month.
        self.list.update()
        await self.list.scroll_to(offset=0, duration=0)
