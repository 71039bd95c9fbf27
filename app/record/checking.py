"""Validating what a sync stored, after the sync.

A sync's job is to get the patient's data into the record quickly and completely, so it stores each resource as
received (encrypted, indexed, searchable) and marks it "not checked yet" (resource.valid = -1). Validating every
resource against the FHIR R4B models costs several times more than fetching and storing it, so it happens here,
apart from the storing: in worker processes when there are many, a chunk at a time, each chunk in one transaction;
beside a big sync (CheckWhileSyncing: stored pages are validated while later ones are fetched) or after it.

Validation never changes what is stored, only the flag and its reason: a resource that fails is kept and shown
with the reason, as a file import does. The sync's stored report (and its run) gain the invalid counts, so
`carry sources` and the UI tell the same story as a sync that had validated inline.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sync.fhir.parse import PARALLEL_THRESHOLD, ValidationWorkers, validate_chunks
from sync.pull.report import SyncProgress

from .store import VALID_NO, VALID_UNCHECKED, VALID_YES, Record

__all__ = ["CheckResult", "CheckWhileSyncing", "WorkersWhenBig", "check_pending", "pending_count"]

_CHUNK = 1000
# Beside a sync, verdicts are stored this many at a time: each store waits for the sync's write transaction to end,
# and storing every chunk kept the validation waiting on the sync more than working beside it.
_STORE_BESIDE = 5000


@dataclass(frozen=True)
class CheckResult:
    checked: int = 0
    invalid_items: tuple[tuple[str, str, str], ...] = ()  # (type, id, reason)

    @property
    def invalid(self) -> dict[str, int]:
        """Resource type -> how many failed."""
        return dict(Counter(rtype for rtype, _id, _reason in self.invalid_items))

    @property
    def invalid_total(self) -> int:
        return len(self.invalid_items)


def pending_count(record: Record) -> int:
    """How many stored resources wait to be validated."""
    return int(record.read(f"SELECT count(*) FROM resource WHERE valid = {VALID_UNCHECKED}")[0][0])


def check_pending(
    record: Record,
    *,
    progress: Callable[[int, int], None] | None = None,
    parallel_from: int = PARALLEL_THRESHOLD,
    workers: ValidationWorkers | None = None,
) -> CheckResult:
    """Validate every resource not checked yet; `progress(done, total)` after each chunk.

    Only what a sync or import stored new or changed waits here: a resource fetched again unchanged (the same
    content hash) keeps the verdict it had. With `workers` already started (a sync that grew big started them),
    they do the work whatever the count, since their start is paid for.

    Safe beside a running sync: a resource that changed since it was read (another hash) keeps its "not checked"
    mark for the next pass, and an interrupted pass leaves the rest unchecked, nothing half-done.
    """
    total = pending_count(record)
    if total == 0:
        return CheckResult()
    return _check(record, total, progress=progress, parallel_from=parallel_from, workers=workers)


_Row = tuple[int, str, str, str, int | None]  # rowid, type, id, hash, last_run


def _check(
    record: Record,
    total: int,
    *,
    progress: Callable[[int, int], None] | None = None,
    parallel_from: int = PARALLEL_THRESHOLD,
    workers: ValidationWorkers | None = None,
    after: list[int] | None = None,
    stop: Callable[[], bool] = lambda: False,
    deferred: dict[int, dict[str, int]] | None = None,
    store_every: int = _CHUNK,
) -> CheckResult:
    """One pass over the unchecked resources from rowid `after[0]` on (kept up to date in `after`), until `stop()`.
    With `deferred`, the invalid counts are added there per run instead of to the runs and reports. The verdicts are
    stored `store_every` resources at a time (and what is left at the end of the pass)."""
    rows_ahead: deque[list[_Row]] = deque()
    start = after if after is not None else [0]

    def chunks() -> Iterator[list[bytes]]:
        while not stop():
            rows = record.read(
                f"SELECT rowid, type, id, hash, last_run, resource_json(raw, type, id) FROM resource WHERE valid = {VALID_UNCHECKED} "
                "AND rowid > ? ORDER BY rowid LIMIT ?",
                [start[0], _CHUNK],
            )
            if not rows:
                return
            start[0] = rows[-1][0]
            rows_ahead.append([(r[0], r[1], r[2], r[3], r[4]) for r in rows])
            yield [r[5].encode("utf-8") for r in rows]

    done = 0
    items: list[tuple[str, str, str]] = []
    judged: tuple[list[_Row], list[str | None]] = ([], [])  # verdicts not stored yet

    def store() -> None:
        nonlocal done
        rows, errors = judged
        items.extend(_store_results(record, rows, errors, deferred=deferred))
        done += len(rows)
        rows.clear()
        errors.clear()
        if progress is not None:
            progress(min(done, total), total)

    parallel = total >= parallel_from or (workers is not None and workers.started)
    for errors in validate_chunks(chunks(), parallel=parallel, pool=workers):
        judged[0].extend(rows_ahead.popleft())
        judged[1].extend(errors)
        if len(judged[0]) >= store_every:
            store()
    if judged[0]:
        store()
    return CheckResult(done, tuple(items))


class WorkersWhenBig:
    """A sync's progress callback that starts the validation workers once the sync has stored enough to need them
    new or changed, so they start while the sync still waits on the network (a re-sync that finds everything
    unchanged starts none); then hands each step on to `then`."""

    def __init__(
        self,
        workers: ValidationWorkers,
        then: Callable[[SyncProgress], None] | None = None,
        *,
        start_from: int = PARALLEL_THRESHOLD // 2,
    ) -> None:
        self.workers, self.then, self.start_from = workers, then, start_from
        self._stored = 0  # new and changed so far

    def __call__(self, step: SyncProgress) -> None:
        if not self.workers.started and step.page:
            self._stored += step.imported + step.updated  # a page's step counts that page
            if self._stored >= self.start_from:
                self.workers.start()
        if self.then is not None:
            self.then(step)


class CheckWhileSyncing:
    """Validation beside a running sync: once the sync has stored enough new or changed resources to start the
    workers (as WorkersWhenBig does), a background thread hands what is stored to them page after page while later
    pages are still being fetched, so little is left to validate when the sync ends. `finish` validates the rest
    and returns the whole verdict, as one `check_pending` after the sync would have given it.

    The verdicts found beside the sync are stored as they come (a resource's flag and reason); the invalid counts
    are added to the runs and reports by `finish`, after the sync has written its report (which would overwrite
    them). Use it as a context manager: leaving the block stops the thread (what it did not reach stays unchecked
    for the next pass).
    """

    def __init__(self, record: Record, workers: ValidationWorkers, *, start_from: int = PARALLEL_THRESHOLD // 2) -> None:
        self.record, self.workers = record, workers
        self._workers_when_big = WorkersWhenBig(workers, start_from=start_from)
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._after = [0]  # the last rowid the background passes reached
        self._deferred: dict[int, dict[str, int]] = {}
        self._checked = 0
        self._items: list[tuple[str, str, str]] = []

    def progress(self, then: Callable[[SyncProgress], None] | None = None) -> Callable[[SyncProgress], None]:
        """A sync's progress callback (one per sync; several syncs may share the checker), handing on to `then`."""

        def step(step: SyncProgress) -> None:
            self._workers_when_big(step)
            if self.workers.started and step.page and (step.imported or step.updated):
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="carry-check-beside-sync", daemon=True)
                    self._thread.start()
                self._wake.set()
            if then is not None:
                then(step)

        return step

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                total = pending_count(self.record)
                result = _check(self.record, total, workers=self.workers, after=self._after, stop=lambda: self._stopping,
                                deferred=self._deferred, store_every=_STORE_BESIDE)  # fmt: skip
            except Exception:  # noqa: BLE001 - the pass after the sync meets (and reports) the same trouble
                return
            self._checked += result.checked
            self._items += result.invalid_items

    def _stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def finish(self, *, progress: Callable[[int, int], None] | None = None) -> CheckResult:
        """Stop the background passes, validate what is still unchecked, and add every invalid count found (beside
        the sync and now) to the runs and reports that stored them."""
        self._stop()
        if self._deferred:
            with self.record.write() as cur:
                for run_id, per_type in self._deferred.items():
                    _amend_run(cur, run_id, per_type)
            self._deferred = {}
        rest = check_pending(self.record, progress=progress, workers=self.workers)
        checked, items = self._checked + rest.checked, (*self._items, *rest.invalid_items)
        self._checked, self._items = 0, []
        return CheckResult(checked, items)

    def __enter__(self) -> CheckWhileSyncing:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()


def _store_results(
    record: Record,
    rows: list[_Row],
    errors: list[str | None],
    *,
    deferred: dict[int, dict[str, int]] | None = None,
) -> list[tuple[str, str, str]]:
    failed: list[tuple[str, str, str]] = []
    by_run: dict[int, dict[str, int]] = {} if deferred is None else deferred
    with record.write() as cur:
        # The valid ones (nearly all) in a few statements: one per row would hand the GIL back and forth with a sync
        # running beside. A row whose hash changed since it was read keeps its "not checked" mark, as below.
        passed = [(rowid, digest) for (rowid, _t, _i, digest, _r), error in zip(rows, errors, strict=True) if not error]
        if passed:
            cur.execute_rows(
                f"UPDATE resource SET valid = {VALID_YES}, invalid_reason = NULL FROM (VALUES {{rows}}) AS checked "
                f"WHERE resource.rowid = checked.column1 AND resource.hash = checked.column2 "
                f"AND +resource.valid = {VALID_UNCHECKED}",  # '+': look each row up by rowid, not scan the unchecked
                passed,
            )
        for (rowid, rtype, rid, digest, run_id), error in zip(rows, errors, strict=True):
            if not error:
                continue
            changed = cur.execute(
                f"UPDATE resource SET valid = ?, invalid_reason = ? WHERE rowid = ? AND hash = ? "
                f"AND valid = {VALID_UNCHECKED}",
                (VALID_NO, error, rowid, digest),
            ).rowcount
            if changed:
                failed.append((rtype, rid, error))
                if run_id is not None:
                    bucket = by_run.setdefault(run_id, {})
                    bucket[rtype] = bucket.get(rtype, 0) + 1
        if deferred is None:
            for run_id, per_type in by_run.items():
                _amend_run(cur, run_id, per_type)
    return failed


def _amend_run(cur: Any, run_id: int, per_type: dict[str, int]) -> None:
    """Add invalid counts to the run that stored the resources, and to its sync report when it has one."""
    cur.execute("UPDATE run SET invalid = invalid + ? WHERE id = ?", (sum(per_type.values()), run_id))
    row = cur.execute("SELECT report FROM sync_report WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        return
    report = json.loads(row[0])
    types = report.setdefault("types", {})
    for rtype, count in per_type.items():
        bucket = types.setdefault(rtype, {"imported": 0, "updated": 0, "unchanged": 0, "invalid": 0, "refused": []})
        bucket["invalid"] = int(bucket.get("invalid", 0)) + count
    cur.execute("UPDATE sync_report SET report = ? WHERE run_id = ?", (json.dumps(report), run_id))
