"""Results: lab tests, vital signs and other results, each with its latest value (/results); one test at
/results/<key> with its trend chart, reference range and values, or, for other results, every value recorded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flet as ft

from app.record import Record
from app.views import (
    ADDED_BY_YOU,
    OTHER,
    LabTest,
    Scope,
    Series,
    Value,
    format_value,
    lab_series,
    lab_tests,
    values_of,
)

from ..chart import trend_chart
from ..hooks import component, use_app_state, use_load, use_session, use_title
from ..paths import item_path, result_key, result_parts, result_path
from ..theme import INK, MUTED
from ..widgets import banner, card, empty, flag_chip, heading, labelled, loading, muted, row_tile
from .common import AddEntryButton, BackButton, PersonPicker, loaded_or, page_body

__all__ = ["Result", "Results"]

_LAB = "laboratory"
# The three kinds of result, as the switch names them and as an empty list says it.
_KINDS = {
    _LAB: ("Lab results", "lab results"),
    "vital-signs": ("Vital signs", "vital signs"),
    OTHER: ("Other", "other results or assessments"),
}


def _key_of(category: str, test: LabTest) -> str:
    """The path segment naming one test: its kind of result, code system and code."""
    return result_key(category, test.code_system, test.code)


@component
def Results() -> ft.Control:
    session = use_session()
    state = use_app_state()
    use_title("Results")
    category, set_category = ft.use_state(_LAB)
    scope = state.scope
    # The kind travels with its list: after a switch the other kind's list is not shown while this one loads.
    tests = use_load(lambda: (category, lab_tests(session.require(), scope, category)), [scope, category])

    def switched(e: Any) -> None:
        chosen = (e.control.selected or [_LAB])[0]
        if chosen in _KINDS:
            set_category(chosen)

    def render(loaded: tuple[str, list[LabTest]]) -> ft.Control:
        kind, found = loaded
        if kind != category:
            return loading()
        rows = [
            row_tile(
                test.name,
                f"{test.latest_value} · {test.count} value{'s' if test.count != 1 else ''}",
                date=test.latest_date,
                trailing=flag_chip(test.flag),
                on_click=session.act(lambda t=test: session.navigate(result_path(_key_of(category, t)))),
                identifier=f"test-{n}",
            )
            for n, test in enumerate(found)
        ]
        other = category == OTHER
        hint = ("Surveys, assessments, social history and examinations. Tap one to see every answer." if other
                else "Tap a test to see its trend over time.")  # fmt: skip
        return ft.Column([
            *([heading("Other results and assessments", 2, identifier="other-results")] if other else []),
            muted(hint if rows else ""),
            card(ft.Column(rows or [empty(f"No {_KINDS[category][1]} recorded yet.")], spacing=2)),
        ], spacing=14)  # fmt: skip

    switch = ft.SegmentedButton(
        segments=[
            ft.Segment(value=_LAB, label=ft.Text("Lab results"), icon=ft.Icon(ft.Icons.SCIENCE_OUTLINED)),
            ft.Segment(value="vital-signs", label=ft.Text("Vital signs"), icon=ft.Icon(ft.Icons.MONITOR_HEART_OUTLINED)),
            ft.Segment(value=OTHER, label=ft.Text("Other"), icon=ft.Icon(ft.Icons.ASSIGNMENT_OUTLINED)),
        ],
        selected=[category],
        on_change=session.act(switched),
    )
    add = AddEntryButton("add-reading", "reading", "Add a reading")
    return page_body(PersonPicker(), ft.Row([labelled(switch, "results-kind"), add], wrap=True), loaded_or(tests, render))


# --- one test ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _OneTest:
    name: str
    series: Series | None = None  # a lab test or a vital sign: its values over time
    values: tuple[Value, ...] = ()  # one of the other results: each value recorded, newest first


def _one_test(record: Record, scope: Scope, category: str, code_system: str | None, code: str) -> _OneTest | None:
    """The test the key names, or None when the record holds no value of it (for whom is on screen)."""
    if category == OTHER:
        known = next((t for t in lab_tests(record, scope, OTHER) if (t.code_system, t.code) == (code_system, code)), None)
        test = known or LabTest(code_system, code, code, None, 0, "", "", None)
        values = values_of(record, scope, test)
        return _OneTest(test.name, values=tuple(values)) if values else None
    series = lab_series(record, scope, code, code_system)
    return _OneTest(series.name, series=series) if series.count else None


@component
def Result() -> ft.Control:
    session = use_session()
    state = use_app_state()
    key = ft.use_route_params().get("key", "")
    category, system, code = (result_parts(key) + ["", "", ""])[:3]
    scope = state.scope
    found = use_load(lambda: _one_test(session.require(), scope, category, system or None, code), [scope, key])
    use_title(found.data.name if found.data is not None else "Result")

    def open_item(resource_type: str, resource_id: str, source_id: int) -> Any:
        return session.act(lambda: session.navigate(item_path(resource_type, resource_id, source_id)))

    def values(test: _OneTest) -> ft.Control:
        rows = [row_tile(value.text, date=value.date, identifier=f"value-{n}",
                         on_click=open_item(value.resource_type, value.id, value.source_id))
                for n, value in enumerate(test.values)]  # fmt: skip
        return page_body(
            BackButton("/results"),
            heading(test.name, 1, identifier="values-title"),
            muted(f"{len(rows)} value{'s' if len(rows) != 1 else ''}, newest first"),
            card(ft.Column(rows or [empty("No values recorded.")], spacing=2)),
        )

    def chart(series: Series) -> ft.Control:
        ranges = [f"{line.name}: {line.range.text()}" if len(series.lines) > 1 else line.range.text()
                  for line in series.lines if line.range is not None]  # fmt: skip
        table: list[ft.Control] = []
        for line in series.lines:
            label = f"{line.name} " if len(series.lines) > 1 else ""
            for point in reversed(line.points[-60:]):
                table.append(row_tile(f"{label}{format_value(point.value, series.unit)}",
                                      ADDED_BY_YOU if point.own else "", date=point.date, trailing=flag_chip(point.flag),
                                      on_click=open_item(point.resource_type, point.id, point.source_id)))  # fmt: skip
        return page_body(
            BackButton("/results"),
            heading(series.name, 1, identifier="series-title"),
            muted(f"{series.count} value{'s' if series.count != 1 else ''}"),
            card(ft.Column([trend_chart(series, height=240 if state.phone else 300)], spacing=8)),
            card(ft.Column([
                heading("Reference range", 2),
                ft.Text("; ".join(ranges) if ranges else "No reference range is recorded for this test.", size=14,
                        color=INK if ranges else MUTED),
            ], spacing=6)),  # fmt: skip
            card(ft.Column([heading("All values", 2), *table], spacing=2)),
        )

    def render(test: _OneTest | None) -> ft.Control:
        if test is None:
            return page_body(BackButton("/results"), banner("Your record holds no values of this result.", "warn"))
        return chart(test.series) if test.series is not None else values(test)

    return loaded_or(found, render)
