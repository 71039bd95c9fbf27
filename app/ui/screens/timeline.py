"""Timeline: every dated item, newest first, under month headings; filter by kind and source, jump to a month.

One row per fact: copies of the same thing from several sources are one row, "2 sources".
The list is virtualised twice over: Flutter builds only the rows on screen (fixed item extent), and rows are
fetched from the record a page at a time as the patient scrolls (keyset paging), so 10,000+ entries stay smooth.
The filters and the month jumped to are kept while the patient looks at an item, so Back returns to them, and so
is where the list was scrolled (and how many rows were loaded): Back shows the opened item's row where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flet as ft

from app.record import Record
from app.views import DEFAULT_GROUPS, GROUPS, Scope, TimelineEntry, TimelineFilter, TimelinePage, format_month, month_counts, timeline_page

from ..hooks import component, use_app_state, use_load, use_once, use_session, use_title, use_value
from ..paths import item_path
from ..session import UiSession
from ..theme import INK, MUTED, OUTLINE, PRIMARY, SURFACE
from ..widgets import labelled, muted
from .common import PersonPicker, loaded_or

__all__ = ["Timeline"]

ROW_HEIGHT = 64
PAGE = 150
_KEPT = "timeline"  # the session's memory of this screen (UiSession.memory)
_PLACE = "timeline-place"  # where the list was when the patient opened an item
_SEEN = 6 * ROW_HEIGHT  # the top of the list that is on screen on any device (a phone shows about 7 rows)
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


@dataclass(frozen=True)
class _Choice:
    """What the patient chose: the kinds and source shown, and the month the list starts at (None: the newest)."""

    filt: TimelineFilter = field(default_factory=TimelineFilter)
    month: str | None = None


@dataclass(frozen=True)
class _Start:
    months: tuple[tuple[str, int], ...]  # (YYYY-MM, entries), newest first: the jump list
    page: TimelinePage  # the first page, from the chosen month


@dataclass(frozen=True)
class _More:
    """Pages fetched while scrolling, after `base` (the first page they continue)."""

    base: TimelinePage | None = None
    entries: tuple[TimelineEntry, ...] = ()
    cursor: tuple[str, int] | None = None


@dataclass(frozen=True)
class _Place:
    """Where the list was when an item was opened: for whom and with which choice, the scroll offset to show again
    and how many entries were loaded (so many are loaded again, or the offset would be past the list's end)."""

    person: str
    choice: _Choice
    offset: float
    loaded: int


def _return_offset(scrolled: float, row_top: float) -> float:
    """The offset to show again: where the list was scrolled, unless the last scroll reported (reports come at
    most every 200 ms) would not show the opened row; then the row a little below the top."""
    if scrolled <= row_top < scrolled + _SEEN - ROW_HEIGHT:
        return scrolled
    return max(0.0, row_top - 2 * ROW_HEIGHT)


def _start(record: Record, scope: Scope, choice: _Choice, loaded: int) -> _Start:
    months = tuple(month_counts(record, scope, choice.filt))
    page = timeline_page(record, scope, choice.filt, before_month=choice.month, limit=max(PAGE, loaded))
    return _Start(months, page)


@component
def Timeline() -> ft.Control:
    session = use_session()
    state = use_app_state()
    use_title("Timeline")
    kept: _Choice = session.memory.get(_KEPT) or _Choice()
    choice, set_choice = ft.use_state(kept)
    more, set_more = ft.use_state(_More())
    filters_open, set_filters_open = ft.use_state(False)
    scope = state.scope
    person = scope.person.key if scope.person is not None else ""
    # Back from an item: the place kept when it was opened, if the list is the same one (taken once).
    place = use_once(lambda: _kept_place(session, person, kept))
    returning = use_value(place)
    loaded = place.loaded if place is not None else 0
    sources = use_load(lambda: session.require().sources(), [])
    start = use_load(lambda: _start(session.require(), scope, choice, loaded), [scope, choice])
    busy = use_value(False)
    latest = use_value((start, more))  # for handlers of an older render (a scroll event): the newest pages
    latest.current = (start, more)
    scrolled_to = use_value(0.0)
    listing_ref = use_once(lambda: ft.Ref[ft.ListView]())

    async def back_to_place() -> None:
        back = returning.current
        listing = listing_ref.current
        if back is None or start.data is None or listing is None:
            return
        returning.current = None
        if back.choice == choice and back.person == person and back.offset > 0:
            scrolled_to.current = back.offset
            await listing.scroll_to(offset=back.offset)

    ft.use_effect(back_to_place, [start.data])

    def opening_at(row_top: float, count: int) -> Callable[[], None]:
        def opening() -> None:
            """An item is being opened from the row at `row_top`: keep where the list is, for Back."""
            session.memory[_PLACE] = _Place(person, choice, _return_offset(scrolled_to.current, row_top), count)

        return opening

    def choose(new: _Choice) -> None:
        session.memory[_KEPT] = new
        set_choice(new)

    def toggle(name: str) -> None:
        groups = set(choice.filt.groups) ^ {name}
        choose(_Choice(TimelineFilter(frozenset(groups), choice.filt.source_id)))

    def source_chosen(e: Any) -> None:
        value = e.control.value
        choose(_Choice(TimelineFilter(choice.filt.groups, None if value in (None, "all") else int(value))))

    def jumped(e: Any) -> None:
        # The list is made anew for the month (its key changes): it starts at the month's heading.
        choose(_Choice(choice.filt, e.control.value or None))

    async def load_more() -> None:
        loaded, pages = latest.current
        first = loaded.data
        if busy.current or first is None:
            return
        cursor = pages.cursor if pages.base is first.page else first.page.cursor
        if cursor is None:
            return
        busy.current = True
        try:
            page = await session.run(timeline_page, session.require(), scope, choice.filt, after=cursor, limit=PAGE)
        finally:
            busy.current = False
        set_more(lambda m: _More(first.page, (m.entries if m.base is first.page else ()) + page.entries, page.cursor))

    async def scrolled(e: Any) -> None:
        scrolled_to.current = float(e.pixels)
        if e.pixels >= e.max_scroll_extent - 10 * ROW_HEIGHT:
            await load_more()

    def render(first: _Start) -> ft.Control:
        extra = more if more.base is first.page else _More(first.page, (), first.page.cursor)
        entries = first.page.entries + extra.entries
        rows: list[ft.Control] = []
        last_month: str | None = None
        for n, entry in enumerate(entries):
            if entry.month != last_month:
                last_month = entry.month
                rows.append(_month_row(entry.month))
            top = float(len(rows) * ROW_HEIGHT)
            rows.append(_entry_row(session, entry, n, opening_at(top, len(entries))))
        if not entries:
            rows = [ft.Container(muted("Nothing in the timeline for these filters.", italic=True), padding=12)]
        listing = ft.ListView(
            ref=listing_ref,
            controls=rows,
            expand=True,
            item_extent=ROW_HEIGHT,
            on_scroll=session.act(scrolled),
            scroll_interval=200,
            padding=ft.Padding.symmetric(horizontal=12),
            key=f"timeline-{person}-{sorted(choice.filt.groups)}-{choice.filt.source_id}-{choice.month}",
        )
        more_button = labelled(ft.TextButton(content="Load more", on_click=session.act(load_more)), "timeline-more")
        return ft.Column(
            [
                ft.Container(content=labelled(listing, "timeline-list"), expand=True),
                *([ft.Container(content=more_button, padding=ft.Padding.only(left=16, bottom=8))]
                  if extra.cursor is not None else []),
            ],
            spacing=0,
            expand=True,
        )  # fmt: skip

    months = start.data.months if start.data is not None else ()
    total = sum(n for _, n in months)
    summary = f"{total:,} entries" + (f" from {months[-1][0][:4]} to {months[0][0][:4]}" if months else "")
    jump = ft.Dropdown(
        label="Jump to",
        dense=True,
        width=220,
        value=choice.month,
        options=[ft.DropdownOption(key=m, text=f"{format_month(m)} ({n})") for m, n in months],
        on_select=session.act(jumped),
    )
    source_pick = ft.Dropdown(
        label="Source",
        value=str(choice.filt.source_id) if choice.filt.source_id is not None else "all",
        dense=True,
        width=220,
        options=[ft.DropdownOption(key="all", text="All sources")]
        + [ft.DropdownOption(key=str(s.id), text=s.name) for s in (sources.data or [])],
        on_select=session.act(source_chosen),
    )
    chips = labelled(ft.Row([
        ft.Chip(label=ft.Text(name), selected=name in choice.filt.groups, show_checkmark=True,
                on_select=session.act(lambda n=name: toggle(n)))
        for name in GROUPS
    ], wrap=True, spacing=6, run_spacing=6), "timeline-filters")  # fmt: skip
    source_box = labelled(source_pick, "timeline-source", "Source")
    jump_box = labelled(jump, "timeline-jump", "Jump to month")
    picker = [c for c in [PersonPicker()] if c is not None]
    if state.phone:
        # On a phone the chips would take half the screen: one "Filter" button opens them.
        hidden = len(DEFAULT_GROUPS ^ choice.filt.groups) + (choice.filt.source_id is not None)
        toggle_button = labelled(
            ft.OutlinedButton(content="Hide filters" if filters_open else (f"Filter ({hidden} set)" if hidden else "Filter"),
                              icon=ft.Icons.FILTER_LIST, on_click=lambda: set_filters_open(not filters_open)),
            "timeline-filter-toggle",
        )  # fmt: skip
        filters: list[ft.Control] = [
            ft.Row([*picker, jump_box, toggle_button], wrap=True, spacing=12, run_spacing=8),
            *([source_box, chips] if filters_open else []),
        ]
    else:
        filters = [ft.Row([*picker, source_box, jump_box], wrap=True, spacing=12, run_spacing=8), chips]
    head = ft.Container(content=ft.Column([*filters, muted(summary if start.data is not None else "", size=13)],
                                          spacing=8),
                        padding=ft.Padding.only(left=16, right=16, top=12, bottom=4))  # fmt: skip
    return ft.Column([head, ft.Container(content=loaded_or(start, render), expand=True)], spacing=0, expand=True)


def _kept_place(session: UiSession, person: str, choice: _Choice) -> _Place | None:
    place = session.memory.pop(_PLACE, None)
    if isinstance(place, _Place) and place.person == person and place.choice == choice:
        return place
    return None


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


def _entry_row(session: UiSession, entry: TimelineEntry, n: int, opening: Callable[[], None]) -> ft.Control:
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
    target = item_path(entry.resource_type, entry.id, entry.source_id)
    tile = ft.Container(
        content=body,
        height=ROW_HEIGHT,
        padding=ft.Padding.symmetric(horizontal=8),
        bgcolor=SURFACE,
        border=ft.Border.only(bottom=ft.BorderSide(1, OUTLINE)),
        on_click=session.act(lambda: _open(session, opening, target)),
        ink=True,
    )
    return ft.Semantics(content=tile, identifier=f"entry-{n}", button=True)


def _open(session: UiSession, opening: Callable[[], None], target: str) -> None:
    opening()
    session.navigate(target)
