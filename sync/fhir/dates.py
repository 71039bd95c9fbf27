"""FHIR dates, dateTimes and instants ("2012", "2012-02", "2012-02-14", "2012-02-14T09:30:00+01:00"): read at the
precision they were written, and put in an order.

A date without a time has no zone; where a moment is needed it is taken as the start of that year, month or day
in UTC.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

__all__ = ["day", "moment", "sortable"]


def moment(value: Any) -> datetime | None:
    """The moment a FHIR date/dateTime/instant names (its start, for a partial date; UTC when it has no zone), or
    None for anything that is not one."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) == 4:
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=timezone.utc)


@lru_cache(maxsize=8192)  # a patient's resources share their timestamps (an encounter's results, a panel)
def sortable(value: str) -> str:
    """FHIR date/dateTime/instant -> a sortable string: UTC `YYYY-MM-DDTHH:MM:SSZ` when there is a time."""
    if "T" not in value or (len(value) == 20 and value[19] == "Z"):
        return value  # a date, or already in the form this returns (or not a time at all: kept as it is)
    try:
        found = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if found.tzinfo is None:
        return found.strftime("%Y-%m-%dT%H:%M:%S")
    return found.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def day(value: Any) -> str:
    """The day part of a FHIR date/dateTime/instant ("2012-02-14"), or the value as given when shorter."""
    if not isinstance(value, str):
        return ""
    return value[:10]
