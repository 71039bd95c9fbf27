"""Issue 20: while the record file is rewritten (after an update that frees space, after a big import), the app says
how far that is instead of standing still: on the unlock screen ("Updating your record for this version of Carry:
tidying the record file… n %") and under the import button ("Tidying the record file… n %", with a bar), against a
real `carry serve`; and in the sync panel after a sync that grew the record much. The server's rewrite is slowed (CARRY_TEST_REWRITE_PAUSE: each of SQLite's progress ticks
sleeps) so that a small record's rewrite stays on screen long enough to be seen."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from app.record import Record
from support.records import PASSPHRASE, record_before_packing
from ui.browser_support import DESKTOP, PHONE, by_id, enter_text, open_app, pick_file, shot
from ui.test_ui_browser import expect, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

_TIDYING_UPDATE = re.compile(r"^Updating your record for this version of Carry: tidying the record file… \d{1,2}\s%$")
_TIDYING = re.compile(r"^Tidying the record file… \d{1,2}\s%$")  # a no-break space before the %


def test_the_unlock_screen_says_when_an_update_tidies_the_record_file(
    make_server: Any, browser: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARRY_TEST_REWRITE_PAUSE", "0.08")
    server = make_server(create=False)
    record_before_packing(server.record, 6)
    context = browser.new_context(viewport=PHONE)
    try:
        page = open_app(context, server.url)
        ex = expect()
        ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
        enter_text(page, "Passphrase", PASSPHRASE)
        page.get_by_role("button", name="Unlock", exact=True).click()
        ex(page.get_by_text(_TIDYING_UPDATE)).to_be_visible()
        shot(page, "record-update-tidying-390")
        ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible(timeout=90_000)
        ex(page.get_by_text(_TIDYING_UPDATE)).to_have_count(0)
    finally:
        context.close()


def _readings(path: Path, count: int) -> Path:
    path.write_text("\n".join(
        json.dumps({"resourceType": "Observation", "id": f"hr{n}", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "Heart rate"},
                    "effectiveDateTime": f"20{10 + n % 14}-{1 + n % 12:02d}-{1 + n % 28:02d}T08:00:00Z",
                    "valueQuantity": {"value": 50 + n % 60, "unit": "/min"}})
        for n in range(count)
    ))  # fmt: skip
    return path


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_a_big_import_says_while_the_record_file_is_tidied(
    make_server: Any, browser: Any, viewport: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # 12,000 readings grow a new record by about 10 MiB: past the 8 MiB and 25 % that call for a rewrite.
    monkeypatch.setenv("CARRY_TEST_REWRITE_PAUSE", "0.03")
    server = make_server([])
    big = _readings(tmp_path / "heart-rate.ndjson", 12_000)
    width = viewport["width"]
    context = browser.new_context(viewport=viewport)
    try:
        page = open_app(context, f"{server.url}/sources")
        ex = expect()
        unlock(page)
        pick_file(page, "import-file", big)
        ex(by_id(page, "tidying")).to_have_text(_TIDYING, timeout=90_000)
        ex(page.get_by_role("progressbar", name="Tidying the record file", exact=False)).to_be_visible()
        ex(by_id(page, "notice")).to_contain_text("heart-rate.ndjson: 12,000 new")
        shot(page, f"import-tidying-{width}")
        ex(by_id(page, "tidying")).to_have_count(0, timeout=60_000)  # gone once the rewrite has ended
    finally:
        context.close()
    with Record.open(server.record, PASSPHRASE) as record:
        assert record.count("Observation") == 12_000
        assert record.read("PRAGMA freelist_count") == [(0,)]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "390px"])
def test_a_big_sync_says_in_its_panel_while_the_record_file_is_tidied(
    make_server: Any, browser: Any, viewport: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from support.portal import READ_SCOPES, connect_elvina

    from app.portals import Portals
    from sync.sandbox import SandboxServer

    monkeypatch.setenv("CARRY_TEST_REWRITE_PAUSE", "0.03")
    server = make_server(create=False)
    width = viewport["width"]
    with SandboxServer() as sandbox:

        async def connect() -> Any:
            with Record.create(server.record, PASSPHRASE) as record:
                return await connect_elvina(Portals(record), sandbox, READ_SCOPES)  # connected, nothing synced yet

        with ThreadPoolExecutor(1) as pool:  # Playwright's sync API keeps an event loop running on this thread
            conn = pool.submit(asyncio.run, connect()).result()
        # 14,000 heart rates in her portal: the first sync grows the new record past the 8 MiB and 25 % of a rewrite.
        for n in range(14_000):
            sandbox.store.put({
                "resourceType": "Observation", "status": "final",
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}], "text": "Heart rate"},
                "subject": {"reference": f"Patient/{conn.patient_id}"},
                "effectiveDateTime": f"20{10 + n % 14}-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                "valueQuantity": {"value": 50 + n % 60, "unit": "/min", "system": "http://unitsofmeasure.org",
                                  "code": "/min"},
            })  # fmt: skip
        context = browser.new_context(viewport=viewport)
        try:
            page = open_app(context, f"{server.url}/sources")
            ex = expect()
            unlock(page)
            page.get_by_role("button", name="Sync now").click()
            ex(by_id(page, "sync-done")).to_contain_text("new,", timeout=120_000)
            # The sync has ended and said what it brought; below its outcome, the rewrite that follows it.
            ex(by_id(page, "tidying")).to_have_text(_TIDYING, timeout=60_000)
            ex(page.get_by_role("progressbar", name="Tidying the record file", exact=False)).to_be_visible()
            by_id(page, "tidying").scroll_into_view_if_needed()
            shot(page, f"sync-tidying-{width}")
            ex(by_id(page, "tidying")).to_have_count(0, timeout=60_000)  # gone once the rewrite has ended
            ex(by_id(page, "sync-done")).to_be_visible()  # the outcome stays
        finally:
            context.close()
    with Record.open(server.record, PASSPHRASE) as record:
        assert record.count("Observation") > 14_000
        assert record.read("PRAGMA freelist_count") == [(0,)]
