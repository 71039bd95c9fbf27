"""Settings a patient needs (issue 18 item 5), in headless Chromium at 390 and 1280 px: units that change a vital
sign on screen, dark mode and text size applied live and remembered, an export (NDJSON, with the warning), an
encrypted backup downloaded and restored on a new device from the welcome screen, changing the passphrase, and
removing a source. Screenshots go to test-artifacts/screenshots/settings-*."""

from __future__ import annotations

import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from support.records import PASSPHRASE

from app.record import Record, WrongPassphrase

from ui.browser_support import DESKTOP, PHONE, enter_text, open_app, open_unlocked, shot
from ui.test_ui_browser import ELVINA, expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

NEW = "a new passphrase for carry"
VIEWPORTS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])


def _id(page: Any, identifier: str) -> Any:
    return page.locator(f'[flt-semantics-identifier="{identifier}"]')


def _pixel(page: Any, x: int, y: int) -> tuple[int, int, int]:
    """The colour of one pixel of the page: a 1x1 PNG screenshot, whose single row needs no unfiltering."""
    png = page.screenshot(clip={"x": x, "y": y, "width": 1, "height": 1})
    pos, idat, channels = 8, b"", 3
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            channels = {2: 3, 6: 4}[body[9]]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    assert len(raw) == 1 + channels
    return raw[1], raw[2], raw[3]


def _choose(page: Any, label: str) -> None:
    page.get_by_role("radio", name=label, exact=True).click()


def _open_settings(context: Any, server_url: str) -> Any:
    page = open_unlocked(context, server_url, "Elvina Lemke")
    nav(page, "Settings")
    expect()(page.get_by_role("heading", name="How Carry looks")).to_be_visible()
    return page


@VIEWPORTS
def test_units_dark_mode_and_text_size_apply_live_and_are_remembered(make_server: Any, browser: Any,
                                                                     viewport: Any) -> None:  # fmt: skip
    server = make_server(ELVINA)
    context = browser.new_context(viewport=viewport)
    width = viewport["width"]
    try:
        ex = expect()
        page = open_app(context, server.url)
        unlock(page)
        ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
        nav(page, "Results")
        page.get_by_role("button", name="Vital signs").click()
        ex(page.get_by_role("button", name=re.compile(r"^Weight [\d.]+ kg "))).to_be_visible()
        light = _pixel(page, width - 6, viewport["height"] // 2)

        nav(page, "Settings")
        heading = page.get_by_role("heading", name="How Carry looks")
        ex(heading).to_be_visible()
        before = heading.bounding_box()["height"]
        _choose(page, "US (lb, in, °F)")
        _choose(page, "Dark")
        ex(page.get_by_role("radio", name="Dark", exact=True)).to_be_checked()
        _choose(page, "Larger")
        ex(page.get_by_role("radio", name="Larger", exact=True)).to_be_checked()
        page.wait_for_timeout(500)
        assert page.get_by_role("heading", name="How Carry looks").bounding_box()["height"] > before * 1.25
        dark = _pixel(page, width - 6, viewport["height"] // 2)
        assert sum(light) > 600 and sum(dark) < 120, (light, dark)
        shot(page, f"settings-dark-larger-{width}")
        # The banners are dark too (their tones are roles of the theme): the export warning's fill, right of its text.
        # Flutter scrolls the banner into view over several frames and its box moves meanwhile, so the fill is
        # read again (box and pixel) until the scroll has settled; a light or page-coloured fill still fails.
        warning = _id(page, "export-warning")
        fills = []
        for _ in range(12):
            warning.scroll_into_view_if_needed()
            page.wait_for_timeout(400)
            box = warning.bounding_box()
            fills.append(_pixel(page, int(box["x"] + box["width"] - 8), int(box["y"] + box["height"] // 2)))
            if sum(fills[-1]) < 200 and fills[-1][0] > fills[-1][2]:
                break
        fill = fills[-1]
        assert sum(fill) < 200 and fill[0] > fill[2], fills  # dark amber, not the light page's pale one
        shot(page, f"settings-dark-banner-{width}")

        nav(page, "Results")
        page.get_by_role("button", name="Vital signs").click()
        weight = page.get_by_role("button", name=re.compile(r"^Weight [\d.]+ lb "))
        ex(weight).to_be_visible()
        ex(page.get_by_role("button", name=re.compile(r"^Height [\d.]+ in "))).to_be_visible()
        shot(page, f"settings-vitals-us-dark-{width}")
        weight.click()
        chart = _id(page, "lab-chart")
        ex(chart).to_contain_text(re.compile(r"latest [\d.]+ lb"))
        page.wait_for_timeout(800)
        ex(chart).to_be_visible()
        shot(page, f"settings-weight-chart-us-dark-{width}")

        # Remembered: in the record, so a new tab that unlocks it shows them again.
        page.close()
        again = open_app(context, server.url)
        unlock(again)
        ex(again.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
        again.wait_for_timeout(500)
        assert sum(_pixel(again, width - 6, viewport["height"] // 2)) < 120
        nav(again, "Settings")
        ex(again.get_by_role("radio", name="US (lb, in, °F)", exact=True)).to_be_checked()
        ex(again.get_by_role("radio", name="Larger", exact=True)).to_be_checked()
        _choose(again, "Light")
        _choose(again, "Normal")
        _choose(again, "Metric (kg, cm, °C)")
        ex(again.get_by_role("radio", name="Metric (kg, cm, °C)", exact=True)).to_be_checked()
    finally:
        context.close()


@VIEWPORTS
def test_export_backup_restore_passphrase_and_removing_a_source(make_server: Any, browser: Any, viewport: Any,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    server = make_server(ELVINA)
    with Record.open(server.record, PASSPHRASE) as record:
        total = record.count()
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    width = viewport["width"]
    try:
        ex = expect()
        page = _open_settings(context, server.url)

        # Export: NDJSON, with the warning that it is not encrypted, through Carry's own server.
        ex(page.get_by_text("An export is not encrypted", exact=False).first).to_be_visible()
        _choose(page, "NDJSON (one record per line)")
        page.get_by_role("button", name="Prepare the export").click()
        ex(_id(page, "download-export")).to_be_visible()
        with page.expect_download() as saved:
            _id(page, "download-export").click()
        assert saved.value.suggested_filename.endswith(".ndjson")
        lines = Path(saved.value.path()).read_text().splitlines()
        assert len(lines) == total and {json.loads(line)["resourceType"] for line in lines} >= {"Patient", "Observation"}
        shot(page, f"settings-export-{width}")

        # Backup: a wrong passphrase makes none; the right one gives a file that opens with it.
        enter_text(page, "Your passphrase", "not my passphrase")
        page.get_by_role("button", name="Make a backup").click()
        ex(_id(page, "backup-result")).to_contain_text("does not open your record")  # beside the button, not a notice
        enter_text(page, "Your passphrase", PASSPHRASE)
        page.get_by_role("button", name="Make a backup").click()
        ex(_id(page, "download-backup")).to_be_visible()
        with page.expect_download() as saved:
            _id(page, "download-backup").click()
        backup = tmp_path / saved.value.suggested_filename
        saved.value.save_as(backup)
        assert backup.suffix == ".carry" and b"Elvina" not in backup.read_bytes()
        shot(page, f"settings-backup-{width}")

        # Change the passphrase: a wrong current one changes nothing; then the new one opens it, the old does not.
        enter_text(page, "Current passphrase", "wrong passphrase")
        enter_text(page, "New passphrase", NEW)
        enter_text(page, "Repeat the new passphrase", NEW)
        page.get_by_role("button", name="Change passphrase").click()
        ex(page.get_by_text("current passphrase is not right", exact=False).first).to_be_visible()
        Record.open(server.record, PASSPHRASE).close()
        enter_text(page, "Current passphrase", PASSPHRASE)
        enter_text(page, "New passphrase", NEW)
        enter_text(page, "Repeat the new passphrase", NEW)
        page.get_by_role("button", name="Change passphrase").click()
        ex(page.get_by_text("Your passphrase is changed", exact=False).first).to_be_visible()
        with pytest.raises(WrongPassphrase):
            Record.open(server.record, PASSPHRASE)
        page.get_by_role("button", name="Lock", exact=True).click()
        unlock(page, NEW)
        # Unlocked again, the patient is back where they locked it: Settings (its address was kept).
        ex(page.get_by_role("heading", name="How Carry looks")).to_be_visible()

        # Remove a source: the imported files go with their records.
        nav(page, "Sources")
        _id(page, "remove-source-0").click()
        ex(page.get_by_text("this cannot be undone", exact=False)).to_be_visible()
        shot(page, f"settings-remove-source-{width}")
        page.get_by_role("button", name=f"Remove it and its {total:,} records").click()
        ex(page.get_by_text("are removed from your record", exact=False).first).to_be_visible()
        with Record.open(server.record, NEW) as record:
            assert record.count() == 0 and record.sources() == []

        # A new device: restore the backup from the welcome screen; a wrong passphrase is refused in a sentence.
        fresh = make_server(create=False)
        other = open_app(context, fresh.url)
        other.get_by_role("button", name="Restore from a backup").click()
        with other.expect_file_chooser() as chooser:
            other.get_by_role("button", name="Choose the backup file").click()
        chooser.value.set_files(str(backup))
        ex(other.get_by_text(f"Chosen: {backup.name}", exact=True)).to_be_visible()
        enter_text(other, "Passphrase of the backup", NEW)  # the backup was made before the change
        other.get_by_role("button", name="Restore", exact=True).click()
        ex(other.get_by_text("does not open", exact=False).first).to_be_visible()
        assert not fresh.record.exists()
        shot(other, f"settings-restore-refused-{width}")
        enter_text(other, "Passphrase of the backup", PASSPHRASE)
        other.get_by_role("button", name="Restore", exact=True).click()
        ex(other.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
        with Record.open(fresh.record, PASSPHRASE) as restored:
            assert restored.count() == total
    finally:
        context.close()
