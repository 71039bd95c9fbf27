"""Summary: active problems, current medications, allergies, immunizations, recent results, recent visits.

Each line is one fact: what two portals both sent shows once, "from 2 sources". A record with nothing in it yet
offers where to start (the demo hospital, the patient's provider, an entry of their own); just after the record
was created it greets ("Your record is ready") until the patient leaves the summary or data arrives."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import flet as ft

from app.views import Dashboard, Item, Note, build_dashboard, format_date, warm_timeline

from ..hooks import component, use_app_state, use_load, use_session, use_title
from ..paths import CONNECT, CONNECT_DEMO, item_path
from ..theme import TONES
from ..widgets import card, flag_chip, heading, labelled, muted, primary_button, row_tile, secondary_button, section
from .common import AddEntryButton, PersonPicker, loaded_or, page_body

__all__ = ["Summary"]

_HALF = {"xs": 12, "md": 6}
_FIRST_ROWS = 10  # a long section shows this many rows, then "Show all N"

Opener = Callable[[Item], Callable[..., Any]]


@component
def Summary() -> ft.Control:
    session = use_session()
    state = use_app_state()
    use_title("Summary")
    scope = state.scope
    people = state.people
    loaded = use_load(lambda: build_dashboard(session.require(), scope, people), [scope, people])
    has_data = bool(loaded.ready and loaded.data is not None and loaded.data.has_data)

    async def warm() -> None:
        # Group the timeline's facts while the patient reads the summary, so the timeline opens at once. Only a
        # head start: if it fails (the record was locked meanwhile), the timeline finds out and says so.
        if not has_data:
            return
        with contextlib.suppress(Exception):
            await session.run(warm_timeline, session.require(), scope)

    ft.use_effect(warm, [has_data, scope, state.generation])

    def greeted() -> None:
        # The greeting is for the first look at a new record: gone once data arrived or the patient went elsewhere.
        if session.state.first_run:
            session.state.first_run = False

    ft.use_effect(lambda: greeted() if has_data else None, [has_data])
    ft.use_effect(lambda: None, [], cleanup=greeted)

    def opener(item: Item) -> Callable[..., Any]:
        return session.act(lambda: session.navigate(item_path(item.resource_type, item.id, item.source_id)))

    def render(data: Dashboard) -> ft.Control:
        if not data.has_data:
            return _Empty(state.first_run)
        return _Filled(data, opener)

    return loaded_or(loaded, render)


@component
def _Empty(first_run: bool) -> ft.Control:
    session = use_session()
    title = "Your record is ready" if first_run else "Your record is empty"
    return page_body(
        card(
            ft.Column(
                [
                    heading(title, 1),
                    ft.Text("Bring in your first records. Where would you like to start?", size=15),
                    primary_button("Try the demo hospital", session.act(lambda: session.navigate(CONNECT_DEMO)),
                                   "try-demo", icon=ft.Icons.LOCAL_HOSPITAL_OUTLINED),  # fmt: skip
                    muted("A pretend hospital with made-up patients: see how connecting and syncing work, "
                          "no account needed.", size=13),  # fmt: skip
                    secondary_button("Connect your provider", session.act(lambda: session.navigate(CONNECT)),
                                     "connect-provider", icon=ft.Icons.LINK),  # fmt: skip
                    muted("Find your hospital or clinic, or paste its FHIR address, and sign in with your "
                          "portal login.", size=13),  # fmt: skip
                    AddEntryButton("add-entry", "reading", "Or start with your own entry: a reading, a medicine, "
                                   "an allergy"),  # fmt: skip
                ],
                spacing=12,
            )
        )
    )


@component
def _Filled(data: Dashboard, opener: Opener) -> ft.Control:
    show_stopped, set_show_stopped = ft.use_state(False)
    opened, set_opened = ft.use_state(frozenset[str]())  # the long sections shown whole
    session = use_session()

    def capped(items: tuple[Item, ...], ident: str) -> list[ft.Control]:
        """A section's first rows, and a button for the rest: a lifetime of care plans or visits (hundreds on a
        long record) would bury the summary and make it slow to draw."""
        rows = _rows(items if ident in opened else items[:_FIRST_ROWS], ident, opener)
        if len(items) > _FIRST_ROWS:
            word = "Show fewer" if ident in opened else f"Show all {len(items):,}"
            rows.append(labelled(ft.TextButton(content=word, icon=ft.Icons.UNFOLD_MORE, on_click=session.act(
                lambda: set_opened(opened - {ident} if ident in opened else opened | {ident}))), f"{ident}-all"))  # fmt: skip
        return rows

    who: list[ft.Control] = []
    person = data.person or (data.people[0] if len(data.people) == 1 else None)
    if person is not None:
        facts = [f for f in (f"Born {format_date(person.birth_date)}" if person.birth_date else "",
                             (person.gender or "").capitalize()) if f]  # fmt: skip
        who.append(ft.Column([heading(person.name, 1, identifier="patient-name"), muted(" · ".join(facts))],
                             spacing=2))  # fmt: skip
    mine = AddEntryButton("add-entry", "reading", "Add your own entry")
    top = ft.Column([c for c in (*who, PersonPicker(), mine) if c is not None], spacing=10)
    medications = [_note(note, n) for n, note in enumerate(data.medication_notes)]
    medications += _rows(data.medications, "medication", opener)
    if data.stopped_medications:
        count = len(data.stopped_medications)
        label = f"{count} stopped medication{'s' if count != 1 else ''}"
        toggle = ft.TextButton(content=f"Hide {label}" if show_stopped else f"Show {label}", icon=ft.Icons.HISTORY,
                               on_click=session.act(lambda: set_show_stopped(not show_stopped)))  # fmt: skip
        medications.append(labelled(toggle, "show-stopped"))
        if show_stopped:
            medications.append(ft.Column(_rows(data.stopped_medications, "stopped", opener), spacing=2))
    results = [
        row_tile(
            item.title,
            _second_line(item, item.detail, item.range_text and f"range {item.range_text}"),
            date=item.date,
            trailing=flag_chip(item.flag),
            on_click=opener(item),
            identifier=f"result-{n}",
        )
        for n, item in enumerate(data.results)
    ]
    grid = ft.ResponsiveRow(
        [
            section("Active problems", _rows(data.problems, "problem", opener), "No active problems recorded",
                    identifier="problems", icon=ft.Icons.MEDICAL_INFORMATION_OUTLINED, col=_HALF,
                    action=AddEntryButton("add-symptom", "symptom", "Add a symptom")),
            section("Current medications", medications, "No current medications recorded",
                    identifier="medications", icon=ft.Icons.MEDICATION_OUTLINED, col=_HALF,
                    action=AddEntryButton("add-medicine", "medicine", name="Add a medicine")),
            section("Allergies", _rows(data.allergies, "allergy", opener), "No allergies recorded",
                    identifier="allergies", icon=ft.Icons.WARNING_AMBER_OUTLINED, col=_HALF,
                    action=AddEntryButton("add-allergy", "allergy", name="Add an allergy")),
            section("Recent results", results, "No lab results yet", identifier="results",
                    icon=ft.Icons.SCIENCE_OUTLINED, col=_HALF,
                    action=AddEntryButton("add-reading", "reading", "Add a reading")),
            section("Treatment and care plans", capped(data.treatment, "treatment"),
                    "No care plans or treatment recorded", identifier="treatment",
                    icon=ft.Icons.ASSIGNMENT_OUTLINED, col=_HALF),
            *([section("Devices", capped(data.devices, "device"), "", identifier="devices",
                       icon=ft.Icons.DEVICES_OTHER_OUTLINED, col=_HALF)] if data.devices else []),
            section("Immunizations", capped(data.immunizations, "immunization"), "No immunizations recorded",
                    identifier="immunizations", icon=ft.Icons.VACCINES_OUTLINED, col=_HALF),
            section("Recent visits", capped(data.encounters, "visit"), "No visits recorded",
                    identifier="visits", icon=ft.Icons.EVENT_NOTE_OUTLINED, col=_HALF),
        ],  # fmt: skip
        spacing=14,
        run_spacing=14,
    )
    return page_body(top, grid)


def _second_line(item: Item, *parts: str) -> str:
    return " · ".join(p for p in (*parts, item.sources_text, "your note" if item.noted else "") if p)


def _rows(items: tuple[Item, ...], ident: str, opener: Opener) -> list[ft.Control]:
    return [
        row_tile(
            item.title,
            _second_line(item, item.detail),
            date=item.date,
            trailing=flag_chip(item.flag),
            on_click=opener(item),
            identifier=f"{ident}-{n}",
        )
        for n, item in enumerate(items)
    ]


def _note(note: Note, n: int) -> ft.Control:
    """A warning in words with an icon (colour is never the only signal)."""
    tone = "alert" if note.kind == "allergy" else "warn"
    fg, bg = TONES[tone]
    icon = ft.Icons.ERROR_OUTLINE if note.kind == "allergy" else ft.Icons.WARNING_AMBER
    body = ft.Row(
        [
            ft.Icon(icon, color=fg, size=20),
            ft.Column([ft.Text(note.title, color=fg, size=14, weight=ft.FontWeight.W_600),
                       ft.Text(note.message, color=fg, size=13)], spacing=2, expand=True),  # fmt: skip
        ],
        vertical_alignment=ft.CrossAxisAlignment.START,
    )
    box = ft.Container(content=body, bgcolor=bg, border_radius=10, padding=10, margin=ft.Margin.only(bottom=4))
    return ft.Semantics(content=box, identifier=f"medication-note-{n}", container=True)
