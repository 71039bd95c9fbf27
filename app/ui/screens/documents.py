"""Clinical notes and other documents, newest first; each opens readable in the app."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.views import DocumentSummary, document_kinds, documents

from ..hooks import component, use_app_state, use_load, use_session, use_title
from ..paths import item_path
from ..widgets import card, empty, labelled, muted, row_tile
from .common import PersonPicker, loaded_or, page_body

__all__ = ["Documents"]


@component
def Documents() -> ft.Control:
    session = use_session()
    state = use_app_state()
    use_title("Documents")
    search, set_search = ft.use_state("")
    kind, set_kind = ft.use_state("")
    scope = state.scope
    kinds = use_load(lambda: document_kinds(session.require(), scope), [scope])
    docs = use_load(lambda: documents(session.require(), scope, search=search, kind=kind), [scope, search, kind])

    def searched(e: ft.Event[ft.TextField]) -> None:
        set_search(str(e.control.value or "").strip())

    def kind_chosen(e: Any) -> None:
        set_kind("" if e.control.value in (None, "all") else str(e.control.value))

    def render(found: list[DocumentSummary]) -> ft.Control:
        rows = [
            row_tile(
                doc.title,
                " · ".join(p for p in (doc.kind if doc.kind != doc.title else "", doc.author, doc.formats) if p),
                date=doc.date,
                note=doc.preview,
                on_click=session.act(lambda d=doc: session.navigate(item_path(d.resource_type, d.id, d.source_id))),
                identifier=f"document-{n}",
            )
            for n, doc in enumerate(found)
        ]
        count = f"{len(found)} document{'s' if len(found) != 1 else ''}, newest first"
        return ft.Column([muted(count), card(ft.Column(rows or [empty(
            "No documents match." if search or kind else "No documents or notes yet.")], spacing=2))], spacing=14)  # fmt: skip

    search_field = ft.TextField(label="Search the notes", value=search, prefix_icon=ft.Icons.SEARCH,
                                width=320, on_submit=session.act(searched))  # fmt: skip
    kind_list: list[str] = kinds.data or []
    kind_field = ft.Dropdown(
        label="Kind of document",
        width=280,
        value=kind or "all",
        options=[ft.DropdownOption(key="all", text="All kinds"), *(ft.DropdownOption(key=k, text=k) for k in kind_list)],
        on_select=session.act(kind_chosen),
    )
    filters = ft.Row([labelled(search_field, "documents-search"), labelled(kind_field, "documents-kind", "Kind of document")],
                     wrap=True, spacing=12, run_spacing=8, vertical_alignment=ft.CrossAxisAlignment.START)  # fmt: skip
    # Room above: the dropdown's label sits over its border, and the scrolling page would cut it off at the top.
    return page_body(PersonPicker(), ft.Container(filters, padding=ft.Padding.only(top=8)), loaded_or(docs, render))
