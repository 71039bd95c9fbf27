"""An Apple Health export read in a second process (sync/importers/in_child.py) while the import stores what it
hands over: the record ends the same, byte for byte, as when it is read in the importing process; a damaged
export is refused with the same sentence and the record unchanged; no second process outlives its import, however
the import ends (stored, refused, failed while storing, closed part way, the reading process killed)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import Generator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from importers.conftest import refusal
from support.apple_health import EVERY_KIND, IGNORED, Sample, heart_rates, observations_of, write_export
from support.cli import one_line_refusal, run_carry
from support.records import PASSPHRASE, snapshot

from app.record import ImportRefused, Record
from app.record.imports import import_path, import_with
from sync.importers import ImportContext, ImportFailed
from sync.importers.apple_health import AppleHealthImporter


def _children() -> set[int]:
    """The processes whose parent is this one, as the system sees them."""
    mine = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            if int(fields[1]) == mine:
                found.add(int(entry))
    return found


@pytest.fixture(autouse=True)
def _none_left_behind() -> Any:
    before = _children()
    yield
    assert _children() == before


def _stored(record: Record) -> list[tuple[str, str, str]]:
    """Every resource the record holds (type, id, its JSON as stored), the stand-in Patient's id made one word:
    each record makes its own."""
    [(patient,)] = record.read("SELECT id FROM resource WHERE type = 'Patient'")
    rows = record.read("SELECT type, id, resource_json(raw, type, id) FROM resource ORDER BY type, id")
    return [(kind, rid.replace(patient, "P"), text.replace(patient, "P")) for kind, rid, text in rows]


def _export(tmp_path: Path, *, count: int = 6000) -> Path:
    """Every kind Carry takes, and days of heart rates, steps and blood pressures, partly out of order."""
    many = list(heart_rates(count))
    random.Random(4).shuffle(many[count // 2 :])
    late = Sample("HKQuantityTypeIdentifierHeartRate", many[0].start + timedelta(minutes=2), "181", "count/min")
    return write_export(tmp_path / "export.xml", [*(s for s, _ in EVERY_KIND), *IGNORED, *many, late])


@pytest.mark.parametrize("as_zip", [False, True], ids=["export.xml", "export.zip"])
def test_read_in_a_second_process_the_record_is_the_same(tmp_path: Path, as_zip: bool) -> None:
    export = _export(tmp_path)
    if as_zip:
        export = write_export(tmp_path / "export.zip", [s for s, _ in EVERY_KIND] + list(heart_rates(3000)),
                              as_zip=True)  # fmt: skip
    stored = {}
    for in_child in (False, True):
        with Record.create(tmp_path / f"{in_child}.carry", PASSPHRASE) as record:
            report = import_with(record, AppleHealthImporter(in_child=in_child), export)
            assert report.counts.imported > 50
            stored[in_child] = (report.counts.imported, report.counts.updated, _stored(record))
    assert stored[True] == stored[False]


def test_the_reading_runs_in_a_second_process_and_ends_with_the_stream(tmp_path: Path) -> None:
    export = _export(tmp_path)
    before = _children()
    context = ImportContext(cache=_NoCache())
    stream = AppleHealthImporter(in_child=True).resources(export, context)
    assert isinstance(stream, Generator)
    next(stream)
    assert len(_children() - before) == 1  # reading while this process takes what it has read
    stream.close()  # the import cancelled part way: the second process is stopped and waited for
    assert _children() == before
    # Read in this process, there is none.
    stream = AppleHealthImporter(in_child=False).resources(export, context)
    assert isinstance(stream, Generator)
    next(stream)
    assert _children() == before
    stream.close()


def test_a_reading_process_that_dies_is_a_refusal_and_changes_nothing(record: Record, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.xml", list(heart_rates(60_000)))
    before = _children()
    stream = AppleHealthImporter(in_child=True).resources(export, ImportContext(cache=_NoCache()))
    next(stream)
    [child] = _children() - before
    os.kill(child, signal.SIGKILL)
    with pytest.raises(ImportFailed, match="^The file could not be read to its end: the process reading it stopped.$"):
        for _ in stream:
            pass


def _truncated(tmp_path: Path, count: int = 6000) -> Path:
    text = _export(tmp_path, count=count).read_text()
    path = tmp_path / "cut.xml"
    path.write_text(text[: len(text) * 2 // 3])
    return path


def _unknown_unit_first(tmp_path: Path) -> Path:
    # Refused by the importing process (it makes the Observations) while the second one is still reading.
    start = EVERY_KIND[0][0].start
    return write_export(tmp_path / "unit.xml", [Sample("HKQuantityTypeIdentifierBodyMass", start, "11", "furlong"),
                                                *heart_rates(40_000)])  # fmt: skip


def _bad_date_late(tmp_path: Path) -> Path:
    text = _export(tmp_path).read_text()
    at = text.index('startDate="', len(text) // 2) + len('startDate="')
    path = tmp_path / "date.xml"
    path.write_text(text[:at] + "March 1st" + text[text.index('"', at) :])
    return path


def _not_xml_late(tmp_path: Path) -> Path:
    text = _export(tmp_path).read_text()
    at = text.index("<Record", len(text) // 3)
    path = tmp_path / "broken.xml"
    path.write_text(text[:at] + "<Record <<" + text[at:])
    return path


@pytest.mark.parametrize("make", [_truncated, _unknown_unit_first, _bad_date_late, _not_xml_late])
def test_a_damaged_export_is_refused_alike_and_changes_nothing(record: Record, tmp_path: Path, make: Any) -> None:
    import_path(record, write_export(tmp_path / "good.xml", list(heart_rates(20))))
    bad = make(tmp_path)
    said = {}
    for in_child in (False, True):
        before = snapshot(record)
        with pytest.raises(ImportRefused) as refused:
            import_with(record, AppleHealthImporter(in_child=in_child), bad)
        assert snapshot(record) == before
        said[in_child] = str(refused.value)
    assert said[True] == said[False]
    assert said[True].startswith(f"{bad.name}: not imported: ")


def test_an_error_while_storing_stops_the_reading_process(record: Record, tmp_path: Path) -> None:
    # Two persons in the record, and the export names nobody: the import asks who is meant at its first
    # Observation, while the second process is reading on.
    for name in ("Lind", "Okafor"):
        patient = tmp_path / f"{name}.json"
        patient.write_text(json.dumps({"resourceType": "Patient", "id": name, "name": [{"family": name}],
                                       "birthDate": "1980-01-01" if name == "Lind" else "1990-02-02"}))  # fmt: skip
        import_path(record, patient)
    export = write_export(tmp_path / "export.xml", list(heart_rates(40_000)))
    before = snapshot(record)
    with pytest.raises(ImportRefused, match="not imported: "):
        import_with(record, AppleHealthImporter(in_child=True), export)
    assert snapshot(record) == before


def test_refused_the_same_from_carry_import(record: Record, tmp_path: Path) -> None:
    # `carry import` (import_path) of an export big enough: read in a second process when there are two cores.
    export = _truncated(tmp_path, 16_000)
    assert export.stat().st_size > 4 * 1024 * 1024
    before = os.times()
    assert refusal(record, export) == "cut.xml: not imported: the export's XML is damaged or incomplete."
    after = os.times()
    if len(os.sched_getaffinity(0)) >= 2:  # the second process's time, counted once it was waited for
        assert after.children_user + after.children_system > before.children_user + before.children_system


# Run in a fresh interpreter: whether the reading process imports anything (a module's import lock held by another
# thread of the app at the fork would never be released in the copy).
_PROBE = """
import os, sys
from pathlib import Path
import sync.importers.apple_health as apple
parent = os.getpid()
def hook(event, args):
    if event == "import" and os.getpid() != parent:
        os.write(2, f"imported in the reading process: {args[0]}\\n".encode())
sys.addaudithook(hook)
print([sum(1 for _ in apple.reading_in_child(Path(p))) for p in sys.argv[1:]])
"""


def test_the_reading_process_imports_nothing(tmp_path: Path) -> None:
    samples = [s for s, _ in EVERY_KIND] + IGNORED + list(heart_rates(3000))
    exports = [write_export(tmp_path / "export.xml", samples), write_export(tmp_path / "export.zip", samples,
                                                                            as_zip=True)]  # fmt: skip
    done = subprocess.run([sys.executable, "-c", _PROBE, *map(str, exports)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.split() == ["[94,", "94]"]


class _NoCache:
    def get_setting(self, key: str, default: str | None = None) -> str | None:
        return default

    def set_setting(self, key: str, value: str) -> None:
        raise AssertionError("an Apple Health import keeps no settings")


def test_from_the_apps_worker_thread(record: Record, tmp_path: Path) -> None:
    # The app imports on a worker thread of its event loop (UiSession.run): the second process is forked from it.
    export = write_export(tmp_path / "export.xml", list(heart_rates(12_000)))
    assert export.stat().st_size > 4 * 1024 * 1024  # big enough to be read in a second process
    before = os.times()

    async def app() -> Any:
        return await asyncio.to_thread(import_path, record, export)

    report = asyncio.run(app())
    after = os.times()
    assert report.counts.imported == len(observations_of(heart_rates(12_000))) and report.counts.invalid == 0
    if len(os.sched_getaffinity(0)) >= 2:
        assert after.children_user + after.children_system > before.children_user + before.children_system


def test_carry_import_of_a_big_export(tmp_path: Path) -> None:
    # `carry import` in its own process, of exports big enough to be read in a second one: stored, then refused.
    env = {"CARRY_RECORD": str(tmp_path / "cli.carry"), "CARRY_PASSPHRASE": PASSPHRASE}
    assert run_carry("init", env={**env, "CARRY_NEW_PASSPHRASE": PASSPHRASE}).returncode == 0
    # A small one first: what it printed is not printed again by the second process (flushed before the fork).
    small = write_export(tmp_path / "small.xml", list(heart_rates(100)))
    export = write_export(tmp_path / "export.xml", list(heart_rates(12_000)))
    done = run_carry("import", str(small), str(export), env=env)
    assert done.returncode == 0 and done.stderr == ""
    assert [line.split(":")[0] for line in done.stdout.splitlines() if not line.startswith(" ")] == [
        "small.xml", "export.xml"]  # fmt: skip
    done = run_carry("import", "--json", str(export), env=env)  # again: nothing new
    [report] = json.loads(done.stdout)
    assert (report["imported"], report["updated"]) == (0, 0)
    assert report["unchanged"] == len(observations_of(heart_rates(12_000)))
    cut = _truncated(tmp_path, 16_000)
    line = one_line_refusal(run_carry("import", str(cut), env=env))
    assert line.endswith("cut.xml: not imported: the export's XML is damaged or incomplete.")
