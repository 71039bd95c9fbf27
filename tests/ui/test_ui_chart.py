"""The trend chart's tooltip, built from a real record: value with its unit and the date, readable contrast
(WCAG 2 ratio of at least 4.5:1, computed here independently), and no tooltip on the reference band."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import flet_charts as fc
import pytest

from app import views as v
from app.record import Record
from app.ui.chart import trend_chart
from app.ui.theme import DARK, LIGHT, resolve
from support.records import PASSPHRASE
from sync.assets import DEMO_PATIENTS


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    rec = Record.create(tmp_path_factory.mktemp("chart") / "record.carry", PASSPHRASE)
    for found in sorted(DEMO_PATIENTS.glob("Elvina_Lemke_*.json")):
        rec.import_file(found)
    yield rec
    rec.close()


def _luminance(colour: str) -> float:
    rgb = [int(colour.lstrip("#")[-6:][i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _line_chart(control: Any) -> fc.LineChart:
    while not isinstance(control, fc.LineChart):
        control = control.content if hasattr(control, "content") and control.content is not None else control.controls[0]
    return control


@pytest.mark.parametrize(("code", "unit"), [("4548-4", "%"), ("55284-4", "mmHg")])
def test_tooltip_says_value_unit_and_date_in_readable_contrast(record: Record, code: str, unit: str) -> None:
    series = v.lab_series(record, v.Scope(None), code)
    chart = _line_chart(trend_chart(series))
    assert chart.tooltip is not None
    assert chart.tooltip.fit_inside_vertically and chart.tooltip.fit_inside_horizontally  # never clipped
    shown = 0
    for data in chart.data_series:
        for point in data.points:
            if point.show_tooltip is False:
                continue  # the reference band's corners
            tooltip = point.tooltip
            assert isinstance(tooltip, fc.LineChartDataPointTooltip) and tooltip.text_style is not None
            value, when = tooltip.text.split("\n")
            assert f" {unit}" in value and when[-4:].isdigit() and len(when.split(" ")) == 3, tooltip.text
            for palette in (LIGHT, DARK):  # the colours are roles of the theme, light or dark as the patient chose
                text, under = (resolve(c, palette) for c in (tooltip.text_style.color, chart.tooltip.bgcolor))
                assert _contrast(text, under) >= 4.5
            shown += 1
    assert shown == sum(len(line.points) for line in series.lines) > 5
