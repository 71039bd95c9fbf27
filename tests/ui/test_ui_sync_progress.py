"""The sync panel's figures from the puller's own progress events (sync.pull.SyncProgress), without a
browser: the overall bar follows the work done, directory and insurance kinds share a row, and nothing paints
over the outcome once the sync has ended."""

from __future__ import annotations

import asyncio
from typing import Any

import flet as ft

from app.ui.syncing import SyncRun
from sync.pull import SyncProgress


def _run() -> SyncRun:
    # A page that is not shown anywhere: SyncRun paints into it and ignores that no client is connected.
    return SyncRun(1, "Demo hospital", ft.Page.__new__(ft.Page), lambda exc: str(exc))


def _labels(run: SyncRun) -> list[str]:
    return [row.controls[0].value for row in run.rows.controls]  # type: ignore[attr-defined]


def test_the_overall_bar_follows_records_fetched_not_searches_finished() -> None:
    run = _run()
    # 19 of 20 searches are done, but the results search has brought 107 of the 712 results it announced.
    run.progress(SyncProgress("search", "Condition", "Condition", imported=3, total=3))
    run.progress(SyncProgress("search", "Condition", "Condition", done=True, tasks_done=19, tasks_total=20))
    run.progress(SyncProgress("search", "Observation", "Observation?category=laboratory", imported=107, total=712,
                              tasks_done=19, tasks_total=20))  # fmt: skip
    assert run.overall.value is not None and run.overall.value < 0.2
    # Each event counts one stored page: the rest of the results arrive in a second one.
    run.progress(SyncProgress("search", "Observation", "Observation?category=laboratory", imported=605, total=712,
                              tasks_done=19, tasks_total=20))  # fmt: skip
    assert run.overall.value == 0.95  # every record is in; one search is still to be closed


def test_directory_and_insurance_kinds_share_a_row_with_a_patients_name() -> None:
    run = _run()
    for rtype in ("Observation", "Claim", "ExplanationOfBenefit", "Organization", "Practitioner"):
        run.progress(SyncProgress("search", rtype, rtype, imported=2, total=4))
    run._paint()
    assert _labels(run) == ["Results and measurements", "Clinicians and places", "Insurance"]


def test_nothing_paints_over_the_outcome_after_the_sync_ends() -> None:
    run = _run()

    async def sync(progress: Any) -> None:
        progress(SyncProgress("search", "Condition", "Condition", imported=1, total=1))

    async def main() -> None:
        run.start(sync)
        assert run.task is not None
        await run.task

    asyncio.run(main())
    assert run.status.value == "Sync finished."
    run._last_paint = 0.0  # so that the straggler below would repaint at once
    run.progress(SyncProgress("attachments", "DocumentReference", imported=1))  # a straggler
    assert run.status.value == "Sync finished." and run.overall.value == 1.0
    assert "Documents" not in [row.name for row in run.tally.rows()]
