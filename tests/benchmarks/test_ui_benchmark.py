"""UI benchmarks: server-side time to build the dashboard and the timeline of a 100,000-resource record (another size:
CARRY_BENCH_UI_SIZE=1000000, whose targets are issue 20's for a million: < 1 s cold, < 100 ms after a sync), and in
Chromium the time to the first frame, from the Unlock click to the summary, and of a screen switch.

Run on demand:  python -m pytest tests/benchmarks/test_ui_benchmark.py -s -p no:cacheprovider
Targets (issue 5): dashboard < 300 ms and timeline < 300 ms on 100,000 resources; issue 20: the same for their first
build after a change (cold), search p95 < 50 ms at any size (first pass and again), and unlock -> summary in Chromium
< 1.5 s at 1,000,000 resources for every unlock after the first (the first builds the summary and keeps it in the
record; it is asserted < 3 s), asserted only at that size; below it the figures are reported. Each server-side figure is printed with its ratio to the same measurement on
one demo patient (a few hundred resources), taken in the same run and repeated until two runs agree within 10 % (no
ratio otherwise), beside the machine's load. The browser is timed once per record (one patient, and the sizes in
CARRY_BENCH_UI_SIZES, default 1000,10000,100000), each figure with os.getloadavg() as it ended. The big records are
built once and kept (tests/benchmarks/built.py).
"""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from built import built_record
from searches import p95, search_timings, search_words
from steady import Steady, print_load, ratio_text, steady
from support.records import PASSPHRASE

from app import views as v
from app.record import Record
from app.views.dashboard import _build_dashboard
from app.views.merged import forget
from sync.assets import DEMO_PATIENTS
from sync.fhir import dumps, loads

# The big record's size: CARRY_BENCH_UI_SIZE (default 100,000). At a million the targets are issue 20's for that size.
SIZE = int(os.environ.get("CARRY_BENCH_UI_SIZE", "100000"))
TARGET = 0.300 if SIZE < 1_000_000 else 1.0
AFTER_SYNC_TARGET = TARGET if SIZE < 1_000_000 else 0.100  # the next dashboard after a sync of 50 resources
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


def _report(name: str, value: float, baseline: Steady | None, target: str = "", load: str = "") -> None:
    ratio = f"  ({ratio_text(value, baseline)} the one-patient record)" if baseline else ""
    print(f"  {name:<48} {value * 1000:8.1f} ms{ratio}  {target}{load}")


def _load(load: tuple[float, float, float]) -> str:
    return f"load {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"


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
        "SELECT resource_json(raw, type, id) FROM resource WHERE type IN ('Observation', 'Condition', 'Encounter') ORDER BY rowid DESC LIMIT 50"
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
        COLD_DASHBOARD: (uncached(lambda: _build_dashboard(record, scope)), 3),
        KEPT_DASHBOARD: (uncached(lambda: v.build_dashboard(record, scope)), 3),
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


COLD_DASHBOARD = "dashboard, first build after unlock (kept facts)"
KEPT_DASHBOARD = "dashboard, first after unlock (summary kept)"
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
    got: dict[str, float] = {}
    loads_at: dict[str, tuple[float, float, float]] = {}  # os.getloadavg() as each figure's runs ended
    for name, (fn, runs) in _measures(big).items():
        got[name] = _timed(fn, runs)
        loads_at[name] = os.getloadavg()
    print(f"\nServer-side view building, median of 7 (3 when cold), {big.count():,} resources vs {small.count():,}:")
    for name, value in got.items():
        target = f"target < {TARGET * 1000:.0f} ms" if name.startswith(("dashboard", "timeline")) else ""
        target = f"target < {AFTER_SYNC_TARGET * 1000:.0f} ms" if name == AFTER_SYNC else target
        _report(name, value, base[name], target, f"  [{_load(loads_at[name])}]")
    for name, baseline in base.items():
        if baseline.disturbed:
            print(f"  ({baseline.disturbed})")
    print_load("after")
    assert got[COLD_DASHBOARD] < TARGET
    assert got[KEPT_DASHBOARD] < TARGET
    assert got[COLD_TIMELINE] < TARGET
    assert got[AFTER_SYNC] < AFTER_SYNC_TARGET  # issue 20's goal (< 100 ms) is for 1M resources on a quiet machine
    assert got["dashboard"] < TARGET
    assert got["timeline: first page (150) + month list"] < TARGET
    assert got["timeline: a page 3,000 entries down"] < TARGET
    assert got["timeline: jump to a month"] < TARGET


def test_search_on_the_big_record(records: tuple[Record, Record]) -> None:
    """Issue 20: full-text search p95 < 50 ms at 1,000,000 resources (issue 2: at 100,000), the record's own search and
    the app's (which adds what the results list shows); each with its ratio to the one-patient record's, and the
    first pass (a cold page cache) apart from the second."""
    big, small = records
    print_load("before")
    words = search_words(big)
    figures: dict[str, tuple[float, Steady]] = {}
    for name, run in (
        ("FTS p95, first pass", search_timings),
        ("FTS p95, second pass", search_timings),
        ("app search p95", _app_search_timings),
    ):
        base = steady(name, lambda run=run: p95(run(small, words)))
        figures[name] = (p95(run(big, words)), base)
    print(f"\nSearch, {len(words)} words, {big.count():,} resources vs {small.count():,} ({_load(os.getloadavg())}):")
    for name, (value, base) in figures.items():
        _report(name, value, base, "target < 50 ms")
    print_load("after")
    for name, (value, _) in figures.items():
        assert value < 0.050, name


def _app_search_timings(record: Record, words: list[str]) -> list[float]:
    scope = v.Scope(v.people(record)[0]) if len(v.people(record)) > 1 else v.Scope()
    timings = []
    for word in words:
        start = time.perf_counter()
        v.search(record, scope, word)
        timings.append(time.perf_counter() - start)
    return timings


_MONTH = re.compile(r"^(January|February|March|April|May|June|July|August|September|October|November|December) \d{4}$")
FIRST_FRAME = "goto -> first frame (cold cache)"
UNLOCK = "unlock click -> summary shown (cold)"
TO_TIMELINE = "summary -> timeline (first month shown)"
TO_RESULTS = "timeline -> results (lab list shown)"
BACK_TO_SUMMARY = "results -> summary (shown again)"
WARM_FRAME = "goto -> first frame (warm cache)"
UNLOCK_AGAIN = "unlock click -> summary shown (next unlock)"


def _sizes() -> list[int]:
    """The record sizes the browser is timed on (besides one patient): CARRY_BENCH_UI_SIZES, comma-separated."""
    return [int(size) for size in os.environ.get("CARRY_BENCH_UI_SIZES", "1000,10000,100000").split(",") if size]


def _nav(page: Any, name: str) -> None:
    """A section from the desktop rail (its destinations are buttons named '<section> Tab')."""
    page.get_by_role("button", name=f"{name} Tab", exact=False).first.click()


def _in_chromium(browser: Any, url: str) -> dict[str, tuple[float, tuple[float, float, float]]]:
    """One cold look at the app: each figure in seconds, with os.getloadavg() taken as it ended."""
    from playwright.sync_api import expect
    from ui.browser_support import DESKTOP, enter_text

    timings: dict[str, tuple[float, tuple[float, float, float]]] = {}

    def timed(name: str, act: Callable[[], Any], shown: Callable[[], Any]) -> None:
        start = time.perf_counter()
        act()
        shown()
        timings[name] = (time.perf_counter() - start, os.getloadavg())

    context = browser.new_context(viewport=DESKTOP)  # the second load finds the first one's cache
    page = context.new_page()
    timed(FIRST_FRAME, lambda: page.goto(url),
          lambda: page.wait_for_selector("#loading", state="detached", timeout=60_000))  # fmt: skip
    page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
    enter_text(page, "Passphrase", PASSPHRASE)
    timed(UNLOCK, lambda: page.get_by_role("button", name="Unlock", exact=True).click(),
          lambda: expect(page.get_by_role("heading", name="Active problems")).to_be_visible(timeout=60_000))  # fmt: skip
    timed(TO_TIMELINE, lambda: _nav(page, "Timeline"),
          lambda: expect(page.get_by_role("heading", name=_MONTH).first).to_be_visible(timeout=60_000))  # fmt: skip
    timed(TO_RESULTS, lambda: _nav(page, "Results"),
          lambda: expect(page.get_by_text("Tap a test to see its trend over time.")
                         .or_(page.get_by_text("No lab results recorded yet."))).to_be_visible(timeout=60_000))  # fmt: skip
    timed(BACK_TO_SUMMARY, lambda: _nav(page, "Summary"),
          lambda: expect(page.get_by_role("heading", name="Active problems")).to_be_visible(timeout=60_000))  # fmt: skip
    page.close()
    page = context.new_page()
    timed(WARM_FRAME, lambda: page.goto(url),
          lambda: page.wait_for_selector("#loading", state="detached", timeout=60_000))  # fmt: skip
    # The next unlock (the first tab closed locks the record): the summary the first one built is kept in the record.
    page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
    enter_text(page, "Passphrase", PASSPHRASE)
    timed(UNLOCK_AGAIN, lambda: page.get_by_role("button", name="Unlock", exact=True).click(),
          lambda: expect(page.get_by_role("heading", name="Active problems")).to_be_visible(timeout=60_000))  # fmt: skip
    page.close()
    context.close()
    return timings


def test_time_to_first_frame_in_chromium(tmp_path: Path) -> None:
    from ui.browser_support import AppServer, build_record, chromium

    print_load("before")
    records = {"one patient": build_record(tmp_path / "one.carry", ["Elvina_*.json"])}
    for size in _sizes():
        folder = tmp_path / f"r{size}"
        folder.mkdir()
        records[f"{size:,} resources"] = built_record("ui-bench", size, _write_synthetic, folder, _synthetic)
    results: dict[str, dict[str, tuple[float, tuple[float, float, float]]]] = {}
    with chromium() as browser:
        for label, path in records.items():
            server = AppServer(path, tmp_path / f"config-{len(results)}")
            try:
                results[label] = _in_chromium(browser, server.url)
            finally:
                server.stop()
    print(f"\nChromium (headless, skwasm, no CDN, {os.cpu_count()} cores); one run each, so no ratio; "
          "load = os.getloadavg() (1, 5, 15 min) as each figure ended:")  # fmt: skip
    for label, timings in results.items():
        print(f"  {label}:")
        for name, (seconds, load) in timings.items():
            print(f"    {name:<44} {seconds * 1000:8.1f} ms   {_load(load)}")
    print_load("after")
    for label, timings in results.items():
        assert timings[FIRST_FRAME][0] < 10, label
    for size in _sizes():
        # Issue 20's goal, asserted at a million (below, the figures are reported): every unlock after the first
        # (which builds the summary and keeps it in the record), and the first within twice that.
        unlock, again = results[f"{size:,} resources"][UNLOCK][0], results[f"{size:,} resources"][UNLOCK_AGAIN][0]
        if size >= 1_000_000:
            assert again < UNLOCK_TARGET, f"the next unlock -> summary took {again:.2f} s at {size:,} resources"
            assert unlock < 2 * UNLOCK_TARGET, f"the first unlock -> summary took {unlock:.2f} s at {size:,} resources"
