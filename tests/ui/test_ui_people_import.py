"""Whose record, in headless Chromium at 1280 and 390 px (issue 12): a file imported for a person from the app
(picked in the browser, uploaded to Carry's own server, imported and deleted at once), and a split where the
patient chooses which records are somebody else.

An Apple Health export names no patient: imported for the child, it joins the child's record. A file Carry cannot
read is refused with one sentence and adds nobody. The split moves exactly the ticked record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.apple_health import heart_rates, write_export
from support.people import bram_bundle, write_bundle, write_family
from ui.browser_support import DESKTOP, PHONE, by_id, open_app, pick_file, shot
from ui.test_ui_browser import expect, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]


def _family(make_server: Any) -> Any:
    server = make_server(create=False)
    write_family(server.record)
    return server


_id = by_id
_pick = pick_file


def _left_behind(server: Any) -> list[str]:
    """What uploads left in the server's temp folder (Flet keeps its own web files there too)."""
    return [p.name for p in server.tmp.iterdir() if p.name.startswith("carry-upload")]


def _import_for_a_person_then_split_it_off(page: Any, server: Any, tmp_path: Path, n: int, who: str, was: str,
                                           name: str) -> None:  # fmt: skip
    ex = expect()
    _pick(page, f"import-for-{n}", write_export(tmp_path / "export.xml", heart_rates(20)))
    ex(_id(page, "notice")).to_contain_text(f"2 items that name no patient were put in the record of {who}")
    ex(_id(page, f"person-about-{n}")).to_contain_text(f"From {was}, Imported files")
    assert _left_behind(server) == []  # the upload was deleted as soon as it was imported
    shot(page, f"people-import-{name}-imported")

    _id(page, f"split-person-{n}").click()
    # Nothing ticked: refused, nothing split.
    _id(page, "split-confirm").click()
    ex(_id(page, "split-refusal")).to_contain_text("Tick the records that are somebody else; nothing was split.")
    stand_in = page.get_by_role("checkbox", name="Imported files", exact=False)
    ex(stand_in).not_to_be_checked()
    stand_in.click()
    ex(stand_in).to_be_checked()
    ex(page.get_by_role("checkbox", name=f"Imported files {who}", exact=False)).to_be_checked()
    ex(page.get_by_role("checkbox", name=was, exact=False)).not_to_be_checked()
    shot(page, f"people-import-{name}-split-dialog")
    _id(page, "split-confirm").click()
    ex(_id(page, f"person-about-{n}")).to_contain_text(f"From {was}")
    ex(_id(page, f"person-about-{n}")).not_to_contain_text("Imported files")
    ex(_id(page, "person-about-2")).to_contain_text("From Imported files")
    shot(page, f"people-import-{name}-split")


def test_import_and_split_at_desktop_width(make_server: Any, browser: Any, tmp_path: Path) -> None:
    server = _family(make_server)
    context = browser.new_context(viewport=DESKTOP)
    try:
        page: Any = open_app(context, server.url)
        ex = expect()
        unlock(page)
        _id(page, "whose-record").click()
        ex(_id(page, "person-1")).to_contain_text("Theo Quarrington")
        _import_for_a_person_then_split_it_off(page, server, tmp_path, 1, "Theo Quarrington", "Children's Hospital",
                                               "desktop")  # fmt: skip

        # A file Carry cannot read: one sentence, nobody added, nothing left behind.
        junk = tmp_path / "notes.txt"
        junk.write_text("Not a health record.\n")
        _pick(page, "import-new", junk)
        ex(_id(page, "notice")).to_contain_text("notes.txt: not imported:")
        ex(_id(page, "person-3")).to_have_count(0)
        assert _left_behind(server) == []
    finally:
        context.close()


def test_import_and_split_at_phone_width(make_server: Any, browser: Any, tmp_path: Path) -> None:
    server = _family(make_server)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=False, has_touch=False)
    try:
        page: Any = open_app(context, server.url)
        ex = expect()
        unlock(page)
        _id(page, "whose-record").click()
        _import_for_a_person_then_split_it_off(page, server, tmp_path, 0, "Alice Quarrington", "Clinic A", "phone")

        # A clinic's file for a new person: its own patient becomes a person of their own.
        _pick(page, "import-new", write_bundle(tmp_path / "bram.json", bram_bundle()))
        ex(_id(page, "notice")).to_contain_text("bram.json:")
        ex(_id(page, "person-3")).to_contain_text("Bram Okafor")
        assert _left_behind(server) == []
    finally:
        context.close()
