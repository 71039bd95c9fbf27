"""Take FHIR JSON apart: Bundles of any type, single resources and NDJSON, validated against the R4B models.

This is the only module of Carry that imports fhir.resources (and msgspec, our JSON codec); its helper fastpath.py
reads the fields of the model classes handed to it (through fhir_core, the models' base library). Decimals are read as
`decimal.Decimal` and written back as numbers, so `"value": 1.50` keeps its precision through a round trip.

Two kinds of trouble are kept apart:
- a document Carry cannot take apart (broken JSON, no resourceType, a type FHIR R4 does not have, an entry with
  no resource) raises FHIRFormatError, and nothing of it should be stored;
- a resource that is well-formed but fails validation is returned with `error` set, to be kept and flagged.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from itertools import chain, islice
from typing import Any, TypeVar

import msgspec
import pydantic
from fhir.resources.R4B import get_fhir_model_class

from ..untrusted import plain_text
from . import fastpath
from .errors import FHIRFormatError
from .r4types import R4_RESOURCE_TYPES
from .references import conditional, rewrite
from .rules import rule_error

__all__ = [
    "PARALLEL_THRESHOLD",
    "ConditionalResolver",
    "ParsedDocument",
    "ParsedResource",
    "ValidationWorkers",
    "canonical",
    "content_hash",
    "dumps",
    "full_validations",
    "loads",
    "parse_document",
    "parse_resource",
    "validate_chunks",
    "validate_raw",
    "validated",
    "validated_stream",
    "validation_error",
]

# From this many resources on, validation runs in worker processes beside the storing (below it, starting the
# workers costs more than it saves).
PARALLEL_THRESHOLD = 4000
_CHUNK = 1000
_T = TypeVar("_T")

_decoder = msgspec.json.Decoder(float_hook=Decimal)
_encoder = msgspec.json.Encoder(decimal_format="number")
_canonical_encoder = msgspec.json.Encoder(decimal_format="number", order="sorted")

# Ids we make up for resources that arrive without one are stable: the same content gets the same id.
_ID_NAMESPACE = uuid.UUID("5d1e0c6e-6a43-4f59-9d0b-0c2a6f0f5a77")
# Entries known by a urn:uuid / urn:oid fullUrl, references to them, and conditional references: what
# _resolve_references deals with. (Not any "urn:oid:", which identifier systems are full of.)
_NEEDS_RESOLVING = re.compile(rb'"(?:reference|fullUrl)"\s*:\s*"(?:urn:(?:uuid|oid):|[A-Z][A-Za-z]+\?)')

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

ConditionalResolver = Callable[[str, str, str], "str | None"]
"""(resource type, identifier system, identifier value) -> the id of a stored resource, or None."""


@dataclass(frozen=True, slots=True)
class ParsedResource:
    resource_type: str
    id: str
    data: dict[str, Any]
    raw: bytes  # compact JSON of `data`, in the key order received
    hash: str  # sha256 of the canonical (sorted-key) JSON
    error: str | None  # None when valid (or not checked yet); else why validation failed
    checked: bool = True  # False when parsed with validate=False and not validated since
    # What validated_stream's `beside` made of it in a worker process, beside its validation (the record's stored
    # form); None when nothing was made (validated in this process: the caller makes it when it needs it).
    made: Any = None

    @property
    def valid(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    kind: str  # "bundle", "resource" or "ndjson"
    resources: list[ParsedResource]
    bundle_type: str | None = None
    links: dict[str, str] = field(default_factory=dict)  # Bundle.link relation -> url
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # searchset entries with search.mode "outcome"
    total: int | None = None


def loads(data: bytes | str) -> Any:
    """Decode JSON, decimals as Decimal. Raises FHIRFormatError with a plain reason."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise FHIRFormatError("the file is empty")
    try:
        return _decoder.decode(data)
    except UnicodeDecodeError as exc:
        raise FHIRFormatError("the file is not UTF-8 text") from exc
    except RecursionError as exc:
        raise FHIRFormatError("the JSON is nested too deeply to be FHIR") from exc
    except msgspec.DecodeError as exc:
        reason = str(exc)
        if "invalid character" in reason or "invalid utf-8" in reason.lower():
            if not _is_utf8(data):
                raise FHIRFormatError("the file is not UTF-8 text") from exc
        if _SURROGATE_ESCAPE.search(data) and _stdlib_reads(data):
            # Valid JSON syntax, but the escape is half a character: the stdlib reads it, msgspec does not.
            raise FHIRFormatError("the file holds a \\u escape of half a character (a lone surrogate)") from exc
        raise FHIRFormatError(f"the file is not valid JSON ({_short(reason)})") from exc


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _refuse_duplicate_keys(data: bytes) -> None:
    """Raise FHIRFormatError when an object of this (valid) JSON has a key twice.

    JSON decoders keep the last of two equal keys, others the first: a document that says `"id": "a", "id": "b"`
    means different things to different readers, so Carry takes it from no one. msgspec cannot tell, so the stdlib
    scanner reads it once more, keeping nothing but the keys (about the cost of the decoding itself).
    """

    def keys(pairs: list[tuple[str, Any]]) -> None:
        if len(pairs) > 1:
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    raise _DuplicateKey(key)
                seen.add(key)

    def nothing(_text: str) -> None:
        return None

    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        json.loads(data, object_pairs_hook=keys, parse_float=nothing, parse_int=nothing, parse_constant=nothing)
    except _DuplicateKey as exc:
        raise FHIRFormatError(
            f"the key {plain_text(exc.key, limit=40)!r} appears twice in one JSON object, and Carry will not guess "
            "which one is meant"
        ) from None
    except (ValueError, RecursionError):  # the syntax was judged by msgspec already
        return


def _keys_seen_once(data: bytes, value: Any) -> bool:
    """True when `data` (valid JSON, decoded as `value`) is, but for white space outside its strings, the very text
    msgspec writes for `value`: then no object of it has a key twice, since `value`'s objects are dicts (a duplicate
    would be missing from the text written again). Nearly every resource from outside passes (a file written by a
    program), and this costs a tenth of the stdlib scanner's pass; False says nothing, the scanner then decides."""
    again = _encoder.encode(value)
    if again == data.strip():
        return True
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return again == msgspec.json.format(data, indent=-1)  # drops the white space, keeps every key and escape
    except msgspec.DecodeError:
        return False


def _loads_outside(data: bytes) -> Any:
    """`loads` for a document from outside Carry: also refused when a key appears twice in one object."""
    value = loads(data)
    if not _keys_seen_once(data, value):
        _refuse_duplicate_keys(data)
    return value


_SKIP = msgspec.json.Decoder(msgspec.Raw)  # reads one value without building it
_TRAILING = re.compile(r"trailing characters \(byte (\d+)\)")
_WHITE = frozenset(b" \t\r\n")
_CLOSING = frozenset(b"]}")


def _trailing_at(buf: bytes, start: int) -> int | None:
    """Where the first character after the value at `start` is, as msgspec's message says (it counts from `start`,
    1 past that character); None when it says nothing of the kind."""
    try:
        _SKIP.decode(memoryview(buf)[start:])
    except msgspec.DecodeError as exc:
        after = _TRAILING.search(str(exc))
        return None if after is None else start + int(after.group(1)) - 1
    except RecursionError:  # nested too deeply: the scan and then the decoding say so
        return None
    return None


# Checked once: a msgspec that words or counts it otherwise is not read (the scan decides everything then).
_SKIP_UNDERSTOOD = _trailing_at(b'{"a":[]} ,', 0) == 9


def _value_end(buf: bytes, start: int) -> int | None:
    """Where the object or array at `start` of `buf` ends, found by msgspec (skipping it, in C, about five times
    faster than a scan in Python for a resource: sync.fhir.stream): it reads one value and stops at what follows it,
    saying where. None when it cannot tell (the value is cut by the end of `buf`, or broken): the caller's own scan
    decides then, and says what is wrong. What it finds is a whole JSON value, so it ends where any scan ends it."""
    if not _SKIP_UNDERSTOOD:
        return None
    trailing = _trailing_at(buf, start)
    if trailing is None or trailing >= len(buf) or buf[trailing] in _WHITE:
        return None
    end = trailing
    while end > start and buf[end - 1] in _WHITE:
        end -= 1
    return end if end > start and buf[end - 1] in _CLOSING else None


def dumps(obj: Any) -> bytes:
    """Compact JSON, keys in the order given, decimals written exactly."""
    return _encoder.encode(obj)


def canonical(obj: Any) -> bytes:
    """Compact JSON with sorted keys: the form content hashes are taken of."""
    return _canonical_encoder.encode(obj)


def content_hash(obj: Any) -> str:
    return hashlib.sha256(canonical(obj)).hexdigest()


# How many resources this process validated with the models, not the fast path (what the tests and benchmarks watch).
_full_validations = [0]


def full_validations() -> int:
    """How many resources this process has validated with the R4B models (the rest the fast path accepted)."""
    return _full_validations[0]


def validation_error(resource: dict[str, Any]) -> str | None:
    """Validate one resource against its R4B model; None when valid, else a one-line reason.

    A resource the fast path (fastpath.py) proves valid is not built as a model; everything else is, so the verdict
    and the reason for an invalid resource are the models' own."""
    model = _model(resource["resourceType"])
    try:
        broken = rule_error(resource)  # what the models let through, checked first: it is cheap and it is the worst
        if broken is not None:
            return broken
        if model is None:  # an R4 type that R4B dropped: nothing more to check it against
            return None
        if fastpath.accepts(model, resource):  # proven valid without building the model (nearly every resource)
            return None
        _full_validations[0] += 1
        model.model_validate(resource)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        first = errors[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "resource"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        # The location names keys from the document: outside text, stored and shown as the reason.
        return plain_text(f"{where}: {first.get('msg', 'invalid')}{more}", limit=300)
    except RecursionError:
        return "nested too deeply to validate"
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return plain_text(f"{type(exc).__name__}: {exc}", limit=160)
    return None


def validated(
    resources: Sequence[ParsedResource], *, parallel_from: int = PARALLEL_THRESHOLD, workers: int | None = None
) -> Iterator[list[ParsedResource]]:
    """Validate resources parsed with validate=False, yielding them in order, a chunk at a time, `error` set.

    Large documents are validated in worker processes, so the caller can store one chunk while the next ones
    are being checked; the result is the same as validating each resource in turn.
    """
    start = 0
    for errors in validate_raw([res.raw for res in resources], parallel_from=parallel_from, workers=workers):
        chunk = resources[start : start + len(errors)]
        start += len(errors)
        yield [_checked(res, error) for res, error in zip(chunk, errors, strict=True)]


def validated_stream(
    resources: Iterable[ParsedResource],
    *,
    parallel_from: int = PARALLEL_THRESHOLD,
    workers: int | None = None,
    beside: Callable[[bytes, str, str], Any] | None = None,
    pool: ValidationWorkers | None = None,
) -> Iterator[list[ParsedResource]]:
    """`validated` for resources that arrive as a stream (a file read a resource at a time): the first
    `parallel_from` are read to decide whether worker processes pay, then chunks are validated a few ahead of the
    caller, so memory stays bounded by the chunk size whatever the stream's length.

    `beside(raw, resource_type, id)` (a module-level function: it is sent to the workers by name) runs in the worker
    processes beside each resource's validation, its result given back as the resource's `made`: work the caller
    would do anyway (the record packs each resource's JSON) is done on the workers' cores, not the caller's. Until
    the workers are up (a new interpreter that loads the models: a second or more), chunks are validated here
    instead of waited for, and they come back without `made`. With `pool`, its workers (started by the caller) do
    the work and stay up."""
    it = iter(resources)
    first = list(islice(it, parallel_from))
    own = pool is None
    pool = ValidationWorkers(workers) if pool is None else pool
    if len(first) < parallel_from or pool.count == 0:
        for chunk in _chunked(chain(_drained(first), it)):
            yield _checked_here(chunk)
        return
    ahead: deque[tuple[list[ParsedResource], bool, Future[list[Any]]]] = deque()
    waited = False  # whether the caller had to wait for the last chunk it took: the workers are behind

    def send(executor: ProcessPoolExecutor, chunk: list[ParsedResource]) -> None:
        # The workers make `beside` while they keep ahead; behind, they only validate, and `made` is left to the
        # caller: whichever side is slower (the machine's other work decides too) gives the other some of its share.
        if beside is not None and not waited:
            items = [(res.raw, res.resource_type, res.id) for res in chunk]
            ahead.append((chunk, True, executor.submit(_validate_making, beside, items)))
        else:
            ahead.append((chunk, False, executor.submit(_validate_raw, [res.raw for res in chunk])))

    def taken() -> list[ParsedResource]:
        nonlocal waited
        chunk, making, future = ahead.popleft()
        waited = not future.done()
        results = future.result()
        if making:
            return [_checked(res, error, made) for res, (error, made) in zip(chunk, results, strict=True)]
        return [_checked(res, error) for res, error in zip(chunk, results, strict=True)]

    try:
        executor = pool.executor()  # the workers start now, and this process goes on meanwhile
        source = _chunked(chain(_drained(first), it))
        held: list[list[ParsedResource]] = []
        for chunk in source:  # until the workers are up, validated here (in order: nothing was sent before)
            if pool.ready():
                held.append(chunk)
                break
            yield _checked_here(chunk)
        for chunk in chain(_drained(held), source):
            send(executor, chunk)
            if len(ahead) > 2 * pool.count:
                yield taken()
        while ahead:
            yield taken()
    finally:
        for _, _, future in ahead:  # the caller stopped early: what is still queued is not wanted
            future.cancel()
        if own:
            pool.close()


def _checked_here(chunk: list[ParsedResource]) -> list[ParsedResource]:
    """A chunk validated in this process: each resource as it was decoded (not decoded again from its JSON, as a
    worker must), the same verdict (`raw` is `data` written compactly)."""
    return [_checked(res, validation_error(res.data)) for res in chunk]


def _drained(items: list[_T]) -> Iterator[_T]:
    """The items of a list, each let go of as it is given out: the first resources of a stream, read to decide how it
    is validated, are not all held to its end (a list chained whole would be, and the garbage collector's full passes
    would walk them again and again: a tenth of an import's time)."""
    items.reverse()
    while items:
        yield items.pop()


def _checked(res: ParsedResource, error: str | None, made: Any = None) -> ParsedResource:
    """`res` validated (dataclasses.replace does the same, several times slower: a few us a resource)."""
    return ParsedResource(res.resource_type, res.id, res.data, res.raw, res.hash, error, True, made)


def _chunked(resources: Iterator[ParsedResource]) -> Iterator[list[ParsedResource]]:
    while chunk := list(islice(resources, _CHUNK)):
        yield chunk


def validate_raw(
    raws: Sequence[bytes], *, parallel_from: int = PARALLEL_THRESHOLD, workers: int | None = None
) -> Iterator[list[str | None]]:
    """Validate resources given as their JSON, yielding the reasons (None for valid) in order, a chunk at a time.

    From `parallel_from` resources on, the chunks are checked in worker processes while the caller handles the
    earlier ones.
    """
    chunks = (list(raws[start : start + _CHUNK]) for start in range(0, len(raws), _CHUNK))
    return validate_chunks(chunks, parallel=len(raws) >= parallel_from, workers=workers)


def validate_chunks(
    chunks: Iterable[list[bytes]],
    *,
    parallel: bool,
    workers: int | None = None,
    pool: ValidationWorkers | None = None,
) -> Iterator[list[str | None]]:
    """`validate_raw` over chunks that are produced as they are needed (for example read from the record page by
    page): with `parallel`, a few chunks ahead are checked in worker processes, so memory stays bounded. With
    `pool`, its workers (started earlier, perhaps while a sync was still fetching) do the work and stay up."""
    if parallel and pool is None:
        own = ValidationWorkers(workers)
        try:
            yield from validate_chunks(chunks, parallel=True, pool=own)
        finally:
            own.close()
        return
    if not parallel or pool is None or pool.count == 0:
        for chunk in chunks:
            yield _validate_raw(chunk)
        return
    yield from _validate_in(pool.executor(), pool.count, chunks)


def _validate_in(executor: ProcessPoolExecutor, count: int, chunks: Iterable[list[bytes]]) -> Iterator[list[str | None]]:
    ahead: deque[Future[list[str | None]]] = deque()
    try:
        for chunk in chunks:
            ahead.append(executor.submit(_validate_raw, chunk))
            if len(ahead) > 2 * count:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()
    finally:
        for future in ahead:  # the caller stopped early: what is still queued is not wanted
            future.cancel()


class ValidationWorkers:
    """Worker processes that validate, started before they are needed: starting one (a new interpreter that imports
    the R4B models) takes a second or more, which a sync can hide behind its network waits. They stay up until
    `close` (or the end of a `with` block), so one start serves every validation pass in between. With a count of 0
    (the default on a machine with one core) no process starts and the validation runs in the caller's process."""

    def __init__(self, workers: int | None = None) -> None:
        # One core is left to the process that stores what the workers check (and to a portal on the same machine):
        # validation is cheap enough now (fastpath.py) that a worker more than that only competes with them for the
        # cores. On one core there is none; the caller's process validates.
        self.count = min(4, (os.cpu_count() or 1) - 1) if workers is None else workers
        self._executor: ProcessPoolExecutor | None = None
        self._warming: list[Future[list[str | None]]] = []
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    def start(self) -> None:
        """Start the workers (at once, without waiting for them): each imports the models it will need. With a count
        of 0 nothing starts: the validation runs in the caller's process (and thread)."""
        self._started = True
        if self.count:
            self.executor()

    def executor(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._started = True
            # spawn, not fork: the app server has threads, and a forked copy of a locked lock never unlocks.
            self._executor = ProcessPoolExecutor(
                max_workers=self.count,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
            # Each submission starts one more worker, up to `count`; when one is done, a worker is up.
            self._warming = [self._executor.submit(_validate_raw, []) for _ in range(self.count)]
        return self._executor

    def ready(self) -> bool:
        """Whether a worker is up (it has loaded the models and taken work): False before `executor`."""
        return any(future.done() for future in self._warming)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._warming = []
        self._started = False

    def __enter__(self) -> ValidationWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# What a worker loads before its first chunk: the types a portal sends most (others load when first met).
_COMMON_TYPES = (
    "Observation", "Condition", "MedicationRequest", "Encounter", "Procedure", "Immunization", "DiagnosticReport",
    "DocumentReference", "AllergyIntolerance", "Patient", "Practitioner", "Organization",
)  # fmt: skip


def _start_worker(parent: int) -> None:
    _exit_with_parent(parent)
    for rtype in _COMMON_TYPES:
        fastpath.prepare(_model(rtype))


def _exit_with_parent(parent: int) -> None:
    """Runs first in each worker: end the worker as soon as the process that started it is gone. A parent killed
    with SIGKILL cannot stop its pool, and a worker waiting for work would otherwise wait for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.25)
        os._exit(1)

    threading.Thread(target=watch, name="carry-parent-watch", daemon=True).start()


def _validate_raw(raws: list[bytes]) -> list[str | None]:
    # Runs in a worker process: the resources travel as their compact JSON, which is cheaper to send than dicts.
    return [validation_error(_decoder.decode(raw)) for raw in raws]


def _validate_making(
    beside: Callable[[bytes, str, str], Any], items: list[tuple[bytes, str, str]]
) -> list[tuple[str | None, Any]]:
    # Runs in a worker process: each resource's verdict, and what `beside` makes of its JSON, type and id.
    return [(validation_error(_decoder.decode(raw)), beside(raw, rtype, rid)) for raw, rtype, rid in items]


def parse_document(
    data: bytes | str,
    *,
    resolver: ConditionalResolver | None = None,
    validate: bool = True,
) -> ParsedDocument:
    """Parse a FHIR JSON document: a Bundle of any type, one resource, or NDJSON (one resource per line).

    urn:uuid / urn:oid references to entries of the same Bundle become `Type/id`; conditional references
    (`Practitioner?identifier=system|value`) are resolved against the Bundle's own entries, then `resolver`.
    References that cannot be resolved are kept as they are.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        top = loads(data)
    except FHIRFormatError as exc:
        if "trailing characters" in str(exc) or _looks_like_ndjson(data):
            return _parse_ndjson(data, validate=validate)
        raise
    if not _keys_seen_once(data, top):
        _refuse_duplicate_keys(data)
    if isinstance(top, list):
        raise FHIRFormatError("expected a FHIR resource or Bundle, found a JSON array")
    if not isinstance(top, dict):
        raise FHIRFormatError("expected a FHIR resource or Bundle, found a bare JSON value")
    rtype = _resource_type(top, "the document")
    if rtype != "Bundle":
        return ParsedDocument("resource", [_make(top, None, validate)])
    return _parse_bundle(top, data, resolver=resolver, validate=validate)


def parse_resource(data: bytes | str, *, validate: bool = True) -> ParsedResource:
    """Parse exactly one resource (for example a FHIR read response)."""
    top = _loads_outside(data.encode("utf-8") if isinstance(data, str) else data)
    if not isinstance(top, dict):
        raise FHIRFormatError("expected a FHIR resource")
    _resource_type(top, "the document")
    return _make(top, None, validate)


# --- internals ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _model(resource_type: str) -> Any:
    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError, ImportError, AttributeError):
        return None


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _stdlib_reads(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _looks_like_ndjson(data: bytes) -> bool:
    lines = [line for line in data.splitlines() if line.strip()]
    return len(lines) > 1 and lines[0].lstrip().startswith(b"{") and lines[0].rstrip().endswith(b"}")


def _resource_type(obj: dict[str, Any], where: str) -> str:
    rtype = obj.get("resourceType")
    if rtype is None:
        raise FHIRFormatError(f"{where} is not a FHIR resource: it has no resourceType")
    if not isinstance(rtype, str):
        raise FHIRFormatError(f"{where} has a resourceType that is not a string")
    if rtype not in R4_RESOURCE_TYPES:
        raise FHIRFormatError(f"{where} has resourceType {plain_text(rtype, limit=40)!r}, which FHIR R4 does not have")
    return rtype


def _make(obj: dict[str, Any], full_url: str | None, validate: bool) -> ParsedResource:
    rtype = obj["resourceType"]
    rid = obj.get("id")
    if not isinstance(rid, str) or not rid:
        rid = _id_from_full_url(full_url, rtype) or str(uuid.uuid5(_ID_NAMESPACE, content_hash(obj)))
    error = validation_error(obj) if validate else None
    return ParsedResource(rtype, rid, obj, dumps(obj), content_hash(obj), error, validate)


def _id_from_full_url(full_url: str | None, rtype: str) -> str | None:
    if not full_url:
        return None
    if full_url.startswith("urn:uuid:"):
        return full_url[len("urn:uuid:") :] or None
    if full_url.startswith("urn:oid:"):
        return full_url[len("urn:oid:") :] or None
    parts = full_url.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == rtype and parts[-1]:
        return parts[-1]
    return None


def _parse_ndjson(data: bytes, *, validate: bool) -> ParsedDocument:
    resources: list[ParsedResource] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if line.strip():
            resources.append(_make(_ndjson_line(line, number), None, validate))
    return ParsedDocument("ndjson", resources)


def _ndjson_line(line: bytes, number: int) -> dict[str, Any]:
    """The resource on one line of NDJSON, decoded and checked as a whole document is."""
    try:
        obj = _loads_outside(line)
    except FHIRFormatError as exc:
        raise FHIRFormatError(f"line {number}: {exc}") from exc
    if not isinstance(obj, dict):
        raise FHIRFormatError(f"line {number} is not a JSON object")
    _resource_type(obj, f"line {number}")
    return obj


def _parse_bundle(
    bundle: dict[str, Any], data: bytes, *, resolver: ConditionalResolver | None, validate: bool
) -> ParsedDocument:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise FHIRFormatError("the Bundle's entry is not a list")
    links = {
        link["relation"]: link["url"]
        for link in bundle.get("link", []) or []
        if isinstance(link, dict) and isinstance(link.get("relation"), str) and isinstance(link.get("url"), str)
    }
    checked: list[tuple[dict[str, Any], str | None]] = []
    outcomes: list[dict[str, Any]] = []
    for number, entry in enumerate(entries, start=1):
        resource, full_url, outcome = _bundle_entry(entry, f"Bundle entry {number}")
        if outcome:
            outcomes.append(resource)
        else:
            checked.append((resource, full_url))

    if _NEEDS_RESOLVING.search(data):
        _resolve_references(checked, resolver)
    resources = [_make(resource, full_url, validate) for resource, full_url in checked]
    total = bundle.get("total")
    return ParsedDocument(
        "bundle",
        resources,
        bundle_type=bundle.get("type") if isinstance(bundle.get("type"), str) else None,
        links=links,
        outcomes=outcomes,
        total=total if isinstance(total, int) else None,
    )


def _bundle_entry(entry: Any, where: str) -> tuple[dict[str, Any], str | None, bool]:
    """A Bundle entry's resource and fullUrl, and whether it is a searchset's OperationOutcome about the search."""
    if not isinstance(entry, dict):
        raise FHIRFormatError(f"{where} is not a JSON object")
    resource = entry.get("resource")
    if resource is None:
        raise FHIRFormatError(f"{where} has no resource")
    if not isinstance(resource, dict):
        raise FHIRFormatError(f"{where}: its resource is not a JSON object")
    rtype = _resource_type(resource, where)
    search = entry.get("search")
    outcome = rtype == "OperationOutcome" and isinstance(search, dict) and search.get("mode") == "outcome"
    full_url = entry.get("fullUrl")
    return resource, full_url if isinstance(full_url, str) else None, outcome


def _resolve_references(
    checked: list[tuple[dict[str, Any], str | None]], resolver: ConditionalResolver | None
) -> None:
    local: dict[str, str] = {}
    for resource, full_url in checked:
        _local_name(resource, full_url, local)
    by_identifier: dict[tuple[str, str, str], str] | None = None
    cache: dict[str, str | None] = {}

    def identifiers() -> dict[tuple[str, str, str], str]:
        nonlocal by_identifier
        if by_identifier is None:
            by_identifier = _identifier_index(checked)
        return by_identifier

    def resolve(reference: str) -> str | None:
        if reference in local:
            return local[reference]
        return _conditional(reference, identifiers, resolver, cache)

    for resource, _ in checked:
        rewrite(resource, resolve)


def _local_name(resource: dict[str, Any], full_url: str | None, local: dict[str, str]) -> None:
    """Note the `Type/id` an entry known by a urn:uuid / urn:oid fullUrl is referred to as."""
    if not full_url or not full_url.startswith(("urn:uuid:", "urn:oid:")):
        return
    rtype = resource["resourceType"]
    rid = resource.get("id") if isinstance(resource.get("id"), str) and resource.get("id") else None
    if rid is None:
        rid = _id_from_full_url(full_url, rtype)
        # Give the resource the id its references now point at, as a server would on create.
        resource["id"] = rid
    local[full_url] = f"{rtype}/{rid}"


def _conditional(
    reference: str,
    identifiers: Callable[[], dict[tuple[str, str, str], str]],
    resolver: ConditionalResolver | None,
    cache: dict[str, str | None],
) -> str | None:
    """A conditional reference (`Practitioner?identifier=system|value`) resolved against the document's own
    entries (`identifiers`), then the record (`resolver`); None when neither has it."""
    parts = conditional(reference)
    if parts is None:
        return None
    if reference in cache:
        return cache[reference]
    rtype, query = parts
    found: str | None = None
    key, _, value = query.partition("=")
    if key == "identifier" and "&" not in value:
        system, bar, code = value.partition("|")
        if not bar:
            system, code = "", value
        found = identifiers().get((rtype, system, code))
        if found is None and resolver is not None:
            stored = resolver(rtype, system, code)
            found = f"{rtype}/{stored}" if stored else None
    cache[reference] = found
    return found


def _identifier_index(checked: list[tuple[dict[str, Any], str | None]]) -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for resource, full_url in checked:
        _index_identifiers(resource, full_url, index)
    return index


def _index_identifiers(resource: dict[str, Any], full_url: str | None, index: dict[tuple[str, str, str], str]) -> None:
    rtype = resource["resourceType"]
    rid = resource.get("id") or _id_from_full_url(full_url, rtype)
    for ident in resource.get("identifier", []) or []:
        if isinstance(ident, dict) and isinstance(ident.get("value"), str):
            system = ident["system"] if isinstance(ident.get("system"), str) else ""
            index.setdefault((str(rtype), str(system), str(ident["value"])), f"{rtype}/{rid}")

