"""Reading a FHIR file as a stream: NDJSON a line at a time, a Bundle's entries one at a time, so that what is
held in memory is one resource (and the little a Bundle's references need), however large the file.

Each resource is decoded as parse_document decodes a whole document (sync.fhir.parse): strictly (duplicate keys,
nesting, lone surrogates), with its resourceType checked and its id settled the same way. What cannot be judged
before the whole has been read (one resource, a Bundle whose first key is not its resourceType, a file that is
none of these) is read whole, up to `whole_limit` bytes, and taken apart by parse_document itself, with its
sentences.

A Bundle's references (see parse._resolve_references): a urn:uuid / urn:oid reference to an entry read before is
rewritten at once; a resource that refers to an entry not read yet, or holds a conditional reference, is held and
given out at the Bundle's end, when every entry is known. Only those are held, with the map of the Bundle's urn
fullUrls (some 200 bytes an entry, in Bundles that use them) and an index of the first _INDEX_CAP entries'
identifiers; a conditional reference to an identifier past them is resolved through `resolver` alone.

The reader is a plain scanner, not an incremental JSON parser: it only finds where each entry begins and ends
(msgspec skips over an entry and says where it stopped; where it cannot tell, strings and brackets are scanned
here), in blocks, and msgspec decodes each entry strictly. Entries are the unit every check already
applies to, and decoding them with the same decoder as a whole document keeps one set of rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any

from .errors import FHIRFormatError
from .references import conditional, rewrite
from .parse import (
    _bundle_entry,
    _NEEDS_RESOLVING,
    ConditionalResolver,
    ParsedResource,
    _conditional,
    _index_identifiers,
    _loads_outside,
    _local_name,
    _make,
    _ndjson_line,
    _value_end,
    parse_document,
)

__all__ = ["WHOLE_LIMIT", "read_stream"]

WHOLE_LIMIT = 512 * 1024 * 1024  # a document that must be read whole (one resource): at most this
ENTRY_LIMIT = 256 * 1024 * 1024  # one entry or NDJSON line (a resource with a large attachment inline)
_BLOCK = 1024 * 1024
_HEAD = 1024 * 1024
_INDEX_CAP = 100_000
_BOM = b"\xef\xbb\xbf"
_BUNDLE_START = re.compile(rb'\s*\{\s*"resourceType"\s*:\s*"Bundle"\s*[,}]')
_SPACE = re.compile(rb"[ \t\r\n]*")
# What a value's extent depends on: strings (a string cut by the end of the buffer matches without its closing
# quote) and brackets.
_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:(?P<close>")|\\?\Z)|[\[\]{}]', re.DOTALL)
_SCALAR = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[^\s,\]}:]+', re.DOTALL)
_OPEN, _CLOSE, _QUOTE = frozenset(b"[{"), frozenset(b"]}"), ord('"')


def read_stream(
    stream: IO[bytes],
    *,
    resolver: ConditionalResolver | None = None,
    whole_limit: int = WHOLE_LIMIT,
    entry_limit: int = ENTRY_LIMIT,
) -> Iterator[ParsedResource]:
    """The resources of a FHIR JSON file (a Bundle, NDJSON or one resource), one at a time, not validated.

    `stream` must be seekable (a file, BytesIO). Raises FHIRFormatError, possibly after resources were given out
    (a broken entry late in the file): the caller stores all of it or nothing."""
    head = stream.read(_HEAD)
    stream.seek(0)
    if _is_ndjson(head):
        return _ndjson(stream, entry_limit)
    text = head[len(_BOM) :] if head.startswith(_BOM) else head
    if _BUNDLE_START.match(text):
        return _Bundle(_Scanner(stream, entry_limit), resolver).resources()
    return _whole(stream, resolver, whole_limit)


def _is_ndjson(head: bytes) -> bool:
    """A first line that is a whole JSON object by itself, and more after it."""
    text = head[len(_BOM) :] if head.startswith(_BOM) else head
    text = text.lstrip(b" \t\r\n")
    end = text.find(b"\n")
    if end < 0 or not text[end:].strip():
        return False
    first = text[:end].strip()
    if not (first.startswith(b"{") and first.endswith(b"}")):
        return False
    try:
        return isinstance(_loads_outside(first), dict)
    except FHIRFormatError:
        return False


def _whole(stream: IO[bytes], resolver: ConditionalResolver | None, limit: int) -> Iterator[ParsedResource]:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise FHIRFormatError(
            f"it is one JSON document larger than {limit // (1024 * 1024)} MB, the most Carry reads whole (a Bundle "
            "starting with its resourceType, or NDJSON, is read a resource at a time whatever its size)"
        )
    yield from parse_document(data, resolver=resolver, validate=False).resources


def _ndjson(stream: IO[bytes], limit: int) -> Iterator[ParsedResource]:
    number = 0
    while line := stream.readline(limit + 1):
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            raise FHIRFormatError(f"line {number} is larger than {limit // (1024 * 1024)} MB")
        if not line.strip():
            continue
        if number > 1 and line.startswith(_BOM):  # loads forgives a BOM: only the file's first line may have one
            raise FHIRFormatError(f"line {number}: the file is not valid JSON (a byte order mark inside the file)")
        yield _make(_ndjson_line(line, number), None, False)


class _Scanner:
    """The bytes of a JSON text, read in blocks; finds where values begin and end without decoding them."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream, self.limit = stream, limit
        self.buf = b""
        self.pos = 0
        self.eof = False

    def _more(self) -> int:
        """Read another block, dropping what is behind `pos`; returns how far positions moved (-1 at the end)."""
        if self.eof:
            return -1
        # As much again as is held: a value that spans many blocks (an attachment inline) is rescanned from its
        # cut string a few times, not once a block.
        block = self.stream.read(max(_BLOCK, len(self.buf) - self.pos))
        if not block:
            self.eof = True
            return -1
        shift = self.pos
        self.buf = self.buf[self.pos :] + block
        self.pos = 0
        return shift

    def peek(self) -> int | None:
        """The next byte that is not white space (not consumed), None at the end."""
        while True:
            match = _SPACE.match(self.buf, self.pos)
            assert match is not None
            self.pos = match.end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self._more() < 0:
                return None

    def expect(self, char: bytes, where: str) -> None:
        found = self.peek()
        if found is None:
            raise _broken(f"the file ends where {char.decode()!r} was expected {where}")
        if found != char[0]:
            raise _broken(f"expected {char.decode()!r} {where}")
        self.pos += 1

    def value(self, where: str) -> bytes:
        """The raw bytes of the next value, consumed."""
        first = self.peek()
        if first is None:
            raise _broken(f"the file ends before {where}")
        if first not in _OPEN:
            return self._scalar(where)
        end = _value_end(self.buf, self.pos)  # found in C, mostly; else scanned here
        if end is not None:
            raw = self.buf[self.pos : end]
            self.pos = end
            return raw
        depth, scan = 0, self.pos
        while True:
            for match in _STRUCTURE.finditer(self.buf, scan):
                char = self.buf[match.start()]
                if char == _QUOTE:
                    if match.group("close") is None:  # cut by the end of the buffer: read on from its start
                        scan = match.start()
                        break
                    continue
                depth += 1 if char in _OPEN else -1
                if depth == 0:
                    raw = self.buf[self.pos : match.end()]
                    self.pos = match.end()
                    return raw
            else:
                scan = len(self.buf)
            if len(self.buf) - self.pos > self.limit:
                raise FHIRFormatError(f"{where} is larger than {self.limit // (1024 * 1024)} MB")
            shift = self._more()
            if shift < 0:
                raise _broken(f"the file ends inside {where}")
            scan -= shift

    def _scalar(self, where: str) -> bytes:
        while True:
            match = _SCALAR.match(self.buf, self.pos)
            if match is not None and (match.end() < len(self.buf) or self.eof):
                raw = self.buf[self.pos : match.end()]
                self.pos = match.end()
                return raw
            if len(self.buf) - self.pos > self.limit:
                raise FHIRFormatError(f"{where} is larger than {self.limit // (1024 * 1024)} MB")
            if self._more() < 0 and match is None:
                raise _broken(f"a value in {where} cannot be read")

    def at_end(self) -> bool:
        return self.peek() is None


def _broken(reason: str) -> FHIRFormatError:
    return FHIRFormatError(f"the file is not valid JSON ({reason})")


class _Bundle:
    """A Bundle's entries as resources, given out as they are read (see the module's note on references)."""

    def __init__(self, scanner: _Scanner, resolver: ConditionalResolver | None) -> None:
        self.scanner, self.resolver = scanner, resolver
        self.local: dict[str, str] = {}  # urn fullUrl -> Type/id
        self.identifiers: dict[tuple[str, str, str], str] = {}
        self.indexed = 0
        self.held: list[tuple[dict[str, Any], str | None]] = []
        self.cache: dict[str, str | None] = {}

    def resources(self) -> Iterator[ParsedResource]:
        s = self.scanner
        if s.peek() is not None and s.buf.startswith(_BOM, s.pos):
            s.pos += len(_BOM)
        s.expect(b"{", "at the start")
        keys: set[str] = set()
        while True:
            key = _loads_outside(s.value("a key of the Bundle"))
            if not isinstance(key, str):
                raise _broken("a key of the Bundle is not a string")
            if key in keys:
                raise FHIRFormatError(
                    f"the key {key[:40]!r} appears twice in one JSON object, and Carry will not guess which one is meant"
                )
            keys.add(key)
            s.expect(b":", "after a key of the Bundle")
            if key == "entry":
                if s.peek() != ord("["):
                    raise FHIRFormatError("the Bundle's entry is not a list")
                s.pos += 1
                yield from self._entries()
            else:
                _loads_outside(s.value(f"the Bundle's {key[:40]}"))  # read and checked; the import needs none of it
            if s.peek() == ord(","):
                s.pos += 1
                continue
            s.expect(b"}", "at the end of the Bundle")
            break
        if not s.at_end():
            raise _broken("trailing characters after the Bundle")
        for resource, full_url in self.held:
            rewrite(resource, self._resolve)
            yield _make(resource, full_url, False)
        self.held.clear()

    def _entries(self) -> Iterator[ParsedResource]:
        s = self.scanner
        number = 0
        if s.peek() == ord("]"):
            s.pos += 1
            return
        while True:
            number += 1
            where = f"Bundle entry {number}"
            raw = s.value(where)
            try:
                entry = _loads_outside(raw)
            except FHIRFormatError as exc:
                raise FHIRFormatError(f"{where}: {exc}") from exc
            made = self._entry(entry, raw, where)
            if made is not None:
                yield made
            if s.peek() == ord(","):
                s.pos += 1
                continue
            s.expect(b"]", "at the end of the Bundle's entries")
            return

    def _entry(self, entry: Any, raw: bytes, where: str) -> ParsedResource | None:
        resource, full_url, outcome = _bundle_entry(entry, where)
        if outcome:
            return None
        self._index(resource, full_url)
        if _NEEDS_RESOLVING.search(raw):
            _local_name(resource, full_url, self.local)
            waiting = False

            def known(reference: str) -> str | None:
                nonlocal waiting
                if reference in self.local:
                    return self.local[reference]
                if reference.startswith(("urn:uuid:", "urn:oid:")) or conditional(reference) is not None:
                    waiting = True
                return None

            rewrite(resource, known)
            if waiting:
                self.held.append((resource, full_url))
                return None
        return _make(resource, full_url, False)

    def _index(self, resource: dict[str, Any], full_url: str | None) -> None:
        if isinstance(resource.get("identifier"), list) and self.indexed < _INDEX_CAP:
            self.indexed += 1
            _index_identifiers(resource, full_url, self.identifiers)

    def _resolve(self, reference: str) -> str | None:
        """As parse._resolve_references resolves, once every entry has been read."""
        if reference in self.local:
            return self.local[reference]
        return _conditional(reference, lambda: self.identifiers, self.resolver, self.cache)
