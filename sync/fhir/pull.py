"""Pull everything a patient may see from one FHIR server: per-type searches, paging, referenced resources,
attachments, Provenance; resumable from per-task checkpoints; a report per type; progress events.

Each page is parsed and stored off the event loop (one transaction per page, checkpoint included), while the
next page is already being fetched. The store is a Protocol (`PullStore`) that app.record implements.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import multiprocessing
import re
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import urlencode

from ..http import ForeignURLRefused, NetworkError, is_under
from ..smart.errors import NeedsReconnect, SmartError
from .capabilities import ServerCapabilities
from .client import FHIRClient, RequestRefused, Unauthorized
from .errors import FHIRError, FHIRFormatError
from .parse import ParsedResource, dumps, loads, parse_document, parse_resource
from .quirks import VendorQuirks

__all__ = [
    "Checkpoint",
    "PullOptions",
    "PullSession",
    "PullStore",
    "SearchTask",
    "SyncProgress",
    "SyncReport",
    "TypeReport",
    "plan_tasks",
    "pull",
]

Counts = dict[str, dict[str, int]]  # resource type -> {"imported", "updated", "unchanged", "invalid"}
_OUTCOMES = ("imported", "updated", "unchanged", "invalid")
_REFERENCE = re.compile(rb'"reference"\s*:\s*"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,200})"')
_ATTACHMENT_TYPES = ("DocumentReference", "DiagnosticReport")
_NEVER_SEARCHED = frozenset({"Patient", "Binary", "Provenance", "Bundle", "OperationOutcome"})
_STALE_PAGE = frozenset({400, 404, 410, 422})
_CONDITIONAL_REF = re.compile(rb'"reference"\s*:\s*"[A-Z][A-Za-z]+\?')  # needs the store's resolver: parse here


# --- what the store keeps ---------------------------------------------------------------------------------------


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


class PullStore(Protocol):
    """Persistence of a sync for one source (implemented by app.record.portal_state)."""

    def open_session(self, *, full: bool) -> PullSession: ...

    def save_page(
        self,
        run_id: int,
        task: str,
        resources: Sequence[ParsedResource],
        *,
        next_url: str | None,
        done: bool,
        refused: str | None = None,
        restart: bool = False,
    ) -> Counts:
        """Store the resources and the task's checkpoint in one transaction; return what happened per type."""
        ...

    def run_resources(self, run_id: int, types: Collection[str]) -> list[tuple[str, str, bytes]]:
        """(type, id, raw JSON) of every resource of these types that this run stored or saw."""
        ...

    def missing(self, refs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]: ...

    def stored_counts(self) -> dict[str, int]:
        """How many resources of each type this source has in the record."""
        ...

    def resolve_identifier(self, resource_type: str, system: str, value: str) -> str | None: ...

    def finish_session(self, run_id: int, report: SyncReport, *, complete: bool, server_time: str | None) -> None: ...


# --- the plan -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchTask:
    key: str  # stable across runs: the checkpoint's name
    resource_type: str
    path: str  # "Observation", "Patient/123", "Patient/123/$everything"
    params: tuple[tuple[str, str], ...] = ()
    fallback: tuple[tuple[str, str], ...] | None = None
    read: bool = False
    skip: str | None = None  # why this type is not searched (not granted, not offered)


@dataclass(frozen=True)
class PullOptions:
    full: bool = False
    overlap: float = 300.0  # seconds subtracted from the last sync's server time for _lastUpdated
    resolve_references: bool = True
    attachments: bool = True
    # Validating resources is most of a sync's CPU time: with N > 0, pages are parsed in N worker processes while
    # this one stores. Worth it from a few thousand resources on (a worker takes about a second to start).
    parse_workers: int = 0


def plan_tasks(
    patient_id: str,
    capabilities: ServerCapabilities,
    quirks: VendorQuirks,
    allows: Callable[[str], bool],
    *,
    since: str | None = None,
) -> list[SearchTask]:
    tasks = [SearchTask(f"Patient/{patient_id}", "Patient", f"Patient/{patient_id}", read=True)]
    if quirks.everything == "if-declared" and capabilities.declares_everything():
        everything = f"Patient/{patient_id}/$everything"
        params = (("_count", str(quirks.page_size)),) + ((("_since", since),) if since else ())
        return tasks + [SearchTask(everything, "*", everything, params)]
    wanted = dict.fromkeys(quirks.types)
    wanted.update(dict.fromkeys(capabilities.searchable_by_patient()))
    for rtype in wanted:
        if rtype in _NEVER_SEARCHED or rtype in quirks.reference_types:
            continue
        if not capabilities.supports_type(rtype):
            continue
        if not allows(rtype):
            tasks.append(SearchTask(rtype, rtype, rtype, skip="not granted by the portal"))
            continue
        extra: list[tuple[str, str]] = [("_count", str(quirks.page_size))]
        if quirks.revinclude_provenance == "if-declared" and capabilities.declares_revinclude(rtype, "Provenance:target"):
            extra.append(("_revinclude", "Provenance:target"))
        if since and capabilities.declares_param(rtype, "_lastUpdated"):
            extra.append(("_lastUpdated", f"gt{since}"))
        for spec in quirks.searches_for(rtype):
            key = rtype + ("?" + urlencode(spec.params) if spec.params else "")
            fallback = (("patient", patient_id), *spec.fallback, *extra) if spec.fallback is not None else None
            tasks.append(SearchTask(key, rtype, rtype, (("patient", patient_id), *spec.params, *extra), fallback))
    return tasks


# --- events and the report ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncProgress:
    """One step of a sync, for a progress bar: a page stored, a task finished, a phase begun."""

    phase: str  # "search", "references", "attachments", "done"
    resource_type: str | None = None
    task: str | None = None
    page: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    total: int | None = None  # Bundle.total, when the server says
    done: bool = False
    tasks_done: int = 0
    tasks_total: int = 0


@dataclass(frozen=True)
class TypeReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    refused: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "invalid": self.invalid,
            "refused": list(self.refused),
        }


@dataclass(frozen=True)
class SyncReport:
    outcome: str  # "complete", "incomplete" (resume with the next sync) or "needs-reconnect"
    mode: str  # "full" or "incremental"
    resumed: bool
    started_at: str
    finished_at: str
    duration: float
    requests: int
    bytes: int
    retries: int
    refreshes: int
    types: Mapping[str, TypeReport]
    warnings: tuple[str, ...] = ()
    message: str | None = None

    @property
    def totals(self) -> TypeReport:
        return TypeReport(
            sum(t.imported for t in self.types.values()),
            sum(t.updated for t in self.types.values()),
            sum(t.unchanged for t in self.types.values()),
            sum(t.invalid for t in self.types.values()),
            tuple(r for t in self.types.values() for r in t.refused),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "mode": self.mode,
            "resumed": self.resumed,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration": round(self.duration, 3),
            "requests": self.requests,
            "bytes": self.bytes,
            "retries": self.retries,
            "refreshes": self.refreshes,
            "types": {t: r.as_json() for t, r in sorted(self.types.items())},
            "warnings": list(self.warnings),
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SyncReport:
        types = {
            t: TypeReport(r["imported"], r["updated"], r["unchanged"], r["invalid"], tuple(r["refused"]))
            for t, r in data["types"].items()
        }
        return cls(
            data["outcome"], data["mode"], data["resumed"], data["started_at"], data["finished_at"], data["duration"],
            data["requests"], data["bytes"], data["retries"], data["refreshes"], types, tuple(data["warnings"]),
            data.get("message"),
        )  # fmt: skip


# --- the pull ----------------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _add(into: Counts, more: Mapping[str, Mapping[str, int]]) -> None:
    for rtype, bucket in more.items():
        mine = into.setdefault(rtype, dict.fromkeys(_OUTCOMES, 0))
        for key in _OUTCOMES:
            mine[key] += bucket.get(key, 0)


class _Puller:
    def __init__(
        self,
        client: FHIRClient,
        store: PullStore,
        session: PullSession,
        progress: Callable[[SyncProgress], None] | None,
    ) -> None:
        self.client = client
        self.store = store
        self.session = session
        self.progress = progress or (lambda _event: None)
        self.counts: Counts = {}
        self.refused: dict[str, list[str]] = {}
        self.warnings: list[str] = []
        self.failed = False
        self.seen: dict[tuple[str, str], str] = {}  # (type, id) -> hash, this run: repeats across pages are dropped
        self.server_time: str | None = None
        self.tasks_total = 0
        self.tasks_done = 0
        self.pool: Executor | None = None
        for checkpoint in session.checkpoints.values():
            _add(self.counts, checkpoint.counts)
            if checkpoint.refused:
                self.refused.setdefault(checkpoint.task.split("?")[0], []).append(checkpoint.refused)

    def emit(self, event: SyncProgress) -> None:
        try:
            self.progress(event)
        except Exception:  # noqa: BLE001 - a broken progress display must not break a sync
            pass

    def note_refused(self, rtype: str, reason: str) -> None:
        self.refused.setdefault(rtype, []).append(reason)

    # --- pages ---------------------------------------------------------------------------------------------------

    def _fresh(self, resources: list[ParsedResource]) -> list[ParsedResource]:
        kept = []
        for res in resources:
            key = (res.resource_type, res.id)
            if self.seen.get(key) == res.hash:
                continue
            self.seen[key] = res.hash
            kept.append(res)
        return kept

    async def _store_page(
        self, task: SearchTask, content: bytes, next_url: str | None, restart: bool
    ) -> tuple[Counts, int | None]:
        """Parse (in a worker process when there is a pool, else a thread) and store one page."""
        if self.pool is not None and not task.read and not _CONDITIONAL_REF.search(content):
            loop = asyncio.get_running_loop()
            resources, total, outcomes = await loop.run_in_executor(self.pool, _parse_page, content, False, None)
        else:
            resources, total, outcomes = await asyncio.to_thread(
                _parse_page, content, task.read, self.store.resolve_identifier
            )
        for outcome in outcomes:
            text = _issue_text(outcome)
            if text:
                self.warnings.append(f"{task.resource_type}: {text}")
        counts = await asyncio.to_thread(
            self.store.save_page,
            self.session.run_id, task.key, self._fresh(resources), next_url=next_url, done=next_url is None, restart=restart,
        )  # fmt: skip
        return counts, total

    async def run_task(self, task: SearchTask) -> None:
        checkpoint = self.session.checkpoints.get(task.key)
        if checkpoint is not None and checkpoint.done:
            self._task_finished(task)
            return
        if task.skip:
            await asyncio.to_thread(
                self.store.save_page, self.session.run_id, task.key, [], next_url=None, done=True, refused=task.skip
            )
            self.note_refused(task.resource_type, task.skip)
            self._task_finished(task)
            return
        resume_url = checkpoint.next_url if checkpoint is not None else None
        page = checkpoint.pages if checkpoint is not None else 0
        try:
            await self._pages(task, resume_url, page)
        except asyncio.CancelledError:
            raise
        except (Unauthorized, ForeignURLRefused, NetworkError, RequestRefused, FHIRError) as exc:
            await self._task_failed(task, exc)
        self._task_finished(task)

    async def _pages(self, task: SearchTask, resume_url: str | None, page: int) -> None:
        params = task.params
        url: str | None = resume_url
        restart = False
        if url is None:
            url = self.client.url(task.path, params)
            page = 0
        pending: asyncio.Task[tuple[Counts, int | None]] | None = None
        first = True
        try:
            while url is not None:
                try:
                    response = await self.client.get(url)
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
                next_url = None if task.read else _next_link(response.content)
                if pending is not None:
                    self._page_done(task, page, *(await pending))
                    pending = None
                page += 1
                pending = asyncio.create_task(self._store_page(task, response.content, next_url, restart))
                restart = False
                first = False
                url = next_url
        finally:
            # The page already fetched is stored (with its checkpoint) even when a later request fails.
            if pending is not None:
                self._page_done(task, page, *(await pending), done=url is None)

    def _page_done(self, task: SearchTask, page: int, counts: Counts, total: int | None, done: bool = False) -> None:
        _add(self.counts, counts)
        mine = counts.get(task.resource_type, {})
        self.emit(
            SyncProgress(
                "search", task.resource_type, task.key, page,
                mine.get("imported", 0), mine.get("updated", 0), mine.get("unchanged", 0), total, done,
                self.tasks_done, self.tasks_total,
            )  # fmt: skip
        )

    async def _task_failed(self, task: SearchTask, exc: Exception) -> None:
        reason = str(exc)
        if isinstance(exc, Unauthorized):
            raise exc
        if isinstance(exc, (NetworkError, FHIRFormatError)) or (
            isinstance(exc, RequestRefused) and (exc.status >= 500 or exc.status == 429)
        ):
            # Transient: keep the checkpoint as it is, so the next sync continues from here.
            self.failed = True
            self.note_refused(task.resource_type, f"not finished: {reason}")
            return
        await asyncio.to_thread(
            self.store.save_page, self.session.run_id, task.key, [], next_url=None, done=True, refused=reason
        )
        self.note_refused(task.resource_type, reason)

    def _task_finished(self, task: SearchTask) -> None:
        self.tasks_done += 1
        self.emit(SyncProgress("search", task.resource_type, task.key, done=True, tasks_done=self.tasks_done, tasks_total=self.tasks_total))

    def _note_server_time(self, date_header: str | None) -> None:
        if self.server_time is not None or not date_header:
            return
        try:
            when = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            return
        self.server_time = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    # --- after the searches: references and attachments ---------------------------------------------------------

    async def resolve_references(self, reference_types: Sequence[str]) -> None:
        """Read the referenced resources not yet stored (all of them in a full sync: --full re-pulls everything)."""
        self.emit(SyncProgress("references"))
        rows = await asyncio.to_thread(self.store.run_resources, self.session.run_id, ())
        wanted = set(reference_types)
        refs = {
            (m.group(1).decode(), m.group(2).decode())
            for _rtype, _rid, raw in rows
            for m in _REFERENCE.finditer(raw)
            if m.group(1).decode() in wanted
        }
        missing = refs if self.session.full else await asyncio.to_thread(self.store.missing, refs)
        # Referenced resources can refer on (PractitionerRole -> Organization): two rounds are plenty.
        for _round in range(2):
            if not missing:
                break
            fetched = await asyncio.gather(*(self._read(rtype, rid) for rtype, rid in sorted(missing)))
            found = [res for res in fetched if res is not None]
            if found:
                counts = await asyncio.to_thread(
                    self.store.save_page, self.session.run_id, "references", self._fresh(found), next_url=None, done=True
                )
                _add(self.counts, counts)
            more = {
                (m.group(1).decode(), m.group(2).decode())
                for res in found
                for m in _REFERENCE.finditer(res.raw)
                if m.group(1).decode() in wanted
            }
            missing = await asyncio.to_thread(self.store.missing, more)

    async def _read(self, rtype: str, rid: str) -> ParsedResource | None:
        try:
            response = await self.client.get(f"{rtype}/{rid}")
            return await asyncio.to_thread(parse_resource, response.content)
        except Unauthorized:
            raise
        except (RequestRefused, NetworkError, FHIRError) as exc:
            self.note_refused(rtype, f"{rtype}/{rid}: {exc}")
            return None

    async def fetch_attachments(self) -> None:
        self.emit(SyncProgress("attachments"))
        rows = await asyncio.to_thread(self.store.run_resources, self.session.run_id, _ATTACHMENT_TYPES)
        urls: dict[str, str] = {}  # url -> contentType
        for _rtype, _rid, raw in rows:
            for url, content_type in _attachment_urls(loads(raw)):
                urls.setdefault(url, content_type)
        targets: dict[tuple[str, str], tuple[str, str]] = {}
        for url, content_type in urls.items():
            absolute = self.client.url(url)
            if not is_under(absolute, self.client.base_url):
                self.note_refused("Binary", "an attachment outside the FHIR base was not fetched (no token is sent there)")
                continue
            binary_id = absolute.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
            targets[("Binary", binary_id)] = (absolute, content_type)
        missing = set(targets) if self.session.full else await asyncio.to_thread(self.store.missing, targets)
        results = await asyncio.gather(*(self._attachment(key[1], *targets[key]) for key in sorted(missing)))
        found = [res for res in results if res is not None]
        if found:
            counts = await asyncio.to_thread(
                self.store.save_page, self.session.run_id, "attachments", self._fresh(found), next_url=None, done=True
            )
            _add(self.counts, counts)

    async def _attachment(self, binary_id: str, url: str, content_type: str) -> ParsedResource | None:
        try:
            response = await self.client.get(url, accept=f"{self.client.accept}, {content_type};q=0.9")
        except Unauthorized:
            raise
        except (RequestRefused, NetworkError, ForeignURLRefused) as exc:
            self.note_refused("Binary", f"attachment {binary_id}: {exc}")
            return None
        if response.content_type in ("application/fhir+json", "application/json", "application/json+fhir"):
            try:
                return await asyncio.to_thread(parse_resource, response.content)
            except FHIRError as exc:
                self.note_refused("Binary", f"attachment {binary_id}: {exc}")
                return None
        # Raw bytes: keep them as the Binary resource a FHIR server would have given.
        wrapped = {
            "resourceType": "Binary",
            "id": binary_id,
            "contentType": response.content_type or content_type,
            "data": base64.b64encode(response.content).decode("ascii"),
        }
        return await asyncio.to_thread(parse_resource, dumps(wrapped))

    # --- the report --------------------------------------------------------------------------------------------

    async def report(self, outcome: str, started: float, started_at: str, incremental: bool, message: str | None) -> SyncReport:
        if incremental:
            # Under _lastUpdated unchanged resources are not sent again: count them from what is stored.
            for rtype, stored in (await asyncio.to_thread(self.store.stored_counts)).items():
                bucket = self.counts.setdefault(rtype, dict.fromkeys(_OUTCOMES, 0))
                bucket["unchanged"] = max(bucket["unchanged"], stored - bucket["imported"] - bucket["updated"])
        types = {
            rtype: TypeReport(
                bucket["imported"], bucket["updated"], bucket["unchanged"], bucket["invalid"],
                tuple(dict.fromkeys(self.refused.get(rtype, ()))),
            )  # fmt: skip
            for rtype, bucket in self.counts.items()
        }
        for rtype, reasons in self.refused.items():
            types.setdefault(rtype, TypeReport(refused=tuple(dict.fromkeys(reasons))))
        stats = self.client.http.stats
        tokens = getattr(self.client, "_tokens", None)
        return SyncReport(
            outcome=outcome,
            mode="full" if self.session.full else "incremental",
            resumed=self.session.resumed,
            started_at=started_at,
            finished_at=_now(),
            duration=time.monotonic() - started,
            requests=stats.requests,
            bytes=stats.bytes,
            retries=stats.retries,
            refreshes=int(getattr(tokens, "refreshes", 0)),
            types=types,
            warnings=tuple(dict.fromkeys(self.warnings)),
            message=message,
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
    after the report of what was stored so far is saved (outcome "needs-reconnect")."""
    started, started_at = time.monotonic(), _now()
    session = await asyncio.to_thread(store.open_session, full=options.full)
    since = None
    if session.since and not session.full:
        moment = datetime.strptime(session.since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        since = (moment - timedelta(seconds=options.overlap)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tasks = plan_tasks(patient_id, capabilities, quirks, allows, since=since)
    incremental = any(k == "_lastUpdated" for task in tasks for k, _ in task.params)
    puller = _Puller(client, store, session, progress)
    puller.tasks_total = len(tasks)
    outcome, message, error = "complete", None, None
    if options.parse_workers > 0:
        puller.pool = ProcessPoolExecutor(options.parse_workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        # Tasks run side by side; HttpClient bounds how many requests are in flight.
        await _all(puller.run_task(task) for task in tasks)
        if options.resolve_references:
            await puller.resolve_references(quirks.reference_types)
        if options.attachments:
            await puller.fetch_attachments()
        if puller.failed:
            outcome, message = "incomplete", "Some searches did not finish; the next sync continues where this one stopped."
    except (Unauthorized, NeedsReconnect) as exc:
        outcome, message, error = "needs-reconnect", str(exc), exc
    except SmartError as exc:  # the token endpoint failed for another reason (unreachable, 5xx)
        outcome, message = "incomplete", str(exc)
    finally:
        if puller.pool is not None:
            puller.pool.shutdown(wait=False, cancel_futures=True)
    report = await puller.report(outcome, started, started_at, incremental and outcome == "complete", message)
    await asyncio.to_thread(
        store.finish_session, session.run_id, report, complete=outcome == "complete", server_time=puller.server_time
    )
    puller.emit(SyncProgress("done", done=True, tasks_done=puller.tasks_done, tasks_total=puller.tasks_total))
    if error is not None:
        raise error
    return report


async def _all(coroutines: Iterable[Any]) -> None:
    """Run side by side; when one fails, cancel the others and wait for them before raising."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _parse_page(
    content: bytes, read: bool, resolver: Callable[[str, str, str], str | None] | None
) -> tuple[list[ParsedResource], int | None, list[dict[str, Any]]]:
    """Take one response apart (module level, so that a worker process can run it)."""
    if read:
        return [parse_resource(content)], None, []
    document = parse_document(content, resolver=resolver)
    return document.resources, document.total, document.outcomes


# --- small readers ------------------------------------------------------------------------------------------------


def _next_link(content: bytes) -> str | None:
    try:
        data = loads(content)
    except FHIRFormatError:
        return None
    if not isinstance(data, dict):
        return None
    for link in data.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return str(link["url"])
    return None


def _issue_text(outcome: Mapping[str, Any]) -> str | None:
    texts = []
    for issue in outcome.get("issue") or []:
        if isinstance(issue, dict):
            details: dict[str, Any] = issue["details"] if isinstance(issue.get("details"), dict) else {}
            text = issue.get("diagnostics") or details.get("text")
            if isinstance(text, str) and text.strip():
                texts.append(" ".join(text.split()))
    return "; ".join(texts)[:300] or None


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
