"""Full-text search across the whole record, for the person on screen.

The last search is kept in the session (never in the address: a search word can say what the patient has), so
Back from an opened hit shows the same hits again."""

from __future__ import annotations

import flet as ft

from app.views import ADDED_BY_YOU, Hit, search

from ..hooks import component, use_app_state, use_load, use_session, use_title, use_value
from ..paths import item_path
from ..widgets import card, empty, labelled, muted, row_tile
from .common import PersonPicker, loaded_or, page_body

__all__ = ["Search"]

_REMEMBERED = "search"


@component
def Search() -> ft.Control:
    session = use_session()
    state = use_app_state()
    use_title("Search")
    scope = state.scope
    query, set_query = ft.use_state(str(session.memory.get(_REMEMBERED, "")))
    typed = use_value(query)
    asked, set_asked = ft.use_state(False)  # a search was asked for with nothing typed
    found = use_load(lambda: search(session.require(), scope, query) if query else [], [scope, query])

    def changed(e: ft.Event[ft.TextField]) -> None:
        typed.current = e.control.value or ""

    def go() -> None:
        text = typed.current.strip()
        session.memory[_REMEMBERED] = text
        set_asked(True)
        set_query(text)

    def render(hits: list[Hit]) -> ft.Control:
        if not query:
            status = "Type a word to search for." if asked else "Search conditions, medications, results, notes and more."
            return muted(status)
        rows = [
            row_tile(
                hit.title,
                " · ".join(p for p in (hit.kind, hit.source if hit.source == ADDED_BY_YOU else "",
                                       "your note" if hit.noted else "") if p),  # fmt: skip
                date=hit.date,
                # Found by the patient's own note on the item: the note says why it is here.
                note=f"Found in your note: {hit.matched_note}" if hit.in_note and hit.matched_note else "",
                on_click=session.act(lambda h=hit: session.navigate(item_path(h.resource_type, h.id, h.source_id))),
                identifier=f"hit-{n}",
            )
            for n, hit in enumerate(hits)
        ]
        status = f"{len(hits)} found for “{query}”" if hits else f"Nothing found for “{query}”."
        return ft.Column([muted(status), card(ft.Column(rows or [empty(
            "No matches. Try a shorter word or another spelling.")], spacing=2))], spacing=14)  # fmt: skip

    box = ft.TextField(
        label="Search your record",
        hint_text="e.g. diabetes, aspirin, hemoglobin",
        value=query,
        prefix_icon=ft.Icons.SEARCH,
        on_change=changed,
        on_submit=session.act(go),
        border_radius=24,
        autofocus=True,
        expand=True,
    )
    button = labelled(ft.FilledButton(content="Search", on_click=session.act(go)), "search-button")
    return page_body(
        PersonPicker(),
        # The field takes the row's width beside the button (expanded inside its Semantics it would take no less
        # than all of it, and push the button out of sight).
        ft.Row([ft.Semantics(content=box, identifier="search-box", expand=True), button],
               vertical_alignment=ft.CrossAxisAlignment.CENTER),  # fmt: skip
        loaded_or(found, render),
    )
