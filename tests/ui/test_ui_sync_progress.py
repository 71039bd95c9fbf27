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
    return [row.name for row in run.rows()]


def test_the_overall_bar_follows_records_fetched_not_searches_finished() -> None:
    run = _run()
    # 19 of 20 searches are done, but the results search has brought 107 of the 712 results it announced.
    run.progress(SyncProgress("search", "Condition", "Condition", imported=3, total=3))
    run.progress(SyncProgress("search", "Condition", "Condition", done=True, tasks_done=19, tasks_total=20))
    run.progress(SyncProgress("search", "Observation", "Observation?category=laboratory", imported=107, total=712,
                              tasks_done=19, tasks_total=20))  # fmt: skip
    assert run.overall is not None and run.overall < 0.2
    # Each event counts one stored page: the rest of the results arrive in a second one.
    run.progress(SyncProgress("search", "Observation", "Observation?category=laboratory", imported=605, total=712,
                              tasks_done=19, tasks_total=20))  # fmt: skip
    assert run.overall == 0.95  # every record is in; one search is still to be closed


def test_directory_and_insurance_kinds_share_a_row_with_a_patients_name() -> None:
    run = _run()
    for rtype in ("Observation", "Claim", "ExplanationOfBenefit", "Organization", "Practitioner"):
        run.progress(SyncProgress("search", rtype, rtype, imported=2, total=4))
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
    assert run.status == "Sync finished."
    shown = run.tick.n
    run.progress(SyncProgress("attachments", "DocumentReference", imported=1))  # a straggler
    assert run.status == "Sync finished." and run.overall == 1.0 and run.tick.n == shown
    assert "Documents" not in [row.name for row in run.rows()]


def test_the_panel_is_told_a_few_times_a_second_and_the_last_progress_is_shown() -> None:
    run = _run()
    seen: list[int] = []

    def heard(sender: Any, field: str | None) -> None:
        seen.append(run.tick.n)

    run.tick.subscribe(heard)  # held weakly: `heard` lives as long as the test

    async def main() -> None:
        for n in range(200):  # a burst of events in one moment: one repaint now, one for the rest soon after
            run.progress(SyncProgress("search", "Observation", "laboratory", imported=1, total=400))  # a page each
        assert len(seen) == 1
        await asyncio.sleep(0.4)
        assert len(seen) == 2 and [r.count_text for r in run.rows()] == ["200 of 400"]

    asyncio.run(main())


def test_the_check_after_the_fetch_is_said_and_what_failed_is_told_in_the_outcome() -> None:
    from sync.pull.report import SyncReport, TypeReport

    run = _run()
    said: list[str] = []

    async def sync(progress: Any) -> SyncReport:
        progress(SyncProgress("search", "Observation", "Observation", imported=3, total=3))
        await asyncio.to_thread(run.checking, 0, 3)  # as Portals.sync_checked tells it, from its worker thread
        await asyncio.sleep(0.01)
        said.append(run.status)
        run.invalid = 2
        return SyncReport("complete", "full", False, "", "", 0.1, 1, 1, 0, 0, {"Observation": TypeReport(3, 0, 0, 2, ())})

    async def main() -> None:
        run.start(sync)
        assert run.task is not None
        await run.task
        await asyncio.to_thread(run.checking, 3, 3)  # a straggler from the thread after the end
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert said == ["Checking what arrived…"] and run.status == "Sync finished."  # nothing said over the outcome
    assert run.summary() == ("3 new, 0 updated, 0 unchanged. 2 did not pass FHIR validation; they are shown as "
                             "received, with why.")  # fmt: skip
