"""The sync panel's figures from the puller's own progress events (sync.pull.SyncProgress), without a
browser: the overall bar follows the work done, directory and insurance kinds share a row, nothing says
"fetching" over the outcome once the sync has ended, and the panel is told a few times a second at most."""

from __future__ import annotations

import asyncio
from typing import Any

from app.ui.syncing import SyncRun
from sync.pull import SyncProgress


def _run() -> SyncRun:
    return SyncRun(1, "Demo hospital", lambda exc: str(exc))


def _labels(run: SyncRun) -> list[str]:
    return [row.label for row in run.rows()]


def test_the_overall_bar_follows_records_fetched_not_searches_finished() -> None:
    run = _run()
    # 19 of 20 searches are done, but the results search has brought 107 of the 712 results it announced.
    run.progress(SyncProgress("search", "Condition", "Condition", imported=3, total=3))
    run.progress(SyncProgress("search", "Condition", "Condition", done=True, tasks_done=19, tasks_total=20))
    run.progress(SyncProgress("search", "Observation", "laboratory", imported=107, total=712, tasks_done=19,
                              tasks_total=20))  # fmt: skip
    assert run.overall is not None and run.overall < 0.2
    run.progress(SyncProgress("search", "Observation", "laboratory", imported=712, total=712, tasks_done=19,
                              tasks_total=20))  # fmt: skip
    assert run.overall == 0.95  # every record is in; one search is still to be closed


def test_directory_and_insurance_kinds_share_a_row_with_a_patients_name() -> None:
    run = _run()
    for rtype in ("Observation", "Claim", "ExplanationOfBenefit", "Organization", "Practitioner"):
        run.progress(SyncProgress("search", rtype, rtype, imported=2, total=4))
    assert _labels(run) == ["Result", "Clinicians and places", "Insurance"]


def test_nothing_paints_over_the_outcome_after_the_sync_ends() -> None:
    run = _run()

    async def sync(progress: Any) -> None:
        progress(SyncProgress("search", "Condition", "Condition", imported=1, total=1))

    async def main() -> None:
        run.start(sync)
        assert run.task is not None
        await run.task

    asyncio.run(main())
    assert run.status == "Sync finished."
    shown = run.tick.n
    run.progress(SyncProgress("attachments", "DocumentReference", imported=1))  # a straggler
    assert run.status == "Sync finished." and run.overall == 1.0 and run.tick.n == shown
    assert "DocumentReference" not in run.types


def test_the_panel_is_told_a_few_times_a_second_and_the_last_progress_is_shown() -> None:
    run = _run()
    seen: list[int] = []

    def heard(sender: Any, field: str | None) -> None:
        seen.append(run.tick.n)

    run.tick.subscribe(heard)  # held weakly: `heard` lives as long as the test

    async def main() -> None:
        for n in range(200):  # a burst of events in one moment: one repaint now, one for the rest soon after
            run.progress(SyncProgress("search", "Observation", "laboratory", imported=n + 1, total=400))
        assert len(seen) == 1
        await asyncio.sleep(0.4)
        assert len(seen) == 2 and [r.count for r in run.rows()] == ["200 of 400"]

    asyncio.run(main())
