"""Trend charts (flet-charts): one line per series, the reference range as a shaded band, and a sentence for
screen readers that says what the chart shows. flet_charts is imported here only."""

from __future__ import annotations

from datetime import date

import flet as ft
import flet_charts as fc

from app.views import ADDED_BY_YOU, Point, Series, format_value
from app.views.format import convert

from .theme import (
    CHART_GRID, CHART_LINES, CHART_RANGE, FALLBACK_FONTS, FONT, MUTED, OUTLINE, SURFACE, TOOLTIP_BACKGROUND, TOOLTIP_TEXT,
)  # fmt: skip

__all__ = ["TOOLTIP_BACKGROUND", "TOOLTIP_TEXT", "trend_chart"]

_LINE_COLOURS = CHART_LINES
_RANGE_FILL = CHART_RANGE
# The value under the pointer: the page's colours inverted (about 14:1), kept inside the chart so it is never clipped.


def _tooltip(series: Series, name: str, point: Point) -> fc.LineChartDataPointTooltip:
    """Value with its unit, then the date (and a flag in words): '6.22 % (High)\n3 Nov 2020'."""
    label = f"{name} " if len(series.lines) > 1 else ""
    flag = f" ({point.flag.word})" if point.flag else ""
    mine = f" · {ADDED_BY_YOU.lower()}" if point.own else ""
    return fc.LineChartDataPointTooltip(
        text=f"{label}{format_value(point.value, series.unit)}{flag}\n{point.date}{mine}",
        text_style=ft.TextStyle(color=TOOLTIP_TEXT, size=13, weight=ft.FontWeight.W_500,
                                font_family=FONT, font_family_fallback=FALLBACK_FONTS),
    )


def _own_point(colour: str) -> fc.ChartPointShape:
    return fc.ChartSquarePoint(size=8, color=colour, stroke_color="#FFFFFF", stroke_width=1.5)


def _day(effective: str) -> float:
    """A date as a fractional year (2019.5 is early July 2019): small numbers the chart's axis can label."""
    try:
        day = date.fromisoformat(effective[:10])
    except ValueError:
        return 0.0
    start = date(day.year, 1, 1).toordinal()
    length = date(day.year + 1, 1, 1).toordinal() - start
    return day.year + (day.toordinal() - start) / length


def trend_chart(series: Series, *, height: int = 260) -> ft.Control:
    points = [p for line in series.lines for p in line.points]
    if not points:
        return ft.Text("No values to chart.", color=MUTED, italic=True)
    def y(value: float) -> float:  # in the patient's units (lb, in, °F with US units)
        return convert(value, series.unit)[0]

    xs = [_day(p.effective) for p in points]
    ys = [y(p.value) for p in points]
    ranges = [line.range for line in series.lines if line.range is not None]
    bounds = [y(b) for r in ranges for b in (r.low, r.high) if b is not None]
    low_y, high_y = min(ys + bounds), max(ys + bounds)
    pad = (high_y - low_y) * 0.12 or max(abs(high_y) * 0.1, 1.0)
    min_x, max_x = min(xs), max(xs)
    if max_x - min_x < 0.25:
        min_x, max_x = min_x - 0.125, max_x + 0.125
    data: list[fc.LineChartData] = []
    for n, line in enumerate(series.lines):
        colour = _LINE_COLOURS[n % len(_LINE_COLOURS)]
        if line.range is not None and line.range.low is not None and line.range.high is not None:
            # The band: a line at the upper bound filled down to the lower bound's line.
            data.append(
                fc.LineChartData(
                    points=[fc.LineChartDataPoint(x, y(line.range.high), show_tooltip=False) for x in (min_x, max_x)],
                    color=OUTLINE,
                    stroke_width=1,
                    dash_pattern=[4, 4],
                    below_line_bgcolor=_RANGE_FILL,
                    below_line_cutoff_y=y(line.range.low),
                    point=False,
                )
            )
        data.append(
            fc.LineChartData(
                points=[
                    fc.LineChartDataPoint(_day(p.effective), y(p.value), tooltip=_tooltip(series, line.name, p),
                                          point=_own_point(colour) if p.own else None)  # a square: the patient's own
                    for p in line.points
                ],  # fmt: skip
                color=colour,
                stroke_width=2.5,
                curved=False,
                point=fc.ChartCirclePoint(radius=3.5, color=colour, stroke_color=SURFACE, stroke_width=1.5),
            )
        )
    first_year, last_year = int(min_x), int(max_x) + 1
    step = max(1, (last_year - first_year) // 6)
    year_labels = [
        fc.ChartAxisLabel(value=float(y), label=ft.Text(str(y), size=11, color=MUTED))
        for y in range(first_year, last_year + 1, step)
        if min_x <= y <= max_x
    ]
    chart = fc.LineChart(
        data_series=data,
        min_x=min_x,
        max_x=max_x,
        min_y=low_y - pad,
        max_y=high_y + pad,
        left_axis=fc.ChartAxis(label_size=44, show_min=False, show_max=False),
        bottom_axis=fc.ChartAxis(labels=year_labels, label_size=28, show_min=False, show_max=False) if year_labels else fc.ChartAxis(show_labels=False),
        horizontal_grid_lines=fc.ChartGridLines(color=CHART_GRID, width=1),
        border=ft.Border.all(1, OUTLINE),
        interactive=True,
        tooltip=fc.LineChartTooltip(bgcolor=TOOLTIP_BACKGROUND, border_radius=8, max_width=220,
                                    fit_inside_horizontally=True, fit_inside_vertically=True),  # fmt: skip
        height=height,
        expand=True,
    )
    legend_items: list[ft.Control] = [
        ft.Row([ft.Container(width=14, height=4, bgcolor=_LINE_COLOURS[n % 3], border_radius=2),
                ft.Text(line.name, size=12, color=MUTED)], spacing=6, tight=True)
        for n, line in enumerate(series.lines)
    ]  # fmt: skip
    if ranges:
        legend_items.append(
            ft.Row([ft.Container(width=14, height=10, bgcolor=_RANGE_FILL),
                    ft.Text("reference range", size=12, color=MUTED)], spacing=6, tight=True)  # fmt: skip
        )
    legend = ft.Row(legend_items, wrap=True, spacing=16)
    return ft.Semantics(
        identifier="lab-chart",
        label=series.describe(),
        container=True,
        content=ft.Column([ft.Container(content=chart, height=height), legend], spacing=8),
    )
