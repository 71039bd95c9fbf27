"""Ordinal scales read in whole steps (issue 18 item 3): a pain rating 0-10, a PHQ-9 or GAD-7 total, any value whose
unit is "{score}". Synthea writes its pain ratings as 3.415878823894577 or 0.01537152743370962; a patient reads 3 and
0, not "3.42" and "0.0154". A T-score is a measurement, not a scale: it keeps three significant digits. From the
demo patients' own values, and through a real SQLCipher record of them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from app import views as v
from app.record import Record
from support.records import demo_record
from sync.assets import DEMO_PATIENTS

PAIN = "72514-3"  # Pain severity - 0-10 verbal numeric rating [Score] - Reported

def _demo_text() -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(DEMO_PATIENTS.glob("*.json")))


def _pain_values() -> list[str]:
    """Every pain rating of the demo patients, as written in their files."""
    found = re.findall(r'"value": (-?[0-9.]+),\s*"unit": "\{score\}"', _demo_text())
    assert len(found) >= 20, found  # Elvina has 12, Jesus 10, …
    return found


def test_synthea_pain_ratings_read_as_whole_numbers() -> None:
    values = _pain_values()
    assert "3.415878823894577" in values  # a real rating of the demo patients, not a made-up one
    assert v.format_value(3.415878823894577, "{score}") == "3"
    for value in values:
        shown = v.format_value(float(value), "{score}")
        assert re.fullmatch(r"\d+", shown), (value, shown)  # a step of the scale, never "3.42" or "{score}"
        assert int(shown) == int(float(value) + 0.5), (value, shown)  # the nearest step, halves up


def test_a_half_step_rounds_up_and_a_whole_value_is_unchanged() -> None:
    assert [v.format_score(x) for x in (2.5, 0.5, 7.0, 0.49, 10.0)] == ["3", "1", "7", "0", "10"]
    assert v.format_value(2.5, "{score}") == "3"  # not Python's round() to even, which gives 2
    assert v.format_value(9.0, "{Score}") == "9"


def test_a_measured_score_keeps_its_precision() -> None:
    # Elvina Lemke's bone density T-score and a PHQ-style total with no unit, written as a whole number.
    assert "-2.5689280488935755" in _demo_text()
    assert v.format_value(-2.5689280488935755, "{T-score}") == "-2.57"
    assert v.format_value(4.0, None) == "4"
    assert not v.is_scale("{T-score}") and not v.is_scale("mg/dL") and not v.is_scale(None)
    assert v.is_scale("{score}") and v.is_scale("{Score}")


def test_a_stored_summary_with_a_score_reads_a_whole_number() -> None:
    assert v.readable_measurements("Pain severity 3.415878823894577 {score}") == "Pain severity 3"
    assert v.readable_measurements("Bone density -2.5689280488935755 {T-score}") == "Bone density -2.57"


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Record]:
    rec = demo_record(tmp_path_factory.mktemp("scales") / "record.carry", "Elvina_Lemke_*.json")
    yield rec
    rec.close()


def test_pain_ratings_on_every_screen_are_whole_numbers(record: Record) -> None:
    scope = v.Scope(None)
    tests = [t for kind in ("laboratory", "vital-signs", v.OTHER) for t in v.lab_tests(record, scope, kind)
             if t.code == PAIN]  # fmt: skip
    assert [(t.name, t.count, t.latest_value) for t in tests] == [("Pain score (0–10)", 12, "0")]
    series = v.lab_series(record, scope, PAIN)
    points = [point for line in series.lines for point in line.points]
    assert len(points) == 12
    shown = [v.format_value(point.value, series.unit) for point in points]  # the chart's tooltips and value list
    assert all(re.fullmatch(r"\d+", text) for text in shown), shown
    assert "3" in shown  # Elvina's 3.415878823894577
    everything = v.TimelineFilter(groups=frozenset(v.GROUPS))
    pain = [e for e in v.timeline_page(record, scope, everything, limit=5000).entries if "Pain" in e.title]
    assert len(pain) == 12
    for entry in pain:
        assert re.fullmatch(r"\d+", entry.detail), entry.detail
