"""Synthetic Apple Health exports (export.xml, or export.zip holding apple_health_export/export.xml), shaped like
the ones an iPhone writes: an XML prolog, a DOCTYPE with an internal subset, <HealthData>, <ExportDate>, <Me>,
<Record>s, blood pressure <Correlation>s (whose readings Apple also writes as separate records), and sleep
analysis. Written as a stream, so an export of millions of samples needs no memory."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import IO
from xml.sax.saxutils import quoteattr

__all__ = ["EVERY_KIND", "IGNORED", "PER_DAY", "Sample", "heart_rates", "observations_of", "write_export"]

_DOCTYPE = """<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate value CDATA #REQUIRED>
<!ELEMENT Me EMPTY>
<!ATTLIST Me HKCharacteristicTypeIdentifierDateOfBirth CDATA #REQUIRED>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record type CDATA #REQUIRED unit CDATA #IMPLIED value CDATA #IMPLIED sourceName CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED device CDATA #IMPLIED creationDate CDATA #IMPLIED startDate CDATA #REQUIRED
  endDate CDATA #REQUIRED>
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ATTLIST Correlation type CDATA #REQUIRED sourceName CDATA #REQUIRED device CDATA #IMPLIED
  startDate CDATA #REQUIRED endDate CDATA #REQUIRED>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry key CDATA #REQUIRED value CDATA #REQUIRED>
]>
"""
WATCH = "<<HKDevice: 0x3001a2b40>, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.1>"
PHONE = "<<HKDevice: 0x3001a2c80>, name:iPhone, manufacturer:Apple Inc., model:iPhone, hardware:iPhone14,2, software:17.1>"


@dataclass(frozen=True)
class Sample:
    type: str
    start: datetime
    value: str = ""
    unit: str = ""
    source: str = "Apple Watch"
    device: str = WATCH
    end: datetime | None = None
    # Blood pressure: (systolic, diastolic) in mmHg, written as a Correlation.
    pressure: tuple[str, str] | None = None


_T0 = datetime(2024, 3, 1, 7, 15, tzinfo=timezone(timedelta(hours=-8)))

# Every kind the importer takes, in metric and US units, with the values Carry should store (code, UCUM, value).
# Heart rate and steps are kept per day: one sample's day has that sample's value (steps as the day's total).
EVERY_KIND: list[tuple[Sample, tuple[str, str, str]]] = [
    (Sample("HKQuantityTypeIdentifierHeartRate", _T0, "72", "count/min"), ("8867-4", "/min", "72")),
    (Sample("HKQuantityTypeIdentifierRestingHeartRate", _T0, "58", "count/min"), ("40443-4", "/min", "58")),
    (Sample("HKQuantityTypeIdentifierStepCount", _T0, "1234", "count", "iPhone", PHONE, _T0 + timedelta(hours=1)),
     ("41950-7", "{steps}", "1234")),
    (Sample("HKQuantityTypeIdentifierBodyMass", _T0, "70.5", "kg", "Health", ""), ("29463-7", "kg", "70.5")),
    (Sample("HKQuantityTypeIdentifierBodyMass", _T0 + timedelta(days=1), "155.4", "lb", "Withings", ""),
     ("29463-7", "[lb_av]", "155.4")),
    (Sample("HKQuantityTypeIdentifierHeight", _T0, "172", "cm", "Health", ""), ("8302-2", "cm", "172")),
    (Sample("HKQuantityTypeIdentifierHeight", _T0 + timedelta(days=1), "5.75", "ft", "Health", ""),
     ("8302-2", "[in_i]", "69")),
    (Sample("HKQuantityTypeIdentifierBodyTemperature", _T0, "36.8", "degC", "Health", ""), ("8310-5", "Cel", "36.8")),
    (Sample("HKQuantityTypeIdentifierBodyTemperature", _T0 + timedelta(days=1), "98.6", "degF", "Health", ""),
     ("8310-5", "[degF]", "98.6")),
    (Sample("HKQuantityTypeIdentifierBloodGlucose", _T0, "104", "mg/dL", "OneTouch", ""), ("2339-0", "mg/dL", "104")),
    (Sample("HKQuantityTypeIdentifierBloodGlucose", _T0 + timedelta(days=1), "5.8", "mmol<180.1558800000541>/L",
            "OneTouch", ""), ("15074-8", "mmol/L", "5.8")),
    (Sample("HKQuantityTypeIdentifierOxygenSaturation", _T0, "0.97", "%"), ("59408-5", "%", "97")),
    (Sample("HKCategoryTypeIdentifierSleepAnalysis", _T0 - timedelta(hours=7), "HKCategoryValueSleepAnalysisAsleepCore",
            end=_T0 - timedelta(hours=5, minutes=30)), ("93832-4", "min", "90")),
    (Sample("HKCorrelationTypeIdentifierBloodPressure", _T0, source="Omron", device="", pressure=("128", "82")),
     ("85354-9", "mm[Hg]", "128/82")),
]  # fmt: skip

# In the export but not taken: in bed (not sleep), and a type Carry does not read.
IGNORED = [
    Sample("HKCategoryTypeIdentifierSleepAnalysis", _T0 - timedelta(hours=8), "HKCategoryValueSleepAnalysisInBed",
           end=_T0),
    Sample("HKQuantityTypeIdentifierActiveEnergyBurned", _T0, "12.5", "Cal"),
]  # fmt: skip


@lru_cache(maxsize=8)  # a record names its moment up to three times (created, start, end)
def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %z")


_PLAIN = re.compile(r'[^&<>"\n\r\t]*')


def _quoted(value: str) -> str:
    """quoteattr(value), without its replacing when there is nothing to escape (millions of samples are written)."""
    return f'"{value}"' if _PLAIN.fullmatch(value) else quoteattr(value)


def _record(sample: Sample, type_: str, value: str, unit: str, indent: str = " ") -> str:
    end = sample.end or sample.start
    attrs = [("type", type_), ("sourceName", sample.source), ("sourceVersion", "10.1")]
    if sample.device:
        attrs.append(("device", sample.device))
    if unit:
        attrs.append(("unit", unit))
    attrs += [("creationDate", _date(end)), ("startDate", _date(sample.start)), ("endDate", _date(end))]
    if value:
        attrs.append(("value", value))
    return f"{indent}<Record " + " ".join(f"{k}={_quoted(v)}" for k, v in attrs) + "/>\n"


def _lines(samples: Iterable[Sample]) -> Iterator[str]:
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield _DOCTYPE
    yield '<HealthData locale="en_US">\n <ExportDate value="2024-03-10 09:00:00 -0800"/>\n'
    yield ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-05-04" HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>\n'
    for sample in samples:
        if sample.pressure is None:
            yield _record(sample, sample.type, sample.value, sample.unit)
            continue
        systolic, diastolic = sample.pressure
        parts = [("HKQuantityTypeIdentifierBloodPressureSystolic", systolic),
                 ("HKQuantityTypeIdentifierBloodPressureDiastolic", diastolic)]  # fmt: skip
        # Apple writes each reading on its own as well as inside the correlation.
        for type_, value in parts:
            yield _record(sample, type_, value, "mmHg")
        yield (f' <Correlation type="{sample.type}" sourceName={quoteattr(sample.source)} '
               f'startDate="{_date(sample.start)}" endDate="{_date(sample.start)}">\n')  # fmt: skip
        for type_, value in parts:
            yield _record(sample, type_, value, "mmHg", "  ")
        yield " </Correlation>\n"
    yield "</HealthData>\n"


def _write(out: IO[str], samples: Iterable[Sample]) -> None:
    for line in _lines(samples):
        out.write(line)


def write_export(path: Path, samples: Iterable[Sample], *, as_zip: bool = False, member: str = "export.xml") -> Path:
    """Write an export.xml (or an export.zip with it at apple_health_export/`member`, beside an export_cda.xml as
    the Health app writes) to `path`."""
    if as_zip:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("apple_health_export/export_cda.xml", '<?xml version="1.0"?>\n<ClinicalDocument/>\n')
            with archive.open(f"apple_health_export/{member}", "w", force_zip64=True) as raw:
                with _text(raw) as out:
                    _write(out, samples)
    else:
        with path.open("w", encoding="utf-8") as out:
            _write(out, samples)
    return path


def _text(raw: IO[bytes]) -> IO[str]:
    import io

    return io.TextIOWrapper(raw, encoding="utf-8")


PER_DAY = ("HKQuantityTypeIdentifierHeartRate", "HKQuantityTypeIdentifierStepCount")


def observations_of(samples: Iterable[Sample]) -> set[tuple[str, ...]]:
    """What Carry should make of these samples (of heart_rates' kinds): one per day, source and device of heart rate
    and of steps, one per blood pressure."""
    return {
        (s.type, s.source, s.device, s.start.strftime("%Y-%m-%d")) if s.type in PER_DAY else (s.type, _date(s.start))
        for s in samples
    }


def heart_rates(count: int, *, start: datetime = _T0) -> Iterator[Sample]:
    """`count` samples, mostly heart rate every few minutes as a watch records it, with a step count and a
    blood pressure now and then (what makes an export of millions of samples)."""
    for n in range(count):
        moment = start + timedelta(minutes=5 * n)
        if n % 50 == 49:
            yield Sample("HKCorrelationTypeIdentifierBloodPressure", moment, source="Omron", device="",
                         pressure=(str(110 + n % 30), str(70 + n % 15)))  # fmt: skip
        elif n % 10 == 9:
            yield Sample("HKQuantityTypeIdentifierStepCount", moment, str(n % 900 + 10), "count", "iPhone", PHONE,
                         moment + timedelta(minutes=5))  # fmt: skip
        else:
            yield Sample("HKQuantityTypeIdentifierHeartRate", moment, str(55 + n % 60), "count/min")
