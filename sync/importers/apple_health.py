"""Apple Health exports (`export.zip`, or the `export.xml` inside it) as FHIR Observations.

The XML is read as a stream (iterparse), and each sample's element is dropped as soon as it has been read (into
a reading, below), so memory stays flat however many millions of samples the export holds. Each sample's id is made
from its content (type, source, times, value, unit): importing a newer export again adds only the new samples.

What is taken: see apple_types.py. Heart rate and steps, which a watch records every few minutes (millions of
samples over the years), are summed up per day as they stream past, a few numbers per day and series, and become
one Observation per day, source app and device: the day's mean heart rate with its lowest and highest, the day's
total of steps. A newer export holds the older one's days again: they come out the same (unchanged), and only new
days (and a day the older export ended in) are added or updated. Charts over years read these days, not samples.
Blood pressure comes from the export's correlations (systolic and diastolic in
one Observation); the separate systolic and diastolic records Apple also writes are the same readings again and
are skipped. Each Observation names the app that recorded it (a tag) and the device (Observation.device).

Reading and making are apart: `readings` turns the XML into readings (the strings of a sample, a day's numbers;
see `Reading`), `observation` makes each one's Observation. On a machine with a second core free, a big export is
read in a second process (in_child) while this one makes and stores what it hands over: the same readings, the
same Observations, the same refusals, in about the time the reading alone takes.
"""

from __future__ import annotations

import encodings.cp437  # noqa: F401 - zipfile reads member names with it: imported now, never in a forked reader
import math
import os
import re
import zipfile
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache, reduce
from operator import add
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ..fhir.parse import ParsedResource
from .apple_types import BLOOD_PRESSURE, DIASTOLIC, SAMPLE_TYPES, SLEEP, SLEEP_STAGES, SYSTOLIC, SampleType
from .base import ImportContext, draft, stable_id
from .errors import ImportFailed
from .in_child import streamed_from_child

__all__ = ["SOURCE_APP_SYSTEM", "AppleHealthImporter", "Reading", "observation", "reading_in_child", "readings"]

SOURCE_APP_SYSTEM = "urn:carry:source-app"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_CATEGORY_DISPLAY = {"vital-signs": "Vital Signs", "activity": "Activity", "laboratory": "Laboratory"}
# "2024-03-01 07:15:00 -0800", the one date format export.xml uses.
_DATE = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-]\d\d)(\d\d)$")
_date_match = _DATE.match
# The same form, for many dates at once: their digits (ASCII) made 9s and signs "-", one date a line. What this
# does not take (another script's digits, say) is judged by _DATE, one date at a time.
_DATE_SHAPE = "9999-99-99 99:99:99 -9999"
_TO_SHAPE = str.maketrans("0123456789+", "9999999999-")
_isfinite = math.isfinite
_NO_DAY = "\x00"  # no sample starts with it (XML holds no NUL): a lane not in any day
_DEVICE_FIELD = re.compile(r"(name|model|hardware):(.*?)(?=, \w+:|>$)")

# What the reading of an export hands on to become an Observation: a tuple of strings (as the export has them,
# not checked yet) and numbers, its first item its form:
#   _QUANTITY, type, unit, value, startDate, endDate, sourceName, device   (a sample of a type not kept per day)
#   _SLEEP, stage, startDate, endDate, sourceName, device
#   _PRESSURE, startDate, endDate, sourceName, device, systolic unit, value, diastolic unit, value
#   _DAY, (type, unit, source app, device, day), (count, total, lowest, highest, first start, last end)
# Small and plain, so that a second process can read the XML and hand them over (`reading_in_child`).
Reading = tuple[Any, ...]
_QUANTITY, _SLEEP, _PRESSURE, _DAY = range(4)
# A file smaller than this is read in this process: a second one would cost more than it saves.
_CHILD_FROM_BYTES = 4 * 1024 * 1024
_CHILD_BATCH = 256  # readings handed over at a time


class AppleHealthImporter:
    """`in_child`: read the XML in a second process (True), in this one (False), or as `_read_in_child` judges
    (None: when a second core is free and the file is big enough to be worth it)."""

    kind = "Apple Health export"

    def __init__(self, *, in_child: bool | None = None) -> None:
        self.in_child = in_child

    def recognises(self, head: bytes, path: Path) -> bool:
        if head.startswith(b"PK\x03\x04"):
            return _export_member(path) is not None
        return _is_export_xml(head)

    def resources(self, path: Path, context: ImportContext) -> Iterator[ParsedResource]:
        in_child = _read_in_child(path) if self.in_child is None else self.in_child
        with closing(reading_in_child(path) if in_child else readings(path)) as read:
            for reading in read:
                yield draft(observation(reading))


def _read_in_child(path: Path) -> bool:
    """Whether to read the export in a second process: when this one may run on a second core, and the file is
    big enough to be worth starting one. Only on Linux (the only system with sched_getaffinity): elsewhere a fork
    is not safe once system frameworks are loaded (macOS) or not there at all (Windows)."""
    try:
        return len(os.sched_getaffinity(0)) >= 2 and path.stat().st_size >= _CHILD_FROM_BYTES
    except (AttributeError, OSError):  # no affinity on this system; a file gone is refused when it is read
        return False


def reading_in_child(path: Path) -> Generator[Reading, None, None]:
    """`readings(path)`, read in a second process while this one stores what it hands over (see in_child)."""
    return streamed_from_child(lambda: readings(path), _CHILD_BATCH)


def readings(path: Path) -> Generator[Reading, None, None]:
    """What of the export at `path` (an export.zip or its export.xml) becomes Observations, as readings."""
    try:
        if _is_zip(path):
            try:
                with zipfile.ZipFile(path) as archive:
                    member = _export_member(path)
                    if member is None:
                        raise ImportFailed("It is a ZIP archive without an Apple Health export in it.")
                    with archive.open(member) as stream:
                        yield from _readings(stream)
            except (zipfile.BadZipFile, EOFError):
                raise ImportFailed("The ZIP archive is damaged.") from None
        else:
            with path.open("rb") as stream:
                yield from _readings(stream)
    except OSError as exc:
        raise ImportFailed(f"It cannot be read ({exc.strerror}).") from None


def _is_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def _is_export_xml(head: bytes) -> bool:
    return head.lstrip().startswith(b"<?xml") and (b"<!DOCTYPE HealthData" in head or b"<HealthData" in head)


def _export_member(path: Path) -> str | None:
    """The export inside an Apple Health export.zip, found by content: `apple_health_export/export.xml` in English,
    named otherwise in other languages (beside it, export_cda.xml is a C-CDA document, not samples)."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.filename.lower().endswith(".xml"):
                    with archive.open(info) as member:
                        if _is_export_xml(member.read(4096)):
                            return info.filename
    except (OSError, zipfile.BadZipFile, EOFError, RuntimeError):
        return None
    return None


def _readings(stream: IO[bytes]) -> Iterator[Reading]:
    """The samples of an export.xml stream as readings (see `Reading`), one at a time."""
    events = iterparse(stream, events=("start", "end"), forbid_dtd=False, forbid_entities=True, forbid_external=True)
    root: Element | None = None
    depth = 0
    days = _Days()
    count_in = days.add
    written = days.written
    lanes = days.lanes  # the high-volume types, each with the series and day its last sample was in
    run = days._RUN
    try:
        for event, element in events:
            if event == "start":
                if root is None:
                    if element.tag != "HealthData":
                        raise ImportFailed("It is XML, but not an Apple Health export.")
                    root = element
                depth += 1
                continue
            depth -= 1
            if depth != 1:  # records inside a correlation are read with it
                continue
            tag = element.tag
            if tag == "Record":
                attributes = element.attrib
                kind = attributes.get("type", "")
                lane = lanes.get(kind)
                if lane is not None:  # the millions: a few steps each, no resource
                    get = attributes.get
                    start = get("startDate", "")
                    if (start.startswith(lane[0]) and get("device") == lane[1] and get("sourceName") == lane[2]
                            and get("unit") == lane[3]):  # fmt: skip
                        # the series and day of the sample before (most of them): put aside, no key made for it
                        waiting = lane[4]
                        waiting += (start, get("endDate") or "", get("value", ""))
                        if len(waiting) >= run:
                            days.fold_lane(lane)
                    else:
                        count_in(attributes, kind, start)
                        if written:  # days a series has moved on from
                            yield from days.take_written()
                elif kind in SAMPLE_TYPES:
                    get = attributes.get
                    yield (_QUANTITY, kind, get("unit", ""), get("value", ""), get("startDate"), get("endDate"),
                           get("sourceName"), get("device"))  # fmt: skip
                elif kind == SLEEP:
                    get = attributes.get
                    stage = SLEEP_STAGES.get(get("value", ""))
                    if stage is not None:  # not in bed, awake
                        yield _SLEEP, stage, get("startDate"), get("endDate"), get("sourceName"), get("device")
            elif tag == "Correlation" and element.get("type") == BLOOD_PRESSURE:
                pressure = _pressure_reading(element)
                if pressure is not None:
                    yield pressure
            assert root is not None
            root.clear()  # drop what has been read: memory stays flat
    except (ParseError, DefusedXmlException):
        raise ImportFailed("The export's XML is damaged or incomplete.") from None
    if root is None:
        raise ImportFailed("The file is empty.")
    yield from days.readings()


def observation(reading: Reading) -> dict[str, Any]:
    """The Observation a reading is."""
    form = reading[0]
    if form == _DAY:
        return _Days._observation(reading[1], reading[2])
    if form == _PRESSURE:
        return _blood_pressure(*reading[1:])
    if form == _QUANTITY:
        return _quantity(*reading[1:])
    return _sleep(*reading[1:])


def _when(value: str | None) -> str:
    match = _DATE.match(value or "")
    if match is None:
        raise ImportFailed("A sample in the export has a date Carry cannot read.")
    day, time, hours, minutes = match.groups()
    return f"{day}T{time}{hours}:{minutes}"


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ImportFailed("A sample in the export has a value that is not a number.") from None
    if not value.is_finite():
        raise ImportFailed("A sample in the export has a value that is not a number.")
    return value


def _base(start_text: str | None, end_text: str | None, source: str | None, device: str | None, code: str,
          display: str, category: str, *identity: str) -> dict[str, Any]:  # fmt: skip
    start = _when(start_text)
    end = start if end_text == start_text else _when(end_text)
    return _observation(code, display, category, source or "Apple Health", device, start, end, *identity)


def _observation(code: str, display: str, category: str, source: str, device_text: str | None, start: str, end: str,
                 *identity: str) -> dict[str, Any]:  # fmt: skip
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": stable_id("apple-health", code, source, start, end, *identity),
        "meta": {"tag": [{"system": SOURCE_APP_SYSTEM, "code": source, "display": source}]},
        "status": "final",
        "category": [{"coding": [{"system": _CATEGORY, "code": category, "display": _CATEGORY_DISPLAY[category]}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
    }
    if start == end:
        resource["effectiveDateTime"] = start
    else:
        resource["effectivePeriod"] = {"start": start, "end": end}
    device = _device(device_text)
    if device:
        resource["device"] = {"display": device}
    return resource


class _Days:
    """The samples of the high-volume types summed up per day as they stream past: per (type, unit, source app,
    device, day) a count, a total, the lowest and highest value, the first start and the last end. A few numbers
    a day, so memory stays flat however many samples there are; no resource is made per sample.

    Per sample only its three strings are put aside; its key is made only when it is not of the series and day of
    its type's sample before (`lanes`: most are); what is put aside is checked (dates' form, numbers) and summed
    up in runs (`_fold`), where the checking and the arithmetic loop in C, not in Python. A run ends when it is
    _RUN samples long or when a new series or day begins, so what waits is at most about a day's samples. The
    result is the sample-by-sample one: the same sums in the same order, the same refusal for the first bad
    sample.

    A day is written (its Observation made, ready in `written`) once its series (type, unit, source app, device)
    has begun _WINDOW newer days: an export lists a series' samples mostly in time order, so what is held is a
    few days per series, not every day of the file. A sample that comes later for a day already written (an export
    out of order) is not lost: the day's numbers are kept (`done`, a few numbers a day), counted on from where they
    were and the day written again, with the same id, so the record ends as if it had been read in order."""

    _RUN = 3 * 1024  # strings put aside per series before they are summed up
    _WINDOW = 3  # newer days a series begins before a day of it is written

    def __init__(self) -> None:
        # per high-volume type: the day (a date, or _NO_DAY), device, source app and unit (as the export writes
        # them) of the series its last sample was in, what waits of that series and day and its key
        self.lanes: dict[str, list[Any]] = {
            kind: [_NO_DAY, None, None, None, [], None] for kind, sample_type in SAMPLE_TYPES.items()
            if sample_type.per_day is not None
        }  # fmt: skip
        self.days: dict[tuple[str, str, str, str, str], list[Any]] = {}
        # per series and day still being read: its samples' start, end and value, one after the other
        self.waiting: dict[tuple[str, str, str, str, str], list[str]] = {}
        # per series, its newest days (at most _WINDOW, oldest first) and the numbers of the days written
        self.newest: dict[tuple[str, str, str, str], list[str]] = {}
        self.done: dict[tuple[str, str, str, str], dict[str, list[Any]]] = {}
        self.written: list[Reading] = []  # days written (as readings), not taken yet

    def add(self, attributes: dict[str, str], kind: str, start: str) -> None:
        """A sample of a high-volume type `kind` that began at `start` (its startDate) put aside, or counted."""
        get = attributes.get
        key = (kind, get("unit", ""), get("sourceName") or "Apple Health", get("device") or "", start[:10])
        waiting = self.waiting.get(key)
        if waiting is None:
            self._begin(key, start, get("endDate") or "", get("value", ""), SAMPLE_TYPES[kind])
            waiting = self.waiting[key]
        else:
            waiting += (start, get("endDate") or "", get("value", ""))
            if len(waiting) >= self._RUN:
                self._fold(key, waiting)
        if len(key[4]) == 10:  # a date: the next samples that start with it are of the same day
            self.lanes[kind][:] = (key[4], get("device"), get("sourceName"), get("unit"), waiting, key)

    def fold_lane(self, lane: list[Any]) -> None:
        self._fold(lane[5], lane[4])

    def _begin(self, key: tuple[str, str, str, str, str], start: str, end: str, text: str,
               sample_type: SampleType) -> None:  # fmt: skip
        """A series or day not being read just now: what waits is summed up (and what waits of other days let go),
        then this sample is checked and counted on its own."""
        self.fold()
        for lane in self.lanes.values():  # what waits of other days is let go: no lane may add to it
            lane[0] = _NO_DAY
        self.waiting = {other: waiting for other, waiting in self.waiting.items() if other[4] == key[4]}
        value = _checked(start, end, text)
        day = self.days.get(key)
        if day is None:
            series, date = key[:4], key[4]
            day = self.done.get(series, {}).pop(date, None)  # a late sample of a day already written
            if day is None:
                if key[1] not in sample_type.units:
                    raise ImportFailed(f"A {sample_type.display.lower()} sample is in a unit Carry does not know ({key[1][:20]}).")
                self.days[key] = [1, value, value, value, start, end]
            else:
                self.days[key] = day
                _merge(day, [value], start, end)
            self._moved_on(series, date)
        else:
            _merge(day, [value], start, end)
        self.waiting[key] = []

    def _moved_on(self, series: tuple[str, str, str, str], date: str) -> None:
        """A day of `series` has begun: when it is newer than the series' newest, the days older than its _WINDOW
        newest days are written (what waits was summed up before)."""
        newest = self.newest.get(series)
        if newest is None:
            self.newest[series] = [date]
            return
        if date <= newest[-1] or date in newest:
            return
        newest.append(date)
        newest.sort()
        if len(newest) <= self._WINDOW:
            return
        cutoff = newest.pop(0)
        done = self.done.setdefault(series, {})
        for key in [key for key in self.days if key[4] <= cutoff and key[:4] == series]:
            stats = self.days.pop(key)
            self.waiting.pop(key, None)
            done[key[4]] = stats
            self.written.append((_DAY, key, tuple(stats)))

    def take_written(self) -> list[Reading]:
        written, self.written[:] = self.written[:], []
        return written

    def fold(self) -> None:
        for key, waiting in self.waiting.items():
            if waiting:
                self._fold(key, waiting)

    def _fold(self, key: tuple[str, str, str, str, str], waiting: list[str]) -> None:
        starts, ends, texts = waiting[0::3], waiting[1::3], waiting[2::3]
        try:
            values = list(map(float, texts))
            sound = _dates_sound(starts) and _dates_sound(ends) and all(map(_isfinite, values))
        except ValueError:
            sound = False
        if not sound:  # the first bad sample, in the order read, says what is wrong
            for start, end, text in zip(starts, ends, texts, strict=True):
                _checked(start, end, text)
        _merge(self.days[key], values, min(starts), max(ends))
        waiting.clear()

    def readings(self) -> Iterator[Reading]:
        """The days not written yet (the last ones of each series, and days written again), at the end."""
        self.fold()
        yield from self.take_written()
        for key, stats in sorted(self.days.items()):
            yield _DAY, key, tuple(stats)

    @staticmethod
    def _observation(key: tuple[str, str, str, str, str], stats: Sequence[Any]) -> dict[str, Any]:
        kind, apple_unit, source, device, day = key
        sample_type = SAMPLE_TYPES[kind]
        unit, factor = sample_type.units[apple_unit], float(sample_type.units[apple_unit].factor)
        unit_code = unit.code
        count, total, low, high = stats[0], stats[1] * factor, stats[2] * factor, stats[3] * factor
        start, end = _when(stats[4]), _when(stats[5])
        code, display = sample_type.per_day_code or (sample_type.code, sample_type.display)
        # The id is the day's, not its content's: a newer export's fuller day updates it.
        resource = _observation(code, display, sample_type.category, source, device, f"{day}", f"{day}",
                                "per-day", unit_code, device)  # fmt: skip
        resource.pop("effectiveDateTime")
        resource["effectivePeriod"] = {"start": start, "end": end}
        quantity = {"unit": unit.unit, "system": UCUM, "code": unit.code}
        if sample_type.per_day == "sum":
            resource["valueQuantity"] = {"value": _decimal(total), **quantity}
            what = f"Total of {count} readings on {day}"
        else:
            resource["valueQuantity"] = {"value": _decimal(total / count), **quantity}
            resource["component"] = [
                {"code": {"text": f"Lowest {display.lower()} of the day"}, "valueQuantity": {"value": _decimal(low), **quantity}},
                {"code": {"text": f"Highest {display.lower()} of the day"}, "valueQuantity": {"value": _decimal(high), **quantity}},
            ]  # fmt: skip
            what = f"Mean of {count} readings on {day}"
        resource["method"] = {"text": what}
        return resource


def _dates_sound(dates: list[str]) -> bool:
    """Whether every one of `dates` is in the export's form, "2024-03-01 07:15:00 -0800" (some that are may be
    reported as not: the caller then asks _DATE about each)."""
    return "\n".join(dates).translate(_TO_SHAPE) == "\n".join([_DATE_SHAPE] * len(dates))


def _checked(start: str, end: str, text: str) -> float:
    """One per-day sample's value, its dates' form checked (they are turned into FHIR's form once a day: the
    export's "2024-03-01 07:15:00 -0800" sorts as its moments do within a day)."""
    if _date_match(start) is None or (end != start and _date_match(end) is None):
        raise ImportFailed("A sample in the export has a date Carry cannot read.")
    try:
        value = float(text)
    except ValueError:
        raise ImportFailed("A sample in the export has a value that is not a number.") from None
    if not _isfinite(value):
        raise ImportFailed("A sample in the export has a value that is not a number.")
    return value


def _merge(day: list[Any], values: list[float], start: str, end: str) -> None:
    """Samples' values (in the order read) and their first start and last end counted into a day's numbers."""
    day[0] += len(values)
    day[1] = reduce(add, values, day[1])  # added one by one, as they came
    low, high = min(values), max(values)
    if low < day[2]:
        day[2] = low
    if high > day[3]:
        day[3] = high
    if start < day[4]:
        day[4] = start
    if end > day[5]:
        day[5] = end


def _decimal(value: float) -> Decimal:
    return _plain(Decimal(repr(round(value, 2))))


@lru_cache(maxsize=256)  # an export names a handful of devices, millions of times
def _device(text: str | None) -> str | None:
    """'<<HKDevice: 0x…>, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, …>' ->
    'Apple Watch (Watch, Watch6,2)': what the device is, not its serial-like address."""
    if not text:
        return None
    fields = dict(_DEVICE_FIELD.findall(text))
    name = fields.get("name", "").strip()
    detail = ", ".join(v.strip() for k, v in fields.items() if k != "name" and v.strip())
    return (f"{name} ({detail})" if detail else name) or None


def _quantity(kind: str, apple_unit: str, text: str, start: str | None, end: str | None, source: str | None,
              device: str | None) -> dict[str, Any]:  # fmt: skip
    sample_type = SAMPLE_TYPES[kind]
    unit = sample_type.units.get(apple_unit)
    if unit is None:
        raise ImportFailed(f"A {sample_type.display.lower()} sample is in a unit Carry does not know ({apple_unit[:20]}).")
    raw = _number(text)
    value = _plain(raw * unit.factor) if unit.factor != 1 else raw
    code, display = (sample_type.code_by_unit or {}).get(unit.code, (sample_type.code, sample_type.display))
    resource = _base(start, end, source, device, code, display, sample_type.category, str(raw), apple_unit)
    resource["valueQuantity"] = {"value": value, "unit": unit.unit,
                                 "system": UCUM, "code": unit.code}  # fmt: skip
    return resource


def _sleep(stage: str, start: str | None, end: str | None, source: str | None, device: str | None) -> dict[str, Any]:
    resource = _base(start, end, source, device, "93832-4", "Sleep duration", "activity", stage)
    first, last = resource.get("effectivePeriod", {}).get("start"), resource.get("effectivePeriod", {}).get("end")
    minutes = _minutes(first, last) if first and last else Decimal(0)
    resource["valueQuantity"] = {"value": minutes, "unit": "min", "system": UCUM, "code": "min"}
    resource["component"] = [{"code": {"text": "Sleep stage"}, "valueString": stage}]
    return resource


def _minutes(start: str, end: str) -> Decimal:
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return _plain(Decimal(int(seconds)) / 60 if seconds > 0 else Decimal(0))


def _plain(value: Decimal) -> Decimal:
    """Without trailing zeros or exponent (97.00 -> 97, 7.3333… -> 7.33)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.quantize(Decimal("0.01")).normalize()


def _pressure_reading(element: Element) -> Reading | None:
    """A blood pressure correlation as a reading: its dates, source, device, and its systolic and diastolic
    records' units and values (None without both)."""
    systolic = diastolic = None
    for record in element.iter("Record"):  # the last of each, as a dict of them would keep
        kind = record.get("type")
        if kind == SYSTOLIC:
            systolic = record
        elif kind == DIASTOLIC:
            diastolic = record
    if systolic is None or diastolic is None:
        return None
    get = element.get
    return (_PRESSURE, get("startDate"), get("endDate"), get("sourceName"), get("device"), systolic.get("unit"),
            systolic.get("value", ""), diastolic.get("unit"), diastolic.get("value", ""))  # fmt: skip


def _blood_pressure(start: str | None, end: str | None, source: str | None, device: str | None,
                    systolic_unit: str | None, systolic_text: str, diastolic_unit: str | None,
                    diastolic_text: str) -> dict[str, Any]:  # fmt: skip
    if systolic_unit != "mmHg":
        raise ImportFailed("A blood pressure sample is in a unit Carry does not know.")
    systolic = _number(systolic_text)
    if diastolic_unit != "mmHg":
        raise ImportFailed("A blood pressure sample is in a unit Carry does not know.")
    diastolic = _number(diastolic_text)
    resource = _base(start, end, source, device, "85354-9", "Blood pressure panel with all children optional",
                     "vital-signs", str(systolic), str(diastolic))  # fmt: skip
    # Written out (a reading a day for years: no loop to build two parts)
    resource["component"] = [
        {"code": {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}],
                  "text": "Systolic blood pressure"},
         "valueQuantity": {"value": systolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}],
                  "text": "Diastolic blood pressure"},
         "valueQuantity": {"value": diastolic, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}},
    ]  # fmt: skip
    return resource
