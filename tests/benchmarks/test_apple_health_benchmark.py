"""Apple Health import benchmark: import time against parsing the XML alone, peak memory at two sizes, a 2 GB-sized
export streamed through, and the time a 5-year heart-rate chart takes.

Run on demand (not part of the test run):
    python -m pytest tests/benchmarks/test_apple_health_benchmark.py -s -p no:cacheprovider
Sizes: 200,000 samples (CARRY_BENCH_APPLE_SAMPLES), memory compared with a tenth of it; with CARRY_BENCH_APPLE_2M=1
also 2,000,000 (time and memory). Targets (issues 19 and 20): importing (storing in the record) <= 1.5x parsing the
XML with the same streaming parser, the validation afterwards (as after a sync) printed beside it; peak memory flat
from 200k to 2M samples (within 10 %: the import's page cache is bounded, 8 MiB, and a day is written once its
series has moved on, so what grows is a few numbers a day); a 5-year
heart-rate chart (the view's series and the chart control) < 300 ms. Heart rate and steps become one Observation a
day, so little is stored or validated. With a second core free, the import reads the XML in a second process
(sync/importers/in_child.py) while it stores: its wall time then approaches that reading alone (the parse and the
per-sample work), when the second core is really free; so the CPU of both processes is printed as well (on a
machine whose other core is busy the wall time is about their sum), the busier one's held to 1.5x the parse's CPU
whatever the load, and the reading process's peak memory is printed beside the importing one's. Every figure is printed with the machine's load; the parse-only baseline is
taken in turns with the imports, turns go on (up to CARRY_BENCH_MAX_RUNS) until the lowest parse-only run has
another within 10 % of it, and no ratio is reported otherwise: two slowed runs that agree with each other would
make the import look cheaper than it is.

The streaming test writes an export.xml of CARRY_BENCH_APPLE_STREAM_BYTES (40 MB unless set; 2000000000 for the
2 GB-sized run) to a temporary directory as a stream, imports it in a child process, prints the time and the peak
memory against an export a tenth of its size, and removes both.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from defusedxml.ElementTree import iterparse
from steady import MAX_RUNS, Steady, machine_load, print_load, ratio_text, settled, steady
from support.apple_health import Sample, heart_rates, observations_of, write_export
from support.records import PASSPHRASE

import app.views as v
from app.record import Record
from app.record.checking import check_pending
from app.record.imports import import_path, import_with
from sync.importers.apple_health import AppleHealthImporter

SIZE = int(os.environ.get("CARRY_BENCH_APPLE_SAMPLES", "200000"))
MILLIONS = 2_000_000 if os.environ.get("CARRY_BENCH_APPLE_2M") else None
STREAM_BYTES = int(os.environ.get("CARRY_BENCH_APPLE_STREAM_BYTES", "40000000"))
CHART_TARGET_MS = 300

# VmHWM is this process's own peak (ru_maxrss would carry over the peak of the parent that forked it).
_MEASURE = """
import os, sys, time
from pathlib import Path
from app.record import Record
from app.record.imports import import_with
from sync.importers.apple_health import AppleHealthImporter
import resource
record = Record.open(sys.argv[1], os.environ["CARRY_PASSPHRASE"])
start = time.perf_counter()
report = import_with(record, AppleHealthImporter(), Path(sys.argv[2]))
seconds = time.perf_counter() - start
record.close()
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
# the reading process's peak (KiB; 0 when the export was read in this one): it counts the pages it shares
reader = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(report.counts.imported, peak, seconds, reader)
"""


def _parse_only(path: Path) -> tuple[float, int]:
    """The floor: the same streaming parse (defusedxml iterparse, elements dropped as read), building nothing."""
    start = time.perf_counter()
    depth = records = 0
    root = None
    with path.open("rb") as stream:
        for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=False):
            if event == "start":
                root = element if root is None else root
                depth += 1
                continue
            depth -= 1
            if depth == 1:
                records += element.tag in ("Record", "Correlation")
                assert root is not None
                root.clear()
    return time.perf_counter() - start, records


def _peak(tmp_path: Path, export: Path) -> tuple[int, int, int]:
    imported, kib, _, reader = _child_import(tmp_path, export)
    return imported, kib, reader


def _child_import(directory: Path, export: Path) -> tuple[int, int, float, int]:
    """Import `export` into a new record in a child process: Observations stored, the child's peak resident memory
    (KiB), the import's seconds and the peak of the process that read the XML for it (KiB, 0 if none did)."""
    path = directory / f"{export.stem}.carry"
    Record.create(path, PASSPHRASE).close()
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(export)],
        capture_output=True, text=True, check=True, env={**os.environ, "CARRY_PASSPHRASE": PASSPHRASE},
    )  # fmt: skip
    imported, kib, seconds, reader = out.stdout.split()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return int(imported), int(kib), float(seconds), int(reader)


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this process and of its children waited for."""
    times = os.times()
    return times.user + times.system, times.children_user + times.children_system


def _import_seconds(tmp_path: Path, export: Path, label: str) -> tuple[float, float, int, tuple[float, float]]:
    """Import into a new record (stored, not validated yet: import_with), then validate what it stored (as
    `carry import` does right after): seconds of each, how many Observations, and the import's CPU seconds in
    this process and in the one that read the XML for it (0 when it was read in this one)."""
    record = Record.create(tmp_path / f"{label}.carry", PASSPHRASE)
    try:
        cpu = _cpu()
        start = time.perf_counter()
        report = import_with(record, AppleHealthImporter(), export)
        stored = time.perf_counter() - start
        spent = _cpu()
        start = time.perf_counter()
        check_pending(record)
        cpu = (spent[0] - cpu[0], spent[1] - cpu[1])
        return stored, time.perf_counter() - start, report.counts.imported, cpu
    finally:
        record.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp_path / label}.carry{suffix}").unlink(missing_ok=True)


def _confirmed(what: str, runs: list[float]) -> Steady:
    """The baseline is the lowest run, when another run agrees with it within 10 % (else none: disturbed). The
    lowest agreeing pair (`settled`) is not enough here: a baseline slowed down in two runs alike flatters the
    ratio."""
    ordered = sorted(runs)
    lowest = settled(what, ordered[:2]).value if len(ordered) >= 2 else None
    return Steady(what, tuple(runs), lowest)


def _timed_against_parsing(tmp_path: Path, export: Path, samples: int,
                           expected: int) -> tuple[float, Steady, float]:  # fmt: skip
    # Parse-only and import runs taken in turns, so that a change in the machine's load touches both.
    parses: list[float] = []
    parse_cpu: list[float] = []
    imports: list[tuple[float, float, tuple[float, float]]] = []
    # At least two turns (three at the smaller sizes), then more until the lowest parse-only run is confirmed.
    least = 2 if samples > 1_000_000 else 3
    turn = 0
    while turn < least or (_confirmed("", parses).value is None and turn < max(least, MAX_RUNS)):
        before = _cpu()[0]
        parses.append(_parse_only(export)[0])
        parse_cpu.append(_cpu()[0] - before)
        stored, checked, imported, cpu = _import_seconds(tmp_path, export, f"timed-{samples}-{turn}")
        assert imported == expected
        imports.append((stored, checked, cpu))
        turn += 1
    floor = _confirmed(f"parse only, {samples:,} samples", parses)
    stored, checked, (own, reader) = min(imports)
    runs = "/".join(f"{r:.2f}" for r in parses)
    print(f"  parse only (baseline), {samples:>9,} samples {floor.value or float('nan'):8.2f} s  (runs {runs})")
    print(f"  import (stored),       {samples:>9,} samples {stored:8.2f} s  {expected:,} Observations  "
          f"{ratio_text(stored, floor)} (target <= 1.5x)")  # fmt: skip
    print(f"  + validation after     {samples:>9,} samples {stored + checked:8.2f} s  "
          f"{ratio_text(stored + checked, floor)}")  # fmt: skip
    # On a machine whose second core is busy, the wall time is the sum of both processes' CPU; on a quiet one,
    # about the larger of the two. Both are printed, against the parse's own CPU.
    parsing = min(parse_cpu)
    print(f"  CPU of that import:    this process {own:.2f} s, the process reading the XML {reader:.2f} s "
          f"(the larger {max(own, reader) / parsing:.2f}x, both {(own + reader) / parsing:.2f}x the parse's "
          f"{parsing:.2f} s CPU)")  # fmt: skip
    return stored, floor, max(own, reader) / parsing


@pytest.mark.timeout(3600)  # at 2M samples the turns take longer than the suite's 10 minutes
def test_apple_health_import_against_parsing_and_memory(tmp_path: Path) -> None:
    print_load("before")
    sizes = [SIZE // 10, SIZE] + ([MILLIONS] if MILLIONS else [])
    exports = {n: write_export(tmp_path / f"export-{n}.xml", heart_rates(n)) for n in sizes}
    expected = {n: len(observations_of(heart_rates(n))) for n in sizes}
    print(f"\nApple Health export: {SIZE:,} samples, {exports[SIZE].stat().st_size / 1e6:.0f} MB of XML")
    timed = [_timed_against_parsing(tmp_path, exports[n], n, expected[n]) for n in sizes[1:]]

    peaks = {n: _peak(tmp_path, exports[n]) for n in sizes}
    smallest = peaks[sizes[0]][1]
    for n, (imported, kib, reader) in peaks.items():
        print(f"  peak memory, {n:>9,} samples {kib / 1024:8.1f} MiB   {kib / smallest:.2f}x the {sizes[0]:,}-sample "
              f"export (target about 1x); the reading process {reader / 1024:.1f} MiB")  # fmt: skip
        assert imported == expected[n]
    if MILLIONS:
        print(f"  peak memory, {MILLIONS:,} against {SIZE:,} samples: {peaks[MILLIONS][1] / peaks[SIZE][1]:.2f}x "
              "(target about 1.10x)")  # fmt: skip
    print_load("after")
    if MILLIONS:  # about 10 %, with room for the allocator's noise (measured 1.06x since schema 19: the kept days' numbers)
        assert peaks[MILLIONS][1] <= peaks[SIZE][1] * 1.12
    # What may grow is the record's page cache (64 MiB) as the record grows, and nothing else: no sample is held.
    assert max(kib for _, kib, _ in peaks.values()) - smallest < 64 * 1024 * 1.25
    if MILLIONS and peaks[SIZE][2]:  # the reading process holds a few days per series, however long the export
        assert peaks[MILLIONS][2] <= peaks[SIZE][2] * 1.12
    for _, _, critical in timed:
        # The busier process's CPU against the parse's: about the wall time on a machine whose second core is
        # free, whatever the load of this one (the wall time is asserted below, where the parse's was steady).
        assert critical <= 1.5
    for _, floor, _ in timed:
        if floor.value is None:
            runs = ", ".join(f"{run:.3g}" for run in floor.runs)
            pytest.skip(f"{floor.what}: the lowest of {len(floor.runs)} runs had none within 10 % of it ({runs} s; "
                        f"{machine_load()}), so no ratio against it is reported")  # fmt: skip
    for best, floor, _ in timed:
        assert floor.value is not None and best <= floor.value * 1.5


@pytest.mark.timeout(3600)  # the 2 GB-sized run writes and reads 2 GB: longer than the suite's 10 minutes
def test_a_2gb_sized_export_streams_through_in_flat_memory() -> None:
    """An export.xml of STREAM_BYTES (the 2 GB-sized run: CARRY_BENCH_APPLE_STREAM_BYTES=2000000000) written as a
    stream to a temporary directory, imported in a child process: its time and peak memory, against an export a
    tenth of its size. Both exports and records are removed afterwards, whatever happens."""
    print_load("before")
    with tempfile.TemporaryDirectory(prefix="carry-apple-stream-") as name:
        directory = Path(name)
        per_sample = write_export(directory / "probe.xml", heart_rates(10_000)).stat().st_size / 10_000
        big = int(STREAM_BYTES / per_sample)
        figures = {}
        for n in (big // 10, big):
            begin = time.perf_counter()
            export = write_export(directory / f"export-{n}.xml", heart_rates(n))
            written = time.perf_counter() - begin
            size = export.stat().st_size
            imported, kib, seconds, _ = _child_import(directory, export)
            export.unlink()
            assert imported == _count_observations(n)
            figures[n] = kib
            print(f"\n  {size / 1e9:6.2f} GB export.xml, {n:>11,} samples: written in {written:6.1f} s; imported in "
                  f"{seconds:7.1f} s ({size / 1e6 / seconds:5.1f} MB/s, {n / seconds:,.0f} samples/s), "
                  f"{imported:,} Observations, peak memory {kib / 1024:6.1f} MiB")  # fmt: skip
        small = figures[big // 10]
        print(f"  peak memory against the export a tenth of its size: {figures[big] / small:.2f}x (target about 1x)")
    print_load("after")
    # As above: only the record's page cache (64 MiB) may grow with the record.
    assert figures[big] - small < 64 * 1024 * 1.25


def _count_observations(samples: int) -> int:
    """What heart_rates(samples) becomes (observations_of, counted as they stream: no list of millions)."""
    days: set[tuple[str, ...]] = set()
    pressures = 0
    for sample in heart_rates(samples):
        if sample.pressure is not None:
            pressures += 1
        else:
            days.add((sample.type, sample.start.strftime("%Y-%m-%d")))
    return pressures + len(days)


def test_a_five_year_heart_rate_chart(tmp_path: Path) -> None:
    """Five years of a watch's heart rate (a sample an hour: 43,800), one Observation a day in the record; the
    chart's series (means per month, from the record) and its control, against a month's chart as the baseline."""
    from app.ui.chart import trend_chart

    print_load("before")
    start = datetime(2020, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5)))
    samples = (Sample("HKQuantityTypeIdentifierHeartRate", start + timedelta(hours=n), str(55 + n % 50), "count/min")
               for n in range(5 * 8760))  # fmt: skip
    month = (Sample("HKQuantityTypeIdentifierRestingHeartRate", start + timedelta(days=n), str(50 + n % 9),
                    "count/min") for n in range(30))  # fmt: skip
    export = write_export(tmp_path / "five-years.xml", [*samples, *month])
    with Record.create(tmp_path / "chart.carry", PASSPHRASE) as record:
        report = import_path(record, export)
        scope = v.Scope(v.people(record)[0])

        def chart(code: str) -> float:
            begin = time.perf_counter()
            series = v.lab_series(record, scope, code)
            trend_chart(series)
            return time.perf_counter() - begin

        baseline = steady("a month's resting heart rate chart (30 values)", lambda: chart("40443-4"))
        runs = sorted(chart("8867-4") for _ in range(5))
        median = runs[len(runs) // 2]
        points = v.lab_series(record, scope, "8867-4").count
    print(f"\n  {report.counts.imported:,} Observations from {5 * 8760:,} hourly heart rates and 30 resting ones")
    shown = baseline.value * 1000 if baseline.value is not None else float("nan")
    print(f"  a month's chart (baseline)        {shown:8.1f} ms  (runs {'/'.join(f'{r * 1000:.1f}' for r in baseline.runs)})")
    print(f"  5-year heart-rate chart, median   {median * 1000:8.1f} ms  {points} points  {ratio_text(median, baseline)}"
          f"  (target < {CHART_TARGET_MS} ms)")  # fmt: skip
    print_load("after")
    assert points <= 500
    assert median * 1000 < CHART_TARGET_MS
