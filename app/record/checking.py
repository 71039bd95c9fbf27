"""Validating what a sync stored, after the sync.

A sync's job is to get the patient's data into the record quickly and completely, so it stores each resource as
received (encrypted, indexed, searchable) and marks it "not checked yet" (resource.valid = -1). Validating every
resource against the FHIR R4B models costs several times more than fetching and storing it, so it happens here,
afterwards: in worker processes when there are many, a chunk at a time, each chunk in one transaction.

Validation never changes what is stored, only the flag and its reason: a resource that fails is kept and shown
with the reason, as a file import does. The sync's stored report (and its run) gain the invalid counts, so
`carry sources` and the UI tell the same story as a sync that had validated inline.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sync.fhir.parse import PARALLEL_THRESHOLD, ValidationWorkers, validate_chunks
from sync.pull.report import SyncProgress

from .store import VALID_NO, VALID_UNCHECKED, VALID_YES, Record

__all__ = ["CheckResult", "WorkersWhenBig", "check_pending", "pending_count"]

_CHUNK = 1000


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
    rows_ahead: deque[list[tuple[int, str, str, str, int | None]]] = deque()

    def chunks() -> Iterator[list[bytes]]:
        after = 0
        while True:
            rows = record.read(
                f"SELECT rowid, type, id, hash, last_run, raw FROM resource WHERE valid = {VALID_UNCHECKED} "
                "AND rowid > ? ORDER BY rowid LIMIT ?",
                [after, _CHUNK],
            )
            if not rows:
                return
            after = rows[-1][0]
            rows_ahead.append([(r[0], r[1], r[2], r[3], r[4]) for r in rows])
            yield [r[5].encode("utf-8") for r in rows]

    done = 0
    items: list[tuple[str, str, str]] = []
    parallel = total >= parallel_from or (workers is not None and workers.started)
    for errors in validate_chunks(chunks(), parallel=parallel, pool=workers):
        rows = rows_ahead.popleft()
        items += _store_results(record, rows, errors)
        done += len(rows)
        if progress is not None:
            progress(min(done, total), total)
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


def _store_results(
    record: Record, rows: list[tuple[int, str, str, str, int | None]], errors: list[str | None]
) -> list[tuple[str, str, str]]:
    failed: list[tuple[str, str, str]] = []
    by_run: dict[int, dict[str, int]] = {}
    with record.write() as cur:
        for (rowid, rtype, rid, digest, run_id), error in zip(rows, errors, strict=True):
            changed = cur.execute(
                f"UPDATE resource SET valid = ?, invalid_reason = ? WHERE rowid = ? AND hash = ? "
                f"AND valid = {VALID_UNCHECKED}",
                (VALID_NO if error else VALID_YES, error, rowid, digest),
            ).rowcount
            if error and changed:
                failed.append((rtype, rid, error))
                if run_id is not None:
                    bucket = by_run.setdefault(run_id, {})
                    bucket[rtype] = bucket.get(rtype, 0) + 1
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
