"""Years of a watch's heart rates: stored as one Observation per day (sync/importers/apple_health.py) and charted
as the mean per week once there are more days than a chart shows, computed by the record (app/views/labs.py)."""

from __future__ import annotations

import json
import statistics
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from support.apple_health import Sample, write_export
from support.records import PASSPHRASE

import app.views as v
from app.record import Record
from app.record.imports import import_path

_START = datetime(2021, 1, 4, 6, 0, tzinfo=timezone(timedelta(hours=1)))  # a Monday


def test_three_years_of_heart_rates_chart_as_weekly_means_of_the_days(tmp_path: Path) -> None:
    samples = [Sample("HKQuantityTypeIdentifierHeartRate", _START + timedelta(hours=8 * n), str(50 + (n * 7) % 60),
                      "count/min") for n in range(3 * 365 * 3)]  # fmt: skip
    with Record.create(tmp_path / "watch.carry", PASSPHRASE) as record:
        report = import_path(record, write_export(tmp_path / "export.xml", samples))
        assert report.counts.imported == 3 * 365 and report.counts.invalid == 0  # one Observation a day
        scope = v.Scope(v.people(record)[0])
        series = v.lab_series(record, scope, "8867-4")
        [line] = series.lines
        assert 100 < series.count <= 500 and series.unit == "beats/minute"
        assert [p.effective for p in line.points] == sorted(p.effective for p in line.points)
        days = {
            json.loads(raw)["effectivePeriod"]["start"][:10]: json.loads(raw)["valueQuantity"]["value"]
            for (raw,) in record._query("SELECT resource_json(raw, type, id) FROM resource WHERE type = 'Observation'")
        }
        first_week = [days[(date(2021, 1, 4) + timedelta(days=d)).isoformat()] for d in range(7)]
        assert line.points[0].effective.startswith("2021-01-04")
        assert abs(line.points[0].value - statistics.fmean(first_week)) < 1e-6
        # Each point opens the last day of its week.
        last = record.get("Observation", line.points[0].id)
        assert last is not None and json.loads(last.raw)["effectivePeriod"]["start"].startswith("2021-01-10")


def test_a_short_series_is_charted_value_by_value(tmp_path: Path) -> None:
    samples = [Sample("HKQuantityTypeIdentifierHeartRate", _START + timedelta(days=n), str(60 + n), "count/min")
               for n in range(30)]  # fmt: skip
    with Record.create(tmp_path / "short.carry", PASSPHRASE) as record:
        import_path(record, write_export(tmp_path / "export.xml", samples))
        series = v.lab_series(record, v.Scope(v.people(record)[0]), "8867-4")
        assert [p.value for p in series.lines[0].points] == [60.0 + n for n in range(30)]
