"""The writing side of a pull: what the store keeps (sessions, checkpoints, pages) and the writer that hands pages
to it, one transaction for whatever pages are waiting.

The store is a Protocol (`PullStore`) that app.record implements; the writer runs beside the searches, so fetching
goes on while a transaction is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..fhir.parse import ParsedResource
from .plan import SearchTask
from .report import Counts, SyncReport

__all__ = ["Checkpoint", "PageWrite", "PageWriter", "PullSession", "PullStore", "Queued"]

_QUEUE_PAGES = 64  # pages fetched but not stored yet, at most (then fetching waits for the writer)
_BATCH_PAGES = 64  # pages stored in one transaction, at most


@dataclass(frozen=True)
class Checkpoint:
    task: str
    next_url: str | None  # where to continue; None with done=False means "not started"
    pages: int = 0
    done: bool = False
    refused: str | None = None
    counts: Counts = field(default_factory=dict)


@dataclass(frozen=True)
class PullSession:
    run_id: int
    resumed: bool
    full: bool
    since: str | None  # server time of the last complete sync (for _lastUpdated), None for a full pull
    checkpoints: Mapping[str, Checkpoint] = field(default_factory=dict)
    # Searches the portal refused to share (403/404) within the last week, not asked again: task -> (type, since)
    not_shared: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class PageWrite:
    """One page of a search (or referenced resources, or attachments) and where its task stands after it."""

    task: str
    resources: Sequence[ParsedResource]
    next_url: str | None
    done: bool
    refused: str | None = None
    restart: bool = False  # the search started over: the task's earlier pages and counts are void


class PullStore(Protocol):
    """Persistence of a sync for one source (implemented by app.record.portal_state)."""

    def open_session(self, *, full: bool) -> PullSession: ...

    def save_pages(self, run_id: int, pages: Sequence[PageWrite]) -> list[Counts]:
        """Store the pages' resources and their tasks' checkpoints, in order, in one transaction; return what
        happened per type for each page."""
        ...

    def run_resources(self, run_id: int, types: Collection[str]) -> list[tuple[str, str, bytes]]:
        """(type, id, raw JSON) of every resource of these types that this run stored or saw."""
        ...

    def stored_keys(self, types: Collection[str]) -> set[tuple[str, str]]:
        """(type, id) of every resource of these types this source has in the record."""
        ...

    def stored_counts(self) -> dict[str, int]:
        """How many resources of each type this source has in the record."""
        ...

    def resolve_identifier(self, resource_type: str, system: str, value: str) -> str | None: ...

    def mark_removed(self, run_id: int, types: Collection[str]) -> dict[str, int]:
        """Mark this source's resources of these types that this run did not see as removed at the source (kept,
        dated); return how many per type."""
        ...

    def remember_refusals(self, refused: Mapping[str, tuple[str, str]], searched: Collection[str]) -> None:
        """Keep the searches the portal refused to share (task -> (type, reason)), and forget earlier refusals of
        the searches that were answered this time."""
        ...

    def finish_session(self, run_id: int, report: SyncReport, *, complete: bool, server_time: str | None) -> None: ...


@dataclass(frozen=True)
class Queued:
    """What the writer takes in order: a page to store (with its checkpoint), or a task that has finished."""

    task: SearchTask | None  # None for referenced resources and attachments
    write: PageWrite | None = None
    page: int = 0
    total: int | None = None


class PageWriter:
    """Stores queued pages in order, in the background; `stored(item, counts)` is called for each item once it is
    stored (`counts`: what happened per type, None for an item that only marks a finished task)."""

    def __init__(self, store: PullStore, run_id: int, stored: Callable[[Queued, Counts | None], None]) -> None:
        self.store = store
        self.run_id = run_id
        self.stored = stored
        self.queue: asyncio.Queue[Queued | None] = asyncio.Queue(maxsize=_QUEUE_PAGES)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._write_loop())

    async def put(self, item: Queued | None) -> None:
        """Hand an item (None: the end) to the writer, waiting while its queue is full; if the writer has stopped,
        raise what stopped it (the record refused a write)."""
        assert self.task is not None
        if not self.task.done() and not self.queue.full():
            self.queue.put_nowait(item)
            return
        if not self.task.done():
            put = asyncio.ensure_future(self.queue.put(item))
            await asyncio.wait({put, self.task}, return_when=asyncio.FIRST_COMPLETED)
            if put.done():
                return
            put.cancel()
        self.task.result()
        raise RuntimeError("the sync's writer has stopped")

    async def _write_loop(self) -> None:
        """Store pages as they arrive. While one transaction is being written, the next pages queue up and go
        into the following one together (a group commit), so a fast portal is not slowed down by one commit per
        page, and a slow one still has every page stored as soon as it arrives."""
        while True:
            batch = [await self.queue.get()]
            while len(batch) < _BATCH_PAGES and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            items = [item for item in batch if item is not None]
            writes = [item.write for item in items if item.write is not None]
            results = iter(await asyncio.to_thread(self.store.save_pages, self.run_id, writes) if writes else [])
            for item in items:
                self.stored(item, None if item.write is None else next(results))
            if len(items) < len(batch):  # the end: everything queued before it is stored
                return

    async def close(self) -> None:
        """Store everything still queued and stop the writer (raises what the record refused, if anything)."""
        if self.task is None:
            return
        if not self.task.done():
            await self.put(None)
        await self.task

    def abandon(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
