"""Make the README's screenshots (docs/screenshots/*.png) from the real app, as a new patient meets it.

Run from the repository root, with the test helpers importable:

    PYTHONPATH=$PWD:$PWD/tests python docs/make_screenshots.py [name ...]

It starts `carry serve` on 127.0.0.1 with a fresh record and data folder in a temporary directory (the same
AppServer the browser tests use), creates the record on the welcome screen, tries the demo hospital (its portal
on 127.0.0.1), signs in as Elvina, syncs, and visits the screens at 1280 × 800 and 390 × 844 in headless
Chromium. Each picture is quantized to a palette with Pillow to keep it small. With names, only those pictures
are written (the whole journey still runs). Nothing here reaches a host other than 127.0.0.1.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from support.records import PASSPHRASE
from ui.browser_support import AppServer, build_record, chromium, enter_text, open_app, sign_in_at_demo_portal
from ui.test_ui_browser import CAROLYNE, expect, nav, unlock

OUT = Path(__file__).resolve().parent / "screenshots"
DESKTOP: Any = {"width": 1280, "height": 800}
PHONE: Any = {"width": 390, "height": 844}
WANTED = set(sys.argv[1:])


def save(page: Any, name: str) -> None:
    """A screenshot of the page as it is now (after skwasm's paint lag), as a palette PNG."""
    if WANTED and name not in WANTED:
        return
    time.sleep(2.0)  # a shot right after a new screen can catch glyphs still being laid out
    size = page.viewport_size  # the pointer off every control, so no tooltip of the last click shows
    page.mouse.move(size["width"] - 2, size["height"] // 3)
    time.sleep(1.5)  # a tooltip fades out after the pointer has left
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    OUT.mkdir(exist_ok=True)
    target = OUT / f"{name}.png"
    small.save(target, optimize=True)
    print(f"{target.name}: {image.width}x{image.height}, {target.stat().st_size // 1024} KB")


def gone(page: Any) -> None:
    """Wait until the last notice (shown for 6 s) has gone, so it does not cover the next pictures."""
    expect()(page.locator('[flt-semantics-identifier="notice"]')).to_have_count(0, timeout=20_000)


def summary(page: Any) -> None:
    nav(page, "Summary")
    expect()(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()


def first_run_and_demo(context: Any, server: AppServer) -> Any:
    ex = expect()
    page = open_app(context, server.url)
    ex(page.get_by_role("heading", name="Welcome to Carry")).to_be_visible()
    save(page, "welcome")
    page.get_by_role("button", name="Create my record").click()
    enter_text(page, "New passphrase", PASSPHRASE)
    enter_text(page, "Repeat the passphrase", PASSPHRASE)
    ex(page.get_by_text("Strong.", exact=False).first).to_be_visible()
    save(page, "create-record")
    page.get_by_role("button", name="Create record").click()
    ex(page.get_by_role("heading", name="Your record is ready")).to_be_visible()
    page.get_by_role("button", name="Try the demo hospital").click()
    ex(page.get_by_text("user name elvina, password elvina-demo", exact=False).first).to_be_visible()
    save(page, "demo-hospital")
    portal = sign_in_at_demo_portal(context, page)
    portal.get_by_role("button", name="Allow").click()
    ex(page.locator('[flt-semantics-identifier="sync-panel"]')).to_be_visible()
    ex(page.locator('[flt-semantics-identifier="sync-done"]')).to_contain_text("new,", timeout=120_000)
    if not portal.is_closed():
        portal.close()
    save(page, "sync")
    page.get_by_role("button", name="See your summary").click()
    ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
    save(page, "dashboard")
    return page


def desktop_screens(page: Any) -> None:
    ex = expect()
    nav(page, "Results")
    page.get_by_role("button", name="Hemoglobin A1c", exact=False).first.click()
    ex(page.locator('[flt-semantics-identifier="lab-chart"]')).to_be_visible()
    save(page, "lab-chart")

    nav(page, "Timeline")
    ex(page.get_by_text("entries from", exact=False).first).to_be_visible()
    save(page, "timeline")

    # An item with the patient's own note beside it, and the source's FHIR JSON behind its button.
    summary(page)
    page.locator('[flt-semantics-identifier="problems"]').get_by_role("button", name="Osteoporosis",
                                                                     exact=False).first.click()
    ex(page.get_by_role("heading", name="Where this came from")).to_be_visible()
    enter_text(page, "What is wrong or missing", "My bone density scan in 2021 was normal, see Dr. Ruiz's letter.")
    page.get_by_role("button", name="Add note").click()
    ex(page.get_by_text("kept beside this item", exact=False).first).to_be_visible()
    save(page, "item-note")
    gone(page)
    page.get_by_role("button", name="Show the FHIR JSON").first.click()
    ex(page.locator('[flt-semantics-identifier="raw-json"]')).to_be_visible()
    page.mouse.move(640, 500)
    page.mouse.wheel(0, 900)  # Flutter paints on a canvas: scroll as a person would, to the JSON
    page.wait_for_timeout(800)
    save(page, "detail")

    # The patient's own blood pressure, on the vital signs chart as "Added by you".
    summary(page)
    page.get_by_role("button", name="Add a reading").first.click()
    ex(page.locator('[flt-semantics-identifier="entry-title"]')).to_be_visible()
    enter_text(page, "Value", "138/88")
    save(page, "own-entry")
    page.get_by_role("button", name="Save").click()
    ex(page.get_by_text("Saved: Blood pressure 138/88", exact=False).first).to_be_visible()
    nav(page, "Results")
    page.get_by_role("button", name="Vital signs").click()
    # Only the vital signs list has a weight: clicked before it shows, the click can land on the lab list.
    ex(page.get_by_role("button", name="Weight", exact=False).first).to_be_visible()
    page.get_by_role("button", name="Blood pressure", exact=False).first.click()
    ex(page.locator('[flt-semantics-identifier="lab-chart"]')).to_contain_text("added by you")
    save(page, "own-entry-chart")

    gone(page)
    nav(page, "Sources")
    ex(page.get_by_role("heading", name="Demo hospital")).to_be_visible()
    save(page, "sources")

    nav(page, "Share")
    ex(page.get_by_role("heading", name="What to share")).to_be_visible()
    save(page, "share")

    nav(page, "Settings")
    ex(page.get_by_role("heading", name="How Carry looks")).to_be_visible()
    save(page, "settings")
    page.get_by_role("radio", name="Dark", exact=True).click()
    ex(page.get_by_role("radio", name="Dark", exact=True)).to_be_checked()
    summary(page)
    save(page, "dark-summary")
    nav(page, "Settings")
    page.get_by_role("radio", name="Light", exact=True).click()
    ex(page.get_by_role("radio", name="Light", exact=True)).to_be_checked()


def phone_screens(context: Any, server: AppServer) -> None:
    ex = expect()
    page = open_app(context, server.url)
    ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
    save(page, "phone-unlock")
    unlock(page)
    ex(page.get_by_role("heading", name="Elvina Lemke")).to_be_visible()
    save(page, "phone-dashboard")
    nav(page, "Settings")
    ex(page.get_by_role("heading", name="How Carry looks")).to_be_visible()
    save(page, "phone-settings")
    nav(page, "Timeline")
    ex(page.get_by_text("entries from", exact=False).first).to_be_visible()
    save(page, "phone-timeline")


def document_screens(context: Any, server: AppServer) -> None:
    ex = expect()
    page = open_app(context, server.url)
    unlock(page)
    ex(page.get_by_role("heading", name="Carolyne559 Koelpin146")).to_be_visible()
    nav(page, "Documents")
    ex(page.locator('[flt-semantics-identifier="document-0"]')).to_be_visible()
    save(page, "documents")
    page.locator('[flt-semantics-identifier="document-0"]').click()
    ex(page.locator('[flt-semantics-identifier="note-text-0"]')).to_be_visible()
    save(page, "document")


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="carry-screens-"))
    servers: list[AppServer] = []
    try:
        fresh = root / "fresh"
        fresh.mkdir()
        servers.append(AppServer(fresh / "record.carry", fresh / "config"))
        notes = root / "notes"
        notes.mkdir()
        servers.append(AppServer(build_record(notes / "record.carry", CAROLYNE), notes / "config"))
        with chromium() as browser:
            desktop = browser.new_context(viewport=DESKTOP)
            page = first_run_and_demo(desktop, servers[0])
            desktop_screens(page)
            desktop.close()
            phone = browser.new_context(viewport=PHONE, device_scale_factor=2)
            phone_screens(phone, servers[0])
            phone.close()
            desktop = browser.new_context(viewport=DESKTOP)
            document_screens(desktop, servers[1])
            desktop.close()
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
