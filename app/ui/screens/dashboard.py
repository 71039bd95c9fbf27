"""Summary: active problems, current medications, allergies, immunizations, recent results, recent visits.

Each line is one fact: what two portals both sent shows once, "from 2 sources"."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import Dashboard, Item, Note, build_dashboard, format_date, warm_timeline

from ..theme import TONES
from ..widgets import card, flag_chip, heading, labelled, muted, primary_button, row_tile, secondary_button, section
from .add_entry import add_entry_button
from .common import open_item, page_body, person_picker

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["DashboardView"]


class DashboardView:
    def __init__(self, app: CarryApp) -> None:
        self.app = app
        self.first_run = False
        self.control: ft.Control | None = None
        self._warming: asyncio.Task[None] | None = None
        self.stale = False

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        data: Dashboard = await self.app.run(build_dashboard, record, self.app.scope, self.app.people)
        if not data.has_data:
            return self._empty()
        # Group the timeline's facts while the patient reads the summary, so the timeline opens at once.
        self._warming = asyncio.create_task(self._warm(record))
        return self._render(data)

    async def _warm(self, record: Any) -> None:
        # Only a head start: if it fails (the record was locked meanwhile), the timeline finds out and says so.
        with contextlib.suppress(Exception):
            await self.app.run(warm_timeline, record, self.app.scope)

    def _open(self, item: Item) -> Any:
        return self.app.act(lambda: open_item(self.app, item.resource_type, item.id, item.source_id))

    @staticmethod
    def _second_line(item: Item, *parts: str) -> str:
        return " · ".join(p for p in (*parts, item.sources_text, "your note" if item.noted else "") if p)

    def _rows(self, items: tuple[Item, ...], ident: str, *, show_detail: bool = True) -> list[ft.Control]:
        return [
            row_tile(
                item.title,
                self._second_line(item, item.detail if show_detail else ""),
                date=item.date,
                trailing=flag_chip(item.flag),
                on_click=self._open(item),
                identifier=f"{ident}-{n}",
            )
            for n, item in enumerate(items)
        ]

    @staticmethod
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

    def _medication_rows(self, data: Dashboard) -> list[ft.Control]:
        rows: list[ft.Control] = [self._note(note, n) for n, note in enumerate(data.medication_notes)]
        rows += self._rows(data.medications, "medication")
        if data.stopped_medications:
            stopped = ft.Column(self._rows(data.stopped_medications, "stopped"), spacing=2, visible=False)
            count = len(data.stopped_medications)
            label = f"{count} stopped medication{'s' if count != 1 else ''}"

            def toggle(e: Any) -> None:
                stopped.visible = not stopped.visible
                e.control.content = f"Hide {label}" if stopped.visible else f"Show {label}"

            button = ft.TextButton(content=f"Show {label}", icon=ft.Icons.HISTORY, on_click=self.app.act(toggle))
            rows += [labelled(button, "show-stopped"), stopped]
        return rows

    def _render(self, data: Dashboard) -> ft.Control:
        who: list[ft.Control] = []
        person = data.person or (data.people[0] if len(data.people) == 1 else None)
        if person is not None:
            facts = [f for f in (f"Born {format_date(person.birth_date)}" if person.birth_date else "",
                                 (person.gender or "").capitalize()) if f]  # fmt: skip
            who.append(ft.Column([heading(person.name, 1, identifier="patient-name"), muted(" · ".join(facts))],
                                 spacing=2))  # fmt: skip
        picker = person_picker(self.app)
        add = add_entry_button(self.app, "add-entry", "reading", "Add your own entry")
        top = ft.Column([*who, *([picker] if picker else []), add], spacing=10)
        half = {"xs": 12, "md": 6}
        results_rows = [
            row_tile(
                item.title,
                self._second_line(item, item.detail, item.range_text and f"range {item.range_text}"),
                date=item.date,
                trailing=flag_chip(item.flag),
                on_click=self._open(item),
                identifier=f"result-{n}",
            )
            for n, item in enumerate(data.results)
        ]
        grid = ft.ResponsiveRow(
            [
                section("Active problems", self._rows(data.problems, "problem"), "No active problems recorded",
                        identifier="problems", icon=ft.Icons.MEDICAL_INFORMATION_OUTLINED, col=half,
                        action=add_entry_button(self.app, "add-symptom", "symptom", "Add a symptom")),
                section("Current medications", self._medication_rows(data), "No current medications recorded",
                        identifier="medications", icon=ft.Icons.MEDICATION_OUTLINED, col=half,
                        action=add_entry_button(self.app, "add-medicine", "medicine")),
                section("Allergies", self._rows(data.allergies, "allergy"), "No allergies recorded",
                        identifier="allergies", icon=ft.Icons.WARNING_AMBER_OUTLINED, col=half,
                        action=add_entry_button(self.app, "add-allergy", "allergy")),
                section("Recent results", results_rows, "No lab results yet", identifier="results",
                        icon=ft.Icons.SCIENCE_OUTLINED, col=half,
                        action=add_entry_button(self.app, "add-reading", "reading", "Add a reading")),
                section("Treatment and care plans", self._rows(data.treatment, "treatment"),
                        "No care plans or treatment recorded", identifier="treatment",
                        icon=ft.Icons.ASSIGNMENT_OUTLINED, col=half),
                *([section("Devices", self._rows(data.devices, "device"), "", identifier="devices",
                           icon=ft.Icons.DEVICES_OTHER_OUTLINED, col=half)] if data.devices else []),
                section("Immunizations", self._rows(data.immunizations, "immunization"), "No immunizations recorded",
                        identifier="immunizations", icon=ft.Icons.VACCINES_OUTLINED, col=half),
                section("Recent visits", self._rows(data.encounters, "visit"), "No visits recorded",
                        identifier="visits", icon=ft.Icons.EVENT_NOTE_OUTLINED, col=half),
            ],  # fmt: skip
            spacing=14,
            run_spacing=14,
        )
        return page_body(top, grid)

    def _empty(self) -> ft.Control:
        from .connect import ConnectView

        async def demo() -> None:
            if self.app.shell is not None:
                await self.app.shell.push(ConnectView(self.app, demo=True), "Demo hospital")

        async def connect() -> None:
            if self.app.shell is not None:
                await self.app.shell.push(ConnectView(self.app), "Connect your provider")

        title = "Your record is ready" if self.first_run else "Your record is empty"
        return page_body(
            card(
                ft.Column(
                    [
                        heading(title, 1),
                        ft.Text("Bring in your first records. Where would you like to start?", size=15),
                        primary_button("Try the demo hospital", self.app.act(demo), "try-demo",
                                       icon=ft.Icons.LOCAL_HOSPITAL_OUTLINED),  # fmt: skip
                        muted("A pretend hospital with made-up patients: see how connecting and syncing work, "
                              "no account needed.", size=13),  # fmt: skip
                        secondary_button("Connect your provider", self.app.act(connect), "connect-provider",
                                         icon=ft.Icons.LINK),  # fmt: skip
                        muted("Find your hospital or clinic, or paste its FHIR address, and sign in with your "
                              "portal login.", size=13),  # fmt: skip
                        add_entry_button(self.app, "add-entry", "reading", "Or start with your own entry: a reading, "
                                         "a medicine, an allergy"),  # fmt: skip
                    ],
                    spacing=12,
                )
            )
        )
