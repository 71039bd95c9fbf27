"""UI benchmarks: server-side time to build the dashboard and the timeline of a 100,000-resource record, and time
to first frame (and to the unlocked dashboard) in Chromium.

Run on demand:  python -m pytest tests/benchmarks/test_ui_benchmark.py -s -p no:cacheprovider
Targets (issue 5): dashboard < 300 ms and timeline < 300 ms on 100,000 resources; issue 20: the same for their first
build after a change (cold), and unlock -> summary in Chromium < 1.5 s. Each figure is printed with its ratio to the
same measurement on one demo patient (a few hundred resources), taken in the same run and repeated until two runs
agree within 10 % (no ratio otherwise), beside the machine's load.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from built import built_record
from steady import Steady, print_load, ratio_text, steady
from support.records import PASSPHRASE

from app import views as v
from app.record import Record
from app.views.merged import forget
from sync.assets import DEMO_PATIENTS
from sync.fhir import dumps, loads

SIZE = 100_000
TARGET = 0.300
UNLOCK_TARGET = 1.5  # seconds from the Unlock click to the summary shown (issue 20; its goal is for 1M resources)


def _synthetic(size: int) -> bytes:
    """One made-up patient of `size` resources, cloned from the demo patients with fresh ids, as NDJSON."""
    templates = []
    for path in sorted(DEMO_PATIENTS.glob("*.json")):
        if "Information" in path.name:
            continue
        for entry in loads(path.read_bytes())["entry"]:
            if entry["resource"]["resourceType"] != "Patient":
                templates.append(entry["resource"])
    patient = {**loads(next(DEMO_PATIENTS.glob("Elvina_*.json")).read_bytes())["entry"][0]["resource"], "id": "bench"}
    lines = [dumps(patient)]
    copy = 0
    while len(lines) < size:
        for template in templates[: size - len(lines)]:
            clone = {**template, "id": f"{template['id']}-{copy}-{len(lines)}"}
            for key in ("subject", "patient"):
                if isinstance(clone.get(key), dict):
                    clone[key] = {"reference": "Patient/bench"}
            lines.append(dumps(clone))
        copy += 1
    return b"\n".join(lines) + b"\n"


def _write_synthetic(path: Path, size: int) -> None:
    path.write_bytes(_synthetic(size))


class _SelfTimed(float):
    """What a measured function returns when only part of it is the figure (the seconds of that part)."""


def _timed(fn: Callable[[], Any], runs: int = 7) -> float:
    fn()  # warm the page cache once, as a patient's second look would
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        got = fn()
        samples.append(got if isinstance(got, _SelfTimed) else time.perf_counter() - start)
    return statistics.median(samples)


def _report(name: str, value: float, baseline: Steady | None, target: str = "") -> None:
    ratio = f"  ({ratio_text(value, baseline)} the one-patient record)" if baseline else ""
    print(f"  {name:<48} {value * 1000:8.1f} ms{ratio}  {target}")


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Record, Record]]:
    folder = tmp_path_factory.mktemp("ui-bench")
    big = Record.open(built_record("ui-bench", SIZE, _write_synthetic, folder, _synthetic), PASSPHRASE)
    small = Record.create(folder / "small.carry", PASSPHRASE)
    small.import_file(next(DEMO_PATIENTS.glob("Elvina_*.json")))
    yield big, small
    big.close()
    small.close()


def _measures(record: Record) -> dict[str, tuple[Callable[[], Any], int]]:
    """What is measured: name -> (the work, how many runs a median takes)."""
    scope = v.Scope(v.people(record)[0]) if len(v.people(record)) > 1 else v.Scope()
    filt = v.TimelineFilter()
    first = v.timeline_page(record, scope, filt, limit=150)
    middle: list[Any] = [first.cursor]

    def deep() -> None:  # the 20th page, reached by keyset paging from a cursor, as scrolling does
        page = v.timeline_page(record, scope, filt, after=middle[0], limit=150)
        assert page.entries

    for _ in range(19):
        if middle[0] is None:
            break
        middle[0] = v.timeline_page(record, scope, filt, after=middle[0], limit=150).cursor or middle[0]
    def uncached(fn: Callable[[], Any]) -> Callable[[], Any]:
        # The first look after an unlock: nothing kept in memory, the facts kept in the record are read.
        def first_look() -> Any:
            forget(record)
            return fn()

        return first_look

    recent = [raw for (raw,) in record._query(
        "SELECT raw FROM resource WHERE type IN ('Observation', 'Condition', 'Encounter') ORDER BY rowid DESC LIMIT 50"
    )]  # fmt: skip
    synced = [0]

    def after_sync(fn: Callable[[], Any]) -> Callable[[], Any]:
        # The first look after a sync of 50 new resources (copies of recent ones, so they join existing facts):
        # the kept facts catch up with what changed, then the view is built. The sync itself is not timed.
        def first_look() -> Any:
            synced[0] += 1
            batch = []
            for raw in recent:
                resource = loads(raw)
                resource["id"] = f"{resource['id']}-sync-{synced[0]}"
                batch.append(dumps(resource))
            record.import_bytes(b"\n".join(batch), origin="sync.ndjson")
            start = time.perf_counter()
            fn()
            return _SelfTimed(time.perf_counter() - start)

        return first_look

    return {
        "people (who is in the record)": (lambda: v.people(record), 7),
        "dashboard": (lambda: v.build_dashboard(record, scope), 7),
        COLD_DASHBOARD: (uncached(lambda: v.build_dashboard(record, scope)), 3),
        COLD_TIMELINE: (uncached(lambda: v.timeline_page(record, scope, filt, limit=150)), 3),
        AFTER_SYNC: (after_sync(lambda: v.build_dashboard(record, scope)), 3),
        "timeline: first page (150) + month list": (
            lambda: (v.timeline_page(record, scope, filt, limit=150), v.month_counts(record, scope, filt)), 7
        ),
        "timeline: a page 3,000 entries down": (deep, 7),
        "timeline: jump to a month": (lambda: v.timeline_page(record, scope, filt, before_month="2015-06"), 7),
        "lab tests list": (lambda: v.lab_tests(record, scope), 7),
        "lab tests list, first after a change": (uncached(lambda: v.lab_tests(record, scope)), 3),
        "search 'diabetes'": (lambda: v.search(record, scope, "diabetes"), 7),
    }


COLD_DASHBOARD = "dashboard, first after unlock (kept facts)"
COLD_TIMELINE = "timeline page, first after unlock (kept facts)"
AFTER_SYNC = "dashboard, first after a sync of 50 resources"


def test_dashboard_and_timeline_on_100k_resources(records: tuple[Record, Record]) -> None:
    big, small = records
    assert big.count() >= SIZE
    print_load("before")
    base = {
        name: steady(name, lambda fn=fn, runs=runs: _timed(fn, runs))
        for name, (fn, runs) in _measures(small).items()
    }
    got = {name: _timed(fn, runs) for name, (fn, runs) in _measures(big).items()}
    print(f"\nServer-side view building, median of 7 (3 when cold), {big.count():,} resources vs {small.count():,}:")
    for name, value in got.items():
        target = f"target < {TARGET * 1000:.0f} ms" if name.startswith(("dashboard", "timeline")) else ""
        _report(name, value, base[name], target)
    for name, baseline in base.items():
        if baseline.disturbed:
            print(f"  ({baseline.disturbed})")
    print_load("after")
    assert got[COLD_DASHBOARD] < TARGET
    assert got[COLD_TIMELINE] < TARGET
    assert got[AFTER_SYNC] < TARGET  # issue 20's goal (< 100 ms) is for 1M resources on a quiet machine
    assert got["dashboard"] < TARGET
    assert got["timeline: first page (150) + month list"] < TARGET
    assert got["timeline: a page 3,000 entries down"] < TARGET
    assert got["timeline: jump to a month"] < TARGET


def test_time_to_first_frame_in_chromium(records: tuple[Record, Record], tmp_path: Path) -> None:
    from ui.browser_support import CHROMIUM_ARGS, DESKTOP, AppServer, enter_text, require_chromium

    path = require_chromium()
    from playwright.sync_api import expect, sync_playwright

    big, small = records
    print_load("before")
    results: dict[str, dict[str, float]] = {}
    for label, record in (("one patient", small), ("100,000 resources", big)):
        server = AppServer(record.path, tmp_path / f"config-{len(results)}")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
                timings: dict[str, float] = {}
                context = browser.new_context(viewport=DESKTOP)  # the second load finds the first one's cache
                for attempt in ("cold", "warm"):
                    page = context.new_page()
                    start = time.perf_counter()
                    page.goto(server.url)
                    page.wait_for_selector("#loading", state="detached", timeout=60_000)
                    timings[f"goto -> first frame ({attempt} cache)"] = time.perf_counter() - start
                    if attempt == "cold":
                        page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
                        enter_text(page, "Passphrase", PASSPHRASE)
                        start = time.perf_counter()
                        page.get_by_role("button", name="Unlock", exact=True).click()
                        expect(page.get_by_role("heading", name="Active problems")).to_be_visible(timeout=60_000)
                        timings["unlock click -> dashboard shown"] = time.perf_counter() - start
                    page.close()
                browser.close()
            results[label] = timings
        finally:
            server.stop()
    print("\nChromium (headless, skwasm, no CDN); one run each, so no ratio:")
    small_t, big_t = results["one patient"], results["100,000 resources"]
    for name in big_t:
        print(f"  {name:<48} {big_t[name] * 1000:8.1f} ms at 100k, {small_t[name] * 1000:8.1f} ms for one patient")
    print_load("after")
    assert big_t["goto -> first frame (cold cache)"] < 10
    assert big_t["unlock click -> dashboard shown"] < UNLOCK_TARGET
