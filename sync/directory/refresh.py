"""`carry providers --refresh`: download each vendor's endpoint list, check it, cache it, rebuild the index.

A list is accepted only when it parses, holds endpoints, arrived whole, and did not shrink by more than a fifth
against the cached copy (a vendor's list does not lose a fifth of its hospitals overnight; a broken export does).
A list that fails keeps its previous copy; the others are still updated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

from ..http import HttpClient, NetworkError, RetryPolicy, is_loopback
from .cache import CachedList, ListCache
from .errors import DirectoryError, RefreshFailed
from .formats import read_list
from .index import Directory
from .provider import Provider
from .sources import ListSource, load_sources

__all__ = ["ListResult", "RefreshReport", "rebuild_index", "refresh"]

Status = Literal["updated", "unchanged", "failed", "refused"]
_ACCEPT = "application/fhir+json, application/json;q=0.9, */*;q=0.1"
_MAX_REDIRECTS = 3


@dataclass(frozen=True, slots=True)
class ListResult:
    source: ListSource
    status: Status
    entries: int = 0  # in the copy now cached (the new one, or the kept one)
    reason: str = ""  # why it failed or was refused, as a clause: "the server answered 404"

    @property
    def ok(self) -> bool:
        return self.status in ("updated", "unchanged")


@dataclass(frozen=True, slots=True)
class RefreshReport:
    results: tuple[ListResult, ...]
    providers: int  # in the rebuilt index

    @property
    def failed(self) -> tuple[ListResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    def summary(self) -> str:
        """One or two plain sentences for the patient."""
        updated = sum(r.status == "updated" for r in self.results)
        unchanged = sum(r.status == "unchanged" for r in self.results)
        parts = [f"{updated} updated"] + ([f"{unchanged} unchanged"] if unchanged else [])
        text = (
            f"Refreshed the provider directory from {len(self.results)} vendor lists ({', '.join(parts)}); "
            f"{self.providers} downloaded providers are now searchable."
        )
        failure = self.failure_sentence()
        return f"{text} {failure}" if failure else text

    def failure_sentence(self) -> str:
        if not self.failed:
            return ""
        by_reason: dict[str, list[str]] = {}
        for r in self.failed:  # one unreachable host fails many lists the same way; say it once
            names = by_reason.setdefault(r.reason, [])
            if (r.source.vendor or r.source.id) not in names:
                names.append(r.source.vendor or r.source.id)
        what = "; ".join(f"{', '.join(names)} ({reason})" for reason, names in by_reason.items())
        n = len(self.failed)
        kept = "list, so the previous copy is kept" if n == 1 else "lists, so their previous copies are kept"
        return f"Could not refresh {n} {kept}: {what}."


async def refresh(
    sources: Sequence[ListSource] | None = None,
    *,
    cache_dir: Path | None = None,
    http: HttpClient | None = None,
    timeout: float = 120.0,
    max_shrink: float = 0.2,
    on_result: Callable[[ListResult], None] | None = None,
) -> RefreshReport:
    """Download every list in `sources` (default: load_sources()) into the cache, then rebuild the index.
    `on_result` hears of each list as it finishes (the app's progress), in this event loop.

    Raises RefreshFailed when every list failed (nothing changed); otherwise the report says which failed.
    """
    chosen = tuple(sources) if sources is not None else load_sources()
    if not chosen:
        raise DirectoryError("There are no provider lists to refresh.")
    cache = ListCache(cache_dir)
    own = http is None
    client = http or HttpClient(concurrency=4, timeout=timeout, retry=RetryPolicy(attempts=3, backoff=1.0))
    try:

        async def one(source: ListSource) -> ListResult:
            result = await _refresh_one(client, cache, source, max_shrink)
            if on_result is not None:
                on_result(result)
            return result

        results = await asyncio.gather(*(one(s) for s in chosen))
    finally:
        if own:
            await client.aclose()
    if not any(r.ok for r in results):
        report = RefreshReport(tuple(results), 0)
        raise RefreshFailed(report.failure_sentence())
    total = await asyncio.to_thread(rebuild_index, chosen, cache.root)
    return RefreshReport(tuple(results), total)


def rebuild_index(sources: Sequence[ListSource], cache_dir: Path | None = None) -> int:
    """Write the index of every cached list among `sources`; returns how many providers it holds."""
    cache = ListCache(cache_dir)
    providers: list[Provider] = []
    listed = []
    for source in sources:
        entry = cache.get(source.id)
        if entry is None:
            continue
        try:
            found = read_list(cache.body(source.id), source=source.id, vendor=source.vendor or None)
        except (DirectoryError, OSError):
            continue  # a copy that no longer reads is left out rather than blocking the rest
        providers += found
        listed.append(entry.as_json() | {"entries": len(found)})
    cache.root.mkdir(parents=True, exist_ok=True)
    directory = Directory(providers)
    directory.write_index(cache.index, sources=listed)
    return len(directory)


async def _refresh_one(client: HttpClient, cache: ListCache, source: ListSource, max_shrink: float) -> ListResult:
    previous = cache.get(source.id)
    kept = previous.entries if previous else 0
    try:
        status, body, etag = await _download(client, source.url, previous.etag if previous else "")
    except DirectoryError as exc:
        return ListResult(source, "failed", kept, str(exc))
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if status == 304 and previous is not None:
        cache.touch(CachedList(**(previous.as_json() | {"fetched": now})))
        return ListResult(source, "unchanged", kept)
    try:
        providers = await asyncio.to_thread(
            read_list, body, source=source.id, vendor=source.vendor or None, label="The download"
        )
    except DirectoryError as exc:
        return ListResult(source, "failed", kept, _clause(str(exc)))
    count = len(providers)
    if previous is not None and count < previous.entries * (1 - max_shrink):
        return ListResult(
            source,
            "refused",
            kept,
            f"it shrank from {previous.entries} to {count} entries, which looks like a broken list",
        )
    cache.store(CachedList(source.id, source.vendor, source.url, count, now, etag, source.terms), body)
    return ListResult(source, "updated", count)


async def _download(client: HttpClient, url: str, etag: str) -> tuple[int, bytes, str]:
    headers = {"Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    for _ in range(_MAX_REDIRECTS + 1):
        _check_url(url)
        try:
            response = await client.get(url, headers=headers)
        except NetworkError as exc:
            raise DirectoryError(_clause(str(exc))) from None
        if response.status in (301, 302, 303, 307, 308) and response.headers.get("location"):
            url = urljoin(url, response.headers["location"])
            continue
        if response.status == 304:
            return 304, b"", etag
        if response.status != 200:
            raise DirectoryError(f"the server answered {response.status}")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and "content-encoding" not in response.headers:
            if int(declared) != len(response.content):
                raise DirectoryError(f"the download was cut short ({len(response.content)} of {declared} bytes)")
        return 200, response.content, response.headers.get("etag", "")
    raise DirectoryError("the server redirected too many times")


def _check_url(url: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme != "https" and not (scheme == "http" and is_loopback(url)):
        raise DirectoryError(f"{url} is not an https address, so Carry did not download it")


def _clause(sentence: str) -> str:
    """A sentence as a clause inside another: "The download is ..." -> "the download is ..."."""
    text = sentence.strip().rstrip(".")
    first, _, rest = text.partition(" ")
    return f"{first.lower()} {rest}" if first in ("The", "A", "An", "It", "This") else text
