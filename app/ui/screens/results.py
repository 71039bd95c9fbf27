"""Results: lab tests and vital signs, each with its latest value; a test opens its trend chart and values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import LabTest, Series, format_value, lab_series, lab_tests

from ..chart import trend_chart
from ..theme import INK, MUTED
from ..widgets import card, empty, flag_chip, heading, labelled, muted, row_tile
from .common import open_item, page_body, person_picker

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["ResultsView", "SeriesView"]


class ResultsView:
    def __init__(self, app: CarryApp, category: str = "laboratory") -> None:
        self.app = app
        self.category = category
        self.control: ft.Control | None = None

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        tests: list[LabTest] = await self.app.run(lab_tests, record, self.app.scope, self.category)
        switch = ft.SegmentedButton(
            segments=[
                ft.Segment(value="laboratory", label=ft.Text("Lab results"), icon=ft.Icon(ft.Icons.SCIENCE_OUTLINED)),
                ft.Segment(value="vital-signs", label=ft.Text("Vital signs"), icon=ft.Icon(ft.Icons.MONITOR_HEART_OUTLINED)),
            ],
            selected=[self.category],
            on_change=self.app.act(self._switch),
        )
        rows = [
            row_tile(
                test.name,
                f"{test.latest_value} · {test.count} value{'s' if test.count != 1 else ''}",
                date=test.latest_date,
                trailing=flag_chip(test.flag),
                on_click=self.app.act(lambda t=test: self._open(t)),
                identifier=f"test-{n}",
            )
            for n, test in enumerate(tests)
        ]
        what = "lab results" if self.category == "laboratory" else "vital signs"
        picker = person_picker(self.app)
        return page_body(
            *([picker] if picker else []),
            labelled(switch, "results-kind"),
            muted("Tap a test to see its trend over time." if rows else ""),
            card(ft.Column(rows or [empty(f"No {what} recorded yet.")], spacing=2)),
        )

    async def _switch(self, e: Any) -> None:
        chosen = (e.control.selected or ["laboratory"])[0]
        if self.app.shell is not None and chosen != self.category:
            view = ResultsView(self.app, chosen)
            await self.app.shell._show(view, "Results")

    async def _open(self, test: LabTest) -> None:
        if self.app.shell is not None:
            await self.app.shell.push(SeriesView(self.app, test), test.name)


class SeriesView:
    def __init__(self, app: CarryApp, test: LabTest) -> None:
        self.app = app
        self.test = test
        self.control: ft.Control | None = None

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        series: Series = await self.app.run(lab_series, record, self.app.scope, self.test.code, self.test.code_system)
        back = self.app.shell.back_button() if self.app.shell else ft.Container()
        ranges = [f"{line.name}: {line.range.text()}" if len(series.lines) > 1 else line.range.text()
                  for line in series.lines if line.range is not None]  # fmt: skip
        table: list[ft.Control] = []
        for line in series.lines:
            for point in reversed(line.points[-60:]):
                label = f"{line.name} " if len(series.lines) > 1 else ""
                table.append(
                    row_tile(
                        f"{label}{format_value(point.value, series.unit)}",
                        date=point.date,
                        trailing=flag_chip(point.flag),
                        on_click=self.app.act(lambda p=point: open_item(self.app, p.resource_type, p.id, p.source_id)),
                    )
                )
        return page_body(
            back,
            heading(series.name, 1, identifier="series-title"),
            muted(f"{series.count} value{'s' if series.count != 1 else ''}"),
            card(ft.Column([trend_chart(series, height=240 if self.app.phone else 300)], spacing=8)),
            card(
                ft.Column(
                    [heading("Reference range", 2),
                     ft.Text("; ".join(ranges) if ranges else "No reference range is recorded for this test.",
                             size=14, color=INK if ranges else MUTED)],
                    spacing=6,
                )
            ),  # fmt: skip
            card(ft.Column([heading("All values", 2), *table], spacing=2)),
        )
