"""Viewer benchmark: time from opening a SMART Health Link in Carry's viewer (Chromium, headless) to the rendered
summary, for a 300-item IPS, at 390 px and 1280 px. The page is served by the real `carry serve`; the time covers
loading the page, the manifest and file requests, decryption (WebCrypto), inflating and rendering.

Run on demand:  python -m pytest tests/benchmarks/test_viewer_benchmark.py -s -p no:cacheprovider
Each figure is printed with its ratio to the same measurement for a 10-item summary, taken in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.locations import share_host_path
from shares.shares_support import CarryServer
from sync.assets import DEMO_PATIENTS
from sync.fhir import dumps, loads
from sync.share import SQLiteShareHostStore, build_ips, new_access_keypair, publish
from ui.browser_support import DESKTOP, PHONE, chromium

RUNS = 5


def _summary(items: int) -> dict[str, Any]:
    """An IPS of `items` entries from the demo patient: its problems, allergies, medications and immunizations,
    then lab results (cloned with fresh ids when the demo has too few) up to the count."""
    bundle = loads(next(DEMO_PATIENTS.glob("Elvina_Lemke_*.json")).read_bytes())
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    sections: dict[str, list[dict[str, Any]]] = {
        "problems": by_type["Condition"][:5], "allergies": by_type["AllergyIntolerance"][:1],
        "medications": by_type["MedicationRequest"][:2], "immunizations": by_type["Immunization"][:2],
    }  # fmt: skip
    room = items - sum(len(v) for v in sections.values())
    labs = [o for o in by_type["Observation"] if "valueQuantity" in o]
    results = [{**labs[n % len(labs)], "id": f"bench-{n}"} for n in range(room)]
    sections["results"] = results
    return build_ips(by_type["Patient"][0], sections)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarryServer]:
    running = CarryServer(tmp_path_factory.mktemp("viewer-bench"))
    yield running
    running.stop()


def _link(server: CarryServer, monkeypatch: pytest.MonkeyPatch, items: int) -> str:
    server.use(monkeypatch)
    store = SQLiteShareHostStore(share_host_path())
    _private, public = new_access_keypair()
    published = publish(store, f"{server.url}/shl", [("application/fhir+json", dumps(_summary(items)))],
                        access_key=public, passcode="1234", viewer=f"{server.url}/shl/view")  # fmt: skip
    return published.uri


def _open_once(browser: Any, viewport: Any, url: str) -> float:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        start = time.perf_counter()
        page.goto(url)
        page.get_by_label("Your name").fill("Dr. Bench")
        page.get_by_label("Passcode").fill("1234")
        page.get_by_label("Passcode").press("Enter")
        page.wait_for_selector("#summary:not([hidden]) table", timeout=60000)
        return time.perf_counter() - start
    finally:
        context.close()


def test_viewer_open_to_rendered(server: CarryServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    big = _link(server, monkeypatch, 300)
    small = _link(server, monkeypatch, 10)
    with chromium() as browser:
        for name, viewport in (("390", PHONE), ("1280", DESKTOP)):
            _open_once(browser, viewport, small)  # warm the browser's and the server's caches once
            base = statistics.median(_open_once(browser, viewport, small) for _ in range(RUNS))
            full = statistics.median(_open_once(browser, viewport, big) for _ in range(RUNS))
            print(f"\nviewer {name} px: 300 items {full * 1000:.0f} ms, 10 items {base * 1000:.0f} ms "
                  f"(ratio {full / base:.2f})")  # fmt: skip
            assert full < 10.0
