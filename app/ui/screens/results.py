"""Results: lab tests and vital signs, each with its latest value; a test opens its trend chart and values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from app.views import ADDED_BY_YOU, OTHER, LabTest, Series, Value, format_value, lab_series, lab_tests, values_of

from ..chart import trend_chart
from ..theme import INK, MUTED
from ..widgets import card, empty, flag_chip, heading, labelled, muted, row_tile
from .add_entry import add_entry_button
from .common import open_item, page_body, person_picker

if TYPE_CHECKING:
    from ..app import CarryApp

__all__ = ["ResultsView", "SeriesView", "ValuesView"]

# The three kinds of result, as the switch names them and as an empty list says it.
_KINDS = {
    "laboratory": ("Lab results", "lab results"),
    "vital-signs": ("Vital signs", "vital signs"),
    OTHER: ("Other", "other results or assessments"),
}


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
                ft.Segment(value=OTHER, label=ft.Text("Other"), icon=ft.Icon(ft.Icons.ASSIGNMENT_OUTLINED)),
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
        what = _KINDS.get(self.category, _KINDS["laboratory"])[1]
        picker = person_picker(self.app)
        other = self.category == OTHER
        return page_body(
            *([picker] if picker else []),
            ft.Row([labelled(switch, "results-kind"), add_entry_button(self.app, "add-reading", "reading",
                                                                       "Add a reading")], wrap=True),  # fmt: skip
            *([heading("Other results and assessments", 2, identifier="other-results")] if other else []),
            muted(("Surveys, assessments, social history and examinations. Tap one to see every answer."
                   if other else "Tap a test to see its trend over time.") if rows else ""),  # fmt: skip
            card(ft.Column(rows or [empty(f"No {what} recorded yet.")], spacing=2)),
        )

    async def _switch(self, e: Any) -> None:
        chosen = (e.control.selected or ["laboratory"])[0]
        if self.app.shell is not None and chosen != self.category:
            view = ResultsView(self.app, chosen)
            await self.app.shell._show(view, "Results")

    async def _open(self, test: LabTest) -> None:
        if self.app.shell is not None:
            view = ValuesView(self.app, test) if self.category == OTHER else SeriesView(self.app, test)
            await self.app.shell.push(view, test.name)


class _OneTest:
    """A page about one test, opened from the list: Back returns to the list."""

    def __init__(self, app: CarryApp, test: LabTest) -> None:
        self.app = app
        self.test = test
        self.control: ft.Control | None = None

    def _back(self) -> ft.Control:
        return self.app.shell.back_button() if self.app.shell else ft.Container()


class ValuesView(_OneTest):
    """Every value of one of the other results (an answer, a plan, a score), newest first; each opens the item."""

    async def load(self) -> ft.Control:
        record = self.app.session.require()
        values: list[Value] = await self.app.run(values_of, record, self.app.scope, self.test)
        back = self._back()
        rows = [
            row_tile(value.text, date=value.date, identifier=f"value-{n}",
                     on_click=self.app.act(lambda v=value: open_item(self.app, v.resource_type, v.id, v.source_id)))
            for n, value in enumerate(values)
        ]  # fmt: skip
        return page_body(
            back,
            heading(self.test.name, 1, identifier="values-title"),
            muted(f"{len(values)} value{'s' if len(values) != 1 else ''}, newest first"),
            card(ft.Column(rows or [empty("No values recorded.")], spacing=2)),
        )


class SeriesView(_OneTest):
    async def load(self) -> ft.Control:
        record = self.app.session.require()
        series: Series = await self.app.run(lab_series, record, self.app.scope, self.test.code, self.test.code_system)
        back = self._back()
        ranges = [f"{line.name}: {line.range.text()}" if len(series.lines) > 1 else line.range.text()
                  for line in series.lines if line.range is not None]  # fmt: skip
        table: list[ft.Control] = []
        for line in series.lines:
            for point in reversed(line.points[-60:]):
                label = f"{line.name} " if len(series.lines) > 1 else ""
                table.append(
                    row_tile(
                        f"{label}{format_value(point.value, series.unit)}",
                        ADDED_BY_YOU if point.own else "",
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
