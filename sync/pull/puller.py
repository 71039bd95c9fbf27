"""Pull everything a patient may see from one FHIR server: per-type searches, paging, referenced resources,
attachments, Provenance; resumable from per-task checkpoints; a report per type; progress events.

Searches run side by side (HttpClient bounds the requests in flight). Each page is taken apart as it arrives and
handed to one writer, which stores whatever pages are waiting in one transaction, each with its checkpoint, while
the next pages are fetched. Referenced resources and attachments are read as soon as a page mentions them.
Validation is not done here: resources are stored "not checked yet" and validated after the sync
(app.record.checking). The store is a Protocol (`PullStore`) that app.record implements.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from ..heap import heap_set_aside
from ..http import ForeignURLRefused, NetworkError, is_under
from ..smart.diagnosis import Diagnosed
from ..smart.errors import NeedsReconnect, SmartError
from ..fhir.capabilities import ServerCapabilities
from ..fhir.client import FHIRClient, RequestRefused, Throttled, Unauthorized
from ..fhir.errors import FHIRError, FHIRFormatError
from ..fhir.outcome import issue_text
from ..fhir.parse import ParsedResource, dumps, loads, parse_document, parse_resource
from ..fhir.references import has_conditional, literal_pattern
from .plan import PullOptions, SearchTask, plan_tasks
from .quirks import VendorQuirks
from .report import OUTCOMES, Counts, SyncProgress, SyncReport, TypeReport, add_counts, now
from .writer import PageWrite, PageWriter, PullSession, PullStore, Queued

__all__ = ["heap_set_aside", "pull"]

_ATTACHMENT_TYPES = ("DocumentReference", "DiagnosticReport")
_STALE_PAGE = frozenset({400, 404, 410, 422})
_NOT_SHARED = frozenset({403, 404})  # a search answered so: the portal does not share that type with apps
# Every search starts at once, and HttpClient keeps `concurrency` requests in flight. When a slot frees up, a search
# that is under way gets it for its next page before a search starts or a reference is read: on a busy portal the
# pages keep coming (and are stored) from the start instead of queueing behind every search's first page, and on a
# slow network every search still has a request out.
_GOING_ON = 0
_STARTING = 1


# --- the pull ----------------------------------------------------------------------------------------------------


class _Puller:
    def __init__(
        self,
        client: FHIRClient,
        store: PullStore,
        session: PullSession,
        progress: Callable[[SyncProgress], None] | None,
        options: PullOptions,
        reference_types: Collection[str],
    ) -> None:
        self.client = client
        self.store = store
        self.session = session
        self.options = options
        self.progress = progress or (lambda _event: None)
        self.reference_types = frozenset(reference_types) if options.resolve_references else frozenset()
        # Literal references to those types only ("Practitioner/123"), so a page's other references cost nothing.
        self.references = literal_pattern(self.reference_types)
        self.counts: Counts = {}
        self.refused: dict[str, list[str]] = {}
        self.not_shared: dict[str, str] = {}  # type -> since (the report's one line)
        self.newly_refused: dict[str, tuple[str, str]] = {}  # task -> (type, reason), to remember
        self.answered: set[str] = set()  # tasks the portal answered this time
        self.warnings: list[str] = []
        self.failed = False
        self.seen: dict[tuple[str, str], str] = {}  # (type, id) -> hash, this run: repeats across pages are dropped
        # Referenced resources and attachments that are stored (incremental syncs), being read, or read: each
        # is asked for once.
        self.known: set[tuple[str, str]] = set()
        self.side: set[asyncio.Task[None]] = set()  # reads of referenced resources and attachments in flight
        self.server_time: str | None = None
        self.tasks_total = 0
        self.tasks_done = 0
        self.writer = PageWriter(store, session.run_id, self._stored)
        for checkpoint in session.checkpoints.values():
            add_counts(self.counts, checkpoint.counts)
            if checkpoint.refused and checkpoint.task not in session.not_shared:
                self.refused.setdefault(checkpoint.task.split("?")[0], []).append(checkpoint.refused)

    def emit(self, event: SyncProgress) -> None:
        try:
            self.progress(event)
        except Exception:  # noqa: BLE001 - a broken progress display must not break a sync
            pass

    def note_refused(self, rtype: str, reason: str) -> None:
        self.refused.setdefault(rtype, []).append(reason)

    # --- the writer: one transaction for whatever pages are waiting -------------------------------------------

    async def start(self) -> None:
        wanted = set(self.reference_types) | ({"Binary"} if self.options.attachments else set())
        if wanted and not self.session.full:
            self.known = await asyncio.to_thread(self.store.stored_keys, sorted(wanted))
        self.writer.start()

    async def _enqueue(self, item: Queued | None) -> None:
        await self.writer.put(item)

    def _stored(self, item: Queued, counts: Counts | None) -> None:
        if counts is None:
            self._task_finished(item.task)
            return
        add_counts(self.counts, counts)
        if item.task is not None and item.page:
            mine = counts.get(item.task.resource_type, {})
            self.emit(
                SyncProgress(
                    "search", item.task.resource_type, item.task.key, item.page, mine.get("imported", 0),
                    mine.get("updated", 0), mine.get("unchanged", 0), item.total, False, self.tasks_done,
                    self.tasks_total,
                )  # fmt: skip
            )

    async def close(self) -> None:
        """Store everything still queued and stop the writer (raises what the record refused, if anything)."""
        await self.writer.close()

    def abandon(self) -> None:
        for task in self.side:
            task.cancel()
        self.writer.abandon()

    def _task_finished(self, task: SearchTask | None) -> None:
        if task is None:
            return
        self.tasks_done += 1
        self.emit(SyncProgress("search", task.resource_type, task.key, done=True, tasks_done=self.tasks_done, tasks_total=self.tasks_total))

    # --- searches ------------------------------------------------------------------------------------------------

    def _fresh(self, resources: list[ParsedResource]) -> list[ParsedResource]:
        kept = []
        for res in resources:
            key = (res.resource_type, res.id)
            if self.seen.get(key) == res.hash:
                continue
            self.seen[key] = res.hash
            kept.append(res)
        return kept

    async def run_task(self, task: SearchTask) -> None:
        checkpoint = self.session.checkpoints.get(task.key)
        if checkpoint is not None and checkpoint.done:
            await self._enqueue(Queued(task))
            return
        known = self.session.not_shared.get(task.key)
        if known is not None:  # refused within the last week: not asked again (--full asks)
            self.not_shared.setdefault(task.resource_type, known[1])
            await self._enqueue(Queued(task))
            return
        if task.skip:
            await self._enqueue(Queued(task, PageWrite(task.key, [], None, True, refused=task.skip)))
            self.note_refused(task.resource_type, task.skip)
            await self._enqueue(Queued(task))
            return
        resume_url = checkpoint.next_url if checkpoint is not None else None
        page = checkpoint.pages if checkpoint is not None else 0
        restart = resume_url is not None and not is_under(resume_url, self.client.base_url)
        if restart:
            # The last sync stopped at a next link Carry refused to follow (another host, port or scheme): that
            # search starts over, so nothing behind the refused link is lost.
            resume_url, page = None, 0
        try:
            await self._pages(task, resume_url, page, restart)
            self.answered.add(task.key)
        except (asyncio.CancelledError, Throttled):
            raise  # (throttled: the whole sync stops, with one sentence, and the next one resumes)
        except (Unauthorized, ForeignURLRefused, NetworkError, RequestRefused, FHIRError) as exc:
            await self._task_failed(task, exc)
        await self._enqueue(Queued(task))

    async def _pages(self, task: SearchTask, resume_url: str | None, page: int, restart: bool = False) -> None:
        params = task.params
        url: str | None = resume_url
        if url is None:
            url = self.client.url(task.path, params)
            page = 0
        first = True
        while url is not None:
            try:
                response = await self.client.get(url, priority=_STARTING if page == 0 else _GOING_ON)
            except RequestRefused as exc:
                if isinstance(exc, Unauthorized):
                    raise
                if first and resume_url is not None and exc.status in _STALE_PAGE:
                    # The server forgot the paging position since the interruption: start the search over.
                    url, resume_url, page, restart = self.client.url(task.path, params), None, 0, True
                    continue
                if first and page == 0 and task.fallback is not None and params != task.fallback and exc.status in (400, 403, 422):
                    params = task.fallback
                    url = self.client.url(task.path, params)
                    continue
                raise
            self._note_server_time(response.headers.get("date"))
            resources, total, outcomes, next_url = await self._parse(task, response.content)
            for outcome in outcomes:
                text = issue_text(outcome)
                if text:
                    self.warnings.append(f"{task.resource_type}: {text}")
            page += 1
            fresh = self._fresh(resources)
            self._discover(fresh, depth=0)
            write = PageWrite(task.key, fresh, next_url, next_url is None, restart=restart)
            # Stored (with this checkpoint) by the writer while the next page is being fetched.
            await self._enqueue(Queued(task, write, page, total))
            restart = False
            first = False
            url = next_url

    async def _parse(self, task: SearchTask, content: bytes) -> tuple[list[ParsedResource], int | None, list[dict[str, Any]], str | None]:
        if has_conditional(content):  # needs the store's resolver
            # Conditional references are resolved against the record: that is a query, so not on the event loop.
            return await asyncio.to_thread(_parse_page, content, task.read, self.store.resolve_identifier)
        return _parse_page(content, task.read, None)

    async def _task_failed(self, task: SearchTask, exc: Exception) -> None:
        reason = str(exc)
        if isinstance(exc, Unauthorized):
            raise exc
        if task.resource_type == "Provenance" and not (isinstance(exc, RequestRefused) and exc.status in _NOT_SHARED):
            # Provenance is extra: its search failing is worth a note, not an incomplete sync.
            self.warnings.append(f"Provenance could not be read this time ({reason})")
            await self._enqueue(Queued(task, PageWrite(task.key, [], None, True, refused=reason)))
            return
        if isinstance(exc, (NetworkError, FHIRFormatError, ForeignURLRefused)) or (
            isinstance(exc, RequestRefused) and (exc.status >= 500 or exc.status == 429 or 300 <= exc.status < 400)
        ):
            # Transient, or a next link or redirect Carry would not follow (the rest of that search was not read):
            # keep the checkpoint, so the sync is incomplete and the next one continues (or starts that search over).
            self.failed = True
            self.note_refused(task.resource_type, f"not finished: {reason}")
            return
        await self._enqueue(Queued(task, PageWrite(task.key, [], None, True, refused=reason)))
        if isinstance(exc, RequestRefused) and exc.status in _NOT_SHARED and task.path == task.resource_type:
            # The portal does not share this with apps: one line in the report, and not asked again for a week.
            self.newly_refused[task.key] = (task.resource_type, reason)
            self.not_shared.setdefault(task.resource_type, now()[:10])
            return
        self.note_refused(task.resource_type, reason)

    def _note_server_time(self, date_header: str | None) -> None:
        if self.server_time is not None or not date_header:
            return
        try:
            when = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        self.server_time = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    # --- referenced resources and attachments, read as soon as a page mentions them ---------------------------

    def _discover(self, resources: Iterable[ParsedResource], depth: int) -> None:
        for res in resources:
            self._discover_raw(res.resource_type, res.raw, res.data, depth)

    def _discover_raw(self, rtype: str, raw: bytes, data: Any, depth: int) -> None:
        if self.options.attachments and rtype in _ATTACHMENT_TYPES:
            for url, content_type in _attachment_urls(loads(raw) if data is None else data):
                self._want_attachment(url, content_type)
        # Referenced resources can refer on (PractitionerRole -> Organization): two steps away is plenty.
        if self.reference_types and depth < 2:
            for match in self.references.finditer(raw):
                key = (match.group(1).decode(), match.group(2).decode())
                if key not in self.known:
                    self.known.add(key)
                    self._spawn(self._read_reference(key, depth + 1))

    def _want_attachment(self, url: str, content_type: str) -> None:
        absolute = self.client.url(url)
        if not is_under(absolute, self.client.base_url):
            self.note_refused("Binary", "an attachment outside the FHIR base was not fetched (no token is sent there)")
            return
        key = ("Binary", absolute.rstrip("/").rsplit("/", 1)[-1].split("?")[0])
        if key not in self.known:
            self.known.add(key)
            self._spawn(self._attachment(key[1], absolute, content_type))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self.side.add(task)

    async def finish_side_reads(self) -> None:
        """Wait for every read of a referenced resource or attachment (they can start more reads)."""
        if self.session.resumed:
            # Pages stored before the interruption were not looked at in this process: look now.
            rows = await asyncio.to_thread(self.store.run_resources, self.session.run_id, ())
            for rtype, _rid, raw in rows:
                self._discover_raw(rtype, raw, None, 0)
        self.emit(SyncProgress("references"))
        while self.side:
            batch = list(self.side)
            self.side.difference_update(batch)
            await _all(batch)
        self.emit(SyncProgress("attachments"))

    async def _read_reference(self, key: tuple[str, str], depth: int) -> None:
        rtype, rid = key
        try:
            response = await self.client.get(f"{rtype}/{rid}", priority=_STARTING)
            res = parse_resource(response.content, validate=False)
        except Unauthorized:
            raise
        except (RequestRefused, NetworkError, FHIRError) as exc:
            self.note_refused(rtype, f"{rtype}/{rid}: {exc}")
            return
        fresh = self._fresh([res])
        self._discover(fresh, depth)
        await self._enqueue(Queued(None, PageWrite("references", fresh, None, True)))

    async def _attachment(self, binary_id: str, url: str, content_type: str) -> None:
        try:
            accept = f"{self.client.accept}, {content_type};q=0.9"
            response = await self.client.get(url, accept=accept, priority=_STARTING)
        except Unauthorized:
            raise
        except (RequestRefused, NetworkError, ForeignURLRefused) as exc:
            self.note_refused("Binary", f"attachment {binary_id}: {exc}")
            return
        if response.content_type in ("application/fhir+json", "application/json", "application/json+fhir"):
            try:
                res = parse_resource(response.content, validate=False)
            except FHIRError as exc:
                self.note_refused("Binary", f"attachment {binary_id}: {exc}")
                return
        else:
            # Raw bytes: keep them as the Binary resource a FHIR server would have given.
            wrapped = {
                "resourceType": "Binary",
                "id": binary_id,
                "contentType": response.content_type or content_type,
                "data": base64.b64encode(response.content).decode("ascii"),
            }
            res = parse_resource(dumps(wrapped), validate=False)
        await self._enqueue(Queued(None, PageWrite("attachments", self._fresh([res]), None, True)))

    # --- the report --------------------------------------------------------------------------------------------

    def searched_whole(self, tasks: Sequence[SearchTask]) -> list[str]:
        """Types whose every search ran to its end this run without a _lastUpdated filter: what the portal serves
        of them is all there is, so a stored resource it did not serve is gone from it."""
        whole: dict[str, bool] = {}
        for task in tasks:
            if task.path != task.resource_type or task.resource_type in self.reference_types:
                continue
            checkpoint = self.session.checkpoints.get(task.key)
            finished = task.key in self.answered or (checkpoint is not None and checkpoint.done and not checkpoint.refused)
            filtered = any(name == "_lastUpdated" for name, _ in task.params)
            whole[task.resource_type] = whole.get(task.resource_type, True) and finished and not filtered and not task.skip
        return sorted(t for t, ok in whole.items() if ok)

    async def report(
        self, outcome: str, started: float, started_at: str, incremental: bool, message: str | None,
        removed: Mapping[str, int] | None = None,
    ) -> SyncReport:  # fmt: skip
        if incremental:
            # Under _lastUpdated unchanged resources are not sent again: count them from what is stored.
            for rtype, stored in (await asyncio.to_thread(self.store.stored_counts)).items():
                bucket = self.counts.setdefault(rtype, dict.fromkeys(OUTCOMES, 0))
                bucket["unchanged"] = max(bucket["unchanged"], stored - bucket["imported"] - bucket["updated"])
        types = {
            rtype: TypeReport(
                bucket["imported"], bucket["updated"], bucket["unchanged"], bucket["invalid"],
                tuple(dict.fromkeys(self.refused.get(rtype, ()))), (removed or {}).get(rtype, 0),
            )  # fmt: skip
            for rtype, bucket in self.counts.items()
        }
        for rtype, count in (removed or {}).items():
            types.setdefault(rtype, TypeReport(removed=count))
        for rtype, reasons in self.refused.items():
            types.setdefault(rtype, TypeReport(refused=tuple(dict.fromkeys(reasons))))
        stats = self.client.http.stats
        tokens = getattr(self.client, "_tokens", None)
        return SyncReport(
            outcome=outcome,
            mode="full" if self.session.full else "incremental",
            resumed=self.session.resumed,
            started_at=started_at,
            finished_at=now(),
            duration=time.monotonic() - started,
            requests=stats.requests,
            bytes=stats.bytes,
            retries=stats.retries,
            refreshes=int(getattr(tokens, "refreshes", 0)),
            types=types,
            warnings=tuple(dict.fromkeys(self.warnings)),
            message=message,
            not_shared=dict(self.not_shared),
        )


async def pull(
    client: FHIRClient,
    store: PullStore,
    *,
    patient_id: str,
    capabilities: ServerCapabilities,
    quirks: VendorQuirks,
    allows: Callable[[str], bool],
    options: PullOptions = PullOptions(),
    progress: Callable[[SyncProgress], None] | None = None,
) -> SyncReport:
    """Run (or resume) one sync. Raises nothing for a refused type; `Unauthorized` and token errors propagate
    after the report of what was stored so far is saved (outcome "needs-reconnect").

    Resources are stored as received and marked "not checked yet"; app.record.checking validates them after the
    sync, so validation never holds up fetching and storing."""
    with heap_set_aside():
        started, started_at = time.monotonic(), now()
        session = await asyncio.to_thread(store.open_session, full=options.full)
        since = None
        if session.since and not session.full:
            moment = datetime.strptime(session.since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
            since = (moment - timedelta(seconds=options.overlap)).strftime("%Y-%m-%dT%H:%M:%SZ")
        tasks = plan_tasks(patient_id, capabilities, quirks, allows, since=since)
        incremental = any(k == "_lastUpdated" for task in tasks for k, _ in task.params)
        puller = _Puller(client, store, session, progress, options, quirks.reference_types)
        puller.tasks_total = len(tasks)
        outcome, message, error = "complete", None, None
        try:
            await puller.start()
            try:
                # Tasks run side by side; HttpClient bounds how many requests are in flight.
                await _all(puller.run_task(task) for task in tasks)
                await puller.finish_side_reads()
                if puller.failed:
                    outcome, message = "incomplete", "Some searches did not finish; the next sync continues where this one stopped."
            except (Unauthorized, NeedsReconnect) as exc:
                outcome, message, error = "needs-reconnect", str(exc), exc
            except (SmartError, Throttled) as exc:  # the token endpoint failed (unreachable, 5xx), or slow down
                outcome, message = "incomplete", str(exc)
            for task in puller.side:
                task.cancel()
            # Whatever was fetched is stored, with its checkpoints, before the report is written.
            await puller.close()
        except BaseException:
            puller.abandon()
            raise
        await asyncio.to_thread(store.remember_refusals, puller.newly_refused, sorted(puller.answered))
        removed: dict[str, int] = {}
        if outcome == "complete":
            removed = await asyncio.to_thread(store.mark_removed, session.run_id, puller.searched_whole(tasks))
        diagnosis = None
        searches = [t.key for t in tasks if t.path == t.resource_type and not t.skip]
        refused = {*puller.newly_refused, *session.not_shared, *(k for k, c in session.checkpoints.items() if c.refused)}
        if outcome == "complete" and searches and all(key in refused for key in searches):
            # Logged in, and every kind of record refused: say what that usually means, in one sentence.
            found = Diagnosed("refused_everywhere", status="HTTP 403 or 404", base_url=client.base_url)
            outcome, message, diagnosis = "incomplete", str(found), {"code": found.code, **found.fields}
        report = await puller.report(outcome, started, started_at, incremental and outcome == "complete", message, removed)
        if diagnosis is not None:
            report = replace(report, diagnosis=diagnosis)
        await asyncio.to_thread(
            store.finish_session, session.run_id, report, complete=outcome == "complete", server_time=puller.server_time
        )
        puller.emit(SyncProgress("done", done=True, tasks_done=puller.tasks_done, tasks_total=puller.tasks_total))
        if error is not None:
            raise error
        return report


async def _all(awaitables: Iterable[Awaitable[Any]]) -> None:
    """Run side by side in a TaskGroup: when one fails, the group cancels the others and waits for them. The first
    failure is raised as itself, not in a group, since the callers catch it by type (Unauthorized, ...)."""
    try:
        async with asyncio.TaskGroup() as group:
            for awaitable in awaitables:
                group.create_task(_awaited(awaitable))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None


async def _awaited(awaitable: Awaitable[Any]) -> None:
    # A side read is a task already running; awaiting it here ties it to the group (cancelling this cancels it).
    await awaitable


def _parse_page(
    content: bytes, read: bool, resolver: Callable[[str, str, str], str | None] | None
) -> tuple[list[ParsedResource], int | None, list[dict[str, Any]], str | None]:
    """Take one response apart: its resources (not validated yet), Bundle.total, outcomes and next link."""
    if read:
        return [parse_resource(content, validate=False)], None, [], None
    document = parse_document(content, resolver=resolver, validate=False)
    return document.resources, document.total, document.outcomes, document.links.get("next")


# --- small readers ------------------------------------------------------------------------------------------------


def _attachment_urls(resource: Any) -> Iterable[tuple[str, str]]:
    if not isinstance(resource, dict):
        return
    attachments: list[Any] = []
    if resource.get("resourceType") == "DocumentReference":
        attachments = [c.get("attachment") for c in resource.get("content") or [] if isinstance(c, dict)]
    elif resource.get("resourceType") == "DiagnosticReport":
        attachments = list(resource.get("presentedForm") or [])
    for attachment in attachments:
        if isinstance(attachment, dict) and isinstance(attachment.get("url"), str) and attachment["url"]:
            yield attachment["url"], str(attachment.get("contentType") or "application/octet-stream")
