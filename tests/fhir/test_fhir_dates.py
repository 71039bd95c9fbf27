"""sync.fhir.dates: FHIR dates at the precision they were written, a moment for each, and one sortable form."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sync.fhir.dates import day, moment, sortable


def test_a_partial_date_is_the_start_of_its_year_month_or_day_in_utc() -> None:
    assert moment("2012") == datetime(2012, 1, 1, tzinfo=timezone.utc)
    assert moment("2012-02") == datetime(2012, 2, 1, tzinfo=timezone.utc)
    assert moment("2012-02-14") == datetime(2012, 2, 14, tzinfo=timezone.utc)


def test_a_time_keeps_its_zone_and_z_is_utc() -> None:
    assert moment("2012-02-14T09:30:00Z") == datetime(2012, 2, 14, 9, 30, tzinfo=timezone.utc)
    found = moment("2012-02-14T09:30:00+01:00")
    assert found is not None and found.utcoffset() == timedelta(hours=1)
    assert found == datetime(2012, 2, 14, 8, 30, tzinfo=timezone.utc)


def test_what_is_no_date_has_no_moment() -> None:
    for value in ("", "201", "2012-13", "yesterday", "2012-02-30", None, 2012, {"start": "2012"}):
        assert moment(value) is None, value


def test_sortable_puts_times_in_utc_and_leaves_dates_and_nonsense_alone() -> None:
    assert sortable("2012-02-14T09:30:00+01:00") == "2012-02-14T08:30:00Z"
    assert sortable("2012-02-14T09:30:00.123Z") == "2012-02-14T09:30:00Z"
    assert sortable("2012-02-14T09:30:00") == "2012-02-14T09:30:00"  # no zone: kept as local
    assert sortable("2012-02-14T09:30:00Z") == "2012-02-14T09:30:00Z"
    assert sortable("2012-02") == "2012-02"
    assert sortable("2012-02-14Tnot a time") == "2012-02-14Tnot a time"
    assert sorted(map(sortable, ["2012-02-14T10:00:00+02:00", "2012-02-14T08:30:00Z"])) == [
        "2012-02-14T08:00:00Z",
        "2012-02-14T08:30:00Z",
    ]


def test_day_is_the_date_part() -> None:
    assert day("2012-02-14T09:30:00Z") == "2012-02-14"
    assert day("2012-02") == "2012-02"
    assert day(None) == ""
