"""Apple Health exports through `carry import`: every kind of sample Carry takes, in metric and US units, from
export.xml and export.zip alike; re-importing a newer export adds only what is new; recognised by content, not
by name; damaged exports refused with the record unchanged."""

from __future__ import annotations

import gc
import json
import random
import shutil
import zipfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from importers.conftest import refusal
from support.apple_health import (
    EVERY_KIND, IGNORED, PER_DAY, PHONE, Sample, heart_rates, observations_of, write_export,
)  # fmt: skip

from app.record import Record
from app.record.imports import import_path
from sync.importers.apple_health import SOURCE_APP_SYSTEM
from sync.pull.puller import heap_set_aside

UCUM = "http://unitsofmeasure.org"


def _observations(record: Record) -> list[dict[str, Any]]:
    rows = record.read("SELECT resource_json(raw, type, id) FROM resource WHERE type = 'Observation' ORDER BY rowid")
    return [json.loads(raw) for (raw,) in rows]


def _value(obs: dict[str, Any]) -> tuple[str, str, str]:
    code = obs["code"]["coding"][0]["code"]
    if "component" in obs and code == "85354-9":
        units = {c["valueQuantity"]["code"] for c in obs["component"]}
        [unit] = units
        return code, unit, "/".join(str(c["valueQuantity"]["value"]) for c in obs["component"])
    quantity = obs["valueQuantity"]
    assert quantity["system"] == UCUM
    return code, quantity["code"], str(Decimal(str(quantity["value"])))


@pytest.mark.parametrize("as_zip", [False, True], ids=["export.xml", "export.zip"])
def test_every_kind_of_sample_becomes_an_observation_in_ucum(record: Record, tmp_path: Path, as_zip: bool) -> None:
    export = write_export(tmp_path / ("export.zip" if as_zip else "export.xml"),
                          [s for s, _ in EVERY_KIND] + IGNORED, as_zip=as_zip)  # fmt: skip
    report = import_path(record, export)
    assert report.counts.imported == len(EVERY_KIND) and report.counts.invalid == 0
    observations = _observations(record)
    assert sorted(_value(o) for o in observations) == sorted(expected for _, expected in EVERY_KIND)
    assert record.read("SELECT DISTINCT valid FROM resource") == [(1,)]
    by_code = {o["code"]["coding"][0]["code"]: o for o in observations}
    heart = by_code["8867-4"]
    # One sample's day: the day is that sample, its mean the sample's value, its lowest and highest too.
    assert heart["effectivePeriod"] == {"start": "2024-03-01T07:15:00-08:00", "end": "2024-03-01T07:15:00-08:00"}
    assert [c["valueQuantity"]["value"] for c in heart["component"]] == [72, 72]
    assert heart["device"] == {"display": "Apple Watch (Watch, Watch6,2)"}
    assert heart["category"][0]["coding"][0]["code"] == "vital-signs"
    assert {t["code"] for t in heart["meta"]["tag"] if t["system"] == SOURCE_APP_SYSTEM} == {"Apple Watch"}
    assert by_code["41950-7"]["effectivePeriod"] == {"start": "2024-03-01T07:15:00-08:00",
                                                     "end": "2024-03-01T08:15:00-08:00"}  # fmt: skip
    assert [t["code"] for t in by_code["85354-9"]["meta"]["tag"]] == ["Omron"]
    assert [c["code"]["coding"][0]["code"] for c in by_code["85354-9"]["component"]] == ["8480-6", "8462-4"]


def test_a_newer_export_adds_only_what_is_new(record: Record, tmp_path: Path) -> None:
    old = list(heart_rates(300))
    first = import_path(record, write_export(tmp_path / "old.xml", old))
    newer = old + list(heart_rates(120, start=old[-1].start + timedelta(minutes=5)))
    second = import_path(record, write_export(tmp_path / "new.zip", newer, as_zip=True))
    before, after = observations_of(old), observations_of(newer)
    # The day the older export ended in goes on in the newer one: that day's heart rate and steps are updated.
    last_day = old[-1].start.strftime("%Y-%m-%d")
    updated = {o for o in before if o[-1] == last_day}
    assert len(updated) == 2 and len(before) < 25  # 300 samples over two days: a handful of Observations
    assert first.counts.imported == len(before)
    assert (second.counts.imported, second.counts.updated, second.counts.unchanged) == (
        len(after - before), len(updated), len(before) - len(updated))
    assert record.count("Observation") == len(after)


def test_a_day_of_heart_rates_is_its_mean_lowest_and_highest(record: Record, tmp_path: Path) -> None:
    day = [s for s in heart_rates(200) if s.type == PER_DAY[0] and s.start.day == 1]
    values = [int(s.value) for s in day]
    import_path(record, write_export(tmp_path / "day.xml", day))
    [heart] = _observations(record)
    mean = Decimal(sum(values)) / len(values)
    assert heart["valueQuantity"]["value"] == float(round(mean, 2))
    assert [c["valueQuantity"]["value"] for c in heart["component"]] == [min(values), max(values)]
    assert heart["effectivePeriod"]["start"] == "2024-03-01T07:15:00-08:00"
    assert heart["method"]["text"] == f"Mean of {len(values)} readings on 2024-03-01"


def _days(record: Record) -> dict[str, dict[str, Any]]:
    """The record's Observations by id, without the subject (each record has its own stand-in Patient)."""
    return {o["id"]: {k: v for k, v in o.items() if k != "subject"} for o in _observations(record)}


def test_a_late_sample_of_a_day_already_written_is_counted_into_it(tmp_path: Path) -> None:
    # Ten days of heart rates in order, then one more for the first day: that day was written long before (a
    # series keeps only its newest days open), and it ends with the late sample counted in, as in order.
    in_order = [s for s in heart_rates(2880) if s.type == PER_DAY[0]]
    late = Sample(PER_DAY[0], in_order[0].start + timedelta(minutes=1), "190", "count/min")
    first_day = [s for s in in_order if s.start.date() == late.start.date()]
    with Record.create(tmp_path / "a.carry", "pass phrase one") as ordered, \
            Record.create(tmp_path / "b.carry", "pass phrase one") as shuffled:  # fmt: skip
        sorted_samples = sorted([*in_order, late], key=lambda s: s.start)
        import_path(ordered, write_export(tmp_path / "ordered.xml", sorted_samples))
        report = import_path(shuffled, write_export(tmp_path / "late.xml", [*in_order, late]))
        assert report.counts.imported == len({s.start.date() for s in in_order}) and report.counts.invalid == 0
        assert report.counts.updated == 0  # the day written again was first written by this very import
        assert _days(shuffled) == _days(ordered)
        [day] = [o for o in _observations(shuffled) if o["method"]["text"].endswith(str(late.start.date()))]
        assert day["method"]["text"] == f"Mean of {len(first_day) + 1} readings on {late.start.date()}"
        assert day["component"][1]["valueQuantity"]["value"] == 190


@pytest.mark.parametrize("seed", [2, 3])
def test_a_shuffled_export_ends_as_the_ordered_one(tmp_path: Path, seed: int) -> None:
    samples = list(heart_rates(4000))  # two weeks of heart rates, steps and blood pressures, all series at once
    mixed = samples[:]
    random.Random(seed).shuffle(mixed)
    with Record.create(tmp_path / "a.carry", "pass phrase one") as ordered, \
            Record.create(tmp_path / "b.carry", "pass phrase one") as shuffled:  # fmt: skip
        expected = import_path(ordered, write_export(tmp_path / "ordered.xml", samples))
        report = import_path(shuffled, write_export(tmp_path / "shuffled.xml", mixed))
        assert report.counts.imported == expected.counts.imported == len(observations_of(samples))
        assert _days(shuffled) == _days(ordered)
        # The report a patient expects: every day written first in this import is imported, none updated.
        assert _tally(report) == _tally(expected) and report.counts.updated == 0
        # Imported again, the shuffled export changes nothing and says so, as the ordered one does.
        again, again_shuffled = (import_path(ordered, tmp_path / name) for name in ("ordered.xml", "shuffled.xml"))
        assert _tally(again_shuffled) == _tally(again) == (0, 0, expected.counts.imported, 0, _tally(again)[4])
        assert {outcome for kinds in _tally(again)[4].values() for outcome, n in kinds if n} == {"unchanged"}
        assert _days(ordered) == _days(shuffled)
        assert ordered.read("SELECT count(*) FROM run_prior") == [(0,)]  # the hashes from before a run go with it


def _tally(report: Any) -> tuple[int, int, int, int, dict[str, tuple[tuple[str, int], ...]]]:
    c = report.counts
    return c.imported, c.updated, c.unchanged, c.invalid, {k: tuple(sorted(v.items())) for k, v in c.per_type.items()}


def test_series_of_one_type_interleaved_end_as_each_read_alone(tmp_path: Path) -> None:
    # A watch, a phone (the same app), a strap that names no device and an app that names neither, all writing
    # heart rates at once (each sample of a type is read as the one before's series and day when it is): the days
    # of each series are what that series alone gives, in order and shuffled, a day with a late strap sample too.
    watch = [s for s in heart_rates(3000) if s.type == PER_DAY[0]]
    others = [
        [Sample(s.type, s.start + timedelta(seconds=30), str(int(s.value) + 40), "count/min", s.source, PHONE)
         for s in watch],
        [Sample(s.type, s.start + timedelta(seconds=40), f"{s.value}.5", "count/min", "Strap", "") for s in watch],
        [Sample(s.type, s.start + timedelta(seconds=50), "70", "count/min", "", "") for s in watch[::3]],
    ]  # fmt: skip
    late = Sample(PER_DAY[0], watch[0].start + timedelta(seconds=45), "150", "count/min", "Strap", "")
    mixed = [s for group in zip(watch, *others[:2], strict=True) for s in group] + others[2] + [late]
    others[1].append(late)
    shuffled = mixed[:]
    random.Random(4).shuffle(shuffled)
    alone: dict[str, Any] = {}
    for n, series in enumerate([watch, *others]):
        with Record.create(tmp_path / f"alone-{n}.carry", "pass phrase one") as record:
            import_path(record, write_export(tmp_path / f"alone-{n}.xml", sorted(series, key=lambda s: s.start)))
            alone |= _days(record)
    for name, samples in (("mixed", mixed), ("shuffled", shuffled)):
        with Record.create(tmp_path / f"{name}.carry", "pass phrase one") as record:
            import_path(record, write_export(tmp_path / f"{name}.xml", samples))
            assert _days(record) == alone


def test_an_import_hands_the_heap_back_to_the_collector(record: Record, tmp_path: Path) -> None:
    # While a file streams in, what the process held before is set aside from the garbage collector (gc.freeze);
    # afterwards it is handed back, unless a sync that set it aside too is still running.
    assert gc.get_freeze_count() == 0
    import_path(record, write_export(tmp_path / "a.xml", heart_rates(300)))
    assert gc.get_freeze_count() == 0
    with heap_set_aside():  # a sync, running meanwhile
        assert gc.get_freeze_count() > 0
        import_path(record, write_export(tmp_path / "b.xml", heart_rates(600)))
        assert gc.get_freeze_count() > 0  # still set aside: the sync has not ended
    assert gc.get_freeze_count() == 0


def test_an_export_in_another_language_is_found_in_its_zip(record: Record, tmp_path: Path) -> None:
    # The Health app may name the file in the user's language: only its content says what it is.
    export = write_export(tmp_path / "Export.zip", [s for s, _ in EVERY_KIND], as_zip=True, member="Exportieren.xml")
    assert import_path(record, export).counts.imported == len(EVERY_KIND)


def test_recognised_by_content_not_by_name(record: Record, tmp_path: Path) -> None:
    export = write_export(tmp_path / "x.xml", [s for s, _ in EVERY_KIND[:3]])
    named_oddly = tmp_path / "health-data.bin"
    shutil.copy(export, named_oddly)
    assert import_path(record, named_oddly).counts.imported == 3
    # A FHIR file called export.xml is still read as FHIR.
    fhir = tmp_path / "export.xml"
    fhir.write_text(json.dumps({"resourceType": "Patient", "id": "p1", "name": [{"family": "Lind"}]}))
    assert import_path(record, fhir).counts.imported == 1
    # Lind, and the Patient Carry wrote to stand for the person the export went to (the record held nobody).
    assert sorted(r.display for r in record.rows(where="r.type = 'Patient'")) == ["Lind", "Unnamed patient"]


def _truncated(tmp_path: Path) -> Path:
    text = write_export(tmp_path / "full.xml", [s for s, _ in EVERY_KIND]).read_text()
    path = tmp_path / "export.xml"
    path.write_text(text[: len(text) * 2 // 3])
    return path


def _unknown_unit(tmp_path: Path) -> Path:
    start = EVERY_KIND[0][0].start
    return write_export(tmp_path / "export.xml", [Sample("HKQuantityTypeIdentifierBodyMass", start, "11", "furlong")])


def _bad_date(tmp_path: Path) -> Path:
    text = write_export(tmp_path / "full.xml", [s for s, _ in EVERY_KIND]).read_text()
    path = tmp_path / "export.xml"
    path.write_text(text.replace('startDate="2024-03-01 07:15:00 -0800"', 'startDate="March 1st"', 1))
    return path


def _zip_without_export(tmp_path: Path) -> Path:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("apple_health_export/export_cda.xml", "<ClinicalDocument/>")
    return path


def _entity_bomb(tmp_path: Path) -> Path:
    path = tmp_path / "export.xml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE HealthData [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
                    '<HealthData><Record type="HKQuantityTypeIdentifierHeartRate" value="&b;"/></HealthData>\n')  # fmt: skip
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_truncated, "the export's XML is damaged or incomplete."),
        (_unknown_unit, "a body weight sample is in a unit Carry does not know (furlong)."),
        (_bad_date, "a sample in the export has a date Carry cannot read."),
        (_entity_bomb, "the export's XML is damaged or incomplete."),
    ],
)
def test_bad_exports_are_refused_and_change_nothing(record: Record, tmp_path: Path, make: Any, reason: str) -> None:
    import_path(record, write_export(tmp_path / "good.xml", list(heart_rates(20))))
    bad = make(tmp_path)
    assert refusal(record, bad) == f"{bad.name}: not imported: {reason}"


def test_a_zip_that_is_not_an_apple_export_is_refused(record: Record, tmp_path: Path) -> None:
    assert refusal(record, _zip_without_export(tmp_path)).startswith("export.zip: not imported: ")


@pytest.mark.parametrize(
    "dates",
    [
        ["2024-03-01 07:15:00 -080"],  # a digit short
        ["2024-03-01 07:15:00 -08000"],  # a digit too many
        ["2024-03-01T07:15:00 -0800"],
        ["2024-03-01 07:15:00 +08:00"],
        # Two that are wrong by a digit each way: side by side they have the right length between them.
        ["2024-03-01 07:15:00 -080", "02024-03-01 07:15:00 -0800"],
    ],
)
def test_a_bad_date_among_many_heart_rates_is_refused(record: Record, tmp_path: Path, dates: list[str]) -> None:
    # Heart rates are checked many at a time: a bad date in the middle of a day's thousand is found all the same.
    lines = write_export(tmp_path / "good.xml", list(heart_rates(2000))).read_text().splitlines(keepends=True)
    heart = [n for n, line in enumerate(lines) if PER_DAY[0] in line][:1000:]
    for n, date in zip(heart[500:], dates, strict=False):
        start = lines[n].index('startDate="') + len('startDate="')
        lines[n] = lines[n][:start] + date + lines[n][lines[n].index('"', start):]
    bad = tmp_path / "export.xml"
    bad.write_text("".join(lines))
    assert refusal(record, bad) == "export.xml: not imported: a sample in the export has a date Carry cannot read."
