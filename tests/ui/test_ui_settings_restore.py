"""Restoring a backup over the record on this device, from Settings, in headless Chromium at 390 and 1280 px: a file
that is no backup and a wrong passphrase are refused in a sentence with nothing changed; the right one asks first,
saying what each holds; Cancel changes nothing; the yes replaces the record, keeps the old one beside it (still
encrypted, opening with its own passphrase), locks, and the backup's passphrase unlocks the restored record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.records import KARENA, PASSPHRASE

from app.record import Record
from app.record.backup import make_backup, record_counts
from sync.assets import DEMO_PATIENTS

from ui.browser_support import DESKTOP, PHONE, by_id, enter_text, open_unlocked, shot
from ui.test_ui_browser import ELVINA, expect, nav, unlock

pytestmark = [pytest.mark.browser, pytest.mark.flaky(reruns=2)]

OTHER = "the passphrase of the old backup"


def _holds(counts: tuple[int, int]) -> str:
    return f"{counts[0]:,} items from {counts[1]} source{'s' if counts[1] != 1 else ''}"


def _unchanged(record: Path, mine: tuple[int, int]) -> None:
    assert not [p for p in record.parent.iterdir() if "before-restore" in p.name or p.name.endswith(".restoring")]
    with Record.open(record, PASSPHRASE) as opened:
        assert record_counts(opened) == mine


def _choose(page: Any, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Choose the backup file").click()
    chooser.value.set_files(str(path))
    expect()(page.get_by_text(f"Chosen: {path.name}", exact=True)).to_be_visible()


def _check(page: Any, passphrase: str) -> None:
    enter_text(page, "Passphrase of the backup", passphrase)
    page.get_by_role("button", name="Check the backup").click()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_restore_a_backup_over_the_record_here(make_server: Any, browser: Any, viewport: Any, tmp_path: Path) -> None:
    server = make_server(ELVINA)
    with Record.open(server.record, PASSPHRASE) as record:
        mine = record_counts(record)
    with Record.create(tmp_path / "old.carry", OTHER) as old:
        old.import_file(next(DEMO_PATIENTS.glob(KARENA)))
        theirs = record_counts(old)
        make_backup(old, tmp_path / "karena.carry", OTHER)
    junk = tmp_path / "notes.carry"
    junk.write_bytes(b"SQLite format 3\x00" + bytes(4080))
    assert theirs != mine
    width = viewport["width"]
    context = browser.new_context(viewport=viewport)
    try:
        ex = expect()
        page = open_unlocked(context, server.url, "Elvina Lemke")
        nav(page, "Settings")
        ex(page.get_by_role("heading", name="Restore a backup")).to_be_visible()

        # No backup, or the wrong passphrase: one sentence beside the button, nothing changed.
        _choose(page, junk)
        _check(page, OTHER)
        ex(by_id(page, "restore-result")).to_contain_text("is not a Carry backup")
        _choose(page, tmp_path / "karena.carry")
        _check(page, PASSPHRASE)
        ex(by_id(page, "restore-result")).to_contain_text("does not open karena.carry")
        _unchanged(server.record, mine)
        shot(page, f"settings-restore-here-refused-{width}")

        # The right passphrase: Carry asks, saying what each holds; Cancel changes nothing.
        _check(page, OTHER)
        ex(page.get_by_text(f"Your record on this device holds {_holds(mine)}.")).to_be_visible()
        ex(page.get_by_text(f"The backup holds {_holds(theirs)}.")).to_be_visible()
        shot(page, f"settings-restore-here-confirm-{width}")
        page.get_by_role("button", name="Cancel").click()
        ex(page.get_by_text("The backup holds", exact=False)).to_have_count(0)
        _unchanged(server.record, mine)

        # Yes: the record is replaced, the old one kept beside it; Carry locks; the backup's passphrase opens it.
        _check(page, OTHER)
        page.get_by_role("button", name="Replace my record").click()
        ex(page.get_by_role("heading", name="Unlock your record")).to_be_visible()
        ex(page.get_by_text("Your record is replaced by the backup", exact=False).first).to_be_visible()
        kept = [p for p in server.record.parent.iterdir() if p.name.startswith("record.carry.before-restore-")
                and not p.name.endswith(("-wal", "-shm"))]  # fmt: skip
        assert len(kept) == 1
        with Record.open(kept[0], PASSPHRASE) as before:
            assert record_counts(before) == mine
        unlock(page, OTHER)
        ex(page.get_by_role("heading", name="Restore a backup")).to_be_visible()  # back where the patient was
        nav(page, "Summary")
        ex(page.get_by_role("heading", name="Karena Pfeffer", exact=False).first).to_be_visible()
        shot(page, f"settings-restore-here-done-{width}")
        with Record.open(server.record, OTHER) as restored:
            assert record_counts(restored) == theirs
    finally:
        context.close()
